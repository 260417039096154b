/* Byte scans a word at a time (SWAR: SIMD within a register): 8 bytes are looked at per step in
 * a uint64_t, for the long plain runs of JSON strings and request targets. */
#ifndef RW_SWAR_H
#define RW_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RW_SWAR_ONES  0x0101010101010101ull /* 0x01 in every byte */
#define RW_SWAR_HIGHS 0x8080808080808080ull /* the high bit of every byte */

/* The 8 bytes at s (any alignment), s[0] in the lowest byte whatever the machine's byte order. */
static inline uint64_t rw_swar_load(const unsigned char *s)
{
    uint64_t w;

    memcpy(&w, s, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/*
 * The high bit set in each byte of w below n (1 <= n <= 0x80). Subtracting n from every byte
 * sets a byte's high bit when the byte is below n (it wraps) or at least 0x80 + n; "& ~w" drops
 * the bytes that had the high bit already, which leaves exactly those below n. The one catch: a
 * byte below n borrows from the byte above it, which may then be flagged too. Flags above the
 * lowest are therefore not to be trusted, but the lowest one is always right: a borrow only
 * ever starts at a byte that is itself below n.
 */
static inline uint64_t rw_swar_below(uint64_t w, unsigned n)
{
    return (w - RW_SWAR_ONES * n) & ~w & RW_SWAR_HIGHS;
}

/* The high bit set in each byte of w equal to c (the lowest flag right, as above). */
static inline uint64_t rw_swar_eq(uint64_t w, unsigned char c)
{
    return rw_swar_below(w ^ (RW_SWAR_ONES * c), 1);
}

/* The bytes of w a JSON string cannot hold as they are: '"', '\\' and control characters
 * (the lowest flag right, as above). Readers that check UTF-8 add the bytes from 0x80:
 * `| (w & RW_SWAR_HIGHS)`. */
static inline uint64_t rw_swar_json_special(uint64_t w)
{
    return rw_swar_below(w, 0x20) | rw_swar_eq(w, '"') | rw_swar_eq(w, '\\');
}

/* The index (0..7) of the first byte flagged in m (not 0): the lowest, as loaded. */
static inline size_t rw_swar_first(uint64_t m)
{
    return (size_t)__builtin_ctzll(m) / 8;
}

#endif
