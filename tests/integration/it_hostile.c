/* Hostile input: forged, missing and swapped tokens, malformed bodies, wrong methods, an 80 MiB
 * callback, hundreds of idle connections while a real callback arrives, and jobs that are too
 * large, too deep, not UTF-8 or not an object. In every case runwared keeps running, the real
 * task completes exactly once, and the API key appears in no log, Redis key or value, or record.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rw_token.h"

#define TASK "\"width\":1024,\"height\":1024"
#define IDLE 300
#define MIB  (1024 * 1024)

/* True when the server has closed fd (EOF or reset) within timeout_ms. */
static bool closed_by_server(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    return read(fd, &c, 1) <= 0;
}

static long vm_hwm_kb(pid_t pid)
{
    char path[64], *s, *p;
    long kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(s = it_read_file(path, NULL)))
        return -1;
    if ((p = strstr(s, "VmHWM:")))
        kb = strtol(p + 6, NULL, 10);
    free(s);
    return kb;
}

/* Sends headers announcing an 80 MiB body, then up to `send_mib` MiB of it while reading: the
 * answer must be 413, and runwared's peak RSS must not grow by the body. */
static void post_80mib(struct it_env *e, const char *path, bool chunked, int send_mib)
{
    int fd = it_tcp_connect(e);
    char *head = chunked ? it_fmt("POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  "Content-Type: application/json\r\n\r\n%x\r\n",
                                  path, 80 * MIB)
                         : it_fmt("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                                  "Content-Type: application/json\r\n\r\n",
                                  path, 80 * MIB);
    static char chunk[64 * 1024];
    char ans[4096];
    size_t sent = 0;

    memset(chunk, 'a', sizeof(chunk));
    if (write(fd, head, strlen(head)) != (ssize_t)strlen(head))
        it_die(e, "cannot send the headers");
    for (int i = 0; i < send_mib * 16; i++) {
        struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
        if (poll(&p, 1, 2000 * it_slow()) <= 0 || (p.revents & (POLLIN | POLLERR | POLLHUP)))
            break; /* the server answered, closed, or stopped reading */
        ssize_t w = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
    it_read_answer(fd, ans, sizeof(ans), 5000 * it_slow());
    IT_EXPECT(strncmp(ans, "HTTP/1.1 413", 12) == 0,
              "80 MiB %s body: expected 413 after sending %zu bytes, got: %.80s",
              chunked ? "chunked" : "Content-Length", sent, ans);
    close(fd);
    free(head);
}

/* Every key and value in Redis, and every record, must be free of the API key and the secret. */
static void expect_redis_clean(struct it_env *e)
{
    redisReply *keys = it_redis(e, "KEYS *");

    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t = it_redis(e, "TYPE %s", k), *v = NULL;
        IT_EXPECT(!strstr(k, e->api_key), "the API key is in the Redis key name %s", k);
        if (!strcmp(t->str, "string"))
            v = it_redis(e, "GET %s", k);
        else if (!strcmp(t->str, "list"))
            v = it_redis(e, "LRANGE %s 0 -1", k);
        else if (!strcmp(t->str, "hash"))
            v = it_redis(e, "HGETALL %s", k);
        else if (!strcmp(t->str, "set"))
            v = it_redis(e, "SMEMBERS %s", k);
        else if (!strcmp(t->str, "zset"))
            v = it_redis(e, "ZRANGE %s 0 -1", k);
        if (v && v->type == REDIS_REPLY_STRING)
            IT_EXPECT(!memmem(v->str, v->len, e->api_key, strlen(e->api_key)),
                      "the API key is in Redis key %s", k);
        for (size_t j = 0; v && v->type == REDIS_REPLY_ARRAY && j < v->elements; j++)
            IT_EXPECT(
                !memmem(v->element[j]->str, v->element[j]->len, e->api_key, strlen(e->api_key)),
                "the API key is in Redis key %s", k);
        freeReplyObject(v);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
}

static void expect_records_clean(struct it_env *e, struct it_records *recs)
{
    for (size_t i = 0; i < recs->n; i++) {
        IT_EXPECT(!strstr(recs->v[i].raw, e->api_key), "the API key is in a record");
        IT_EXPECT(!memmem(recs->v[i].raw, strlen(recs->v[i].raw), e->secret, e->secret_len),
                  "the webhook secret is in a record");
    }
}

static long post(const char *method, const char *url, const char *body)
{
    return it_http(method, url, body, body ? strlen(body) : 0, NULL, 5000 * it_slow());
}

/* The real task is held by the sim for 4 s; meanwhile every hostile callback is tried, and 300
 * idle connections stay open when its callback arrives. */
static void test_callbacks(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u[37], other[37], tok[RW_TOKEN_LEN + 1], tok_other[RW_TOKEN_LEN + 1];
    int idle[IDLE];

    it_uuid(u);
    it_uuid(other);
    it_env_init(&e, "hc");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "4000", "--jitter-ms", "0", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "callback_idle_timeout = 6\n");
    long hwm0 = vm_hwm_kb(e.rw.pid);

    char *job = it_fmt("{\"task\":{\"positivePrompt\":\"a lighthouse\"," TASK
                       ",\"taskUUID\":\"%s\"},\"resultList\":\"hc:out\"}",
                       u);
    it_push(&e, job);
    for (int i = 0; i < IDLE; i++)
        idle[i] = it_tcp_connect(&e);

    if (rw_token_make(e.secret, e.secret_len, u, tok) < 0 ||
        rw_token_make(e.secret, e.secret_len, other, tok_other) < 0)
        it_die(&e, "rw_token_make");
    char *item = it_fmt("{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                        "\"imageUUID\":\"11111111-1111-4111-8111-111111111111\","
                        "\"imageURL\":\"https://im.example/forged.jpg\"}]}",
                        u);
    char forged[RW_TOKEN_LEN + 1];
    memcpy(forged, tok, sizeof(forged));
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    char *u_forged = it_fmt("%s/callback/%s?token=%s", e.rw_url, u, forged);
    char *u_missing = it_fmt("%s/callback/%s", e.rw_url, u);
    char *u_swapped = it_fmt("%s/callback/%s?token=%s", e.rw_url, u, tok_other);
    char *u_good = it_fmt("%s/callback/%s?token=%s", e.rw_url, u, tok);
    char *u_other = it_fmt("%s/callback/%s?token=%s", e.rw_url, other, tok_other);
    char *path_good = it_fmt("/callback/%s?token=%s", u, tok);

    char *item_other = it_fmt("{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                              "\"imageUUID\":\"22222222-2222-4222-8222-222222222222\","
                              "\"imageURL\":\"https://im.example/other.jpg\"}]}",
                              other);
    int64_t t0 = it_now_ms();
    long code = post("POST", u_other, item_other);
    int64_t took = it_now_ms() - t0;
    IT_EXPECT(code == 404, "a callback for an unknown task -> %ld, expected 404", code);
    IT_EXPECT(took < 1000 * it_slow(),
              "with %d idle connections open a callback took %lld ms to be answered", IDLE,
              (long long)took);
    fprintf(stderr, "  a callback answered in %lld ms with %d idle connections open\n",
            (long long)took, IDLE);

    IT_EXPECT((code = post("POST", u_forged, item)) == 401, "forged token -> %ld", code);
    IT_EXPECT((code = post("POST", u_missing, item)) == 401, "missing token -> %ld", code);
    IT_EXPECT((code = post("POST", u_swapped, item)) == 401, "swapped token -> %ld", code);
    IT_EXPECT((code = post("POST", u_good, "{\"data\":[{\"imageUUID\":")) == 400,
              "malformed JSON with a valid token -> %ld", code);
    IT_EXPECT((code = post("POST", u_good, "[1,2,3]")) == 400, "a JSON array -> %ld", code);
    IT_EXPECT((code = post("GET", u_good, NULL)) == 405, "GET on the callback path -> %ld", code);
    static const char *const methods[] = {"PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        IT_EXPECT((code = post(methods[i], u_good, NULL)) == 405,
                  "%s on the callback path -> %ld, expected 405", methods[i], code);
    IT_EXPECT((code = post("GET", u_missing, NULL)) == 405, "GET without a token -> %ld", code);
    char *nowhere = it_fmt("%s/nowhere", e.rw_url);
    IT_EXPECT((code = post("POST", nowhere, item)) == 404, "POST elsewhere -> %ld", code);
    free(nowhere);
    char *hdr = it_fmt("%s/callback/%s?token=%s&x=%0*d", e.rw_url, u, tok, 20000, 0);
    IT_EXPECT((code = post("POST", hdr, item)) >= 400 && code < 500,
              "a 20 KB request line -> %ld, expected a 4xx", code);
    free(hdr);

    post_80mib(&e, path_good, false, 4);
    post_80mib(&e, path_good, true, 4);
    long hwm1 = vm_hwm_kb(e.rw.pid);
    IT_EXPECT(hwm0 > 0 && hwm1 - hwm0 < 16 * 1024,
              "runwared's peak RSS grew from %ld to %ld kB over the 80 MiB callbacks", hwm0, hwm1);
    fprintf(stderr, "  peak RSS %ld kB before the 80 MiB callbacks, %ld kB after\n", hwm0, hwm1);

    /* the real callback arrives about 4 s after submission, the idle connections still open */
    const char *lists[] = {"hc:out"};
    size_t got = it_collect(&e, lists, 1, 1, 15000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "the real task: %zu records, expected 1", got);
    if (got == 1)
        it_check_success(&recs.v[0], "the real task", u, "hc:out", 1, NULL, NULL);
    /* a callback with a valid token for the finished task changes nothing */
    IT_EXPECT((code = post("POST", u_good, item)) == 200,
              "a late image for the finished task -> %ld, expected 200 (absorbed)", code);
    it_expect_no_more(&e, lists, 1, 1500);

    /* idle connections are closed after callback_idle_timeout (6 s) */
    int open_after = 0;
    for (int i = 0; i < IDLE; i++) {
        if (!closed_by_server(idle[i], 8000 * it_slow()))
            open_after++;
        close(idle[i]);
    }
    IT_EXPECT(open_after == 0, "%d of %d idle connections were not closed", open_after, IDLE);
    IT_EXPECT(it_rw_health(&e) == 200, "runwared is not healthy after the hostile callbacks");
    it_expect_quiescent(&e);
    expect_redis_clean(&e);
    expect_records_clean(&e, &recs);

    free(job);
    free(item);
    free(item_other);
    free(u_forged);
    free(u_missing);
    free(u_swapped);
    free(u_good);
    free(u_other);
    free(path_good);
    it_records_free(&recs);
    it_env_finish(&e);
}

static size_t count_of(const char *s, const char *what)
{
    size_t n = 0;

    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void send_all(struct it_env *e, int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        it_die(e, "write: %s", strerror(errno));
}

/* HTTP as Runware's (or a proxy's) client may speak it, on raw sockets: requests pipelined on
 * one connection answered in order, Expect: 100-continue, a chunked callback that completes the
 * real task, HTTP/1.0 closing, HEAD answered without a body, transfer codings refused. */
static void test_protocol(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u[37], a[37], b[37], tu[RW_TOKEN_LEN + 1], ta[RW_TOKEN_LEN + 1], tb[RW_TOKEN_LEN + 1];
    char ans[8192];
    int fd;

    it_uuid(u);
    it_uuid(a);
    it_uuid(b);
    it_env_init(&e, "hp");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "4000", "--jitter-ms", "0", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "");
    if (rw_token_make(e.secret, e.secret_len, u, tu) < 0 ||
        rw_token_make(e.secret, e.secret_len, a, ta) < 0 ||
        rw_token_make(e.secret, e.secret_len, b, tb) < 0)
        it_die(&e, "rw_token_make");
    char *job = it_fmt("{\"task\":{\"positivePrompt\":\"a mill\"," TASK
                       ",\"taskUUID\":\"%s\"},\"resultList\":\"hp:out\"}",
                       u);
    it_push(&e, job);
    it_sleep_ms(500); /* submitted: the sim calls back only after 4 s */

    /* two callbacks for unknown tasks in one write: two answers, in order */
    char *body_a = it_fmt("{\"data\":[{\"taskUUID\":\"%s\",\"imageUUID\":"
                          "\"44444444-4444-4444-8444-444444444444\",\"imageURL\":\"x\"}]}",
                          a);
    char *body_b = it_fmt("{\"data\":[{\"taskUUID\":\"%s\",\"imageUUID\":"
                          "\"55555555-5555-4555-8555-555555555555\",\"imageURL\":\"x\"}]}",
                          b);
    char *two = it_fmt("POST /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                       "\r\n%sPOST /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: %zu\r\n\r\n%sPOST /callback/%s?token=bad HTTP/1.1\r\n"
                       "Host: x\r\nContent-Length: 2\r\n\r\n{}",
                       a, ta, strlen(body_a), body_a, b, tb, strlen(body_b), body_b, a);
    fd = it_tcp_connect(&e);
    send_all(&e, fd, two);
    it_read_until(fd, ans, sizeof(ans), "HTTP/1.1 401", 5000 * it_slow());
    IT_EXPECT(count_of(ans, "HTTP/1.1 404") == 2 && strstr(ans, "HTTP/1.1 401") &&
                  strstr(ans, "HTTP/1.1 401") > strstr(strstr(ans, "HTTP/1.1 404") + 1, "404"),
              "three pipelined requests: expected 404, 404, 401 in order, got: %.300s", ans);

    /* Expect: 100-continue: the interim answer, then the real one once the body is sent */
    char *head = it_fmt("POST /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                        "Expect: 100-continue\r\n\r\n",
                        a, ta, strlen(body_a));
    send_all(&e, fd, head);
    it_read_until(fd, ans, sizeof(ans), "\r\n\r\n", 3000 * it_slow());
    IT_EXPECT(strncmp(ans, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0,
              "Expect: 100-continue: got %.80s", ans);
    send_all(&e, fd, body_a);
    it_read_until(fd, ans, sizeof(ans), "}\n", 3000 * it_slow());
    IT_EXPECT(strncmp(ans, "HTTP/1.1 404", 12) == 0, "after 100 Continue: got %.80s", ans);

    /* HEAD gets the head of its 405 and no body: the next answer on the connection is whole */
    char *hd = it_fmt("HEAD /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
                      a, ta);
    send_all(&e, fd, hd);
    it_read_until(fd, ans, sizeof(ans), "not found\"}\n", 3000 * it_slow());
    char *second = strstr(ans + 1, "HTTP/1.1 ");
    IT_EXPECT(strncmp(ans, "HTTP/1.1 405", 12) == 0 && strstr(ans, "Allow: POST\r\n") && second &&
                  strstr(ans, "\r\n\r\n") + 4 == second && strncmp(second, "HTTP/1.1 404", 12) == 0,
              "HEAD then GET: got %.300s", ans);
    close(fd);

    /* the real task's image, chunked in three pieces, with a trailer */
    char *item = it_fmt("{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                        "\"imageUUID\":\"66666666-6666-4666-8666-666666666666\","
                        "\"imageURL\":\"https://im.example/chunked.jpg\"}]}",
                        u);
    size_t third = strlen(item) / 3;
    char *chunked = it_fmt("POST /callback/%s?token=%s HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx;ext=1\r\n%.*s\r\n"
                           "%zx\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n",
                           u, tu, third, (int)third, item, third, (int)third, item + third,
                           strlen(item) - 2 * third, item + 2 * third);
    fd = it_tcp_connect(&e);
    /* sent in small pieces: the listener puts the request together across reads */
    for (size_t off = 0, n = strlen(chunked); off < n; off += 7) {
        if (write(fd, chunked + off, n - off < 7 ? n - off : 7) <= 0)
            it_die(&e, "write");
        if (off % 70 == 0)
            it_sleep_ms(1);
    }
    it_read_until(fd, ans, sizeof(ans), "}\n", 3000 * it_slow());
    IT_EXPECT(strncmp(ans, "HTTP/1.1 200", 12) == 0, "a chunked callback: got %.80s", ans);
    close(fd);

    /* HTTP/1.0 without keep-alive: answered, then closed */
    char *old = it_fmt("POST /callback/%s?token=%s HTTP/1.0\r\nContent-Length: %zu\r\n\r\n%s", b,
                       tb, strlen(body_b), body_b);
    fd = it_tcp_connect(&e);
    send_all(&e, fd, old);
    it_read_until(fd, ans, sizeof(ans), "}\n", 3000 * it_slow());
    IT_EXPECT(strncmp(ans, "HTTP/1.1 404", 12) == 0 && strstr(ans, "Connection: close\r\n"),
              "HTTP/1.0: got %.200s", ans);
    IT_EXPECT(closed_by_server(fd, 3000 * it_slow()), "HTTP/1.0: the connection stays open");
    close(fd);

    /* transfer codings other than chunked, conflicting framing: refused, then closed */
    static const char *const refused[][2] = {
        {"POST /callback/x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501"},
        {"POST /callback/x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         "HTTP/1.1 400"},
        {"POST /callback/x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         "HTTP/1.1 400"},
        {"POST /callback/x HTTP/3.0\r\n\r\n", "HTTP/1.1 505"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fd = it_tcp_connect(&e);
        send_all(&e, fd, refused[i][0]);
        it_read_until(fd, ans, sizeof(ans), "}\n", 3000 * it_slow());
        IT_EXPECT(strncmp(ans, refused[i][1], 12) == 0, "%.40s...: got %.80s, expected %s",
                  refused[i][0], ans, refused[i][1]);
        IT_EXPECT(closed_by_server(fd, 3000 * it_slow()), "%.40s...: the connection stays open",
                  refused[i][0]);
        close(fd);
    }

    const char *lists[] = {"hp:out"};
    size_t got = it_collect(&e, lists, 1, 1, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "the real task: %zu records, expected 1", got);
    if (got == 1) {
        it_check_success(&recs.v[0], "the real task", u, "hp:out", 1, NULL, NULL);
        IT_EXPECT(strstr(recs.v[0].raw, "https://im.example/chunked.jpg") != NULL,
                  "the record is not the chunked callback's image: %.300s", recs.v[0].raw);
    }
    it_expect_no_more(&e, lists, 1, 4500); /* the sim's own callback, at 4 s, is absorbed */
    IT_EXPECT(it_rw_health(&e) == 200, "runwared is not healthy after the protocol test");
    expect_redis_clean(&e);
    expect_records_clean(&e, &recs);
    free(job);
    free(body_a);
    free(body_b);
    free(two);
    free(head);
    free(hd);
    free(item);
    free(chunked);
    free(old);
    it_records_free(&recs);
    it_env_finish(&e);
}

/* With the cap reached by idle and slow connections, a new connection evicts the one silent
 * longest, so a real callback still gets in; a slow sender is cut at callback_request_timeout. */
static void test_connection_cap(void)
{
    struct it_env e;
    struct it_records recs = {0};
    enum { N = 40 };
    int fds[N];
    char u[37];

    it_uuid(u);
    it_env_init(&e, "cap");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "2500", "--jitter-ms", "0", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, "max_callback_connections = 16\ncallback_request_timeout = 3\n"
                    "callback_idle_timeout = 60\nmax_callback_bytes = 1048576\n");
    char *job = it_fmt("{\"task\":{\"positivePrompt\":\"a fox\"," TASK
                       ",\"taskUUID\":\"%s\"},\"resultList\":\"cap:out\"}",
                       u);
    it_push(&e, job);
    for (int i = 0; i < N; i++) {
        fds[i] = it_tcp_connect(&e);
        /* half of them trickle a request that never ends */
        if (i % 2 && write(fds[i], "POST /callback/", 15) != 15)
            it_die(&e, "write");
        it_sleep_ms(5);
    }
    it_sleep_ms(200);
    int evicted = 0;
    for (int i = 0; i < N; i++)
        evicted += closed_by_server(fds[i], 0);
    IT_EXPECT(evicted >= N - 16, "only %d of %d connections were evicted over a cap of 16", evicted,
              N);
    /* a callback (for another task, valid token: 404 once Redis says so) still gets in */
    char other[37], tok[RW_TOKEN_LEN + 1];
    it_uuid(other);
    if (rw_token_make(e.secret, e.secret_len, other, tok) < 0)
        it_die(&e, "rw_token_make");
    char *url = it_fmt("%s/callback/%s?token=%s", e.rw_url, other, tok);
    int64_t t0 = it_now_ms();
    char *body = it_fmt("{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                        "\"imageUUID\":\"33333333-3333-4333-8333-333333333333\","
                        "\"imageURL\":\"https://im.example/x.jpg\"}]}",
                        other);
    long code = post("POST", url, body);
    IT_EXPECT(code == 404, "a callback (unknown task) with the cap reached -> %ld", code);
    free(body);
    fprintf(stderr, "  a callback answered in %lld ms with the cap of 16 reached\n",
            (long long)(it_now_ms() - t0));
    free(url);
    const char *lists[] = {"cap:out"};
    size_t got = it_collect(&e, lists, 1, 1, 15000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "the real task: %zu records, expected 1", got);
    if (got == 1)
        it_check_success(&recs.v[0], "the real task", u, "cap:out", 1, NULL, NULL);
    it_expect_no_more(&e, lists, 1, 500);
    /* the trickling ones still open are cut at callback_request_timeout (3 s), idle or not */
    int open_after = 0;
    for (int i = 0; i < N; i++) {
        if (!closed_by_server(fds[i], 6000 * it_slow()))
            open_after++;
        close(fds[i]);
    }
    IT_EXPECT(open_after == 0, "%d connections outlived callback_request_timeout", open_after);

    /* a chunked body whose chunk-size line never ends is cut once it exceeds what a request
     * may hold (max_callback_bytes 1 MiB here): closed, not buffered without end */
    long hwm0 = vm_hwm_kb(e.rw.pid);
    int fd = it_tcp_connect(&e);
    const char *head = "POST /callback/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    static char junk[64 * 1024];
    size_t sent = 0;
    memset(junk, 'f', sizeof(junk));
    if (write(fd, head, strlen(head)) != (ssize_t)strlen(head))
        it_die(&e, "write");
    while (sent < 16 * MIB) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 3000 * it_slow()) <= 0 || (p.revents & (POLLERR | POLLHUP)))
            break;
        ssize_t w = send(fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
    IT_EXPECT(sent < 16 * MIB, "a never-ending chunk-size line: all %zu bytes were taken", sent);
    IT_EXPECT(closed_by_server(fd, 3000 * it_slow()),
              "a never-ending chunk-size line: the connection stays open after %zu bytes", sent);
    close(fd);
    long hwm1 = vm_hwm_kb(e.rw.pid);
    IT_EXPECT(hwm1 - hwm0 < 8 * 1024, "peak RSS grew from %ld to %ld kB on a 1 MiB limit", hwm0,
              hwm1);
    fprintf(stderr,
            "  a never-ending chunk-size line cut after %zu bytes sent; peak RSS %ld -> %ld kB\n",
            sent, hwm0, hwm1);
    IT_EXPECT(it_rw_health(&e) == 200, "runwared is not healthy after the cap test");
    expect_redis_clean(&e);
    expect_records_clean(&e, &recs);
    free(job);
    it_records_free(&recs);
    it_env_finish(&e);
}

static char *deep_job(int depth)
{
    size_t n = 2 * (size_t)depth + 64;
    char *s = malloc(n), *p;
    if (!s)
        return NULL;
    p = s + sprintf(s, "{\"positivePrompt\":\"deep\",\"meta\":");
    memset(p, '[', depth);
    p += depth;
    memset(p, ']', depth);
    p += depth;
    strcpy(p, "}");
    return s;
}

/* Jobs too large, too deep, not UTF-8, not an object: one error record each, raw payload kept
 * in <prefix>:dead (and LMOVE requeues it), a real job beside them completes once. */
static void test_jobs(void)
{
    struct it_env e;
    struct it_records recs = {0};
    char u[37], dead[64], jobs[64];

    it_uuid(u);
    it_env_init(&e, "hj");
    it_redis_start(&e);
    const char *sim[] = {"--delay-ms", "50", "--jitter-ms", "0", NULL};
    it_sim_start(&e, sim);
    it_rw_start(&e, NULL);
    it_key(&e, dead, sizeof(dead), "dead");
    it_key(&e, jobs, sizeof(jobs), "jobs");

    size_t bign = 12 * MIB;
    char *big = malloc(bign + 1);
    if (!big)
        it_die(&e, "out of memory");
    int off = sprintf(big, "{\"positivePrompt\":\"");
    memset(big + off, 'a', bign - off - 2);
    memcpy(big + bign - 2, "\"}", 3);
    char *deep = deep_job(100000);
    const char *utf8 = "{\"positivePrompt\":\"a \xff\xfe cat\"," TASK "}";
    const char *array = "[{\"positivePrompt\":\"a cat\"}]";
    char *good = it_fmt("{\"positivePrompt\":\"a real one\"," TASK ",\"taskUUID\":\"%s\"}", u);
    struct {
        const char *what, *payload, *code, *msg;
        size_t len;
    } bad[] = {
        {"a 12 MiB job", big, "invalidJob", "larger than max_job_bytes", bign},
        {"a 100,000-deep job", deep, "invalidJSON", "nested deeper than 32", 0},
        {"invalid UTF-8", utf8, "invalidJSON", "not valid UTF-8", 0},
        {"a JSON array", array, "invalidJob", NULL, 0},
    };
    const size_t nbad = sizeof(bad) / sizeof(bad[0]);

    for (size_t i = 0; i < nbad; i++) {
        if (!bad[i].len)
            bad[i].len = strlen(bad[i].payload);
        freeReplyObject(it_redis(&e, "LPUSH %s %b", jobs, bad[i].payload, bad[i].len));
    }
    it_push(&e, good);

    char results[64];
    it_key(&e, results, sizeof(results), "results");
    const char *lists[] = {results};
    size_t got = it_collect(&e, lists, 1, nbad + 1, 20000 * it_slow(), &recs);
    IT_EXPECT(got == nbad + 1, "%zu records, expected %zu", got, nbad + 1);
    struct it_record *real = it_records_find(&recs, u);
    IT_EXPECT(real != NULL, "the real job has no record");
    if (real)
        it_check_success(real, "the real job", u, results, 1, NULL, NULL);
    for (size_t i = 0; i < nbad; i++) {
        bool found = false;
        for (size_t j = 0; j < recs.n && !found; j++) {
            struct it_record *r = &recs.v[j];
            json_object *e0 = json_object_array_get_idx(it_jget(r->obj, "errors"), 0);
            const char *code = it_jstr(e0, "code"), *msg = it_jstr(e0, "message");
            if (r == real || !code || strcmp(code, bad[i].code) ||
                (bad[i].msg && (!msg || !strstr(msg, bad[i].msg))))
                continue;
            found = true;
            IT_EXPECT(!strcmp(it_jstr(r->obj, "status") ?: "", "error"), "%s: status: %.300s",
                      bad[i].what, r->raw);
            IT_EXPECT(strlen(r->raw) < 64 * 1024 || i != 0,
                      "%s: the record should not carry the payload (%zu bytes)", bad[i].what,
                      strlen(r->raw));
        }
        IT_EXPECT(found, "%s: no %s record", bad[i].what, bad[i].code);
    }
    it_expect_no_more(&e, lists, 1, 500);

    /* the dead-letter list holds each raw payload, byte for byte, oldest last */
    redisReply *d = it_redis(&e, "LRANGE %s 0 -1", dead);
    IT_EXPECT(d->elements == nbad, "%s holds %zu entries, expected %zu", dead, d->elements, nbad);
    for (size_t i = 0; i < nbad && i < d->elements; i++) {
        redisReply *x = d->element[nbad - 1 - i];
        IT_EXPECT(x->len == bad[i].len && !memcmp(x->str, bad[i].payload, bad[i].len),
                  "%s: the dead-letter entry is not the raw payload (%zu bytes, expected %zu)",
                  bad[i].what, x->len, bad[i].len);
    }
    freeReplyObject(d);

    /* LMOVE requeues one: it is refused again and lands in :dead again */
    freeReplyObject(it_redis(&e, "LMOVE %s %s LEFT LEFT", dead, jobs));
    size_t before = recs.n;
    got = it_collect(&e, lists, 1, 1, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "a requeued dead job got %zu records, expected 1", got);
    if (got == 1)
        it_check_error(&recs.v[before], "the requeued JSON array", "invalidJob", NULL);
    IT_EXPECT(it_llen(&e, dead) == (long long)nbad, "the requeued job is not back in %s", dead);

    /* a member name with a newline, echoed in the refusal's log line, forges no line */
    it_push(&e, "{\"task\":{\"positivePrompt\":\"x\"},\"a\\nINJECTED info: forged\":1}");
    before = recs.n;
    got = it_collect(&e, lists, 1, 1, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "the job with a newline in a member name got %zu records", got);
    if (got == 1)
        it_check_error(&recs.v[before], "a newline in a member name", "unknownParameter", NULL);
    char *log = it_read_file(e.rw.err_path, NULL);
    IT_EXPECT(log && !strstr(log, "\nINJECTED"), "a job's text forged a log line");
    free(log);

    IT_EXPECT(it_rw_health(&e) == 200, "runwared is not healthy after the hostile jobs");
    it_expect_quiescent(&e);
    expect_redis_clean(&e);
    expect_records_clean(&e, &recs);
    free(big);
    free(deep);
    free(good);
    it_records_free(&recs);
    it_env_finish(&e);
}

/* One job through the current runwared: the sim demands the API key, so a success record
 * proves runwared sent the right one. */
static void expect_job_ok(struct it_env *e, const char *what)
{
    struct it_records recs = {0};
    char u[37];
    it_uuid(u);
    char *job = it_fmt("{\"task\":{\"positivePrompt\":\"a key test\"," TASK
                       ",\"taskUUID\":\"%s\"},\"resultList\":\"hk:out\"}",
                       u);
    const char *lists[] = {"hk:out"};
    it_push(e, job);
    size_t got = it_collect(e, lists, 1, 1, 10000 * it_slow(), &recs);
    IT_EXPECT(got == 1, "%s: %zu records, expected 1", what, got);
    if (got == 1)
        it_check_success(&recs.v[0], what, u, "hk:out", 1, NULL, NULL);
    expect_records_clean(e, &recs);
    it_records_free(&recs);
    free(job);
}

static bool log_has(struct it_env *e, const char *needle)
{
    char *log = it_read_file(e->rw.err_path, NULL);
    bool has = log && strstr(log, needle);
    free(log);
    return has;
}

/* The API key from api_key_file (with a warning when others may read it), from the systemd
 * credential, from the environment; none of them: a clear refusal to start. */
static void test_keys(void)
{
    struct it_env e;
    char keyfile[PATH_MAX], creds[PATH_MAX];

    it_env_init(&e, "hk");
    it_redis_start(&e);
    it_sim_start(&e, NULL);
    it_rw_start(&e, NULL);
    IT_EXPECT(!log_has(&e, "may be read by"), "a key file of mode 0600 got a warning");
    expect_job_ok(&e, "api_key_file (0600)");
    it_rw_stop(&e);

    snprintf(keyfile, sizeof(keyfile), "%s/api.key", e.dir);
    chmod(keyfile, 0640);
    it_rw_restart(&e);
    IT_EXPECT(log_has(&e, "api_key_file") && log_has(&e, "may be read by its group"),
              "no warning for a key file of mode 0640");
    expect_job_ok(&e, "api_key_file (0640)");
    it_rw_stop(&e);

    /* the same config without api_key_file: the credential, then the environment */
    char *conf = it_read_file(e.conf_path, NULL), *line;
    if (!conf || !(line = strstr(conf, "api_key_file = ")))
        it_die(&e, "no api_key_file line in %s", e.conf_path);
    line[0] = '#';
    it_write_file(&e, strrchr(e.conf_path, '/') + 1, conf, NULL);
    free(conf);
    snprintf(creds, sizeof(creds), "%s/creds", e.dir);
    if (mkdir(creds, 0700) < 0)
        it_die(&e, "mkdir %s: %s", creds, strerror(errno));
    char *key = it_fmt("%s\n", e.api_key);
    it_write_file(&e, "creds/api_key", key, NULL);
    free(key);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    setenv("RUNWARE_API_KEY", "not-the-key", 1); /* the credential comes first */
    it_rw_restart(&e);
    expect_job_ok(&e, "$CREDENTIALS_DIRECTORY/api_key");
    it_rw_stop(&e);

    unsetenv("CREDENTIALS_DIRECTORY");
    setenv("RUNWARE_API_KEY", e.api_key, 1);
    it_rw_restart(&e);
    expect_job_ok(&e, "RUNWARE_API_KEY");
    it_rw_stop(&e);

    unsetenv("RUNWARE_API_KEY");
    char *argv[] = {(char *)it_bin_runwared(), "-c", e.conf_path, NULL};
    int status;
    char *out = NULL;
    it_run(&e, argv, 10000 * it_slow(), &status, &out);
    IT_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) != 0,
              "runwared without any API key should refuse to start");
    IT_EXPECT(out && strstr(out, "no API key"), "no clear message without an API key: %s",
              out ? out : "");
    free(out);
    expect_redis_clean(&e);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"callbacks", test_callbacks}, {"connection_cap", test_connection_cap},
    {"protocol", test_protocol},   {"jobs", test_jobs},
    {"keys", test_keys},
};

RWT_MAIN(cases)
