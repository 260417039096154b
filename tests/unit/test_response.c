/* rw_response: every body shape Runware sends, item accessors, error copies for records. */
#include <stdlib.h>

#include "rw_response.h"
#include "rwtest.h"

#define U1    "123e4567-e89b-12d3-a456-426614174000"
#define U2    "9f0c1a52-7b1e-4c55-9a55-0d2c3e4f5a6b"
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* An item as Runware sends it, with numbers json-c must serialise back unchanged. */
#define ITEM1                                                                                      \
    "{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1 "\",\"imageUUID\":\"im-1\","             \
    "\"imageURL\":\"https://im.runware.ai/image/ws/2/ii/im-1.jpg\",\"seed\":9223372036854775807,"  \
    "\"cost\":0.0013,\"NSFWContent\":false}"
#define ITEM2                                                                                      \
    "{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1 "\",\"imageUUID\":\"im-2\","             \
    "\"imageBase64Data\":\"aGVsbG8=\",\"seed\":18446744073709551615,\"cost\":1.5e-05}"

/* The tokener the tables parse with: NULL (rw_response_parse's own), or one reused across bodies.
 */
static json_tokener *tok;

static void test_shapes_table(void)
{
    static const struct {
        const char *name, *body;
        size_t nitems, nerrors;
        const char *first_uuid; /* taskUUID of items[0] or, without items, errors[0] */
    } t[] = {
        {"ack", "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1 "\"}]}", 1, 0, U1},
        {"ack two tasks",
         "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1
         "\"},{\"taskType\":\"imageInference\",\"taskUUID\":\"" U2 "\"}]}",
         2, 0, U1},
        {"ack with a per-task error",
         "{\"data\":[],\"errors\":[{\"code\":\"invalidWidth\",\"parameter\":\"width\",\"message\":"
         "\"Invalid value for width parameter.\",\"taskUUID\":\"" U2 "\"}]}",
         0, 1, U2},
        {"webhook data", "{\"data\":[" ITEM1 "]}", 1, 0, U1},
        {"webhook bare item", ITEM1, 1, 0, U1},
        {"webhook errors",
         "{\"errors\":[{\"code\":\"timeoutProvider\",\"message\":\"The provider timed out.\","
         "\"taskUUID\":\"" U1 "\"}]}",
         0, 1, U1},
        {"getResponse",
         "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1
         "\",\"status\":\"processing\"},{\"taskType\":\"imageInference\",\"taskUUID\":\"" U1
         "\",\"imageUUID\":\"im-1\",\"imageURL\":\"https://x/im-1.jpg\",\"status\":\"success\"}],"
         "\"errors\":[{\"code\":\"generationFailed\",\"message\":\"failed\",\"taskUUID\":\"" U1
         "\",\"status\":\"error\"}]}",
         2, 1, U1},
        {"api error",
         "{\"errors\":[{\"code\":\"invalidApiKey\",\"message\":\"Invalid API key.\",\"taskType\":"
         "\"imageInference\",\"documentation\":\"https://runware.ai/docs\"}]}",
         0, 1, NULL},
        {"non-objects skipped",
         "{\"data\":[1,\"x\",null,[],{\"taskUUID\":\"" U1 "\"}],\"errors\":[\"oops\",7]}", 1, 0,
         U1},
        {"empty data", "{\"data\":[]}", 0, 0, NULL},
        {"whitespace around", "\n {\"data\":[]} \r\n\t", 0, 0, NULL},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_response r;
        char err[256] = "";
        int rc = rw_response_parse_with(tok, t[i].body, strlen(t[i].body), &r, err, sizeof(err));
        const char *u = NULL;

        if (rc == 0 && r.nitems > 0)
            u = rw_item_task_uuid(r.items[0]);
        else if (rc == 0 && r.nerrors > 0)
            u = rw_item_task_uuid(r.errors[0]);
        if (rc != 0 || r.nitems != t[i].nitems || r.nerrors != t[i].nerrors ||
            (t[i].first_uuid == NULL ? u != NULL
                                     : (u == NULL || strcmp(u, t[i].first_uuid) != 0))) {
            fprintf(stderr, "  case %s: rc %d (%s) items %zu errors %zu uuid %s\n", t[i].name, rc,
                    err, r.nitems, r.nerrors, u ? u : "(null)");
            rwt_failed++;
        }
        for (size_t k = 0; rc == 0 && k < r.nitems; k++)
            RWT_CHECK(json_object_is_type(r.items[k], json_type_object));
        for (size_t k = 0; rc == 0 && k < r.nerrors; k++)
            RWT_CHECK(json_object_is_type(r.errors[k], json_type_object));
        rw_response_clear(&r);
        RWT_CHECK(r.root == NULL && r.items == NULL && r.nitems == 0);
    }
}

static void test_rejects_table(void)
{
    static const struct {
        const char *body, *msg; /* msg: a part of the expected message */
    } t[] = {
        {"", "not JSON"},
        {"   ", "not JSON"},
        {"{\"data\":[", "not JSON"},
        {"{\"data\":[]} x", "not JSON"},
        {"{\"data\":[]}{}", "not JSON"},
        {"{\"a\":\"\xff\"}", "not JSON"},
        {"[{\"taskUUID\":\"" U1 "\"}]", "not a JSON object"},
        {"\"text\"", "not a JSON object"},
        {"42", "not a JSON object"},
        {"null", "not a JSON object but null"},
        {"{\"data\":{}}", "\"data\" is not an array"},
        {"{\"data\":null}", "\"data\" is not an array"},
        {"{\"errors\":\"bad\"}", "\"errors\" is not an array"},
        {"{\"data\":[],\"errors\":{}}", "\"errors\" is not an array"},
        {"{}", "neither"},
        {"{\"imageUUID\":\"x\"}", "neither"},
        {"{\"taskUUID\":7}", "neither"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_response r;
        char err[256] = "";
        int rc = rw_response_parse_with(tok, t[i].body, strlen(t[i].body), &r, err, sizeof(err));

        if (rc != -1 || strstr(err, t[i].msg) == NULL || r.root != NULL || r.items != NULL) {
            fprintf(stderr, "  case %zu %s: rc %d err \"%s\"\n", i, t[i].body, rc, err);
            rwt_failed++;
        }
        rw_response_clear(&r);
    }
}

/* Runware's own answers go through rw_response_read: JSON as RFC 8259 has it, whatever json-c
 * would take; what is JSON reads exactly as rw_response_parse reads it. */
static void test_read_strict(void)
{
    static const char *const refused[] = {
        "{\"data\":[{\"taskUUID\":\"" U1 "\",\"cost\":NaN}]}",
        "{\"data\":[{\"taskUUID\":\"" U1 "\",\"seed\":1.}]}",
        "{\"data\":[]} /* comment */",
        "{\"data\":[{\"taskUUID\":\"" U1 "\",\"imageUUID\":\"\xc0\xaf\"}]}",
        "{\"data\":[{\"taskUUID\":\"" U1 "\",}]}",
        "{'data':[]}",
        "{\"errors\":[{\"code\":\"x\",\"message\":\"tab\there\"}]}",
    };
    char many[4096], *o = many;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct rw_response r;
        char err[256] = "";
        int rc = rw_response_read(refused[i], strlen(refused[i]), &r, err, sizeof(err));

        if (rc != -1 || strncmp(err, "not JSON: ", 10) != 0 || r.root != NULL) {
            fprintf(stderr, "  refused %zu %s: rc %d err \"%s\"\n", i, refused[i], rc, err);
            rwt_failed++;
        }
        rw_response_clear(&r);
    }
    /* 16 items (more than the callback reader lists) and an error: read; a NaN in the 12th item
     * is refused all the same */
    o += sprintf(o, "{\"data\":[");
    for (int i = 0; i < 16; i++)
        o += sprintf(o, "%s{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\"}", i ? "," : "",
                     i % 2 ? U1 : U2);
    sprintf(o, "],\"errors\":[{\"code\":\"invalidSeed\",\"taskUUID\":\"" U2 "\"}]}");
    {
        struct rw_response r;
        char err[256] = "";

        RWT_CHECK_INT(rw_response_read(many, strlen(many), &r, err, sizeof(err)), 0);
        RWT_CHECK_INT(r.nitems, 16);
        RWT_CHECK_INT(r.nerrors, 1);
        RWT_CHECK_STR(rw_item_task_uuid(r.items[1]), U1);
        rw_response_clear(&r);
        o = many;
        for (int i = 0; i < 12; i++)
            o = strstr(o + 1, "\"imageInference\"");
        memcpy(o, "NaN             ", 16); /* the 12th item's taskType, same length */
        RWT_CHECK_INT(rw_response_parse(many, strlen(many), &r, err, sizeof(err)), 0); /* json-c */
        rw_response_clear(&r);
        RWT_CHECK_INT(rw_response_read(many, strlen(many), &r, err, sizeof(err)), -1);
        RWT_CHECK(strstr(err, "not JSON") != NULL);
        RWT_CHECK_INT(strtol(strstr(err, "at byte ") + 8, NULL, 10), o - many);
        rw_response_clear(&r);
    }
}

/* One tokener for every body, the refused ones (a truncated body leaves it mid-value) between the
 * good ones: each parse starts afresh. */
static void test_reused_tokener(void)
{
    RWT_CHECK((tok = json_tokener_new()) != NULL);
    test_rejects_table();
    test_shapes_table();
    test_rejects_table();
    test_shapes_table();
    json_tokener_free(tok);
    tok = NULL;
}

static void test_not_nul_terminated(void)
{
    /* the body is a slice of a larger buffer: parse only len bytes */
    const char buf[] = "{\"data\":[]}GARBAGE";
    struct rw_response r;
    char err[128];

    RWT_CHECK_INT(rw_response_parse(buf, 11, &r, err, sizeof(err)), 0);
    RWT_CHECK_INT(r.nitems, 0);
    rw_response_clear(&r);
    RWT_CHECK_INT(rw_response_parse(buf, 12, &r, err, sizeof(err)), -1);
    RWT_CHECK(strstr(err, "at byte 11") != NULL);
}

static void test_numbers_round_trip(void)
{
    struct rw_response r;
    char err[128];
    const char *body = "{\"data\":[" ITEM1 "," ITEM2 "]}";

    RWT_CHECK_INT(rw_response_parse(body, strlen(body), &r, err, sizeof(err)), 0);
    RWT_CHECK_INT(r.nitems, 2);
    RWT_CHECK_STR(json_object_to_json_string_ext(r.items[0], FLAGS), ITEM1);
    RWT_CHECK_STR(json_object_to_json_string_ext(r.items[1], FLAGS), ITEM2);
    RWT_CHECK_STR(json_object_to_json_string_ext(r.root, FLAGS), body);
    RWT_CHECK_STR(rw_item_image_uuid(r.items[0]), "im-1");
    RWT_CHECK_STR(rw_item_image_uuid(r.items[1]), "im-2");
    rw_response_clear(&r);
}

static void test_accessors(void)
{
    json_object *o =
        json_tokener_parse("{\"taskUUID\":12,\"imageUUID\":null,\"status\":\"success\"}");

    RWT_CHECK(rw_item_task_uuid(o) == NULL);
    RWT_CHECK(rw_item_image_uuid(o) == NULL);
    RWT_CHECK_STR(rw_item_status(o), "success");
    RWT_CHECK(rw_item_status(NULL) == NULL);
    json_object_put(o);
    o = json_object_new_array();
    RWT_CHECK(rw_item_task_uuid(o) == NULL);
    json_object_put(o);
}

static void test_error_for_record(void)
{
    const char *body = "{\"errors\":[{\"code\":\"invalidWidth\",\"message\":\"Invalid value.\","
                       "\"parameter\":\"width\",\"taskType\":\"imageInference\",\"taskUUID\":\"" U1
                       "\",\"documentation\":\"https://runware.ai/docs/en/image-inference/"
                       "api-reference#request-width\",\"allowed\":[128,144],\"cost\":0.0013,"
                       "\"extra\":null}]}";
    struct rw_response r;
    char err[128];
    json_object *copy;

    RWT_CHECK_INT(rw_response_parse(body, strlen(body), &r, err, sizeof(err)), 0);
    RWT_CHECK_INT(r.nerrors, 1);
    copy = rw_error_for_record(r.errors[0]);
    RWT_CHECK(copy != NULL);
    RWT_CHECK_STR(
        json_object_to_json_string_ext(copy, FLAGS),
        "{\"code\":\"invalidWidth\",\"message\":\"Invalid value.\",\"parameter\":\"width\","
        "\"documentation\":\"https://runware.ai/docs/en/image-inference/"
        "api-reference#request-width\",\"allowed\":[128,144],\"cost\":0.0013,"
        "\"extra\":null}");
    /* a copy: it outlives the response */
    rw_response_clear(&r);
    RWT_CHECK_STR(json_object_get_string(json_object_object_get(copy, "code")), "invalidWidth");
    json_object_put(copy);
    /* not an object: an empty error rather than a crash */
    copy = rw_error_for_record(NULL);
    RWT_CHECK_STR(json_object_to_json_string_ext(copy, FLAGS), "{}");
    json_object_put(copy);
}

static void test_not_found_table(void)
{
    static const struct {
        const char *err;
        bool want;
    } t[] = {
        {"{\"code\":\"taskNotFound\",\"taskUUID\":\"x\"}", true},
        {"{\"code\":\"TASK_NOT_FOUND\"}", false}, /* underscores: not the same word */
        {"{\"code\":\"notfound\"}", true},
        {"{\"code\":\"timeoutProvider\"}", false},
        {"{\"code\":404}", false},
        {"{\"message\":\"taskNotFound\"}", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_object *e = json_tokener_parse(t[i].err);

        RWT_CHECK(e != NULL);
        RWT_CHECK_INT(rw_error_is_not_found(e), t[i].want);
        json_object_put(e);
    }
}

static const struct rwt_case cases[] = {
    {"not_found_table", test_not_found_table},
    {"read_strict", test_read_strict},
    {"shapes_table", test_shapes_table},
    {"rejects_table", test_rejects_table},
    {"reused_tokener", test_reused_tokener},
    {"not_nul_terminated", test_not_nul_terminated},
    {"numbers_round_trip", test_numbers_round_trip},
    {"accessors", test_accessors},
    {"error_for_record", test_error_for_record},
};

RWT_MAIN(cases)
