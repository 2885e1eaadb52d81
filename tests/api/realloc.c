/* SPDX-License-Identifier: MIT */
/*
 * tests/api/realloc.c — suite "api", realloc: in place, moved, with its
 * original alignment, failing without harm; aligned realloc and resize. Single
 * threaded.
 */
#include "tests/api/common.h"

/* ======================================================= TCase "realloc" */

START_TEST(realloc_null_allocates)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    void *p = ca_realloc(a, NULL, 300);
    ck_assert_msg(p != NULL && ca_usable_size(a, p) == 2 * RCS, "realloc(NULL, 300): %p", p);
    void *q = ca_aligned_realloc(a, NULL, 4096, 100);
    ck_assert_msg(q != NULL && (uintptr_t)q % 4096 == 0, "aligned_realloc(NULL, 4096): %p", q);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 2 && s.chunks_used == 3 && s.moves == 0,
                  "two allocations by realloc(NULL): %zu live, %zu chunks, %zu moves",
                  s.allocations, s.chunks_used, s.moves);
    ca_free(a, p);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_grows_in_place)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, 100);
    ck_assert_msg(p == chunk(&t, 1), "the only free chunk is 1");
    fill_pattern(p, 100, 3);
    ca_free(a, chunk(&t, 2));
    ca_free(a, chunk(&t, 3));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 3 * RCS);
    ck_assert_msg(q == p, "chunks 2 and 3 are free: realloc moved %p to %p", (void *)p, (void *)q);
    ck_assert_uint_eq(ca_usable_size(a, q), 3 * RCS);
    expect_pattern(q, 100, 3, "grown in place");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.grows_in_place == before.grows_in_place + 1 && s.moves == before.moves,
                  "grows_in_place %zu -> %zu, moves %zu -> %zu", before.grows_in_place,
                  s.grows_in_place, before.moves, s.moves);
    ck_assert_uint_eq(s.chunks_used, before.chunks_used + 2);
    expect_healthy(a, "grown in place");
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_moves_when_blocked)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 4);
    for (size_t i = 40; i < 44; i++)
        ca_free(a, chunk(&t, i));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 3 * RCS);
    ck_assert_msg(q != NULL, "realloc with room at chunks 40..43 failed: %s", strerror(errno));
    ck_assert_msg(q == chunk(&t, 40) || q == chunk(&t, 41),
                  "3 chunks fit only at chunk 40 or 41, got chunk %zu", index_of(&t, q));
    expect_pattern(q, RCS, 4, "moved");
    ck_assert_uint_eq(ca_usable_size(a, q), 3 * RCS);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.moves == before.moves + 1 && s.grows_in_place == before.grows_in_place,
                  "moves %zu -> %zu, grows %zu -> %zu", before.moves, s.moves,
                  before.grows_in_place, s.grows_in_place);
    ck_assert_msg(s.allocations == before.allocations && s.chunks_used == before.chunks_used + 2,
                  "after a move: %zu live (was %zu), %zu chunks (was %zu)", s.allocations,
                  before.allocations, s.chunks_used, before.chunks_used);
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NOT_ALLOCATED,
                  "the old block was not freed by the move");
    expect_healthy(a, "moved");
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_shrinks_in_place)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    unsigned char *p = ca_alloc(a, RN * RCS);
    ck_assert(p == t.mem);
    fill_pattern(p, RN * RCS, 5);
    unsigned char *q = ca_realloc(a, p, RCS + 1);
    ck_assert_msg(q == p, "a shrink moved the block");
    ck_assert_uint_eq(ca_usable_size(a, q), 2 * RCS);
    expect_pattern(q, RCS + 1, 5, "shrunk");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.shrinks_in_place == 1 && s.moves == 0 && s.chunks_used == 2,
                  "shrinks %zu, moves %zu, used %zu", s.shrinks_in_place, s.moves, s.chunks_used);
    /* the tail is reusable: 62 chunks fit only right after it */
    unsigned char *r = ca_alloc(a, (RN - 2) * RCS);
    ck_assert_msg(r == chunk(&t, 2), "the shrunk tail is not reusable: %p", (void *)r);
    ca_free(a, r);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_zero_keeps_one_chunk)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    unsigned char *p = ca_alloc(a, 5 * RCS);
    ck_assert(p != NULL);
    fill_pattern(p, 16, 6);
    unsigned char *q = ca_realloc(a, p, 0);
    ck_assert_msg(q == p, "realloc(p, 0) returned %p, expected p %p (it never frees)", (void *)q,
                  (void *)p);
    ck_assert_uint_eq(ca_usable_size(a, q), RCS);
    /* No content is promised after a realloc to 0 bytes (the memory tools
     * see those bytes as undefined), so the pattern is not read back. */
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 1, "after realloc(p, 0): %zu live, %zu used",
                  s.allocations, s.chunks_used);
    ck_assert_msg(ca_free_checked(a, q) == CA_FAULT_NONE, "the kept chunk is not an allocation");
    tarena_drop(&t);
}
END_TEST

/* The alignment p was asked for survives a move: p from
 * ca_aligned_alloc(4096) in a 256-byte chunk arena, growth blocked by a
 * neighbour, and a single free 4096-aligned place among many unaligned
 * ones. */
START_TEST(realloc_keeps_original_alignment)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){16, SIZE_MAX}));
    unsigned char *p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert_msg(p == chunk(&t, 16), "aligned_alloc(4096): chunk 16 is the only place");
    fill_pattern(p, RCS, 7);
    /* free everything but chunk 17 (the neighbour) and the aligned 0 and 32 */
    for (size_t i = 0; i < RN; i++)
        if (i != 0 && i != 16 && i != 17 && i != 32)
            ca_free(a, chunk(&t, i));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 2 * RCS);
    ck_assert_msg(q != NULL, "realloc failed: %s", strerror(errno));
    ck_assert_msg((uintptr_t)q % 4096 == 0,
                  "the moved block %p (chunk %zu) lost the 4096 alignment it was allocated with",
                  (void *)q, index_of(&t, q));
    ck_assert_msg(q == chunk(&t, 48), "chunk 48 is the only free 4096-aligned place, got %zu",
                  index_of(&t, q));
    expect_pattern(q, RCS, 7, "aligned move");
    ck_assert_uint_eq(stats_of(a).moves, before.moves + 1);
    /* and through ca_aligned_realloc with an explicit, smaller alignment:
     * the header promises that alignment only */
    expect_healthy(a, "aligned move");
    tarena_drop(&t);
}
END_TEST

/* The move must ask for the alignment the block was allocated with, not
 * for the alignment its address happens to have: p = ca_aligned_alloc(4096)
 * at a 1 MiB aligned address, growth blocked, free 4096-aligned places
 * elsewhere. */
START_TEST(realloc_move_needs_only_the_asked_alignment)
{
    tarena t;
    ca_arena *a = tarena_make_aligned(&t, "realloc-asked", RN, RCS, CA_LOCK_MUTEX, (size_t)1 << 20);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){0, SIZE_MAX}));
    unsigned char *p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert_msg(p == t.mem, "aligned_alloc: chunk 0 is the only free chunk");
    fill_pattern(p, RCS, 8);
    for (size_t i = 2; i < RN; i++)
        ca_free(a, chunk(&t, i)); /* chunk 1 stays: the neighbour */
    ca_stats s = stats_of(a);
    ck_assert_msg(s.largest_free_run == RN - 2, "set-up: longest free run %zu", s.largest_free_run);
    errno = 0;
    unsigned char *q = ca_realloc(a, p, 2 * RCS);
    int e = errno;
    if (q)
        ca_free(a, q);
    else
        ca_free(a, p);
    ca_free(a, chunk(&t, 1));
    tarena_drop(&t);
    ck_assert_msg(q != NULL,
                  "ca_realloc of a block allocated with alignment 4096 failed (errno %d) although "
                  "chunks 16, 32 and 48 are free 4096-aligned starts of 62 free chunks: the move "
                  "asked for the alignment of the address (1 MiB or more), not 4096",
                  e);
    ck_assert_msg((uintptr_t)q % 4096 == 0, "moved block %p not 4096-aligned", (void *)q);
}
END_TEST

START_TEST(realloc_failure_leaves_p)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){5, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS); /* it fills all RCS bytes */
    ck_assert(p == chunk(&t, 5));
    fill_pattern(p, RCS, 9);
    ca_stats before = stats_of(a);
    const size_t sizes[] = {2 * RCS, RN * RCS, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        void *q = ca_realloc(a, p, sizes[i]);
        ck_assert_msg(q == NULL && errno == ENOMEM, "realloc(p, %zu) in a full arena: %p, errno %d",
                      sizes[i], q, errno);
        expect_pattern(p, RCS, 9, "after a failed realloc");
        ck_assert_uint_eq(ca_usable_size(a, p), RCS);
        errno = 0;
        q = ca_aligned_realloc(a, p, 4096, sizes[i]);
        ck_assert_msg(q == NULL && errno == ENOMEM, "aligned_realloc(p, 4096, %zu): %p, errno %d",
                      sizes[i], q, errno);
        expect_pattern(p, RCS, 9, "after a failed aligned realloc");
    }
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == before.chunks_used && s.allocations == before.allocations &&
                      s.largest_free_run == before.largest_free_run &&
                      s.free_runs == before.free_runs && s.moves == before.moves &&
                      s.grows_in_place == before.grows_in_place &&
                      s.shrinks_in_place == before.shrinks_in_place,
                  "a failed realloc changed the arena");
    expect_healthy(a, "failed realloc");
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p is no longer a valid allocation");
    tarena_drop(&t);
}
END_TEST

START_TEST(aligned_realloc_rules)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    /* bad alignments: NULL, EINVAL, p untouched */
    unsigned char *p = ca_alloc(a, 100);
    ck_assert(p != NULL);
    fill_pattern(p, 100, 10);
    static const size_t bad[] = {0, 3, 48, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *q = ca_aligned_realloc(a, p, bad[i], 1000);
        ck_assert_msg(q == NULL && errno == EINVAL, "aligned_realloc(align %zu): %p, errno %d",
                      bad[i], q, errno);
        expect_pattern(p, 100, 10, "refused alignment");
    }
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p lost after refused alignments");

    /* in place when p has the alignment and room follows */
    p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert(p != NULL);
    size_t grows = stats_of(a).grows_in_place;
    unsigned char *q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q == p, "aligned p with free chunks after it moved");
    ck_assert_uint_eq(stats_of(a).grows_in_place, grows + 1);
    ca_free(a, q);

    /* a move honours the new alignment */
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 11);
    for (size_t i = 3; i < RN; i++)
        ca_free(a, chunk(&t, i)); /* chunk 2 blocks growth; chunk 0 stays */
    q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q != NULL && (uintptr_t)q % 4096 == 0, "aligned_realloc(4096) moved to %p",
                  (void *)q);
    expect_pattern(q, RCS, 11, "aligned realloc move");

    /* p not aligned as asked, though it could grow in place: the result is aligned */
    ca_free(a, chunk(&t, 2));
    unsigned char *held[4], *r = ca_alloc(a, RCS);
    size_t nheld = 0;
    while (r && (uintptr_t)r % 1024 == 0 && nheld < 4) { /* want r not 1024-aligned */
        held[nheld++] = r;
        r = ca_alloc(a, RCS);
    }
    for (size_t i = 0; i < nheld; i++)
        ca_free(a, held[i]);
    ck_assert_msg(r != NULL && (uintptr_t)r % 1024 != 0, "no block that is not 1024-aligned");
    fill_pattern(r, RCS, 12);
    unsigned char *s = ca_aligned_realloc(a, r, 1024, 2 * RCS);
    ck_assert_msg(s != NULL && (uintptr_t)s % 1024 == 0,
                  "aligned_realloc(1024) of a block at %p returned %p", (void *)r, (void *)s);
    expect_pattern(s, RCS, 12, "aligned realloc of a misaligned block");
    expect_healthy(a, "aligned realloc");
    tarena_drop(&t);
}
END_TEST

/* A block that ca_aligned_realloc grew in place was asked to be aligned:
 * a later move by ca_realloc must keep that alignment, as it does for a
 * block from ca_aligned_alloc or one that ca_aligned_realloc moved. */
START_TEST(aligned_realloc_in_place_is_remembered)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, CA_LOCK_MUTEX);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){16, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert_msg(p == chunk(&t, 16), "the only free chunk is 16 (4096-aligned)");
    ca_free(a, chunk(&t, 17));
    unsigned char *q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q == p, "aligned_realloc(4096) of a 4096-aligned block with room after it moved");
    fill_pattern(q, 2 * RCS, 15);
    for (size_t i = 0; i < RN; i++)
        if (i != 0 && i != 16 && i != 17 && i != 18 && i != 32)
            ca_free(a, chunk(&t, i)); /* chunk 18 blocks growth; 48 is the aligned room */
    unsigned char *r = ca_realloc(a, q, 3 * RCS);
    ck_assert_msg(r != NULL, "realloc: %s", strerror(errno));
    size_t ir = index_of(&t, r);
    expect_pattern(r, 2 * RCS, 15, "moved after an aligned realloc");
    ca_free(a, r);
    ca_free(a, chunk(&t, 0));
    ca_free(a, chunk(&t, 18));
    ca_free(a, chunk(&t, 32));
    tarena_drop(&t);
    ck_assert_msg((uintptr_t)r % 4096 == 0,
                  "the block was asked to be 4096-aligned by ca_aligned_realloc (which grew it in "
                  "place); ca_realloc then moved it to chunk %zu, not 4096-aligned (chunk 48 was "
                  "free)",
                  ir);
}
END_TEST

START_TEST(resize_in_place_only)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS); /* it fills all RCS bytes */
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 13);
    ca_free(a, chunk(&t, 2));
    ca_free(a, chunk(&t, 3));
    ca_stats s0 = stats_of(a);
    ck_assert_msg(ca_resize(a, p, 3 * RCS) == 0, "resize into free chunks 2, 3: %s", strerror(errno));
    ck_assert_uint_eq(ca_usable_size(a, p), 3 * RCS);
    ck_assert_uint_eq(stats_of(a).grows_in_place, s0.grows_in_place + 1);
    ca_stats s1 = stats_of(a);
    const size_t too_big[] = {4 * RCS, 3 * RCS + 1, RN * RCS, SIZE_MAX};
    for (size_t i = 0; i < 4; i++) {
        errno = 0;
        ck_assert_msg(ca_resize(a, p, too_big[i]) == -1 && errno == ENOMEM,
                      "resize to %zu with chunk 4 taken: errno %d", too_big[i], errno);
        ck_assert_uint_eq(ca_usable_size(a, p), 3 * RCS);
    }
    expect_unchanged(a, &s1, "refused resizes");
    ck_assert_msg(ca_resize(a, p, RCS) == 0, "shrink");
    ck_assert_uint_eq(ca_usable_size(a, p), RCS);
    ck_assert_uint_eq(stats_of(a).shrinks_in_place, s1.shrinks_in_place + 1);
    expect_pattern(p, RCS, 13, "after resizes"); /* kept while RCS bytes were asked */
    ck_assert_msg(ca_resize(a, p, 0) == 0, "resize to 0");
    ck_assert_uint_eq(ca_usable_size(a, p), RCS);
    ck_assert_msg(ca_resize(a, p, 2 * RCS) == 0, "grow again into chunk 2");
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p after resizes");
    expect_healthy(a, "resize");
    tarena_drop(&t);
}
END_TEST


void api_add_realloc(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "realloc");
    tcase_add_loop_test(tc, realloc_null_allocates, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_grows_in_place, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_moves_when_blocked, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_shrinks_in_place, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_zero_keeps_one_chunk, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_keeps_original_alignment, 0, NLAYERS);
    tcase_add_test(tc, realloc_move_needs_only_the_asked_alignment);
    tcase_add_loop_test(tc, realloc_failure_leaves_p, 0, NLAYERS);
    tcase_add_loop_test(tc, aligned_realloc_rules, 0, NLAYERS);
    tcase_add_test(tc, aligned_realloc_in_place_is_remembered);
    tcase_add_loop_test(tc, resize_in_place_only, 0, NLAYERS);
}
