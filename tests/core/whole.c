/* SPDX-License-Identifier: MIT */
/*
 * tests/core/whole.c — suite "core", the counters and their sum; reset, owns
 * and scan; the O(1) failure path, whose bound must rise again when frees make
 * room; that the invariant check really detects a corrupted map; and that
 * shared mode used by one thread is bit-for-bit exclusive mode. Single
 * threaded.
 */
#include "tests/core/common.h"

/* ================================================================ counters */

START_TEST(counters_follow_operations)
{
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    void *a = ca_test_alloc(&t, 10, 0);
    ca_test_counts want = {1, 1, 10, 0, 0, 0};
    expect_counts(&t, &want, "alloc 10 bytes");
    void *b = ca_test_alloc(&t, 3 * cs + 1, 0);
    want.chunks += 4, want.allocs++, want.bytes_requested += 3 * cs + 1;
    expect_counts(&t, &want, "alloc 3 chunks + 1 byte");
    void *c = ca_test_alloc(&t, 0, 0);
    want.chunks++, want.allocs++;
    expect_counts(&t, &want, "alloc 0 bytes");
    ca_test_free(&t, a);
    want.chunks--, want.allocs--;
    expect_counts(&t, &want, "free of a one-chunk block");
    resize_ok(&t, c, 6 * cs);
    want.chunks += 5, want.grows_in_place++;
    expect_counts(&t, &want, "grow 1 -> 6 chunks");
    resize_ok(&t, b, cs);
    want.chunks -= 3, want.shrinks_in_place++;
    expect_counts(&t, &want, "shrink 4 -> 1 chunk");
    expect_nomem_unchanged(&t, 65 * cs, 0);
    want.failures++;
    expect_counts(&t, &want, "a failed allocation");
    ca_test_free(&t, b);
    ca_test_free(&t, c);
    want.chunks -= 7, want.allocs -= 2;
    expect_counts(&t, &want, "everything freed");
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(counters_sum_over_contexts)
{
    /* Blocks allocated through one context and freed through another: each
     * context holds a delta, only their sum is the arena's figure. */
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    ca_core_ctx other;
    memset(&other, 0, sizeof other);
    void *p[3];
    for (size_t i = 0; i < 3; i++)
        p[i] = ca_test_alloc(&t, (i + 1) * cs, 0);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(ca_core_free(&t.core, &other, p[i], false) == CA_CORE_OK,
                      "free through another context");
    ca_core_status st = CA_CORE_OK;
    ck_assert_msg(ca_core_alloc(&t.core, &other, 100 * cs, 0, 0, false, &st) == NULL,
                  "an impossible allocation succeeded");
    ck_assert_msg(ca_core_resize(&t.core, &other, p[2], 4 * cs, false) == CA_CORE_OK,
                  "grow through another context");

    const ca_core_tally *both[] = {&t.ctx.tally, &other.tally};
    ca_core_tally sum;
    ca_core_tally_sum(both, 2, &sum);
    ca_test_counts got, want = {4, 1, 6 * cs, 1, 1, 0};
    ca_test_counts_of(&sum, &got);
    const char *field = ca_test_counts_diff(&want, &got);
    ck_assert_msg(field == NULL, "sum of two tallies: counter '%s' is wrong", field ? field : "");
    const char *why = ca_core_check(&t.core, &sum);
    ck_assert_msg(why == NULL, "check against the summed tally: %s", why ? why : "");
    /* runs_examined (not among ca_test_counts: no model predicts it) sums
     * too: give each tally a count of its own. */
    size_t r0 = atomic_load_explicit(&t.ctx.tally.runs_examined, memory_order_relaxed);
    size_t r1 = atomic_load_explicit(&other.tally.runs_examined, memory_order_relaxed);
    atomic_store_explicit(&t.ctx.tally.runs_examined, r0 + 5, memory_order_relaxed);
    atomic_store_explicit(&other.tally.runs_examined, r1 + 7, memory_order_relaxed);
    ca_core_tally_sum(both, 2, &sum);
    ck_assert_uint_eq(atomic_load_explicit(&sum.runs_examined, memory_order_relaxed),
                      r0 + r1 + 12);
    ck_assert_msg(ca_core_check(&t.core, &t.ctx.tally) != NULL,
                  "check against one context's delta alone found nothing wrong");

    /* One tally, and none. */
    ca_core_tally_sum(both, 1, &sum);
    ca_test_counts_of(&sum, &got);
    ca_test_counts one = {6, 3, 6 * cs, 0, 0, 0};
    ck_assert_msg(ca_test_counts_diff(&one, &got) == NULL, "sum of one tally is not that tally");
    ca_core_tally_sum(both, 0, &sum);
    ca_test_counts_of(&sum, &got);
    ca_test_counts zero = {0, 0, 0, 0, 0, 0};
    ck_assert_msg(ca_test_counts_diff(&zero, &got) == NULL, "sum of no tally is not zero");

    ck_assert_msg(ca_core_free(&t.core, &other, p[2], false) == CA_CORE_OK, "last free");
    ca_core_tally_sum(both, 2, &sum);
    why = ca_core_check(&t.core, &sum);
    ck_assert_msg(why == NULL, "empty arena, summed tally: %s", why ? why : "");
    ca_test_counts_of(&sum, &got);
    ck_assert_msg(got.chunks == 0 && got.allocs == 0, "summed deltas of an empty arena: %zu, %zu",
                  got.chunks, got.allocs);
    ca_test_core_fini(&t);
}
END_TEST

/* ================================================================ whole core */

START_TEST(reset_empties)
{
    static const size_t sizes[] = {33, 64, 2049};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ca_test_core t, fresh;
        setup(&t, sizes[i], 4, 4);
        setup(&fresh, sizes[i], 4, 4);
        size_t cs = t.chunk_size;
        for (size_t j = 0; j < 6; j++) /* 1 + 1 + 2 + 3 + 4 + 5 = 16 chunks */
            (void)ca_test_alloc(&t, j * cs, 0);
        (void)ca_test_alloc(&t, (sizes[i] - 16) * cs, 0); /* the rest: full */
        expect_nomem_unchanged(&t, 0, 0);
        ca_core_reset(&t.core);
        memset(&t.ctx, 0, sizeof t.ctx);
        ca_test_core_check(&t);
        expect_empty(&t, "after reset");
        ck_assert_msg(memcmp(t.meta, fresh.meta, t.meta_len) == 0,
                      "%zu chunks: metadata after reset differs from a fresh core's", sizes[i]);
        void *all = ca_test_alloc(&t, sizes[i] * cs, 0);
        ck_assert_msg(all == t.region, "after reset the whole region is not one allocation");
        ca_test_core_fini(&fresh);
        ca_test_core_fini(&t);
    }
}
END_TEST

START_TEST(owns_edges)
{
    ca_test_core t;
    setup(&t, 33, 4, 4); /* 33 chunks: the last map word has 31 padding chunks */
    uintptr_t lo = (uintptr_t)t.region, hi = lo + 33 * t.chunk_size;
    ck_assert_msg(!ca_core_owns(&t.core, addr(lo - 1)), "owns the byte before the region");
    ck_assert_msg(ca_core_owns(&t.core, addr(lo)), "does not own its first byte");
    ck_assert_msg(ca_core_owns(&t.core, addr(lo + 17)), "does not own a byte of chunk 1");
    ck_assert_msg(ca_core_owns(&t.core, addr(hi - 1)), "does not own its last byte");
    ck_assert_msg(!ca_core_owns(&t.core, addr(hi)), "owns the first byte after the region");
    ck_assert_msg(!ca_core_owns(&t.core, addr(hi + t.chunk_size)), "owns a padding chunk");
    ck_assert_msg(!ca_core_owns(&t.core, NULL), "owns NULL");
    ck_assert_msg(!ca_core_owns(&t.core, addr(~(uintptr_t)0)), "owns the top address");
    ca_test_core_fini(&t);
}
END_TEST

/* Carve `lens`, free the runs marked in `holes`, and compare a scan with
 * what the layout implies. */
static void scan_case(size_t n, const size_t *lens, size_t count, unsigned holes)
{
    ca_test_core t;
    setup(&t, n, 4, 4);
    void *r[16];
    ca_test_core_carve(&t, lens, count, r);
    ca_core_usage want = {0, 0, 0, 0};
    size_t at = 0, run = 0;
    for (size_t i = 0; i <= count; i++) {
        bool is_free = i == count || (holes & (1u << i));
        size_t len = i < count ? lens[i] : n - at; /* the uncarved rest is free */
        if (i < count && is_free)
            ca_test_free(&t, r[i]);
        if (is_free) {
            run += len;
        } else {
            want.chunks_used += len;
            want.allocations++;
        }
        bool run_ends = !is_free || i == count;
        if (run_ends && run > 0) {
            want.free_runs++;
            want.largest_free_run = run > want.largest_free_run ? run : want.largest_free_run;
            run = 0;
        }
        at += len;
    }
    expect_usage(&t, &want, "a constructed layout");
    ca_test_core_fini(&t);
}

START_TEST(scan_constructed_layouts)
{
    const size_t a[] = {3, 2, 1, 5, 4};
    scan_case(64, a, 5, 1u << 1 | 1u << 3);
    scan_case(15, a, 5, 1u << 1 | 1u << 3); /* the largest run inside, none at the end */
    const size_t b[] = {1, 30, 2, 40, 1, 2000, 100};
    scan_case(2200, b, 7, 1u << 0 | 1u << 3 | 1u << 5); /* runs across words and summaries */
    scan_case(2174, b, 7, 1u << 3 | 1u << 4 | 1u << 5); /* adjacent holes merge */
}
END_TEST

/* ================================================================ bound */

START_TEST(failure_bound_rises_again)
{
    /* 16 groups of one used chunk followed by a hole of 3: the longest free
     * run is 3. */
    ca_test_core t;
    setup(&t, 64, 4, 4);
    size_t cs = t.chunk_size;
    size_t lens[32];
    void *r[32];
    for (size_t i = 0; i < 32; i++)
        lens[i] = i % 2 ? 3 : 1;
    ca_test_core_carve(&t, lens, 32, r);
    for (size_t i = 1; i < 32; i += 2)
        ca_test_free(&t, r[i]);

    expect_nomem_unchanged(&t, 4 * cs, 0); /* a search that fails: the bound drops to 3 */
    expect_nomem_unchanged(&t, 4 * cs, 0); /* the fast path: still right */
    expect_nomem_unchanged(&t, 64 * cs, 0);
    void *three = ca_test_alloc(&t, 3 * cs, 0); /* the bound is not too low */
    ca_test_free(&t, three);

    /* Freeing the used chunk 20 joins holes 17..19 and 21..23: 7 chunks. */
    ca_test_free(&t, r[10]);
    void *seven = ca_test_alloc(&t, 7 * cs, 0);
    ck_assert_msg(seven == chunk_ptr(&t, 17), "7 chunks after the merge: chunk %zu, not 17",
                  ca_test_chunk_of(&t, seven));
    expect_nomem_unchanged(&t, 4 * cs, 0);

    /* At the region's start: freeing chunk 0 makes 0..3 a run of 4. */
    ca_test_free(&t, r[0]);
    t.ctx.cursor = 40;
    void *four = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(four == t.region, "4 chunks after freeing chunk 0: chunk %zu",
                  ca_test_chunk_of(&t, four));

    /* Through a shrink: 7 chunks at 17 shrink to 1, 18..23 join 25..27
     * once chunk 24 goes too: 10 chunks. */
    expect_nomem_unchanged(&t, 9 * cs, 0);
    resize_ok(&t, seven, cs);
    ca_test_free(&t, r[12]);
    t.ctx.cursor = 0;
    void *ten = ca_test_alloc(&t, 10 * cs, 0);
    ck_assert_msg(ten == chunk_ptr(&t, 18), "10 chunks after a shrink and a free: chunk %zu",
                  ca_test_chunk_of(&t, ten));
    ca_test_core_fini(&t);
}
END_TEST

/* ================================================================ check */

enum meta_array { MAP, SUM_FULL, SUM_USED, SUM_FULL2, FIT };

typedef struct corruption {
    const char *what;
    enum meta_array array;
    size_t index;
    uint64_t flip; /* XORed into the word */
} corruption;

static _Atomic uint64_t *meta_word(ca_test_core *t, enum meta_array a, size_t i)
{
    switch (a) {
    case SUM_FULL:
        return &t->core.sum_full[i];
    case SUM_USED:
        return &t->core.sum_used[i];
    case SUM_FULL2:
        return &t->core.sum_full2[i];
    case FIT:
        return &t->core.fit[i];
    case MAP:
        break;
    }
    return &t->core.map[i];
}

START_TEST(check_detects_corruption)
{
    /* 33 chunks: map word 1 holds chunk 32 and 31 padding chunks. A block
     * of 2 chunks at 0 (01 11), the rest free. */
    ca_test_core t;
    setup(&t, 33, 4, 4);
    void *p = ca_test_alloc(&t, 2 * t.chunk_size, 0);
    const corruption cases[] = {
        {"a '10' chunk (LAST without USED) at chunk 5", MAP, 0, 2ull << 10},
        {"the block's LAST marker cleared (it runs into free chunk 2)", MAP, 0, 2ull << 2},
        {"chunk 2 marked used, not last, before a free chunk", MAP, 0, 1ull << 4},
        {"a padding chunk cleared", MAP, 1, 3ull << 62},
        {"the last real chunk 'used, not last' into the padding", MAP, 1, 1ull},
        {"level-1 full bit of word 0 set", SUM_FULL, 0, 1ull},
        {"level-1 used bit of word 0 cleared", SUM_USED, 0, 1ull},
        {"level-1 used bit of word 1 (padding chunks) cleared", SUM_USED, 0, 2ull},
        {"level-1 full padding bit cleared", SUM_FULL, 0, 1ull << 63},
        {"level-2 bit of level-1 word 0 set", SUM_FULL2, 0, 1ull},
        {"level-2 padding bit cleared", SUM_FULL2, 0, 1ull << 40},
        {"a fit byte set past the last map word", FIT, 0, 0x01ull << 16},
    };
    unsigned char *saved = malloc(t.meta_len);
    ck_assert_msg(saved != NULL, "out of memory");
    memcpy(saved, t.meta, t.meta_len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        _Atomic uint64_t *w = meta_word(&t, cases[i].array, cases[i].index);
        atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) ^ cases[i].flip,
                              memory_order_relaxed);
        ck_assert_msg(ca_core_check(&t.core, NULL) != NULL, "check missed %s", cases[i].what);
        memcpy(t.meta, saved, t.meta_len);
        ca_test_core_check(&t); /* repaired */
    }
    /* Fit bytes (an upper bound each, so stale ones above the truth are
     * fine): word 0 starts a run of 31 chunks (2..31, and chunk 32). */
    const struct {
        const char *what;
        uint64_t bytes; /* fit word 0: word 1's byte, then word 0's */
        bool valid;
    } fits[] = {
        {"exact bytes", 0x0131, true},
        {"stale bytes", 0x7F7F, true},
        {"word 0's byte 30 for its run of 31", 0x011E, false},
        {"word 1's byte 0 for its free chunk", 0x0031, false},
        {"word 0's byte above CA_MAP_FIT_ON", 0x0180, false},
    };
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        atomic_store_explicit(&t.core.fit[0], fits[i].bytes, memory_order_relaxed);
        const char *why = ca_core_check(&t.core, NULL);
        ck_assert_msg((why == NULL) == fits[i].valid, "check on %s: %s", fits[i].what,
                      why ? why : "passed");
        memcpy(t.meta, saved, t.meta_len);
    }
    free(saved);

    /* The bound below the longest free run (31 chunks). */
    uint64_t bound = atomic_load_explicit(&t.core.bound, memory_order_relaxed);
    atomic_store_explicit(&t.core.bound, 30, memory_order_relaxed);
    ck_assert_msg(ca_core_check(&t.core, NULL) != NULL, "check missed a bound below the longest "
                                                        "free run");
    atomic_store_explicit(&t.core.bound, bound, memory_order_relaxed);

    /* Counters that disagree with the map. */
    ca_core_tally wrong;
    memset(&wrong, 0, sizeof wrong);
    atomic_store_explicit(&wrong.chunks, 2, memory_order_relaxed);
    ck_assert_msg(ca_core_check(&t.core, &wrong) != NULL,
                  "check missed an allocation count of 0 for one block");
    atomic_store_explicit(&wrong.allocs, 1, memory_order_relaxed);
    ck_assert_msg(ca_core_check(&t.core, &wrong) == NULL, "check refused the right counts");
    atomic_store_explicit(&wrong.chunks, 3, memory_order_relaxed);
    ck_assert_msg(ca_core_check(&t.core, &wrong) != NULL, "check missed a chunk count of 3 for 2");

    ca_test_free(&t, p);
    ca_test_core_fini(&t);
}
END_TEST

/* ================================================================ shared mode */

/* One step of the shared/exclusive comparison, run on both cores. */
typedef struct step_result {
    ca_core_status st;
    size_t chunk; /* of a returned pointer, else SIZE_MAX */
    size_t bytes; /* of usable */
} step_result;

enum step_kind { STEP_ALLOC, STEP_FREE, STEP_RESIZE, STEP_USABLE, STEP_DOUBLE_FREE, STEP_KINDS };

static step_result do_step(ca_test_core *t, bool shared, enum step_kind kind, size_t chunk,
                           size_t size, size_t align)
{
    step_result r = {CA_CORE_OK, SIZE_MAX, 0};
    void *p = chunk_ptr(t, chunk);
    switch (kind) {
    case STEP_ALLOC: {
        void *q = ca_core_alloc(&t->core, &t->ctx, size, align, 0, shared, &r.st);
        if (q)
            r.chunk = ca_test_chunk_of(t, q);
        break;
    }
    case STEP_FREE:
    case STEP_DOUBLE_FREE:
        r.st = ca_core_free(&t->core, &t->ctx, p, shared);
        break;
    case STEP_RESIZE:
        r.st = ca_core_resize(&t->core, &t->ctx, p, size, shared);
        break;
    case STEP_USABLE:
    case STEP_KINDS:
        r.st = ca_core_usable(&t->core, p, &r.bytes, shared);
        break;
    }
    return r;
}

START_TEST(shared_mode_matches_exclusive)
{
    /* Both regions aligned to 512 bytes, the largest alignment asked for:
     * where an aligned block goes depends on the base address modulo it. */
    ca_test_core ex, sh;
    ca_test_core_init(&ex, 300, 6, 512, 4);
    ca_test_core_init(&sh, 300, 6, 512, 4);
    size_t cs = ex.chunk_size;
    size_t live[300], nlive = 0, freed = SIZE_MAX;
    ca_splitmix64 rng = ca_splitmix64_seed(0x5368617265ull);
    ca_test_snapshot snap = {0};
    for (size_t i = 0; i < 4000; i++) {
        enum step_kind kind = (enum step_kind)ca_splitmix64_below(&rng, STEP_KINDS);
        if (kind != STEP_ALLOC && nlive == 0)
            kind = STEP_ALLOC;
        if (kind == STEP_DOUBLE_FREE && freed == SIZE_MAX)
            kind = STEP_USABLE;
        size_t victim = nlive ? (size_t)ca_splitmix64_below(&rng, nlive) : 0;
        size_t chunk = kind == STEP_DOUBLE_FREE ? freed : nlive ? live[victim] : 0;
        size_t size = (size_t)ca_splitmix64_below(&rng, 40 * cs);
        size_t align = (size_t)1 << ca_splitmix64_below(&rng, 10);
        step_result a = do_step(&ex, false, kind, chunk, size, align);
        step_result b = do_step(&sh, true, kind, chunk, size, align);
        ck_assert_msg(a.st == b.st && a.chunk == b.chunk && a.bytes == b.bytes,
                      "step %zu (kind %d): exclusive %d/%zu/%zu, shared %d/%zu/%zu", i, (int)kind,
                      (int)a.st, a.chunk, a.bytes, (int)b.st, b.chunk, b.bytes);
        ca_test_core_check(&ex);
        ca_test_core_check(&sh);
        /* The whole state, byte for byte: metadata, bound, hint, counters. */
        ca_test_snapshot_take(&snap, &ex);
        const char *why = ca_test_snapshot_diff(&snap, &sh);
        ck_assert_msg(why == NULL, "step %zu (kind %d): shared and exclusive differ: %s", i,
                      (int)kind, why ? why : "");
        ca_core_usage us, ue;
        ca_core_scan(&sh.core, &us, true);
        ca_core_scan(&ex.core, &ue, false);
        ck_assert_msg(memcmp(&us, &ue, sizeof us) == 0, "step %zu: a shared scan differs", i);
        if (kind == STEP_ALLOC && a.chunk != SIZE_MAX) {
            live[nlive++] = a.chunk;
            if (a.chunk == freed) /* no longer a double free */
                freed = SIZE_MAX;
        }
        if (kind == STEP_FREE && a.st == CA_CORE_OK) {
            freed = live[victim];
            live[victim] = live[--nlive];
        }
        if (kind == STEP_DOUBLE_FREE)
            ck_assert_msg(a.st != CA_CORE_OK, "step %zu: a double free succeeded", i);
    }
    ca_test_snapshot_fini(&snap);
    ca_test_core_fini(&ex);
    ca_test_core_fini(&sh);
}
END_TEST

void core_add_whole(Suite *s)
{
    TCase *tc;
    tc = core_tcase(s, "counters");
    tcase_add_test(tc, counters_follow_operations);
    tcase_add_test(tc, counters_sum_over_contexts);
    tc = core_tcase(s, "whole");
    tcase_add_test(tc, reset_empties);
    tcase_add_test(tc, owns_edges);
    tcase_add_test(tc, scan_constructed_layouts);
    tc = core_tcase(s, "bound");
    tcase_add_test(tc, failure_bound_rises_again);
    tc = core_tcase(s, "check");
    tcase_add_test(tc, check_detects_corruption);
    tc = core_tcase(s, "shared");
    tcase_add_test(tc, shared_mode_matches_exclusive);
}
