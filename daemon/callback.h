/* The HTTP listener: Runware's webhook callbacks. */
#ifndef RWD_CALLBACK_H
#define RWD_CALLBACK_H

#include <event2/buffer.h>
#include <event2/event.h>

#include "redis.h"
#include "rw_config.h"
#include "store.h"
#include "util.h"

struct rwd_callback;

/* Binds cfg->listen. Returns NULL (after logging why) when it cannot. */
struct rwd_callback *rwd_callback_new(struct event_base *base, const struct rw_config *cfg,
                                      struct rwd_store *st, const struct rwd_secret *secret);

/* The batch hook of the Redis connection that records callbacks (rwd_redis_batch_hook); arg is
 * the rwd_callback. */
void rwd_callback_batch(void *arg, enum rwd_batch_event ev);

void rwd_callback_free(struct rwd_callback *cb);

#endif
