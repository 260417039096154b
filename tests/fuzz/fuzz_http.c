/* libFuzzer: any bytes as what a callback connection sends -> rw_http_parse, read whole and in
 * pieces of every size the first byte picks (compacting between reads, as the listener does).
 * However the bytes are split, the outcome is the same: the same status, or the same request
 * (method, target, body, size); offsets stay inside what was read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rw_http_limits lim = {.max_head = 512, .max_body = 4096};

struct outcome {
    int rc, status;
    char *buf;
    struct rw_http_req r;
    size_t len, fed; /* bytes held (after compaction), bytes of the input given */
};

static void run(const uint8_t *in, size_t n, size_t step, struct outcome *o)
{
    o->buf = malloc(n ? n : 1);
    o->len = o->fed = 0;
    o->rc = RW_HTTP_MORE;
    rw_http_init(&o->r);
    if (!o->buf)
        abort();
    while (o->fed < n && o->rc == RW_HTTP_MORE) {
        size_t add = n - o->fed < step ? n - o->fed : step;

        memcpy(o->buf + o->len, in + o->fed, add);
        o->len += add;
        o->fed += add;
        o->rc = rw_http_parse(&o->r, o->buf, o->len, &lim);
        if (o->rc == RW_HTTP_MORE) {
            size_t before = o->len;

            o->len = rw_http_compact(&o->r, o->buf, o->len);
            if (o->len > before)
                abort();
        }
    }
    o->status = o->rc == RW_HTTP_ERROR ? o->r.status : 0;
    if (o->rc == RW_HTTP_ERROR && (o->status < 400 || !o->r.error))
        abort();
    if (o->rc == RW_HTTP_DONE) {
        const struct rw_http_req *r = &o->r;

        if (r->size > o->len || r->body + r->body_len > r->size || r->body_len > lim.max_body ||
            r->method >= r->size || r->target >= r->size ||
            memchr(o->buf + r->method, '\0', r->size - r->method) == NULL ||
            memchr(o->buf + r->target, '\0', r->size - r->target) == NULL)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome whole, parts;
    size_t step;

    if (size < 1)
        return 0;
    step = 1 + data[0] % 64;
    data++;
    size--;
    run(data, size, size ? size : 1, &whole);
    run(data, size, step, &parts);
    /* errors may be found at different points of a stream cut short, but never differ once
     * the whole of it is read; a request is the same request */
    if (whole.rc != parts.rc)
        abort();
    if (whole.rc == RW_HTTP_ERROR && whole.status != parts.status)
        abort();
    if (whole.rc == RW_HTTP_DONE) {
        const struct rw_http_req *a = &whole.r, *b = &parts.r;

        /* bytes of the input the request took: its size plus the framing compacted away */
        if (strcmp(whole.buf + a->method, parts.buf + b->method) ||
            strcmp(whole.buf + a->target, parts.buf + b->target) || a->body_len != b->body_len ||
            memcmp(whole.buf + a->body, parts.buf + b->body, a->body_len) ||
            a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue ||
            a->size + (whole.fed - whole.len) != b->size + (parts.fed - parts.len))
            abort();
    }
    free(whole.buf);
    free(parts.buf);
    return 0;
}
