/* Exact decimal arithmetic on JSON number text: parse, compare, integer test, multipleOf. */
#include "rw_schema_dec.h"

#include <stdlib.h>
#include <string.h>

#define EXP_LIMIT 1000000000000000LL /* exponents saturate here; such values are out of range */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The k-th digit of the mantissa written as int part then fraction part. */
static char digit_at(const char *ip, size_t ilen, const char *fp, size_t k)
{
    return k < ilen ? ip[k] : fp[k - ilen];
}

int rw_dec_parse(struct rw_dec *d, const char *s, size_t len)
{
    size_t i = 0, ilen, flen, n, first, last, k;
    const char *ip, *fp;
    int64_t e = 0;
    int eneg = 0;

    memset(d, 0, sizeof(*d));
    d->dig = d->buf;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        d->neg = s[i++] == '-';
    ip = s + i;
    while (i < len && is_digit(s[i]))
        i++;
    ilen = (size_t)(s + i - ip);
    fp = s + i;
    flen = 0;
    if (i < len && s[i] == '.') {
        fp = s + ++i;
        while (i < len && is_digit(s[i]))
            i++;
        flen = (size_t)(s + i - fp);
    }
    if (ilen + flen == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t start;
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        start = i;
        for (; i < len && is_digit(s[i]); i++)
            if (e < EXP_LIMIT)
                e = e * 10 + (s[i] - '0');
        if (i == start)
            return -1;
        if (eneg)
            e = -e;
    }
    if (i != len)
        return -1;

    n = ilen + flen;
    for (first = 0; first < n && digit_at(ip, ilen, fp, first) == '0'; first++)
        ;
    if (first == n) { /* zero, whatever its sign */
        d->neg = 0;
        return 0;
    }
    for (last = n - 1; digit_at(ip, ilen, fp, last) == '0'; last--)
        ;
    d->ndig = last - first + 1;
    if (flen > (size_t)EXP_LIMIT || n - 1 - last > (size_t)EXP_LIMIT)
        return -1; /* absurdly long text; never a sensible number */
    d->exp = e - (int64_t)flen + (int64_t)(n - 1 - last);
    if (d->ndig > RW_DEC_INLINE) {
        d->dig = malloc(d->ndig);
        if (!d->dig) {
            d->dig = d->buf;
            d->ndig = 0;
            return -2;
        }
    }
    for (k = 0; k < d->ndig; k++)
        d->dig[k] = digit_at(ip, ilen, fp, first + k);
    return 0;
}

void rw_dec_from_i64(struct rw_dec *d, int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    char tmp[24];
    size_t n = 0;

    memset(d, 0, sizeof(*d));
    d->dig = d->buf;
    if (m == 0)
        return;
    d->neg = v < 0;
    while (m % 10 == 0) {
        m /= 10;
        d->exp++;
    }
    while (m) {
        tmp[n++] = (char)('0' + m % 10);
        m /= 10;
    }
    d->ndig = n;
    for (size_t k = 0; k < n; k++)
        d->dig[k] = tmp[n - 1 - k];
}

void rw_dec_free(struct rw_dec *d)
{
    if (d->dig && d->dig != d->buf)
        free(d->dig);
    d->dig = d->buf;
    d->ndig = 0;
}

static int cmp_abs(const struct rw_dec *a, const struct rw_dec *b)
{
    int64_t oa, ob;
    size_t n;
    int c;

    if (a->ndig == 0 || b->ndig == 0)
        return (a->ndig != 0) - (b->ndig != 0);
    oa = a->exp + (int64_t)a->ndig; /* position of the leading digit */
    ob = b->exp + (int64_t)b->ndig;
    if (oa != ob)
        return oa < ob ? -1 : 1;
    n = a->ndig < b->ndig ? a->ndig : b->ndig;
    c = memcmp(a->dig, b->dig, n);
    if (c)
        return c < 0 ? -1 : 1;
    /* Same leading digits: the longer has more non-zero digits after them. */
    return (a->ndig > b->ndig) - (a->ndig < b->ndig);
}

static int sign_of(const struct rw_dec *d)
{
    return d->ndig == 0 ? 0 : d->neg ? -1 : 1;
}

int rw_dec_cmp(const struct rw_dec *a, const struct rw_dec *b)
{
    int sa = sign_of(a), sb = sign_of(b), c;

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    c = cmp_abs(a, b);
    return sa > 0 ? c : -c;
}

int rw_dec_is_integer(const struct rw_dec *v)
{
    return v->ndig == 0 || v->exp >= 0;
}

int rw_dec_to_i64(const struct rw_dec *v, int64_t *out)
{
    uint64_t m = 0, lim;

    if (v->ndig == 0) {
        *out = 0;
        return 1;
    }
    if (v->exp < 0 || v->exp + (int64_t)v->ndig > 19)
        return 0;
    lim = v->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (int64_t k = 0; k < (int64_t)v->ndig + v->exp; k++) {
        unsigned dgt = k < (int64_t)v->ndig ? (unsigned)(v->dig[k] - '0') : 0;
        if (m > (lim - dgt) / 10)
            return 0;
        m = m * 10 + dgt;
    }
    *out = v->neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    return 1;
}

int rw_dec_divisor(const struct rw_dec *d, struct rw_dec_divisor *out)
{
    uint64_t m = 0;

    if (d->neg || d->ndig == 0 || d->ndig > 19)
        return -1;
    for (size_t k = 0; k < d->ndig; k++)
        m = m * 10 + (uint64_t)(d->dig[k] - '0');
    out->mant = m;
    out->exp = d->exp;
    return 0;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)((unsigned __int128)a * b % m);
}

static uint64_t powmod10(int64_t e, uint64_t m)
{
    uint64_t r = 1 % m, b = 10 % m;

    for (; e > 0; e >>= 1) {
        if (e & 1)
            r = mulmod(r, b, m);
        b = mulmod(b, b, m);
    }
    return r;
}

int rw_dec_is_multiple(const struct rw_dec *v, const struct rw_dec_divisor *m)
{
    uint64_t r = 0;

    if (v->ndig == 0)
        return 1;
    /* v / m = (D / M) * 10^(ev - em). D has no factor 10, so with ev < em the quotient cannot be
     * whole; otherwise it is whole exactly when M divides D * 10^(ev - em). */
    if (v->exp < m->exp)
        return 0;
    for (size_t k = 0; k < v->ndig; k++)
        r = (uint64_t)(((unsigned __int128)r * 10 + (unsigned)(v->dig[k] - '0')) % m->mant);
    return mulmod(r, powmod10(v->exp - m->exp, m->mant), m->mant) == 0;
}
