/* SPDX-License-Identifier: MIT */
/*
 * tests/core/layout.c — suite "core", what init and layout refuse (and that a
 * refusal leaves the core untouched), and what they accept. Single threaded.
 */
#include "tests/core/common.h"

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
    void *p = ca_core_alloc(&c, &x, ((size_t)1 << 30) + 1, 0, 0, false, &st);
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
         * a word), one level-2 summary (64 level-1 words a word), the
         * alignment records (planes of n/2 + n/4 + ... bits, under n + 64),
         * the cached blocks (64 chunks a word) and the fit index (8 map
         * words a word). */
        size_t map = div_up(ns[i], 32), sum1 = div_up(map, 64), sum2 = div_up(sum1, 64);
        size_t want = (map + 2 * sum1 + sum2 + div_up(ns[i] + 64, 64) + div_up(ns[i], 64) +
                       div_up(map, 8)) *
                      8;
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
            void *p = ca_core_alloc(&c, &x, n * cs, 0, 0, false, &st);
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

void core_add_layout(Suite *s)
{
    TCase *tc;
    tc = core_tcase(s, "init");
    tcase_add_test(tc, init_refusals);
    tcase_add_test(tc, init_accepts_edges);
    tcase_add_test(tc, init_meta_size);
    tc = core_tcase(s, "layout");
    tcase_add_test(tc, layout_carves_the_front);
    tcase_add_test(tc, layout_too_small);
    tcase_add_test(tc, layout_refusals);
    tcase_add_test(tc, layout_wrapping_region);
}
