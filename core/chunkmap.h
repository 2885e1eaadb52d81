/* SPDX-License-Identifier: MIT */
/*
 * core/chunkmap.h — the encoding of the chunk map and the operations on one
 * map word.
 *
 * Every chunk has two bits, and 32 chunks share one 64-bit word, so that the
 * whole state of a chunk (and of up to 32 neighbours) changes in one atomic
 * step: the lock-free layer depends on that (see core/core.h, "claims and
 * releases").
 *
 *     map word w holds chunks 32w .. 32w+31; chunk k of the word owns bits
 *     2k (USED) and 2k+1 (LAST):
 *
 *       bit  63  62  61  60   ...    3   2   1   0
 *           L31 U31 L30 U30   ...   L1  U1  L0  U0
 *
 *       L U
 *       0 0   free
 *       0 1   used, and the next chunk belongs to the same allocation
 *       1 1   used, and the last chunk of its allocation
 *       1 0   never written (the invariant check rejects it)
 *
 * An allocation of n chunks is n-1 chunks "01" followed by one "11". The
 * LAST marker gives a free the extent without a size, and lets it tell the
 * start of an allocation (the chunk before it is free or LAST) from an
 * interior chunk (the chunk before it is "01").
 *
 * Padding: when the chunk count is not a multiple of 32, the chunks past the
 * end of the last word are marked "11" for good (each looks like a one-chunk
 * allocation that nobody can free, since no pointer reaches it). So "free"
 * never needs a mask of the chunks that exist, and a run of free chunks ends
 * at the end of the region by itself.
 *
 * Most helpers work on "spaced" masks: one bit per chunk, at the chunk's
 * USED position (bit 2k). ca_map_free(v) is such a mask of the free chunks
 * of word v; its lowest set bit divided by 2 is the first free chunk.
 *
 * Pure functions over values, no state: safe from any thread.
 */
#ifndef CA_CORE_CHUNKMAP_H
#define CA_CORE_CHUNKMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bits.h"

#define CA_MAP_CHUNKS_PER_WORD 32u
#define CA_MAP_WORD_SHIFT 5u /* log2(CA_MAP_CHUNKS_PER_WORD) */
#define CA_MAP_USED_BITS 0x5555555555555555ull
#define CA_MAP_LAST_BITS 0xAAAAAAAAAAAAAAAAull

_Static_assert(CA_MAP_CHUNKS_PER_WORD == 1u << CA_MAP_WORD_SHIFT, "word shift");
_Static_assert(CA_MAP_CHUNKS_PER_WORD * 2 == 64, "two bits per chunk fill a 64-bit word");
_Static_assert((CA_MAP_USED_BITS << 1) == CA_MAP_LAST_BITS, "LAST is the bit above USED");

/* Chunk states, as the two bits read (LAST << 1 | USED). */
enum { CA_MAP_FREE = 0, CA_MAP_USED = 1, CA_MAP_BAD = 2, CA_MAP_LAST = 3 };

/* Spaced mask of the free chunks of word v. */
static inline uint64_t ca_map_free(uint64_t v)
{
    return ~v & CA_MAP_USED_BITS;
}

/* Spaced mask of the used chunks of word v. */
static inline uint64_t ca_map_used(uint64_t v)
{
    return v & CA_MAP_USED_BITS;
}

/* Spaced mask of the chunks of word v that end their allocation. */
static inline uint64_t ca_map_lasts(uint64_t v)
{
    return (v >> 1) & CA_MAP_USED_BITS;
}

/* Spaced masks of chunk ranges within a word. Chunk indices are 0..31 and
 * ranges are inclusive and never empty, so every shift stays below 64 and
 * no helper needs a branch. */

/* Chunks k..31. */
static inline uint64_t ca_map_from(unsigned k)
{
    return CA_MAP_USED_BITS << (2 * k);
}

/* Chunks 0..k. */
static inline uint64_t ca_map_upto(unsigned k)
{
    return CA_MAP_USED_BITS >> (62 - 2 * k);
}

/* Chunks lo..hi, lo <= hi. */
static inline uint64_t ca_map_span(unsigned lo, unsigned hi)
{
    return ca_map_from(lo) & ca_map_upto(hi);
}

/* Chunk index (0..31) of the lowest / highest chunk of a non-empty spaced mask. */
static inline unsigned ca_map_lowest(uint64_t spaced)
{
    return ca_bits_first(spaced) >> 1;
}

static inline unsigned ca_map_highest(uint64_t spaced)
{
    return ca_bits_top(spaced) >> 1;
}

/* State (CA_MAP_FREE, _USED, _LAST or _BAD) of chunk k of word v. */
static inline unsigned ca_map_state(uint64_t v, unsigned k)
{
    return (unsigned)(v >> (2 * k)) & 3u;
}

/* The LAST bit of chunk k (0..31) of a word: the one place its position is
 * computed. */
static inline uint64_t ca_map_last_bit(unsigned k)
{
    return 2ull << (2 * k);
}

/* Chunks in the longest stretch of free chunks of word v (0..32). Binary
 * lifting over the masks of "2^k free chunks from here": the largest
 * length is built bit by bit from the top, keeping the chunks it can still
 * start at; about 30 instructions, no loop over chunks. */
static inline unsigned ca_map_longest(uint64_t v)
{
    uint64_t r1 = ca_map_free(v); /* bit 2i: chunk i free */
    if (r1 == CA_MAP_USED_BITS)
        return 32;
    uint64_t r2 = r1 & (r1 >> 2); /* bit 2i: chunks i .. i + 1 free */
    uint64_t r4 = r2 & (r2 >> 4);
    uint64_t r8 = r4 & (r4 >> 8);
    uint64_t r16 = r8 & (r8 >> 16);
    uint64_t at = CA_MAP_USED_BITS, q; /* the chunks that start `len` free chunks */
    unsigned len = 0;
#define CA_MAP_LONGER(rk, k)                \
    q = at & ((rk) >> (2 * len));           \
    if (q) {                                \
        at = q;                             \
        len += (k);                         \
    }
    CA_MAP_LONGER(r16, 16)
    CA_MAP_LONGER(r8, 8)
    CA_MAP_LONGER(r4, 4)
    CA_MAP_LONGER(r2, 2)
    CA_MAP_LONGER(r1, 1)
#undef CA_MAP_LONGER
    return len;
}

/* Free chunks at the top (chunk 31 down) and at the bottom (chunk 0 up) of
 * word v (0..32). */
static inline unsigned ca_map_top_free(uint64_t v)
{
    uint64_t u = ca_map_used(v);
    return u ? 31u - ca_map_highest(u) : 32u;
}

static inline unsigned ca_map_bottom_free(uint64_t v)
{
    uint64_t u = ca_map_used(v);
    return u ? ca_map_lowest(u) : 32u;
}

/* The fit index (core/ops.h) holds, for each map word, the length of the
 * longest free run that starts in it, counted on into the next word:
 * 0..64, or CA_MAP_FIT_ON when the run reaches the top of the word and
 * all of the next one is free (it may run on further: any length). */
#define CA_MAP_FIT_ON 127u

/* That length for word v followed by word `next` (`has_next` false: v is
 * the last word). */
static inline unsigned ca_map_fit(uint64_t v, uint64_t next, bool has_next)
{
    unsigned len = ca_map_longest(v), top = ca_map_top_free(v);
    if (top && has_next) {
        unsigned on = ca_map_bottom_free(next);
        if (on == 32)
            return CA_MAP_FIT_ON;
        if (top + on > len)
            len = top + on;
    }
    return len;
}

#endif /* CA_CORE_CHUNKMAP_H */
