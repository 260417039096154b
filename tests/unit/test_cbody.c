/* rw_cbody: the one-pass reader of webhook bodies: every shape it reads, what it leaves to
 * rw_response, every kind of invalid JSON, escapes, status removal, depth and UTF-8. */
#include <math.h>
#include <stdlib.h>

#include "rw_cbody.h"
#include "rw_response.h"
#include "rwtest.h"

#define U1 "123e4567-e89b-12d3-a456-426614174000"
#define U2 "9f0c1a52-7b1e-4c55-9a55-0d2c3e4f5a6b"
#define IM "6c5f0e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6"

/* An item as Runware sends it. */
#define ITEM                                                                                       \
    "{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1 "\",\"imageUUID\":\"" IM "\","           \
    "\"imageURL\":\"https://im.runware.ai/image/ws/2/ii/" IM ".jpg\",\"seed\":1455219335,"         \
    "\"cost\":0.0013}"

static int read_body(const char *body, struct rw_cbody *b, char *err, size_t errlen)
{
    err[0] = '\0';
    return rw_cbody_read(body, strlen(body), b, err, errlen);
}

/* The record bytes of item i. */
static const char *item_bytes(const char *body, const struct rw_cbody *b, size_t i)
{
    static char buf[4096];
    size_t n;

    if (i >= b->nitems || b->items[i].len >= sizeof(buf))
        return NULL;
    n = rw_cbody_item_copy(body, &b->items[i], buf);
    buf[n] = '\0';
    return buf;
}

static void test_shapes_table(void)
{
    static const struct {
        const char *name, *body;
        size_t nitems;
        const char *task, *image; /* of the first item; "" when absent */
        double cost;
        const char *record; /* the first item as it goes into a record; NULL: its bytes */
    } t[] = {
        {"data, one item", "{\"data\":[" ITEM "]}", 1, U1, IM, 0.0013, ITEM},
        {"bare item", ITEM, 1, U1, IM, 0.0013, ITEM},
        {"data and an empty errors", "{\"data\":[" ITEM "],\"errors\":[]}", 1, U1, IM, 0.0013,
         ITEM},
        {"empty errors first", "{\"errors\":[ ],\"data\":[" ITEM "]}", 1, U1, IM, 0.0013, ITEM},
        {"empty data", "{\"data\":[]}", 0, NULL, NULL, 0, NULL},
        {"only an empty errors", "{\"errors\":[]}", 0, NULL, NULL, 0, NULL},
        {"two items", "{\"data\":[" ITEM ",{\"taskUUID\":\"" U2 "\",\"imageUUID\":\"x\"}]}", 2, U1,
         IM, 0.0013, ITEM},
        {"non-objects skipped",
         "{\"data\":[1,\"x\",null,true,false,[{}],-0.5e+3,{\"imageUUID\":\"i\"}]}", 1, "", "i", 0,
         "{\"imageUUID\":\"i\"}"},
        {"other members of the body", "{\"id\":{\"data\":[]},\"data\":[{\"imageUUID\":\"i\"}]}", 1,
         "", "i", 0, NULL},
        {"no taskUUID in a data item", "{\"data\":[{\"imageUUID\":\"i\",\"cost\":2}]}", 1, "", "i",
         2, NULL},
        {"no imageUUID", "{\"data\":[{\"taskUUID\":\"" U1 "\"}]}", 1, U1, "", 0, NULL},
        {"cost integer", "{\"data\":[{\"cost\":-7}]}", 1, "", "", -7, NULL},
        {"cost with exponent", "{\"data\":[{\"cost\":1.5E-5}]}", 1, "", "", 1.5e-5, NULL},
        {"cost not a number", "{\"data\":[{\"cost\":\"0.5\"}]}", 1, "", "", 0, NULL},
        {"cost of 18 digits", "{\"data\":[{\"cost\":123456789012345678}]}", 1, "", "",
         123456789012345678.0, NULL},
        {"cost -0", "{\"data\":[{\"cost\":-0}]}", 1, "", "", 0, NULL},
        {"bare item with the body's names nested",
         "{\"taskUUID\":\"" U1 "\",\"x\":{\"data\":1,\"errors\":2,\"taskUUID\":3}}", 1, U1, "", 0,
         NULL},
        {"escapes in the uuids",
         "{\"data\":[{\"taskUUID\":\"\\u0031\\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\","
         "\"imageUUID\":\"\\u20AC\"}]}",
         1, "1\xc3\xa9\"\\/\b\f\n\r\t\xf0\x9f\x98\x80", "\xe2\x82\xac", 0, NULL},
        {"UTF-8 in the uuids", "{\"taskUUID\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 1,
         "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "", 0, NULL},
        {"uuid of 64 bytes",
         "{\"taskUUID\":\"0123456789012345678901234567890123456789012345678901234567890123\"}", 1,
         "0123456789012345678901234567890123456789012345678901234567890123", "", 0, NULL},
        /* status: the member goes, and the comma next to it */
        {"status last", "{\"data\":[{\"imageUUID\":\"i\",\"status\":\"success\"}]}", 1, "", "i", 0,
         "{\"imageUUID\":\"i\"}"},
        {"status first", "{\"data\":[{\"status\":\"success\",\"imageUUID\":\"i\"}]}", 1, "", "i", 0,
         "{\"imageUUID\":\"i\"}"},
        {"status between", "{\"data\":[{\"a\":1,\"status\":{\"x\":[]},\"imageUUID\":\"i\"}]}", 1,
         "", "i", 0, "{\"a\":1,\"imageUUID\":\"i\"}"},
        {"status alone", "{\"data\":[{\"status\":null}]}", 1, "", "", 0, "{}"},
        {"status in a bare item", "{\"status\":\"success\",\"taskUUID\":\"" U1 "\"}", 1, U1, "", 0,
         "{\"taskUUID\":\"" U1 "\"}"},
        {"status nested stays", "{\"data\":[{\"x\":{\"status\":1},\"imageUUID\":\"i\"}]}", 1, "",
         "i", 0, "{\"x\":{\"status\":1},\"imageUUID\":\"i\"}"},
        /* whitespace between tokens goes; inside strings it stays */
        {"spaced",
         " \r\n{ \"data\" : [ { \"imageUUID\" : \"a b\\\" \" ,\t\"n\" : [ 1 , 2 ] , \"s\" : \" "
         "\\\\\" } ] } \n",
         1, "", "a b\" ", 0, "{\"imageUUID\":\"a b\\\" \",\"n\":[1,2],\"s\":\" \\\\\"}"},
        {"spaced, status first",
         "{\"data\":[ { \"status\" : \"success\" , \"imageUUID\" : \"i\" } ]}", 1, "", "i", 0,
         "{\"imageUUID\":\"i\"}"},
        {"spaced, status last", "{\"data\":[{ \"imageUUID\" : \"i\" ,\n \"status\" : 3 }]}", 1, "",
         "i", 0, "{\"imageUUID\":\"i\"}"},
        {"spaced bare item", "{ \"taskUUID\" : \"" U1 "\" }", 1, U1, "", 0,
         "{\"taskUUID\":\"" U1 "\"}"},
        {"names that are almost ours",
         "{\"data\":[{\"Status\":1,\"statu\":2,\"costs\":3,\"taskUUIDs\":4,\"imageUUI\":5,"
         "\"data\":6,\"errors\":7}]}",
         1, "", "", 0, NULL},
        {"every kind of value",
         "{\"data\":[{\"a\":[true,false,null,0,-0,1.25,1e3,1E+3,1e-3,-12.5e10,\"\",{}],"
         "\"b\":{\"c\":{\"d\":[[]]}}}]}",
         1, "", "", 0, NULL},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_cbody b;
        char err[200];
        int rc = read_body(t[i].body, &b, err, sizeof(err));
        const struct rw_cbody_item *it = &b.items[0];
        const char *rec;

        if (rc != RW_CBODY_OK || b.nitems != t[i].nitems) {
            fprintf(stderr, "  case %s: rc %d (%s), %zu items\n", t[i].name, rc, err, b.nitems);
            rwt_failed++;
            continue;
        }
        if (t[i].nitems == 0)
            continue;
        RWT_CHECK_STR(it->task_uuid, t[i].task);
        RWT_CHECK_STR(it->image_uuid, t[i].image);
        RWT_CHECK_INT(it->has_task_uuid, t[i].task[0] != '\0');
        RWT_CHECK_INT(it->has_image_uuid, t[i].image[0] != '\0');
        if (it->cost != t[i].cost) {
            fprintf(stderr, "  case %s: cost %.17g, expected %.17g\n", t[i].name, it->cost,
                    t[i].cost);
            rwt_failed++;
        }
        rec = item_bytes(t[i].body, &b, 0);
        if (t[i].record) {
            if (!rec || strcmp(rec, t[i].record) != 0) {
                fprintf(stderr, "  case %s: record item %s\n", t[i].name, rec ? rec : "(null)");
                rwt_failed++;
            }
        } else {
            RWT_CHECK(it->cut_len == 0 && !it->spaced);
            RWT_CHECK(rec && strlen(rec) == it->len &&
                      memcmp(rec, t[i].body + it->off, it->len) == 0);
        }
    }
}

/* What rw_response makes of the same bodies: the same items with the same fields, and the
 * record's item holds the same JSON as json-c's item less its status. */
static void test_agrees_with_rw_response(void)
{
    static const char *const bodies[] = {
        "{\"data\":[" ITEM "," ITEM "]}",
        ITEM,
        "{\"data\":[1,{\"imageUUID\":\"\\u00e9\",\"status\":\"success\",\"cost\":3},{}],"
        "\"errors\":[]}",
        "{ \"status\" : \"x\" , \"taskUUID\" : \"\\ud83d\\ude00\" , \"k\" : [ 1 , { } ] }",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        const char *body = bodies[i];
        struct rw_response r;
        struct rw_cbody b;
        char err[200];

        RWT_CHECK_INT(read_body(body, &b, err, sizeof(err)), RW_CBODY_OK);
        RWT_CHECK_INT(rw_response_parse(body, strlen(body), &r, err, sizeof(err)), 0);
        RWT_CHECK_INT(b.nitems, r.nitems);
        for (size_t k = 0; k < b.nitems && k < r.nitems; k++) {
            const char *tu = rw_item_task_uuid(r.items[k]), *iu = rw_item_image_uuid(r.items[k]);
            json_object *mine = json_tokener_parse(item_bytes(body, &b, k)), *cost;

            RWT_CHECK_STR(b.items[k].task_uuid, tu ? tu : "");
            RWT_CHECK_STR(b.items[k].image_uuid, iu ? iu : "");
            RWT_CHECK(b.items[k].cost == (json_object_object_get_ex(r.items[k], "cost", &cost)
                                              ? json_object_get_double(cost)
                                              : 0));
            json_object_object_del(r.items[k], "status");
            RWT_CHECK(mine && json_object_equal(mine, r.items[k]));
            json_object_put(mine);
        }
        rw_response_clear(&r);
    }
}

/* Shapes and cases left to rw_response_parse. */
static void test_slow_table(void)
{
    static const char *const t[] = {
        "[]",
        "[{\"taskUUID\":\"" U1 "\"}]",
        "\"text\"",
        "42",
        "null",
        "{}",
        "{\"imageUUID\":\"x\"}",
        "{\"taskUUID\":7}",
        "{\"data\":{}}",
        "{\"data\":null}",
        "{\"errors\":\"bad\"}",
        "{\"errors\":[{\"code\":\"timeoutProvider\"}]}",
        "{\"data\":[],\"errors\":[1]}",
        "{\"data\":[],\"data\":[]}",
        "{\"errors\":[],\"errors\":[]}",
        "{\"d\\u0061ta\":[]}",
        "{\"data\":[{\"taskUUID\":\"a\",\"taskUUID\":\"b\"}]}",
        "{\"data\":[{\"imageUUID\":\"a\",\"imageUUID\":\"b\"}]}",
        "{\"data\":[{\"cost\":1,\"cost\":2}]}",
        "{\"data\":[{\"status\":1,\"status\":2}]}",
        "{\"data\":[{\"st\\u0061tus\":1}]}",
        "{\"data\":[{\"taskUUID\":null}]}",
        "{\"data\":[{\"imageUUID\":7}]}",
        "{\"data\":[{\"imageUUID\":[\"x\"]}]}",
        "{\"data\":[{\"imageUUID\":\"a\\u0000b\"}]}",
        "{\"taskUUID\":\"0123456789012345678901234567890123456789012345678901234567890123x\"}",
        "{\"data\":[{\"cost\":1234567890123456789}]}",
        "{\"data\":[{\"cost\":-1234567890123456789}]}",
        "{\"data\":[{\"cost\":1.00000000000000000000000000000000000000000001}]}",
        "{\"data\":[{\"x\":\"\\ud800\"}]}",
        "{\"data\":[{\"x\":\"\\udc00\\ud800\"}]}",
        "{\"data\":[{\"x\":\"\\ud800\\u0041\"}]}",
        "{\"data\":[{\"x\":\"\\ud800x\"}]}",
        "{\"data\":[{},{},{},{},{},{},{},{},{}]}",
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_cbody b;
        char err[200];
        int rc = read_body(t[i], &b, err, sizeof(err));

        if (rc != RW_CBODY_SLOW || b.nitems != 0) {
            fprintf(stderr, "  case %zu %s: rc %d (%s)\n", i, t[i], rc, err);
            rwt_failed++;
        }
    }
}

/* Not JSON: each refused with what and where. */
static void test_invalid_table(void)
{
    static const struct {
        const char *body, *msg; /* msg: a part of the expected message */
    } t[] = {
        /* structure */
        {"", "unexpected end of data at byte 0"},
        {"   ", "unexpected end of data at byte 3"},
        {"{", "unterminated object at byte 1"},
        {"{\"data\":[", "unexpected end of data"},
        {"{\"data\":[]", "unterminated object"},
        {"{\"data\":[]} x", "unexpected data after the value at byte 12"},
        {"{\"data\":[]}{}", "unexpected data after the value"},
        {"{\"data\":[]}\v", "unexpected data after the value"},
        {"{\"data\":[],}", "expected a member name"},
        {"{,\"data\":[]}", "expected a member name"},
        {"{\"data\":[1,]}", "unexpected character"},
        {"{\"data\":[,1]}", "unexpected character"},
        {"{\"data\":[1 2]}", "expected ',' or ']'"},
        {"{\"data\":[1}", "expected ',' or ']'"},
        {"{\"data\":[] \"errors\":[]}", "expected ',' or '}'"},
        {"{\"data\" []}", "expected ':'"},
        {"{\"a\"::[]}", "unexpected character"},
        {"{'data':[]}", "expected a member name"},
        {"{data:[]}", "expected a member name"},
        {"{\"taskUUID\":\"" U1 "\",\"a\":}", "unexpected character"},
        {"{\"taskUUID\":\"" U1 "\",\"a\":[}", "unexpected character"},
        {"{\"taskUUID\":\"" U1 "\",\"a\":{]}", "expected a member name"},
        {"{\"taskUUID\":\"" U1 "\"/*c*/}", "expected ',' or '}'"},
        {"{\"taskUUID\":", "unexpected end of data"},
        {"{\"taskUUID\"", "expected ':'"},
        {"{\"data\":[{}", "unterminated array"},
        {"{\"errors\":[", "unexpected end of data"},
        {"\xef\xbb\xbf{\"data\":[]}", "unexpected character at byte 0"}, /* a byte order mark */
        {"{\"data\":[],\"errors\":", "unexpected end of data"},
        /* literals */
        {"{\"data\":[tru]}", "invalid literal"},
        {"{\"data\":[True]}", "unexpected character"},
        {"{\"data\":[nul]}", "invalid literal"},
        {"{\"data\":[NaN]}", "unexpected character"},
        {"{\"data\":[Infinity]}", "unexpected character"},
        {"{\"data\":[falsey]}", "expected ',' or ']'"},
        /* numbers */
        {"{\"data\":[01]}", "expected ',' or ']'"},
        {"{\"data\":[-01]}", "expected ',' or ']'"},
        {"{\"data\":[1.]}", "invalid number"},
        {"{\"data\":[.5]}", "unexpected character"},
        {"{\"data\":[1.e5]}", "invalid number"},
        {"{\"data\":[1e]}", "invalid number"},
        {"{\"data\":[1e+]}", "invalid number"},
        {"{\"data\":[-]}", "invalid number"},
        {"{\"data\":[+1]}", "unexpected character"},
        {"{\"data\":[0x10]}", "expected ',' or ']'"},
        {"{\"data\":[{\"cost\":1.}]}", "invalid number"},
        {"{\"data\":[{\"cost\":-}]}", "invalid number"},
        {"{\"data\":[1", "unterminated array"},
        /* strings and escapes */
        {"{\"data\":[\"abc]}", "unterminated string"},
        {"{\"data\":[\"a\\", "unterminated string"},
        {"{\"data\":[\"\\x\"]}", "invalid escape"},
        {"{\"data\":[\"\\'\"]}", "invalid escape"},
        {"{\"data\":[\"\\U0041\"]}", "invalid escape"},
        {"{\"data\":[\"\\u00g0\"]}", "invalid \\u escape"},
        {"{\"data\":[\"\\u00\"]}", "invalid \\u escape"},
        {"{\"data\":[\"\\u12", "invalid \\u escape"},
        {"{\"data\":[\"\\ud800\\u12x4\"]}", "invalid \\u escape"},
        {"{\"data\":[\"a\tb\"]}", "control character in a string"},
        {"{\"data\":[\"a\nb\"]}", "control character in a string"},
        {"{\"data\":[\"\x1f\"]}", "control character in a string"},
        {"{\"data\":[{\"imageUUID\":\"a\x01\"}]}", "control character in a string"},
        {"{\"da\nta\":[]}", "control character in a string"},
        /* UTF-8 */
        {"{\"data\":[\"\x80\"]}", "invalid UTF-8 at byte 10"},
        {"{\"data\":[\"\xbf\"]}", "invalid UTF-8"},
        {"{\"data\":[\"\xc0\x80\"]}", "invalid UTF-8"},         /* overlong NUL */
        {"{\"data\":[\"\xc1\xbf\"]}", "invalid UTF-8"},         /* overlong */
        {"{\"data\":[\"\xe0\x80\x80\"]}", "invalid UTF-8"},     /* overlong, 3 bytes */
        {"{\"data\":[\"\xe0\x9f\xbf\"]}", "invalid UTF-8"},     /* overlong U+07FF */
        {"{\"data\":[\"\xf0\x80\x80\x80\"]}", "invalid UTF-8"}, /* overlong, 4 bytes */
        {"{\"data\":[\"\xf0\x8f\xbf\xbf\"]}", "invalid UTF-8"}, /* overlong U+FFFF */
        {"{\"data\":[\"\xed\xa0\x80\"]}", "invalid UTF-8"},     /* surrogate U+D800 */
        {"{\"data\":[\"\xed\xbf\xbf\"]}", "invalid UTF-8"},     /* surrogate U+DFFF */
        {"{\"data\":[\"\xf4\x90\x80\x80\"]}", "invalid UTF-8"}, /* U+110000 */
        {"{\"data\":[\"\xf5\x80\x80\x80\"]}", "invalid UTF-8"},
        {"{\"data\":[\"\xff\"]}", "invalid UTF-8"},
        {"{\"data\":[\"\xfe\"]}", "invalid UTF-8"},
        {"{\"data\":[\"\xc3\"]}", "invalid UTF-8"},         /* truncated */
        {"{\"data\":[\"\xe2\x82\"]}", "invalid UTF-8"},     /* truncated */
        {"{\"data\":[\"\xf0\x9f\x98\"]}", "invalid UTF-8"}, /* truncated */
        {"{\"data\":[\"\xc3\xc3\"]}", "invalid UTF-8"},
        {"{\"data\":[\"\xe2\x28\xa1\"]}", "invalid UTF-8"},
        {"{\"data\":[{\"imageUUID\":\"\xc3\x28\"}]}", "invalid UTF-8"},
        {"{\"\xff\":1}", "invalid UTF-8"},
        {"{\"data\":[\"\xe2\x82", "invalid UTF-8"}, /* truncated by the end of the body */
        {"{\"data\":[\xc3\xa9]}", "unexpected character"},
        /* whatever the shape: what json-c would read is validated all the same */
        {"{\"errors\":[{\"code\":\"x\"}],\"data\":[{\"x\":NaN}]}", "unexpected character"},
        {"{\"errors\":[1,]}", "unexpected character"},
        {"{\"errors\":{\"a\":1.}}", "invalid number"},
        {"[1,]", "unexpected character"},
        {"[\"\xc0\x80\"]", "invalid UTF-8"},
        {"\"a\tb\"", "control character"},
        {"tru", "invalid literal"},
        {"{\"data\":{\"a\":01}}", "expected ',' or '}'"},
        {"{\"data\":[{},{},{},{},{},{},{},{},{},{\"a\":\"\xc0\x80\"}]}", "invalid UTF-8"},
        {"{\"data\":[{\"x\":\"\\ud800\",\"y\":tru}]}", "invalid literal"},
        {"{\"data\":[{\"taskUUID\":7,\"x\":[1,]}]}", "unexpected character"},
        {"{\"data\":[{\"cost\":1234567890123456789,\"x\":-}]}", "invalid number"},
        {"{\"data\":[{\"imageUUID\":\"a\\u0000\",\"imageUUID\":\"\\x\"}]}", "invalid escape"},
        {"{\"d\\u0061ta\":[],\"x\":[}", "unexpected character"},
        {"{\"taskUUID\":null}{", "unexpected data after the value"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_cbody b;
        char err[200];
        int rc = read_body(t[i].body, &b, err, sizeof(err));

        if (rc != RW_CBODY_INVALID || b.nitems != 0 || strncmp(err, "not JSON: ", 10) != 0 ||
            strstr(err, t[i].msg) == NULL) {
            fprintf(stderr, "  case %zu %s: rc %d err \"%s\"\n", i, t[i].body, rc, err);
            rwt_failed++;
        }
    }
}

/* A NUL inside the body is a character like any other: refused where JSON does not allow it. */
static void test_nul_bytes(void)
{
    static const char body[] = "{\"data\":[]}\0";
    static const char in_string[] = "{\"data\":[\"a\0b\"]}";
    struct rw_cbody b;
    char err[200];

    RWT_CHECK_INT(rw_cbody_read(body, sizeof(body) - 1, &b, err, sizeof(err)), RW_CBODY_INVALID);
    RWT_CHECK(strstr(err, "at byte 11") != NULL);
    RWT_CHECK_INT(rw_cbody_read(in_string, sizeof(in_string) - 1, &b, err, sizeof(err)),
                  RW_CBODY_INVALID);
    RWT_CHECK(strstr(err, "control character") != NULL);
}

/* Nesting: 32 levels in all are read, 33 refused, as json-c does. */
static void test_depth(void)
{
    char body[200], err[200];
    struct rw_cbody b;
    json_object *o;

    for (int levels = 30; levels <= 34; levels++) {
        /* {"data":[{"x": then levels - 3 arrays */
        int n = snprintf(body, sizeof(body), "{\"data\":[{\"x\":");

        for (int i = 0; i < levels - 3; i++)
            body[n++] = '[';
        for (int i = 0; i < levels - 3; i++)
            body[n++] = ']';
        n += snprintf(body + n, sizeof(body) - (size_t)n, "}]}");
        o = json_tokener_parse(body);
        if (levels <= RW_CBODY_DEPTH_MAX) {
            RWT_CHECK_INT(read_body(body, &b, err, sizeof(err)), RW_CBODY_OK);
            RWT_CHECK_INT(b.nitems, 1);
            RWT_CHECK(o != NULL);
        } else {
            RWT_CHECK_INT(read_body(body, &b, err, sizeof(err)), RW_CBODY_INVALID);
            RWT_CHECK(strstr(err, "nested deeper than 32") != NULL);
            RWT_CHECK(o == NULL);
        }
        json_object_put(o);
    }
    /* deep in a bare item too */
    for (int levels = 32; levels <= 33; levels++) {
        int n = snprintf(body, sizeof(body), "{\"taskUUID\":\"u\",\"a\":");

        for (int i = 0; i < levels - 1; i++)
            body[n++] = '[';
        for (int i = 0; i < levels - 1; i++)
            body[n++] = ']';
        snprintf(body + n, sizeof(body) - (size_t)n, "}");
        RWT_CHECK_INT(read_body(body, &b, err, sizeof(err)),
                      levels <= RW_CBODY_DEPTH_MAX ? RW_CBODY_OK : RW_CBODY_INVALID);
    }
}

static void test_valid_utf8_boundaries(void)
{
    static const char *const t[] = {
        "\x7f",         "\xc2\x80",     "\xdf\xbf",         "\xe0\xa0\x80",     "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xe2\x80\xa8",
        "\xef\xbb\xbf",
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char body[100], err[200];
        struct rw_cbody b;

        snprintf(body, sizeof(body), "{\"data\":[{\"imageUUID\":\"%s\",\"%s\":\"%s\"}]}", t[i],
                 t[i], t[i]);
        if (read_body(body, &b, err, sizeof(err)) != RW_CBODY_OK) {
            fprintf(stderr, "  case %zu: %s\n", i, err);
            rwt_failed++;
            continue;
        }
        RWT_CHECK_STR(b.items[0].image_uuid, t[i]);
    }
}

static void test_not_nul_terminated(void)
{
    /* the body is a slice of a larger buffer: read only len bytes */
    const char buf[] = "{\"data\":[{\"imageUUID\":\"i\"}]}GARBAGE";
    struct rw_cbody b;
    char err[200];

    RWT_CHECK_INT(rw_cbody_read(buf, 28, &b, err, sizeof(err)), RW_CBODY_OK);
    RWT_CHECK_INT(b.nitems, 1);
    RWT_CHECK_INT(b.items[0].len, 17);
    RWT_CHECK_INT(rw_cbody_read(buf, 29, &b, err, sizeof(err)), RW_CBODY_INVALID);
    /* cut inside a string, a number, a literal: each read to its end and no further */
    RWT_CHECK_INT(rw_cbody_read(buf, 24, &b, err, sizeof(err)), RW_CBODY_INVALID);
    RWT_CHECK(strstr(err, "unterminated string") != NULL);
    RWT_CHECK_INT(rw_cbody_read("{\"data\":[12]}", 11, &b, err, sizeof(err)), RW_CBODY_INVALID);
    RWT_CHECK_INT(rw_cbody_read("{\"data\":[true]}", 12, &b, err, sizeof(err)), RW_CBODY_INVALID);
    RWT_CHECK(strstr(err, "invalid literal") != NULL);
    RWT_CHECK_INT(rw_cbody_read("{\"data\":[\"\\u0041\"]}", 14, &b, err, sizeof(err)),
                  RW_CBODY_INVALID);
}

/* in read from a heap block of exactly n bytes, so that ASan sees any read past it. */
static int read_exact(const char *in, size_t n, struct rw_cbody *b, char *err, size_t errlen)
{
    char *buf = malloc(n ? n : 1);
    int rc;

    if (!buf)
        abort();
    memcpy(buf, in, n);
    err[0] = '\0';
    rc = rw_cbody_read(buf, n, b, err, errlen);
    free(buf);
    return rc;
}

/* What the word-at-a-time string scan stops at, and what it lets through, at every position of
 * strings 1..25 bytes long: every place in a word, and the bytes after the last whole word; in a
 * field kept (imageUUID, unescaped) and in a member only validated. */
static void test_scan_edges(void)
{
    static const struct {
        const char *put;  /* put at position k */
        const char *read; /* what it reads as; NULL: invalid */
        const char *msg;  /* then: the message */
    } t[] = {
        {"a", "a", NULL},
        {" ", " ", NULL},
        {"\x7f", "\x7f", NULL},
        {"\xc3\xa9", "\xc3\xa9", NULL},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", NULL},
        {"\\n", "\n", NULL},
        {"\\\"", "\"", NULL},
        {"\\\\", "\\", NULL},
        {"\\u00e9", "\xc3\xa9", NULL},
        {"\x01", NULL, "control character in a string"},
        {"\x1f", NULL, "control character in a string"},
        {"\x80", NULL, "invalid UTF-8"},
        {"\xff", NULL, "invalid UTF-8"},
        {"\xc3", NULL, "invalid UTF-8"},
    };
    static const char *const keys[] = {"imageUUID", "x"};

    for (size_t j = 0; j < sizeof(t) / sizeof(t[0]); j++) {
        for (size_t key = 0; key < 2; key++) {
            for (size_t len = 0; len <= 24; len++) {
                for (size_t k = 0; k <= len; k++) {
                    char str[64], body[128], err[200], want[64];
                    struct rw_cbody b;
                    int pre, rc;

                    snprintf(str, sizeof(str), "%.*s%s%.*s", (int)k, "aaaaaaaaaaaaaaaaaaaaaaaa",
                             t[j].put, (int)(len - k), "aaaaaaaaaaaaaaaaaaaaaaaa");
                    pre = snprintf(body, sizeof(body), "{\"data\":[{\"%s\":\"", keys[key]);
                    snprintf(body + pre, sizeof(body) - (size_t)pre, "%s\"}]}", str);
                    rc = read_exact(body, strlen(body), &b, err, sizeof(err));
                    if (!t[j].read) {
                        char msg[100];

                        snprintf(msg, sizeof(msg), "%s at byte %zu", t[j].msg, (size_t)pre + k);
                        RWT_CHECK_INT(rc, RW_CBODY_INVALID);
                        if (!strstr(err, msg)) {
                            fprintf(stderr, "  %s: \"%s\", not \"%s\"\n", body, err, msg);
                            rwt_failed++;
                        }
                        continue;
                    }
                    RWT_CHECK_INT(rc, RW_CBODY_OK);
                    if (rc != RW_CBODY_OK) {
                        fprintf(stderr, "  %s: %s\n", body, err);
                        continue;
                    }
                    snprintf(want, sizeof(want), "%.*s%s%.*s", (int)k, "aaaaaaaaaaaaaaaaaaaaaaaa",
                             t[j].read, (int)(len - k), "aaaaaaaaaaaaaaaaaaaaaaaa");
                    RWT_CHECK_STR(b.items[0].image_uuid, key == 0 ? want : "");
                }
            }
        }
    }
    /* every prefix, from a block that ends there: nothing is read past it */
    {
        static const char body[] =
            "{\"data\":[{\"imageBase64Data\":\"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0L\","
            "\"imageUUID\":\"6c5f0e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6\"}]}";
        const size_t str0 = strlen("{\"data\":[{\"imageBase64Data\":\"");
        const size_t str1 = str0 + strlen("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0L");

        for (size_t cut = 0; cut < sizeof(body) - 1; cut++) {
            struct rw_cbody b;
            char err[200], msg[64];

            RWT_CHECK_INT(read_exact(body, cut, &b, err, sizeof(err)), RW_CBODY_INVALID);
            if (cut >= str0 && cut <= str1) {
                snprintf(msg, sizeof(msg), "unterminated string at byte %zu", cut);
                RWT_CHECK(strstr(err, msg) != NULL);
            }
        }
        {
            struct rw_cbody b;
            char err[200];

            RWT_CHECK_INT(read_exact(body, sizeof(body) - 1, &b, err, sizeof(err)), RW_CBODY_OK);
        }
    }
}

/* Items as many as fit, each with its own fields; the counts a task's callbacks bring. */
static void test_many_items(void)
{
    char body[2048], err[200];
    struct rw_cbody b;
    int n = snprintf(body, sizeof(body), "{\"data\":[");

    for (int i = 0; i < RW_CBODY_ITEMS_MAX; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n,
                      "%s{\"taskUUID\":\"t%d\",\"imageUUID\":\"i%d\",\"cost\":%d.5}", i ? "," : "",
                      i, i, i);
    snprintf(body + n, sizeof(body) - (size_t)n, "]}");
    RWT_CHECK_INT(read_body(body, &b, err, sizeof(err)), RW_CBODY_OK);
    RWT_CHECK_INT(b.nitems, RW_CBODY_ITEMS_MAX);
    for (size_t i = 0; i < b.nitems; i++) {
        char want[32];

        snprintf(want, sizeof(want), "t%zu", i);
        RWT_CHECK_STR(b.items[i].task_uuid, want);
        snprintf(want, sizeof(want), "i%zu", i);
        RWT_CHECK_STR(b.items[i].image_uuid, want);
        RWT_CHECK(b.items[i].cost == (double)i + 0.5);
        RWT_CHECK(body[b.items[i].off] == '{' && body[b.items[i].off + b.items[i].len - 1] == '}');
    }
}

static void test_big_cost(void)
{
    struct rw_cbody b;
    char err[200];

    RWT_CHECK_INT(read_body("{\"data\":[{\"cost\":1e999}]}", &b, err, sizeof(err)), RW_CBODY_OK);
    RWT_CHECK(isinf(b.items[0].cost)); /* as json-c has it */
    RWT_CHECK_INT(read_body("{\"data\":[{\"cost\":1e-999}]}", &b, err, sizeof(err)), RW_CBODY_OK);
    RWT_CHECK(b.items[0].cost == 0);
}

static const struct rwt_case cases[] = {
    {"shapes_table", test_shapes_table},
    {"agrees_with_rw_response", test_agrees_with_rw_response},
    {"slow_table", test_slow_table},
    {"invalid_table", test_invalid_table},
    {"nul_bytes", test_nul_bytes},
    {"depth", test_depth},
    {"valid_utf8_boundaries", test_valid_utf8_boundaries},
    {"not_nul_terminated", test_not_nul_terminated},
    {"many_items", test_many_items},
    {"big_cost", test_big_cost},
    {"scan_edges", test_scan_edges},
};

RWT_MAIN(cases)
