/* SPDX-License-Identifier: MIT */
/*
 * bench/backends.c — opening and closing heaps (see backends.h).
 *
 * The chunkarena region is one 160 MiB anonymous mapping, aligned to
 * 32 MiB (so to every chunk size used here; mimalloc-arena gets a region of
 * its own placed the same way), made on first use and kept for the life of
 * the process; every run creates its arena on it and
 * destroys it afterwards. The arena's bookkeeping goes in a mapping of its
 * own (ca_config.meta), so all 160 MiB are chunks: the same memory the
 * workloads give every allocator. After a run, heap_close checks the library's own
 * view against the benchmark's: nothing live, every invariant holding, the
 * arena destroyable.
 */
#define _GNU_SOURCE
#include "bench/backends.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>

#include "bench/common.h"

const ca_lock bench_layers[5] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                 CA_LOCK_HINT};

static void *region;    /* chunkarena's */
static void *mi_region; /* mimalloc-arena's: mimalloc keeps it for good */
static void *meta;      /* the arena's bookkeeping */
static size_t meta_len;

/* BENCH_ARENA_BYTES of lazy memory at a multiple of BENCH_REGION_ALIGN: a
 * larger mapping, its unaligned head and tail unmapped. */
static void *map_region(void)
{
    size_t len = BENCH_ARENA_BYTES + BENCH_REGION_ALIGN;
    char *raw = bench_map_lazy(len);
    uintptr_t at = ((uintptr_t)raw + BENCH_REGION_ALIGN - 1) & ~(uintptr_t)(BENCH_REGION_ALIGN - 1);
    char *r = (char *)at;
    if (r > raw)
        bench_unmap(raw, (size_t)(r - raw));
    size_t tail = (size_t)(raw + len - (r + BENCH_ARENA_BYTES));
    if (tail != 0)
        bench_unmap(r + BENCH_ARENA_BYTES, tail);
    return r;
}

size_t heap_usable(bench_heap *h, const void *p)
{
    if (h->arena != NULL)
        return ca_usable_size(h->arena, p);
    if (h->spec.kind == BENCH_MI_ARENA)
        return mia.usable_size(p);
    if (h->spec.kind == BENCH_NULL)
        return sizeof(void *);
    return malloc_usable_size((void *)p);
}

void heap_thread_end(bench_heap *h)
{
    if (h->spec.kind == BENCH_MI_ARENA)
        mia_thread_end();
}

bool heap_search_steps(bench_heap *h, uint64_t *runs_examined)
{
    *runs_examined = 0;
    if (h->arena == NULL)
        return false; /* only chunkarena counts them */
    ca_stats s;
    if (ca_arena_stats(h->arena, &s) != 0)
        return false;
    *runs_examined = s.runs_examined;
    return true;
}

static void *null_pool;

void heap_open(bench_heap *h, const bench_backend *spec)
{
    h->spec = *spec;
    h->arena = NULL;
    h->null_free = NULL;
    if (spec->kind == BENCH_NULL) {
        if (null_pool == NULL)
            null_pool = bench_map(BENCH_NULL_CELLS * 16);
        /* 16-byte cells (room for the touch's 8 bytes), each starting
         * with the pointer to the next free one. */
        enum { STRIDE = 16 / sizeof(void *) };
        _Static_assert(16 % sizeof(void *) == 0, "a null cell holds whole pointers");
        void **cells = null_pool;
        for (size_t i = BENCH_NULL_CELLS; i-- > 0;) { /* the list in address order */
            cells[STRIDE * i] = h->null_free;
            h->null_free = &cells[STRIDE * i];
        }
        return;
    }
    if (spec->kind == BENCH_MI_ARENA) {
        const char *why;
        if (!mia_load(&why)) {
            fprintf(stderr, "ca-bench: mimalloc-arena: %s\n", why);
            exit(1);
        }
        if (mi_region == NULL)
            mi_region = map_region();
        if (!mia_manage(mi_region, BENCH_ARENA_BYTES)) {
            fprintf(stderr, "ca-bench: mi_manage_os_memory_ex refused the 160 MiB region\n");
            exit(1);
        }
        return;
    }
    if (spec->kind != BENCH_CHUNKARENA)
        return;
    if (region == NULL)
        region = map_region();
    ca_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chunk_size = spec->chunk_size;
    cfg.lock = spec->lock;
    size_t need = ca_arena_meta_size(BENCH_ARENA_BYTES / spec->chunk_size, &cfg);
    if (need > meta_len) { /* the largest need so far: chunk 16 (W4) */
        meta = bench_map_lazy(need);
        meta_len = need;
    }
    cfg.meta = meta;
    cfg.meta_len = meta_len;
    h->arena = ca_arena_create("ca-bench", region, BENCH_ARENA_BYTES, &cfg);
    if (h->arena == NULL) {
        fprintf(stderr, "ca-bench: ca_arena_create(160 MiB, chunk %zu, %s) failed: %s\n",
                spec->chunk_size, layer_name(spec->lock), strerror(errno));
        exit(1);
    }
}

void heap_close(bench_heap *h, const char *what)
{
    if (h->spec.kind == BENCH_MI_ARENA)
        mia_thread_end(); /* the main thread's heap: a fresh one for the next run */
    if (h->arena == NULL)
        return;
    const char *bad = ca_arena_check(h->arena);
    if (bad != NULL)
        bench_fail("%s: ca_arena_check after the run: %s", what, bad);
    ca_stats st;
    if (ca_arena_stats(h->arena, &st) == 0 && (st.allocations != 0 || st.chunks_used != 0))
        bench_fail("%s: every allocation was freed, but ca_arena_stats says %zu live "
                   "allocations in %zu chunks",
                   what, st.allocations, st.chunks_used);
    if (ca_arena_destroy(h->arena) != 0) {
        bench_fail("%s: ca_arena_destroy of the emptied arena failed: %s", what,
                   strerror(errno));
        ca_arena_reset(h->arena);
        if (ca_arena_destroy(h->arena) != 0) {
            fprintf(stderr, "ca-bench: cannot destroy the arena even after a reset\n");
            exit(1);
        }
    }
    h->arena = NULL;
}

bool heap_stats(bench_heap *h, ca_stats *st)
{
    return h->arena != NULL && ca_arena_stats(h->arena, st) == 0;
}

const char *layer_name(ca_lock lock)
{
    return ca_lock_name(lock);
}

bool layer_parse(const char *name, ca_lock *lock)
{
    for (size_t i = 0; i < sizeof bench_layers / sizeof bench_layers[0]; i++)
        if (strcmp(name, ca_lock_name(bench_layers[i])) == 0) {
            *lock = bench_layers[i];
            return true;
        }
    return false;
}
