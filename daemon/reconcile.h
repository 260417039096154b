/* Polls Runware (getResponse) for tasks whose callbacks have not come, and times out tasks that
 * never finish: no job waits forever because a webhook was lost. */
#ifndef RWD_RECONCILE_H
#define RWD_RECONCILE_H

#include <event2/event.h>

#include "http_client.h"
#include "rw_config.h"
#include "store.h"

struct rwd_reconcile;

struct rwd_reconcile *rwd_reconcile_new(struct event_base *base, const struct rw_config *cfg,
                                        struct rwd_http *http, struct rwd_store *st);
void rwd_reconcile_stop(struct rwd_reconcile *rc);
void rwd_reconcile_free(struct rwd_reconcile *rc);

#endif
