/* SPDX-License-Identifier: MIT */
/*
 * bench/backends.c — opening and closing heaps (see backends.h).
 *
 * The chunkarena region is one 160 MiB anonymous mapping (page aligned,
 * hence aligned to every chunk size used here), made on first use and kept
 * for the life of the process; every run creates its arena on it and
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

static void *region;
static void *meta;      /* the arena's bookkeeping */
static size_t meta_len;

size_t heap_usable(bench_heap *h, const void *p)
{
    return h->arena != NULL ? ca_usable_size(h->arena, p) : malloc_usable_size((void *)p);
}

void heap_open(bench_heap *h, const bench_backend *spec)
{
    h->spec = *spec;
    h->arena = NULL;
    if (spec->kind != BENCH_CHUNKARENA)
        return;
    if (region == NULL)
        region = bench_map_lazy(BENCH_ARENA_BYTES);
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
