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

void rwd_callback_free(struct rwd_callback *cb);

#endif
