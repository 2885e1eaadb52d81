/* SPDX-License-Identifier: MIT */
/*
 * api/alloc.c — allocation in the spirit of malloc, and the fault handler.
 *
 * Every function here is a thin shell over the per-thread caches
 * (cache/cache.h: allocation and free) and the sync arena (sync/sync.h:
 * the rest): check the arena is usable, run the operation (the layer
 * locks inside it),
 * translate the core's status into errno or a fault. Faults are reported
 * after the operation returned, so the handler never runs with a lock of
 * the library held. Each block's life is told to the memory tools at this
 * boundary (api/track.h): after a successful allocation, before a free
 * hands a block down, around a resize. Thread safety: see api/chunkarena.h.
 */
#include "config.h"

#include "api/internal.h"
#include "api/track.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- faults ---- */

static void default_handler(const ca_fault_report *r)
{
    fprintf(stderr, "chunkarena: %s: %p in arena \"%s\": %s\n", r->function, r->pointer,
            r->arena, ca_fault_name(r->fault));
    abort();
}

/* The handler, as a pointer swapped atomically: acquire/release so a
 * handler's own state, set up before installing it, is seen by the thread
 * that calls it. */
static _Atomic(ca_fault_handler) handler = default_handler;

ca_fault_handler ca_set_fault_handler(ca_fault_handler h)
{
    return atomic_exchange_explicit(&handler, h ? h : default_handler, memory_order_acq_rel);
}

const char *ca_fault_name(ca_fault fault)
{
    switch (fault) {
    case CA_FAULT_NONE:
        return "no fault";
    case CA_FAULT_FOREIGN:
        return "foreign pointer (not inside the arena)";
    case CA_FAULT_INTERIOR:
        return "interior pointer (inside an allocation, not its first byte)";
    case CA_FAULT_NOT_ALLOCATED:
        return "not allocated (freed already, or never allocated)";
    }
    return "unknown fault";
}

ca_fault ca_api_fault_of(ca_core_status st)
{
    switch (st) {
    case CA_CORE_OK:
        return CA_FAULT_NONE;
    case CA_CORE_FOREIGN:
        return CA_FAULT_FOREIGN;
    case CA_CORE_INTERIOR:
        return CA_FAULT_INTERIOR;
    default:
        return CA_FAULT_NOT_ALLOCATED;
    }
}

void ca_api_report(const ca_arena *a, const void *p, ca_fault fault, const char *function)
{
    ca_fault_report r = {function, a ? a->name : "(none)", p, fault};
    atomic_load_explicit(&handler, memory_order_acquire)(&r);
}

/* A pointer fault found by `function`: report it, and say EINVAL. */
static void fault(ca_arena *a, const void *p, ca_core_status st, const char *function)
{
    ca_api_report(a, p, ca_api_fault_of(st), function);
    errno = EINVAL;
}

/* ---- allocation ---- */

static inline void *alloc_in(ca_arena *a, size_t align, size_t size)
{
    if (!a || !ca_api_ready(a)) {
        errno = EINVAL;
        return NULL;
    }
    ca_core_status st;
    void *p = ca_cache_alloc(&a->cache, size, align, 0, &st);
    if (!p)
        errno = st == CA_CORE_BADALIGN ? EINVAL : ENOMEM;
    else if (ca_api_tracking())
        ca_api_track_alloc(a, p, size);
    return p;
}

/*
 * Free p, told to the memory tools first: a block is poisoned before it
 * goes down, wherever it goes (the map, a cache), so it is never seen
 * accessible there. The tools need its span, so under a tool p is judged
 * once more (usable); a bad p is left to the free to report.
 */
__attribute__((noinline)) static ca_core_status free_tracked(ca_arena *a, void *p)
{
    size_t span;
    if (ca_sync_arena_usable(&a->sync, p, &span) == CA_CORE_OK)
        ca_api_track_free(a, p, span);
    return ca_cache_free(&a->cache, p);
}

/* Inlined: with no tool present, a free pays one load and a branch. */
static inline ca_core_status free_in(ca_arena *a, void *p)
{
    if (ca_api_tracking())
        return free_tracked(a, p);
    return ca_cache_free(&a->cache, p);
}

/*
 * Resize p in place, the tools told: a shrink before its chunks go back
 * (another thread may take them at once), a growth once they are p's.
 */
static ca_core_status resize_in(ca_arena *a, void *p, size_t size)
{
    if (!ca_api_tracking())
        return ca_sync_arena_resize(&a->sync, p, size);
    size_t span;
    ca_core_status st = ca_sync_arena_usable(&a->sync, p, &span);
    if (st != CA_CORE_OK)
        return st;
    size_t live = ca_api_track_live(p, span);
    if (size < live)
        ca_api_track_resize(a, p, live, size, span);
    st = ca_sync_arena_resize(&a->sync, p, size);
    if (st == CA_CORE_OK && size > live)
        ca_api_track_resize(a, p, live, size, span);
    else if (st != CA_CORE_OK && size < live) /* a shrink never fails; were it to: undo */
        ca_api_track_resize(a, p, size, live, ca_api_track_span(a, size));
    return st;
}

void *ca_alloc(ca_arena *a, size_t size)
{
    return alloc_in(a, 0, size);
}

void *ca_aligned_alloc(ca_arena *a, size_t align, size_t size)
{
    if (align == 0) { /* not a power of two; alloc_in takes 0 for "none" */
        errno = EINVAL;
        return NULL;
    }
    return alloc_in(a, align, size);
}

void *ca_calloc(ca_arena *a, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = alloc_in(a, 0, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* The room a moved block gets after it (see move_target). */
#define MOVE_ROOM_MIN 16384u

/*
 * Where a block that must move goes. A block that grew once tends to grow
 * again, and next fit packs each new block right against the one before,
 * so a moved block would find its next growth blocked as well. So it goes
 * where its size again (and at least 16 KiB) is free right after it, and
 * next fit leaves that room alone until it comes round again
 * (ca_core_alloc with room: the room is not held, any allocation may take it;
 * where no run has the room, the block goes where it fits alone). What it
 * gains on W5 is in docs/PERFORMANCE.md.
 */
static void *move_target(ca_arena *a, size_t align, size_t size)
{
    ca_core_status st;
    void *q = ca_cache_alloc(&a->cache, size, align, size < MOVE_ROOM_MIN ? MOVE_ROOM_MIN : size,
                             &st);
    if (!q)
        errno = ENOMEM;
    else if (ca_api_tracking())
        ca_api_track_alloc(a, q, size);
    return q;
}

/*
 * realloc: in place if the chunks allow (and p already has the alignment
 * asked), else allocate, copy, free. `align` 0 means "what p was asked to
 * have" (ca_core_align_of), so the original alignment survives a move.
 */
static void *realloc_in(ca_arena *a, void *p, size_t align, size_t size, const char *function)
{
    if (!p)
        return alloc_in(a, align, size);
    if (!a || !ca_api_ready(a) || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    /* In place when p already has the alignment asked (the resize judges
     * p); else p must move, and usable_size judges it. Either way a move
     * needs p's size. */
    size_t old = 0;
    ca_core_status st;
    if (((uintptr_t)p & (align ? align - 1 : 0)) == 0) {
        st = resize_in(a, p, size);
        if (st == CA_CORE_OK) {
            /* Kept in place with an alignment asked: a later move keeps it. */
            if (align)
                (void)ca_sync_arena_note_align(&a->sync, p, align);
            return p;
        }
        if (st == CA_CORE_NOMEM)
            st = ca_sync_arena_usable(&a->sync, p, &old);
    } else {
        st = ca_sync_arena_usable(&a->sync, p, &old);
    }
    if (st != CA_CORE_OK) {
        fault(a, p, st, function);
        return NULL;
    }
    size_t keep = align;
    if (keep == 0)
        (void)ca_sync_arena_align_of(&a->sync, p, &keep);
    void *q = move_target(a, keep, size);
    if (!q)
        return NULL; /* errno ENOMEM; p untouched */
    /* Under a memory tool only the requested bytes of p are accessible
     * (and worth copying). */
    if (ca_api_tracking())
        old = ca_api_track_live(p, old);
    memcpy(q, p, old < size ? old : size);
    (void)free_in(a, p);
    atomic_fetch_add_explicit(&a->moves, 1, memory_order_relaxed);
    return q;
}

void *ca_realloc(ca_arena *a, void *p, size_t size)
{
    return realloc_in(a, p, 0, size, "ca_realloc");
}

void *ca_aligned_realloc(ca_arena *a, void *p, size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return realloc_in(a, p, align, size, "ca_aligned_realloc");
}

int ca_resize(ca_arena *a, void *p, size_t size)
{
    if (!a || !p || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    ca_core_status st = resize_in(a, p, size);
    if (st == CA_CORE_OK)
        return 0;
    if (st == CA_CORE_NOMEM)
        errno = ENOMEM;
    else
        fault(a, p, st, "ca_resize");
    return -1;
}

/* ---- free ---- */

ca_fault ca_free_checked(ca_arena *a, void *p)
{
    if (!p)
        return CA_FAULT_NONE;
    if (!a || !ca_api_ready(a))
        return CA_FAULT_FOREIGN;
    return ca_api_fault_of(free_in(a, p));
}

void ca_free(ca_arena *a, void *p)
{
    if (!p)
        return;
    if (!a || !ca_api_ready(a)) {
        ca_api_report(a, p, CA_FAULT_FOREIGN, "ca_free");
        return;
    }
    ca_core_status st = free_in(a, p);
    if (st != CA_CORE_OK)
        fault(a, p, st, "ca_free");
}

void ca_free_any(void *p)
{
    if (!p)
        return;
    ca_arena *a = ca_arena_of(p);
    if (!a) {
        ca_api_report(NULL, p, CA_FAULT_FOREIGN, "ca_free_any");
        return;
    }
    ca_core_status st = free_in(a, p);
    if (st != CA_CORE_OK)
        fault(a, p, st, "ca_free_any");
}

size_t ca_usable_size(ca_arena *a, const void *p)
{
    if (!p)
        return 0;
    if (!a || !ca_api_ready(a)) {
        errno = EINVAL;
        return 0;
    }
    size_t bytes = 0;
    ca_core_status st = ca_sync_arena_usable(&a->sync, p, &bytes);
    if (st != CA_CORE_OK) {
        fault(a, p, st, "ca_usable_size");
        return 0;
    }
    /* Under a memory tool, the bytes said usable become accessible now
     * (as glibc's malloc_usable_size promises): the caller may use them. */
    if (ca_api_tracking()) {
        size_t live = ca_api_track_live(p, bytes);
        if (live < bytes)
            ca_api_track_resize(a, (void *)(uintptr_t)p, live, bytes, bytes);
    }
    return bytes;
}
