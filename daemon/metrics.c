/* What runwared has done since it started: counters and histograms served as Prometheus text. */
#include "metrics.h"

#include <inttypes.h>

static const double submit_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double job_bounds[] = {1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600};

struct rwd_metrics rwd_metrics = {
    .submit_latency = {.bounds = submit_bounds,
                       .nbounds = sizeof(submit_bounds) / sizeof(submit_bounds[0])},
    .job_latency = {.bounds = job_bounds, .nbounds = sizeof(job_bounds) / sizeof(job_bounds[0])},
};

_Static_assert(sizeof(submit_bounds) / sizeof(submit_bounds[0]) < RWD_HIST_MAX, "buckets");
_Static_assert(sizeof(job_bounds) / sizeof(job_bounds[0]) < RWD_HIST_MAX, "buckets");

void rwd_metrics_retry(enum rwd_retry_reason why)
{
    rwd_metrics.submit_retries++;
    rwd_metrics.retries[why]++;
}

void rwd_metrics_observe(struct rwd_hist *h, double seconds)
{
    int i = 0;

    if (seconds < 0)
        seconds = 0;
    while (i < h->nbounds && seconds > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

static void head(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP runwared_%s %s\n# TYPE runwared_%s %s\n", name, help, name,
                        type);
}

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
    head(out, name, "counter", help);
    evbuffer_add_printf(out, "runwared_%s %" PRIu64 "\n", name, v);
}

/* One labelled family: n values, label name, label values. */
static void family(struct evbuffer *out, const char *name, const char *help, const char *label,
                   const char *const *values, const uint64_t *v, int n)
{
    head(out, name, "counter", help);
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "runwared_%s{%s=\"%s\"} %" PRIu64 "\n", name, label, values[i],
                            v[i]);
}

static void histogram(struct evbuffer *out, const char *name, const char *help,
                      const struct rwd_hist *h)
{
    uint64_t cum = 0;

    head(out, name, "histogram", help);
    for (int i = 0; i < h->nbounds; i++) {
        cum += h->counts[i];
        evbuffer_add_printf(out, "runwared_%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, h->bounds[i],
                            cum);
    }
    evbuffer_add_printf(out, "runwared_%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
    evbuffer_add_printf(out, "runwared_%s_sum %.6f\nrunwared_%s_count %" PRIu64 "\n", name, h->sum,
                        name, h->count);
}

void rwd_metrics_gauge(struct evbuffer *out, const char *name, const char *help, double v)
{
    head(out, name, "gauge", help);
    evbuffer_add_printf(out, "runwared_%s %.15g\n", name, v);
}

void rwd_metrics_render(struct evbuffer *out)
{
    static const char *const outcome[RWD_CB_OUTCOMES] = {
        [RWD_CB_OK] = "ok",
        [RWD_CB_UNAUTHORIZED] = "unauthorized",
        [RWD_CB_BAD_REQUEST] = "bad_request",
        [RWD_CB_UNKNOWN] = "unknown_task",
        [RWD_CB_UNAVAILABLE] = "unavailable",
    };
    static const char *const reason[RWD_RETRY_REASONS] = {
        [RWD_RETRY_NETWORK] = "network",
        [RWD_RETRY_THROTTLED] = "throttled",
        [RWD_RETRY_SERVER] = "server_error",
        [RWD_RETRY_LOCAL] = "local",
    };
    static const char *const status[RWD_REC_STATUSES] = {
        [RWD_REC_SUCCESS] = "success",
        [RWD_REC_ERROR] = "error",
    };
    static const char *const conn_reason[RWD_CONN_CLOSES] = {
        [RWD_CONN_IDLE] = "idle",           [RWD_CONN_SLOW] = "slow",
        [RWD_CONN_EVICTED] = "evicted",     [RWD_CONN_OVERSIZE] = "oversize",
        [RWD_CONN_MALFORMED] = "malformed",
    };
    const struct rwd_metrics *m = &rwd_metrics;

    counter(out, "jobs_taken_total", "Jobs taken from the jobs list.", m->jobs_taken);
    counter(out, "jobs_refused_total", "Jobs refused at intake (invalid) with an error record.",
            m->jobs_refused);
    counter(out, "submit_requests_total", "POSTs of tasks to Runware.", m->submit_requests);
    family(out, "submit_retries_total", "Tasks queued again after a transient failure, by reason.",
           "reason", reason, m->retries, RWD_RETRY_REASONS);
    counter(out, "submit_unknown_total",
            "Tasks whose POST had an unknown outcome (checked with getResponse before any resend).",
            m->submit_unknown);
    counter(out, "submit_checks_total", "getResponse requests settling unknown outcomes.",
            m->submit_checks);
    counter(out, "submit_unknown_resent_total",
            "Tasks sent again because Runware did not know them after an unknown outcome.",
            m->submit_unknown_resent);
    counter(out, "tasks_acknowledged_total", "Tasks Runware acknowledged (submitted).",
            m->tasks_acked);
    counter(out, "tasks_failed_total", "Tasks ended with an error record when submitted.",
            m->tasks_failed);
    family(out, "callbacks_total", "Webhook callbacks by outcome.", "outcome", outcome,
           m->callbacks, RWD_CB_OUTCOMES);
    counter(out, "records_completed_total",
            "Result records written by this instance's callbacks and polls.", m->records_completed);
    family(out, "jobs_completed_total",
           "Result records this instance wrote (intake, submit, callbacks, polls), by status.",
           "status", status, m->records, RWD_REC_STATUSES);
    counter(out, "images_total", "Distinct images received for tasks.", m->images);
    head(out, "spend_usd_total", "counter",
         "Runware's cost of the images received, in USD (tasks with includeCost).");
    evbuffer_add_printf(out, "runwared_spend_usd_total %.6f\n", m->cost_usd);
    counter(out, "polls_total", "getResponse requests for tasks without a result.", m->polls);
    counter(out, "timeouts_total", "Tasks ended by job_timeout.", m->timeouts);
    histogram(out, "submit_latency_seconds", "Time from a POST of tasks to Runware's answer.",
              &m->submit_latency);
    histogram(out, "job_latency_seconds",
              "Time from taking a job to writing its record, for jobs completed by callbacks or "
              "polls.",
              &m->job_latency);
    counter(out, "jobs_dead_total", "Refused jobs kept raw in the dead-letter list.", m->jobs_dead);
    counter(out, "redis_slow_batches_total",
            "Batches of callback store calls Redis had not answered within 50 ms (the listener "
            "then read new requests without waiting for it).",
            m->redis_slow_batches);
    evbuffer_add_printf(out, "# HELP runwared_listener_closed_total Listener connections "
                             "runwared closed, by reason.\n"
                             "# TYPE runwared_listener_closed_total counter\n");
    for (int i = 0; i < RWD_CONN_CLOSES; i++)
        evbuffer_add_printf(out, "runwared_listener_closed_total{reason=\"%s\"} %" PRIu64 "\n",
                            conn_reason[i], m->conns_closed[i]);
}
