/* SPDX-License-Identifier: MIT */
/*
 * tests/test_hint.c — suite "hint": the lock-free layer's per-thread
 * records (sync/records.h, sync/hint.h) past the limits the layer used to
 * have, and their life around thread exit, destroy and reset.
 *
 * More threads than lane positions each get a record of their own (no
 * thread falls back to the overflow context), and share the positions
 * evenly; one thread works in many hint arenas, each through a record of
 * its own; a thread's exit parks its records with their counters (the
 * figures lose nothing) and never touches an arena destroyed before it,
 * even when another arena now lives at the same address; reset forgets the
 * live counts of every record, live threads' and exited ones'; a hint
 * arena of 4 KiB and one of 8 KiB work through the public API.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/chunkarena.h"
#include "sync/sync.h"

#define TIMEOUT 60
#define CHUNKS 4096u
#define SHIFT 6u
#define MANY (CA_SYNC_HINT_LANES + 8u) /* threads: more than lane positions */

typedef struct test_arena {
    ca_sync_arena a;
    void *region;
    void *meta;
} test_arena;

static void arena_open(test_arena *t)
{
    t->region = aligned_alloc(1u << SHIFT, (size_t)CHUNKS << SHIFT);
    size_t meta = ca_sync_meta_size(CA_LOCK_HINT, CHUNKS);
    t->meta = aligned_alloc(64, (meta + 63) & ~(size_t)63);
    ck_assert(t->region && t->meta);
    ck_assert(ca_sync_arena_init(&t->a, CA_LOCK_HINT, t->region, CHUNKS, SHIFT, t->meta, 4) ==
              CA_CORE_OK);
}

/* Check the arena (counters against the map), and let it go. */
static void arena_close(test_arena *t)
{
    const char *why = ca_sync_arena_check(&t->a);
    ck_assert_msg(why == NULL, "%s", why ? why : "");
    ca_sync_arena_fini(&t->a);
    free(t->region);
    free(t->meta);
}

static void count_rec(ca_core_ctx *x, void *n)
{
    (void)x;
    ++*(size_t *)n;
}

/* Contexts of the layer: its records, and the overflow context. */
static size_t contexts(ca_sync_arena *a)
{
    size_t n = 0;
    ca_sync_hint_each(&a->hint, count_rec, &n);
    return n;
}

static unsigned lane_users(const ca_sync_arena *a, unsigned *least, unsigned *most)
{
    unsigned sum = 0;
    *least = ~0u;
    *most = 0;
    for (unsigned i = 0; i < CA_SYNC_HINT_LANES; i++) {
        unsigned u = a->hint.lane_users[i];
        sum += u;
        *least = u < *least ? u : *least;
        *most = u > *most ? u : *most;
    }
    return sum;
}

/* ------------------------------------------------ many threads, one arena */

typedef struct visitor {
    ca_sync_arena *a;
    pthread_barrier_t *all;
    ca_core_ctx *ctx; /* the context its operations ran through */
    void *block;
} visitor;

static void *visit(void *arg)
{
    visitor *v = arg;
    ca_core_status st;
    v->block = ca_sync_arena_alloc(v->a, 100, 0, 0, &st);
    v->ctx = ca_sync_hint_lock(&v->a->hint);
    ca_sync_hint_unlock(&v->a->hint, v->ctx);
    pthread_barrier_wait(v->all); /* everyone has a context */
    pthread_barrier_wait(v->all); /* the main thread has looked */
    return NULL;
}

/* 40 threads at once, each its own record: no context shared, none the
 * overflow one (the old layer had 32 slots: the last 8 shared it). */
START_TEST(more_threads_than_lanes)
{
    test_arena t;
    arena_open(&t);
    pthread_barrier_t all;
    pthread_barrier_init(&all, NULL, MANY + 1);
    visitor v[MANY];
    pthread_t th[MANY];
    for (unsigned i = 0; i < MANY; i++) {
        v[i] = (visitor){&t.a, &all, NULL, NULL};
        ck_assert(pthread_create(&th[i], NULL, visit, &v[i]) == 0);
    }
    pthread_barrier_wait(&all);
    for (unsigned i = 0; i < MANY; i++) {
        ck_assert_msg(v[i].block != NULL, "thread %u: no block", i);
        ck_assert_msg(v[i].ctx != &t.a.hint.overflow, "thread %u: the overflow context", i);
        for (unsigned j = 0; j < i; j++)
            ck_assert_msg(v[i].ctx != v[j].ctx, "threads %u and %u share a context", j, i);
    }
    ck_assert_uint_eq(contexts(&t.a), MANY + 1);
    unsigned least, most;
    ck_assert_uint_eq(lane_users(&t.a, &least, &most), MANY);
    ck_assert_msg(most - least <= 1 && atomic_load(&t.a.hint.active) == 0xFFFFFFFFu,
                  "lane positions unevenly shared: %u to %u users, active %#x", least, most,
                  atomic_load(&t.a.hint.active));
    pthread_barrier_wait(&all);
    for (unsigned i = 0; i < MANY; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&all);
    /* All exited: every position free, every record parked (counters kept). */
    ck_assert_uint_eq(lane_users(&t.a, &least, &most), 0);
    ck_assert_uint_eq(atomic_load(&t.a.hint.active), 0);
    ck_assert_uint_eq(t.a.hint.owner.parked, MANY);
    ca_sync_stats s;
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, MANY);
    ck_assert_uint_eq(s.bytes_requested, 100u * MANY);
    for (unsigned i = 0; i < MANY; i++)
        ck_assert(ca_sync_arena_free(&t.a, v[i].block) == CA_CORE_OK);
    /* This thread adopted a parked record: no new one was made. */
    ck_assert_uint_eq(contexts(&t.a), MANY + 1);
    ck_assert_uint_eq(t.a.hint.owner.parked, MANY - 1);
    arena_close(&t);
}
END_TEST

/* ------------------------------------------------ one thread, many arenas */

#define ARENAS 20u /* the old table held 8 */

START_TEST(one_thread_many_arenas)
{
    static test_arena t[ARENAS];
    ca_core_ctx *ctx[ARENAS];
    void *p[ARENAS];
    for (unsigned i = 0; i < ARENAS; i++) {
        arena_open(&t[i]);
        ca_core_status st;
        p[i] = ca_sync_arena_alloc(&t[i].a, 64, 0, 0, &st);
        ck_assert(p[i] != NULL);
    }
    for (unsigned r = 0; r < 2; r++) /* in turns: the recent entry misses each time */
        for (unsigned i = 0; i < ARENAS; i++) {
            ctx[i] = ca_sync_hint_lock(&t[i].a.hint);
            ca_sync_hint_unlock(&t[i].a.hint, ctx[i]);
            ck_assert_msg(ctx[i] != &t[i].a.hint.overflow, "arena %u: the overflow context", i);
            ck_assert_msg(atomic_load(&ctx[i]->tally.allocs) == 1,
                          "arena %u: the allocation went through another context", i);
        }
    for (unsigned i = 0; i < ARENAS; i++) {
        ck_assert(ca_sync_arena_free(&t[i].a, p[i]) == CA_CORE_OK);
        ck_assert_uint_eq(atomic_load(&ctx[i]->tally.allocs), 0);
        arena_close(&t[i]);
    }
}
END_TEST

/* ------------------------------------------- thread exit, destroy, reset */

typedef struct worker {
    ca_sync_arena *a;
    pthread_barrier_t *step; /* NULL: run and exit */
    unsigned n;              /* allocations it makes, and keeps */
    void *kept[8];
    bool again;              /* its allocation after the step worked */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    ca_core_status st;
    for (unsigned i = 0; i < w->n; i++) {
        w->kept[i] = ca_sync_arena_alloc(w->a, 64 * (i + 1), 0, 0, &st);
        void *gone = ca_sync_arena_alloc(w->a, 10, 0, 0, &st);
        ca_sync_arena_free(w->a, gone);
    }
    if (w->step) {
        pthread_barrier_wait(w->step); /* done: the main thread acts */
        pthread_barrier_wait(w->step); /* then this thread goes on */
        void *again = ca_sync_arena_alloc(w->a, 1, 0, 0, &st);
        w->again = again && ca_sync_arena_free(w->a, again) == CA_CORE_OK;
    }
    return NULL;
}

/* Threads exit with allocations live, then the arena is destroyed: the
 * counters of the exited threads are in the figures, and their blocks are
 * freed from here. */
START_TEST(exit_then_destroy)
{
    test_arena t;
    arena_open(&t);
    worker w[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (worker){&t.a, NULL, i + 1, {0}, false};
        ck_assert(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ca_sync_stats s;
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, 1 + 2 + 3 + 4);
    ck_assert_uint_eq(s.chunks_used, 1 + (1 + 2) + (1 + 2 + 3) + (1 + 2 + 3 + 4));
    ck_assert_msg(ca_sync_arena_check(&t.a) == NULL, "the exited threads' counters are lost");
    for (unsigned i = 0; i < 4; i++)
        for (unsigned j = 0; j < w[i].n; j++)
            ck_assert(ca_sync_arena_free(&t.a, w[i].kept[j]) == CA_CORE_OK);
    arena_close(&t);
}
END_TEST

/* A stepping worker in a new arena t, at its first step (a record and 2
 * blocks); then t is reset, destroyed and its object poisoned, the worker
 * alive. */
static void destroy_under_worker(test_arena *t, worker *w, pthread_barrier_t *step, pthread_t *th)
{
    arena_open(t);
    pthread_barrier_init(step, NULL, 2);
    *w = (worker){&t->a, step, 2, {0}, false};
    ck_assert(pthread_create(th, NULL, work, w) == 0);
    pthread_barrier_wait(step);
    ck_assert_uint_eq(contexts(&t->a), 2);
    ca_sync_arena_reset(&t->a);
    ca_sync_arena_fini(&t->a);
    memset(&t->a, 0xA5, sizeof t->a);
}

/* An arena is destroyed while a thread that used it runs (its memory then
 * poisoned); the thread goes on in another arena, then exits. Its exit
 * must not touch the destroyed arena (the poison stays), and counts off
 * the other arena's lane once. */
START_TEST(destroy_then_exit)
{
    test_arena t, u;
    worker w;
    pthread_barrier_t step;
    pthread_t th;
    destroy_under_worker(&t, &w, &step, &th);
    static unsigned char poison[sizeof t.a];
    memset(poison, 0xA5, sizeof poison);
    arena_open(&u);
    w.a = &u.a;
    pthread_barrier_wait(&step); /* the thread allocates in u, then exits */
    pthread_join(th, NULL);
    pthread_barrier_destroy(&step);
    ck_assert_msg(w.again, "the thread could not use the other arena");
    ck_assert_msg(memcmp(&t.a, poison, sizeof poison) == 0,
                  "a thread's exit wrote to an arena destroyed before it");
    unsigned least, most;
    ck_assert_msg(lane_users(&u.a, &least, &most) == 0 && most == 0,
                  "lane positions still counted after the thread exited: %u users at most",
                  most);
    ck_assert_uint_eq(u.a.hint.owner.parked, 1);
    free(t.region);
    free(t.meta);
    arena_close(&u);
}
END_TEST

/* An arena made again at the address of a destroyed one: a thread that
 * used the old one gets a fresh record in the new one (its counters start
 * at 0: the stale entry is not followed), and its exit counts the new
 * arena's lane off once. */
START_TEST(destroy_and_remake_at_same_address)
{
    test_arena t;
    worker w;
    pthread_barrier_t step;
    pthread_t th;
    destroy_under_worker(&t, &w, &step, &th);
    ck_assert(ca_sync_arena_init(&t.a, CA_LOCK_HINT, t.region, CHUNKS, SHIFT, t.meta, 4) ==
              CA_CORE_OK);
    ck_assert_uint_eq(contexts(&t.a), 1); /* only the overflow context */
    pthread_barrier_wait(&step);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&step);
    ck_assert_msg(w.again, "the thread could not use the new arena");
    unsigned least, most;
    ck_assert_msg(lane_users(&t.a, &least, &most) == 0 && most == 0,
                  "lane positions still counted after the thread exited: %u users at most",
                  most);
    ck_assert_uint_eq(t.a.hint.owner.parked, 1);
    ca_sync_stats s;
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_uint_eq(s.bytes_requested, 1); /* the new arena's figures only */
    arena_close(&t);
}
END_TEST

/* Reset with records of exited threads and of a live one, each holding
 * blocks: everything is free afterwards, the counters agree with the map
 * (ca_sync_arena_check), the history is kept, and the live thread goes on. */
START_TEST(reset_with_live_and_exited_records)
{
    test_arena t;
    arena_open(&t);
    worker gone[3];
    pthread_t th[3];
    for (unsigned i = 0; i < 3; i++) {
        gone[i] = (worker){&t.a, NULL, 3, {0}, false};
        ck_assert(pthread_create(&th[i], NULL, work, &gone[i]) == 0);
    }
    for (unsigned i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_t step;
    pthread_barrier_init(&step, NULL, 2);
    worker live = {&t.a, &step, 4, {0}, false};
    pthread_t lt;
    ck_assert(pthread_create(&lt, NULL, work, &live) == 0);
    pthread_barrier_wait(&step); /* it holds 4 blocks, and waits */
    ca_sync_stats s;
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, 3 * 3 + 4);
    size_t requested = s.bytes_requested;
    ca_sync_arena_reset(&t.a);
    const char *why = ca_sync_arena_check(&t.a);
    ck_assert_msg(why == NULL, "after reset: %s", why ? why : "");
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_uint_eq(s.chunks_used, 0);
    ck_assert_uint_eq(s.bytes_requested, requested);
    pthread_barrier_wait(&step); /* the live thread allocates and frees once more */
    pthread_join(lt, NULL);
    pthread_barrier_destroy(&step);
    ck_assert_msg(live.again, "the live thread could not allocate after the reset");
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_uint_eq(s.allocations, 0);
    ck_assert_uint_eq(s.bytes_requested, requested + 1);
    arena_close(&t);
}
END_TEST

/* --------------------------------------------------- small hint arenas */

START_TEST(small_hint_arenas_work)
{
    static _Alignas(4096) unsigned char mem[8192];
    static const size_t sizes[] = {4096, 8192};
    for (unsigned i = 0; i < 2; i++) {
        ca_config c = {.chunk_size = 64, .lock = CA_LOCK_HINT, .cache = CA_CACHE_OFF};
        ca_arena *a = ca_arena_create("small-hint", mem, sizes[i], &c);
        ck_assert_msg(a != NULL, "a hint arena of %zu bytes was refused", sizes[i]);
        ca_stats s;
        ca_arena_stats(a, &s);
        /* The fixed bookkeeping is the arena object and the map: about
         * 1.2 KiB, no per-thread state (it used to be 5.3 KiB). */
        ck_assert_msg(s.chunks_total * 64 >= sizes[i] - 1536,
                      "%zu bytes: only %zu chunks of 64 bytes", sizes[i], s.chunks_total);
        void *p = ca_alloc(a, (s.chunks_total - 1) * 64);
        ck_assert_ptr_nonnull(p);
        ca_free(a, p);
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }
}
END_TEST

static Suite *hint_suite(void)
{
    Suite *s = suite_create("hint");
    TCase *tc = tcase_create("records");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_test(tc, more_threads_than_lanes);
    tcase_add_test(tc, one_thread_many_arenas);
    tcase_add_test(tc, exit_then_destroy);
    tcase_add_test(tc, destroy_then_exit);
    tcase_add_test(tc, destroy_and_remake_at_same_address);
    tcase_add_test(tc, reset_with_live_and_exited_records);
    tcase_add_test(tc, small_hint_arenas_work);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(hint_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
