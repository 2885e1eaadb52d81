/* SPDX-License-Identifier: MIT */
/*
 * core/inspect.h — reading a core's map for people: its live blocks in
 * address order, its free runs by length, and what groups of chunks hold.
 *
 * Nothing here writes: these functions only load map words. With shared ==
 * false the caller guarantees that no operation runs meanwhile (a lock, or
 * one thread), and what they report is exact. With shared == true other
 * threads may claim and release chunks (core/core.h) while they read: each
 * map word is read whole (one seq_cst load), but different words at
 * different moments, so the result is exact for every part of the map that
 * does not change meanwhile and may be a mixture of before and after for
 * parts that do. Freestanding, like the rest of core/.
 *
 * Blocks that a per-thread cache holds are "used" in the map, but are not
 * the program's: ca_core_blocks leaves them out (block_live in inspect.c),
 * and ca_core_survey and ca_core_cells, asked to, count their chunks as
 * free (cached_chunks): the places here that read the cached plane.
 */
#ifndef CA_CORE_INSPECT_H
#define CA_CORE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

/* Size classes of free runs: class k holds the runs of 2^k .. 2^(k+1) - 1
 * chunks. A run is at most CA_CORE_MAX_CHUNKS = 2^40 chunks long. */
#define CA_CORE_RUN_CLASSES 41u

_Static_assert(CA_CORE_MAX_CHUNKS == (size_t)1 << (CA_CORE_RUN_CLASSES - 1),
               "the longest possible run falls in the last class");

/* A live block: its first chunk and its length in chunks. */
typedef struct ca_core_block {
    size_t first;
    size_t chunks;
} ca_core_block;

/* What a group of chunks holds (ca_core_cells). */
typedef struct ca_core_cell {
    size_t used;      /* used chunks */
    size_t starts;    /* allocations that start in the group */
    size_t free_runs; /* maximal free runs with a chunk in the group (a run
                       * that crosses into a neighbouring group counts in both) */
} ca_core_cell;

/* Put into out[0..max) the live blocks whose first chunk is at or after
 * chunk `from`, in address order, and return how many; *next is where to
 * go on: past the last block reported, or nchunks when the map is done. A
 * block that starts before `from` is never reported, even when it reaches
 * past it, so calls that go on from *next report each block once. It may
 * return fewer than max blocks (even none) before the end: after 256 words
 * without a block, so that a caller holding a lock holds it briefly. Cost:
 * O(max + 256) words, plus the words of the blocks reported. */
size_t ca_core_blocks(const ca_core *c, size_t from, ca_core_block *out, size_t max,
                      size_t *next, bool shared);

/* One pass over the map: what ca_core_scan reports, and, if hist is not
 * NULL, the free runs counted by size class into hist[0 ..
 * CA_CORE_RUN_CLASSES). With `cached`, the chunks of cached blocks count
 * as free: not in chunks_used nor allocations, and part of the free runs
 * (and classes) they border, all from the same pass. Cost: O(map words +
 * free runs + cached blocks). */
void ca_core_survey(const ca_core *c, ca_core_usage *u, size_t *hist, bool cached, bool shared);

/* Describe each of `ncells` consecutive groups of `group` chunks from chunk
 * 0 (group > 0; groups past the end describe nothing: all zero). With
 * `cached`, the chunks of cached blocks count as free, as in
 * ca_core_survey. Cost: O(map words + free runs + allocations in the
 * groups + cached blocks). */
void ca_core_cells(const ca_core *c, size_t group, ca_core_cell *cells, size_t ncells,
                   bool cached, bool shared);

/* The size class of a run of n > 0 chunks: floor(log2(n)). */
static inline unsigned ca_core_run_class(size_t n)
{
    return ca_bits_top((uint64_t)n);
}

#endif /* CA_CORE_INSPECT_H */
