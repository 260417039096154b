/* rw_producer_build and rw_producer_reply_list: the pure half of the producer API. */
#include <stdlib.h>

#include <json-c/json.h>

#include "rw_producer.h"
#include "rwtest.h"

#define U1 "0b6c3e2a-9a43-4e4c-8f62-2f7b8a1c5d10"

/* Builds job; on success returns the parsed payload (caller puts it). */
static json_object *build(const char *job, const char *list, char uuid[RW_UUID_LEN + 1], int want)
{
    char *out = NULL, err[256] = "";
    size_t len = 0;
    int rc = rw_producer_build(job, strlen(job), list, uuid, &out, &len, err, sizeof(err));
    json_object *o = NULL;

    RWT_CHECK_INT(rc, want);
    if (rc == 0) {
        RWT_CHECK(out != NULL && strlen(out) == len);
        o = json_tokener_parse(out);
        RWT_CHECK(o != NULL);
    } else {
        RWT_CHECK(out == NULL && err[0] != '\0');
    }
    free(out);
    return o;
}

static const char *str(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static void test_bare(void)
{
    char uuid[RW_UUID_LEN + 1];
    json_object *o = build("{\"positivePrompt\":\"a fox\"}", NULL, uuid, 0);

    RWT_CHECK(rw_uuid_valid(uuid));
    RWT_CHECK_STR(str(o, "taskUUID"), uuid);
    RWT_CHECK_STR(str(o, "positivePrompt"), "a fox");
    RWT_CHECK(get(o, "task") == NULL);
    json_object_put(o);
    /* a given taskUUID is kept; trailing whitespace is fine */
    o = build("{\"positivePrompt\":\"a fox\",\"taskUUID\":\"" U1 "\"}\n  ", NULL, uuid, 0);
    RWT_CHECK_STR(uuid, U1);
    RWT_CHECK_STR(str(o, "taskUUID"), U1);
    json_object_put(o);
}

static void test_reply_list(void)
{
    char uuid[RW_UUID_LEN + 1], list[RW_PRODUCER_LIST_MAX];
    json_object *o;

    RWT_CHECK_INT(rw_producer_reply_list("rw", U1, list, sizeof(list)), 0);
    RWT_CHECK_STR(list, "rw:reply:" U1);
    RWT_CHECK_INT(rw_producer_reply_list("rw", U1, list, 10), -1);
    /* a bare task is wrapped in an envelope naming the list */
    o = build("{\"positivePrompt\":\"a fox\",\"taskUUID\":\"" U1 "\"}", list, uuid, 0);
    RWT_CHECK_STR(str(o, "resultList"), list);
    RWT_CHECK_STR(str(get(o, "task"), "taskUUID"), U1);
    RWT_CHECK_STR(str(get(o, "task"), "positivePrompt"), "a fox");
    json_object_put(o);
    /* an envelope keeps its meta and gains the list and a taskUUID */
    o = build("{\"task\":{\"positivePrompt\":\"x\"},\"meta\":{\"k\":[1,2]}}", list, uuid, 0);
    RWT_CHECK(rw_uuid_valid(uuid));
    RWT_CHECK_STR(str(get(o, "task"), "taskUUID"), uuid);
    RWT_CHECK_STR(str(o, "resultList"), list);
    RWT_CHECK_STR(json_object_to_json_string_ext(get(o, "meta"), JSON_C_TO_STRING_PLAIN),
                  "{\"k\":[1,2]}");
    json_object_put(o);
    /* one that names its own list is refused a reply list, and kept as it is without one */
    build("{\"task\":{\"positivePrompt\":\"x\"},\"resultList\":\"mine\"}", list, uuid, -1);
    o = build("{\"task\":{\"positivePrompt\":\"x\"},\"resultList\":\"mine\"}", NULL, uuid, 0);
    RWT_CHECK_STR(str(o, "resultList"), "mine");
    json_object_put(o);
}

static void test_refused(void)
{
    char uuid[RW_UUID_LEN + 1];

    build("", NULL, uuid, -1);
    build("{not json", NULL, uuid, -1);
    build("[1,2]", NULL, uuid, -1);
    build("{\"a\":1} {\"b\":2}", NULL, uuid, -1);
    build("{\"task\":\"text\"}", NULL, uuid, -1);
    build("{\"taskUUID\":\"not-a-uuid\"}", NULL, uuid, -1);
    build("{\"taskUUID\":42}", NULL, uuid, -1);
}

static const struct rwt_case cases[] = {
    {"bare", test_bare},
    {"reply_list", test_reply_list},
    {"refused", test_refused},
};

RWT_MAIN(cases)
