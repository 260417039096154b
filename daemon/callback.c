/* The HTTP listener: Runware's webhook callbacks (/metrics, /healthz and /readyz are admin.c's).
 *
 * POST <public_url>/callback/<taskUUID>?token=<hmac>: the token is checked first (401), the body
 * parsed (400), then every item or error is handed to the store, and the answer waits for Redis:
 * 200 once everything is recorded (repeats included), 404 for a task Redis does not know, 503
 * when Redis could not record it, so that Runware retries. Other methods on the callback path
 * get 405, other paths 404.
 *
 * The listener faces the internet, so evhttp's limits are set (headers 16 KiB, body
 * max_callback_bytes: a larger Content-Length or chunk is answered 413 before the body is read)
 * and every connection is tracked here, since libevent 2.1 has no per-request deadline and no
 * connection cap: evhttp_set_bevcb makes each connection's bufferevent, of which we keep a
 * reference, and an input-buffer callback notes each byte's arrival (and cuts a connection
 * whose input outgrows one request, which evhttp alone would buffer without end for a chunk-size
 * line that never ends). A sweep each second closes the connections silent for
 * callback_idle_timeout or slower than callback_request_timeout to deliver a request (reading
 * stops, shutdown(2), and evhttp gets a read error on which it frees the connection itself), and
 * releases those evhttp has freed. With max_callback_connections open, a new connection evicts
 * the one silent longest that is not waiting for its answer, so idle or slow clients never keep
 * a real callback out. */
#include "callback.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "complete.h"
#include "log.h"
#include "metrics.h"
#include "rw_token.h"

#define MAX_HEADERS_BYTES 16384 /* request line and headers */
#define SWEEP_MS          1000
#define FD_RESERVE        128 /* descriptors kept for Redis, curl, logs beyond the listener */

struct cb_req;

/* One listener connection, from accept until evhttp has freed it and we dropped our reference. */
struct cb_conn {
    struct rwd_callback *cb;
    struct bufferevent *bev;        /* our reference keeps it (and its fd) alive */
    struct evbuffer_cb_entry *incb; /* notes arrivals on its input buffer */
    struct cb_conn *prev, *next;
    int64_t start_ms;       /* when the request being received began (accept, or last answer) */
    int64_t last_ms;        /* last byte received (or accept, or last answer) */
    struct cb_req *pending; /* the callback waiting for Redis on it, or NULL */
    bool hooked;            /* its evhttp close callback is set */
    bool closing;           /* shut down by us; evhttp will free it */
};

struct rwd_callback {
    const struct rw_config *cfg;
    struct rwd_store *st;
    const struct rwd_secret *secret;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *sweep;
    json_tokener *tok;     /* parses every callback body */
    struct cb_conn *conns; /* most recently accepted first */
    int nconns, nclosing;  /* tracked; of which shut down by us */
    int max_conns;
    size_t max_input; /* bytes a connection's input buffer may hold: a request */
    bool paused;      /* the listener is disabled: every connection is busy */
};

/* One callback request waiting for Redis. */
struct cb_req {
    struct evhttp_request *req; /* NULL once the client has gone */
    struct cb_conn *conn;       /* valid while req is */
    char uuid[RW_UUID_LEN + 1];
    int outstanding; /* store calls not answered yet */
    int unknown, failed, stored;
};

/* body: the JSON text and its newline. It goes straight into the request's own output buffer
 * (no evbuffer per reply); a static body by reference, without a copy. */
static void reply_body(struct evhttp_request *req, int code, const char *reason, const char *body,
                       size_t len, bool is_static)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (is_static)
        evbuffer_add_reference(out, body, len, NULL, NULL);
    else
        evbuffer_add(out, body, len);
    evhttp_send_reply(req, code, reason, NULL);
}

#define REPLY_STATIC(req, code, reason, text)                                                      \
    reply_body(req, code, reason, text "\n", sizeof(text "\n") - 1, true)

/* The answer to a callback, counted by outcome. */
static void reply_outcome(struct evhttp_request *req, enum rwd_cb_outcome o, const char *error)
{
    static const struct {
        int code;
        const char *reason;
    } http[RWD_CB_OUTCOMES] = {
        [RWD_CB_OK] = {200, "OK"},
        [RWD_CB_UNAUTHORIZED] = {401, "Unauthorized"},
        [RWD_CB_BAD_REQUEST] = {400, "Bad Request"},
        [RWD_CB_UNKNOWN] = {404, "Not Found"},
        [RWD_CB_UNAVAILABLE] = {503, "Service Unavailable"},
    };
    char body[160];
    int len;

    rwd_metrics.callbacks[o]++;
    if (o == RWD_CB_OK) {
        REPLY_STATIC(req, 200, "OK", "{\"status\":\"ok\"}");
        return;
    }
    len = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", error);
    if (len < 0 || (size_t)len >= sizeof(body))
        len = 0;
    reply_body(req, http[o].code, http[o].reason, body, (size_t)len, false);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection a request came on (a linear search: a request costs far more). */
static struct cb_conn *conn_of(struct rwd_callback *cb, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    for (struct cb_conn *k = cb->conns; bev && k; k = k->next)
        if (k->bev == bev)
            return k;
    return NULL;
}

/* The connection may take its next request: its clocks restart. */
static void conn_rearm(struct cb_conn *k)
{
    if (k) {
        k->pending = NULL;
        k->start_ms = k->last_ms = mono_ms();
    }
}

/* evhttp is freeing the connection: a callback waiting for Redis must not answer on it, and the
 * sweep releases our reference soon. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct cb_conn *k = arg;

    (void)evcon;
    if (k->pending) {
        k->pending->req = NULL;
        k->pending = NULL;
    }
    event_active(k->cb->sweep, EV_TIMEOUT, 0);
}

static void cb_req_answer(struct cb_req *c)
{
    if (c->req) {
        if (c->failed)
            reply_outcome(c->req, RWD_CB_UNAVAILABLE, "cannot record the result now; retry");
        else if (c->unknown && !c->stored)
            reply_outcome(c->req, RWD_CB_UNKNOWN, "unknown task");
        else
            reply_outcome(c->req, RWD_CB_OK, NULL);
        conn_rearm(c->conn);
    } else {
        log_debug("task %s: callback client went away before the answer", c->uuid);
    }
    free(c);
}

static void on_stored(redisReply *reply, void *arg)
{
    struct cb_req *c = arg;

    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        log_warnx("task %s: cannot record a callback: %s", c->uuid,
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "Redis connection lost");
        c->failed++;
    } else if (reply->integer == RWD_DONE_UNKNOWN) {
        c->unknown++;
    } else {
        c->stored++;
        if (reply->integer == RWD_DONE_COMPLETE) {
            rwd_metrics.records_completed++;
            log_debug("task %s: complete", c->uuid);
        }
    }
    if (--c->outstanding == 0)
        cb_req_answer(c);
}

static void handle_callback(struct rwd_callback *cb, struct cb_conn *k, struct evhttp_request *req,
                            const char *uuid, const char *token)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct cb_req *c;
    char err[200];
    int calls;

    if (!cb->secret->len) {
        reply_outcome(req, RWD_CB_UNAVAILABLE, "starting");
        return;
    }
    if (!rw_token_check(cb->secret->key, cb->secret->len, uuid, token)) {
        log_warnx("task %s: callback with a bad token refused", uuid);
        reply_outcome(req, RWD_CB_UNAUTHORIZED, "bad token");
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        reply_outcome(req, RWD_CB_UNAVAILABLE, "out of memory");
        return;
    }
    c->req = req;
    snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
    calls = rwd_complete_body(cb->st, cb->tok, uuid, body ? body : "", len, on_stored, c,
                              &c->failed, err, sizeof(err));
    if (calls < 0) {
        free(c);
        log_warnx("task %s: unreadable callback body: %s", uuid, err);
        reply_outcome(req, RWD_CB_BAD_REQUEST, "unreadable body");
        return;
    }
    if (calls == 0 && !c->failed) {
        free(c);
        reply_outcome(req, RWD_CB_BAD_REQUEST, "nothing for this task in the body");
        return;
    }
    if ((c->outstanding = calls) == 0) {
        cb_req_answer(c);
    } else if (k) {
        c->conn = k;
        k->pending = c;
    } else {
        c->req = NULL; /* not tracked (cannot happen): answer nobody rather than a freed request */
        reply_outcome(req, RWD_CB_UNAVAILABLE, "retry");
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rwd_callback *cb = arg;
    struct cb_conn *k = conn_of(cb, req);
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];

    if (k && !k->hooked) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_conn_close, k);
        k->hooked = true;
    }
    if (rw_webhook_parse(uri, uuid, token) < 0) {
        REPLY_STATIC(req, 404, "Not Found", "{\"error\":\"not found\"}");
    } else if (cmd != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        REPLY_STATIC(req, 405, "Method Not Allowed", "{\"error\":\"POST only\"}");
    } else {
        handle_callback(cb, k, req, uuid, token);
        explicit_bzero(token, sizeof(token));
        if (k && k->pending)
            return; /* answered when Redis has recorded it */
    }
    conn_rearm(k);
}

static void conn_release(struct rwd_callback *cb, struct cb_conn *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        cb->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    cb->nconns--;
    if (k->closing)
        cb->nclosing--;
    evbuffer_remove_cb_entry(bufferevent_get_input(k->bev), k->incb);
    bufferevent_decref(k->bev);
    free(k);
}

/* evhttp has freed the connection: only our reference is left. */
static bool conn_freed(struct cb_conn *k)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;

    bufferevent_getcb(k->bev, &rd, &wr, &ev, &arg);
    return !rd && !wr && !ev;
}

/* Closes a connection evhttp still holds: nothing more is read, and evhttp gets a read error
 * (from the loop, not from inside our caller) on which it frees the connection. */
static void conn_close(struct rwd_callback *cb, struct cb_conn *k, enum rwd_conn_close why)
{
    static const char *const text[RWD_CONN_CLOSES] = {
        [RWD_CONN_IDLE] = "silent for callback_idle_timeout",
        [RWD_CONN_SLOW] = "slower than callback_request_timeout",
        [RWD_CONN_EVICTED] = "to make room for a new one (max_callback_connections)",
        [RWD_CONN_OVERSIZE] = "that sent more than a request may hold",
    };
    evutil_socket_t fd = bufferevent_getfd(k->bev);

    if (k->closing)
        return;
    rwd_metrics.conns_closed[why]++;
    log_debug("listener: closing a connection %s", text[why]);
    bufferevent_disable(k->bev, EV_READ);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    bufferevent_trigger_event(k->bev, BEV_EVENT_READING | BEV_EVENT_ERROR,
                              BEV_TRIG_DEFER_CALLBACKS);
    k->closing = true;
    cb->nclosing++;
}

static void listener_pause(struct rwd_callback *cb, bool pause)
{
    struct evconnlistener *l = cb->bound ? evhttp_bound_socket_get_listener(cb->bound) : NULL;

    if (!l || cb->paused == pause)
        return;
    if (pause) {
        evconnlistener_disable(l);
        log_warnx("listener: all %d connections are busy; new ones wait", cb->max_conns);
    } else {
        evconnlistener_enable(l);
        log_info("listener: taking connections again");
    }
    cb->paused = pause;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_callback *cb = arg;
    int64_t now = mono_ms();
    int64_t idle = (int64_t)cb->cfg->callback_idle_timeout * 1000;
    int64_t whole = (int64_t)cb->cfg->callback_request_timeout * 1000;
    struct cb_conn *k, *next;

    (void)fd;
    (void)what;
    for (k = cb->conns; k; k = next) {
        next = k->next;
        if (conn_freed(k))
            conn_release(cb, k);
        else if (k->closing || k->pending)
            continue;
        else if (now - k->last_ms >= idle)
            conn_close(cb, k, RWD_CONN_IDLE);
        else if (now - k->start_ms >= whole)
            conn_close(cb, k, RWD_CONN_SLOW);
    }
    if (cb->paused && cb->nconns - cb->nclosing < cb->max_conns)
        listener_pause(cb, false);
}

/* Bytes arrived (or were taken) on a connection's input buffer. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct cb_conn *k = arg;

    if (!info->n_added)
        return;
    k->last_ms = mono_ms();
    if (conn_freed(k)) {
        /* evhttp let go but our reference keeps the socket: read nothing more */
        bufferevent_disable(k->bev, EV_READ | EV_WRITE);
        event_active(k->cb->sweep, EV_TIMEOUT, 0);
    } else if (evbuffer_get_length(buf) > k->cb->max_input) {
        /* more than one request may hold, e.g. a chunk-size line that never ends */
        conn_close(k->cb, k, RWD_CONN_OVERSIZE);
    }
}

/* At most max_conns connections: evicts the one silent longest that is not being answered. */
static void conn_make_room(struct rwd_callback *cb)
{
    struct cb_conn *victim = NULL;

    if (cb->nconns - cb->nclosing <= cb->max_conns)
        return;
    for (struct cb_conn *k = cb->conns; k; k = k->next)
        if (!k->closing && !k->pending && (!victim || k->last_ms <= victim->last_ms))
            victim = k;
    if (victim && victim != cb->conns)
        conn_close(cb, victim, RWD_CONN_EVICTED);
    else
        listener_pause(cb, true); /* all are being answered; the sweep resumes */
}

/* evhttp's hook for each accepted connection: its bufferevent, tracked. NULL lets evhttp make an
 * untracked one (only when out of memory). */
static struct bufferevent *on_accept_bev(struct event_base *base, void *arg)
{
    struct rwd_callback *cb = arg;
    struct cb_conn *k = calloc(1, sizeof(*k));

    if (!k)
        return NULL;
    if (!(k->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)))
        goto fail;
    if (!(k->incb = evbuffer_add_cb(bufferevent_get_input(k->bev), on_input, k))) {
        bufferevent_free(k->bev);
        goto fail;
    }
    bufferevent_incref(k->bev);
    k->cb = cb;
    k->start_ms = k->last_ms = mono_ms();
    k->next = cb->conns;
    if (cb->conns)
        cb->conns->prev = k;
    cb->conns = k;
    cb->nconns++;
    conn_make_room(cb);
    return k->bev;
fail:
    free(k);
    return NULL;
}

/* The connection cap, lowered to what the open-files limit allows (raised to its hard limit). */
static int conn_cap(const struct rw_config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_callback_connections + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return cfg->max_callback_connections;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return cfg->max_callback_connections;
    log_warnx("max_callback_connections %d lowered to %d: the open-files limit is %llu",
              cfg->max_callback_connections,
              rl.rlim_cur > 2 * FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE / 2,
              (unsigned long long)rl.rlim_cur);
    return rl.rlim_cur > 2 * FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE / 2;
}

struct rwd_callback *rwd_callback_new(struct event_base *base, const struct rw_config *cfg,
                                      struct rwd_store *st, const struct rwd_secret *secret)
{
    struct rwd_callback *cb = calloc(1, sizeof(*cb));
    struct timeval sweep = rwd_tv_ms(SWEEP_MS);
    char *host = NULL, err[200];
    int port;

    if (!cb)
        return NULL;
    cb->cfg = cfg;
    cb->st = st;
    cb->secret = secret;
    cb->max_conns = conn_cap(cfg);
    cb->max_input = (size_t)cfg->max_callback_bytes + MAX_HEADERS_BYTES + 65536;
    if (rw_hostport_parse(cfg->listen, &host, &port, err, sizeof(err)) < 0) {
        log_warnx("listen %s: %s", cfg->listen, err);
        goto fail;
    }
    if (!(cb->tok = json_tokener_new()) || !(cb->http = evhttp_new(base)) ||
        !(cb->sweep = event_new(base, -1, EV_PERSIST, on_sweep, cb)) ||
        event_add(cb->sweep, &sweep) < 0)
        goto fail;
    evhttp_set_max_body_size(cb->http, cfg->max_callback_bytes);
    evhttp_set_max_headers_size(cb->http, MAX_HEADERS_BYTES);
    evhttp_set_timeout(cb->http, cfg->callback_idle_timeout);
    /* every method reaches on_request, which answers 405 on the callback path */
    evhttp_set_allowed_methods(cb->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
                                             EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
    evhttp_set_bevcb(cb->http, on_accept_bev, cb);
    evhttp_set_gencb(cb->http, on_request, cb);
    if (!(cb->bound = evhttp_bind_socket_with_handle(cb->http, host ? host : "0.0.0.0", port))) {
        log_warn("cannot listen on %s", cfg->listen);
        goto fail;
    }
    free(host);
    return cb;
fail:
    free(host);
    rwd_callback_free(cb);
    return NULL;
}

void rwd_callback_free(struct rwd_callback *cb)
{
    if (!cb)
        return;
    if (cb->http)
        evhttp_free(cb->http); /* frees every connection; close callbacks run */
    while (cb->conns)
        conn_release(cb, cb->conns);
    if (cb->sweep)
        event_free(cb->sweep);
    if (cb->tok)
        json_tokener_free(cb->tok);
    free(cb);
}
