/* Results into the store: one item, or a task's errors, from a callback or a poll. */
#ifndef RWD_COMPLETE_H
#define RWD_COMPLETE_H

#include <json-c/json.h>

#include "store.h"

/* Records one result item (borrowed) of task uuid. A "status" field (getResponse adds it) is
 * not part of a result item and is left out. Returns -1 when the item has no imageUUID or an
 * empty one (which the store would take for an error), on ENOMEM, or when Redis is not
 * connected (cb then does not run); else cb runs with the answer of rwd_store_complete. */
int rwd_complete_item(struct rwd_store *st, const char *uuid, json_object *item, rwd_redis_cb *cb,
                      void *arg);

/* Ends task uuid with errors (borrowed array of Runware errors, copied for the record). */
int rwd_complete_errors(struct rwd_store *st, const char *uuid, json_object *errors,
                        rwd_redis_cb *cb, void *arg);

/* A webhook body for task uuid: every result item of this task (one store call each) and its
 * errors (one call for all), items of other tasks and items without an imageUUID ignored with a
 * warning. The common bodies are read in one pass (lib/rw_cbody.h) and their items stored as the
 * bytes Runware sent (less a "status" member and whitespace between tokens); other shapes go
 * through json-c: tok is a reused tokener (from json_tokener_new()) for bodies up to 64 KiB;
 * larger ones, image-sized, get their own so that no large buffer stays. Returns the number of
 * store calls sent (cb runs once for each), with *failed counting the calls that could not be
 * sent (Redis not connected, ENOMEM); or -1 with a message in err when the body is not JSON
 * (RFC 8259, nesting up to 32 levels) or not one Runware sends. 0 calls and 0 failed: nothing in
 * the body was for this task. */
int rwd_complete_body(struct rwd_store *st, json_tokener *tok, const char *uuid, const char *body,
                      size_t len, rwd_redis_cb *cb, void *arg, int *failed, char *err,
                      size_t errlen);

#endif
