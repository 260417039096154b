/* Error records: jobs runwared refuses, Runware's per-task errors, failed generations, duplicates.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include "rw_uuid.h"

#define RESULTS "errs:results"
#define MINE    "errs:mine"

/* A job and the record it must get. Records are told apart by the producer's taskUUID (when the
 * job has a valid one), else by meta {"case":name}, else by the payload they must carry. */
struct ecase {
    const char *name;
    const char *tmpl;   /* payload; "%U" is replaced by the case's taskUUID */
    const char *code;   /* expected error code; NULL: success expected */
    const char *param;  /* expected "parameter", NULL: not checked */
    bool payload_kept;  /* the record must carry "payload" (not JSON / not an object) */
    bool by_meta;       /* correlate by meta.case (no usable taskUUID in the job) */
    const char *list;   /* expected list, NULL: the default */
    int n;              /* success: numberResults */
    const char *output; /* success: outputType */
    const char *meta;   /* success: expected meta as JSON text, NULL: null */
    char uuid[37];
    char *payload;
    struct it_record *rec;
};

#define TASK "\"width\":1024,\"height\":1024"

#define REFUSED(nm, tm, cd, pm, ...)                                                               \
    {                                                                                              \
        .name = nm, .tmpl = tm, .code = cd, .param = pm, __VA_ARGS__                               \
    }
#define GOOD(nm, tm, ...)                                                                          \
    {                                                                                              \
        .name = nm, .tmpl = tm, __VA_ARGS__                                                        \
    }

static struct ecase cases_refused[] = {
    GOOD("good_bare", "{\"positivePrompt\":\"a red fox\"," TASK ",\"taskUUID\":\"%U\"}", .n = 1),
    REFUSED("not_json", "{\"positivePrompt\": \"unterminated", "invalidJSON", NULL,
            .payload_kept = true),
    REFUSED("not_json_words", "hello, \"world\" {", "invalidJSON", NULL, .payload_kept = true),
    REFUSED("json_then_garbage",
            "{\"positivePrompt\":\"a cat\"," TASK ",\"taskUUID\":\"%U\"} and then some",
            "invalidJSON", NULL, .payload_kept = true),
    GOOD("good_envelope",
         "{\"task\":{\"positivePrompt\":\"a blue heron\",\"numberResults\":3,\"outputType\":"
         "\"dataURI\"," TASK ",\"taskUUID\":\"%U\"},\"meta\":{\"case\":\"good_envelope\"}}",
         .n = 3, .output = "dataURI", .meta = "{\"case\":\"good_envelope\"}"),
    REFUSED("json_array", "[{\"positivePrompt\":\"a cat\"}]", "invalidJob", NULL,
            .payload_kept = true),
    REFUSED("json_string", "\"a cat in a hat\"", "invalidJob", NULL, .payload_kept = true),
    REFUSED("task_not_object", "{\"task\":\"a cat\",\"meta\":{\"case\":\"task_not_object\"}}",
            "invalidParameter", "task", .by_meta = true),
    REFUSED("missing_prompt_bare", "{" TASK ",\"taskUUID\":\"%U\"}", "missingParameter",
            "positivePrompt"),
    REFUSED("missing_prompt_envelope",
            "{\"task\":{" TASK ",\"taskUUID\":\"%U\"},\"meta\":{\"case\":\"missing_prompt_"
            "envelope\"},\"resultList\":\"" MINE "\"}",
            "missingParameter", "positivePrompt", .list = MINE),
    REFUSED("prompt_not_string", "{\"positivePrompt\":42," TASK ",\"taskUUID\":\"%U\"}",
            "invalidParameter", "positivePrompt"),
    GOOD("good_async_explicit",
         "{\"positivePrompt\":\"a green frog\",\"deliveryMethod\":\"async\",\"numberResults\":2,"
         "\"outputType\":\"base64Data\"," TASK ",\"taskUUID\":\"%U\"}",
         .n = 2, .output = "base64Data"),
    REFUSED("unknown_envelope_key",
            "{\"task\":{\"positivePrompt\":\"a cat\"," TASK ",\"taskUUID\":\"%U\"},"
            "\"meta\":{\"case\":\"unknown_envelope_key\"},\"priority\":5}",
            "unknownParameter", "priority"),
    REFUSED("webhook_url_set",
            "{\"positivePrompt\":\"a cat\",\"webhookURL\":\"https://example.com/hook\"," TASK
            ",\"taskUUID\":\"%U\"}",
            "unsupportedParameter", "webhookURL"),
    REFUSED("delivery_sync",
            "{\"positivePrompt\":\"a cat\",\"deliveryMethod\":\"sync\"," TASK
            ",\"taskUUID\":\"%U\"}",
            "unsupportedParameter", "deliveryMethod"),
    REFUSED("bad_task_uuid",
            "{\"task\":{\"positivePrompt\":\"a cat\"," TASK ",\"taskUUID\":\"not-a-uuid\"},"
            "\"meta\":{\"case\":\"bad_task_uuid\"}}",
            "invalidParameter", "taskUUID", .by_meta = true),
    REFUSED("upstream_invalid_width",
            "{\"positivePrompt\":\"a wide cat\",\"width\":1000,\"height\":1024,"
            "\"taskUUID\":\"%U\"}",
            "invalidWidth", "width"),
    GOOD("good_after_upstream_error",
         "{\"task\":{\"positivePrompt\":\"an owl\",\"numberResults\":4," TASK
         ",\"taskUUID\":\"%U\"},\"meta\":[\"good\",1],\"resultList\":\"" MINE "\"}",
         .list = MINE, .n = 4, .meta = "[\"good\",1]"),
};

static char *expand(const char *tmpl, const char *uuid)
{
    const char *at = strstr(tmpl, "%U");
    if (!at)
        return it_fmt("%s", tmpl);
    return it_fmt("%.*s%s%s", (int)(at - tmpl), tmpl, uuid, at + 2);
}

static json_object *meta_case(const char *name)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "case", json_object_new_string(name));
    return m;
}

static struct ecase *find_case(struct ecase *cs, size_t n, struct it_record *rec)
{
    const char *uuid = it_jstr(rec->obj, "taskUUID"), *payload = it_jstr(rec->obj, "payload");
    json_object *meta = it_jget(rec->obj, "meta");
    for (size_t i = 0; i < n; i++) {
        if (cs[i].by_meta || cs[i].payload_kept)
            continue;
        if (uuid && !strcmp(uuid, cs[i].uuid))
            return &cs[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (!cs[i].by_meta)
            continue;
        json_object *m = meta_case(cs[i].name);
        bool eq = it_json_equal(m, meta);
        json_object_put(m);
        if (eq)
            return &cs[i];
    }
    for (size_t i = 0; i < n; i++)
        if (cs[i].payload_kept && payload && !strcmp(payload, cs[i].payload))
            return &cs[i];
    return NULL;
}

static void check_refusal(struct ecase *c)
{
    struct it_record *rec = c->rec;
    char what[128];
    snprintf(what, sizeof(what), "job %s", c->name);
    const char *list = c->list ? c->list : RESULTS;
    IT_EXPECT(!strcmp(rec->list, list), "%s: record arrived on %s, expected %s", what, rec->list,
              list);
    it_check_error(rec, what, c->code, c->param);
    const char *uuid = it_jstr(rec->obj, "taskUUID"), *payload = it_jstr(rec->obj, "payload");
    if (c->by_meta || c->payload_kept)
        IT_EXPECT(uuid && rw_uuid_valid(uuid), "%s: record taskUUID should be a fresh UUID: %s",
                  what, rec->raw);
    if (c->payload_kept)
        IT_EXPECT(payload && !strcmp(payload, c->payload),
                  "%s: record should carry the whole payload \"%s\": %s", what, c->payload,
                  rec->raw);
    else
        IT_EXPECT(!payload || !strcmp(payload, c->payload),
                  "%s: a payload, when present, must be the job's text \"%s\": %s", what,
                  c->payload, rec->raw);
    if (strstr(c->tmpl, "\"meta\":{\"case\"")) {
        json_object *m = meta_case(c->name), *got = it_jget(rec->obj, "meta");
        IT_EXPECT(it_json_equal(m, got), "%s: meta %s, expected %s", what,
                  got ? json_object_to_json_string(got) : "null", json_object_to_json_string(m));
        json_object_put(m);
    } else if (!strstr(c->tmpl, "\"meta\"")) {
        IT_EXPECT(!it_jget(rec->obj, "meta"), "%s: job had no meta, record meta should be null: %s",
                  what, rec->raw);
    }
}

/* Every way a job can be refused, a per-task upstream error and a failed generation in one run
 * with good jobs that must still succeed. */
static void test_refusals_and_upstream(void)
{
    struct it_env e;
    struct it_records recs = {0};
    size_t n = sizeof(cases_refused) / sizeof(cases_refused[0]);
    struct ecase *cs = cases_refused;
    char genfail_uuid[37];
    it_uuid(genfail_uuid);
    char *genfail = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:gen-fail] three lighthouses\","
                           "\"numberResults\":3," TASK ",\"taskUUID\":\"%s\"},\"meta\":\"gf\"}",
                           genfail_uuid);

    it_env_init(&e, "errs");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "30", "--jitter-ms", "30", "--seed", "3", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    for (size_t i = 0; i < n; i++) {
        it_uuid(cs[i].uuid);
        cs[i].payload = expand(cs[i].tmpl, cs[i].uuid);
        cs[i].rec = NULL;
        it_push(&e, cs[i].payload);
        if (i == n / 2)
            it_push(&e, genfail);
    }
    const char *lists[] = {RESULTS, MINE};
    size_t got = it_collect(&e, lists, 2, n + 1, 30000 * it_slow(), &recs);
    IT_EXPECT(got == n + 1, "expected %zu records (one per job), got %zu", n + 1, got);

    struct it_record *gf = NULL;
    for (size_t r = 0; r < recs.n; r++) {
        struct it_record *rec = &recs.v[r];
        if (!it_check_record_shape(rec, "record"))
            continue;
        const char *uuid = it_jstr(rec->obj, "taskUUID");
        if (uuid && !strcmp(uuid, genfail_uuid)) {
            IT_EXPECT(!gf, "job gen_fail: second record %s", rec->raw);
            gf = rec;
            continue;
        }
        struct ecase *c = find_case(cs, n, rec);
        if (!c) {
            IT_EXPECT(false, "record answers no job: %s", rec->raw);
            continue;
        }
        IT_EXPECT(!c->rec, "job %s: second record %s (first %s)", c->name, rec->raw, c->rec->raw);
        if (!c->rec)
            c->rec = rec;
    }
    for (size_t i = 0; i < n; i++) {
        struct ecase *c = &cs[i];
        char what[128];
        snprintf(what, sizeof(what), "job %s", c->name);
        if (!c->rec) {
            IT_EXPECT(false, "%s got no record (expected %s); payload: %s", what,
                      c->code ? c->code : "success", c->payload);
            continue;
        }
        if (c->code) {
            check_refusal(c);
            continue;
        }
        json_object *meta = c->meta ? json_tokener_parse(c->meta) : NULL;
        it_check_success(c->rec, what, c->uuid, c->list ? c->list : RESULTS, c->n, c->output, meta);
        json_object_put(meta);
    }

    /* [sim:gen-fail] with numberResults 3: an error record, with whatever images came first */
    IT_EXPECT(gf, "job gen_fail got no record");
    if (gf && it_check_record_shape(gf, "job gen_fail")) {
        json_object *data = it_jget(gf->obj, "data"), *errors = it_jget(gf->obj, "errors");
        const char *meta = it_jstr(gf->obj, "meta");
        IT_EXPECT(!strcmp(it_jstr(gf->obj, "status"), "error"),
                  "job gen_fail: status should be error: %s", gf->raw);
        IT_EXPECT(!strcmp(gf->list, RESULTS), "job gen_fail: record on %s, expected %s", gf->list,
                  RESULTS);
        IT_EXPECT(json_object_array_length(errors) >= 1, "job gen_fail: no errors: %s", gf->raw);
        IT_EXPECT(json_object_array_length(data) < 3,
                  "job gen_fail: %zu images in an error record of a 3-image task: %s",
                  json_object_array_length(data), gf->raw);
        IT_EXPECT(meta && !strcmp(meta, "gf"), "job gen_fail: meta should be \"gf\": %s", gf->raw);
        for (size_t k = 0; k < json_object_array_length(data); k++) {
            char w[64];
            snprintf(w, sizeof(w), "job gen_fail data[%zu]", k);
            it_check_item(json_object_array_get_idx(data, k), w, genfail_uuid, "imageURL");
        }
    }

    it_expect_no_more(&e, lists, 2, 1000);
    it_expect_quiescent(&e);
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(it_stat(st, "gen_failures") >= 1, "sim stats should count the generation failure: %s",
              st ? json_object_to_json_string(st) : "(no stats)");
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    for (size_t i = 0; i < n; i++) {
        free(cs[i].payload);
        cs[i].payload = NULL;
    }
    free(genfail);
}

/* A second job with the taskUUID of one still in flight is refused at once; the first one still
 * completes normally and the sim only ever saw one task. */
static void test_duplicate_task_uuid(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char uuid[37], key[64];
    it_uuid(uuid);
    char *first = it_fmt("{\"task\":{\"positivePrompt\":\"the first\",\"numberResults\":2," TASK
                         ",\"taskUUID\":\"%s\"},\"meta\":\"first\",\"resultList\":\"dup:first\"}",
                         uuid);
    char *second =
        it_fmt("{\"task\":{\"positivePrompt\":\"the second\"," TASK ",\"taskUUID\":\"%s\"},"
               "\"meta\":\"second\",\"resultList\":\"dup:second\"}",
               uuid);
    it_env_init(&e, "dup");
    it_redis_start(&e);
    char delay[16];
    snprintf(delay, sizeof(delay), "%d", 3000 * it_slow());
    const char *sim[] = {"--delay-ms", delay, "--jitter-ms", "0", "--seed", "5", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    it_push(&e, first);
    it_key(&e, key, sizeof(key), "pending");
    int64_t deadline = it_now_ms() + 10000 * it_slow();
    for (;;) {
        redisReply *r = it_redis(&e, "ZSCORE %s %s", key, uuid);
        bool in = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (in)
            break;
        if (it_now_ms() > deadline)
            it_die(&e, "the first job (task %s) never appeared in %s", uuid, key);
        it_sleep_ms(10);
    }
    it_push(&e, second);

    const char *lists[] = {"dup:first", "dup:second"};
    size_t got = it_collect(&e, lists, 2, 2, 20000 * it_slow(), &recs);
    IT_EXPECT(got == 2, "expected 2 records (one per job), got %zu", got);
    if (got == 2) {
        IT_EXPECT(!strcmp(recs.v[0].list, "dup:second"),
                  "the duplicate should be refused while the first is in flight, but the first "
                  "record to arrive was on %s: %s",
                  recs.v[0].list, recs.v[0].raw);
        for (size_t i = 0; i < 2; i++) {
            struct it_record *rec = &recs.v[i];
            if (!strcmp(rec->list, "dup:second")) {
                it_check_error(rec, "second job (duplicate taskUUID)", "duplicateTaskUUID", NULL);
                IT_EXPECT(!strcmp(it_jstr(rec->obj, "taskUUID") ?: "", uuid),
                          "second job: record taskUUID should be %s: %s", uuid, rec->raw);
                IT_EXPECT(!strcmp(it_jstr(rec->obj, "meta") ?: "", "second"),
                          "second job: meta should be \"second\": %s", rec->raw);
            } else {
                json_object *m = json_object_new_string("first");
                it_check_success(rec, "first job", uuid, "dup:first", 2, NULL, m);
                json_object_put(m);
            }
        }
    }
    it_expect_no_more(&e, lists, 2, 500);
    it_expect_quiescent(&e);
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(it_stat(st, "tasks_accepted") == 1, "the sim should have accepted 1 task, got %lld",
              it_stat(st, "tasks_accepted"));
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    free(first);
    free(second);
}

static const struct rwt_case cases[] = {
    {"refusals_and_upstream", test_refusals_and_upstream},
    {"duplicate_task_uuid", test_duplicate_task_uuid},
};

RWT_MAIN(cases)
