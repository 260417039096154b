/* Webhook bodies read in one strict pass: item spans and fields, no tree, no allocation. */
#include "rw_cbody.h"
#include "rw_swar.h"
#include "rw_utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where reading stands. */
struct rw_cb_reader {
    const unsigned char *start, *p, *end;
    int depth;       /* containers open at p */
    bool slow;       /* a shape left to rw_response_parse (reading goes on, to validate) */
    const char *why; /* what is wrong, once reading stopped at invalid JSON */
    size_t spaces;   /* whitespace bytes between tokens skipped so far */
    struct rw_cbody *out;
};

/* How much a level of objects is looked into. */
enum rw_cb_level {
    RW_CB_PLAIN, /* validated only */
    RW_CB_ITEM,  /* an entry of "data": its fields are read */
    RW_CB_ROOT,  /* the body: "data" and "errors", and the fields of a bare item */
};

/* Fields of an item read so far (each may appear once). */
enum {
    RW_CB_TASK = 1,
    RW_CB_IMAGE = 2,
    RW_CB_COST = 4,
    RW_CB_STATUS = 8,
    RW_CB_DATA = 16,
    RW_CB_ERRORS = 32,
};

/* Bytes that stand for themselves in a string: printable ASCII but '"' (0x22) and '\\' (0x5c);
 * bytes from 0x80 are checked as UTF-8 apart. */
static const unsigned char rw_cb_plain[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7f] = 1,
};

/* The end of the run of plain bytes (rw_cb_plain) at p: 8 bytes a step while 8 are left. */
static const unsigned char *rw_cb_plain_run(const unsigned char *p, const unsigned char *end)
{
    for (; end - p >= 8; p += 8) {
        uint64_t w = rw_swar_load(p);
        uint64_t stop = rw_swar_json_special(w) | (w & RW_SWAR_HIGHS);

        if (stop)
            return p + rw_swar_first(stop);
    }
    while (p < end && rw_cb_plain[*p])
        p++;
    return p;
}

static int rw_cb_value(struct rw_cb_reader *r);
static int rw_cb_object(struct rw_cb_reader *r, enum rw_cb_level level, struct rw_cbody_item *it);

/* Stops reading at invalid JSON; returns -1 for the callers to pass up. */
static int rw_cb_invalid(struct rw_cb_reader *r, const char *why)
{
    r->why = why;
    return -1;
}

/* Skips whitespace at r->p. Bodies come compact: the first test, inline, is mostly all. */
static inline void rw_cb_space(struct rw_cb_reader *r)
{
    const unsigned char *p = r->p;

    if (p<r->end && * p> ' ')
        return;
    while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->spaces += (size_t)(p - r->p);
    r->p = p;
}

/* The 4 hex digits at s (n bytes left) as a number, -1 when they are not. */
static long rw_cb_hex4(const unsigned char *s, size_t n)
{
    return n < 4 ? -1 : rw_hex4(s);
}

/* Appends n bytes to a string being unescaped into out (room for max); *len becomes SIZE_MAX
 * once it does not fit. */
static void rw_cb_put(char *out, size_t max, size_t *len, const void *s, size_t n)
{
    if (*len == SIZE_MAX)
        return;
    if (n > max - *len) {
        *len = SIZE_MAX;
        return;
    }
    memcpy(out + *len, s, n);
    *len += n;
}

/* A \u escape at s (the backslash; n bytes left): its code point into *cp and its length in
 * bytes (6, or 12 for a surrogate pair), 0 when it is not a valid escape, -1 for an unpaired
 * surrogate. */
static int rw_cb_uescape(const unsigned char *s, size_t n, uint32_t *cp)
{
    long hi = rw_cb_hex4(s + 2, n - 2), lo;

    if (hi < 0)
        return 0;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return -1;
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = (uint32_t)hi;
        return 6;
    }
    if (n < 12 || s[6] != '\\' || s[7] != 'u')
        return -1;
    if ((lo = rw_cb_hex4(s + 8, n - 8)) < 0)
        return 0;
    if (lo < 0xdc00 || lo > 0xdfff)
        return -1;
    *cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    return 12;
}

/*
 * The string at r->p (its opening quote). With out, it is also unescaped into out (room for max
 * bytes and a NUL), *len set to its length, or to SIZE_MAX when it does not fit or holds U+0000.
 * *escaped (may be NULL) tells whether it had any escape.
 */
static int rw_cb_string(struct rw_cb_reader *r, char *out, size_t max, size_t *len, bool *escaped)
{
    const unsigned char *p = r->p + 1, *end = r->end;
    size_t n = 0;
    bool esc = false;

    for (;;) {
        const unsigned char *run = p;
        unsigned char b[4];
        uint32_t cp;
        size_t k;
        int u, e;

        p = rw_cb_plain_run(p, end);
        if (out)
            rw_cb_put(out, max, &n, run, (size_t)(p - run));
        if (p == end) {
            r->p = p;
            return rw_cb_invalid(r, "unterminated string");
        }
        if (*p == '"')
            break;
        if (*p < 0x20) {
            r->p = p;
            return rw_cb_invalid(r, "control character in a string");
        }
        if (*p >= 0x80) {
            if ((k = rw_utf8_seq(p, (size_t)(end - p))) == 0) {
                r->p = p;
                return rw_cb_invalid(r, "invalid UTF-8");
            }
            if (out)
                rw_cb_put(out, max, &n, p, k);
            p += k;
            continue;
        }
        /* a backslash */
        esc = true;
        if (end - p < 2) {
            r->p = p;
            return rw_cb_invalid(r, "unterminated string");
        }
        if ((e = rw_json_escape(p[1])) >= 0) {
            if (out) {
                b[0] = (unsigned char)e;
                rw_cb_put(out, max, &n, b, 1);
            }
            p += 2;
            continue;
        }
        if (p[1] != 'u') {
            r->p = p;
            return rw_cb_invalid(r, "invalid escape in a string");
        }
        if ((u = rw_cb_uescape(p, (size_t)(end - p), &cp)) == 0) {
            r->p = p;
            return rw_cb_invalid(r, "invalid \\u escape");
        }
        if (u < 0) {
            /* an unpaired surrogate: json-c makes it U+FFFD, let it */
            r->slow = true;
            n = SIZE_MAX;
            p += 6;
            continue;
        }
        if (out) {
            if (cp == 0)
                n = SIZE_MAX;
            k = rw_utf8_put((uint32_t)cp, b);
            rw_cb_put(out, max, &n, b, k);
        }
        p += u;
    }
    r->p = p + 1;
    if (out) {
        if (n != SIZE_MAX)
            out[n] = '\0';
        *len = n;
    }
    if (escaped)
        *escaped = esc;
    return 0;
}

/* A number at r->p: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int rw_cb_number(struct rw_cb_reader *r)
{
    const unsigned char *p = r->p, *end = r->end;

    if (*p == '-')
        p++;
    if (p == end || *p < '0' || *p > '9') {
        r->p = p;
        return rw_cb_invalid(r, "invalid number");
    }
    if (*p++ != '0')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        if (++p == end || *p < '0' || *p > '9') {
            r->p = p;
            return rw_cb_invalid(r, "invalid number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9') {
            r->p = p;
            return rw_cb_invalid(r, "invalid number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    r->p = p;
    return 0;
}

/* The number at r->p as json-c's json_object_get_double gives it, into *v. */
static int rw_cb_cost(struct rw_cb_reader *r, double *v)
{
    const unsigned char *s = r->p;
    char buf[40];
    size_t n, digits = 0;
    bool integer = true;

    if (rw_cb_number(r) < 0)
        return -1;
    if ((n = (size_t)(r->p - s)) >= sizeof(buf)) {
        r->slow = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] != '-')
            integer = false;
    }
    if (integer && digits > 18) {
        r->slow = true; /* json-c clamps integers beyond int64 */
        return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    return 0;
}

static int rw_cb_literal(struct rw_cb_reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return rw_cb_invalid(r, "invalid literal");
    r->p += n;
    return 0;
}

static int rw_cb_enter(struct rw_cb_reader *r)
{
    if (++r->depth > RW_CBODY_DEPTH_MAX)
        return rw_cb_invalid(r, "nested deeper than 32 levels");
    r->p++;
    rw_cb_space(r);
    return 0;
}

/* An array whose entries are read as levels: objects at RW_CB_ITEM into r->out, others
 * validated only. */
static int rw_cb_array(struct rw_cb_reader *r, enum rw_cb_level entries)
{
    if (rw_cb_enter(r) < 0)
        return -1;
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        r->depth--;
        return 0;
    }
    for (;;) {
        if (entries == RW_CB_ITEM && r->p < r->end && *r->p == '{') {
            struct rw_cbody_item *it;
            size_t spaces = r->spaces;

            if (r->out->nitems == RW_CBODY_ITEMS_MAX) {
                r->slow = true;
                if (rw_cb_value(r) < 0)
                    return -1;
                goto next;
            }
            it = &r->out->items[r->out->nitems];
            memset(it, 0, sizeof(*it));
            it->off = (size_t)(r->p - r->start);
            if (rw_cb_object(r, RW_CB_ITEM, it) < 0)
                return -1;
            it->len = (size_t)(r->p - r->start) - it->off;
            it->spaced = r->spaces != spaces;
            r->out->nitems++;
        } else if (rw_cb_value(r) < 0) {
            return -1;
        }
    next:
        rw_cb_space(r);
        if (r->p == r->end)
            return rw_cb_invalid(r, "unterminated array");
        if (*r->p == ']')
            break;
        if (*r->p != ',')
            return rw_cb_invalid(r, "expected ',' or ']'");
        r->p++;
        rw_cb_space(r);
    }
    r->p++;
    r->depth--;
    return 0;
}

/* Which field of an item, or of the body, the member name at s (n bytes, unescaped) is. */
static unsigned rw_cb_field(const unsigned char *s, size_t n, enum rw_cb_level level)
{
    switch (n) {
    case 4:
        if (memcmp(s, "cost", 4) == 0)
            return RW_CB_COST;
        if (level == RW_CB_ROOT && memcmp(s, "data", 4) == 0)
            return RW_CB_DATA;
        break;
    case 6:
        if (memcmp(s, "status", 6) == 0)
            return RW_CB_STATUS;
        if (level == RW_CB_ROOT && memcmp(s, "errors", 6) == 0)
            return RW_CB_ERRORS;
        break;
    case 8:
        if (memcmp(s, "taskUUID", 8) == 0)
            return RW_CB_TASK;
        break;
    case 9:
        if (memcmp(s, "imageUUID", 9) == 0)
            return RW_CB_IMAGE;
        break;
    }
    return 0;
}

/* A string field of an item (taskUUID, imageUUID) into out. */
static int rw_cb_uuid_field(struct rw_cb_reader *r, char *out)
{
    size_t n;

    if (*r->p != '"') {
        r->slow = true;
        return rw_cb_value(r);
    }
    if (rw_cb_string(r, out, RW_CBODY_STR_MAX, &n, NULL) < 0)
        return -1;
    if (n == SIZE_MAX)
        r->slow = true;
    return 0;
}

/* "errors" of the body: an empty array is read, anything else is left to rw_response_parse. */
static int rw_cb_errors(struct rw_cb_reader *r)
{
    const unsigned char *q = r->p + 1;

    if (*r->p != '[') {
        r->slow = true;
        return rw_cb_value(r);
    }
    while (q < r->end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    if (q < r->end && *q != ']')
        r->slow = true;
    return rw_cb_array(r, RW_CB_PLAIN);
}

/* The value of member `field` of an object at level (0: not one looked at). */
static int rw_cb_member(struct rw_cb_reader *r, unsigned field, struct rw_cbody_item *it)
{
    if (r->p == r->end)
        return rw_cb_invalid(r, "unexpected end of data");
    switch (field) {
    case RW_CB_TASK:
        if (rw_cb_uuid_field(r, it->task_uuid) < 0)
            return -1;
        it->has_task_uuid = true;
        return 0;
    case RW_CB_IMAGE:
        if (rw_cb_uuid_field(r, it->image_uuid) < 0)
            return -1;
        it->has_image_uuid = true;
        return 0;
    case RW_CB_COST:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return rw_cb_cost(r, &it->cost);
        return rw_cb_value(r);
    case RW_CB_DATA:
        if (*r->p != '[') {
            r->slow = true;
            return rw_cb_value(r);
        }
        return rw_cb_array(r, RW_CB_ITEM);
    case RW_CB_ERRORS:
        return rw_cb_errors(r);
    default:
        return rw_cb_value(r);
    }
}

/*
 * An object at r->p. At RW_CB_ITEM and RW_CB_ROOT the fields of it (an item) are read, and the
 * status member's span noted; at RW_CB_ROOT "data" and "errors" too (data's items go to r->out).
 * Returns the fields seen (>= 0), or -1.
 */
static int rw_cb_object(struct rw_cb_reader *r, enum rw_cb_level level, struct rw_cbody_item *it)
{
    const unsigned char *prev_end = NULL; /* just after the previous member's value */
    unsigned seen = 0;
    bool cut_to_next = false; /* status was the first member: its cut ends at the next one */

    if (rw_cb_enter(r) < 0)
        return -1;
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        r->depth--;
        return 0;
    }
    for (;;) {
        const unsigned char *key = r->p;
        unsigned field = 0;
        bool esc;

        if (r->p == r->end || *r->p != '"')
            return rw_cb_invalid(r,
                                 r->p == r->end ? "unterminated object" : "expected a member name");
        if (rw_cb_string(r, NULL, 0, NULL, &esc) < 0)
            return -1;
        if (level != RW_CB_PLAIN) {
            if (esc) {
                r->slow = true; /* a name that may spell one of ours */
            } else {
                field = rw_cb_field(key + 1, (size_t)(r->p - key - 2), level);
                if (field & seen) {
                    r->slow = true; /* repeated: json-c keeps the last */
                    field = 0;
                }
                seen |= field;
            }
        }
        rw_cb_space(r);
        if (r->p == r->end || *r->p != ':')
            return rw_cb_invalid(r, "expected ':'");
        r->p++;
        rw_cb_space(r);
        if (rw_cb_member(r, field, it) < 0)
            return -1;
        if (field == RW_CB_STATUS) {
            if (prev_end) {
                it->cut_off = (size_t)(prev_end - r->start);
                it->cut_len = (size_t)(r->p - prev_end);
            } else {
                it->cut_off = (size_t)(key - r->start);
                it->cut_len = (size_t)(r->p - key);
                cut_to_next = true;
            }
        }
        prev_end = r->p;
        rw_cb_space(r);
        if (r->p == r->end)
            return rw_cb_invalid(r, "unterminated object");
        if (*r->p == '}')
            break;
        if (*r->p != ',')
            return rw_cb_invalid(r, "expected ',' or '}'");
        r->p++;
        rw_cb_space(r);
        if (cut_to_next) {
            it->cut_len = (size_t)(r->p - r->start) - it->cut_off;
            cut_to_next = false;
        }
    }
    r->p++;
    r->depth--;
    return (int)seen;
}

static int rw_cb_value(struct rw_cb_reader *r)
{
    if (r->p == r->end)
        return rw_cb_invalid(r, "unexpected end of data");
    switch (*r->p) {
    case '{':
        return rw_cb_object(r, RW_CB_PLAIN, NULL) < 0 ? -1 : 0;
    case '[':
        return rw_cb_array(r, RW_CB_PLAIN);
    case '"':
        return rw_cb_string(r, NULL, 0, NULL, NULL);
    case 't':
        return rw_cb_literal(r, "true", 4);
    case 'f':
        return rw_cb_literal(r, "false", 5);
    case 'n':
        return rw_cb_literal(r, "null", 4);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return rw_cb_number(r);
    default:
        return rw_cb_invalid(r, "unexpected character");
    }
}

int rw_cbody_read(const char *buf, size_t len, struct rw_cbody *out, char *err, size_t errlen)
{
    struct rw_cb_reader r = {.start = (const unsigned char *)buf,
                             .p = (const unsigned char *)buf,
                             .end = (const unsigned char *)buf + len,
                             .out = out};
    struct rw_cbody_item root = {0};
    const unsigned char *top;
    int seen = 0;

    out->nitems = 0;
    rw_cb_space(&r);
    top = r.p;
    if (r.p < r.end && *r.p == '{') {
        if ((seen = rw_cb_object(&r, RW_CB_ROOT, &root)) < 0)
            goto invalid;
    } else {
        r.slow = true; /* not an object: rw_response_parse says what it is */
        if (rw_cb_value(&r) < 0)
            goto invalid;
    }
    root.off = (size_t)(top - r.start);
    root.len = (size_t)(r.p - top);
    root.spaced = r.spaces != (size_t)(top - r.start);
    rw_cb_space(&r);
    if (r.p != r.end) {
        rw_cb_invalid(&r, "unexpected data after the value");
        goto invalid;
    }
    if (r.slow || (!(seen & (RW_CB_DATA | RW_CB_ERRORS)) && !root.has_task_uuid)) {
        out->nitems = 0; /* the last: no shape of ours, rw_response_parse says so */
        return RW_CBODY_SLOW;
    }
    if (!(seen & (RW_CB_DATA | RW_CB_ERRORS))) {
        out->items[0] = root;
        out->nitems = 1;
    }
    return RW_CBODY_OK; /* "data"'s items, none, or the bare item */
invalid:
    out->nitems = 0;
    snprintf(err, errlen, "not JSON: %s at byte %zu", r.why, (size_t)(r.p - r.start));
    return RW_CBODY_INVALID;
}

size_t rw_cbody_item_copy(const char *body, const struct rw_cbody_item *it, char *dst)
{
    const char *s = body + it->off, *end = s + it->len;
    const char *cut = body + it->cut_off, *cut_end = cut + it->cut_len;
    char *d = dst;
    bool in_string = false;

    if (!it->spaced) {
        if (it->cut_len == 0) {
            memcpy(d, s, it->len);
            return it->len;
        }
        memcpy(d, s, (size_t)(cut - s));
        d += cut - s;
        memcpy(d, cut_end, (size_t)(end - cut_end));
        return (size_t)(d - dst) + (size_t)(end - cut_end);
    }
    while (s < end) {
        char c = *s;

        if (s == cut && it->cut_len) {
            s = cut_end;
            continue;
        }
        s++;
        if (in_string) {
            *d++ = c;
            if (c == '\\')
                *d++ = *s++; /* the escaped character, a quote perhaps */
            else if (c == '"')
                in_string = false;
        } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            *d++ = c;
            in_string = c == '"';
        }
    }
    return (size_t)(d - dst);
}
