/* SPDX-License-Identifier: MIT */
/*
 * tests/test_cache.c — the per-thread caches (cache/cache.h) through the
 * public API, under every layer: the same operations with caches on and
 * off give the same answers; a cached block is "not allocated" to every
 * judgement, and of two threads that free one block at once exactly one
 * succeeds; blocks freed on another thread; a thread that exits with a
 * full cache gives it back; reset and destroy account for the caches of
 * live and exited threads; an allocation that finds no room gives the
 * caller's cached blocks back and tries again; the caps hold; the config
 * is validated. Threads are few and short: it runs under TSan in CI.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/chunkarena.h"
#include "tests/splitmix64.h"

static const ca_lock layers[] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                 CA_LOCK_HINT};
#define NLAYERS (sizeof layers / sizeof layers[0])
/* The layers that let threads in at once. */
static const ca_lock threaded[] = {CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX, CA_LOCK_HINT};
#define NTHREADED (sizeof threaded / sizeof threaded[0])

/* ---- an arena over heap memory ---- */

typedef struct arena {
    ca_arena *a;
    void *mem;
    size_t len;
} arena;

static void open_arena(arena *t, const char *name, size_t len, size_t chunk, ca_lock lock,
                       ca_cache_mode cache, size_t limit)
{
    ca_config c;
    memset(&c, 0, sizeof c);
    c.chunk_size = chunk;
    c.lock = lock;
    c.cache = cache;
    c.cache_limit = limit;
    t->len = len;
    t->mem = aligned_alloc(4096, len);
    ck_assert_ptr_nonnull(t->mem);
    t->a = ca_arena_create(name, t->mem, len, &c);
    ck_assert_msg(t->a != NULL, "create %s: %s", name, strerror(errno));
}

static void close_arena(arena *t)
{
    const char *why = ca_arena_check(t->a);
    ck_assert_msg(why == NULL, "%s: %s", ca_arena_name(t->a), why ? why : "");
    ca_arena_reset(t->a);
    ck_assert_int_eq(ca_arena_destroy(t->a), 0);
    free(t->mem);
}

static ca_stats stats_of(ca_arena *a)
{
    ca_stats s;
    ck_assert_int_eq(ca_arena_stats(a, &s), 0);
    return s;
}

/* ---- faults: recorded, not fatal ---- */

static _Thread_local unsigned faults_seen;
static _Thread_local ca_fault last_fault;

static void record_fault(const ca_fault_report *r)
{
    faults_seen++;
    last_fault = r->fault;
}

static void expect_fault(ca_fault f, const char *what)
{
    ck_assert_msg(faults_seen == 1 && last_fault == f, "%s: %u faults, last \"%s\", expected \"%s\"",
                  what, faults_seen, ca_fault_name(last_fault), ca_fault_name(f));
    faults_seen = 0;
}

/* ---- the same operations, caches on and off ---- */

/* Random allocations, frees (some twice), reallocs and resizes on two
 * arenas of one layer, caches on and off: every answer the program can see
 * must be the same (placement aside), and both must check clean. */
START_TEST(differential)
{
    ca_lock lock = layers[_i];
    arena on, off;
    open_arena(&on, "diff-on", 4u << 20, 64, lock, CA_CACHE_ON, 0);
    open_arena(&off, "diff-off", 4u << 20, 64, lock, CA_CACHE_OFF, 0);
    enum { SLOTS = 256 };
    void *pon[SLOTS] = {0}, *poff[SLOTS] = {0};
    ca_splitmix64 rng = ca_splitmix64_seed(0xCAC4Eu + (uint64_t)_i);
    for (int op = 0; op < 20000; op++) {
        unsigned i = (unsigned)ca_splitmix64_below(&rng, SLOTS);
        size_t size = 1 + (size_t)ca_splitmix64_below(&rng, (op & 7) ? 600 : 5000);
        unsigned what = (unsigned)ca_splitmix64_below(&rng, 10);
        if (!pon[i]) {
            pon[i] = ca_alloc(on.a, size);
            poff[i] = ca_alloc(off.a, size);
            ck_assert_msg((pon[i] != NULL) == (poff[i] != NULL), "op %d: alloc differs", op);
        } else if (what < 6) {
            ck_assert_int_eq(ca_free_checked(on.a, pon[i]), CA_FAULT_NONE);
            ck_assert_int_eq(ca_free_checked(off.a, poff[i]), CA_FAULT_NONE);
            if (what == 0) { /* at once again: cached in one, free in the other */
                ck_assert_int_eq(ca_free_checked(on.a, pon[i]), CA_FAULT_NOT_ALLOCATED);
                ck_assert_int_eq(ca_free_checked(off.a, poff[i]), CA_FAULT_NOT_ALLOCATED);
            }
            pon[i] = poff[i] = NULL;
        } else if (what < 8) {
            void *q1 = ca_realloc(on.a, pon[i], size), *q2 = ca_realloc(off.a, poff[i], size);
            ck_assert_msg((q1 != NULL) == (q2 != NULL), "op %d: realloc differs", op);
            if (q1)
                pon[i] = q1, poff[i] = q2;
        } else {
            /* Growth in place depends on the neighbours, which differ: where
             * one grew and the other could not, it shrinks back. */
            int r1 = ca_resize(on.a, pon[i], size), r2 = ca_resize(off.a, poff[i], size);
            if (r1 == 0 && r2 != 0)
                ck_assert_int_eq(ca_resize(on.a, pon[i], ca_usable_size(off.a, poff[i])), 0);
            if (r2 == 0 && r1 != 0)
                ck_assert_int_eq(ca_resize(off.a, poff[i], ca_usable_size(on.a, pon[i])), 0);
        }
        if (pon[i])
            ck_assert_uint_eq(ca_usable_size(on.a, pon[i]), ca_usable_size(off.a, poff[i]));
    }
    ca_stats son = stats_of(on.a), soff = stats_of(off.a);
    ck_assert_uint_eq(son.allocations, soff.allocations);
    ck_assert_uint_eq(son.chunks_used, soff.chunks_used);
    ck_assert_uint_eq(son.failures + soff.failures, 0);
    ck_assert_msg(son.cache_hits > 1000, "caches on: only %zu hits", son.cache_hits);
    ck_assert_uint_eq(soff.cache_hits + soff.cache_misses + soff.chunks_cached, 0);
    ck_assert_uint_le(son.chunks_used + son.chunks_cached, son.chunks_total);
    ck_assert_ptr_null(ca_arena_check(on.a));
    ck_assert_ptr_null(ca_arena_check(off.a));
    close_arena(&on);
    close_arena(&off);
}
END_TEST

/* ---- faults on cached blocks ---- */

START_TEST(cached_block_faults)
{
    ca_fault_handler old = ca_set_fault_handler(record_fault);
    arena t;
    open_arena(&t, "faults", 1u << 18, 256, layers[_i], CA_CACHE_ON, 0);
    void *p = ca_alloc(t.a, 300); /* two chunks */
    ck_assert_ptr_nonnull(p);
    ca_free(t.a, p);
    ck_assert_int_eq(faults_seen, 0);
    ca_stats s = stats_of(t.a);
    ck_assert_msg(s.chunks_cached >= 2, "the block did not stay in the cache (%zu cached)",
                  s.chunks_cached);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_int_eq(ca_free_checked(t.a, p), CA_FAULT_NOT_ALLOCATED);
    ck_assert_int_eq(ca_free_checked(t.a, (char *)p + 256), CA_FAULT_INTERIOR);
    ca_free(t.a, p);
    expect_fault(CA_FAULT_NOT_ALLOCATED, "ca_free of a cached block");
    ca_free_any(p);
    expect_fault(CA_FAULT_NOT_ALLOCATED, "ca_free_any of a cached block");
    ck_assert_uint_eq(ca_usable_size(t.a, p), 0);
    expect_fault(CA_FAULT_NOT_ALLOCATED, "ca_usable_size of a cached block");
    errno = 0;
    ck_assert_int_eq(ca_resize(t.a, p, 10), -1);
    ck_assert_int_eq(errno, EINVAL);
    expect_fault(CA_FAULT_NOT_ALLOCATED, "ca_resize of a cached block");
    ck_assert_ptr_null(ca_realloc(t.a, p, 5000));
    expect_fault(CA_FAULT_NOT_ALLOCATED, "ca_realloc of a cached block");
    ca_stats after = stats_of(t.a);
    ck_assert_uint_eq(after.chunks_cached, s.chunks_cached);
    ck_assert_ptr_null(ca_arena_check(t.a));
    /* The cache hands the same block out again, live once more. */
    void *q = ca_alloc(t.a, 400);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(ca_usable_size(t.a, q), 512);
    ck_assert_int_eq(ca_free_checked(t.a, q), CA_FAULT_NONE);
    close_arena(&t);
    ca_set_fault_handler(old);
}
END_TEST

/* ---- two threads free one block at once ---- */

typedef struct race {
    ca_arena *a;
    pthread_barrier_t *go;
    void *volatile *target;
    int rounds;
    int wins;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        pthread_barrier_wait(r->go); /* the block is set */
        ca_fault f = ca_free_checked(r->a, *r->target);
        ck_assert_msg(f == CA_FAULT_NONE || f == CA_FAULT_NOT_ALLOCATED, "round %d: \"%s\"", i,
                      ca_fault_name(f));
        r->wins += f == CA_FAULT_NONE;
        pthread_barrier_wait(r->go); /* both done */
    }
    return NULL;
}

START_TEST(double_free_race)
{
    arena t;
    open_arena(&t, "race", 1u << 18, 64, threaded[_i], CA_CACHE_ON, 0);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    void *volatile target = NULL;
    enum { ROUNDS = 400 };
    race r[2] = {{t.a, &go, &target, ROUNDS, 0}, {t.a, &go, &target, ROUNDS, 0}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        pthread_create(&th[k], NULL, racer, &r[k]);
    for (int i = 0; i < ROUNDS; i++) {
        target = ca_alloc(t.a, 64 * (1 + (size_t)(i % 3)));
        ck_assert_ptr_nonnull(target);
        pthread_barrier_wait(&go);
        pthread_barrier_wait(&go);
        ck_assert_msg(r[0].wins + r[1].wins == i + 1, "round %d: %d frees won", i,
                      r[0].wins + r[1].wins - i);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&go);
    ca_stats s = stats_of(t.a);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_uint_eq(s.chunks_used, 0);
    close_arena(&t);
}
END_TEST

/* ---- blocks freed on another thread; a thread exits with a full cache ---- */

typedef struct handoff {
    ca_arena *a;
    void **blocks;
    size_t n;
    pthread_barrier_t *step;
} handoff;

static void *producer(void *arg)
{
    handoff *h = arg;
    for (size_t i = 0; i < h->n; i++) {
        h->blocks[i] = ca_alloc(h->a, 1 + i % 700);
        ck_assert_ptr_nonnull(h->blocks[i]);
        memset(h->blocks[i], 0xA5, 1 + i % 700);
    }
    pthread_barrier_wait(h->step); /* handed over */
    pthread_barrier_wait(h->step); /* freed by the consumer */
    return NULL;
}

static void *consumer(void *arg)
{
    handoff *h = arg;
    pthread_barrier_wait(h->step);
    for (size_t i = 0; i < h->n; i++) {
        ck_assert_uint_eq(((unsigned char *)h->blocks[i])[i % 700], 0xA5);
        ck_assert_int_eq(ca_free_checked(h->a, h->blocks[i]), CA_FAULT_NONE);
    }
    pthread_barrier_wait(h->step);
    return NULL; /* exits with its cache full of the producer's blocks */
}

START_TEST(cross_thread_and_exit)
{
    arena t;
    open_arena(&t, "handoff", 1u << 20, 64, threaded[_i], CA_CACHE_DEFAULT, 0);
    enum { N = 300 };
    void *blocks[N];
    pthread_barrier_t step;
    pthread_barrier_init(&step, NULL, 2);
    handoff h = {t.a, blocks, N, &step};
    for (int round = 0; round < 3; round++) {
        pthread_t p, c;
        pthread_create(&p, NULL, producer, &h);
        pthread_create(&c, NULL, consumer, &h);
        pthread_join(p, NULL);
        pthread_join(c, NULL);
        /* Both threads are gone: every block they cached went back. */
        ca_stats s = stats_of(t.a);
        ck_assert_uint_eq(s.allocations, 0);
        ck_assert_uint_eq(s.chunks_used, 0);
        ck_assert_uint_eq(s.chunks_cached, 0);
        ck_assert_uint_eq(s.free_runs, 1);
        ck_assert_uint_eq(s.largest_free_run, s.chunks_total);
#if CA_CACHE_DEFAULT_MODE /* on since the first consumer: its producers use them */
        ck_assert_msg(round == 0 || s.cache_hits > 0, "round %d: no cache hit", round);
#endif
        ck_assert_ptr_null(ca_arena_check(t.a));
    }
    pthread_barrier_destroy(&step);
    /* The whole arena in one block: nothing is held anywhere. */
    void *all = ca_alloc(t.a, stats_of(t.a).chunks_total * 64);
    ck_assert_ptr_nonnull(all);
    ca_free(t.a, all);
    close_arena(&t);
}
END_TEST

/* ---- reset and destroy with caches of live and exited threads ---- */

typedef struct holder {
    ca_arena *volatile a;
    pthread_barrier_t *step;
    size_t freed;
} holder;

/* Fill this thread's cache in h->a, then (if step) wait for the main
 * thread to reset or destroy it, then use whatever h->a is now. */
static void *hold(void *arg)
{
    holder *h = arg;
    void *p[40];
    for (int i = 0; i < 40; i++)
        p[i] = ca_alloc(h->a, 64 * (1 + (size_t)(i % 4)));
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(ca_free_checked(h->a, p[i]), CA_FAULT_NONE);
    if (h->step) {
        pthread_barrier_wait(h->step); /* cached: the main thread acts */
        pthread_barrier_wait(h->step); /* done: use the arena again */
        for (int i = 0; i < 40; i++)
            p[i] = ca_alloc(h->a, 64 * (1 + (size_t)(i % 4)));
        for (int i = 0; i < 40; i++)
            ck_assert_int_eq(ca_free_checked(h->a, p[i]), CA_FAULT_NONE);
    }
    return NULL;
}

START_TEST(reset_with_caches)
{
    arena t;
    open_arena(&t, "reset", 1u << 20, 64, threaded[_i], CA_CACHE_ON, 0);
    pthread_barrier_t step;
    pthread_barrier_init(&step, NULL, 2);
    holder gone = {t.a, NULL, 0}, live = {t.a, &step, 0};
    pthread_t g, l;
    pthread_create(&g, NULL, hold, &gone);
    pthread_join(g, NULL); /* exited: gave its cache back */
    pthread_create(&l, NULL, hold, &live);
    pthread_barrier_wait(&step);
    ck_assert_uint_gt(stats_of(t.a).chunks_cached, 0);
    void *mine = ca_alloc(t.a, 100);
    ca_free(t.a, mine); /* this thread's cache too */
    ca_arena_reset(t.a);
    ca_stats s = stats_of(t.a);
    ck_assert_uint_eq(s.chunks_cached, 0);
    ck_assert_uint_eq(s.chunks_used, 0);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_ptr_null(ca_arena_check(t.a));
    pthread_barrier_wait(&step);
    pthread_join(l, NULL);
    ck_assert_uint_eq(stats_of(t.a).chunks_cached, 0);
    ck_assert_ptr_null(ca_arena_check(t.a));
    pthread_barrier_destroy(&step);
    close_arena(&t);
}
END_TEST

START_TEST(destroy_with_caches)
{
    ca_lock lock = threaded[_i];
    arena t;
    open_arena(&t, "destroy", 1u << 20, 64, lock, CA_CACHE_ON, 0);
    pthread_barrier_t step;
    pthread_barrier_init(&step, NULL, 2);
    holder gone = {t.a, NULL, 0}, live = {t.a, &step, 0};
    pthread_t g, l;
    pthread_create(&g, NULL, hold, &gone);
    pthread_join(g, NULL);
    pthread_create(&l, NULL, hold, &live);
    pthread_barrier_wait(&step);
    /* A live allocation: destroy refuses and changes nothing. */
    void *keep = ca_alloc(t.a, 10);
    ca_stats before = stats_of(t.a);
    ck_assert_uint_gt(before.chunks_cached, 0);
    errno = 0;
    ck_assert_int_eq(ca_arena_destroy(t.a), -1);
    ck_assert_int_eq(errno, EBUSY);
    ca_stats after = stats_of(t.a);
    ck_assert_uint_eq(after.chunks_cached, before.chunks_cached);
    ck_assert_uint_eq(after.free_runs, before.free_runs);
    ca_free(t.a, keep);
    /* Cached blocks are no allocations: destroy goes ahead. */
    ck_assert_int_eq(ca_arena_destroy(t.a), 0);
    /* A new arena in the same memory: the live thread's old record must
     * not be used, nor touched when it exits. */
    ca_config c;
    memset(&c, 0, sizeof c);
    c.chunk_size = 64;
    c.lock = lock;
    c.cache = CA_CACHE_ON;
    live.a = ca_arena_create("destroy-again", t.mem, t.len, &c);
    ck_assert_ptr_nonnull(live.a);
    pthread_barrier_wait(&step);
    pthread_join(l, NULL);
    ca_stats s = stats_of(live.a);
    ck_assert_uint_eq(s.chunks_cached, 0);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_ptr_null(ca_arena_check(live.a));
    t.a = live.a;
    pthread_barrier_destroy(&step);
    close_arena(&t);
}
END_TEST

/* ---- the figures of an arena with cached blocks ---- */

/* Cached blocks are no program's: their chunks are not used, and count as
 * free in the free runs, the longest and the histogram alike, which must
 * come from one scan (the histogram's classes add up to free_runs). Every
 * other block is freed into the cache, so the holes are cached blocks. */
START_TEST(cached_figures_agree)
{
    arena t;
    open_arena(&t, "figures", 1u << 18, 256, layers[_i], CA_CACHE_ON, 0);
    enum { N = 24 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ca_alloc(t.a, 200); /* one chunk */
        ck_assert_ptr_nonnull(p[i]);
    }
    for (int i = 0; i < N; i += 2)
        ca_free(t.a, p[i]);
    ca_stats s = stats_of(t.a);
    ck_assert_uint_ge(s.chunks_cached, N / 2);
    ck_assert_uint_eq(s.chunks_used, N / 2);
    ck_assert_uint_eq(s.allocations, N / 2);
    size_t runs = 0;
    unsigned top = 0;
    for (unsigned k = 0; k < CA_FREE_RUN_CLASSES; k++) {
        runs += s.free_run_histogram[k];
        if (s.free_run_histogram[k])
            top = k;
    }
    ck_assert_msg(runs == s.free_runs, "the histogram holds %zu runs, free_runs says %zu", runs,
                  s.free_runs);
    ck_assert_uint_ge(s.largest_free_run, (size_t)1 << top);
    ck_assert_uint_lt(s.largest_free_run, (size_t)2 << top);
    ck_assert_uint_le(s.chunks_used + s.largest_free_run, s.chunks_total);
    for (int i = 1; i < N; i += 2)
        ca_free(t.a, p[i]);
    close_arena(&t);
}
END_TEST

/* ---- ENOMEM after draining; the caps ---- */

START_TEST(nomem_drains_first)
{
    arena t;
    /* 2048 chunks; the caches may hold the whole arena. */
    open_arena(&t, "nomem", 2048 * 64, 64, layers[_i], CA_CACHE_ON, 2048 * 64);
    size_t n = stats_of(t.a).chunks_total;
    void **p = malloc(n * sizeof *p);
    size_t got = 0;
    while (got < n && (p[got] = ca_alloc(t.a, 64)) != NULL)
        got++;
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i < got; i++)
        ca_free(t.a, p[i]);
    ca_stats s = stats_of(t.a);
    ck_assert_msg(s.chunks_cached > 0, "nothing cached");
    /* All of it in one block: fits only once this thread's cache is back. */
    void *all = ca_alloc(t.a, n * 64);
    ck_assert_ptr_nonnull(all);
    s = stats_of(t.a);
    ck_assert_uint_eq(s.chunks_cached, 0);
    ck_assert_uint_eq(s.failures, 0); /* the retry succeeded: no failure */
    errno = 0;
    ck_assert_ptr_null(ca_alloc(t.a, 64));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(stats_of(t.a).failures, 1);
    ca_free(t.a, all);
    free(p);
    close_arena(&t);
}
END_TEST

START_TEST(caps_hold)
{
    arena t;
    /* The caches of all threads: at most 32 chunks. */
    open_arena(&t, "caps", 1u << 20, 64, layers[_i], CA_CACHE_ON, 32 * 64);
    void *p[200];
    for (int i = 0; i < 200; i++)
        p[i] = ca_alloc(t.a, 64 * (1 + (size_t)(i % 3)));
    for (int i = 0; i < 200; i++)
        ca_free(t.a, p[i]);
    ca_stats s = stats_of(t.a);
    ck_assert_msg(s.chunks_cached > 0 && s.chunks_cached <= 32, "%zu chunks cached, cap 32",
                  s.chunks_cached);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_uint_eq(s.chunks_used, 0);
    close_arena(&t);
}
END_TEST

/* By default a lone thread keeps nothing; a second thread switches the
 * caches on; a small arena gets none. */
static void *touch(void *arg)
{
    ca_free((ca_arena *)arg, ca_alloc((ca_arena *)arg, 64));
    return NULL;
}

START_TEST(default_mode)
{
    arena t;
    open_arena(&t, "default", 1u << 20, 64, threaded[_i], CA_CACHE_DEFAULT, 0);
    ca_free(t.a, ca_alloc(t.a, 64));
    ca_stats s = stats_of(t.a);
#if CA_CACHE_DEFAULT_MODE == 1
    ck_assert_uint_eq(s.chunks_cached, 0);
    pthread_t th;
    pthread_create(&th, NULL, touch, t.a);
    pthread_join(th, NULL);
    ca_free(t.a, ca_alloc(t.a, 64));
    ck_assert_uint_gt(stats_of(t.a).chunks_cached, 0);
#elif CA_CACHE_DEFAULT_MODE == 2
    ck_assert_uint_gt(s.chunks_cached, 0);
    (void)touch;
#else
    ck_assert_uint_eq(s.chunks_cached, 0);
    (void)touch;
#endif
    close_arena(&t);

    arena small; /* under CA_CACHE_MIN_CHUNKS chunks: no caches by default */
    open_arena(&small, "small", 512 * 64, 64, threaded[_i], CA_CACHE_DEFAULT, 0);
    pthread_t th2;
    pthread_create(&th2, NULL, touch, small.a);
    pthread_join(th2, NULL);
    ca_free(small.a, ca_alloc(small.a, 64));
    ck_assert_uint_eq(stats_of(small.a).chunks_cached + stats_of(small.a).cache_misses, 0);
    close_arena(&small);
}
END_TEST

START_TEST(config_validated)
{
    static unsigned char mem[1 << 16] __attribute__((aligned(4096)));
    ca_config c;
    memset(&c, 0, sizeof c);
    c.cache = (ca_cache_mode)7;
    errno = 0;
    ck_assert_ptr_null(ca_arena_create("bad-cache", mem, sizeof mem, &c));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(ca_arena_meta_size(100, &c), 0);
    c.cache = CA_CACHE_ON;
    c.chunk_size = 64;
    c.cache_block = 64 * (CA_CACHE_BLOCK_CHUNKS_MAX + 1);
    errno = 0;
    ck_assert_ptr_null(ca_arena_create("bad-cache", mem, sizeof mem, &c));
    ck_assert_int_eq(errno, EINVAL);
    c.cache_block = 64 * CA_CACHE_BLOCK_CHUNKS_MAX;
    ca_arena *a = ca_arena_create("good-cache", mem, sizeof mem, &c);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(ca_arena_destroy(a), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache");
    TCase *one = tcase_create("one thread");
    tcase_set_timeout(one, 60);
    tcase_add_loop_test(one, differential, 0, NLAYERS);
    tcase_add_loop_test(one, cached_block_faults, 0, NLAYERS);
    tcase_add_loop_test(one, cached_figures_agree, 0, NLAYERS);
    tcase_add_loop_test(one, nomem_drains_first, 0, NLAYERS);
    tcase_add_loop_test(one, caps_hold, 0, NLAYERS);
    tcase_add_test(one, config_validated);
    suite_add_tcase(s, one);
    TCase *many = tcase_create("threads");
    tcase_set_timeout(many, 60);
    tcase_add_loop_test(many, double_free_race, 0, NTHREADED);
    tcase_add_loop_test(many, cross_thread_and_exit, 0, NTHREADED);
    tcase_add_loop_test(many, reset_with_caches, 0, NTHREADED);
    tcase_add_loop_test(many, destroy_with_caches, 0, NTHREADED);
    tcase_add_loop_test(many, default_mode, 0, NTHREADED);
    suite_add_tcase(s, many);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
