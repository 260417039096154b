/* ECMA-262 "pattern" matcher: parse to a syntax tree, generate a Thompson NFA, run a Pike VM. */
#include "rw_schema_regex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX_INST   8192 /* NFA size limit: keeps matching cost and stack use bounded */
#define RX_MAX_DEPTH  64   /* group nesting */
#define RX_MAX_REPEAT 1000 /* largest n or m in {n,m} */
#define RX_STACK_INST 128  /* programs up to this size run without allocating */
#define CP_MAX        0x10FFFF
#define CP_BAD_BYTE   0xDC00 /* an invalid subject byte b reads as the lone surrogate 0xDC00+b */

enum rx_op { OP_CHAR, OP_CLASS, OP_ANY, OP_SPLIT, OP_JMP, OP_BOL, OP_EOL, OP_MATCH };

struct rx_inst {
    uint8_t op;
    uint32_t x, y; /* CHAR: code point; CLASS: class index; SPLIT: both targets; JMP: x */
};

struct rx_class {
    uint32_t *r;       /* sorted, merged [lo, hi] pairs */
    size_t n;          /* pairs */
    int neg;           /* [^...] */
    uint64_t ascii[2]; /* membership of code points < 128, negation applied */
};

struct rw_regex {
    struct rx_inst *prog;
    size_t n;
    struct rx_class *cls;
    size_t ncls;
    int anchored; /* starts with ^: only a thread started at offset 0 can match */
};

enum rx_node_type { N_EMPTY, N_CHAR, N_CLASS, N_ANY, N_BOL, N_EOL, N_CAT, N_ALT, N_REP };

struct rx_node {
    uint8_t t;
    uint32_t v;   /* CHAR code point, CLASS index */
    int a, b;     /* children */
    int min, max; /* REP bounds, max -1: unbounded */
};

struct rx_ranges {
    uint32_t *r;
    size_t n, cap; /* pairs */
};

struct rx_parser {
    const unsigned char *s;
    size_t len, pos;
    struct rx_node *nodes;
    size_t nn, ncap;
    struct rw_regex *rx;
    size_t clscap;
    int depth;
    char *err;
    size_t errlen;
    int failed;
};

/* Decodes one UTF-8 code point at s[*i]; an invalid byte yields CP_BAD_BYTE + byte. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i, int *bad)
{
    unsigned char b = s[*i];
    uint32_t cp, min;
    size_t n, k;

    *bad = 0;
    if (b < 0x80) {
        (*i)++;
        return b;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        cp = b & 0x1F;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        cp = b & 0x0F;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        cp = b & 0x07;
        min = 0x10000;
    } else {
        goto bad;
    }
    if (len - *i < n)
        goto bad;
    for (k = 1; k < n; k++) {
        if ((s[*i + k] & 0xC0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    if (cp < min || cp > CP_MAX || (cp >= 0xD800 && cp <= 0xDFFF))
        goto bad;
    *i += n;
    return cp;
bad:
    *bad = 1;
    (*i)++;
    return CP_BAD_BYTE + b;
}

static int perr(struct rx_parser *p, const char *what)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "%s at offset %zu", what, p->pos);
    p->failed = 1;
    return -1;
}

static int oom(struct rx_parser *p)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "out of memory");
    p->failed = 1;
    return -1;
}

static int new_node(struct rx_parser *p, int t)
{
    if (p->nn == p->ncap) {
        size_t cap = p->ncap ? p->ncap * 2 : 32;
        struct rx_node *nn = realloc(p->nodes, cap * sizeof(*nn));
        if (!nn)
            return oom(p);
        p->nodes = nn;
        p->ncap = cap;
    }
    memset(&p->nodes[p->nn], 0, sizeof(p->nodes[p->nn]));
    p->nodes[p->nn].t = (uint8_t)t;
    p->nodes[p->nn].a = p->nodes[p->nn].b = -1;
    return (int)p->nn++;
}

static int new_pair(struct rx_parser *p, int t, int a, int b)
{
    int n = new_node(p, t);
    if (n >= 0) {
        p->nodes[n].a = a;
        p->nodes[n].b = b;
    }
    return n;
}

static int add_range(struct rx_ranges *rg, uint32_t lo, uint32_t hi)
{
    if (rg->n == rg->cap) {
        size_t cap = rg->cap ? rg->cap * 2 : 8;
        uint32_t *r = realloc(rg->r, cap * 2 * sizeof(*r));
        if (!r)
            return -1;
        rg->r = r;
        rg->cap = cap;
    }
    rg->r[2 * rg->n] = lo;
    rg->r[2 * rg->n + 1] = hi;
    rg->n++;
    return 0;
}

static const uint32_t set_digit[] = {'0', '9'};
static const uint32_t set_word[] = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
static const uint32_t set_space[] = {0x09,   0x0D,   0x20,   0x20,   0xA0,   0xA0,   0x1680,
                                     0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F,
                                     0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};

/* Adds the shorthand class c (d, w, s; upper case: complemented) to rg. */
static int add_set(struct rx_ranges *rg, char c)
{
    const uint32_t *set;
    size_t n;
    uint32_t next = 0;

    switch (c | 0x20) {
    case 'd':
        set = set_digit;
        n = sizeof(set_digit) / sizeof(set_digit[0]) / 2;
        break;
    case 'w':
        set = set_word;
        n = sizeof(set_word) / sizeof(set_word[0]) / 2;
        break;
    default:
        set = set_space;
        n = sizeof(set_space) / sizeof(set_space[0]) / 2;
        break;
    }
    for (size_t k = 0; k < n; k++) {
        if (c >= 'a') {
            if (add_range(rg, set[2 * k], set[2 * k + 1]) < 0)
                return -1;
            continue;
        }
        if (set[2 * k] > next && add_range(rg, next, set[2 * k] - 1) < 0)
            return -1;
        next = set[2 * k + 1] + 1;
    }
    if (c < 'a' && add_range(rg, next, CP_MAX) < 0)
        return -1;
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int class_has(const struct rx_class *c, uint32_t cp)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < c->r[2 * mid])
            hi = mid;
        else if (cp > c->r[2 * mid + 1])
            lo = mid + 1;
        else
            return !c->neg;
    }
    return c->neg;
}

/* Turns rg into class #ncls of the regex (takes rg's memory); returns its index or -1. */
static int finish_class(struct rx_parser *p, struct rx_ranges *rg, int neg)
{
    struct rw_regex *rx = p->rx;
    struct rx_class *c;
    size_t w = 0;

    if (rx->ncls == p->clscap) {
        size_t cap = p->clscap ? p->clscap * 2 : 4;
        struct rx_class *nc = realloc(rx->cls, cap * sizeof(*nc));
        if (!nc) {
            free(rg->r);
            return oom(p);
        }
        rx->cls = nc;
        p->clscap = cap;
    }
    if (rg->n)
        qsort(rg->r, rg->n, 2 * sizeof(uint32_t), cmp_pair);
    for (size_t k = 0; k < rg->n; k++) {
        uint32_t lo = rg->r[2 * k], hi = rg->r[2 * k + 1];
        if (w && lo <= rg->r[2 * (w - 1) + 1] + 1) {
            if (hi > rg->r[2 * (w - 1) + 1])
                rg->r[2 * (w - 1) + 1] = hi;
            continue;
        }
        rg->r[2 * w] = lo;
        rg->r[2 * w + 1] = hi;
        w++;
    }
    c = &rx->cls[rx->ncls];
    memset(c, 0, sizeof(*c));
    c->r = rg->r;
    c->n = w;
    c->neg = neg;
    for (uint32_t cp = 0; cp < 128; cp++)
        if (class_has(c, cp))
            c->ascii[cp / 64] |= (uint64_t)1 << (cp % 64);
    rg->r = NULL;
    return (int)rx->ncls++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Reads exactly n hex digits; -1 when they are not there. */
static long read_hex(struct rx_parser *p, int n)
{
    long v = 0;

    for (int k = 0; k < n; k++) {
        int h = p->pos < p->len ? hexval(p->s[p->pos]) : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
        p->pos++;
    }
    return v;
}

enum { ESC_CHAR, ESC_SET };

/* Parses the escape after a backslash. Returns ESC_CHAR with *cp, ESC_SET with *set the letter
 * (d D w W s S), or -1. */
static int parse_escape(struct rx_parser *p, int in_class, uint32_t *cp, char *set)
{
    int bad;
    unsigned char c;
    long v;

    if (p->pos >= p->len)
        return perr(p, "pattern ends with a backslash");
    c = p->s[p->pos];
    switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S':
        p->pos++;
        *set = (char)c;
        return ESC_SET;
    case 't':
        *cp = '\t';
        break;
    case 'n':
        *cp = '\n';
        break;
    case 'r':
        *cp = '\r';
        break;
    case 'f':
        *cp = '\f';
        break;
    case 'v':
        *cp = '\v';
        break;
    case '0':
        if (p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9')
            return perr(p, "octal escapes are not supported");
        *cp = 0;
        break;
    case 'c':
        if (p->pos + 1 >= p->len ||
            ((p->s[p->pos + 1] | 0x20) < 'a' || (p->s[p->pos + 1] | 0x20) > 'z'))
            return perr(p, "\\c must be followed by a letter");
        p->pos += 2;
        *cp = p->s[p->pos - 1] % 32u;
        return ESC_CHAR;
    case 'x':
        p->pos++;
        if ((v = read_hex(p, 2)) < 0)
            return perr(p, "\\x needs two hex digits");
        *cp = (uint32_t)v;
        return ESC_CHAR;
    case 'u':
        p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '{') {
            v = 0;
            p->pos++;
            while (p->pos < p->len && hexval(p->s[p->pos]) >= 0 && v <= CP_MAX)
                v = v * 16 + hexval(p->s[p->pos++]);
            if (p->pos >= p->len || p->s[p->pos] != '}' || v > CP_MAX)
                return perr(p, "bad \\u{...} escape");
            p->pos++;
            *cp = (uint32_t)v;
            return ESC_CHAR;
        }
        if ((v = read_hex(p, 4)) < 0)
            return perr(p, "\\u needs four hex digits");
        if (v >= 0xD800 && v <= 0xDBFF && p->pos + 6 <= p->len && p->s[p->pos] == '\\' &&
            p->s[p->pos + 1] == 'u') {
            size_t save = p->pos;
            long lo;
            p->pos += 2;
            lo = read_hex(p, 4);
            if (lo >= 0xDC00 && lo <= 0xDFFF)
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            else
                p->pos = save;
        }
        *cp = (uint32_t)v;
        return ESC_CHAR;
    case 'b':
        if (!in_class)
            return perr(p, "word boundaries (\\b) are not supported");
        *cp = '\b';
        break;
    case 'B':
        return perr(p, "word boundaries (\\B) are not supported");
    case 'k':
        return perr(p, "named backreferences are not supported");
    case 'p':
    case 'P':
        return perr(p, "Unicode property escapes are not supported");
    default:
        if (c >= '1' && c <= '9')
            return perr(p, "backreferences are not supported");
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            return perr(p, "unknown escape");
        *cp = utf8_next(p->s, p->len, &p->pos, &bad);
        if (bad)
            return perr(p, "invalid UTF-8");
        return ESC_CHAR;
    }
    p->pos++;
    return ESC_CHAR;
}

static int class_node(struct rx_parser *p, int cls)
{
    int node = new_node(p, N_CLASS);

    if (node >= 0)
        p->nodes[node].v = (uint32_t)cls;
    return node;
}

static int parse_class(struct rx_parser *p)
{
    struct rx_ranges rg = {0};
    int neg = 0, n, bad;

    p->pos++; /* '[' */
    if (p->pos < p->len && p->s[p->pos] == '^') {
        neg = 1;
        p->pos++;
    }
    for (;;) {
        uint32_t lo, hi;
        char set;
        int kind;

        if (p->pos >= p->len) {
            perr(p, "unterminated character class");
            goto fail;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        if (p->s[p->pos] == '\\') {
            p->pos++;
            if ((kind = parse_escape(p, 1, &lo, &set)) < 0)
                goto fail;
            if (kind == ESC_SET) {
                if (add_set(&rg, set) < 0) {
                    oom(p);
                    goto fail;
                }
                continue;
            }
        } else {
            lo = utf8_next(p->s, p->len, &p->pos, &bad);
            if (bad) {
                perr(p, "invalid UTF-8");
                goto fail;
            }
        }
        hi = lo;
        if (p->pos + 1 < p->len && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
            p->pos++;
            if (p->s[p->pos] == '\\') {
                p->pos++;
                if ((kind = parse_escape(p, 1, &hi, &set)) < 0)
                    goto fail;
                if (kind == ESC_SET) {
                    perr(p, "a class escape cannot end a range");
                    goto fail;
                }
            } else {
                hi = utf8_next(p->s, p->len, &p->pos, &bad);
                if (bad) {
                    perr(p, "invalid UTF-8");
                    goto fail;
                }
            }
            if (hi < lo) {
                perr(p, "character range out of order");
                goto fail;
            }
        }
        if (add_range(&rg, lo, hi) < 0) {
            oom(p);
            goto fail;
        }
    }
    if ((n = finish_class(p, &rg, neg)) < 0)
        return -1;
    return class_node(p, n);
fail:
    free(rg.r);
    return -1;
}

static int parse_alt(struct rx_parser *p);

static int parse_atom(struct rx_parser *p)
{
    unsigned char c = p->s[p->pos];
    uint32_t cp;
    char set;
    int n, kind, bad;

    switch (c) {
    case '(':
        p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '?') {
            if (p->pos + 1 < p->len && p->s[p->pos + 1] == ':')
                p->pos += 2;
            else
                return perr(p, "lookaround and named groups are not supported");
        }
        if (++p->depth > RX_MAX_DEPTH)
            return perr(p, "groups nested too deeply");
        n = parse_alt(p);
        p->depth--;
        if (n < 0)
            return -1;
        if (p->pos >= p->len || p->s[p->pos] != ')')
            return perr(p, "missing )");
        p->pos++;
        return n;
    case '[':
        return parse_class(p);
    case '.':
        p->pos++;
        return new_node(p, N_ANY);
    case '^':
        p->pos++;
        return new_node(p, N_BOL);
    case '$':
        p->pos++;
        return new_node(p, N_EOL);
    case '*':
    case '+':
    case '?':
    case '{':
        return perr(p, "nothing to repeat");
    case '\\':
        p->pos++;
        if ((kind = parse_escape(p, 0, &cp, &set)) < 0)
            return -1;
        if (kind == ESC_SET) {
            struct rx_ranges rg = {0};
            if (add_set(&rg, (char)(set | 0x20)) < 0) {
                free(rg.r);
                return oom(p);
            }
            if ((n = finish_class(p, &rg, set < 'a')) < 0)
                return -1;
            return class_node(p, n);
        }
        break;
    default:
        cp = utf8_next(p->s, p->len, &p->pos, &bad);
        if (bad)
            return perr(p, "invalid UTF-8");
        break;
    }
    if ((n = new_node(p, N_CHAR)) >= 0)
        p->nodes[n].v = cp;
    return n;
}

static int read_count(struct rx_parser *p, int *out)
{
    size_t start = p->pos;
    long v = 0;

    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        if (v <= RX_MAX_REPEAT)
            v = v * 10 + (p->s[p->pos] - '0');
        p->pos++;
    }
    if (p->pos == start)
        return 0;
    if (v > RX_MAX_REPEAT)
        return perr(p, "repetition count over 1000");
    *out = (int)v;
    return 1;
}

static int parse_braces(struct rx_parser *p, int *min, int *max)
{
    int r;

    p->pos++; /* '{' */
    if ((r = read_count(p, min)) <= 0)
        return r < 0 ? -1 : perr(p, "bad {n,m} quantifier");
    *max = *min;
    if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        if ((r = read_count(p, max)) < 0)
            return -1;
        if (r == 0)
            *max = -1;
    }
    if (p->pos >= p->len || p->s[p->pos] != '}')
        return perr(p, "bad {n,m} quantifier");
    p->pos++;
    if (*max >= 0 && *max < *min)
        return perr(p, "{n,m} with m < n");
    return 0;
}

static int parse_repeat(struct rx_parser *p)
{
    int a = parse_atom(p), n, min, max;

    if (a < 0 || p->pos >= p->len)
        return a;
    switch (p->s[p->pos]) {
    case '*':
        min = 0, max = -1;
        p->pos++;
        break;
    case '+':
        min = 1, max = -1;
        p->pos++;
        break;
    case '?':
        min = 0, max = 1;
        p->pos++;
        break;
    case '{':
        if (parse_braces(p, &min, &max) < 0)
            return -1;
        break;
    default:
        return a;
    }
    if (p->nodes[a].t == N_BOL || p->nodes[a].t == N_EOL)
        return perr(p, "nothing to repeat");
    if (p->pos < p->len && p->s[p->pos] == '?')
        p->pos++; /* lazy: matches the same strings */
    if (p->pos < p->len && p->s[p->pos] && strchr("*+?{", p->s[p->pos]))
        return perr(p, "nothing to repeat");
    if ((n = new_node(p, N_REP)) >= 0) {
        p->nodes[n].a = a;
        p->nodes[n].min = min;
        p->nodes[n].max = max;
    }
    return n;
}

static int parse_cat(struct rx_parser *p)
{
    int node = -1;

    while (p->pos < p->len && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        int a = parse_repeat(p);
        if (a < 0)
            return -1;
        node = node < 0 ? a : new_pair(p, N_CAT, node, a);
        if (node < 0)
            return -1;
    }
    return node < 0 ? new_node(p, N_EMPTY) : node;
}

static int parse_alt(struct rx_parser *p)
{
    int l = parse_cat(p);

    while (l >= 0 && p->pos < p->len && p->s[p->pos] == '|') {
        int r;
        p->pos++;
        if ((r = parse_cat(p)) < 0)
            return -1;
        l = new_pair(p, N_ALT, l, r);
    }
    return l;
}

struct rx_gen {
    struct rx_inst *prog;
    size_t n, cap;
    int too_big;
};

static int emit(struct rx_gen *g, int op, uint32_t x, uint32_t y)
{
    if (g->n >= RX_MAX_INST) {
        g->too_big = 1;
        return -1;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        struct rx_inst *np = realloc(g->prog, cap * sizeof(*np));
        if (!np)
            return -1;
        g->prog = np;
        g->cap = cap;
    }
    g->prog[g->n].op = (uint8_t)op;
    g->prog[g->n].x = x;
    g->prog[g->n].y = y;
    return (int)g->n++;
}

static int gen(struct rx_gen *g, const struct rx_node *nodes, int i)
{
    const struct rx_node *nd = &nodes[i];
    int s, j;
    uint32_t chain;

    switch (nd->t) {
    case N_EMPTY:
        return 0;
    case N_CHAR:
        return emit(g, OP_CHAR, nd->v, 0) < 0 ? -1 : 0;
    case N_CLASS:
        return emit(g, OP_CLASS, nd->v, 0) < 0 ? -1 : 0;
    case N_ANY:
        return emit(g, OP_ANY, 0, 0) < 0 ? -1 : 0;
    case N_BOL:
        return emit(g, OP_BOL, 0, 0) < 0 ? -1 : 0;
    case N_EOL:
        return emit(g, OP_EOL, 0, 0) < 0 ? -1 : 0;
    case N_CAT:
        return gen(g, nodes, nd->a) < 0 || gen(g, nodes, nd->b) < 0 ? -1 : 0;
    case N_ALT:
        if ((s = emit(g, OP_SPLIT, 0, 0)) < 0 || gen(g, nodes, nd->a) < 0 ||
            (j = emit(g, OP_JMP, 0, 0)) < 0)
            return -1;
        g->prog[s].x = (uint32_t)s + 1;
        g->prog[s].y = (uint32_t)g->n;
        if (gen(g, nodes, nd->b) < 0)
            return -1;
        g->prog[j].x = (uint32_t)g->n;
        return 0;
    default: /* N_REP */
        for (int k = 0; k < nd->min; k++)
            if (gen(g, nodes, nd->a) < 0)
                return -1;
        if (nd->max < 0) {
            if ((s = emit(g, OP_SPLIT, 0, 0)) < 0 || gen(g, nodes, nd->a) < 0 ||
                emit(g, OP_JMP, (uint32_t)s, 0) < 0)
                return -1;
            g->prog[s].x = (uint32_t)s + 1;
            g->prog[s].y = (uint32_t)g->n;
            return 0;
        }
        /* x{0,k}: k nested optional copies; the SPLITs are chained through y until patched. */
        chain = UINT32_MAX;
        for (int k = nd->min; k < nd->max; k++) {
            if ((s = emit(g, OP_SPLIT, 0, chain)) < 0 || gen(g, nodes, nd->a) < 0)
                return -1;
            g->prog[s].x = (uint32_t)s + 1;
            chain = (uint32_t)s;
        }
        while (chain != UINT32_MAX) {
            uint32_t next = g->prog[chain].y;
            g->prog[chain].y = (uint32_t)g->n;
            chain = next;
        }
        return 0;
    }
}

void rw_regex_free(struct rw_regex *rx)
{
    if (!rx)
        return;
    for (size_t k = 0; k < rx->ncls; k++)
        free(rx->cls[k].r);
    free(rx->cls);
    free(rx->prog);
    free(rx);
}

struct rw_regex *rw_regex_compile(const char *src, size_t len, char *err, size_t errlen)
{
    struct rx_parser p = {0};
    struct rx_gen g = {0};
    struct rw_regex *rx = calloc(1, sizeof(*rx));
    int root, first;

    if (!rx) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (len > 4096) {
        snprintf(err, errlen, "pattern longer than 4096 bytes");
        goto fail;
    }
    p.s = (const unsigned char *)src;
    p.len = len;
    p.rx = rx;
    p.err = err;
    p.errlen = errlen;
    if ((root = parse_alt(&p)) < 0)
        goto fail;
    if (p.pos != p.len) {
        perr(&p, "unmatched )");
        goto fail;
    }
    if (gen(&g, p.nodes, root) < 0 || emit(&g, OP_MATCH, 0, 0) < 0) {
        snprintf(err, errlen, g.too_big ? "pattern too large" : "out of memory");
        goto fail;
    }
    for (first = root; p.nodes[first].t == N_CAT; first = p.nodes[first].a)
        ;
    rx->anchored = p.nodes[first].t == N_BOL;
    rx->prog = g.prog;
    rx->n = g.n;
    free(p.nodes);
    return rx;
fail:
    free(p.nodes);
    free(g.prog);
    rw_regex_free(rx);
    return NULL;
}

struct rx_run {
    const struct rw_regex *rx;
    size_t *mark; /* generation in which an instruction was last added */
    size_t gen;
    uint32_t *stack;
    int matched;
};

/* Adds pc and everything reachable from it without consuming input to list. */
static void add_thread(struct rx_run *r, uint32_t *list, size_t *ln, uint32_t pc0, size_t pos,
                       size_t len)
{
    size_t sp = 0;

    r->stack[sp++] = pc0;
    while (sp) {
        uint32_t pc = r->stack[--sp];
        const struct rx_inst *in = &r->rx->prog[pc];

        if (r->mark[pc] == r->gen)
            continue;
        r->mark[pc] = r->gen;
        switch (in->op) {
        case OP_JMP:
            r->stack[sp++] = in->x;
            break;
        case OP_SPLIT:
            r->stack[sp++] = in->y;
            r->stack[sp++] = in->x;
            break;
        case OP_BOL:
            if (pos == 0)
                r->stack[sp++] = pc + 1;
            break;
        case OP_EOL:
            if (pos == len)
                r->stack[sp++] = pc + 1;
            break;
        case OP_MATCH:
            r->matched = 1;
            break;
        default:
            list[(*ln)++] = pc;
        }
    }
}

static int step_matches(const struct rw_regex *rx, const struct rx_inst *in, uint32_t cp)
{
    const struct rx_class *c;

    switch (in->op) {
    case OP_CHAR:
        return cp == in->x;
    case OP_ANY:
        return cp != '\n' && cp != '\r' && cp != 0x2028 && cp != 0x2029;
    case OP_CLASS:
        c = &rx->cls[in->x];
        if (cp < 128)
            return (int)((c->ascii[cp / 64] >> (cp % 64)) & 1);
        return class_has(c, cp);
    default:
        return 0;
    }
}

int rw_regex_match(const struct rw_regex *rx, const char *s, size_t len)
{
    /* Per run: two thread lists, the marks and the add_thread stack (at most 2n+1 entries). */
    uint32_t lbuf[4 * RX_STACK_INST + 2];
    size_t mbuf[RX_STACK_INST];
    uint32_t *lists = lbuf, *clist, *nlist, *tmp;
    size_t n = rx->n, cn = 0, nn, pos = 0;
    struct rx_run r = {rx, mbuf, 1, NULL, 0};
    const unsigned char *u = (const unsigned char *)s;

    if (n > RX_STACK_INST) {
        lists = malloc((4 * n + 2) * sizeof(*lists));
        r.mark = malloc(n * sizeof(*r.mark));
        if (!lists || !r.mark) {
            free(r.mark);
            free(lists);
            return -1;
        }
    }
    memset(r.mark, 0, n * sizeof(*r.mark));
    clist = lists;
    nlist = lists + n;
    r.stack = lists + 2 * n;
    add_thread(&r, clist, &cn, 0, 0, len);
    while (!r.matched && pos < len && (cn || !rx->anchored)) {
        size_t np = pos;
        int bad;
        uint32_t cp = utf8_next(u, len, &np, &bad);

        r.gen++;
        nn = 0;
        for (size_t k = 0; k < cn && !r.matched; k++)
            if (step_matches(rx, &rx->prog[clist[k]], cp))
                add_thread(&r, nlist, &nn, clist[k] + 1, np, len);
        if (!rx->anchored)
            add_thread(&r, nlist, &nn, 0, np, len);
        tmp = clist;
        clist = nlist;
        nlist = tmp;
        cn = nn;
        pos = np;
    }
    if (lists != lbuf) {
        free(lists);
        free(r.mark);
    }
    return r.matched;
}
