/* Redis key names: the one place that knows them. */
#ifndef RW_KEYS_H
#define RW_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* <prefix>:jobs         list    producers LPUSH, intake takes from the right (FIFO)
 * <prefix>:results      list    default result list
 * <prefix>:processing:<instance>  list  jobs taken but not yet registered or refused
 * <prefix>:submitting:<instance>  set   tasks registered by this instance, not yet acknowledged
 * <prefix>:task:<uuid>  hash    one in-flight task (fields below); a tombstone once done
 * <prefix>:task:<uuid>:seen   hash  imageUUID -> 1, repeats ignored
 * <prefix>:task:<uuid>:items  list  result items as received, in arrival order
 * <prefix>:pending      zset    uuid -> takenAt ms, tasks not yet complete
 * <prefix>:instances    zset    instance id -> its last heartbeat (Redis time, ms)
 * <prefix>:secret       string  the shared webhook secret (when no webhook_secret_file)
 * <prefix>:dead         list    raw payloads of jobs refused unread (too large, not UTF-8 JSON,
 *                               too deep, not an object); LMOVE one back onto :jobs to retry */
enum rw_key_kind {
    RW_KEY_JOBS,
    RW_KEY_RESULTS,
    RW_KEY_PROCESSING, /* arg: instance id */
    RW_KEY_SUBMITTING, /* arg: instance id */
    RW_KEY_TASK,       /* arg: task uuid */
    RW_KEY_TASK_SEEN,  /* arg: task uuid */
    RW_KEY_TASK_ITEMS, /* arg: task uuid */
    RW_KEY_PENDING,
    RW_KEY_INSTANCES,
    RW_KEY_SECRET,
    RW_KEY_DEAD,
};

/* Writes the key into buf. Returns its length, or -1 if it does not fit. */
int rw_key(char *buf, size_t buflen, const char *prefix, enum rw_key_kind kind, const char *arg);

/* True when `key` is one of runwared's own keys (jobs, processing, submitting, task, pending,
 * instances, secret, dead), which a job's resultList must never name. The default results list is
 * not reserved. */
bool rw_key_reserved(const char *prefix, const char *key);

#endif
