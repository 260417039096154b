/* Task validation, compiling half: loads the model's spec and compiles the JSON Schema of one
 * task into C structures (regexes, exact decimals, sorted enum and property tables) once. */
#include "rw_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_schema_internal.h"

#define SPEC_MAX_BYTES  (16 * 1024 * 1024)
#define SPEC_MAX_DEPTH  128 /* JSON nesting of the spec file */
#define COMPILE_DEPTH   200 /* schema nesting while compiling */
#define ARENA_BLOCK     16384
#define PTR_LEN         512 /* longest JSON pointer in a load error */
#define LIST_TEXT_BYTES 360 /* enum values listed in a message before "..." */

/* ------------------------------------------------------------------------------------------ */
/* Memory */

static void *arena_alloc(struct rw_schema *s, size_t n)
{
    struct arena_blk *b = s->arena;
    void *p;

    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0)
        n = sizeof(max_align_t);
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (!(b = malloc(sizeof(*b) + cap)))
            return NULL;
        b->next = s->arena;
        b->used = 0;
        b->cap = cap;
        s->arena = b;
    }
    p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(struct rw_schema *s, const char *str, size_t len)
{
    char *p = arena_alloc(s, len + 1);

    if (p) {
        memcpy(p, str, len);
        p[len] = '\0';
    }
    return p;
}

/* Registers p to be released with the schema; on failure releases it at once. */
static int on_free(struct rw_schema *s, int kind, void *p)
{
    struct cleanup *cl = arena_alloc(s, sizeof(*cl));

    if (!cl) {
        if (kind == CL_REGEX)
            rw_regex_free(p);
        else if (kind == CL_JSON)
            json_object_put(p);
        else
            rw_dec_free(p);
        return -1;
    }
    cl->kind = kind;
    cl->p = p;
    cl->next = s->cleanups;
    s->cleanups = cl;
    return 0;
}

void rw_schema_free(struct rw_schema *schema)
{
    struct cleanup *cl;
    struct arena_blk *b, *next;

    if (!schema)
        return;
    for (cl = schema->cleanups; cl; cl = cl->next) {
        if (cl->kind == CL_REGEX)
            rw_regex_free(cl->p);
        else if (cl->kind == CL_JSON)
            json_object_put(cl->p);
        else
            rw_dec_free(cl->p);
    }
    for (b = schema->arena; b; b = next) {
        next = b->next;
        free(b);
    }
    free(schema);
}

/* ------------------------------------------------------------------------------------------ */
/* Small text helpers shared by compiling and validating */

void rw_schema_bprintf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*pos >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos = (size_t)n >= len - *pos ? len - 1 : *pos + (size_t)n;
}

void rw_schema_put_escaped(char *buf, size_t len, size_t *pos, const char *s, size_t n, size_t max)
{
    size_t i, lim = n > max ? max : n;

    while (lim < n && lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
        lim--;
    for (i = 0; i < lim && *pos + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            rw_schema_bprintf(buf, len, pos, "\\%c", c);
        else if (c == '\n')
            rw_schema_bprintf(buf, len, pos, "\\n");
        else if (c == '\t')
            rw_schema_bprintf(buf, len, pos, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rw_schema_bprintf(buf, len, pos, "\\u%04x", c);
        else
            buf[(*pos)++] = (char)c;
    }
    if (*pos < len)
        buf[*pos] = '\0';
    if (lim < n)
        rw_schema_bprintf(buf, len, pos, "...");
}

int rw_schema_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);

    return r ? r : (alen > blen) - (alen < blen);
}

void rw_schema_join(char *buf, size_t len, size_t *pos, size_t k, size_t n, const char *conj,
                    const char *part)
{
    rw_schema_bprintf(buf, len, pos, "%s%s%s%s",
                      k == 0       ? ""
                      : k + 1 == n ? " "
                                   : ", ",
                      k && k + 1 == n ? conj : "", k && k + 1 == n ? " " : "", part);
}

const char *rw_schema_type_phrase(unsigned types, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *s;
    } ph[] = {{T_STRING, "a string"},   {T_INTEGER, "an integer"}, {T_NUMBER, "a number"},
              {T_BOOLEAN, "a boolean"}, {T_OBJECT, "an object"},   {T_ARRAY, "an array"},
              {T_NULL, "null"}};
    size_t pos = 0, n = 0, k, i = 0;

    buf[0] = '\0';
    if (types & T_NUMBER)
        types &= ~(unsigned)T_INTEGER;
    for (k = 0; k < sizeof(ph) / sizeof(ph[0]); k++)
        n += (types & ph[k].bit) != 0;
    for (k = 0; k < sizeof(ph) / sizeof(ph[0]); k++)
        if (types & ph[k].bit)
            rw_schema_join(buf, len, &pos, i++, n, "or", ph[k].s);
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Compiling */

struct ref_entry {
    json_object *target;
    struct sc_node *node;
};

struct cctx {
    struct rw_schema *s;
    json_object *doc;
    char ptr[PTR_LEN]; /* JSON pointer of the location being compiled */
    size_t plen;
    struct ref_entry *refs;
    size_t nrefs, caprefs;
    int depth;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int cerr(struct cctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "#%s: %s", c->ptr, msg);
    return -1;
}

static int coom(struct cctx *c)
{
    snprintf(c->err, c->errlen, "out of memory");
    return -1;
}

/* Appends "/token" (escaped as a JSON pointer) to the location; returns the old length. */
static size_t ptr_push(struct cctx *c, const char *tok)
{
    size_t old = c->plen;

    rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "/");
    for (; *tok; tok++) {
        if (*tok == '~')
            rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "~0");
        else if (*tok == '/')
            rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "~1");
        else
            rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "%c", *tok);
    }
    return old;
}

static size_t ptr_push_index(struct cctx *c, size_t i)
{
    size_t old = c->plen;

    rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "/%zu", i);
    return old;
}

static void ptr_pop(struct cctx *c, size_t old)
{
    c->plen = old;
    c->ptr[old] = '\0';
}

static struct sc_node *new_node(struct cctx *c)
{
    struct sc_node *n = arena_alloc(c->s, sizeof(*n));

    if (!n)
        return NULL;
    n->boolean = -1;
    n->minlen = n->maxlen = n->minitems = n->maxitems = n->minprops = n->maxprops = -1;
    return n;
}

static int compile_into(struct cctx *c, struct sc_node *n, json_object *j);

static struct sc_node *compile(struct cctx *c, json_object *j)
{
    struct sc_node *n = new_node(c);

    if (!n) {
        coom(c);
        return NULL;
    }
    return compile_into(c, n, j) < 0 ? NULL : n;
}

static int is_number(json_object *j)
{
    return json_object_is_type(j, json_type_int) || json_object_is_type(j, json_type_double);
}

static struct sc_num *num_from_text(struct cctx *c, const char *text)
{
    struct sc_num *num = arena_alloc(c->s, sizeof(*num));
    int r;

    if (!num) {
        coom(c);
        return NULL;
    }
    if ((r = rw_dec_parse(&num->d, text, strlen(text))) < 0) {
        if (r == -2)
            coom(c);
        else
            cerr(c, "%s is not a number", text);
        return NULL;
    }
    if (num->d.dig != num->d.buf && on_free(c->s, CL_DEC, &num->d) < 0) {
        coom(c);
        return NULL;
    }
    if (!(num->text = arena_strndup(c->s, text, strlen(text)))) {
        coom(c);
        return NULL;
    }
    num->is_i64 = rw_dec_to_i64(&num->d, &num->i64);
    return num;
}

static struct sc_num *compile_num(struct cctx *c, json_object *j)
{
    if (!is_number(j)) {
        cerr(c, "must be a number");
        return NULL;
    }
    if (json_object_is_type(j, json_type_double) && !isfinite(json_object_get_double(j))) {
        cerr(c, "must be finite");
        return NULL;
    }
    return num_from_text(c, json_object_get_string(j));
}

static int compile_count(struct cctx *c, json_object *j, int64_t *out)
{
    struct sc_num *num = compile_num(c, j);

    if (!num)
        return -1;
    if (num->d.neg || !rw_dec_is_integer(&num->d))
        return cerr(c, "must be a non-negative integer");
    *out = num->is_i64 ? num->i64 : INT64_MAX;
    return 0;
}

static int compile_val(struct cctx *c, json_object *j, struct sc_val *v)
{
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);

    v->type = json_object_get_type(j);
    if (!text || !(v->text = arena_strndup(c->s, text, strlen(text))))
        return coom(c);
    switch (v->type) {
    case json_type_string:
        v->slen = (size_t)json_object_get_string_len(j);
        if (!(v->s = arena_strndup(c->s, json_object_get_string(j), v->slen)))
            return coom(c);
        break;
    case json_type_int:
    case json_type_double:
        if (!(v->num = compile_num(c, j)))
            return -1;
        break;
    case json_type_boolean:
        v->b = json_object_get_boolean(j);
        break;
    case json_type_object:
    case json_type_array:
        v->j = json_object_get(j);
        if (on_free(c->s, CL_JSON, v->j) < 0)
            return coom(c);
        break;
    default:
        break;
    }
    return 0;
}

static int cmp_sorted_val(const void *a, const void *b)
{
    const struct sc_val *x = *(const struct sc_val *const *)a,
                        *y = *(const struct sc_val *const *)b;

    return rw_schema_cmp_bytes(x->s, x->slen, y->s, y->slen);
}

/* Builds the lookup index and the message text of an enum whose values are compiled. */
static int finish_enum(struct cctx *c, struct sc_enum *e)
{
    char buf[LIST_TEXT_BYTES + 64];
    size_t pos = 0, k;

    buf[0] = '\0';
    if (!(e->sorted = arena_alloc(c->s, (e->n ? e->n : 1) * sizeof(*e->sorted))))
        return coom(c);
    for (k = 0; k < e->n; k++)
        if (e->v[k].type == json_type_string)
            e->sorted[e->nsorted++] = &e->v[k];
    qsort(e->sorted, e->nsorted, sizeof(*e->sorted), cmp_sorted_val);
    for (k = 0; k < e->n; k++) {
        if (pos + strlen(e->v[k].text) + 2 > LIST_TEXT_BYTES) {
            rw_schema_bprintf(buf, sizeof(buf), &pos, "... (%zu values, all listed in \"allowed\")",
                              e->n);
            break;
        }
        rw_schema_bprintf(buf, sizeof(buf), &pos, "%s%s", k ? ", " : "", e->v[k].text);
    }
    if (!(e->list = arena_strndup(c->s, buf, pos)))
        return coom(c);
    return 0;
}

/* The values of enum array arr, or (single) the one value of a const, which may be NULL: null. */
static struct sc_enum *compile_enum(struct cctx *c, json_object *arr, int single, json_object *one)
{
    struct sc_enum *e = arena_alloc(c->s, sizeof(*e));
    size_t n = single ? 1 : json_object_array_length(arr);

    if (!e || !(e->v = arena_alloc(c->s, (n ? n : 1) * sizeof(*e->v)))) {
        coom(c);
        return NULL;
    }
    for (e->n = 0; e->n < n; e->n++) {
        json_object *j = single ? one : json_object_array_get_idx(arr, e->n);
        size_t old = single ? c->plen : ptr_push_index(c, e->n);
        int r = compile_val(c, j, &e->v[e->n]);
        ptr_pop(c, old);
        if (r < 0)
            return NULL;
    }
    return finish_enum(c, e) < 0 ? NULL : e;
}

static unsigned type_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"null", T_NULL},    {"boolean", T_BOOLEAN}, {"object", T_OBJECT},
                 {"array", T_ARRAY},  {"number", T_NUMBER},   {"integer", T_INTEGER},
                 {"string", T_STRING}};

    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (strcmp(names[k].name, name) == 0)
            return names[k].bit;
    return 0;
}

static int kw_type(struct cctx *c, struct sc_node *n, json_object *v)
{
    size_t k, cnt;

    if (json_object_is_type(v, json_type_string)) {
        if (!(n->types = type_bit(json_object_get_string(v))))
            return cerr(c, "unknown type \"%s\"", json_object_get_string(v));
    } else if (json_object_is_type(v, json_type_array)) {
        cnt = json_object_array_length(v);
        for (k = 0; k < cnt; k++) {
            json_object *t = json_object_array_get_idx(v, k);
            unsigned bit =
                json_object_is_type(t, json_type_string) ? type_bit(json_object_get_string(t)) : 0;
            if (!bit)
                return cerr(c, "type must list type names");
            n->types |= bit;
        }
        if (!n->types)
            return cerr(c, "type must not be empty");
    } else {
        return cerr(c, "type must be a string or an array of strings");
    }
    n->kw |= KW_TYPE;
    return 0;
}

static int kw_const(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (n->kw & KW_ENUM)
        return cerr(c, "const and enum in one schema are not supported");
    n->kw |= KW_CONST;
    return (n->en = compile_enum(c, NULL, 1, v)) ? 0 : -1;
}

static int kw_enum(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (!json_object_is_type(v, json_type_array))
        return cerr(c, "enum must be an array");
    if (n->kw & KW_CONST)
        return cerr(c, "const and enum in one schema are not supported");
    n->kw |= KW_ENUM;
    return (n->en = compile_enum(c, v, 0, NULL)) ? 0 : -1;
}

static int kw_minimum(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_NUMERIC;
    return (n->min = compile_num(c, v)) ? 0 : -1;
}

static int kw_maximum(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_NUMERIC;
    return (n->max = compile_num(c, v)) ? 0 : -1;
}

static int kw_xminimum(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (json_object_is_type(v, json_type_boolean))
        return cerr(c, "boolean exclusiveMinimum (draft 4) is not supported");
    n->kw |= KW_NUMERIC;
    return (n->xmin = compile_num(c, v)) ? 0 : -1;
}

static int kw_xmaximum(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (json_object_is_type(v, json_type_boolean))
        return cerr(c, "boolean exclusiveMaximum (draft 4) is not supported");
    n->kw |= KW_NUMERIC;
    return (n->xmax = compile_num(c, v)) ? 0 : -1;
}

static int kw_multiple(struct cctx *c, struct sc_node *n, json_object *v)
{
    struct sc_num *m = compile_num(c, v);

    if (!m)
        return -1;
    if (rw_dec_divisor(&m->d, &m->div) < 0)
        return cerr(c, "multipleOf must be positive with at most 19 significant digits");
    n->kw |= KW_NUMERIC;
    n->mult = m;
    return 0;
}

static int kw_minlength(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_LENGTH;
    return compile_count(c, v, &n->minlen);
}

static int kw_maxlength(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_LENGTH;
    return compile_count(c, v, &n->maxlen);
}

static int kw_minitems(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_COUNT;
    return compile_count(c, v, &n->minitems);
}

static int kw_maxitems(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_COUNT;
    return compile_count(c, v, &n->maxitems);
}

static int kw_minprops(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_COUNT;
    return compile_count(c, v, &n->minprops);
}

static int kw_maxprops(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_COUNT;
    return compile_count(c, v, &n->maxprops);
}

static int kw_unique(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (!json_object_is_type(v, json_type_boolean))
        return cerr(c, "uniqueItems must be a boolean");
    n->kw |= KW_COUNT;
    n->unique = json_object_get_boolean(v);
    return 0;
}

static int kw_nullable(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (!json_object_is_type(v, json_type_boolean))
        return cerr(c, "nullable must be a boolean");
    n->nullable = json_object_get_boolean(v);
    return 0;
}

static int kw_pattern(struct cctx *c, struct sc_node *n, json_object *v)
{
    char rxerr[200];
    const char *src;
    size_t len;

    if (!json_object_is_type(v, json_type_string))
        return cerr(c, "pattern must be a string");
    src = json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    if (!(n->rx = rw_regex_compile(src, len, rxerr, sizeof(rxerr))))
        return cerr(c, "pattern /%s/: %s", src, rxerr);
    if (on_free(c->s, CL_REGEX, n->rx) < 0) {
        n->rx = NULL;
        return coom(c);
    }
    if (!(n->pattern = arena_strndup(c->s, src, len)))
        return coom(c);
    n->kw |= KW_PATTERN;
    return 0;
}

static int kw_format(struct cctx *c, struct sc_node *n, json_object *v)
{
    const char *f;

    if (!json_object_is_type(v, json_type_string))
        return cerr(c, "format must be a string");
    f = json_object_get_string(v);
    /* Other formats are annotations: JSON Schema does not require asserting them. */
    if (strcmp(f, "uuid") == 0)
        n->format = FMT_UUID;
    else if (strcmp(f, "uri") == 0)
        n->format = FMT_URI;
    else
        return 0;
    n->kw |= KW_FORMAT;
    return 0;
}

static const char **compile_names(struct cctx *c, json_object *arr, size_t *n)
{
    size_t k, cnt;
    const char **names;

    if (!json_object_is_type(arr, json_type_array)) {
        cerr(c, "must be an array of property names");
        return NULL;
    }
    cnt = json_object_array_length(arr);
    if (!(names = arena_alloc(c->s, (cnt ? cnt : 1) * sizeof(*names)))) {
        coom(c);
        return NULL;
    }
    for (k = 0; k < cnt; k++) {
        json_object *s = json_object_array_get_idx(arr, k);
        if (!json_object_is_type(s, json_type_string)) {
            cerr(c, "must be an array of property names");
            return NULL;
        }
        if (!(names[k] = arena_strndup(c->s, json_object_get_string(s),
                                       (size_t)json_object_get_string_len(s)))) {
            coom(c);
            return NULL;
        }
    }
    *n = cnt;
    return names;
}

static int kw_required(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_REQUIRED;
    return (n->req = compile_names(c, v, &n->nreq)) ? 0 : -1;
}

static int cmp_prop(const void *a, const void *b)
{
    return strcmp(((const struct sc_prop *)a)->name, ((const struct sc_prop *)b)->name);
}

static int kw_properties(struct cctx *c, struct sc_node *n, json_object *v)
{
    size_t k = 0;

    if (!json_object_is_type(v, json_type_object))
        return cerr(c, "properties must be an object");
    if (!(n->props = arena_alloc(c->s, (json_object_object_length(v) + 1) * sizeof(*n->props))))
        return coom(c);
    {
        json_object_object_foreach(v, key, child)
        {
            size_t old = ptr_push(c, key);
            n->props[k].name = arena_strndup(c->s, key, strlen(key));
            n->props[k].node = n->props[k].name ? compile(c, child) : NULL;
            ptr_pop(c, old);
            if (!n->props[k].name)
                return coom(c);
            if (!n->props[k++].node)
                return -1;
        }
    }
    n->nprops = k;
    qsort(n->props, k, sizeof(*n->props), cmp_prop);
    if (k >= UINT16_MAX)
        return cerr(c, "too many properties");
    /* a hash index at most half full: a lookup is one hash and about one strcmp */
    for (n->pmask = 7; n->pmask + 1 < 2 * k; n->pmask = n->pmask * 2 + 1)
        ;
    if (!(n->ptab = arena_alloc(c->s, (n->pmask + 1) * sizeof(*n->ptab))))
        return coom(c);
    for (size_t i = 0; i < k; i++) {
        uint32_t slot = (n->props[i].hash = rw_schema_hash(n->props[i].name)) & n->pmask;
        while (n->ptab[slot])
            slot = (slot + 1) & n->pmask;
        n->ptab[slot] = (uint16_t)(i + 1);
    }
    n->kw |= KW_PROPS;
    return 0;
}

static int kw_addl(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_ADDL;
    return (n->addl = compile(c, v)) ? 0 : -1;
}

static int kw_depreq(struct cctx *c, struct sc_node *n, json_object *v)
{
    size_t k = 0;

    if (!json_object_is_type(v, json_type_object))
        return cerr(c, "dependentRequired must be an object");
    if (!(n->deps = arena_alloc(c->s, (json_object_object_length(v) + 1) * sizeof(*n->deps))))
        return coom(c);
    {
        json_object_object_foreach(v, key, names)
        {
            size_t old = ptr_push(c, key);
            n->deps[k].name = arena_strndup(c->s, key, strlen(key));
            n->deps[k].req = n->deps[k].name ? compile_names(c, names, &n->deps[k].n) : NULL;
            ptr_pop(c, old);
            if (!n->deps[k].name)
                return coom(c);
            if (!n->deps[k++].req)
                return -1;
        }
    }
    n->ndeps = k;
    n->kw |= KW_DEPREQ;
    return 0;
}

static int kw_items(struct cctx *c, struct sc_node *n, json_object *v)
{
    if (json_object_is_type(v, json_type_array))
        return cerr(c, "items as an array (tuple validation) is not supported");
    n->kw |= KW_ITEMS;
    return (n->items = compile(c, v)) ? 0 : -1;
}

static struct sc_node **compile_list(struct cctx *c, json_object *v, size_t *n)
{
    struct sc_node **list;
    size_t k, cnt;

    if (!json_object_is_type(v, json_type_array) || !(cnt = json_object_array_length(v))) {
        cerr(c, "must be a non-empty array of schemas");
        return NULL;
    }
    if (!(list = arena_alloc(c->s, cnt * sizeof(*list)))) {
        coom(c);
        return NULL;
    }
    for (k = 0; k < cnt; k++) {
        size_t old = ptr_push_index(c, k);
        list[k] = compile(c, json_object_array_get_idx(v, k));
        ptr_pop(c, old);
        if (!list[k])
            return NULL;
    }
    *n = cnt;
    return list;
}

static int kw_allof(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_ALLOF;
    return (n->all = compile_list(c, v, &n->nall)) ? 0 : -1;
}

static int kw_anyof(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_ANYOF;
    return (n->any.b = compile_list(c, v, &n->any.n)) ? 0 : -1;
}

static int kw_oneof(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_ONEOF;
    return (n->one.b = compile_list(c, v, &n->one.n)) ? 0 : -1;
}

static int kw_not(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_NOT;
    return (n->not_ = compile(c, v)) ? 0 : -1;
}

static int kw_if(struct cctx *c, struct sc_node *n, json_object *v)
{
    n->kw |= KW_IF;
    return (n->if_ = compile(c, v)) ? 0 : -1;
}

static int kw_then(struct cctx *c, struct sc_node *n, json_object *v)
{
    return (n->then_ = compile(c, v)) ? 0 : -1;
}

static int kw_else(struct cctx *c, struct sc_node *n, json_object *v)
{
    return (n->else_ = compile(c, v)) ? 0 : -1;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* Resolves a local reference "#", "#/a/b~1c/0" (URI-escaped) against the document. */
static json_object *resolve_ref(json_object *doc, const char *ref)
{
    json_object *cur = doc;
    char tok[256];
    const char *p;

    if (ref[0] != '#' || (ref[1] != '\0' && ref[1] != '/'))
        return NULL;
    for (p = ref + 1; *p == '/';) {
        size_t n = 0;
        for (p++; *p && *p != '/'; p++) {
            int ch = (unsigned char)*p;
            if (ch == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                ch = hexval(p[1]) * 16 + hexval(p[2]);
                p += 2;
            } else if (ch == '~' && (p[1] == '0' || p[1] == '1')) {
                ch = p[1] == '0' ? '~' : '/';
                p++;
            }
            if (n + 1 >= sizeof(tok))
                return NULL;
            tok[n++] = (char)ch;
        }
        tok[n] = '\0';
        if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, tok, &cur))
                return NULL;
        } else if (json_object_is_type(cur, json_type_array)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            if (!n || *end || (cur = json_object_array_get_idx(cur, i)) == NULL)
                return NULL;
        } else {
            return NULL;
        }
    }
    return cur;
}

static int kw_ref(struct cctx *c, struct sc_node *n, json_object *v)
{
    json_object *target;
    const char *ref;
    struct sc_node *t;
    char saved[PTR_LEN];
    size_t savedlen, k;
    int r;

    if (!json_object_is_type(v, json_type_string))
        return cerr(c, "$ref must be a string");
    ref = json_object_get_string(v);
    if (ref[0] != '#')
        return cerr(c, "$ref \"%s\": only references within the document are supported", ref);
    if (!(target = resolve_ref(c->doc, ref)))
        return cerr(c, "$ref \"%s\" does not resolve", ref);
    n->kw |= KW_REF;
    for (k = 0; k < c->nrefs; k++) {
        if (c->refs[k].target == target) {
            n->ref = c->refs[k].node;
            return 0;
        }
    }
    if (c->nrefs == c->caprefs) {
        size_t cap = c->caprefs ? c->caprefs * 2 : 16;
        struct ref_entry *nr = realloc(c->refs, cap * sizeof(*nr));
        if (!nr)
            return coom(c);
        c->refs = nr;
        c->caprefs = cap;
    }
    /* Registered before compiling, so a reference cycle finds the node being built. */
    if (!(t = new_node(c)))
        return coom(c);
    c->refs[c->nrefs].target = target;
    c->refs[c->nrefs++].node = t;
    n->ref = t;
    memcpy(saved, c->ptr, sizeof(saved));
    savedlen = c->plen;
    c->plen = 0;
    c->ptr[0] = '\0';
    rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "%s", ref + 1);
    r = compile_into(c, t, target);
    memcpy(c->ptr, saved, sizeof(saved));
    c->plen = savedlen;
    return r;
}

typedef int (*kw_fn)(struct cctx *, struct sc_node *, json_object *);

static const struct keyword {
    const char *name;
    kw_fn fn;
} keywords[] = {
    {"$ref", kw_ref},
    {"additionalProperties", kw_addl},
    {"allOf", kw_allof},
    {"anyOf", kw_anyof},
    {"const", kw_const},
    {"dependentRequired", kw_depreq},
    {"else", kw_else},
    {"enum", kw_enum},
    {"exclusiveMaximum", kw_xmaximum},
    {"exclusiveMinimum", kw_xminimum},
    {"format", kw_format},
    {"if", kw_if},
    {"items", kw_items},
    {"maxItems", kw_maxitems},
    {"maxLength", kw_maxlength},
    {"maxProperties", kw_maxprops},
    {"maximum", kw_maximum},
    {"minItems", kw_minitems},
    {"minLength", kw_minlength},
    {"minProperties", kw_minprops},
    {"minimum", kw_minimum},
    {"multipleOf", kw_multiple},
    {"not", kw_not},
    {"nullable", kw_nullable},
    {"oneOf", kw_oneof},
    {"pattern", kw_pattern},
    {"properties", kw_properties},
    {"required", kw_required},
    {"then", kw_then},
    {"type", kw_type},
    {"uniqueItems", kw_unique},
};

/* Assertions this validator does not implement: a spec using one is refused at load rather
 * than half-checked. Every other unknown keyword is an annotation and ignored. */
static const char *const unsupported[] = {
    "$dynamicRef",           "$recursiveRef",    "additionalItems", "contains",
    "dependencies",          "dependentSchemas", "maxContains",     "minContains",
    "patternProperties",     "prefixItems",      "propertyNames",   "unevaluatedItems",
    "unevaluatedProperties",
};

static int cmp_keyword(const void *key, const void *kw)
{
    return strcmp(key, ((const struct keyword *)kw)->name);
}

/* The JSON types a const or enum value belongs to. */
static unsigned val_types(const struct sc_val *v)
{
    switch (v->type) {
    case json_type_null:
        return T_NULL;
    case json_type_boolean:
        return T_BOOLEAN;
    case json_type_object:
        return T_OBJECT;
    case json_type_array:
        return T_ARRAY;
    case json_type_string:
        return T_STRING;
    default:
        return T_NUMBER | (rw_dec_is_integer(&v->num->d) ? T_INTEGER : 0);
    }
}

/* A branch that only says "this exact value". */
static int is_const_branch(const struct sc_node *b)
{
    if (b->boolean >= 0 || (b->kw & ~KW_TYPE) != KW_CONST)
        return 0;
    return !(b->kw & KW_TYPE) || (val_types(&b->en->v[0]) & b->types);
}

/* A branch that only constrains a string's form (format and/or pattern). */
static int is_form_branch(const struct sc_node *b)
{
    if (b->boolean >= 0 || !(b->kw & (KW_FORMAT | KW_PATTERN)))
        return 0;
    if (b->kw & ~(KW_FORMAT | KW_PATTERN | KW_TYPE))
        return 0;
    return !(b->kw & KW_TYPE) || b->types == T_STRING;
}

static int finish_alt(struct cctx *c, struct sc_alt *a)
{
    char buf[MSG_LEN], part[MSG_LEN];
    size_t pos = 0, k, j;
    int all_const = 1, all_forms = 1;

    if (!a->n)
        return 0;
    buf[0] = '\0';
    if (!(a->branch_types = arena_alloc(c->s, a->n * sizeof(*a->branch_types))))
        return coom(c);
    for (k = 0; k < a->n; k++) {
        struct sc_node *b = a->b[k];
        a->branch_types[k] = b->boolean < 0 ? b->types : 0;
        for (j = 0; b->boolean < 0 && !b->types && b->en && j < b->en->n; j++)
            a->branch_types[k] |= val_types(&b->en->v[j]);
        all_const &= is_const_branch(b);
        all_forms &= is_form_branch(b);
    }
    if (all_const) {
        if (!(a->en = arena_alloc(c->s, sizeof(*a->en))) ||
            !(a->en->v = arena_alloc(c->s, a->n * sizeof(*a->en->v))))
            return coom(c);
        for (k = 0; k < a->n; k++)
            a->en->v[k] = a->b[k]->en->v[0];
        a->en->n = a->n;
        a->kind = ALT_ENUM;
        for (k = 0; k < a->n; k++) /* duplicates would make oneOf refuse them: not an enum */
            for (j = 0; j < k; j++)
                if (strcmp(a->en->v[k].text, a->en->v[j].text) == 0)
                    a->kind = ALT_PLAIN;
        if (finish_enum(c, a->en) < 0)
            return -1;
    } else if (all_forms) {
        a->kind = ALT_FORMS;
    }
    for (k = 0; k < a->n; k++) {
        struct sc_node *b = a->b[k];
        size_t pp = 0;
        part[0] = '\0';
        if (b->boolean >= 0) {
            rw_schema_bprintf(part, sizeof(part), &pp, "%s", b->boolean ? "anything" : "nothing");
        } else if (is_form_branch(b)) {
            if (b->format)
                rw_schema_bprintf(part, sizeof(part), &pp, "%s",
                                  b->format == FMT_UUID ? "a UUID" : "a URI");
            if (b->pattern)
                rw_schema_bprintf(part, sizeof(part), &pp, "%s matching /%s/",
                                  b->format ? "" : "a string", b->pattern);
        } else if ((b->kw & KW_CONST) && b->en) {
            rw_schema_bprintf(part, sizeof(part), &pp, "%s", b->en->v[0].text);
        } else if (b->types) {
            rw_schema_type_phrase(b->types, part, sizeof(part));
        } else {
            rw_schema_bprintf(part, sizeof(part), &pp, "alternative %zu", k + 1);
        }
        rw_schema_join(buf, sizeof(buf), &pos, k, a->n, "or", part);
    }
    if (!(a->desc = arena_strndup(c->s, buf, strlen(buf))))
        return coom(c);
    return 0;
}

/* "when type is "local_editing" or not given" for an if of the form
 * {"properties": {"type": {"const": ...}}}; NULL (no suffix) for any other if. */
static int finish_if(struct cctx *c, struct sc_node *n)
{
    const struct sc_node *f = n->if_;
    const struct sc_prop *p;
    char buf[MSG_LEN];
    size_t pos = 0, k;
    int required = 0, one;

    if (!f || f->boolean >= 0 || (f->kw & ~(KW_PROPS | KW_REQUIRED)) != 0 || !(f->kw & KW_PROPS) ||
        f->nprops != 1)
        return 0;
    p = &f->props[0];
    if (!p->node->en || p->node->boolean >= 0 ||
        (p->node->kw & ~KW_TYPE & ~(KW_CONST | KW_ENUM)) != 0)
        return 0;
    for (k = 0; k < f->nreq; k++)
        required |= strcmp(f->req[k], p->name) == 0;
    one = p->node->en->n == 1;
    rw_schema_bprintf(buf, sizeof(buf), &pos, "when %s is %s%s%s", p->name, one ? "" : "one of ",
                      p->node->en->list, required ? "" : " or not given");
    if (!(n->then_cond = arena_strndup(c->s, buf, pos)))
        return coom(c);
    pos = 0;
    rw_schema_bprintf(buf, sizeof(buf), &pos, "when %s is not %s%s", p->name, one ? "" : "one of ",
                      p->node->en->list);
    if (!(n->else_cond = arena_strndup(c->s, buf, pos)))
        return coom(c);
    return 0;
}

static int compile_into(struct cctx *c, struct sc_node *n, json_object *j)
{
    int r = -1;

    if (++c->depth > COMPILE_DEPTH) {
        cerr(c, "schema nested too deeply");
        goto out;
    }
    if (json_object_is_type(j, json_type_boolean)) {
        n->boolean = json_object_get_boolean(j);
        r = 0;
        goto out;
    }
    if (!json_object_is_type(j, json_type_object)) {
        cerr(c, "a schema must be an object or a boolean");
        goto out;
    }
    {
        json_object_object_foreach(j, key, val)
        {
            const struct keyword *kw =
                bsearch(key, keywords, sizeof(keywords) / sizeof(keywords[0]), sizeof(keywords[0]),
                        cmp_keyword);
            size_t old;
            if (!kw) {
                for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
                    if (strcmp(key, unsupported[k]) == 0) {
                        cerr(c, "keyword \"%s\" is not supported", key);
                        goto out;
                    }
                continue;
            }
            old = ptr_push(c, key);
            r = kw->fn(c, n, val);
            ptr_pop(c, old);
            if (r < 0)
                goto out;
        }
    }
    if (n->nullable && n->types)
        n->types |= T_NULL;
    /* An integer is an int64 on the wire: the spec's seed maximum 9223372036854776000 is the
     * double rendering of 2^63, meaning "any int64". */
    if ((n->types & ~T_NULL) == T_INTEGER) {
        if (n->max && rw_dec_cmp(&n->max->d, &c->s->int64_max->d) > 0)
            n->max = c->s->int64_max;
        if (n->min && rw_dec_cmp(&n->min->d, &c->s->int64_min->d) < 0)
            n->min = c->s->int64_min;
    }
    r = finish_alt(c, &n->any) < 0 || finish_alt(c, &n->one) < 0 || finish_if(c, n) < 0 ? -1 : 0;
out:
    c->depth--;
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading */

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t cap = 0, n = 0, got;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %m", path);
        return NULL;
    }
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            if (cap > SPEC_MAX_BYTES + 4096) {
                snprintf(err, errlen, "%s: larger than %d bytes", path, SPEC_MAX_BYTES);
                goto fail;
            }
            if (!(nb = realloc(buf, cap))) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

static json_object *parse_doc(const char *path, const char *text, size_t len, char *err,
                              size_t errlen)
{
    json_tokener *tok = json_tokener_new_ex(SPEC_MAX_DEPTH);
    json_object *doc = NULL;
    enum json_tokener_error je;
    size_t end;

    if (!tok) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    doc = json_tokener_parse_ex(tok, text, (int)len);
    je = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (!doc && je == json_tokener_continue) {
        /* a top-level literal (true, false, a number) ends only at a delimiter */
        doc = json_tokener_parse_ex(tok, " ", 1);
        je = json_tokener_get_error(tok);
        end = len;
    }
    if (!doc || je != json_tokener_success) {
        snprintf(err, errlen, "%s: not valid JSON: %s at byte %zu", path,
                 json_tokener_error_desc(je == json_tokener_continue ? json_tokener_error_parse_eof
                                                                     : je),
                 end);
        json_object_put(doc);
        doc = NULL;
    } else {
        for (; end < len && strchr(" \t\r\n", text[end]); end++)
            ;
        if (end < len) {
            snprintf(err, errlen, "%s: not valid JSON: data after the document at byte %zu", path,
                     end);
            json_object_put(doc);
            doc = NULL;
        }
    }
    json_tokener_free(tok);
    return doc;
}

/* The schema of one task: components.schemas.RequestBody.items of an OpenAPI document (the
 * body is an array of tasks), or the whole document when it is a bare JSON Schema. */
static json_object *task_schema(struct cctx *c, json_object *doc)
{
    json_object *v = NULL, *items;
    int hops = 0;

    if (!json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, "openapi", NULL)) {
        rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "%s", "");
        return doc;
    }
    if (!json_object_object_get_ex(doc, "components", &v) ||
        !json_object_object_get_ex(v, "schemas", &v) ||
        !json_object_object_get_ex(v, "RequestBody", &v)) {
        cerr(c, "an OpenAPI document must define components.schemas.RequestBody");
        return NULL;
    }
    rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "/components/schemas/RequestBody");
    while (json_object_object_get_ex(v, "$ref", &items) && hops++ < 8) {
        const char *ref = json_object_get_string(items);
        if (!(v = resolve_ref(doc, ref))) {
            cerr(c, "$ref \"%s\" does not resolve", ref);
            return NULL;
        }
        c->plen = 0;
        rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "%s", ref + 1);
    }
    if (!json_object_object_get_ex(v, "items", &items)) {
        cerr(c, "RequestBody must be an array schema with items (the schema of one task)");
        return NULL;
    }
    rw_schema_bprintf(c->ptr, sizeof(c->ptr), &c->plen, "/items");
    return items;
}

struct rw_schema *rw_schema_load(const char *path, char *err, size_t errlen)
{
    struct cctx c;
    char *text = NULL, cerrbuf[768];
    size_t len;
    json_object *doc = NULL, *root;
    struct rw_schema *s = NULL;

    memset(&c, 0, sizeof(c));
    if (!(text = read_file(path, &len, err, errlen)))
        goto fail;
    if (!(doc = parse_doc(path, text, len, err, errlen)))
        goto fail;
    if (!(s = calloc(1, sizeof(*s)))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    c.s = s;
    c.doc = doc;
    c.err = cerrbuf;
    c.errlen = sizeof(cerrbuf);
    if (!(s->int64_max = num_from_text(&c, "9223372036854775807")) ||
        !(s->int64_min = num_from_text(&c, "-9223372036854775807")) ||
        !(root = task_schema(&c, doc)) || !(s->root = compile(&c, root))) {
        snprintf(err, errlen, "%s: %s", path, cerrbuf);
        goto fail;
    }
    free(c.refs);
    json_object_put(doc);
    free(text);
    return s;
fail:
    free(c.refs);
    json_object_put(doc);
    free(text);
    rw_schema_free(s);
    return NULL;
}
