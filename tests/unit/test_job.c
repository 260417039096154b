/* rw_job: the job contract producers rely on (bare task or envelope, structural checks,
 * defaults, what is recovered for error records). */
#include <stdlib.h>
#include <string.h>

#include "rw_errors.h"
#include "rw_job.h"
#include "rw_schema.h"
#include "rwtest.h"

#define U1    "123e4567-e89b-12d3-a456-426614174000"
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A link-time fake of the schema validator (lib/rw_schema.c is not linked in: nothing else of it
 * is referenced), to drive rw_job_parse's schema branch. */
static int fake_schema_rc;          /* what the fake returns */
static char fake_schema_seen[1024]; /* the task it was given, serialised */

int rw_schema_validate(const struct rw_schema *schema, json_object *task, json_object *errors)
{
    snprintf(fake_schema_seen, sizeof(fake_schema_seen), "%s",
             json_object_to_json_string_ext(task, FLAGS));
    for (int i = 0; i < fake_schema_rc; i++)
        rw_errors_add(errors, RW_E_INVALID_PARAMETER, "width", "fake violation %d", i);
    return fake_schema_rc;
}

/* "code:parameter;..." for an error array ("code:" when an error has no parameter). */
static void summarize(json_object *errs, char *out, size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; errs != NULL && i < json_object_array_length(errs); i++) {
        json_object *e = json_object_array_get_idx(errs, i), *c = NULL, *p = NULL;

        json_object_object_get_ex(e, "code", &c);
        json_object_object_get_ex(e, "parameter", &p);
        len += (size_t)snprintf(out + len, outlen - len, "%s%s:%s", i > 0 ? ";" : "",
                                c ? json_object_get_string(c) : "?",
                                p ? json_object_get_string(p) : "");
        if (len >= outlen)
            return;
    }
}

static const char *task_field(const struct rw_job *job, const char *key)
{
    json_object *v;

    if (job->task == NULL || !json_object_object_get_ex(job->task, key, &v))
        return NULL;
    return json_object_get_string(v);
}

#define TASK "\"positivePrompt\":\"a red fox in snow\""

static void test_table(void)
{
    static const struct {
        const char *name, *payload;
        int rc;
        const char *errs;   /* summarize() of the errors; "" when accepted */
        const char *uuid;   /* expected task_uuid; NULL: a fresh one */
        const char *meta;   /* meta serialised; NULL: none */
        const char *result; /* result_list; NULL: none */
        bool task;          /* job->task set */
        int nres;
    } t[] = {
        {"bare minimal", "{" TASK "}", 0, "", NULL, NULL, NULL, true, 1},
        {"bare full",
         "{" TASK ",\"taskType\":\"imageInference\",\"model\":\"runware:111@1\",\"taskUUID\":\"" U1
         "\",\"numberResults\":3,\"deliveryMethod\":\"async\",\"width\":1024}",
         0, "", U1, NULL, NULL, true, 3},
        {"producer uuid kept verbatim",
         "{" TASK ",\"taskUUID\":\"123E4567-E89B-12D3-A456-426614174000\"}", 0, "",
         "123E4567-E89B-12D3-A456-426614174000", NULL, NULL, true, 1},
        {"other model passes structural checks", "{" TASK ",\"model\":\"runware:100@1\"}", 0, "",
         NULL, NULL, NULL, true, 1},
        {"numberResults 20", "{" TASK ",\"numberResults\":20}", 0, "", NULL, NULL, NULL, true, 20},
        {"envelope",
         "{\"task\":{" TASK ",\"taskUUID\":\"" U1
         "\"},\"meta\":{\"order\":7,\"tags\":[\"a/b\",1.50]},\"resultList\":\"app:results:7\"}",
         0, "", U1, "{\"order\":7,\"tags\":[\"a/b\",1.50]}", "app:results:7", true, 1},
        {"envelope task only", "{\"task\":{" TASK "}}", 0, "", NULL, NULL, NULL, true, 1},
        {"envelope meta null", "{\"meta\":null,\"task\":{" TASK "}}", 0, "", NULL, NULL, NULL, true,
         1},
        {"envelope meta string", "{\"meta\":\"x\",\"task\":{" TASK "}}", 0, "", NULL, "\"x\"", NULL,
         true, 1},
        {"envelope resultList 1 byte", "{\"task\":{" TASK "},\"resultList\":\"r\"}", 0, "", NULL,
         NULL, "r", true, 1},
        {"trailing whitespace", "{" TASK "} \n\t\r\n", 0, "", NULL, NULL, NULL, true, 1},
        {"leading whitespace", "\n  {" TASK "}", 0, "", NULL, NULL, NULL, true, 1},
        {"bare task with meta key is a task", "{" TASK ",\"meta\":1}", 0, "", NULL, NULL, NULL,
         true, 1},

        {"empty", "", -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"blank", "  \n", -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"truncated", "{" TASK, -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"trailing garbage", "{" TASK "} x", -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"two objects", "{" TASK "}{}", -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"trailing comma", "{" TASK ",}", -1, "invalidJSON:", NULL, NULL, NULL, false, 1},
        {"invalid utf-8", "{\"positivePrompt\":\"caf\xe9\"}", -1, "invalidJSON:", NULL, NULL, NULL,
         false, 1},
        {"array", "[{" TASK "}]", -1, "invalidJob:", NULL, NULL, NULL, false, 1},
        {"number", "42", -1, "invalidJob:", NULL, NULL, NULL, false, 1},
        {"string", "\"a red fox\"", -1, "invalidJob:", NULL, NULL, NULL, false, 1},
        {"null", "null", -1, "invalidJob:", NULL, NULL, NULL, false, 1},

        {"empty object", "{}", -1, "missingParameter:positivePrompt", NULL, NULL, NULL, true, 1},
        {"prompt not a string", "{\"positivePrompt\":5}", -1, "invalidParameter:positivePrompt",
         NULL, NULL, NULL, true, 1},
        {"prompt null", "{\"positivePrompt\":null}", -1, "invalidParameter:positivePrompt", NULL,
         NULL, NULL, true, 1},
        {"other taskType", "{" TASK ",\"taskType\":\"getResponse\"}", -1,
         "invalidParameter:taskType", NULL, NULL, NULL, true, 1},
        {"taskType not a string", "{" TASK ",\"taskType\":1}", -1, "invalidParameter:taskType",
         NULL, NULL, NULL, true, 1},
        {"model not a string", "{" TASK ",\"model\":111}", -1, "invalidParameter:model", NULL, NULL,
         NULL, true, 1},
        {"bad taskUUID", "{" TASK ",\"taskUUID\":\"nope\"}", -1, "invalidParameter:taskUUID", NULL,
         NULL, NULL, true, 1},
        {"taskUUID not a string", "{" TASK ",\"taskUUID\":5}", -1, "invalidParameter:taskUUID",
         NULL, NULL, NULL, true, 1},
        {"taskUUID with a NUL", "{" TASK ",\"taskUUID\":\"" U1 "\\u0000x\"}", -1,
         "invalidParameter:taskUUID", NULL, NULL, NULL, true, 1},
        {"numberResults 2.0", "{" TASK ",\"numberResults\":2.0}", -1,
         "invalidParameter:numberResults", NULL, NULL, NULL, true, 1},
        {"numberResults string", "{" TASK ",\"numberResults\":\"2\"}", -1,
         "invalidParameter:numberResults", NULL, NULL, NULL, true, 1},
        {"numberResults 0", "{" TASK ",\"numberResults\":0}", -1, "invalidParameter:numberResults",
         NULL, NULL, NULL, true, 1},
        {"numberResults -1", "{" TASK ",\"numberResults\":-1}", -1,
         "invalidParameter:numberResults", NULL, NULL, NULL, true, 1},
        {"numberResults huge", "{" TASK ",\"numberResults\":99999999999999999999}", -1,
         "invalidParameter:numberResults", NULL, NULL, NULL, true, 1},
        {"webhookURL", "{" TASK ",\"webhookURL\":\"https://me.example/hook\"}", -1,
         "unsupportedParameter:webhookURL", NULL, NULL, NULL, true, 1},
        {"deliveryMethod sync", "{" TASK ",\"deliveryMethod\":\"sync\"}", -1,
         "unsupportedParameter:deliveryMethod", NULL, NULL, NULL, true, 1},
        {"deliveryMethod not a string", "{" TASK ",\"deliveryMethod\":true}", -1,
         "unsupportedParameter:deliveryMethod", NULL, NULL, NULL, true, 1},
        {"every error at once",
         "{\"positivePrompt\":1,\"taskType\":\"x\",\"model\":2,\"taskUUID\":\"bad\","
         "\"numberResults\":0,\"webhookURL\":\"u\",\"deliveryMethod\":\"sync\"}",
         -1,
         "invalidParameter:positivePrompt;invalidParameter:taskType;invalidParameter:model;"
         "invalidParameter:taskUUID;invalidParameter:numberResults;"
         "unsupportedParameter:webhookURL;unsupportedParameter:deliveryMethod",
         NULL, NULL, NULL, true, 1},
        {"errors keep a valid producer uuid", "{\"taskUUID\":\"" U1 "\",\"numberResults\":3}", -1,
         "missingParameter:positivePrompt", U1, NULL, NULL, true, 3},

        {"envelope task not an object", "{\"task\":\"draw a fox\",\"meta\":{\"k\":1}}", -1,
         "invalidParameter:task", NULL, "{\"k\":1}", NULL, false, 1},
        {"envelope task null", "{\"task\":null}", -1, "invalidParameter:task", NULL, NULL, NULL,
         false, 1},
        {"envelope task array", "{\"task\":[{" TASK "}]}", -1, "invalidParameter:task", NULL, NULL,
         NULL, false, 1},
        {"envelope unknown key", "{\"task\":{" TASK "},\"priority\":1,\"meta\":2}", -1,
         "unknownParameter:priority", NULL, "2", NULL, true, 1},
        {"envelope task errors are task-relative",
         "{\"meta\":[1],\"resultList\":\"out\",\"task\":{\"taskUUID\":\"" U1
         "\",\"webhookURL\":1}}",
         -1, "missingParameter:positivePrompt;unsupportedParameter:webhookURL", U1, "[1]", "out",
         true, 1},
        {"resultList empty", "{\"task\":{" TASK "},\"resultList\":\"\",\"meta\":true}", -1,
         "invalidParameter:resultList", NULL, "true", NULL, true, 1},
        {"resultList space", "{\"task\":{" TASK "},\"resultList\":\"my list\"}", -1,
         "invalidParameter:resultList", NULL, NULL, NULL, true, 1},
        {"resultList tab", "{\"task\":{" TASK "},\"resultList\":\"my\\tlist\"}", -1,
         "invalidParameter:resultList", NULL, NULL, NULL, true, 1},
        {"resultList DEL", "{\"task\":{" TASK "},\"resultList\":\"my\\u007flist\"}", -1,
         "invalidParameter:resultList", NULL, NULL, NULL, true, 1},
        {"resultList number", "{\"task\":{" TASK "},\"resultList\":5}", -1,
         "invalidParameter:resultList", NULL, NULL, NULL, true, 1},
        {"everything wrong in an envelope",
         "{\"task\":7,\"x\":1,\"resultList\":null,\"meta\":{\"keep\":\"me\"}}", -1,
         "invalidParameter:task;unknownParameter:x;invalidParameter:resultList", NULL,
         "{\"keep\":\"me\"}", NULL, false, 1},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_job job;
        json_object *errs = (json_object *)1;
        char got[1024];
        const char *meta;
        int rc = rw_job_parse(t[i].payload, strlen(t[i].payload), NULL, &job, &errs);
        int before = rwt_failed;

        summarize(errs, got, sizeof(got));
        RWT_CHECK_INT(rc, t[i].rc);
        RWT_CHECK_STR(got, t[i].errs);
        RWT_CHECK(rc == 0 ? errs == NULL : errs != NULL);
        RWT_CHECK(rw_uuid_valid(job.task_uuid));
        if (t[i].uuid != NULL)
            RWT_CHECK_STR(job.task_uuid, t[i].uuid);
        meta = job.meta != NULL ? json_object_to_json_string_ext(job.meta, FLAGS) : NULL;
        RWT_CHECK(t[i].meta == NULL ? meta == NULL : meta != NULL && !strcmp(meta, t[i].meta));
        RWT_CHECK(t[i].result == NULL
                      ? job.result_list == NULL
                      : job.result_list != NULL && !strcmp(job.result_list, t[i].result));
        RWT_CHECK((job.task != NULL) == t[i].task);
        RWT_CHECK_INT(job.number_results, t[i].nres);
        if (rc == 0) {
            /* accepted tasks carry taskType, model and the job's taskUUID */
            RWT_CHECK_STR(task_field(&job, "taskUUID"), job.task_uuid);
            RWT_CHECK(task_field(&job, "taskType") != NULL);
            RWT_CHECK(task_field(&job, "model") != NULL);
            RWT_CHECK(!json_object_object_get_ex(job.task, "task", NULL));
        }
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case \"%s\" (errors: %s)\n", t[i].name, got);
        json_object_put(errs);
        rw_job_clear(&job);
    }
}

static void test_defaults_filled(void)
{
    struct rw_job job;
    json_object *errs;
    const char *p = "{\"positivePrompt\":\"a fox\"}";
    char want[256];

    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), 0);
    snprintf(want, sizeof(want),
             "{\"positivePrompt\":\"a fox\",\"taskType\":\"imageInference\",\"model\":"
             "\"runware:111@1\",\"taskUUID\":\"%s\"}",
             job.task_uuid);
    RWT_CHECK_STR(json_object_to_json_string_ext(job.task, FLAGS), want);
    RWT_CHECK(job.task_uuid[14] == '4');
    rw_job_clear(&job);
    /* given values are never overwritten */
    p = "{\"model\":\"runware:100@1\",\"positivePrompt\":\"a "
        "fox\",\"taskType\":\"imageInference\"}";
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), 0);
    RWT_CHECK_STR(task_field(&job, "model"), "runware:100@1");
    rw_job_clear(&job);
}

static void test_fresh_uuids_differ(void)
{
    struct rw_job a, b;
    json_object *ea, *eb;
    const char *p = "not json";

    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &a, &ea), -1);
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &b, &eb), -1);
    RWT_CHECK(strcmp(a.task_uuid, b.task_uuid) != 0);
    json_object_put(ea);
    json_object_put(eb);
    rw_job_clear(&a);
    rw_job_clear(&b);
}

static void test_error_messages(void)
{
    static const struct {
        const char *payload, *msg; /* msg: a part of errors[0].message */
    } t[] = {
        {"{\"positivePrompt\":\"x\",}", "at byte 22"},
        {"{\"positivePrompt\":\"x\"} x", "at byte 23"},
        {"{\"positivePrompt\":\"x\"}\n\nzz", "at byte 24"},
        {"{\"a\":\"\xff\"}", "at byte 6"},
        {"{\"a\":\"\xff\"}", "it is not valid UTF-8"},
        {"{\"positivePrompt\":", "unexpected end of data"},
        {"", "unexpected end of data at byte 0"},
        {"[1,2]", "a job must be a JSON object, got array"},
        {"3.5", "got number"},
        {"true", "got boolean"},
        {"null", "got null"},
        {"{\"task\":[]}", "task must be a JSON object, got array"},
        {"{\"positivePrompt\":\"x\",\"webhookURL\":\"u\"}",
         "runwared sets webhookURL itself; results arrive on your resultList"},
        {"{\"task\":{},\"resultList\":\"a b\"}", "resultList must not contain spaces"},
        {"{\"task\":{\"positivePrompt\":\"x\"},\"prio\":1}", "\"prio\""},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_job job;
        json_object *errs, *m = NULL;
        const char *msg;

        RWT_CHECK_INT(rw_job_parse(t[i].payload, strlen(t[i].payload), NULL, &job, &errs), -1);
        json_object_object_get_ex(json_object_array_get_idx(errs, 0), "message", &m);
        msg = m != NULL ? json_object_get_string(m) : "";
        if (strstr(msg, t[i].msg) == NULL) {
            fprintf(stderr, "  case %zu: \"%s\" lacks \"%s\"\n", i, msg, t[i].msg);
            rwt_failed++;
        }
        json_object_put(errs);
        rw_job_clear(&job);
    }
}

/* Nesting: up to RW_JOB_MAX_DEPTH levels are taken, deeper is refused with a clear message,
 * however deep (no recursion). */
static void test_depth(void)
{
    static const struct {
        int depth; /* arrays nested in meta, inside the envelope object */
        int rc;
    } t[] = {{RW_JOB_MAX_DEPTH - 1, 0}, {RW_JOB_MAX_DEPTH, -1}, {100000, -1}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = 2 * (size_t)t[i].depth + 64, len;
        char *s = malloc(n), *p;
        struct rw_job job;
        json_object *errs = NULL, *m = NULL;

        RWT_CHECK(s != NULL);
        if (!s)
            return;
        p = s + sprintf(s, "{\"task\":{\"positivePrompt\":\"x\"},\"meta\":");
        memset(p, '[', (size_t)t[i].depth);
        p += t[i].depth;
        memset(p, ']', (size_t)t[i].depth);
        p += t[i].depth;
        strcpy(p, "}");
        len = strlen(s);
        RWT_CHECK_INT(rw_job_parse(s, len, NULL, &job, &errs), t[i].rc);
        if (t[i].rc) {
            json_object_object_get_ex(json_object_array_get_idx(errs, 0), "message", &m);
            RWT_CHECK(m && strstr(json_object_get_string(m), "nested deeper than 32 levels"));
        }
        json_object_put(errs);
        rw_job_clear(&job);
        free(s);
    }
}

static void test_not_nul_terminated(void)
{
    /* the payload is a slice: bytes past len must not be read as part of the job */
    const char buf[] = "{\"positivePrompt\":\"a fox\"}{\"garbage\"";
    const char num[] = "1234";
    struct rw_job job;
    json_object *errs;

    RWT_CHECK_INT(rw_job_parse(buf, 26, NULL, &job, &errs), 0);
    rw_job_clear(&job);
    RWT_CHECK_INT(rw_job_parse(buf, 27, NULL, &job, &errs), -1);
    json_object_put(errs);
    rw_job_clear(&job);
    /* "12" of "1234" is a number, not the start of a longer one */
    RWT_CHECK_INT(rw_job_parse(num, 2, NULL, &job, &errs), -1);
    {
        json_object *m = NULL;

        json_object_object_get_ex(json_object_array_get_idx(errs, 0), "code", &m);
        RWT_CHECK_STR(json_object_get_string(m), "invalidJob");
    }
    json_object_put(errs);
    rw_job_clear(&job);
}

static void test_schema_hook(void)
{
    static const char opaque; /* never read: the fake validator ignores its schema */
    const struct rw_schema *schema = (const struct rw_schema *)&opaque;
    const char *p = "{\"task\":{\"positivePrompt\":\"a fox\",\"width\":130},\"meta\":1}";
    struct rw_job job;
    json_object *errs;
    char got[256];

    /* valid: the validator sees the task with defaults filled */
    fake_schema_rc = 0;
    fake_schema_seen[0] = '\0';
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), schema, &job, &errs), 0);
    RWT_CHECK_STR(fake_schema_seen, json_object_to_json_string_ext(job.task, FLAGS));
    RWT_CHECK(strstr(fake_schema_seen, "\"model\":\"runware:111@1\"") != NULL);
    rw_job_clear(&job);

    /* violations refuse the job */
    fake_schema_rc = 2;
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), schema, &job, &errs), -1);
    summarize(errs, got, sizeof(got));
    RWT_CHECK_STR(got, "invalidParameter:width;invalidParameter:width");
    RWT_CHECK(job.meta != NULL && job.task != NULL);
    json_object_put(errs);
    rw_job_clear(&job);

    /* ENOMEM inside the validator */
    fake_schema_rc = -1;
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), schema, &job, &errs), -2);
    RWT_CHECK(errs == NULL && job.task == NULL && job.meta == NULL && job.task_uuid[0] == '\0');
    rw_job_clear(&job);

    /* structural errors stop before the validator; NULL schema skips it */
    fake_schema_seen[0] = '\0';
    fake_schema_rc = 0;
    p = "{\"width\":130}";
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), schema, &job, &errs), -1);
    RWT_CHECK_STR(fake_schema_seen, "");
    json_object_put(errs);
    rw_job_clear(&job);
    p = "{\"positivePrompt\":\"a fox\"}";
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), 0);
    RWT_CHECK_STR(fake_schema_seen, "");
    rw_job_clear(&job);
}

static void test_set_delivery(void)
{
    struct rw_job job;
    json_object *errs;
    const char *p = "{\"positivePrompt\":\"a fox\",\"deliveryMethod\":\"async\"}";
    const char *hook = "https://rw.example.com/callback/" U1 "?token=ab";

    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), 0);
    RWT_CHECK_INT(rw_job_set_delivery(&job, hook), 0);
    RWT_CHECK_STR(task_field(&job, "deliveryMethod"), "async");
    RWT_CHECK_STR(task_field(&job, "webhookURL"), hook);
    /* setting again replaces, never duplicates */
    RWT_CHECK_INT(rw_job_set_delivery(&job, "https://other/x"), 0);
    RWT_CHECK_STR(task_field(&job, "webhookURL"), "https://other/x");
    RWT_CHECK(strstr(json_object_to_json_string_ext(job.task, FLAGS), "https://other/x") != NULL);
    RWT_CHECK_INT(json_object_object_length(job.task), 6);
    RWT_CHECK_INT(rw_job_set_delivery(&job, NULL), -1);
    rw_job_clear(&job);
    RWT_CHECK_INT(rw_job_set_delivery(&job, hook), -1); /* no task */
    rw_job_clear(&job);                                 /* twice is harmless */
}

/* How often needle occurs in hay. */
static int occurrences(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* rw_job_body: the body, parsed back, is the accepted task with deliveryMethod and webhookURL set
 * (what the tree would serialise to); kept says whether the job's own bytes were used. */
static void check_body(const char *payload, const char *hook, bool kept, const char *verbatim)
{
    struct rw_job job;
    json_object *errs = NULL, *back;
    json_tokener *tok = rw_job_tokener_new();
    size_t len = 0;
    char *body;
    int before = rwt_failed;

    RWT_CHECK(tok != NULL);
    RWT_CHECK_INT(rw_job_parse_with(tok, payload, strlen(payload), NULL, &job, &errs), 0);
    RWT_CHECK((job.task_len > 0) == kept);
    body = rw_job_body(&job, payload, strlen(payload), hook, &len);
    RWT_CHECK(body != NULL && strlen(body) == len);
    back = json_tokener_parse(body);
    RWT_CHECK(back != NULL);
    RWT_CHECK_INT(rw_job_set_delivery(&job, hook), 0);
    RWT_CHECK(json_object_equal(back, job.task));
    RWT_CHECK_INT(json_object_object_length(back), json_object_object_length(job.task));
    RWT_CHECK_INT(occurrences(body, "\"deliveryMethod\""), 1);
    RWT_CHECK_INT(occurrences(body, "\"taskUUID\""), 1);
    if (verbatim)
        RWT_CHECK(strstr(body, verbatim) != NULL);
    if (rwt_failed != before)
        fprintf(stderr, "  ^ payload %s -> body %s\n", payload, body ? body : "NULL");
    json_object_put(back);
    free(body);
    rw_job_clear(&job);
    json_tokener_free(tok);
}

static void test_body_kept(void)
{
    const char *hook = "https://rw.example.com/callback/" U1 "?token=ab";

    /* bare and in an envelope: the task's bytes as they came, spaces and number forms too */
    check_body("{\"positivePrompt\":\"a fox\", \"width\" : 1024,\"CFGScale\":3.50}", hook, true,
               "\"width\" : 1024,\"CFGScale\":3.50");
    check_body(
        " {\"meta\":{\"a\":[1,{\"b\":2}]},\"task\":\n {\"positivePrompt\":\"x\\/y \\u00e9\"} ,"
        "\"resultList\":\"r\"} ",
        hook, true, "\"positivePrompt\":\"x\\/y \\u00e9\"");
    /* what the job has is not added again */
    check_body("{\"task\":{\"taskUUID\":\"" U1
               "\",\"deliveryMethod\":\"async\",\"model\":\"m:1@1\","
               "\"taskType\":\"imageInference\",\"positivePrompt\":\"a\"}}",
               hook, true, "\"model\":\"m:1@1\"");
    /* a webhook URL that needs escaping */
    check_body("{\"positivePrompt\":\"a\"}", "http://h/\"q\\\x01", true, NULL);
    /* nested objects and strings holding braces, colons and quotes */
    check_body("{\"positivePrompt\":\"{:}\\\"[\",\"lora\":[{\"model\":\"a:1@1\",\"weight\":1}]}",
               hook, true, "\"lora\":[{\"model\":\"a:1@1\",\"weight\":1}]");
}

static void test_body_tree(void)
{
    const char *hook = "https://rw.example.com/callback/" U1 "?token=ab";

    /* a key repeated (json-c keeps the last), at the top or deeper: the tree is what was
     * checked, so the tree is what is sent */
    check_body("{\"positivePrompt\":\"a\",\"width\":512,\"width\":1024}", hook, false, "1024");
    check_body("{\"positivePrompt\":\"a\",\"lora\":[{\"model\":\"a:1@1\",\"model\":\"b:1@1\"}]}",
               hook, false, NULL);
    check_body("{\"task\":{\"positivePrompt\":\"a\"},\"t\\u0061sk\":{\"positivePrompt\":\"b\"}}",
               hook, false, "\"b\"");
    /* a raw control character in a string (json-c takes it; JSON does not) */
    check_body("{\"positivePrompt\":\"a\tb\"}", hook, false, "a\\tb");
}

static void test_body_spans(void)
{
    const char *p = "{\"meta\": {\"i\": 7} ,\"task\":{\"positivePrompt\":\"a\"}}";
    struct rw_job job;
    json_object *errs = NULL;

    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), 0);
    RWT_CHECK_INT(job.meta_len, 8);
    RWT_CHECK(strncmp(p + job.meta_at, "{\"i\": 7}", job.meta_len) == 0);
    RWT_CHECK(strncmp(p + job.task_at, "{\"positivePrompt\":\"a\"}", job.task_len) == 0);
    RWT_CHECK_INT(job.filled, RW_JOB_FILLED_TYPE | RW_JOB_FILLED_MODEL | RW_JOB_FILLED_UUID);
    rw_job_clear(&job);
    /* refused: nothing to keep */
    p = "{\"meta\":1,\"task\":{\"width\":1}}";
    RWT_CHECK_INT(rw_job_parse(p, strlen(p), NULL, &job, &errs), -1);
    RWT_CHECK(job.task_len == 0 && job.meta_len == 0);
    json_object_put(errs);
    rw_job_clear(&job);
}

static const struct rwt_case cases[] = {
    {"depth", test_depth},
    {"table", test_table},
    {"defaults_filled", test_defaults_filled},
    {"body_kept", test_body_kept},
    {"body_tree", test_body_tree},
    {"body_spans", test_body_spans},
    {"fresh_uuids_differ", test_fresh_uuids_differ},
    {"error_messages", test_error_messages},
    {"not_nul_terminated", test_not_nul_terminated},
    {"schema_hook", test_schema_hook},
    {"set_delivery", test_set_delivery},
};

RWT_MAIN(cases)
