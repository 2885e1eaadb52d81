/* SPDX-License-Identifier: MIT */
/*
 * core/bits.h — word-level bit primitives shared by the core.
 *
 * Small inline helpers over 64-bit words: first and last set bit, masks of
 * the bits from or up to a position (positions 0..63; inclusive, so no
 * shift ever reaches 64 and no mask needs a branch), and a popcount that needs no libgcc helper so
 * that core/ stays freestanding. Pure functions, no state: safe from any
 * thread.
 */
#ifndef CA_CORE_BITS_H
#define CA_CORE_BITS_H

#include <stdint.h>

_Static_assert(sizeof(unsigned long long) == 8, "the bit scans assume 64-bit long long");

/* Index of the lowest set bit. x must not be 0. */
static inline unsigned ca_bits_first(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

/* Index of the highest set bit. x must not be 0. */
static inline unsigned ca_bits_top(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

/* Bits i..63 set, 0 <= i <= 63. */
static inline uint64_t ca_bits_from(unsigned i)
{
    return ~0ull << i;
}

/* Bits 0..i set, 0 <= i <= 63. */
static inline uint64_t ca_bits_upto(unsigned i)
{
    return ~0ull >> (63 - i);
}

/* Number of set bits, by the classic SWAR reduction: no call into libgcc
 * (which __builtin_popcountll makes on targets without a popcount insn). */
static inline unsigned ca_bits_count(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

#endif /* CA_CORE_BITS_H */
