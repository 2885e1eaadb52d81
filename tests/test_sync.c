/* SPDX-License-Identifier: MIT */
/*
 * tests/test_sync.c — suite "sync": the sync layers' contract and the arena
 * that binds a layer to a core.
 *
 * Every lock offers init, lock and unlock: init gives a free lock, and lock
 * gives mutual exclusion (threads add to a plain counter under it, and no
 * addition is lost; ThreadSanitizer builds would also report the race).
 * The ticket lock keeps that with more threads than cores (its admission
 * and skipping rules). Then the arena (sync/sync.h): each locking layer
 * keeps threads that allocate, stamp, check and free out of each other's
 * blocks and leaves the core consistent; metadata sizes, the peak
 * (exact under a lock), reset (live figures to 0, history kept), and the
 * hint layer's per-thread records: each thread a record and a lane of its own,
 * lanes redrawn as threads come and go, records parked at thread exit.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync.h"

#define TIMEOUT 60
#define THREADS 8      /* more than the 2 cores of the development machine */
#define ROUNDS 20000u

/* ------------------------------------------------------------ the locks */

/* One lock of each kind behind the same small interface, for the tests. */
typedef struct any_lock {
    ca_lock kind;
    ca_sync_spin spin;
    ca_sync_ticket ticket;
    ca_sync_mutex mutex;
} any_lock;

static void lock(any_lock *l)
{
    if (l->kind == CA_LOCK_SPIN)
        ca_sync_spin_lock(&l->spin);
    else if (l->kind == CA_LOCK_TICKET)
        ca_sync_ticket_lock(&l->ticket);
    else
        ca_sync_mutex_lock(&l->mutex);
}

static void unlock(any_lock *l)
{
    if (l->kind == CA_LOCK_SPIN)
        ca_sync_spin_unlock(&l->spin);
    else if (l->kind == CA_LOCK_TICKET)
        ca_sync_ticket_unlock(&l->ticket);
    else
        ca_sync_mutex_unlock(&l->mutex);
}

static const ca_lock locking[] = {CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX};

typedef struct counting {
    any_lock *lock;
    unsigned long *counter; /* plain: only the lock protects it */
    pthread_barrier_t *start; /* all threads at once, so that they contend */
} counting;

static void *count_up(void *arg)
{
    counting *c = arg;
    pthread_barrier_wait(c->start);
    for (unsigned i = 0; i < ROUNDS; i++) {
        lock(c->lock);
        unsigned long v = *c->counter;
        for (volatile unsigned d = 0; d < 16; d++)
            ; /* widen the window in which a second thread inside would lose an addition */
        *c->counter = v + 1;
        unlock(c->lock);
    }
    return NULL;
}

/* Mutual exclusion with more threads than cores: no addition is lost. For
 * the ticket lock this goes through admission and skipping. The locks are
 * set up over garbage: init alone must give a free lock (one that init
 * left held would stop every thread, and the test would time out). */
START_TEST(locks_exclude_under_oversubscription)
{
    for (size_t i = 0; i < sizeof locking / sizeof locking[0]; i++) {
        any_lock l;
        memset(&l, 0xA5, sizeof l); /* init must not depend on zeroed memory */
        ca_sync_spin_init(&l.spin);
        ca_sync_ticket_init(&l.ticket);
        ca_sync_mutex_init(&l.mutex);
        l.kind = locking[i];
        unsigned long counter = 0;
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, THREADS);
        counting c = {&l, &counter, &start};
        pthread_t t[THREADS];
        for (int k = 0; k < THREADS; k++)
            ck_assert(pthread_create(&t[k], NULL, count_up, &c) == 0);
        for (int k = 0; k < THREADS; k++)
            pthread_join(t[k], NULL);
        pthread_barrier_destroy(&start);
        ck_assert_msg(counter == (unsigned long)THREADS * ROUNDS,
                      "%s: %lu additions of %lu survived", ca_lock_name(locking[i]), counter,
                      (unsigned long)THREADS * ROUNDS);
        ca_sync_mutex_fini(&l.mutex);
    }
}
END_TEST

/* A ticket whose owner never takes its turn (here: taken and then left, as
 * a preempted thread would) is skipped, and the waiters behind it go on. */
START_TEST(ticket_skips_a_turn_nobody_takes)
{
    ca_sync_ticket l;
    ca_sync_ticket_init(&l);
    /* Hand out ticket 0 without taking its turn: the lock is free, but
     * served to a ticket nobody will use. */
    atomic_store(&l.next, 1u);
    ca_sync_ticket_lock(&l); /* takes ticket 1: must skip 0 to get in */
    uint64_t t = atomic_load(&l.turn);
    ck_assert_msg(ca_sync_ticket_serving(t) == 1u && (t & 1u),
                  "the lock did not move past the abandoned turn (serving %u, taken %u)",
                  ca_sync_ticket_serving(t), (unsigned)(t & 1u));
    ca_sync_ticket_unlock(&l);
    /* Free after the skip and unlock: the next ticket is served at once. */
    ca_sync_ticket_lock(&l);
    t = atomic_load(&l.turn);
    ck_assert_msg(ca_sync_ticket_serving(t) == 2u && (t & 1u) && atomic_load(&l.next) == 3u,
                  "after the skip, ticket 2 was not served next (serving %u, taken %u)",
                  ca_sync_ticket_serving(t), (unsigned)(t & 1u));
    ca_sync_ticket_unlock(&l);
}
END_TEST

/* -------------------------------------------------------------- the arena */

#define CHUNKS 4096u
#define SHIFT 6u

typedef struct test_arena {
    ca_sync_arena a;
    void *region;
    void *meta;
} test_arena;

static void arena_open(test_arena *t, ca_lock kind)
{
    t->region = aligned_alloc(1u << SHIFT, (size_t)CHUNKS << SHIFT);
    size_t meta = ca_sync_meta_size(kind, CHUNKS);
    ck_assert_msg(meta > 0, "no metadata size for %s", ca_lock_name(kind));
    t->meta = aligned_alloc(64, (meta + 63) & ~(size_t)63);
    ck_assert(t->region && t->meta);
    ck_assert_msg(ca_sync_arena_init(&t->a, kind, t->region, CHUNKS, SHIFT, t->meta, 4) ==
                      CA_CORE_OK,
                  "init of a %s arena failed", ca_lock_name(kind));
}

static void arena_close(test_arena *t)
{
    const char *why = ca_sync_arena_check(&t->a);
    ck_assert_msg(why == NULL, "%s", why ? why : "");
    ca_sync_arena_fini(&t->a);
    free(t->region);
    free(t->meta);
}

/* No layer keeps per-thread state in the arena's metadata. */
START_TEST(meta_sizes)
{
    for (ca_lock k = CA_LOCK_NONE; k <= CA_LOCK_HINT; k++) {
        size_t core = ca_core_meta_size(CHUNKS), sync = ca_sync_meta_size(k, CHUNKS);
        ck_assert_msg(sync == core, "%s needs more than the core's metadata", ca_lock_name(k));
    }
    ck_assert(ca_sync_meta_size(CA_LOCK_SPIN, 0) == 0);
}
END_TEST

/* Through the arena: threads allocate blocks, fill each with a byte of its
 * own, check it is still there and free it. If a layer let two threads into
 * the core at once, they would be handed overlapping blocks (a stamp
 * overwritten), lose an update to the map (a free refused, or the check at
 * the end failing), or leave chunks behind. The hint layer, lock-free, is
 * held to the same. */
#define STAMP_ROUNDS 20000u
#define STAMP_HELD 8u /* blocks a thread holds at once */

typedef struct stamping {
    ca_sync_arena *a;
    pthread_barrier_t *start; /* all threads at once, so that they contend */
    unsigned id;
    unsigned long bad;    /* stamps overwritten and frees refused */
    unsigned long failed; /* allocations refused: the arena holds 8 times the most in use */
} stamping;

static bool stamp_intact(const unsigned char *p, size_t len, unsigned char mark)
{
    for (size_t j = 0; j < len; j++)
        if (p[j] != mark)
            return false;
    return true;
}

static void *stamp_and_free(void *arg)
{
    stamping *w = arg;
    unsigned char *held[STAMP_HELD] = {NULL};
    size_t len[STAMP_HELD] = {0};
    uint64_t rng = 0x9E3779B97F4A7C15u * (w->id + 1u);
    pthread_barrier_wait(w->start);
    for (unsigned i = 0; i < STAMP_ROUNDS + STAMP_HELD; i++) {
        unsigned k = i % STAMP_HELD;
        unsigned char mark = (unsigned char)(w->id * STAMP_HELD + k + 1u); /* unique */
        if (held[k]) {
            w->bad += !stamp_intact(held[k], len[k], mark);
            w->bad += ca_sync_arena_free(w->a, held[k]) != CA_CORE_OK;
            held[k] = NULL;
        }
        if (i >= STAMP_ROUNDS)
            continue; /* the last lap only frees */
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        len[k] = 1u + (size_t)(rng >> 33) % ((size_t)8 << SHIFT); /* 1 to 8 chunks */
        ca_core_status st;
        held[k] = ca_sync_arena_alloc(w->a, len[k], 0, 0, &st);
        if (!held[k])
            w->failed++;
        else
            memset(held[k], mark, len[k]);
    }
    return NULL;
}

START_TEST(arena_keeps_threads_out_of_each_others_blocks)
{
    static const ca_lock shared[] = {CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX, CA_LOCK_HINT};
    _Static_assert(THREADS * STAMP_HELD * 8u * 8u <= CHUNKS, "room for 8 times the most in use");
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        test_arena t;
        arena_open(&t, shared[i]);
        stamping w[THREADS];
        pthread_t th[THREADS];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, THREADS);
        for (unsigned k = 0; k < THREADS; k++) {
            w[k] = (stamping){&t.a, &start, k, 0, 0};
            ck_assert(pthread_create(&th[k], NULL, stamp_and_free, &w[k]) == 0);
        }
        unsigned long bad = 0, failed = 0;
        for (unsigned k = 0; k < THREADS; k++) {
            pthread_join(th[k], NULL);
            bad += w[k].bad;
            failed += w[k].failed;
        }
        pthread_barrier_destroy(&start);
        ca_sync_stats s;
        ca_sync_arena_stats(&t.a, &s);
        ck_assert_msg(bad == 0 && failed == 0 && s.chunks_used == 0 && s.allocations == 0,
                      "%s: %lu stamps overwritten or frees refused, %lu allocations refused, "
                      "%zu chunks in %zu allocations left", ca_lock_name(shared[i]), bad,
                      failed, s.chunks_used, s.allocations);
        arena_close(&t); /* ca_sync_arena_check */
    }
}
END_TEST

/* The peak is exact under a lock; reset zeroes the live figures and keeps
 * the history (requested bytes, failures, the peak). */
START_TEST(peak_and_reset)
{
    test_arena t;
    arena_open(&t, CA_LOCK_SPIN);
    ca_core_status st;
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = ca_sync_arena_alloc(&t.a, 3u << SHIFT, 0, 0, &st); /* 3 chunks each */
    for (int i = 0; i < 10; i++)
        ck_assert(ca_sync_arena_free(&t.a, p[i]) == CA_CORE_OK);
    ck_assert(ca_sync_arena_alloc(&t.a, (size_t)CHUNKS << (SHIFT + 1), 0, 0, &st) == NULL);
    void *q = ca_sync_arena_alloc(&t.a, 1, 0, 0, &st);
    ca_sync_stats s;
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_msg(s.chunks_peak == 30 && s.chunks_used == 1 && s.failures == 1,
                  "peak %zu used %zu failures %zu, expected 30, 1 and 1", s.chunks_peak,
                  s.chunks_used, s.failures);
    size_t requested = s.bytes_requested;
    ca_sync_arena_reset(&t.a);
    ca_sync_arena_stats(&t.a, &s);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "reset left %zu chunks in use",
                  s.chunks_used);
    ck_assert_msg(s.chunks_peak == 30 && s.failures == 1 && s.bytes_requested == requested,
                  "reset lost history: peak %zu failures %zu requested %zu", s.chunks_peak,
                  s.failures, s.bytes_requested);
    ck_assert_msg(ca_sync_arena_free(&t.a, q) == CA_CORE_NOTALLOC,
                  "a pointer from before the reset is still allocated");
    arena_close(&t);
}
END_TEST

/* The hint layer: each thread gets a record of its own and a lane of its own. */
typedef struct hint_visit {
    ca_sync_arena *a;
    pthread_barrier_t *both; /* held by both threads while they look */
    size_t lane_lo, lane_len, lane_lo_alone;
    bool same_again; /* a second lock found the same context */
    void *block;
} hint_visit;

static void *visit(void *arg)
{
    hint_visit *v = arg;
    ca_core_status st;
    v->block = ca_sync_arena_alloc(v->a, 64, 0, 0, &st); /* makes a record */
    ca_core_ctx *x = ca_sync_hint_lock(&v->a->hint);
    v->lane_lo_alone = x->lane_lo;
    ca_sync_hint_unlock(&v->a->hint, x);
    /* lock again: the same context, the thread's own record. */
    ca_core_ctx *y = ca_sync_hint_lock(&v->a->hint);
    v->same_again = y == x;
    ca_sync_hint_unlock(&v->a->hint, y);
    pthread_barrier_wait(v->both);
    x = ca_sync_hint_lock(&v->a->hint); /* both lanes active now: redrawn */
    v->lane_lo = x->lane_lo;
    v->lane_len = x->lane_len;
    ca_sync_hint_unlock(&v->a->hint, x);
    pthread_barrier_wait(v->both);
    return NULL;
}

START_TEST(hint_records_and_lanes)
{
    test_arena t;
    arena_open(&t, CA_LOCK_HINT);
    pthread_barrier_t both;
    pthread_barrier_init(&both, NULL, 2);
    hint_visit v[2] = {{&t.a, &both, 0, 0, 0, false, NULL}, {&t.a, &both, 0, 0, 0, false, NULL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert(pthread_create(&th[i], NULL, visit, &v[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&both);

    ck_assert_msg(v[0].same_again && v[1].same_again,
                  "a second lock did not give the thread's own record's context");
    ck_assert_msg(v[0].lane_lo != v[1].lane_lo, "two threads got the same lane start (%zu)",
                  v[0].lane_lo);
    ck_assert_msg(v[0].lane_len > 0 && v[1].lane_len > 0 &&
                      v[0].lane_len + v[1].lane_len == CHUNKS,
                  "two lanes should share the arena: %zu + %zu chunks", v[0].lane_len,
                  v[1].lane_len);
    /* Both threads have exited: their lanes are given back and their
     * records parked (checked before this thread touches the arena, which
     * would adopt one). */
    ck_assert_msg(atomic_load(&t.a.hint.active) == 0u, "lanes still active after thread exit: %#x",
                  atomic_load(&t.a.hint.active));
    ck_assert_msg(t.a.hint.owner.parked == 2, "%zu records parked after two threads exited",
                  t.a.hint.owner.parked);
    /* Blocks of exited threads are freed through this thread's own record. */
    for (int i = 0; i < 2; i++)
        ck_assert_msg(ca_sync_arena_free(&t.a, v[i].block) == CA_CORE_OK, "free of a block");
    ck_assert_msg(atomic_load(&t.a.hint.active) != 0u, "this thread has no lane after using it");
    arena_close(&t);
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *locks = tcase_create("locks");
    tcase_set_timeout(locks, TIMEOUT);
    tcase_add_test(locks, locks_exclude_under_oversubscription);
    tcase_add_test(locks, ticket_skips_a_turn_nobody_takes);
    suite_add_tcase(s, locks);
    TCase *arena = tcase_create("arena");
    tcase_set_timeout(arena, TIMEOUT);
    tcase_add_test(arena, arena_keeps_threads_out_of_each_others_blocks);
    tcase_add_test(arena, meta_sizes);
    tcase_add_test(arena, peak_and_reset);
    tcase_add_test(arena, hint_records_and_lanes);
    suite_add_tcase(s, arena);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(sync_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
