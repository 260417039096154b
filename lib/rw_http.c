/* HTTP/1.x requests, as a server reads them (RFC 9112). Strict where framing is decided
 * (Content-Length, Transfer-Encoding: a request they could be read two ways is refused, as the
 * RFC asks of a server that may sit behind a proxy), lenient where the RFC allows it (bare LF
 * line ends, empty lines before a request). */
#include "rw_http.h"
#include "rw_swar.h"

#include <string.h>

enum { CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER };

#define MAX_METHOD     32
#define MAX_CHUNK_LINE 1024 /* a chunk-size line with its extensions */

void rw_http_init(struct rw_http_req *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}

const char *rw_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

static enum rw_http_rc fail(struct rw_http_req *r, int status, const char *why)
{
    r->status = status;
    r->error = why;
    return RW_HTTP_ERROR;
}

/* tchar (RFC 9110, 5.6.2): the bytes of a method or a field name. */
static const bool tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,  ['#'] = true,
    ['$'] = true,         ['%'] = true,         ['&'] = true,         ['\''] = true, ['*'] = true,
    ['+'] = true,         ['-'] = true,         ['.'] = true,         ['^'] = true,  ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Do the n bytes at s equal word (in lower case), ignoring the case of ASCII letters? */
static bool lower_is(const char *s, const char *word, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];

        if ((c >= 'A' && c <= 'Z' ? c | 0x20 : c) != (unsigned char)word[k])
            return false;
    }
    return true;
}

/* Does [s, s+n), a field name or a token of a value, equal the literal word, ignoring case? The
 * lengths are compared first: most words are ruled out by that alone. */
#define WORD_IS(s, n, word) ((n) == sizeof(word) - 1 && lower_is(s, word, sizeof(word) - 1))

/* The end of the request target at s[i] (n bytes in all): the first byte that is not VCHAR or
 * obs-text, i.e. a control character, a space or DEL. */
static size_t target_end(const char *s, size_t i, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; n - i >= 8; i += 8) {
        uint64_t w = rw_swar_load(u + i);
        uint64_t stop = rw_swar_below(w, 0x21) | rw_swar_eq(w, 0x7f);

        if (stop)
            return i + rw_swar_first(stop);
    }
    while (i < n && u[i] > ' ' && u[i] != 0x7f)
        i++;
    return i;
}

/* The first byte in [s+k, s+e) that a field value may not hold (a control character but HTAB,
 * or DEL), e when none. */
static size_t value_bad(const char *s, size_t k, size_t e)
{
    const unsigned char *u = (const unsigned char *)s;

    while (k < e) {
        if (e - k >= 8) {
            uint64_t w = rw_swar_load(u + k);
            uint64_t stop = rw_swar_below(w, 0x20) | rw_swar_eq(w, 0x7f);

            if (!stop) {
                k += 8;
                continue;
            }
            k += rw_swar_first(stop);
        }
        if ((u[k] < ' ' && u[k] != '\t') || u[k] == 0x7f)
            return k;
        k++; /* a plain byte, or an HTAB */
    }
    return e;
}

/* The end of the line that starts at p (the LF's index), or -1 when no LF before end. */
static ptrdiff_t line_end(const char *buf, size_t p, size_t end)
{
    const char *nl = memchr(buf + p, '\n', end - p);

    return nl ? nl - buf : -1;
}

/* The line [p, lf) without its CR. */
static size_t line_len(const char *buf, size_t p, size_t lf)
{
    return lf > p && buf[lf - 1] == '\r' ? lf - 1 - p : lf - p;
}

static enum rw_http_rc request_line(struct rw_http_req *r, char *s, size_t n)
{
    size_t i = 0, m, t;

    while (i < n && tchar[(unsigned char)s[i]])
        i++;
    if (i == 0 || i > MAX_METHOD || i == n || s[i] != ' ')
        return fail(r, 400, "malformed request line");
    m = i++;
    t = i;
    i = target_end(s, i, n);
    if (i == t || i == n || s[i] != ' ')
        return fail(r, 400, "malformed request target");
    s[m] = s[i] = '\0';
    r->target = t;
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 6] != '.' || s[i + 5] < '0' ||
        s[i + 5] > '9' || s[i + 7] < '0' || s[i + 7] > '9')
        return fail(r, 400, "malformed HTTP version");
    if (s[i + 5] != '1')
        return fail(r, 505, "only HTTP/1.x is served");
    r->minor = s[i + 7] - '0';
    return RW_HTTP_MORE;
}

/* One header field line [s, s+n). */
static enum rw_http_rc header(struct rw_http_req *r, const char *s, size_t n, bool *conn_close,
                              bool *conn_keep)
{
    size_t i = 0, v, e;

    if (n && is_ows(s[0]))
        return fail(r, 400, "folded header line");
    while (i < n && tchar[(unsigned char)s[i]])
        i++;
    if (i == 0 || i == n || s[i] != ':')
        return fail(r, 400, "malformed header line");
    for (v = i + 1; v < n && is_ows(s[v]); v++)
        ;
    for (e = n; e > v && is_ows(s[e - 1]); e--)
        ;
    if (value_bad(s, v, e) != e)
        return fail(r, 400, "control character in a header value");
    if (WORD_IS(s, i, "content-length")) {
        int64_t cl = 0;

        if (v == e)
            return fail(r, 400, "empty Content-Length");
        for (size_t k = v; k < e; k++) {
            if (s[k] < '0' || s[k] > '9')
                return fail(r, 400, "malformed Content-Length");
            if (cl > (INT64_MAX - 9) / 10)
                return fail(r, 413, "body too large");
            cl = cl * 10 + (s[k] - '0');
        }
        if (r->content_length >= 0 && r->content_length != cl)
            return fail(r, 400, "conflicting Content-Length headers");
        r->content_length = cl;
    } else if (WORD_IS(s, i, "transfer-encoding")) {
        if (r->chunked || !WORD_IS(s + v, e - v, "chunked"))
            return fail(r, 501, "only the chunked transfer coding is accepted");
        r->chunked = true;
    } else if (WORD_IS(s, i, "connection")) {
        for (size_t a = v; a < e;) {
            size_t b = a, c;

            while (b < e && s[b] != ',')
                b++;
            for (c = b; c > a && is_ows(s[c - 1]); c--)
                ;
            if (WORD_IS(s + a, c - a, "close"))
                *conn_close = true;
            else if (WORD_IS(s + a, c - a, "keep-alive"))
                *conn_keep = true;
            for (a = b + 1; a < e && is_ows(s[a]); a++)
                ;
        }
    } else if (WORD_IS(s, i, "expect")) {
        if (!WORD_IS(s + v, e - v, "100-continue"))
            return fail(r, 417, "unknown expectation");
        r->expect_continue = true;
    }
    return RW_HTTP_MORE;
}

/* The head [start, head_len): the request line and the header fields. */
static enum rw_http_rc head(struct rw_http_req *r, char *buf, const struct rw_http_limits *lim)
{
    bool conn_close = false, conn_keep = false;
    size_t p = r->start;
    ptrdiff_t lf = line_end(buf, p, r->head_len);
    enum rw_http_rc rc;

    if ((rc = request_line(r, buf + p, line_len(buf, p, (size_t)lf))) != RW_HTTP_MORE)
        return rc;
    r->method = p;
    r->target += p;
    for (p = (size_t)lf + 1; p < r->head_len; p = (size_t)lf + 1) {
        size_t n;

        lf = line_end(buf, p, r->head_len);
        if (!(n = line_len(buf, p, (size_t)lf)))
            break; /* the empty line that ends the head */
        if ((rc = header(r, buf + p, n, &conn_close, &conn_keep)) != RW_HTTP_MORE)
            return rc;
    }
    if (r->chunked && r->content_length >= 0)
        return fail(r, 400, "both Content-Length and Transfer-Encoding");
    if (r->content_length > 0 && (uint64_t)r->content_length > lim->max_body)
        return fail(r, 413, "body too large");
    r->keep_alive = r->minor >= 1 ? !conn_close : conn_keep && !conn_close;
    r->head_done = true;
    r->src = r->dst = r->head_len;
    return RW_HTTP_MORE;
}

/* Finds the empty line that ends the head; head_len is set when it has arrived. */
static enum rw_http_rc find_head(struct rw_http_req *r, const char *buf, size_t len,
                                 const struct rw_http_limits *lim)
{
    if (r->scan == 0) {
        while (r->start < len && (buf[r->start] == '\r' || buf[r->start] == '\n'))
            r->start++; /* empty lines before a request are ignored (RFC 9112, 2.2) */
        if (r->start > 8)
            return fail(r, 400, "empty lines instead of a request");
        if (r->start == len)
            return RW_HTTP_MORE;
        r->scan = r->start;
    }
    for (;;) {
        const char *nl = memchr(buf + r->scan, '\n', len - r->scan);
        size_t p;

        if (!nl)
            break;
        p = (size_t)(nl - buf) + 1;
        if (p < len && buf[p] == '\n') {
            r->head_len = p + 1;
            return RW_HTTP_MORE;
        }
        if (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n') {
            r->head_len = p + 2;
            return RW_HTTP_MORE;
        }
        if (p >= len || (p + 1 >= len && buf[p] == '\r')) {
            r->scan = p - 1; /* look at this line end again when more has arrived */
            break;
        }
        r->scan = p;
    }
    if (len - r->start > lim->max_head)
        return fail(r, 431, "request line and headers too large");
    return RW_HTTP_MORE;
}

static enum rw_http_rc chunked(struct rw_http_req *r, char *buf, size_t len,
                               const struct rw_http_limits *lim)
{
    for (;;) {
        switch (r->chunk_state) {
        case CHUNK_SIZE: {
            ptrdiff_t lf = line_end(buf, r->src, len);
            size_t n, i, size = 0;

            if (lf < 0)
                return len - r->src > MAX_CHUNK_LINE ? fail(r, 400, "chunk-size line too long")
                                                     : RW_HTTP_MORE;
            if ((size_t)lf - r->src > MAX_CHUNK_LINE)
                return fail(r, 400, "chunk-size line too long");
            n = line_len(buf, r->src, (size_t)lf);
            for (i = 0; i < n; i++) {
                char c = buf[r->src + i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                    break;
                if (size > (SIZE_MAX >> 4))
                    return fail(r, 413, "body too large");
                size = size << 4 | (size_t)d;
            }
            if (i == 0)
                return fail(r, 400, "malformed chunk size");
            while (i < n && is_ows(buf[r->src + i]))
                i++;
            if (i < n && buf[r->src + i] != ';')
                return fail(r, 400, "malformed chunk size");
            if (size > lim->max_body - (r->dst - r->head_len))
                return fail(r, 413, "body too large");
            r->src = (size_t)lf + 1;
            r->chunk_left = size;
            r->chunk_state = size ? CHUNK_DATA : CHUNK_TRAILER;
            break;
        }
        case CHUNK_DATA: {
            size_t n = len - r->src < r->chunk_left ? len - r->src : r->chunk_left;

            if (r->dst != r->src)
                memmove(buf + r->dst, buf + r->src, n);
            r->dst += n;
            r->src += n;
            if ((r->chunk_left -= n))
                return RW_HTTP_MORE;
            r->chunk_state = CHUNK_DATA_END;
            break;
        }
        case CHUNK_DATA_END:
            if (r->src < len && buf[r->src] == '\n') {
                r->src++;
            } else if (r->src + 1 < len && buf[r->src] == '\r' && buf[r->src + 1] == '\n') {
                r->src += 2;
            } else if (r->src == len || (r->src + 1 == len && buf[r->src] == '\r')) {
                return RW_HTTP_MORE;
            } else {
                return fail(r, 400, "chunk data longer than its size");
            }
            r->chunk_state = CHUNK_SIZE;
            break;
        case CHUNK_TRAILER: {
            ptrdiff_t lf = line_end(buf, r->src, len);
            size_t n;

            if (lf < 0)
                return r->line + (len - r->src) > lim->max_head
                           ? fail(r, 431, "chunked trailer too large")
                           : RW_HTTP_MORE;
            n = line_len(buf, r->src, (size_t)lf);
            r->line += (size_t)lf + 1 - r->src;
            r->src = (size_t)lf + 1;
            if (r->line > lim->max_head)
                return fail(r, 431, "chunked trailer too large");
            if (n == 0) {
                r->body = r->head_len;
                r->body_len = r->dst - r->head_len;
                r->size = r->src;
                return RW_HTTP_DONE;
            }
            break; /* trailer fields are read past: nothing here needs them */
        }
        }
    }
}

size_t rw_http_compact(struct rw_http_req *r, char *buf, size_t len)
{
    size_t gap;

    if (!r->head_done || !r->chunked || r->src == r->dst)
        return len;
    gap = r->src - r->dst;
    memmove(buf + r->dst, buf + r->src, len - r->src);
    r->src = r->dst;
    return len - gap;
}

enum rw_http_rc rw_http_parse(struct rw_http_req *r, char *buf, size_t len,
                              const struct rw_http_limits *lim)
{
    enum rw_http_rc rc;

    if (!r->head_done) {
        if ((rc = find_head(r, buf, len, lim)) != RW_HTTP_MORE || !r->head_len)
            return rc;
        if (r->head_len - r->start > lim->max_head)
            return fail(r, 431, "request line and headers too large");
        if ((rc = head(r, buf, lim)) != RW_HTTP_MORE)
            return rc;
    }
    if (r->chunked)
        return chunked(r, buf, len, lim);
    if (r->content_length <= 0) {
        r->body = r->head_len;
        r->size = r->head_len;
        return RW_HTTP_DONE;
    }
    if (len - r->head_len < (uint64_t)r->content_length)
        return RW_HTTP_MORE;
    r->body = r->head_len;
    r->body_len = (size_t)r->content_length;
    r->size = r->head_len + r->body_len;
    return RW_HTTP_DONE;
}
