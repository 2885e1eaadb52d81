/* SPDX-License-Identifier: MIT */
/*
 * bench/backends.h — the small interface the workloads run against.
 *
 * A heap is either a chunkarena arena (one sync layer, one chunk size,
 * created with ca_arena_create over a 160 MiB region from mmap, fresh for
 * every run and destroyed after it) or "malloc": whatever allocator serves
 * malloc in this process (glibc, or a peer under LD_PRELOAD; peers.h names
 * it). Requests are (align, size) as the workloads draw them:
 *
 *   align <= 16   ca_alloc           | malloc
 *   align  > 16   ca_aligned_alloc   | posix_memalign
 *   realloc       ca_realloc         | realloc
 *   free          ca_free            | free
 *
 * The calls are inline with a predictable branch, not through function
 * pointers, so a timed window holds the allocator's call and nothing else.
 *
 * Thread safety: a heap may be used from several threads at once when its
 * layer is not CA_LOCK_NONE (W3); heap_open and heap_close are called by
 * one thread with no operation in flight.
 */
#ifndef CA_BENCH_BACKENDS_H
#define CA_BENCH_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <stdint.h>

#include "api/chunkarena.h"
#include "bench/mi_arena.h"

/* The arena region of every chunkarena run: 160 MiB, as docs/WORKLOADS.md says. */
#define BENCH_ARENA_BYTES ((size_t)0xa000000)

/* Every region (chunkarena's and mimalloc-arena's) starts at a multiple of
 * 32 MiB: mimalloc's segments are 32 MiB and must be aligned so, and the
 * other backends get the same placement so the runs compare. */
#define BENCH_REGION_ALIGN ((size_t)32 << 20)

/* Alignment every malloc returns on the platforms we run on. */
#define BENCH_MALLOC_ALIGN 16

/* BENCH_MI_ARENA: mimalloc managing its own 160 MiB region as an exclusive
 * arena, one heap per thread (mi_arena.h). BENCH_NULL: no allocator at
 * all, a LIFO list of 16-byte cells, one thread only: the instruction
 * count of the workload's own loop, subtracted in --instr runs. */
typedef enum bench_kind { BENCH_CHUNKARENA, BENCH_MALLOC, BENCH_MI_ARENA, BENCH_NULL } bench_kind;

/* What to run: a chunkarena layer and chunk size, or the malloc backend. */
typedef struct bench_backend {
    bench_kind kind;
    ca_lock lock;       /* chunkarena only */
    size_t chunk_size;  /* chunkarena only */
} bench_backend;

typedef struct bench_heap {
    ca_arena *arena;    /* NULL: not chunkarena */
    void **null_free;   /* BENCH_NULL: the first free cell */
    bench_backend spec;
} bench_heap;

static inline void *heap_alloc(bench_heap *h, size_t align, size_t size)
{
    if (h->arena != NULL)
        return align <= BENCH_MALLOC_ALIGN ? ca_alloc(h->arena, size)
                                           : ca_aligned_alloc(h->arena, align, size);
    if (h->spec.kind == BENCH_MI_ARENA)
        return mia_alloc(align, size);
    if (h->spec.kind == BENCH_NULL) {
        void **c = h->null_free; /* never empty: the pool has a cell per slot */
        h->null_free = (void **)*c;
        return c;
    }
    if (align <= BENCH_MALLOC_ALIGN)
        return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static inline void heap_free(bench_heap *h, void *p)
{
    if (h->arena != NULL) {
        ca_free(h->arena, p);
    } else if (h->spec.kind == BENCH_MI_ARENA) {
        mia_free(p);
    } else if (h->spec.kind == BENCH_NULL) {
        *(void **)p = h->null_free;
        h->null_free = p;
    } else {
        free(p);
    }
}

/* Not for BENCH_NULL (W5 does not run on it). */
static inline void *heap_realloc(bench_heap *h, void *p, size_t size)
{
    if (h->arena != NULL)
        return ca_realloc(h->arena, p, size);
    if (h->spec.kind == BENCH_MI_ARENA)
        return mia_realloc(p, size);
    return realloc(p, size);
}

/* A thread that used the heap is about to end (W3, W6 workers): gives
 * back its per-thread state where the backend keeps one (mimalloc-arena's
 * heap). */
void heap_thread_end(bench_heap *h);

/* Free runs the allocator's search has examined so far, for W7's "free
 * runs examined per allocation": chunkarena's ca_stats.runs_examined;
 * false when the allocator cannot say (every other backend). */
bool heap_search_steps(bench_heap *h, uint64_t *runs_examined);

/* Bytes usable at p: ca_usable_size, or malloc_usable_size (which does not
 * count malloc's own header). */
size_t heap_usable(bench_heap *h, const void *p);

/* Open a heap: for chunkarena, create a fresh arena over the region (mapped
 * once per process, so pages faulted in by one run stay for the next); for
 * mimalloc-arena, hand mimalloc its own region the first time (mimalloc
 * cannot take an arena back: later runs reuse it, as chunkarena's runs
 * reuse their region's pages); for null, a fresh pool of `null_cells`
 * cells. */
void heap_open(bench_heap *h, const bench_backend *spec);

/* Cells in a null heap: at least the most blocks any workload holds. */
#define BENCH_NULL_CELLS ((size_t)65536)

/* Close a heap whose caller freed everything it allocated. For chunkarena:
 * verify the arena is quiet and empty (ca_arena_check, stats), then
 * destroy it; what does not hold is a verification failure naming `what`. */
void heap_close(bench_heap *h, const char *what);

/* For chunkarena: ca_arena_stats now (false for malloc). */
bool heap_stats(bench_heap *h, ca_stats *st);

/* "none", "spin", ... (ca_lock_name) and its inverse; false if unknown. */
const char *layer_name(ca_lock lock);
bool layer_parse(const char *name, ca_lock *lock);

/* The layers a chunkarena run can use, in the order the tables show them. */
extern const ca_lock bench_layers[5];

#endif /* CA_BENCH_BACKENDS_H */
