/* SPDX-License-Identifier: MIT */
/*
 * bench/ca-latency.c — the core's latency in two situations that decide
 * whether a chunk allocator is usable, on a 160 MiB region of 256-byte
 * chunks (655,360 chunks), the core driven directly (exclusive mode):
 *
 *  1. a failed 16 KiB allocation on a FULL arena, in three states:
 *     - "known": the arena knows its longest free run (the usual case: the
 *       allocation that filled it failed and measured it) -> O(1);
 *     - "stale": the longest run shrank since it was last measured (a
 *       64-chunk hole was freed, then one chunk of it taken), so the bound
 *       still says 64 and the failure must scan every free run;
 *     - "fragmented stale": the same with the region's free space cut into
 *       thousands of holes of 1..63 chunks, the worst case for that scan.
 *  2. allocations of 64..16383 bytes on a HALF-FULL arena (random sizes and
 *     frees keep it near 50%): median and tail.
 *
 * Each call is timed with rdtscp right before and after (x86-64), and the
 * TSC is calibrated against CLOCK_MONOTONIC to give nanoseconds. A
 * measurement program, not a test: it asserts nothing about time.
 *
 *   bench/ca-latency [seed]
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/core.h"
#include "tests/splitmix64.h"

#if !defined(__x86_64__)
#error "ca-latency reads the TSC with rdtscp: x86-64 only"
#endif
#include <x86intrin.h>

#define REGION ((size_t)0xa000000) /* 160 MiB */
#define SHIFT 8u                   /* 256-byte chunks */
#define SAMPLES 10000u

static inline uint64_t ticks(void)
{
    unsigned aux;
    return __rdtscp(&aux);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* TSC ticks per nanosecond, over 50 ms. */
static double calibrate(void)
{
    double t0 = now_ns();
    uint64_t k0 = ticks();
    while (now_ns() - t0 < 5e7)
        ;
    return (double)(ticks() - k0) / (now_ns() - t0);
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *t, size_t n, double per_ns)
{
    qsort(t, n, sizeof *t, by_value);
    printf("  %-34s p50 %6llu ticks (%7.1f ns)   p99 %7llu   max %8llu ticks  (n=%zu)\n", what,
           (unsigned long long)t[n / 2], (double)t[n / 2] / per_ns,
           (unsigned long long)t[n * 99 / 100], (unsigned long long)t[n - 1], n);
}

typedef struct arena {
    ca_core core;
    ca_core_ctx ctx;
    unsigned char *region;
    void *meta;
} arena;

static void arena_init(arena *a)
{
    a->region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a->meta = aligned_alloc(64, (ca_core_meta_size(REGION >> SHIFT) + 63) & ~(size_t)63);
    if (a->region == MAP_FAILED || !a->meta ||
        ca_core_init(&a->core, a->region, REGION >> SHIFT, SHIFT, a->meta,
                     CA_CORE_DEFAULT_WINDOW) != CA_CORE_OK) {
        fprintf(stderr, "ca-latency: cannot set up the arena\n");
        exit(1);
    }
    ca_core_ctx_init(&a->ctx, 0);
}

static void *take(arena *a, size_t size)
{
    ca_core_status st;
    return ca_core_alloc(&a->core, &a->ctx, size, 0, 0, false, &st);
}

/* Time `n` failed allocations of 16 KiB; the first is reported apart. */
static void time_failures(arena *a, const char *what, double per_ns)
{
    uint64_t t[SAMPLES];
    for (size_t i = 0; i < SAMPLES; i++) {
        uint64_t t0 = ticks();
        void *p = take(a, 16384);
        uint64_t t1 = ticks();
        if (p) {
            fprintf(stderr, "ca-latency: a 16 KiB allocation succeeded on a full arena\n");
            exit(1);
        }
        t[i] = t1 - t0;
    }
    printf("  %-34s first %llu ticks (%.1f ns)\n", what, (unsigned long long)t[0],
           (double)t[0] / per_ns);
    report(what, t + 1, SAMPLES - 1, per_ns);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5ca1a7e;
    ca_splitmix64 r = ca_splitmix64_seed(seed);
    double per_ns = calibrate();
    printf("ca-latency: 160 MiB, 256-byte chunks, core in exclusive mode; seed 0x%llx; "
           "TSC %.3f ticks/ns\n",
           (unsigned long long)seed, per_ns);

    /* 1. Full. Fill with 64..16383-byte allocations, then single chunks
     * until nothing fits: the last failure measures the longest run (0). */
    arena a;
    arena_init(&a);
    size_t nslots = REGION >> SHIFT;
    void **live = malloc(nslots * sizeof *live);
    size_t nlive = 0;
    for (void *p; (p = take(&a, 64 + ca_splitmix64_below(&r, 16320))) != NULL;)
        live[nlive++] = p;
    for (void *p; (p = take(&a, 1)) != NULL;)
        live[nlive++] = p;
    printf("1. full arena (%zu allocations), failed 16 KiB allocation:\n", nlive);
    time_failures(&a, "bound known", per_ns);

    /* Stale: free a 64-chunk allocation, take one chunk of it back. */
    void *hole = NULL;
    for (size_t i = 0; i < nlive && !hole; i++) {
        size_t bytes;
        if (ca_core_usable(&a.core, live[i], &bytes, false) == CA_CORE_OK && bytes == 16384) {
            hole = live[i];
            live[i] = live[--nlive];
        }
    }
    ca_core_free(&a.core, &a.ctx, hole, false);
    a.ctx.cursor = (size_t)((unsigned char *)hole - a.region) >> SHIFT;
    live[nlive++] = take(&a, 1);
    printf("  (one 64-chunk hole freed, one chunk of it taken: the bound says 64, the longest "
           "run is 63)\n");
    uint64_t t0 = ticks();
    void *p = take(&a, 16384);
    uint64_t t1 = ticks();
    printf("  %-34s %llu ticks (%.1f ns), the scan then knows the longest run\n",
           "bound stale, one scan:", (unsigned long long)(t1 - t0), (double)(t1 - t0) / per_ns);
    if (p)
        return 1;

    /* Fragmented stale: free every other allocation under 64 chunks
     * (thousands of holes), then take one chunk from the middle of the
     * longest free run: the bound still says its old length, so a request
     * of that length must visit every free run before it fails. */
    size_t freed = 0;
    for (size_t i = 0; i < nlive; i += 2) {
        size_t bytes;
        if (ca_core_usable(&a.core, live[i], &bytes, false) == CA_CORE_OK && bytes < 16384) {
            ca_core_free(&a.core, &a.ctx, live[i], false);
            live[i] = NULL;
            freed++;
        }
    }
    ca_core_usage u;
    ca_core_scan(&a.core, &u, false);
    size_t longest = u.largest_free_run, at = 0;
    for (size_t run = 0, i = 0; i < (REGION >> SHIFT) && !at; i++) { /* find it (a test loop) */
        size_t bytes;
        void *q = a.region + (i << SHIFT);
        run = ca_core_usable(&a.core, q, &bytes, false) == CA_CORE_NOTALLOC ? run + 1 : 0;
        if (run == longest)
            at = i + 1 - longest / 2;
    }
    a.ctx.cursor = at;
    live[nlive++] = take(&a, 1);
    ca_core_scan(&a.core, &u, false);
    printf("  (freed %zu allocations under 64 chunks; one chunk taken from the middle of the "
           "longest run: %zu free runs, the longest %zu chunks, the bound still %zu)\n",
           freed, u.free_runs, u.largest_free_run, longest);
    t0 = ticks();
    p = take(&a, longest << SHIFT); /* fits nowhere, and the bound allows it: a full scan */
    t1 = ticks();
    printf("  %-34s %llu ticks (%.1f ns) for %zu free runs\n", "fragmented, bound stale, one scan:",
           (unsigned long long)(t1 - t0), (double)(t1 - t0) / per_ns, u.free_runs);
    if (p)
        return 1;

    /* 2. Half full, churned: keep the arena near 50% with random frees. */
    arena_init(&a);
    nlive = 0;
    size_t half = (REGION >> SHIFT) / 2;
    ca_core_ctx_init(&a.ctx, 0);
    for (;;) {
        ca_core_usage h;
        if (nlive % 256 == 0) {
            ca_core_scan(&a.core, &h, false);
            if (h.chunks_used >= half)
                break;
        }
        live[nlive++] = take(&a, 64 + ca_splitmix64_below(&r, 16320));
        if (ca_splitmix64_below(&r, 4) == 0) { /* churn while filling */
            size_t i = ca_splitmix64_below(&r, nlive);
            ca_core_free(&a.core, &a.ctx, live[i], false);
            live[i] = live[--nlive];
        }
    }
    uint64_t t[SAMPLES];
    for (size_t k = 0; k < SAMPLES; k++) {
        size_t size = 64 + ca_splitmix64_below(&r, 16320);
        t0 = ticks();
        p = take(&a, size);
        t1 = ticks();
        t[k] = t1 - t0;
        size_t i = ca_splitmix64_below(&r, nlive);
        ca_core_free(&a.core, &a.ctx, live[i], false);
        live[i] = p;
    }
    ca_core_scan(&a.core, &u, false);
    printf("2. half-full arena (%.1f%% used, %zu free runs), allocations of 64..16383 bytes:\n",
           100.0 * (double)u.chunks_used / (double)(REGION >> SHIFT), u.free_runs);
    report("allocation", t, SAMPLES, per_ns);

    uint64_t floor[SAMPLES];
    for (size_t k = 0; k < SAMPLES; k++) {
        t0 = ticks();
        t1 = ticks();
        floor[k] = t1 - t0;
    }
    report("(the timer itself: empty rdtscp pair)", floor, SAMPLES, per_ns);
    free(live);
    return 0;
}
