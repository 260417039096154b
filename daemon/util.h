/* Small helpers shared by the daemon's stages. */
#ifndef RWD_UTIL_H
#define RWD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

/* A block kept for reuse is poisoned for AddressSanitizer while it waits, so that a use after
 * its release is reported as it would be after free(). */
#if defined(__SANITIZE_ADDRESS__)
#define RWD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RWD_ASAN 1
#endif
#endif
#ifdef RWD_ASAN
#include <sanitizer/asan_interface.h>
#define RWD_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define RWD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RWD_POISON(p, n)   ((void)(p), (void)(n))
#define RWD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Released blocks of one size kept for reuse, at most max (<= RWD_SPARE_MAX) of them, each
 * poisoned while it waits: for blocks just past glibc's per-thread cache (1,032 bytes), whose
 * malloc and free otherwise go through its bins and often consolidate them. */
#define RWD_SPARE_MAX 64

struct rwd_spares {
    size_t size; /* bytes of each block */
    int max, n;
    void *v[RWD_SPARE_MAX];
};

/* A kept block, or NULL when none is. */
static inline void *rwd_spare_get(struct rwd_spares *s)
{
    void *p;

    if (s->n == 0)
        return NULL;
    p = s->v[--s->n];
    RWD_UNPOISON(p, s->size);
    return p;
}

/* Keeps block p (s->size bytes), or frees it when max are kept already. */
static inline void rwd_spare_put(struct rwd_spares *s, void *p)
{
    if (s->n < s->max) {
        RWD_POISON(p, s->size);
        s->v[s->n++] = p;
    } else {
        free(p);
    }
}

static inline void rwd_spares_free(struct rwd_spares *s)
{
    while (s->n)
        free(rwd_spare_get(s));
}

/* Wall-clock milliseconds since the epoch: the unit of every timestamp in a record. */
static inline int64_t rwd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct timeval rwd_tv_ms(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

/* Exponential backoff: base_ms * 2^(attempt-1), capped, with +-20% jitter. */
static inline long rwd_backoff_ms(int attempt, long base_ms, long cap_ms)
{
    long ms = base_ms;

    while (--attempt > 0 && ms < cap_ms)
        ms *= 2;
    if (ms > cap_ms)
        ms = cap_ms;
    return ms - ms / 5 + random() % (2 * (ms / 5) + 1);
}

struct rw_token_key;

/* The webhook secret: loaded from webhook_secret_file or shared through Redis at start-up, once
 * per process, and kept only as the key tokens are made with. Never logged. NULL until known. */
struct rwd_secret {
    struct rw_token_key *key;
};

#endif
