/* SPDX-License-Identifier: MIT */
/*
 * tests/api/meta.c — suite "api", the metadata sizes, including the static
 * bound CA_PRIVATE_META_BOUND. Single threaded.
 */
#include "tests/api/common.h"

/* ========================================================== TCase "meta" */

START_TEST(meta_size_refusals)
{
    const ca_config zero = {0};
    errno = 0;
    ck_assert_msg(ca_arena_meta_size(0, NULL) == 0 && errno == EINVAL, "0 chunks, NULL config");
    errno = 0;
    ck_assert_msg(ca_arena_meta_size(0, &zero) == 0 && errno == EINVAL, "0 chunks");
    static const size_t bad_chunks[] = {1, 8, 24, 100, 4097};
    for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        ca_config c = {.chunk_size = bad_chunks[i]};
        errno = 0;
        ck_assert_msg(ca_arena_meta_size(10, &c) == 0 && errno == EINVAL, "chunk size %zu",
                      bad_chunks[i]);
    }
    static const unsigned bad_locks[] = {6, 99, UINT_MAX};
    for (size_t i = 0; i < 3; i++) {
        ca_config c = {.lock = (ca_lock)bad_locks[i]};
        errno = 0;
        ck_assert_msg(ca_arena_meta_size(10, &c) == 0 && errno == EINVAL, "lock %u", bad_locks[i]);
    }
    ck_assert_msg(ca_arena_meta_size(1, NULL) > 0, "1 chunk, defaults");
    ca_config mutex = {.lock = CA_LOCK_MUTEX}, hint = {.lock = CA_LOCK_HINT};
    ck_assert_msg(ca_arena_meta_size(1000, &hint) == ca_arena_meta_size(1000, &mutex),
                  "hint keeps per-thread state in the arena's bookkeeping");
}
END_TEST

/* A separate buffer of exactly ca_arena_meta_size bytes works (and the
 * library writes nothing past it: AddressSanitizer would see it); one byte
 * less is ENOMEM. */
START_TEST(meta_size_is_exact_for_create)
{
    ca_lock lock = layers[_i];
    static const size_t ns[] = {1,    2,     31,    32,     33,     63,     64,     65,      2047,
                                2048, 2049,  4096,  65535,  65536,  65537,  131072, 131073,
                                (size_t)1 << 20};
    const size_t max = (size_t)1 << 20;
    unsigned char *mem = aligned_block(64, max * 16);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        ca_config c = {.chunk_size = 16, .lock = lock};
        size_t ms = ca_arena_meta_size(ns[i], &c);
        ck_assert_msg(ms > 0, "meta_size(%zu)", ns[i]);
        unsigned char *meta = aligned_block(64, ms);
        c.meta = meta;
        c.meta_len = ms - 1;
        char what[64];
        snprintf(what, sizeof what, "%zu chunks, meta_len one short", ns[i]);
        expect_refused(what, "meta-exact", mem, ns[i] * 16, &c, ENOMEM);
        c.meta_len = ms;
        ca_arena *a = ca_arena_create("meta-exact", mem, ns[i] * 16, &c);
        ck_assert_msg(a != NULL, "%zu chunks (%s) with meta_len = ca_arena_meta_size = %zu: %s",
                      ns[i], ca_lock_name(lock), ms, strerror(errno));
        ck_assert_uint_eq(stats_of(a).chunks_total, ns[i]);
        void *p = ca_alloc(a, ns[i] * 16);
        ck_assert_msg(p == mem, "%zu chunks: the whole region", ns[i]);
        ca_free(a, p);
        ck_assert_int_eq(ca_arena_destroy(a), 0);
        free(meta);
    }
    free(mem);
}
END_TEST

/*
 * CA_PRIVATE_META_BOUND(n) must hold what a static arena of n chunks needs
 * under every layer. The rigorous form: a static arena's set-up (api/arena.c,
 * set_up_static) accepts its buffer iff sizeof ca_meta_id =
 * CA_PRIVATE_META_BOUND(n) >= ca_sync_meta_size(layer, n), and its arena
 * object lives apart in CA_PRIVATE_OBJECT_BYTES. So, for n = 1..5000 and a
 * spread of large n up to the largest chunk count, and every layer:
 *   - ca_sync_meta_size(layer, n) <= CA_PRIVATE_META_BOUND(n), and
 *   - the public ca_arena_meta_size(n) is that same need plus a room for
 *     the object (and its alignment) that does not depend on n and fits
 *     CA_PRIVATE_OBJECT_BYTES + 64: the public figure and the static
 *     check measure the same bookkeeping.
 * End to end (meta_bound_static_edges), the static arenas bound-* are set up
 * and usable at the chunk counts where the bookkeeping crosses a boundary.
 */
static void check_bound(size_t n, size_t *room)
{
    for (unsigned k = 0; k < NLAYERS; k++) {
        size_t need = ca_sync_meta_size(layers[k], n);
        ck_assert_msg(need > 0 && need <= CA_PRIVATE_META_BOUND(n),
                      "%zu chunks under %s need %zu bytes of bookkeeping; "
                      "CA_PRIVATE_META_BOUND gives %zu",
                      n, ca_lock_name(layers[k]), need, CA_PRIVATE_META_BOUND(n));
        ca_config c = {.chunk_size = 16, .lock = layers[k]};
        size_t pub = ca_arena_meta_size(n, &c);
        ck_assert_msg(pub > need, "%zu chunks, %s: ca_arena_meta_size %zu <= the need %zu", n,
                      ca_lock_name(layers[k]), pub, need);
        if (room[k] == 0)
            room[k] = pub - need;
        ck_assert_msg(pub - need == room[k] && room[k] <= CA_PRIVATE_OBJECT_BYTES + 64,
                      "%zu chunks, %s: ca_arena_meta_size %zu = need %zu + %zu (elsewhere + %zu)", n,
                      ca_lock_name(layers[k]), pub, need, pub - need, room[k]);
    }
}

START_TEST(meta_bound_covers_every_layer)
{
    size_t room[NLAYERS] = {0};
    for (size_t n = 1; n <= 5000; n++)
        check_bound(n, room);
    const size_t top = (size_t)1 << 40; /* the largest chunk count of the core */
    for (unsigned k = 13; k <= 40; k++)
        for (int d = -1; d <= 1; d++) {
            size_t n = ((size_t)1 << k) + (size_t)(ptrdiff_t)d;
            if (n <= top)
                check_bound(n, room);
        }
    for (size_t p = 10000; p <= top; p *= 10) {
        check_bound(p, room);
        if (3 * p <= top)
            check_bound(3 * p, room);
        check_bound(p + 4097, room);
    }
}
END_TEST

START_TEST(meta_bound_static_edges)
{
    const static_case *sc = &bound_cases[_i];
    ca_arena *a = sc->arena;
    ck_assert_msg(ca_arena_find(sc->name) == a, "\"%s\" not registered", sc->name);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_total == sc->nchunks && s.lock == CA_LOCK_HINT,
                  "\"%s\": %zu chunks, %s", sc->name, s.chunks_total, ca_lock_name(s.lock));
    unsigned char *p = ca_alloc(a, sc->region_len);
    ck_assert_msg(p == sc->region, "\"%s\": whole region at %p, not %p", sc->name, (void *)p,
                  (const void *)sc->region);
    expect_healthy(a, sc->name);
    ca_free(a, p);
    void *q = ca_alloc(a, 1);
    ck_assert(q != NULL);
    ca_free(a, q);
    expect_healthy(a, sc->name);
}
END_TEST


void api_add_meta(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "meta");
    tcase_add_test(tc, meta_size_refusals);
    tcase_add_loop_test(tc, meta_size_is_exact_for_create, 0, NLAYERS);
    tcase_add_test(tc, meta_bound_covers_every_layer);
    tcase_add_loop_test(tc, meta_bound_static_edges, 0, (int)NBOUND);
}
