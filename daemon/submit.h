/* Batches registered tasks into POSTs to Runware; acknowledgements, per-task errors, retries. */
#ifndef RWD_SUBMIT_H
#define RWD_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

#include "http_client.h"
#include "rw_config.h"
#include "store.h"

struct rwd_submit;

struct rwd_submit *rwd_submit_new(struct event_base *base, const struct rw_config *cfg,
                                  struct rwd_http *http, struct rwd_store *st);

/* on_room runs whenever a task is let go (the intake may take more). */
void rwd_submit_set_room_cb(struct rwd_submit *s, void (*on_room)(void *), void *arg);

/* Queues one registered task: body is the task's JSON (taken over). maybe_sent: a previous run
 * or another instance may have sent it already, so Runware is asked first (getResponse) and it
 * is sent only if Runware does not know it. Returns -1 on ENOMEM (body is freed; the task stays
 * in the submitting set for the next start). */
int rwd_submit_add(struct rwd_submit *s, const char *uuid, char *body, size_t len, bool maybe_sent);

/* Why no job should be taken now (Runware refuses the key, or the account has no balance), or
 * NULL. When it clears, the room callback runs. */
const char *rwd_submit_paused(const struct rwd_submit *s);

/* After a configuration reload: a refused key may have been replaced, try again now. */
void rwd_submit_reload(struct rwd_submit *s);

/* Tasks held: queued, in flight, waiting for a retry, or being settled in Redis. */
size_t rwd_submit_count(const struct rwd_submit *s);
bool rwd_submit_has(const struct rwd_submit *s, const char *uuid);

/* Stops sending: tasks not yet sent are let go at once (they stay registered in Redis for the
 * next start or another instance); on_empty runs once the requests in flight are answered and
 * their outcomes noted in Redis (maybe at once). */
void rwd_submit_drain(struct rwd_submit *s, void (*on_empty)(void *), void *arg);

/* Frees everything; tasks still held stay in Redis's submitting set for the next start. */
void rwd_submit_free(struct rwd_submit *s);

#endif
