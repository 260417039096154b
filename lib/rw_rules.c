/* The spec's prose-only rules, one table: step orderings, bounds by `steps`, and parameters that
 * only work together. docs/validation.md says which descriptions are enforced and why. */
#include "rw_rules.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rw_errors.h"
#include "rw_jv.h"

enum rule_kind {
    R_ORDER,         /* a < b, both in the same object */
    R_AT_MOST_STEPS, /* a <= the task's steps */
    R_BELOW_STEPS,   /* a < the task's steps */
    R_NEEDS,         /* a given -> b given in the same object */
    R_NEEDS_VALUE,   /* a true or an object -> the task's b (or its default) is in values */
};

struct rule {
    const char *where; /* object holding a and b: "" the task, else the task's member */
    int each;          /* where is an array: the rule holds in each of its objects */
    enum rule_kind kind;
    const char *a, *b;
    const char *const *values; /* R_NEEDS_VALUE: what b may be, NULL-terminated */
    const char *dflt;          /* R_NEEDS_VALUE: b's value when absent (NULL: none) */
    const char *why;           /* R_NEEDS_VALUE: the reason, quoted in the message */
    int report_a;              /* R_NEEDS_VALUE: the parameter to change is a, not b */
};

static const char *const transparent_formats[] = {"PNG", "WEBP", NULL};
static const char *const flux_fill[] = {"runware:102@1", NULL};

static const struct rule rules[] = {
    {"acceleratorOptions", 0, R_ORDER, "cacheStartStep", "cacheEndStep", NULL, NULL, NULL, 0},
    {"acceleratorOptions", 0, R_AT_MOST_STEPS, "cacheEndStep", NULL, NULL, NULL, NULL, 0},
    {"acceleratorOptions", 0, R_ORDER, "cacheStartStepPercentage", "cacheEndStepPercentage", NULL,
     NULL, NULL, 0},
    {"controlNet", 1, R_ORDER, "startStep", "endStep", NULL, NULL, NULL, 0},
    {"controlNet", 1, R_AT_MOST_STEPS, "endStep", NULL, NULL, NULL, NULL, 0},
    {"controlNet", 1, R_ORDER, "startStepPercentage", "endStepPercentage", NULL, NULL, NULL, 0},
    {"pulid", 0, R_BELOW_STEPS, "CFGstartStep", NULL, NULL, NULL, NULL, 0},
    {"inputs", 0, R_NEEDS, "maskImage", "seedImage", NULL, NULL, NULL, 0},
    {"", 0, R_NEEDS_VALUE, "layerDiffuse", "outputFormat", transparent_formats, "JPG",
     "transparency needs an alpha channel", 0},
    {"", 0, R_NEEDS_VALUE, "acePlusPlus", "model", flux_fill, NULL,
     "the spec requires FLUX Fill for ACE++", 1},
};

struct rctx {
    const struct rw_jv *task;
    json_object *errors;
    int count, max, oom;
};

/* 1 and *out when obj has key as an integer (1.0 counts, as in the schema). */
static int get_int(const struct rw_jv *obj, const char *key, int64_t *out)
{
    const struct rw_jv *v = rw_jv_get(obj, key);
    double d;

    if (!v)
        return 0;
    if (v->type == RW_JV_INT) {
        *out = v->f & RW_JV_U64 ? INT64_MAX : v->i; /* json_object_get_int64 */
        return *out != INT64_MIN && *out != INT64_MAX;
    }
    if (v->type != RW_JV_DOUBLE)
        return 0;
    d = rw_jv_double(v);
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || (double)(int64_t)d != d)
        return 0; /* NaN, beyond 2^53, or a fraction */
    *out = (int64_t)d;
    return 1;
}

/* Appends an error; min/max are added when has_min/has_max. Returns -1 when the cap is reached
 * or memory ran out (both stop the checks). */
__attribute__((format(printf, 8, 9))) static int add(struct rctx *r, const char *code,
                                                     const char *param, int has_min, int64_t min,
                                                     int has_max, int64_t max, const char *fmt, ...)
{
    char msg[512];
    json_object *e, *v;
    va_list ap;

    if (r->count >= r->max)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!(e = rw_errors_add(r->errors, code, param, "%s", msg)))
        goto oom;
    r->count++;
    if (has_min) {
        if (!(v = json_object_new_int64(min)) || json_object_object_add(e, "min", v) != 0)
            goto oom_v;
    }
    if (has_max) {
        if (!(v = json_object_new_int64(max)) || json_object_object_add(e, "max", v) != 0)
            goto oom_v;
    }
    return r->count >= r->max ? -1 : 0;
oom_v:
    json_object_put(v);
oom:
    r->oom = 1;
    return -1;
}

static int add_allowed(struct rctx *r, const struct rule *ru)
{
    json_object *e = json_object_array_get_idx(r->errors, json_object_array_length(r->errors) - 1);
    json_object *arr = json_object_new_array(), *s;

    if (!arr)
        goto oom;
    for (const char *const *v = ru->values; *v; v++) {
        if (!(s = json_object_new_string(*v)) || json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            goto oom;
        }
    }
    if (json_object_object_add(e, "allowed", arr) != 0)
        goto oom;
    return 0;
oom:
    json_object_put(arr);
    r->oom = 1;
    return -1;
}

/* The path of key in the rule's object ("controlNet[2].endStep"), rendered only for errors. */
static const char *path(char *buf, size_t len, const struct rule *ru, size_t index, const char *key)
{
    if (!*ru->where)
        snprintf(buf, len, "%s", key);
    else if (ru->each)
        snprintf(buf, len, "%s[%zu].%s", ru->where, index, key);
    else
        snprintf(buf, len, "%s.%s", ru->where, key);
    return buf;
}

/* Checks one rule on one object (item index of the rule's array when ru->each). Returns -1 to
 * stop. */
static int check(struct rctx *r, const struct rule *ru, const struct rw_jv *obj, size_t index)
{
    char pa[160], pb[160], list[160];
    int64_t a, b, steps;
    const struct rw_jv *va, *vb;
    const char *val;
    size_t pos = 0, vlen;
    int given;

    if (r->count >= r->max)
        return -1;
    switch (ru->kind) {
    case R_ORDER:
        if (!get_int(obj, ru->a, &a) || !get_int(obj, ru->b, &b) || b > a)
            return 0;
        path(pa, sizeof(pa), ru, index, ru->a);
        path(pb, sizeof(pb), ru, index, ru->b);
        return add(r, RW_E_INVALID_PARAMETER, pb, 1, a + 1, 0, 0,
                   "%s %lld must be greater than %s %lld", pb, (long long)b, pa, (long long)a);
    case R_AT_MOST_STEPS:
        if (!get_int(obj, ru->a, &a) || !get_int(r->task, "steps", &steps) || a <= steps)
            return 0;
        path(pa, sizeof(pa), ru, index, ru->a);
        return add(r, RW_E_INVALID_PARAMETER, pa, 0, 0, 1, steps,
                   "%s %lld is greater than steps %lld; it must be at most steps", pa, (long long)a,
                   (long long)steps);
    case R_BELOW_STEPS:
        if (!get_int(obj, ru->a, &a) || !get_int(r->task, "steps", &steps) || a < steps)
            return 0;
        path(pa, sizeof(pa), ru, index, ru->a);
        return add(r, RW_E_INVALID_PARAMETER, pa, 0, 0, 1, steps - 1,
                   "%s %lld must be less than steps %lld", pa, (long long)a, (long long)steps);
    case R_NEEDS:
        if (!rw_jv_get(obj, ru->a) || rw_jv_get(obj, ru->b))
            return 0;
        path(pa, sizeof(pa), ru, index, ru->a);
        path(pb, sizeof(pb), ru, index, ru->b);
        return add(r, RW_E_MISSING_PARAMETER, pb, 0, 0, 0, 0, "%s is required when %s is given", pb,
                   pa);
    case R_NEEDS_VALUE:
        /* a in use: true, or an object of settings (other values are the schema's to report) */
        if (!(va = rw_jv_get(obj, ru->a)) ||
            !(va->type == RW_JV_OBJECT || (va->type == RW_JV_BOOL && (va->f & RW_JV_TRUE))))
            return 0;
        given = (vb = rw_jv_get(obj, ru->b)) != NULL;
        if (given && vb->type != RW_JV_STRING)
            return 0; /* the schema reports the type */
        if (!(val = given ? vb->s : ru->dflt))
            return 0;
        /* as a C string: up to a NUL it may hold (json-c's getter gave it so) */
        vlen = given ? strnlen(val, vb->n) : strlen(val);
        for (const char *const *v = ru->values; *v; v++)
            if (strlen(*v) == vlen && memcmp(val, *v, vlen) == 0)
                return 0;
        list[0] = '\0';
        for (const char *const *v = ru->values; *v && pos < sizeof(list); v++)
            pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%s",
                                    v == ru->values ? ""
                                    : v[1]          ? ", "
                                                    : " or ",
                                    *v);
        path(pa, sizeof(pa), ru, index, ru->a);
        path(pb, sizeof(pb), ru, index, ru->b);
        add(r, RW_E_CONFLICTING, ru->report_a ? pa : pb, 0, 0, 0, 0,
            "%s needs %s %s (%s); %s is %.*s%s", pa, pb, list, ru->why, pb, (int)vlen, val,
            given ? "" : " (the default)");
        if (r->oom || add_allowed(r, ru) < 0)
            return -1;
        return r->count >= r->max ? -1 : 0;
    }
    return 0;
}

int rw_rules_check_jv(const struct rw_jv *task, json_object *errors, int max)
{
    struct rctx r = {task, errors, 0, max, 0};

    if (task->type != RW_JV_OBJECT || max <= 0)
        return 0;
    for (size_t k = 0; k < sizeof(rules) / sizeof(rules[0]); k++) {
        const struct rule *ru = &rules[k];
        const struct rw_jv *obj = *ru->where ? rw_jv_get(task, ru->where) : task;
        int rc = 0;

        if (!obj)
            continue;
        if (!ru->each) {
            if (obj->type == RW_JV_OBJECT)
                rc = check(&r, ru, obj, 0);
        } else if (obj->type == RW_JV_ARRAY) {
            for (size_t i = 0; i < obj->n && rc == 0; i++)
                if (obj->items[i].type == RW_JV_OBJECT)
                    rc = check(&r, ru, &obj->items[i], i);
        }
        if (rc < 0)
            break;
    }
    return r.oom ? -1 : r.count;
}

int rw_rules_check(json_object *task, json_object *errors, int max)
{
    struct rw_jdoc *doc;
    const struct rw_jv *t;
    int r = -1;

    if (!json_object_is_type(task, json_type_object) || max <= 0)
        return 0;
    if (!(doc = rw_jdoc_new()))
        return -1;
    if (rw_jv_from_json(doc, task, &t) == RW_JV_OK)
        r = rw_rules_check_jv(t, errors, max);
    rw_jdoc_free(doc);
    return r;
}
