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

#include "api/chunkarena.h"

/* The arena region of every chunkarena run: 160 MiB, as docs/WORKLOADS.md says. */
#define BENCH_ARENA_BYTES ((size_t)0xa000000)

/* Alignment every malloc returns on the platforms we run on. */
#define BENCH_MALLOC_ALIGN 16

typedef enum bench_kind { BENCH_CHUNKARENA, BENCH_MALLOC } bench_kind;

/* What to run: a chunkarena layer and chunk size, or the malloc backend. */
typedef struct bench_backend {
    bench_kind kind;
    ca_lock lock;       /* chunkarena only */
    size_t chunk_size;  /* chunkarena only */
} bench_backend;

typedef struct bench_heap {
    ca_arena *arena;    /* NULL: the malloc backend */
    bench_backend spec;
} bench_heap;

static inline void *heap_alloc(bench_heap *h, size_t align, size_t size)
{
    if (h->arena != NULL)
        return align <= BENCH_MALLOC_ALIGN ? ca_alloc(h->arena, size)
                                           : ca_aligned_alloc(h->arena, align, size);
    if (align <= BENCH_MALLOC_ALIGN)
        return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static inline void heap_free(bench_heap *h, void *p)
{
    if (h->arena != NULL)
        ca_free(h->arena, p);
    else
        free(p);
}

static inline void *heap_realloc(bench_heap *h, void *p, size_t size)
{
    return h->arena != NULL ? ca_realloc(h->arena, p, size) : realloc(p, size);
}

/* Bytes usable at p: ca_usable_size, or malloc_usable_size (which does not
 * count malloc's own header). */
size_t heap_usable(bench_heap *h, const void *p);

/* Open a heap: for chunkarena, create a fresh arena over the region (mapped
 * once per process, so pages faulted in by one run stay for the next). */
void heap_open(bench_heap *h, const bench_backend *spec);

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
