/* Exact decimal numbers for schema validation: JSON number text compared and divided without
 * going through binary floating point. */
#ifndef RW_SCHEMA_DEC_H
#define RW_SCHEMA_DEC_H

#include <stddef.h>
#include <stdint.h>

#define RW_DEC_INLINE 48 /* significant digits held without allocating */

/* value = (neg ? -1 : 1) * dig * 10^exp, dig an integer written with ndig ASCII digits, no leading
 * or trailing zeros (ndig 0 for zero, which is never negative). Not copyable: dig may point at
 * buf. */
struct rw_dec {
    int neg;
    size_t ndig;
    int64_t exp;
    char *dig;
    char buf[RW_DEC_INLINE];
};

/* Parses JSON number text (a leading '+', a bare '.5' or '5.' are tolerated; NaN, Infinity and
 * anything else are not). Returns 0, -1 when the text is not a number, -2 on ENOMEM. A parsed
 * value must be released with rw_dec_free. */
int rw_dec_parse(struct rw_dec *d, const char *s, size_t len);

/* Sets d to an int64 value (never allocates). */
void rw_dec_from_i64(struct rw_dec *d, int64_t v);

void rw_dec_free(struct rw_dec *d);

/* -1, 0, 1 as a <, =, > b. */
int rw_dec_cmp(const struct rw_dec *a, const struct rw_dec *b);

/* 1 when v has no fractional part. */
int rw_dec_is_integer(const struct rw_dec *v);

/* 1 and *out set when v is an integer within int64. */
int rw_dec_to_i64(const struct rw_dec *v, int64_t *out);

/* The divisor form of a positive multipleOf: m = mant * 10^exp with mant < 2^64 and not divisible
 * by 10. Returns 0, or -1 when d is not positive or has more than 19 significant digits. */
struct rw_dec_divisor {
    uint64_t mant;
    int64_t exp;
};
int rw_dec_divisor(const struct rw_dec *d, struct rw_dec_divisor *out);

/* 1 when v is an exact integer multiple of m (v / m has no fractional part), else 0. */
int rw_dec_is_multiple(const struct rw_dec *v, const struct rw_dec_divisor *m);

#endif
