/* Two runwared instances on one Redis and key_prefix, each one's callbacks routed to the other:
 * the shared secret, task state and completion work across instances. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include "rw_token.h"

#define NJOBS  150
#define CUSTOM "multi:custom"

struct job {
    char uuid[37];
    bool envelope;
    int n;
    const char *output; /* NULL: not set (URL) */
    const char *list;
    json_object *meta; /* owned; NULL: null */
    char *payload;
};

/* Bare tasks and envelopes (some with their own resultList), numberResults 1-4, every
 * outputType, each with the producer's taskUUID so records, logs and the sim can be matched. */
static void make_job(struct job *j, int i, const char *results)
{
    static const char *const outputs[] = {"URL", "base64Data", "dataURI", NULL};
    it_uuid(j->uuid);
    j->envelope = i % 2 == 0;
    j->n = 1 + (i / 3) % 4;
    j->output = outputs[(i / 2) % 4];
    j->list = j->envelope && i % 6 == 0 ? CUSTOM : results;
    char *task = it_fmt("{\"positivePrompt\":\"multi job %d, a harbour at night\",\"width\":512,"
                        "\"height\":768,\"numberResults\":%d,\"taskUUID\":\"%s\"%s%s%s}",
                        i, j->n, j->uuid, j->output ? ",\"outputType\":\"" : "",
                        j->output ? j->output : "", j->output ? "\"" : "");
    if (!j->envelope) {
        j->payload = task;
        return;
    }
    char *meta = it_fmt("{\"i\":%d,\"who\":\"multi\"}", i);
    j->meta = json_tokener_parse(meta);
    j->payload = it_fmt("{\"task\":%s,\"meta\":%s%s}", task, meta,
                        j->list == results ? "" : ",\"resultList\":\"" CUSTOM "\"");
    free(meta);
    free(task);
}

static char *job_desc(const struct job *j, int i)
{
    return it_fmt("job %d (task %s, %s, numberResults %d, outputType %s, list %s)", i, j->uuid,
                  j->envelope ? "envelope" : "bare", j->n, j->output ? j->output : "unset",
                  j->list);
}

/* Whether the log holds "task <uuid>: <what>" as a whole message. */
static bool log_has(const char *log, const char *uuid, const char *what)
{
    char *needle = it_fmt("task %s: %s\n", uuid, what);
    bool found = log && strstr(log, needle);
    free(needle);
    return found;
}

/* The record's imageUUIDs are those the sim delivered for its task, submitted once. */
static void check_against_sim(struct it_env *e, const char *what, struct it_record *rec)
{
    const char *uuid = it_jstr(rec->obj, "taskUUID");
    json_object *data = it_jget(rec->obj, "data");
    json_object *t = uuid ? it_sim_task(e, uuid) : NULL;
    IT_EXPECT(t, "%s: the sim does not know the task (GET /_sim/task)", what);
    if (!t || !data || !json_object_is_type(data, json_type_array)) {
        json_object_put(t);
        return;
    }
    IT_EXPECT(it_jint(t, "submissions") == 1, "%s: submitted %lld times, expected once", what,
              it_jint(t, "submissions"));
    json_object *dl = it_jget(t, "deliveries");
    size_t nimg = 0, nd = json_object_array_length(data);
    for (size_t i = 0; dl && i < json_object_array_length(dl); i++) {
        json_object *d = json_object_array_get_idx(dl, i);
        const char *kind = it_jstr(d, "kind"), *iu = it_jstr(d, "imageUUID");
        if (!kind || strcmp(kind, "image") || !iu)
            continue;
        nimg++;
        bool found = false;
        for (size_t k = 0; k < nd && !found; k++)
            found = !strcmp(it_jstr(json_object_array_get_idx(data, k), "imageUUID") ?: "", iu);
        IT_EXPECT(found, "%s: the sim delivered image %s, missing from the record %s", what, iu,
                  rec->raw);
    }
    IT_EXPECT(nimg == nd, "%s: the sim delivered %zu images, the record holds %zu", what, nimg, nd);
    json_object_put(t);
}

/* Waits until the task is registered, acknowledged (out of the submitting set of `e`) and known
 * to the sim. */
static void wait_acked(struct it_env *e, const char *uuid)
{
    char pending[64], submitting[96], sfx[64];
    it_key(e, pending, sizeof(pending), "pending");
    snprintf(sfx, sizeof(sfx), "submitting:%s", e->instance);
    it_key(e, submitting, sizeof(submitting), sfx);
    int64_t deadline = it_now_ms() + 10000 * it_slow();
    for (;;) {
        redisReply *r = it_redis(e, "ZSCORE %s %s", pending, uuid);
        bool in_pending = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        r = it_redis(e, "SISMEMBER %s %s", submitting, uuid);
        bool acked = in_pending && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
        freeReplyObject(r);
        json_object *t = acked ? it_sim_task(e, uuid) : NULL;
        json_object_put(t);
        if (t)
            return;
        if (it_now_ms() > deadline)
            it_die(e, "task %s was not registered and acknowledged within %d ms", uuid,
                   10000 * it_slow());
        it_sleep_ms(20);
    }
}

/* POSTs one image of task uuid, as Runware would, to the runwared of `to`; expects 200. */
static char *post_image(struct it_env *to, const char *uuid, const char *image_uuid,
                        const char *why)
{
    char tok[RW_TOKEN_LEN + 1];
    if (rw_token_make(to->secret, to->secret_len, uuid, tok) != 0)
        it_die(to, "rw_token_make failed");
    char *item = it_fmt("{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\",\"imageUUID\":\"%s\","
                        "\"imageURL\":\"https://im.example/%s.jpg\",\"seed\":11}",
                        uuid, image_uuid, image_uuid);
    char *body = it_fmt("{\"data\":[%s]}", item);
    char *url = it_fmt("%s/callback/%s?token=%s", to->rw_url, uuid, tok), *resp = NULL;
    long code = it_http("POST", url, body, strlen(body), &resp, 5000 * it_slow());
    IT_EXPECT(code == 200, "%s: POST to %s's listener -> %ld, expected 200 (answer %.200s)", why,
              to->instance, code, resp ? resp : "");
    free(url);
    free(resp);
    free(body);
    return item;
}

static void test_cross_callbacks(void)
{
    struct it_env a, b;
    struct it_records recs = {0};
    static struct job jobs[NJOBS];
    char results[64], drop[37];
    int images = 0;

    it_env_init(&a, "multi");
    it_redis_start(&a);
    const char *sim[] = {"--delay-ms", "30", "--jitter-ms", "60", "--seed", "41", NULL};
    it_sim_start(&a, sim);
    it_env_peer(&b, &a, "b");
    it_key(&a, results, sizeof(results), "results");
    const char *lists[] = {results, CUSTOM};

    /* each one's webhooks point at the other's listener; no webhook_secret_file */
    char *conf_a = it_fmt("public_url = http://127.0.0.1:%d\n", b.rw_port);
    char *conf_b = it_fmt("public_url = http://127.0.0.1:%d/\n", a.rw_port);

    /* B alone first: a task whose callbacks the sim never sends is surely B's */
    it_rw_start(&b, conf_b);
    it_uuid(drop);
    char *dj = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] direct\",\"width\":512,"
                      "\"height\":512,\"numberResults\":2,\"taskUUID\":\"%s\"},\"meta\":\"d\"}",
                      drop);
    it_push(&b, dj);
    free(dj);
    wait_acked(&b, drop);

    it_rw_start(&a, conf_a);
    IT_EXPECT(a.secret_len == b.secret_len && !memcmp(a.secret, b.secret, a.secret_len),
              "both instances should use the one secret kept in Redis");

    /* B's task: one image posted to A, the other to B; one record holding both */
    char *i1 = post_image(&a, drop, "d1d1d1d1-0000-4000-8000-000000000001", "B's task at A");
    long long n = it_llen(&a, results);
    IT_EXPECT(n == 0, "B's task after 1 of 2 images should have no record yet, %s holds %lld",
              results, n);
    char *i2 = post_image(&b, drop, "d1d1d1d1-0000-4000-8000-000000000002", "B's task at B");
    size_t got = it_collect(&a, lists, 2, 1, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "B's task fed at both instances should have one record, got %zu", got);
    if (got == 1) {
        json_object *meta = json_object_new_string("d");
        struct it_record *rec = &recs.v[0];
        if (it_check_success(rec, "B's task fed at both instances", drop, results, 2, "URL",
                             meta)) {
            json_object *data = it_jget(rec->obj, "data");
            json_object *w1 = json_tokener_parse(i1), *w2 = json_tokener_parse(i2);
            IT_EXPECT(it_json_equal(json_object_array_get_idx(data, 0), w1) &&
                          it_json_equal(json_object_array_get_idx(data, 1), w2),
                      "B's task: data should be the two items posted, in order: %s", rec->raw);
            json_object_put(w1);
            json_object_put(w2);
        }
        json_object_put(meta);
    }
    it_records_free(&recs);
    free(i1);
    free(i2);

    /* the batch, in bursts, while both instances take jobs */
    char *payloads[NJOBS];
    for (int i = 0; i < NJOBS; i++) {
        make_job(&jobs[i], i, results);
        payloads[i] = jobs[i].payload;
        images += jobs[i].n;
    }
    int64_t t0 = it_now_ms();
    for (int at = 0; at < NJOBS; at += 10) {
        it_push_many(&a, payloads + at, NJOBS - at < 10 ? (size_t)(NJOBS - at) : 10);
        it_sleep_ms(30);
    }
    got = it_collect(&a, lists, 2, NJOBS, 90000 * it_slow(), &recs);
    printf("multi: %d jobs (%d images) through two instances -> %zu records in %.3f s\n", NJOBS,
           images, got, (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(got == NJOBS, "expected %d records, got %zu", NJOBS, got);

    it_expect_no_more(&a, lists, 2, 1500);
    it_expect_quiescent(&a);
    it_expect_quiescent(&b);

    /* which instance registered each task, and which one completed it */
    char *log_a = it_read_file(a.rw.err_path, NULL), *log_b = it_read_file(b.rw.err_path, NULL);
    int took_a = 0, took_b = 0;
    for (int i = 0; i < NJOBS; i++) {
        struct job *j = &jobs[i];
        char *what = job_desc(j, i);
        struct it_record *rec = NULL;
        int count = 0;
        for (size_t r = 0; r < recs.n; r++) {
            const char *u = it_jstr(recs.v[r].obj, "taskUUID");
            if (u && !strcmp(u, j->uuid) && count++ == 0)
                rec = &recs.v[r];
        }
        IT_EXPECT(count == 1, "%s: %d records, expected exactly one", what, count);
        if (rec && it_check_success(rec, what, j->uuid, j->list, j->n, j->output, j->meta))
            check_against_sim(&a, what, rec);
        bool reg_a = log_has(log_a, j->uuid, "registered");
        bool reg_b = log_has(log_b, j->uuid, "registered");
        bool done_a = log_has(log_a, j->uuid, "complete");
        bool done_b = log_has(log_b, j->uuid, "complete");
        took_a += reg_a;
        took_b += reg_b;
        IT_EXPECT(reg_a != reg_b, "%s: registered by %s, expected by exactly one instance", what,
                  reg_a ? "both" : "neither");
        IT_EXPECT(reg_a != done_a && reg_b != done_b,
                  "%s: registered by %s%s, completed by %s%s; the callbacks must reach the other "
                  "instance",
                  what, reg_a ? "A" : "", reg_b ? "B" : "", done_a ? "A" : "", done_b ? "B" : "");
        free(what);
    }
    for (size_t r = 0; r < recs.n; r++) {
        const char *u = it_jstr(recs.v[r].obj, "taskUUID");
        bool known = false;
        for (int i = 0; u && i < NJOBS && !known; i++)
            known = !strcmp(u, jobs[i].uuid);
        IT_EXPECT(known, "record for no job: %s", recs.v[r].raw);
    }
    printf("multi: instance A took %d jobs, B took %d\n", took_a, took_b);
    IT_EXPECT(took_a > 0 && took_b > 0, "both instances should have taken jobs: A %d, B %d", took_a,
              took_b);
    free(log_a);
    free(log_b);

    json_object *st = it_sim_stats(&a);
    printf("multi: sim stats: %s\n", st ? json_object_to_json_string(st) : "(none)");
    IT_EXPECT(it_stat(st, "tasks_accepted") == NJOBS + 1,
              "the sim accepted %lld tasks, expected %d (the batch and the direct one)",
              it_stat(st, "tasks_accepted"), NJOBS + 1);
    IT_EXPECT(it_stat(st, "callbacks_delivered") == images,
              "the sim delivered %lld callbacks, expected one per image (%d)",
              it_stat(st, "callbacks_delivered"), images);
    IT_EXPECT(it_stat(st, "callback_failed_attempts") == 0,
              "%lld callback attempts failed; the other instance should accept each at once",
              it_stat(st, "callback_failed_attempts"));
    json_object_put(st);

    it_env_finish(&a);
    it_records_free(&recs);
    for (int i = 0; i < NJOBS; i++) {
        free(jobs[i].payload);
        json_object_put(jobs[i].meta);
    }
    free(conf_a);
    free(conf_b);
}

static const struct rwt_case cases[] = {
    {"cross_callbacks", test_cross_callbacks},
};

RWT_MAIN(cases)
