/* The HTTP listener: Runware's webhook callbacks (/metrics, /healthz and /readyz are admin.c's).
 *
 * POST <public_url>/callback/<taskUUID>?token=<hmac>: the token is checked first (401), the body
 * handed to complete.c (400 when unreadable), and the answer waits for Redis: 200 once
 * everything is recorded (repeats included), 404 for a task Redis does not know, 503 when Redis
 * could not record it, so that Runware retries. Other methods on the callback path get 405,
 * other paths 404.
 *
 * This is the one socket runwared exposes to the internet, and the path every image takes, so
 * it is served here rather than by evhttp: each connection's socket stays in the listener's own
 * epoll set from accept to close (no interest toggled per request), a read goes into one buffer
 * shared by all connections and a request that arrived whole is handled from there (a connection
 * keeps bytes of its own only while a request is incomplete or waits), and an answer is one send.
 *
 * That set is one event on the loop, and it follows Redis's batches (rwd_callback_batch): while a
 * batch of store calls is out, a request that arrives could only wait to join the next one, so
 * the set is not watched and runwared is not woken for each request; they are read just before
 * the next batch is written, and join it. When every connection waits for its answer, none can
 * send a request and the set stays watched (one client alone costs what it did before). When
 * Redis is slow, the set is watched again after GATE_MAX_MS, so that answers that need no Redis
 * (a bad token, a wrong path) are not held.
 *
 * rw_http parses requests, strictly where framing is decided. Limits: request line and headers
 * 16 KiB (431), body max_callback_bytes, decoded (413, by Content-Length before the body is
 * read), chunk-size lines 1 KiB; a request that cannot be served is answered and the connection
 * closed after a short linger (so the answer is read before a reset). A sweep each second
 * closes the connections silent for callback_idle_timeout or slower than
 * callback_request_timeout to deliver a request. With max_callback_connections open, a new
 * connection evicts the one silent longest that is not waiting for its answer, so idle or slow
 * clients never keep a real callback out. */
#include "callback.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/listener.h>

#include "complete.h"
#include "log.h"
#include "metrics.h"
#include "rw_http.h"
#include "rw_token.h"

#define MAX_HEADERS_BYTES 16384 /* request line and headers */
#define READ_BYTES        65536 /* one read, into the shared buffer */
#define SWEEP_MS          1000
#define LINGER_MS         2000      /* after an answer that closes: reading on, discarding */
#define LINGER_BYTES      (1 << 20) /* at most this much, then the socket is closed outright */
#define FD_RESERVE        128       /* descriptors kept for Redis, curl, logs beyond the listener */
#define GATE_MAX_MS       50        /* at most this long unread while a batch is out */

struct cb_req;

/* One connection, from accept to close. */
struct cb_conn {
    struct rwd_callback *cb;
    evutil_socket_t fd;
    struct event *wev; /* writable: only while an answer is left to send (rare) */
    struct cb_conn *prev, *next;
    int64_t start_ms;       /* when the request being received began (accept, or last answer) */
    int64_t last_ms;        /* last byte received or sent */
    struct cb_req *pending; /* the callback waiting for Redis, or NULL */
    struct rw_http_req req; /* the request being received */
    char *in;               /* its bytes (and any after it), when not handled from a read */
    size_t in_len, in_cap;
    char *out; /* the part of an answer the socket did not take */
    size_t out_len, out_off;
    size_t lingered; /* bytes discarded since the closing answer */
    bool continued;  /* 100 Continue sent for the request being received */
    bool closing;    /* the last answer is given: once it is sent, linger and close */
    bool lingering;  /* write side shut: reading only to discard, until EOF or the linger ends */
    bool dead;       /* the socket failed: closed at the end of the current event */
};

struct rwd_callback {
    const struct rw_config *cfg;
    struct rwd_store *st;
    const struct rwd_secret *secret;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *sweep;
    int epfd;                /* the connections' own epoll set (readable: level-triggered) */
    struct event *ready_ev;  /* epfd readable; not watched while gated */
    struct event *gate_cap;  /* opens the gate when Redis is slow with a batch */
    bool gated;              /* a batch of store calls is out: requests wait to join the next */
    int waiting;             /* connections whose request waits for Redis (pending) */
    struct epoll_event *evs; /* the connections being served, or NULL */
    int nevs;
    json_tokener *tok;     /* parses callback bodies */
    struct cb_conn *conns; /* most recently accepted first */
    int nconns;
    int max_conns;
    size_t max_input; /* bytes a connection may hold: one request and a little of the next */
    struct rw_http_limits lim;
    bool paused; /* the listener is disabled: every connection is busy */
    char date[40];
    time_t date_at;
    char ok[256]; /* the whole answer "200 OK" on a kept connection, remade with the date */
    size_t ok_len;
    char rbuf[READ_BYTES];
};

/* One callback request waiting for Redis. */
struct cb_req {
    struct cb_conn *conn; /* NULL once the connection has closed */
    char uuid[RW_UUID_LEN + 1];
    int outstanding; /* store calls not answered yet */
    int unknown, failed, stored;
};

static void conn_free(struct cb_conn *k);
static void on_conn_writable(evutil_socket_t fd, short what, void *arg);
static void conn_work(struct cb_conn *k, char *buf, size_t len, bool borrowed);

/* Milliseconds for timeouts counted in seconds: the coarse clock (a tick's resolution) is read
 * without the TSC, and this is read on every request. */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Date header's value, formatted once a second. */
static const char *http_date(struct rwd_callback *cb)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != cb->date_at && gmtime_r(&now, &tm)) {
        int n;

        strftime(cb->date, sizeof(cb->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cb->date_at = now;
        n = snprintf(cb->ok, sizeof(cb->ok),
                     "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: 16\r\n\r\n{\"status\":\"ok\"}\n",
                     cb->date);
        cb->ok_len = n > 0 && (size_t)n < sizeof(cb->ok) ? (size_t)n : 0;
    }
    return cb->date;
}

/* Queues bytes the socket did not take and waits for it to be writable. */
static void conn_keep_output(struct cb_conn *k, const char *p, size_t n)
{
    char *out = malloc(n);

    if (!out ||
        (!k->wev && !(k->wev = event_new(k->cb->base, k->fd, EV_WRITE, on_conn_writable, k)))) {
        free(out);
        k->dead = true;
        return;
    }
    memcpy(out, p, n);
    k->out = out;
    k->out_len = n;
    k->out_off = 0;
    event_add(k->wev, NULL);
}

/* Sends bytes in order after any left from before; the rest waits for writability. */
static void conn_send(struct cb_conn *k, const char *p, size_t n)
{
    ssize_t w;

    if (k->dead || k->lingering)
        return;
    if (k->out_len) { /* after what is already waiting (a 100 Continue the socket refused) */
        char *out = realloc(k->out, k->out_len + n);

        if (!out) {
            k->dead = true;
            return;
        }
        memcpy(out + k->out_len, p, n);
        k->out = out;
        k->out_len += n;
        return;
    }
    w = send(k->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        k->dead = true;
        return;
    }
    if (w < 0)
        w = 0;
    k->last_ms = mono_ms();
    if ((size_t)w < n)
        conn_keep_output(k, p + w, n - (size_t)w);
}

/* One answer: status line, headers (extra: more of them, each with its CRLF), a JSON body (not
 * sent for HEAD). The request decides whether the connection stays open after it. */
static void conn_answer(struct cb_conn *k, int code, const char *body, size_t blen, bool head_only,
                        const char *extra)
{
    char buf[512];
    int n;

    if (!k->req.keep_alive)
        k->closing = true;
    n = snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n%s%s\r\n%.*s",
                 code, rw_http_reason(code), http_date(k->cb), blen, extra ? extra : "",
                 k->closing                               ? "Connection: close\r\n"
                 : k->req.minor == 0 && k->req.keep_alive ? "Connection: keep-alive\r\n"
                                                          : "",
                 head_only ? 0 : (int)blen, body);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        k->dead = true;
        return;
    }
    conn_send(k, buf, (size_t)n);
}

#define ANSWER(k, code, text) conn_answer(k, code, text "\n", sizeof(text "\n") - 1, false, NULL)

/* The answer to a callback, counted by outcome. */
static void answer_outcome(struct cb_conn *k, enum rwd_cb_outcome o, const char *error)
{
    static const int code[RWD_CB_OUTCOMES] = {
        [RWD_CB_OK] = 200,      [RWD_CB_UNAUTHORIZED] = 401, [RWD_CB_BAD_REQUEST] = 400,
        [RWD_CB_UNKNOWN] = 404, [RWD_CB_UNAVAILABLE] = 503,
    };
    char body[160];
    int len;

    rwd_metrics.callbacks[o]++;
    if (o == RWD_CB_OK) {
        http_date(k->cb); /* remakes the usual answer when the second has changed */
        if (k->req.keep_alive && k->req.minor >= 1 && k->cb->ok_len)
            conn_send(k, k->cb->ok, k->cb->ok_len);
        else
            ANSWER(k, 200, "{\"status\":\"ok\"}");
        return;
    }
    len = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", error);
    if (len < 0 || (size_t)len >= sizeof(body))
        len = 0;
    conn_answer(k, code[o], body, (size_t)len, false, NULL);
}

/* The request is answered: the connection's clocks restart for the next one. */
static void conn_next(struct cb_conn *k)
{
    k->pending = NULL;
    k->continued = false;
    k->start_ms = k->last_ms = mono_ms();
    rw_http_init(&k->req);
}

/* Closes at once (a reset if unread bytes are left), detaching a callback waiting for Redis. */
static void conn_free(struct cb_conn *k)
{
    struct rwd_callback *cb = k->cb;

    if (k->pending) {
        k->pending->conn = NULL;
        cb->waiting--;
    }
    if (k->prev)
        k->prev->next = k->next;
    else
        cb->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    cb->nconns--;
    epoll_ctl(cb->epfd, EPOLL_CTL_DEL, k->fd, NULL);
    for (int i = 0; i < cb->nevs; i++)
        if (cb->evs[i].data.ptr == k)
            cb->evs[i].data.ptr = NULL;
    if (k->wev)
        event_free(k->wev);
    close(k->fd);
    free(k->in);
    free(k->out);
    free(k);
}

/* Every event on a connection ends here: a failed socket is closed; a connection whose last
 * answer is out stops writing and lingers, so that the client reads the answer before any
 * reset that unread bytes would cause. */
static void conn_settle(struct cb_conn *k)
{
    if (k->dead) {
        conn_free(k);
    } else if (k->closing && !k->lingering && !k->out_len && !k->pending) {
        shutdown(k->fd, SHUT_WR);
        k->lingering = true;
        k->start_ms = mono_ms();
        free(k->in);
        k->in = NULL;
        k->in_len = k->in_cap = 0;
    }
}

/* Counts and logs why runwared closes a connection; it is closed when its event ends
 * (conn_settle), so that no caller touches it after. */
static void conn_condemn(struct cb_conn *k, enum rwd_conn_close why)
{
    static const char *const text[RWD_CONN_CLOSES] = {
        [RWD_CONN_IDLE] = "silent for callback_idle_timeout",
        [RWD_CONN_SLOW] = "slower than callback_request_timeout",
        [RWD_CONN_EVICTED] = "to make room for a new one (max_callback_connections)",
        [RWD_CONN_OVERSIZE] = "that sent more than a request may hold",
        [RWD_CONN_MALFORMED] = "after a request it could not serve",
    };

    rwd_metrics.conns_closed[why]++;
    log_debug("listener: closing a connection %s", text[why]);
    k->dead = true;
}

static void cb_req_answer(struct cb_req *c)
{
    struct cb_conn *k = c->conn;

    if (!k) {
        log_debug("task %s: callback client went away before the answer", c->uuid);
        free(c);
        return;
    }
    k->pending = NULL;
    k->cb->waiting--;
    if (c->failed)
        answer_outcome(k, RWD_CB_UNAVAILABLE, "cannot record the result now; retry");
    else if (c->unknown && !c->stored)
        answer_outcome(k, RWD_CB_UNKNOWN, "unknown task");
    else
        answer_outcome(k, RWD_CB_OK, NULL);
    free(c);
    conn_next(k);
    if (k->in_len && !k->dead && !k->closing)
        conn_work(k, k->in, k->in_len, false); /* the next request, sent before this answer */
    conn_settle(k);
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

static void handle_callback(struct cb_conn *k, const char *uuid, const char *token,
                            const char *body, size_t len)
{
    struct rwd_callback *cb = k->cb;
    struct cb_req *c;
    char err[200];
    int calls;

    if (!cb->secret->key) {
        answer_outcome(k, RWD_CB_UNAVAILABLE, "starting");
        return;
    }
    if (!rw_token_verify(cb->secret->key, uuid, token)) {
        log_warnx("task %s: callback with a bad token refused", uuid);
        answer_outcome(k, RWD_CB_UNAUTHORIZED, "bad token");
        return;
    }
    if (!(c = malloc(sizeof(*c)))) { /* not calloc: glibc serves it without its tcache */
        answer_outcome(k, RWD_CB_UNAVAILABLE, "out of memory");
        return;
    }
    *c = (struct cb_req){0};
    memcpy(c->uuid, uuid, sizeof(c->uuid));
    calls = rwd_complete_body(cb->st, cb->tok, uuid, body, len, on_stored, c, &c->failed, err,
                              sizeof(err));
    if (calls < 0) {
        free(c);
        log_warnx("task %s: unreadable callback body: %s", uuid, err);
        answer_outcome(k, RWD_CB_BAD_REQUEST, "unreadable body");
        return;
    }
    if (calls == 0) {
        bool failed = c->failed;

        free(c);
        if (failed)
            answer_outcome(k, RWD_CB_UNAVAILABLE, "cannot record the result now; retry");
        else
            answer_outcome(k, RWD_CB_BAD_REQUEST, "nothing for this task in the body");
        return;
    }
    c->conn = k;
    c->outstanding = calls;
    k->pending = c;
    cb->waiting++;
}

/* A whole request, its bytes at buf. */
static void handle_request(struct cb_conn *k, char *buf)
{
    const struct rw_http_req *r = &k->req;
    const char *method = buf + r->method;
    char uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];

    if (rw_webhook_parse(buf + r->target, uuid, token) < 0) {
        conn_answer(k, 404, "{\"error\":\"not found\"}\n", 22, !strcmp(method, "HEAD"), NULL);
    } else if (strcmp(method, "POST") != 0) {
        conn_answer(k, 405, "{\"error\":\"POST only\"}\n", 22, !strcmp(method, "HEAD"),
                    "Allow: POST\r\n");
    } else {
        handle_callback(k, uuid, token, buf + r->body, r->body_len);
        explicit_bzero(token, sizeof(token));
        if (k->pending)
            return; /* answered when Redis has recorded it */
    }
    conn_next(k);
}

/* Stores bytes a request still needs (or that follow one waiting for its answer). */
static bool conn_hold(struct cb_conn *k, const char *p, size_t n)
{
    size_t want = k->in_len + n;

    if (want > k->cb->max_input) {
        conn_condemn(k, RWD_CONN_OVERSIZE);
        return false;
    }
    if (want > k->in_cap) {
        size_t cap = k->in_cap ? k->in_cap : 4096;
        char *in;

        while (cap < want)
            cap *= 2;
        if (cap > k->cb->max_input)
            cap = k->cb->max_input;
        if (!(in = realloc(k->in, cap))) {
            log_warnx("listener: out of memory for a request; closing its connection");
            k->dead = true;
            return false;
        }
        k->in = in;
        k->in_cap = cap;
    }
    memcpy(k->in + k->in_len, p, n);
    k->in_len += n;
    return true;
}

/* Serves the requests in buf (len bytes) in order, until one is incomplete or waits for its
 * answer. borrowed: buf is the shared read buffer, so what is left is copied to the
 * connection's own; else buf is k->in and what was served is dropped from it. */
static void conn_work(struct cb_conn *k, char *buf, size_t len, bool borrowed)
{
    size_t off = 0;

    while (!k->pending && !k->closing && !k->dead && off < len) {
        enum rw_http_rc rc = rw_http_parse(&k->req, buf + off, len - off, &k->cb->lim);

        if (rc == RW_HTTP_MORE) {
            len = off + rw_http_compact(&k->req, buf + off, len - off);
            if (k->req.head_done && k->req.expect_continue && !k->continued) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

                conn_send(k, cont, sizeof(cont) - 1);
                k->continued = true;
            }
            break;
        }
        if (rc == RW_HTTP_ERROR) {
            char body[128];
            int n;

            log_debug("listener: a request refused with %d: %s", k->req.status, k->req.error);
            rwd_metrics.conns_closed[RWD_CONN_MALFORMED]++;
            if (k->req.head_done && k->req.status == 400) {
                k->dead = true; /* a body that breaks its framing: the stream is garbage */
                return;
            }
            n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", k->req.error);
            k->req.keep_alive = false;
            conn_answer(k, k->req.status, body, n > 0 ? (size_t)n : 0, false, NULL);
            off = len;
            break;
        }
        size_t size = k->req.size;

        handle_request(k, buf + off); /* may reset k->req for the next request */
        off += size;
    }
    if (k->dead)
        return;
    if (borrowed) {
        if (off < len && !k->closing)
            conn_hold(k, buf + off, len - off);
    } else {
        k->in_len = len; /* less if a chunked body was compacted */
        if (!off)
            return;
        memmove(k->in, k->in + off, k->in_len - off);
        if (!(k->in_len -= off)) {
            free(k->in);
            k->in = NULL;
            k->in_cap = 0;
        }
    }
}

/* Reads what arrived: a request that came whole is served from the shared buffer. */
static void conn_read(struct cb_conn *k)
{
    struct rwd_callback *cb = k->cb;
    bool direct = !k->in_len && !k->pending && !k->out_len && !k->lingering;
    char *dst = cb->rbuf;
    size_t room = sizeof(cb->rbuf);
    ssize_t n;

    if (!direct && !k->lingering) {
        /* into the connection's own buffer; a request of known size gets room for all of it */
        size_t want = k->in_len + READ_BYTES;

        if (k->req.head_done && !k->req.chunked && k->req.content_length > 0 &&
            (size_t)k->req.content_length + k->req.head_len > want)
            want = (size_t)k->req.content_length + k->req.head_len;
        if (want > cb->max_input)
            want = cb->max_input;
        if (want <= k->in_len) { /* full: more than a request may hold */
            conn_condemn(k, RWD_CONN_OVERSIZE);
            return;
        }
        if (want > k->in_cap) {
            char *in = realloc(k->in, want);

            if (!in) {
                log_warnx("listener: out of memory for a request; closing its connection");
                k->dead = true;
                return;
            }
            k->in = in;
            k->in_cap = want;
        }
        dst = k->in + k->in_len;
        room = k->in_cap - k->in_len;
    }
    n = recv(k->fd, dst, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        if (k->pending || k->in_len || k->req.head_done)
            log_debug("listener: a client closed its connection mid-request");
        k->dead = true;
        return;
    }
    k->last_ms = mono_ms();
    if (k->lingering) {
        if ((k->lingered += (size_t)n) > LINGER_BYTES)
            k->dead = true;
    } else if (direct) {
        conn_work(k, dst, (size_t)n, true);
    } else {
        k->in_len += (size_t)n;
        if (!k->pending && !k->out_len)
            conn_work(k, k->in, k->in_len, false);
    }
}

/* Serves the connections with bytes to read, at most nconns of them (each once, whatever more
 * arrives meanwhile); evs is where the batch is kept, so that conn_free can strike a connection
 * from it. */
static void serve_ready(struct rwd_callback *cb)
{
    struct epoll_event evs[64];
    int n, served = 0;

    do {
        if ((n = epoll_wait(cb->epfd, evs, 64, 0)) <= 0)
            break;
        cb->evs = evs;
        cb->nevs = n;
        for (int i = 0; i < n; i++) {
            struct cb_conn *k = evs[i].data.ptr;

            if (k) {
                conn_read(k);
                conn_settle(k);
            }
        }
        cb->evs = NULL;
        cb->nevs = 0;
        served += n;
    } while (n == 64 && served < cb->nconns);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    serve_ready(arg);
}

static void gate_open(struct rwd_callback *cb)
{
    if (cb->gated) {
        cb->gated = false;
        event_add(cb->ready_ev, NULL);
        evtimer_del(cb->gate_cap);
    }
}

/* Redis took too long with a batch: requests that need no store (a bad token, a wrong path) are
 * not kept waiting for it, nor a client's bytes left unread for longer. */
static void on_gate_cap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rwd_metrics.redis_slow_batches++;
    gate_open(arg);
}

void rwd_callback_batch(void *arg, enum rwd_batch_event ev)
{
    struct rwd_callback *cb = arg;
    struct timeval cap = rwd_tv_ms(GATE_MAX_MS);

    switch (ev) {
    case RWD_BATCH_SENT:
        if (!cb->gated && cb->nconns > cb->waiting) {
            cb->gated = true;
            event_del(cb->ready_ev);
        }
        if (cb->gated)
            evtimer_add(cb->gate_cap, &cap);
        break;
    case RWD_BATCH_GATHER:
        if (cb->gated)
            serve_ready(cb);
        break;
    case RWD_BATCH_IDLE:
        gate_open(cb);
        break;
    }
}

static void on_conn_writable(evutil_socket_t fd, short what, void *arg)
{
    struct cb_conn *k = arg;
    ssize_t w;

    (void)what;
    w = send(fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        k->dead = true;
    } else if (w > 0) {
        k->last_ms = mono_ms();
        if ((k->out_off += (size_t)w) == k->out_len) {
            free(k->out);
            k->out = NULL;
            k->out_len = k->out_off = 0;
            if (k->in_len && !k->pending && !k->closing)
                conn_work(k, k->in, k->in_len, false);
        }
    }
    if (!k->dead && k->out_len)
        event_add(k->wev, NULL);
    conn_settle(k);
}

static void listener_pause(struct rwd_callback *cb, bool pause)
{
    if (cb->paused == pause)
        return;
    if (pause) {
        evconnlistener_disable(cb->listener);
        log_warnx("listener: all %d connections are busy; new ones wait", cb->max_conns);
    } else {
        evconnlistener_enable(cb->listener);
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
        if (k->lingering) {
            if (now - k->start_ms >= LINGER_MS)
                conn_free(k);
        } else if (k->pending) {
            continue;
        } else if (now - k->last_ms >= idle) {
            conn_condemn(k, RWD_CONN_IDLE);
            conn_settle(k);
        } else if (now - k->start_ms >= whole) {
            conn_condemn(k, RWD_CONN_SLOW);
            conn_settle(k);
        }
    }
    if (cb->paused && cb->nconns < cb->max_conns)
        listener_pause(cb, false);
}

/* At most max_conns connections: evicts the one silent longest that is not being answered. */
static void conn_make_room(struct rwd_callback *cb)
{
    struct cb_conn *victim = NULL;

    if (cb->nconns < cb->max_conns)
        return;
    for (struct cb_conn *k = cb->conns; k; k = k->next) {
        if (k->lingering) { /* already answered for good */
            victim = k;
            break;
        }
        if (!k->pending && (!victim || k->last_ms <= victim->last_ms))
            victim = k;
    }
    if (victim) {
        conn_condemn(victim, RWD_CONN_EVICTED);
        conn_settle(victim);
    } else {
        listener_pause(cb, true); /* all are being answered; the sweep resumes */
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct rwd_callback *cb = arg;
    struct cb_conn *k;
    int one = 1;

    (void)l;
    (void)sa;
    (void)salen;
    conn_make_room(cb);
    if (!(k = calloc(1, sizeof(*k)))) {
        log_warnx("listener: out of memory for a new connection; closing it");
        close(fd);
        return;
    }
    {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = k};

        if (epoll_ctl(cb->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            log_warn("listener: cannot watch a new connection; closing it");
            free(k);
            close(fd);
            return;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* answers go out whole */
    k->cb = cb;
    k->fd = fd;
    k->start_ms = k->last_ms = mono_ms();
    rw_http_init(&k->req);
    k->next = cb->conns;
    if (cb->conns)
        cb->conns->prev = k;
    cb->conns = k;
    cb->nconns++;
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct rwd_callback *cb = arg;
    int err = EVUTIL_SOCKET_ERROR();

    (void)l;
    /* out of descriptors or memory: stop accepting until the sweep, rather than spin */
    log_warnx("listener: cannot accept a connection: %s", evutil_socket_error_to_string(err));
    listener_pause(cb, true);
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

/* Binds host:port (host NULL: every IPv4 address), trying each address it resolves to. */
static struct evconnlistener *listen_on(struct event_base *base, const char *host, int port,
                                        struct rwd_callback *cb)
{
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_protocol = IPPROTO_TCP,
                                    .ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG};
    struct evutil_addrinfo *ai = NULL;
    struct evconnlistener *l = NULL;
    char service[16];
    int rc;

    snprintf(service, sizeof(service), "%d", port);
    /* at start-up, before the loop runs: a blocking lookup is fine here */
    if ((rc = evutil_getaddrinfo(host ? host : "0.0.0.0", service, &hints, &ai)) != 0) {
        log_warnx("cannot resolve %s: %s", host ? host : "0.0.0.0", evutil_gai_strerror(rc));
        return NULL;
    }
    for (struct evutil_addrinfo *a = ai; a && !l; a = a->ai_next)
        l = evconnlistener_new_bind(
            base, on_accept, cb, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
            1024, a->ai_addr, (int)a->ai_addrlen);
    evutil_freeaddrinfo(ai);
    return l;
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
    cb->epfd = -1;
    cb->cfg = cfg;
    cb->base = base;
    cb->st = st;
    cb->secret = secret;
    cb->max_conns = conn_cap(cfg);
    cb->lim.max_head = MAX_HEADERS_BYTES;
    cb->lim.max_body = (size_t)cfg->max_callback_bytes;
    /* one request (head, body, trailer; a chunked body is compacted as it is decoded) and one
     * read more */
    cb->max_input = (size_t)cfg->max_callback_bytes + 2 * MAX_HEADERS_BYTES + 2 * READ_BYTES;
    if (rw_hostport_parse(cfg->listen, &host, &port, err, sizeof(err)) < 0) {
        log_warnx("listen %s: %s", cfg->listen, err);
        goto fail;
    }
    if ((cb->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        !(cb->ready_ev = event_new(base, cb->epfd, EV_READ | EV_PERSIST, on_ready, cb)) ||
        event_add(cb->ready_ev, NULL) < 0 || !(cb->gate_cap = evtimer_new(base, on_gate_cap, cb))) {
        log_warn("listener: cannot set up");
        goto fail;
    }
    if (!(cb->tok = json_tokener_new()) ||
        !(cb->sweep = event_new(base, -1, EV_PERSIST, on_sweep, cb)) ||
        event_add(cb->sweep, &sweep) < 0)
        goto fail;
    if (!(cb->listener = listen_on(base, host, port, cb))) {
        log_warn("cannot listen on %s", cfg->listen);
        goto fail;
    }
    evconnlistener_set_error_cb(cb->listener, on_accept_error);
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
    if (cb->listener)
        evconnlistener_free(cb->listener);
    while (cb->conns)
        conn_free(cb->conns);
    if (cb->sweep)
        event_free(cb->sweep);
    if (cb->tok)
        json_tokener_free(cb->tok);
    if (cb->ready_ev)
        event_free(cb->ready_ev);
    if (cb->gate_cap)
        event_free(cb->gate_cap);
    if (cb->epfd >= 0)
        close(cb->epfd);
    free(cb);
}
