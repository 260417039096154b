/* Pipeline benchmark: jobs through a private redis-server, runware-sim (no generation delay) and
 * runwared, with the cost of each process measured from /proc, and the floor the machine sets.
 *
 * usage: bench_pipeline [--jobs N] [--batch B] [--wait MS] [--inflight N] [--rate R]
 *                       [--seconds S] [--conns C] [--log-level L] [--no-floor]
 *        (--batch: submit_batch, --wait: submit_wait_ms; runwared's defaults without them)
 *        bench_pipeline N [B]      (the throughput phase only, as before)
 *
 * Phase 1, throughput: N jobs (numberResults 1-4, all three outputTypes, validated against the
 *   shipped schema) pushed at once; the sim calls back over C connections. Jobs/s end to end,
 *   CPU per job of runwared, redis-server and the sim (user + system, /proc/<pid>/stat), peak RSS.
 * Phase 2, in flight and latency: N' jobs whose callbacks the sim never sends ([sim:drop]) are
 *   submitted and acknowledged; runwared's RSS is read with all of them in flight. Then the bench
 *   itself POSTs their callbacks (valid tokens) at a steady R/s for S seconds over 16 connections
 *   and times each one from the moment it is sent to the moment its record is popped from the
 *   result list: callback-to-record latency p50/p99/max. Meanwhile it pushes new jobs at the same
 *   rate (also [sim:drop]), so runwared takes, validates, registers and submits R jobs/s while it
 *   completes R jobs/s: the steady state of R jobs/s.
 * Floor: redis-benchmark on the same redis-server for the commands a job needs (LPUSH, and EVAL of
 *   a trivial script standing for each of runwared's scripts), and the CPU Redis and the sim spent
 *   per job in phase 1. */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "rw_token.h"

#define NCONNS 16

struct opts {
    int jobs, inflight, rate, seconds, conns;
    const char *batch, *wait, *log_level; /* wait: submit_wait_ms, NULL: runwared's default */
    bool floor, latency;
    bool redis_unix; /* runwared reaches Redis over a Unix socket */
};

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of pid in seconds, from /proc/<pid>/stat; *sys gets stime alone. */
static double cpu_seconds(pid_t pid, double *sys)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    FILE *f;
    char *p;

    *sys = 0;
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

static void print_load(void)
{
    double l[3];

    if (getloadavg(l, 3) == 3)
        printf("  load average: %.2f %.2f %.2f\n", l[0], l[1], l[2]);
}

static long long redis_int(struct it_env *e, const char *fmt, const char *key)
{
    redisReply *r = it_redis(e, fmt, key);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return v;
}

static long long redis_used_memory(struct it_env *e)
{
    redisReply *r = it_redis(e, "INFO memory");
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "used_memory:") : NULL;
    long long v = p ? atoll(p + 12) : -1;

    freeReplyObject(r);
    return v;
}

/* Redis's own account of the commands it ran (INFO commandstats): calls, and the calls and time
 * of EVALSHA (runwared's scripts). */
static void redis_commandstats(struct it_env *e, int njobs)
{
    redisReply *r = it_redis(e, "INFO commandstats");
    long long calls = 0, evcalls = 0;
    double evusec = 0;
    const char *p = r->type == REDIS_REPLY_STRING ? r->str : "";

    while ((p = strstr(p, "cmdstat_"))) {
        long long c = 0;
        double u = 0;
        const char *q = strstr(p, ":calls=");

        if (q && sscanf(q, ":calls=%lld,usec=%lf", &c, &u) == 2) {
            calls += c;
            if (strncmp(p, "cmdstat_evalsha:", 16) == 0) {
                evcalls = c;
                evusec = u;
            }
        }
        p += 8;
    }
    /* A script's time includes the commands it runs, which are counted too. */
    printf("  redis commands     %.1f per job (those scripts run included); EVALSHA %.1f per "
           "job, %.2f us each inside Redis\n",
           (double)calls / njobs, (double)evcalls / njobs, evcalls ? evusec / evcalls : 0);
    freeReplyObject(r);
}

/* Pops up to want records from list, oldest first, many per round trip; counts successes.
 * Returns how many arrived before the deadline. */
static size_t drain(struct it_env *e, const char *list, size_t want, int timeout_ms, size_t *ok)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    size_t got = 0;

    while (got < want && it_now_ms() < deadline) {
        redisReply *r = it_redis(e, "RPOP %s 1000", list);

        if (r->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i < r->elements; i++)
                if (strstr(r->element[i]->str, "\"status\":\"success\""))
                    (*ok)++;
            got += r->elements;
        } else {
            freeReplyObject(r);
            r = it_redis(e, "BRPOP %s 1", list);
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
                if (strstr(r->element[1]->str, "\"status\":\"success\""))
                    (*ok)++;
                got++;
            }
        }
        freeReplyObject(r);
    }
    return got;
}

static const char *conf_for(const struct opts *o)
{
    static char conf[512];

    /* max_inflight above the 20,000 tasks of step 3 plus the 10,000 step 4 pushes */
    snprintf(conf, sizeof(conf),
             "submit_batch = %s\nmax_pending = 4096\nmax_inflight = 100000\nmodel_spec = %s\n"
             "%s%s%s",
             o->batch, RW_DEFAULT_SPEC, o->wait ? "submit_wait_ms = " : "", o->wait ? o->wait : "",
             o->wait ? "\n" : "");
    return conf;
}

/* The "N requests per second" of redis-benchmark -q's output (after its progress lines). */
static double rps(const char *out)
{
    const char *end = strstr(out, " requests per second"), *p = end;

    while (p && p > out && p[-1] != ' ')
        p--;
    return p ? atof(p) : 0;
}

/* Phase 1. Returns 0 when every record arrived. */
static int throughput(const struct opts *o)
{
    static const char *const outputs[] = {"URL", "base64Data", "dataURI"};
    char conns[16];
    const char *sim[] = {"--delay-ms",       "0",   "--jitter-ms", "0",
                         "--callback-conns", conns, "--quiet",     NULL};
    char results[64], **payloads;
    struct it_env e;
    long images = 0, rss_idle;
    double rw0, rw1, rws0, rws1, rd0, rd1, sm0, sm1, dummy, t0, t1;
    size_t got, ok = 0;
    int njobs = o->jobs;

    if (!(payloads = calloc(njobs, sizeof(*payloads))))
        return 1;
    snprintf(conns, sizeof(conns), "%d", o->conns);
    it_env_init(&e, "bench");
    e.redis_unix = o->redis_unix;
    it_redis_start(&e);
    it_sim_start(&e, sim);
    it_rw_start(&e, conf_for(o));
    for (int i = 0; i < njobs; i++) {
        int n = 1 + i % 4;

        images += n;
        payloads[i] = it_fmt("{\"task\":{\"positivePrompt\":\"benchmark job %d, a lighthouse at "
                             "dawn\",\"numberResults\":%d,\"outputType\":\"%s\",\"width\":1024,"
                             "\"height\":1024,\"steps\":28},\"meta\":{\"i\":%d}}",
                             i, n, outputs[i % 3], i);
    }
    snprintf(results, sizeof(results), "%s:results", e.prefix);
    rss_idle = vm_kb(e.rw.pid, "VmRSS:");
    rw0 = cpu_seconds(e.rw.pid, &rws0);
    rd0 = cpu_seconds(e.redis.pid, &dummy);
    sm0 = cpu_seconds(e.sim.pid, &dummy);
    t0 = mono_s();
    for (int at = 0; at < njobs; at += 1000)
        it_push_many(&e, payloads + at, njobs - at < 1000 ? njobs - at : 1000);
    got = drain(&e, results, njobs, 600000, &ok);
    t1 = mono_s();
    rw1 = cpu_seconds(e.rw.pid, &rws1);
    rd1 = cpu_seconds(e.redis.pid, &dummy);
    sm1 = cpu_seconds(e.sim.pid, &dummy);
    printf("throughput: %d jobs (%ld images), submit_batch %s, submit_wait_ms %s, sim callbacks "
           "over %d connections, Redis over %s\n",
           njobs, images, o->batch, o->wait ? o->wait : "default", o->conns,
           o->redis_unix ? "a Unix socket" : "TCP");
    printf("  records            %zu in %.3f s (%zu success)\n", got, t1 - t0, ok);
    printf("  jobs/s             %.0f   (images/s %.0f)\n", got / (t1 - t0), images / (t1 - t0));
    printf("  runwared CPU/job   %.1f us  (%.0f%% in the kernel)\n", (rw1 - rw0) * 1e6 / njobs,
           100 * (rws1 - rws0) / (rw1 - rw0 > 0 ? rw1 - rw0 : 1));
    printf("  redis CPU/job      %.1f us\n", (rd1 - rd0) * 1e6 / njobs);
    printf("  sim CPU/job        %.1f us\n", (sm1 - sm0) * 1e6 / njobs);
    redis_commandstats(&e, njobs);
    printf("  CPU use            runwared %.0f%%, redis %.0f%%, sim %.0f%% of one core\n",
           100 * (rw1 - rw0) / (t1 - t0), 100 * (rd1 - rd0) / (t1 - t0),
           100 * (sm1 - sm0) / (t1 - t0));
    printf("  runwared RSS       idle %ld kB, peak %ld kB\n", rss_idle, vm_kb(e.rw.pid, "VmHWM:"));
    print_load();
    if (o->floor) {
        /* What Redis alone can do here for the commands a job needs: per job one LPUSH by the
         * producer, one pop by the consumer, and 2 + images script calls (register, ack, one
         * complete per image; the take is shared by 64 jobs). Pipelined like runwared's. */
        char port[16], *out = NULL, bin[] = "/usr/bin/redis-benchmark";
        char *const lp[] = {bin,
                            "-p",
                            port,
                            "-q",
                            "-n",
                            "200000",
                            "-P",
                            "16",
                            "-c",
                            "4",
                            "LPUSH",
                            "bench:floor",
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                            NULL};
        char *const ev[] = {bin,    "-p",
                            port,   "-q",
                            "-n",   "200000",
                            "-P",   "16",
                            "-c",   "4",
                            "EVAL", "return redis.call('HSET', KEYS[1], 'f', ARGV[1])",
                            "1",    "bench:floor:h",
                            "v",    NULL};
        double lpush = 0, eval = 0, per_image = (double)images / njobs;
        int st;

        snprintf(port, sizeof(port), "%d", e.redis_port);
        if (access(bin, X_OK) != 0) {
            printf("floor: %s not found (Debian package redis-tools)\n", bin);
        } else {
            it_run(&e, lp, 120000, &st, &out);
            lpush = rps(out);
            free(out);
            it_run(&e, ev, 120000, &st, &out);
            eval = rps(out);
            free(out);
        }
        if (lpush > 0 && eval > 0) {
            double us = 2e6 / lpush + (2 + per_image) * 1e6 / eval;

            printf("floor (redis-benchmark -P 16 -c 4 on the same redis-server)\n");
            printf("  LPUSH              %.0f/s\n", lpush);
            printf("  EVAL (one HSET)    %.0f/s\n", eval);
            printf("  Redis alone        %.1f us/job -> at most %.0f jobs/s on one core\n", us,
                   1e6 / us);
        }
        printf("  Redis + sim        %.1f us CPU/job as measured above -> at most %.0f jobs/s on "
               "2 cores if runwared and the bench cost nothing\n",
               ((rd1 - rd0) + (sm1 - sm0)) * 1e6 / njobs, 2 * njobs / ((rd1 - rd0) + (sm1 - sm0)));
    }
    for (int i = 0; i < njobs; i++)
        free(payloads[i]);
    free(payloads);
    it_env_finish(&e);
    return got == (size_t)njobs && ok == got ? 0 : 1;
}

/* Phase 2: the callbacks the bench sends itself, and the records they make. */
struct lat {
    struct it_env *e;
    struct event_base *base;
    struct evhttp_connection *conn[NCONNS];
    long busy[NCONNS];
    redisAsyncContext *ac;      /* BRPOP of the records */
    redisAsyncContext *push_ac; /* LPUSH of the new jobs */
    char results[64], jobs[64];
    unsigned nonce;
    int total, sent, answered, failed, recorded;
    double rate, t0;
    double *sent_at, *lat_ms;
    struct event *tick, *deadline;
};

static void task_uuid(char out[RW_UUID_LEN + 1], unsigned nonce, int i)
{
    snprintf(out, RW_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", nonce, (unsigned)i);
}

/* One callback POST: the run and the connection it went on. */
struct sent {
    struct lat *l;
    long *busy;
};

/* Every record in and every POST answered. */
static void maybe_done(struct lat *l)
{
    if (l->recorded == l->total && l->answered == l->total)
        event_base_loopbreak(l->base);
}

static void on_answer(struct evhttp_request *req, void *arg)
{
    struct sent *s = arg;
    struct lat *l = s->l;

    (*s->busy)--;
    l->answered++;
    if (!req || evhttp_request_get_response_code(req) != 200)
        l->failed++;
    free(s);
    maybe_done(l);
}

static void send_callback(struct lat *l, int i)
{
    char uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1], path[200], img[RW_UUID_LEN + 1];
    struct evhttp_request *req;
    struct sent *ctx = malloc(sizeof(*ctx));
    int c = 0;

    for (int k = 1; k < NCONNS; k++)
        if (l->busy[k] < l->busy[c])
            c = k;
    task_uuid(uuid, l->nonce, i);
    task_uuid(img, l->nonce ^ 0xffffffffu, i);
    if (!ctx || rw_token_make(l->e->secret, l->e->secret_len, uuid, token) < 0)
        it_die(l->e, "cannot make a callback");
    snprintf(path, sizeof(path), "/callback/%s?token=%s", uuid, token);
    ctx->l = l;
    ctx->busy = &l->busy[c];
    if (!(req = evhttp_request_new(on_answer, ctx)))
        it_die(l->e, "evhttp_request_new");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                        "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                        "\"imageUUID\":\"%s\",\"seed\":%d,\"imageURL\":"
                        "\"https://im.runware.ai/image/ws/2/ii/%s.jpg\"}]}",
                        uuid, img, i, img);
    l->sent_at[i] = mono_s();
    if (evhttp_make_request(l->conn[c], req, EVHTTP_REQ_POST, path) != 0)
        it_die(l->e, "evhttp_make_request");
    l->busy[c]++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct lat *l = arg;
    int due = (int)((mono_s() - l->t0) * l->rate);

    if (due > l->total)
        due = l->total;
    while (l->sent < due) {
        char uuid[RW_UUID_LEN + 1], *job;

        send_callback(l, l->sent);
        task_uuid(uuid, l->nonce + 1, l->sent);
        job = it_fmt("{\"task\":{\"taskUUID\":\"%s\",\"positivePrompt\":\"[sim:drop] "
                     "benchmark job %d taken meanwhile\",\"numberResults\":1,\"width\":1024,"
                     "\"height\":1024,\"steps\":28}}",
                     uuid, l->sent);
        redisAsyncCommand(l->push_ac, NULL, NULL, "LPUSH %s %s", l->jobs, job);
        free(job);
        l->sent++;
    }
}

static void on_record(redisAsyncContext *ac, void *reply, void *arg)
{
    struct lat *l = arg;
    redisReply *r = reply;
    const char *p;

    if (!r) {
        event_base_loopbreak(l->base);
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        (p = strstr(r->element[1]->str, "\"taskUUID\":\"")) && strlen(p) > 12 + RW_UUID_LEN) {
        int i = (int)strtol(p + 12 + 24, NULL, 16);

        if (i >= 0 && i < l->total && l->lat_ms[i] < 0) {
            l->lat_ms[i] = (mono_s() - l->sent_at[i]) * 1e3;
            l->recorded++;
        }
    }
    if (l->recorded == l->total) {
        maybe_done(l);
        return;
    }
    redisAsyncCommand(ac, on_record, l, "BRPOP %s 1", l->results);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(((struct lat *)arg)->base);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int inflight_latency(const struct opts *o)
{
    const char *sim[] = {"--delay-ms", "0", "--jitter-ms", "0", "--quiet", NULL};
    char key[128], sub[160], uuid[RW_UUID_LEN + 1], **payloads;
    struct it_env e;
    struct lat l = {0};
    long rss_idle, rss_full;
    long long mem0, mem1;
    double c0, c1, s0, s1, t0, f0, f1, fs0, fs1, r0, r1, dummy;
    int n = o->inflight, rc = 1;

    if (!(payloads = calloc(n, sizeof(*payloads))))
        return 1;
    it_env_init(&e, "bench");
    e.secret_in_file = true; /* the bench signs callbacks itself */
    e.redis_unix = o->redis_unix;
    it_redis_start(&e);
    it_sim_start(&e, sim);
    it_rw_start(&e, conf_for(o));
    l.nonce = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 0; i < n; i++) {
        task_uuid(uuid, l.nonce, i);
        payloads[i] = it_fmt("{\"task\":{\"taskUUID\":\"%s\",\"positivePrompt\":\"[sim:drop] "
                             "benchmark task %d in flight\",\"numberResults\":1,\"width\":1024,"
                             "\"height\":1024,\"steps\":28}}",
                             uuid, i);
    }
    it_sleep_ms(300);
    rss_idle = vm_kb(e.rw.pid, "VmRSS:");
    mem0 = redis_used_memory(&e);
    f0 = cpu_seconds(e.rw.pid, &fs0);
    r0 = cpu_seconds(e.redis.pid, &dummy);
    t0 = mono_s();
    for (int at = 0; at < n; at += 1000)
        it_push_many(&e, payloads + at, n - at < 1000 ? n - at : 1000);
    it_key(&e, key, sizeof(key), "pending");
    snprintf(sub, sizeof(sub), "%s:submitting:%s", e.prefix, e.instance);
    /* In flight: every task registered, submitted and acknowledged. */
    while (redis_int(&e, "ZCARD %s", key) < n || redis_int(&e, "SCARD %s", sub) > 0) {
        if (mono_s() - t0 > 300)
            it_die(&e, "%d tasks not in flight after 300 s", n);
        it_sleep_ms(50);
    }
    f1 = cpu_seconds(e.rw.pid, &fs1);
    r1 = cpu_seconds(e.redis.pid, &dummy);
    it_sleep_ms(200);
    rss_full = vm_kb(e.rw.pid, "VmRSS:");
    mem1 = redis_used_memory(&e);
    printf("in flight: %d tasks submitted and acknowledged in %.2f s, awaiting callbacks\n", n,
           mono_s() - t0);
    /* the way in alone: take, validate, register, POST, acknowledgement (no callbacks) */
    printf("  runwared CPU/job   %.1f us from intake to acknowledgement (%.0f%% in the kernel); "
           "redis %.1f us\n",
           (f1 - f0) * 1e6 / n, f1 > f0 ? (fs1 - fs0) * 100 / (f1 - f0) : 0, (r1 - r0) * 1e6 / n);
    printf("  runwared RSS       %ld kB idle, %ld kB with them in flight, peak %ld kB -> %.0f "
           "bytes per in-flight task\n",
           rss_idle, rss_full, vm_kb(e.rw.pid, "VmHWM:"),
           (rss_full - rss_idle) * 1024.0 / n > 0 ? (rss_full - rss_idle) * 1024.0 / n : 0);
    printf("  redis used_memory  +%.0f bytes per in-flight task (the task's state lives there)\n",
           (double)(mem1 - mem0) / n);

    /* Callbacks at a steady rate. */
    l.e = &e;
    l.total = o->rate * o->seconds < n ? o->rate * o->seconds : n;
    l.rate = o->rate;
    l.sent_at = calloc(l.total, sizeof(double));
    l.lat_ms = malloc(l.total * sizeof(double));
    if (!l.sent_at || !l.lat_ms || !(l.base = event_base_new()))
        it_die(&e, "out of memory");
    for (int i = 0; i < l.total; i++)
        l.lat_ms[i] = -1;
    snprintf(l.results, sizeof(l.results), "%s:results", e.prefix);
    snprintf(l.jobs, sizeof(l.jobs), "%s:jobs", e.prefix);
    for (int i = 0; i < NCONNS; i++)
        if (!(l.conn[i] = evhttp_connection_base_new(l.base, NULL, "127.0.0.1", e.rw_port)))
            it_die(&e, "evhttp_connection_base_new");
    if (!(l.ac = redisAsyncConnect("127.0.0.1", e.redis_port)) || l.ac->err ||
        redisLibeventAttach(l.ac, l.base) != REDIS_OK ||
        !(l.push_ac = redisAsyncConnect("127.0.0.1", e.redis_port)) || l.push_ac->err ||
        redisLibeventAttach(l.push_ac, l.base) != REDIS_OK)
        it_die(&e, "redisAsyncConnect");
    redisAsyncCommand(l.ac, on_record, &l, "BRPOP %s 1", l.results);
    {
        struct timeval ms = {0, 1000}, dl = {o->seconds + 60, 0};

        l.tick = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
        l.deadline = evtimer_new(l.base, on_deadline, &l);
        event_add(l.tick, &ms);
        evtimer_add(l.deadline, &dl);
    }
    c0 = cpu_seconds(e.rw.pid, &s0);
    l.t0 = mono_s();
    event_base_dispatch(l.base);
    c1 = cpu_seconds(e.rw.pid, &s1);
    printf("latency: %d callbacks POSTed by the bench at %d/s over %d connections, each "
           "completing a task, while as many new jobs are pushed at the same rate\n",
           l.total, o->rate, NCONNS);
    printf("  records            %d of %d (%d callbacks not answered 200) in %.2f s\n", l.recorded,
           l.total, l.failed, mono_s() - l.t0);
    if (l.recorded > 0) {
        double *v = malloc(l.recorded * sizeof(double));
        int k = 0;

        for (int i = 0; i < l.total; i++)
            if (l.lat_ms[i] >= 0)
                v[k++] = l.lat_ms[i];
        qsort(v, k, sizeof(double), cmp_double);
        printf("  callback->record   p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", v[k / 2],
               v[(int)ceil(k * 0.99) - 1], v[k - 1]);
        printf("  runwared CPU       %.1f us per job (intake, submission, callback, record) at "
               "this rate\n",
               (c1 - c0) * 1e6 / l.recorded);
        free(v);
    }
    print_load();
    rc = l.recorded == l.total && l.failed == 0 ? 0 : 1;
    event_free(l.tick);
    event_free(l.deadline);
    for (int i = 0; i < NCONNS; i++)
        evhttp_connection_free(l.conn[i]);
    redisAsyncFree(l.ac);
    redisAsyncFree(l.push_ac);
    event_base_free(l.base);
    free(l.sent_at);
    free(l.lat_ms);
    for (int i = 0; i < n; i++)
        free(payloads[i]);
    free(payloads);
    it_env_finish(&e);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_pipeline [--jobs N] [--batch B] [--wait MS] [--inflight N] "
                    "[--rate R] [--seconds S] [--conns C] [--log-level L] [--no-floor]\n"
                    "                      [--redis-unix]\n"
                    "       bench_pipeline N [B]   (throughput only)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.jobs = 20000,
                     .inflight = 20000,
                     .rate = 1000,
                     .seconds = 10,
                     .conns = 16,
                     .batch = "16",
                     .log_level = "info",
                     .floor = true,
                     .latency = true};
    int rc = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && argv[1][0] != '-') { /* the old form: throughput only */
        o.jobs = atoi(argv[1]);
        if (argc > 2)
            o.batch = argv[2];
        o.floor = o.latency = false;
    } else {
        for (int i = 1; i < argc; i++) {
            const char *v = i + 1 < argc ? argv[i + 1] : NULL;

            if (strcmp(argv[i], "--no-floor") == 0) {
                o.floor = false;
                continue;
            }
            if (strcmp(argv[i], "--redis-unix") == 0) {
                o.redis_unix = true;
                continue;
            }
            if (!v)
                usage();
            if (strcmp(argv[i], "--jobs") == 0)
                o.jobs = atoi(v);
            else if (strcmp(argv[i], "--batch") == 0)
                o.batch = v;
            else if (strcmp(argv[i], "--wait") == 0)
                o.wait = v;
            else if (strcmp(argv[i], "--inflight") == 0)
                o.inflight = atoi(v);
            else if (strcmp(argv[i], "--rate") == 0)
                o.rate = atoi(v);
            else if (strcmp(argv[i], "--seconds") == 0)
                o.seconds = atoi(v);
            else if (strcmp(argv[i], "--conns") == 0)
                o.conns = atoi(v);
            else if (strcmp(argv[i], "--log-level") == 0)
                o.log_level = v;
            else
                usage();
            i++;
        }
        o.latency = o.inflight > 0;
    }
    if (o.jobs <= 0 || o.rate <= 0 || o.seconds <= 0 || o.conns <= 0 || o.inflight < 0)
        usage();
    if (!getenv("RW_IT_LOG_LEVEL"))
        setenv("RW_IT_LOG_LEVEL", o.log_level, 1);
    rc |= throughput(&o);
    if (o.latency)
        rc |= inflight_latency(&o);
    return rc;
}
