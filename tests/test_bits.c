/* SPDX-License-Identifier: MIT */
/*
 * tests/test_bits.c — suite "bits": the word primitives under the core and
 * the places where they meet word boundaries. First the pure helpers of
 * core/bits.h and core/chunkmap.h, each compared with a bit-by-bit reference
 * at the edges (bit 0, bit 63, chunk 0, chunk 31, all ones) and on random
 * words. Then, through a real core, the runs whose bookkeeping crosses a
 * boundary of the data structure: inside one map word, across map words (32
 * chunks a word), across level-1 summary words (2048 chunks), at the very
 * end of the region, in regions whose size is not a multiple of 32 or 64
 * (131073 chunks need a second level-2 word), exact fits into holes, and
 * aligned allocations over a base aligned only to the chunk size. These are
 * the off-by-one spots of a bitmap allocator; every core operation is
 * followed by the full invariant check.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/bits.h"
#include "core/chunkmap.h"
#include "core/core.h"
#include "tests/splitmix64.h"
#include "tests/testutil.h"

#define RANDOM_WORDS 2000
#define SEED 0x62697473ull /* "bits" */

/* ---- bit-by-bit references ---- */

static unsigned naive_first(uint64_t x)
{
    unsigned i = 0;
    while (!((x >> i) & 1u))
        i++;
    return i;
}

static unsigned naive_top(uint64_t x)
{
    unsigned i = 63;
    while (!((x >> i) & 1u))
        i--;
    return i;
}

static unsigned naive_count(uint64_t x)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 64; i++)
        n += (unsigned)((x >> i) & 1u);
    return n;
}

/* Bits lo..hi. */
static uint64_t naive_bits(unsigned lo, unsigned hi)
{
    uint64_t m = 0;
    for (unsigned i = lo; i <= hi; i++)
        m |= 1ull << i;
    return m;
}

/* Spaced mask of chunks lo..hi (bit 2k for chunk k). */
static uint64_t naive_chunks(unsigned lo, unsigned hi)
{
    uint64_t m = 0;
    for (unsigned k = lo; k <= hi; k++)
        m |= 1ull << (2 * k);
    return m;
}

/* The map bits of chunks lo..hi of one allocation, written out by hand:
 * USED on each, LAST on hi when the allocation ends there. */
static uint64_t mark(unsigned lo, unsigned hi, bool ends_here)
{
    return naive_chunks(lo, hi) | (ends_here ? 1ull << (2 * hi + 1) : 0);
}

/* Spaced mask of the chunks of v whose state has bit `bit` (1: USED,
 * 2: LAST) set. */
static uint64_t naive_has(uint64_t v, unsigned bit)
{
    uint64_t m = 0;
    for (unsigned k = 0; k < 32; k++)
        if (((v >> (2 * k)) & bit) != 0)
            m |= 1ull << (2 * k);
    return m;
}

/* Edge words, then random ones: word i of the test set. */
static uint64_t test_word(size_t i, ca_splitmix64 *r)
{
    static const uint64_t edges[] = {
        1ull, 1ull << 63, ~0ull, (1ull << 63) | 1ull, CA_MAP_USED_BITS, CA_MAP_LAST_BITS,
        0x00000000FFFFFFFFull, 0xFFFFFFFF00000000ull, 3ull, 3ull << 62,
    };
    size_t nedges = sizeof edges / sizeof edges[0];
    if (i < nedges)
        return edges[i];
    if (i < nedges + 64)
        return 1ull << (i - nedges);
    uint64_t v = ca_splitmix64_next(r);
    return v ? v : 1; /* the scans need a non-zero word */
}

/* ---- core/bits.h ---- */

START_TEST(bits_first_top)
{
    for (unsigned i = 0; i < 64; i++) {
        uint64_t b = 1ull << i;
        ck_assert_msg(ca_bits_first(b) == i && ca_bits_top(b) == i,
                      "single bit %u: first %u, top %u", i, ca_bits_first(b), ca_bits_top(b));
        ck_assert_msg(ca_bits_first(ca_bits_from(i)) == i && ca_bits_top(ca_bits_from(i)) == 63,
                      "bits %u..63: first %u, top %u", i, ca_bits_first(ca_bits_from(i)),
                      ca_bits_top(ca_bits_from(i)));
        ck_assert_msg(ca_bits_first(ca_bits_upto(i)) == 0 && ca_bits_top(ca_bits_upto(i)) == i,
                      "bits 0..%u: first %u, top %u", i, ca_bits_first(ca_bits_upto(i)),
                      ca_bits_top(ca_bits_upto(i)));
    }
    ca_splitmix64 r = ca_splitmix64_seed(SEED);
    for (size_t i = 0; i < RANDOM_WORDS; i++) {
        uint64_t v = test_word(i, &r);
        ck_assert_msg(ca_bits_first(v) == naive_first(v), "first of %#llx: %u, not %u",
                      (unsigned long long)v, ca_bits_first(v), naive_first(v));
        ck_assert_msg(ca_bits_top(v) == naive_top(v), "top of %#llx: %u, not %u",
                      (unsigned long long)v, ca_bits_top(v), naive_top(v));
    }
}
END_TEST

START_TEST(bits_from_upto)
{
    for (unsigned i = 0; i < 64; i++) {
        ck_assert_msg(ca_bits_from(i) == naive_bits(i, 63), "ca_bits_from(%u) = %#llx", i,
                      (unsigned long long)ca_bits_from(i));
        ck_assert_msg(ca_bits_upto(i) == naive_bits(0, i), "ca_bits_upto(%u) = %#llx", i,
                      (unsigned long long)ca_bits_upto(i));
        /* The two meet at i and together cover the word. */
        ck_assert_msg((ca_bits_from(i) & ca_bits_upto(i)) == 1ull << i &&
                          (ca_bits_from(i) | ca_bits_upto(i)) == ~0ull,
                      "from(%u) and upto(%u) do not meet at bit %u", i, i, i);
    }
    ck_assert_msg(ca_bits_from(0) == ~0ull && ca_bits_upto(63) == ~0ull,
                  "from(0) or upto(63) is not all ones");
}
END_TEST

START_TEST(bits_count)
{
    ck_assert_msg(ca_bits_count(0) == 0, "count(0) = %u", ca_bits_count(0));
    ck_assert_msg(ca_bits_count(~0ull) == 64, "count(~0) = %u", ca_bits_count(~0ull));
    for (unsigned i = 0; i < 64; i++) {
        ck_assert_msg(ca_bits_count(ca_bits_from(i)) == 64 - i, "count(from(%u)) = %u", i,
                      ca_bits_count(ca_bits_from(i)));
        ck_assert_msg(ca_bits_count(ca_bits_upto(i)) == i + 1, "count(upto(%u)) = %u", i,
                      ca_bits_count(ca_bits_upto(i)));
    }
    ca_splitmix64 r = ca_splitmix64_seed(SEED + 1);
    for (size_t i = 0; i < RANDOM_WORDS; i++) {
        uint64_t v = test_word(i, &r);
        ck_assert_msg(ca_bits_count(v) == naive_count(v), "count(%#llx) = %u, not %u",
                      (unsigned long long)v, ca_bits_count(v), naive_count(v));
    }
}
END_TEST

/* ---- core/chunkmap.h ---- */

START_TEST(map_free_used_ends)
{
    ca_splitmix64 r = ca_splitmix64_seed(SEED + 2);
    ck_assert_msg(ca_map_free(0) == CA_MAP_USED_BITS && ca_map_used(0) == 0 && ca_map_lasts(0) == 0,
                  "an all-free word does not read as all free");
    ck_assert_msg(ca_map_free(~0ull) == 0 && ca_map_used(~0ull) == CA_MAP_USED_BITS &&
                      ca_map_lasts(~0ull) == CA_MAP_USED_BITS,
                  "an all-'11' word does not read as all used and last");
    for (size_t i = 0; i < RANDOM_WORDS; i++) {
        uint64_t v = test_word(i, &r);
        /* "Free" is "USED clear": a "10" chunk, which no well-formed map
         * holds, reads as free too. */
        ck_assert_msg(ca_map_free(v) == (naive_has(v, 1) ^ CA_MAP_USED_BITS),
                      "free chunks of %#llx: %#llx", (unsigned long long)v,
                      (unsigned long long)ca_map_free(v));
        ck_assert_msg(ca_map_used(v) == naive_has(v, 1), "used chunks of %#llx: %#llx",
                      (unsigned long long)v, (unsigned long long)ca_map_used(v));
        ck_assert_msg(ca_map_lasts(v) == naive_has(v, 2), "LAST chunks of %#llx: %#llx",
                      (unsigned long long)v, (unsigned long long)ca_map_lasts(v));
    }
}
END_TEST

START_TEST(map_ranges)
{
    for (unsigned k = 0; k < 32; k++) {
        ck_assert_msg(ca_map_from(k) == naive_chunks(k, 31), "ca_map_from(%u) = %#llx", k,
                      (unsigned long long)ca_map_from(k));
        ck_assert_msg(ca_map_upto(k) == naive_chunks(0, k), "ca_map_upto(%u) = %#llx", k,
                      (unsigned long long)ca_map_upto(k));
        for (unsigned hi = k; hi < 32; hi++)
            ck_assert_msg(ca_map_span(k, hi) == naive_chunks(k, hi), "ca_map_span(%u, %u) = %#llx",
                          k, hi, (unsigned long long)ca_map_span(k, hi));
    }
    /* The edges, spelled out: both ends of the word. */
    ck_assert_msg(ca_map_from(0) == CA_MAP_USED_BITS && ca_map_upto(31) == CA_MAP_USED_BITS &&
                      ca_map_span(0, 31) == CA_MAP_USED_BITS,
                  "a range over the whole word is not every chunk");
    ck_assert_msg(ca_map_from(31) == 1ull << 62 && ca_map_upto(0) == 1ull &&
                      ca_map_span(31, 31) == 1ull << 62 && ca_map_span(0, 0) == 1ull,
                  "a range of one end chunk is not that chunk's USED bit");
}
END_TEST

START_TEST(map_last_bit_and_state)
{
    /* The LAST bit of each chunk, and a run marked with it read back:
     * chunks lo..hi-1 "used", hi "last", the others free. */
    for (unsigned hi = 0; hi < 32; hi++)
        ck_assert_msg(ca_map_last_bit(hi) == 1ull << (2 * hi + 1), "last_bit(%u) = %#llx", hi,
                      (unsigned long long)ca_map_last_bit(hi));
    for (unsigned lo = 0; lo < 32; lo++)
        for (unsigned hi = lo; hi < 32; hi++) {
            uint64_t closed = naive_chunks(lo, hi) | ca_map_last_bit(hi);
            for (unsigned k = 0; k < 32; k++) {
                unsigned want = k < lo || k > hi ? CA_MAP_FREE : k < hi ? CA_MAP_USED : CA_MAP_LAST;
                ck_assert_msg(ca_map_state(closed, k) == want,
                              "chunk %u of mark(%u, %u, end) reads %u, not %u", k, lo, hi,
                              ca_map_state(closed, k), want);
            }
        }
}
END_TEST

START_TEST(map_state)
{
    for (unsigned k = 0; k < 32; k++)
        for (unsigned s = 0; s < 4; s++) {
            uint64_t v = (uint64_t)s << (2 * k);
            for (unsigned j = 0; j < 32; j++)
                ck_assert_msg(ca_map_state(v, j) == (j == k ? s : (unsigned)CA_MAP_FREE),
                              "state %u at chunk %u: chunk %u reads %u", s, k, j,
                              ca_map_state(v, j));
            ck_assert_msg(ca_map_state(~0ull, k) == CA_MAP_LAST, "chunk %u of ~0 is not LAST", k);
        }
    ck_assert_msg(CA_MAP_USED == 1 && CA_MAP_LAST == 3 && CA_MAP_BAD == 2 && CA_MAP_FREE == 0,
                  "the state names do not follow the encoding LAST << 1 | USED");
}
END_TEST

START_TEST(map_lowest_highest)
{
    for (unsigned lo = 0; lo < 32; lo++)
        for (unsigned hi = lo; hi < 32; hi++) {
            uint64_t m = ca_map_span(lo, hi);
            ck_assert_msg(ca_map_lowest(m) == lo && ca_map_highest(m) == hi,
                          "span %u..%u: lowest %u, highest %u", lo, hi, ca_map_lowest(m),
                          ca_map_highest(m));
        }
    ca_splitmix64 r = ca_splitmix64_seed(SEED + 3);
    for (size_t i = 0; i < RANDOM_WORDS; i++) {
        uint64_t m = test_word(i, &r) & CA_MAP_USED_BITS;
        if (!m)
            continue;
        ck_assert_msg(ca_map_lowest(m) == naive_first(m) / 2 &&
                          ca_map_highest(m) == naive_top(m) / 2,
                      "spaced mask %#llx: lowest %u, highest %u", (unsigned long long)m,
                      ca_map_lowest(m), ca_map_highest(m));
    }
}
END_TEST

/* ---- runs through the core ---- */

/* Map word w of t. */
static uint64_t map_word(const ca_test_core *t, size_t w)
{
    return atomic_load_explicit(&t->core.map[w], memory_order_relaxed);
}

/* On an empty core, leave exactly one allocation: chunks [lo, lo + len).
 * Carves the chunks before and after it too, and frees them. */
static void *place(ca_test_core *t, size_t lo, size_t len)
{
    size_t lens[3], n = 0, mid = 0;
    void *runs[3];
    if (lo > 0)
        lens[n++] = lo;
    mid = n;
    lens[n++] = len;
    if (lo + len < t->nchunks)
        lens[n++] = t->nchunks - lo - len;
    ca_test_core_carve(t, lens, n, runs);
    for (size_t i = 0; i < n; i++)
        if (i != mid)
            ca_test_free(t, runs[i]);
    return runs[mid];
}

/* The map holds exactly one allocation, [lo, lo + len): compare it chunk by
 * chunk with a model, and its usable size. */
static void expect_only(const ca_test_core *t, const void *p, size_t lo, size_t len)
{
    ca_test_model m;
    ca_test_model_init(&m, t->nchunks);
    ca_test_model_take(&m, lo, len);
    size_t where = 0;
    const char *why = ca_test_model_diff(&m, t, &where);
    ca_test_model_fini(&m);
    ck_assert_msg(why == NULL, "run [%zu, +%zu) in %zu chunks: %s (chunk %zu)", lo, len,
                  t->nchunks, why ? why : "", where);
    size_t bytes = 0;
    ca_core_status st = ca_core_usable(&t->core, p, &bytes, false);
    ck_assert_msg(st == CA_CORE_OK && bytes == len * t->chunk_size,
                  "run [%zu, +%zu): usable status %d, %zu bytes", lo, len, (int)st, bytes);
    ca_test_core_check(t);
}

/* Place, verify and free one run. */
static void round_trip(ca_test_core *t, size_t lo, size_t len)
{
    void *p = place(t, lo, len);
    expect_only(t, p, lo, len);
    ca_test_free(t, p);
    ca_core_usage u;
    ca_core_scan(&t->core, &u, false);
    ck_assert_msg(u.chunks_used == 0 && u.free_runs == 1 && u.largest_free_run == t->nchunks,
                  "after freeing run [%zu, +%zu): %zu chunks used, %zu free runs", lo, len,
                  u.chunks_used, u.free_runs);
    ca_test_core_empty(t);
}

START_TEST(core_runs_inside_a_word)
{
    ca_test_core t;
    ca_test_core_init(&t, 64, 4, 0, 4);
    for (unsigned lo = 0; lo < 32; lo++)
        for (unsigned hi = lo; hi < 32; hi++) {
            void *p = place(&t, lo, hi - lo + 1);
            ck_assert_msg(map_word(&t, 0) == mark(lo, hi, true) && map_word(&t, 1) == 0,
                          "run %u..%u: map words %#llx %#llx", lo, hi,
                          (unsigned long long)map_word(&t, 0), (unsigned long long)map_word(&t, 1));
            expect_only(&t, p, lo, hi - lo + 1);
            ca_test_free(&t, p);
            ck_assert_msg(map_word(&t, 0) == 0, "run %u..%u: freed, word 0 is %#llx", lo, hi,
                          (unsigned long long)map_word(&t, 0));
            ca_test_core_empty(&t);
        }
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(core_runs_across_words)
{
    ca_test_core t;
    ca_test_core_init(&t, 160, 4, 0, 4);
    /* Every start in the first two words, lengths that end just before,
     * on and after the next word boundaries. */
    static const size_t lens[] = {1, 2, 3, 31, 32, 33, 63, 64, 65, 96};
    for (size_t lo = 0; lo < 64; lo++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            round_trip(&t, lo, lens[i]);
    /* One case spelled out in map words: chunks 30..33. */
    void *p = place(&t, 30, 4);
    ck_assert_msg(map_word(&t, 0) == mark(30, 31, false) &&
                      map_word(&t, 1) == mark(0, 1, true),
                  "run 30..33: map words %#llx %#llx", (unsigned long long)map_word(&t, 0),
                  (unsigned long long)map_word(&t, 1));
    ca_test_free(&t, p);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(core_runs_across_summary_words)
{
    /* Level-1 summary words cover 64 map words, 2048 chunks each. */
    ca_test_core t;
    ca_test_core_init(&t, 3 * 2048 + 5, 4, 0, 4);
    static const size_t starts[] = {0, 2016, 2040, 2047, 2048, 2049, 4064, 4095, 4096};
    static const size_t lens[] = {1, 2, 32, 33, 64, 2048, 2049};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++)
            round_trip(&t, starts[i], lens[j]);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(core_runs_at_the_end)
{
    static const size_t sizes[] = {1, 2, 31, 32, 33, 63, 64, 65, 2047, 2048, 2049};
    static const size_t lens[] = {1, 2, 31, 32, 33, 64, 2048};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ca_test_core t;
        ca_test_core_init(&t, sizes[i], 4, 0, 4);
        for (size_t j = 0; j < sizeof lens / sizeof lens[0] && lens[j] <= sizes[i]; j++) {
            size_t lo = sizes[i] - lens[j];
            void *p = place(&t, lo, lens[j]);
            expect_only(&t, p, lo, lens[j]);
            /* Nothing after it: growing by one chunk reaches past the end. */
            ca_core_status st = ca_core_resize(&t.core, &t.ctx, p, (lens[j] + 1) * t.chunk_size,
                                               false);
            ck_assert_msg(st == CA_CORE_NOMEM, "%zu chunks: growing the last run: status %d",
                          sizes[i], (int)st);
            ca_test_core_check(&t);
            if (lo > 0) { /* the rest of the region still takes exactly lo chunks */
                void *q = ca_test_alloc(&t, lo * t.chunk_size, 0);
                ck_assert_msg(q == t.region, "%zu chunks: the front run is not at chunk 0",
                              sizes[i]);
            }
            ca_test_alloc_nomem(&t, 0, 0);
            ca_test_core_empty(&t);
        }
        ca_test_core_fini(&t);
    }
}
END_TEST

/* Fill t with runs of `piece` chunks, then single chunks, until NOMEM;
 * return the pointers in *out (caller frees) and their count. */
static size_t fill(ca_test_core *t, size_t piece, void ***out)
{
    void **ptrs = malloc(t->nchunks * sizeof *ptrs);
    ck_assert_msg(ptrs != NULL, "out of memory");
    size_t n = 0, chunks = 0;
    for (size_t want = piece;; want = 1) {
        for (;;) {
            ca_core_status st = CA_CORE_OK;
            void *p = ca_core_alloc(&t->core, &t->ctx, want * t->chunk_size, 0, 0, false, &st);
            ca_test_core_check(t);
            if (!p) {
                ck_assert_msg(st == CA_CORE_NOMEM, "filling: status %d", (int)st);
                /* Derived: pieces fail once fewer than `want` chunks are left. */
                ck_assert_msg(t->nchunks - chunks < want, "%zu chunks: NOMEM for %zu with %zu free",
                              t->nchunks, want, t->nchunks - chunks);
                break;
            }
            ck_assert_msg(p == t->region + chunks * t->chunk_size,
                          "%zu chunks: filling put %zu chunks at chunk %zu, not %zu", t->nchunks,
                          want, ca_test_chunk_of(t, p), chunks);
            ptrs[n++] = p;
            chunks += want;
        }
        if (want == 1)
            break;
    }
    ck_assert_msg(chunks == t->nchunks, "%zu chunks: filled only %zu", t->nchunks, chunks);
    *out = ptrs;
    return n;
}

static void expect_usage(const ca_test_core *t, size_t used, size_t allocs, size_t runs,
                         size_t largest)
{
    ca_core_usage u;
    ca_core_scan(&t->core, &u, false);
    ck_assert_msg(u.chunks_used == used && u.allocations == allocs && u.free_runs == runs &&
                      u.largest_free_run == largest,
                  "%zu chunks: scan found %zu used, %zu allocations, %zu runs, largest %zu; "
                  "expected %zu, %zu, %zu, %zu",
                  t->nchunks, u.chunks_used, u.allocations, u.free_runs, u.largest_free_run, used,
                  allocs, runs, largest);
}

START_TEST(core_odd_region_sizes)
{
    static const size_t sizes[] = {1, 31, 32, 33, 63, 64, 65, 2047, 2048, 2049, 131073};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        ca_test_core t;
        ca_test_core_init(&t, n, 4, 0, 4);
        size_t cs = t.chunk_size;

        /* The whole region in one allocation, and not one chunk more. */
        ca_test_alloc_nomem(&t, (n + 1) * cs, 0);
        void *all = ca_test_alloc(&t, n * cs, 0);
        ck_assert_msg(all == t.region, "%zu chunks: the whole region is not at its base", n);
        ca_test_alloc_nomem(&t, 0, 0);
        expect_usage(&t, n, 1, 0, 0);
        ca_test_free(&t, all);

        /* All but the last chunk, then the last one: for 131073 chunks it is
         * found through the second level-2 summary word. */
        if (n > 1) {
            void *front = ca_test_alloc(&t, (n - 1) * cs, 0);
            t.ctx.cursor = 0;
            void *last = ca_test_alloc(&t, 1, 0);
            ck_assert_msg(last == t.region + (n - 1) * cs, "%zu chunks: the last chunk is %zu",
                          n, ca_test_chunk_of(&t, last));
            ca_test_alloc_nomem(&t, 1, 0);
            ca_test_free(&t, front);
            ca_test_free(&t, last);
        }

        /* Filled in pieces to the brim, then emptied. */
        void **ptrs;
        size_t count = fill(&t, n / 16 + 1, &ptrs);
        expect_usage(&t, n, count, 0, 0);
        for (size_t j = 0; j < count; j++)
            ca_test_free(&t, ptrs[j]);
        free(ptrs);
        expect_usage(&t, 0, 0, 1, n);
        ca_test_core_fini(&t);
    }
}
END_TEST

START_TEST(core_exact_fit_in_holes)
{
    /* One hole of `len` chunks at `lo`, everything else allocated; a hole
     * of len - 1 before it, when there is room, that must be skipped. */
    ca_test_core t;
    ca_test_core_init(&t, 3 * 2048 + 64, 4, 0, 1);
    size_t n = t.nchunks, cs = t.chunk_size;
    static const size_t starts[] = {0, 1, 31, 32, 33, 63, 2047, 2048, 2049, 4095};
    static const size_t lens[] = {1, 2, 31, 32, 33, 64, 65, 2048, 2049};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            size_t lo = starts[i], len = lens[j];
            bool decoy = len > 1 && lo >= len + 1; /* [1, len) free, chunk 0 and lo - 1 used */
            size_t runs[5], nruns = 0, hole = 0, decoy_run = 0;
            void *ptr[5];
            if (decoy) {
                runs[nruns++] = 1;
                decoy_run = nruns;
                runs[nruns++] = len - 1;
                runs[nruns++] = lo - len;
            } else if (lo > 0) {
                runs[nruns++] = lo;
            }
            hole = nruns;
            runs[nruns++] = len;
            if (lo + len < n)
                runs[nruns++] = n - lo - len;
            ca_test_core_carve(&t, runs, nruns, ptr);
            ca_test_free(&t, ptr[hole]);
            if (decoy)
                ca_test_free(&t, ptr[decoy_run]);

            ca_test_alloc_nomem(&t, (len + 1) * cs, 0);
            t.ctx.cursor = 0;
            void *p = ca_test_alloc(&t, len * cs, 0);
            ck_assert_msg(p == t.region + lo * cs, "hole [%zu, +%zu): allocation at chunk %zu",
                          lo, len, ca_test_chunk_of(&t, p));
            ca_test_alloc_nomem(&t, len * cs, 0);
            ca_test_core_empty(&t);
        }
    ca_test_core_fini(&t);
}
END_TEST

/* First chunk at or after `from` whose address is a multiple of align. */
static size_t first_aligned(const ca_test_core *t, size_t from, size_t align)
{
    size_t s = from;
    while ((uintptr_t)(t->region + s * t->chunk_size) % align)
        s++;
    return s;
}

/* Over a base aligned to exactly `base_align`: allocations aligned above
 * the chunk size, from several hints, land on the first aligned chunk. */
static void aligned_run(unsigned shift, size_t base_align, unsigned window)
{
    ca_test_core t;
    ca_test_core_init(&t, 4096, shift, base_align, window);
    size_t cs = t.chunk_size;
    ck_assert_msg((uintptr_t)t.region % base_align == 0 &&
                      (uintptr_t)t.region % (2 * base_align) != 0,
                  "the test region is not aligned to exactly %zu", base_align);
    static const size_t hints[] = {0, 1, 5, 31, 32, 33, 2047, 2048};
    for (size_t align = 2 * cs; align <= 1024 * cs; align *= 2)
        for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++)
            for (size_t len = 1; len <= 3; len++) {
                size_t s = first_aligned(&t, hints[h], align);
                if (s + len > t.nchunks)
                    continue;
                t.ctx.cursor = hints[h];
                void *p = ca_test_alloc(&t, len * cs, align);
                ck_assert_msg(p == t.region + s * cs,
                              "chunk %zu, base aligned to %zu, align %zu, hint %zu: chunk %zu, "
                              "not %zu",
                              cs, base_align, align, hints[h], ca_test_chunk_of(&t, p), s);
                /* The next one from just past it: the next aligned chunk. */
                size_t s2 = first_aligned(&t, s + len, align);
                if (s2 + len <= t.nchunks) {
                    void *q = ca_test_alloc(&t, len * cs, align);
                    ck_assert_msg(q == t.region + s2 * cs,
                                  "second allocation aligned to %zu: chunk %zu, not %zu", align,
                                  ca_test_chunk_of(&t, q), s2);
                    ca_test_free(&t, q);
                }
                ca_test_free(&t, p);
            }
    ca_test_core_fini(&t);
}

START_TEST(core_aligned_allocations)
{
    static const unsigned shifts[] = {4, 8, 12};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        size_t cs = (size_t)1 << shifts[i];
        aligned_run(shifts[i], cs, 1);
        aligned_run(shifts[i], cs, 4);
        aligned_run(shifts[i], 8 * cs, 4);
    }
}
END_TEST

static Suite *bits_suite(void)
{
    Suite *s = suite_create("bits");
    TCase *words = tcase_create("words");
    tcase_add_test(words, bits_first_top);
    tcase_add_test(words, bits_from_upto);
    tcase_add_test(words, bits_count);
    tcase_add_test(words, map_free_used_ends);
    tcase_add_test(words, map_ranges);
    tcase_add_test(words, map_last_bit_and_state);
    tcase_add_test(words, map_state);
    tcase_add_test(words, map_lowest_highest);
    suite_add_tcase(s, words);

    TCase *runs = tcase_create("runs");
    tcase_set_timeout(runs, 120);
    tcase_add_test(runs, core_runs_inside_a_word);
    tcase_add_test(runs, core_runs_across_words);
    tcase_add_test(runs, core_runs_across_summary_words);
    tcase_add_test(runs, core_runs_at_the_end);
    tcase_add_test(runs, core_odd_region_sizes);
    tcase_add_test(runs, core_exact_fit_in_holes);
    tcase_add_test(runs, core_aligned_allocations);
    suite_add_tcase(s, runs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
