/* Integration harness: real redis-server, runware-sim and runwared on spare ports in a temp dir. */
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "rwtest.h"

/* A failed expectation: prints the message (which job, expected vs got) and counts it for the
 * rwtest runner. Harness failures that make going on pointless use it_die() instead. */
#define IT_EXPECT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            rwt_failed++;                                                                          \
        }                                                                                          \
    } while (0)

struct it_proc {
    const char *name;        /* "redis-server", "runware-sim", "runwared" */
    pid_t pid;               /* 0: not running */
    int status;              /* wait status once reaped */
    char out_path[PATH_MAX]; /* its stdout */
    char err_path[PATH_MAX]; /* its stderr */
};

struct it_env {
    char dir[256];     /* fresh temp dir, removed by it_env_finish unless a case failed */
    char prefix[32];   /* key_prefix given to runwared */
    char instance[32]; /* instance_id given to runwared */
    char api_key[48];  /* the key the sim demands; must never reach a log */
    char secret[80];   /* webhook secret (from the file we wrote or from Redis) */
    size_t secret_len;
    bool secret_in_file; /* write webhook_secret_file instead of letting runwared keep one */
    bool redis_persist;  /* redis-server with appendonly yes, appendfsync always */
    int redis_port, sim_port, rw_port, admin_port;
    const char *redis_host; /* what runwared's redis_url names (NULL: 127.0.0.1) */
    bool redis_unix;        /* redis-server also listens on <dir>/redis.sock, runwared uses it */
    char sim_url[64];       /* http://127.0.0.1:<sim_port> */
    char rw_url[64];        /* http://127.0.0.1:<rw_port> */
    char admin_url[64];     /* http://127.0.0.1:<admin_port>: /metrics, /healthz, /readyz */
    char conf_path[PATH_MAX];
    struct it_proc redis, sim, rw;
    int rw_runs;      /* runwared processes started so far */
    int redis_runs;   /* redis-server processes started so far */
    redisContext *rc; /* our own synchronous connection */
    /* A second runwared sharing redis and the sim (it_env_peer): the peer's tag names its files
     * (runwared-<tag>.conf, runwared-<tag>[-<n>].std*), owner is the env whose dir, redis and sim
     * it uses; the owner's peer is watched while collecting and finished with it. */
    char tag[16];
    struct it_env *owner, *peer;
    bool finished;
    char rw_names[8][40]; /* log file stems of successive runwared runs */
};

struct it_record {
    char *list;       /* the list it was popped from */
    char *raw;        /* the record text as stored */
    json_object *obj; /* parsed, NULL when it was not JSON */
};

struct it_records {
    struct it_record *v;
    size_t n, cap;
};

/* Binaries (absolute paths from CMake); NULL when the target is not built yet. */
const char *it_bin_runwared(void);
const char *it_bin_sim(void);

/* Multiplier for deadlines: $RW_IT_SLOW, else 3 in sanitizer builds and 1 otherwise. */
int it_slow(void);

int64_t it_now_ms(void);
void it_sleep_ms(int ms);

/* Prints the message, the tails of every child's logs, kills the children and exits 1. */
void it_die(struct it_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* A port nobody listens on right now (bind 127.0.0.1:0 and read it back). */
int it_spare_port(void);

/* Creates the temp dir, picks ports and names. Installs the kill-children-on-exit/signal hooks. */
void it_env_init(struct it_env *e, const char *prefix);

/* Starts redis-server on e->redis_port (with persistence when e->redis_persist) and connects
 * e->rc. */
void it_redis_start(struct it_env *e);

/* Stops redis-server with `sig`: SIGTERM expects exit status 0 (it saves first), SIGKILL is a
 * crash. Drops e->rc (a peer's connection is not usable either until it_redis_restart). */
void it_redis_stop(struct it_env *e, int sig);

/* Starts redis-server again on the same port and dir (it reloads its data when e->redis_persist);
 * the new process logs to redis-server-<n>.std*. Reconnects e->rc and its peer's. */
void it_redis_restart(struct it_env *e);

/* A second env for another runwared in the same test: shares e's dir, redis-server, sim,
 * key_prefix, API key and (when e->secret_in_file) webhook secret file; has its own instance_id
 * (e's with "-<tag>"), listener port, config, logs and Redis connection. Call after
 * it_redis_start and it_sim_start on e; start its runwared with it_rw_start. it_env_finish(e)
 * finishes the peer first (it_env_finish(peer) may also be called before). */
void it_env_peer(struct it_env *peer, struct it_env *e, const char *tag);

/* GET /readyz of the current runwared (its admin listener): the status code, 0 if it did not
 * answer. */
long it_rw_health(struct it_env *e);

/* Starts runware-sim with the fixed options plus `extra` (NULL-terminated, may be NULL), waits
 * for its "listening on" line. */
void it_sim_start(struct it_env *e, const char *const *extra);

/* Writes the config (all required keys, log_level debug, plus `extra` lines verbatim, may be
 * NULL), starts runwared and waits for /readyz 200. Afterwards loads the webhook secret. */
void it_rw_start(struct it_env *e, const char *extra);

/* Stops runwared with SIGTERM; expects exit status 0 within the deadline. */
void it_rw_stop(struct it_env *e);

/* Kills runwared with SIGKILL (a crash). */
void it_rw_kill(struct it_env *e);

/* Starts runwared again on the same config, ports and secret, after it_rw_stop or it_rw_kill;
 * the new process logs to runwared-<n>.stderr. Checks the previous log held no secret. */
void it_rw_restart(struct it_env *e);

/* Stops everything still running (the peer's runwared, runwared, sim, redis), expecting each to
 * exit 0, checks that no log holds the API key or webhook secret, prints logs if the case failed,
 * removes the dir. For a peer: stops its runwared and checks its logs only. */
void it_env_finish(struct it_env *e);

/* rm -r dir */
void it_rmtree(const char *dir);

/* The current runwared log must not contain needle (a secret called `what`); a failure quotes
 * the line. */
void it_expect_log_clean(struct it_env *e, const char *what, const char *needle);

/* Spawns argv[0] with stdout/stderr to files in the env's dir named after p->name. The child dies
 * with us (PR_SET_PDEATHSIG). Dies on failure. */
void it_spawn(struct it_env *e, struct it_proc *p, const char *name, char *const argv[]);

/* Runs argv to completion with a deadline; fills *status (wait status) and *output (stdout then
 * stderr, malloc'd). Dies if it could not be run or did not finish in time. */
void it_run(struct it_env *e, char *const argv[], int timeout_ms, int *status, char **output);

/* A whole file, NUL-terminated (malloc'd); NULL if it cannot be read. *len (may be NULL)
 * receives its size. */
char *it_read_file(const char *path, size_t *len);

/* Writes `text` to <dir>/<name>; path (PATH_MAX) receives the full path when non-NULL. */
void it_write_file(struct it_env *e, const char *name, const char *text, char *path);

/* Redis helpers on e->rc; they die on a connection error. */
redisReply *it_redis(struct it_env *e, const char *fmt, ...);
void it_push(struct it_env *e, const char *payload);
void it_push_many(struct it_env *e, char **payloads, size_t n);
long long it_llen(struct it_env *e, const char *key);
void it_key(struct it_env *e, char *buf, size_t len, const char *suffix);

/* Pops records (BRPOP) from `lists` until `want` more arrived or timeout_ms passed. Returns how
 * many were added to out. Dies if runwared (or the peer's) exits meanwhile. */
size_t it_collect(struct it_env *e, const char *const *lists, size_t nlists, size_t want,
                  int timeout_ms, struct it_records *out);

/* After grace_ms, every list in `lists` must be empty: each extra record is a failure, printed. */
void it_expect_no_more(struct it_env *e, const char *const *lists, size_t nlists, int grace_ms);

/* jobs list, this instance's processing list and submitting set, and the pending set must be
 * empty. */
void it_expect_quiescent(struct it_env *e);

void it_records_free(struct it_records *r);

/* The record for uuid, or NULL. */
struct it_record *it_records_find(struct it_records *r, const char *uuid);

/* Checks the shape every record must have (taskUUID, status, data, errors, meta, takenAt,
 * completedAt); `what` names the job in messages. Returns false if it is unusable. */
bool it_check_record_shape(const struct it_record *rec, const char *what);

/* A success record for a job: taskUUID (when uuid is non-NULL), list, status, exactly n items,
 * each for this task with a distinct imageUUID and exactly the output field outputType asks for
 * (NULL: the default URL), meta equal to `meta` (NULL: JSON null). Returns false on a mismatch. */
bool it_check_success(const struct it_record *rec, const char *what, const char *uuid,
                      const char *list, int n, const char *output_type, json_object *meta);

/* An error record: status "error", errors holding exactly one error, with `code` and (when param
 * is non-NULL) "parameter" == param, and no data. */
bool it_check_error(const struct it_record *rec, const char *what, const char *code,
                    const char *param);

/* The output field an outputType asks for: imageURL, imageBase64Data or imageDataURI. */
const char *it_output_field(const char *output_type);

/* Checks one result item of task `uuid`: an object with imageUUID and exactly `field` among the
 * three output fields. `what` names the job and item. */
bool it_check_item(json_object *item, const char *what, const char *uuid, const char *field);

/* HTTP via libcurl. Returns the status code (0 if the request failed); *body (may be NULL)
 * receives the response body, malloc'd and NUL-terminated. */
/* A TCP connection to runwared's listener (dies on failure). */
int it_tcp_connect(struct it_env *e);
/* Reads until `want` has arrived (or EOF, or timeout_ms); NUL-terminated, at most cap. */
size_t it_read_until(int fd, char *buf, size_t cap, const char *want, int timeout_ms);
/* Reads the status line and headers the server sends (or what it sends before closing). */
size_t it_read_answer(int fd, char *buf, size_t cap, int timeout_ms);

long it_http(const char *method, const char *url, const char *body, size_t bodylen, char **resp,
             int timeout_ms);

/* The value of one series (e.g. "runwared_tasks_acknowledged_total") in a /metrics answer, -1
 * when absent; it_metric GETs runwared's /metrics for it (-1 when that fails). */
long long it_metric_in(const char *text, const char *series);
long long it_metric(struct it_env *e, const char *series);

/* GET <sim>/_sim/stats and /_sim/task/<uuid>: parsed JSON (put by the caller), NULL on error. */
json_object *it_sim_stats(struct it_env *e);
json_object *it_sim_task(struct it_env *e, const char *uuid);
/* An integer counter from the stats, -1 if absent. */
long long it_stat(json_object *stats, const char *name);

/* Semantic JSON equality (json_object_equal, NULL == NULL). */
bool it_json_equal(json_object *a, json_object *b);

/* Borrowed field accessors; NULL / -1 when absent or of another type. */
const char *it_jstr(json_object *o, const char *key);
long long it_jint(json_object *o, const char *key);
json_object *it_jget(json_object *o, const char *key);

/* A fresh lower-case UUIDv4 (from /dev/urandom). */
void it_uuid(char out[37]);

/* Small printf into a malloc'd string; dies on ENOMEM. */
char *it_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A batch of mixed envelope jobs: job i (counted from `first` across a test) has numberResults
 * 1 + i % 4, outputType URL/base64Data/dataURI by i % 3, meta {"i":i}, a producer taskUUID, and
 * goes to the list `other` when i % 5 == 0, else to the default results list. */
struct it_job {
    char uuid[37];
    int n;
    const char *output;
    const char *list;
    char *payload;
};

struct it_batch {
    struct it_job *jobs;
    int njobs, images, first;
    char results[64];     /* the default results list */
    const char *lists[2]; /* results, other: for it_collect */
};

/* size: width and height of every task. */
void it_batch_make(struct it_env *e, struct it_batch *b, int njobs, int first, const char *tag,
                   const char *other, int size);

/* LPUSHes the jobs, `chunk` per call (0: all at once). */
void it_batch_push(struct it_env *e, struct it_batch *b, int chunk);

/* Each job has exactly one record in recs, and a correct one. With sim_once, the sim also saw
 * each task submitted once, and every image it delivered is in the record. */
void it_batch_check(struct it_env *e, const struct it_batch *b, struct it_records *recs,
                    bool sim_once);

/* Collects until every job of b has a record (counting those already in recs), failing the
 * case after stall_ms with neither a new record nor a new request reaching the sim: retries
 * back off, so a progress deadline suits better than one overall deadline. Returns recs->n. */
size_t it_batch_collect_all(struct it_env *e, struct it_batch *b, int stall_ms,
                            struct it_records *recs);

/* it_batch_check (without sim_once), no record for anything else, none arriving after 1.5 s,
 * and nothing left in the processing list, the submitting set or the pending set. */
void it_batch_check_all(struct it_env *e, const struct it_batch *b, struct it_records *recs);

/* Every record in recs answers a job of one of the batches. */
void it_batch_expect_known(const struct it_batch *const *bs, size_t nb, struct it_records *recs);

void it_batch_free(struct it_batch *b);

#endif
