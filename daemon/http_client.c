/* HTTP POSTs through libcurl's multi interface, driven by socket and timer events on the loop. */
#include "http_client.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <curl/curl.h>

#include "log.h"
#include "util.h"

/* A response body starts in a buffer of RESP_BLOCK bytes (an acknowledgement takes one); up to
 * RESP_SPARE of them are kept for the next requests (struct rwd_spares). */
#define RESP_BLOCK 4096
#define RESP_SPARE 16

struct xfer {
    TAILQ_ENTRY(xfer) entry;
    struct rwd_http *h;
    CURL *easy;
    char *body; /* request body, ours */
    char *resp; /* response body */
    size_t resp_len, resp_cap;
    bool too_big;
    rwd_http_cb *cb;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

/* Per-socket state curl asked us to watch. */
struct sock {
    struct event *ev;
};

struct rwd_http {
    struct event_base *base;
    CURLM *multi;
    struct curl_slist *headers;
    struct curl_slist **retired; /* earlier headers, which requests in flight may still use */
    size_t nretired;
    struct event *timer;
    long timeout_ms;
    size_t max_response;
    size_t inflight;
    TAILQ_HEAD(, xfer) xfers;
    struct rwd_spares spare; /* released response buffers of RESP_BLOCK bytes */
};

/* Frees x's response buffer, or keeps it for another request. */
static void resp_release(struct rwd_http *h, struct xfer *x)
{
    if (x->resp_cap == RESP_BLOCK)
        rwd_spare_put(&h->spare, x->resp);
    else
        free(x->resp);
    x->resp = NULL;
    x->resp_len = x->resp_cap = 0;
}

static void check_done(struct rwd_http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left))) {
        struct xfer *x;
        struct rwd_http_result res = {0};

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        res.curl_code = msg->data.result;
        if (x->too_big && res.curl_code == CURLE_WRITE_ERROR) {
            res.curl_code = CURLE_FILESIZE_EXCEEDED;
            snprintf(x->errbuf, sizeof(x->errbuf), "response larger than %zu bytes",
                     h->max_response);
        }
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.status);
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &res.seconds);
        res.body = x->resp ? x->resp : "";
        res.len = x->resp_len;
        res.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(msg->data.result);
        curl_multi_remove_handle(h->multi, x->easy);
        TAILQ_REMOVE(&h->xfers, x, entry);
        h->inflight--;
        x->cb(&res, x->arg);
        curl_easy_cleanup(x->easy);
        free(x->body);
        resp_release(h, x);
        free(x);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_http *h = arg;
    int running, flags = 0;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_http *h = arg;
    int running;

    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants, or stop watching it. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct rwd_http *h = userp;
    struct sock *s = sockp;
    short kind = EV_PERSIST;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        curl_multi_assign(h->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(h->base, fd, kind, on_socket_event, h);
    if (!s->ev || event_add(s->ev, NULL) != 0) {
        log_warnx("%s: cannot watch a socket", __func__);
        return -1;
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct rwd_http *h = userp;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    if (timeout_ms < 0)
        evtimer_del(h->timer);
    else
        evtimer_add(h->timer, &tv);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->resp_len + n + 1 > x->h->max_response) {
        x->too_big = true;
        return 0;
    }
    if (!x->resp_cap && n + 1 <= RESP_BLOCK && (x->resp = rwd_spare_get(&x->h->spare))) {
        x->resp_cap = RESP_BLOCK;
    } else if (x->resp_len + n + 1 > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap : RESP_BLOCK;
        char *p;

        while (cap < x->resp_len + n + 1)
            cap *= 2;
        if (!(p = realloc(x->resp, cap)))
            return 0;
        x->resp = p;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, ptr, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    return n;
}

/* A curl list of the lines, NULL for none or on ENOMEM. */
static struct curl_slist *header_list(const char *const *lines)
{
    struct curl_slist *list = NULL;

    for (; lines && *lines; lines++) {
        struct curl_slist *l = curl_slist_append(list, *lines);

        if (!l) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = l;
    }
    return list;
}

/* Frees a header list, wiping its lines first: they may hold the API key. */
static void header_list_free(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

int rwd_http_configure(struct rwd_http *h, const char *const *headers, long timeout_ms)
{
    struct curl_slist *list = header_list(headers), **r;

    if (!list && headers && *headers)
        return -1;
    if (!(r = realloc(h->retired, (h->nretired + 1) * sizeof(*r)))) {
        header_list_free(list);
        return -1;
    }
    h->retired = r;
    h->retired[h->nretired++] = h->headers;
    h->headers = list;
    h->timeout_ms = timeout_ms;
    return 0;
}

struct rwd_http *rwd_http_new(struct event_base *base, const char *const *headers, long timeout_ms,
                              size_t max_response)
{
    struct rwd_http *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    TAILQ_INIT(&h->xfers);
    h->base = base;
    h->timeout_ms = timeout_ms;
    h->max_response = max_response;
    h->spare.size = RESP_BLOCK;
    h->spare.max = RESP_SPARE;
    if (!(h->multi = curl_multi_init()) || !(h->timer = evtimer_new(base, on_timer, h)))
        goto fail;
    if (!(h->headers = header_list(headers)) && headers && *headers)
        goto fail;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
fail:
    rwd_http_free(h);
    return NULL;
}

int rwd_http_post(struct rwd_http *h, const char *url, char *body, size_t len, rwd_http_cb *cb,
                  void *arg)
{
    struct xfer *x = calloc(1, sizeof(*x));

    if (!x || !(x->easy = curl_easy_init()))
        goto fail;
    x->h = h;
    x->body = body;
    x->cb = cb;
    x->arg = arg;
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "runwared/" RWD_VERSION);
    /* libcurl resolves names in a thread of its own (threaded resolver): the loop never waits. */
    if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
        goto fail;
    TAILQ_INSERT_TAIL(&h->xfers, x, entry);
    h->inflight++;
    return 0;
fail:
    if (x && x->easy)
        curl_easy_cleanup(x->easy);
    free(x);
    free(body);
    return -1;
}

size_t rwd_http_inflight(const struct rwd_http *h)
{
    return h->inflight;
}

void rwd_http_free(struct rwd_http *h)
{
    struct xfer *x;

    if (!h)
        return;
    while ((x = TAILQ_FIRST(&h->xfers))) {
        TAILQ_REMOVE(&h->xfers, x, entry);
        curl_multi_remove_handle(h->multi, x->easy);
        curl_easy_cleanup(x->easy);
        free(x->body);
        free(x->resp);
        free(x);
    }
    rwd_spares_free(&h->spare);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->timer)
        event_free(h->timer);
    header_list_free(h->headers);
    for (size_t i = 0; i < h->nretired; i++)
        header_list_free(h->retired[i]);
    free(h->retired);
    free(h);
}
