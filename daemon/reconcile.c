/* Polls Runware (getResponse) for tasks whose callbacks have not come, and times out tasks that
 * never finish: no job waits forever because a webhook was lost.
 *
 * Every tick claims, across all instances, the submitted tasks that have had no result for
 * callback_timeout seconds, or since their last poll (store.c moves each claimed task's next poll
 * out by a growing interval: 5 s doubling up to 60 s), and asks Runware about them in one
 * getResponse request; while claims come back full, the next one follows at once. What it answers
 * goes through the same exactly-once completion as a callback, so a poll racing a late callback is
 * harmless. */
#include "reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "log.h"
#include "metrics.h"
#include "rw_errors.h"
#include "rw_response.h"
#include "util.h"

#define CLAIM_MAX       50    /* tasks per getResponse request */
#define POLL_FIRST_MS   5000  /* a silent task is polled again after this, */
#define POLL_LONGEST_MS 60000 /* doubling up to this */
#define TICK_MAX_S      5

struct rwd_reconcile {
    struct event_base *base;
    const struct rw_config *cfg;
    struct rwd_http *http;
    struct rwd_store *st;
    struct event *tick;
    int busy; /* a claim or a poll is outstanding */
    int more; /* the last claim was full: claim again as soon as its poll is answered */
    int stopped;
};

static void on_completed(redisReply *reply, void *arg)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == RWD_DONE_COMPLETE) {
        rwd_metrics.records_completed++;
        log_info("task %s: complete (by polling)", (const char *)arg);
    }
    free(arg);
}

/* Stores through complete.c; the uuid copy lives until the answer (for the log line). */
static void complete_item(struct rwd_reconcile *rc, const char *uuid, json_object *item)
{
    char *u = strdup(uuid);

    if (!u || rwd_complete_item(rc->st, uuid, item, on_completed, u) < 0)
        free(u);
}

static void complete_errors(struct rwd_reconcile *rc, const char *uuid, json_object *errors)
{
    char *u = strdup(uuid);

    if (!u || rwd_complete_errors(rc->st, uuid, errors, on_completed, u) < 0)
        free(u);
}

static void on_polled(const struct rwd_http_result *res, void *arg)
{
    struct rwd_reconcile *rc = arg;
    struct rw_response r = {0};
    char err[200];

    rc->busy = 0;
    if (rc->more && !rc->stopped)
        event_active(rc->tick, EV_TIMEOUT, 0);
    /* 400 is an answer too: Runware gives it when no task of the request is known */
    if (res->curl_code != 0 || (res->status != 200 && res->status != 400)) {
        if (res->curl_code)
            log_warnx("reconcile: getResponse failed: %s", res->error);
        else
            log_warnx("reconcile: getResponse failed: HTTP %ld", res->status);
        return;
    }
    if (rw_response_read(res->body, res->len, &r, err, sizeof(err)) < 0) {
        log_warnx("reconcile: unreadable getResponse answer: %s", err);
        return;
    }
    for (size_t i = 0; i < r.nitems; i++) {
        const char *uuid = rw_item_task_uuid(r.items[i]), *status = rw_item_status(r.items[i]);

        if (!uuid || !status)
            continue;
        if (strcmp(status, "success") == 0 && rw_item_image_uuid(r.items[i])) {
            complete_item(rc, uuid, r.items[i]);
        } else if (strcmp(status, "error") == 0) {
            json_object *one = json_object_new_array();

            if (one && json_object_array_add(one, json_object_get(r.items[i])) == 0)
                complete_errors(rc, uuid, one);
            json_object_put(one);
        }
    }
    for (size_t i = 0; i < r.nerrors; i++) {
        const char *uuid = rw_item_task_uuid(r.errors[i]);
        json_object *one;

        if (!uuid || rw_error_is_not_found(r.errors[i]))
            continue;
        if ((one = json_object_new_array()) &&
            json_object_array_add(one, json_object_get(r.errors[i])) == 0)
            complete_errors(rc, uuid, one);
        json_object_put(one);
    }
    rw_response_clear(&r);
}

static void on_claimed(redisReply *reply, void *arg)
{
    struct rwd_reconcile *rc = arg;
    int64_t now = rwd_now_ms(), timeout_ms = (int64_t)rc->cfg->job_timeout * 1000;
    json_object *req = NULL;
    size_t polls = 0;

    rc->busy = 0;
    rc->more = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || rc->stopped)
        return;
    rc->more = reply->elements >= 2 * CLAIM_MAX;
    if (!(req = json_object_new_array()))
        return;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *uuid = reply->element[i]->str;
        int64_t taken =
            reply->element[i + 1]->str ? strtoll(reply->element[i + 1]->str, NULL, 10) : now;
        json_object *t;

        if (now - taken > timeout_ms) {
            rwd_metrics.timeouts++;
            json_object *errors =
                rw_errors_one("timeout", NULL, "no result from Runware within %d s (job_timeout)",
                              rc->cfg->job_timeout);

            if (errors)
                complete_errors(rc, uuid, errors);
            json_object_put(errors);
            continue;
        }
        if (!(t = json_object_new_object()) ||
            json_object_object_add(t, "taskType", json_object_new_string("getResponse")) ||
            json_object_object_add(t, "taskUUID", json_object_new_string(uuid)) ||
            json_object_array_add(req, t)) {
            json_object_put(t);
            break;
        }
        polls++;
    }
    if (polls) {
        const char *json = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
        char *body = json ? strdup(json) : NULL;

        log_info("reconcile: polling %zu tasks without a result", polls);
        if (body &&
            rwd_http_post(rc->http, rc->cfg->api_url, body, strlen(body), on_polled, rc) == 0) {
            rc->busy = 1;
            rwd_metrics.polls++;
        } else if (!body)
            log_warnx("reconcile: out of memory");
    }
    json_object_put(req);
    if (!rc->busy && rc->more)
        event_active(rc->tick, EV_TIMEOUT, 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_reconcile *rc = arg;
    int64_t now = rwd_now_ms();

    if (rc->busy || rc->stopped || !rwd_store_ready(rc->st))
        return;
    if (rwd_store_claim_due(rc->st, now, CLAIM_MAX, (int64_t)rc->cfg->callback_timeout * 1000,
                            POLL_FIRST_MS, POLL_LONGEST_MS, on_claimed, rc) == 0)
        rc->busy = 1;
}

struct rwd_reconcile *rwd_reconcile_new(struct event_base *base, const struct rw_config *cfg,
                                        struct rwd_http *http, struct rwd_store *st)
{
    struct rwd_reconcile *rc = calloc(1, sizeof(*rc));
    int every = cfg->callback_timeout < TICK_MAX_S ? cfg->callback_timeout : TICK_MAX_S;
    struct timeval tv = {every > 0 ? every : 1, 0};

    if (!rc)
        return NULL;
    rc->base = base;
    rc->cfg = cfg;
    rc->http = http;
    rc->st = st;
    if (!(rc->tick = event_new(base, -1, EV_PERSIST, on_tick, rc)) || event_add(rc->tick, &tv)) {
        rwd_reconcile_free(rc);
        return NULL;
    }
    return rc;
}

void rwd_reconcile_stop(struct rwd_reconcile *rc)
{
    rc->stopped = 1;
    event_del(rc->tick);
}

void rwd_reconcile_free(struct rwd_reconcile *rc)
{
    if (!rc)
        return;
    if (rc->tick)
        event_free(rc->tick);
    free(rc);
}
