/* Large commands and replies through runwared's own hiredis<->libevent hooks: a write larger than
 * the socket takes at once (the write event carries the rest), a reply spread over many reads,
 * and small commands queued while a large one is still being written; script calls sent again
 * as EVAL when Redis has forgotten the scripts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include "rw_token.h"

#define BIG     (6 * 1024 * 1024) /* well over a loopback socket's send buffer */
#define BIG_JOB (1024 * 1024)     /* a job: large, yet under any sane intake limit */

/* A result item whose imageBase64Data is BIG bytes of `fill`. */
static char *big_item(const char *task, const char *image, char fill)
{
    static const char pre[] = "{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                              "\"imageUUID\":\"%s\",\"seed\":1,\"imageBase64Data\":\"";
    char *head = it_fmt(pre, task, image);
    size_t hl = strlen(head);
    char *s = malloc(hl + BIG + 3);

    if (!s)
        return NULL;
    memcpy(s, head, hl);
    memset(s + hl, fill, BIG);
    memcpy(s + hl + BIG, "\"}", 3);
    free(head);
    return s;
}

static long post(struct it_env *e, const char *uuid, const char *body)
{
    char tok[RW_TOKEN_LEN + 1];
    char *url;
    long code;

    if (rw_token_make(e->secret, e->secret_len, uuid, tok) != 0)
        it_die(e, "rw_token_make failed");
    url = it_fmt("%s/callback/%s?token=%s", e->rw_url, uuid, tok);
    code = it_http("POST", url, body, strlen(body), NULL, 30000 * it_slow());
    free(url);
    return code;
}

static void wait_pending(struct it_env *e, const char *uuid)
{
    char key[64];
    int64_t deadline = it_now_ms() + 10000 * it_slow();

    it_key(e, key, sizeof(key), "pending");
    for (;;) {
        redisReply *r = it_redis(e, "ZSCORE %s %s", key, uuid);
        bool pending = r->type == REDIS_REPLY_STRING;

        freeReplyObject(r);
        if (pending)
            break;
        if (it_now_ms() > deadline)
            it_die(e, "task %s never registered", uuid);
        it_sleep_ms(20);
    }
    it_sleep_ms(300); /* and acknowledged by the sim */
}

/* The record's data[i].imageBase64Data is BIG bytes of fill. */
static void expect_big(const struct it_record *rec, size_t i, char fill, const char *what)
{
    json_object *d = json_object_array_get_idx(it_jget(rec->obj, "data"), i);
    const char *b = it_jstr(d, "imageBase64Data");
    size_t n = b ? strlen(b) : 0, bad = 0;

    for (size_t k = 0; k < n; k++)
        bad += b[k] != fill;
    IT_EXPECT(n == BIG && bad == 0, "%s: data[%zu] has %zu bytes (%zu wrong), expected %d '%c'",
              what, i, n, bad, BIG, fill);
}

static void test_large_writes_and_reads(void)
{
    struct it_env e;
    struct it_records recs = {0};
    const char *sim[] = {"--delay-ms", "0", "--jitter-ms", "0", NULL};
    char u1[37], u2[37], key[64];
    const char *lists[] = {"io:list", NULL};
    char *j1, *j2, *raw, *a, *b, *body;
    size_t got;

    it_uuid(u1);
    it_uuid(u2);
    it_env_init(&e, "io");
    e.secret_in_file = true;
    it_redis_start(&e);
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);
    it_key(&e, key, sizeof(key), "results");
    lists[1] = key;

    j1 = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] big one\",\"numberResults\":2,"
                "\"width\":1024,\"height\":1024,\"taskUUID\":\"%s\"},\"resultList\":\"io:list\"}",
                u1);
    j2 = it_fmt("{\"task\":{\"positivePrompt\":\"[sim:drop] big two\",\"width\":1024,"
                "\"height\":1024,\"taskUUID\":\"%s\"},\"resultList\":\"io:list\"}",
                u2);
    it_push(&e, j1);
    it_push(&e, j2);
    wait_pending(&e, u1);
    wait_pending(&e, u2);

    /* Each image is one EVALSHA of over 6 MiB; the last one's record is over 12 MiB. */
    a = big_item(u1, "a1a1a1a1-0000-4000-8000-000000000001", 'A');
    b = big_item(u1, "a1a1a1a1-0000-4000-8000-000000000002", 'B');
    if (!a || !b)
        it_die(&e, "out of memory");
    body = it_fmt("{\"data\":[%s]}", a);
    IT_EXPECT(post(&e, u1, body) == 200, "first 6 MiB image of T1 not answered 200");
    free(body);
    body = it_fmt("{\"data\":[%s]}", b);
    IT_EXPECT(post(&e, u1, body) == 200, "second 6 MiB image of T1 not answered 200");
    free(body);
    free(a);
    free(b);

    /* A 1 MiB job that is not JSON: taken in a reply spread over many reads, refused with its
     * payload kept in an error record written by one large command, while the small commands of
     * another task's callback queue behind it. */
    raw = malloc(BIG_JOB + 1);
    if (!raw)
        it_die(&e, "out of memory");
    memset(raw, 'z', BIG_JOB);
    raw[BIG_JOB] = '\0';
    it_push(&e, raw);
    body = it_fmt("{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                  "\"imageUUID\":\"b2b2b2b2-0000-4000-8000-000000000001\",\"seed\":2,"
                  "\"imageURL\":\"https://im.example/b.jpg\"}]}",
                  u2);
    IT_EXPECT(post(&e, u2, body) == 200, "T2's small image not answered 200");
    free(body);

    got = it_collect(&e, lists, 2, 3, 30000 * it_slow(), &recs);
    IT_EXPECT(got == 3, "%zu records of 3 within 30 s", got);
    for (size_t i = 0; i < recs.n; i++) {
        const struct it_record *r = &recs.v[i];
        const char *uuid = it_jstr(r->obj, "taskUUID");
        const char *payload = it_jstr(r->obj, "payload");

        if (uuid && strcmp(uuid, u1) == 0) {
            IT_EXPECT(it_check_success(r, "T1", u1, "io:list", 2, "base64Data", NULL),
                      "T1's record");
            expect_big(r, 0, 'A', "T1");
            expect_big(r, 1, 'B', "T1");
        } else if (uuid && strcmp(uuid, u2) == 0) {
            IT_EXPECT(it_check_success(r, "T2", u2, "io:list", 1, NULL, NULL), "T2's record");
        } else {
            IT_EXPECT(it_check_error(r, "big non-JSON job", "invalidJSON", NULL),
                      "the 1 MiB non-JSON job's record");
            IT_EXPECT(payload && strlen(payload) == BIG_JOB && strspn(payload, "z") == BIG_JOB,
                      "the 1 MiB job's record should keep its payload whole (%zu bytes)",
                      payload ? strlen(payload) : 0);
        }
    }
    it_expect_no_more(&e, lists, 2, 300);
    it_expect_quiescent(&e);
    it_env_finish(&e);
    it_records_free(&recs);
    free(j1);
    free(j2);
    free(raw);
}

/* Redis forgets runwared's scripts (SCRIPT FLUSH, as after a restart) while jobs are under way:
 * every script call answered NOSCRIPT is sent again as EVAL with its source and the same
 * arguments, so each job still ends in one success record with its meta. */
static void test_scripts_forgotten(void)
{
    enum { ROUNDS = 3, PER = 8 };
    struct it_env e;
    struct it_records recs = {0};
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "20", NULL};
    char key[64], *jobs[PER];
    const char *lists[1];
    redisReply *r;
    size_t got;

    it_env_init(&e, "io");
    it_redis_start(&e);
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);
    it_key(&e, key, sizeof(key), "results");
    lists[0] = key;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < PER; i++)
            jobs[i] = it_fmt("{\"task\":{\"positivePrompt\":\"forgotten %d\",\"numberResults\":%d,"
                             "\"width\":512,\"height\":512},\"meta\":{\"round\":%d,\"i\":%d}}",
                             i, 1 + i % 3, round, i);
        it_push_many(&e, jobs, PER);
        for (int i = 0; i < PER; i++)
            free(jobs[i]);
        it_sleep_ms(15); /* some registered, some acknowledged, some images in */
        freeReplyObject(it_redis(&e, "SCRIPT FLUSH"));
    }
    got = it_collect(&e, lists, 1, ROUNDS * PER, 30000 * it_slow(), &recs);
    IT_EXPECT(got == ROUNDS * PER, "%zu records of %d within 30 s", got, ROUNDS * PER);
    for (size_t k = 0; k < recs.n; k++) {
        json_object *meta = it_jget(recs.v[k].obj, "meta");
        long long i = it_jint(meta, "i");
        json_object *want = json_object_new_object();

        json_object_object_add(want, "round", json_object_new_int64(it_jint(meta, "round")));
        json_object_object_add(want, "i", json_object_new_int64(i));
        IT_EXPECT(it_check_success(&recs.v[k], "job", NULL, key, 1 + (int)(i % 3), NULL, want),
                  "record %zu", k);
        json_object_put(want);
    }
    /* the retries happened: Redis ran scripts sent as EVAL */
    r = it_redis(&e, "INFO commandstats");
    IT_EXPECT(r->type == REDIS_REPLY_STRING && strstr(r->str, "cmdstat_eval:calls=") != NULL,
              "no EVAL reached Redis after SCRIPT FLUSH");
    freeReplyObject(r);
    it_expect_no_more(&e, lists, 1, 300);
    it_expect_quiescent(&e);
    it_env_finish(&e);
    it_records_free(&recs);
}

static const struct rwt_case cases[] = {
    {"large_writes_and_reads", test_large_writes_and_reads},
    {"scripts_forgotten", test_scripts_forgotten},
};

RWT_MAIN(cases)
