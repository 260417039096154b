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

/* Queues one registered task: body is the task's JSON (taken over). Returns -1 on ENOMEM (body
 * is freed; the task stays in the submitting set for the next start). */
int rwd_submit_add(struct rwd_submit *s, const char *uuid, char *body, size_t len);

/* Tasks held: queued, in flight, waiting for a retry, or being settled in Redis. */
size_t rwd_submit_count(const struct rwd_submit *s);
bool rwd_submit_has(const struct rwd_submit *s, const char *uuid);

/* Stop taking new work and call on_empty once nothing is held any more (maybe at once). */
void rwd_submit_drain(struct rwd_submit *s, void (*on_empty)(void *), void *arg);

/* Frees everything; tasks still held stay in Redis's submitting set for the next start. */
void rwd_submit_free(struct rwd_submit *s);

#endif
