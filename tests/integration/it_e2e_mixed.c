/* End to end: a few hundred mixed jobs through runwared and the sim, one correct record each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define NJOBS     240
#define CUSTOM_A  "e2e:custom:a"
#define CUSTOM_B  "e2e:custom:b"
#define DEFAULT_L "runware:results"

struct job {
    char *payload;
    char uuid[37];           /* the producer's taskUUID, "" when runwared picks one */
    const char *list;        /* where its record must arrive */
    int n;                   /* numberResults */
    const char *output_type; /* NULL: not set (URL) */
    json_object *meta;       /* expected meta (owned), NULL: null */
    bool envelope;
    struct it_record *rec; /* the record matched to it */
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

/* Meta of every JSON type, most of them unique to the job. */
static json_object *make_meta(int i, bool *present)
{
    json_object *m = NULL;
    *present = true;
    switch (i % 9) {
    case 0:
        return json_object_new_int64(i);
    case 1: {
        char *s = it_fmt("job \"%d\" \\ naïve café ✓ 日本語 🎨 tab\there </script> \u00e9", i);
        m = json_object_new_string(s);
        free(s);
        return m;
    }
    case 2: {
        char buf[512];
        snprintf(buf, sizeof(buf),
                 "{\"job\":%d,\"tags\":[\"a\",\"b\"],\"deep\":{\"x\":{\"y\":[1,2,{\"z\":null}]}},"
                 "\"ok\":true,\"ratio\":0.25,\"big\":9007199254740993,\"neg\":-42,"
                 "\"quote\":\"\\\"q\\\" \\u2603\",\"empty\":{},\"none\":[]}",
                 i);
        return json_tokener_parse(buf);
    }
    case 3: {
        char buf[128];
        snprintf(buf, sizeof(buf), "[%d,\"two\",3.5,false,null,{\"k\":\"v\"}]", i);
        return json_tokener_parse(buf);
    }
    case 4:
        return json_object_new_boolean(i % 2);
    case 5:
        return NULL; /* explicit "meta": null */
    case 6:
        return json_object_new_double(i + 0.5);
    case 7:
        return json_object_new_string("");
    default:
        *present = false;
        return NULL;
    }
}

static void make_job(struct job *j, int i)
{
    static const char *const types[] = {NULL, "URL", "base64Data", "dataURI"};
    json_object *task = json_object_new_object();
    char *prompt = it_fmt("e2e job %d: a lighthouse at dusk, «%s», 35mm", i,
                          i % 3 ? "oil painting" : "фотография");
    json_object_object_add(task, "positivePrompt", json_object_new_string(prompt));
    free(prompt);
    int w = 512 + 64 * (int)rnd(9), h = 512 + 64 * (int)rnd(9);
    json_object_object_add(task, "width", json_object_new_int(w));
    json_object_object_add(task, "height", json_object_new_int(h));
    j->n = 1 + (int)rnd(4);
    if (j->n > 1 || rnd(2))
        json_object_object_add(task, "numberResults", json_object_new_int(j->n));
    j->output_type = types[rnd(4)];
    if (j->output_type)
        json_object_object_add(task, "outputType", json_object_new_string(j->output_type));
    if (rnd(3) == 0)
        json_object_object_add(task, "outputFormat", json_object_new_string("PNG"));
    if (rnd(2))
        json_object_object_add(task, "steps", json_object_new_int(20 + (int)rnd(9)));
    if (rnd(3) == 0)
        json_object_object_add(task, "seed", json_object_new_int64(1000 + i));
    if (rnd(4) == 0) {
        it_uuid(j->uuid);
        json_object_object_add(task, "taskUUID", json_object_new_string(j->uuid));
    }

    json_object *top = task;
    j->list = DEFAULT_L;
    j->envelope = rnd(5) < 3;
    if (j->envelope) {
        top = json_object_new_object();
        json_object_object_add(top, "task", task);
        bool present;
        j->meta = make_meta(i, &present);
        if (present)
            json_object_object_add(top, "meta", json_object_get(j->meta));
        unsigned r = rnd(10);
        if (r < 2)
            j->list = CUSTOM_A;
        else if (r < 4)
            j->list = CUSTOM_B;
        if (r < 4 || r == 9)
            json_object_object_add(top, "resultList", json_object_new_string(j->list));
    }
    int flags = i % 10 == 0 ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN;
    j->payload = strdup(json_object_to_json_string_ext(top, flags));
    json_object_put(top);
}

static const char *job_desc(const struct job *j, int i, char *buf, size_t len)
{
    snprintf(buf, len, "job #%d (%s, numberResults %d, outputType %s, %s, list %s)", i,
             j->envelope ? "envelope" : "bare", j->n, j->output_type ? j->output_type : "unset",
             j->uuid[0] ? "producer taskUUID" : "runwared's taskUUID", j->list);
    return buf;
}

/* Field of the first item: which output a record answers with. */
static const char *first_output(json_object *rec)
{
    json_object *data = it_jget(rec, "data");
    json_object *item = data && json_object_is_type(data, json_type_array)
                            ? json_object_array_get_idx(data, 0)
                            : NULL;
    if (it_jget(item, "imageBase64Data"))
        return "imageBase64Data";
    if (it_jget(item, "imageDataURI"))
        return "imageDataURI";
    return "imageURL";
}

/* The job a record answers: by the producer's taskUUID, else the first unmatched job without one
 * whose record would be indistinguishable (list, count, output, meta). */
static int match(struct job *jobs, struct it_record *rec)
{
    const char *uuid = it_jstr(rec->obj, "taskUUID");
    json_object *data = it_jget(rec->obj, "data");
    for (int i = 0; i < NJOBS; i++)
        if (jobs[i].uuid[0] && uuid && !strcmp(jobs[i].uuid, uuid))
            return i;
    if (!data || !json_object_is_type(data, json_type_array))
        return -1;
    int n = (int)json_object_array_length(data);
    for (int i = 0; i < NJOBS; i++) {
        struct job *j = &jobs[i];
        if (j->rec || j->uuid[0] || j->n != n || strcmp(j->list, rec->list) ||
            strcmp(it_output_field(j->output_type), first_output(rec->obj)) ||
            !it_json_equal(j->meta, it_jget(rec->obj, "meta")))
            continue;
        return i;
    }
    return -1;
}

/* The record's imageUUIDs are exactly those the sim delivered for its task, which it saw once. */
static void check_against_sim(struct it_env *e, struct it_record *rec)
{
    const char *uuid = it_jstr(rec->obj, "taskUUID");
    json_object *data = it_jget(rec->obj, "data");
    if (!uuid || !data || !json_object_is_type(data, json_type_array))
        return;
    json_object *t = it_sim_task(e, uuid);
    IT_EXPECT(t, "task %s: the sim does not know it (GET /_sim/task)", uuid);
    if (!t)
        return;
    json_object *dl = it_jget(t, "deliveries");
    size_t nimg = 0, nd = json_object_array_length(data);
    IT_EXPECT(it_jint(t, "submissions") == 1, "task %s: submitted %lld times, expected once", uuid,
              it_jint(t, "submissions"));
    for (size_t i = 0; dl && i < json_object_array_length(dl); i++) {
        json_object *d = json_object_array_get_idx(dl, i);
        const char *kind = it_jstr(d, "kind"), *iu = it_jstr(d, "imageUUID");
        if (!kind || strcmp(kind, "image") || !iu)
            continue;
        nimg++;
        bool found = false;
        for (size_t k = 0; k < nd && !found; k++)
            found = !strcmp(it_jstr(json_object_array_get_idx(data, k), "imageUUID") ?: "", iu);
        IT_EXPECT(found, "task %s: the sim delivered image %s, missing from the record %s", uuid,
                  iu, rec->raw);
    }
    IT_EXPECT(nimg == nd, "task %s: the sim delivered %zu images, the record holds %zu", uuid, nimg,
              nd);
    json_object_put(t);
}

static void test_mixed(void)
{
    struct it_env e;
    struct job *jobs = calloc(NJOBS, sizeof(*jobs));
    char **payloads = calloc(NJOBS, sizeof(char *));
    struct it_records recs = {0};
    if (!jobs || !payloads)
        it_die(NULL, "out of memory");
    int images = 0;
    for (int i = 0; i < NJOBS; i++) {
        make_job(&jobs[i], i);
        payloads[i] = jobs[i].payload;
        images += jobs[i].n;
    }

    it_env_init(&e, "runware");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "20", "--jitter-ms", "20", "--seed", "7", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    const char *lists[] = {DEFAULT_L, CUSTOM_A, CUSTOM_B};
    int64_t t0 = it_now_ms();
    /* in bursts of different sizes, as producers would */
    for (size_t at = 0, k = 1; at < NJOBS; k = k * 3 % 67 + 1) {
        size_t n = at + k > NJOBS ? NJOBS - at : k;
        it_push_many(&e, payloads + at, n);
        at += n;
    }
    size_t got = it_collect(&e, lists, 3, NJOBS, 90000 * it_slow(), &recs);
    int64_t t1 = it_now_ms();
    double secs = (double)(t1 - t0) / 1000.0;
    printf("e2e_mixed: %d jobs (%d images) -> %zu records in %.3f s = %.1f records/s, "
           "%.1f images/s (sim delay 20 ms + jitter 20 ms)\n",
           NJOBS, images, got, secs, secs > 0 ? got / secs : 0.0, secs > 0 ? images / secs : 0.0);
    IT_EXPECT(got == NJOBS, "expected %d records within the deadline, got %zu", NJOBS, got);

    for (size_t r = 0; r < recs.n; r++) {
        struct it_record *rec = &recs.v[r];
        char what[256];
        if (!it_check_record_shape(rec, "record"))
            continue;
        int i = match(jobs, rec);
        if (i < 0) {
            IT_EXPECT(false, "record on %s answers no job (or a wrong list/count/output/meta): %s",
                      rec->list, rec->raw);
            continue;
        }
        job_desc(&jobs[i], i, what, sizeof(what));
        if (jobs[i].rec) {
            IT_EXPECT(false, "%s: second record: %s (first: %s)", what, rec->raw, jobs[i].rec->raw);
            continue;
        }
        jobs[i].rec = rec;
        it_check_success(rec, what, jobs[i].uuid[0] ? jobs[i].uuid : NULL, jobs[i].list, jobs[i].n,
                         jobs[i].output_type, jobs[i].meta);
    }
    for (int i = 0; i < NJOBS; i++) {
        char what[256];
        IT_EXPECT(jobs[i].rec, "%s got no record; payload: %s",
                  job_desc(&jobs[i], i, what, sizeof(what)), jobs[i].payload);
    }
    /* taskUUIDs and imageUUIDs are unique across the whole run */
    for (size_t a = 0; a < recs.n; a++) {
        const char *ua = it_jstr(recs.v[a].obj, "taskUUID");
        for (size_t b = a + 1; ua && b < recs.n; b++) {
            const char *ub = it_jstr(recs.v[b].obj, "taskUUID");
            IT_EXPECT(!ub || strcmp(ua, ub), "two records share taskUUID %s", ua);
        }
    }
    json_object *all = json_object_new_object();
    for (size_t a = 0; a < recs.n; a++) {
        json_object *data = it_jget(recs.v[a].obj, "data");
        size_t nd =
            data && json_object_is_type(data, json_type_array) ? json_object_array_length(data) : 0;
        for (size_t k = 0; k < nd; k++) {
            const char *iu = it_jstr(json_object_array_get_idx(data, k), "imageUUID");
            if (!iu)
                continue;
            IT_EXPECT(!json_object_object_get_ex(all, iu, NULL),
                      "imageUUID %s appears in two records (task %s)", iu,
                      it_jstr(recs.v[a].obj, "taskUUID"));
            json_object_object_add(all, iu, NULL);
        }
    }
    json_object_put(all);

    /* the images are the very ones the sim generated for that task, submitted once */
    for (size_t a = 0; a < recs.n; a++)
        check_against_sim(&e, &recs.v[a]);

    it_expect_no_more(&e, lists, 3, 1000);
    it_expect_quiescent(&e);
    json_object *st = it_sim_stats(&e);
    IT_EXPECT(st, "GET /_sim/stats failed");
    if (st) {
        printf("sim stats: %s\n", json_object_to_json_string(st));
        IT_EXPECT(it_stat(st, "tasks_accepted") == NJOBS,
                  "the sim accepted %lld tasks, expected each of the %d jobs submitted once",
                  it_stat(st, "tasks_accepted"), NJOBS);
        IT_EXPECT(it_stat(st, "callbacks_delivered") == images,
                  "the sim delivered %lld callbacks, expected one per image (%d)",
                  it_stat(st, "callbacks_delivered"), images);
    }
    json_object_put(st);
    it_env_finish(&e);

    it_records_free(&recs);
    for (int i = 0; i < NJOBS; i++) {
        free(jobs[i].payload);
        json_object_put(jobs[i].meta);
    }
    free(jobs);
    free(payloads);
}

static const struct rwt_case cases[] = {
    {"mixed", test_mixed},
};

RWT_MAIN(cases)
