/* An HTTP/1.x request read from a connection's bytes as they arrive (RFC 9112): the request
 * line, the headers that decide framing and the connection's fate, and the body, by
 * Content-Length or chunked (decoded in place). Pure: no sockets, no allocation. Limits are
 * the caller's, and every error carries the status to answer with. */
#ifndef RW_HTTP_H
#define RW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rw_http_rc {
    RW_HTTP_ERROR = -1, /* answer status (and close the connection) */
    RW_HTTP_MORE = 0,   /* the request is not complete yet */
    RW_HTTP_DONE = 1,   /* a whole request */
};

struct rw_http_limits {
    size_t max_head; /* request line, headers, and a chunked body's trailer */
    size_t max_body; /* the body, decoded */
};

struct rw_http_req {
    /* Set once the head is complete (head_done); offsets from the request's first byte. The
     * method and target are NUL-terminated in the buffer (the parser writes the NULs). */
    bool head_done;
    size_t method, target;
    int minor;            /* HTTP/1.minor */
    bool keep_alive;      /* the connection may carry another request after this one */
    bool expect_continue; /* Expect: 100-continue */
    /* Set on RW_HTTP_DONE */
    size_t body, body_len; /* offset and length of the body (decoded) */
    size_t size;           /* bytes the request took: the next request starts there */
    /* Set on RW_HTTP_ERROR */
    int status;        /* 400, 413, 417, 431, 501 or 505 */
    const char *error; /* why, for a log or the answer's body (static text) */
    /* private */
    size_t start, scan, head_len;
    int64_t content_length; /* -1: none */
    bool chunked;
    int chunk_state;
    size_t src, dst, chunk_left, line;
};

/* Starts (or restarts, for the next request on a connection) a request. */
void rw_http_init(struct rw_http_req *r);

/* Reads the request whose first byte is buf[0]: len bytes have arrived so far. Between calls
 * the caller may only append to buf (moving the whole buffer is fine): the parser rewrites
 * bytes it has read (NULs, a chunked body decoded in place). */
enum rw_http_rc rw_http_parse(struct rw_http_req *r, char *buf, size_t len,
                              const struct rw_http_limits *lim);

/* Drops a chunked body's framing already decoded from the buffer (len bytes of the request):
 * returns the request's new length. A no-op for other requests. */
size_t rw_http_compact(struct rw_http_req *r, char *buf, size_t len);

/* The reason phrase for a status this listener answers with. */
const char *rw_http_reason(int status);

#endif
