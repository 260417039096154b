/* A minimal table-driven test runner: each test file lists its cases in a table and calls
 * rwt_run(); a failed check prints file:line and marks the case failed. */
#ifndef RWTEST_H
#define RWTEST_H

#include <stdio.h>
#include <string.h>

struct rwt_case {
    const char *name;
    void (*fn)(void);
};

extern int rwt_failed; /* checks failed in the current case */

#define RWT_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
            rwt_failed++;                                                                          \
        }                                                                                          \
    } while (0)

#define RWT_CHECK_STR(a, b)                                                                        \
    do {                                                                                           \
        const char *rwt_a_ = (a), *rwt_b_ = (b);                                                   \
        if (!rwt_a_ || !rwt_b_ || strcmp(rwt_a_, rwt_b_) != 0) {                                   \
            fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                    \
                    rwt_a_ ? rwt_a_ : "(null)", rwt_b_ ? rwt_b_ : "(null)");                       \
            rwt_failed++;                                                                          \
        }                                                                                          \
    } while (0)

#define RWT_CHECK_INT(a, b)                                                                        \
    do {                                                                                           \
        long long rwt_a_ = (long long)(a), rwt_b_ = (long long)(b);                                \
        if (rwt_a_ != rwt_b_) {                                                                    \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,        \
                    rwt_a_, rwt_b_);                                                               \
            rwt_failed++;                                                                          \
        }                                                                                          \
    } while (0)

/* Runs every case (or those whose name contains argv[1]); returns the process exit status. */
int rwt_run(const struct rwt_case *cases, size_t n, int argc, char **argv);

#define RWT_MAIN(table)                                                                            \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return rwt_run(table, sizeof(table) / sizeof(table[0]), argc, argv);                       \
    }

#endif
