/* Operations: runwared --check-config/--version/--help, systemd notifications and watchdog, the
 * admin listener (/metrics as Prometheus text whose counters match the jobs run, /healthz,
 * /readyz) and runwarectl (enqueue --wait, stats, requeue-dead, inspect). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASK "\"width\":1024,\"height\":1024"

static const char *runwarectl(void)
{
    return RW_IT_RUNWARECTL;
}

static bool exited(int st, int code)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* ---- runwared --check-config, --version, --help ---------------------------------------- */

/* The shipped configuration, with its /etc/runwared/ paths pointing into the source tree. */
static char *shipped_config(void)
{
    char *text = it_read_file(RW_IT_SOURCE_DIR "/conf/runwared.conf", NULL), *out, *p;
    const char *from = "/etc/runwared/";
    size_t n = 0;

    if (!text)
        return NULL;
    out = calloc(1, strlen(text) * 2 + 1);
    for (p = text; out && *p;) {
        if (strncmp(p, from, strlen(from)) == 0) {
            n += sprintf(out + n, "%s/conf/", RW_IT_SOURCE_DIR);
            p += strlen(from);
        } else {
            out[n++] = *p++;
        }
    }
    free(text);
    return out;
}

static void test_check_config(void)
{
    struct it_env e;
    char conf[PATH_MAX], *out = NULL;
    int st;
    it_env_init(&e, "ops");
    setenv("RUNWARE_API_KEY", "check-config-key", 1);

    char *shipped = shipped_config();
    IT_EXPECT(shipped, "cannot read conf/runwared.conf");
    it_write_file(&e, "shipped.conf", shipped ? shipped : "", conf);
    char *argv[] = {(char *)it_bin_runwared(), "--check-config", "-c", conf, NULL};
    it_run(&e, argv, 10000 * it_slow(), &st, &out);
    IT_EXPECT(exited(st, 0) && strcmp(out, "configuration OK\n") == 0,
              "--check-config on the shipped file: status 0x%x, output:\n%s", st, out);
    free(out);

    /* a misspelt key on a known line, and a model_spec that does not exist */
    int lines = 0;
    for (const char *p = shipped; p && *p; p++)
        lines += *p == '\n';
    char *bad = it_fmt("%ssubmit_bach = 8\nmodel_spec = %s/nonexistent.json\n", shipped, e.dir);
    it_write_file(&e, "misspelt.conf", bad, conf);
    char *argv2[] = {(char *)it_bin_runwared(), "--check-config", "--config", conf, NULL};
    it_run(&e, argv2, 10000 * it_slow(), &st, &out);
    char *want = it_fmt("misspelt.conf:%d: unknown key \"submit_bach\"", lines + 1);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) != 0,
              "a misspelt key: want a non-zero exit, got 0x%x", st);
    IT_EXPECT(strstr(out, want), "want \"%s\" in:\n%s", want, out);
    IT_EXPECT(!strstr(out, "configuration OK"), "a bad file must not be OK:\n%s", out);
    free(want);
    free(out);

    /* the misspelling fixed: the missing model_spec is reported at its line */
    free(bad);
    bad = it_fmt("%smodel_spec_x = 1\n", shipped);
    free(bad);
    bad = it_fmt("%s", shipped);
    char *slot = strstr(bad, "model_spec = ");
    IT_EXPECT(slot, "the shipped file sets model_spec");
    int spec_line = 1;
    for (const char *p = bad; slot && p < slot; p++)
        spec_line += *p == '\n';
    if (slot)
        memcpy(slot, "model_spec = /x", 15); /* a path that does not exist */
    it_write_file(&e, "nospec.conf", bad, conf);
    char *argv3[] = {(char *)it_bin_runwared(), "-t", "-c", conf, NULL};
    it_run(&e, argv3, 10000 * it_slow(), &st, &out);
    want = it_fmt("nospec.conf:%d: model_spec: ", spec_line);
    IT_EXPECT(exited(st, 1) && strstr(out, want), "want exit 1 and \"%s\", got 0x%x:\n%s", want, st,
              out);
    free(want);
    free(out);
    free(bad);
    free(shipped);

    char *argv4[] = {(char *)it_bin_runwared(), "--version", NULL};
    it_run(&e, argv4, 5000, &st, &out);
    IT_EXPECT(exited(st, 0) && strncmp(out, "runwared ", 9) == 0, "--version: 0x%x %s", st, out);
    free(out);
    char *argv5[] = {(char *)it_bin_runwared(), "--help", NULL};
    it_run(&e, argv5, 5000, &st, &out);
    IT_EXPECT(exited(st, 0) && strstr(out, "--check-config") && strstr(out, "usage: runwared"),
              "--help: 0x%x %s", st, out);
    free(out);
    char *argv6[] = {(char *)it_bin_runwared(), "--no-such-option", NULL};
    it_run(&e, argv6, 5000, &st, &out);
    IT_EXPECT(exited(st, 2) && strstr(out, "usage: runwared"), "a bad option: 0x%x %s", st, out);
    free(out);
    unsetenv("RUNWARE_API_KEY");
    it_env_finish(&e);
}

/* ---- systemd notifications ---------------------------------------------------------------- */

struct dgrams {
    char *text; /* every datagram, each followed by '\n' + "--\n" */
    size_t len;
};

/* Reads datagrams from fd for ms milliseconds. */
static void read_dgrams(int fd, int ms, struct dgrams *d)
{
    int64_t end = it_now_ms() + ms;
    char buf[4096];

    for (int64_t left; (left = end - it_now_ms()) > 0;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *more = realloc(d->text, d->len + (size_t)n + 5);
        if (!more)
            abort();
        d->text = more;
        d->len += (size_t)sprintf(d->text + d->len, "%s\n--\n", buf);
    }
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_notify(void)
{
    struct it_env e;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct dgrams d = {0};
    it_env_init(&e, "ntf");
    it_redis_start(&e);
    it_sim_start(&e, NULL);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (strlen(e.dir) + 13 >= sizeof(sa.sun_path))
        it_die(&e, "temp dir too long for a socket path");
    memcpy(sa.sun_path, e.dir, strlen(e.dir));
    memcpy(sa.sun_path + strlen(e.dir), "/notify.sock", 13);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        it_die(&e, "notify socket: %s", strerror(errno));
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    setenv("WATCHDOG_USEC", "400000", 1); /* a ping every 200 ms */
    it_rw_start(&e, NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    read_dgrams(fd, 1500, &d);
    IT_EXPECT(d.text && strstr(d.text, "READY=1"), "no READY=1 datagram; got:\n%s",
              d.text ? d.text : "(nothing)");
    int pings = count(d.text, "WATCHDOG=1");
    IT_EXPECT(pings >= 3, "%d WATCHDOG=1 datagrams in 1.5 s at WATCHDOG_USEC=400000; got:\n%s",
              pings, d.text ? d.text : "(nothing)");
    IT_EXPECT(d.text && strstr(d.text, "STATUS=") && strstr(d.text, "queue 0") &&
                  strstr(d.text, "in flight 0"),
              "no STATUS= with the queue depth and tasks in flight; got:\n%s",
              d.text ? d.text : "(nothing)");

    /* a loop that does not turn sends no pings */
    free(d.text);
    d = (struct dgrams){0};
    kill(e.rw.pid, SIGSTOP);
    read_dgrams(fd, 1000, &d);
    kill(e.rw.pid, SIGCONT);
    IT_EXPECT(count(d.text, "WATCHDOG=1") == 0, "a stopped runwared still pinged:\n%s", d.text);
    free(d.text);
    d = (struct dgrams){0};
    read_dgrams(fd, 800, &d);
    IT_EXPECT(count(d.text, "WATCHDOG=1") >= 1, "no pings after SIGCONT:\n%s",
              d.text ? d.text : "(nothing)");
    free(d.text);
    d = (struct dgrams){0};

    it_rw_stop(&e);
    read_dgrams(fd, 200, &d);
    IT_EXPECT(d.text && strstr(d.text, "STOPPING=1"), "no STOPPING=1 after SIGTERM; got:\n%s",
              d.text ? d.text : "(nothing)");
    free(d.text);
    close(fd);
    it_env_finish(&e);
}

/* ---- /metrics ------------------------------------------------------------------------------ */

/* One sample line's value, by its exact series (name{labels}); NAN when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* Checks the Prometheus text exposition format (0.0.4) line by line: HELP and TYPE comments
 * before their samples, metric names and labels well formed, values numbers, every sample of a
 * declared family, histogram buckets cumulative and ending at +Inf == _count. */
static void check_prometheus(const char *text)
{
    char family[128] = "", type[16] = "";
    double last_bucket = -1;
    int lineno = 0;

    IT_EXPECT(text && *text && text[strlen(text) - 1] == '\n', "/metrics must end with a newline");
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        lineno++;
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p = eol ? eol + 1 : NULL;
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            IT_EXPECT(sscanf(line + 7, "%127s %15s", family, type) == 2, "line %d: %s", lineno,
                      line);
            IT_EXPECT(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                          strcmp(type, "histogram") == 0,
                      "line %d: unknown type: %s", lineno, line);
            last_bucket = -1;
            continue;
        }
        IT_EXPECT(line[0] != '#' && line[0] != '\0', "line %d: stray line: \"%s\"", lineno, line);
        /* name */
        size_t i = 0;
        IT_EXPECT(isalpha((unsigned char)line[0]) || line[0] == '_' || line[0] == ':',
                  "line %d: bad name: %s", lineno, line);
        while (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == ':')
            i++;
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)i, line);
        size_t fl = strlen(family);
        IT_EXPECT(strncmp(name, family, fl) == 0 &&
                      (name[fl] == '\0' ||
                       (strcmp(type, "histogram") == 0 &&
                        (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 ||
                         strcmp(name + fl, "_count") == 0))),
                  "line %d: sample %s outside its family %s", lineno, name, family);
        if (line[i] == '{') {
            for (i++; line[i] && line[i] != '}';) {
                size_t k = i;
                while (isalnum((unsigned char)line[i]) || line[i] == '_')
                    i++;
                IT_EXPECT(i > k && line[i] == '=' && line[i + 1] == '"', "line %d: bad label: %s",
                          lineno, line);
                i += 2;
                while (line[i] && line[i] != '"')
                    i += line[i] == '\\' ? 2 : 1;
                IT_EXPECT(line[i] == '"', "line %d: unterminated label value", lineno);
                i++;
                if (line[i] == ',')
                    i++;
            }
            IT_EXPECT(line[i] == '}', "line %d: unterminated labels", lineno);
            i++;
        }
        IT_EXPECT(line[i] == ' ', "line %d: no space before the value: %s", lineno, line);
        char *end;
        double v = strtod(line + i + 1, &end);
        IT_EXPECT(end > line + i + 1 && *end == '\0', "line %d: bad value: %s", lineno, line);
        IT_EXPECT(strcmp(type, "counter") != 0 || v >= 0, "line %d: negative counter", lineno);
        if (strstr(name, "_bucket")) {
            IT_EXPECT(v >= last_bucket, "line %d: buckets not cumulative", lineno);
            last_bucket = v;
        }
        if (strstr(name, "_count") && strcmp(type, "histogram") == 0)
            IT_EXPECT(v == last_bucket, "line %d: _count %g != +Inf bucket %g", lineno, v,
                      last_bucket);
    }
}

static char *get(struct it_env *e, const char *path, long *code)
{
    char *url = it_fmt("%s%s", e->admin_url, path), *body = NULL;
    *code = it_http("GET", url, NULL, 0, &body, 5000);
    free(url);
    return body;
}

static void test_metrics(void)
{
    struct it_env e;
    struct it_records recs = {0};
    long code;
    it_env_init(&e, "met");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "5", "--jitter-ms", "10", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    /* 5 good jobs (1+2+3+1+2 images, two with includeCost), 1 not JSON, 1 failing at Runware */
    static const int n[] = {1, 2, 3, 1, 2};
    for (int i = 0; i < 5; i++) {
        char *job = it_fmt("{\"positivePrompt\":\"metrics %d\",\"numberResults\":%d%s," TASK "}", i,
                           n[i], i < 2 ? ",\"includeCost\":true" : "");
        it_push(&e, job);
        free(job);
    }
    it_push(&e, "{not json");
    it_push(&e, "{\"positivePrompt\":\"[sim:gen-fail] metrics\",\"numberResults\":3," TASK "}");
    char results[64];
    snprintf(results, sizeof(results), "%s:results", e.prefix);
    const char *lists[] = {results};
    size_t got = it_collect(&e, lists, 1, 7, 15000 * it_slow(), &recs);
    IT_EXPECT(got == 7, "expected 7 records, got %zu", got);
    long images = 0, ok = 0, bad = 0;
    double cost = 0;
    for (size_t i = 0; i < recs.n; i++) {
        json_object *data = it_jget(recs.v[i].obj, "data");
        const char *status = it_jstr(recs.v[i].obj, "status");
        ok += status && strcmp(status, "success") == 0;
        bad += status && strcmp(status, "error") == 0;
        for (size_t k = 0; data && k < json_object_array_length(data); k++) {
            json_object *c = it_jget(json_object_array_get_idx(data, k), "cost");
            images++;
            cost += c ? json_object_get_double(c) : 0;
        }
    }
    IT_EXPECT(ok == 5 && bad == 2, "records: %ld success, %ld error; want 5 and 2", ok, bad);
    IT_EXPECT(cost > 0, "the sim should report a cost with includeCost");

    /* gauges come from a look at Redis every 2 s */
    char *text = NULL;
    int64_t deadline = it_now_ms() + 6000 * it_slow();
    do {
        free(text);
        it_sleep_ms(200);
        text = get(&e, "/metrics", &code);
    } while (text &&
             (sample(text, "runwared_queue_depth") != 0 ||
              sample(text, "runwared_instances_live") != 1) &&
             it_now_ms() < deadline);
    IT_EXPECT(code == 200 && text, "GET /metrics -> %ld", code);
    if (text) {
        check_prometheus(text);
        static const struct {
            const char *series;
            double want;
        } want[] = {
            {"runwared_jobs_taken_total", 7},
            {"runwared_jobs_refused_total", 1},
            {"runwared_tasks_acknowledged_total", 6},
            {"runwared_jobs_completed_total{status=\"success\"}", 5},
            {"runwared_jobs_completed_total{status=\"error\"}", 2},
            {"runwared_callbacks_total{outcome=\"unauthorized\"}", 0},
            {"runwared_submit_retries_total{reason=\"network\"}", 0},
            {"runwared_timeouts_total", 0},
            {"runwared_job_latency_seconds_count", 6},
            {"runwared_queue_depth", 0},
            {"runwared_tasks_in_flight", 0},
            {"runwared_dead_letters", 1}, /* the "{not json" job, kept raw */
            {"runwared_instances_live", 1},
            {"runwared_tasks_in_hand", 0},
            {"runwared_redis_connected", 1},
            {"runwared_ready", 1},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            double v = sample(text, want[i].series);
            IT_EXPECT(v == want[i].want, "/metrics: %s is %g, expected %g", want[i].series, v,
                      want[i].want);
        }
        double v = sample(text, "runwared_images_total");
        IT_EXPECT(v == images, "runwared_images_total %g, the records hold %ld images", v, images);
        v = sample(text, "runwared_spend_usd_total");
        IT_EXPECT(fabs(v - cost) < 1e-6, "runwared_spend_usd_total %g, the records' cost %g", v,
                  cost);
        v = sample(text, "runwared_submit_latency_seconds_count");
        IT_EXPECT(v >= 1 && v == sample(text, "runwared_submit_requests_total"),
                  "submit latency count %g, submit requests %g", v,
                  sample(text, "runwared_submit_requests_total"));
        IT_EXPECT(sample(text, "runwared_callbacks_total{outcome=\"ok\"}") >= images,
                  "callbacks ok below the images");
    }
    free(text);

    text = get(&e, "/healthz", &code);
    IT_EXPECT(code == 200 && text && strstr(text, "alive"), "/healthz -> %ld %s", code, text);
    free(text);
    text = get(&e, "/readyz", &code);
    IT_EXPECT(code == 200 && text && strstr(text, "ready"), "/readyz -> %ld %s", code, text);
    free(text);
    text = get(&e, "/nothing", &code);
    IT_EXPECT(code == 404, "/nothing -> %ld", code);
    free(text);
    char *url = it_fmt("%s/metrics", e.admin_url);
    code = it_http("POST", url, "{}", 2, NULL, 5000);
    IT_EXPECT(code == 405, "POST /metrics -> %ld, want 405", code);
    free(url);
    /* the callback listener no longer serves them */
    url = it_fmt("%s/metrics", e.rw_url);
    code = it_http("GET", url, NULL, 0, NULL, 5000);
    IT_EXPECT(code == 404, "GET /metrics on the callback listener -> %ld, want 404", code);
    free(url);

    /* Redis away: not ready, still alive */
    it_redis_stop(&e, SIGTERM);
    deadline = it_now_ms() + 5000 * it_slow();
    while ((code = it_rw_health(&e)) != 503 && it_now_ms() < deadline)
        it_sleep_ms(50);
    IT_EXPECT(code == 503, "/readyz with Redis away -> %ld, want 503", code);
    text = get(&e, "/healthz", &code);
    IT_EXPECT(code == 200, "/healthz with Redis away -> %ld, want 200", code);
    free(text);
    it_redis_restart(&e);
    deadline = it_now_ms() + 10000 * it_slow();
    while ((code = it_rw_health(&e)) != 200 && it_now_ms() < deadline)
        it_sleep_ms(50);
    IT_EXPECT(code == 200, "/readyz after Redis came back -> %ld", code);
    it_records_free(&recs);
    it_env_finish(&e);
}

/* ---- runwarectl ----------------------------------------------------------------------------- */

static void ctl(struct it_env *e, int *st, char **out, const char *a1, const char *a2,
                const char *a3, const char *a4)
{
    char *argv[] = {(char *)runwarectl(), "-c",       e->conf_path, (char *)a1,
                    (char *)a2,           (char *)a3, (char *)a4,   NULL};
    it_run(e, argv, 30000 * it_slow(), st, out);
}

/* The two lines enqueue --wait prints: the taskUUID, then the record. */
static json_object *waited_record(const char *out, char uuid[37])
{
    const char *nl = strchr(out, '\n');
    if (!nl || nl - out != 36)
        return NULL;
    memcpy(uuid, out, 36);
    uuid[36] = '\0';
    const char *end = strchr(nl + 1, '\n');
    if (!end || end[1] != '\0')
        return NULL; /* exactly one JSON line, nothing after it */
    return json_tokener_parse(nl + 1);
}

static void test_runwarectl(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char *out = NULL, uuid[37], job[PATH_MAX];
    int st;
    it_env_init(&e, "ctl");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "5", "--jitter-ms", "10", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);

    /* --wait: success */
    it_write_file(&e, "good.json",
                  "{\"task\":{\"positivePrompt\":\"ctl\",\"numberResults\":2," TASK
                  "},\"meta\":{\"k\":1}}\n",
                  job);
    ctl(&e, &st, &out, "enqueue", "--wait", job, NULL);
    json_object *rec = waited_record(out, uuid);
    IT_EXPECT(exited(st, 0) && rec, "enqueue --wait: status 0x%x, output:\n%s", st, out);
    if (rec) {
        IT_EXPECT(strcmp(it_jstr(rec, "taskUUID"), uuid) == 0 &&
                      strcmp(it_jstr(rec, "status"), "success") == 0 &&
                      json_object_array_length(it_jget(rec, "data")) == 2 &&
                      it_jint(it_jget(rec, "meta"), "k") == 1,
                  "enqueue --wait printed the wrong record: %s", out);
        json_object_put(rec);
    }
    free(out);
    char reply[128];
    snprintf(reply, sizeof(reply), "%s:reply:%s", e.prefix, uuid);
    IT_EXPECT(it_llen(&e, reply) == 0, "the reply list %s should be gone", reply);

    /* inspect the finished task */
    ctl(&e, &st, &out, "inspect", uuid, NULL, NULL);
    json_object *ins = json_tokener_parse(out);
    IT_EXPECT(exited(st, 0) && ins && strcmp(it_jstr(ins, "state"), "done") == 0,
              "inspect: 0x%x %s", st, out);
    json_object_put(ins);
    free(out);
    char other[37];
    it_uuid(other);
    ctl(&e, &st, &out, "inspect", other, NULL, NULL);
    IT_EXPECT(exited(st, 1) && strstr(out, "no task"), "inspect of an unknown task: 0x%x %s", st,
              out);
    free(out);

    /* --wait on standard input: an error record exits 1 */
    char *failing = it_fmt("{\"positivePrompt\":\"[sim:gen-fail] ctl\"," TASK "}");
    it_write_file(&e, "fail.json", failing, job);
    free(failing);
    char *sh =
        it_fmt("exec %s -c %s enqueue --wait --timeout 30 - < %s", runwarectl(), e.conf_path, job);
    char *argv_sh[] = {"/bin/sh", "-c", sh, NULL};
    it_run(&e, argv_sh, 30000 * it_slow(), &st, &out);
    rec = waited_record(out, uuid);
    IT_EXPECT(exited(st, 1) && rec && strcmp(it_jstr(rec, "status"), "error") == 0,
              "enqueue --wait of a failing job: 0x%x %s", st, out);
    json_object_put(rec);
    free(out);
    free(sh);

    /* without --wait: the taskUUID, and the record on the default list */
    it_write_file(&e, "plain.json", "{\"positivePrompt\":\"fire and forget\"," TASK "}", job);
    ctl(&e, &st, &out, "enqueue", job, NULL, NULL);
    IT_EXPECT(exited(st, 0) && strlen(out) == 37, "enqueue: 0x%x %s", st, out);
    snprintf(uuid, sizeof(uuid), "%.36s", out);
    free(out);
    char results[64];
    snprintf(results, sizeof(results), "%s:results", e.prefix);
    const char *lists[] = {results};
    IT_EXPECT(it_collect(&e, lists, 1, 1, 10000 * it_slow(), &recs) == 1 &&
                  it_records_find(&recs, uuid),
              "no record for the enqueued job %s", uuid);

    /* an invalid job is refused before Redis sees it */
    it_write_file(&e, "bad.json", "{\"positivePrompt\":\"x\",\"webhookURL\":\"http://a\"}", job);
    ctl(&e, &st, &out, "enqueue", job, NULL, NULL);
    IT_EXPECT(exited(st, 1) && strstr(out, "webhookURL"), "enqueue of an invalid job: 0x%x %s", st,
              out);
    free(out);
    char jobs[64];
    snprintf(jobs, sizeof(jobs), "%s:jobs", e.prefix);
    IT_EXPECT(it_llen(&e, jobs) == 0, "the invalid job reached the jobs list");

    /* dead letters back to the queue */
    char dead[64];
    snprintf(dead, sizeof(dead), "%s:dead", e.prefix);
    char u1[37], u2[37];
    it_uuid(u1);
    it_uuid(u2);
    char *d1 = it_fmt("{\"positivePrompt\":\"dead one\",\"taskUUID\":\"%s\"," TASK "}", u1);
    char *d2 = it_fmt("{\"positivePrompt\":\"dead two\",\"taskUUID\":\"%s\"," TASK "}", u2);
    freeReplyObject(it_redis(&e, "LPUSH %s %s %s", dead, d1, d2));
    /* the first heartbeat comes 5 s after the start */
    char instances[64];
    snprintf(instances, sizeof(instances), "%s:instances", e.prefix);
    for (int64_t end = it_now_ms() + 8000 * it_slow(); it_now_ms() < end;) {
        redisReply *r = it_redis(&e, "ZCARD %s", instances);
        long long n = r->integer;
        freeReplyObject(r);
        if (n > 0)
            break;
        it_sleep_ms(100);
    }
    ctl(&e, &st, &out, "stats", NULL, NULL, NULL);
    IT_EXPECT(exited(st, 0) && strstr(out, "dead_letters 2\n") && strstr(out, "queued 0\n") &&
                  strstr(out, "instances_live 1\n"),
              "stats: 0x%x %s", st, out);
    free(out);
    ctl(&e, &st, &out, "requeue-dead", NULL, NULL, NULL);
    IT_EXPECT(exited(st, 0) && strcmp(out, "requeued 2\n") == 0, "requeue-dead: 0x%x %s", st, out);
    free(out);
    IT_EXPECT(it_collect(&e, lists, 1, 2, 10000 * it_slow(), &recs) == 2 &&
                  it_records_find(&recs, u1) && it_records_find(&recs, u2),
              "the requeued dead letters did not complete");
    IT_EXPECT(it_llen(&e, dead) == 0, "the dead-letter list should be empty");
    free(d1);
    free(d2);

    /* usage errors */
    ctl(&e, &st, &out, "enqueue", "--timeout", "0", job);
    IT_EXPECT(exited(st, 2), "--timeout 0: 0x%x %s", st, out);
    free(out);
    ctl(&e, &st, &out, "inspect", "not-a-uuid", NULL, NULL);
    IT_EXPECT(exited(st, 2), "inspect not-a-uuid: 0x%x %s", st, out);
    free(out);
    it_records_free(&recs);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"check_config", test_check_config},
    {"notify", test_notify},
    {"metrics", test_metrics},
    {"runwarectl", test_runwarectl},
};

RWT_MAIN(cases)
