/* runwared's data in Redis: taking jobs, registering tasks, writing result records exactly once.
 * Every Lua script and every key name use lives here. */
#ifndef RWD_STORE_H
#define RWD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "rw_config.h"

struct rwd_store;

/* Bytes sent as one piece of an argument made of several. */
struct rwd_span {
    const char *p;
    size_t n;
};

/* Answers of rwd_store_register */
#define RWD_REG_GONE      (-3) /* the job is no longer in the processing list */
#define RWD_REG_WRONGTYPE (-2) /* resultList names a key that is not a list */
#define RWD_REG_DUPLICATE 0    /* another task with this taskUUID is in flight or recently done */
#define RWD_REG_OK        1

/* Answers of rwd_store_complete */
#define RWD_DONE_UNKNOWN  (-1) /* no such task */
#define RWD_DONE_IGNORED  0    /* repeat image, or the task was already complete */
#define RWD_DONE_PARTIAL  1    /* image stored, more to come */
#define RWD_DONE_COMPLETE 2    /* the record was pushed */

/* cmd runs ordinary commands; block is reserved for the blocking wait of intake. */
struct rwd_store *rwd_store_new(struct rwd_redis *cmd, struct rwd_redis *block,
                                const struct rw_config *cfg);
void rwd_store_free(struct rwd_store *st);

/* Each call below returns 0 when sent (cb then runs once with the reply, NULL if the connection
 * was lost) or -1 when Redis is not connected (cb does not run). */

/* Puts this instance's processing list (jobs taken by a previous run and neither registered nor
 * refused) back at the consuming end of the jobs list, oldest first. Reply: count moved. */
int rwd_store_recover(struct rwd_store *st, rwd_redis_cb *cb, void *arg);

/* Moves up to max jobs, oldest first, to the processing list, fewer when the tasks registered
 * and not completed (across instances) near max_inflight. Reply: array of payloads, or the
 * integer -1 at the bound. */
int rwd_store_take(struct rwd_store *st, int max, int max_inflight, rwd_redis_cb *cb, void *arg);

/* Blocks (on the block connection) up to timeout_s for one job. Reply: payload or nil. */
int rwd_store_wait(struct rwd_store *st, int timeout_s, rwd_redis_cb *cb, void *arg);

/* Pushes an error record for a job that will not be submitted, and drops the job from the
 * processing list, in one step, if the job is still there. Reply: 1, or 0 when it was not (the
 * record is then not written). list NULL: the default results list. dead: the raw job is also
 * pushed to the dead-letter list <prefix>:dead. */
int rwd_store_reject(struct rwd_store *st, const char *raw, size_t rawlen, const char *list,
                     const char *record, bool dead, rwd_redis_cb *cb, void *arg);

/* Records a task about to be submitted: the job (raw) leaves the processing list, the task
 * (body, with its taskUUID) joins this instance's submitting set until Runware acknowledges it.
 * head: rw_record_head(). */
int rwd_store_register(struct rwd_store *st, const char *uuid, const char *list, int n,
                       const char *head, int64_t taken_ms, const char *raw, size_t rawlen,
                       const char *body, size_t bodylen, rwd_redis_cb *cb, void *arg);

#define RWD_ACKED_MAX 100 /* tasks per rwd_store_acked call */

/* Runware acknowledged n tasks (1..RWD_ACKED_MAX; task i after attempts[i] POSTs of it by this
 * instance), in one script call: each leaves the submitting set, and without a result at poll_ms
 * reconcile polls it. Repeating the call is harmless. */
int rwd_store_acked(struct rwd_store *st, const char *const *uuids, const int *attempts, size_t n,
                    int64_t now_ms, int64_t poll_ms, rwd_redis_cb *cb, void *arg);

/* Tasks this instance registered in a previous run and never saw acknowledged. Reply: flat
 * array uuid, body, uuid, body... */
int rwd_store_unsubmitted(struct rwd_store *st, rwd_redis_cb *cb, void *arg);

/* Adds one result item (image_uuid set; the item is the concatenation of its nspans pieces) or
 * ends the task with an error (image_uuid NULL, no item; tail then carries the errors). When that
 * completes the task the record head ++ items ++ tail is pushed to its list, atomically. */
int rwd_store_complete(struct rwd_store *st, const char *uuid, const char *image_uuid,
                       const struct rwd_span *item, size_t nspans, const char *tail,
                       rwd_redis_cb *cb, void *arg);

/* The same, except that a completion is answered {2, takenAt ms} (an array) rather than 2, for
 * the job latency metric. */
int rwd_store_complete_timed(struct rwd_store *st, const char *uuid, const char *image_uuid,
                             const struct rwd_span *item, size_t nspans, const char *tail,
                             rwd_redis_cb *cb, void *arg);

/* Stores candidate as the shared webhook secret unless one exists. Reply: the secret in force. */
int rwd_store_secret(struct rwd_store *st, const char *candidate, rwd_redis_cb *cb, void *arg);

/* Tasks due for a look (the pending set's scores are due times): finished ones leave the set;
 * submitted ones are claimed for this instance, their next poll moved out by a growing interval
 * (first_ms doubling up to longest_ms), so that instances do not poll the same task at once;
 * queued ones are looked at again in queued_wait_ms. Reply: flat array uuid, takenAt, ... of
 * the claimed tasks (at most max looked at). */
int rwd_store_claim_due(struct rwd_store *st, int64_t now_ms, int max, int64_t queued_wait_ms,
                        int64_t first_ms, int64_t longest_ms, rwd_redis_cb *cb, void *arg);

/* Notes this instance's heartbeat and adopts the leftovers of instances silent for adopt_after_s
 * (their jobs are queued again; their registered tasks become this instance's). Reply: a summary
 * of what was adopted ('' for nothing), then uuid, body pairs of the tasks to submit. */
int rwd_store_heartbeat(struct rwd_store *st, int adopt_after_s, rwd_redis_cb *cb, void *arg);

/* Reply: array of 4 integers: jobs queued, tasks pending (registered, not complete, all
 * instances), dead letters, live instances (a heartbeat within adopt_after). */
int rwd_store_stats(struct rwd_store *st, rwd_redis_cb *cb, void *arg);

/* Is the command connection usable? */
int rwd_store_ready(const struct rwd_store *st);

#endif
