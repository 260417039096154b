/* Pipeline benchmark: N jobs through redis-server, runware-sim (no generation delay) and
 * runwared; reports wall time, records/s and images/s, and runwared's CPU time and peak RSS.
 * usage: bench_pipeline [jobs] [batch] */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* utime + stime of pid in seconds, from /proc/<pid>/stat; *sys gets stime alone. */
static double cpu_seconds(pid_t pid, double *sys)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    FILE *f;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    if (!fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        ut = st = 0;
    fclose(f);
    *sys = (double)st / sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* A "Vm...:" line of /proc/<pid>/status, in kB. */
static long vm_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0)
            kb = atol(line + strlen(field) + 1);
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    int njobs = argc > 1 ? atoi(argv[1]) : 5000;
    const char *batch = argc > 2 ? argv[2] : "16";
    static const char *const outputs[] = {"URL", "base64Data", "dataURI"};
    const char *sim[] = {"--delay-ms", "0", "--jitter-ms", "0", "--callback-conns", "16", "--quiet", NULL};
    const char *lists[1];
    char results[64], *conf, **payloads;
    struct it_env e;
    struct it_records recs = {0};
    long images = 0, rss_idle;
    double cpu0, cpu1, sys0, sys1;
    int64_t t0, t1;
    size_t got;

    if (njobs <= 0 || !(payloads = calloc(njobs, sizeof(*payloads))))
        return 2;
    it_env_init(&e, "bench");
    it_redis_start(&e);
    it_sim_start(&e, sim);
    conf = it_fmt("submit_batch = %s\nmax_pending = 4096\nmax_inflight = 8\n", batch);
    it_rw_start(&e, conf);
    for (int i = 0; i < njobs; i++) {
        int n = 1 + i % 4;

        images += n;
        payloads[i] = it_fmt("{\"task\":{\"positivePrompt\":\"benchmark job %d, a lighthouse at "
                             "dawn\",\"numberResults\":%d,\"outputType\":\"%s\",\"width\":1024,"
                             "\"height\":1024,\"steps\":28},\"meta\":{\"i\":%d}}",
                             i, n, outputs[i % 3], i);
    }
    snprintf(results, sizeof(results), "%s:results", e.prefix);
    lists[0] = results;
    rss_idle = vm_kb(e.rw.pid, "VmRSS:");
    cpu0 = cpu_seconds(e.rw.pid, &sys0);
    t0 = it_now_ms();
    for (int at = 0; at < njobs; at += 100)
        it_push_many(&e, payloads + at, njobs - at < 100 ? njobs - at : 100);
    got = it_collect(&e, lists, 1, njobs, 600000, &recs);
    t1 = it_now_ms();
    cpu1 = cpu_seconds(e.rw.pid, &sys1);
    printf("bench_pipeline: %d jobs, %ld images, submit_batch %s: %zu records in %.3f s\n", njobs,
           images, batch, got, (t1 - t0) / 1000.0);
    printf("  %.0f records/s, %.0f images/s\n", got * 1000.0 / (t1 - t0),
           images * 1000.0 / (t1 - t0));
    printf("  runwared: %.2f s CPU (%.0f us/job, %.0f%% in the kernel), RSS idle %ld kB, peak "
           "%ld kB\n",
           cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / njobs, 100 * (sys1 - sys0) / (cpu1 - cpu0), rss_idle,
           vm_kb(e.rw.pid, "VmHWM:"));
    for (int i = 0; i < njobs; i++)
        free(payloads[i]);
    free(payloads);
    free(conf);
    it_records_free(&recs);
    it_env_finish(&e);
    return got == (size_t)njobs ? 0 : 1;
}
