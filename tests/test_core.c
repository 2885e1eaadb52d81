/*
 * tests/test_core.c — suite "core": the contract of core/core.h, function by
 * function. What init and layout refuse (and that a refusal leaves the core
 * untouched); the allocation semantics (size 0, rounding, alignment below
 * and above the chunk size, huge sizes and alignments, a full arena, next
 * fit and the best-fit window); free and resize of good and bad pointers,
 * where every fault must leave map, summaries, bound and counters exactly as
 * they were; the counters and their sum; reset, owns and scan; the O(1)
 * failure path, whose bound must rise again when frees make room; that the
 * invariant check really detects a corrupted map; and that shared mode used
 * by one thread is bit-for-bit exclusive mode. Expected values are derived
 * from the documented rules (chunk arithmetic, next-fit order, the window
 * rule of core/core.c), never read back from the implementation.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "support/splitmix64.h"
#include "tests/testutil.h"

#define TIMEOUT 120

/* A test core of n chunks of 2^shift bytes, base aligned to the chunk size only. */
static void setup(ca_test_core *t, size_t n, unsigned shift, unsigned window)
{
    ca_test_core_init(t, n, shift, 0, window);
}

static size_t div_up(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

/* Chunks an allocation of `size` bytes takes: at least one. */
static size_t chunks_for(const ca_test_core *t, size_t size)
{
    size_t n = div_up(size, t->chunk_size);
    return n ? n : 1;
}

static unsigned char *chunk_ptr(const ca_test_core *t, size_t i)
{
    return t->region + i * t->chunk_size;
}

/* An address computed as an integer: outside the region, never dereferenced. */
static void *addr(uintptr_t a)
{
    return (void *)a;
}

static void expect_counts(const ca_test_core *t, const ca_test_counts *want, const char *when)
{
    ca_test_counts got;
    ca_test_counts_of(&t->ctx.tally, &got);
    const char *field = ca_test_counts_diff(want, &got);
    ck_assert_msg(field == NULL, "%s: counter '%s' is wrong", when, field ? field : "");
}

static void expect_unchanged(const ca_test_snapshot *s, const ca_test_core *t, const char *when)
{
    const char *why = ca_test_snapshot_diff(s, t);
    ck_assert_msg(why == NULL, "%s changed the core: %s", when, why ? why : "");
}

static size_t usable_of(const ca_test_core *t, const void *p)
{
    size_t bytes = 0;
    ca_core_status st = ca_core_usable(&t->core, p, &bytes, false);
    ck_assert_msg(st == CA_CORE_OK, "usable size of chunk %zu: status %d", ca_test_chunk_of(t, p),
                  (int)st);
    ca_test_core_check(t);
    return bytes;
}

static void expect_usage(const ca_test_core *t, const ca_core_usage *want, const char *when)
{
    ca_core_usage u;
    ca_core_scan(&t->core, &u, false);
    ck_assert_msg(u.used_chunks == want->used_chunks && u.allocations == want->allocations &&
                      u.free_runs == want->free_runs && u.largest_free == want->largest_free,
                  "%s: scan found %zu used, %zu allocations, %zu free runs, largest %zu; "
                  "expected %zu, %zu, %zu, %zu",
                  when, u.used_chunks, u.allocations, u.free_runs, u.largest_free,
                  want->used_chunks, want->allocations, want->free_runs, want->largest_free);
}

static void expect_empty(const ca_test_core *t, const char *when)
{
    ca_core_usage want = {0, 0, 1, t->nchunks};
    expect_usage(t, &want, when);
}

/* ================================================================ init */

/* ca_core_init must refuse with `want` and leave every byte of the core as
 * it was. */
static void expect_init_refused(const char *what, void *base, size_t n, unsigned shift,
                                void *meta, unsigned window, ca_core_status want)
{
    ca_core c, before;
    memset(&c, 0x5A, sizeof c);
    memcpy(&before, &c, sizeof c);
    ca_core_status st = ca_core_init(&c, base, n, shift, meta, window);
    ck_assert_msg(st == want, "init with %s: status %d, expected %d", what, (int)st, (int)want);
    ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "init with %s wrote to the core", what);
}

START_TEST(init_refusals)
{
    ca_test_core t;
    setup(&t, 64, 8, 4);
    unsigned char *base = t.region, *meta = t.meta;
    size_t cs = t.chunk_size;

    expect_init_refused("shift 3", base, 64, 3, meta, 4, CA_CORE_BADCHUNK);
    expect_init_refused("shift 0", base, 64, 0, meta, 4, CA_CORE_BADCHUNK);
    expect_init_refused("shift 31", base, 64, 31, meta, 4, CA_CORE_BADCHUNK);
    expect_init_refused("shift 64", base, 64, 64, meta, 4, CA_CORE_BADCHUNK);
    expect_init_refused("shift UINT_MAX", base, 64, UINT_MAX, meta, 4, CA_CORE_BADCHUNK);

    /* The original Rust crate accepted a heap that was not aligned to its
     * chunk size and handed out misaligned chunks; this core must refuse. */
    expect_init_refused("a base aligned to 16, chunk 256", base + 16, 64, 8, meta, 4,
                        CA_CORE_MISALIGNED);
    expect_init_refused("a base off by one byte", base + 1, 64, 8, meta, 4, CA_CORE_MISALIGNED);
    expect_init_refused("a base off by half a chunk", base + cs / 2, 64, 8, meta, 4,
                        CA_CORE_MISALIGNED);
    expect_init_refused("meta aligned to 4", base, 64, 8, meta + 4, 4, CA_CORE_MISALIGNED);
    expect_init_refused("meta off by one byte", base, 64, 8, meta + 1, 4, CA_CORE_MISALIGNED);

    expect_init_refused("0 chunks", base, 0, 8, meta, 4, CA_CORE_TOOSMALL);

    expect_init_refused("window 0", base, 64, 8, meta, 0, CA_CORE_BADWINDOW);
    expect_init_refused("window MAX + 1", base, 64, 8, meta, CA_CORE_MAX_WINDOW + 1,
                        CA_CORE_BADWINDOW);
    expect_init_refused("window UINT_MAX", base, 64, 8, meta, UINT_MAX, CA_CORE_BADWINDOW);

    /* A region that wraps the address space: 8 chunks from 4 chunks below
     * the top. The region is never touched, only its address checked. */
    uintptr_t top = ~(uintptr_t)0 - (cs - 1); /* the last chunk-aligned address */
    expect_init_refused("a region that wraps", addr(top - 3 * cs), 8, 8, meta, 4,
                        CA_CORE_TOOLARGE);
    expect_init_refused("a region that wraps by far", addr(top), SIZE_MAX >> 8, 8, meta, 4,
                        CA_CORE_TOOLARGE);
    expect_init_refused("more than CA_CORE_MAX_CHUNKS", base, CA_CORE_MAX_CHUNKS + 1, 8, meta, 4,
                        CA_CORE_TOOLARGE);
    ca_test_core_fini(&t);
}
END_TEST

START_TEST(init_accepts_edges)
{
    /* The smallest and largest chunk sizes, the smallest and largest
     * windows. A 1 GiB chunk at a made-up 1 GiB-aligned address: the core
     * never touches the region, so allocation and free work on it too. */
    ca_test_core t;
    setup(&t, 1, 4, CA_CORE_MAX_WINDOW);
    ca_test_free(&t, ca_test_alloc(&t, 16, 0));
    ca_test_core_fini(&t);
    setup(&t, 5, 4, 1);
    ca_test_free(&t, ca_test_alloc(&t, 0, 0));
    ca_test_core_fini(&t);

    size_t meta_len = ca_core_meta_size(2);
    uint64_t *meta = malloc(meta_len);
    ck_assert_msg(meta != NULL, "out of memory");
    ca_core c;
    ca_core_ctx x;
    memset(&x, 0, sizeof x);
    void *giant = addr((uintptr_t)1 << 40);
    ca_core_status st = ca_core_init(&c, giant, 2, CA_CORE_MAX_CHUNK_SHIFT, meta, 4);
    ck_assert_msg(st == CA_CORE_OK, "init with 1 GiB chunks: status %d", (int)st);
    ck_assert_msg(ca_core_chunk_size(&c) == (size_t)1 << 30, "chunk size %zu",
                  ca_core_chunk_size(&c));
    void *p = ca_core_alloc(&c, &x, ((size_t)1 << 30) + 1, 0, false, &st);
    ck_assert_msg(p == giant && st == CA_CORE_OK, "1 GiB + 1 byte: %p, status %d", p, (int)st);
    const char *why = ca_core_check(&c, &x.tally);
    ck_assert_msg(why == NULL, "1 GiB chunks: %s", why ? why : "");
    ck_assert_msg(ca_core_free(&c, &x, p, false) == CA_CORE_OK, "free of the 1 GiB chunks");
    free(meta);
}
END_TEST

START_TEST(init_meta_size)
{
    ck_assert_msg(ca_core_meta_size(0) == 0, "meta size of 0 chunks: %zu", ca_core_meta_size(0));
    ck_assert_msg(ca_core_meta_size(CA_CORE_MAX_CHUNKS + 1) == 0,
                  "meta size above CA_CORE_MAX_CHUNKS: %zu",
                  ca_core_meta_size(CA_CORE_MAX_CHUNKS + 1));
    static const size_t ns[] = {1, 31, 32, 33, 2048, 2049, 131072, 131073, CA_CORE_MAX_CHUNKS};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        /* The map (32 chunks a word), two level-1 summaries (64 map words
         * a word), one level-2 summary (64 level-1 words a word), and the
         * over-aligned starts and the cached blocks (64 chunks a word
         * each). */
        size_t map = div_up(ns[i], 32), sum1 = div_up(map, 64), sum2 = div_up(sum1, 64);
        size_t want = (map + 2 * sum1 + sum2 + 2 * div_up(ns[i], 64)) * 8;
        ck_assert_msg(ca_core_meta_size(ns[i]) == want, "meta size of %zu chunks: %zu, not %zu",
                      ns[i], ca_core_meta_size(ns[i]), want);
    }
}
END_TEST

/* ================================================================ layout */

/* Memory aligned to the chunk size (and no more than needed). */
static unsigned char *chunk_aligned(size_t len, size_t cs)
{
    unsigned char *m = aligned_alloc(cs, div_up(len, cs) * cs);
    ck_assert_msg(m != NULL, "out of memory for %zu bytes", len);
    return m;
}

/* Front bytes a layout of n chunks of cs bytes spends on metadata. */
static size_t front_bytes(size_t n, size_t cs)
{
    return div_up(ca_core_meta_size(n), cs) * cs;
}

START_TEST(layout_carves_the_front)
{
    static const unsigned shifts[] = {4, 8, 12};
    static const size_t lens[] = {3 * 4096,  5 * 4096 + 1000, 65536,
                                  (size_t)1 << 20, ((size_t)1 << 20) + 17, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++)
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            size_t cs = (size_t)1 << shifts[i], len = lens[j];
            unsigned char *mem = chunk_aligned(len, cs);
            size_t n = 0;
            void *meta = NULL, *base = NULL;
            ca_core_status st = ca_core_layout(mem, len, shifts[i], NULL, NULL, &n, &meta, &base);
            ck_assert_msg(st == CA_CORE_OK, "layout of %zu bytes, chunk %zu: status %d", len, cs,
                          (int)st);
            unsigned char *b = base;
            ck_assert_msg(meta == mem, "layout of %zu bytes: metadata not at the front", len);
            ck_assert_msg((uintptr_t)b % cs == 0, "layout of %zu bytes: base not chunk aligned",
                          len);
            ck_assert_msg(b >= mem + ca_core_meta_size(n) && n <= (size_t)(mem + len - b) / cs,
                          "layout of %zu bytes: %zu chunks at offset %zu overlap the metadata "
                          "or run past the end",
                          len, n, (size_t)(b - mem));
            /* The chunks start at the first chunk boundary after the
             * metadata. (That n is the most that fits is not promised, and
             * it is not always so: 1 MiB of 16-byte chunks gets 64479
             * chunks where 64495 would fit with their metadata.) */
            ck_assert_msg((size_t)(b - mem) == front_bytes(n, cs),
                          "layout of %zu bytes: base at offset %zu, not %zu", len,
                          (size_t)(b - mem), front_bytes(n, cs));
            /* And the result is a working core. */
            ca_core c;
            ca_core_ctx x;
            memset(&x, 0, sizeof x);
            st = ca_core_init(&c, base, n, shifts[i], meta, 4);
            ck_assert_msg(st == CA_CORE_OK, "init on a layout: status %d", (int)st);
            void *p = ca_core_alloc(&c, &x, n * cs, 0, false, &st);
            ck_assert_msg(p == base, "the whole laid-out region is not one allocation at base");
            const char *why = ca_core_check(&c, &x.tally);
            ck_assert_msg(why == NULL, "layout core: %s", why ? why : "");
            free(mem);
        }
}
END_TEST

START_TEST(layout_too_small)
{
    static const unsigned shifts[] = {4, 8, 12};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        size_t cs = (size_t)1 << shifts[i];
        size_t smallest = front_bytes(1, cs) + cs; /* metadata, then one chunk */
        unsigned char *mem = chunk_aligned(smallest, cs);
        static const size_t shorter[] = {0, 1, 15};
        size_t n = 0;
        void *meta = NULL, *base = NULL;
        for (size_t j = 0; j < sizeof shorter / sizeof shorter[0]; j++) {
            ca_core_status st = ca_core_layout(mem, shorter[j], shifts[i], NULL, NULL, &n, &meta, &base);
            ck_assert_msg(st == CA_CORE_TOOSMALL, "layout of %zu bytes: status %d", shorter[j],
                          (int)st);
        }
        ca_core_status st = ca_core_layout(mem, cs, shifts[i], NULL, NULL, &n, &meta, &base);
        ck_assert_msg(st == CA_CORE_TOOSMALL, "layout of one chunk (no room for metadata): %d",
                      (int)st);
        st = ca_core_layout(mem, smallest - 1, shifts[i], NULL, NULL, &n, &meta, &base);
        ck_assert_msg(st == CA_CORE_TOOSMALL, "layout of %zu bytes, chunk %zu: status %d",
                      smallest - 1, cs, (int)st);
        st = ca_core_layout(mem, smallest, shifts[i], NULL, NULL, &n, &meta, &base);
        ck_assert_msg(st == CA_CORE_OK && n == 1 && base == mem + smallest - cs,
                      "layout of %zu bytes, chunk %zu: status %d, %zu chunks", smallest, cs,
                      (int)st, n);
        free(mem);
    }
}
END_TEST

/* ca_core_layout must refuse with `want` and not touch its outputs. */
static void expect_layout_refused(const char *what, void *mem, size_t len, unsigned shift,
                                  ca_core_status want)
{
    size_t n = 12345;
    void *sentinel = &n, *meta = sentinel, *base = sentinel;
    ca_core_status st = ca_core_layout(mem, len, shift, NULL, NULL, &n, &meta, &base);
    ck_assert_msg(st == want, "layout of %s: status %d, expected %d", what, (int)st, (int)want);
    ck_assert_msg(n == 12345 && meta == sentinel && base == sentinel,
                  "layout of %s wrote its outputs", what);
}

START_TEST(layout_refusals)
{
    unsigned char *mem = chunk_aligned(1 << 16, 256);
    expect_layout_refused("memory off by 8 bytes", mem + 8, 4096, 4, CA_CORE_MISALIGNED);
    expect_layout_refused("memory aligned to 16, chunk 256", mem + 16, 4096, 8,
                          CA_CORE_MISALIGNED);
    expect_layout_refused("chunk shift 3", mem, 4096, 3, CA_CORE_BADCHUNK);
    expect_layout_refused("chunk shift 31", mem, 4096, 31, CA_CORE_BADCHUNK);
    free(mem);
}
END_TEST

START_TEST(layout_wrapping_region)
{
    /* [mem, mem + len) wraps the address space. The layout only computes
     * (nothing is touched), and "refuses as ca_core_init does": init
     * refuses a region that wraps with TOOLARGE, so a layout whose chunks
     * would wrap must not be handed out. */
    size_t len = (size_t)1 << 21;
    uintptr_t mem = ~(uintptr_t)0 - (((uintptr_t)1 << 20) - 1); /* 1 MiB below the top */
    size_t n = 0;
    void *meta = NULL, *base = NULL;
    ca_core_status st = ca_core_layout(addr(mem), len, 4, NULL, NULL, &n, &meta, &base);
    if (st == CA_CORE_OK) {
        uintptr_t b = (uintptr_t)base;
        /* What init accepts: n <= (UINTPTR_MAX - base) >> shift. */
        ck_assert_msg(b >= mem && n <= (~(uintptr_t)0 - b) >> 4,
                      "layout of %zu bytes 1 MiB below the top of the address space: OK with "
                      "%zu chunks at %#jx, a region that wraps (init refuses it: TOOLARGE)",
                      len, n, (uintmax_t)b);
    } else {
        ck_assert_msg(st == CA_CORE_TOOLARGE, "layout of a wrapping range: status %d", (int)st);
    }
}
END_TEST

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
    t.ctx.hint = 0;
    void *a = ca_test_alloc(&t, cs, 4 * cs);
    size_t s = ca_test_chunk_of(&t, a);
    ck_assert_msg(s > 0 && s < 4, "4-chunk alignment over a chunk-aligned base: chunk %zu", s);
    t.ctx.hint = 0;
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
    ck_assert_msg(ca_core_align_of(&t.core, over, &align, false) == CA_CORE_OK &&
                      align >= 1024 && (uintptr_t)over % align == 0,
                  "an allocation aligned to 1024 must keep at least 1024, got %zu", align);
    ca_test_core_check(&t); /* the mark is checked too */
    size_t s = ca_test_chunk_of(&t, over);
    ca_test_free(&t, over);
    ca_test_core_check(&t);

    /* A plain allocation where the over-aligned one was: the mark is gone. */
    t.ctx.hint = s;
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

/* ca_core_alloc_room: the allocation goes where `room` more bytes are free
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
    t.ctx.hint = 0;
    void *p = ca_core_alloc_room(&t.core, &t.ctx, 2 * cs, 0, 4 * cs, false, &st);
    ca_test_core_check(&t);
    size_t s = ca_test_chunk_of(&t, p);
    ck_assert_msg(st == CA_CORE_OK && s >= 4, "with room: chunk %zu (the 3-chunk hole is too small)",
                  s);
    size_t bytes;
    ck_assert_msg(ca_core_usable(&t.core, p, &bytes, false) == CA_CORE_OK && bytes == 2 * cs,
                  "the room was taken: %zu bytes usable", bytes);
    ck_assert_msg(t.ctx.hint == s + 6, "the hint is at %zu, not past the room (%zu)", t.ctx.hint,
                  s + 6);
    /* The next allocation lands past the room, so the block can grow in place. */
    void *next = ca_test_alloc(&t, cs, 0);
    ck_assert_msg(ca_test_chunk_of(&t, next) >= s + 6, "next fit took the room");
    ck_assert_msg(ca_core_resize(&t.core, &t.ctx, p, 6 * cs, false) == CA_CORE_OK,
                  "growth into the room failed");
    ca_test_core_check(&t);

    /* No run with room anywhere: the allocation alone, and no failure. */
    size_t failures = atomic_load_explicit(&t.ctx.tally.failures, memory_order_relaxed);
    void *q = ca_core_alloc_room(&t.core, &t.ctx, cs, 0, 1024 * cs, false, &st);
    ck_assert_msg(st == CA_CORE_OK && q != NULL, "without room to spare the allocation failed");
    ck_assert_msg(atomic_load_explicit(&t.ctx.tally.failures, memory_order_relaxed) == failures,
                  "the attempt with room counted as a failure");
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
        void *p = ca_core_alloc(&t.core, &t.ctx, 64, aligns[i], false, &st);
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

/* An allocation that must fail with NOMEM and change nothing but the
 * failure counter (and, legitimately, lower the bound: the check verifies
 * it stays at least the longest free run). */
static void expect_nomem_unchanged(ca_test_core *t, size_t size, size_t align)
{
    ca_test_snapshot s = {0};
    ca_test_snapshot_take(&s, t);
    ca_core_status st = CA_CORE_OK;
    void *p = ca_core_alloc(&t->core, &t->ctx, size, align, false, &st);
    ck_assert_msg(p == NULL && st == CA_CORE_NOMEM,
                  "size %zu align %zu in %zu chunks: %p, status %d, expected NOMEM", size, align,
                  t->nchunks, p, (int)st);
    s.counts.failures++;
    s.bound = atomic_load_explicit(&t->core.bound, memory_order_relaxed);
    expect_unchanged(&s, t, "a failed allocation");
    ca_test_snapshot_fini(&s);
    ca_test_core_check(t);
}

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
            void *p = ca_core_alloc(&t.core, &t.ctx, size, aligns[i], false, &st);
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
    want.requested++;
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
    ck_assert_msg(t.ctx.hint == 12, "window %u: hint %zu after chunks 8..11", window, t.ctx.hint);
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
    t.ctx.hint = SIZE_MAX;
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
    t.ctx.hint = hint;
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

static void resize_ok(ca_test_core *t, void *p, size_t size)
{
    ca_core_status st = ca_core_resize(&t->core, &t->ctx, p, size, false);
    ck_assert_msg(st == CA_CORE_OK, "resize of chunk %zu to %zu bytes: status %d",
                  ca_test_chunk_of(t, p), size, (int)st);
    ca_test_core_check(t);
    ck_assert_msg(usable_of(t, p) == chunks_for(t, size) * t->chunk_size,
                  "resized to %zu bytes: usable %zu", size, usable_of(t, p));
}

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
    want.grows = 3;
    want.requested += 1;
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
    t.ctx.hint = 0;
    void *tail = ca_test_alloc(&t, 3 * cs, 0);
    ck_assert_msg(tail == chunk_ptr(&t, 2), "the freed tail (chunks 2..4) was not reused: %zu",
                  ca_test_chunk_of(&t, tail));
    /* Across a word boundary: 40 chunks at 6 shrink to 10; 16..45 return. */
    resize_ok(&t, r[2], 10 * cs);
    t.ctx.hint = 0;
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
    want.chunks += 4, want.allocs++, want.requested += 3 * cs + 1;
    expect_counts(&t, &want, "alloc 3 chunks + 1 byte");
    void *c = ca_test_alloc(&t, 0, 0);
    want.chunks++, want.allocs++;
    expect_counts(&t, &want, "alloc 0 bytes");
    ca_test_free(&t, a);
    want.chunks--, want.allocs--;
    expect_counts(&t, &want, "free of a one-chunk block");
    resize_ok(&t, c, 6 * cs);
    want.chunks += 5, want.grows++;
    expect_counts(&t, &want, "grow 1 -> 6 chunks");
    resize_ok(&t, b, cs);
    want.chunks -= 3, want.shrinks++;
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
    ck_assert_msg(ca_core_alloc(&t.core, &other, 100 * cs, 0, false, &st) == NULL,
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
            want.used_chunks += len;
            want.allocations++;
        }
        bool run_ends = !is_free || i == count;
        if (run_ends && run > 0) {
            want.free_runs++;
            want.largest_free = run > want.largest_free ? run : want.largest_free;
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
    t.ctx.hint = 40;
    void *four = ca_test_alloc(&t, 4 * cs, 0);
    ck_assert_msg(four == t.region, "4 chunks after freeing chunk 0: chunk %zu",
                  ca_test_chunk_of(&t, four));

    /* Through a shrink: 7 chunks at 17 shrink to 1, 18..23 join 25..27
     * once chunk 24 goes too: 10 chunks. */
    expect_nomem_unchanged(&t, 9 * cs, 0);
    resize_ok(&t, seven, cs);
    ca_test_free(&t, r[12]);
    t.ctx.hint = 0;
    void *ten = ca_test_alloc(&t, 10 * cs, 0);
    ck_assert_msg(ten == chunk_ptr(&t, 18), "10 chunks after a shrink and a free: chunk %zu",
                  ca_test_chunk_of(&t, ten));
    ca_test_core_fini(&t);
}
END_TEST

/* ================================================================ check */

enum meta_array { MAP, SUM_FULL, SUM_USED, SUM_FULL2 };

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
        void *q = ca_core_alloc(&t->core, &t->ctx, size, align, shared, &r.st);
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

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    struct {
        const char *name;
        const TTest *tests[12];
    } cases[] = {
        {"init", {init_refusals, init_accepts_edges, init_meta_size}},
        {"layout", {layout_carves_the_front, layout_too_small, layout_refusals,
                    layout_wrapping_region}},
        {"alloc",
         {alloc_size_zero_is_unique, alloc_rounds_up_to_chunks, alloc_small_alignment_is_free,
          alloc_large_alignment_is_honoured, alloc_bad_alignment, alloc_huge_sizes,
          alloc_huge_alignments, alloc_full_arena, alloc_next_fit, alloc_best_fit_window,
          alloc_align_of_remembers_over_alignment, alloc_room_is_left_free}},
        {"free", {free_valid, free_faults}},
        {"resize", {resize_grows_in_place, resize_grow_blocked, resize_shrink_gives_the_tail_back,
                    resize_same_chunk_count}},
        {"counters", {counters_follow_operations, counters_sum_over_contexts}},
        {"whole", {reset_empties, owns_edges, scan_constructed_layouts}},
        {"bound", {failure_bound_rises_again}},
        {"check", {check_detects_corruption}},
        {"shared", {shared_mode_matches_exclusive}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, TIMEOUT);
        for (size_t j = 0; j < 12 && cases[i].tests[j]; j++)
            tcase_add_test(tc, cases[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
