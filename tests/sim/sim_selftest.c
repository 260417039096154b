/* End-to-end self-test of runware-sim: starts it on a spare port, receives its webhooks in a
 * thread (libevent), and checks the API over real HTTP with libcurl. Usage: sim_selftest
 * PATH-TO-runware-sim [CASE-FILTER]. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "rw_uuid.h"
#include "rwtest.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            RWT_CHECK(c);                                                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define MAIN_DELAY_MS  300
#define MAIN_JITTER_MS 100

/* ---- the simulator process ---- */

struct sim_proc {
    pid_t pid;
    int port;
};

static const char *sim_path;
static struct sim_proc main_sim;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Starts runware-sim with extra arguments (NULL-terminated) and waits for its listening line.
 * Returns 0 with sp filled, -1 on failure. */
static int sim_start(struct sim_proc *sp, const char *const *extra)
{
    const char *argv[40];
    int n = 0, fds[2] = {-1, -1};
    char line[256];
    size_t len = 0;
    int64_t deadline = now_ms() + 10000;
    const char *colon;

    argv[n++] = sim_path;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    for (; extra && *extra && n < 38; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    sp->pid = fork();
    if (sp->pid < 0)
        goto fail;
    if (sp->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(sim_path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    while (len < sizeof(line) - 1 && now_ms() < deadline) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        ssize_t r;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        r = read(fds[0], line + len, 1);
        if (r <= 0)
            goto fail;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    colon = strrchr(line, ':');
    if (strncmp(line, "runware-sim listening on ", 25) != 0 || !colon)
        goto fail;
    sp->port = atoi(colon + 1);
    close(fds[0]);
    return sp->port > 0 ? 0 : -1;
fail:
    fprintf(stderr, "  could not start %s (got '%.*s')\n", sim_path, (int)len, line);
    if (sp->pid > 0) {
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, NULL, 0);
    }
    sp->pid = 0;
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return -1;
}

/* Sends sig and waits up to 5 s; returns the wait status, or -1 if it had to be killed. */
static int sim_stop(struct sim_proc *sp, int sig)
{
    int status = 0;
    int64_t deadline = now_ms() + 5000;

    if (sp->pid <= 0)
        return -1;
    kill(sp->pid, sig);
    while (now_ms() < deadline) {
        if (waitpid(sp->pid, &status, WNOHANG) == sp->pid) {
            sp->pid = 0;
            return status;
        }
        sleep_ms(10);
    }
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, NULL, 0);
    sp->pid = 0;
    return -1;
}

/* ---- the webhook receiver: its own event base in its own thread ---- */

struct hit {
    char *uri;
    char *body;
    char content_type[64];
    int status; /* what the receiver answered */
};

static pthread_mutex_t hits_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hits_cv = PTHREAD_COND_INITIALIZER;
static struct hit *hits;
static size_t nhits, caphits;
static int recv_port;
static atomic_int recv_stop;
static pthread_t recv_thread;

/* Paths starting /failN/ answer 500 to the first N requests on that exact URI. */
static void on_hook(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *uri = evhttp_request_get_uri(req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct hit h = {0};
    int prior = 0, fail_n = 0, status = 200;

    h.uri = strdup(uri);
    h.body = malloc(len + 1);
    if (!h.uri || !h.body) {
        free(h.uri);
        free(h.body);
        evhttp_send_reply(req, 500, "Receiver Out Of Memory", NULL);
        return;
    }
    evbuffer_copyout(in, h.body, len);
    h.body[len] = '\0';
    snprintf(h.content_type, sizeof(h.content_type), "%s", ct ? ct : "");
    if (strncmp(uri, "/fail", 5) == 0)
        fail_n = atoi(uri + 5);
    pthread_mutex_lock(&hits_mu);
    for (size_t i = 0; i < nhits; i++)
        if (strcmp(hits[i].uri, uri) == 0)
            prior++;
    if (prior < fail_n)
        status = 500;
    h.status = status;
    if (nhits == caphits) {
        size_t cap = caphits ? caphits * 2 : 256;
        struct hit *nh = realloc(hits, cap * sizeof(*nh));

        if (!nh) {
            pthread_mutex_unlock(&hits_mu);
            free(h.uri);
            free(h.body);
            evhttp_send_reply(req, 500, "Receiver Out Of Memory", NULL);
            return;
        }
        hits = nh;
        caphits = cap;
    }
    hits[nhits++] = h;
    pthread_cond_broadcast(&hits_cv);
    pthread_mutex_unlock(&hits_mu);
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Internal Server Error", NULL);
}

static void on_recv_tick(evutil_socket_t fd, short what, void *arg)
{
    if (atomic_load(&recv_stop))
        event_base_loopbreak(arg);
}

struct recv_setup {
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
};

static void *recv_main(void *arg)
{
    struct recv_setup *rs = arg;

    event_base_dispatch(rs->base);
    return NULL;
}

static struct recv_setup recv_rs;

static int recv_start(void)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    struct timeval tick = {0, 20000};

    recv_rs.base = event_base_new();
    if (!recv_rs.base)
        return -1;
    recv_rs.http = evhttp_new(recv_rs.base);
    recv_rs.tick = event_new(recv_rs.base, -1, EV_PERSIST, on_recv_tick, recv_rs.base);
    if (!recv_rs.http || !recv_rs.tick || event_add(recv_rs.tick, &tick) != 0)
        return -1;
    evhttp_set_gencb(recv_rs.http, on_hook, NULL);
    bs = evhttp_bind_socket_with_handle(recv_rs.http, "127.0.0.1", 0);
    if (!bs || getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl) != 0)
        return -1;
    recv_port = ntohs(sin.sin_port);
    return pthread_create(&recv_thread, NULL, recv_main, &recv_rs) == 0 ? 0 : -1;
}

static void recv_shutdown(void)
{
    atomic_store(&recv_stop, 1);
    pthread_join(recv_thread, NULL);
    event_free(recv_rs.tick);
    evhttp_free(recv_rs.http);
    event_base_free(recv_rs.base);
    for (size_t i = 0; i < nhits; i++) {
        free(hits[i].uri);
        free(hits[i].body);
    }
    free(hits);
}

static size_t count_hits_locked(const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < nhits; i++)
        if (strncmp(hits[i].uri, prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

/* Waits until at least n hits start with prefix, or timeout; returns the count. */
static size_t wait_hits(const char *prefix, size_t n, int timeout_ms)
{
    struct timespec dl;
    size_t c;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&hits_mu);
    while ((c = count_hits_locked(prefix)) < n)
        if (pthread_cond_timedwait(&hits_cv, &hits_mu, &dl) == ETIMEDOUT)
            break;
    c = count_hits_locked(prefix);
    pthread_mutex_unlock(&hits_mu);
    return c;
}

/* Bodies of the hits starting with prefix, parsed, in arrival order (new array). */
static json_object *hit_bodies(const char *prefix, int only_status)
{
    json_object *arr = json_object_new_array();

    pthread_mutex_lock(&hits_mu);
    for (size_t i = 0; arr && i < nhits; i++) {
        if (strncmp(hits[i].uri, prefix, strlen(prefix)) != 0)
            continue;
        if (only_status && hits[i].status != only_status)
            continue;
        json_object_array_add(arr, json_tokener_parse(hits[i].body));
    }
    pthread_mutex_unlock(&hits_mu);
    return arr;
}

/* ---- HTTP client ---- */

struct resp {
    long status;
    char *raw;
    size_t len;
    json_object *json;
    long connects;
};

static CURL *curl;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    char *nr = realloc(r->raw, r->len + sz * n + 1);

    if (!nr)
        return 0;
    r->raw = nr;
    memcpy(r->raw + r->len, p, sz * n);
    r->len += sz * n;
    r->raw[r->len] = '\0';
    return sz * n;
}

static void resp_free(struct resp *r)
{
    free(r->raw);
    json_object_put(r->json);
    memset(r, 0, sizeof(*r));
}

/* One request to a simulator; auth NULL sends no Authorization header. */
static int http_to(int port, const char *method, const char *path, const char *auth,
                   const char *body, struct resp *r)
{
    char url[256], hdr[300];
    struct curl_slist *h = NULL;
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (auth) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "  %s %s: %s\n", method, url, curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &r->connects);
    if (r->raw)
        r->json = json_tokener_parse(r->raw);
    return 0;
}

static int post_api(const char *body, struct resp *r)
{
    return http_to(main_sim.port, "POST", "/v1", "sim-key", body, r);
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = jget(o, key);

    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *jidx(json_object *arr, size_t i)
{
    if (!arr || !json_object_is_type(arr, json_type_array) || i >= json_object_array_length(arr))
        return NULL;
    return json_object_array_get_idx(arr, i);
}

static size_t jlen(json_object *arr)
{
    return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static const char *first_error_code(const struct resp *r)
{
    return jstr(jidx(jget(r->json, "errors"), 0), "code");
}

static void new_uuid(char out[RW_UUID_LEN + 1])
{
    if (rw_uuid_v4(out) != 0)
        abort();
}

/* One imageInference task object; extra is appended inside the braces (start it with ','). */
static void task_json(char *buf, size_t size, const char *uuid, const char *extra)
{
    snprintf(buf, size,
             "{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\",\"model\":\"runware:111@1\","
             "\"positivePrompt\":\"a red fox in fresh snow\"%s}",
             uuid, extra ? extra : "");
}

/* Polls /_sim/task/<uuid> until the task has finished and no delivery is pending. Returns the
 * description (new reference) or NULL on timeout. */
static json_object *wait_settled(int port, const char *uuid, int timeout_ms)
{
    char path[96];
    int64_t deadline = now_ms() + timeout_ms;

    snprintf(path, sizeof(path), "/_sim/task/%s", uuid);
    while (now_ms() < deadline) {
        struct resp r;
        bool settled;
        json_object *dl, *out;

        if (http_to(port, "GET", path, NULL, NULL, &r) != 0) {
            resp_free(&r);
            return NULL;
        }
        settled = r.status == 200 && json_object_get_boolean(jget(r.json, "finished"));
        dl = jget(r.json, "deliveries");
        for (size_t i = 0; settled && i < jlen(dl); i++) {
            json_object *d = jidx(dl, i);
            int st = json_object_get_int(jget(d, "status"));

            if (!json_object_get_boolean(jget(d, "dropped")) && (st < 200 || st > 299))
                settled = false;
        }
        if (settled) {
            out = json_object_get(r.json);
            resp_free(&r);
            return out;
        }
        resp_free(&r);
        sleep_ms(25);
    }
    return NULL;
}

/* ---- cases ---- */

static void test_auth(void)
{
    struct resp r;
    char t[512], body[700], u[RW_UUID_LEN + 1];

    new_uuid(u);
    task_json(t, sizeof(t), u, ",\"deliveryMethod\":\"async\"");
    snprintf(body, sizeof(body), "[%s]", t);

    REQUIRE(http_to(main_sim.port, "POST", "/v1", "wrong-key", body, &r) == 0);
    RWT_CHECK_INT(r.status, 401);
    RWT_CHECK_STR(first_error_code(&r), "invalidApiKey");
    resp_free(&r);

    REQUIRE(http_to(main_sim.port, "POST", "/v1", NULL, body, &r) == 0);
    RWT_CHECK_INT(r.status, 401);
    RWT_CHECK_STR(first_error_code(&r), "invalidApiKey");
    resp_free(&r);

    /* the authentication task as first element, on POST / */
    snprintf(body, sizeof(body), "[{\"taskType\":\"authentication\",\"apiKey\":\"sim-key\"},%s]",
             t);
    REQUIRE(http_to(main_sim.port, "POST", "/", NULL, body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    RWT_CHECK_INT(jlen(jget(r.json, "data")), 1);
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "data"), 0), "taskUUID"), u);
    resp_free(&r);

    snprintf(body, sizeof(body), "[{\"taskType\":\"authentication\",\"apiKey\":\"nope\"},%s]", t);
    REQUIRE(http_to(main_sim.port, "POST", "/v1", NULL, body, &r) == 0);
    RWT_CHECK_INT(r.status, 401);
    resp_free(&r);
}

static void test_bad_body(void)
{
    static const char *const bodies[] = {"{}", "not json", "[1]", "[]", "[{}] trailing", "\"x\""};
    struct resp r;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        REQUIRE(post_api(bodies[i], &r) == 0);
        if (r.status != 400)
            fprintf(stderr, "  body %s\n", bodies[i]);
        RWT_CHECK_INT(r.status, 400);
        RWT_CHECK_STR(first_error_code(&r), "invalidRequestBody");
        resp_free(&r);
    }
    REQUIRE(http_to(main_sim.port, "GET", "/v1", "sim-key", NULL, &r) == 0);
    RWT_CHECK_INT(r.status, 405);
    resp_free(&r);
    REQUIRE(http_to(main_sim.port, "POST", "/elsewhere", "sim-key", "[]", &r) == 0);
    RWT_CHECK_INT(r.status, 404);
    resp_free(&r);
}

/* Each case: extra members for one task, and the error code expected (NULL: accepted). */
static const struct {
    const char *extra;
    const char *code;
    const char *param;
} mixed_table[] = {
    {",\"deliveryMethod\":\"async\"", NULL, NULL},
    {",\"deliveryMethod\":\"async\",\"model\":\"runware:100@1\"", "invalidModel", "model"},
    {",\"deliveryMethod\":\"async\",\"width\":100,\"height\":512", "invalidWidth", "width"},
    {",\"deliveryMethod\":\"async\",\"width\":520,\"height\":512", "invalidWidth", "width"},
    {",\"deliveryMethod\":\"async\",\"width\":512", "invalidHeight", "height"},
    {",\"deliveryMethod\":\"async\",\"width\":512,\"height\":4096", "invalidHeight", "height"},
    {",\"deliveryMethod\":\"async\",\"numberResults\":21", "invalidNumberResults", "numberResults"},
    {",\"deliveryMethod\":\"async\",\"numberResults\":0", "invalidNumberResults", "numberResults"},
    {",\"deliveryMethod\":\"async\",\"outputType\":\"GIF\"", "invalidOutputType", "outputType"},
    {",\"deliveryMethod\":\"async\",\"outputFormat\":\"jpg\"", "invalidOutputFormat",
     "outputFormat"},
    {",\"deliveryMethod\":\"async\",\"steps\":51", "invalidSteps", "steps"},
    {",\"deliveryMethod\":\"later\"", "invalidDeliveryMethod", "deliveryMethod"},
    {",\"deliveryMethod\":\"async\",\"webhookURL\":\"ftp://x/y\"", "invalidWebhookURL",
     "webhookURL"},
    {",\"deliveryMethod\":\"async\",\"seed\":-1", "invalidSeed", "seed"},
    {",\"deliveryMethod\":\"async\",\"seed\":9223372036854775808", "invalidSeed", "seed"},
    /* a prompt of one code point in two bytes is too short; two code points in four is fine */
    {",\"deliveryMethod\":\"async\",\"positivePrompt\":\"\\u00e9\"", "invalidPositivePrompt",
     "positivePrompt"},
    {",\"deliveryMethod\":\"async\",\"positivePrompt\":\"\\u00e9\\u00e9\"", NULL, NULL},
    {",\"deliveryMethod\":\"async\",\"positivePrompt\":7", "invalidPositivePrompt",
     "positivePrompt"},
    {",\"deliveryMethod\":\"async\",\"width\":2048,\"height\":128,\"numberResults\":20,"
     "\"steps\":50,\"outputType\":\"dataURI\",\"outputFormat\":\"WEBP\"",
     NULL, NULL},
};

static void test_mixed(void)
{
    enum { N = sizeof(mixed_table) / sizeof(mixed_table[0]) };
    char uuids[N + 2][RW_UUID_LEN + 1];
    static char body[20000];
    size_t off = 0;
    int accepted = 0;
    struct resp r;
    json_object *data, *errs;

    off += (size_t)snprintf(body + off, sizeof(body) - off, "[");
    for (size_t i = 0; i < N; i++) {
        char t[1024];

        new_uuid(uuids[i]);
        task_json(t, sizeof(t), uuids[i], mixed_table[i].extra);
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s%s", i ? "," : "", t);
        accepted += mixed_table[i].code == NULL;
    }
    /* a bad taskUUID, and an unsupported task type */
    off += (size_t)snprintf(body + off, sizeof(body) - off,
                            ",{\"taskType\":\"imageInference\",\"taskUUID\":\"not-a-uuid\","
                            "\"model\":\"runware:111@1\",\"positivePrompt\":\"ok prompt\"}");
    new_uuid(uuids[N]);
    snprintf(body + off, sizeof(body) - off,
             ",{\"taskType\":\"imageUpscale\",\"taskUUID\":\"%s\"}]", uuids[N]);

    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    data = jget(r.json, "data");
    errs = jget(r.json, "errors");
    RWT_CHECK_INT(jlen(data), accepted);
    RWT_CHECK_INT(jlen(errs), N - accepted + 2);
    for (size_t i = 0; i < N; i++) {
        json_object *found = NULL;

        for (size_t j = 0; j < jlen(errs); j++)
            if (jstr(jidx(errs, j), "taskUUID") &&
                strcmp(jstr(jidx(errs, j), "taskUUID"), uuids[i]) == 0)
                found = jidx(errs, j);
        if (mixed_table[i].code) {
            if (!found) {
                fprintf(stderr, "  no error for case %zu (%s)\n", i, mixed_table[i].code);
                RWT_CHECK(found != NULL);
                continue;
            }
            RWT_CHECK_STR(jstr(found, "code"), mixed_table[i].code);
            RWT_CHECK_STR(jstr(found, "parameter"), mixed_table[i].param);
            RWT_CHECK_STR(jstr(found, "taskType"), "imageInference");
            RWT_CHECK(jstr(found, "message") != NULL);
        } else {
            RWT_CHECK(found == NULL);
        }
    }
    RWT_CHECK_STR(jstr(jidx(errs, jlen(errs) - 2), "code"), "invalidTaskUUID");
    RWT_CHECK_STR(jstr(jidx(errs, jlen(errs) - 2), "taskUUID"), "not-a-uuid");
    RWT_CHECK_STR(jstr(jidx(errs, jlen(errs) - 1), "code"), "unsupportedTaskType");
    RWT_CHECK_STR(jstr(jidx(errs, jlen(errs) - 1), "taskUUID"), uuids[N]);
    resp_free(&r);

    /* nothing accepted: 400 with an empty data array */
    {
        char t1[512], t2[512], b2[1100];

        new_uuid(uuids[N + 1]);
        task_json(t1, sizeof(t1), uuids[N + 1], ",\"model\":\"nope\"");
        task_json(t2, sizeof(t2), uuids[N + 1], ",\"steps\":0");
        snprintf(b2, sizeof(b2), "[%s,%s]", t1, t2);
        REQUIRE(post_api(b2, &r) == 0);
        RWT_CHECK_INT(r.status, 400);
        RWT_CHECK(jget(r.json, "data") && jlen(jget(r.json, "data")) == 0);
        RWT_CHECK_INT(jlen(jget(r.json, "errors")), 2);
        resp_free(&r);
    }
}

static void test_ack_shape(void)
{
    char u1[RW_UUID_LEN + 1], u2[RW_UUID_LEN + 1], t1[512], t2[512], body[1100];
    struct resp r;
    json_object *data;

    new_uuid(u1);
    new_uuid(u2);
    task_json(t1, sizeof(t1), u1, ",\"deliveryMethod\":\"async\",\"numberResults\":3");
    task_json(t2, sizeof(t2), u2, ",\"deliveryMethod\":\"async\"");
    snprintf(body, sizeof(body), "[%s,%s]", t1, t2);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    data = jget(r.json, "data");
    RWT_CHECK_INT(jlen(data), 2);
    RWT_CHECK(jget(r.json, "errors") == NULL);
    for (size_t i = 0; i < jlen(data); i++) {
        RWT_CHECK_INT(json_object_object_length(jidx(data, i)), 2);
        RWT_CHECK_STR(jstr(jidx(data, i), "taskType"), "imageInference");
    }
    RWT_CHECK_STR(jstr(jidx(data, 0), "taskUUID"), u1);
    RWT_CHECK_STR(jstr(jidx(data, 1), "taskUUID"), u2);
    resp_free(&r);
}

/* Per output type and format: the one field expected and how its value starts. */
static const struct {
    const char *extra;
    const char *field;
    const char *prefix;
    const char *suffix;
} output_table[] = {
    {",\"outputFormat\":\"JPG\"", "imageURL", "https://im.runware.ai/image/ws/2/ii/", ".jpg"},
    {",\"outputType\":\"URL\",\"outputFormat\":\"WEBP\"", "imageURL",
     "https://im.runware.ai/image/ws/2/ii/", ".webp"},
    {",\"outputType\":\"base64Data\",\"outputFormat\":\"PNG\"", "imageBase64Data", "iVBORw0KGgo",
     ""},
    {",\"outputType\":\"base64Data\",\"outputFormat\":\"JPG\"", "imageBase64Data", "/9j/", ""},
    {",\"outputType\":\"dataURI\",\"outputFormat\":\"WEBP\"", "imageDataURI",
     "data:image/webp;base64,UklGR", ""},
    {",\"outputType\":\"dataURI\",\"outputFormat\":\"PNG\"", "imageDataURI",
     "data:image/png;base64,iVBORw0KGgo", ""},
};

static void check_output(json_object *item, size_t row)
{
    static const char *const fields[] = {"imageURL", "imageBase64Data", "imageDataURI"};
    const char *v = jstr(item, output_table[row].field);

    RWT_CHECK(v != NULL);
    if (!v)
        return;
    RWT_CHECK(strncmp(v, output_table[row].prefix, strlen(output_table[row].prefix)) == 0);
    RWT_CHECK(strlen(v) >= strlen(output_table[row].suffix) &&
              strcmp(v + strlen(v) - strlen(output_table[row].suffix), output_table[row].suffix) ==
                  0);
    for (size_t f = 0; f < 3; f++)
        if (strcmp(fields[f], output_table[row].field) != 0)
            RWT_CHECK(jget(item, fields[f]) == NULL);
    if (strcmp(output_table[row].field, "imageURL") == 0)
        RWT_CHECK(strstr(v, jstr(item, "imageUUID")) != NULL);
}

static void test_callbacks(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;
    json_object *bodies = NULL;
    const char *img[3] = {0};
    int64_t seeds_seen = 0;

    for (size_t row = 0; row < sizeof(output_table) / sizeof(output_table[0]); row++) {
        new_uuid(u);
        snprintf(prefix, sizeof(prefix), "/cb/%s", u);
        snprintf(extra, sizeof(extra),
                 ",\"deliveryMethod\":\"async\",\"numberResults\":3,\"seed\":42,"
                 "\"webhookURL\":\"http://127.0.0.1:%d%s?token=t0k\"%s",
                 recv_port, prefix, output_table[row].extra);
        task_json(t, sizeof(t), u, extra);
        snprintf(body, sizeof(body), "[%s]", t);
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        resp_free(&r);
        RWT_CHECK_INT(wait_hits(prefix, 3, 5000), 3);
        sleep_ms(150); /* no fourth one */
        RWT_CHECK_INT(wait_hits(prefix, 4, 0), 3);
        bodies = hit_bodies(prefix, 0);
        REQUIRE(jlen(bodies) == 3);
        seeds_seen = 0;
        for (size_t i = 0; i < 3; i++) {
            json_object *b = jidx(bodies, i), *item;

            RWT_CHECK_INT(json_object_object_length(b), 1);
            RWT_CHECK_INT(jlen(jget(b, "data")), 1);
            item = jidx(jget(b, "data"), 0);
            REQUIRE(item != NULL);
            RWT_CHECK_STR(jstr(item, "taskType"), "imageInference");
            RWT_CHECK_STR(jstr(item, "taskUUID"), u);
            img[i] = jstr(item, "imageUUID");
            RWT_CHECK(img[i] && rw_uuid_valid(img[i]));
            RWT_CHECK(jget(item, "cost") == NULL);
            RWT_CHECK(jget(item, "NSFWContent") == NULL);
            RWT_CHECK(jget(item, "status") == NULL);
            seeds_seen |= 1LL << (json_object_get_int64(jget(item, "seed")) - 42);
            check_output(item, row);
        }
        RWT_CHECK(img[0] && img[1] && img[2] && strcmp(img[0], img[1]) != 0 &&
                  strcmp(img[0], img[2]) != 0 && strcmp(img[1], img[2]) != 0);
        RWT_CHECK_INT(seeds_seen, 7); /* 42, 43 and 44 */
        json_object_put(bodies);
        bodies = NULL;
    }
    pthread_mutex_lock(&hits_mu);
    for (size_t i = 0; i < nhits; i++)
        if (strncmp(hits[i].uri, "/cb/", 4) == 0) {
            RWT_CHECK_STR(hits[i].content_type, "application/json");
            RWT_CHECK(strstr(hits[i].uri, "?token=t0k") != NULL);
        }
    pthread_mutex_unlock(&hits_mu);
}

static void test_cost_safety(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;
    json_object *bodies, *item;

    new_uuid(u);
    snprintf(prefix, sizeof(prefix), "/cs/%s", u);
    snprintf(extra, sizeof(extra),
             ",\"deliveryMethod\":\"async\",\"includeCost\":true,\"safety\":{\"checkContent\":"
             "true},\"webhookURL\":\"http://127.0.0.1:%d%s\"",
             recv_port, prefix);
    task_json(t, sizeof(t), u, extra);
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    resp_free(&r);
    RWT_CHECK_INT(wait_hits(prefix, 1, 5000), 1);
    bodies = hit_bodies(prefix, 0);
    item = jidx(jget(jidx(bodies, 0), "data"), 0);
    RWT_CHECK(item && json_object_is_type(jget(item, "cost"), json_type_double));
    RWT_CHECK(item && json_object_get_double(jget(item, "cost")) > 0.0 &&
              json_object_get_double(jget(item, "cost")) < 0.1);
    RWT_CHECK(item && json_object_is_type(jget(item, "NSFWContent"), json_type_boolean) &&
              !json_object_get_boolean(jget(item, "NSFWContent")));
    json_object_put(bodies);
}

static void test_sync(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900];
    struct resp r;
    json_object *data;
    int64_t t0;

    new_uuid(u);
    task_json(t, sizeof(t), u,
              ",\"numberResults\":2,\"outputType\":\"base64Data\",\"outputFormat\":\"PNG\"");
    snprintf(body, sizeof(body), "[%s]", t);
    t0 = now_ms();
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK(now_ms() - t0 >= MAIN_DELAY_MS - 5);
    RWT_CHECK_INT(r.status, 200);
    data = jget(r.json, "data");
    RWT_CHECK_INT(jlen(data), 2);
    for (size_t i = 0; i < jlen(data); i++) {
        RWT_CHECK_STR(jstr(jidx(data, i), "taskUUID"), u);
        check_output(jidx(data, i), 2);
    }
    resp_free(&r);

    /* an explicit sync task that fails generation at once: no data, a 500 */
    new_uuid(u);
    task_json(t, sizeof(t), u,
              ",\"deliveryMethod\":\"sync\",\"positivePrompt\":\"[sim:gen-fail] fox\"");
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 500);
    RWT_CHECK_INT(jlen(jget(r.json, "data")), 0);
    RWT_CHECK(first_error_code(&r) && (strcmp(first_error_code(&r), "timeoutProvider") == 0 ||
                                       strcmp(first_error_code(&r), "inferenceFailed") == 0));
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "errors"), 0), "taskUUID"), u);
    resp_free(&r);
}

static void test_retry(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;
    json_object *desc, *d0;

    new_uuid(u);
    snprintf(prefix, sizeof(prefix), "/fail2/%s", u);
    snprintf(extra, sizeof(extra),
             ",\"deliveryMethod\":\"async\",\"webhookURL\":\"http://127.0.0.1:%d%s\"", recv_port,
             prefix);
    task_json(t, sizeof(t), u, extra);
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    resp_free(&r);
    RWT_CHECK_INT(wait_hits(prefix, 3, 8000), 3);
    desc = wait_settled(main_sim.port, u, 5000);
    REQUIRE(desc != NULL);
    d0 = jidx(jget(desc, "deliveries"), 0);
    RWT_CHECK_INT(jlen(jget(desc, "deliveries")), 1);
    RWT_CHECK_INT(json_object_get_int(jget(d0, "attempts")), 3);
    RWT_CHECK_INT(json_object_get_int(jget(d0, "status")), 200);
    RWT_CHECK_INT(json_object_get_int(jget(desc, "submissions")), 1);
    json_object_put(desc);
    sleep_ms(300);
    RWT_CHECK_INT(wait_hits(prefix, 4, 0), 3);
}

static void test_get_response(void)
{
    char u[RW_UUID_LEN + 1], other[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;
    json_object *data, *bodies;

    new_uuid(u);
    snprintf(prefix, sizeof(prefix), "/gr/%s", u);
    snprintf(extra, sizeof(extra),
             ",\"deliveryMethod\":\"async\",\"numberResults\":2,\"webhookURL\":"
             "\"http://127.0.0.1:%d%s\"",
             recv_port, prefix);
    task_json(t, sizeof(t), u, extra);
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    resp_free(&r);

    snprintf(body, sizeof(body), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", u);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    data = jget(r.json, "data");
    RWT_CHECK_INT(jlen(data), 2);
    for (size_t i = 0; i < jlen(data); i++) {
        RWT_CHECK_STR(jstr(jidx(data, i), "status"), "processing");
        RWT_CHECK_STR(jstr(jidx(data, i), "taskUUID"), u);
        RWT_CHECK(jget(jidx(data, i), "imageURL") == NULL);
    }
    resp_free(&r);

    RWT_CHECK_INT(wait_hits(prefix, 2, 5000), 2);
    bodies = hit_bodies(prefix, 0);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    data = jget(r.json, "data");
    RWT_CHECK_INT(jlen(data), 2);
    for (size_t i = 0; i < jlen(data); i++) {
        json_object *it = jidx(data, i);
        const char *img = jstr(it, "imageUUID");
        bool matched = false;

        RWT_CHECK_STR(jstr(it, "status"), "success");
        RWT_CHECK(jstr(it, "imageURL") != NULL);
        for (size_t j = 0; img && j < jlen(bodies); j++) {
            const char *cb = jstr(jidx(jget(jidx(bodies, j), "data"), 0), "imageUUID");

            matched = matched || (cb && strcmp(cb, img) == 0);
        }
        RWT_CHECK(matched);
    }
    json_object_put(bodies);
    resp_free(&r);

    /* unknown task, alone: a per-task error and 400 */
    new_uuid(other);
    snprintf(body, sizeof(body), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", other);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 400);
    RWT_CHECK_STR(first_error_code(&r), "taskNotFound");
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "errors"), 0), "taskUUID"), other);
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "errors"), 0), "taskType"), "getResponse");
    resp_free(&r);
}

static void test_no_webhook(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900];
    struct resp r;
    json_object *desc;

    new_uuid(u);
    task_json(t, sizeof(t), u, ",\"deliveryMethod\":\"async\",\"numberResults\":2");
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    resp_free(&r);
    desc = wait_settled(main_sim.port, u, 5000);
    REQUIRE(desc != NULL);
    RWT_CHECK_INT(jlen(jget(desc, "deliveries")), 0);
    RWT_CHECK_INT(json_object_get_int(jget(desc, "images")), 2);
    json_object_put(desc);
    snprintf(body, sizeof(body), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", u);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(jlen(jget(r.json, "data")), 2);
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "data"), 1), "status"), "success");
    resp_free(&r);
}

static void test_gen_fail(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;
    json_object *desc, *bodies;
    int images = 0, errors = 0;
    char code[32] = "";

    for (int round = 0; round < 3; round++) {
        new_uuid(u);
        snprintf(prefix, sizeof(prefix), "/gf/%s", u);
        snprintf(extra, sizeof(extra),
                 ",\"deliveryMethod\":\"async\",\"numberResults\":4,\"positivePrompt\":\"fox "
                 "[sim:gen-fail]\",\"webhookURL\":\"http://127.0.0.1:%d%s\"",
                 recv_port, prefix);
        task_json(t, sizeof(t), u, extra);
        snprintf(body, sizeof(body), "[%s]", t);
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        resp_free(&r);
        desc = wait_settled(main_sim.port, u, 5000);
        REQUIRE(desc != NULL);
        RWT_CHECK(json_object_get_boolean(jget(desc, "failed")));
        sleep_ms(200);
        bodies = hit_bodies(prefix, 0);
        images = errors = 0;
        for (size_t i = 0; i < jlen(bodies); i++) {
            json_object *b = jidx(bodies, i), *e;

            if (jget(b, "data")) {
                images++;
                RWT_CHECK_INT(errors, 0); /* no image after the failure */
                continue;
            }
            errors++;
            e = jidx(jget(b, "errors"), 0);
            snprintf(code, sizeof(code), "%s", jstr(e, "code") ? jstr(e, "code") : "");
            RWT_CHECK(strcmp(code, "timeoutProvider") == 0 || strcmp(code, "inferenceFailed") == 0);
            RWT_CHECK_STR(jstr(e, "taskUUID"), u);
            RWT_CHECK_STR(jstr(e, "taskType"), "imageInference");
            RWT_CHECK(jstr(e, "message") != NULL);
        }
        RWT_CHECK_INT(errors, 1);
        RWT_CHECK(images < 4);
        RWT_CHECK_INT(json_object_get_int(jget(desc, "images")), images);
        json_object_put(bodies);
        json_object_put(desc);

        snprintf(body, sizeof(body), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", u);
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        RWT_CHECK_INT(jlen(jget(r.json, "data")), images);
        RWT_CHECK_INT(jlen(jget(r.json, "errors")), 1);
        RWT_CHECK_STR(jstr(jidx(jget(r.json, "errors"), 0), "taskUUID"), u);
        RWT_CHECK_STR(first_error_code(&r), code);
        resp_free(&r);
    }
}

static void test_triggers(void)
{
    static const struct {
        const char *trigger;
        int hits;
        bool bare;
        int records;
    } table[] = {
        {"[sim:drop]", 0, false, 2},
        {"[sim:dup]", 4, false, 4},
        {"[sim:bare]", 2, true, 2},
    };
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400];
    struct resp r;

    for (size_t row = 0; row < sizeof(table) / sizeof(table[0]); row++) {
        json_object *desc, *bodies;

        new_uuid(u);
        snprintf(prefix, sizeof(prefix), "/tr/%s", u);
        snprintf(extra, sizeof(extra),
                 ",\"deliveryMethod\":\"async\",\"numberResults\":2,\"positivePrompt\":\"fox "
                 "%s\",\"webhookURL\":\"http://127.0.0.1:%d%s\"",
                 table[row].trigger, recv_port, prefix);
        task_json(t, sizeof(t), u, extra);
        snprintf(body, sizeof(body), "[%s]", t);
        REQUIRE(post_api(body, &r) == 0);
        resp_free(&r);
        desc = wait_settled(main_sim.port, u, 5000);
        REQUIRE(desc != NULL);
        RWT_CHECK_INT(jlen(jget(desc, "deliveries")), table[row].records);
        json_object_put(desc);
        sleep_ms(200);
        RWT_CHECK_INT(wait_hits(prefix, 100, 0), table[row].hits);
        bodies = hit_bodies(prefix, 0);
        for (size_t i = 0; i < jlen(bodies); i++) {
            json_object *b = jidx(bodies, i);

            if (table[row].bare) {
                RWT_CHECK(jget(b, "data") == NULL);
                RWT_CHECK_STR(jstr(b, "taskUUID"), u);
                RWT_CHECK(jstr(b, "imageUUID") != NULL);
            } else {
                RWT_CHECK_INT(jlen(jget(b, "data")), 1);
            }
        }
        if (table[row].hits == 4) {
            /* each image twice, byte for byte the same body */
            int pairs = 0;

            for (size_t i = 0; i < jlen(bodies); i++)
                for (size_t j = i + 1; j < jlen(bodies); j++)
                    pairs += strcmp(json_object_to_json_string(jidx(bodies, i)),
                                    json_object_to_json_string(jidx(bodies, j))) == 0;
            RWT_CHECK_INT(pairs, 2);
        }
        json_object_put(bodies);
        /* results stay available by polling even when the callbacks were dropped */
        snprintf(body, sizeof(body), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", u);
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(jlen(jget(r.json, "data")), 2);
        resp_free(&r);
    }
}

static void test_faults(void)
{
    char u[RW_UUID_LEN + 1], t[512], body[600];
    struct resp r;

    new_uuid(u);
    task_json(t, sizeof(t), u, ",\"deliveryMethod\":\"async\"");
    snprintf(body, sizeof(body), "[%s]", t);

    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_500\":1}", &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    RWT_CHECK(json_object_get_double(jget(r.json, "fail_500")) == 1.0);
    resp_free(&r);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 500);
    RWT_CHECK_STR(first_error_code(&r), "internalServerError");
    resp_free(&r);
    /* auth comes first */
    REQUIRE(http_to(main_sim.port, "POST", "/v1", "bad", body, &r) == 0);
    RWT_CHECK_INT(r.status, 401);
    resp_free(&r);

    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_500\":0,\"fail_429\":1}",
                    &r) == 0);
    resp_free(&r);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 429);
    RWT_CHECK_STR(first_error_code(&r), "queueCapacityExceeded");
    resp_free(&r);

    /* 402: the account has no balance left */
    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_429\":0,\"fail_402\":1}",
                    &r) == 0);
    resp_free(&r);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 402);
    RWT_CHECK_STR(first_error_code(&r), "insufficientCredits");
    resp_free(&r);

    /* reset_before: no answer and the task is unknown; reset_after: no answer but the task
     * was accepted (getResponse finds it), and submitting it again counts as a resubmission */
    {
        struct resp st0, st1;
        json_object *desc;
        char path[128];

        REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &st0) == 0);
        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL,
                        "{\"fail_402\":0,\"reset_before\":1}", &r) == 0);
        resp_free(&r);
        new_uuid(u);
        task_json(t, sizeof(t), u, ",\"deliveryMethod\":\"async\"");
        snprintf(body, sizeof(body), "[%s]", t);
        RWT_CHECK(post_api(body, &r) < 0);
        resp_free(&r);
        snprintf(path, sizeof(path), "/_sim/task/%s", u);
        REQUIRE(http_to(main_sim.port, "GET", path, NULL, NULL, &r) == 0);
        RWT_CHECK_INT(r.status, 404);
        resp_free(&r);

        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL,
                        "{\"reset_before\":0,\"reset_after\":1}", &r) == 0);
        resp_free(&r);
        RWT_CHECK(post_api(body, &r) < 0);
        resp_free(&r);
        REQUIRE(http_to(main_sim.port, "GET", path, NULL, NULL, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        resp_free(&r);
        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"reset_after\":0}", &r) ==
                0);
        resp_free(&r);
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        resp_free(&r);
        REQUIRE(http_to(main_sim.port, "GET", path, NULL, NULL, &r) == 0);
        desc = r.json;
        RWT_CHECK_INT(json_object_get_int(jget(desc, "submissions")), 2);
        resp_free(&r);
        REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &st1) == 0);
        /* at least 2: an HTTP client may send a request again on a new connection when a
         * reused one closed without a byte (curl does), and the fault then strikes again */
        RWT_CHECK(json_object_get_int64(jget(st1.json, "connections_reset")) -
                      json_object_get_int64(jget(st0.json, "connections_reset")) >=
                  2);
        RWT_CHECK_INT(json_object_get_int64(jget(st1.json, "tasks_resubmitted")) -
                          json_object_get_int64(jget(st0.json, "tasks_resubmitted")),
                      1);
        resp_free(&st0);
        resp_free(&st1);
        new_uuid(u);
        task_json(t, sizeof(t), u, ",\"deliveryMethod\":\"async\"");
        snprintf(body, sizeof(body), "[%s]", t);
        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_429\":1}", &r) == 0);
        resp_free(&r);
    }

    /* a bad set changes nothing */
    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL,
                    "{\"fail_429\":0,\"no_such_rate\":0.5}", &r) == 0);
    RWT_CHECK_INT(r.status, 400);
    resp_free(&r);
    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_429\":0,\"gen_fail\":2}",
                    &r) == 0);
    RWT_CHECK_INT(r.status, 400);
    resp_free(&r);
    REQUIRE(http_to(main_sim.port, "GET", "/_sim/faults", NULL, NULL, &r) == 0);
    RWT_CHECK(json_object_get_double(jget(r.json, "fail_429")) == 1.0);
    RWT_CHECK(json_object_get_double(jget(r.json, "gen_fail")) == 0.0);
    resp_free(&r);

    REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"fail_429\":0}", &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    resp_free(&r);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    resp_free(&r);

    /* dup_callback at 1 through the runtime switch duplicates every callback */
    {
        char extra[300], prefix[64];

        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"dup_callback\":1}", &r) ==
                0);
        resp_free(&r);
        new_uuid(u);
        snprintf(prefix, sizeof(prefix), "/fd/%s", u);
        snprintf(extra, sizeof(extra),
                 ",\"deliveryMethod\":\"async\",\"webhookURL\":\"http://127.0.0.1:%d%s\"",
                 recv_port, prefix);
        task_json(t, sizeof(t), u, extra);
        snprintf(body, sizeof(body), "[%s]", t);
        REQUIRE(post_api(body, &r) == 0);
        resp_free(&r);
        RWT_CHECK_INT(wait_hits(prefix, 2, 5000), 2);
        REQUIRE(http_to(main_sim.port, "POST", "/_sim/faults", NULL, "{\"dup_callback\":0}", &r) ==
                0);
        resp_free(&r);
    }
}

static void test_seed_range(void)
{
    char u[RW_UUID_LEN + 1], t[512], body[600];
    struct resp r;
    json_object *item;

    new_uuid(u);
    task_json(t, sizeof(t), u, ",\"seed\":9223372036854775807");
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    item = jidx(jget(r.json, "data"), 0);
    RWT_CHECK(item && json_object_get_int64(jget(item, "seed")) == INT64_MAX);
    RWT_CHECK(r.raw && strstr(r.raw, "\"seed\":9223372036854775807") != NULL);
    resp_free(&r);

    /* without a seed: random, in the unsigned 32-bit range */
    new_uuid(u);
    task_json(t, sizeof(t), u, ",\"numberResults\":5");
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    for (size_t i = 0; i < jlen(jget(r.json, "data")); i++) {
        int64_t s = json_object_get_int64(jget(jidx(jget(r.json, "data"), i), "seed"));

        RWT_CHECK(s >= 0 && s <= 4294967295LL);
    }
    resp_free(&r);
}

static void test_resubmit(void)
{
    char u[RW_UUID_LEN + 1], t[800], body[900], prefix[64], extra[400], path[96];
    struct resp r;
    json_object *desc;

    new_uuid(u);
    snprintf(prefix, sizeof(prefix), "/rs/%s", u);
    snprintf(extra, sizeof(extra),
             ",\"deliveryMethod\":\"async\",\"webhookURL\":\"http://127.0.0.1:%d%s\"", recv_port,
             prefix);
    task_json(t, sizeof(t), u, extra);
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(post_api(body, &r) == 0);
    resp_free(&r);
    REQUIRE(post_api(body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "data"), 0), "taskUUID"), u);
    resp_free(&r);
    desc = wait_settled(main_sim.port, u, 5000);
    REQUIRE(desc != NULL);
    RWT_CHECK_INT(json_object_get_int(jget(desc, "submissions")), 2);
    json_object_put(desc);
    sleep_ms(200);
    RWT_CHECK_INT(wait_hits(prefix, 2, 0), 1);

    snprintf(path, sizeof(path), "/_sim/task/%s", "00000000-0000-4000-8000-000000000000");
    REQUIRE(http_to(main_sim.port, "GET", path, NULL, NULL, &r) == 0);
    RWT_CHECK_INT(r.status, 404);
    resp_free(&r);
}

static void test_keepalive(void)
{
    struct resp r;

    REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &r) == 0);
    resp_free(&r);
    REQUIRE(post_api("[]", &r) == 0);
    RWT_CHECK_INT(r.connects, 0); /* the connection was reused */
    resp_free(&r);
    REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &r) == 0);
    RWT_CHECK_INT(r.connects, 0);
    resp_free(&r);
}

/* Many tasks in flight at once: all callbacks arrive, nothing is left in flight. */
static void test_bulk(void)
{
    enum { REQS = 4, PER = 300 };
    static char body[PER * 400];
    char prefix[64];
    struct resp r;
    int64_t t0 = now_ms();

    snprintf(prefix, sizeof(prefix), "/bulk/");
    for (int q = 0; q < REQS; q++) {
        size_t off = 0;

        off += (size_t)snprintf(body + off, sizeof(body) - off, "[");
        for (int i = 0; i < PER; i++) {
            char u[RW_UUID_LEN + 1], t[400], extra[200];

            new_uuid(u);
            snprintf(extra, sizeof(extra),
                     ",\"deliveryMethod\":\"async\",\"webhookURL\":\"http://127.0.0.1:%d/bulk/"
                     "%s\"",
                     recv_port, u);
            task_json(t, sizeof(t), u, extra);
            off += (size_t)snprintf(body + off, sizeof(body) - off, "%s%s", i ? "," : "", t);
        }
        snprintf(body + off, sizeof(body) - off, "]");
        REQUIRE(post_api(body, &r) == 0);
        RWT_CHECK_INT(r.status, 200);
        RWT_CHECK_INT(jlen(jget(r.json, "data")), PER);
        resp_free(&r);
    }
    RWT_CHECK_INT(wait_hits(prefix, REQS * PER, 30000), REQS * PER);
    fprintf(stderr, "  bulk: %d callbacks in %lld ms\n", REQS * PER, (long long)(now_ms() - t0));
    sleep_ms(100);
    REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &r) == 0);
    RWT_CHECK_INT(json_object_get_int64(jget(r.json, "inflight_tasks")), 0);
    resp_free(&r);
}

static void test_stats(void)
{
    static const char *const keys[] = {"requests",
                                       "requests_by_status",
                                       "tasks_accepted",
                                       "task_errors",
                                       "images_generated",
                                       "callbacks_delivered",
                                       "callback_attempts",
                                       "callback_failed_attempts",
                                       "callbacks_dropped",
                                       "callbacks_duplicated",
                                       "callbacks_abandoned",
                                       "gen_failures",
                                       "inflight_tasks"};
    struct resp r;
    json_object *by;

    REQUIRE(http_to(main_sim.port, "GET", "/_sim/stats", NULL, NULL, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        RWT_CHECK(jget(r.json, keys[i]) != NULL);
    by = jget(r.json, "requests_by_status");
    RWT_CHECK(json_object_get_int64(jget(by, "200")) > 0);
    RWT_CHECK(json_object_get_int64(jget(by, "401")) > 0);
    RWT_CHECK(json_object_get_int64(jget(r.json, "requests")) >=
              json_object_get_int64(jget(by, "200")));
    RWT_CHECK(json_object_get_int64(jget(r.json, "callback_failed_attempts")) >= 2);
    RWT_CHECK(json_object_get_int64(jget(r.json, "callbacks_dropped")) >= 2);
    RWT_CHECK(json_object_get_int64(jget(r.json, "callbacks_duplicated")) >= 2);
    RWT_CHECK(json_object_get_int64(jget(r.json, "gen_failures")) >= 3);
    RWT_CHECK(json_object_get_int64(jget(r.json, "callback_attempts")) ==
              json_object_get_int64(jget(r.json, "callbacks_delivered")) +
                  json_object_get_int64(jget(r.json, "callback_failed_attempts")));
    resp_free(&r);
}

/* A second instance: retention expiry, body size limit, an unreachable receiver, SIGINT. */
static void test_retention_limits(void)
{
    static const char *const args[] = {"--retain-s",          "1", "--delay-ms", "10",
                                       "--jitter-ms",         "0", "--max-body", "4096",
                                       "--callback-attempts", "2", "--quiet",    NULL};
    struct sim_proc sp = {0};
    char u[RW_UUID_LEN + 1], t[800], body[900], gr[200], extra[300], path[96];
    static char big[5000];
    struct resp r;
    json_object *desc;
    int status;

    REQUIRE(sim_start(&sp, args) == 0);
    new_uuid(u);
    /* a closed port on the receiver side: both attempts fail, then it is abandoned */
    snprintf(extra, sizeof(extra), ",\"webhookURL\":\"http://127.0.0.1:%d/x\"", 1);
    task_json(t, sizeof(t), u, extra);
    snprintf(body, sizeof(body), "[%s]", t);
    REQUIRE(http_to(sp.port, "POST", "/v1", "sim-key", body, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    resp_free(&r);
    snprintf(gr, sizeof(gr), "[{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}]", u);
    REQUIRE(http_to(sp.port, "POST", "/v1", "sim-key", gr, &r) == 0);
    RWT_CHECK_INT(r.status, 200);
    RWT_CHECK_STR(jstr(jidx(jget(r.json, "data"), 0), "status"), "success");
    resp_free(&r);
    snprintf(path, sizeof(path), "/_sim/task/%s", u);
    sleep_ms(600);
    REQUIRE(http_to(sp.port, "GET", path, NULL, NULL, &r) == 0);
    desc = jidx(jget(r.json, "deliveries"), 0);
    RWT_CHECK_INT(json_object_get_int(jget(desc, "attempts")), 2);
    RWT_CHECK_INT(json_object_get_int(jget(desc, "status")), 0);
    resp_free(&r);
    REQUIRE(http_to(sp.port, "GET", "/_sim/stats", NULL, NULL, &r) == 0);
    RWT_CHECK_INT(json_object_get_int64(jget(r.json, "callbacks_abandoned")), 1);
    resp_free(&r);

    sleep_ms(1000);
    REQUIRE(http_to(sp.port, "POST", "/v1", "sim-key", gr, &r) == 0);
    RWT_CHECK_INT(r.status, 400);
    RWT_CHECK_STR(first_error_code(&r), "taskNotFound");
    resp_free(&r);
    REQUIRE(http_to(sp.port, "GET", path, NULL, NULL, &r) == 0);
    RWT_CHECK_INT(r.status, 404);
    resp_free(&r);

    memset(big, ' ', sizeof(big) - 1);
    big[0] = '[';
    big[sizeof(big) - 2] = ']';
    REQUIRE(http_to(sp.port, "POST", "/v1", "sim-key", big, &r) == 0);
    RWT_CHECK_INT(r.status, 413);
    resp_free(&r);

    status = sim_stop(&sp, SIGINT);
    RWT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_bad_options(void)
{
    static const char *const bad[][3] = {
        {"--fail-500", "1.5", NULL}, {"--delay-ms", "x", NULL}, {"--nope", NULL, NULL}};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid_t pid = fork();
        int status = 0;

        REQUIRE(pid >= 0);
        if (pid == 0) {
            const char *argv[5] = {sim_path, bad[i][0], bad[i][1], bad[i][2], NULL};
            int null = open("/dev/null", O_WRONLY);

            dup2(null, STDERR_FILENO);
            execv(sim_path, (char *const *)argv);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        RWT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    }
}

static void test_sigterm(void)
{
    int status = sim_stop(&main_sim, SIGTERM);

    RWT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const struct rwt_case cases[] = {
    {"auth", test_auth},
    {"bad_body", test_bad_body},
    {"mixed", test_mixed},
    {"ack_shape", test_ack_shape},
    {"callbacks", test_callbacks},
    {"cost_safety", test_cost_safety},
    {"sync", test_sync},
    {"retry", test_retry},
    {"get_response", test_get_response},
    {"no_webhook", test_no_webhook},
    {"gen_fail", test_gen_fail},
    {"triggers", test_triggers},
    {"faults", test_faults},
    {"seed_range", test_seed_range},
    {"resubmit", test_resubmit},
    {"keepalive", test_keepalive},
    {"bulk", test_bulk},
    {"stats", test_stats},
    {"retention_limits", test_retention_limits},
    {"bad_options", test_bad_options},
    {"sigterm", test_sigterm},
};

int main(int argc, char **argv)
{
    static const char *const args[] = {"--seed",      "4242", "--delay-ms", "300",
                                       "--jitter-ms", "100",  NULL};
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: sim_selftest PATH-TO-runware-sim [CASE-FILTER]\n");
        return 2;
    }
    sim_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(curl = curl_easy_init())) {
        fprintf(stderr, "sim_selftest: curl init failed\n");
        return 1;
    }
    if (recv_start() != 0) {
        fprintf(stderr, "sim_selftest: cannot start the webhook receiver\n");
        return 1;
    }
    if (sim_start(&main_sim, args) != 0) {
        recv_shutdown();
        return 1;
    }
    rc = rwt_run(cases, sizeof(cases) / sizeof(cases[0]), argc - 1, argv + 1);
    if (main_sim.pid > 0)
        sim_stop(&main_sim, SIGKILL);
    recv_shutdown();
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
