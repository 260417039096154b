/* model_spec: with the shipped schema runwared refuses invalid tasks itself; they never reach
 * Runware, and valid ones with many parameters still succeed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define T(extra) "\"positivePrompt\":\"a lighthouse\",\"width\":1024,\"height\":1024" extra

struct scase {
    const char *name;
    const char *task;   /* the task's members, taskUUID added */
    const char *code;   /* NULL: success */
    const char *param;  /* expected "parameter" */
    const char *param2; /* a second violation in the same task, NULL: exactly one */
    int n;
    const char *output;
    char uuid[37];
};

static struct scase cases_schema[] = {
    {.name = "good_many_params",
     .task = T(",\"numberResults\":2,\"steps\":28,\"CFGScale\":3.5,\"scheduler\":\"Default\","
               "\"seed\":42,\"outputFormat\":\"WEBP\",\"outputQuality\":80,\"outputType\":"
               "\"base64Data\",\"negativePrompt\":\"blurry\",\"includeCost\":true"),
     .n = 2,
     .output = "base64Data"},
    {.name = "width_not_multiple",
     .task = "\"positivePrompt\":\"a lighthouse\",\"width\":1000,\"height\":1024",
     .code = "invalidParameter",
     .param = "width"},
    {.name = "number_results_21",
     .task = T(",\"numberResults\":21"),
     .code = "invalidParameter",
     .param = "numberResults"},
    {.name = "unknown_task_field",
     .task = T(",\"colour\":\"red\""),
     .code = "unknownParameter",
     .param = "colour"},
    {.name = "output_type_gif",
     .task = T(",\"outputType\":\"GIF\""),
     .code = "invalidParameter",
     .param = "outputType"},
    {.name = "prompt_too_short",
     .task = "\"positivePrompt\":\"a\",\"width\":1024,\"height\":1024",
     .code = "invalidParameter",
     .param = "positivePrompt"},
    {.name = "steps_zero", .task = T(",\"steps\":0"), .code = "invalidParameter", .param = "steps"},
    {.name = "lora_model_pattern",
     .task = T(",\"lora\":[{\"model\":\"bad model!\",\"weight\":1}]"),
     .code = "invalidParameter",
     .param = "lora[0].model"},
    {.name = "two_violations",
     .task = "\"positivePrompt\":\"a lighthouse\",\"width\":1000,\"height\":1024,\"steps\":99",
     .code = "invalidParameter",
     .param = "width",
     .param2 = "steps"},
    {.name = "good_defaults", .task = T(""), .n = 1},
};

static bool has_error(json_object *errors, const char *code, const char *param)
{
    for (size_t i = 0; i < json_object_array_length(errors); i++) {
        json_object *e = json_object_array_get_idx(errors, i);
        const char *c = it_jstr(e, "code"), *p = it_jstr(e, "parameter");
        if (c && p && !strcmp(c, code) && !strcmp(p, param))
            return true;
    }
    return false;
}

static void test_schema(void)
{
    struct it_env e;
    struct it_records recs = {0};
    size_t n = sizeof(cases_schema) / sizeof(cases_schema[0]), ngood = 0;
    it_env_init(&e, "schema");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "20", "--seed", "37", NULL};
    it_sim_start(&e, sim);
    char *extra = it_fmt("model_spec = %s\n", RW_IT_SCHEMA);
    it_rw_start(&e, extra);
    free(extra);

    for (size_t i = 0; i < n; i++) {
        struct scase *c = &cases_schema[i];
        it_uuid(c->uuid);
        char *job = it_fmt("{%s,\"taskUUID\":\"%s\"}", c->task, c->uuid);
        it_push(&e, job);
        free(job);
        ngood += c->code == NULL;
    }
    char list[64];
    it_key(&e, list, sizeof(list), "results");
    const char *lists[] = {list};
    size_t got = it_collect(&e, lists, 1, n, 30000 * it_slow(), &recs);
    IT_EXPECT(got == n, "expected %zu records, got %zu", n, got);
    for (size_t i = 0; i < n; i++) {
        struct scase *c = &cases_schema[i];
        char what[96];
        snprintf(what, sizeof(what), "job %s (task %s)", c->name, c->uuid);
        struct it_record *rec = it_records_find(&recs, c->uuid);
        IT_EXPECT(rec, "%s: no record", what);
        if (!rec)
            continue;
        if (!c->code) {
            it_check_success(rec, what, c->uuid, list, c->n, c->output, NULL);
            continue;
        }
        if (!c->param2) {
            it_check_error(rec, what, c->code, c->param);
            continue;
        }
        if (!it_check_record_shape(rec, what))
            continue;
        json_object *errors = it_jget(rec->obj, "errors");
        IT_EXPECT(!strcmp(it_jstr(rec->obj, "status"), "error"), "%s: status should be error: %s",
                  what, rec->raw);
        IT_EXPECT(json_object_array_length(errors) == 2,
                  "%s: expected one error per violation (2): %s", what, rec->raw);
        IT_EXPECT(has_error(errors, c->code, c->param) && has_error(errors, c->code, c->param2),
                  "%s: expected %s errors for %s and %s: %s", what, c->code, c->param, c->param2,
                  rec->raw);
    }
    it_expect_no_more(&e, lists, 1, 500);
    it_expect_quiescent(&e);
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(it_stat(st, "tasks_accepted") == (long long)ngood,
              "only the %zu valid tasks should reach the API; the sim accepted %lld", ngood,
              it_stat(st, "tasks_accepted"));
    IT_EXPECT(it_stat(st, "task_errors") == 0,
              "the sim should have found nothing to refuse, task_errors %lld",
              it_stat(st, "task_errors"));
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
}

static const struct rwt_case cases[] = {
    {"schema", test_schema},
};

RWT_MAIN(cases)
