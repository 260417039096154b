/* What runwared has done since it started: counters served as Prometheus text on /metrics. */
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

/* Why the listener closed a connection itself. */
enum rwd_conn_close {
    RWD_CONN_IDLE,     /* silent for callback_idle_timeout */
    RWD_CONN_SLOW,     /* no whole request within callback_request_timeout */
    RWD_CONN_EVICTED,  /* made room for a new one at max_callback_connections */
    RWD_CONN_OVERSIZE, /* sent more than one request may hold */
    RWD_CONN_CLOSES
};

/* Plain counters: the loop is single-threaded. */
struct rwd_metrics {
    uint64_t jobs_taken;
    uint64_t jobs_refused;    /* error record written at intake */
    uint64_t submit_requests; /* POSTs of tasks */
    uint64_t submit_retries;  /* tasks queued again after a transient failure */
    uint64_t tasks_acked;
    uint64_t tasks_failed; /* error record written by submit */
    uint64_t callbacks[RWD_CB_OUTCOMES];
    uint64_t records_completed; /* records this instance's completions pushed */
    uint64_t polls;             /* getResponse requests */
    uint64_t timeouts;          /* tasks ended by task_timeout */
    uint64_t jobs_dead;         /* refused jobs whose raw payload went to <prefix>:dead */
    uint64_t conns_closed[RWD_CONN_CLOSES]; /* listener connections closed by runwared */
};

extern struct rwd_metrics rwd_metrics;

/* Appends the counters in Prometheus text format. */
void rwd_metrics_render(struct evbuffer *out);

#endif
