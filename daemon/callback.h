/* The HTTP listener: Runware's webhook callbacks. */
#ifndef RWD_CALLBACK_H
#define RWD_CALLBACK_H

#include <event2/buffer.h>
#include <event2/event.h>

#include "rw_config.h"
#include "store.h"
#include "util.h"

struct rwd_callback;

/* Binds cfg->listen. Returns NULL (after logging why) when it cannot. */
struct rwd_callback *rwd_callback_new(struct event_base *base, const struct rw_config *cfg,
                                      struct rwd_store *st, const struct rwd_secret *secret);

/* Healthy: Redis connected and the secret known. Set by main. */
void rwd_callback_set_ready(struct rwd_callback *cb, int ready);

/* fn appends gauges (values of the moment) to what /metrics serves. */
void rwd_callback_set_gauges(struct rwd_callback *cb, void (*fn)(struct evbuffer *, void *),
                             void *arg);

void rwd_callback_free(struct rwd_callback *cb);

#endif
