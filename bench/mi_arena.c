/* SPDX-License-Identifier: MIT */
/*
 * bench/mi_arena.c — loading mimalloc and keeping one heap per thread in
 * the arena it manages (see mi_arena.h). Function pointers are copied out
 * of dlsym's void * with memcpy, the ISO-clean way. The arena id is set
 * once by the main thread before any worker starts (pthread_create orders
 * it before the workers' reads).
 */
#define _GNU_SOURCE
#include "bench/mi_arena.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

mia_api mia;

static bool loaded, managed;
static int arena_id;
static void *(*heap_new_in_arena)(int arena_id);
static void (*heap_delete)(void *heap);
static void (*heap_collect)(void *heap, bool force);
static _Thread_local void *tl_heap;

#ifdef CA_BENCH_MIMALLOC_ARENA
static bool (*manage_os_memory_ex)(void *start, size_t size, bool is_committed, bool is_large,
                                   bool is_zero, int numa_node, bool exclusive, int *arena_id);

static bool sym(void *lib, const char *name, void *fnptr)
{
    void *s = dlsym(lib, name);
    if (s == NULL)
        return false;
    memcpy(fnptr, &s, sizeof s);
    return true;
}
#endif

bool mia_load(const char **why)
{
#ifndef CA_BENCH_MIMALLOC_ARENA
    *why = "not built: configure found no mimalloc.h with mi_manage_os_memory_ex "
           "(Debian: libmimalloc-dev)";
    return false;
#else
    static const char *reason;
    if (loaded || reason != NULL) {
        *why = reason;
        return loaded;
    }
    void *lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        lib = dlopen("libmimalloc.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        reason = "libmimalloc.so.2 could not be loaded";
    } else if (!sym(lib, "mi_manage_os_memory_ex", &manage_os_memory_ex) ||
               !sym(lib, "mi_heap_new_in_arena", &heap_new_in_arena) ||
               !sym(lib, "mi_heap_delete", &heap_delete) ||
               !sym(lib, "mi_heap_collect", &heap_collect) ||
               !sym(lib, "mi_heap_malloc", &mia.heap_malloc) ||
               !sym(lib, "mi_heap_malloc_aligned", &mia.heap_malloc_aligned) ||
               !sym(lib, "mi_heap_realloc", &mia.heap_realloc) || !sym(lib, "mi_free", &mia.free) ||
               !sym(lib, "mi_usable_size", &mia.usable_size)) {
        reason = "this libmimalloc lacks the arena API (mimalloc >= 2.0.7 has it)";
    } else {
        loaded = true;
    }
    *why = reason;
    return loaded;
#endif
}

bool mia_manage(void *region, size_t bytes)
{
#ifndef CA_BENCH_MIMALLOC_ARENA
    (void)region, (void)bytes;
    return false;
#else
    if (managed)
        return true;
    /* Committed (our mapping is readable and writable), not large pages,
     * not known zero (it is fresh, but say less than we know), any NUMA
     * node, exclusive: only heaps made for this arena allocate in it. */
    managed = loaded && manage_os_memory_ex(region, bytes, true, false, false, -1, true, &arena_id);
    return managed;
#endif
}

void *mia_heap(void)
{
    if (tl_heap == NULL && managed)
        tl_heap = heap_new_in_arena(arena_id);
    return tl_heap;
}

void mia_thread_end(void)
{
    /* Collect first: a deleted heap's pages go to the thread's backing
     * heap, which nobody allocates from here; empty pages kept there would
     * be lost to the arena for the next runs. Collected, they go back to
     * their segments and empty segments to the arena. */
    if (tl_heap != NULL) {
        heap_collect(tl_heap, true);
        heap_delete(tl_heap);
    }
    tl_heap = NULL;
}
