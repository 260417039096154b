/* daemon/redis.c's group commit, against a fake Redis on a local socket: commands issued while a
 * written batch awaits its replies stay queued and go out together once the whole batch is
 * answered (a NOSCRIPT retry included); a connection without it writes at once; a lost
 * connection answers every command with NULL, held ones included, and the next connection starts
 * with nothing held. The batch hook is told of each batch written, asked to gather just before
 * the next (what it issues then joins that write), and told when all is answered or the
 * connection lost. Also a script call whose arguments are written in place. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "redis.h"
#include "rwtest.h"

struct fake {
    int lfd, fd;
    int port;
    struct event_base *base;
    struct rwd_redis *r;
};

static char seen[16][32]; /* each callback's outcome, in order: its tag, then =value or =NULL */
static int nseen;

static void on_answer(redisReply *rep, void *arg)
{
    if (nseen < 16)
        snprintf(seen[nseen++], sizeof(seen[0]), "%s=%s", (const char *)arg,
                 !rep                             ? "NULL"
                 : rep->type == REDIS_REPLY_ERROR ? "ERR"
                 : rep->str                       ? rep->str
                                                  : "?");
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Runs the loop for ms without blocking in it, so that the test can play the server between. */
static void pump(struct fake *f, int ms)
{
    long long end = now_ms() + ms;

    while (now_ms() < end) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

/* What the client has written since the last call (after pumping 50 ms), as a string. */
static const char *take(struct fake *f)
{
    static char buf[8192];
    size_t n = 0;
    ssize_t k;

    pump(f, 50);
    while (n < sizeof(buf) - 1 && (k = recv(f->fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    return buf;
}

static void answer(struct fake *f, const char *resp)
{
    RWT_CHECK(send(f->fd, resp, strlen(resp), 0) == (ssize_t)strlen(resp));
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Accepts the client's (next) connection and plays the PING that makes it ready. */
static void accept_ready(struct fake *f)
{
    long long end = now_ms() + 3000;

    f->fd = -1;
    while (f->fd < 0 && now_ms() < end) {
        pump(f, 5);
        f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK);
    }
    RWT_CHECK(f->fd >= 0);
    if (f->fd < 0)
        return;
    RWT_CHECK(strstr(take(f), "PING") != NULL);
    answer(f, "+PONG\r\n");
    pump(f, 20);
    RWT_CHECK(rwd_redis_ready(f->r));
}

static void fake_open(struct fake *f, bool one_batch)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct rw_redis_addr addr = {.host = "127.0.0.1"};

    memset(seen, 0, sizeof(seen));
    nseen = 0;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    RWT_CHECK(f->lfd >= 0);
    RWT_CHECK(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    RWT_CHECK(listen(f->lfd, 4) == 0);
    RWT_CHECK(getsockname(f->lfd, (struct sockaddr *)&sa, &len) == 0);
    addr.port = ntohs(sa.sin_port);
    f->base = event_base_new();
    f->r = rwd_redis_new(f->base, &addr, "fake redis");
    RWT_CHECK(f->base && f->r);
    if (one_batch)
        rwd_redis_one_batch(f->r);
    rwd_redis_start(f->r);
    accept_ready(f);
}

static void fake_close(struct fake *f)
{
    rwd_redis_free(f->r);
    event_base_free(f->base);
    if (f->fd >= 0)
        close(f->fd);
    close(f->lfd);
}

static void get(struct fake *f, const char *key)
{
    const char *argv[] = {"GET", key};

    RWT_CHECK(rwd_redis_cmd(f->r, on_answer, (void *)key, 2, argv, NULL) == 0);
}

static void test_held_until_answered(void)
{
    struct fake f;
    const char *out;

    fake_open(&f, true);
    get(&f, "a");
    get(&f, "b");
    out = take(&f);
    RWT_CHECK_INT(count(out, "GET"), 2); /* one turn's commands go together */
    get(&f, "c");
    RWT_CHECK_STR(take(&f), ""); /* held: a and b await their replies */
    answer(&f, "$2\r\nva\r\n");
    RWT_CHECK_STR(take(&f), ""); /* still held: b is unanswered */
    RWT_CHECK_INT(nseen, 1);
    answer(&f, "$2\r\nvb\r\n");
    out = take(&f);
    RWT_CHECK_INT(count(out, "GET"), 1);
    RWT_CHECK(strstr(out, "$1\r\nc\r\n") != NULL);
    answer(&f, "$2\r\nvc\r\n");
    pump(&f, 20);
    RWT_CHECK_INT(nseen, 3);
    RWT_CHECK_STR(seen[0], "a=va");
    RWT_CHECK_STR(seen[1], "b=vb");
    RWT_CHECK_STR(seen[2], "c=vc");
    get(&f, "d"); /* nothing in Redis: written at once */
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    fake_close(&f);
}

static void test_without_is_immediate(void)
{
    struct fake f;

    fake_open(&f, false);
    get(&f, "a");
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    get(&f, "b");
    RWT_CHECK_INT(count(take(&f), "GET"), 1); /* not held */
    answer(&f, "$2\r\nva\r\n$2\r\nvb\r\n");
    pump(&f, 20);
    RWT_CHECK_INT(nseen, 2);
    fake_close(&f);
}

static void test_noscript_retry_waits_for_batch(void)
{
    static struct rwd_script s = {.name = "t", .src = "return 1"};
    const char *argv[] = {"k"};
    struct fake f;
    const char *out;

    rwd_script_init(&s);
    fake_open(&f, true);
    RWT_CHECK(rwd_redis_eval(f.r, &s, on_answer, "s", 1, 1, argv, NULL) == 0);
    get(&f, "b");
    out = take(&f);
    RWT_CHECK(strstr(out, "EVALSHA") != NULL && count(out, "GET") == 1);
    answer(&f, "-NOSCRIPT No matching script.\r\n");
    RWT_CHECK_STR(take(&f), ""); /* the EVAL retry waits for b's reply */
    RWT_CHECK_INT(nseen, 0);
    answer(&f, "$2\r\nvb\r\n");
    out = take(&f);
    RWT_CHECK(strstr(out, "EVAL\r\n") != NULL && strstr(out, "return 1") != NULL);
    answer(&f, "+OK\r\n");
    pump(&f, 20);
    RWT_CHECK_INT(nseen, 2);
    RWT_CHECK_STR(seen[0], "b=vb");
    RWT_CHECK_STR(seen[1], "s=OK");
    fake_close(&f);
}

static void test_lost_connection(void)
{
    struct fake f;

    fake_open(&f, true);
    get(&f, "a");
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    get(&f, "b"); /* held */
    RWT_CHECK_STR(take(&f), "");
    close(f.fd);
    f.fd = -1;
    pump(&f, 50);
    RWT_CHECK_INT(nseen, 2); /* both answered NULL: the written one and the held one */
    RWT_CHECK_STR(seen[0], "a=NULL");
    RWT_CHECK_STR(seen[1], "b=NULL");
    RWT_CHECK(!rwd_redis_ready(f.r));
    accept_ready(&f); /* reconnects after its backoff */
    get(&f, "c");     /* nothing held over from the lost connection */
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    fake_close(&f);
}

/* rwd_redis_eval_begin/arg/send: the arguments written in place go out as rwd_redis_eval sends
 * them (an empty one and one larger than a reusable record included), and again in the EVAL
 * retry; misuse is refused without sending anything or running the callback. */
static char hooked[32]; /* the batch hook's events, in order: S(ent), G(ather), I(dle) */
static const char *gather_key;

static void on_batch(void *arg, enum rwd_batch_event ev)
{
    struct fake *f = arg;
    size_t n = strlen(hooked);

    if (n < sizeof(hooked) - 1)
        hooked[n] = "SGI"[ev];
    if (ev == RWD_BATCH_GATHER && gather_key) {
        get(f, gather_key);
        gather_key = NULL;
    }
}

static void test_batch_hook(void)
{
    struct fake f;
    const char *out;

    fake_open(&f, true);
    memset(hooked, 0, sizeof(hooked));
    rwd_redis_batch_hook(f.r, on_batch, &f);
    get(&f, "a");
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    RWT_CHECK_STR(hooked, "S");
    get(&f, "b"); /* held */
    gather_key = "c";
    RWT_CHECK_STR(take(&f), "");
    answer(&f, "$2\r\nva\r\n");
    out = take(&f); /* b, and c issued while gathering, in one write */
    RWT_CHECK_INT(count(out, "GET"), 2);
    RWT_CHECK(strstr(out, "$1\r\nb\r\n") && strstr(out, "$1\r\nc\r\n"));
    RWT_CHECK_STR(hooked, "SGS");
    answer(&f, "$2\r\nvb\r\n");
    RWT_CHECK_STR(take(&f), "");
    RWT_CHECK_STR(hooked, "SGS"); /* c is still out */
    answer(&f, "$2\r\nvc\r\n");
    RWT_CHECK_STR(take(&f), "");
    RWT_CHECK_STR(hooked, "SGSGI"); /* gathered nothing: idle */
    RWT_CHECK_INT(nseen, 3);
    get(&f, "d");
    RWT_CHECK_INT(count(take(&f), "GET"), 1);
    close(f.fd); /* lost with d out: idle, and d answered NULL */
    f.fd = -1;
    pump(&f, 50);
    RWT_CHECK_STR(hooked, "SGSGISI");
    RWT_CHECK_INT(nseen, 4);
    RWT_CHECK_STR(seen[3], "d=NULL");
    fake_close(&f);
}

static void test_eval_in_place(void)
{
    static struct rwd_script s = {.name = "t", .src = "return 2"};
    static char big[3000];
    const char *argv[] = {"key", "", big};
    char *o, expect[4096];
    struct rwd_eval *e;
    struct fake f;
    const char *out;
    int n;

    memset(big, 'x', sizeof(big) - 1);
    rwd_script_init(&s);
    fake_open(&f, false);
    /* the reference: the same call made by rwd_redis_eval */
    RWT_CHECK(rwd_redis_eval(f.r, &s, on_answer, "a", 1, 3, argv, NULL) == 0);
    out = take(&f);
    n = snprintf(expect, sizeof(expect),
                 "*6\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n$3\r\nkey\r\n$0\r\n\r\n"
                 "$2999\r\n%s\r\n",
                 s.sha, big);
    RWT_CHECK(n > 0 && (size_t)n < sizeof(expect));
    RWT_CHECK_STR(out, expect);
    answer(&f, "+A\r\n");

    /* written in place, the bytes counted generously: the same command */
    RWT_CHECK((e = rwd_redis_eval_begin(f.r, &s, 1, 3, 3 + sizeof(big) + 100)) != NULL);
    RWT_CHECK((o = rwd_redis_eval_arg(e, 3)) != NULL);
    memcpy(o, "key", 3);
    RWT_CHECK(rwd_redis_eval_arg(e, 0) != NULL);
    RWT_CHECK((o = rwd_redis_eval_arg(e, sizeof(big) - 1)) != NULL);
    memcpy(o, big, sizeof(big) - 1);
    RWT_CHECK(rwd_redis_eval_arg(e, 1) == NULL); /* past argc */
    RWT_CHECK(rwd_redis_eval_send(e, on_answer, "b") == 0);
    RWT_CHECK_STR(take(&f), expect);
    answer(&f, "-NOSCRIPT No matching script.\r\n");
    snprintf(expect, sizeof(expect),
             "*6\r\n$4\r\nEVAL\r\n$8\r\nreturn 2\r\n$1\r\n1\r\n$3\r\nkey\r\n$0\r\n\r\n"
             "$2999\r\n%s\r\n",
             big);
    RWT_CHECK_STR(take(&f), expect);
    answer(&f, "+B\r\n");
    pump(&f, 20);
    RWT_CHECK_INT(nseen, 2);
    RWT_CHECK_STR(seen[0], "a=A");
    RWT_CHECK_STR(seen[1], "b=B");

    /* more bytes than reserved, too few arguments, a cancel: nothing is sent, no callback */
    RWT_CHECK((e = rwd_redis_eval_begin(f.r, &s, 1, 2, 4)) != NULL);
    RWT_CHECK(rwd_redis_eval_arg(e, 5) == NULL);
    RWT_CHECK(rwd_redis_eval_arg(e, 4) != NULL);
    RWT_CHECK(rwd_redis_eval_send(e, on_answer, "c") == -1);
    RWT_CHECK((e = rwd_redis_eval_begin(f.r, &s, 0, 1, 1)) != NULL);
    rwd_redis_eval_cancel(e);
    RWT_CHECK_STR(take(&f), "");
    RWT_CHECK_INT(nseen, 2);
    fake_close(&f);
}

static const struct rwt_case cases[] = {
    {"eval_in_place", test_eval_in_place},
    {"held_until_answered", test_held_until_answered},
    {"without_is_immediate", test_without_is_immediate},
    {"noscript_retry_waits_for_batch", test_noscript_retry_waits_for_batch},
    {"lost_connection", test_lost_connection},
    {"batch_hook", test_batch_hook},
};

int main(int argc, char **argv)
{
    log_init(0);
    return rwt_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
