/* rw_http: requests as the callback listener reads them, whole and byte by byte. */
#include "rw_http.h"
#include "rwtest.h"

#include <stdlib.h>

static const struct rw_http_limits LIM = {.max_head = 256, .max_body = 64};

struct want {
    int rc;     /* RW_HTTP_DONE, or RW_HTTP_ERROR with status */
    int status; /* on error */
    const char *method, *target, *body;
    bool keep_alive, expect;
    size_t size; /* 0: the whole input */
};

/* Feeds in[0..n) as a listener would: all at once (step 0) or step bytes at a time, compacting
 * a chunked body between reads as callback.c does. Returns rc; buf keeps the parsed bytes. */
static int feed(struct rw_http_req *r, const char *in, size_t n, size_t step, char *buf,
                size_t *len)
{
    int rc = RW_HTTP_MORE;
    size_t got = 0;

    rw_http_init(r);
    *len = 0;
    while (got < n && rc == RW_HTTP_MORE) {
        size_t add = step && n - got > step ? step : n - got;

        memcpy(buf + *len, in + got, add);
        *len += add;
        got += add;
        rc = rw_http_parse(r, buf, *len, &LIM);
        if (rc == RW_HTTP_MORE)
            *len = rw_http_compact(r, buf, *len);
    }
    return rc;
}

static void check_one(const char *in, const struct want *w)
{
    static const size_t steps[] = {0, 1, 2, 7};

    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        struct rw_http_req r;
        char buf[1024];
        size_t len;
        int rc = feed(&r, in, strlen(in), steps[s], buf, &len);

        RWT_CHECK_INT(rc, w->rc);
        if (rc != w->rc) {
            fprintf(stderr, "  request %.60s (step %zu): status %d %s\n", in, steps[s], r.status,
                    r.error ? r.error : "");
            continue;
        }
        if (rc == RW_HTTP_ERROR) {
            RWT_CHECK_INT(r.status, w->status);
            RWT_CHECK(r.error != NULL);
            continue;
        }
        if (rc != RW_HTTP_DONE)
            continue;
        RWT_CHECK_STR(buf + r.method, w->method);
        RWT_CHECK_STR(buf + r.target, w->target);
        RWT_CHECK_INT((int)r.body_len, (int)strlen(w->body));
        RWT_CHECK(memcmp(buf + r.body, w->body, r.body_len) == 0);
        RWT_CHECK_INT(r.keep_alive, w->keep_alive);
        RWT_CHECK_INT(r.expect_continue, w->expect);
        if (w->size && steps[s] == 0)
            RWT_CHECK_INT((int)r.size, (int)w->size);
    }
}

static void test_table(void)
{
    static const struct {
        const char *in;
        struct want w;
    } t[] = {
        {"POST /callback/x?token=t HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
         {RW_HTTP_DONE, 0, "POST", "/callback/x?token=t", "hello", true, false, 0}},
        {"GET / HTTP/1.1\r\n\r\n", {RW_HTTP_DONE, 0, "GET", "/", "", true, false, 0}},
        /* bare LF line ends, empty lines first */
        {"\r\n\nPOST /a HTTP/1.1\nContent-Length: 2\n\nok",
         {RW_HTTP_DONE, 0, "POST", "/a", "ok", true, false, 0}},
        /* HTTP/1.0 closes unless asked; HTTP/1.1 keeps unless told */
        {"POST /a HTTP/1.0\r\n\r\n", {RW_HTTP_DONE, 0, "POST", "/a", "", false, false, 0}},
        {"POST /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
         {RW_HTTP_DONE, 0, "POST", "/a", "", true, false, 0}},
        {"POST /a HTTP/1.1\r\nConnection: foo, close\r\n\r\n",
         {RW_HTTP_DONE, 0, "POST", "/a", "", false, false, 0}},
        {"POST /a HTTP/1.1\r\nexpect: 100-Continue\r\ncontent-length:  3 \r\n\r\nabc",
         {RW_HTTP_DONE, 0, "POST", "/a", "abc", true, true, 0}},
        /* names are told apart by their length, then their letters, in any case */
        {"POST /a HTTP/1.1\r\nCONTENT-LENGTH: 2\r\nContent-Lengtx: 9\r\nContent_Length: 9\r\n"
         "Content-Length9: 9\r\nConnection: CLOSE\r\n\r\nok",
         {RW_HTTP_DONE, 0, "POST", "/a", "ok", false, false, 0}},
        /* chunked, with extensions and a trailer; decoded in place */
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
         {RW_HTTP_DONE, 0, "POST", "/c", "hello 0123456789", true, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
         {RW_HTTP_DONE, 0, "POST", "/c", "", true, false, 0}},
        /* a second request after the first: size says where it starts */
        {"POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET / HTTP/1.1\r\n\r\n",
         {RW_HTTP_DONE, 0, "POST", "/a", "x", true, false, 40}},
        /* refused */
        {"POST /a HTTP/2.0\r\n\r\n", {RW_HTTP_ERROR, 505, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1 \r\n\r\n", {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST  /a HTTP/1.1\r\n\r\n", {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"PO(ST /a HTTP/1.1\r\n\r\n", {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nNo colon\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nBad Name: b\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nA: b\x01\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nContent-Length: 65\r\n\r\n",
         {RW_HTTP_ERROR, 413, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         {RW_HTTP_ERROR, 413, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         {RW_HTTP_ERROR, 501, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /a HTTP/1.1\r\nExpect: something\r\n\r\n",
         {RW_HTTP_ERROR, 417, NULL, NULL, NULL, false, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n",
         {RW_HTTP_ERROR, 413, NULL, NULL, NULL, false, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: "
         "chunked\r\n\r\n20\r\n0123456789abcdef0123456789abcd"
         "ef\r\n21\r\n",
         {RW_HTTP_ERROR, 413, NULL, NULL, NULL, false, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
        {"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
         {RW_HTTP_ERROR, 413, NULL, NULL, NULL, false, false, 0}},
        {"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
         {RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0}},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        check_one(t[i].in, &t[i].w);
}

/* Heads over max_head: 431, whether they arrive at once or never end. */
static void test_head_limit(void)
{
    char in[600];
    struct rw_http_req r;
    char buf[1024];
    size_t len;

    snprintf(in, sizeof(in), "GET /%0300d HTTP/1.1\r\n\r\n", 0);
    RWT_CHECK_INT(feed(&r, in, strlen(in), 0, buf, &len), RW_HTTP_ERROR);
    RWT_CHECK_INT(r.status, 431);
    snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nA: %0300d", 0);
    RWT_CHECK_INT(feed(&r, in, strlen(in), 16, buf, &len), RW_HTTP_ERROR);
    RWT_CHECK_INT(r.status, 431);
    /* a chunked trailer counts too */
    snprintf(in, sizeof(in), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: %0300d",
             0);
    RWT_CHECK_INT(feed(&r, in, strlen(in), 0, buf, &len), RW_HTTP_ERROR);
    RWT_CHECK_INT(r.status, 431);
    /* a chunk-size line that never ends: 400, once the head is read */
    {
        static char big[2200], buf2[2200];
        size_t n = (size_t)snprintf(big, sizeof(big), "%s",
                                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");

        memset(big + n, '1', sizeof(big) - n - 1);
        RWT_CHECK_INT(feed(&r, big, sizeof(big) - 1, 100, buf2, &len), RW_HTTP_ERROR);
        RWT_CHECK_INT(r.status, 400);
        RWT_CHECK(r.head_done);
    }
}

/* Incomplete requests stay incomplete, at every length short of the whole. */
static void test_prefixes(void)
{
    static const char *const in[] = {
        "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        size_t n = strlen(in[i]);

        for (size_t cut = 0; cut < n; cut++) {
            struct rw_http_req r;
            char buf[256];

            memcpy(buf, in[i], cut);
            rw_http_init(&r);
            RWT_CHECK_INT(rw_http_parse(&r, buf, cut, &LIM), RW_HTTP_MORE);
        }
    }
}

/* in parsed once from a heap block of exactly n bytes, so that ASan sees any read past it. */
static int parse_exact(struct rw_http_req *r, const char *in, size_t n)
{
    char *buf = malloc(n ? n : 1);
    int rc;

    if (!buf)
        abort();
    memcpy(buf, in, n);
    rw_http_init(r);
    rc = rw_http_parse(r, buf, n, &LIM);
    free(buf);
    return rc;
}

/* Bytes the word-at-a-time scans stop at, or let through, at every position of a request target
 * and a field value 0..23 bytes long (so at every place in a word, and in the bytes after the
 * last whole word). */
static void test_scan_edges(void)
{
    static const struct {
        unsigned char c;
        bool target_ok, value_ok; /* allowed in a target, in a field value */
    } t[] = {
        {'a', true, true},    {'~', true, true},    {0x80, true, true},
        {0xff, true, true},   {0x7f, false, false}, {0x01, false, false},
        {0x1f, false, false}, {'\t', false, true},  {' ', false, true},
    };

    for (size_t j = 0; j < sizeof(t) / sizeof(t[0]); j++) {
        for (size_t len = 1; len <= 24; len++) {
            for (size_t k = 0; k < len; k++) {
                char part[32], in[128];
                struct rw_http_req r;
                struct want w = {RW_HTTP_DONE, 0, "GET", part, "", true, false, 0};
                size_t n;

                memset(part, 'a', len);
                part[len] = '\0';
                part[k] = (char)t[j].c;
                /* a target */
                n = (size_t)snprintf(in, sizeof(in), "GET %s HTTP/1.1\r\n\r\n", part);
                if (!t[j].target_ok)
                    w = (struct want){RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0};
                check_one(in, &w);
                RWT_CHECK_INT(parse_exact(&r, in, n),
                              t[j].target_ok ? RW_HTTP_DONE : RW_HTTP_ERROR);
                /* a field value (spaces and tabs at its ends are not part of it) */
                n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nX-Y: %s\r\n\r\n", part);
                w = (struct want){RW_HTTP_DONE, 0, "GET", "/", "", true, false, 0};
                if (!t[j].value_ok)
                    w = (struct want){RW_HTTP_ERROR, 400, NULL, NULL, NULL, false, false, 0};
                check_one(in, &w);
                RWT_CHECK_INT(parse_exact(&r, in, n), t[j].value_ok ? RW_HTTP_DONE : RW_HTTP_ERROR);
                if (!t[j].value_ok)
                    RWT_CHECK_STR(r.error, "control character in a header value");
            }
        }
    }
    /* every prefix, from a block that ends there: nothing is read past it */
    {
        static const char in[] = "POST /callback/0123456789abcdef?token=0123456789abcdef HTTP/1.1"
                                 "\r\nUser-Agent: runware-sim 0123456789\r\n\r\n";
        struct rw_http_req r;

        for (size_t cut = 0; cut < sizeof(in) - 1; cut++)
            RWT_CHECK_INT(parse_exact(&r, in, cut), RW_HTTP_MORE);
        RWT_CHECK_INT(parse_exact(&r, in, sizeof(in) - 1), RW_HTTP_DONE);
    }
}

static const struct rwt_case cases[] = {
    {"table", test_table},
    {"head_limit", test_head_limit},
    {"prefixes", test_prefixes},
    {"scan_edges", test_scan_edges},
};

RWT_MAIN(cases)
