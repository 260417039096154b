/* rw_record: record pieces glue into valid JSON; strings and payloads are escaped correctly. */
#include <stdint.h>
#include <stdlib.h>

#include "rw_errors.h"
#include "rw_record.h"
#include "rwtest.h"

#define UUID "123e4567-e89b-12d3-a456-426614174000"

/* Parses s strictly (UTF-8 checked, no trailing data); NULL when it is not valid JSON. */
static json_object *parse_strict(const char *s)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    if (o != NULL && json_tokener_get_parse_end(tok) != strlen(s)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;

    json_object_object_get_ex(o, key, &v);
    return v;
}

static char *concat(const char *const *parts, size_t n)
{
    size_t len = 0;
    char *s;

    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]);
    s = malloc(len + 1);
    s[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strcat(s, parts[i]);
    return s;
}

static void test_head_exact(void)
{
    char *h = rw_record_head(UUID, NULL, 1700000000123);

    RWT_CHECK_STR(h,
                  "{\"taskUUID\":\"" UUID "\",\"meta\":null,\"takenAt\":1700000000123,\"data\":[");
    free(h);
    RWT_CHECK(rw_record_head(NULL, NULL, 1) == NULL);
}

static void test_head_raw(void)
{
    const char *meta = "{ \"a\" : [1, 2.50,\n\"x y\\\" \\u00e9\"], \"b\":null }";
    char *h = rw_record_head_raw(UUID, meta, strlen(meta), 7);

    /* the value as it came, without the whitespace between tokens */
    RWT_CHECK_STR(h, "{\"taskUUID\":\"" UUID "\",\"meta\":{\"a\":[1,2.50,\"x y\\\" \\u00e9\"],"
                     "\"b\":null},\"takenAt\":7,\"data\":[");
    free(h);
    h = rw_record_head_raw(UUID, "null", 4, 8);
    RWT_CHECK_STR(h, "{\"taskUUID\":\"" UUID "\",\"meta\":null,\"takenAt\":8,\"data\":[");
    free(h);
    RWT_CHECK(rw_record_head_raw(UUID, "", 0, 1) == NULL);
    RWT_CHECK(rw_record_head_raw(NULL, "1", 1, 1) == NULL);
    /* a taskUUID that is not a UUID is still escaped */
    h = rw_record_head("a\"b", NULL, 1);
    RWT_CHECK_STR(h, "{\"taskUUID\":\"a\\\"b\",\"meta\":null,\"takenAt\":1,\"data\":[");
    free(h);
}

static void test_tail_exact(void)
{
    json_object *errs = json_object_new_array();
    char *t = rw_record_tail(NULL, 42);

    RWT_CHECK_STR(t, "],\"status\":\"success\",\"errors\":[],\"completedAt\":42}");
    free(t);
    t = rw_record_tail(errs, 43); /* empty errors: still a success */
    RWT_CHECK_STR(t, "],\"status\":\"success\",\"errors\":[],\"completedAt\":43}");
    free(t);
    rw_errors_add(errs, "timeoutProvider", NULL, "provider timed out");
    t = rw_record_tail(errs, 44);
    RWT_CHECK_STR(t, "],\"status\":\"error\",\"errors\":[{\"code\":\"timeoutProvider\",\"message\":"
                     "\"provider timed out\"}],\"completedAt\":44}");
    free(t);
    json_object_put(errs);
    /* errors must be an array */
    errs = json_object_new_object();
    RWT_CHECK(rw_record_tail(errs, 1) == NULL);
    json_object_put(errs);
}

/* The allocation-free success tail is rw_record_tail's, for any time, the extremes included. */
static void test_tail_success_buffer(void)
{
    static const int64_t t[] = {0,         1,        9, 10, 42, 1795694911683, -1, -1795694911683,
                                INT64_MAX, INT64_MIN};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char buf[RW_RECORD_TAIL_MAX], *want = rw_record_tail(NULL, t[i]);
        size_t n = rw_record_tail_success(buf, t[i]);

        RWT_CHECK_STR(buf, want);
        RWT_CHECK(want && n == strlen(want) && n < RW_RECORD_TAIL_MAX);
        free(want);
    }
}

static void test_success_glued(void)
{
    /* items exactly as Runware sends them, including numbers json-c must not rewrite */
    const char *item1 = "{\"taskType\":\"imageInference\",\"taskUUID\":\"" UUID
                        "\",\"imageUUID\":\"a1\",\"imageURL\":\"https://im.runware.ai/a1.jpg\","
                        "\"seed\":9223372036854775807,\"cost\":0.0013}";
    const char *item2 = "{\"taskType\":\"imageInference\",\"taskUUID\":\"" UUID
                        "\",\"imageUUID\":\"a2\",\"imageURL\":\"https://im.runware.ai/a2.jpg\","
                        "\"seed\":12,\"NSFWContent\":false}";
    json_object *meta = json_tokener_parse("{\"job\":\"x/1\",\"n\":[1,2.50,{\"q\":\"\\\"\"}]}");
    char *head = rw_record_head(UUID, meta, 1000);
    char *tail = rw_record_tail(NULL, 2000);
    const char *parts[] = {head, item1, ",", item2, tail};
    char *rec = concat(parts, 5);
    json_object *r = parse_strict(rec), *data;

    RWT_CHECK(r != NULL);
    RWT_CHECK_STR(json_object_get_string(get(r, "taskUUID")), UUID);
    RWT_CHECK_STR(json_object_get_string(get(r, "status")), "success");
    RWT_CHECK_INT(json_object_get_int64(get(r, "takenAt")), 1000);
    RWT_CHECK_INT(json_object_get_int64(get(r, "completedAt")), 2000);
    RWT_CHECK(json_object_is_type(get(r, "errors"), json_type_array));
    RWT_CHECK_INT(json_object_array_length(get(r, "errors")), 0);
    RWT_CHECK(!json_object_object_get_ex(r, "payload", NULL));
    data = get(r, "data");
    RWT_CHECK_INT(json_object_array_length(data), 2);
    RWT_CHECK_STR(json_object_get_string(get(json_object_array_get_idx(data, 1), "imageUUID")),
                  "a2");
    RWT_CHECK_INT(json_object_get_int64(get(json_object_array_get_idx(data, 0), "seed")),
                  INT64_MAX);
    /* meta echoed verbatim: no "\/", the original 2.50 */
    RWT_CHECK(strstr(rec, "\"meta\":{\"job\":\"x/1\",\"n\":[1,2.50,{\"q\":\"\\\"\"}]}") != NULL);
    RWT_CHECK(strstr(rec, item1) != NULL && strstr(rec, item2) != NULL);
    json_object_put(r);
    free(rec);
    free(head);
    free(tail);
    json_object_put(meta);
}

static void test_empty_success(void)
{
    char *head = rw_record_head(UUID, NULL, 1), *tail = rw_record_tail(NULL, 2);
    const char *parts[] = {head, tail};
    char *rec = concat(parts, 2);
    json_object *r = parse_strict(rec);

    RWT_CHECK(r != NULL);
    RWT_CHECK_INT(json_object_array_length(get(r, "data")), 0);
    json_object_put(r);
    free(rec);
    free(head);
    free(tail);
}

static void test_error_record(void)
{
    json_object *errs = rw_errors_one("invalidJSON", NULL, "payload is not valid JSON");
    json_object *meta = json_object_new_string("m");
    char *rec = rw_record_error(UUID, meta, -5, errs, NULL, 0, INT64_MAX);
    json_object *r = parse_strict(rec);

    RWT_CHECK(r != NULL);
    RWT_CHECK_STR(json_object_get_string(get(r, "status")), "error");
    RWT_CHECK_STR(json_object_get_string(get(r, "meta")), "m");
    RWT_CHECK_INT(json_object_get_int64(get(r, "takenAt")), -5);
    RWT_CHECK_INT(json_object_get_int64(get(r, "completedAt")), INT64_MAX);
    RWT_CHECK_INT(json_object_array_length(get(r, "data")), 0);
    RWT_CHECK_STR(
        json_object_get_string(get(json_object_array_get_idx(get(r, "errors"), 0), "code")),
        "invalidJSON");
    RWT_CHECK(!json_object_object_get_ex(r, "payload", NULL));
    json_object_put(r);
    free(rec);
    /* with no errors it is still an error record, with errors [] */
    rec = rw_record_error(UUID, NULL, 1, NULL, NULL, 0, 2);
    RWT_CHECK_STR(rec,
                  "{\"taskUUID\":\"" UUID "\",\"meta\":null,\"takenAt\":1,\"data\":[],\"status\":"
                  "\"error\",\"errors\":[],\"completedAt\":2}");
    free(rec);
    RWT_CHECK(rw_record_error(NULL, NULL, 1, errs, NULL, 0, 2) == NULL);
    json_object_put(meta);
    json_object_put(errs);
}

static void test_payload_table(void)
{
    static const struct {
        const char *raw;
        const char *want; /* the payload after the round trip, as UTF-8 */
    } t[] = {
        {"{\"positivePrompt\":\"a cat\"}", "{\"positivePrompt\":\"a cat\"}"},
        {"not json at all", "not json at all"},
        {"", ""},
        {"quote\" back\\ slash/ nl\n tab\t", "quote\" back\\ slash/ nl\n tab\t"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88"},
        {"a\xff"
         "b",
         "a\xef\xbf\xbd"
         "b"},
        {"\xfe\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong '/' */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd"}, /* truncated at the end */
        {"\x80z", "\xef\xbf\xbdz"},                 /* lone continuation */
        {"\xc3\xa9\xc3", "\xc3\xa9\xef\xbf\xbd"},
    };
    json_object *errs = rw_errors_one("invalidJSON", NULL, "x");

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *rec = rw_record_error(UUID, NULL, 1, errs, t[i].raw, strlen(t[i].raw), 2);
        json_object *r = rec != NULL ? parse_strict(rec) : NULL;
        json_object *p = get(r, "payload");

        if (r == NULL || p == NULL || strcmp(json_object_get_string(p), t[i].want) != 0) {
            fprintf(stderr, "  case %zu: %s\n", i, rec != NULL ? rec : "(null)");
            rwt_failed++;
        }
        /* no "\/" in the record */
        if (rec != NULL)
            RWT_CHECK(strstr(rec, "\\/") == NULL);
        json_object_put(r);
        free(rec);
    }
    json_object_put(errs);
}

static void test_payload_embedded_nul(void)
{
    const char raw[] = {'a', '\0', 'b'};
    char *rec = rw_record_error(UUID, NULL, 1, NULL, raw, sizeof(raw), 2);
    json_object *r = parse_strict(rec), *p = get(r, "payload");

    RWT_CHECK(p != NULL);
    RWT_CHECK_INT(json_object_get_string_len(p), 3);
    RWT_CHECK(p != NULL && memcmp(json_object_get_string(p), raw, 3) == 0);
    RWT_CHECK(strstr(rec, "\"payload\":\"a\\u0000b\"") != NULL);
    json_object_put(r);
    free(rec);
}

static void test_payload_large(void)
{
    size_t n = 1 << 20;
    char *raw = malloc(n), *rec;
    json_object *r;

    for (size_t i = 0; i < n; i++)
        raw[i] = (char)(i % 7 == 0 ? 0xff : 'a' + i % 26);
    rec = rw_record_error(UUID, NULL, 1, NULL, raw, n, 2);
    r = parse_strict(rec);
    RWT_CHECK(r != NULL);
    /* every 7th byte became the 3 bytes of U+FFFD */
    RWT_CHECK_INT(json_object_get_string_len(get(r, "payload")), n + 2 * ((n + 6) / 7));
    json_object_put(r);
    free(rec);
    free(raw);
}

static const struct rwt_case cases[] = {
    {"head_exact", test_head_exact},
    {"head_raw", test_head_raw},
    {"tail_exact", test_tail_exact},
    {"tail_success_buffer", test_tail_success_buffer},
    {"success_glued", test_success_glued},
    {"empty_success", test_empty_success},
    {"error_record", test_error_record},
    {"payload_table", test_payload_table},
    {"payload_embedded_nul", test_payload_embedded_nul},
    {"payload_large", test_payload_large},
};

RWT_MAIN(cases)
