/* Self-test of the integration harness: ports, redis, record collection, cleanup when a test dies.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static bool port_accepts(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = false;
    if (fd < 0)
        return false;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_spare_ports(void)
{
    int a = it_spare_port(), b = it_spare_port();
    RWT_CHECK(a > 1024 && a < 65536);
    RWT_CHECK(b > 1024 && b < 65536);
    RWT_CHECK(!port_accepts(a));
}

/* Records pushed by hand come back through it_collect in order, from the right lists; extras and
 * leftovers are reported as failures. */
static void test_redis_collect(void)
{
    struct it_env e;
    struct it_records recs = {0};
    it_env_init(&e, "selftest");
    it_redis_start(&e);
    RWT_CHECK(port_accepts(e.redis_port));

    it_push(&e, "{\"positivePrompt\":\"x\"}");
    RWT_CHECK_INT(it_llen(&e, "selftest:jobs"), 1);

    redisReply *r = it_redis(&e, "LPUSH l1 %s %s", "{\"taskUUID\":\"a\"}", "not json");
    freeReplyObject(r);
    r = it_redis(&e, "LPUSH l2 %s", "{\"taskUUID\":\"b\"}");
    freeReplyObject(r);
    const char *lists[] = {"l1", "l2"};
    int64_t t0 = it_now_ms();
    RWT_CHECK_INT(it_collect(&e, lists, 2, 5, 400, &recs), 3);
    RWT_CHECK(it_now_ms() - t0 >= 380); /* waited for the missing two until the deadline */
    RWT_CHECK_INT(recs.n, 3);
    if (recs.n == 3) {
        RWT_CHECK_STR(recs.v[0].list, "l1");
        RWT_CHECK_STR(recs.v[0].raw, "{\"taskUUID\":\"a\"}");
        RWT_CHECK(recs.v[1].obj == NULL); /* "not json" */
        RWT_CHECK_STR(recs.v[2].list, "l2");
        RWT_CHECK(it_records_find(&recs, "b") == &recs.v[2]);
        RWT_CHECK(it_records_find(&recs, "c") == NULL);
    }

    /* leftovers are failures: checked here by counting them, then forgiven */
    r = it_redis(&e, "LPUSH l2 extra");
    freeReplyObject(r);
    fprintf(stderr, "  (two expected failures follow)\n");
    int base = rwt_failed;
    it_expect_no_more(&e, lists, 2, 10);
    it_expect_quiescent(&e); /* selftest:jobs still holds the pushed job */
    int seen = rwt_failed - base;
    rwt_failed = base;
    RWT_CHECK_INT(seen, 2);

    it_records_free(&recs);
    int port = e.redis_port;
    it_env_finish(&e);
    RWT_CHECK(!port_accepts(port));
}

/* With persistence on, what Redis acknowledged survives a SIGTERM and a SIGKILL: the restart
 * listens on the same port, reloads the data and logs to fresh files. */
static void test_redis_restart(void)
{
    struct it_env e;
    it_env_init(&e, "selftest");
    e.redis_persist = true;
    it_redis_start(&e);
    redisReply *r = it_redis(&e, "LPUSH kept a b");
    freeReplyObject(r);
    int sigs[] = {SIGTERM, SIGKILL};
    for (size_t i = 0; i < 2; i++) {
        it_redis_stop(&e, sigs[i]);
        RWT_CHECK(e.rc == NULL);
        RWT_CHECK(!port_accepts(e.redis_port));
        it_redis_restart(&e);
        RWT_CHECK_INT(it_llen(&e, "kept"), 2 + (long long)i);
        r = it_redis(&e, "LPUSH kept c");
        freeReplyObject(r);
    }
    RWT_CHECK_STR(e.redis.name, "redis-server-3");
    it_env_finish(&e);
}

/* A record with every field is accepted; missing or mistyped fields are each reported. */
static void test_record_shape(void)
{
    struct it_record good = {"l", "", NULL}, bad = {"l", "", NULL};
    good.obj = json_tokener_parse("{\"taskUUID\":\"u\",\"status\":\"success\",\"data\":[],"
                                  "\"errors\":[],\"meta\":null,\"takenAt\":5,\"completedAt\":6}");
    bad.obj = json_tokener_parse("{\"status\":\"error\",\"data\":{},\"errors\":[{\"code\":1}],"
                                 "\"takenAt\":5,\"completedAt\":4}");
    int base = rwt_failed;
    RWT_CHECK(it_check_record_shape(&good, "good"));
    RWT_CHECK_INT(rwt_failed, base);
    fprintf(stderr, "  (five expected failures follow)\n");
    bool ok = it_check_record_shape(&bad, "bad");
    int seen = rwt_failed - base; /* taskUUID, data, meta, completedAt, errors[0] */
    rwt_failed = base;
    RWT_CHECK(!ok);
    RWT_CHECK_INT(seen, 5);
    json_object_put(good.obj);
    json_object_put(bad.obj);
}

/* A test process that dies (abort) takes its redis-server with it. */
static void test_children_die_with_us(void)
{
    int fds[2];
    RWT_CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct it_env e;
        close(fds[0]);
        it_env_init(&e, "orphan");
        it_redis_start(&e);
        if (write(fds[1], &e.redis_port, sizeof(int)) != sizeof(int) ||
            write(fds[1], e.dir, sizeof(e.dir)) != sizeof(e.dir))
            _exit(2);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    close(fds[1]);
    int port = 0, st = 0;
    char dir[256] = "";
    RWT_CHECK(read(fds[0], &port, sizeof(int)) == sizeof(int));
    RWT_CHECK(read(fds[0], dir, sizeof(dir)) == sizeof(dir));
    close(fds[0]);
    waitpid(pid, &st, 0);
    RWT_CHECK(WIFSIGNALED(st));
    int64_t deadline = it_now_ms() + 5000;
    while (port > 0 && port_accepts(port) && it_now_ms() < deadline)
        it_sleep_ms(20);
    RWT_CHECK(port > 0 && !port_accepts(port));
    if (dir[0] == '/')
        it_rmtree(dir);
}

/* The sim starts, prints its ready line and answers /_sim/stats. */
static void test_sim_starts(void)
{
    if (!it_bin_sim()) {
        printf("  SKIP sim_starts: runware-sim is not built yet\n");
        return;
    }
    struct it_env e;
    it_env_init(&e, "selftest");
    const char *extra[] = {"--delay-ms", "10", "--seed", "1", NULL};
    it_sim_start(&e, extra);
    json_object *st = it_sim_stats(&e);
    RWT_CHECK(st != NULL);
    RWT_CHECK(it_stat(st, "tasks_accepted") == 0);
    json_object_put(st);
    it_env_finish(&e);
}

/* A secret in runwared's log is found and quoted; an absent one is not reported. */
static void test_log_clean(void)
{
    struct it_env e;
    it_env_init(&e, "selftest");
    it_write_file(&e, "runwared.stderr", "first line\nkey is itkey-abc here\nlast\n",
                  e.rw.err_path);
    int base = rwt_failed;
    fprintf(stderr, "  (one expected failure follows)\n");
    it_expect_log_clean(&e, "API key", "itkey-abc");
    int seen = rwt_failed - base;
    it_expect_log_clean(&e, "API key", "itkey-abd");
    int seen2 = rwt_failed - base;
    rwt_failed = base;
    RWT_CHECK_INT(seen, 1);
    RWT_CHECK_INT(seen2, 1);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"log_clean", test_log_clean},         {"spare_ports", test_spare_ports},
    {"redis_collect", test_redis_collect}, {"redis_restart", test_redis_restart},
    {"record_shape", test_record_shape},   {"children_die_with_us", test_children_die_with_us},
    {"sim_starts", test_sim_starts},
};

RWT_MAIN(cases)
