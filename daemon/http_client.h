/* HTTP POSTs through libcurl's multi interface, driven by socket and timer events on the loop. */
#ifndef RWD_HTTP_CLIENT_H
#define RWD_HTTP_CLIENT_H

#include <stddef.h>
#include <event2/event.h>

struct rwd_http;

struct rwd_http_result {
    int curl_code;    /* CURLE_OK when an HTTP answer came */
    long status;      /* HTTP status, 0 without an answer */
    const char *body; /* the answer's body, NUL-terminated (may be "") */
    size_t len;
    const char *error; /* curl's message when curl_code != CURLE_OK */
    double seconds;    /* total time of the transfer */
};

/* res and its strings are valid only during the call. */
typedef void rwd_http_cb(const struct rwd_http_result *res, void *arg);

/* headers: "Name: value" lines sent with every request (copied; may hold a secret, which is
 * never logged). NULL on failure. */
struct rwd_http *rwd_http_new(struct event_base *base, const char *const *headers, long timeout_ms,
                              size_t max_response);

/* Headers and timeout for the requests started from now on (after a reload); requests in flight
 * keep theirs. Returns -1 on ENOMEM (nothing changed). */
int rwd_http_configure(struct rwd_http *h, const char *const *headers, long timeout_ms);

/* POSTs body (taken over: freed with free() when done) to url. cb runs exactly once, never
 * before rwd_http_post returns. Returns -1 on failure (body freed, cb does not run). */
int rwd_http_post(struct rwd_http *h, const char *url, char *body, size_t len, rwd_http_cb *cb,
                  void *arg);

size_t rwd_http_inflight(const struct rwd_http *h);

/* Aborts what is in flight (their callbacks do not run) and frees h. Accepts NULL. */
void rwd_http_free(struct rwd_http *h);

#endif
