/* rw_errors: Runware-style error objects appended to arrays. */
#include <stdlib.h>

#include "rw_errors.h"
#include "rwtest.h"

static const char *field(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_object_get_string(v);
}

static void test_add_with_parameter(void)
{
    json_object *arr = json_object_new_array();
    json_object *e = rw_errors_add(arr, RW_E_INVALID_PARAMETER, "width",
                                   "width %d is not a multiple of %d", 130, 16);

    RWT_CHECK(e != NULL);
    RWT_CHECK_INT(json_object_array_length(arr), 1);
    RWT_CHECK(json_object_array_get_idx(arr, 0) == e);
    RWT_CHECK_STR(field(e, "code"), "invalidParameter");
    RWT_CHECK_STR(field(e, "message"), "width 130 is not a multiple of 16");
    RWT_CHECK_STR(field(e, "parameter"), "width");
    RWT_CHECK_INT(json_object_object_length(e), 3);
    /* the returned object is borrowed: callers may add fields to it */
    json_object_object_add(e, "min", json_object_new_int(128));
    RWT_CHECK_STR(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN),
                  "[{\"code\":\"invalidParameter\",\"message\":\"width 130 is not a multiple of "
                  "16\",\"parameter\":\"width\",\"min\":128}]");
    json_object_put(arr);
}

static void test_add_without_parameter(void)
{
    json_object *arr = json_object_new_array();
    json_object *e = rw_errors_add(arr, RW_E_INVALID_JSON, NULL, "%s", "bad");

    RWT_CHECK(e != NULL);
    RWT_CHECK(!json_object_object_get_ex(e, "parameter", NULL));
    RWT_CHECK_INT(json_object_object_length(e), 2);
    RWT_CHECK(rw_errors_add(arr, RW_E_MISSING_PARAMETER, "positivePrompt", "required") != NULL);
    RWT_CHECK_INT(json_object_array_length(arr), 2);
    json_object_put(arr);
}

static void test_long_message(void)
{
    /* longer than the formatter's first buffer: must come out whole */
    char big[5000];
    json_object *arr = json_object_new_array(), *e;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    e = rw_errors_add(arr, RW_E_INVALID_PARAMETER, "p", "<%s>", big);
    RWT_CHECK(e != NULL);
    RWT_CHECK_INT(strlen(field(e, "message")), sizeof(big) - 1 + 2);
    RWT_CHECK(field(e, "message")[0] == '<' && field(e, "message")[sizeof(big)] == '>');
    json_object_put(arr);
}

static void test_message_escaped(void)
{
    json_object *arr = json_object_new_array(), *back;
    const char *s;

    rw_errors_add(arr, RW_E_INVALID_PARAMETER, "a\"b", "quote \" backslash \\ newline \n tab \t");
    s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
    back = json_tokener_parse(s);
    RWT_CHECK(back != NULL);
    RWT_CHECK_STR(field(json_object_array_get_idx(back, 0), "message"),
                  "quote \" backslash \\ newline \n tab \t");
    RWT_CHECK_STR(field(json_object_array_get_idx(back, 0), "parameter"), "a\"b");
    json_object_put(back);
    json_object_put(arr);
}

static void test_add_refuses_non_array(void)
{
    json_object *obj = json_object_new_object();

    RWT_CHECK(rw_errors_add(NULL, RW_E_INVALID_JSON, NULL, "x") == NULL);
    RWT_CHECK(rw_errors_add(obj, RW_E_INVALID_JSON, NULL, "x") == NULL);
    RWT_CHECK_INT(json_object_object_length(obj), 0);
    json_object_put(obj);
}

static void test_one(void)
{
    json_object *arr = rw_errors_one(RW_E_SUBMIT_FAILED, NULL, "gave up after %d retries", 5);

    RWT_CHECK(arr != NULL);
    RWT_CHECK(json_object_is_type(arr, json_type_array));
    RWT_CHECK_INT(json_object_array_length(arr), 1);
    RWT_CHECK_STR(field(json_object_array_get_idx(arr, 0), "code"), "submitFailed");
    RWT_CHECK_STR(field(json_object_array_get_idx(arr, 0), "message"), "gave up after 5 retries");
    json_object_put(arr);
    arr = rw_errors_one(RW_E_RESULT_LIST, "resultList", "no");
    RWT_CHECK_STR(field(json_object_array_get_idx(arr, 0), "parameter"), "resultList");
    json_object_put(arr);
}

static const struct rwt_case cases[] = {
    {"add_with_parameter", test_add_with_parameter},
    {"add_without_parameter", test_add_without_parameter},
    {"long_message", test_long_message},
    {"message_escaped", test_message_escaped},
    {"add_refuses_non_array", test_add_refuses_non_array},
    {"one", test_one},
};

RWT_MAIN(cases)
