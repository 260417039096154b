/* The producer API: build a job, push it onto runwared's jobs list, wait for its result record.
 *
 * For C programs that produce jobs (runwarectl is one). It is a blocking client on hiredis's
 * synchronous API: use it from a thread of your own, never from an event loop. One
 * struct rw_producer is one Redis connection and must not be shared between threads.
 *
 *     char err[256], uuid[RW_UUID_LEN + 1], list[RW_PRODUCER_LIST_MAX], *rec;
 *     const char *job = "{\"positivePrompt\":\"a red fox in snow\"}";
 *     size_t reclen;
 *     struct rw_producer *p = rw_producer_connect("redis://127.0.0.1:6379/0", "runware", 5000,
 *                                                 err, sizeof(err));
 *     if (!p || rw_producer_submit(p, job, strlen(job), uuid, list, err, sizeof(err)) < 0)
 *         ...;                                        // err says why
 *     if (rw_producer_wait(p, list, uuid, 120000, NULL, NULL, &rec, &reclen, err,
 *                          sizeof(err)) == 1)
 *         ...;                                        // rec: the result record (JSON)
 *     free(rec);
 *     rw_producer_close(p);
 *
 * rw_producer_submit() gives the job a reply list of its own (<prefix>:reply:<taskUUID>), so
 * that waiting for one record never takes another producer's. Fire-and-forget producers use
 * rw_producer_build() and rw_producer_enqueue() and read records from <prefix>:results (or the
 * job's resultList). Records are JSON as README "Result records" describes: status "success"
 * or "error".
 *
 * Every function that can fail returns a negative number and writes a one-line message into
 * err (errlen bytes, may be 0); no function prints or logs anything. */
#ifndef RW_PRODUCER_H
#define RW_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "rw_uuid.h"

struct rw_producer;

/* Connects to redis_url (redis://[[user]:password@]host[:port][/db] or unix:/path[?db=N]; AUTH
 * and SELECT as given) with key prefix `prefix` (config key_prefix, e.g. "runware").
 * timeout_ms bounds the connect and every command except rw_producer_wait's blocking pop.
 * Returns NULL with a message (which never quotes the password). */
struct rw_producer *rw_producer_connect(const char *redis_url, const char *prefix, int timeout_ms,
                                        char *err, size_t errlen);

/* Closes the connection and frees p. Accepts NULL. */
void rw_producer_close(struct rw_producer *p);

/* Pure: turns a job (a bare task or an envelope {"task","meta","resultList"}, len bytes of JSON)
 * into the payload to push. Its taskUUID is kept when it has one, else a fresh UUIDv4 is set;
 * either way it is written to uuid. When result_list is non-NULL the record is sent there (a
 * bare task is wrapped in an envelope for that); a job that already names a resultList is then
 * refused (-1). *out (malloc'd, NUL-terminated, *outlen bytes) receives the payload.
 * Returns 0, -1 (bad job: not JSON, not an object, task not an object, taskUUID not a UUID), or
 * -2 (ENOMEM). The job's content is validated by runwared (or by rw_job_parse beforehand). */
int rw_producer_build(const char *job, size_t len, const char *result_list,
                      char uuid[RW_UUID_LEN + 1], char **out, size_t *outlen, char *err,
                      size_t errlen);

/* Writes "<prefix>:reply:<uuid>", a list for one task's record, into buf. -1 if it does not fit.
 * runwared does not reserve this name: it is the producer's own. */
int rw_producer_reply_list(const char *prefix, const char *uuid, char *buf, size_t buflen);

/* LPUSHes payload (from rw_producer_build) onto <prefix>:jobs. Returns 0 or -1. */
int rw_producer_enqueue(struct rw_producer *p, const char *payload, size_t len, char *err,
                        size_t errlen);

/* Builds job with a reply list of its own and enqueues it: the usual request half of a
 * request/response. uuid receives the taskUUID, list (RW_PRODUCER_LIST_MAX bytes) the list to
 * wait on. Returns 0, -1 (bad job or Redis error), -2 (ENOMEM). */
#define RW_PRODUCER_LIST_MAX 600
int rw_producer_submit(struct rw_producer *p, const char *job, size_t len,
                       char uuid[RW_UUID_LEN + 1], char list[RW_PRODUCER_LIST_MAX], char *err,
                       size_t errlen);

/* How a task is getting on, for a progress display while waiting. */
struct rw_progress {
    int64_t elapsed_ms; /* since rw_producer_wait was called */
    char state[16];     /* "queued" (jobs list), "registered", "submitted", "done", "" unknown */
    long images;        /* distinct images received so far */
    long expected;      /* numberResults, 0 until the task is registered */
};

typedef void rw_progress_cb(const struct rw_progress *pr, void *arg);

/* Waits up to timeout_ms (0: forever) for the record of task uuid on list (BRPOP, one second at
 * a time), calling progress (may be NULL) once a second. *record (malloc'd, NUL-terminated,
 * *reclen bytes) receives the record. Returns 1 with a record, 0 on timeout, -1 on error. */
int rw_producer_wait(struct rw_producer *p, const char *list, const char *uuid, int timeout_ms,
                     rw_progress_cb *progress, void *arg, char **record, size_t *reclen, char *err,
                     size_t errlen);

/* The numbers of a pipeline. */
struct rw_producer_stats {
    long long queued;    /* jobs waiting in <prefix>:jobs */
    long long in_flight; /* tasks registered and not yet complete, all instances */
    long long dead;      /* jobs in the dead-letter list <prefix>:dead */
    long long live;      /* instances whose heartbeat is younger than adopt_after_s */
    long long instances; /* instances with a heartbeat entry at all */
};

int rw_producer_stats(struct rw_producer *p, int adopt_after_s, struct rw_producer_stats *st,
                      char *err, size_t errlen);

/* Moves up to max (0: all) dead letters back to the jobs list, oldest first, one atomic LMOVE
 * each. *moved receives the count. Returns 0 or -1 (then *moved holds those already moved). */
int rw_producer_requeue_dead(struct rw_producer *p, long max, long *moved, char *err,
                             size_t errlen);

/* What Redis holds about task uuid, as one JSON object (malloc'd into *json): its state, owner,
 * result list, images expected and received, takenAt/submittedAt, time to live of a finished
 * task's tombstone, whether it waits in the pending set, and its body while not yet
 * acknowledged (with the webhook token hidden). Returns 1, 0 when Redis knows no such task, or
 * -1. */
int rw_producer_inspect(struct rw_producer *p, const char *uuid, char **json, char *err,
                        size_t errlen);

#endif
