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

/* State (CA_MAP_FREE, _USED, _END or _BAD) of chunk k of word v. */
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

/* The bits that mark chunks lo..hi of a word as one allocation's chunks;
 * chunk hi gets the LAST marker when the allocation ends there. */
static inline uint64_t ca_map_mark(unsigned lo, unsigned hi, bool ends_here)
{
    uint64_t used = ca_map_span(lo, hi);
    return ends_here ? used | ca_map_last_bit(hi) : used;
}

/* Both bits of chunks lo..hi: what a release clears. */
static inline uint64_t ca_map_both(unsigned lo, unsigned hi)
{
    return ca_map_span(lo, hi) * 3u;
}

#endif /* CA_CORE_CHUNKMAP_H */
