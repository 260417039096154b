/* runware-sim: webhook callback delivery with libevent's HTTP client: a pool of kept-alive
 * connections per host:port (--callback-conns, each callback on the least busy one), 5 s timeout,
 * exponential backoff with jitter, duplicate deliveries. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "sim.h"

#define HOOK_TIMEOUT_S  5
#define HOOK_BACKOFF_MS 250
#define HOOK_CAP_MS     8000

/* The connections to one receiver. */
struct hook_conn {
    char host[256];
    int port;
    int n; /* connections in the pool */
    struct hook_conn *next;
    struct hook_pooled {
        struct evhttp_connection *evcon;
        long busy; /* requests sent on it and not answered */
    } pool[];
};

/* One callback body on its way to one URL, through all its attempts. */
struct hook_job {
    struct sim *sim;
    struct sim_task *task; /* referenced */
    size_t rec;            /* delivery record in the task */
    char image_uuid[SIM_UUIDSZ];
    struct hook_conn *conn;
    struct hook_pooled *on; /* the pooled connection of the attempt in progress, else NULL */
    char *target;           /* path and query */
    char *host_hdr;         /* Host: header */
    char *log_where;        /* host:port/path, without the query (it may hold a token) */
    char *body;
    size_t len;
    int attempts;
    bool dup; /* deliver once more after the first success */
    struct event *timer;
    struct hook_job *prev, *next;
};

struct sim_hooks {
    struct hook_conn *conns;
    struct hook_job *jobs;
};

int sim_hooks_init(struct sim *sim)
{
    sim->hooks = calloc(1, sizeof(*sim->hooks));
    return sim->hooks ? 0 : -1;
}

static void job_free(struct hook_job *job)
{
    struct sim_hooks *h;

    if (!job)
        return;
    h = job->sim->hooks;
    if (job->prev)
        job->prev->next = job->next;
    else if (h->jobs == job)
        h->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    if (job->timer)
        event_free(job->timer);
    if (job->task)
        sim_task_unref(job->task);
    free(job->target);
    free(job->host_hdr);
    free(job->log_where);
    free(job->body);
    free(job);
}

void sim_hooks_free(struct sim *sim)
{
    struct sim_hooks *h = sim->hooks;

    if (!h)
        return;
    /* Connections first: freeing them drops their queued requests without calling back. */
    while (h->conns) {
        struct hook_conn *c = h->conns;

        h->conns = c->next;
        for (int i = 0; i < c->n; i++)
            if (c->pool[i].evcon)
                evhttp_connection_free(c->pool[i].evcon);
        free(c);
    }
    while (h->jobs)
        job_free(h->jobs);
    free(h);
    sim->hooks = NULL;
}

static struct hook_conn *conn_get(struct sim *sim, const char *host, int port)
{
    struct sim_hooks *h = sim->hooks;
    struct hook_conn *c;

    for (c = h->conns; c; c = c->next)
        if (c->port == port && strcmp(c->host, host) == 0)
            return c;
    if (strlen(host) >= sizeof(c->host))
        return NULL;
    c = calloc(1, sizeof(*c) + (size_t)sim->opt.callback_conns * sizeof(c->pool[0]));
    if (!c)
        return NULL;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    c->n = (int)sim->opt.callback_conns;
    for (int i = 0; i < c->n; i++) {
        c->pool[i].evcon = evhttp_connection_base_new(sim->base, sim->dns, host, (ev_uint16_t)port);
        if (!c->pool[i].evcon) {
            while (i--)
                evhttp_connection_free(c->pool[i].evcon);
            free(c);
            return NULL;
        }
        evhttp_connection_set_timeout(c->pool[i].evcon, HOOK_TIMEOUT_S);
    }
    c->next = h->conns;
    h->conns = c;
    return c;
}

static void attempt(struct hook_job *job);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    attempt(arg);
}

static void arm(struct hook_job *job, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (event_add(job->timer, &tv) != 0) {
        sim_log(job->sim, 0, "task %s: cannot arm a callback timer; giving up on it",
                sim_task_uuid(job->task));
        job->sim->st.callbacks_abandoned++;
        job_free(job);
    }
}

/* Exponential backoff, capped, with "equal jitter": between half the step and the step. */
static long backoff_ms(struct sim *sim, int attempts)
{
    long step = HOOK_BACKOFF_MS;

    for (int i = 1; i < attempts && step < HOOK_CAP_MS; i++)
        step *= 2;
    if (step > HOOK_CAP_MS)
        step = HOOK_CAP_MS;
    return step / 2 + (long)sim_rand_below(sim, (uint64_t)(step / 2) + 1);
}

static void failed_attempt(struct hook_job *job, int status)
{
    struct sim *sim = job->sim;

    sim->st.callback_failed_attempts++;
    if (job->attempts >= sim->opt.callback_attempts) {
        sim->st.callbacks_abandoned++;
        sim_log(sim, 1, "task %s: callback to %s abandoned after %d attempts (last status %d)",
                sim_task_uuid(job->task), job->log_where, job->attempts, status);
        job_free(job);
        return;
    }
    arm(job, backoff_ms(sim, job->attempts));
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct hook_job *job = arg;
    struct sim *sim = job->sim;
    int status = req ? evhttp_request_get_response_code(req) : 0;

    if (job->on) {
        job->on->busy--;
        job->on = NULL;
    }
    sim_task_delivery_update(job->task, job->rec, job->attempts, status);
    sim_log(sim, 2, "task %s: callback attempt %d to %s -> %d", sim_task_uuid(job->task),
            job->attempts, job->log_where, status);
    if (status < 200 || status > 299) {
        failed_attempt(job, status);
        return;
    }
    sim->st.callbacks_delivered++;
    if (!job->dup) {
        job_free(job);
        return;
    }
    /* The same body once more, shortly after the first success. */
    job->dup = false;
    job->attempts = 0;
    job->rec = sim_task_delivery_add(job->task, job->image_uuid, "duplicate", false);
    sim->st.callbacks_duplicated++;
    arm(job, 20 + (long)sim_rand_below(sim, 81));
}

static void attempt(struct hook_job *job)
{
    struct sim *sim = job->sim;
    struct evhttp_request *req;
    struct evkeyvalq *hdrs;
    struct hook_pooled *on = &job->conn->pool[0];

    for (int i = 1; i < job->conn->n; i++)
        if (job->conn->pool[i].busy < on->busy)
            on = &job->conn->pool[i];
    job->attempts++;
    sim->st.callback_attempts++;
    sim_task_delivery_update(job->task, job->rec, job->attempts, -1);
    req = evhttp_request_new(on_done, job);
    if (!req)
        goto fail;
    hdrs = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(hdrs, "Host", job->host_hdr) != 0 ||
        evhttp_add_header(hdrs, "Content-Type", "application/json") != 0 ||
        evhttp_add_header(hdrs, "User-Agent", "runware-sim") != 0 ||
        evbuffer_add(evhttp_request_get_output_buffer(req), job->body, job->len) != 0) {
        evhttp_request_free(req);
        goto fail;
    }
    /* -1 only when no socket could be made: libevent has dequeued the request, and it is left
     * alone (a leak in that rare case rather than risking a double free). */
    if (evhttp_make_request(on->evcon, req, EVHTTP_REQ_POST, job->target) != 0)
        goto fail;
    on->busy++;
    job->on = on;
    return;
fail:
    sim_log(sim, 0, "task %s: callback to %s could not be sent", sim_task_uuid(job->task),
            job->log_where);
    failed_attempt(job, 0);
}

/* asprintf that leaves *out NULL on failure. */
static int fmt_alloc(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fmt_alloc(char **out, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(out, fmt, ap);
    va_end(ap);
    if (r < 0)
        *out = NULL;
    return r;
}

void sim_hook_send(struct sim *sim, struct sim_task *task, size_t rec, const char *image_uuid,
                   const char *url, const char *body, bool dup)
{
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
    struct hook_job *job = NULL;
    const char *scheme, *host, *path, *query;
    char addr[256];
    size_t hl;
    int port, r;

    if (!u)
        goto fail;
    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);
    path = evhttp_uri_get_path(u);
    query = evhttp_uri_get_query(u);
    port = evhttp_uri_get_port(u);
    if (!scheme || !host || !*host)
        goto fail;
    if (strcasecmp(scheme, "http") != 0) {
        /* The simulator speaks plain HTTP only; an https receiver is never reached. */
        sim_log(sim, 0, "task %s: https callbacks are not supported by the simulator",
                sim_task_uuid(task));
        goto fail;
    }
    if (port < 0)
        port = 80;
    if (!path || !*path)
        path = "/";
    /* an IPv6 literal keeps its brackets in Host: but not in the address to connect to */
    hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']' && hl - 2 < sizeof(addr))
        snprintf(addr, sizeof(addr), "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(addr, sizeof(addr), "%s", host);
    job = calloc(1, sizeof(*job));
    if (!job)
        goto fail;
    job->sim = sim;
    job->task = task;
    sim_task_ref(task);
    job->rec = rec;
    job->dup = dup;
    snprintf(job->image_uuid, sizeof(job->image_uuid), "%s", image_uuid ? image_uuid : "");
    job->len = strlen(body);
    job->body = malloc(job->len + 1);
    job->timer = evtimer_new(sim->base, on_timer, job);
    job->conn = conn_get(sim, addr, port);
    if (!job->body || !job->timer || !job->conn)
        goto fail;
    memcpy(job->body, body, job->len + 1);
    if (port == 80)
        r = fmt_alloc(&job->host_hdr, "%s", host);
    else
        r = fmt_alloc(&job->host_hdr, "%s:%d", host, port);
    if (r < 0 ||
        fmt_alloc(&job->target, "%s%s%s", path, query ? "?" : "", query ? query : "") < 0 ||
        fmt_alloc(&job->log_where, "%s:%d%s", host, port, path) < 0)
        goto fail;
    job->next = sim->hooks->jobs;
    if (job->next)
        job->next->prev = job;
    sim->hooks->jobs = job;
    evhttp_uri_free(u);
    attempt(job);
    return;
fail:
    sim->st.callbacks_abandoned++;
    sim_log(sim, 0, "task %s: callback could not be queued", sim_task_uuid(task));
    job_free(job);
    if (u)
        evhttp_uri_free(u);
}
