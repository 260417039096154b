/* The reliability promise under the faults the reliability issue names: every job pushed ends in
 * exactly one result record, and a task reaches Runware twice only when Runware itself could not
 * tell whether it had it. Each scenario prints one line: jobs, records, duplicate records and
 * tasks the simulator saw submitted more than once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define OTHER "chaos:other"

/* Records whose taskUUID an earlier record already had. */
static size_t duplicates(const struct it_records *recs)
{
    size_t dup = 0;

    for (size_t i = 0; i < recs->n; i++) {
        const char *u = it_jstr(recs->v[i].obj, "taskUUID");

        for (size_t j = 0; u && j < i; j++) {
            const char *w = it_jstr(recs->v[j].obj, "taskUUID");

            if (w && strcmp(u, w) == 0) {
                dup++;
                break;
            }
        }
    }
    return dup;
}

/* How many lines of the runwared logs of e (every run) contain needle. */
static int log_count(const struct it_env *e, const char *needle)
{
    int n = 0;

    for (int i = 0; i < e->rw_runs; i++) {
        char *path = it_fmt("%s/%s.stderr", e->dir, e->rw_names[i]);
        char *log = it_read_file(path, NULL);

        for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle))
            n++;
        free(log);
        free(path);
    }
    return n;
}

/* The scenario's line, and its verdict on duplicates and repeated submissions. */
static void report(struct it_env *e, const char *name, const struct it_batch *b,
                   struct it_records *recs, int64_t t0, bool twice_allowed)
{
    json_object *st = it_sim_stats(e);
    size_t dup = duplicates(recs);
    long long twice = it_stat(st, "tasks_resubmitted");

    printf("%s: jobs %d, records %zu, duplicates %zu, tasks submitted twice %lld; "
           "connections reset %lld, callbacks dropped %lld, duplicated %lld; tasks checked "
           "before sending again: %d known to Runware, %d not; in %.1f s\n",
           name, b->njobs, recs->n, dup, twice, it_stat(st, "connections_reset"),
           it_stat(st, "callbacks_dropped"), it_stat(st, "callbacks_duplicated"),
           log_count(e, "Runware has it; not sent again"), log_count(e, "Runware does not know it"),
           (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(dup == 0, "%s: %zu duplicate records", name, dup);
    IT_EXPECT(twice_allowed || twice == 0, "%s: %lld tasks reached the simulator twice", name,
              twice);
    json_object_put(st);
}

/* The mix: 10% HTTP 500, 5% 429, 25% dropped and 20% duplicated callbacks, half of them
 * bare items; and 5% of POSTs lost on the network (2% before Runware saw them, 3% after it took
 * the tasks), whose outcome runwared must settle with getResponse rather than by sending again. */
static void test_faulty_api(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    int64_t t0;

    it_env_init(&e, "chaos");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms",     "20",   "--jitter-ms", "40",   "--seed",          "47",
                         "--fail-500",     "0.1",  "--fail-429",  "0.05", "--drop-callback", "0.25",
                         "--dup-callback", "0.2",  "--bare-item", "0.5",  "--reset-before",  "0.02",
                         "--reset-after",  "0.03", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "submit_retries = 30\nsubmit_batch = 4\ncallback_timeout = 1\n"
                    "request_timeout_ms = 3000\n");
    it_batch_make(&e, &b, 200, 0, "faulty", OTHER, 512);
    t0 = it_now_ms();
    it_batch_push(&e, &b, 20);
    it_batch_collect_all(&e, &b, 45000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    report(&e, "faulty_api", &b, &recs, t0, false);
    it_batch_check_all(&e, &b, &recs);

    json_object *st = it_sim_stats(&e);
    json_object *by = it_jget(st, "requests_by_status");
    IT_EXPECT(it_jint(by, "500") > 0 && it_jint(by, "429") > 0 &&
                  it_stat(st, "connections_reset") > 0 && it_stat(st, "callbacks_dropped") > 0 &&
                  it_stat(st, "callbacks_duplicated") > 0,
              "every fault should have struck: %s", st ? json_object_to_json_string(st) : "-");
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* kill -9 at several moments: while jobs are being taken, with a quarter, half and most of the
 * records in; each time a new process on the same instance_id finishes the work. No task may
 * reach the simulator twice: what a killed process may have sent is checked first. */
static void test_kill_9_repeatedly(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    const double at[] = {0.0, 0.25, 0.5, 0.8};
    int64_t t0;

    it_env_init(&e, "kill9");
    it_redis_start(&e);
    /* answers take 100 ms: kills surely catch POSTs in flight, whose tasks the next start must
     * check (getResponse) rather than send again */
    const char *sim[] = {"--delay-ms",        "150", "--jitter-ms", "300", "--seed", "53",
                         "--answer-delay-ms", "100", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_timeout = 1\nsubmit_batch = 8\n");
    it_batch_make(&e, &b, 240, 0, "kill9", OTHER, 512);
    t0 = it_now_ms();
    it_batch_push(&e, &b, 40);
    for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
        size_t want = (size_t)(at[k] * b.njobs);

        if (want > recs.n)
            it_collect(&e, b.lists, 2, want - recs.n, 30000 * it_slow(), &recs);
        else
            it_sleep_ms(30); /* intake under way */
        it_rw_kill(&e);
        printf("kill_9: killed with %zu records in\n", recs.n);
        it_sleep_ms(200);
        it_rw_restart(&e);
    }
    it_batch_collect_all(&e, &b, 30000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    report(&e, "kill_9", &b, &recs, t0, false);
    it_batch_check_all(&e, &b, &recs);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* CLIENT KILL of every connection but ours, three times mid-run: runwared reconnects, takes up
 * what the lost answers left behind, and finishes. */
static void test_client_kill(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    int64_t t0;

    it_env_init(&e, "ckill");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "100", "--jitter-ms", "200", "--seed", "59", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_timeout = 1\nsubmit_batch = 8\n");
    it_batch_make(&e, &b, 200, 0, "ckill", OTHER, 512);
    t0 = it_now_ms();
    it_batch_push(&e, &b, 25);
    for (int k = 1; k <= 3; k++) {
        size_t want = (size_t)b.njobs * k / 4;
        redisReply *r;

        if (want > recs.n)
            it_collect(&e, b.lists, 2, want - recs.n, 30000 * it_slow(), &recs);
        r = it_redis(&e, "CLIENT KILL TYPE normal SKIPME yes");
        printf("client_kill: %lld connections killed with %zu records in\n",
               r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1, recs.n);
        IT_EXPECT(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 2,
                  "CLIENT KILL should have closed runwared's two connections");
        freeReplyObject(r);
    }
    it_batch_collect_all(&e, &b, 30000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    report(&e, "client_kill", &b, &recs, t0, false);
    it_batch_check_all(&e, &b, &recs);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* Two instances share the work; one is killed for good with a quarter of the records in. The
 * survivor adopts its jobs and tasks (adopt_after) and polls the tasks whose callbacks went to
 * the dead one's listener. */
static void test_survivor_finishes(void)
{
    struct it_env a, peer;
    struct it_records recs = {0};
    struct it_batch b;
    int64_t t0;

    it_env_init(&a, "survive");
    a.secret_in_file = true;
    it_redis_start(&a);
    /* 429s keep tasks registered and unsent for a while: the dead one leaves some behind */
    const char *sim[] = {"--delay-ms", "200",        "--jitter-ms", "300", "--seed",
                         "61",         "--fail-429", "0.3",         NULL};
    it_sim_start(&a, sim);
    it_env_peer(&peer, &a, "b");
    it_rw_start(&a, "callback_timeout = 1\nadopt_after = 10\nsubmit_batch = 4\nmax_pending = 40\n"
                    "submit_retries = 30\n");
    it_rw_start(&peer, "callback_timeout = 1\nadopt_after = 10\nsubmit_batch = 4\n"
                       "max_pending = 40\nsubmit_retries = 30\n");
    it_batch_make(&a, &b, 240, 0, "survive", OTHER, 512);
    t0 = it_now_ms();
    it_batch_push(&a, &b, 40);
    it_collect(&a, b.lists, 2, (size_t)b.njobs / 4, 30000 * it_slow(), &recs);
    it_rw_kill(&peer);
    printf("survivor: the peer was killed with %zu records in\n", recs.n);
    it_batch_collect_all(&a, &b, 40000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    report(&a, "survivor", &b, &recs, t0, false);
    it_batch_check_all(&a, &b, &recs);
    {
        char key[128];
        redisReply *r;

        it_key(&a, key, sizeof(key), "processing:");
        strncat(key, peer.instance, sizeof(key) - strlen(key) - 1);
        r = it_redis(&a, "EXISTS %s", key);
        IT_EXPECT(r->integer == 0, "the dead instance's processing list should be gone");
        freeReplyObject(r);
    }
    {
        char *log = it_read_file(a.rw.err_path, NULL);

        IT_EXPECT(log && strstr(log, "adopted the leftovers of instances silent"),
                  "the survivor should have adopted the dead instance's leftovers");
        free(log);
    }
    it_env_finish(&a);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* SIGTERM under load: exit 0 within shutdown_timeout (runwared stops taking jobs and settles only
 * the requests in flight); a restart finishes everything. The sim takes 400 ms to answer a POST,
 * so requests are in flight at the stop, and loses 3% of its answers. */
static void test_sigterm_under_load(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    int64_t t0, stop0, took;

    it_env_init(&e, "term");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms",    "100",  "--jitter-ms",       "300", "--seed", "67",
                         "--reset-after", "0.03", "--answer-delay-ms", "400", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_timeout = 1\nsubmit_batch = 2\nmax_requests = 2\n"
                    "shutdown_timeout = 3\nrequest_timeout_ms = 2000\n");
    it_batch_make(&e, &b, 120, 0, "term", OTHER, 512);
    t0 = it_now_ms();
    it_batch_push(&e, &b, 50);
    it_collect(&e, b.lists, 2, (size_t)b.njobs / 3, 30000 * it_slow(), &recs);
    stop0 = it_now_ms();
    it_rw_stop(&e); /* SIGTERM; fails the case unless it exits 0 */
    took = it_now_ms() - stop0;
    printf("sigterm: stopped in %lld ms with %zu records in (shutdown_timeout 3 s)\n",
           (long long)took, recs.n);
    IT_EXPECT(took <= 3000 + 1500 * it_slow(), "runwared took %lld ms to stop", (long long)took);
    it_rw_restart(&e);
    it_batch_collect_all(&e, &b, 30000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    report(&e, "sigterm", &b, &recs, t0, false);
    it_batch_check_all(&e, &b, &recs);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

static void set_fault(struct it_env *e, const char *json)
{
    char *url = it_fmt("%s/_sim/faults", e->sim_url);

    IT_EXPECT(it_http("POST", url, json, strlen(json), NULL, 5000) == 200, "setting %s", json);
    free(url);
}

static void write_path(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        IT_EXPECT(false, "cannot write %s", path);
}

static void reload(struct it_env *e)
{
    kill(e->rw.pid, SIGHUP);
    it_sleep_ms(300);
}

static long long records_now(struct it_env *e, const struct it_batch *b)
{
    return it_llen(e, b->lists[0]) + it_llen(e, b->lists[1]);
}

/* A refused key (401) and an empty balance (402) stop intake without writing a single record:
 * jobs wait, none fails. SIGHUP with a good key (or after a top-up) resumes; a configuration
 * with an error changes nothing. */
static void test_account_pauses(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b1, b2, b3;
    char keyfile[PATH_MAX], *good;
    const char *wrong = "itkey-wrong-0123456789";

    it_env_init(&e, "pause");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "20", "--seed", "71", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "submit_batch = 4\nmax_pending = 8\n");

    /* 401: the key file now holds a key the sim refuses */
    it_write_file(&e, "api.key", wrong, keyfile);
    reload(&e);
    it_batch_make(&e, &b1, 30, 0, "p401", OTHER, 512);
    it_batch_push(&e, &b1, 0);
    it_sleep_ms(2000);
    IT_EXPECT(records_now(&e, &b1) == 0, "no job may fail while the key is refused");
    {
        char *url = it_fmt("%s/readyz", e.admin_url), *body = NULL;
        long st = it_http("GET", url, NULL, 0, &body, 5000);

        IT_EXPECT(st == 503 && body && strstr(body, "refuses the API key"),
                  "/readyz should say 503 with the reason while the key is refused: %ld %s", st,
                  body ? body : "");
        free(body);
        free(url);
    }
    IT_EXPECT(it_llen(&e, "pause:jobs") >= 30 - 8 - 4,
              "intake should stop at the first 401 (jobs left: %lld)", it_llen(&e, "pause:jobs"));
    /* a configuration with an error is refused as a whole */
    {
        char *conf = it_read_file(e.conf_path, NULL), *bad = it_fmt("%sno_such_key = 1\n", conf);

        write_path(e.conf_path, bad);
        reload(&e);
        good = it_fmt("%s\n", e.api_key);
        it_write_file(&e, "api.key", good, NULL);
        it_sleep_ms(500);
        IT_EXPECT(records_now(&e, &b1) == 0, "a bad configuration must change nothing");
        write_path(e.conf_path, conf);
        free(conf);
        free(bad);
    }
    reload(&e);
    it_collect(&e, b1.lists, 2, (size_t)b1.njobs, 20000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b1.njobs, "after the new key: expected %d records, got %zu",
              b1.njobs, recs.n);
    it_batch_check(&e, &b1, &recs, true);
    it_records_free(&recs);

    /* 402: nothing fails; a reload after the top-up resumes at once */
    set_fault(&e, "{\"fail_402\":1}");
    it_batch_make(&e, &b2, 20, 100, "p402", OTHER, 512);
    it_batch_push(&e, &b2, 0);
    it_sleep_ms(2000);
    IT_EXPECT(records_now(&e, &b2) == 0, "no job may fail while the balance is empty");
    set_fault(&e, "{\"fail_402\":0}");
    reload(&e);
    it_collect(&e, b2.lists, 2, (size_t)b2.njobs, 20000 * it_slow(), &recs);
    IT_EXPECT(recs.n == (size_t)b2.njobs, "after the top-up: expected %d records, got %zu",
              b2.njobs, recs.n);
    it_batch_check(&e, &b2, &recs, true);
    it_records_free(&recs);

    /* and work goes on as usual */
    it_batch_make(&e, &b3, 10, 200, "after", OTHER, 512);
    it_batch_push(&e, &b3, 0);
    it_collect(&e, b3.lists, 2, (size_t)b3.njobs, 20000 * it_slow(), &recs);
    it_batch_check(&e, &b3, &recs, true);
    it_expect_no_more(&e, b3.lists, 2, 500);
    it_expect_quiescent(&e);
    it_expect_log_clean(&e, "refused API key", wrong);
    {
        char *log = it_read_file(e.rw.err_path, NULL);

        IT_EXPECT(log && strstr(log, "refuses the API key (HTTP 401"),
                  "the refused key should be logged loudly");
        IT_EXPECT(log && strstr(log, "(HTTP 402"), "the empty balance should be logged");
        IT_EXPECT(log && strstr(log, "unknown key \"no_such_key\""),
                  "the bad reload should name its error");
        free(log);
    }
    free(good);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b1);
    it_batch_free(&b2);
    it_batch_free(&b3);
}

/* 402 without a reload: runwared probes again by itself (first after about 30 s) and resumes
 * once the balance is back. */
static void test_credit_probe(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    int64_t t0;

    it_env_init(&e, "probe");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20",         "--jitter-ms", "20", "--seed",
                         "79",         "--fail-402", "1",           NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "submit_batch = 4\n");
    it_batch_make(&e, &b, 12, 0, "probe", OTHER, 512);
    it_batch_push(&e, &b, 0);
    it_sleep_ms(2000);
    IT_EXPECT(records_now(&e, &b) == 0, "no job may fail while the balance is empty");
    set_fault(&e, "{\"fail_402\":0}");
    t0 = it_now_ms();
    it_collect(&e, b.lists, 2, (size_t)b.njobs, 60000 * it_slow(), &recs);
    printf("credit_probe: %zu of %d records %.1f s after the top-up, without a reload\n", recs.n,
           b.njobs, (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(recs.n == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, recs.n);
    it_batch_check_all(&e, &b, &recs);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* max_inflight bounds the tasks registered and not completed. */
static void test_inflight_bound(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    char pending[64];
    long long most = 0;

    it_env_init(&e, "bound");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "300", "--jitter-ms", "200", "--seed", "73", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "max_inflight = 6\nsubmit_batch = 4\n");
    it_key(&e, pending, sizeof(pending), "pending");
    it_batch_make(&e, &b, 40, 0, "bound", OTHER, 512);
    it_batch_push(&e, &b, 0);
    for (int64_t end = it_now_ms() + 60000 * it_slow();
         recs.n < (size_t)b.njobs && it_now_ms() < end;) {
        redisReply *r = it_redis(&e, "ZCARD %s", pending);

        if (r->integer > most)
            most = r->integer;
        freeReplyObject(r);
        it_collect(&e, b.lists, 2, (size_t)b.njobs - recs.n, 20, &recs);
    }
    printf("inflight_bound: at most %lld tasks in flight (max_inflight 6), %zu records\n", most,
           recs.n);
    IT_EXPECT(most <= 6 && most >= 4, "tasks in flight peaked at %lld, bound 6", most);
    it_batch_check(&e, &b, &recs, true);
    it_expect_quiescent(&e);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

static const struct rwt_case cases[] = {
    {"faulty_api", test_faulty_api},
    {"kill_9_repeatedly", test_kill_9_repeatedly},
    {"client_kill", test_client_kill},
    {"survivor_finishes", test_survivor_finishes},
    {"sigterm_under_load", test_sigterm_under_load},
    {"account_pauses", test_account_pauses},
    {"credit_probe", test_credit_probe},
    {"inflight_bound", test_inflight_bound},
};

RWT_MAIN(cases)
