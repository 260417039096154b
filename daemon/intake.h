/* Takes jobs from Redis, validates them, registers them and hands them to submit, or writes
 * their error record. */
#ifndef RWD_INTAKE_H
#define RWD_INTAKE_H

#include "rw_config.h"
#include "rw_schema.h"
#include "store.h"
#include "submit.h"
#include "util.h"

struct rwd_intake;

/* schema may be NULL (structural validation only). secret must be known before start. */
struct rwd_intake *rwd_intake_new(const struct rw_config *cfg, struct rwd_store *st,
                                  struct rwd_submit *sub, const struct rw_schema *schema,
                                  const struct rwd_secret *secret, struct event_base *base);

/* (Re)starts taking jobs: called when a Redis connection is (again) ready. The first start, and
 * the first after a lost connection, puts this instance's leftover jobs back in the queue and
 * submits its leftover registered tasks again. */
void rwd_intake_start(struct rwd_intake *in);

/* A Redis connection was lost: recover leftovers again when it is back (rwd_intake_start). */
void rwd_intake_lost(void *in);

/* Submit has room again. */
void rwd_intake_room(void *in);

/* Validate jobs taken from now on against this schema (NULL: structural checks only), after a
 * reload. The schema must outlive its use. */
void rwd_intake_set_schema(struct rwd_intake *in, const struct rw_schema *schema);

/* Take no more jobs. */
void rwd_intake_stop(struct rwd_intake *in);

/* Jobs taken and being registered or refused right now. */
size_t rwd_intake_busy(const struct rwd_intake *in);

void rwd_intake_free(struct rwd_intake *in);

#endif
