/* SPDX-License-Identifier: MIT */
/*
 * tests/test_faults.c — suite "faults": the faults an outside test of the
 * installed library found (issue 8), each as the rule it broke, checked
 * through the public API only. "layout": ca_arena_create fails with ENOMEM
 * if and only if not even one chunk fits after the bookkeeping, and
 * otherwise takes as many chunks as fit (every length around the boundary,
 * every layer, several chunk sizes). "overlap": a region or metadata buffer
 * that overlaps a live arena's memory is refused with EBUSY, registering
 * nothing, and the registry stays a list. "align": a block keeps the
 * alignment it was asked for, exactly, so a move finds any run that keeps
 * that promise. "names": one convention for a value outside an enum.
 * Single threaded.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/chunkarena.h"

#define TIMEOUT 120

static const ca_lock every_lock[] = {CA_LOCK_DEFAULT, CA_LOCK_NONE, CA_LOCK_SPIN,
                                     CA_LOCK_TICKET,  CA_LOCK_MUTEX, CA_LOCK_HINT};
#define NLOCKS (sizeof every_lock / sizeof every_lock[0])

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

/* ================================================================ layout */

/* Bookkeeping carved from the front for n chunks: what a separate buffer
 * would need (ca_arena_meta_size), rounded up to whole chunks. */
static size_t front_of(size_t n, const ca_config *c)
{
    size_t m = ca_arena_meta_size(n, c);
    ck_assert_msg(m > 0, "ca_arena_meta_size(%zu) = 0", n);
    return round_up(m, c->chunk_size);
}

static const size_t layout_chunk_sizes[] = {16, 32, 64, 256, 4096};

/* _i: a chunk size; every lock, every length from two chunks below the
 * smallest that fits one chunk to two chunks above it (by 1 byte for small
 * chunks, by 8 for 4096), and the lengths 5120..5231. */
START_TEST(create_fails_iff_no_chunk_fits)
{
    size_t cs = layout_chunk_sizes[_i];
    for (size_t k = 0; k < NLOCKS; k++) {
        ca_config c = {.chunk_size = cs, .lock = every_lock[k]};
        size_t one = front_of(1, &c) + cs; /* the least length that holds one chunk */
        size_t from = one > 3 * cs ? one - 3 * cs : 0, to = one + 3 * cs + 64;
        if (to < 5232)
            to = 5232;
        unsigned char *mem = aligned_alloc(cs < 64 ? 64 : cs, round_up(to, cs < 64 ? 64 : cs));
        ck_assert(mem != NULL);
        size_t step = cs >= 4096 ? 8 : 1;
        for (size_t len = from; len <= to; len += step) {
            errno = 0;
            ca_arena *a = ca_arena_create("layout", mem, len, &c);
            int e = errno;
            if (len < one) {
                ck_assert_msg(a == NULL && e == ENOMEM,
                              "%s, chunk %zu, len %zu (one chunk needs %zu): %p, errno %d, "
                              "expected ENOMEM",
                              ca_lock_name(c.lock), cs, len, one, (void *)a, e);
                continue;
            }
            ck_assert_msg(a != NULL, "%s, chunk %zu, len %zu (one chunk needs %zu): refused, %s",
                          ca_lock_name(c.lock), cs, len, one, strerror(e));
            ca_stats s;
            ck_assert(ca_arena_stats(a, &s) == 0);
            size_t n = s.chunks_total;
            ck_assert_msg(n >= 1 && front_of(n, &c) + n * cs <= len,
                          "%s, chunk %zu, len %zu: %zu chunks do not fit", ca_lock_name(c.lock),
                          cs, len, n);
            ck_assert_msg(front_of(n + 1, &c) + (n + 1) * cs > len,
                          "%s, chunk %zu, len %zu: %zu chunks, but %zu fit",
                          ca_lock_name(c.lock), cs, len, n, n + 1);
            ck_assert_int_eq(ca_arena_destroy(a), 0);
        }
        free(mem);
    }
}
END_TEST

/* =============================================================== overlap */

static size_t registered(void)
{
    return ca_arena_list(NULL, 0);
}

/* create must fail with `err`, registering nothing, and the registry must
 * still end (a cycle would make list and find loop forever: the TCase's
 * timeout catches it). */
static void expect_refused(const char *what, void *mem, size_t len, const ca_config *c, int err)
{
    size_t before = registered();
    errno = 0;
    ca_arena *a = ca_arena_create("second", mem, len, c);
    int e = errno;
    ck_assert_msg(a == NULL && e == err, "%s: %p, errno %d (%s), expected %s", what, (void *)a, e,
                  strerror(e), strerror(err));
    ck_assert_msg(registered() == before, "%s: the registry went from %zu to %zu arenas", what,
                  before, registered());
    errno = 0;
    ck_assert_msg(ca_arena_find("nope") == NULL && errno == ENOENT, "%s: find(\"nope\")", what);
    errno = 0;
    ck_assert_msg(ca_arena_find("second") == NULL && errno == ENOENT,
                  "%s: \"second\" is registered", what);
}

/* _i: a lock. Over the same memory, over part of it, its bookkeeping in a
 * live arena's memory, and the other way round: EBUSY; next to it: fine. */
START_TEST(overlapping_arenas_refused)
{
    enum { LEN = 64 * 1024, CS = 64 };
    ca_config c = {.chunk_size = CS, .lock = every_lock[_i]};
    unsigned char *buf = aligned_alloc(4096, 4 * LEN);
    ck_assert(buf != NULL);
    size_t before = registered();

    ca_arena *first = ca_arena_create("first", buf, LEN, &c);
    ck_assert_msg(first != NULL, "first: %s", strerror(errno));
    expect_refused("the same memory", buf, LEN, &c, EBUSY);
    expect_refused("its second half", buf + LEN / 2, LEN, &c, EBUSY);
    expect_refused("a small one at its start", buf, CS * 200, &c, EBUSY);
    ca_config sep = c;
    sep.meta_len = ca_arena_meta_size(LEN / CS, &c);
    sep.meta = buf + LEN - 4096; /* bookkeeping inside first's memory */
    expect_refused("metadata inside a live arena", buf + 2 * LEN, LEN, &sep, EBUSY);
    sep.meta = buf + 2 * LEN; /* bookkeeping inside its own region */
    expect_refused("metadata inside its own region", buf + 2 * LEN, LEN, &sep, EINVAL);

    /* Right after first: accepted, and both work. */
    ca_arena *next = ca_arena_create("next", buf + LEN, LEN, &c);
    ck_assert_msg(next != NULL, "the memory right after a live arena: %s", strerror(errno));
    ck_assert_uint_eq(registered(), before + 2);

    /* An arena with separate bookkeeping: its buffer is taken too. */
    ca_config sep2 = c;
    sep2.meta_len = LEN; /* more than it needs: room for a whole arena */
    sep2.meta = aligned_alloc(4096, LEN);
    ck_assert(sep2.meta != NULL);
    ca_arena *third = ca_arena_create("third", buf + 2 * LEN, LEN, &sep2);
    ck_assert_msg(third != NULL, "third: %s", strerror(errno));
    expect_refused("over another arena's separate bookkeeping", sep2.meta, LEN, &c, EBUSY);

    void *p = ca_alloc(first, 100), *q = ca_alloc(next, 100), *r = ca_alloc(third, 100);
    ck_assert(p && q && r);
    ck_assert(ca_arena_of(p) == first && ca_arena_of(q) == next && ca_arena_of(r) == third);
    ca_free(first, p);
    ca_free(next, q);
    ca_free(third, r);
    ck_assert_int_eq(ca_arena_destroy(third), 0);
    ck_assert_int_eq(ca_arena_destroy(next), 0);
    ck_assert_int_eq(ca_arena_destroy(first), 0);
    ck_assert_uint_eq(registered(), before);

    /* Once first is gone, its memory may be used again. */
    ca_arena *again = ca_arena_create("again", buf, LEN, &c);
    ck_assert_msg(again != NULL, "the memory of a destroyed arena: %s", strerror(errno));
    ck_assert_int_eq(ca_arena_destroy(again), 0);
    free(sep2.meta);
    free(buf);
}
END_TEST

/* ================================================================= align */

/* The first form: a block asked 2048, then kept in place asked
 * only 2: a move needs only 2 (a run of 10 chunks after it is free, and
 * none that is 2048-aligned). The bookkeeping is separate, so that the
 * region is the same 40 chunks under every layer. */
START_TEST(moved_block_keeps_the_alignment_asked_last)
{
    static _Alignas(4096) unsigned char m[2560];
    static _Alignas(64) unsigned char meta[16384];
    ca_config cfg = {.chunk_size = 64, .lock = every_lock[_i], .meta = meta, .meta_len = sizeof meta};
    ca_arena *a = ca_arena_create("b", m, sizeof m, &cfg);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));
    unsigned char *p = ca_aligned_alloc(a, 2048, 67);
    ck_assert(p != NULL && (uintptr_t)p % 2048 == 0);
    memset(p, 0x5a, 67);
    unsigned char *blocker = ca_alloc(a, 1); /* right after p: growth in place is impossible */
    ck_assert_msg(blocker == p + 2 * 64, "the blocker is not right after p");
    unsigned char *p2 = ca_aligned_realloc(a, p, 2, 17);
    ck_assert_msg(p2 == p, "a shrink with alignment 2 moved the block");
    errno = 0;
    unsigned char *q = ca_realloc(a, p2, 575);
    ck_assert_msg(q != NULL, "%s: the move found no room (errno %d) though a run of 10 chunks "
                  "keeps the alignment asked last (2)", ca_lock_name(cfg.lock), errno);
    for (size_t i = 0; i < 17; i++)
        ck_assert_msg(q[i] == 0x5a, "byte %zu lost in the move", i);
    ca_free(a, q);
    ca_free(a, blocker);
    ck_assert_ptr_null(ca_arena_check(a));
    ck_assert_int_eq(ca_arena_destroy(a), 0);
}
END_TEST

/* The second form: a block asked 128 lands (the only free chunk) on a 1024
 * boundary after another block once asked 1024; a 128-aligned run of 4 is
 * free but no 1024-aligned one: its move must succeed, 128-aligned. */
START_TEST(moved_block_keeps_exactly_its_own_alignment)
{
    enum { CS = 64, N = 64 };
    ca_config cfg = {.chunk_size = CS, .lock = every_lock[_i]};
    cfg.meta_len = ca_arena_meta_size(N, &cfg);
    cfg.meta = aligned_alloc(64, round_up(cfg.meta_len, 64));
    unsigned char *mem = aligned_alloc(4096, N * CS);
    ck_assert(cfg.meta && mem);
    ca_arena *a = ca_arena_create("b2", mem, N * CS, &cfg);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));

    void *big = ca_aligned_alloc(a, 1024, 1); /* raises the largest alignment asked */
    ck_assert(big != NULL);
    ca_free(a, big);
    void *blocks[N];
    for (size_t i = 0; i < N; i++) {
        blocks[i] = ca_alloc(a, 1);
        ck_assert(blocks[i] != NULL);
    }
    ck_assert_ptr_null(ca_alloc(a, 1));
    unsigned char *at16 = mem + 16 * CS; /* 1024-aligned */
    ca_free(a, at16);
    unsigned char *p = ca_aligned_alloc(a, 128, CS);
    ck_assert_msg(p == at16, "the 128-aligned block is not in the only free chunk");
    p[0] = 7;
    for (size_t c = 2; c <= 5; c++) /* chunks 2..5: 128-aligned, not 1024-aligned */
        ca_free(a, mem + c * CS);
    errno = 0;
    unsigned char *q = ca_realloc(a, p, 4 * CS);
    ck_assert_msg(q != NULL, "%s: the move found no room (errno %d) though chunks 2..5 keep "
                  "the 128 it was asked", ca_lock_name(cfg.lock), errno);
    ck_assert_msg(q == mem + 2 * CS && q[0] == 7, "moved to chunk %td",
                  (q - mem) / (ptrdiff_t)CS);
    ck_assert_ptr_null(ca_arena_check(a));
    ca_arena_reset(a);
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    free(mem);
    free(cfg.meta);
}
END_TEST

/* ================================================================= names */

/* One convention for a value outside the enumeration. */
START_TEST(names_of_unknown_values)
{
    ck_assert_str_eq(ca_lock_name((ca_lock)99), "unknown lock");
    ck_assert_str_eq(ca_fault_name((ca_fault)99), "unknown fault");
    ck_assert_str_eq(ca_lock_name(CA_LOCK_HINT), "hint");
}
END_TEST

/* ================================================================= suite */

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("layout");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_loop_test(tc, create_fails_iff_no_chunk_fits, 0,
                        (int)(sizeof layout_chunk_sizes / sizeof layout_chunk_sizes[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("overlap");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, overlapping_arenas_refused, 0, (int)NLOCKS);
    suite_add_tcase(s, tc);

    tc = tcase_create("align");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_loop_test(tc, moved_block_keeps_the_alignment_asked_last, 0, (int)NLOCKS);
    tcase_add_loop_test(tc, moved_block_keeps_exactly_its_own_alignment, 0, (int)NLOCKS);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, names_of_unknown_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(faults_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
