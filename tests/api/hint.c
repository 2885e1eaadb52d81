/* SPDX-License-Identifier: MIT */
/*
 * tests/api/hint.c — suite "api", the hint layer past what used to be its
 * per-thread limits: more arenas than a thread's table held, more threads
 * than an arena had slots (8 and 32). Runs threads of its own.
 */
#include "tests/api/common.h"

/* ========================================================== TCase "hint" */

/* The hint layer keeps per-thread state per arena, in records found through
 * a per-thread table (sync/records.h); neither has a limit now, and past
 * the old ones (8 arenas a thread, 32 threads an arena) nothing may show
 * through the API. */

/* One thread, more hint arenas than its table holds, used in turns. */
START_TEST(hint_one_thread_many_arenas)
{
    enum { NARENAS = 12, ROUNDS = 3 };
    tarena t[NARENAS];
    void *p[NARENAS][ROUNDS];
    for (int i = 0; i < NARENAS; i++) {
        char name[32];
        snprintf(name, sizeof name, "hint-many-%d", i);
        tarena_make(&t[i], name, 64, 64, CA_LOCK_HINT);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NARENAS; i++) {
            p[i][r] = ca_alloc(t[i].a, 100);
            ck_assert_msg(p[i][r] != NULL && ca_arena_of(p[i][r]) == t[i].a,
                          "hint-many-%d, round %d: %p", i, r, p[i][r]);
            fill_pattern(p[i][r], 100, (unsigned)(i * ROUNDS + r));
        }
    for (int i = 0; i < NARENAS; i++) {
        ca_stats s = stats_of(t[i].a);
        ck_assert_msg(s.allocations == ROUNDS && s.chunks_used == 2 * ROUNDS,
                      "hint-many-%d: %zu allocations, %zu chunks; expected %d, %d", i,
                      s.allocations, s.chunks_used, ROUNDS, 2 * ROUNDS);
        expect_healthy(t[i].a, "many hint arenas");
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NARENAS; i++) {
            expect_pattern(p[i][r], 100, (unsigned)(i * ROUNDS + r), "many hint arenas");
            ck_assert_msg(ca_free_checked(t[i].a, p[i][r]) == CA_FAULT_NONE, "free");
        }
    for (int i = 0; i < NARENAS; i++) {
        ca_stats s = stats_of(t[i].a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "hint-many-%d: %zu left", i,
                      s.allocations);
        expect_healthy(t[i].a, "many hint arenas, emptied");
        tarena_drop(&t[i]);
    }
}
END_TEST

#define HT_THREADS 40 /* more than the layer's 32 lane positions */
#define HT_ITERATIONS 200

typedef struct ht_arg {
    ca_arena *a;
    unsigned seed;
    size_t allocated;
    char failure[160];
} ht_arg;

static void *ht_main(void *arg)
{
    ht_arg *h = arg;
    void *live[4] = {NULL, NULL, NULL, NULL};
    size_t size[4] = {0, 0, 0, 0};
    for (unsigned i = 0; i < HT_ITERATIONS && !h->failure[0]; i++) {
        unsigned k = i % 4;
        if (live[k]) {
            if (pattern_mismatch(live[k], size[k], h->seed + k) != size[k])
                snprintf(h->failure, sizeof h->failure, "thread %u: pattern broken", h->seed);
            if (ca_free_checked(h->a, live[k]) != CA_FAULT_NONE)
                snprintf(h->failure, sizeof h->failure, "thread %u: free refused", h->seed);
            live[k] = NULL;
        }
        size[k] = 1 + (h->seed * 131u + i * 17u) % 300u;
        live[k] = ca_alloc(h->a, size[k]);
        if (!live[k]) {
            snprintf(h->failure, sizeof h->failure, "thread %u: alloc(%zu) failed: %s", h->seed,
                     size[k], strerror(errno));
            break;
        }
        fill_pattern(live[k], size[k], h->seed + k);
        h->allocated++;
    }
    for (unsigned k = 0; k < 4; k++)
        if (live[k] && ca_free_checked(h->a, live[k]) != CA_FAULT_NONE && !h->failure[0])
            snprintf(h->failure, sizeof h->failure, "thread %u: final free refused", h->seed);
    return NULL;
}

/* More threads than lane positions, twice (records parked at thread exit
 * are adopted again): every allocation is private (patterns intact), and
 * the figures are exact once all have joined. */
START_TEST(hint_more_threads_than_slots)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "hint-threads", 4096, 64, CA_LOCK_HINT);
    for (int wave = 0; wave < 2; wave++) {
        pthread_t th[HT_THREADS];
        ht_arg args[HT_THREADS];
        memset(args, 0, sizeof args);
        for (unsigned i = 0; i < HT_THREADS; i++) {
            args[i].a = a;
            args[i].seed = (unsigned)wave * 1000u + i;
            ck_assert_int_eq(pthread_create(&th[i], NULL, ht_main, &args[i]), 0);
        }
        for (unsigned i = 0; i < HT_THREADS; i++)
            ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        for (unsigned i = 0; i < HT_THREADS; i++) {
            ck_assert_msg(args[i].failure[0] == '\0', "wave %d: %s", wave, args[i].failure);
            ck_assert_uint_eq(args[i].allocated, HT_ITERATIONS);
        }
        ca_stats s = stats_of(a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0 && s.largest_free_run == 4096 &&
                          s.free_runs == 1 && s.failures == 0,
                      "wave %d, all joined: %zu live, %zu used, longest free %zu, %zu runs, %zu "
                      "failures",
                      wave, s.allocations, s.chunks_used, s.largest_free_run, s.free_runs,
                      s.failures);
        expect_healthy(a, "after the threads");
    }
    tarena_drop(&t);
}
END_TEST


void api_add_hint(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "hint");
    tcase_add_test(tc, hint_one_thread_many_arenas);
    tcase_add_test(tc, hint_more_threads_than_slots);
}
