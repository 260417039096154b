/* daemon/reply.c: reply objects of one allocation each must read exactly as hiredis's own, and
 * a reply cut short (input ends, protocol error) must be freed whole (ASan's leak check). */
#include <stdbool.h>
#include <stdlib.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "reply.h"
#include "rwtest.h"
#include "reply_same.h"

/* Feeds resp in pieces of step bytes to a reader with rwd_reply_fns and to one with hiredis's
 * own functions; every reply must come out the same from both. Returns the replies read. */
static int read_both(const char *resp, size_t len, size_t step)
{
    redisReader *ours = redisReaderCreateWithFunctions(&rwd_reply_fns);
    redisReader *theirs = redisReaderCreate();
    int n = 0;

    RWT_CHECK(ours && theirs);
    if (!ours || !theirs)
        goto out;
    for (size_t off = 0; off < len; off += step) {
        size_t k = len - off < step ? len - off : step;

        RWT_CHECK(redisReaderFeed(ours, resp + off, k) == REDIS_OK);
        RWT_CHECK(redisReaderFeed(theirs, resp + off, k) == REDIS_OK);
        for (;;) {
            void *a = NULL, *b = NULL;
            int ra = redisReaderGetReply(ours, &a), rb = redisReaderGetReply(theirs, &b);

            RWT_CHECK_INT(ra, rb);
            RWT_CHECK_INT(ra, REDIS_OK);
            RWT_CHECK((a == NULL) == (b == NULL));
            if (a && b) {
                RWT_CHECK(reply_same(a, b));
                n++;
            }
            if (a)
                rwd_reply_fns.freeObject(a);
            if (b)
                freeReplyObject(b);
            if (!a || !b || ra != REDIS_OK)
                break;
        }
    }
out:
    redisReaderFree(ours);
    redisReaderFree(theirs);
    return n;
}

/* What runwared's commands are answered with, and the corners of RESP 2. */
static void test_like_hiredis(void)
{
    static const struct {
        const char *resp;
        int replies;
    } t[] = {
        {":2\r\n:-1\r\n:0\r\n:9223372036854775807\r\n", 4},
        {"*2\r\n:2\r\n:1764150000000\r\n", 1}, /* a completion, timed */
        {"+OK\r\n+PONG\r\n", 2},
        {"-NOSCRIPT No matching script. Please use EVAL.\r\n", 1},
        {"$5\r\nhello\r\n$0\r\n\r\n$-1\r\n", 3},
        {"*-1\r\n*0\r\n", 2},
        {"*3\r\n$36\r\n123e4567-e89b-12d3-a456-426614174000\r\n$-1\r\n*2\r\n+a\r\n-b\r\n", 1},
        {"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n", 1}, /* deepest nesting hiredis reads */
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len = strlen(t[i].resp);

        RWT_CHECK_INT(read_both(t[i].resp, len, len), t[i].replies);
        RWT_CHECK_INT(read_both(t[i].resp, len, 1), t[i].replies); /* a byte at a time */
        RWT_CHECK_INT(read_both(t[i].resp, len, 3), t[i].replies);
    }
}

/* Text with NUL bytes and a string too large for any small-size class. */
static void test_binary_and_large(void)
{
    static const char bin[] = "$7\r\na\0b\r\n\0c\r\n";
    size_t big = 300000;
    char *resp = malloc(big + 32);
    int n;

    RWT_CHECK_INT(read_both(bin, sizeof(bin) - 1, sizeof(bin) - 1), 1);
    RWT_CHECK(resp != NULL);
    if (!resp)
        return;
    n = snprintf(resp, 32, "*2\r\n$%zu\r\n", big);
    memset(resp + n, 'x', big);
    memcpy(resp + n + big, "\r\n:1\r\n", 6);
    RWT_CHECK_INT(read_both(resp, (size_t)n + big + 6, 4096), 1);
    free(resp);
}

/* A reply cut short is freed by the reader with the elements it has (the others NULL): when the
 * reader goes (a lost connection), and on a protocol error mid-array. */
static void test_cut_short(void)
{
    static const char *const partial[] = {"*3\r\n:1\r\n$3\r\nab", "*2\r\n*2\r\n+x\r\n", "*4\r\n"};
    static const char bad[] = "*3\r\n:1\r\n$1\r\na\r\n!bad\r\n"; /* no such type as '!' */
    redisReader *r;
    void *reply;

    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        RWT_CHECK((r = redisReaderCreateWithFunctions(&rwd_reply_fns)) != NULL);
        if (!r)
            return;
        reply = NULL;
        RWT_CHECK(redisReaderFeed(r, partial[i], strlen(partial[i])) == REDIS_OK);
        RWT_CHECK(redisReaderGetReply(r, &reply) == REDIS_OK);
        RWT_CHECK(reply == NULL);
        redisReaderFree(r);
    }
    RWT_CHECK((r = redisReaderCreateWithFunctions(&rwd_reply_fns)) != NULL);
    if (!r)
        return;
    reply = NULL;
    RWT_CHECK(redisReaderFeed(r, bad, sizeof(bad) - 1) == REDIS_OK);
    RWT_CHECK(redisReaderGetReply(r, &reply) == REDIS_ERR);
    RWT_CHECK(reply == NULL);
    redisReaderFree(r);
}

static const struct rwt_case cases[] = {
    {"like_hiredis", test_like_hiredis},
    {"binary_and_large", test_binary_and_large},
    {"cut_short", test_cut_short},
};

RWT_MAIN(cases)
