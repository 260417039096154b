/* libFuzzer, differential: any bytes as Redis's answers -> a hiredis reader with runwared's reply
 * objects (daemon/reply.c) against one with hiredis's own, fed in the same pieces (the first
 * byte picks their size). Each step must give the same result, the same replies, and leave
 * nothing allocated (LeakSanitizer), also when the input ends mid-reply or breaks the protocol.
 * Arrays of more than 65536 elements are left out (see huge_array). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "reply.h"
#include "../unit/reply_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does an array header in s count more than max elements? Both readers allocate the element
 * vector of an array as soon as they read its header: a count of hundreds of millions passes
 * the fuzzer's memory limit with either. */
static bool huge_array(const uint8_t *s, size_t n, unsigned long max)
{
    for (size_t i = 0; i < n; i++) {
        unsigned long count = 0;

        if (s[i] != '*')
            continue;
        while (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
            count = count * 10 + (unsigned long)(s[++i] - '0');
            if (count > max)
                return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *ours, *theirs;
    size_t step;
    bool failed = false;

    if (size < 1 || huge_array(data, size, 1 << 16))
        return 0;
    step = 1 + data[0] % 32;
    data++;
    size--;
    ours = redisReaderCreateWithFunctions(&rwd_reply_fns);
    theirs = redisReaderCreate();
    if (!ours || !theirs)
        abort();
    for (size_t off = 0; off < size && !failed; off += step) {
        size_t k = size - off < step ? size - off : step;

        if (redisReaderFeed(ours, (const char *)data + off, k) !=
            redisReaderFeed(theirs, (const char *)data + off, k))
            abort();
        for (;;) {
            void *a = NULL, *b = NULL;
            int ra = redisReaderGetReply(ours, &a), rb = redisReaderGetReply(theirs, &b);

            if (ra != rb || (a == NULL) != (b == NULL) || (a && !reply_same(a, b)))
                abort();
            if (a)
                rwd_reply_fns.freeObject(a);
            if (b)
                freeReplyObject(b);
            if (ra != REDIS_OK) {
                failed = true; /* a protocol error: the reader is done */
                break;
            }
            if (!a)
                break;
        }
    }
    redisReaderFree(ours); /* with any reply left unfinished */
    redisReaderFree(theirs);
    return 0;
}
