/* SPDX-License-Identifier: MIT */
/*
 * tests/api/lookup.c — suite "api", lookups: by name, by address, and the registry listing.
 * Single threaded.
 */
#include "tests/api/common.h"

/* ======================================================== TCase "lookup" */

START_TEST(find_by_name)
{
    tarena t1, t2;
    ca_arena *a1 = tarena_make(&t1, "look-a", 8, 64, CA_LOCK_MUTEX);
    ca_arena *a2 = tarena_make(&t2, "look-b", 8, 64, CA_LOCK_HINT);
    ck_assert_msg(ca_arena_find("look-a") == a1, "look-a");
    ck_assert_msg(ca_arena_find("look-b") == a2, "look-b");
    ck_assert_str_eq(ca_arena_name(a1), "look-a");
    ck_assert_str_eq(ca_arena_name(a2), "look-b");
    static const char *const unknown[] = {"look", "look-", "look-c", "LOOK-A", "look-a ", ""};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        errno = 0;
        ca_arena *f = ca_arena_find(unknown[i]);
        ck_assert_msg(f == NULL && errno == ENOENT, "find(\"%s\"): %p, errno %d; expected ENOENT",
                      unknown[i], (void *)f, errno);
    }
    errno = 0;
    ck_assert_msg(ca_arena_find(NULL) == NULL && errno == EINVAL, "find(NULL): errno %d", errno);
    for (size_t i = 0; i < NSTATIC; i++) {
        ck_assert_msg(ca_arena_find(static_cases[i].name) == static_cases[i].arena,
                      "static \"%s\" not found by name", static_cases[i].name);
        ck_assert_str_eq(ca_arena_name(static_cases[i].arena), static_cases[i].name);
    }
    tarena_drop(&t1);
    tarena_drop(&t2);
}
END_TEST

START_TEST(list_snapshot_and_truncation)
{
    size_t before = registered();
    ca_arena *prior[128];
    ck_assert_msg(before <= 128, "%zu arenas registered", before);
    ck_assert_uint_eq(ca_arena_list(prior, 128), before);
    tarena t[3];
    ca_arena *a[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "list-%d", i);
        a[i] = tarena_make(&t[i], name, 8, 64, CA_LOCK_SPIN);
    }
    ca_arena *out[130];
    size_t n = ca_arena_list(out, 130);
    ck_assert_msg(n == before + 3, "list: %zu arenas, expected %zu", n, before + 3);
    /* newest first */
    ck_assert_msg(out[0] == a[2] && out[1] == a[1] && out[2] == a[0],
                  "list is not newest first: %s, %s, %s", ca_arena_name(out[0]),
                  ca_arena_name(out[1]), ca_arena_name(out[2]));
    for (size_t i = 0; i < before; i++)
        ck_assert_msg(out[3 + i] == prior[i], "older arena %zu moved in the list", i);
    /* every listed arena is found by its name */
    for (size_t i = 0; i < n; i++) {
        const char *name = ca_arena_name(out[i]);
        if (strcmp(name, "static-dup") != 0)
            ck_assert_msg(ca_arena_find(name) == out[i], "listed \"%s\" is not what find gives",
                          name);
    }
    /* truncated: max smaller than the count */
    ca_arena *small[3] = {NULL, NULL, (ca_arena *)&small};
    n = ca_arena_list(small, 2);
    ck_assert_msg(n == before + 3, "truncated list returned %zu, expected the full count %zu", n,
                  before + 3);
    ck_assert_msg(small[0] == a[2] && small[1] == a[1], "truncated list: wrong first two");
    ck_assert_msg(small[2] == (ca_arena *)&small, "list wrote past max");
    ck_assert_uint_eq(ca_arena_list(NULL, 0), before + 3);
    /* after destroying the middle one */
    tarena_drop(&t[1]);
    n = ca_arena_list(out, 130);
    ck_assert_msg(n == before + 2 && out[0] == a[2] && out[1] == a[0],
                  "after destroying list-1: %zu arenas, first %s, %s", n, ca_arena_name(out[0]),
                  ca_arena_name(out[1]));
    tarena_drop(&t[0]);
    tarena_drop(&t[2]);
    ck_assert_uint_eq(registered(), before);
}
END_TEST

START_TEST(of_region_edges)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "edges", 16, 256, CA_LOCK_MUTEX);
    ck_assert_msg(ca_arena_of(t.mem) == a, "first byte of the region");
    ck_assert_msg(ca_arena_of(t.mem + t.len - 1) == a, "last byte of the region");
    ck_assert_msg(ca_arena_of(t.mem + t.len / 2 + 3) == a, "a byte in the middle");
    errno = 0;
    ck_assert_msg(ca_arena_of(t.mem + t.len) == NULL && errno == ENOENT,
                  "one byte past the region belongs to an arena");
    errno = 0;
    ck_assert_msg(ca_arena_of((void *)((uintptr_t)t.mem - 1)) == NULL && errno == ENOENT,
                  "one byte before the region belongs to an arena");
    /* a carved arena: its first and last chunk */
    const size_t len = 16384;
    unsigned char *mem = aligned_block(4096, len);
    ca_arena *b = ca_arena_create("edges-carved", mem, len, NULL);
    ck_assert_msg(b != NULL, "create: %s", strerror(errno));
    size_t n = stats_of(b).chunks_total, cs = stats_of(b).chunk_size;
    unsigned char *p = ca_alloc(b, n * cs);
    ck_assert_msg(p != NULL, "whole region");
    ck_assert_msg(ca_arena_of(p) == b && ca_arena_of(p + n * cs - 1) == b,
                  "the carved arena's first or last chunk is not found");
    ck_assert_msg(ca_arena_of(p + n * cs) != b, "one past the carved region is found");
    ca_free(b, p);
    ck_assert_int_eq(ca_arena_destroy(b), 0);
    free(mem);
    tarena_drop(&t);
}
END_TEST

START_TEST(of_foreign_pointers)
{
    int local = 0;
    errno = 0;
    ck_assert_msg(ca_arena_of(&local) == NULL && errno == ENOENT, "a stack pointer: errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_arena_of(NULL) == NULL && errno == ENOENT, "NULL: errno %d", errno);
    void *heap = malloc(64);
    ck_assert(heap != NULL);
    errno = 0;
    ck_assert_msg(ca_arena_of(heap) == NULL && errno == ENOENT, "a malloc'd pointer");
    free(heap);
    ck_assert_msg(ca_arena_of(&static_cases) == NULL, "a static variable");
}
END_TEST


void api_add_lookup(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "lookup");
    tcase_add_test(tc, find_by_name);
    tcase_add_test(tc, list_snapshot_and_truncation);
    tcase_add_test(tc, of_region_edges);
    tcase_add_test(tc, of_foreign_pointers);
}
