/* The admin listener (admin_listen): /metrics, /healthz, /readyz, apart from the callbacks; and
 * the systemd STATUS line, from the same periodic look at Redis. */
#ifndef RWD_ADMIN_H
#define RWD_ADMIN_H

#include <event2/event.h>

#include "http_client.h"
#include "intake.h"
#include "rw_config.h"
#include "store.h"
#include "submit.h"

struct rwd_admin;

/* What the admin listener reports on; borrowed, and must outlive it. */
struct rwd_admin_deps {
    struct rwd_store *st;
    struct rwd_submit *submit;
    struct rwd_intake *intake;
    struct rwd_http *http;
};

/* Binds cfg->admin_listen. Returns NULL (after logging why) when it cannot. */
struct rwd_admin *rwd_admin_new(struct event_base *base, const struct rw_config *cfg,
                                const struct rwd_admin_deps *deps);

/* Serving: Redis connected and the webhook secret known, and not stopping. Set by main. */
void rwd_admin_set_ready(struct rwd_admin *a, int ready);

/* paused(arg) returns NULL while intake runs, else why it is paused (e.g. Runware refused the
 * API key: plain text, no quotes or backslashes, it goes into JSON as it is); /readyz then
 * answers 503 with that reason. Unset: never paused. */
void rwd_admin_set_paused(struct rwd_admin *a, const char *(*paused)(void *), void *arg);

void rwd_admin_free(struct rwd_admin *a);

#endif
