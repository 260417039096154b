/* rw_jv: the strict reader (every RFC 8259 edge, depth, UTF-8, numbers) and that what it takes
 * means to the checks what json-c's tree meant. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rw_jv.h"
#include "rwtest.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* json-c's tree of s as rw_job's tokener reads it (NULL when it refuses; *ok says which). */
static json_object *jsonc(const char *s, size_t len, int *ok)
{
    json_tokener *tok = json_tokener_new_ex(RW_JV_MAX_DEPTH);
    json_object *o;
    enum json_tokener_error je;
    size_t end;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)len);
    je = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (!o && je == json_tokener_continue) {
        o = json_tokener_parse_ex(tok, " ", 1); /* a top-level number ends at a delimiter */
        je = json_tokener_get_error(tok);
        end = len;
    }
    *ok = je == json_tokener_success;
    for (size_t i = end; *ok && i < len; i++)
        if (!strchr(" \t\n\r", s[i]))
            *ok = 0;
    json_tokener_free(tok);
    if (!*ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Reads s; when taken, json-c must take it too and build the same tree (as serialised and as
 * json_object_equal sees it). Returns what rw_jv_read returned. */
static int read_same(struct rw_jdoc *doc, const char *s, size_t len)
{
    const struct rw_jv *root;
    int rc = rw_jv_read(doc, s, len, &root), ok;
    json_object *want = jsonc(s, len, &ok), *got;

    if (rc == RW_JV_OK) {
        RWT_CHECK(ok);
        got = rw_jv_to_json(root);
        RWT_CHECK(root->type == RW_JV_NULL || got != NULL);
        RWT_CHECK(json_object_equal(got, want));
        RWT_CHECK(rw_jv_equal_json(root, want));
        if (got && want)
            RWT_CHECK_STR(json_object_to_json_string_ext(got, FLAGS),
                          json_object_to_json_string_ext(want, FLAGS));
        json_object_put(got);
    }
    json_object_put(want);
    return rc;
}

static void test_grammar(void)
{
    static const struct {
        const char *s;
        int rc;
    } t[] = {
        /* values at the top, whitespace around */
        {"{}", RW_JV_OK},
        {"[]", RW_JV_OK},
        {" \t\r\n{ \t\r\n} \t\r\n", RW_JV_OK},
        {"0", RW_JV_OK},
        {"\"x\"", RW_JV_OK},
        {"true", RW_JV_OK},
        {"false", RW_JV_OK},
        {"null", RW_JV_OK},
        {"", RW_JV_REFUSED},
        {"   ", RW_JV_REFUSED},
        {"\f{}", RW_JV_REFUSED},
        {"{}\v", RW_JV_REFUSED},
        {"{}{}", RW_JV_REFUSED},
        {"{} x", RW_JV_REFUSED},
        {"1 2", RW_JV_REFUSED},
        /* objects and arrays */
        {"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", RW_JV_OK},
        {"{ \"a\" : 1 , \"b\" : [ 1 , 2 ] }", RW_JV_OK},
        {"[[],{},[{}],{\"\":[]}]", RW_JV_OK},
        {"{\"a\":1,}", RW_JV_REFUSED},
        {"[1,]", RW_JV_REFUSED},
        {"[,1]", RW_JV_REFUSED},
        {"[1 2]", RW_JV_REFUSED},
        {"{\"a\" 1}", RW_JV_REFUSED},
        {"{\"a\":1 \"b\":2}", RW_JV_REFUSED},
        {"{a:1}", RW_JV_REFUSED},
        {"{'a':1}", RW_JV_REFUSED},
        {"{1:1}", RW_JV_REFUSED},
        {"{\"a\"}", RW_JV_REFUSED},
        {"{\"a\":}", RW_JV_REFUSED},
        {"[1}", RW_JV_REFUSED},
        {"{\"a\":1]", RW_JV_REFUSED},
        {"[", RW_JV_REFUSED},
        {"{\"a\":[1,2", RW_JV_REFUSED},
        {"]", RW_JV_REFUSED},
        /* literals: exact spelling only */
        {"[tru]", RW_JV_REFUSED},
        {"[True]", RW_JV_REFUSED},
        {"[nul]", RW_JV_REFUSED},
        {"[nulll]", RW_JV_REFUSED},
        {"[NaN]", RW_JV_REFUSED},
        {"[Infinity]", RW_JV_REFUSED},
        {"[-Infinity]", RW_JV_REFUSED},
        {"[undefined]", RW_JV_REFUSED},
        {"/* c */ {}", RW_JV_REFUSED},
        {"{} // c", RW_JV_REFUSED},
        /* numbers */
        {"[0,-0,1,-1,10,123456789,0.5,-0.5,1e3,1E3,1e+3,1e-3,1.5e-3,0e0,-0.0,1.50]", RW_JV_OK},
        {"[01]", RW_JV_REFUSED},
        {"[-01]", RW_JV_REFUSED},
        {"[00]", RW_JV_REFUSED},
        {"[1.]", RW_JV_REFUSED},
        {"[1.e3]", RW_JV_REFUSED},
        {"[.5]", RW_JV_REFUSED},
        {"[+1]", RW_JV_REFUSED},
        {"[-]", RW_JV_REFUSED},
        {"[1e]", RW_JV_REFUSED},
        {"[1e+]", RW_JV_REFUSED},
        {"[0x10]", RW_JV_REFUSED},
        {"[1.5.2]", RW_JV_REFUSED},
        {"[--1]", RW_JV_REFUSED},
        /* big integers and exponents: json-c's saturation, kept */
        {"[9223372036854775807,9223372036854775808,18446744073709551615]", RW_JV_OK},
        {"[18446744073709551616,99999999999999999999999,-9223372036854775808]", RW_JV_OK},
        {"[-9223372036854775809,-99999999999999999999999]", RW_JV_OK},
        {"[1e400,-1e400,1e-400,123456789012345678901234567890.5e10]", RW_JV_OK},
        {"[1.23456789012345678901234567890123456789012345678901234567890e1]", RW_JV_OK},
        {"[1.234567890123456789012345678901234567890123456789012345678901e1]", RW_JV_REFUSED},
        {"[12345678901234567890123456789012345678901234567890123456789012345678901234567890]",
         RW_JV_OK},
        /* strings */
        {"[\"\",\"a\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20ac\\uD834\\uDD1E\"]",
         RW_JV_OK},
        {"[\"\\u00E9\\uFFFF\\u0001\\u001f\"]", RW_JV_OK},
        {"[\"long plain stretch of text with no escapes at all, well past eight bytes\"]",
         RW_JV_OK},
        {"[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \x7f\"]", RW_JV_OK},
        {"[\"\\x\"]", RW_JV_REFUSED},
        {"[\"\\U0041\"]", RW_JV_REFUSED},
        {"[\"\\u00G0\"]", RW_JV_REFUSED},
        {"[\"\\u00\"]", RW_JV_REFUSED},
        {"[\"\\\"]", RW_JV_REFUSED},
        {"[\"abc]", RW_JV_REFUSED},
        {"[\"a\tb\"]", RW_JV_REFUSED},
        {"[\"a\nb\"]", RW_JV_REFUSED},
        {"[\"a\x01\"]", RW_JV_REFUSED},
        {"['a']", RW_JV_REFUSED},
        /* what JSON allows but json-c reads its own way: left to json-c */
        {"[\"\\u0000\"]", RW_JV_REFUSED},
        {"{\"a\\u0000b\":1}", RW_JV_REFUSED},
        {"[\"\\ud800\"]", RW_JV_REFUSED},
        {"[\"\\udc00\"]", RW_JV_REFUSED},
        {"[\"\\ud800x\"]", RW_JV_REFUSED},
        {"[\"\\ud800\\u0041\"]", RW_JV_REFUSED},
        {"[\"\\udbff\\udfff\"]", RW_JV_OK},
        {"{\"a\":1,\"a\":2}", RW_JV_REFUSED},
        {"{\"a\":1,\"\\u0061\":2}", RW_JV_REFUSED},
        {"{\"a\":{\"b\":1,\"b\":1}}", RW_JV_REFUSED},
        {"[{\"a\":1},{\"a\":1}]", RW_JV_OK},
        /* UTF-8 (RFC 3629): overlong, surrogate, beyond U+10FFFF, cut */
        {"[\"\xc0\xaf\"]", RW_JV_REFUSED},
        {"[\"\xe0\x80\xaf\"]", RW_JV_REFUSED},
        {"[\"\xed\xa0\x80\"]", RW_JV_REFUSED},
        {"[\"\xf4\x90\x80\x80\"]", RW_JV_REFUSED},
        {"[\"\xf8\x88\x80\x80\x80\"]", RW_JV_REFUSED},
        {"[\"\xc3\"]", RW_JV_REFUSED},
        {"[\"\xe2\x82\"]", RW_JV_REFUSED},
        {"[\"\x80\"]", RW_JV_REFUSED},
        {"[\"\xff\"]", RW_JV_REFUSED},
        {"[\xc3\xa9]", RW_JV_REFUSED},
    };
    struct rw_jdoc *doc = rw_jdoc_new();

    RWT_CHECK(doc != NULL);
    for (size_t i = 0; doc && i < sizeof(t) / sizeof(t[0]); i++) {
        int before = rwt_failed;

        RWT_CHECK_INT(read_same(doc, t[i].s, strlen(t[i].s)), t[i].rc);
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case %zu: %s\n", i, t[i].s);
    }
    rw_jdoc_free(doc);
}

/* Numbers as the checks see them: json-c's int64/uint64 view, the text of a double. */
static void test_numbers(void)
{
    static const struct {
        const char *s;
        int type, u64;
        int64_t i;
        uint64_t u;
        const char *text; /* rw_jv_num_text, as json_object_get_string gives it */
    } t[] = {
        {"0", RW_JV_INT, 0, 0, 0, "0"},
        {"-0", RW_JV_INT, 0, 0, 0, "0"},
        {"42", RW_JV_INT, 0, 42, 0, "42"},
        {"-42", RW_JV_INT, 0, -42, 0, "-42"},
        {"9223372036854775807", RW_JV_INT, 0, INT64_MAX, 0, "9223372036854775807"},
        {"9223372036854775808", RW_JV_INT, 1, 0, 9223372036854775808ULL, "9223372036854775808"},
        {"18446744073709551615", RW_JV_INT, 1, 0, UINT64_MAX, "18446744073709551615"},
        {"18446744073709551616", RW_JV_INT, 1, 0, UINT64_MAX, "18446744073709551615"},
        {"123456789012345678901234567890", RW_JV_INT, 1, 0, UINT64_MAX, "18446744073709551615"},
        {"-9223372036854775808", RW_JV_INT, 0, INT64_MIN, 0, "-9223372036854775808"},
        {"-9223372036854775809", RW_JV_INT, 0, INT64_MIN, 0, "-9223372036854775808"},
        {"-123456789012345678901234567890", RW_JV_INT, 0, INT64_MIN, 0, "-9223372036854775808"},
        {"1.50", RW_JV_DOUBLE, 0, 0, 0, "1.50"},
        {"1e400", RW_JV_DOUBLE, 0, 0, 0, "1e400"},
        {"-0.0", RW_JV_DOUBLE, 0, 0, 0, "-0.0"},
        {"2E-2", RW_JV_DOUBLE, 0, 0, 0, "2E-2"},
    };
    struct rw_jdoc *doc = rw_jdoc_new();

    for (size_t i = 0; doc && i < sizeof(t) / sizeof(t[0]); i++) {
        const struct rw_jv *root;
        char buf[24], *text;
        size_t len;
        int ok;
        json_object *want = jsonc(t[i].s, strlen(t[i].s), &ok);
        int before = rwt_failed;

        RWT_CHECK_INT(rw_jv_read(doc, t[i].s, strlen(t[i].s), &root), RW_JV_OK);
        if (!root)
            continue;
        RWT_CHECK_INT(root->type, t[i].type);
        RWT_CHECK_INT((root->f & RW_JV_U64) != 0, t[i].u64);
        if (t[i].type == RW_JV_INT && !t[i].u64)
            RWT_CHECK(root->i == t[i].i);
        if (t[i].u64)
            RWT_CHECK(root->u == t[i].u);
        text = (char *)rw_jv_num_text(root, buf, &len);
        RWT_CHECK(len == strlen(t[i].text) && memcmp(text, t[i].text, len) == 0);
        RWT_CHECK_STR(t[i].text, json_object_get_string(want));
        RWT_CHECK(rw_jv_double(root) == json_object_get_double(want) ||
                  (isnan(rw_jv_double(root)) && isnan(json_object_get_double(want))));
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case %s\n", t[i].s);
        json_object_put(want);
    }
    rw_jdoc_free(doc);
}

/* Nesting as json-c counts it: a value may be at level RW_JV_MAX_DEPTH (the root is at 1),
 * scalars too; however deep the text goes, reading stays flat. Both readers must agree. */
static void nest(struct rw_jdoc *doc, size_t d, const char *open, const char *inner,
                 const char *close, bool taken)
{
    size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
    char *s = malloc(d * (lo + lc) + li + 1), *p = s;
    int ok;
    json_object *o;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    for (size_t k = 0; k < d; k++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, inner, li);
    p += li;
    for (size_t k = 0; k < d; k++, p += lc)
        memcpy(p, close, lc);
    RWT_CHECK_INT(read_same(doc, s, (size_t)(p - s)), taken ? RW_JV_OK : RW_JV_REFUSED);
    if (d < 1000) {
        o = jsonc(s, (size_t)(p - s), &ok);
        RWT_CHECK_INT(ok, taken);
        json_object_put(o);
    }
    free(s);
}

static void test_depth(void)
{
    struct rw_jdoc *doc = rw_jdoc_new();
    const size_t max = RW_JV_MAX_DEPTH;

    if (!doc)
        return;
    nest(doc, 1, "[", "", "]", true);
    nest(doc, max, "[", "", "]", true); /* the innermost (empty) array at level 32 */
    nest(doc, max + 1, "[", "", "]", false);
    nest(doc, max - 1, "[", "1", "]", true); /* the number at level 32 */
    nest(doc, max, "[", "1", "]", false);    /* ... at 33 */
    nest(doc, max - 1, "[", "{}", "]", true);
    nest(doc, max, "[", "{}", "]", false);
    nest(doc, max - 1, "{\"a\":", "\"x\"", "}", true);
    nest(doc, max, "{\"a\":", "\"x\"", "}", false);
    nest(doc, max - 1, "{\"a\":", "[]", "}", true);
    nest(doc, max, "{\"a\":", "{}", "}", false);
    nest(doc, max - 2, "[{\"a\":", "1", "}]", false); /* 60 levels */
    nest(doc, 200000, "[", "", "]", false);
    nest(doc, 200000, "{\"a\":", "1", "}", false);
    rw_jdoc_free(doc);
}

/* Spans, strings pointing into the text, a slice that is not NUL-terminated, a large object
 * (repeated keys found by hash), and a document that outgrows the arena's first block. */
static void test_tree(void)
{
    struct rw_jdoc *doc = rw_jdoc_new();
    const char *s = " {\"a\" : \"x\\/y\", \"b\":[1, {\"c\":null}] ,\"d\":\"plain\"} ";
    const struct rw_jv *root, *v;
    char *big;
    size_t n = 5000, len;

    RWT_CHECK(doc != NULL);
    if (!doc)
        return;
    RWT_CHECK_INT(rw_jv_read(doc, s, strlen(s), &root), RW_JV_OK);
    RWT_CHECK(root->type == RW_JV_OBJECT && root->n == 3 && (root->f & RW_JV_SPAN));
    RWT_CHECK(root->at == 1 && root->end == strlen(s) - 1);
    v = rw_jv_get(root, "a");
    RWT_CHECK(v && v->n == 3 && memcmp(v->s, "x/y", 3) == 0);
    RWT_CHECK(v && v->at == (size_t)(strstr(s, "\"x\\/y\"") - s) && v->end == v->at + 6);
    v = rw_jv_get(root, "b");
    RWT_CHECK(v && v->type == RW_JV_ARRAY && v->n == 2 && v->items[1].type == RW_JV_OBJECT);
    RWT_CHECK(v && strncmp(s + v->at, "[1, {\"c\":null}]", v->end - v->at) == 0);
    v = rw_jv_get(root, "d");
    RWT_CHECK(v && v->s > s && v->s < s + strlen(s)); /* no copy */
    RWT_CHECK(rw_jv_get(root, "e") == NULL && rw_jv_get(v, "a") == NULL);
    RWT_CHECK(root->m[2].hash == rw_jv_hash("d", 1));
    /* a slice: the bytes after len are not read */
    RWT_CHECK_INT(rw_jv_read(doc, "[12]3", 4, &root), RW_JV_OK);
    RWT_CHECK_INT(rw_jv_read(doc, "1234", 2, &root), RW_JV_OK);
    RWT_CHECK(root && root->i == 12);
    RWT_CHECK_INT(rw_jv_read(doc, "\"abc\"", 4, &root), RW_JV_REFUSED);
    RWT_CHECK_INT(rw_jv_read(doc, "tru", 3, &root), RW_JV_REFUSED);
    /* a large object: distinct keys taken, one repeat found */
    big = malloc(n * 32 + 16);
    RWT_CHECK(big != NULL);
    if (big) {
        len = 0;
        big[len++] = '{';
        for (size_t k = 0; k < n; k++)
            len += (size_t)sprintf(big + len, "%s\"k%zu\":[%zu]", k ? "," : "", k, k);
        big[len++] = '}';
        RWT_CHECK_INT(read_same(doc, big, len), RW_JV_OK);
        RWT_CHECK_INT(rw_jv_read(doc, big, len, &root), RW_JV_OK);
        RWT_CHECK(root && root->n == n && rw_jv_get(root, "k4999")->items[0].i == 4999);
        memcpy(big + len - 1 - strlen("\"k4999\":[4999]"), "\"k0\"   ", 7);
        RWT_CHECK_INT(rw_jv_read(doc, big, len, &root), RW_JV_REFUSED);
        free(big);
    }
    rw_jdoc_free(doc);
}

/* json-c's tree converted: the same tree the reader builds from the same text. */
static void test_from_json(void)
{
    const char *t[] = {
        "{\"a\":[1,-2,3.50,\"x\",true,false,null,{\"b\":{}}],\"c\":9223372036854775808}",
        "[18446744073709551616,-9223372036854775809,1e400,\"caf\\u00e9\"]",
    };
    struct rw_jdoc *d1 = rw_jdoc_new(), *d2 = rw_jdoc_new();

    for (size_t i = 0; d1 && d2 && i < sizeof(t) / sizeof(t[0]); i++) {
        const struct rw_jv *a, *b;
        int ok;
        json_object *o = jsonc(t[i], strlen(t[i]), &ok);

        RWT_CHECK_INT(rw_jv_read(d1, t[i], strlen(t[i]), &a), RW_JV_OK);
        RWT_CHECK_INT(rw_jv_from_json(d2, o, &b), RW_JV_OK);
        RWT_CHECK(a && b && rw_jv_equal(a, b) && rw_jv_equal(b, a));
        json_object_put(o);
    }
    rw_jdoc_free(d1);
    rw_jdoc_free(d2);
}

/* json_object_equal's sense of equal: type first (1 and 1.0 differ), members in any order. */
static void test_equal(void)
{
    static const struct {
        const char *a, *b;
        bool eq;
    } t[] = {
        {"1", "1", true},
        {"1", "1.0", false},
        {"1.0", "1.00", true},
        {"0.0", "-0.0", true},
        {"\"a\"", "\"a\"", true},
        {"\"a\"", "\"b\"", false},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", true},
        {"{\"a\":1}", "{\"a\":1,\"b\":2}", false},
        {"[1,2]", "[2,1]", false},
        {"null", "null", true},
        {"null", "false", false},
        {"9223372036854775808", "9223372036854775807", false},
    };
    struct rw_jdoc *d1 = rw_jdoc_new(), *d2 = rw_jdoc_new();

    for (size_t i = 0; d1 && d2 && i < sizeof(t) / sizeof(t[0]); i++) {
        const struct rw_jv *a, *b;
        int ok;
        json_object *jb = jsonc(t[i].b, strlen(t[i].b), &ok);

        RWT_CHECK_INT(rw_jv_read(d1, t[i].a, strlen(t[i].a), &a), RW_JV_OK);
        RWT_CHECK_INT(rw_jv_read(d2, t[i].b, strlen(t[i].b), &b), RW_JV_OK);
        RWT_CHECK(a && b && rw_jv_equal(a, b) == t[i].eq);
        RWT_CHECK(a && rw_jv_equal_json(a, jb) == t[i].eq);
        json_object_put(jb);
    }
    rw_jdoc_free(d1);
    rw_jdoc_free(d2);
}

static const struct rwt_case cases[] = {
    {"grammar", test_grammar}, {"numbers", test_numbers},     {"depth", test_depth},
    {"tree", test_tree},       {"from_json", test_from_json}, {"equal", test_equal},
};

RWT_MAIN(cases)
