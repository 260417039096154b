/* Task validation, validating half: runs a compiled schema over one task, then the prose rules,
 * collecting one Runware-style error per violation. */
#include "rw_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rw_errors.h"
#include "rw_jv.h"
#include "rw_rules.h"
#include "rw_schema_format.h"
#include "rw_schema_internal.h"

#define VALIDATE_DEPTH 128 /* schema applications nested while validating ($ref loops) */

/* One step of a parameter path: a member name (borrowed, klen bytes) or, key NULL, an array
 * index. */
struct pseg {
    const char *key;
    size_t klen, index;
};

struct vctx {
    json_object *errors; /* NULL: quiet, stop at the first violation and report nothing */
    int count, max;
    int full; /* the cap is reached or memory ran out: stop */
    int oom;
    struct pseg *segs; /* parameter path of the value being validated (kept when reporting) */
    int nseg;
    char *path; /* segs rendered, when path_ok */
    int path_ok;
    int depth;
    const char *cond; /* "when ..." appended to messages under then/else */
};

#define STOP(c, bad) ((c)->full || (!(c)->errors && (bad)))

/* Reports only when reporting: the arguments (formatted values) are not even computed in
 * quiet mode. */
#define FAIL(c, ...) ((c)->errors ? fail((c), __VA_ARGS__) : 1)

/* The optional "min", "max" and "allowed" members of an error. */
struct xtra {
    const struct sc_num *nmin, *nmax;
    int has_imin, has_imax;
    int64_t imin, imax;
    const struct sc_enum *allowed;
};

/* A number of the task, as exact as its JSON text. */
struct inum {
    int is_i64; /* i holds the exact value */
    int64_t i;
    int have_d; /* d holds it (always when not is_i64) */
    struct rw_dec d;
};

static int is_ident(const char *k, size_t n)
{
    if (!n || (*k >= '0' && *k <= '9'))
        return 0;
    for (const char *e = k + n; k < e; k++)
        if (!((*k | 0x20) >= 'a' && (*k | 0x20) <= 'z') && !(*k >= '0' && *k <= '9') && *k != '_' &&
            *k != '$')
            return 0;
    return 1;
}

/* The parameter path ("controlNet[0].guideImage"), rendered only when an error needs it;
 * NULL at the top. */
static const char *path_of(struct vctx *c)
{
    size_t pos = 0;

    if (!c->nseg)
        return NULL;
    if (c->path_ok)
        return c->path;
    c->path[0] = '\0';
    for (int i = 0; i < c->nseg && i < VALIDATE_DEPTH; i++) {
        const char *key = c->segs[i].key;
        int klen = (int)c->segs[i].klen;
        if (!key)
            rw_schema_bprintf(c->path, PATH_LEN, &pos, "[%zu]", c->segs[i].index);
        else if (is_ident(key, (size_t)klen))
            rw_schema_bprintf(c->path, PATH_LEN, &pos, "%s%.*s", i ? "." : "", klen, key);
        else {
            rw_schema_bprintf(c->path, PATH_LEN, &pos, "[\"");
            rw_schema_put_escaped(c->path, PATH_LEN, &pos, key, (size_t)klen, 64);
            rw_schema_bprintf(c->path, PATH_LEN, &pos, "\"]");
        }
    }
    c->path_ok = 1;
    return c->path;
}

static const char *subj(struct vctx *c)
{
    const char *p = path_of(c);

    return p ? p : "the task";
}

/* Path steps cost a store, not a format: paths are rendered only for errors. Returns the depth
 * to pop back to. */
static int push_key(struct vctx *c, const char *key, size_t klen)
{
    int old = c->nseg;

    if (c->errors) {
        if (c->nseg < VALIDATE_DEPTH)
            c->segs[c->nseg] = (struct pseg){key, klen, 0};
        c->nseg++;
        c->path_ok = 0;
    }
    return old;
}

static int push_index(struct vctx *c, size_t i)
{
    int old = c->nseg;

    if (c->errors) {
        if (c->nseg < VALIDATE_DEPTH)
            c->segs[c->nseg] = (struct pseg){NULL, 0, i};
        c->nseg++;
        c->path_ok = 0;
    }
    return old;
}

static void pop(struct vctx *c, int old)
{
    if (c->errors && c->nseg != old) {
        c->nseg = old;
        c->path_ok = 0;
    }
}

/* Adds key -> v (taken) to e; v NULL means allocation failed. */
static int add_member(json_object *e, const char *key, json_object *v)
{
    if (!v)
        return -1;
    if (json_object_object_add(e, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static json_object *num_json(const struct sc_num *num)
{
    if (num->is_i64)
        return json_object_new_int64(num->i64);
    return json_object_new_double_s(strtod(num->text, NULL), num->text);
}

static json_object *val_json(const struct sc_val *v)
{
    json_object *copy = NULL;

    switch (v->type) {
    case json_type_string:
        return json_object_new_string_len(v->s, (int)v->slen);
    case json_type_int:
    case json_type_double:
        return num_json(v->num);
    case json_type_boolean:
        return json_object_new_boolean(v->b);
    case json_type_object:
    case json_type_array:
        return json_object_deep_copy(v->j, &copy, NULL) == 0 ? copy : NULL;
    default:
        return NULL;
    }
}

static int add_allowed(json_object *e, const struct sc_enum *en)
{
    json_object *arr = json_object_new_array_ext((int)en->n);

    if (!arr)
        return -1;
    for (size_t k = 0; k < en->n; k++) {
        json_object *v = val_json(&en->v[k]);
        if (!v && en->v[k].type != json_type_null)
            goto fail;
        if (json_object_array_add(arr, v) != 0) {
            json_object_put(v);
            goto fail;
        }
    }
    return add_member(e, "allowed", arr);
fail:
    json_object_put(arr);
    return -1;
}

__attribute__((format(printf, 4, 5))) static int fail(struct vctx *c, const char *code,
                                                      const struct xtra *x, const char *fmt, ...)
{
    char msg[MSG_LEN];
    size_t pos;
    json_object *e;
    va_list ap;

    if (!c->errors || c->full)
        return 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pos = strlen(msg);
    if (c->cond)
        rw_schema_bprintf(msg, sizeof(msg), &pos, " %s", c->cond);
    if (!(e = rw_errors_add(c->errors, code, path_of(c), "%s", msg)))
        goto oom;
    if (++c->count >= c->max)
        c->full = 1;
    if (!x)
        return 1;
    if ((x->nmin && add_member(e, "min", num_json(x->nmin)) < 0) ||
        (x->has_imin && add_member(e, "min", json_object_new_int64(x->imin)) < 0) ||
        (x->nmax && add_member(e, "max", num_json(x->nmax)) < 0) ||
        (x->has_imax && add_member(e, "max", json_object_new_int64(x->imax)) < 0) ||
        (x->allowed && add_allowed(e, x->allowed) < 0))
        goto oom;
    return 1;
oom:
    c->oom = c->full = 1;
    return 1;
}

/* The value for a message: a string quoted (and cut), a number as written, or its kind. */
static const char *show(const struct rw_jv *v, char *buf, size_t len)
{
    size_t pos = 0, tlen;
    char num[24];
    const char *t;

    buf[0] = '\0';
    switch ((enum rw_jv_type)v->type) {
    case RW_JV_STRING:
        rw_schema_bprintf(buf, len, &pos, "\"");
        rw_schema_put_escaped(buf, len, &pos, v->s, v->n, SHOW_BYTES);
        rw_schema_bprintf(buf, len, &pos, "\"");
        break;
    case RW_JV_INT:
    case RW_JV_DOUBLE:
        t = rw_jv_num_text(v, num, &tlen);
        rw_schema_put_escaped(buf, len, &pos, t, tlen, SHOW_BYTES);
        break;
    case RW_JV_BOOL:
        rw_schema_bprintf(buf, len, &pos, "%s", (v->f & RW_JV_TRUE) ? "true" : "false");
        break;
    case RW_JV_NULL:
        rw_schema_bprintf(buf, len, &pos, "null");
        break;
    case RW_JV_OBJECT:
        rw_schema_bprintf(buf, len, &pos, "(an object)");
        break;
    case RW_JV_ARRAY:
        rw_schema_bprintf(buf, len, &pos, "(an array)");
        break;
    }
    return buf;
}

static const char *kind_phrase(const struct rw_jv *v)
{
    switch ((enum rw_jv_type)v->type) {
    case RW_JV_STRING:
        return "a string";
    case RW_JV_BOOL:
        return "a boolean";
    case RW_JV_OBJECT:
        return "an object";
    case RW_JV_ARRAY:
        return "an array";
    case RW_JV_NULL:
        return "null";
    default:
        return "a number";
    }
}

/* 0 with x set; 1 when the number is outside what json-c holds exactly (an integer it
 * saturated), 2 when it is not finite; -1 on ENOMEM. */
static int inum_get(const struct rw_jv *v, struct inum *x)
{
    char num[24];
    const char *text;
    size_t len;
    int r;

    x->is_i64 = x->have_d = 0;
    if (v->type == RW_JV_INT) {
        if (v->f & RW_JV_U64) {
            if (v->u == UINT64_MAX)
                return 1;
            text = rw_jv_num_text(v, num, &len);
            if ((r = rw_dec_parse(&x->d, text, len)) < 0)
                return r == -2 ? -1 : 1;
            x->have_d = 1;
            return 0;
        }
        if (v->i == INT64_MIN)
            return 1;
        x->is_i64 = 1;
        x->i = v->i;
        return 0;
    }
    /* json-c's value, when converted from its tree; else the text decides (below) */
    if ((v->f & RW_JV_D) && !isfinite(v->d))
        return 2;
    /* The text that will be submitted: the producer's own for a parsed number. */
    if ((r = rw_dec_parse(&x->d, v->s, v->n)) < 0)
        return r == -2 ? -1 : 2;
    /* below 10^308 a double is finite; above, ask strtod as json-c did */
    if (!(v->f & RW_JV_D) && (int64_t)x->d.ndig + x->d.exp > 308 && !isfinite(rw_jv_double(v))) {
        rw_dec_free(&x->d);
        return 2;
    }
    x->have_d = 1;
    x->is_i64 = rw_dec_to_i64(&x->d, &x->i);
    return 0;
}

static const struct rw_dec *inum_dec(struct inum *x)
{
    if (!x->have_d) {
        rw_dec_from_i64(&x->d, x->i);
        x->have_d = 1;
    }
    return &x->d;
}

static int inum_cmp(struct inum *x, const struct sc_num *b)
{
    if (x->is_i64 && b->is_i64)
        return (x->i > b->i64) - (x->i < b->i64);
    return rw_dec_cmp(inum_dec(x), &b->d);
}

static int inum_multiple(struct inum *x, const struct sc_num *m)
{
    if (x->is_i64 && m->is_i64 && m->i64 > 0)
        return x->i % m->i64 == 0;
    return rw_dec_is_multiple(inum_dec(x), &m->div);
}

static int type_ok(unsigned types, const struct rw_jv *v, const struct inum *x)
{
    switch ((enum rw_jv_type)v->type) {
    case RW_JV_NULL:
        return (types & T_NULL) != 0;
    case RW_JV_BOOL:
        return (types & T_BOOLEAN) != 0;
    case RW_JV_OBJECT:
        return (types & T_OBJECT) != 0;
    case RW_JV_ARRAY:
        return (types & T_ARRAY) != 0;
    case RW_JV_STRING:
        return (types & T_STRING) != 0;
    default:
        if (types & T_NUMBER)
            return 1;
        if (!(types & T_INTEGER))
            return 0;
        /* 2020-12: an integer is a number with a zero fractional part, so 1.0 and 1e2 are. */
        return x->is_i64 || (x->have_d && rw_dec_is_integer(&x->d));
    }
}

static int enum_has(const struct sc_enum *e, const struct rw_jv *v, struct inum *x)
{
    size_t k, lo = 0, hi;
    const char *s;
    size_t len;

    switch ((enum rw_jv_type)v->type) {
    case RW_JV_STRING:
        s = v->s;
        len = v->n;
        for (hi = e->nsorted; lo < hi;) {
            size_t mid = (lo + hi) / 2;
            int r = rw_schema_cmp_bytes(s, len, e->sorted[mid]->s, e->sorted[mid]->slen);
            if (r == 0)
                return 1;
            if (r < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        return 0;
    case RW_JV_INT:
    case RW_JV_DOUBLE:
        for (k = 0; k < e->n; k++)
            if ((e->v[k].type == json_type_int || e->v[k].type == json_type_double) &&
                inum_cmp(x, e->v[k].num) == 0)
                return 1;
        return 0;
    case RW_JV_BOOL:
        for (k = 0; k < e->n; k++)
            if (e->v[k].type == json_type_boolean && e->v[k].b == ((v->f & RW_JV_TRUE) != 0))
                return 1;
        return 0;
    case RW_JV_NULL:
        for (k = 0; k < e->n; k++)
            if (e->v[k].type == json_type_null)
                return 1;
        return 0;
    default:
        for (k = 0; k < e->n; k++)
            if (e->v[k].j && rw_jv_equal_json(v, e->v[k].j))
                return 1;
        return 0;
    }
}

static int v_node(const struct sc_node *n, const struct rw_jv *v, struct vctx *c);

static int v_number(const struct sc_node *n, const struct rw_jv *v, struct inum *x, struct vctx *c)
{
    char vb[SHOW_BYTES + 16];
    struct xtra range = {.nmin = n->min, .nmax = n->max};
    int bad = 0;

    if (n->min && inum_cmp(x, n->min) < 0)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, &range, "%s %s is less than the minimum %s", subj(c),
                    show(v, vb, sizeof(vb)), n->min->text);
    else if (n->max && inum_cmp(x, n->max) > 0)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, &range, "%s %s is greater than the maximum %s",
                    subj(c), show(v, vb, sizeof(vb)), n->max->text);
    if (STOP(c, bad))
        return bad;
    if (n->xmin && inum_cmp(x, n->xmin) <= 0)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s must be greater than %s", subj(c),
                    show(v, vb, sizeof(vb)), n->xmin->text);
    else if (n->xmax && inum_cmp(x, n->xmax) >= 0)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s must be less than %s", subj(c),
                    show(v, vb, sizeof(vb)), n->xmax->text);
    if (STOP(c, bad))
        return bad;
    if (n->mult && !inum_multiple(x, n->mult))
        bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s is not a multiple of %s", subj(c),
                    show(v, vb, sizeof(vb)), n->mult->text);
    return bad;
}

static size_t count_code_points(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int v_string(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    const char *s = v->s;
    size_t len = v->n, cps;
    struct xtra lim = {.has_imin = n->minlen >= 0,
                       .imin = n->minlen,
                       .has_imax = n->maxlen >= 0,
                       .imax = n->maxlen};
    char vb[SHOW_BYTES + 16];
    int bad = 0, r;

    /* A UTF-8 string of len bytes has len/4 to len code points: often that decides. */
    if ((n->minlen >= 0 && (len + 3) / 4 < (uint64_t)n->minlen) ||
        (n->maxlen >= 0 && len > (uint64_t)n->maxlen)) {
        cps = count_code_points(s, len);
        if (n->minlen >= 0 && cps < (uint64_t)n->minlen)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim,
                        "%s is %zu character%s long; the minimum is %lld", subj(c), cps,
                        cps == 1 ? "" : "s", (long long)n->minlen);
        else if (n->maxlen >= 0 && cps > (uint64_t)n->maxlen)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim,
                        "%s is %zu characters long; the maximum is %lld", subj(c), cps,
                        (long long)n->maxlen);
        if (STOP(c, bad))
            return bad;
    }
    if (n->rx) {
        if ((r = rw_regex_match(n->rx, s, len)) < 0) {
            c->oom = c->full = 1;
            return bad + 1;
        }
        if (!r)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s does not match the pattern /%s/",
                        subj(c), show(v, vb, sizeof(vb)), n->pattern);
        if (STOP(c, bad))
            return bad;
    }
    if (n->format == FMT_UUID && !rw_format_uuid(s, len))
        bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL,
                    "%s %s is not a UUID (8-4-4-4-12 hexadecimal digits)", subj(c),
                    show(v, vb, sizeof(vb)));
    else if (n->format == FMT_URI && !rw_format_uri(s, len))
        bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL,
                    "%s %s is not an absolute URI (scheme:..., e.g. https://host/path)", subj(c),
                    show(v, vb, sizeof(vb)));
    return bad;
}

static int v_array(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    size_t len = v->n, k, j;
    struct xtra lim = {.has_imin = n->minitems >= 0,
                       .imin = n->minitems,
                       .has_imax = n->maxitems >= 0,
                       .imax = n->maxitems};
    int bad = 0;

    if (n->minitems >= 0 && len < (uint64_t)n->minitems)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim, "%s has %zu item%s; the minimum is %lld",
                    subj(c), len, len == 1 ? "" : "s", (long long)n->minitems);
    else if (n->maxitems >= 0 && len > (uint64_t)n->maxitems)
        bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim, "%s has %zu items; the maximum is %lld",
                    subj(c), len, (long long)n->maxitems);
    if (STOP(c, bad))
        return bad;
    for (k = 1; n->unique && k < len; k++) {
        for (j = 0; j < k; j++) {
            if (rw_jv_equal(&v->items[j], &v->items[k])) {
                bad += FAIL(c, RW_E_INVALID_PARAMETER, NULL,
                            "%s has duplicate items (%zu and %zu); items must be unique", subj(c),
                            j, k);
                if (STOP(c, bad))
                    return bad;
                k = len;
                break;
            }
        }
    }
    for (k = 0; n->items && k < len; k++) {
        int old = push_index(c, k);
        bad += v_node(n->items, &v->items[k], c);
        pop(c, old);
        if (STOP(c, bad))
            return bad;
    }
    return bad;
}

/* The property named by member m (its hash computed when it was read). */
static const struct sc_prop *find_prop(const struct sc_node *n, const struct rw_jmember *m)
{
    uint32_t slot;

    if (!n->nprops)
        return NULL;
    for (slot = m->hash & n->pmask; n->ptab[slot]; slot = (slot + 1) & n->pmask) {
        const struct sc_prop *p = &n->props[n->ptab[slot] - 1];
        if (p->hash == m->hash && memcmp(p->name, m->key, m->klen) == 0 && !p->name[m->klen])
            return p;
    }
    return NULL;
}

static int fail_unknown(const struct sc_node *n, const struct rw_jmember *m, struct vctx *c)
{
    for (size_t k = 0; k < n->nprops; k++)
        if (strncasecmp(m->key, n->props[k].name, m->klen) == 0 && !n->props[k].name[m->klen])
            return FAIL(c, RW_E_UNKNOWN_PARAMETER, NULL,
                        "%s is not a known parameter (did you mean %s?)", subj(c),
                        n->props[k].name);
    return FAIL(c, RW_E_UNKNOWN_PARAMETER, NULL, "%s is not a known parameter", subj(c));
}

static int v_object(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    int bad = 0;
    size_t k, j;
    int old;

    for (k = 0; k < n->nreq; k++) {
        if (rw_jv_get(v, n->req[k]))
            continue;
        old = push_key(c, n->req[k], strlen(n->req[k]));
        bad += FAIL(c, RW_E_MISSING_PARAMETER, NULL, "%s is required", subj(c));
        pop(c, old);
        if (STOP(c, bad))
            return bad;
    }
    if (n->nprops || n->addl) {
        for (k = 0; k < v->n; k++) {
            const struct rw_jmember *m = &v->m[k];
            const struct rw_jv *val = &m->v;
            const struct sc_prop *p = find_prop(n, m);

            old = push_key(c, m->key, m->klen);
            if (p && p->node->boolean == 0)
                bad += FAIL(c, c->cond ? RW_E_CONFLICTING : RW_E_UNKNOWN_PARAMETER, NULL,
                            "%s is not allowed", subj(c));
            else if (p)
                bad += v_node(p->node, val, c);
            else if (n->addl && n->addl->boolean == 0)
                bad += fail_unknown(n, m, c);
            else if (n->addl)
                bad += v_node(n->addl, val, c);
            pop(c, old);
            if (STOP(c, bad))
                return bad;
        }
    }
    for (k = 0; k < n->ndeps; k++) {
        if (!rw_jv_get(v, n->deps[k].name))
            continue;
        for (j = 0; j < n->deps[k].n; j++) {
            if (rw_jv_get(v, n->deps[k].req[j]))
                continue;
            old = push_key(c, n->deps[k].name, strlen(n->deps[k].name));
            bad += FAIL(c, RW_E_CONFLICTING, NULL, "%s requires %s, which is missing", subj(c),
                        n->deps[k].req[j]);
            pop(c, old);
            if (STOP(c, bad))
                return bad;
        }
    }
    if (n->minprops >= 0 || n->maxprops >= 0) {
        size_t cnt = v->n;
        struct xtra lim = {.has_imin = n->minprops >= 0,
                           .imin = n->minprops,
                           .has_imax = n->maxprops >= 0,
                           .imax = n->maxprops};
        if (n->minprops >= 0 && cnt < (uint64_t)n->minprops)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim, "%s has %zu members; the minimum is %lld",
                        subj(c), cnt, (long long)n->minprops);
        else if (n->maxprops >= 0 && cnt > (uint64_t)n->maxprops)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &lim, "%s has %zu members; the maximum is %lld",
                        subj(c), cnt, (long long)n->maxprops);
    }
    return bad;
}

/* 1 when v is valid against n, 0 when not, -1 on ENOMEM (recorded in c). Reports nothing. */
static int quiet_ok(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    struct vctx q = *c;
    int bad;

    q.errors = NULL;
    q.full = q.oom = 0;
    bad = v_node(n, v, &q);
    if (q.oom) {
        c->oom = c->full = 1;
        return -1;
    }
    return bad == 0;
}

static int v_alt(const struct sc_alt *a, const struct rw_jv *v, struct inum *x, struct vctx *c,
                 int one)
{
    char vb[SHOW_BYTES + 16];
    size_t k, matched = 0, cand = 0, last = 0;
    int r;

    if (a->kind == ALT_ENUM) {
        struct xtra xt = {.allowed = a->en};
        if (enum_has(a->en, v, x))
            return 0;
        return FAIL(c, RW_E_INVALID_PARAMETER, &xt, "%s %s is not one of %s", subj(c),
                    show(v, vb, sizeof(vb)), a->en->list);
    }
    for (k = 0; k < a->n; k++) {
        if ((r = quiet_ok(a->b[k], v, c)) < 0)
            return 1;
        if (r && (++matched > 1 || !one))
            break;
    }
    if (one ? matched == 1 : matched > 0)
        return 0;
    if (!c->errors)
        return 1;
    if (matched > 1)
        return FAIL(c, RW_E_INVALID_PARAMETER, NULL,
                    "%s %s matches more than one of %s; it must match exactly one", subj(c),
                    show(v, vb, sizeof(vb)), a->desc);
    if (a->kind == ALT_FORMS)
        return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s is none of the accepted forms: %s",
                    subj(c), show(v, vb, sizeof(vb)), a->desc);
    /* An object or array that only one alternative takes: that one's errors point inside it. */
    for (k = 0; k < a->n && (v->type == RW_JV_OBJECT || v->type == RW_JV_ARRAY); k++) {
        if (!a->branch_types[k] || type_ok(a->branch_types[k], v, x)) {
            cand++;
            last = k;
        }
    }
    if (cand == 1 && (r = v_node(a->b[last], v, c)) > 0)
        return r;
    return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s matches none of its alternatives: %s",
                subj(c), show(v, vb, sizeof(vb)), a->desc);
}

static int v_not(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    const struct sc_node *nt = n->not_;
    char list[MSG_LEN], vb[SHOW_BYTES + 16];
    size_t pos = 0, k;
    int old;
    int r, bad;

    if ((r = quiet_ok(nt, v, c)) <= 0)
        return r < 0;
    if (!c->errors)
        return 1;
    /* {"not": {"required": [a, b]}}: a and b exclude each other. */
    if (nt->boolean < 0 && nt->kw == KW_REQUIRED && nt->nreq >= 2 && v->type == RW_JV_OBJECT) {
        list[0] = '\0';
        for (k = 0; k < nt->nreq; k++) {
            old = push_key(c, nt->req[k], strlen(nt->req[k]));
            rw_schema_join(list, sizeof(list), &pos, k, nt->nreq, "and", path_of(c));
            pop(c, old);
        }
        old = push_key(c, nt->req[nt->nreq - 1], strlen(nt->req[nt->nreq - 1]));
        bad = FAIL(c, RW_E_CONFLICTING, NULL, "%s cannot be used together; give only one of them",
                   list);
        pop(c, old);
        return bad;
    }
    return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s matches a schema it must not match",
                subj(c), show(v, vb, sizeof(vb)));
}

static int fail_type(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    char want[128], vb[SHOW_BYTES + 16];
    int jt = v->type;

    rw_schema_type_phrase(n->types, want, sizeof(want));
    if ((jt == RW_JV_INT || jt == RW_JV_DOUBLE) && (n->types & T_INTEGER))
        return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s is not an integer", subj(c),
                    show(v, vb, sizeof(vb)));
    if (jt == RW_JV_OBJECT || jt == RW_JV_ARRAY || jt == RW_JV_NULL)
        return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s is %s; expected %s", subj(c),
                    kind_phrase(v), want);
    return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s is %s; expected %s", subj(c),
                show(v, vb, sizeof(vb)), kind_phrase(v), want);
}

static int v_node(const struct sc_node *n, const struct rw_jv *v, struct vctx *c)
{
    struct inum x;
    char vb[SHOW_BYTES + 16];
    int jt = v->type;
    int bad = 0, r;
    size_t k;

    x.is_i64 = x.have_d = 0;
    if (n->boolean >= 0)
        return n->boolean ? 0
                          : FAIL(c, c->cond ? RW_E_CONFLICTING : RW_E_INVALID_PARAMETER, NULL,
                                 "%s is not allowed", subj(c));
    if (c->depth >= VALIDATE_DEPTH)
        return FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s is nested too deeply to validate",
                    subj(c));
    c->depth++;
    if (jt == RW_JV_INT || jt == RW_JV_DOUBLE) {
        if ((r = inum_get(v, &x)) < 0) {
            c->oom = c->full = 1;
            bad++;
            goto out;
        }
        if (r > 0) {
            bad += r == 1 ? FAIL(c, RW_E_INVALID_PARAMETER, NULL,
                                 "%s is outside the 64-bit integer range", subj(c))
                          : FAIL(c, RW_E_INVALID_PARAMETER, NULL, "%s %s is not a finite number",
                                 subj(c), show(v, vb, sizeof(vb)));
            goto out;
        }
    }
    if (n->ref && (bad += v_node(n->ref, v, c), STOP(c, bad)))
        goto out;
    if ((n->kw & KW_TYPE) && !type_ok(n->types, v, &x)) {
        bad += fail_type(n, v, c);
        goto out;
    }
    if ((n->types & ~T_NULL) == T_INTEGER && (jt == RW_JV_INT || jt == RW_JV_DOUBLE) && !x.is_i64 &&
        !(n->min && inum_cmp(&x, n->min) < 0) && !(n->max && inum_cmp(&x, n->max) > 0)) {
        struct xtra xt = {.nmin = n->min ? n->min : NULL,
                          .nmax = n->max ? n->max : NULL,
                          .has_imin = !n->min,
                          .imin = -INT64_MAX,
                          .has_imax = !n->max,
                          .imax = INT64_MAX};
        bad += FAIL(c, RW_E_INVALID_PARAMETER, &xt, "%s %s is outside the 64-bit integer range",
                    subj(c), show(v, vb, sizeof(vb)));
        goto out;
    }
    if (n->en && !enum_has(n->en, v, &x)) {
        struct xtra xt = {.allowed = n->en};
        if (n->kw & KW_CONST)
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &xt, "%s %s must be %s", subj(c),
                        show(v, vb, sizeof(vb)), n->en->v[0].text);
        else
            bad += FAIL(c, RW_E_INVALID_PARAMETER, &xt, "%s %s is not one of %s", subj(c),
                        show(v, vb, sizeof(vb)), n->en->list);
        goto out;
    }
    switch (jt) {
    case RW_JV_INT:
    case RW_JV_DOUBLE:
        if (n->kw & KW_NUMERIC)
            bad += v_number(n, v, &x, c);
        break;
    case RW_JV_STRING:
        if (n->kw & (KW_LENGTH | KW_PATTERN | KW_FORMAT))
            bad += v_string(n, v, c);
        break;
    case RW_JV_ARRAY:
        if (n->kw & (KW_COUNT | KW_ITEMS))
            bad += v_array(n, v, c);
        break;
    case RW_JV_OBJECT:
        if (n->kw & (KW_REQUIRED | KW_PROPS | KW_ADDL | KW_DEPREQ | KW_COUNT))
            bad += v_object(n, v, c);
        break;
    default:
        break;
    }
    if (STOP(c, bad))
        goto out;
    for (k = 0; k < n->nall; k++)
        if ((bad += v_node(n->all[k], v, c), STOP(c, bad)))
            goto out;
    if (n->any.n && (bad += v_alt(&n->any, v, &x, c, 0), STOP(c, bad)))
        goto out;
    if (n->one.n && (bad += v_alt(&n->one, v, &x, c, 1), STOP(c, bad)))
        goto out;
    if (n->not_ && (bad += v_not(n, v, c), STOP(c, bad)))
        goto out;
    if (n->if_) {
        const struct sc_node *branch;
        const char *saved = c->cond;

        if ((r = quiet_ok(n->if_, v, c)) < 0) {
            bad++;
            goto out;
        }
        branch = r ? n->then_ : n->else_;
        if (branch) {
            if (r ? n->then_cond : n->else_cond)
                c->cond = r ? n->then_cond : n->else_cond;
            bad += v_node(branch, v, c);
            c->cond = saved;
        }
    }
out:
    if (x.have_d)
        rw_dec_free(&x.d);
    c->depth--;
    return bad;
}

int rw_schema_validate_jv(const struct rw_schema *schema, const struct rw_jv *task,
                          json_object *errors)
{
    struct pseg segs[VALIDATE_DEPTH];
    char path[PATH_LEN];
    struct vctx c;
    int r;

    if (!schema || !task || !errors)
        return -1;
    memset(&c, 0, sizeof(c));
    c.errors = errors;
    c.max = RW_SCHEMA_MAX_ERRORS;
    c.segs = segs;
    c.path = path;
    v_node(schema->root, task, &c);
    if (c.oom)
        return -1;
    if (c.count < c.max) {
        if ((r = rw_rules_check_jv(task, errors, c.max - c.count)) < 0)
            return -1;
        c.count += r;
    }
    return c.count;
}
