/* SPDX-License-Identifier: MIT */
/*
 * tests/core/alloc.c — suite "core", the allocation semantics: size 0,
 * rounding, alignment below and above the chunk size, huge sizes and
 * alignments, a full arena, next fit and the best-fit window. Single threaded.
 */
#include "tests/core/common.h"

/* ================================================================ alloc */

START_TEST(alloc_size_zero_is_unique)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    void *p[8];
    for (size_t i = 0; i < 8; i++) {
        p[i] = ca_test_alloc(&t, 0, 0);
        ck_assert_msg(usable_of(&t, p[i]) == t.chunk_size, "size 0: usable %zu, not one chunk",
                      usable_of(&t, p[i]));
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(p[i] != p[j], "size-0 allocations %zu and %zu share chunk %zu", i, j,
                          ca_test_chunk_of(&t, p[i]));
    }
    ca_test_counts want = {8, 8, 0, 0, 0, 0};
    expect_counts(&t, &want, "8 size-0 allocations");
    for (size_t i = 0; i < 8; i++)
        ca_test_free(&t, p[i]);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_rounds_up_to_chunks)
{
    static const unsigned shifts[] = {4, 8, 12};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        ca_test_core t;
        setup(&t, 256, shifts[i], 4);
        size_t cs = t.chunk_size;
        const size_t sizes[] = {1, 2, cs - 1, cs, cs + 1, 2 * cs, 3 * cs - 1, 3 * cs + 1, 10 * cs};
        size_t at = 0;
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            void *p = ca_test_alloc(&t, sizes[j], 0);
            size_t n = chunks_for(&t, sizes[j]);
            ck_assert_msg(usable_of(&t, p) == n * cs, "size %zu, chunk %zu: usable %zu, not %zu",
                          sizes[j], cs, usable_of(&t, p), n * cs);
            /* Exactly n chunks were taken: the allocations are back to back. */
            ck_assert_msg(p == chunk_ptr(&t, at), "size %zu: at chunk %zu, not %zu", sizes[j],
                          ca_test_chunk_of(&t, p), at);
            at += n;
        }
        ca_test_core_fini(&t);
    }
}
END_TEST

START_TEST(alloc_small_alignment_is_free)
{
    ca_test_core t;
    setup(&t, 64, 8, 4);
    size_t at = 0;
    for (size_t align = 1; align <= t.chunk_size; align *= 2) {
        void *p = ca_test_alloc(&t, 1, align);
        ck_assert_msg(p == chunk_ptr(&t, at), "align %zu: chunk %zu, not %zu (a chunk wasted)",
                      align, ca_test_chunk_of(&t, p), at);
        ck_assert_msg((uintptr_t)p % align == 0, "align %zu: %p", align, p);
        at++;
    }
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_large_alignment_is_honoured)
{
    ca_test_core t;
    setup(&t, 1024, 4, 4);
    size_t cs = t.chunk_size;
    for (size_t align = 2 * cs; align <= 256 * cs; align *= 2) {
        for (size_t size = 0; size <= 3 * cs; size += cs) {
            void *p = ca_test_alloc(&t, size, align);
            ck_assert_msg((uintptr_t)p % align == 0, "size %zu align %zu: %p is not aligned",
                          size, align, p);
            ca_test_free(&t, p);
        }
    }
    /* The chunks skipped to reach an aligned one stay free: the base is
     * aligned to the chunk size only, so chunk 0 is not 2-chunk aligned. */
    t.ctx.cursor = 0;
    void *a = ca_test_alloc(&t, cs, 4 * cs);
    size_t s = ca_test_chunk_of(&t, a);
    ck_assert_msg(s > 0 && s < 4, "4-chunk alignment over a chunk-aligned base: chunk %zu", s);
    t.ctx.cursor = 0;
    void *b = ca_test_alloc(&t, cs, 0);
    ck_assert_msg(b == t.region, "the chunks before an aligned allocation were not left free");
    ca_test_core_fini(&t);

    /* A base aligned to exactly 4096: alignment 4096 is chunk 0, 8192 is
     * the chunk 4096 bytes further. */
    ca_test_core_init(&t, 1024, 4, 4096, 4);
    void *c = ca_test_alloc(&t, 0, 4096);
    ck_assert_msg(c == t.region, "align 4096 over a 4096-aligned base: chunk %zu",
                  ca_test_chunk_of(&t, c));
    void *d = ca_test_alloc(&t, 0, 8192);
    ck_assert_msg(d == t.region + 4096, "align 8192 over a base aligned to 4096 only: chunk %zu",
                  ca_test_chunk_of(&t, d));
    ca_test_core_fini(&t);
}
END_TEST

/* ca_core_align_of: an allocation made with an alignment above the chunk
 * size keeps at least that alignment; any other needs the chunk size only,
 * even when it happens to sit on a large boundary, and even where an
 * over-aligned allocation was freed before. */
START_TEST(alloc_align_of_remembers_over_alignment)
{
    ca_test_core t;
    ca_test_core_init(&t, 1024, 4, 4096, 4); /* base aligned to exactly 4096 */
    size_t cs = t.chunk_size, align;

    void *plain = ca_test_alloc(&t, cs, 0); /* chunk 0: on a 4096 boundary */
    ck_assert_msg(ca_core_align_of(&t.core, plain, &align, false) == CA_CORE_OK,
                  "align_of refused a live allocation");
    ck_assert_msg(align == cs, "a plain allocation on a 4096 boundary must keep %zu, not %zu", cs,
                  align);
    ca_test_free(&t, plain);

    void *over = ca_test_alloc(&t, cs, 1024);
    ck_assert_msg(ca_core_align_of(&t.core, over, &align, false) == CA_CORE_OK && align == 1024,
                  "an allocation aligned to 1024 must keep exactly 1024, got %zu", align);
    ca_test_core_check(&t); /* the mark is checked too */
    size_t s = ca_test_chunk_of(&t, over);
    ca_test_free(&t, over);
    ca_test_core_check(&t);

    /* A plain allocation where the over-aligned one was: the mark is gone. */
    t.ctx.cursor = s;
    void *again = ca_test_alloc(&t, cs, 0);
    ck_assert_msg(again == over, "expected the freed chunk %zu again", s);
    ck_assert_msg(ca_core_align_of(&t.core, again, &align, true) == CA_CORE_OK && align == cs,
                  "the mark of a freed over-aligned allocation stayed: %zu", align);
    ck_assert_msg(ca_core_align_of(&t.core, (char *)again + 1, &align, false) == CA_CORE_INTERIOR,
                  "align_of of an interior pointer must be a fault");
    ca_test_free(&t, again);
    ck_assert_msg(ca_core_align_of(&t.core, again, &align, false) == CA_CORE_NOTALLOC,
                  "align_of of a freed pointer must be a fault");
    ca_test_core_fini(&t);
}
END_TEST

/* ca_core_alloc with room: the allocation goes where `room` more bytes are free
 * after it, takes only its own chunks, and next fit passes over the room;
 * where no run has the room it goes where it fits alone, and that is not a
 * failure. */
START_TEST(alloc_room_is_left_free)
{
    ca_test_core t;
    setup(&t, 256, 4, 4);
    size_t cs = t.chunk_size;
    ca_core_status st;

    /* A hole of 3 chunks at 0 (too small for 2 + 4), the rest free. */
    void *wall = ca_test_alloc(&t, 3 * cs, 0);
    ca_test_alloc(&t, cs, 0); /* chunk 3 stays taken */
    ca_test_free(&t, wall);
    t.ctx.cursor = 0;
    void *p = ca_core_alloc(&t.core, &t.ctx, 2 * cs, 0, 4 * cs, false, &st);
    ca_test_core_check(&t);
    size_t s = ca_test_chunk_of(&t, p);
    ck_assert_msg(st == CA_CORE_OK && s >= 4, "with room: chunk %zu (the 3-chunk hole is too small)",
                  s);
    size_t bytes;
    ck_assert_msg(ca_core_usable(&t.core, p, &bytes, false) == CA_CORE_OK && bytes == 2 * cs,
                  "the room was taken: %zu bytes usable", bytes);
    ck_assert_msg(t.ctx.cursor == s + 6, "the hint is at %zu, not past the room (%zu)", t.ctx.cursor,
                  s + 6);
    /* The next allocation lands past the room, so the block can grow in place. */
    void *next = ca_test_alloc(&t, cs, 0);
    ck_assert_msg(ca_test_chunk_of(&t, next) >= s + 6, "next fit took the room");
    ck_assert_msg(ca_core_resize(&t.core, &t.ctx, p, 6 * cs, false) == CA_CORE_OK,
                  "growth into the room failed");
    ca_test_core_check(&t);

    /* No run with room anywhere: the allocation alone, and no failure. */
    size_t failures = atomic_load_explicit(&t.ctx.tally.failures, memory_order_relaxed);
    void *q = ca_core_alloc(&t.core, &t.ctx, cs, 0, 1024 * cs, false, &st);
    ck_assert_msg(st == CA_CORE_OK && q != NULL, "without room to spare the allocation failed");
    ck_assert_msg(atomic_load_explicit(&t.ctx.tally.failures, memory_order_relaxed) == failures,
                  "the attempt with room counted as a failure");
    ca_test_core_check(&t);
    ca_test_core_fini(&t);
}
END_TEST

/* The context's runs_examined: the free runs a search measured. Word 1
 * holds holes of one chunk at 33, 35 and 37 and a free run from 40; a
 * request of two chunks walks the three holes and takes the fourth run,
 * whether it starts in word 1 or the fit index sends it there from a full
 * word 0; a request the chunks at the cursor serve measures nothing, and
 * neither does one the known longest run rules out. */
static size_t runs_examined(const ca_test_core *t)
{
    return atomic_load_explicit(&t->ctx.tally.runs_examined, memory_order_relaxed);
}

START_TEST(alloc_counts_runs_examined)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    void *p[64];
    for (size_t i = 0; i < 64; i++) {
        p[i] = ca_test_alloc(&t, cs, 0);
        ck_assert_uint_eq(ca_test_chunk_of(&t, p[i]), i);
    }
    ck_assert_msg(runs_examined(&t) == 0, "filling from the cursor measured %zu runs",
                  runs_examined(&t));
    ca_test_free(&t, p[33]);
    ca_test_free(&t, p[35]);
    ca_test_free(&t, p[37]);
    for (size_t i = 40; i < 64; i++)
        ca_test_free(&t, p[i]);

    static const size_t cursors[] = {32, 0};
    for (size_t k = 0; k < 2; k++) {
        t.ctx.cursor = cursors[k];
        size_t before = runs_examined(&t);
        void *q = ca_test_alloc(&t, 2 * cs, 0);
        ck_assert_uint_eq(ca_test_chunk_of(&t, q), 40);
        ck_assert_msg(runs_examined(&t) - before == 4,
                      "from chunk %zu: %zu runs measured, expected 4 (three holes and the fit)",
                      cursors[k], runs_examined(&t) - before);
        ca_test_free(&t, q);
    }

    t.ctx.cursor = 33; /* a one-chunk hole: the fast path takes it */
    size_t before = runs_examined(&t);
    void *one = ca_test_alloc(&t, cs, 0);
    ck_assert_uint_eq(ca_test_chunk_of(&t, one), 33);
    ck_assert_msg(runs_examined(&t) == before, "the allocation at the cursor measured %zu runs",
                  runs_examined(&t) - before);

    ca_test_alloc_nomem(&t, 30 * cs, 0); /* may search, and then knows the longest */
    before = runs_examined(&t);
    ca_test_alloc_nomem(&t, 30 * cs, 0);
    ck_assert_msg(runs_examined(&t) == before,
                  "a request longer than the known longest run measured %zu runs",
                  runs_examined(&t) - before);
    ca_test_core_check(&t);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_bad_alignment)
{
    ca_test_core t;
    setup(&t, 64, 6, 4);
    void *keep = ca_test_alloc(&t, 100, 0);
    const size_t aligns[] = {3, 5, 6, 12, 65, 3 * 64, SIZE_MAX, ((size_t)1 << 63) + 1};
    ca_test_snapshot s = {0};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        ca_test_snapshot_take(&s, &t);
        ca_core_status st = CA_CORE_OK;
        void *p = ca_core_alloc(&t.core, &t.ctx, 64, aligns[i], 0, false, &st);
        ck_assert_msg(p == NULL && st == CA_CORE_BADALIGN, "align %zu: %p, status %d", aligns[i],
                      p, (int)st);
        expect_unchanged(&s, &t, "an allocation with a bad alignment");
        ca_test_core_check(&t);
    }
    ca_test_snapshot_fini(&s);
    ca_test_free(&t, keep);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_huge_sizes)
{
    ca_test_core t;
    setup(&t, 100, 4, 4);
    size_t cs = t.chunk_size;
    void *keep = ca_test_alloc(&t, 3 * cs, 0);
    const size_t sizes[] = {SIZE_MAX,       SIZE_MAX - 1,        SIZE_MAX - cs + 2,
                            SIZE_MAX / 2,   SIZE_MAX / 2 + 1,    (size_t)1 << 63,
                            100 * cs + 1,   97 * cs + 1,         (SIZE_MAX >> 4) << 4};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        expect_nomem_unchanged(&t, sizes[i], 0);
        expect_nomem_unchanged(&t, sizes[i], 2 * cs);
    }
    /* What is left still fits exactly. */
    void *rest = ca_test_alloc(&t, 97 * cs, 0);
    ca_test_free(&t, rest);
    ca_test_free(&t, keep);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_huge_alignments)
{
    ca_test_core t;
    setup(&t, 100, 4, 4);
    const size_t aligns[] = {(size_t)1 << 62, (size_t)1 << 63, (size_t)1 << 40, (size_t)1 << 32};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++)
        for (size_t size = 0; size <= 32; size += 16) {
            ca_core_status st = CA_CORE_OK;
            void *p = ca_core_alloc(&t.core, &t.ctx, size, aligns[i], 0, false, &st);
            ca_test_core_check(&t);
            if (p == NULL) {
                ck_assert_msg(st == CA_CORE_NOMEM, "align %#zx: status %d", aligns[i], (int)st);
            } else {
                ck_assert_msg(st == CA_CORE_OK && (uintptr_t)p % aligns[i] == 0,
                              "align %#zx: a wrongly aligned pointer %p", aligns[i], p);
                ca_test_free(&t, p);
            }
        }
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(alloc_full_arena)
{
    ca_test_core t;
    setup(&t, 100, 4, 4);
    void *p[100];
    for (size_t i = 0; i < 100; i++)
        p[i] = ca_test_alloc(&t, 1, 0);
    expect_nomem_unchanged(&t, 1, 0);
    expect_nomem_unchanged(&t, 0, 0);
    ca_test_counts want = {100, 100, 100, 2, 0, 0};
    expect_counts(&t, &want, "a full arena and two failures");
    ca_test_free(&t, p[37]);
    void *again = ca_test_alloc(&t, 1, 0);
    ck_assert_msg(again == p[37], "the freed chunk 37 was not handed out again: chunk %zu",
                  ca_test_chunk_of(&t, again));
    want.bytes_requested++;
    expect_counts(&t, &want, "after a free and a new allocation");
    for (size_t i = 0; i < 100; i++)
        ca_test_free(&t, p[i]);
    expect_empty(&t, "everything freed");
    ca_test_core_fini(&t);
}
END_TEST

static void next_fit_with(unsigned window)
{
    ca_test_core t;
    setup(&t, 16, 4, window);
    size_t cs = t.chunk_size;
    void *a = ca_test_alloc(&t, 4 * cs, 0), *b = ca_test_alloc(&t, 4 * cs, 0);
    void *c = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(a == t.region && b == chunk_ptr(&t, 4) && c == chunk_ptr(&t, 8),
                  "window %u: consecutive allocations at chunks %zu %zu %zu", window,
                  ca_test_chunk_of(&t, a), ca_test_chunk_of(&t, b), ca_test_chunk_of(&t, c));
    ck_assert_msg(t.ctx.cursor == 12, "window %u: hint %zu after chunks 8..11", window, t.ctx.cursor);
    /* Next fit: the hole at 0 is behind the hint, the run at 12 ahead. */
    ca_test_free(&t, a);
    void *d = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(d == chunk_ptr(&t, 12), "window %u: after a hole, chunk %zu, not 12", window,
                  ca_test_chunk_of(&t, d));
    /* Nothing ahead any more: the search wraps round to the hole. */
    void *e = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(e == t.region, "window %u: wrapping, chunk %zu, not 0", window,
                  ca_test_chunk_of(&t, e));
    ca_test_free(&t, b);
    ca_test_free(&t, d);
    /* The hint is advisory: out of range, it is clamped. */
    t.ctx.cursor = SIZE_MAX;
    void *f = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(f == chunk_ptr(&t, 4), "window %u: hint SIZE_MAX, chunk %zu, not 4", window,
                  ca_test_chunk_of(&t, f));
    ca_test_core_fini(&t);
}

START_TEST(alloc_next_fit)
{
    next_fit_with(1);
    next_fit_with(4);
}
END_TEST

/* Carve `lens` (a run is a hole when holes has its bit), then allocate
 * `want` chunks from hint 0 with the given window: expect chunk `at`. */
static void best_fit_case(const char *what, unsigned window, const size_t *lens, size_t count,
                          unsigned holes, size_t want, size_t hint, size_t at)
{
    ca_test_core t;
    setup(&t, 64, 4, window);
    void *runs[16];
    ca_test_core_carve(&t, lens, count, runs);
    for (size_t i = 0; i < count; i++)
        if (holes & (1u << i))
            ca_test_free(&t, runs[i]);
    t.ctx.cursor = hint;
    void *p = ca_test_alloc(&t, want * t.chunk_size, 0);
    ck_assert_msg(p == chunk_ptr(&t, at), "%s, window %u: %zu chunks went to chunk %zu, not %zu",
                  what, window, want, ca_test_chunk_of(&t, p), at);
    ca_test_core_fini(&t);
}

START_TEST(alloc_best_fit_window)
{
    /* Chunks: A 0, hole 1..3, B 4, hole 5..7, C 8, hole 9..10, D 11, free
     * 12..63 (roomy). Two chunks wanted: the holes of 3 are tight fits
     * (fewer than 2 spare chunks), the hole of 2 an exact fit. */
    const size_t three_holes[] = {1, 3, 1, 3, 1, 2, 1};
    unsigned holes = 1u << 1 | 1u << 3 | 1u << 5;
    best_fit_case("first fit", 1, three_holes, 7, holes, 2, 0, 1);
    best_fit_case("two tight fits compared, equal waste", 2, three_holes, 7, holes, 2, 0, 1);
    best_fit_case("the exact fit within the window", 3, three_holes, 7, holes, 2, 0, 9);
    best_fit_case("the exact fit within the window", 4, three_holes, 7, holes, 2, 0, 9);
    /* The search starts at the hint: from 12, the roomy run comes first. */
    best_fit_case("a roomy run at the hint", 4, three_holes, 7, holes, 2, 12, 12);

    /* A tight hole before a roomy run: the roomy run ends the search, and
     * the tight hole, seen first, wins. */
    const size_t one_hole[] = {1, 3, 1};
    best_fit_case("a tight hole, then a roomy run", 4, one_hole, 3, 1u << 1, 2, 0, 1);

    /* A roomy hole first ends the search at once, though an exact fit
     * follows. */
    const size_t roomy_first[] = {1, 5, 1, 2, 1};
    best_fit_case("a roomy hole before an exact fit", 4, roomy_first, 5, 1u << 1 | 1u << 3, 2, 0,
                  1);

    /* A tighter hole after a looser tight one: window 1 takes the first,
     * window 2 compares and takes the tighter. Holes of 5 and 4 for 3 chunks. */
    const size_t tighter[] = {1, 5, 1, 4, 1};
    best_fit_case("first of two tight holes", 1, tighter, 5, 1u << 1 | 1u << 3, 3, 0, 1);
    best_fit_case("tighter of two tight holes", 2, tighter, 5, 1u << 1 | 1u << 3, 3, 0, 7);
}
END_TEST

void core_add_alloc(Suite *s)
{
    TCase *tc;
    tc = core_tcase(s, "alloc");
    tcase_add_test(tc, alloc_size_zero_is_unique);
    tcase_add_test(tc, alloc_rounds_up_to_chunks);
    tcase_add_test(tc, alloc_small_alignment_is_free);
    tcase_add_test(tc, alloc_large_alignment_is_honoured);
    tcase_add_test(tc, alloc_bad_alignment);
    tcase_add_test(tc, alloc_huge_sizes);
    tcase_add_test(tc, alloc_huge_alignments);
    tcase_add_test(tc, alloc_full_arena);
    tcase_add_test(tc, alloc_next_fit);
    tcase_add_test(tc, alloc_best_fit_window);
    tcase_add_test(tc, alloc_align_of_remembers_over_alignment);
    tcase_add_test(tc, alloc_room_is_left_free);
    tcase_add_test(tc, alloc_counts_runs_examined);
}
