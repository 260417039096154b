/* runware-sim: /_sim/ introspection for tests (not part of the Runware API): counters, one
 * task's deliveries, run-time fault rates. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "sim.h"

static int put(json_object *obj, const char *key, json_object *value)
{
    if (!value || json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

static void reply(struct sim *sim, struct evhttp_request *req, int status, json_object *body)
{
    sim_reply_json(sim, req, status, body, false);
    json_object_put(body);
}

static void reply_error(struct sim *sim, struct evhttp_request *req, int status, const char *code,
                        const char *msg)
{
    reply(sim, req, status, sim_error_body(code, msg));
}

static json_object *stats_json(const struct sim *sim)
{
    const struct sim_stats *st = &sim->st;
    json_object *o = json_object_new_object(), *by = json_object_new_object();
    const struct {
        const char *name;
        uint64_t v;
    } counters[] = {
        {"tasks_accepted", st->tasks_accepted},
        {"resubmissions", st->resubmissions},
        {"tasks_resubmitted", st->tasks_resubmitted},
        {"connections_reset", st->connections_reset},
        {"task_errors", st->task_errors},
        {"images_generated", st->images_generated},
        {"callbacks_delivered", st->callbacks_delivered},
        {"callback_attempts", st->callback_attempts},
        {"callback_failed_attempts", st->callback_failed_attempts},
        {"callbacks_dropped", st->callbacks_dropped},
        {"callbacks_duplicated", st->callbacks_duplicated},
        {"callbacks_abandoned", st->callbacks_abandoned},
        {"gen_failures", st->gen_failures},
        {"inflight_tasks", st->inflight_tasks},
    };

    if (!o || !by)
        goto fail;
    for (int s = 100; s < 600; s++) {
        char key[8];

        if (!st->by_status[s])
            continue;
        snprintf(key, sizeof(key), "%d", s);
        if (put(by, key, json_object_new_int64((int64_t)st->by_status[s])) != 0)
            goto fail;
    }
    if (put(o, "requests", json_object_new_int64((int64_t)st->requests)) != 0)
        goto fail;
    if (json_object_object_add(o, "requests_by_status", by) != 0)
        goto fail;
    by = NULL;
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        if (put(o, counters[i].name, json_object_new_int64((int64_t)counters[i].v)) != 0)
            goto fail;
    return o;
fail:
    json_object_put(by);
    json_object_put(o);
    return NULL;
}

/* POST /_sim/faults {"fail_500":0.2,...}: every member must name a rate in 0..1; nothing is
 * changed unless all are valid. */
static void faults_post(struct sim *sim, struct evhttp_request *req)
{
    json_object *obj = sim_parse_body(req);
    struct sim_rates saved = sim->opt.rates;
    char msg[128];

    if (!obj || !json_object_is_type(obj, json_type_object)) {
        reply_error(sim, req, 400, "invalidRequestBody", "Expected a JSON object of rates.");
        goto done;
    }
    json_object_object_foreach(obj, key, val)
    {
        bool number =
            json_object_is_type(val, json_type_double) || json_object_is_type(val, json_type_int);
        /* a rate of -1 is always out of range, which tells a known name from an unknown one */
        int r = sim_rate_set(sim, key, number ? json_object_get_double(val) : -1.0);

        if (r != 0) {
            sim->opt.rates = saved;
            snprintf(msg, sizeof(msg), "%s: %s", key,
                     r == -1 ? "unknown rate" : "must be a number between 0 and 1");
            reply_error(sim, req, 400, "invalidParameter", msg);
            goto done;
        }
    }
    sim_log(sim, 1, "fault rates changed");
    reply(sim, req, 200, sim_rates_json(sim));
done:
    json_object_put(obj);
}

void sim_admin_handle(struct sim *sim, struct evhttp_request *req, const char *path)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct sim_task *t;

    if (strcmp(path, "/_sim/stats") == 0 && cmd == EVHTTP_REQ_GET) {
        reply(sim, req, 200, stats_json(sim));
    } else if (strncmp(path, "/_sim/task/", 11) == 0 && cmd == EVHTTP_REQ_GET) {
        t = sim_task_find(sim, path + 11);
        if (t)
            reply(sim, req, 200, sim_task_describe(t));
        else
            reply_error(sim, req, 404, "taskNotFound", "No such task (unknown or expired).");
    } else if (strcmp(path, "/_sim/faults") == 0 && cmd == EVHTTP_REQ_POST) {
        faults_post(sim, req);
    } else if (strcmp(path, "/_sim/faults") == 0 && cmd == EVHTTP_REQ_GET) {
        reply(sim, req, 200, sim_rates_json(sim));
    } else {
        reply_error(sim, req, 404, "notFound", "Unknown /_sim/ endpoint or method.");
    }
}
