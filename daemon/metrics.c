/* What runwared has done since it started: counters served as Prometheus text on /metrics. */
#include "metrics.h"

#include <inttypes.h>

struct rwd_metrics rwd_metrics;

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
    evbuffer_add_printf(out,
                        "# HELP runwared_%s %s\n# TYPE runwared_%s counter\n"
                        "runwared_%s %" PRIu64 "\n",
                        name, help, name, name, v);
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
    const struct rwd_metrics *m = &rwd_metrics;

    counter(out, "jobs_taken_total", "Jobs taken from the jobs list.", m->jobs_taken);
    counter(out, "jobs_refused_total", "Jobs refused at intake with an error record.",
            m->jobs_refused);
    counter(out, "submit_requests_total", "POSTs of tasks to Runware.", m->submit_requests);
    counter(out, "submit_retries_total", "Tasks queued again after a transient failure.",
            m->submit_retries);
    counter(out, "submit_unknown_total",
            "Tasks whose POST had an unknown outcome (checked with getResponse before any resend).",
            m->submit_unknown);
    counter(out, "submit_checks_total", "getResponse requests settling unknown outcomes.",
            m->submit_checks);
    counter(out, "submit_unknown_resent_total",
            "Tasks sent again because Runware did not know them after an unknown outcome.",
            m->submit_unknown_resent);
    counter(out, "tasks_acknowledged_total", "Tasks Runware acknowledged.", m->tasks_acked);
    counter(out, "tasks_failed_total", "Tasks ended with an error record when submitted.",
            m->tasks_failed);
    evbuffer_add_printf(out, "# HELP runwared_callbacks_total Webhook callbacks by outcome.\n"
                             "# TYPE runwared_callbacks_total counter\n");
    for (int i = 0; i < RWD_CB_OUTCOMES; i++)
        evbuffer_add_printf(out, "runwared_callbacks_total{outcome=\"%s\"} %" PRIu64 "\n",
                            outcome[i], m->callbacks[i]);
    counter(out, "records_completed_total",
            "Result records written by this instance's callbacks "
            "and polls.",
            m->records_completed);
    counter(out, "polls_total", "getResponse requests for tasks without a result.", m->polls);
    counter(out, "timeouts_total", "Tasks ended by job_timeout.", m->timeouts);
}
