/* runwared configuration: a table of keys, one generic `key = value` parser, file:line errors. */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stddef.h>

enum rw_log_level { RW_LOG_ERR = 0, RW_LOG_WARN, RW_LOG_INFO, RW_LOG_DEBUG };

struct rw_config {
    char *redis_url;           /* redis://[:password@]host:port/db or unix:/path[?db=N] */
    char *api_url;             /* Runware endpoint, default https://api.runware.ai/v1 */
    char *api_key_file;        /* file holding the API key; NULL: env RUNWARE_API_KEY */
    char *listen;              /* host:port of the callback listener */
    char *admin_listen;        /* host:port of /metrics, /healthz, /readyz */
    char *public_url;          /* base URL Runware reaches the listener at; default from listen */
    char *key_prefix;          /* prefix of every Redis key, default "runware" */
    char *webhook_secret_file; /* NULL: shared random secret kept in Redis (SET NX) */
    char *instance_id;         /* names this instance's processing list; default hostname:port */
    char *model_spec;          /* compiled request schema (JSON) for validation; NULL: structural */
    int log_level;             /* enum rw_log_level */
    int submit_batch;          /* tasks per POST */
    int submit_wait_ms;        /* a POST not full waits this long for more tasks */
    int max_requests;          /* concurrent POSTs to Runware */
    int max_pending;           /* jobs taken from Redis and not yet acknowledged */
    int max_inflight; /* tasks registered and not yet completed, across instances (intake bound) */
    int submit_retries;           /* retries of a retryable submit failure before an error record */
    int request_timeout_ms;       /* one POST, connect included */
    int max_callback_bytes;       /* largest callback body accepted (413 beyond) */
    int max_callback_connections; /* listener connections open at once */
    int callback_idle_timeout;    /* seconds a listener connection may stay silent */
    int callback_request_timeout; /* seconds a whole request (headers and body) may take */
    int max_job_bytes;            /* largest job payload; larger ones are refused */
    int done_ttl;                 /* seconds a completed task's tombstone absorbs late callbacks */
    int callback_timeout; /* seconds without a result before a task is polled (getResponse) */
    int job_timeout;      /* seconds after which a task without a result gets an error record */
    int adopt_after; /* seconds without a heartbeat before an instance's leftovers are adopted */
    int shutdown_timeout; /* seconds SIGTERM waits for tasks mid-submission before exiting */
};

/* Fills every key with its default (strings allocated). Returns -1 on ENOMEM. */
int rw_config_init(struct rw_config *cfg);

/* Parses `text` (name is used in messages, as in "name:line: message") into cfg, which must have
 * been initialised. Every error is reported, one per line, into err; on any error returns -1 and
 * cfg may hold a mix of old and new values (callers parse into a scratch config). */
int rw_config_parse(struct rw_config *cfg, const char *text, const char *name, char *err,
                    size_t errlen);

/* Reads `path` and parses it as above. */
int rw_config_load(struct rw_config *cfg, const char *path, char *err, size_t errlen);

/* Derives what depends on several keys (public_url from listen, instance_id) and checks
 * cross-key rules. Call once after loading. */
int rw_config_finish(struct rw_config *cfg, char *err, size_t errlen);

void rw_config_free(struct rw_config *cfg);

/* Writes every key and its current value, one `key = value` a line (for `runwared -t -v`). */
int rw_config_dump(const struct rw_config *cfg, char *buf, size_t buflen);

struct rw_redis_addr {
    char *host;     /* NULL for a unix socket */
    int port;       /* default 6379 */
    char *path;     /* unix socket path, or NULL */
    char *password; /* NULL: no AUTH */
    int db;         /* SELECT db, default 0 */
};

int rw_redis_url_parse(const char *url, struct rw_redis_addr *out, char *err, size_t errlen);
void rw_redis_addr_free(struct rw_redis_addr *a);

/* "host:port", "[v6]:port" or ":port" (host then NULL = all addresses). *host is allocated. */
int rw_hostport_parse(const char *s, char **host, int *port, char *err, size_t errlen);

#endif
