/* Webhook callbacks: the three body shapes, tokens, unknown tasks, bad bodies, repeats, late ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "rw_token.h"

#define TASK "\"width\":1024,\"height\":1024"

static char *cb_url(struct it_env *e, const char *uuid, const char *token)
{
    if (!token)
        return it_fmt("%s/callback/%s", e->rw_url, uuid);
    return it_fmt("%s/callback/%s?token=%s", e->rw_url, uuid, token);
}

static void token_for(struct it_env *e, const char *uuid, char out[RW_TOKEN_LEN + 1])
{
    if (rw_token_make(e->secret, e->secret_len, uuid, out) != 0)
        it_die(e, "rw_token_make failed");
}

/* POSTs body to the task's callback URL with the right token; expects status `want`. */
static void post_expect(struct it_env *e, const char *uuid, const char *token, const char *body,
                        long want, const char *why)
{
    char *url = cb_url(e, uuid, token), *resp = NULL;
    long code = it_http("POST", url, body, strlen(body), &resp, 5000 * it_slow());
    IT_EXPECT(code == want, "%s: POST %s -> %ld, expected %ld (body %.200s; answer %.200s)", why,
              url, code, want, body, resp ? resp : "");
    free(url);
    free(resp);
}

static void post_ok(struct it_env *e, const char *uuid, const char *body, long want,
                    const char *why)
{
    char tok[RW_TOKEN_LEN + 1];
    token_for(e, uuid, tok);
    post_expect(e, uuid, tok, body, want, why);
}

static char *item(const char *task, const char *image)
{
    return it_fmt("{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\",\"imageUUID\":\"%s\","
                  "\"imageURL\":\"https://im.example/%s.jpg\",\"seed\":7}",
                  task, image, image);
}

/* Waits until runwared holds the task in flight and the sim has acknowledged it. */
static void wait_in_flight(struct it_env *e, const char *uuid)
{
    char key[64];
    it_key(e, key, sizeof(key), "pending");
    int64_t deadline = it_now_ms() + 10000 * it_slow();
    for (;;) {
        redisReply *r = it_redis(e, "ZSCORE %s %s", key, uuid);
        bool pending = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        json_object *t = pending ? it_sim_task(e, uuid) : NULL;
        json_object_put(t);
        if (t)
            break;
        if (it_now_ms() > deadline)
            it_die(e, "task %s never was both in %s and known to the sim", uuid, key);
        it_sleep_ms(20);
    }
    it_sleep_ms(200); /* let runwared take the sim's acknowledgement */
}

/* A fresh environment whose simulator never calls back, and one task of n images in flight whose
 * record goes to list. */
static void one_task_in_flight(struct it_env *e, const char *prefix, bool secret_in_file,
                               const char *uuid, int n, const char *list)
{
    it_env_init(e, prefix);
    e->secret_in_file = secret_in_file;
    it_redis_start(e);
    const char *sim[] = {"--delay-ms", "60000", "--jitter-ms", "0", "--seed", "23", NULL};
    it_sim_start(e, sim);
    it_rw_start(e, NULL);
    char *job = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] one\",\"numberResults\":%d," TASK
                       ",\"taskUUID\":\"%s\"},\"resultList\":\"%s\"}",
                       n, uuid, list);
    it_push(e, job);
    free(job);
    wait_in_flight(e, uuid);
}

static void expect_no_record(struct it_env *e, const char *list, const char *why)
{
    it_sleep_ms(300);
    long long n = it_llen(e, list);
    IT_EXPECT(n == 0, "%s: %s should hold no record yet, holds %lld", why, list, n);
}

/* The data array must be exactly these items (as posted, in arrival order). */
static void expect_data(struct it_record *rec, const char *what, const char *const *items, size_t n)
{
    json_object *data = it_jget(rec->obj, "data");
    size_t nd =
        data && json_object_is_type(data, json_type_array) ? json_object_array_length(data) : 0;
    IT_EXPECT(nd == n, "%s: %zu items in data, expected %zu: %s", what, nd, n, rec->raw);
    for (size_t i = 0; i < n && i < nd; i++) {
        json_object *want = json_tokener_parse(items[i]);
        IT_EXPECT(it_json_equal(want, json_object_array_get_idx(data, i)),
                  "%s: data[%zu] should be the item posted, %s: %s", what, i, items[i], rec->raw);
        json_object_put(want);
    }
}

/* Tasks held in flight (the sim drops their callbacks and would only answer after a minute), fed
 * by direct POSTs of every body shape, with bad tokens, repeats, bad bodies and late callbacks. */
static void test_direct_posts(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u1[37], u2[37], u3[37], unknown[37], tok[RW_TOKEN_LEN + 1], other[RW_TOKEN_LEN + 1];
    it_uuid(u1);
    it_uuid(u2);
    it_uuid(u3);
    it_uuid(unknown);
    it_env_init(&e, "cb");
    e.secret_in_file = true;
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "60000", "--jitter-ms", "0", "--seed", "11", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "max_callback_bytes = 4096\n");

    char *j1 = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] one\",\"numberResults\":2," TASK
                      ",\"taskUUID\":\"%s\"},\"meta\":\"t1\",\"resultList\":\"cb:list\"}",
                      u1);
    char *j2 = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] two\",\"numberResults\":3," TASK
                      ",\"taskUUID\":\"%s\"},\"meta\":\"t2\",\"resultList\":\"cb:list\"}",
                      u2);
    char *j3 = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] three\"," TASK
                      ",\"taskUUID\":\"%s\"},\"meta\":\"t3\",\"resultList\":\"cb:list\"}",
                      u3);
    it_push(&e, j1);
    it_push(&e, j2);
    it_push(&e, j3);
    wait_in_flight(&e, u1);
    wait_in_flight(&e, u2);
    wait_in_flight(&e, u3);

    /* the tokens below follow the documented URL: <public_url>/callback/<uuid>?token=<hex> */
    token_for(&e, u1, tok);

    /* unknown task with a valid token; a path that is no task */
    char *i1 = item(u1, "11111111-1111-4111-8111-111111111111");
    char *iu = item(unknown, "88888888-8888-4888-8888-888888888888");
    post_ok(&e, unknown, iu, 404, "unknown task (an image for it, valid token)");
    char *bad_path = it_fmt("%s/callback/not-a-uuid?token=%s", e.rw_url, tok);
    long code = it_http("POST", bad_path, i1, strlen(i1), NULL, 5000);
    IT_EXPECT(code >= 400 && code < 500, "POST %s -> %ld, expected a 4xx", bad_path, code);
    free(bad_path);

    /* T1 (2 images): {"data":[item]}, then refused posts, a repeat, then a bare item completes it
     */
    char *body = it_fmt("{\"data\":[%s]}", i1);
    post_ok(&e, u1, body, 200, "T1 first image as {\"data\":[item]}");
    expect_no_record(&e, "cb:list", "T1 after 1 of 2 images");
    char *i2bad = item(u1, "22222222-2222-4222-8222-222222222222");
    token_for(&e, u2, other);
    post_expect(&e, u1, other, i2bad, 401, "T1 with T2's token");
    post_expect(&e, u1, NULL, i2bad, 401, "T1 without token");
    post_expect(&e, u1, "", i2bad, 401, "T1 with an empty token");
    post_expect(&e, u1, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", i2bad,
                401, "T1 with a wrong token");
    tok[10] = tok[10] == '0' ? '1' : '0';
    post_expect(&e, u1, tok, i2bad, 401, "T1 with its token changed in one digit");
    post_ok(&e, u1, body, 200, "T1 first image again (repeat)");
    post_ok(&e, u1, i1, 200, "T1 first image again as a bare item (repeat)");
    expect_no_record(&e, "cb:list", "T1 after refused and repeated posts");
    char *i2 = item(u1, "33333333-3333-4333-8333-333333333333");
    post_ok(&e, u1, i2, 200, "T1 second image as a bare item");

    const char *lists[] = {"cb:list"};
    size_t got = it_collect(&e, lists, 1, 1, 5000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "T1: no record within 5 s after its second image");
    if (got == 1) {
        json_object *m = json_object_new_string("t1");
        it_check_success(&recs.v[0], "T1", u1, "cb:list", 2, NULL, m);
        json_object_put(m);
        const char *items1[] = {i1, i2};
        expect_data(&recs.v[0], "T1", items1, 2);
    }
    char *i3 = item(u1, "44444444-4444-4444-8444-444444444444");
    post_ok(&e, u1, i3, 200, "T1 late image after completion");

    /* T2 (3 images): one image, then {"errors":[...]} ends it with that image */
    char *a1 = item(u2, "55555555-5555-4555-8555-555555555555");
    post_ok(&e, u2, a1, 200, "T2 first image");
    expect_no_record(&e, "cb:list", "T2 after 1 of 3 images");
    char *err = it_fmt("{\"errors\":[{\"code\":\"timeoutProvider\",\"message\":\"provider timed "
                       "out\",\"taskUUID\":\"%s\",\"taskType\":\"imageInference\"}]}",
                       u2);
    post_ok(&e, u2, err, 200, "T2 error");
    size_t before = recs.n;
    got = it_collect(&e, lists, 1, 1, 5000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "T2: no record within 5 s after its error callback");
    if (got == 1) {
        struct it_record *rec = &recs.v[before];
        const char *items2[] = {a1};
        if (it_check_record_shape(rec, "T2")) {
            json_object *errors = it_jget(rec->obj, "errors");
            json_object *e0 = json_object_array_get_idx(errors, 0);
            IT_EXPECT(!strcmp(it_jstr(rec->obj, "taskUUID"), u2), "T2: record taskUUID: %s",
                      rec->raw);
            IT_EXPECT(!strcmp(it_jstr(rec->obj, "status"), "error"),
                      "T2: status should be error: %s", rec->raw);
            IT_EXPECT(json_object_array_length(errors) == 1,
                      "T2: expected the one error posted: %s", rec->raw);
            IT_EXPECT(!strcmp(it_jstr(e0, "code") ?: "", "timeoutProvider") &&
                          !strcmp(it_jstr(e0, "message") ?: "", "provider timed out"),
                      "T2: error should keep code timeoutProvider and its message: %s", rec->raw);
            IT_EXPECT(!strcmp(it_jstr(rec->obj, "meta") ?: "", "t2"), "T2: meta: %s", rec->raw);
            expect_data(rec, "T2", items2, 1);
        }
    }
    char *a2 = item(u2, "66666666-6666-4666-8666-666666666666");
    char *late = it_fmt("{\"data\":[%s]}", a2);
    post_ok(&e, u2, late, 200, "T2 late image after its error");

    /* T3 (1 image): bodies that are no callback are refused and change nothing */
    post_ok(&e, u3, "not json{", 400, "T3 body not JSON");
    post_ok(&e, u3, "", 400, "T3 empty body");
    post_ok(&e, u3, "[1,2]", 400, "T3 body a JSON array");
    post_ok(&e, u3, "{\"data\":5}", 400, "T3 data not an array");
    char *big = calloc(1, 8200);
    if (!big)
        it_die(&e, "out of memory");
    snprintf(big, 8200, "{\"data\":[],\"pad\":\"");
    memset(big + strlen(big), 'x', 8000);
    strcat(big, "\"}");
    char tok3[RW_TOKEN_LEN + 1];
    token_for(&e, u3, tok3);
    char *url3 = cb_url(&e, u3, tok3);
    code = it_http("POST", url3, big, strlen(big), NULL, 5000 * it_slow());
    IT_EXPECT(code >= 400 && code < 500,
              "T3: an 8 KB body over max_callback_bytes 4096 -> %ld, expected a 4xx", code);
    free(url3);
    free(big);
    expect_no_record(&e, "cb:list", "T3 after refused bodies");
    char *b1 = item(u3, "77777777-7777-4777-8777-777777777777");
    char *b1body = it_fmt("{\"data\":[%s]}", b1);
    post_ok(&e, u3, b1body, 200, "T3 its image");
    before = recs.n;
    got = it_collect(&e, lists, 1, 1, 5000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "T3: no record within 5 s after its image");
    if (got == 1) {
        json_object *m = json_object_new_string("t3");
        it_check_success(&recs.v[before], "T3", u3, "cb:list", 1, NULL, m);
        json_object_put(m);
        const char *items3[] = {b1};
        expect_data(&recs.v[before], "T3", items3, 1);
    }

    it_expect_no_more(&e, lists, 1, 500);
    it_expect_quiescent(&e);
    const char *uuids[] = {u1, u2, u3};
    for (size_t i = 0; i < 3; i++) {
        token_for(&e, uuids[i], tok);
        it_expect_log_clean(&e, "callback token", tok);
    }
    it_env_finish(&e);
    it_records_free(&recs);
    char *all[] = {j1, j2, j3, i1, iu, body, i2bad, i2, i3, a1, err, a2, late, b1, b1body};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
}

struct simple_job {
    char uuid[37];
    const char *prompt;
    int n;
    const char *output;
    bool fails;
};

/* Pushes the jobs and checks one record each: success, or an error for `fails` ones. */
static void run_simple(struct it_env *e, struct simple_job *jobs, size_t n)
{
    struct it_records recs = {0};
    for (size_t i = 0; i < n; i++) {
        it_uuid(jobs[i].uuid);
        char *p =
            it_fmt("{\"positivePrompt\":\"%s\",\"numberResults\":%d,\"outputType\":\"%s\"," TASK
                   ",\"taskUUID\":\"%s\"}",
                   jobs[i].prompt, jobs[i].n, jobs[i].output, jobs[i].uuid);
        it_push(e, p);
        free(p);
    }
    char list[64];
    it_key(e, list, sizeof(list), "results");
    const char *lists[] = {list};
    size_t got = it_collect(e, lists, 1, n, 30000 * it_slow(), &recs);
    IT_EXPECT(got == n, "expected %zu records, got %zu", n, got);
    for (size_t i = 0; i < n; i++) {
        char what[128];
        snprintf(what, sizeof(what), "job %zu \"%s\" (numberResults %d, %s)", i, jobs[i].prompt,
                 jobs[i].n, jobs[i].output);
        struct it_record *rec = it_records_find(&recs, jobs[i].uuid);
        IT_EXPECT(rec, "%s: no record", what);
        if (!rec)
            continue;
        if (!jobs[i].fails) {
            it_check_success(rec, what, jobs[i].uuid, list, jobs[i].n, jobs[i].output, NULL);
            continue;
        }
        if (!it_check_record_shape(rec, what))
            continue;
        json_object *data = it_jget(rec->obj, "data");
        IT_EXPECT(!strcmp(it_jstr(rec->obj, "status"), "error"), "%s: status should be error: %s",
                  what, rec->raw);
        IT_EXPECT(json_object_array_length(data) < (size_t)jobs[i].n,
                  "%s: failed generation with all %d images: %s", what, jobs[i].n, rec->raw);
        for (size_t k = 0; k < json_object_array_length(data); k++)
            it_check_item(json_object_array_get_idx(data, k), what, jobs[i].uuid,
                          it_output_field(jobs[i].output));
    }
    it_expect_no_more(e, lists, 1, 1000);
    it_expect_quiescent(e);
    it_records_free(&recs);
}

/* The sim sends every image as a bare item (no "data" wrapper) and failures as {"errors":[...]};
 * the secret is the one runwared keeps in Redis, and tokens made from it are honoured. */
static void test_bare_items_and_errors(void)
{
    struct it_env e;
    struct simple_job jobs[] = {
        {"", "a bare cat", 1, "URL", false},
        {"", "two bare dogs", 2, "base64Data", false},
        {"", "three bare birds", 3, "dataURI", false},
        {"", "[sim:gen-fail] two failing fish", 2, "URL", true},
        {"", "four bare bees", 4, "URL", false},
    };
    it_env_init(&e, "bare");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20",          "--jitter-ms", "20", "--seed",
                         "13",         "--bare-item", "1",           NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    char unknown[37], tok[RW_TOKEN_LEN + 1];
    it_uuid(unknown);
    token_for(&e, unknown, tok);
    char *url = cb_url(&e, unknown, tok);
    char *body = item(unknown, "99999999-9999-4999-8999-999999999999");
    long code = it_http("POST", url, body, strlen(body), NULL, 5000);
    IT_EXPECT(code == 404, "unknown task with a token from the Redis secret: %ld, expected 404",
              code);
    free(url);
    url = cb_url(&e, unknown, "0000");
    code = it_http("POST", url, body, strlen(body), NULL, 5000);
    IT_EXPECT(code == 401, "unknown task with a bad token: %ld, expected 401", code);
    free(url);
    free(body);

    run_simple(&e, jobs, sizeof(jobs) / sizeof(jobs[0]));
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(it_stat(st, "gen_failures") >= 1, "sim stats should count the failure: %s",
              st ? json_object_to_json_string(st) : "(none)");
    json_object_put(st);
    it_env_finish(&e);
}

/* [sim:dup] sends images twice: a repeated imageUUID is ignored, one record with 2 items. */
static void test_repeated_images(void)
{
    struct it_env e;
    struct simple_job jobs[] = {
        {"", "[sim:dup] two twins", 2, "URL", false},
        {"", "[sim:dup] three triplets", 3, "dataURI", false},
        {"", "a single one", 1, "URL", false},
    };
    it_env_init(&e, "dupimg");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "40", "--seed", "17", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);
    run_simple(&e, jobs, sizeof(jobs) / sizeof(jobs[0]));
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(it_stat(st, "callbacks_duplicated") >= 2,
              "sim stats should show the repeated callbacks: %s",
              st ? json_object_to_json_string(st) : "(none)");
    json_object_put(st);
    it_env_finish(&e);
}

/* /healthz and /metrics count what happened: jobs, refusals, callbacks by outcome, records. */
static void test_metrics(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u1[37], tok[RW_TOKEN_LEN + 1], *text = NULL, *url;
    it_uuid(u1);
    it_env_init(&e, "cbm");
    e.secret_in_file = true;
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "10", "--jitter-ms", "10", "--seed", "5", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    char *good = it_fmt(
        "{\"positivePrompt\":\"metrics\",\"numberResults\":2," TASK ",\"taskUUID\":\"%s\"}", u1);
    it_push(&e, good);
    it_push(&e, "{not json");
    char results[64];
    snprintf(results, sizeof(results), "%s:results", e.prefix);
    const char *lists[] = {results};
    size_t got = it_collect(&e, lists, 1, 2, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 2, "expected 2 records, got %zu", got);
    token_for(&e, u1, tok);
    tok[0] = tok[0] == 'a' ? 'b' : 'a';
    post_expect(&e, u1, tok, "{}", 401, "a wrong token");

    url = it_fmt("%s/healthz", e.admin_url);
    long code = it_http("GET", url, NULL, 0, NULL, 5000);
    IT_EXPECT(code == 200, "GET /healthz -> %ld, expected 200", code);
    free(url);
    url = it_fmt("%s/metrics", e.admin_url);
    code = it_http("GET", url, NULL, 0, &text, 5000);
    IT_EXPECT(code == 200 && text, "GET /metrics -> %ld, expected 200", code);
    static const struct {
        const char *series;
        long long want;
    } want[] = {
        {"runwared_jobs_taken_total", 2},
        {"runwared_jobs_refused_total", 1},
        {"runwared_submit_requests_total", 1},
        {"runwared_tasks_acknowledged_total", 1},
        {"runwared_tasks_failed_total", 0},
        {"runwared_callbacks_total{outcome=\"ok\"}", 2},
        {"runwared_callbacks_total{outcome=\"unauthorized\"}", 1},
        {"runwared_callbacks_total{outcome=\"unknown_task\"}", 0},
        {"runwared_records_completed_total", 1},
        {"runwared_tasks_in_hand", 0},
        {"runwared_redis_connected", 1},
    };
    for (size_t i = 0; text && i < sizeof(want) / sizeof(want[0]); i++) {
        long long v = it_metric_in(text, want[i].series);
        IT_EXPECT(v == want[i].want, "/metrics: %s is %lld, expected %lld", want[i].series, v,
                  want[i].want);
    }
    free(text);
    free(url);
    free(good);
    it_records_free(&recs);
    it_env_finish(&e);
}

/* A series' value as a floating-point number, -1 when absent. */
static double metric_double(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* Items go into the record as the bytes Runware sent, less a "status" member and the whitespace
 * between tokens; escapes stay as sent; a body that is not strict JSON is refused (400) and
 * changes nothing, whatever json-c would have made of it; shapes left to json-c still work; the
 * spend metric adds the items' costs. */
static void test_record_bytes(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u[37], tok[RW_TOKEN_LEN + 1], *text = NULL;
    it_uuid(u);
    one_task_in_flight(&e, "cbraw", true, u, 3, "raw:list");
    token_for(&e, u, tok);

    /* 1: pretty-printed, status first, escapes in a string */
    char *b1 = it_fmt("{\n  \"data\": [\n    {\n      \"status\": \"success\",\n      "
                      "\"taskType\": \"imageInference\",\n      \"taskUUID\": \"%s\",\n      "
                      "\"imageUUID\": \"aaaaaaaa-1111-4111-8111-111111111111\",\n      "
                      "\"imageURL\": \"https://im.example/a\\u00e9\\/ b.jpg\",\n      "
                      "\"seed\": 7,\n      \"cost\": 0.25\n    }\n  ]\n}\n",
                      u);
    char *want1 = it_fmt("{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\",\"imageUUID\":"
                         "\"aaaaaaaa-1111-4111-8111-111111111111\",\"imageURL\":"
                         "\"https://im.example/a\\u00e9\\/ b.jpg\",\"seed\":7,\"cost\":0.25}",
                         u);
    /* 2: a bare item, its taskUUID's first character escaped, status last */
    char *b2 =
        it_fmt("{\"taskType\":\"imageInference\",\"taskUUID\":\"\\u%04x%s\",\"imageUUID\":"
               "\"bbbbbbbb-2222-4222-8222-222222222222\",\"imageURL\":\"https://im.example/b.png\","
               "\"seed\":8,\"cost\":1e-2,"
               "\"status\":\"success\"}",
               (unsigned)u[0], u + 1);
    char *want2 = it_fmt("{\"taskType\":\"imageInference\",\"taskUUID\":\"\\u%04x%s\","
                         "\"imageUUID\":\"bbbbbbbb-2222-4222-8222-222222222222\",\"imageURL\":"
                         "\"https://im.example/b.png\",\"seed\":8,"
                         "\"cost\":1e-2}",
                         (unsigned)u[0], u + 1);
    /* 3: an unpaired surrogate escape: json-c reads it (as U+FFFD) and writes the item */
    char *b3 =
        it_fmt("{\"data\":[{\"taskUUID\":\"%s\",\"imageUUID\":"
               "\"cccccccc-3333-4333-8333-333333333333\",\"imageURL\":\"https://im.example/c.png\","
               "\"note\":\"\\ud800\",\"cost\":0.5}]}",
               u);
    /* not JSON, though json-c takes most of them: refused, nothing recorded */
    static const struct {
        const char *members, *after; /* after the item's taskUUID and imageUUID; after the body */
    } bad[] = {
        {",\"imageURL\":\"https://im.example/\xc0\xaf.jpg\"", ""}, /* an overlong '/' */
        {",\"x\":\"\xed\xa0\x80\"", ""},                           /* a surrogate in UTF-8 */
        {",\"cost\":NaN", ""},
        {",\"seed\":1.", ""},
        {",\"x\":\"a\tb\"", ""},
        {",", ""},
        {"", "/*x*/"},
        {",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", ""}, /* 33 deep */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b = it_fmt("{\"data\":[{\"taskUUID\":\"%s\",\"imageUUID\":"
                         "\"dddddddd-4444-4444-8444-444444444444\"%s}]}%s",
                         u, bad[i].members, bad[i].after),
             why[64];
        snprintf(why, sizeof(why), "not JSON, case %zu", i);
        post_ok(&e, u, b, 400, why);
        free(b);
    }
    /* an empty imageUUID is no image (the store would take it for an error) */
    char *empty = it_fmt("{\"data\":[{\"taskUUID\":\"%s\",\"imageUUID\":\"\"}]}", u);
    post_ok(&e, u, empty, 400, "an item with an empty imageUUID");
    expect_no_record(&e, "raw:list", "after the refused bodies");

    post_ok(&e, u, b1, 200, "image 1, pretty-printed with a status");
    post_ok(&e, u, b2, 200, "image 2, a bare item with an escaped taskUUID and a status");
    expect_no_record(&e, "raw:list", "after 2 of 3 images");
    post_ok(&e, u, b3, 200, "image 3, with an unpaired surrogate escape");
    const char *lists[] = {"raw:list"};
    size_t got = it_collect(&e, lists, 1, 1, 5000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "no record within 5 s after the third image");
    if (got == 1) {
        struct it_record *rec = &recs.v[0];
        char *items = it_fmt("\"data\":[%s,%s,{", want1, want2);
        json_tokener *strict = json_tokener_new();
        json_object *o, *note;

        it_check_success(rec, "raw", u, "raw:list", 3, NULL, NULL);
        IT_EXPECT(strstr(rec->raw, items) != NULL, "the items should be as sent (%s): %s", items,
                  rec->raw);
        json_tokener_set_flags(strict, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(strict, rec->raw, (int)strlen(rec->raw));
        IT_EXPECT(o && json_tokener_get_parse_end(strict) == strlen(rec->raw),
                  "the record should be strict JSON: %s", rec->raw);
        note = o ? json_object_array_get_idx(it_jget(o, "data"), 2) : NULL;
        IT_EXPECT(note && !strcmp(it_jstr(note, "note") ?: "", "\xef\xbf\xbd"),
                  "image 3's note should be U+FFFD: %s", rec->raw);
        IT_EXPECT(!strstr(rec->raw, "\"status\":\"success\",\"taskType\"") &&
                      !strstr(rec->raw, "1e-2,\"status\""),
                  "no item should keep its status: %s", rec->raw);
        json_object_put(o);
        json_tokener_free(strict);
        free(items);
    }
    char *url = it_fmt("%s/metrics", e.admin_url);
    long code = it_http("GET", url, NULL, 0, &text, 5000);
    IT_EXPECT(code == 200 && text, "GET /metrics -> %ld, expected 200", code);
    if (text) {
        double spend = metric_double(text, "runwared_spend_usd_total");
        IT_EXPECT(spend > 0.759999 && spend < 0.760001, "spend %f, expected 0.76", spend);
        IT_EXPECT(it_metric_in(text, "runwared_images_total") == 3, "images_total %lld, expected 3",
                  it_metric_in(text, "runwared_images_total"));
    }
    it_expect_no_more(&e, lists, 1, 500);
    it_expect_quiescent(&e);
    it_expect_log_clean(&e, "callback token", tok);
    free(text);
    free(url);
    char *all[] = {b1, want1, b2, want2, b3, empty};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
    it_records_free(&recs);
    it_env_finish(&e);
}

/* While Redis holds a batch of store calls (paused with CLIENT PAUSE) and another connection is
 * open, runwared does not read new requests for the batch's whole length: they would only wait
 * to join the next one. Requests that need no Redis are still answered at once (within the
 * listener's cap of 50 ms, not after the pause), and the held callback is answered 200 and
 * recorded once Redis is back. */
static void test_slow_redis(void)
{
    enum { PAUSE_MS = 4000 };
    struct it_env e;
    struct it_records recs = {0};
    char u1[37], tok[RW_TOKEN_LEN + 1], head[4096];
    it_uuid(u1);
    one_task_in_flight(&e, "slowr", false, u1, 1, "slowr:list");

    token_for(&e, u1, tok);
    char *body = item(u1, "12121212-1212-4212-8212-121212121212");
    char *req = it_fmt("POST /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       u1, tok, strlen(body), body);
    char *bad = it_fmt("POST /callback/%s?token=0000 HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       u1, strlen(body), body);
    /* another connection open and idle: the listener gates only when a request could come */
    int other = it_tcp_connect(&e);
    it_sleep_ms(100);
    redisReply *rep = it_redis(&e, "CLIENT PAUSE %d ALL", PAUSE_MS);
    freeReplyObject(rep);
    int64_t paused_at = it_now_ms();
    int fd = it_tcp_connect(&e);
    IT_EXPECT(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "cannot send the callback");
    it_sleep_ms(200); /* its store call is written, and held by Redis */

    int64_t t0 = it_now_ms();
    IT_EXPECT(write(other, bad, strlen(bad)) == (ssize_t)strlen(bad), "cannot send a request");
    it_read_answer(other, head, sizeof(head), 2 * PAUSE_MS);
    int64_t took = it_now_ms() - t0;
    IT_EXPECT(!strncmp(head, "HTTP/1.1 401", 12), "bad token while Redis is paused: %.200s", head);
    IT_EXPECT(took < 1000 * it_slow(), "bad token while Redis is paused: answered after %lld ms",
              (long long)took);
    char *wrong = it_fmt("%s/elsewhere", e.rw_url);
    t0 = it_now_ms();
    long code = it_http("GET", wrong, NULL, 0, NULL, 2 * PAUSE_MS);
    took = it_now_ms() - t0;
    IT_EXPECT(code == 404 && took < 1000 * it_slow(),
              "wrong path while Redis is paused: %ld after %lld ms, expected 404 at once", code,
              (long long)took);

    it_read_answer(fd, head, sizeof(head), 3 * PAUSE_MS * it_slow());
    int64_t answered = it_now_ms() - paused_at;
    IT_EXPECT(!strncmp(head, "HTTP/1.1 200", 12), "the held callback: %.200s", head);
    IT_EXPECT(answered >= PAUSE_MS - 300,
              "the held callback answered after %lld ms, in a pause of %d", (long long)answered,
              PAUSE_MS);
    const char *lists[] = {"slowr:list"};
    size_t got = it_collect(&e, lists, 1, 1, 5000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "no record after the pause");
    if (got == 1)
        it_check_success(&recs.v[0], "slow", u1, "slowr:list", 1, NULL, NULL);
    IT_EXPECT(it_metric(&e, "runwared_redis_slow_batches_total") >= 1,
              "the slow batch is not counted: runwared_redis_slow_batches_total %lld",
              it_metric(&e, "runwared_redis_slow_batches_total"));
    it_expect_quiescent(&e);
    close(fd);
    close(other);
    free(body);
    free(req);
    free(bad);
    free(wrong);
    it_records_free(&recs);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"slow_redis", test_slow_redis},
    {"metrics", test_metrics},
    {"record_bytes", test_record_bytes},
    {"direct_posts", test_direct_posts},
    {"bare_items_and_errors", test_bare_items_and_errors},
    {"repeated_images", test_repeated_images},
};

RWT_MAIN(cases)
