/* Validation cost per job: a typical 1 KiB task, one using every feature, one full of mistakes;
 * schema validation alone, and the whole path from the text: rw_job_parse (json-c's tree, as
 * runwarectl validates) and rw_job_read (rw_jv's, as the intake reads every job). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rw_job.h"
#include "rw_jv.h"
#include "rw_schema.h"
#include "bench_time.h"

#define U1 "c64351d5-4c59-42f7-95e1-eace013eddab"

static const char typical[] =
    "{\"taskType\":\"imageInference\",\"model\":\"runware:111@1\",\"taskUUID\":\"" U1 "\","
    "\"positivePrompt\":\"A weathered lighthouse on a basalt cliff at blue hour, waves breaking "
    "against the rocks below, a thin ribbon of warm light from the lantern room cutting through "
    "sea mist, gulls circling, long exposure, shot on a 35mm lens at f/8, natural colours, fine "
    "film grain, high dynamic range, crisp detail on the stone and the rusted railings, soft "
    "reflections on the wet path that winds up from the harbour, a small fishing boat with its "
    "deck lights on returning to port, distant town lights on the far shore, dramatic clouds "
    "lit from below by the last of the sunset, cinematic composition with the lighthouse on the "
    "right third, quiet and melancholic mood, realistic, award winning landscape photograph\","
    "\"negativePrompt\":\"blurry, oversaturated, cartoon, text, watermark, deformed\","
    "\"width\":1024,\"height\":768,\"steps\":28,\"CFGScale\":3.5,\"seed\":1234567890,"
    "\"scheduler\":\"FlowMatchEulerDiscreteScheduler\",\"numberResults\":2,"
    "\"outputType\":\"URL\",\"outputFormat\":\"JPG\",\"outputQuality\":90,\"includeCost\":true,"
    "\"lora\":[{\"model\":\"civitai:58390@62833\",\"weight\":0.8}]}";

static const char large[] =
    "{\"taskType\":\"imageInference\",\"model\":\"runware:111@1\",\"taskUUID\":\"" U1 "\","
    "\"positivePrompt\":\"a portrait of an astronaut, (detailed)1.2\","
    "\"negativePrompt\":\"blurry, low quality\",\"width\":1024,\"height\":768,"
    "\"seed\":9223372036854775807,\"steps\":28,\"scheduler\":\"DPM++ 2M Karras\","
    "\"CFGScale\":3.5,\"strength\":0.75,\"maskMargin\":64,\"promptWeighting\":\"compel\","
    "\"inputs\":{\"seedImage\":\"https://example.com/seed.png\","
    "\"maskImage\":\"90422a52-f186-4bf4-a73b-0a46016a8330\"},"
    "\"acceleratorOptions\":{\"cacheStartStep\":2,\"cacheEndStep\":20,"
    "\"cacheMaxConsecutiveSteps\":3,\"fbCache\":true,\"fbCacheThreshold\":0.25,"
    "\"teaCache\":false,\"teaCacheDistance\":0.5,\"dbCache\":false,\"dbCacheThreshold\":0.3,"
    "\"dbCacheSkipInterval\":5},\"outpaint\":{\"top\":0,\"bottom\":64,\"left\":32,\"right\":32},"
    "\"lora\":[{\"model\":\"civitai:58390@62833\",\"weight\":0.8,\"transformer\":\"both\"},"
    "{\"model\":\"runware:120@2\",\"weight\":-1.25},{\"model\":\"civitai:1@2\",\"weight\":0.07}],"
    "\"controlNet\":[{\"model\":\"runware:25@1\",\"guideImage\":\"data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII="
    "\",\"weight\":0.7,\"startStep\":0,\"endStep\":20,\"controlMode\":\"controlnet\"},"
    "{\"model\":\"runware:26@1\",\"guideImage\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAA"
    "DUlEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=\",\"startStepPercentage\":10,"
    "\"endStepPercentage\":90}],"
    "\"ipAdapters\":[{\"model\":\"runware:55@1\",\"guideImages\":[\"" U1 "\","
    "\"https://example.com/ref2.jpg\"],\"weight\":0.75,\"combineMethod\":\"average\","
    "\"embedScaling\":\"kv\",\"weightType\":\"style_transfer\",\"weightComposition\":0.5}],"
    "\"hiresFix\":{\"model\":\"runware:esrgan@ultrasharp\",\"steps\":15,\"strength\":0.6,"
    "\"upscaleFactor\":4},\"layerDiffuse\":true,"
    "\"pulid\":{\"images\":[\"" U1 "\"],\"idWeight\":1,\"trueCFGScale\":1.5,\"CFGstartStep\":3},"
    "\"trueCFGScale\":2.25,\"ultralytics\":{\"CFGScale\":8,\"confidence\":0.9,\"maskBlur\":5,"
    "\"maskPadding\":5,\"negativePrompt\":\"bad\",\"positivePrompt\":\"face\",\"steps\":20,"
    "\"strength\":0.3},\"includeCost\":true,\"numberResults\":4,"
    "\"uploadEndpoint\":\"https://bucket.s3.amazonaws.com/out.png?X-Amz-Signature=abc123\","
    "\"ttl\":3600,\"outputType\":\"URL\",\"outputFormat\":\"PNG\",\"outputQuality\":95,"
    "\"safety\":{\"checkContent\":true,\"mode\":\"fast\"}}";

static const char invalid[] =
    "{\"taskType\":\"imageInference\",\"model\":\"runware:111@1\",\"taskUUID\":\"" U1 "\","
    "\"positivePrompt\":\"x\",\"width\":1000,\"height\":4096,\"steps\":20,\"CFGScale\":3.505,"
    "\"scheduler\":\"Euler A\",\"numberResults\":25,\"lora\":[{\"model\":\"my lora\"},"
    "{\"weight\":1}],\"controlNet\":[{\"model\":\"cn\",\"guideImage\":\"" U1 "\",\"startStep\":10,"
    "\"endStep\":5}],\"outputFormat\":\"png\",\"unknownThing\":true}";

static struct rw_job_reader *reader;

/* One run: mode 0 rw_schema_validate_jv on the task read once, 1 rw_job_parse of the text (JSON
 * parse, structural checks, schema), 2 rw_job_read of the text. Returns the number of errors. */
static int run_once(const struct rw_schema *s, const struct rw_jv *task, const char *text, int mode)
{
    json_object *errs = NULL;
    struct rw_job job;
    int n, rc;

    if (mode == 0) {
        errs = json_object_new_array();
        n = rw_schema_validate_jv(s, task, errs);
    } else {
        rc = mode == 1 ? rw_job_parse(text, strlen(text), s, &job, &errs)
                       : rw_job_read(reader, text, strlen(text), s, &job, &errs);
        n = rc == 0 ? 0 : errs ? (int)json_object_array_length(errs) : -1;
        rw_job_clear(&job);
    }
    json_object_put(errs);
    return n;
}

/* Best and median over ROUNDS rounds of at least round_ms each, in ns per run. */
static int measure(const struct rw_schema *s, const char *text, int mode, double round_ms,
                   double *best, double *median, int *nerr)
{
    struct rw_jdoc *doc = rw_jdoc_new();
    const struct rw_jv *task = NULL;
    double r[ROUNDS];

    if (!doc || rw_jv_read(doc, text, strlen(text), &task) != RW_JV_OK) {
        rw_jdoc_free(doc);
        return -1;
    }
    for (int round = -1; round < ROUNDS; round++) { /* round -1 warms up */
        double t0 = now_ns(), t;
        long runs = 0;
        do {
            *nerr = run_once(s, task, text, mode);
            runs++;
        } while ((t = now_ns()) - t0 < round_ms * 1e6);
        if (round >= 0)
            r[round] = (t - t0) / (double)runs;
    }
    qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
    *best = r[0];
    *median = r[ROUNDS / 2];
    rw_jdoc_free(doc);
    return 0;
}

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : RW_DEFAULT_SPEC;
    double round_ms = argc > 2 ? atof(argv[2]) : 200;
    static const struct {
        const char *name, *text;
    } jobs[] = {{"typical", typical}, {"large", large}, {"invalid", invalid}};
    char err[1024];
    double t0 = now_ns(), load_ms;
    struct rw_schema *s = rw_schema_load(spec, err, sizeof(err));

    load_ms = (now_ns() - t0) / 1e6;
    if (!(reader = rw_job_reader_new())) {
        fprintf(stderr, "bench_validate: out of memory\n");
        return 2;
    }
    if (!s || round_ms <= 0) {
        fprintf(stderr, "bench_validate: %s\n",
                s ? "usage: bench_validate [SPEC [ROUND_MS]]" : err);
        return 2;
    }
    printf("spec %s compiled in %.2f ms; figures: ns per job, best and median of %d rounds of "
           "%.0f ms\n",
           spec, load_ms, ROUNDS, round_ms);
    printf("%-8s %6s %7s | %-28s | %-28s | %-28s\n", "job", "bytes", "errors",
           "rw_schema_validate ns (best/med)", "rw_job_parse ns (best/med)",
           "rw_job_read ns (best/med)");
    for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
        double vb, vm, pb, pm, rb, rm;
        int e1 = 0, e2 = 0, e3 = 0;
        if (measure(s, jobs[j].text, 0, round_ms, &vb, &vm, &e1) < 0 ||
            measure(s, jobs[j].text, 1, round_ms, &pb, &pm, &e2) < 0 ||
            measure(s, jobs[j].text, 2, round_ms, &rb, &rm, &e3) < 0) {
            fprintf(stderr, "bench_validate: %s: bad job text\n", jobs[j].name);
            rw_schema_free(s);
            return 2;
        }
        printf("%-8s %6zu %7d | %8.0f / %8.0f (%7.0f/s) | %8.0f / %8.0f (%7.0f/s) | %8.0f / %8.0f "
               "(%7.0f/s)\n",
               jobs[j].name, strlen(jobs[j].text), e1, vb, vm, 1e9 / vm, pb, pm, 1e9 / pm, rb, rm,
               1e9 / rm);
        if ((j < 2 && (e1 != 0 || e2 != 0 || e3 != 0)) || (j == 2 && e1 == 0) || e2 != e3) {
            fprintf(stderr, "bench_validate: %s: unexpected verdict (%d, %d, %d errors)\n",
                    jobs[j].name, e1, e2, e3);
            rw_schema_free(s);
            return 1;
        }
    }
    rw_schema_free(s);
    rw_job_reader_free(reader);
    return 0;
}
