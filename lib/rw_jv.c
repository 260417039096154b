/* JSON text or json-c's tree -> a compact tree in one arena; see rw_jv.h. */
#include "rw_jv.h"
#include "rw_swar.h"
#include "rw_utf8.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RW_JV_BLOCK 16384 /* the arena's first block: a typical job fits */

struct rw_jblock {
    struct rw_jblock *next;
    size_t cap;
    max_align_t data[];
};

/* A value being read: its member name (objects only) and the value. */
struct rw_jslot {
    const char *key;
    uint32_t klen, hash;
    struct rw_jv v;
};

/* An array or object open at some depth. */
struct rw_jframe {
    size_t base; /* its first entry in the value stack */
    uint32_t at;
    bool object;
};

struct rw_jdoc {
    struct rw_jblock *blocks; /* the newest first; the last one is kept across documents */
    size_t used;              /* bytes used in blocks */
    struct rw_jslot *stack;   /* values of the containers open, the innermost last */
    size_t nstack, capstack;
    uint32_t *seen; /* a hash set of member indexes, for repeated keys in large objects */
    size_t capseen;
};

struct rw_jdoc *rw_jdoc_new(void)
{
    return calloc(1, sizeof(struct rw_jdoc));
}

/* Frees every block but the first one allocated (the list's last), which is reused. */
static void rw_jdoc_reset(struct rw_jdoc *doc)
{
    while (doc->blocks && doc->blocks->next) {
        struct rw_jblock *b = doc->blocks;

        doc->blocks = b->next;
        free(b);
    }
    doc->used = 0;
    doc->nstack = 0;
}

void rw_jdoc_free(struct rw_jdoc *doc)
{
    if (!doc)
        return;
    rw_jdoc_reset(doc);
    free(doc->blocks);
    free(doc->stack);
    free(doc->seen);
    free(doc);
}

static void *rw_jalloc(struct rw_jdoc *doc, size_t n)
{
    struct rw_jblock *b = doc->blocks;
    size_t align = sizeof(max_align_t);

    n = (n + align - 1) / align * align;
    if (!b || b->cap - doc->used < n) {
        size_t cap = b ? 2 * b->cap : RW_JV_BLOCK;

        if (cap < n)
            cap = n;
        if (!(b = malloc(sizeof(*b) + cap)))
            return NULL;
        b->cap = cap;
        b->next = doc->blocks;
        doc->blocks = b;
        doc->used = 0;
    }
    doc->used += n;
    return (char *)b->data + doc->used - n;
}

/* Where reading stands. */
struct rw_jreader {
    const unsigned char *start, *p, *end;
    struct rw_jdoc *doc;
    int nomem;
};

/* The next free slot of the value stack, NULL on ENOMEM. */
static struct rw_jslot *rw_jpush(struct rw_jreader *r)
{
    struct rw_jdoc *doc = r->doc;

    if (doc->nstack == doc->capstack) {
        size_t cap = doc->capstack ? 2 * doc->capstack : 256;
        struct rw_jslot *s = realloc(doc->stack, cap * sizeof(*s));

        if (!s) {
            r->nomem = 1;
            return NULL;
        }
        doc->stack = s;
        doc->capstack = cap;
    }
    return &doc->stack[doc->nstack++];
}

static void rw_jspace(struct rw_jreader *r)
{
    const unsigned char *p = r->p;

    while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->p = p;
}

/* Bytes that stand for themselves in a string: printable ASCII but '"' and '\\'; bytes from
 * 0x80 are checked as UTF-8 apart. */
static const unsigned char rw_jplain[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7f] = 1,
};

/* The code point of the escape at s ("\\u..." or a pair), *adv its bytes; -1 when it is not
 * one this reader takes (bad hex, U+0000, an unpaired surrogate). */
static long rw_jescape_u(const unsigned char *s, const unsigned char *end, size_t *adv)
{
    long cp, lo;

    if (end - s < 6 || (cp = rw_hex4(s + 2)) <= 0)
        return -1;
    *adv = 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    if (cp < 0xd800 || cp > 0xdbff)
        return cp;
    if (end - s < 12 || s[6] != '\\' || s[7] != 'u' || (lo = rw_hex4(s + 8)) < 0xdc00 ||
        lo > 0xdfff)
        return -1;
    *adv = 12;
    return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
}

/* The unescaped bytes of the string s..e (its escapes already checked) into the arena. */
static const char *rw_junescape(struct rw_jreader *r, const unsigned char *s,
                                const unsigned char *e, uint32_t *len)
{
    unsigned char *out = rw_jalloc(r->doc, (size_t)(e - s)), *o = out;
    size_t adv;

    if (!out) {
        r->nomem = 1;
        return NULL;
    }
    while (s < e) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        if (s[1] == 'u') {
            o += rw_utf8_put((uint32_t)rw_jescape_u(s, e, &adv), o);
            s += adv;
            continue;
        }
        *o++ = (unsigned char)rw_json_escape(s[1]); /* checked when the string was read */
        s += 2;
    }
    *len = (uint32_t)(o - out);
    return (const char *)out;
}

/* r->p at a string's opening quote: its bytes (unescaped) in *s, *len; r->p after it. -1 when
 * it is not a string this reader takes. Plain stretches go eight bytes at a time. */
static int rw_jstring(struct rw_jreader *r, const char **s, uint32_t *len)
{
    const unsigned char *p = r->p + 1, *start = p, *end = r->end;
    bool escaped = false;
    size_t adv, n;
    uint64_t w;

    for (;;) {
        while (end - p >= 8) {
            w = rw_swar_load(p);
            if (rw_swar_json_special(w) | (w & RW_SWAR_HIGHS))
                break;
            p += 8;
        }
        if (p >= end)
            return -1;
        if (rw_jplain[*p]) {
            p++;
        } else if (*p == '"') {
            break;
        } else if (*p == '\\') {
            if (end - p < 2)
                return -1;
            escaped = true;
            if (p[1] == 'u') {
                if (rw_jescape_u(p, end, &adv) < 0)
                    return -1;
                p += adv;
            } else if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
                p += 2;
            } else {
                return -1;
            }
        } else if (*p >= 0x80 && (n = rw_utf8_seq(p, (size_t)(end - p))) > 0) {
            p += n;
        } else {
            return -1; /* a control character or bad UTF-8 */
        }
    }
    r->p = p + 1;
    if (!escaped) {
        *s = (const char *)start;
        *len = (uint32_t)(p - start);
        return 0;
    }
    return (*s = rw_junescape(r, start, p, len)) ? 0 : -1;
}

/* r->p at a number's first byte: the number in *v as json-c would hold it. -1 when it is not
 * a JSON number. */
static int rw_jnumber(struct rw_jreader *r, struct rw_jv *v)
{
    const unsigned char *p = r->p, *start = p, *end = r->end;
    bool neg = false, is_int = true;
    uint64_t mag = 0;
    bool over = false;

    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = *p - '0';

            if (mag > (UINT64_MAX - d) / 10)
                over = true;
            else
                mag = mag * 10 + d;
        }
    } else {
        return -1;
    }
    if (p < end && *p == '.') {
        is_int = false;
        if (++p >= end || *p < '0' || *p > '9')
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    r->p = p;
    if (!is_int) {
        if (p - start >= RW_JV_DOUBLE_MAX)
            return -1; /* json-c reads it (rw_jv_double needs no allocation) */
        v->type = RW_JV_DOUBLE;
        v->s = (const char *)start;
        v->n = (uint32_t)(p - start);
        return 0;
    }
    /* json-c saturates: below INT64_MIN reads as INT64_MIN, above UINT64_MAX as UINT64_MAX */
    v->type = RW_JV_INT;
    if (neg) {
        v->i = over || mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag;
    } else if (over || mag > (uint64_t)INT64_MAX) {
        v->f |= RW_JV_U64;
        v->u = over ? UINT64_MAX : mag;
    } else {
        v->i = (int64_t)mag;
    }
    return 0;
}

static int rw_jliteral(struct rw_jreader *r, const char *lit, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

/* r->p at a value that is not an array or object. */
static int rw_jscalar(struct rw_jreader *r, struct rw_jv *v)
{
    switch (*r->p) {
    case '"':
        v->type = RW_JV_STRING;
        return rw_jstring(r, &v->s, &v->n);
    case 't':
        v->type = RW_JV_BOOL;
        v->f = RW_JV_TRUE;
        return rw_jliteral(r, "true", 4);
    case 'f':
        v->type = RW_JV_BOOL;
        return rw_jliteral(r, "false", 5);
    case 'n':
        v->type = RW_JV_NULL;
        return rw_jliteral(r, "null", 4);
    default:
        return rw_jnumber(r, v);
    }
}

/* Is a member name repeated among the n members at m? Pairs are compared for small objects; a
 * hash set takes larger ones (so that no object costs more than linear time). -1 on ENOMEM. */
static int rw_jrepeated(struct rw_jdoc *doc, const struct rw_jslot *m, size_t n)
{
    size_t cap, mask;

    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[i].hash == m[j].hash && m[i].klen == m[j].klen &&
                    memcmp(m[i].key, m[j].key, m[i].klen) == 0)
                    return 1;
        return 0;
    }
    for (cap = 64; cap < 2 * n; cap *= 2)
        ;
    if (cap > doc->capseen) {
        uint32_t *s = realloc(doc->seen, cap * sizeof(*s));

        if (!s)
            return -1;
        doc->seen = s;
        doc->capseen = cap;
    }
    memset(doc->seen, 0, cap * sizeof(*doc->seen));
    mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t slot = m[i].hash & mask;

        for (; doc->seen[slot]; slot = (slot + 1) & mask) {
            const struct rw_jslot *o = &m[doc->seen[slot] - 1];

            if (o->hash == m[i].hash && o->klen == m[i].klen &&
                memcmp(o->key, m[i].key, o->klen) == 0)
                return 1;
        }
        doc->seen[slot] = (uint32_t)(i + 1);
    }
    return 0;
}

/* Closes the innermost container (its entries from f->base up the stack) into v. */
static int rw_jclose(struct rw_jreader *r, const struct rw_jframe *f, struct rw_jv *v)
{
    struct rw_jdoc *doc = r->doc;
    size_t n = doc->nstack - f->base;
    const struct rw_jslot *e = n ? doc->stack + f->base : NULL;
    int rep;

    v->f = RW_JV_SPAN;
    v->n = (uint32_t)n;
    v->at = f->at;
    v->end = (uint32_t)(r->p - r->start);
    if (f->object) {
        struct rw_jmember *m = n ? rw_jalloc(doc, n * sizeof(*m)) : NULL;

        if (n && !m)
            goto nomem;
        if ((rep = rw_jrepeated(doc, e, n)) != 0) {
            if (rep < 0)
                goto nomem;
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            m[k] = (struct rw_jmember){e[k].key, e[k].klen, e[k].hash, e[k].v};
        v->type = RW_JV_OBJECT;
        v->m = m;
    } else {
        struct rw_jv *items = n ? rw_jalloc(doc, n * sizeof(*items)) : NULL;

        if (n && !items)
            goto nomem;
        for (size_t k = 0; k < n; k++)
            items[k] = e[k].v;
        v->type = RW_JV_ARRAY;
        v->items = items;
    }
    doc->nstack = f->base;
    return 0;
nomem:
    r->nomem = 1;
    return -1;
}

/* r->p at a member's name: pushes its slot, r->p after the ':'. */
static struct rw_jslot *rw_jmember_start(struct rw_jreader *r)
{
    const char *key;
    uint32_t klen;
    struct rw_jslot *s;

    if (r->p >= r->end || *r->p != '"' || rw_jstring(r, &key, &klen) < 0)
        return NULL;
    rw_jspace(r);
    if (r->p >= r->end || *r->p != ':')
        return NULL;
    r->p++;
    if (!(s = rw_jpush(r)))
        return NULL;
    s->key = key;
    s->klen = klen;
    s->hash = rw_jv_hash(key, klen);
    return s;
}

int rw_jv_read(struct rw_jdoc *doc, const char *buf, size_t len, const struct rw_jv **root)
{
    struct rw_jreader r = {(const unsigned char *)buf, (const unsigned char *)buf,
                           (const unsigned char *)buf + len, doc, 0};
    struct rw_jframe frames[RW_JV_MAX_DEPTH];
    struct rw_jv *top, *v; /* v: where the next value goes, the root or the stack's last slot */
    struct rw_jslot *s;
    int depth = 0;

    *root = NULL;
    if (len > INT_MAX)
        return RW_JV_REFUSED;
    rw_jdoc_reset(doc);
    if (!(top = rw_jalloc(doc, sizeof(*top))))
        return RW_JV_NOMEM;
    v = top;
    for (;;) {
        rw_jspace(&r);
        if (r.p >= r.end || depth == RW_JV_MAX_DEPTH)
            goto refused;
        if (*r.p == '{' || *r.p == '[') {
            struct rw_jframe *f = &frames[depth++];

            f->base = doc->nstack;
            f->at = (uint32_t)(r.p - r.start);
            f->object = *r.p++ == '{';
            rw_jspace(&r);
            if (r.p < r.end && *r.p == (f->object ? '}' : ']'))
                goto close;
            if (!(s = f->object ? rw_jmember_start(&r) : rw_jpush(&r)))
                goto refused;
            v = &s->v;
            continue;
        }
        memset(v, 0, sizeof(*v));
        v->at = (uint32_t)(r.p - r.start);
        if (rw_jscalar(&r, v) < 0)
            goto refused;
        v->f |= RW_JV_SPAN;
        v->end = (uint32_t)(r.p - r.start);
        /* after a value: the next one in its container, or the container's end */
        for (;;) {
            if (depth == 0)
                goto done;
            rw_jspace(&r);
            if (r.p >= r.end)
                goto refused;
            if (*r.p == ',') {
                r.p++;
                rw_jspace(&r);
                if (!(s = frames[depth - 1].object ? rw_jmember_start(&r) : rw_jpush(&r)))
                    goto refused;
                v = &s->v;
                break;
            }
            if (*r.p != (frames[depth - 1].object ? '}' : ']'))
                goto refused;
        close:
            r.p++;
            depth--;
            /* the container's own slot: the entry below its first, or the root */
            v = depth ? &doc->stack[frames[depth].base - 1].v : top;
            if (rw_jclose(&r, &frames[depth], v) < 0)
                goto refused;
        }
    }
done:
    rw_jspace(&r);
    if (r.p != r.end)
        goto refused;
    *root = top;
    return RW_JV_OK;
refused:
    return r.nomem ? RW_JV_NOMEM : RW_JV_REFUSED;
}

static int rw_jconvert(struct rw_jdoc *doc, json_object *o, struct rw_jv *v)
{
    memset(v, 0, sizeof(*v));
    switch (json_object_get_type(o)) {
    case json_type_null:
        v->type = RW_JV_NULL;
        return 0;
    case json_type_boolean:
        v->type = RW_JV_BOOL;
        v->f = json_object_get_boolean(o) ? RW_JV_TRUE : 0;
        return 0;
    case json_type_int:
        v->type = RW_JV_INT;
        v->i = json_object_get_int64(o);
        if (v->i == INT64_MAX && json_object_get_uint64(o) > (uint64_t)INT64_MAX) {
            v->f = RW_JV_U64;
            v->u = json_object_get_uint64(o);
        }
        return 0;
    case json_type_double:
        v->type = RW_JV_DOUBLE;
        v->f = RW_JV_D;
        v->d = json_object_get_double(o);
        if (!(v->s = json_object_get_string(o)))
            return -1;
        v->n = (uint32_t)strlen(v->s);
        return 0;
    case json_type_string:
        v->type = RW_JV_STRING;
        v->s = json_object_get_string(o);
        v->n = (uint32_t)json_object_get_string_len(o);
        return 0;
    case json_type_array: {
        size_t n = json_object_array_length(o);
        struct rw_jv *items = n ? rw_jalloc(doc, n * sizeof(*items)) : NULL;

        if (n && !items)
            return -1;
        v->type = RW_JV_ARRAY;
        v->n = (uint32_t)n;
        v->items = items;
        for (size_t k = 0; k < n; k++)
            if (rw_jconvert(doc, json_object_array_get_idx(o, k), &items[k]) < 0)
                return -1;
        return 0;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(o), k = 0;
        struct rw_jmember *m = n ? rw_jalloc(doc, n * sizeof(*m)) : NULL;

        if (n && !m)
            return -1;
        v->type = RW_JV_OBJECT;
        v->n = (uint32_t)n;
        v->m = m;
        json_object_object_foreach(o, key, val)
        {
            m[k].key = key;
            m[k].klen = (uint32_t)strlen(key);
            m[k].hash = rw_jv_hash(key, m[k].klen);
            if (rw_jconvert(doc, val, &m[k++].v) < 0)
                return -1;
        }
        return 0;
    }
    }
    return -1;
}

int rw_jv_from_json(struct rw_jdoc *doc, json_object *obj, const struct rw_jv **root)
{
    struct rw_jv *top;

    *root = NULL;
    rw_jdoc_reset(doc);
    if (!(top = rw_jalloc(doc, sizeof(*top))) || rw_jconvert(doc, obj, top) < 0)
        return RW_JV_NOMEM;
    *root = top;
    return RW_JV_OK;
}

const struct rw_jv *rw_jv_append(struct rw_jdoc *doc, const struct rw_jv *obj,
                                 const struct rw_jmember *add, size_t n)
{
    struct rw_jv *v = rw_jalloc(doc, sizeof(*v));
    struct rw_jmember *m = rw_jalloc(doc, (obj->n + n) * sizeof(*m));

    if (!v || !m)
        return NULL;
    if (obj->n)
        memcpy(m, obj->m, obj->n * sizeof(*m));
    if (n)
        memcpy(m + obj->n, add, n * sizeof(*m));
    *v = *obj;
    v->n = (uint32_t)(obj->n + n);
    v->m = m;
    return v;
}

json_object *rw_jv_to_json(const struct rw_jv *v)
{
    json_object *o = NULL, *c;

    switch ((enum rw_jv_type)v->type) {
    case RW_JV_NULL:
        return NULL;
    case RW_JV_BOOL:
        return json_object_new_boolean(v->f & RW_JV_TRUE);
    case RW_JV_INT:
        return v->f & RW_JV_U64 ? json_object_new_uint64(v->u) : json_object_new_int64(v->i);
    case RW_JV_DOUBLE: {
        char text[RW_JV_DOUBLE_MAX];
        size_t n = v->n < sizeof(text) ? v->n : sizeof(text) - 1; /* (json-c's own texts) */

        memcpy(text, v->s, n);
        text[n] = '\0';
        return json_object_new_double_s(rw_jv_double(v), text);
    }
    case RW_JV_STRING:
        return json_object_new_string_len(v->s, (int)v->n);
    case RW_JV_ARRAY:
        if (!(o = json_object_new_array_ext((int)v->n)))
            return NULL;
        for (uint32_t k = 0; k < v->n; k++) {
            c = rw_jv_to_json(&v->items[k]);
            if ((!c && v->items[k].type != RW_JV_NULL) || json_object_array_add(o, c) != 0)
                goto fail;
        }
        return o;
    case RW_JV_OBJECT:
        if (!(o = json_object_new_object()))
            return NULL;
        for (uint32_t k = 0; k < v->n; k++) {
            const struct rw_jmember *m = &v->m[k];
            char *key = malloc(m->klen + 1);
            int rc;

            c = rw_jv_to_json(&m->v);
            if (!key || (!c && m->v.type != RW_JV_NULL)) {
                free(key);
                goto fail;
            }
            memcpy(key, m->key, m->klen);
            key[m->klen] = '\0';
            rc = json_object_object_add(o, key, c);
            free(key);
            if (rc != 0)
                goto fail;
        }
        return o;
    }
    return NULL;
fail:
    json_object_put(c);
    json_object_put(o);
    return NULL;
}

const struct rw_jv *rw_jv_get(const struct rw_jv *obj, const char *key)
{
    size_t klen;
    uint32_t h;

    if (!obj || obj->type != RW_JV_OBJECT)
        return NULL;
    klen = strlen(key);
    h = rw_jv_hash(key, klen);
    for (uint32_t k = 0; k < obj->n; k++)
        if (obj->m[k].hash == h && obj->m[k].klen == klen && memcmp(obj->m[k].key, key, klen) == 0)
            return &obj->m[k].v;
    return NULL;
}

bool rw_jv_str_is(const struct rw_jv *v, const char *want)
{
    size_t n = strlen(want);

    return v->type == RW_JV_STRING && strnlen(v->s, v->n) == n && memcmp(v->s, want, n) == 0;
}

double rw_jv_double(const struct rw_jv *v)
{
    char text[RW_JV_DOUBLE_MAX];
    size_t n = v->n < sizeof(text) ? v->n : sizeof(text) - 1; /* (read by rw_jv: shorter) */

    if (v->type == RW_JV_INT)
        return v->f & RW_JV_U64 ? (double)v->u : (double)v->i;
    if (v->f & RW_JV_D)
        return v->d;
    /* not NUL-terminated where it lies */
    memcpy(text, v->s, n);
    text[n] = '\0';
    return strtod(text, NULL);
}

const char *rw_jv_num_text(const struct rw_jv *v, char *buf, size_t *len)
{
    if (v->type == RW_JV_DOUBLE) {
        *len = v->n;
        return v->s;
    }
    if (v->f & RW_JV_U64)
        *len = (size_t)snprintf(buf, 24, "%" PRIu64, v->u);
    else
        *len = (size_t)snprintf(buf, 24, "%" PRId64, v->i);
    return buf;
}

bool rw_jv_equal(const struct rw_jv *a, const struct rw_jv *b)
{
    const struct rw_jv *bv;

    if (a->type != b->type)
        return false;
    switch ((enum rw_jv_type)a->type) {
    case RW_JV_NULL:
        return true;
    case RW_JV_BOOL:
        return (a->f & RW_JV_TRUE) == (b->f & RW_JV_TRUE);
    case RW_JV_INT:
        return (a->f & RW_JV_U64) == (b->f & RW_JV_U64) && a->i == b->i;
    case RW_JV_DOUBLE:
        return rw_jv_double(a) == rw_jv_double(b);
    case RW_JV_STRING:
        return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    case RW_JV_ARRAY:
        if (a->n != b->n)
            return false;
        for (uint32_t k = 0; k < a->n; k++)
            if (!rw_jv_equal(&a->items[k], &b->items[k]))
                return false;
        return true;
    case RW_JV_OBJECT:
        if (a->n != b->n)
            return false;
        for (uint32_t k = 0; k < a->n; k++) {
            const struct rw_jmember *m = &a->m[k];

            bv = NULL;
            for (uint32_t j = 0; j < b->n && !bv; j++)
                if (b->m[j].hash == m->hash && b->m[j].klen == m->klen &&
                    memcmp(b->m[j].key, m->key, m->klen) == 0)
                    bv = &b->m[j].v;
            if (!bv || !rw_jv_equal(&m->v, bv))
                return false;
        }
        return true;
    }
    return false;
}

bool rw_jv_equal_json(const struct rw_jv *a, json_object *b)
{
    json_object *bv;

    switch ((enum rw_jv_type)a->type) {
    case RW_JV_NULL:
        return b == NULL;
    case RW_JV_BOOL:
        return json_object_is_type(b, json_type_boolean) &&
               json_object_get_boolean(b) == ((a->f & RW_JV_TRUE) != 0);
    case RW_JV_INT:
        if (!json_object_is_type(b, json_type_int))
            return false;
        if (a->f & RW_JV_U64)
            return json_object_get_int64(b) == INT64_MAX && json_object_get_uint64(b) == a->u;
        return json_object_get_int64(b) == a->i &&
               !(a->i == INT64_MAX && json_object_get_uint64(b) > (uint64_t)INT64_MAX);
    case RW_JV_DOUBLE:
        return json_object_is_type(b, json_type_double) &&
               rw_jv_double(a) == json_object_get_double(b);
    case RW_JV_STRING:
        return json_object_is_type(b, json_type_string) &&
               (size_t)json_object_get_string_len(b) == a->n &&
               memcmp(json_object_get_string(b), a->s, a->n) == 0;
    case RW_JV_ARRAY:
        if (!json_object_is_type(b, json_type_array) || json_object_array_length(b) != a->n)
            return false;
        for (uint32_t k = 0; k < a->n; k++)
            if (!rw_jv_equal_json(&a->items[k], json_object_array_get_idx(b, k)))
                return false;
        return true;
    case RW_JV_OBJECT:
        if (!json_object_is_type(b, json_type_object) ||
            (size_t)json_object_object_length(b) != a->n)
            return false;
        for (uint32_t k = 0; k < a->n; k++) {
            const struct rw_jmember *m = &a->m[k];
            bool found = false;

            json_object_object_foreach(b, key, val)
            {
                if (strlen(key) == m->klen && memcmp(key, m->key, m->klen) == 0) {
                    found = true;
                    bv = val;
                    break;
                }
            }
            if (!found || !rw_jv_equal_json(&m->v, bv))
                return false;
        }
        return true;
    }
    return false;
}

const char *rw_jv_kind(const struct rw_jv *v)
{
    switch ((enum rw_jv_type)v->type) {
    case RW_JV_NULL:
        return "null";
    case RW_JV_BOOL:
        return "boolean";
    case RW_JV_INT:
    case RW_JV_DOUBLE:
        return "number";
    case RW_JV_OBJECT:
        return "object";
    case RW_JV_ARRAY:
        return "array";
    case RW_JV_STRING:
        return "string";
    }
    return "unknown";
}
