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
    static const char *const conn_reason[RWD_CONN_CLOSES] = {
        [RWD_CONN_IDLE] = "idle",
        [RWD_CONN_SLOW] = "slow",
        [RWD_CONN_EVICTED] = "evicted",
        [RWD_CONN_OVERSIZE] = "oversize",
    };
    const struct rwd_metrics *m = &rwd_metrics;

    counter(out, "jobs_taken_total", "Jobs taken from the jobs list.", m->jobs_taken);
    counter(out, "jobs_refused_total", "Jobs refused at intake with an error record.",
            m->jobs_refused);
    counter(out, "submit_requests_total", "POSTs of tasks to Runware.", m->submit_requests);
    counter(out, "submit_retries_total", "Tasks queued again after a transient failure.",
            m->submit_retries);
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
    counter(out, "timeouts_total", "Tasks ended by task_timeout.", m->timeouts);
    counter(out, "jobs_dead_total", "Refused jobs kept raw in the dead-letter list.", m->jobs_dead);
    evbuffer_add_printf(out, "# HELP runwared_listener_closed_total Listener connections "
                             "runwared closed, by reason.\n"
                             "# TYPE runwared_listener_closed_total counter\n");
    for (int i = 0; i < RWD_CONN_CLOSES; i++)
        evbuffer_add_printf(out, "runwared_listener_closed_total{reason=\"%s\"} %" PRIu64 "\n",
                            conn_reason[i], m->conns_closed[i]);
}
