/* Adoption: the leftovers of an instance that stopped sending heartbeats (jobs in its processing
 * list, registered tasks in its submitting set) are taken up by a live instance and end in
 * exactly one record each; a live instance's leftovers are left alone. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include "rw_record.h"
#include "rw_token.h"

#define NJOBS 3

/* The body runwared would have registered for task uuid: the task with its delivery fields. */
static char *ghost_body(struct it_env *e, const char *uuid)
{
    char token[RW_TOKEN_LEN + 1];

    if (rw_token_make(e->secret, e->secret_len, uuid, token) != 0)
        it_die(e, "rw_token_make failed");
    return it_fmt("{\"positivePrompt\":\"a task a dead instance registered\",\"numberResults\":2,"
                  "\"outputType\":\"dataURI\",\"taskType\":\"imageInference\",\"model\":"
                  "\"runware:111@1\",\"taskUUID\":\"%s\",\"deliveryMethod\":\"async\","
                  "\"webhookURL\":\"%s/callback/%s?token=%s\"}",
                  uuid, e->rw_url, uuid, token);
}

static void test_adopt_silent_instance(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char jobs[NJOBS][37], task[37], key[128], key2[128], results[64];
    char *payloads[NJOBS], *body, *head, *alive_job;
    json_object *meta = json_tokener_parse("{\"from\":\"ghost\"}");
    const char *lists[1] = {results};

    it_env_init(&e, "adopt");
    e.secret_in_file = true;
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "20", "--seed", "3", NULL};
    it_sim_start(&e, sim);
    /* The first heartbeat (and adoption) comes HEARTBEAT_S = 5 s after start: the ghost's
     * state below is in place long before. */
    it_rw_start(&e, "adopt_after = 10\n");
    snprintf(results, sizeof(results), "%s:results", e.prefix);

    /* "ghost": last heartbeat at the epoch; three jobs taken, one task registered. */
    it_key(&e, key, sizeof(key), "instances");
    freeReplyObject(it_redis(&e, "ZADD %s 1 ghost", key));
    it_key(&e, key, sizeof(key), "processing:ghost");
    for (int i = 0; i < NJOBS; i++) {
        it_uuid(jobs[i]);
        payloads[i] = it_fmt("{\"task\":{\"positivePrompt\":\"left behind %d\",\"numberResults\":"
                             "%d,\"taskUUID\":\"%s\"},\"meta\":{\"i\":%d}}",
                             i, i + 1, jobs[i], i);
        freeReplyObject(it_redis(&e, "LPUSH %s %s", key, payloads[i]));
    }
    it_uuid(task);
    body = ghost_body(&e, task);
    head = rw_record_head(task, meta, it_now_ms());
    it_key(&e, key, sizeof(key), "task:");
    strncat(key, task, sizeof(key) - strlen(key) - 1);
    freeReplyObject(it_redis(&e,
                             "HSET %s state queued list %s n 2 head %s takenAt %lld owner ghost "
                             "body %s",
                             key, results, head, (long long)it_now_ms(), body));
    it_key(&e, key, sizeof(key), "pending");
    freeReplyObject(it_redis(&e, "ZADD %s %lld %s", key, (long long)it_now_ms(), task));
    it_key(&e, key, sizeof(key), "submitting:ghost");
    freeReplyObject(it_redis(&e, "SADD %s %s", key, task));

    /* "alive": its heartbeat (on Redis's clock, as runwared writes them) is ten minutes in the
     * future, so its job must stay where it is. */
    redisReply *t = it_redis(&e, "TIME");
    long long redis_ms = atoll(t->element[0]->str) * 1000 + atoll(t->element[1]->str) / 1000;
    freeReplyObject(t);
    it_key(&e, key, sizeof(key), "instances");
    freeReplyObject(it_redis(&e, "ZADD %s %lld alive", key, redis_ms + 600000));
    it_key(&e, key2, sizeof(key2), "processing:alive");
    alive_job = it_fmt("{\"positivePrompt\":\"still held by a live instance\"}");
    freeReplyObject(it_redis(&e, "LPUSH %s %s", key2, alive_job));

    size_t got = it_collect(&e, lists, 1, NJOBS + 1, 30000 * it_slow(), &recs);
    IT_EXPECT(got == NJOBS + 1, "expected %d records (3 adopted jobs, 1 adopted task), got %zu",
              NJOBS + 1, got);
    for (int i = 0; i < NJOBS; i++) {
        char m[32], *what = it_fmt("adopted job %d (task %s)", i, jobs[i]);
        struct it_record *rec = it_records_find(&recs, jobs[i]);
        json_object *want;

        snprintf(m, sizeof(m), "{\"i\":%d}", i);
        want = json_tokener_parse(m);
        IT_EXPECT(rec != NULL, "%s: no record", what);
        if (rec)
            it_check_success(rec, what, jobs[i], results, i + 1, "URL", want);
        json_object_put(want);
        free(what);
    }
    struct it_record *rec = it_records_find(&recs, task);
    IT_EXPECT(rec != NULL, "adopted task %s: no record", task);
    if (rec)
        it_check_success(rec, "adopted task", task, results, 2, "dataURI", meta);
    it_expect_no_more(&e, lists, 1, 1000);

    /* The ghost is gone; the live instance and its job are untouched. */
    it_key(&e, key, sizeof(key), "processing:ghost");
    IT_EXPECT(it_llen(&e, key) == 0, "%s still holds %lld jobs", key, it_llen(&e, key));
    it_key(&e, key, sizeof(key), "submitting:ghost");
    redisReply *r = it_redis(&e, "SCARD %s", key);
    IT_EXPECT(r->integer == 0, "%s still holds %lld tasks", key, r->integer);
    freeReplyObject(r);
    it_key(&e, key, sizeof(key), "instances");
    r = it_redis(&e, "ZSCORE %s ghost", key);
    IT_EXPECT(r->type == REDIS_REPLY_NIL, "ghost is still listed in %s", key);
    freeReplyObject(r);
    r = it_redis(&e, "ZSCORE %s %s", key, e.instance);
    IT_EXPECT(r->type == REDIS_REPLY_STRING, "runwared (%s) has no heartbeat in %s", e.instance,
              key);
    freeReplyObject(r);
    IT_EXPECT(it_llen(&e, key2) == 1, "%s holds %lld jobs, expected its 1 untouched", key2,
              it_llen(&e, key2));
    it_expect_quiescent(&e);

    for (int i = 0; i < NJOBS; i++)
        free(payloads[i]);
    free(body);
    free(head);
    free(alive_job);
    json_object_put(meta);
    it_records_free(&recs);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"adopt_silent_instance", test_adopt_silent_instance},
};

RWT_MAIN(cases)
