/* What the micro-benchmarks share: a monotonic clock in ns, and best and median over rounds of a
 * fixed time, so that a figure is the machine's best and the spread shows. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

#define ROUNDS 7

static inline double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best and median over ROUNDS rounds (after one to warm up) of at least round_ms each, in ns per
 * call of op(i), i going round 0..n-1. */
static inline void measure_calls(void (*op)(unsigned), unsigned n, double round_ms, double *best,
                                 double *median)
{
    double r[ROUNDS];

    for (int round = -1; round < ROUNDS; round++) {
        double t0 = now_ns(), t;
        long runs = 0;

        do {
            for (unsigned i = 0; i < n; i++)
                op(i);
            runs += n;
        } while ((t = now_ns()) - t0 < round_ms * 1e6);
        if (round >= 0)
            r[round] = (t - t0) / (double)runs;
    }
    qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
    *best = r[0];
    *median = r[ROUNDS / 2];
}

#endif
