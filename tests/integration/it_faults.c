/* Faults: the sim answers 500 and 429, repeats callbacks and sends bare items; every job still
 * ends in exactly one correct record. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define NJOBS 120

struct job {
    char uuid[37];
    int n;
    const char *output;
    bool default_list;
};

static void test_flaky_upstream(void)
{
    static const char *const outputs[] = {"URL", "base64Data", "dataURI"};
    struct it_env e;
    struct it_records recs = {0};
    struct job jobs[NJOBS];
    char *payloads[NJOBS];
    int images = 0;
    it_env_init(&e, "faults");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms",  "20",  "--jitter-ms", "30",  "--seed",         "23",
                         "--fail-500",  "0.2", "--fail-429",  "0.2", "--dup-callback", "0.2",
                         "--bare-item", "0.3", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "submit_retries = 10\nsubmit_batch = 4\n");

    for (int i = 0; i < NJOBS; i++) {
        struct job *j = &jobs[i];
        it_uuid(j->uuid);
        j->n = 1 + i % 4;
        j->output = outputs[i % 3];
        j->default_list = i % 5 != 0;
        images += j->n;
        payloads[i] = it_fmt("{\"task\":{\"positivePrompt\":\"faulty job %d\",\"numberResults\":%d,"
                             "\"outputType\":\"%s\",\"width\":768,\"height\":768,"
                             "\"taskUUID\":\"%s\"},\"meta\":{\"i\":%d}%s}",
                             i, j->n, j->output, j->uuid, i,
                             j->default_list ? "" : ",\"resultList\":\"faults:other\"");
    }
    int64_t t0 = it_now_ms();
    for (int at = 0; at < NJOBS; at += 10)
        it_push_many(&e, payloads + at, 10);
    const char *lists[] = {"faults:results", "faults:other"};
    size_t got = it_collect(&e, lists, 2, NJOBS, 120000 * it_slow(), &recs);
    double secs = (double)(it_now_ms() - t0) / 1000.0;
    printf("faults: %d jobs (%d images) -> %zu records in %.3f s\n", NJOBS, images, got, secs);
    IT_EXPECT(got == NJOBS, "expected %d records, got %zu", NJOBS, got);

    for (int i = 0; i < NJOBS; i++) {
        struct job *j = &jobs[i];
        char *what = it_fmt("job %d (task %s, numberResults %d, %s)", i, j->uuid, j->n, j->output);
        struct it_record *rec = NULL;
        int count = 0;
        for (size_t r = 0; r < recs.n; r++) {
            const char *u = it_jstr(recs.v[r].obj, "taskUUID");
            if (u && !strcmp(u, j->uuid)) {
                count++;
                if (!rec)
                    rec = &recs.v[r];
            }
        }
        IT_EXPECT(count == 1, "%s: %d records, expected exactly one", what, count);
        if (!rec) {
            free(what);
            continue;
        }
        char meta[32];
        snprintf(meta, sizeof(meta), "{\"i\":%d}", i);
        json_object *m = json_tokener_parse(meta);
        it_check_success(rec, what, j->uuid, j->default_list ? "faults:results" : "faults:other",
                         j->n, j->output, m);
        json_object_put(m);
        free(what);
    }
    for (size_t r = 0; r < recs.n; r++) {
        const char *u = it_jstr(recs.v[r].obj, "taskUUID");
        bool known = false;
        for (int i = 0; u && i < NJOBS && !known; i++)
            known = !strcmp(u, jobs[i].uuid);
        IT_EXPECT(known, "record for no job: %s", recs.v[r].raw);
    }
    it_expect_no_more(&e, lists, 2, 1500);
    it_expect_quiescent(&e);
    json_object *st = it_sim_stats(&e);
    printf("sim stats: %s\n", st ? json_object_to_json_string(st) : "(none)");
    json_object *by = it_jget(st, "requests_by_status");
    IT_EXPECT(it_jint(by, "500") > 0 && it_jint(by, "429") > 0,
              "the sim should have answered some submissions with 500 and 429: %s",
              st ? json_object_to_json_string(st) : "(none)");
    IT_EXPECT(it_stat(st, "callbacks_duplicated") > 0,
              "the sim should have repeated some callbacks (--dup-callback 0.2): %s",
              st ? json_object_to_json_string(st) : "(none)");
    json_object_put(st);
    it_env_finish(&e);
    it_records_free(&recs);
    for (int i = 0; i < NJOBS; i++)
        free(payloads[i]);
}

static const struct rwt_case cases[] = {
    {"flaky_upstream", test_flaky_upstream},
};

RWT_MAIN(cases)
