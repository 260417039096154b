/* Results into the store: one item, or a task's errors, from a callback or a poll. */
#ifndef RWD_COMPLETE_H
#define RWD_COMPLETE_H

#include <json-c/json.h>

#include "store.h"

/* Records one result item (borrowed) of task uuid. A "status" field (getResponse adds it) is
 * not part of a result item and is left out. Returns -1 when the item has no imageUUID, on
 * ENOMEM, or when Redis is not connected (cb then does not run); else cb runs with the answer
 * of rwd_store_complete. */
int rwd_complete_item(struct rwd_store *st, const char *uuid, json_object *item, rwd_redis_cb *cb,
                      void *arg);

/* Ends task uuid with errors (borrowed array of Runware errors, copied for the record). */
int rwd_complete_errors(struct rwd_store *st, const char *uuid, json_object *errors,
                        rwd_redis_cb *cb, void *arg);

#endif
