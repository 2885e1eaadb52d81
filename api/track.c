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
 * tsan_interface.h, common_interface_defs.h), weak: resolved by the dynamic
 * linker when the program carries the runtime, NULL when not. */
#define CA_WEAK __attribute__((weak))
void __asan_poison_memory_region(void const volatile *addr, size_t size) CA_WEAK;
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) CA_WEAK;
void *__asan_region_is_poisoned(void *beg, size_t size) CA_WEAK;
void __tsan_acquire(void *addr) CA_WEAK;
void __tsan_release(void *addr) CA_WEAK;
void __sanitizer_print_stack_trace(void) CA_WEAK;

_Atomic int ca_api_track_tools = -1;

int ca_api_track_detect(void)
{
    int t = 0;
    if (__asan_poison_memory_region && __asan_unpoison_memory_region && __asan_region_is_poisoned)
        t |= CA_TRACK_ASAN;
    if (__tsan_acquire && __tsan_release)
        t |= CA_TRACK_TSAN;
#if CA_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        t |= CA_TRACK_VALGRIND;
#endif
    /* relaxed: see ca_api_tracking; every thread computes the same value */
    atomic_store_explicit(&ca_api_track_tools, t, memory_order_relaxed);
    return t;
}

size_t ca_api_track_span(const ca_core *c, size_t size)
{
    size_t chunks = size ? ((size - 1) >> c->shift) + 1 : 1;
    return chunks << c->shift;
}

/* TSan: release (or acquire) the chunks of [lo, hi), each by its address:
 * a block may come back at another start than it left (a run of chunks
 * reused by a longer or shorter block), so one sync object a chunk, not a
 * block, carries every hand-over. O(chunks), under TSan only. */
static void tsan_chunks(const ca_core *c, unsigned char *lo, unsigned char *hi, bool release)
{
    size_t step = ca_core_chunk_size(c);
    for (unsigned char *q = lo; q < hi; q += step) {
        if (release)
            __tsan_release(q);
        else
            __tsan_acquire(q);
    }
}

static size_t region_bytes(const ca_core *c)
{
    return c->nchunks << c->shift;
}

#if CA_HAVE_VALGRIND
/* memcheck: every live block of the quiet core c is freed at once (reset,
 * an unloaded arena). Its blocks are where the map says allocations start:
 * a used chunk after a free or a LAST one (core/chunkmap.h). Read with
 * relaxed loads: the arena is quiet, as reset requires. O(chunks), under
 * memcheck only. */
static void valgrind_free_all(const ca_core *c)
{
    unsigned prev = CA_MAP_FREE;
    for (size_t i = 0; i < c->nchunks; i++) {
        uint64_t w = atomic_load_explicit(&c->map[i >> CA_MAP_WORD_SHIFT], memory_order_relaxed);
        unsigned st = ca_map_state(w, (unsigned)(i & (CA_MAP_CHUNKS_PER_WORD - 1)));
        if (st != CA_MAP_FREE && prev != CA_MAP_USED)
            VALGRIND_FREELIKE_BLOCK(c->base + (i << c->shift), 0);
        prev = st;
    }
}
#endif

void ca_api_track_region(const ca_core *c)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN)
        __asan_poison_memory_region(c->base, region_bytes(c));
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND)
        VALGRIND_MAKE_MEM_NOACCESS(c->base, region_bytes(c));
#endif
}

void ca_api_track_discard(const ca_core *c)
{
#if CA_HAVE_VALGRIND
    if (ca_api_tracking() & CA_TRACK_VALGRIND)
        valgrind_free_all(c);
#endif
    ca_api_track_region(c);
}

void ca_api_track_region_gone(const ca_core *c)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN)
        __asan_unpoison_memory_region(c->base, region_bytes(c));
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) {
        valgrind_free_all(c);
        /* Back to its owner, holding what the blocks left: bytes it has
         * not written since are as good as uninitialised. */
        VALGRIND_MAKE_MEM_UNDEFINED(c->base, region_bytes(c));
    }
#endif
}

void ca_api_track_alloc(const ca_core *c, void *p, size_t size)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_TSAN)
        tsan_chunks(c, p, (unsigned char *)p + ca_api_track_span(c, size), false);
    /* The chunks were free, so poisoned already: only the requested bytes
     * open up (the rest of the last chunk stays poisoned). */
    if (t & CA_TRACK_ASAN)
        __asan_unpoison_memory_region(p, size);
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND)
        VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
#endif
}

void ca_api_track_free(const ca_core *c, void *p, size_t span)
{
    int t = ca_api_tracking();
    if (t & CA_TRACK_ASAN)
        __asan_poison_memory_region(p, span);
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND)
        VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
    if (t & CA_TRACK_TSAN)
        tsan_chunks(c, p, (unsigned char *)p + span, true);
}

void ca_api_track_resize(const ca_core *c, void *p, size_t old, size_t size, size_t span)
{
    int t = ca_api_tracking();
    unsigned char *b = p;
    size_t to = ca_api_track_span(c, size);
    if ((t & CA_TRACK_TSAN) && to < span)
        tsan_chunks(c, b + to, b + span, true);
    if ((t & CA_TRACK_TSAN) && to > span)
        tsan_chunks(c, b + span, b + to, false);
    if (t & CA_TRACK_ASAN) {
        /* All of it, then the front: exact whatever the 8-byte shadow
         * granules make of a boundary that is not a multiple of 8. */
        __asan_poison_memory_region(p, to > span ? to : span);
        __asan_unpoison_memory_region(p, size);
    }
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND) /* the bytes gained undefined, those lost inaccessible */
        VALGRIND_RESIZEINPLACE_BLOCK(p, old, size, 0);
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

void ca_api_track_fault(void)
{
    int t = ca_api_tracking();
    if ((t & (CA_TRACK_ASAN | CA_TRACK_TSAN)) && __sanitizer_print_stack_trace)
        __sanitizer_print_stack_trace();
#if CA_HAVE_VALGRIND
    if (t & CA_TRACK_VALGRIND)
        VALGRIND_PRINTF_BACKTRACE("chunkarena: the fault below was found here:\n");
#endif
}
