/* What runwared has done since it started: counters and histograms served as Prometheus text on
 * the admin listener's /metrics. */
#ifndef RWD_METRICS_H
#define RWD_METRICS_H

#include <stdint.h>
#include <event2/buffer.h>

enum rwd_cb_outcome {
    RWD_CB_OK,           /* recorded (repeats included) */
    RWD_CB_UNAUTHORIZED, /* bad or missing token */
    RWD_CB_BAD_REQUEST,  /* unreadable body, nothing for the task */
    RWD_CB_UNKNOWN,      /* no such task */
    RWD_CB_UNAVAILABLE,  /* Redis could not record it */
    RWD_CB_OUTCOMES
};

/* Why a task went back to the submit queue. */
enum rwd_retry_reason {
    RWD_RETRY_NETWORK,   /* no connection could be opened (other network errors are checked) */
    RWD_RETRY_THROTTLED, /* 429 */
    RWD_RETRY_SERVER,    /* 408, 5xx */
    RWD_RETRY_LOCAL,     /* the request could not be started here */
    RWD_RETRY_REASONS
};

/* The status of a result record. */
enum rwd_rec_status { RWD_REC_SUCCESS, RWD_REC_ERROR, RWD_REC_STATUSES };

#define RWD_HIST_MAX 16

/* A Prometheus histogram of seconds over fixed upper bounds (+Inf implied). */
struct rwd_hist {
    const double *bounds; /* ascending, nbounds of them */
    int nbounds;
    uint64_t counts[RWD_HIST_MAX]; /* per bucket, not cumulative; [nbounds]: above the last */
    uint64_t count;
    double sum;
};

/* Why the listener closed a connection itself. */
enum rwd_conn_close {
    RWD_CONN_IDLE,      /* silent for callback_idle_timeout */
    RWD_CONN_SLOW,      /* no whole request within callback_request_timeout */
    RWD_CONN_EVICTED,   /* made room for a new one at max_callback_connections */
    RWD_CONN_OVERSIZE,  /* sent more than one request may hold */
    RWD_CONN_MALFORMED, /* a request that is not HTTP/1.x as served (answered 4xx/5xx first) */
    RWD_CONN_CLOSES
};

/* Plain counters: the loop is single-threaded. */
struct rwd_metrics {
    uint64_t jobs_taken;
    uint64_t jobs_refused;    /* error record written at intake (invalid jobs) */
    uint64_t submit_requests; /* POSTs of tasks */
    uint64_t submit_retries;  /* tasks queued again after a transient failure (all reasons) */
    uint64_t retries[RWD_RETRY_REASONS];
    uint64_t submit_unknown;        /* tasks whose POST had an unknown outcome */
    uint64_t submit_checks;         /* getResponse requests settling unknown outcomes */
    uint64_t submit_unknown_resent; /* tasks sent again after Runware said it did not know them */
    uint64_t tasks_acked;
    uint64_t tasks_failed; /* error record written by submit */
    uint64_t callbacks[RWD_CB_OUTCOMES];
    uint64_t records_completed;         /* records this instance's completions pushed */
    uint64_t records[RWD_REC_STATUSES]; /* every record this instance wrote, by status */
    uint64_t images;                    /* distinct images stored for tasks */
    double cost_usd;                    /* sum of the items' "cost" (includeCost) */
    uint64_t polls;                     /* getResponse requests */
    uint64_t timeouts;                  /* tasks ended by job_timeout */
    struct rwd_hist submit_latency;     /* one POST of tasks, to Runware's answer */
    struct rwd_hist job_latency;        /* job taken -> its record written (callbacks, polls) */
    uint64_t jobs_dead;                 /* refused jobs whose raw payload went to <prefix>:dead */
    uint64_t conns_closed[RWD_CONN_CLOSES]; /* listener connections closed by runwared */
    uint64_t redis_slow_batches; /* the listener's 50 ms wait for a batch of store calls ran out */
};

extern struct rwd_metrics rwd_metrics;

/* A task goes back to the queue. */
void rwd_metrics_retry(enum rwd_retry_reason why);

/* Adds one observation (seconds) to h. */
void rwd_metrics_observe(struct rwd_hist *h, double seconds);

/* Appends the counters and histograms in Prometheus text format (0.0.4). */
void rwd_metrics_render(struct evbuffer *out);

/* Appends one gauge with its HELP and TYPE lines. */
void rwd_metrics_gauge(struct evbuffer *out, const char *name, const char *help, double v);

#endif
