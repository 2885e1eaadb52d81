/* SPDX-License-Identifier: MIT */
/*
 * bench/mi_arena.h — the mimalloc-arena backend: mimalloc managing a
 * region of ours as an exclusive arena (mi_manage_os_memory_ex), each
 * thread allocating from a heap of its own in that arena
 * (mi_heap_new_in_arena), frees through mi_free from any thread.
 *
 * mimalloc is loaded with dlopen(RTLD_LOCAL), never linked: Debian's
 * libmimalloc exports malloc and free, so linking it would silently make
 * it the malloc of the whole benchmark and every "glibc" row would be a
 * mimalloc row. Loaded locally, its malloc stays out of the global scope.
 * configure defines CA_BENCH_MIMALLOC_ARENA when mimalloc.h and the
 * library are there; without it (or when dlopen fails) the backend says
 * why and its rows are absent.
 *
 * Thread safety: mia_load and mia_manage are called by the main thread
 * with no operation in flight; mia_alloc/mia_realloc use the calling
 * thread's heap (created on its first use); mia_free is safe from any
 * thread; mia_thread_end is called by a thread about to exit.
 */
#ifndef CA_BENCH_MI_ARENA_H
#define CA_BENCH_MI_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* The library's entry points, once loaded. */
typedef struct mia_api {
    void *(*heap_malloc)(void *heap, size_t size);
    void *(*heap_malloc_aligned)(void *heap, size_t size, size_t align);
    void *(*heap_realloc)(void *heap, void *p, size_t size);
    void (*free)(void *p);
    size_t (*usable_size)(const void *p);
} mia_api;
extern mia_api mia;

/* The calling thread's heap in the managed arena (NULL: could not make one). */
void *mia_heap(void);

/* Load mimalloc; false with the reason in why (which is kept: the table
 * prints it). */
bool mia_load(const char **why);

/* Hand `region` (BENCH_ARENA_BYTES, aligned to 32 MiB) to mimalloc once;
 * false if it refused. */
bool mia_manage(void *region, size_t bytes);

static inline void *mia_alloc(size_t align, size_t size)
{
    void *heap = mia_heap();
    if (heap == NULL)
        return NULL;
    return align <= 16 ? mia.heap_malloc(heap, size) : mia.heap_malloc_aligned(heap, size, align);
}

static inline void mia_free(void *p)
{
    mia.free(p);
}

static inline void *mia_realloc(void *p, size_t size)
{
    void *heap = mia_heap();
    return heap != NULL ? mia.heap_realloc(heap, p, size) : NULL;
}

/* Delete the calling thread's heap (its still-live blocks stay valid and
 * may be freed from anywhere). */
void mia_thread_end(void);

#endif /* CA_BENCH_MI_ARENA_H */
