/* rw_schema: every keyword of the subset, the exact-number and code-point semantics, the regex
 * and format checks, load errors, error records, and the shipped FLUX.1 [dev] SRPO spec. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "rw_schema.h"
#include "rw_schema_dec.h"
#include "rw_schema_format.h"
#include "rw_schema_regex.h"
#include "rwtest.h"

#define U1    "c64351d5-4c59-42f7-95e1-eace013eddab"
#define U2    "90422a52-f186-4bf4-a73b-0a46016a8330"
#define BASE  "\"taskType\":\"imageInference\",\"model\":\"runware:111@1\",\"taskUUID\":\"" U1 "\""
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- helpers ------------------------------------------------------------------------------ */

static struct rw_schema *load_spec(void)
{
    const char *dir = getenv("RW_SOURCE_DIR");
    char path[1024], err[512];
    struct rw_schema *s;

    snprintf(path, sizeof(path), "%s/conf/flux-1-dev-srpo.schema.json", dir ? dir : "../..");
    s = rw_schema_load(path, err, sizeof(err));
    if (!s)
        fprintf(stderr, "  load %s: %s\n", path, err);
    return s;
}

/* Loads schema text through a temporary file; NULL with err filled on failure. */
static struct rw_schema *load_text(const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/rw_schema_testXXXXXX";
    int fd = mkstemp(path);
    struct rw_schema *s;
    FILE *f;

    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "mkstemp failed");
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    s = rw_schema_load(path, err, errlen);
    unlink(path);
    return s;
}

/* Validates task text; returns the count and leaves the errors in *errs (caller puts). */
static int run(const struct rw_schema *s, const char *task_text, json_object **errs)
{
    json_object *task = json_tokener_parse(task_text);
    int n;

    *errs = json_object_new_array();
    if (!task) {
        fprintf(stderr, "  unparsable test task: %s\n", task_text);
        return -100;
    }
    n = rw_schema_validate(s, task, *errs);
    json_object_put(task);
    return n;
}

/* A task of the shipped spec: the fields runwared fills, a prompt, then frag. */
static int run_task(const struct rw_schema *s, const char *frag, json_object **errs)
{
    char buf[16384];

    snprintf(buf, sizeof(buf), "{" BASE ",\"positivePrompt\":\"a photo of a cat\"%s%s}",
             frag[0] ? "," : "", frag);
    return run(s, buf, errs);
}

/* tmpl with its "%s" replaced by val. */
static void fill(char *out, size_t len, const char *tmpl, const char *val)
{
    const char *q = strstr(tmpl, "%s");

    snprintf(out, len, "%.*s%s%s", (int)(q - tmpl), tmpl, val, q + 2);
}

static const char *member(json_object *e, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : NULL;
}

/* The first error with this code and parameter (param NULL: an error without one). */
static json_object *find_err(json_object *errs, const char *code, const char *param)
{
    for (size_t i = 0; i < json_object_array_length(errs); i++) {
        json_object *e = json_object_array_get_idx(errs, i);
        const char *p = member(e, "parameter");
        if (strcmp(member(e, "code"), code) == 0 &&
            (param ? p && strcmp(p, param) == 0 : p == NULL))
            return e;
    }
    return NULL;
}

static void dump(const char *what, json_object *errs)
{
    fprintf(stderr, "  %s: %s\n", what, json_object_to_json_string_ext(errs, FLAGS));
}

/* Checks an expected error: code, parameter and a message containing msg. */
static int expect_err(json_object *errs, const char *code, const char *param, const char *msg)
{
    json_object *e = find_err(errs, code, param);

    if (!e || (msg && !strstr(member(e, "message"), msg))) {
        fprintf(stderr, "  expected %s at %s with \"%s\"\n", code, param ? param : "(none)",
                msg ? msg : "");
        dump("got", errs);
        return 0;
    }
    return 1;
}

/* ---- exact decimals ----------------------------------------------------------------------- */

static void test_dec_compare(void)
{
    static const struct {
        const char *a, *b;
        int cmp;
    } t[] = {
        {"0", "-0", 0},
        {"0.0", "0e5", 0},
        {"1", "1.0", 0},
        {"1e2", "100", 0},
        {"0.1e1", "1", 0},
        {"10", "9.99", 1},
        {"-4", "-4.01", 1},
        {"-4.01", "-4", -1},
        {"0.07", "0.070", 0},
        {"20.01", "20", 1},
        {"1e-400", "0", 1},
        {"-1e-400", "0", -1},
        {"123456789012345678901234567890", "123456789012345678901234567891", -1},
        {"9223372036854775807", "9223372036854776000", -1},
        {"0.1", "0.09999999999999999999999999999999999999999999999999999", 1},
        {"5", "+5", 0},
        {"1E+2", "100", 0},
        {"2.5", "25e-1", 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_dec a, b;
        RWT_CHECK_INT(rw_dec_parse(&a, t[i].a, strlen(t[i].a)), 0);
        RWT_CHECK_INT(rw_dec_parse(&b, t[i].b, strlen(t[i].b)), 0);
        if (rw_dec_cmp(&a, &b) != t[i].cmp || rw_dec_cmp(&b, &a) != -t[i].cmp) {
            fprintf(stderr, "  %s vs %s\n", t[i].a, t[i].b);
            RWT_CHECK_INT(rw_dec_cmp(&a, &b), t[i].cmp);
        }
        rw_dec_free(&a);
        rw_dec_free(&b);
    }
}

static void test_dec_parse_errors(void)
{
    static const char *const bad[] = {"",         "-",         ".",  "e5",   "1e",   "1e+", "NaN",
                                      "Infinity", "-Infinity", "1x", "0x10", "1..2", " 1",  "1 "};
    struct rw_dec d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rw_dec_parse(&d, bad[i], strlen(bad[i])) != -1) {
            fprintf(stderr, "  \"%s\" parsed\n", bad[i]);
            RWT_CHECK(0);
        }
    }
}

static void test_dec_integer(void)
{
    static const struct {
        const char *s;
        int is_int, fits;
        int64_t v;
    } t[] = {
        {"0", 1, 1, 0},
        {"1.0", 1, 1, 1},
        {"1e2", 1, 1, 100},
        {"1.5", 0, 0, 0},
        {"-7", 1, 1, -7},
        {"9223372036854775807", 1, 1, INT64_MAX},
        {"9223372036854775808", 1, 0, 0},
        {"-9223372036854775808", 1, 1, INT64_MIN},
        {"-9223372036854775809", 1, 0, 0},
        {"1e30", 1, 0, 0},
        {"0.5e1", 1, 1, 5},
        {"12.50e1", 1, 1, 125},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_dec d;
        int64_t v = 42;
        RWT_CHECK_INT(rw_dec_parse(&d, t[i].s, strlen(t[i].s)), 0);
        RWT_CHECK_INT(rw_dec_is_integer(&d), t[i].is_int);
        RWT_CHECK_INT(rw_dec_to_i64(&d, &v), t[i].fits);
        if (t[i].fits)
            RWT_CHECK_INT(v, t[i].v);
        rw_dec_free(&d);
    }
    {
        struct rw_dec d;
        char buf[32];
        rw_dec_from_i64(&d, INT64_MIN);
        RWT_CHECK(d.neg && d.ndig == 19 && d.exp == 0);
        snprintf(buf, sizeof(buf), "%.*s", (int)d.ndig, d.dig);
        RWT_CHECK_STR(buf, "9223372036854775808");
        rw_dec_from_i64(&d, 1200);
        RWT_CHECK(!d.neg && d.ndig == 2 && d.exp == 2);
    }
}

static void test_dec_multiple(void)
{
    static const struct {
        const char *v, *m;
        int yes;
    } t[] = {
        {"0.07", "0.01", 1},
        {"3.505", "0.01", 0},
        {"3.5", "0.01", 1},
        {"20", "0.01", 1},
        {"-4", "0.01", 1},
        {"-4.01", "0.01", 1},
        {"0", "0.01", 1},
        {"1000", "16", 0},
        {"1024", "16", 1},
        {"1e3", "16", 0},
        {"1.6e3", "16", 1},
        {"1.5", "0.1", 1},
        {"1.55", "0.1", 0},
        {"0.3", "0.1", 1},
        {"0.30000000000000004", "0.1", 0},
        {"1e400", "16", 1},
        {"1e-400", "0.01", 0},
        {"2.5", "2.5", 1},
        {"7.5", "2.5", 1},
        {"8", "2.5", 0},
        {"0.070000000000000000000000000000000000000000000000001", "0.01", 0},
        {"123456789012345678901234567890123456789012345678901234567890", "3", 1},
        {"123456789012345678901234567890123456789012345678901234567891", "3", 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_dec v, m;
        struct rw_dec_divisor div;
        RWT_CHECK_INT(rw_dec_parse(&v, t[i].v, strlen(t[i].v)), 0);
        RWT_CHECK_INT(rw_dec_parse(&m, t[i].m, strlen(t[i].m)), 0);
        RWT_CHECK_INT(rw_dec_divisor(&m, &div), 0);
        if (rw_dec_is_multiple(&v, &div) != t[i].yes) {
            fprintf(stderr, "  %s multiple of %s\n", t[i].v, t[i].m);
            RWT_CHECK(0);
        }
        rw_dec_free(&v);
        rw_dec_free(&m);
    }
    {
        struct rw_dec m;
        struct rw_dec_divisor div;
        rw_dec_parse(&m, "-1", 2);
        RWT_CHECK_INT(rw_dec_divisor(&m, &div), -1);
        rw_dec_parse(&m, "0", 1);
        RWT_CHECK_INT(rw_dec_divisor(&m, &div), -1);
        rw_dec_parse(&m, "12345678901234567891", 20);
        RWT_CHECK_INT(rw_dec_divisor(&m, &div), -1);
    }
}

/* ---- regex -------------------------------------------------------------------------------- */

static void test_regex_match(void)
{
    static const struct {
        const char *re, *s;
        int match;
    } t[] = {
        /* the spec's own patterns */
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "civitai:12345@678", 1},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "runware:120@2", 1},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "my-lora.v2", 1},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "a:b/c@d", 1},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "my lora", 0},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "a::b", 0},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", ":b", 0},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "a:", 0},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "", 0},
        {"^[a-zA-Z0-9._-]+(:[a-zA-Z0-9._/@-]+)?$", "a\nb", 0},
        {"^data:image\\/[a-zA-Z]+;base64,[a-zA-Z0-9+/=]+$", "data:image/png;base64,iVBORw0K", 1},
        {"^data:image\\/[a-zA-Z]+;base64,[a-zA-Z0-9+/=]+$", "data:image/png;base64,", 0},
        {"^data:image\\/[a-zA-Z]+;base64,[a-zA-Z0-9+/=]+$", "data:text/png;base64,AAAA", 0},
        {"^[a-zA-Z0-9+/=]+$", "iVBORw0KGgo=", 1},
        {"^[a-zA-Z0-9+/=]+$", "iVBOR w0K", 0},
        /* search semantics: unanchored finds a substring; $ only at the very end */
        {"b+", "aaabbbccc", 1},
        {"^b", "ab", 0},
        {"a$", "a\n", 0},
        {"a|b", "xxb", 1},
        {"^(ab|cd)*$", "abcdab", 1},
        {"^(ab|cd)*$", "abc", 0},
        {"^(?:a|b){2,3}$", "ab", 1},
        {"^(?:a|b){2,3}$", "abab", 0},
        {"^a{3}$", "aaa", 1},
        {"^a{3}$", "aa", 0},
        {"^a{2,}$", "aaaaa", 1},
        {"^a{2,}$", "a", 0},
        {"^a+?b*?$", "aab", 1},
        {"^.$", "\xc3\xa9", 1}, /* one code point, two bytes */
        {"^.{2}$", "\xf0\x9f\x98\x80x", 1},
        {"^.$", "\n", 0},
        {"^\\d+$", "0123456789", 1},
        {"^\\d+$", "12a", 0},
        {"^\\D+$", "abc", 1},
        {"^\\w+$", "a_B9", 1},
        {"^\\W$", "-", 1},
        {"^\\s$", "\t", 1},
        {"^\\S+$", "ab", 1},
        {"^[\\d-]+$", "12-3", 1},
        {"^[\\d-z]+$", "1-z", 1},
        {"^[\\d-z]+$", "y", 0},
        {"^[^a-c]+$", "xyz", 1},
        {"^[^a-c]+$", "xaz", 0},
        {"^[\\u00e0-\\u00ff]$", "\xc3\xa9", 1},
        {"^\\x41\\u0042\\u{43}$", "ABC", 1},
        {"^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\/\\^\\$$", ".*+?()[]{}|\\/^$", 1},
        {"^\\t\\n$", "\t\n", 1},
        {"^[]$", "a", 0},
        {"^[^]$", "a", 1},
        {"(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", 0},
        {"", "anything", 1},
        {"^$", "", 1},
        {"x*", "", 1},
        {"^[a-z]+$", "abc\xff", 0}, /* an invalid byte matches no ASCII class */
        {"^[^a-z]$", "\xff", 1},
        {"^\\uD83D\\uDE00$", "\xf0\x9f\x98\x80", 1},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char err[200];
        struct rw_regex *rx = rw_regex_compile(t[i].re, strlen(t[i].re), err, sizeof(err));
        if (!rx) {
            fprintf(stderr, "  /%s/: %s\n", t[i].re, err);
            RWT_CHECK(0);
            continue;
        }
        if (rw_regex_match(rx, t[i].s, strlen(t[i].s)) != t[i].match) {
            fprintf(stderr, "  /%s/ on \"%s\" expected %d\n", t[i].re, t[i].s, t[i].match);
            RWT_CHECK(0);
        }
        rw_regex_free(rx);
    }
}

static void test_regex_compile_errors(void)
{
    static const struct {
        const char *re, *msg;
    } t[] = {
        {"(a", "missing )"},          {"a)", "unmatched )"},
        {"[a-", "unterminated"},      {"[z-a]", "out of order"},
        {"*a", "nothing to repeat"},  {"a**", "nothing to repeat"},
        {"^*", "nothing to repeat"},  {"a{2,1}", "m < n"},
        {"a{1001}", "over 1000"},     {"a{x}", "quantifier"},
        {"(?=a)", "lookaround"},      {"(?<n>a)", "named groups"},
        {"(a)\\1", "backreferences"}, {"\\bfoo", "word boundaries"},
        {"\\p{L}", "property"},       {"\\q", "unknown escape"},
        {"a\\", "backslash"},         {"[a-\\d]", "cannot end a range"},
        {"\\x4", "two hex"},          {"\xff", "UTF-8"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char err[200] = "";
        struct rw_regex *rx = rw_regex_compile(t[i].re, strlen(t[i].re), err, sizeof(err));
        if (rx || !strstr(err, t[i].msg)) {
            fprintf(stderr, "  /%s/: \"%s\" (wanted \"%s\")\n", t[i].re, err, t[i].msg);
            RWT_CHECK(0);
        }
        rw_regex_free(rx);
    }
    {
        /* The NFA size limit: a large bounded repeat of a large group. */
        char err[200];
        const char *re = "(abcdefghij){1000}";
        RWT_CHECK(rw_regex_compile(re, strlen(re), err, sizeof(err)) == NULL);
        RWT_CHECK(strstr(err, "too large") != NULL);
    }
}

static void test_regex_linear_time(void)
{
    /* (a|aa)*b on a long run of a's is exponential for a backtracker. */
    char err[200], *s = malloc(200001);
    struct rw_regex *rx = rw_regex_compile("^(a|aa)*(a|aa)*b$", 17, err, sizeof(err));

    RWT_CHECK(rx != NULL && s != NULL);
    if (!rx || !s)
        goto out;
    memset(s, 'a', 200000);
    s[200000] = '\0';
    RWT_CHECK_INT(rw_regex_match(rx, s, 200000), 0);
    s[199999] = 'b';
    RWT_CHECK_INT(rw_regex_match(rx, s, 200000), 1);
out:
    rw_regex_free(rx);
    free(s);
}

/* ---- formats ------------------------------------------------------------------------------ */

static void test_formats(void)
{
    static const struct {
        const char *s;
        int uuid, uri;
    } t[] = {
        {U1, 1, 0},
        {"C64351D5-4C59-42F7-95E1-EACE013EDDAB", 1, 0},
        {"c64351d54c5942f795e1eace013eddab", 0, 0},
        {"c64351d5-4c59-42f7-95e1-eace013eddag", 0, 0},
        {"c64351d5-4c59-42f7-95e1-eace013edda", 0, 0},
        {"https://example.com/a.png", 0, 1},
        {"https://user:pw@example.com:8443/a/b?x=1&y=%20#frag", 0, 1},
        {"http://[::1]:80/", 0, 1},
        {"http://[]/", 0, 0},
        {"urn:uuid:" U1, 0, 1},
        {"data:image/png;base64,iVBORw0K", 0, 1},
        {"s3://bucket/key", 0, 1},
        {"a:", 0, 1},
        {"//example.com/a.png", 0, 0},
        {"/relative/path", 0, 0},
        {"example.com/a.png", 0, 0},
        {"1http://x", 0, 0},
        {"http://exa mple.com/", 0, 0},
        {"http://example.com/a b", 0, 0},
        {"http://example.com/%zz", 0, 0},
        {"http://example.com/%4", 0, 0},
        {"http://example.com:80a/", 0, 0},
        {"http://example.com/#a#b", 0, 0},
        {"http://example.com/\xc3\xa9", 0, 0},
        {"http://exa[mple.com/", 0, 0},
        {"", 0, 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (rw_format_uuid(t[i].s, strlen(t[i].s)) != t[i].uuid ||
            rw_format_uri(t[i].s, strlen(t[i].s)) != t[i].uri) {
            fprintf(stderr, "  \"%s\" uuid %d uri %d\n", t[i].s, t[i].uuid, t[i].uri);
            RWT_CHECK(0);
        }
    }
}

/* ---- keywords, on small bare schemas ------------------------------------------------------ */

struct kwcase {
    const char *schema;
    const char *instance;
    int nerr;          /* violations expected */
    const char *code;  /* the first expected error, when nerr > 0 */
    const char *param; /* its parameter (NULL: none) */
    const char *msg;   /* a substring of its message */
};

static void run_kwcases(const struct kwcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char err[512];
        struct rw_schema *s = load_text(t[i].schema, err, sizeof(err));
        json_object *errs = NULL;
        int got;

        if (!s) {
            fprintf(stderr, "  case %zu: schema %s: %s\n", i, t[i].schema, err);
            RWT_CHECK(0);
            continue;
        }
        got = run(s, t[i].instance, &errs);
        if (got != t[i].nerr) {
            fprintf(stderr, "  case %zu: %s on %s: %d errors, expected %d\n", i, t[i].schema,
                    t[i].instance, got, t[i].nerr);
            dump("got", errs);
            RWT_CHECK(0);
        } else if (t[i].nerr > 0 && !expect_err(errs, t[i].code, t[i].param, t[i].msg)) {
            fprintf(stderr, "  case %zu: %s on %s\n", i, t[i].schema, t[i].instance);
            RWT_CHECK(0);
        }
        json_object_put(errs);
        rw_schema_free(s);
    }
}

#define INV "invalidParameter"
#define MIS "missingParameter"
#define UNK "unknownParameter"
#define CON "conflictingParameters"

static void test_kw_type_const_enum(void)
{
    static const struct kwcase t[] = {
        {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":\"x\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":5}", 1, INV, "a",
         "a 5 is a number; expected a string"},
        {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":\"5\"}", 1, INV, "a",
         "a \"5\" is a string; expected an integer"},
        {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":5.5}", 1, INV, "a",
         "a 5.5 is not an integer"},
        {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":1.0}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":1e2}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":{}}", 1, INV, "a",
         "a is an object; expected an integer"},
        {"{\"properties\":{\"a\":{\"type\":\"number\"}}}", "{\"a\":7}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":\"number\"}}}", "{\"a\":true}", 1, INV, "a",
         "a true is a boolean; expected a number"},
        {"{\"properties\":{\"a\":{\"type\":\"boolean\"}}}", "{\"a\":\"true\"}", 1, INV, "a",
         "expected a boolean"},
        {"{\"properties\":{\"a\":{\"type\":\"object\"}}}", "{\"a\":[]}", 1, INV, "a",
         "a is an array; expected an object"},
        {"{\"properties\":{\"a\":{\"type\":\"array\"}}}", "{\"a\":null}", 1, INV, "a",
         "a is null; expected an array"},
        {"{\"properties\":{\"a\":{\"type\":\"null\"}}}", "{\"a\":null}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}}}", "{\"a\":null}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}}}", "{\"a\":1}", 1, INV, "a",
         "expected a string or null"},
        {"{\"properties\":{\"a\":{\"type\":\"string\",\"nullable\":true}}}", "{\"a\":null}", 0, 0,
         0, 0},
        {"{\"type\":\"object\"}", "[]", 1, INV, NULL, "the task is an array; expected an object"},
        {"{\"properties\":{\"a\":{\"const\":\"x\"}}}", "{\"a\":\"x\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"const\":\"x\"}}}", "{\"a\":\"y\"}", 1, INV, "a",
         "a \"y\" must be \"x\""},
        {"{\"properties\":{\"a\":{\"const\":4}}}", "{\"a\":4.0}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"const\":{\"k\":[1,2]}}}}", "{\"a\":{\"k\":[1,2]}}", 0, 0, 0, 0},
        {"{\"properties\":{\"a\":{\"const\":{\"k\":[1,2]}}}}", "{\"a\":{\"k\":[2,1]}}", 1, INV, "a",
         "must be {\"k\":[1,2]}"},
        {"{\"properties\":{\"a\":{\"const\":null}}}", "{\"a\":0}", 1, INV, "a", "must be null"},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\",4,true,null]}}}", "{\"a\":\"y\"}", 0, 0, 0,
         0},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\",4,true,null]}}}", "{\"a\":4.00}", 0, 0, 0,
         0},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\",4,true,null]}}}", "{\"a\":null}", 0, 0, 0,
         0},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\",4,true,null]}}}", "{\"a\":false}", 1, INV,
         "a", "a false is not one of \"x\", \"y\", 4, true, null"},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\"]}}}", "{\"a\":\"X\"}", 1, INV, "a",
         "is not one of"},
        {"{\"properties\":{\"a\":{\"enum\":[\"x\\u0000y\"]}}}", "{\"a\":\"x\"}", 1, INV, "a", 0},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_kw_numbers(void)
{
    static const struct kwcase t[] = {
        {"{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":5}}}", "{\"n\":1}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":5}}}", "{\"n\":5}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":5}}}", "{\"n\":0.999}", 1, INV, "n",
         "n 0.999 is less than the minimum 1"},
        {"{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":5}}}", "{\"n\":5.0001}", 1, INV, "n",
         "n 5.0001 is greater than the maximum 5"},
        {"{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":5}}}", "{\"n\":\"9\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"exclusiveMinimum\":0}}}", "{\"n\":0}", 1, INV, "n",
         "n 0 must be greater than 0"},
        {"{\"properties\":{\"n\":{\"exclusiveMinimum\":0}}}", "{\"n\":1e-9}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"exclusiveMaximum\":1}}}", "{\"n\":1.0}", 1, INV, "n",
         "n 1.0 must be less than 1"},
        {"{\"properties\":{\"n\":{\"multipleOf\":0.25}}}", "{\"n\":1.75}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"multipleOf\":0.25}}}", "{\"n\":1.7}", 1, INV, "n",
         "n 1.7 is not a multiple of 0.25"},
        {"{\"properties\":{\"n\":{\"multipleOf\":3}}}", "{\"n\":-9}", 0, 0, 0, 0},
        {"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":9223372036854775807}", 0, 0, 0,
         0},
        {"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":9223372036854775808}", 1, INV,
         "n", "outside the 64-bit integer range"},
        {"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":1e19}", 1, INV, "n",
         "outside the 64-bit integer range"},
        {"{\"properties\":{\"n\":{\"type\":\"number\"}}}", "{\"n\":18446744073709551616}", 1, INV,
         "n", "outside the 64-bit integer range"},
        {"{\"properties\":{\"n\":{\"type\":\"number\"}}}", "{\"n\":-9223372036854775809}", 1, INV,
         "n", "outside the 64-bit integer range"},
        {"{\"properties\":{\"n\":{\"type\":\"number\"}}}", "{\"n\":1e999}", 1, INV, "n",
         "not a finite number"},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_kw_strings(void)
{
    static const struct kwcase t[] = {
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"ab\"}", 0, 0, 0,
         0},
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"a\"}", 1, INV, "s",
         "s is 1 character long; the minimum is 2"},
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"abcd\"}", 1, INV,
         "s", "s is 4 characters long; the maximum is 3"},
        /* code points, not bytes: e-acute is 2 bytes, the emoji 4 (a surrogate pair in JSON) */
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"\\u00e9\\u00e9\"}",
         0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"\\ud83d\\ude00\"}",
         1, INV, "s", "1 character long"},
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}",
         "{\"s\":\"\\u00e9\\u00e9\\u00e9\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}",
         "{\"s\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}", 1, INV, "s", "4 characters long"},
        {"{\"properties\":{\"s\":{\"minLength\":2}}}", "{\"s\":\"a\\u0000\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"pattern\":\"^a+$\"}}}", "{\"s\":\"aaa\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"pattern\":\"^a+$\"}}}", "{\"s\":\"aab\"}", 1, INV, "s",
         "s \"aab\" does not match the pattern /^a+$/"},
        {"{\"properties\":{\"s\":{\"pattern\":\"^a+$\"}}}", "{\"s\":\"a\\u0000\"}", 1, INV, "s",
         "\\u0000"},
        {"{\"properties\":{\"s\":{\"pattern\":\"b\"}}}", "{\"s\":\"abc\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"pattern\":\"^a+$\"}}}", "{\"s\":5}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"format\":\"uuid\"}}}", "{\"s\":\"" U1 "\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"format\":\"uuid\"}}}", "{\"s\":\"abc\"}", 1, INV, "s",
         "s \"abc\" is not a UUID"},
        {"{\"properties\":{\"s\":{\"format\":\"uri\"}}}", "{\"s\":\"https://x/y\"}", 0, 0, 0, 0},
        {"{\"properties\":{\"s\":{\"format\":\"uri\"}}}", "{\"s\":\"x/y\"}", 1, INV, "s",
         "is not an absolute URI"},
        {"{\"properties\":{\"s\":{\"format\":\"date-time\"}}}", "{\"s\":\"whenever\"}", 0, 0, 0, 0},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_kw_objects_arrays(void)
{
    static const struct kwcase t[] = {
        {"{\"required\":[\"a\",\"b\"]}", "{\"a\":1,\"b\":2}", 0, 0, 0, 0},
        {"{\"required\":[\"a\",\"b\"]}", "{}", 2, MIS, "b", "b is required"},
        {"{\"properties\":{\"o\":{\"required\":[\"x\"]}}}", "{\"o\":{}}", 1, MIS, "o.x",
         "o.x is required"},
        {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1,\"b\":2}", 1, UNK,
         "b", "b is not a known parameter"},
        {"{\"properties\":{\"Width\":{}},\"additionalProperties\":false}", "{\"width\":1}", 1, UNK,
         "width", "(did you mean Width?)"},
        {"{\"additionalProperties\":false}", "{\"a.b\":1}", 1, UNK, "[\"a.b\"]", 0},
        {"{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":1,\"b\":\"x\"}", 1, INV, "b",
         "expected an integer"},
        {"{\"properties\":{\"a\":false}}", "{\"a\":1}", 1, UNK, "a", "a is not allowed"},
        {"{\"properties\":{\"a\":true}}", "{\"a\":1}", 0, 0, 0, 0},
        {"{\"dependentRequired\":{\"w\":[\"h\"]}}", "{\"w\":1,\"h\":1}", 0, 0, 0, 0},
        {"{\"dependentRequired\":{\"w\":[\"h\"]}}", "{\"h\":1}", 0, 0, 0, 0},
        {"{\"dependentRequired\":{\"w\":[\"h\"]}}", "{\"w\":1}", 1, CON, "w",
         "w requires h, which is missing"},
        {"{\"minProperties\":1,\"maxProperties\":2}", "{}", 1, INV, NULL,
         "the task has 0 members; the minimum is 1"},
        {"{\"minProperties\":1,\"maxProperties\":2}", "{\"a\":1,\"b\":2,\"c\":3}", 1, INV, NULL,
         "the maximum is 2"},
        {"{\"properties\":{\"l\":{\"items\":{\"type\":\"string\"}}}}", "{\"l\":[\"a\",1,\"b\",2]}",
         2, INV, "l[3]", "l[3] 2 is a number; expected a string"},
        {"{\"properties\":{\"l\":{\"minItems\":1,\"maxItems\":2}}}", "{\"l\":[]}", 1, INV, "l",
         "l has 0 items; the minimum is 1"},
        {"{\"properties\":{\"l\":{\"minItems\":1,\"maxItems\":2}}}", "{\"l\":[1,2,3]}", 1, INV, "l",
         "l has 3 items; the maximum is 2"},
        {"{\"properties\":{\"l\":{\"uniqueItems\":true}}}", "{\"l\":[1,2,1]}", 1, INV, "l",
         "duplicate items (0 and 2)"},
        {"{\"properties\":{\"l\":{\"uniqueItems\":true}}}", "{\"l\":[1,2,3]}", 0, 0, 0, 0},
        {"{\"properties\":{\"l\":{\"items\":false}}}", "{\"l\":[1]}", 1, INV, "l[0]",
         "l[0] is not allowed"},
        {"{\"properties\":{\"l\":{\"items\":false}}}", "{\"l\":[]}", 0, 0, 0, 0},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_kw_combinators(void)
{
    static const struct kwcase t[] = {
        {"{\"allOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{}", 2, MIS, "a", 0},
        {"{\"properties\":{\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}}}",
         "{\"v\":3}", 0, 0, 0, 0},
        {"{\"properties\":{\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}}}",
         "{\"v\":3.5}", 1, INV, "v",
         "v 3.5 matches none of its alternatives: a string or an integer"},
        /* oneOf: exactly one; 6 is a multiple of both 2 and 3 */
        {"{\"properties\":{\"v\":{\"oneOf\":[{\"multipleOf\":2},{\"multipleOf\":3}]}}}",
         "{\"v\":4}", 0, 0, 0, 0},
        {"{\"properties\":{\"v\":{\"oneOf\":[{\"multipleOf\":2},{\"multipleOf\":3}]}}}",
         "{\"v\":6}", 1, INV, "v", "matches more than one of"},
        {"{\"properties\":{\"v\":{\"oneOf\":[{\"multipleOf\":2},{\"multipleOf\":3}]}}}",
         "{\"v\":5}", 1, INV, "v", "matches none of its alternatives"},
        /* const alternatives report like an enum */
        {"{\"properties\":{\"m\":{\"oneOf\":[{\"const\":\"a\",\"title\":\"A\"},{\"const\":\"b\"}]}}"
         "}",
         "{\"m\":\"c\"}", 1, INV, "m", "m \"c\" is not one of \"a\", \"b\""},
        {"{\"properties\":{\"m\":{\"anyOf\":[{\"const\":\"a\"},{\"const\":\"b\"}]}}}",
         "{\"m\":\"b\"}", 0, 0, 0, 0},
        /* one alternative takes objects: its own errors, with their paths */
        {"{\"properties\":{\"h\":{\"oneOf\":[{\"const\":true},{\"type\":\"object\",\"required\":["
         "\"m\"]}"
         "]}}}",
         "{\"h\":{}}", 1, MIS, "h.m", "h.m is required"},
        {"{\"properties\":{\"h\":{\"oneOf\":[{\"type\":\"boolean\",\"const\":true},{\"type\":"
         "\"object\"}]}}}",
         "{\"h\":false}", 1, INV, "h",
         "h false matches none of its alternatives: true or an object"},
        /* forms: one error naming them all */
        {"{\"properties\":{\"i\":{\"type\":\"string\",\"anyOf\":[{\"format\":\"uuid\"},{"
         "\"pattern\":"
         "\"^x+$\"}]}}}",
         "{\"i\":\"y\"}", 1, INV, "i",
         "i \"y\" is none of the accepted forms: a UUID or a string matching /^x+$/"},
        {"{\"properties\":{\"i\":{\"type\":\"string\",\"anyOf\":[{\"format\":\"uuid\"},{"
         "\"pattern\":"
         "\"^x+$\"}]}}}",
         "{\"i\":\"xx\"}", 0, 0, 0, 0},
        {"{\"not\":{\"required\":[\"a\",\"b\"]}}", "{\"a\":1}", 0, 0, 0, 0},
        {"{\"not\":{\"required\":[\"a\",\"b\"]}}", "{\"a\":1,\"b\":2}", 1, CON, "b",
         "a and b cannot be used together"},
        {"{\"properties\":{\"o\":{\"not\":{\"required\":[\"a\",\"b\",\"c\"]}}}}",
         "{\"o\":{\"a\":1,\"b\":2,\"c\":3}}", 1, CON, "o.c", "o.a, o.b and o.c cannot be used"},
        {"{\"properties\":{\"v\":{\"not\":{\"type\":\"string\"}}}}", "{\"v\":\"s\"}", 1, INV, "v",
         "matches a schema it must not match"},
        {"{\"if\":{\"properties\":{\"t\":{\"const\":\"e\"}}},\"then\":{\"required\":[\"m\"]},"
         "\"else\":{\"properties\":{\"m\":false}}}",
         "{\"t\":\"e\",\"m\":1}", 0, 0, 0, 0},
        {"{\"if\":{\"properties\":{\"t\":{\"const\":\"e\"}}},\"then\":{\"required\":[\"m\"]},"
         "\"else\":{\"properties\":{\"m\":false}}}",
         "{\"t\":\"e\"}", 1, MIS, "m", "m is required when t is \"e\" or not given"},
        {"{\"if\":{\"properties\":{\"t\":{\"const\":\"e\"}}},\"then\":{\"required\":[\"m\"]},"
         "\"else\":{\"properties\":{\"m\":false}}}",
         "{\"t\":\"p\",\"m\":1}", 1, CON, "m", "m is not allowed when t is not \"e\""},
        {"{\"if\":{\"properties\":{\"t\":{\"const\":\"e\"}},\"required\":[\"t\"]},\"then\":{"
         "\"required\":[\"m\"]}}",
         "{\"t\":\"e\"}", 1, MIS, "m", "m is required when t is \"e\""},
        {"{\"if\":{\"properties\":{\"t\":{\"const\":\"e\"}},\"required\":[\"t\"]},\"then\":{"
         "\"required\":[\"m\"]}}",
         "{}", 0, 0, 0, 0},
        {"{\"if\":{\"minProperties\":2},\"then\":{\"required\":[\"z\"]}}", "{\"a\":1,\"b\":2}", 1,
         MIS, "z", "z is required"},
        {"true", "{\"anything\":[1,2]}", 0, 0, 0, 0},
        {"false", "{}", 1, INV, NULL, "the task is not allowed"},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_kw_ref(void)
{
    static const struct kwcase t[] = {
        {"{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},\"properties\":{\"a\":{\"$"
         "ref\":"
         "\"#/$defs/pos\"},\"b\":{\"$ref\":\"#/$defs/pos\"}}}",
         "{\"a\":1,\"b\":0}", 1, INV, "b", "b 0 is less than the minimum 1"},
        /* a recursive schema: a tree of named nodes */
        {"{\"$defs\":{\"node\":{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
         "\"name\":"
         "{\"type\":\"string\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/"
         "node\"}}},"
         "\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}",
         "{\"name\":\"r\",\"kids\":[{\"name\":\"a\"},{\"name\":\"b\",\"kids\":[{\"nom\":1}]}]}", 2,
         MIS, "kids[1].kids[0].name", 0},
        /* JSON pointer escapes: ~1 is '/', ~0 is '~', %25 is '%' */
        {"{\"$defs\":{\"a/b\":{\"const\":1},\"c~d\":{\"const\":2},\"e%f\":{\"const\":3}},"
         "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~1b\"},\"y\":{\"$ref\":\"#/$defs/c~0d\"},"
         "\"z\":{\"$ref\":\"#/$defs/e%25f\"}}}",
         "{\"x\":1,\"y\":2,\"z\":4}", 1, INV, "z", "must be 3"},
        {"{\"$defs\":{\"l\":[{\"const\":7}]},\"properties\":{\"x\":{\"$ref\":\"#/$defs/l/0\"}}}",
         "{\"x\":8}", 1, INV, "x", "must be 7"},
        /* a loop that consumes nothing is cut off, not followed forever */
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", "{}", 1, INV, NULL,
         "nested too deeply"},
    };

    run_kwcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_load_errors(void)
{
    static const struct {
        const char *text, *msg;
    } t[] = {
        {"{", "not valid JSON"},
        {"{} x", "not valid JSON"},
        {"{\"type\":\"strin\"}", "#/type: unknown type \"strin\""},
        {"{\"properties\":{\"a\":{\"pattern\":\"(x\"}}}", "#/properties/a/pattern: pattern /(x/"},
        {"{\"patternProperties\":{}}", "keyword \"patternProperties\" is not supported"},
        {"{\"items\":[{}]}", "tuple validation"},
        {"{\"$ref\":\"other.json#/a\"}", "only references within the document"},
        {"{\"$ref\":\"#/nowhere\"}", "does not resolve"},
        {"{\"minimum\":\"1\"}", "#/minimum: must be a number"},
        {"{\"minLength\":-1}", "must be a non-negative integer"},
        {"{\"multipleOf\":0}", "multipleOf must be positive"},
        {"{\"required\":[1]}", "property names"},
        {"{\"anyOf\":[]}", "non-empty array"},
        {"{\"properties\":{\"a\":5}}", "#/properties/a: a schema must be an object or a boolean"},
        {"{\"exclusiveMinimum\":true}", "draft 4"},
        {"{\"const\":1,\"enum\":[1]}", "const and enum"},
        {"{\"openapi\":\"3.1.0\",\"components\":{\"schemas\":{}}}",
         "components.schemas.RequestBody"},
        {"{\"openapi\":\"3.1.0\",\"components\":{\"schemas\":{\"RequestBody\":{\"type\":\"array\"}}"
         "}}",
         "RequestBody must be an array schema with items"},
        {"{\"openapi\":\"3.1.0\",\"components\":{\"schemas\":{\"RequestBody\":{\"items\":{"
         "\"properties\":{\"w\":{\"maximum\":\"x\"}}}}}}}",
         "#/components/schemas/RequestBody/items/properties/w/maximum: must be a number"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char err[512] = "";
        struct rw_schema *s = load_text(t[i].text, err, sizeof(err));
        if (s || !strstr(err, t[i].msg)) {
            fprintf(stderr, "  %s: \"%s\" (wanted \"%s\")\n", t[i].text, err, t[i].msg);
            RWT_CHECK(0);
        }
        rw_schema_free(s);
    }
    {
        char err[512];
        RWT_CHECK(rw_schema_load("/nonexistent/spec.json", err, sizeof(err)) == NULL);
        RWT_CHECK(strstr(err, "/nonexistent/spec.json: cannot open") != NULL);
    }
}

static void test_openapi_refs(void)
{
    /* RequestBody and its items given by reference, resolved against the whole document. */
    const char *doc =
        "{\"openapi\":\"3.1.0\",\"components\":{\"schemas\":{"
        "\"RequestBody\":{\"$ref\":\"#/components/schemas/Body\"},"
        "\"Body\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Task\"}},"
        "\"Task\":{\"type\":\"object\",\"required\":[\"p\"],\"properties\":{\"p\":{\"type\":"
        "\"string\"}},\"additionalProperties\":false}}}}";
    char err[512];
    struct rw_schema *s = load_text(doc, err, sizeof(err));
    json_object *errs;

    RWT_CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    RWT_CHECK_INT(run(s, "{\"p\":\"x\"}", &errs), 0);
    json_object_put(errs);
    RWT_CHECK_INT(run(s, "{\"q\":1}", &errs), 2);
    RWT_CHECK(expect_err(errs, MIS, "p", "p is required"));
    RWT_CHECK(expect_err(errs, UNK, "q", NULL));
    json_object_put(errs);
    rw_schema_free(s);
}

/* ---- the shipped spec --------------------------------------------------------------------- */

/* A valid task using every feature the spec has (acePlusPlus aside: see test_spec_ace). */
static const char full_task[] =
    "{" BASE ",\"positivePrompt\":\"a portrait of an astronaut, (detailed)1.2\","
    "\"negativePrompt\":\"blurry, low quality\",\"width\":1024,\"height\":768,"
    "\"seed\":9223372036854775807,\"steps\":28,\"scheduler\":\"DPM++ 2M Karras\","
    "\"CFGScale\":3.5,\"strength\":0.75,\"maskMargin\":64,\"promptWeighting\":\"compel\","
    "\"inputs\":{\"seedImage\":\"https://example.com/seed.png\",\"maskImage\":\"" U2 "\"},"
    "\"acceleratorOptions\":{\"cacheStartStep\":2,\"cacheEndStep\":20,"
    "\"cacheMaxConsecutiveSteps\":3,\"fbCache\":true,\"fbCacheThreshold\":0.25,"
    "\"teaCache\":false,\"teaCacheDistance\":0.5,\"dbCache\":false,\"dbCacheThreshold\":0.3,"
    "\"dbCacheSkipInterval\":5},"
    "\"outpaint\":{\"top\":0,\"bottom\":64,\"left\":32,\"right\":32},"
    "\"lora\":[{\"model\":\"civitai:58390@62833\",\"weight\":0.8,\"transformer\":\"both\"},"
    "{\"model\":\"runware:120@2\",\"weight\":-1.25}],"
    "\"controlNet\":[{\"model\":\"runware:25@1\",\"guideImage\":\"data:image/png;base64,iVBORw0KGgo"
    "=\",\"weight\":0.7,\"startStep\":0,\"endStep\":20,\"controlMode\":\"controlnet\"},"
    "{\"model\":\"runware:26@1\",\"guideImage\":\"iVBORw0KGgoAAAANSUhEUg==\","
    "\"startStepPercentage\":10,\"endStepPercentage\":90}],"
    "\"ipAdapters\":[{\"model\":\"runware:55@1\",\"guideImages\":[\"" U1 "\"],\"weight\":0.75,"
    "\"combineMethod\":\"average\",\"embedScaling\":\"kv\",\"weightType\":\"style_transfer\","
    "\"weightComposition\":0.5}],"
    "\"hiresFix\":{\"model\":\"runware:esrgan@ultrasharp\",\"steps\":15,\"strength\":0.6,"
    "\"upscaleFactor\":4},"
    "\"layerDiffuse\":true,"
    "\"pulid\":{\"images\":[\"" U1 "\"],\"idWeight\":1,\"trueCFGScale\":1.5,\"CFGstartStep\":3},"
    "\"trueCFGScale\":2.25,"
    "\"ultralytics\":{\"CFGScale\":8,\"confidence\":0.9,\"maskBlur\":5,\"maskPadding\":5,"
    "\"negativePrompt\":\"bad\",\"positivePrompt\":\"face\",\"steps\":20,\"strength\":0.3},"
    "\"includeCost\":true,\"numberResults\":4,"
    "\"uploadEndpoint\":\"https://bucket.s3.amazonaws.com/out.png?X-Amz-Signature=abc123\","
    "\"ttl\":3600,\"outputType\":\"URL\",\"outputFormat\":\"PNG\",\"outputQuality\":95,"
    "\"safety\":{\"checkContent\":true,\"mode\":\"fast\"},"
    "\"deliveryMethod\":\"async\",\"webhookURL\":\"https://hooks.example.com/runware?t=abc\"}";

static void test_spec_full_valid(void)
{
    struct rw_schema *s = load_spec();
    json_object *errs;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    if (run(s, full_task, &errs) != 0) {
        dump("full task", errs);
        RWT_CHECK(0);
    }
    json_object_put(errs);
    /* the minimal task runwared submits */
    RWT_CHECK_INT(run_task(s, "", &errs), 0);
    json_object_put(errs);
    rw_schema_free(s);
}

/* One table row: frag added to a valid task; nerr violations; the expected one (if any). */
struct spcase {
    const char *frag;
    int nerr;
    const char *code, *param, *msg;
};

static void run_spcases(const struct spcase *t, size_t n)
{
    struct rw_schema *s = load_spec();

    RWT_CHECK(s != NULL);
    for (size_t i = 0; s && i < n; i++) {
        json_object *errs;
        int got = run_task(s, t[i].frag, &errs);
        if (got != t[i].nerr) {
            fprintf(stderr, "  {%s}: %d errors, expected %d\n", t[i].frag, got, t[i].nerr);
            dump("got", errs);
            RWT_CHECK(0);
        } else if (t[i].code && !expect_err(errs, t[i].code, t[i].param, t[i].msg)) {
            fprintf(stderr, "  {%s}\n", t[i].frag);
            RWT_CHECK(0);
        }
        json_object_put(errs);
    }
    rw_schema_free(s);
}

/* Each numeric range of the spec at its four edges: both bounds accepted, one step past each
 * refused with a message naming the bound. */
static void test_spec_ranges(void)
{
    static const struct {
        const char *tmpl; /* %s: the value */
        const char *param;
        const char *lo, *below, *hi, *above; /* hi/above NULL: no maximum */
        int base;                            /* errors the template itself causes */
    } t[] = {
        {"\"width\":%s,\"height\":512", "width", "128", "112", "2048", "2064", 0},
        {"\"height\":%s,\"width\":512", "height", "128", "112", "2048", "2064", 0},
        {"\"seed\":%s", "seed", "0", "-1", "9223372036854775807", "9223372036854775808", 0},
        {"\"steps\":%s", "steps", "1", "0", "50", "51", 0},
        {"\"CFGScale\":%s", "CFGScale", "0", "-0.01", "20", "20.01", 0},
        {"\"strength\":%s", "strength", "0", "-0.01", "1", "1.01", 0},
        {"\"maskMargin\":%s", "maskMargin", "32", "31", "128", "129", 0},
        {"\"numberResults\":%s", "numberResults", "1", "0", "20", "21", 0},
        {"\"ttl\":%s", "ttl", "60", "59", NULL, NULL, 0},
        {"\"outputQuality\":%s", "outputQuality", "20", "19", "99", "100", 0},
        {"\"acceleratorOptions\":{\"cacheEndStep\":%s}", "acceleratorOptions.cacheEndStep", "1",
         "0", NULL, NULL, 0},
        {"\"acceleratorOptions\":{\"cacheEndStepPercentage\":%s}",
         "acceleratorOptions.cacheEndStepPercentage", "1", "0", "100", "101", 0},
        {"\"acceleratorOptions\":{\"cacheMaxConsecutiveSteps\":%s}",
         "acceleratorOptions.cacheMaxConsecutiveSteps", "1", "0", "5", "6", 0},
        {"\"acceleratorOptions\":{\"cacheStartStep\":%s}", "acceleratorOptions.cacheStartStep", "0",
         "-1", NULL, NULL, 0},
        {"\"acceleratorOptions\":{\"cacheStartStepPercentage\":%s}",
         "acceleratorOptions.cacheStartStepPercentage", "0", "-1", "99", "100", 0},
        {"\"acceleratorOptions\":{\"fbCacheThreshold\":%s}", "acceleratorOptions.fbCacheThreshold",
         "0", "-0.01", "1", "1.01", 0},
        {"\"acceleratorOptions\":{\"teaCacheDistance\":%s}", "acceleratorOptions.teaCacheDistance",
         "0", "-0.01", "1", "1.01", 0},
        {"\"acceleratorOptions\":{\"dbCacheThreshold\":%s}", "acceleratorOptions.dbCacheThreshold",
         "0", "-0.01", "1", "1.01", 0},
        {"\"acceleratorOptions\":{\"dbCacheSkipInterval\":%s}",
         "acceleratorOptions.dbCacheSkipInterval", "1", "0", NULL, NULL, 0},
        {"\"outpaint\":{\"top\":%s}", "outpaint.top", "0", "-1", NULL, NULL, 0},
        {"\"outpaint\":{\"bottom\":%s}", "outpaint.bottom", "0", "-1", NULL, NULL, 0},
        {"\"outpaint\":{\"left\":%s}", "outpaint.left", "0", "-1", NULL, NULL, 0},
        {"\"outpaint\":{\"right\":%s}", "outpaint.right", "0", "-1", NULL, NULL, 0},
        {"\"lora\":[{\"model\":\"a\",\"weight\":%s}]", "lora[0].weight", "-4", "-4.01", "4", "4.01",
         0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"weight\":%s}]",
         "controlNet[0].weight", "-4", "-4.01", "4", "4.01", 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"endStep\":%s}]",
         "controlNet[0].endStep", "1", "0", NULL, NULL, 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"endStepPercentage\":%s}]",
         "controlNet[0].endStepPercentage", "1", "0", "100", "101", 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"startStep\":%s}]",
         "controlNet[0].startStep", "0", "-1", NULL, NULL, 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"startStepPercentage\":%s}]",
         "controlNet[0].startStepPercentage", "0", "-1", "99", "100", 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1 "\"],\"weight\":%s}]",
         "ipAdapters[0].weight", "-4", "-4.01", "4", "4.01", 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1 "\"],\"weightComposition\":%s}]",
         "ipAdapters[0].weightComposition", "0", "-0.01", "1", "1.01", 0},
        {"\"acePlusPlus\":{\"type\":\"local_editing\",\"images\":[\"" U1 "\"],\"masks\":[\"" U2
         "\"],\"repaintingScale\":%s}",
         "acePlusPlus.repaintingScale", "0", "-0.01", "1", "1.01", 1},
        {"\"hiresFix\":{\"model\":\"runware:504@1\",\"steps\":%s}", "hiresFix.steps", "1", "0",
         "35", "36", 0},
        {"\"hiresFix\":{\"model\":\"runware:504@1\",\"strength\":%s}", "hiresFix.strength", "0",
         "-0.01", "1", "1.01", 0},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"CFGstartStep\":%s}", "pulid.CFGstartStep", "0", "-1",
         NULL, NULL, 0},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"CFGstartStepPercentage\":%s}",
         "pulid.CFGstartStepPercentage", "0", "-1", "99", "100", 0},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"idWeight\":%s}", "pulid.idWeight", "0", "-0.01", "3",
         "3.01", 0},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"trueCFGScale\":%s}", "pulid.trueCFGScale", "0",
         "-0.1", "10", "10.1", 0},
        {"\"ultralytics\":{\"CFGScale\":%s}", "ultralytics.CFGScale", "0", "-0.1", "50", "50.1", 0},
        {"\"ultralytics\":{\"confidence\":%s}", "ultralytics.confidence", "0", "-0.01", "1", "1.01",
         0},
        {"\"ultralytics\":{\"maskBlur\":%s}", "ultralytics.maskBlur", "0", "-1", "100", "101", 0},
        {"\"ultralytics\":{\"maskPadding\":%s}", "ultralytics.maskPadding", "0", "-1", "20", "21",
         0},
        {"\"ultralytics\":{\"steps\":%s}", "ultralytics.steps", "1", "0", "100", "101", 0},
        {"\"ultralytics\":{\"strength\":%s}", "ultralytics.strength", "0", "-0.01", "1", "1.01", 0},
    };
    struct rw_schema *s = load_spec();

    RWT_CHECK(s != NULL);
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++) {
        const char *vals[4] = {t[i].lo, t[i].below, t[i].hi, t[i].above};
        for (int k = 0; k < 4; k++) {
            char frag[1024];
            json_object *errs;
            int bad = k % 2, got;
            if (!vals[k])
                continue;
            fill(frag, sizeof(frag), t[i].tmpl, vals[k]);
            got = run_task(s, frag, &errs);
            if (got != t[i].base + bad ||
                (bad && !expect_err(errs, INV, t[i].param, k == 1 ? "minimum" : "maximum"))) {
                fprintf(stderr, "  {%s}: %d errors\n", frag, got);
                dump("got", errs);
                RWT_CHECK(0);
            }
            if (bad) {
                /* the bounds are in the record too */
                json_object *e = find_err(errs, INV, t[i].param), *m;
                RWT_CHECK(e && json_object_object_get_ex(e, k == 1 ? "min" : "max", &m));
            }
            json_object_put(errs);
        }
    }
    rw_schema_free(s);
}

/* Every other property: accepted and refused values (types, enums, patterns, formats). */
static void test_spec_properties(void)
{
    static const struct spcase t[] = {
        {"\"positivePrompt\":\"ab\"", 0, 0, 0, 0},
        {"\"positivePrompt\":\"a\"", 1, INV, "positivePrompt",
         "1 character long; the minimum is 2"},
        {"\"positivePrompt\":5", 1, INV, "positivePrompt", "expected a string"},
        {"\"negativePrompt\":\"no\"", 0, 0, 0, 0},
        {"\"negativePrompt\":\"\"", 1, INV, "negativePrompt", "0 characters long"},
        {"\"width\":1000,\"height\":512", 1, INV, "width", "width 1000 is not a multiple of 16"},
        {"\"width\":\"1024\",\"height\":1024", 1, INV, "width",
         "width \"1024\" is a string; expected an integer"},
        {"\"width\":1024.0,\"height\":1024", 0, 0, 0, 0},
        {"\"width\":1024.5,\"height\":1024", 1, INV, "width", "width 1024.5 is not an integer"},
        {"\"width\":512", 1, CON, "width", "width requires height, which is missing"},
        {"\"height\":512", 1, CON, "height", "height requires width"},
        {"\"seed\":42", 0, 0, 0, 0},
        {"\"seed\":1e3", 0, 0, 0, 0},
        {"\"seed\":18446744073709551616", 1, INV, "seed", "outside the 64-bit integer range"},
        {"\"seed\":\"42\"", 1, INV, "seed", "expected an integer"},
        {"\"steps\":4.5", 1, INV, "steps", "is not an integer"},
        {"\"scheduler\":\"Euler a\"", 0, 0, 0, 0},
        {"\"scheduler\":\"UniPC Uniform Karras\"", 0, 0, 0, 0},
        {"\"scheduler\":\"euler a\"", 1, INV, "scheduler", "\"euler a\" is not one of \"DDIM\""},
        {"\"CFGScale\":0.07", 0, 0, 0, 0},
        {"\"CFGScale\":3.505", 1, INV, "CFGScale", "CFGScale 3.505 is not a multiple of 0.01"},
        {"\"CFGScale\":7.10", 0, 0, 0, 0},
        {"\"strength\":0.333", 1, INV, "strength", "not a multiple of 0.01"},
        {"\"maskMargin\":64.5", 1, INV, "maskMargin", "not an integer"},
        {"\"promptWeighting\":\"sdEmbeds\"", 0, 0, 0, 0},
        {"\"promptWeighting\":\"compel \"", 1, INV, "promptWeighting",
         "is not one of \"compel\", \"sdEmbeds\""},
        {"\"inputs\":{}", 0, 0, 0, 0},
        {"\"inputs\":{\"image\":\"" U1 "\"}", 1, UNK, "inputs.image", 0},
        {"\"inputs\":\"" U1 "\"", 1, INV, "inputs", "expected an object"},
        {"\"acceleratorOptions\":{\"fbCache\":\"yes\"}", 1, INV, "acceleratorOptions.fbCache",
         "expected a boolean"},
        {"\"acceleratorOptions\":{\"teaCache\":1}", 1, INV, "acceleratorOptions.teaCache",
         "expected a boolean"},
        {"\"acceleratorOptions\":{\"dbCache\":null}", 1, INV, "acceleratorOptions.dbCache",
         "is null; expected a boolean"},
        {"\"acceleratorOptions\":{\"cache\":1}", 1, UNK, "acceleratorOptions.cache", 0},
        {"\"acceleratorOptions\":{\"cacheStartStepPercentage\":10,\"cacheEndStepPercentage\":80}",
         0, 0, 0, 0},
        {"\"outpaint\":{\"top\":\"64\"}", 1, INV, "outpaint.top", 0},
        {"\"outpaint\":{\"middle\":1}", 1, UNK, "outpaint.middle", 0},
        {"\"lora\":[]", 1, INV, "lora", "lora has 0 items; the minimum is 1"},
        {"\"lora\":{\"model\":\"a\"}", 1, INV, "lora", "expected an array"},
        {"\"lora\":[{\"weight\":1}]", 1, MIS, "lora[0].model", "lora[0].model is required"},
        {"\"lora\":[{\"model\":\"a\"},{\"model\":\"b c\"}]", 1, INV, "lora[1].model",
         "lora[1].model \"b c\" does not match the pattern"},
        {"\"lora\":[{\"model\":\"a:b:c\"}]", 1, INV, "lora[0].model", 0},
        {"\"lora\":[{\"model\":\"a\",\"transformer\":\"low\"}]", 0, 0, 0, 0},
        {"\"lora\":[{\"model\":\"a\",\"transformer\":\"mid\"}]", 1, INV, "lora[0].transformer",
         "\"mid\" is not one of \"high\", \"low\", \"both\""},
        {"\"lora\":[{\"model\":\"a\",\"scale\":1}]", 1, UNK, "lora[0].scale", 0},
        {"\"controlNet\":[{\"model\":\"a\"}]", 1, MIS, "controlNet[0].guideImage",
         "controlNet[0].guideImage is required"},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"controlMode\":\"prompt\"}]",
         0, 0, 0, 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1 "\",\"controlMode\":\"both\"}]", 1,
         INV, "controlNet[0].controlMode",
         "is not one of \"balanced\", \"controlnet\", \"prompt\""},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"a picture\"}]", 1, INV,
         "controlNet[0].guideImage", "is none of the accepted forms: a UUID, a URI"},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1
         "\",\"startStep\":1,\"startStepPercentage\":5}]",
         1, CON, "controlNet[0].startStepPercentage",
         "controlNet[0].startStep and controlNet[0].startStepPercentage cannot be used together"},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"" U1
         "\",\"endStep\":9,\"endStepPercentage\":50}]",
         1, CON, "controlNet[0].endStepPercentage", "cannot be used together"},
        {"\"ipAdapters\":[{\"model\":\"a\"}]", 1, MIS, "ipAdapters[0].guideImages", 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[]}]", 1, INV,
         "ipAdapters[0].guideImages", "has 0 items"},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1 "\",\"nope!\"]}]", 1, INV,
         "ipAdapters[0].guideImages[1]", "is none of the accepted forms"},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1
         "\"],\"combineMethod\":\"sum\"}]",
         1, INV, "ipAdapters[0].combineMethod", "is not one of \"concat\""},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1
         "\"],\"embedScaling\":\"k_mean_v_penalty_c\"}]",
         0, 0, 0, 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1 "\"],\"embedScaling\":\"v\"}]",
         1, INV, "ipAdapters[0].embedScaling", 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"" U1 "\"],\"weightType\":\"weak\"}]",
         1, INV, "ipAdapters[0].weightType", "is not one of \"normal\""},
        {"\"ipAdapters\":[{\"model\":\"bad model\",\"guideImages\":[\"" U1 "\"]}]", 1, INV,
         "ipAdapters[0].model", "does not match the pattern"},
        {"\"hiresFix\":true", 0, 0, 0, 0},
        {"\"hiresFix\":false", 1, INV, "hiresFix",
         "hiresFix false matches none of its alternatives: true or an object"},
        {"\"hiresFix\":\"true\"", 1, INV, "hiresFix", "matches none of its alternatives"},
        {"\"hiresFix\":{\"model\":\"runware:504@1\"}", 0, 0, 0, 0},
        {"\"hiresFix\":{\"steps\":10}", 1, MIS, "hiresFix.model", "hiresFix.model is required"},
        {"\"hiresFix\":{\"model\":\"runware:504@2\"}", 1, INV, "hiresFix.model",
         "is not one of \"runware:realesrgan@anime-6b\""},
        {"\"hiresFix\":{\"model\":\"runware:504@1\",\"upscaleFactor\":2}", 1, INV,
         "hiresFix.upscaleFactor", "hiresFix.upscaleFactor 2 is not one of 4"},
        {"\"hiresFix\":{\"model\":\"runware:504@1\",\"upscaleFactor\":4.0}", 0, 0, 0, 0},
        {"\"hiresFix\":{\"model\":\"runware:504@1\",\"scale\":2}", 1, UNK, "hiresFix.scale", 0},
        {"\"layerDiffuse\":false", 0, 0, 0, 0},
        {"\"layerDiffuse\":\"true\"", 1, INV, "layerDiffuse", "expected a boolean"},
        {"\"layerDiffuse\":true,\"outputFormat\":\"WEBP\"", 0, 0, 0, 0},
        {"\"pulid\":{\"images\":[\"" U1 "\"]}", 0, 0, 0, 0},
        {"\"pulid\":{\"idWeight\":1}", 1, MIS, "pulid.images", 0},
        {"\"pulid\":{\"images\":[\"" U1 "\",\"" U2 "\"]}", 1, INV, "pulid.images",
         "pulid.images has 2 items; the maximum is 1"},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"CFGstartStep\":1,\"CFGstartStepPercentage\":5}", 1,
         CON, "pulid.CFGstartStepPercentage", "cannot be used together"},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"CFGStartStep\":3}", 1, UNK, "pulid.CFGStartStep",
         "(did you mean CFGstartStep?)"},
        {"\"pulid\":{\"images\":[\"" U1 "\"],\"trueCFGScale\":1.55}", 1, INV, "pulid.trueCFGScale",
         "not a multiple of 0.1"},
        {"\"puLID\":{}", 1, UNK, "puLID", "(did you mean pulid?)"},
        {"\"trueCFGScale\":-12.345", 0, 0, 0, 0},
        {"\"trueCFGScale\":\"high\"", 1, INV, "trueCFGScale", "expected a number"},
        {"\"ultralytics\":{\"positivePrompt\":\"\",\"negativePrompt\":\"\"}", 0, 0, 0, 0},
        {"\"ultralytics\":{\"positivePrompt\":1}", 1, INV, "ultralytics.positivePrompt", 0},
        {"\"ultralytics\":{\"faces\":1}", 1, UNK, "ultralytics.faces", 0},
        {"\"taskType\":\"imageUpscale\"", 1, INV, "taskType",
         "taskType \"imageUpscale\" must be \"imageInference\""},
        {"\"taskUUID\":\"not-a-uuid\"", 1, INV, "taskUUID", "is not a UUID"},
        {"\"model\":\"runware:100@1\"", 1, INV, "model", "must be \"runware:111@1\""},
        {"\"webhookURL\":\"https://x.example/h?t=1\"", 0, 0, 0, 0},
        {"\"webhookURL\":\"x.example/h\"", 1, INV, "webhookURL", "is not an absolute URI"},
        {"\"includeCost\":1", 1, INV, "includeCost", "expected a boolean"},
        {"\"includeCost\":false", 0, 0, 0, 0},
        {"\"numberResults\":2.5", 1, INV, "numberResults", "not an integer"},
        {"\"uploadEndpoint\":\"https://storage.example.com/uploads/a.jpg\"", 0, 0, 0, 0},
        {"\"uploadEndpoint\":\"/uploads/a.jpg\"", 1, INV, "uploadEndpoint", 0},
        {"\"ttl\":3600.5", 1, INV, "ttl", "not an integer"},
        {"\"outputType\":\"base64Data\"", 0, 0, 0, 0},
        {"\"outputType\":\"dataURI\"", 0, 0, 0, 0},
        {"\"outputType\":\"url\"", 1, INV, "outputType", "is not one of \"URL\""},
        {"\"outputFormat\":\"JPG\"", 0, 0, 0, 0},
        {"\"outputFormat\":\"png\"", 1, INV, "outputFormat", "is not one of \"JPG\", \"PNG\""},
        {"\"outputFormat\":\"TIFF\"", 1, INV, "outputFormat", 0},
        {"\"outputQuality\":\"high\"", 1, INV, "outputQuality", 0},
        {"\"deliveryMethod\":\"sync\"", 0, 0, 0, 0},
        {"\"deliveryMethod\":\"later\"", 1, INV, "deliveryMethod",
         "deliveryMethod \"later\" is not one of \"sync\", \"async\""},
        {"\"safety\":{\"checkContent\":false,\"mode\":\"none\"}", 0, 0, 0, 0},
        {"\"safety\":{\"mode\":\"strict\"}", 1, INV, "safety.mode",
         "is not one of \"none\", \"fast\""},
        {"\"safety\":{\"checkContent\":\"yes\"}", 1, INV, "safety.checkContent", 0},
        {"\"safety\":{\"level\":1}", 1, UNK, "safety.level", 0},
        {"\"CFGscale\":7", 1, UNK, "CFGscale",
         "CFGscale is not a known parameter (did you mean "
         "CFGScale?)"},
        {"\"prompt\":\"x\"", 1, UNK, "prompt", "prompt is not a known parameter"},
    };

    run_spcases(t, sizeof(t) / sizeof(t[0]));
}

/* Image inputs: the four accepted forms in every place the spec takes an image. */
static void test_spec_images(void)
{
    static const char *const forms_ok[] = {
        U1,
        "https://example.com/images/in.png?sig=a%2Fb",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
        ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5"
         "CYII="),
    };
    static const char *const forms_bad[] = {
        "not an image",
        "c64351d5-4c59-42f7-95e1",
        "data:image/png;base64,iVBOR w0KGgo",
        "",
    };
    static const struct {
        const char *tmpl, *param;
        int base;
    } places[] = {
        {"\"inputs\":{\"seedImage\":\"%s\"}", "inputs.seedImage", 0},
        {"\"inputs\":{\"seedImage\":\"" U1 "\",\"maskImage\":\"%s\"}", "inputs.maskImage", 0},
        {"\"controlNet\":[{\"model\":\"a\",\"guideImage\":\"%s\"}]", "controlNet[0].guideImage", 0},
        {"\"ipAdapters\":[{\"model\":\"a\",\"guideImages\":[\"%s\"]}]",
         "ipAdapters[0].guideImages[0]", 0},
        {"\"pulid\":{\"images\":[\"%s\"]}", "pulid.images[0]", 0},
        {"\"acePlusPlus\":{\"type\":\"local_editing\",\"images\":[\"%s\"],\"masks\":[\"" U1 "\"]}",
         "acePlusPlus.images[0]", 1},
        {"\"acePlusPlus\":{\"type\":\"local_editing\",\"images\":[\"" U1 "\"],\"masks\":[\"%s\"]}",
         "acePlusPlus.masks[0]", 1},
    };
    struct rw_schema *s = load_spec();

    RWT_CHECK(s != NULL);
    for (size_t p = 0; s && p < sizeof(places) / sizeof(places[0]); p++) {
        for (size_t f = 0; f < 8; f++) {
            int bad = f >= 4, got;
            char frag[1024];
            json_object *errs;
            fill(frag, sizeof(frag), places[p].tmpl, bad ? forms_bad[f - 4] : forms_ok[f]);
            got = run_task(s, frag, &errs);
            if (got != places[p].base + bad ||
                (bad && !expect_err(errs, INV, places[p].param,
                                    "is none of the accepted forms: a "
                                    "UUID, a URI, a string matching"))) {
                fprintf(stderr, "  {%s}: %d errors\n", frag, got);
                dump("got", errs);
                RWT_CHECK(0);
            }
            json_object_put(errs);
        }
        /* not a string at all: one type error, not one per form */
        {
            char frag[1024];
            json_object *errs;
            char tmpl[1024];
            const char *q = strstr(places[p].tmpl, "\"%s\"");
            snprintf(tmpl, sizeof(tmpl), "%.*s%%s%s", (int)(q - places[p].tmpl), places[p].tmpl,
                     q + 4);
            fill(frag, sizeof(frag), tmpl, "42");
            RWT_CHECK_INT(run_task(s, frag, &errs), places[p].base + 1);
            RWT_CHECK(expect_err(errs, INV, places[p].param, "42 is a number; expected a string"));
            json_object_put(errs);
        }
    }
    rw_schema_free(s);
}

/* acePlusPlus: the if/then/else of the spec (plus the FLUX Fill rule, always reported here). */
static void test_spec_ace(void)
{
    static const struct spcase t[] = {
        {"\"acePlusPlus\":{\"type\":\"local_editing\",\"images\":[\"" U1 "\"],\"masks\":[\"" U2
         "\"]}",
         1, CON, "acePlusPlus", "acePlusPlus needs model runware:102@1"},
        {"\"acePlusPlus\":{\"type\":\"local_editing\",\"images\":[\"" U1 "\"]}", 2, MIS,
         "acePlusPlus.masks", "acePlusPlus.masks is required when type is \"local_editing\""},
        {"\"acePlusPlus\":{\"type\":\"portrait\",\"images\":[\"" U1 "\"]}", 1, CON, "acePlusPlus",
         0},
        {"\"acePlusPlus\":{\"type\":\"subject\",\"images\":[\"" U1 "\"],\"masks\":[\"" U2 "\"]}", 2,
         CON, "acePlusPlus.masks",
         "acePlusPlus.masks is not allowed when type is not \"local_editing\""},
        /* JSON Schema if: an absent type passes it, so the schema then demands masks */
        {"\"acePlusPlus\":{\"images\":[\"" U1 "\"]}", 2, MIS, "acePlusPlus.masks",
         "when type is \"local_editing\" or not given"},
        {"\"acePlusPlus\":{\"type\":\"face\",\"images\":[\"" U1 "\"]}", 2, INV, "acePlusPlus.type",
         "is not one of \"portrait\", \"subject\", \"local_editing\""},
        {"\"acePlusPlus\":{\"type\":\"portrait\"}", 2, MIS, "acePlusPlus.images", 0},
        {"\"acePlusPlus\":{\"type\":\"portrait\",\"images\":[\"" U1 "\",\"" U2 "\"]}", 2, INV,
         "acePlusPlus.images", "the maximum is 1"},
        {"\"acePlusPlus\":{\"type\":\"portrait\",\"images\":[\"" U1 "\"],\"repaintingScale\":0.5,"
         "\"extra\":1}",
         2, UNK, "acePlusPlus.extra", 0},
    };

    run_spcases(t, sizeof(t) / sizeof(t[0]));
}

static void test_spec_mutual_exclusions(void)
{
    static const struct spcase t[] = {
        {"\"acceleratorOptions\":{\"cacheStartStep\":1,\"cacheStartStepPercentage\":5}", 1, CON,
         "acceleratorOptions.cacheStartStepPercentage",
         "acceleratorOptions.cacheStartStep and acceleratorOptions.cacheStartStepPercentage "
         "cannot be used together; give only one of them"},
        {"\"acceleratorOptions\":{\"cacheEndStep\":9,\"cacheEndStepPercentage\":50}", 1, CON,
         "acceleratorOptions.cacheEndStepPercentage", 0},
        {"\"acceleratorOptions\":{\"cacheStartStep\":1,\"cacheEndStepPercentage\":50}", 0, 0, 0, 0},
        {"\"acceleratorOptions\":{\"cacheStartStepPercentage\":1,\"cacheEndStep\":9}", 0, 0, 0, 0},
    };

    run_spcases(t, sizeof(t) / sizeof(t[0]));
}

/* Realistic bad jobs: every problem reported at once, each at its exact path. */
static void test_spec_realistic_invalid(void)
{
    static const char task[] =
        "{" BASE ",\"positivePrompt\":\"x\",\"width\":1000,\"height\":4096,\"steps\":20,"
        "\"CFGScale\":3.505,\"scheduler\":\"Euler A\",\"numberResults\":25,"
        "\"lora\":[{\"model\":\"my lora\",\"weight\":0.5},{\"weight\":1}],"
        "\"controlNet\":[{\"model\":\"cn\",\"guideImage\":\"" U1 "\",\"startStep\":10,"
        "\"endStep\":5},{\"model\":\"cn\",\"guideImage\":\"ftp://no pe\",\"endStep\":30}],"
        "\"acceleratorOptions\":{\"cacheStartStep\":4,\"cacheEndStep\":25},"
        "\"outputFormat\":\"png\",\"unknownThing\":true}";
    static const struct {
        const char *code, *param, *msg;
    } want[] = {
        {INV, "positivePrompt", "1 character long"},
        {INV, "width", "width 1000 is not a multiple of 16"},
        {INV, "height", "height 4096 is greater than the maximum 2048"},
        {INV, "CFGScale", "not a multiple of 0.01"},
        {INV, "scheduler", "\"Euler A\" is not one of"},
        {INV, "numberResults", "numberResults 25 is greater than the maximum 20"},
        {INV, "lora[0].model", "does not match the pattern"},
        {MIS, "lora[1].model", "lora[1].model is required"},
        {INV, "controlNet[1].guideImage", "is none of the accepted forms"},
        {INV, "outputFormat", "\"png\" is not one of"},
        {UNK, "unknownThing", "unknownThing is not a known parameter"},
        {INV, "controlNet[0].endStep",
         "controlNet[0].endStep 5 must be greater than "
         "controlNet[0].startStep 10"},
        {INV, "controlNet[1].endStep", "controlNet[1].endStep 30 is greater than steps 20"},
        {INV, "acceleratorOptions.cacheEndStep", "cacheEndStep 25 is greater than steps 20"},
    };
    struct rw_schema *s = load_spec();
    json_object *errs;
    int n;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    n = run(s, task, &errs);
    RWT_CHECK_INT(n, (int)(sizeof(want) / sizeof(want[0])));
    RWT_CHECK_INT(json_object_array_length(errs), n);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        RWT_CHECK(expect_err(errs, want[i].code, want[i].param, want[i].msg));
    json_object_put(errs);
    rw_schema_free(s);
}

/* The record fields: min/max as numbers written as the spec writes them, allowed as values. */
static void test_error_fields(void)
{
    struct rw_schema *s = load_spec();
    json_object *errs, *e, *v;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    RWT_CHECK_INT(run_task(s, "\"CFGScale\":25,\"seed\":-1,\"outputType\":\"file\"", &errs), 3);
    e = find_err(errs, INV, "CFGScale");
    RWT_CHECK(e != NULL);
    if (e) {
        RWT_CHECK(json_object_object_get_ex(e, "min", &v) && json_object_get_int64(v) == 0);
        RWT_CHECK(json_object_object_get_ex(e, "max", &v) && json_object_get_int64(v) == 20);
    }
    e = find_err(errs, INV, "seed");
    RWT_CHECK(e != NULL);
    if (e) {
        RWT_CHECK(json_object_object_get_ex(e, "max", &v) && json_object_get_int64(v) == INT64_MAX);
        RWT_CHECK_STR(member(e, "message"), "seed -1 is less than the minimum 0");
    }
    e = find_err(errs, INV, "outputType");
    RWT_CHECK(e != NULL);
    if (e) {
        RWT_CHECK(json_object_object_get_ex(e, "allowed", &v) && json_object_array_length(v) == 3);
        RWT_CHECK_STR(json_object_get_string(json_object_array_get_idx(v, 1)), "base64Data");
    }
    json_object_put(errs);
    /* a decimal bound keeps its text: 0.01 is not printed as 0.01000000000000000021 */
    RWT_CHECK_INT(run_task(s, "\"lora\":[{\"model\":\"a\",\"weight\":-4.5}]", &errs), 1);
    e = find_err(errs, INV, "lora[0].weight");
    RWT_CHECK(e && json_object_object_get_ex(e, "min", &v));
    if (e)
        RWT_CHECK_STR(
            json_object_to_json_string_ext(e, FLAGS),
            "{\"code\":\"invalidParameter\",\"message\":\"lora[0].weight -4.5 is less "
            "than the minimum -4\",\"parameter\":\"lora[0].weight\",\"min\":-4,\"max\":4}");
    json_object_put(errs);
    rw_schema_free(s);
}

/* Long and hostile values stay short and on one line in messages; odd keys stay readable. */
static void test_error_message_hygiene(void)
{
    struct rw_schema *s = load_spec();
    char frag[8192];
    json_object *errs, *e;
    const char *m;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    memset(frag, 0, sizeof(frag));
    strcpy(frag, "\"scheduler\":\"line1\\nline2\\\"quoted\\\"");
    memset(frag + strlen(frag), 'z', 4000);
    strcat(frag, "\"");
    RWT_CHECK_INT(run_task(s, frag, &errs), 1);
    e = find_err(errs, INV, "scheduler");
    m = e ? member(e, "message") : "";
    RWT_CHECK(strchr(m, '\n') == NULL);
    RWT_CHECK(strstr(m, "scheduler \"line1\\nline2\\\"quoted\\\"zzz") == m);
    RWT_CHECK(strstr(m, "zzz...\" is not one of") != NULL);
    RWT_CHECK(strlen(m) < 700);
    json_object_put(errs);

    RWT_CHECK_INT(run_task(s, "\"bad key\\n\":1", &errs), 1);
    RWT_CHECK(expect_err(errs, UNK, "[\"bad key\\n\"]", "[\"bad key\\n\"] is not a known"));
    json_object_put(errs);
    rw_schema_free(s);
}

static void test_error_cap(void)
{
    struct rw_schema *s = load_spec();
    char task[8192];
    size_t pos = 0;
    json_object *errs, *t;

    RWT_CHECK(s != NULL);
    if (!s)
        return;
    pos += (size_t)snprintf(task + pos, sizeof(task) - pos, "{" BASE ",\"positivePrompt\":\"ok\"");
    for (int i = 0; i < 80; i++)
        pos += (size_t)snprintf(task + pos, sizeof(task) - pos, ",\"extra%02d\":%d", i, i);
    snprintf(task + pos, sizeof(task) - pos, "}");
    RWT_CHECK_INT(run(s, task, &errs), RW_SCHEMA_MAX_ERRORS);
    RWT_CHECK_INT(json_object_array_length(errs), RW_SCHEMA_MAX_ERRORS);
    RWT_CHECK(expect_err(errs, UNK, "extra00", 0));
    RWT_CHECK(expect_err(errs, UNK, "extra49", 0));
    RWT_CHECK(find_err(errs, UNK, "extra50") == NULL);
    json_object_put(errs);

    /* errors already in the array are kept; the cap counts this call's only */
    t = json_tokener_parse(task);
    errs = json_object_new_array();
    json_object_array_add(errs, json_object_new_string("earlier"));
    RWT_CHECK_INT(rw_schema_validate(s, t, errs), RW_SCHEMA_MAX_ERRORS);
    RWT_CHECK_INT(json_object_array_length(errs), RW_SCHEMA_MAX_ERRORS + 1);
    json_object_put(errs);
    json_object_put(t);

    /* schema errors and rule errors share the cap */
    pos = (size_t)snprintf(task, sizeof(task),
                           "{" BASE ",\"positivePrompt\":\"ok\",\"steps\":5,\"controlNet\":[");
    for (int i = 0; i < 60; i++)
        pos += (size_t)snprintf(task + pos, sizeof(task) - pos,
                                "%s{\"model\":\"m\",\"guideImage\":\"" U1 "\",\"endStep\":9}",
                                i ? "," : "");
    snprintf(task + pos, sizeof(task) - pos, "]}");
    RWT_CHECK_INT(run(s, task, &errs), RW_SCHEMA_MAX_ERRORS);
    RWT_CHECK(expect_err(errs, INV, "controlNet[49].endStep", "greater than steps 5"));
    json_object_put(errs);
    rw_schema_free(s);
}

/* The schema is read-only once compiled: validating the same task twice gives the same errors,
 * and the task itself is left as it was (numbers keep their text). */
static void test_validate_is_pure(void)
{
    struct rw_schema *s = load_spec();
    json_object *task = json_tokener_parse(full_task), *e1, *e2;
    char before[8192];

    RWT_CHECK(s != NULL && task != NULL);
    if (!s || !task)
        goto out;
    snprintf(before, sizeof(before), "%s", json_object_to_json_string_ext(task, FLAGS));
    json_object_object_add(task, "width", json_object_new_int(1000));
    json_object_object_del(task, "height");
    e1 = json_object_new_array();
    e2 = json_object_new_array();
    RWT_CHECK_INT(rw_schema_validate(s, task, e1), 2);
    RWT_CHECK_INT(rw_schema_validate(s, task, e2), 2);
    RWT_CHECK_STR(json_object_to_json_string_ext(e1, FLAGS),
                  json_object_to_json_string_ext(e2, FLAGS));
    RWT_CHECK(strstr(json_object_to_json_string_ext(task, FLAGS), "\"CFGScale\":3.5") != NULL);
    RWT_CHECK(strstr(before, "\"seed\":9223372036854775807") != NULL);
    json_object_put(e1);
    json_object_put(e2);
    e1 = json_object_new_array();
    RWT_CHECK_INT(rw_schema_validate(NULL, task, e1), -1);
    RWT_CHECK_INT(json_object_array_length(e1), 0);
    json_object_put(e1);
out:
    json_object_put(task);
    rw_schema_free(s);
}

/* Arbitrary mutations of real tasks never crash, never exceed the cap, never leak (ASan). */
static void test_mutations(void)
{
    struct rw_schema *s = load_spec();
    static const char alphabet[] = "{}[]\",:0123456789.-eE+truefalsn \\u00e9abc/";
    uint64_t rnd = 0x9E3779B97F4A7C15ull;
    size_t len = strlen(full_task);
    char *buf = malloc(len + 64);
    int parsed = 0;

    RWT_CHECK(s != NULL && buf != NULL);
    for (int iter = 0; s && buf && iter < 3000; iter++) {
        json_object *t, *errs;
        int n;

        memcpy(buf, full_task, len + 1);
        for (int k = 0; k < 1 + iter % 4; k++) {
            rnd ^= rnd << 13;
            rnd ^= rnd >> 7;
            rnd ^= rnd << 17;
            buf[rnd % len] = alphabet[(rnd >> 32) % (sizeof(alphabet) - 1)];
        }
        if (!(t = json_tokener_parse(buf)))
            continue;
        parsed++;
        errs = json_object_new_array();
        n = rw_schema_validate(s, t, errs);
        RWT_CHECK(n >= 0 && n <= RW_SCHEMA_MAX_ERRORS);
        RWT_CHECK_INT(json_object_array_length(errs), n);
        json_object_put(errs);
        json_object_put(t);
    }
    RWT_CHECK(parsed > 300);
    free(buf);
    rw_schema_free(s);
}

static const struct rwt_case cases[] = {
    {"dec_compare", test_dec_compare},
    {"dec_parse_errors", test_dec_parse_errors},
    {"dec_integer", test_dec_integer},
    {"dec_multiple", test_dec_multiple},
    {"regex_match", test_regex_match},
    {"regex_compile_errors", test_regex_compile_errors},
    {"regex_linear_time", test_regex_linear_time},
    {"formats", test_formats},
    {"kw_type_const_enum", test_kw_type_const_enum},
    {"kw_numbers", test_kw_numbers},
    {"kw_strings", test_kw_strings},
    {"kw_objects_arrays", test_kw_objects_arrays},
    {"kw_combinators", test_kw_combinators},
    {"kw_ref", test_kw_ref},
    {"load_errors", test_load_errors},
    {"openapi_refs", test_openapi_refs},
    {"spec_full_valid", test_spec_full_valid},
    {"spec_ranges", test_spec_ranges},
    {"spec_properties", test_spec_properties},
    {"spec_images", test_spec_images},
    {"spec_ace", test_spec_ace},
    {"spec_mutual_exclusions", test_spec_mutual_exclusions},
    {"spec_realistic_invalid", test_spec_realistic_invalid},
    {"error_fields", test_error_fields},
    {"error_message_hygiene", test_error_message_hygiene},
    {"error_cap", test_error_cap},
    {"validate_is_pure", test_validate_is_pure},
    {"mutations", test_mutations},
};

RWT_MAIN(cases)
