/* SPDX-License-Identifier: MIT */
/*
 * tests/core/free.c — suite "core", free and resize of good and bad pointers,
 * where every fault must leave map, summaries, bound and counters exactly as
 * they were. Single threaded.
 */
#include "tests/core/common.h"

/* ================================================================ free */

enum pointer_op { OP_FREE, OP_GROW, OP_SHRINK, OP_USABLE, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"free", "resize up", "resize to 0", "usable"};

static ca_core_status run_op(ca_test_core *t, enum pointer_op op, void *p)
{
    size_t bytes = 0;
    switch (op) {
    case OP_FREE:
        return ca_core_free(&t->core, &t->ctx, p, false);
    case OP_GROW:
        return ca_core_resize(&t->core, &t->ctx, p, 8 * t->chunk_size, false);
    case OP_SHRINK:
        return ca_core_resize(&t->core, &t->ctx, p, 0, false);
    case OP_USABLE:
    case OP_COUNT:
        break;
    }
    return ca_core_usable(&t->core, p, &bytes, false);
}

/* Every pointer operation on p must report `want` and change nothing. */
static void expect_fault(ca_test_core *t, void *p, ca_core_status want, const char *what)
{
    ca_test_snapshot s = {0};
    for (int op = 0; op < OP_COUNT; op++) {
        ca_test_snapshot_take(&s, t);
        ca_core_status st = run_op(t, (enum pointer_op)op, p);
        ck_assert_msg(st == want, "%s of %s: status %d, expected %d", op_names[op], what, (int)st,
                      (int)want);
        const char *why = ca_test_snapshot_diff(&s, t);
        ck_assert_msg(why == NULL, "%s of %s changed the core: %s", op_names[op], what,
                      why ? why : "");
        ca_test_core_check(t);
    }
    ca_test_snapshot_fini(&s);
}

START_TEST(free_valid)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    void *p = ca_test_alloc(&t, 5 * t.chunk_size, 0);
    ck_assert_msg(ca_core_free(&t.core, &t.ctx, p, false) == CA_CORE_OK, "free of a valid block");
    ca_test_core_check(&t);
    expect_empty(&t, "after the only allocation was freed");
    ca_test_counts want = {0, 0, 5 * t.chunk_size, 0, 0, 0};
    expect_counts(&t, &want, "after alloc and free");
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(free_faults)
{
    /* A: chunks 0..2, B: 3 (freed), C: 4..7, 8..29 freed, D: 30..33
     * across a map word boundary, the rest free. */
    ca_test_core t;
    setup(&t, 64, 6, 4);
    size_t cs = t.chunk_size;
    const size_t lens[] = {3, 1, 4, 22, 4};
    void *r[5];
    ca_test_core_carve(&t, lens, 5, r);
    ca_test_free(&t, r[1]);
    ca_test_free(&t, r[3]);
    unsigned char *a = r[0], *c = r[2], *d = r[4];
    uintptr_t lo = (uintptr_t)t.region, hi = lo + t.nchunks * cs;

    void *gone = ca_test_alloc(&t, 2 * cs, 0);
    ca_test_free(&t, gone);
    expect_fault(&t, gone, CA_CORE_NOTALLOC, "a block already freed (double free)");
    expect_fault(&t, r[1], CA_CORE_NOTALLOC, "a freed one-chunk block");
    expect_fault(&t, chunk_ptr(&t, 12), CA_CORE_NOTALLOC, "a chunk of a freed block");
    expect_fault(&t, chunk_ptr(&t, 50), CA_CORE_NOTALLOC, "a chunk never allocated");
    expect_fault(&t, chunk_ptr(&t, 3) + 7, CA_CORE_NOTALLOC, "the middle of a free chunk");

    expect_fault(&t, NULL, CA_CORE_FOREIGN, "NULL");
    expect_fault(&t, addr(lo - 1), CA_CORE_FOREIGN, "the byte before the region");
    expect_fault(&t, addr(lo - cs), CA_CORE_FOREIGN, "the chunk before the region");
    expect_fault(&t, addr(hi), CA_CORE_FOREIGN, "the first byte after the region");
    expect_fault(&t, addr(hi + 5 * cs), CA_CORE_FOREIGN, "a chunk after the region");
    int on_stack = 0;
    expect_fault(&t, &on_stack, CA_CORE_FOREIGN, "a stack address");

    expect_fault(&t, a + cs, CA_CORE_INTERIOR, "the second chunk of A");
    expect_fault(&t, a + 2 * cs, CA_CORE_INTERIOR, "the last chunk of A");
    expect_fault(&t, a + 1, CA_CORE_INTERIOR, "A + 1 byte");
    expect_fault(&t, a + cs - 1, CA_CORE_INTERIOR, "the last byte of A's first chunk");
    expect_fault(&t, c + 3 * cs + 5, CA_CORE_INTERIOR, "inside C's last chunk");
    expect_fault(&t, d + 2 * cs, CA_CORE_INTERIOR, "D's chunk 32, across the word boundary");
    expect_fault(&t, d + cs + 8, CA_CORE_INTERIOR, "inside D's chunk 31");

    /* The blocks themselves are still good. */
    ca_test_free(&t, a);
    ca_test_free(&t, c);
    ca_test_free(&t, d);
    expect_empty(&t, "everything freed after the faults");
    ca_test_core_fini(&t);
}
END_TEST

/* ================================================================ resize */

static void resize_refused(ca_test_core *t, void *p, size_t size, const char *what)
{
    ca_test_snapshot s = {0};
    ca_test_snapshot_take(&s, t);
    ca_core_status st = ca_core_resize(&t->core, &t->ctx, p, size, false);
    ck_assert_msg(st == CA_CORE_NOMEM, "%s: status %d, expected NOMEM", what, (int)st);
    expect_unchanged(&s, t, what);
    ca_test_snapshot_fini(&s);
    ca_test_core_check(t);
}

START_TEST(resize_grows_in_place)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    void *p = ca_test_alloc(&t, 2 * cs, 0);
    resize_ok(&t, p, 5 * cs - 3);
    ca_test_counts want = {5, 1, 2 * cs, 0, 1, 0};
    expect_counts(&t, &want, "after growing 2 -> 5 chunks");
    /* Chunks 2..4 are really taken: the next allocation comes after them. */
    void *q = ca_test_alloc(&t, 1, 0);
    ck_assert_msg(q == chunk_ptr(&t, 5), "after growth to 5 chunks, next at chunk %zu",
                  ca_test_chunk_of(&t, q));
    ca_test_free(&t, q);
    /* Across a map word boundary, up to the very end of the region. */
    resize_ok(&t, p, 40 * cs);
    resize_ok(&t, p, 64 * cs);
    want.chunks = 64;
    want.grows_in_place = 3;
    want.bytes_requested += 1;
    expect_counts(&t, &want, "after growing to the whole region");
    ca_test_free(&t, p);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(resize_grow_blocked)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    /* A: 0..1, free 2..3, B: 4, free 5..59, C: 60..63. */
    const size_t lens[] = {2, 2, 1, 55, 4};
    void *r[5];
    ca_test_core_carve(&t, lens, 5, r);
    ca_test_free(&t, r[1]);
    ca_test_free(&t, r[3]);
    resize_refused(&t, r[0], 5 * cs, "growing A into B");
    resize_refused(&t, r[0], SIZE_MAX, "growing A to SIZE_MAX");
    resize_refused(&t, r[2], 57 * cs, "growing B into C");
    resize_refused(&t, r[4], 5 * cs, "growing C past the end of the region");
    resize_refused(&t, r[4], SIZE_MAX / 2, "growing C to SIZE_MAX / 2");
    resize_ok(&t, r[0], 4 * cs); /* exactly the free chunks up to B */
    resize_ok(&t, r[2], 56 * cs); /* exactly up to C */
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(resize_shrink_gives_the_tail_back)
{
    /* The original Rust crate's realloc leaked the tail when it shrank:
     * here the tail must be free and allocatable again. */
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    const size_t lens[] = {5, 1, 40, 1};
    void *r[4];
    ca_test_core_carve(&t, lens, 4, r);
    resize_ok(&t, r[0], 2 * cs);
    ca_test_counts want = {2 + 1 + 40 + 1, 4, 47 * cs, 0, 0, 1};
    expect_counts(&t, &want, "after shrinking 5 -> 2 chunks");
    t.ctx.cursor = 0;
    void *tail = ca_test_alloc(&t, 3 * cs, 0);
    ck_assert_msg(tail == chunk_ptr(&t, 2), "the freed tail (chunks 2..4) was not reused: %zu",
                  ca_test_chunk_of(&t, tail));
    /* Across a word boundary: 40 chunks at 6 shrink to 10; 16..45 return. */
    resize_ok(&t, r[2], 10 * cs);
    t.ctx.cursor = 0;
    void *big = ca_test_alloc(&t, 30 * cs, 0);
    ck_assert_msg(big == chunk_ptr(&t, 16), "the freed tail 16..45 was not reused: chunk %zu",
                  ca_test_chunk_of(&t, big));
    /* Down to size 0: one chunk. */
    resize_ok(&t, big, 0);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(resize_same_chunk_count)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    void *p = ca_test_alloc(&t, 3 * cs, 0);
    const size_t sizes[] = {3 * cs, 3 * cs - 1, 2 * cs + 1};
    ca_test_snapshot s = {0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ca_test_snapshot_take(&s, &t);
        ca_core_status st = ca_core_resize(&t.core, &t.ctx, p, sizes[i], false);
        ck_assert_msg(st == CA_CORE_OK, "resize of 3 chunks to %zu bytes: status %d", sizes[i],
                      (int)st);
        expect_unchanged(&s, &t, "a resize to the same chunk count");
        ca_test_core_check(&t);
    }
    ca_test_snapshot_fini(&s);
    ca_test_core_fini(&t);
}
END_TEST

void core_add_free(Suite *s)
{
    TCase *tc;
    tc = core_tcase(s, "free");
    tcase_add_test(tc, free_valid);
    tcase_add_test(tc, free_faults);
    tc = core_tcase(s, "resize");
    tcase_add_test(tc, resize_grows_in_place);
    tcase_add_test(tc, resize_grow_blocked);
    tcase_add_test(tc, resize_shrink_gives_the_tail_back);
    tcase_add_test(tc, resize_same_chunk_count);
}
