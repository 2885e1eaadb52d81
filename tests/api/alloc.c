/* SPDX-License-Identifier: MIT */
/*
 * tests/api/alloc.c — suite "api", allocation: ca_alloc, ca_aligned_alloc,
 * ca_calloc, ca_usable_size. Single threaded.
 */
#include "tests/api/common.h"

/* ========================================================= TCase "alloc" */

START_TEST(alloc_size_zero_is_unique)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "zero", 8, 64, layers[_i]);
    unsigned char *p = ca_alloc(a, 0), *q = ca_alloc(a, 0);
    ck_assert_msg(p != NULL && q != NULL, "size 0: %p, %p", (void *)p, (void *)q);
    ck_assert_msg(p != q && (p + 64 <= q || q + 64 <= p), "two size-0 allocations overlap: %p %p",
                  (void *)p, (void *)q);
    ck_assert_uint_eq(ca_usable_size(a, p), 64);
    ck_assert_uint_eq(ca_usable_size(a, q), 64);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 2 && s.allocations == 2, "two size-0: %zu chunks, %zu live",
                  s.chunks_used, s.allocations);
    ca_free(a, p);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(alloc_rounds_up_to_chunks)
{
    const size_t cs = 128;
    tarena t;
    ca_arena *a = tarena_make(&t, "rounding", 64, cs, layers[_i]);
    const size_t sizes[] = {1, 16, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 1, 10 * cs - 1};
    void *p[sizeof sizes / sizeof sizes[0]];
    size_t used = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = ca_alloc(a, sizes[i]);
        ck_assert_msg(p[i] != NULL, "alloc(%zu) failed", sizes[i]);
        ck_assert_msg((uintptr_t)p[i] % cs == 0 && (uintptr_t)p[i] % 16 == 0,
                      "alloc(%zu) = %p is not chunk aligned", sizes[i], p[i]);
        size_t n = chunks_for(sizes[i], cs);
        used += n;
        ck_assert_msg(ca_usable_size(a, p[i]) == n * cs, "alloc(%zu): usable %zu, expected %zu",
                      sizes[i], ca_usable_size(a, p[i]), n * cs);
        ck_assert_msg(stats_of(a).chunks_used == used, "after alloc(%zu): %zu chunks used, not %zu",
                      sizes[i], stats_of(a).chunks_used, used);
        memset(p[i], (int)i, sizes[i]);
    }
    expect_healthy(a, "rounding");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        ca_free(a, p[i]);
    tarena_drop(&t);
}
END_TEST

/* A full arena: NULL with ENOMEM (fast, on the known-longest-run path, but
 * only the behaviour is asserted), counted as failures; room made by a free
 * is found again. */
START_TEST(alloc_full_arena)
{
    const size_t cs = 64, n = 32;
    tarena t;
    ca_arena *a = tarena_make(&t, "full", n, cs, layers[_i]);
    errno = 0;
    ck_assert_msg(ca_alloc(a, n * cs + 1) == NULL && errno == ENOMEM, "more than the arena");
    errno = 0;
    ck_assert_msg(ca_alloc(a, SIZE_MAX) == NULL && errno == ENOMEM, "SIZE_MAX");
    errno = 0;
    ck_assert_msg(ca_alloc(a, SIZE_MAX - cs + 2) == NULL && errno == ENOMEM,
                  "a size whose rounding overflows");
    char map[64];
    shape(&t, map_of(map, n, '#'));
    size_t failures = stats_of(a).failures;
    errno = 0;
    ck_assert_msg(ca_alloc(a, 1) == NULL && errno == ENOMEM, "alloc(1) from a full arena: errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_alloc(a, 0) == NULL && errno == ENOMEM, "alloc(0) from a full arena");
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, 16, 1) == NULL && errno == ENOMEM, "aligned, full arena");
    errno = 0;
    ck_assert_msg(ca_calloc(a, 1, 1) == NULL && errno == ENOMEM, "calloc, full arena");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.failures == failures + 4, "4 failed allocations counted as %zu",
                  s.failures - failures);
    ck_assert_msg(s.chunks_used == n && s.largest_free_run == 0 && s.free_runs == 0,
                  "full: %zu used, longest free %zu, %zu runs", s.chunks_used, s.largest_free_run,
                  s.free_runs);
    ca_free(a, chunk(&t, 17));
    void *p = ca_alloc(a, cs);
    ck_assert_msg(p == chunk(&t, 17), "the one free chunk (17) is not found: %p", p);
    ca_free(a, chunk(&t, 17));
    errno = 0;
    ck_assert_msg(ca_alloc(a, 2 * cs) == NULL && errno == ENOMEM, "two chunks from a one-chunk hole");
    expect_healthy(a, "full arena");
    tarena_drop(&t);
}
END_TEST

START_TEST(alloc_null_arena)
{
    errno = 0;
    ck_assert_msg(ca_alloc(NULL, 1) == NULL && errno == EINVAL, "alloc(NULL arena): errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(NULL, 64, 1) == NULL && errno == EINVAL, "aligned_alloc(NULL)");
    errno = 0;
    ck_assert_msg(ca_calloc(NULL, 1, 1) == NULL && errno == EINVAL, "calloc(NULL arena)");
    errno = 0;
    ck_assert_msg(ca_realloc(NULL, NULL, 1) == NULL && errno == EINVAL, "realloc(NULL arena, NULL)");
    ca_stats s;
    errno = 0;
    ck_assert_msg(ca_arena_stats(NULL, &s) == -1 && errno == EINVAL, "stats(NULL arena)");
}
END_TEST

/* "errno is left alone on success", for every function that sets it. */
START_TEST(errno_untouched_on_success)
{
    const size_t len = 64 * 1024;
    unsigned char *mem = aligned_block(4096, len);
#define KEEPS_ERRNO(call)                                                                       \
    do {                                                                                        \
        errno = ERANGE;                                                                         \
        call;                                                                                   \
        ck_assert_msg(errno == ERANGE, "%s succeeded but changed errno to %d (%s)", #call,       \
                      errno, strerror(errno));                                                  \
    } while (0)
    ca_arena *a = NULL;
    ca_config c = {.chunk_size = 256, .lock = CA_LOCK_HINT};
    size_t ms = 0;
    KEEPS_ERRNO(ms = ca_arena_meta_size(100, &c));
    ck_assert(ms > 0);
    KEEPS_ERRNO(a = ca_arena_create("errno", mem, len, &c));
    ck_assert(a != NULL);
    ca_arena *f = NULL;
    KEEPS_ERRNO(f = ca_arena_find("errno"));
    ck_assert(f == a);
    size_t n = 0;
    KEEPS_ERRNO(n = ca_arena_list(NULL, 0));
    ck_assert(n > 0);
    void *p = NULL, *q = NULL, *r = NULL;
    KEEPS_ERRNO(p = ca_alloc(a, 100));
    ck_assert(p != NULL);
    KEEPS_ERRNO(f = ca_arena_of(p));
    ck_assert(f == a);
    KEEPS_ERRNO(q = ca_aligned_alloc(a, 1024, 100));
    ck_assert(q != NULL);
    KEEPS_ERRNO(r = ca_calloc(a, 10, 10));
    ck_assert(r != NULL);
    KEEPS_ERRNO(p = ca_realloc(a, p, 1000));
    ck_assert(p != NULL);
    KEEPS_ERRNO(q = ca_aligned_realloc(a, q, 1024, 2000));
    ck_assert(q != NULL);
    int rc = -1;
    KEEPS_ERRNO(rc = ca_resize(a, r, 50));
    ck_assert(rc == 0);
    size_t u = 0;
    KEEPS_ERRNO(u = ca_usable_size(a, r));
    ck_assert(u == 256);
    ca_stats s;
    KEEPS_ERRNO(rc = ca_arena_stats(a, &s));
    ck_assert(rc == 0);
    FILE *out = tmpfile();
    ck_assert(out != NULL);
    KEEPS_ERRNO(rc = ca_arena_dump(a, out));
    ck_assert(rc == 0);
    fclose(out);
    const char *why = "x";
    KEEPS_ERRNO(why = ca_arena_check(a));
    ck_assert(why == NULL);
    ca_fault fault = CA_FAULT_FOREIGN;
    KEEPS_ERRNO(fault = ca_free_checked(a, r));
    ck_assert(fault == CA_FAULT_NONE);
    KEEPS_ERRNO(ca_free(a, p));
    KEEPS_ERRNO(ca_free_any(q));
    KEEPS_ERRNO(ca_arena_reset(a));
    KEEPS_ERRNO(rc = ca_arena_destroy(a));
    ck_assert(rc == 0);
#undef KEEPS_ERRNO
    free(mem);
}
END_TEST

/* Every power-of-two alignment, below, at and above the chunk size. */
START_TEST(aligned_alloc_honoured)
{
    const size_t cs = 256;
    tarena t;
    ca_arena *a = tarena_make_aligned(&t, "aligned", 64, cs, layers[_i], 16384);
    for (size_t align = 1; align <= 16384; align *= 2) {
        const size_t sizes[] = {1, 300, 4096};
        for (size_t k = 0; k < 3; k++) {
            unsigned char *p = ca_aligned_alloc(a, align, sizes[k]);
            ck_assert_msg(p != NULL, "aligned_alloc(%zu, %zu) failed: %s", align, sizes[k],
                          strerror(errno));
            ck_assert_msg((uintptr_t)p % align == 0 && (uintptr_t)p % cs == 0,
                          "aligned_alloc(%zu, %zu) = %p", align, sizes[k], (void *)p);
            ck_assert_msg(ca_usable_size(a, p) >= sizes[k], "usable size below the request");
            memset(p, 1, sizes[k]);
            ca_free(a, p);
        }
    }
    /* an alignment no address of the region has */
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, (size_t)1 << 62, 1) == NULL && errno == ENOMEM,
                  "alignment 2^62: errno %d, expected ENOMEM", errno);
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, (SIZE_MAX >> 1) + 1, 1) == NULL && errno == ENOMEM,
                  "alignment 2^63: errno %d, expected ENOMEM", errno);
    /* over-aligned starts are scarce: only chunk 48 qualifies for 4096 */
    char map[65];
    map_of(map, 64, '.');
    map[0] = map[16] = map[32] = '#';
    shape(&t, map);
    unsigned char *p = ca_aligned_alloc(a, 4096, 512);
    ck_assert_msg(p == chunk(&t, 48), "the only 4096-aligned free start is chunk 48, got chunk %zu",
                  p ? index_of(&t, p) : SIZE_MAX);
    ca_free(a, p);
    expect_healthy(a, "aligned");
    tarena_drop(&t);
}
END_TEST

START_TEST(aligned_alloc_bad_alignment)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "bad-align", 16, 64, layers[_i]);
    ca_stats before = stats_of(a);
    static const size_t bad[] = {3, 6, 48, 100, 4095, 4097, SIZE_MAX, (SIZE_MAX >> 1) + 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = ca_aligned_alloc(a, bad[i], 10);
        ck_assert_msg(p == NULL && errno == EINVAL, "alignment %zu: %p, errno %d; expected EINVAL",
                      bad[i], p, errno);
    }
    expect_unchanged(a, &before, "refused alignments");
    tarena_drop(&t);
}
END_TEST

/* 0 is not a power of two: ca_aligned_alloc must refuse it as the header
 * says (and as ca_aligned_realloc does). */
START_TEST(aligned_alloc_zero_alignment)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "zero-align", 16, 64, CA_LOCK_MUTEX);
    errno = 0;
    void *p = ca_aligned_alloc(a, 0, 10);
    int e = errno;
    if (p)
        ca_free(a, p);
    void *q = ca_alloc(a, 10);
    ck_assert(q != NULL);
    errno = 0;
    void *r = ca_aligned_realloc(a, q, 0, 10);
    int e2 = errno;
    ca_free(a, r ? r : q);
    tarena_drop(&t);
    ck_assert_msg(r == NULL && e2 == EINVAL, "ca_aligned_realloc(align 0): %p, errno %d", r, e2);
    ck_assert_msg(p == NULL && e == EINVAL,
                  "ca_aligned_alloc(a, 0, 10) returned %p (errno %d): alignment 0 is not a power "
                  "of two, expected NULL with EINVAL (ca_aligned_realloc refuses 0)",
                  p, e);
}
END_TEST

/* calloc zeroes even memory that was dirty. */
START_TEST(calloc_zeroes_dirty_memory)
{
    const size_t cs = 128, n = 16;
    tarena t;
    ca_arena *a = tarena_make(&t, "calloc", n, cs, layers[_i]);
    unsigned char *p = ca_alloc(a, n * cs);
    ck_assert(p == t.mem);
    memset(p, 0xA5, n * cs);
    ca_free(a, p);
    unsigned char *z = ca_calloc(a, n, cs);
    ck_assert_msg(z == t.mem, "calloc of the whole arena: %p", (void *)z);
    for (size_t i = 0; i < n * cs; i++)
        ck_assert_msg(z[i] == 0, "calloc(%zu, %zu): byte %zu is 0x%02x", n, cs, i, z[i]);
    memset(z, 0x5A, n * cs);
    ca_free(a, z);
    z = ca_calloc(a, 7, 51);
    ck_assert_msg(z != NULL, "calloc(7, 51)");
    for (size_t i = 0; i < 7 * 51; i++)
        ck_assert_msg(z[i] == 0, "calloc(7, 51): byte %zu is 0x%02x", i, z[i]);
    unsigned char *e = ca_calloc(a, 0, 10);
    ck_assert_msg(e != NULL && e != z, "calloc(0, 10): a unique pointer, got %p", (void *)e);
    ca_free(a, z);
    ca_free(a, e);
    tarena_drop(&t);
}
END_TEST

START_TEST(calloc_overflow)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "calloc-overflow", 16, 64, layers[_i]);
    ca_stats before = stats_of(a);
    const size_t half = (SIZE_MAX >> 1) + 1;
    const size_t cases[][2] = {{half, 2},         {2, half},     {SIZE_MAX, SIZE_MAX},
                               {SIZE_MAX, 2},     {SIZE_MAX, 1}, {1, SIZE_MAX},
                               {(size_t)1 << 32, (size_t)1 << 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        errno = 0;
        void *p = ca_calloc(a, cases[i][0], cases[i][1]);
        ck_assert_msg(p == NULL && errno == ENOMEM, "calloc(%zu, %zu): %p, errno %d", cases[i][0],
                      cases[i][1], p, errno);
    }
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == before.chunks_used && s.allocations == 0,
                  "refused callocs allocated something");
    expect_healthy(a, "calloc overflow");
    tarena_drop(&t);
}
END_TEST

START_TEST(usable_size_rules)
{
    const size_t cs = 64;
    tarena t;
    ca_arena *a = tarena_make(&t, "usable", 64, cs, layers[_i]);
    const size_t sizes[] = {0, 1, 63, 64, 65, 200, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = ca_alloc(a, sizes[i]);
        ck_assert(p != NULL);
        size_t u = ca_usable_size(a, p);
        ck_assert_msg(u >= sizes[i] && u % cs == 0 && u == chunks_for(sizes[i], cs) * cs,
                      "usable_size after alloc(%zu): %zu", sizes[i], u);
        ca_free(a, p);
    }
    ck_assert_uint_eq(ca_usable_size(a, NULL), 0);
    recorder_on();
    unsigned char *p = ca_alloc(a, 100);
    ck_assert_uint_eq(ca_usable_size(a, p + 1), 0);
    expect_fault("ca_usable_size", "usable", p + 1, CA_FAULT_INTERIOR);
    ca_free(a, p);
    ck_assert_uint_eq(ca_usable_size(a, p), 0);
    expect_fault("ca_usable_size", "usable", p, CA_FAULT_NOT_ALLOCATED);
    tarena_drop(&t);
}
END_TEST


void api_add_alloc(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "alloc");
    tcase_add_loop_test(tc, alloc_size_zero_is_unique, 0, NLAYERS);
    tcase_add_loop_test(tc, alloc_rounds_up_to_chunks, 0, NLAYERS);
    tcase_add_loop_test(tc, alloc_full_arena, 0, NLAYERS);
    tcase_add_test(tc, alloc_null_arena);
    tcase_add_test(tc, errno_untouched_on_success);
    tcase_add_loop_test(tc, aligned_alloc_honoured, 0, NLAYERS);
    tcase_add_loop_test(tc, aligned_alloc_bad_alignment, 0, NLAYERS);
    tcase_add_test(tc, aligned_alloc_zero_alignment);
    tcase_add_loop_test(tc, calloc_zeroes_dirty_memory, 0, NLAYERS);
    tcase_add_loop_test(tc, calloc_overflow, 0, NLAYERS);
    tcase_add_loop_test(tc, usable_size_rules, 0, NLAYERS);
}
