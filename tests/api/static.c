/* SPDX-License-Identifier: MIT */
/*
 * tests/api/static.c — suite "api", static arenas (CA_ARENA_DEFINE in
 * tests/api/common.c and in a second translation unit,
 * tests/api/static_other.c; used before registration and at exit) and static
 * arenas in a dlopen()ed module (tests/arenas_dso.c). Single threaded.
 */
#include "tests/api/common.h"

/* ======================================================== TCase "static" */

/* Each static arena: found by name, the figures of its definition, its
 * region where the macro put it (one allocation of all of it starts there),
 * and usable. _i: index into static_cases. */
START_TEST(static_arenas_by_macro_and_name)
{
    const static_case *sc = &static_cases[_i];
    ca_arena *a = sc->arena;
    ck_assert_msg(ca_arena_find(sc->name) == a, "\"%s\" not found by name", sc->name);
    ck_assert_str_eq(ca_arena_name(a), sc->name);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunk_size == sc->chunk_size && s.chunks_total == sc->nchunks,
                  "\"%s\": %zu chunks of %zu, defined with %zu of %zu", sc->name, s.chunks_total,
                  s.chunk_size, sc->nchunks, sc->chunk_size);
    ck_assert_msg(s.lock == resolved(sc->lock), "\"%s\": layer %s, defined with %s (%s)", sc->name,
                  ca_lock_name(s.lock), ca_lock_name(sc->lock), ca_lock_name(resolved(sc->lock)));
    ck_assert_uint_eq(sc->region_len, sc->nchunks * sc->chunk_size);
    ck_assert_msg((uintptr_t)sc->region % sc->chunk_size == 0, "\"%s\": region %p not aligned to %zu",
                  sc->name, (const void *)sc->region, sc->chunk_size);
    ck_assert_msg(ca_arena_of(sc->region) == a && ca_arena_of(sc->region + sc->region_len - 1) == a,
                  "\"%s\": ca_arena_of does not place its region where the macro put it", sc->name);
    ck_assert_msg(ca_arena_of(sc->region + sc->region_len) != a,
                  "\"%s\": one byte past its region is found in it", sc->name);

    unsigned char *p = ca_alloc(a, sc->region_len);
    ck_assert_msg(p == sc->region, "\"%s\": the whole region starts at %p, not at the array %p",
                  sc->name, (void *)p, (const void *)sc->region);
    memset(p, 0x77, sc->region_len);
    expect_healthy(a, sc->name);
    ca_free(a, p);
    void *q[4];
    for (size_t i = 0; i < 4; i++) {
        q[i] = ca_alloc(a, sc->chunk_size * (i % 2) + 1);
        ck_assert_msg(q[i] != NULL && (uintptr_t)q[i] % sc->chunk_size == 0,
                      "\"%s\": small allocation %zu: %p", sc->name, i, q[i]);
        ck_assert_msg(ca_arena_of(q[i]) == a, "\"%s\": ca_arena_of(allocation)", sc->name);
    }
    for (size_t i = 0; i < 4; i++)
        ca_free(a, q[i]);
    s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "\"%s\": %zu chunks left in use",
                  sc->name, s.chunks_used);
}
END_TEST

/* CA_ARENA_DECLARE: an arena defined in tests/api/static_other.c. */
START_TEST(static_other_translation_unit)
{
    ca_arena *a = CA_ARENA(other_tu);
    ck_assert_msg(a == static_other_arena(), "CA_ARENA(other_tu) differs between the two files");
    ck_assert_msg(ca_arena_find("static-other-tu") == a, "\"static-other-tu\" not found by name");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunk_size == 64 && s.chunks_total == 32 && s.lock == CA_LOCK_TICKET,
                  "static-other-tu: %zu chunks of %zu, %s", s.chunks_total, s.chunk_size,
                  ca_lock_name(s.lock));
    void *p = static_other_alloc(100);
    ck_assert_msg(p != NULL && ca_arena_of(p) == a, "allocation from the other file: %p", p);
    ck_assert_uint_eq(ca_usable_size(a, p), 128);
    void *q = ca_alloc(a, 10);
    ck_assert_msg(q != NULL, "allocation from this file");
    ca_free(a, p);
    ca_free(a, q);
    ck_assert_uint_eq(stats_of(a).allocations, 0);
}
END_TEST

/* tests/api/static_other.c allocated from "static-early" in a constructor
 * that ran before the CA_ARENA_DEFINE constructors (tests/api/common.c). */
START_TEST(static_usable_before_registration)
{
    ca_arena *a = CA_ARENA(searly);
    ck_assert_msg(static_early_arena() == a, "the other file's CA_ARENA(searly) differs");
    void *p = static_early_pointer();
    ck_assert_msg(p != NULL, "ca_alloc from a static arena in an early constructor failed");
    ck_assert_msg(ca_arena_find("static-early") == a, "\"static-early\" not registered after use");
    ck_assert_msg(ca_arena_of(p) == a, "the early allocation is not in \"static-early\"");
    ck_assert_msg(ca_usable_size(a, p) >= 100, "usable size of the early allocation");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 1,
                  "static-early: %zu allocations, %zu chunks (expected the early one)",
                  s.allocations, s.chunks_used);
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "free of the early allocation");
}
END_TEST

/* Two static arenas of one name: both work, the registry holds one under
 * that name, and the other's memory is never attributed to the first. */
START_TEST(static_name_taken)
{
    ca_arena *x = CA_ARENA(dup_first), *y = CA_ARENA(dup_second);
    ca_arena *found = ca_arena_find("static-dup");
    ck_assert_msg(found == x || found == y, "\"static-dup\" finds neither definition");
    ca_arena *other = found == x ? y : x;
    ck_assert_str_eq(ca_arena_name(other), "static-dup");
    /* Both are registered (by address: listed, known to ca_arena_of and
     * ca_free_any), only the first by name. */
    ca_arena *list[128];
    size_t n = ca_arena_list(list, 128), named = 0;
    for (size_t i = 0; i < n && i < 128; i++)
        named += strcmp(ca_arena_name(list[i]), "static-dup") == 0;
    ck_assert_msg(named == 2, "%zu arenas listed as \"static-dup\", not both", named);
    ca_arena *both[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        void *p = ca_alloc(both[i], 100);
        ck_assert_msg(p != NULL, "the %s definition does not work", i ? "second" : "first");
        ck_assert_uint_eq(ca_usable_size(both[i], p), 128);
        ck_assert_msg(ca_arena_of(p) == both[i],
                      "a pointer of one \"static-dup\" is not attributed to it");
        ca_free_any(p); /* the default handler would abort if its memory were unknown */
        ck_assert_msg(ca_free_checked(both[i], p) == CA_FAULT_NOT_ALLOCATED,
                      "ca_free_any did not free the %s definition's pointer",
                      i ? "second" : "first");
    }
    errno = 0;
    ck_assert_msg(ca_arena_destroy(other) == -1 && errno == EPERM, "destroy of the shadowed one");
}
END_TEST

START_TEST(static_reset)
{
    ca_arena *a = CA_ARENA(sticket);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(ca_alloc(a, 64) != NULL, "alloc %d", i);
    ca_arena_reset(a);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0 && s.largest_free_run == 16,
                  "reset of a static arena: %zu used", s.chunks_used);
    ck_assert_msg(ca_arena_find("static-ticket") == a, "reset unregistered it");
    expect_healthy(a, "static reset");
}
END_TEST

/* A destructor that runs after the CA_ARENA_DEFINE destructors (priority
 * 101 destructors run last), as code late in exit() does: a shared
 * library's destructor (they run after the executable's), or a thread still
 * working while the process exits. Armed only in the child of
 * static_usable_at_exit. */
static void *exit_pointer;

__attribute__((destructor(101))) static void free_at_exit(void)
{
    if (!exit_pointer)
        return;
    void *p = ca_alloc(CA_ARENA(sexit), 10);
    if (!p)
        _exit(2);
    ca_free(CA_ARENA(sexit), p);
    ca_free(CA_ARENA(sexit), exit_pointer); /* a fault aborts (default handler) */
}

/* A static arena of the executable "cannot be destroyed": it must still
 * work, and accept its own pointers back, in code that runs during exit. */
START_TEST(static_usable_at_exit)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        ca_set_fault_handler(NULL);
        exit_pointer = ca_alloc(CA_ARENA(sexit), 10);
        if (!exit_pointer)
            _exit(3);
        exit(0); /* runs the destructors */
    }
    int status = 0;
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "ca_alloc from sexit failed");
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 2),
                  "at exit, after the CA_ARENA_DEFINE destructors ran, ca_alloc from a static "
                  "arena fails");
    ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT),
                  "at exit, after the CA_ARENA_DEFINE destructors ran, ca_free of a valid pointer "
                  "of a static arena called the fault handler (it aborted)");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child ended with status 0x%x", (unsigned)status);
}
END_TEST


/* ========================================================== TCase "dso" */

/* Load the module: "dso" registered; use it from both sides; unload it:
 * "dso" gone. Twice, so the second load meets the state the first left
 * (this thread's cached hint of the unloaded arena). */
START_TEST(dso_load_use_unload)
{
    size_t before = registered();
    errno = 0;
    ck_assert_msg(ca_arena_find("dso") == NULL && errno == ENOENT, "\"dso\" exists before dlopen");
    for (int round = 0; round < 2; round++) {
        dso d;
        dso_open(&d);
        ca_arena *a = ca_arena_find("dso");
        ck_assert_msg(a != NULL, "round %d: \"dso\" is not registered after dlopen", round);
        ck_assert_msg(a == d.arena(), "round %d: find(\"dso\") is not the module's CA_ARENA(dso)",
                      round);
        ck_assert_uint_eq(registered(), before + 1);
        ca_stats s = stats_of(a);
        ck_assert_msg(s.chunk_size == 128 && s.chunks_total == 64 && s.lock == CA_LOCK_HINT &&
                          s.allocations == 0,
                      "round %d: dso: %zu chunks of %zu, %s, %zu live", round, s.chunks_total,
                      s.chunk_size, ca_lock_name(s.lock), s.allocations);
        size_t len = 0;
        const unsigned char *region = d.region(&len);
        ck_assert_msg(len == 64 * 128 && ca_arena_of(region) == a &&
                          ca_arena_of(region + len - 1) == a,
                      "round %d: the module's region is not the arena's", round);
        void *p = d.alloc(100);
        ck_assert_msg(p != NULL && ca_arena_of(p) == a, "round %d: allocation inside the module",
                      round);
        fill_pattern(p, 100, 9);
        void *q = ca_alloc(a, 300);
        ck_assert_msg(q != NULL && ca_usable_size(a, q) == 384, "round %d: allocation from here",
                      round);
        expect_pattern(p, 100, 9, "module allocation");
        ca_free(a, p);   /* freed here, allocated there */
        d.release(q);    /* and the other way */
        s = stats_of(a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "round %d: %zu allocations left",
                      round, s.allocations);
        expect_healthy(a, "dso");
        errno = 0;
        ck_assert_msg(ca_arena_destroy(a) == -1 && errno == EPERM, "destroy of the module's arena");
        uintptr_t where = (uintptr_t)region;
        dso_close(&d);
        errno = 0;
        ck_assert_msg(ca_arena_find("dso") == NULL && errno == ENOENT,
                      "round %d: \"dso\" is still registered after dlclose", round);
        ck_assert_uint_eq(registered(), before);
        ck_assert_msg(ca_arena_of((const void *)where) == NULL,
                      "round %d: the unloaded module's region still belongs to an arena", round);
    }
}
END_TEST

/* A runtime arena holds the name "dso" when the module loads: the module's
 * arena works but is not found by name, and unloading it leaves the runtime
 * arena registered. */
START_TEST(dso_name_taken)
{
    tarena t;
    ca_arena *mine = tarena_make(&t, "dso", 16, 64, CA_LOCK_MUTEX);
    dso d;
    dso_open(&d);
    ca_arena *theirs = d.arena();
    ck_assert_msg(ca_arena_find("dso") == mine, "the module's arena took the name");
    ck_assert_msg(theirs != mine, "the module returned the runtime arena");
    void *p = d.alloc(50);
    ck_assert_msg(p != NULL, "the shadowed module arena does not work");
    ck_assert_msg(ca_arena_of(p) != mine, "its pointer is attributed to the runtime \"dso\"");
    ck_assert_str_eq(ca_arena_name(theirs), "dso");
    d.release(p);
    ck_assert_uint_eq(stats_of(theirs).allocations, 0);
    dso_close(&d);
    ck_assert_msg(ca_arena_find("dso") == mine,
                  "unloading the module unregistered the runtime arena of the same name");
    ck_assert_msg(ca_arena_of(t.mem) == mine, "the runtime arena's region was unregistered");
    tarena_drop(&t);
}
END_TEST


void api_add_static(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "static");
    tcase_add_loop_test(tc, static_arenas_by_macro_and_name, 0, (int)NSTATIC);
    tcase_add_test(tc, static_other_translation_unit);
    tcase_add_test(tc, static_usable_before_registration);
    tcase_add_test(tc, static_name_taken);
    tcase_add_test(tc, static_reset);
    tcase_add_test(tc, static_usable_at_exit);
    tc = api_tcase(s, "dso");
    tcase_add_test(tc, dso_load_use_unload);
    tcase_add_test(tc, dso_name_taken);
}
