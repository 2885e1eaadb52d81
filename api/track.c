/* SPDX-License-Identifier: MIT */
/*
 * api/track.c — what the memory tools are told about arena blocks (see
 * api/track.h for why and when).
 *
 * Every function starts from the tools found once by ca_api_track_detect
 * and does nothing for a tool that is absent, so a build carries the code
 * of every tool and pays for none it does not meet. The sanitizer entry
 * points are weak references: NULL in a program without that runtime.
 * Thread safety: see api/track.h; the functions keep no state of their own
 * but the tools found (an atomic, written with the same value by whoever
 * looks first).
 */
#include "config.h"

#include "api/track.h"

#include "core/chunkmap.h"

#include <stdbool.h>
#include <stdint.h>

#if CA_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif

/* The sanitizers' interfaces (compiler-rt's asan_interface.h,
 * tsan_interface.h), weak: resolved by the dynamic
 * linker when the program carries the runtime, NULL when not. */
#define CA_WEAK __attribute__((weak))
void __asan_poison_memory_region(void const volatile *addr, size_t size) CA_WEAK;
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) CA_WEAK;
void *__asan_region_is_poisoned(void *beg, size_t size) CA_WEAK;
void __tsan_acquire(void *addr) CA_WEAK;
void __tsan_release(void *addr) CA_WEAK;

_Atomic int ca_api_track_tools = -1;

int ca_api_track_detect(void)
{
    int t = 0;
    if (__asan_poison_memory_region && __asan_unpoison_memory_region && __asan_region_is_poisoned)
        t |= CA_TRACK_ASAN;
    if (__tsan_acquire && __tsan_release)
        t |= CA_TRACK_TSAN;
#if CA_HAVE_VALGRIND
    /* memcheck, not any tool of Valgrind's: only memcheck answers
     * GET_VBITS (1: done); under callgrind, say, the request is unknown
     * and answers 0, and the hooks would only cost (and skew the
     * instruction counts of bench-instr). */
    if (RUNNING_ON_VALGRIND) {
        _Alignas(8) unsigned char probe[8] = {0}, vbits[8];
        if (VALGRIND_GET_VBITS(probe, vbits, sizeof probe) == 1)
            t |= CA_TRACK_VALGRIND;
    }
#endif
    /* relaxed: see ca_api_tracking; every thread computes the same value */
    atomic_store_explicit(&ca_api_track_tools, t, memory_order_relaxed);
    return t;
}

size_t ca_api_track_span(const ca_arena *a, size_t size)
{
    unsigned shift = a->sync.core.shift;
    size_t chunks = size ? ((size - 1) >> shift) + 1 : 1;
    return chunks << shift;
}

/* TSan: release (or acquire) the chunks of [lo, hi), each by its address:
 * a block may come back at another start than it left (a run of chunks
 * reused by a longer or shorter block), so one sync object a chunk, not a
 * block, carries every hand-over. O(chunks), under TSan only. */
static void tsan_chunks(const ca_arena *a, unsigned char *lo, unsigned char *hi, bool release)
{
    size_t step = ca_core_chunk_size(&a->sync.core);
    for (unsigned char *q = lo; q < hi; q += step) {
        if (release)
            __tsan_release(q);
        else
            __tsan_acquire(q);
    }
}

static size_t region_bytes(const ca_arena *a)
{
    return a->sync.core.nchunks << a->sync.core.shift;
}

#if CA_HAVE_VALGRIND
/* memcheck: whether the arena's blocks are a memory pool's (a created
 * arena) or malloc-like (a static one); see api/track.h. */
static bool pooled(const ca_arena *a)
{
    return !a->is_static;
}

/* memcheck: every live block of a quiet static arena is freed at once
 * (reset, unloading). Its blocks are where the map says allocations start:
 * a used chunk after a free or a LAST one (core/chunkmap.h). Read with
 * relaxed loads: the arena is quiet, as reset requires. O(chunks), under
 * memcheck only. (A pool's blocks go with the pool.) */
static void valgrind_free_all(const ca_arena *a)
{
    const ca_core *c = &a->sync.core;
    unsigned prev = CA_MAP_FREE;
    for (size_t i = 0; i < c->nchunks; i++) {
        uint64_t w = atomic_load_explicit(&c->map[i >> CA_MAP_WORD_SHIFT], memory_order_relaxed);
        unsigned st = ca_map_state(w, (unsigned)(i & (CA_MAP_CHUNKS_PER_WORD - 1)));
        if (st != CA_MAP_FREE && prev != CA_MAP_USED)
            VALGRIND_FREELIKE_BLOCK(c->base + (i << c->shift), 0);
        prev = st;
    }
}

/* memcheck: the arena holds no block any more (the pool emptied, or every
 * malloc-like block freed), and none of its bytes is accessible. */
static void valgrind_empty(const ca_arena *a)
{
    unsigned char *base = a->sync.core.base;
    if (pooled(a)) {
        if (VALGRIND_MEMPOOL_EXISTS(base))
            VALGRIND_DESTROY_MEMPOOL(base);
        VALGRIND_CREATE_MEMPOOL(base, 0, 0);
    } else {
        valgrind_free_all(a);
    }
    VALGRIND_MAKE_MEM_NOACCESS(base, region_bytes(a));
}
#endif

void ca_api_track_region(const ca_arena *a)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN)
        __asan_poison_memory_region(a->sync.core.base, region_bytes(a));
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND)
        valgrind_empty(a);
#endif
}

void ca_api_track_discard(const ca_arena *a)
{
    ca_api_track_region(a);
}

void ca_api_track_region_gone(const ca_arena *a)
{
    int t = ca_api_tracking();
    unsigned char *base = a->sync.core.base;
    if (t & CA_TRACK_ASAN)
        __asan_unpoison_memory_region(base, region_bytes(a));
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) {
        if (!pooled(a))
            valgrind_free_all(a);
        else if (VALGRIND_MEMPOOL_EXISTS(base))
            VALGRIND_DESTROY_MEMPOOL(base);
        /* Back to its owner, holding what the blocks left: bytes it has
         * not written since are as good as uninitialised. */
        VALGRIND_MAKE_MEM_UNDEFINED(base, region_bytes(a));
    }
#endif
}

void ca_api_track_alloc(const ca_arena *a, void *p, size_t size)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_TSAN)
        tsan_chunks(a, p, (unsigned char *)p + ca_api_track_span(a, size), false);
    /* The chunks were free, so poisoned already: only the requested bytes
     * open up (the rest of the last chunk stays poisoned). */
    if (t & CA_TRACK_ASAN)
        __asan_unpoison_memory_region(p, size);
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) {
        if (pooled(a))
            VALGRIND_MEMPOOL_ALLOC(a->sync.core.base, p, size);
        else
            VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
    }
#endif
}

void ca_api_track_free(const ca_arena *a, void *p, size_t span)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN)
        __asan_poison_memory_region(p, span);
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) {
        if (pooled(a))
            VALGRIND_MEMPOOL_FREE(a->sync.core.base, p);
        else
            VALGRIND_FREELIKE_BLOCK(p, 0);
    }
#endif
    if (t & CA_TRACK_TSAN)
        tsan_chunks(a, p, (unsigned char *)p + span, true);
}

void ca_api_track_resize(const ca_arena *a, void *p, size_t old, size_t size, size_t span)
{
    int t = ca_api_tracking();
    unsigned char *b = p;
    size_t to = ca_api_track_span(a, size);
    if ((t & CA_TRACK_TSAN) && to < span)
        tsan_chunks(a, b + to, b + span, true);
    if ((t & CA_TRACK_TSAN) && to > span)
        tsan_chunks(a, b + span, b + to, false);
    if (t & CA_TRACK_ASAN) {
        /* All of it, then the front: exact whatever the 8-byte shadow
         * granules make of a boundary that is not a multiple of 8. */
        __asan_poison_memory_region(p, to > span ? to : span);
        __asan_unpoison_memory_region(p, size);
    }
#if CA_HAVE_VALGRIND
    if ((t & CA_TRACK_VALGRIND) && size != old) {
        if (pooled(a))
            VALGRIND_MEMPOOL_CHANGE(a->sync.core.base, p, p, size);
        else if (size && old)
            VALGRIND_RESIZEINPLACE_BLOCK(p, old, size, 0);
        else { /* memcheck takes a resize from or to 0 for a free */
            VALGRIND_FREELIKE_BLOCK(p, 0);
            VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
        }
        /* The bytes gained are undefined, those lost inaccessible (for a
         * pool, MEMPOOL_CHANGE moved the size only). */
        if (size > old)
            VALGRIND_MAKE_MEM_UNDEFINED(b + old, size - old);
        else
            VALGRIND_MAKE_MEM_NOACCESS(b + size, old - size);
    }
#else
    (void)old;
#endif
}

size_t ca_api_track_live(const void *p, size_t span)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN) {
        /* The first poisoned byte ends what the block's owner asked for. */
        unsigned char *bad = __asan_region_is_poisoned((void *)(uintptr_t)p, span);
        return bad ? (size_t)(bad - (const unsigned char *)p) : span;
    }
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) {
        /* The check reports an error where it stops: not one of the
         * program's, so this thread's reporting is off meanwhile. */
        VALGRIND_DISABLE_ERROR_REPORTING;
        uintptr_t bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, span);
        VALGRIND_ENABLE_ERROR_REPORTING;
        return bad ? (size_t)(bad - (uintptr_t)p) : span;
    }
#endif
    return span;
}
