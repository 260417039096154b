/* hiredis reply objects made with one allocation each (a reader's object functions). */
#ifndef RWD_REPLY_H
#define RWD_REPLY_H

#include <hiredis/hiredis.h>

/* For redisReader.fn. The objects are ordinary redisReply trees to read, but only
 * rwd_reply_fns.freeObject may free one: never freeReplyObject(). hiredis's async API frees a
 * reply through the reader's functions after the callback. */
extern redisReplyObjectFunctions rwd_reply_fns;

#endif
