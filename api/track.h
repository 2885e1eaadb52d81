/* SPDX-License-Identifier: MIT */
/*
 * api/track.h — arena blocks made visible to the memory tools: AddressSanitizer,
 * Valgrind memcheck and ThreadSanitizer.
 *
 * An allocator that carves blocks out of one region hides them from the
 * tools that find memory bugs: to ASan and memcheck the whole region is one
 * object, so an overflow into the next block or a use after free looks
 * legal; to TSan a block freed by one thread and reused by another looks
 * like a race, because the hand-over goes through atomics it does not see
 * (the library is not instrumented). The API (api/alloc.c, api/arena.c)
 * tells this module what happens to each block, at its boundary, and this
 * module tells whichever tool is present:
 *
 *   - ASan: the region is poisoned except the requested bytes of live
 *     blocks (manual poisoning, __asan_(un)poison_memory_region);
 *   - memcheck: each block is announced with its requested size, so
 *     invalid accesses, uses after free and leaked blocks are reported as
 *     for malloc. A static arena's blocks are malloc-like blocks
 *     (VALGRIND_MALLOCLIKE_BLOCK and kin); a created arena is a memory pool
 *     (VALGRIND_MEMPOOL_*), because its region is often a heap block of
 *     the caller's, and a malloc-like block at that block's first byte
 *     would share its address, which memcheck cannot tell apart. (memcheck
 *     checks a pool's blocks for leaks only inside a heap block: a created
 *     arena over static memory gets every report but leaks.)
 *   - TSan: a free releases and an allocation acquires each chunk of the
 *     block (__tsan_release / __tsan_acquire on the chunk's address), so
 *     the hand-over of memory is a happens-before edge, and a real race on
 *     a block's contents is still one.
 *
 * The tools are found at run time, once: ASan and TSan through weak
 * references to their interfaces (resolved by the dynamic linker when the
 * program carries the runtime; NULL otherwise, which -z defs accepts), so
 * a library built plain serves a sanitized program; memcheck through
 * RUNNING_ON_VALGRIND when valgrind.h was found at build time (configure
 * --with-valgrind). With no tool present every hook costs the caller one
 * relaxed load and a branch (ca_api_tracking).
 *
 * Thread safety: every function may be called from any thread; each acts
 * on the block or region its caller owns at that moment (a block between
 * its allocation and its free, a region its arena is quiet on).
 */
#ifndef CA_API_TRACK_H
#define CA_API_TRACK_H

#include <stdatomic.h>
#include <stddef.h>

#include "api/internal.h"

/* The tools found (bits), or -1 before the first look. */
enum ca_api_track_tool {
    CA_TRACK_ASAN = 1,
    CA_TRACK_VALGRIND = 2,
    CA_TRACK_TSAN = 4
};
extern _Atomic int ca_api_track_tools;

/* Look for the tools (once; racing callers find the same answer). */
int ca_api_track_detect(void);

/* The tools present: 0 (the common case) costs one relaxed load. Relaxed:
 * the value never changes once found, and any thread may find it again. */
static inline int ca_api_tracking(void)
{
    int t = atomic_load_explicit(&ca_api_track_tools, memory_order_relaxed);
    return __builtin_expect(t < 0, 0) ? ca_api_track_detect() : t;
}

/* The bytes of chunks a block of `size` bytes occupies in arena a. */
size_t ca_api_track_span(const ca_arena *a, size_t size);

/* The arena's region is new and holds no block: every byte becomes
 * inaccessible. */
void ca_api_track_region(const ca_arena *a);

/* Every block of the quiet arena is about to be discarded at once (reset):
 * call before the map is cleared (memcheck frees each live block, found
 * in the map); then every byte is inaccessible. */
void ca_api_track_discard(const ca_arena *a);

/* The region goes back to its owner (a destroyed or unloaded arena, quiet):
 * its live blocks freed, every byte accessible again. */
void ca_api_track_region_gone(const ca_arena *a);

/* A block of `size` requested bytes was just allocated at p: those bytes
 * become accessible (undefined for memcheck), the rest of its chunks stay
 * poisoned; TSan acquires its chunks. */
void ca_api_track_alloc(const ca_arena *a, void *p, size_t size);

/* The block at p (span bytes of chunks) is about to be freed: call before
 * handing it down, so that it is poisoned wherever it goes next (a cache
 * included); TSan releases its chunks. */
void ca_api_track_free(const ca_arena *a, void *p, size_t span);

/* The block at p (span bytes of chunks before the change) keeps its place
 * and its accessible part goes from `old` to `size` bytes (resize or
 * realloc in place, ca_usable_size). A shrink is announced before the
 * chunks are given back (TSan releases the chunks past the new span), a
 * growth after they were taken (TSan acquires the new ones). */
void ca_api_track_resize(const ca_arena *a, void *p, size_t old, size_t size, size_t span);

/* How many bytes from p, of the span bytes of its block, are accessible
 * now (its requested size, as far as the tools know it; span when no tool
 * keeps such a boundary). */
size_t ca_api_track_live(const void *p, size_t span);

#endif /* CA_API_TRACK_H */
