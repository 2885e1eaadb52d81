/* SPDX-License-Identifier: MIT */
/*
 * bench/verify.c — replay of the event log (see verify.h).
 *
 * The live set is a tsearch tree (a red-black tree in glibc) of disjoint
 * intervals whose comparison calls two intervals equal when they
 * intersect. Because the stored intervals never intersect each other, the
 * intervals meeting a query form one contiguous stretch of the tree's
 * order, so tsearch finds one of them if there is any: inserting a new
 * block returns an existing node exactly when it overlaps a live block.
 * The tree's nodes come from malloc, which is harmless here: the replay
 * runs after the measured run, on the main thread.
 */
#define _GNU_SOURCE
#include "bench/verify.h"

#include <search.h>
#include <stdlib.h>

#include "bench/common.h"

typedef struct interval {
    uintptr_t lo, hi; /* [lo, hi) */
} interval;

static int cmp_interval(const void *a, const void *b)
{
    const interval *x = a, *y = b;
    if (x->hi <= y->lo)
        return -1;
    if (x->lo >= y->hi)
        return 1;
    return 0;
}

static void no_free(void *node)
{
    (void)node;
}

void log_init(event_log *log, size_t cap)
{
    atomic_init(&log->next, 0);
    log->cap = cap;
    log->ev = bench_map(cap * sizeof *log->ev);
}

void log_release(event_log *log)
{
    bench_unmap(log->ev, log->cap * sizeof *log->ev);
    log->ev = NULL;
    log->cap = 0;
}

bool log_replay(event_log *log, const char *what)
{
    size_t n = atomic_load_explicit(&log->next, memory_order_relaxed);
    if (n > log->cap) {
        bench_fail("%s: the event log overflowed (%zu events, room for %zu): a bug of ca-bench",
                   what, n, log->cap);
        return false;
    }
    /* One key per allocation event, kept until the replay ends. */
    interval *keys = bench_map(n * sizeof *keys);
    void *root = NULL;
    size_t live = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const log_event *e = &log->ev[i];
        if (e->size != 0) {
            interval *k = &keys[i];
            k->lo = e->p;
            k->hi = e->p + e->size;
            void *found = tsearch(k, &root, cmp_interval);
            if (found == NULL) {
                fprintf(stderr, "ca-bench: out of memory in the overlap check\n");
                exit(1);
            }
            const interval *other = *(const interval *const *)found;
            if (other != k) {
                bench_fail("%s: event %zu: block [%#lx, +%zu) overlaps the live block "
                           "[%#lx, +%zu)",
                           what, i, (unsigned long)k->lo, e->size, (unsigned long)other->lo,
                           (size_t)(other->hi - other->lo));
                ok = false;
            }
            live++;
        } else {
            interval q = {e->p, e->p + 1};
            void *found = tfind(&q, &root, cmp_interval);
            const interval *block = found ? *(const interval *const *)found : NULL;
            if (block == NULL || block->lo != e->p) {
                bench_fail("%s: event %zu: free of %#lx, which is not the start of a live "
                           "block",
                           what, i, (unsigned long)e->p);
                ok = false;
            } else {
                tdelete(block, &root, cmp_interval);
                live--;
            }
        }
    }
    if (ok && live != 0) {
        bench_fail("%s: %zu blocks still live after the run's clean-up: a bug of ca-bench",
                   what, live);
        ok = false;
    }
    tdestroy(root, no_free);
    bench_unmap(keys, n * sizeof *keys);
    atomic_store_explicit(&log->next, 0, memory_order_relaxed);
    return ok;
}
