/* A small ECMA-262 regular expression matcher for JSON Schema "pattern": the syntax the specs
 * write, compiled once to a Thompson NFA and run in time linear in the subject (no backtracking,
 * so no catastrophic patterns), over Unicode code points. */
#ifndef RW_SCHEMA_REGEX_H
#define RW_SCHEMA_REGEX_H

#include <stddef.h>

/*
 * Supported: literals (any UTF-8 code point), '.', '^', '$', classes [...] and [^...] with ranges,
 * \d \D \w \W \s \S (also inside classes), escapes \t \n \r \f \v \0 \cX \xHH \uHHHH \u{H...},
 * identity escapes of punctuation (\/ \. \- ...), groups (...) and (?:...), alternation, greedy
 * and lazy quantifiers * + ? {n} {n,} {n,m}. Refused at compile time (with a message):
 * backreferences, lookaround, named groups, \b \B, \p{...}, flags-dependent syntax.
 * Semantics are those of a JavaScript RegExp with the "u" flag and no other flag: search
 * anywhere unless anchored, '.' matches anything but line terminators, '$' only at the end.
 */
struct rw_regex;

/* Compiles pattern src (UTF-8, len bytes). NULL with a message in err on a syntax error, an
 * unsupported construct, a pattern over the size limit, or ENOMEM. */
struct rw_regex *rw_regex_compile(const char *src, size_t len, char *err, size_t errlen);

/* 1 when the pattern matches somewhere in s (len bytes of UTF-8; invalid bytes match only
 * negated classes and '.'), 0 when not, -1 on ENOMEM. Safe on a shared regex from any thread. */
int rw_regex_match(const struct rw_regex *rx, const char *s, size_t len);

void rw_regex_free(struct rw_regex *rx);

#endif
