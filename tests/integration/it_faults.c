/* Faults: a flaky upstream, lost callbacks, runwared crashing or restarting mid-flight; every job
 * still ends in exactly one correct record. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define OTHER "faults:other"

static json_object *print_stats(struct it_env *e, const char *name)
{
    json_object *st = it_sim_stats(e);
    printf("%s: sim stats: %s\n", name, st ? json_object_to_json_string(st) : "(none)");
    return st;
}

/* Submissions answered 500 or 429, callbacks repeated or sent as bare items. */
static void test_flaky_upstream(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    it_env_init(&e, "faults");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20",          "--jitter-ms", "30",         "--seed",
                         "23",         "--fail-500",  "0.2",         "--fail-429", "0.15",
                         "--fail-503", "0.05",        "--fail-504",  "0.05",       "--dup-callback",
                         "0.2",        "--bare-item", "0.3",         NULL};
    it_sim_start(&e, sim);
    /* small batches: many requests, so both faults surely occur; retries enough never to give up */
    it_rw_start(&e, "submit_retries = 20\nsubmit_batch = 4\n");
    it_batch_make(&e, &b, 120, 0, "flaky", OTHER, 768);

    int64_t t0 = it_now_ms();
    it_batch_push(&e, &b, 10);
    size_t got = it_batch_collect_all(&e, &b, 45000 * it_slow(), &recs);
    printf("flaky_upstream: %d jobs (%d images) -> %zu records in %.3f s\n", b.njobs, b.images, got,
           (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(got == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, got);
    it_batch_check_all(&e, &b, &recs);

    json_object *st = print_stats(&e, "flaky_upstream");
    json_object *by = it_jget(st, "requests_by_status");
    IT_EXPECT(it_jint(by, "500") > 0 && it_jint(by, "429") > 0,
              "the sim should have answered some submissions with 500 and 429: %s",
              st ? json_object_to_json_string(st) : "(none)");
    IT_EXPECT(it_stat(st, "callbacks_duplicated") > 0,
              "the sim should have repeated some callbacks (--dup-callback 0.2)");
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* 30% of callbacks never come: getResponse polling (callback_timeout 1 s) fills the gaps. */
static void test_dropped_callbacks(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    it_env_init(&e, "drops");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms",      "20",  "--jitter-ms", "30", "--seed", "29",
                         "--drop-callback", "0.3", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_timeout = 1\n");
    it_batch_make(&e, &b, 40, 0, "dropped", OTHER, 768);

    int64_t t0 = it_now_ms();
    it_batch_push(&e, &b, 10);
    size_t got = it_collect(&e, b.lists, 2, (size_t)b.njobs, 60000 * it_slow(), &recs);
    printf("dropped_callbacks: %d jobs (%d images) -> %zu records in %.3f s\n", b.njobs, b.images,
           got, (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(got == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, got);
    it_batch_check_all(&e, &b, &recs);
    json_object *st = print_stats(&e, "dropped_callbacks");
    IT_EXPECT(it_stat(st, "callbacks_dropped") > 0,
              "the sim should have dropped some callbacks (--drop-callback 0.3)");
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* runwared stops (SIGKILL when crash, else SIGTERM) once a quarter of the records are in, and a
 * new process with the same config and instance_id finishes the work. */
static void restart_mid_flight(bool crash)
{
    const char *name = crash ? "crash_restart" : "graceful_restart";
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    it_env_init(&e, crash ? "crash" : "graceful");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "300", "--jitter-ms", "600", "--seed", "31", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_timeout = 1\nsubmit_batch = 5\n");
    it_batch_make(&e, &b, 60, 0, name, OTHER, 768);

    int64_t t0 = it_now_ms();
    it_batch_push(&e, &b, 10);
    size_t got = it_collect(&e, b.lists, 2, (size_t)b.njobs / 4, 30000 * it_slow(), &recs);
    IT_EXPECT(got == (size_t)b.njobs / 4, "%s: expected %d records before the stop, got %zu", name,
              b.njobs / 4, got);
    if (crash) {
        it_rw_kill(&e);
    } else {
        it_rw_stop(&e);
    }
    printf("%s: runwared %s after %zu records\n", name, crash ? "killed" : "stopped", got);
    it_sleep_ms(300);
    it_rw_restart(&e);
    got += it_collect(&e, b.lists, 2, (size_t)b.njobs - got, 60000 * it_slow(), &recs);
    printf("%s: %d jobs (%d images) -> %zu records in %.3f s\n", name, b.njobs, b.images, got,
           (double)(it_now_ms() - t0) / 1000.0);
    IT_EXPECT(got == (size_t)b.njobs, "%s: expected %d records, got %zu", name, b.njobs, got);
    it_batch_check_all(&e, &b, &recs);
    json_object *st = print_stats(&e, name);
    IT_EXPECT(it_stat(st, "callback_failed_attempts") > 0,
              "%s: no callback failed while runwared was down, so the restart recovered nothing; "
              "the test needs a longer sim delay",
              name);
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

/* Runware's documentation promises no order for an answer's acknowledgements: with every answer's
 * data reversed, each task is still matched to its own, none is left to a getResponse check. */
static void test_reordered_acks(void)
{
    struct it_env e;
    struct it_records recs = {0};
    struct it_batch b;
    it_env_init(&e, "faults");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "5", "--jitter-ms", "5", "--reorder-acks", "1", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "submit_batch = 16\n");
    it_batch_make(&e, &b, 96, 0, "reordered", OTHER, 256);
    it_batch_push(&e, &b, 96); /* all at once: full batches of 16 */
    size_t got = it_batch_collect_all(&e, &b, 30000 * it_slow(), &recs);
    IT_EXPECT(got == (size_t)b.njobs, "expected %d records, got %zu", b.njobs, got);
    it_batch_check_all(&e, &b, &recs);
    long long posts = it_metric(&e, "runwared_submit_requests_total"),
              acked = it_metric(&e, "runwared_tasks_acknowledged_total"),
              checks = it_metric(&e, "runwared_submit_checks_total");
    printf("reordered_acks: %lld POSTs, %lld acknowledged, %lld checks\n", posts, acked, checks);
    IT_EXPECT(posts > 0 && posts < b.njobs, "expected batched POSTs, got %lld for %d jobs", posts,
              b.njobs);
    IT_EXPECT(acked == b.njobs, "expected %d tasks acknowledged, got %lld", b.njobs, acked);
    IT_EXPECT(checks == 0, "expected no getResponse check, got %lld", checks);
    it_env_finish(&e);
    it_records_free(&recs);
    it_batch_free(&b);
}

static void test_crash_restart(void)
{
    restart_mid_flight(true);
}

static void test_graceful_restart(void)
{
    restart_mid_flight(false);
}

static const struct rwt_case cases[] = {
    {"flaky_upstream", test_flaky_upstream},     {"dropped_callbacks", test_dropped_callbacks},
    {"reordered_acks", test_reordered_acks},     {"crash_restart", test_crash_restart},
    {"graceful_restart", test_graceful_restart},
};

RWT_MAIN(cases)
