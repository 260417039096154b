/* The admin listener: Prometheus /metrics, /healthz (the loop answers) and /readyz (Redis
 * connected, secret known, intake not paused), on admin_listen, never exposed to Runware.
 *
 * Every STATS_INTERVAL_MS it asks Redis for the numbers that are not this instance's own (jobs
 * queued, tasks pending across instances, dead letters, live instances): they become gauges and
 * the systemd STATUS line. */
#include "admin.h"

#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"

#define STATS_INTERVAL_MS 2000

struct rwd_admin {
    struct rwd_admin_deps d;
    struct evhttp *http;
    struct event *tick;
    int ready;
    const char *(*paused)(void *);
    void *paused_arg;
    int stats_busy;    /* a stats call is outstanding */
    int have_stats;    /* the last call was answered */
    long long jobs;    /* <prefix>:jobs length */
    long long pending; /* tasks registered and not complete, all instances */
    long long dead;    /* <prefix>:dead length */
    long long live;    /* instances with a recent heartbeat */
    char status[200];  /* the last STATUS= sent */
};

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type,
                  struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, body);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    evbuffer_add(b, body, strlen(body));
    reply(req, code, reason, "application/json", b);
    evbuffer_free(b);
}

/* NULL when ready, else why not. */
static const char *not_ready(const struct rwd_admin *a)
{
    const char *why;

    if (!rwd_store_ready(a->d.st))
        return "Redis is not connected";
    if (!a->ready)
        return "starting or stopping";
    if (a->paused && (why = a->paused(a->paused_arg)))
        return why;
    return NULL;
}

static void serve_metrics(struct rwd_admin *a, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    rwd_metrics_render(b);
    rwd_metrics_gauge(b, "tasks_in_hand", "Tasks taken by this instance and not yet acknowledged.",
                      (double)(rwd_submit_count(a->d.submit) + rwd_intake_busy(a->d.intake)));
    rwd_metrics_gauge(b, "submit_requests_in_flight", "POSTs to Runware awaiting an answer.",
                      (double)rwd_http_inflight(a->d.http));
    rwd_metrics_gauge(b, "redis_connected", "1 when Redis is connected.",
                      rwd_store_ready(a->d.st) ? 1 : 0);
    rwd_metrics_gauge(b, "ready", "1 when /readyz answers 200.", not_ready(a) ? 0 : 1);
    if (a->have_stats) {
        rwd_metrics_gauge(b, "queue_depth", "Jobs waiting in the jobs list (all instances).",
                          (double)a->jobs);
        rwd_metrics_gauge(b, "tasks_in_flight",
                          "Tasks registered and not yet complete (all instances).",
                          (double)a->pending);
        rwd_metrics_gauge(b, "dead_letters", "Jobs in the dead-letter list.", (double)a->dead);
        rwd_metrics_gauge(b, "instances_live", "Instances with a recent heartbeat.",
                          (double)a->live);
    }
    reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rwd_admin *a = arg;
    const char *uri = evhttp_request_get_uri(req), *why;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    size_t n = strcspn(uri, "?");

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_json(req, 405, "Method Not Allowed", "{\"error\":\"GET only\"}\n");
    } else if (n == 8 && strncmp(uri, "/metrics", n) == 0) {
        serve_metrics(a, req);
    } else if (n == 8 && strncmp(uri, "/healthz", n) == 0) {
        reply_json(req, 200, "OK", "{\"status\":\"alive\"}\n");
    } else if (n == 7 && strncmp(uri, "/readyz", n) == 0) {
        if ((why = not_ready(a))) {
            char body[300];

            snprintf(body, sizeof(body), "{\"status\":\"unavailable\",\"reason\":\"%s\"}\n", why);
            reply_json(req, 503, "Service Unavailable", body);
        } else {
            reply_json(req, 200, "OK", "{\"status\":\"ready\"}\n");
        }
    } else {
        reply_json(req, 404, "Not Found",
                   "{\"error\":\"not found (/metrics, /healthz, /readyz)\"}\n");
    }
}

/* STATUS= for systemctl status, sent only when it changes. */
static void notify_status(struct rwd_admin *a)
{
    char line[sizeof(a->status)];
    size_t hand = rwd_submit_count(a->d.submit) + rwd_intake_busy(a->d.intake);

    if (!rwd_store_ready(a->d.st))
        snprintf(line, sizeof(line), "STATUS=Redis not connected; %zu tasks in hand", hand);
    else if (a->have_stats)
        snprintf(line, sizeof(line),
                 "STATUS=%s; queue %lld, in flight %lld, in hand %zu, dead letters %lld",
                 not_ready(a) ? "not ready" : "serving", a->jobs, a->pending, hand, a->dead);
    else
        snprintf(line, sizeof(line), "STATUS=%s; %zu tasks in hand",
                 not_ready(a) ? "not ready" : "serving", hand);
    if (strcmp(line, a->status) != 0) {
        memcpy(a->status, line, sizeof(line));
        rwd_notify(line);
    }
}

static void on_stats(redisReply *r, void *arg)
{
    struct rwd_admin *a = arg;

    a->stats_busy = 0;
    a->have_stats = r && r->type == REDIS_REPLY_ARRAY && r->elements == 4;
    for (size_t i = 0; a->have_stats && i < 4; i++)
        a->have_stats = r->element[i]->type == REDIS_REPLY_INTEGER;
    if (a->have_stats) {
        a->jobs = r->element[0]->integer;
        a->pending = r->element[1]->integer;
        a->dead = r->element[2]->integer;
        a->live = r->element[3]->integer;
    } else if (r && r->type == REDIS_REPLY_ERROR) {
        log_warnx("admin: cannot read the queue statistics: %s", r->str);
    }
    notify_status(a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_admin *a = arg;

    if (a->stats_busy)
        return;
    if (rwd_store_stats(a->d.st, on_stats, a) == 0) {
        a->stats_busy = 1;
    } else {
        a->have_stats = 0;
        notify_status(a);
    }
}

struct rwd_admin *rwd_admin_new(struct event_base *base, const struct rw_config *cfg,
                                const struct rwd_admin_deps *deps)
{
    struct rwd_admin *a = calloc(1, sizeof(*a));
    struct timeval tv = {STATS_INTERVAL_MS / 1000, (STATS_INTERVAL_MS % 1000) * 1000};
    char *host = NULL, err[200];
    int port;

    if (!a)
        return NULL;
    a->d = *deps;
    if (rw_hostport_parse(cfg->admin_listen, &host, &port, err, sizeof(err)) < 0) {
        log_warnx("admin_listen %s: %s", cfg->admin_listen, err);
        goto fail;
    }
    if (!(a->http = evhttp_new(base)) || !(a->tick = event_new(base, -1, EV_PERSIST, on_tick, a)))
        goto nomem;
    evhttp_set_max_body_size(a->http, 4096);
    evhttp_set_max_headers_size(a->http, 16384);
    evhttp_set_timeout(a->http, 10);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(a->http, on_request, a);
    if (evhttp_bind_socket(a->http, host ? host : "0.0.0.0", port) != 0) {
        log_warn("cannot listen on admin_listen %s", cfg->admin_listen);
        goto fail;
    }
    if (event_add(a->tick, &tv) != 0)
        goto nomem;
    free(host);
    return a;
nomem:
    log_warnx("admin: out of memory");
fail:
    free(host);
    rwd_admin_free(a);
    return NULL;
}

void rwd_admin_set_ready(struct rwd_admin *a, int ready)
{
    a->ready = ready;
    if (ready)
        on_tick(-1, 0, a); /* the numbers now, not at the next tick */
    else
        notify_status(a);
}

void rwd_admin_set_paused(struct rwd_admin *a, const char *(*paused)(void *), void *arg)
{
    a->paused = paused;
    a->paused_arg = arg;
}

void rwd_admin_free(struct rwd_admin *a)
{
    if (!a)
        return;
    if (a->tick)
        event_free(a->tick);
    if (a->http)
        evhttp_free(a->http);
    free(a);
}
