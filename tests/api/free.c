/* SPDX-License-Identifier: MIT */
/*
 * tests/api/free.c — suite "api", free and its checked and registry-wide
 * variants, and the fault handler: what it is told, that it runs with no lock
 * held, the default's one line and abort. Single threaded.
 */
#include "tests/api/common.h"

/* ========================================================== TCase "free" */

START_TEST(free_null_and_valid)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "free", 16, 64, layers[_i]);
    recorder_on();
    ca_stats before = stats_of(a);
    ca_free(a, NULL);
    ca_free_any(NULL);
    ck_assert_int_eq(ca_free_checked(a, NULL), CA_FAULT_NONE);
    expect_unchanged(a, &before, "freeing NULL");
    expect_no_fault("freeing NULL");
    void *p = ca_alloc(a, 200);
    ck_assert(p != NULL);
    ca_free(a, p);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "ca_free left %zu chunks", s.chunks_used);
    p = ca_alloc(a, 16 * 64);
    ck_assert_msg(p == t.mem, "freed chunks are not reusable");
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NONE);
    expect_no_fault("valid frees");
    tarena_drop(&t);
}
END_TEST

/* ca_free_checked returns exactly the fault, changes nothing, and never
 * calls the handler. */
START_TEST(free_checked_faults)
{
    const size_t cs = 256;
    tarena t, u;
    ca_arena *a = tarena_make(&t, "checked", 16, cs, layers[_i]);
    ca_arena *b = tarena_make(&u, "checked-other", 4, cs, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 3 * cs), *q = ca_alloc(a, cs), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    ca_free(a, q);
    size_t ip = index_of(&t, p), iq = index_of(&t, q), never = 0;
    while ((never >= ip && never < ip + 3) || never == iq)
        never++;
    int local = 0;
    const struct {
        const char *what;
        void *ptr;
        ca_fault fault;
    } cases[] = {
        {"a stack pointer", &local, CA_FAULT_FOREIGN},
        {"another arena's allocation", other, CA_FAULT_FOREIGN},
        {"one byte past the region", t.mem + t.len, CA_FAULT_FOREIGN},
        {"one chunk before the region", (void *)((uintptr_t)t.mem - cs), CA_FAULT_FOREIGN},
        {"p + 1", p + 1, CA_FAULT_INTERIOR},
        {"p + 16", p + 16, CA_FAULT_INTERIOR},
        {"p + one chunk", p + cs, CA_FAULT_INTERIOR},
        {"the last byte of p", p + 3 * cs - 1, CA_FAULT_INTERIOR},
        {"a freed pointer", q, CA_FAULT_NOT_ALLOCATED},
        {"a chunk never allocated", chunk(&t, never), CA_FAULT_NOT_ALLOCATED},
        {"a byte inside a free chunk", chunk(&t, never) + 8, CA_FAULT_NOT_ALLOCATED},
    };
    recorder_on();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ca_stats before = stats_of(a), before_b = stats_of(b);
        ca_fault f = ca_free_checked(a, cases[i].ptr);
        ck_assert_msg(f == cases[i].fault, "ca_free_checked(%s): \"%s\", expected \"%s\"",
                      cases[i].what, ca_fault_name(f), ca_fault_name(cases[i].fault));
        expect_unchanged(a, &before, cases[i].what);
        expect_unchanged(b, &before_b, cases[i].what);
        expect_no_fault("ca_free_checked");
    }
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NONE);
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NOT_ALLOCATED);
    ck_assert_int_eq(ca_free_checked(NULL, p), CA_FAULT_FOREIGN);
    ca_free(b, other);
    expect_no_fault("ca_free_checked");
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

START_TEST(free_any_among_several)
{
    static const ca_lock locks[3] = {CA_LOCK_MUTEX, CA_LOCK_HINT, CA_LOCK_SPIN};
    static const size_t sizes[3] = {64, 256, 1024};
    tarena t[3];
    void *p[3][4];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "any-%d", i);
        tarena_make(&t[i], name, 16, sizes[i], locks[i]);
        for (int k = 0; k < 4; k++) {
            p[i][k] = ca_alloc(t[i].a, sizes[i] * (size_t)(k % 2 + 1));
            ck_assert(p[i][k] != NULL);
        }
    }
    void *sp = ca_alloc(CA_ARENA(s16), 20);
    ck_assert(sp != NULL);
    size_t s16_live = stats_of(CA_ARENA(s16)).allocations;
    recorder_on();
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++) {
            int i = (j + k) % 3;
            size_t live[3];
            for (int m = 0; m < 3; m++)
                live[m] = stats_of(t[m].a).allocations;
            ca_free_any(p[i][k]);
            for (int m = 0; m < 3; m++)
                ck_assert_msg(stats_of(t[m].a).allocations == live[m] - (m == i),
                              "ca_free_any of a pointer of any-%d: any-%d went from %zu to %zu "
                              "allocations",
                              i, m, live[m], stats_of(t[m].a).allocations);
        }
    ca_free_any(sp);
    ck_assert_uint_eq(stats_of(CA_ARENA(s16)).allocations, s16_live - 1);
    expect_no_fault("ca_free_any of valid pointers");
    for (int i = 0; i < 3; i++)
        tarena_drop(&t[i]);
}
END_TEST

START_TEST(free_any_faults)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "free-any", 8, 128, layers[_i]);
    unsigned char *p = ca_alloc(a, 256);
    ck_assert(p != NULL);
    int local = 0;
    recorder_on();
    ca_stats before = stats_of(a);
    ca_free_any(&local);
    expect_fault("ca_free_any", "(none)", &local, CA_FAULT_FOREIGN);
    ca_free_any(p + 1);
    expect_fault("ca_free_any", "free-any", p + 1, CA_FAULT_INTERIOR);
    ca_free_any(p + 128);
    expect_fault("ca_free_any", "free-any", p + 128, CA_FAULT_INTERIOR);
    expect_unchanged(a, &before, "ca_free_any of bad pointers");
    ca_free_any(p);
    expect_no_fault("ca_free_any(p)");
    before = stats_of(a);
    ca_free_any(p);
    expect_fault("ca_free_any", "free-any", p, CA_FAULT_NOT_ALLOCATED);
    expect_unchanged(a, &before, "a double ca_free_any");
    tarena_drop(&t);
}
END_TEST


/* ======================================================== TCase "faults" */

static size_t other_calls;

static void other_handler(const ca_fault_report *r)
{
    (void)r;
    other_calls++;
}

START_TEST(set_fault_handler_returns_previous)
{
    ca_fault_handler d = ca_set_fault_handler(record_fault);
    ck_assert_msg(d != NULL && d != record_fault, "the first handler is not the default");
    ck_assert_msg(ca_set_fault_handler(other_handler) == record_fault, "previous: record_fault");
    tarena t;
    ca_arena *a = tarena_make(&t, "handlers", 8, 64, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 10);
    nseen = 0;
    ca_free(a, p + 1);
    ck_assert_msg(other_calls == 1 && nseen == 0, "the installed handler was not the one called");
    ck_assert_msg(ca_set_fault_handler(NULL) == other_handler, "previous: other_handler");
    ck_assert_msg(ca_set_fault_handler(record_fault) == d,
                  "after set(NULL), the handler in place is not the default");
    ca_free(a, p + 1);
    expect_fault("ca_free", "handlers", p + 1, CA_FAULT_INTERIOR);
    ck_assert_msg(ca_set_fault_handler(NULL) == record_fault, "previous: record_fault");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* The calls that report a bad pointer to the handler. */
enum bad_call { CALL_FREE, CALL_REALLOC, CALL_AREALLOC_SMALL, CALL_AREALLOC_BIG, CALL_RESIZE,
                CALL_USABLE, CALL_FREE_ANY, NCALLS };
static const char *const call_names[NCALLS] = {"ca_free",        "ca_realloc",
                                               "ca_aligned_realloc", "ca_aligned_realloc",
                                               "ca_resize",      "ca_usable_size",
                                               "ca_free_any"};

/* Make the call; returns what it returned as a number (pointer calls: 1 if
 * not NULL) and its errno in *err. No assertion: it runs in forked children. */
static size_t provoke(enum bad_call call, ca_arena *a, void *p, int *err)
{
    size_t ret = 0;
    errno = 0;
    switch (call) {
    case CALL_FREE:
        ca_free(a, p);
        break;
    case CALL_REALLOC:
        ret = ca_realloc(a, p, 100) != NULL;
        break;
    case CALL_AREALLOC_SMALL:
        ret = ca_aligned_realloc(a, p, 16, 100) != NULL;
        break;
    case CALL_AREALLOC_BIG:
        ret = ca_aligned_realloc(a, p, 4096, 100) != NULL;
        break;
    case CALL_RESIZE:
        ret = (size_t)ca_resize(a, p, 100);
        break;
    case CALL_USABLE:
        ret = ca_usable_size(a, p);
        break;
    case CALL_FREE_ANY:
        ca_free_any(p);
        break;
    case NCALLS:
        break;
    }
    *err = errno;
    return ret;
}

/* provoke, and check what the call returned after the handler returned. */
static void bad_call(enum bad_call call, ca_arena *a, void *p)
{
    int err = 0;
    size_t ret = provoke(call, a, p, &err);
    switch (call) {
    case CALL_REALLOC:
    case CALL_AREALLOC_SMALL:
    case CALL_AREALLOC_BIG:
        ck_assert_msg(ret == 0 && err == EINVAL, "%s(%p) of a bad pointer: %s, errno %d",
                      call_names[call], p, ret ? "not NULL" : "NULL", err);
        break;
    case CALL_RESIZE:
        ck_assert_msg(ret == (size_t)-1 && err == EINVAL, "ca_resize(%p) of a bad pointer: %zd, "
                      "errno %d", p, (ssize_t)ret, err);
        break;
    case CALL_USABLE:
        ck_assert_msg(ret == 0, "ca_usable_size(%p) of a bad pointer: %zu", p, ret);
        break;
    default:
        break;
    }
}

/* Every reporting function, with a foreign, an interior and a freed
 * pointer: the handler is told the function, the arena, the pointer and
 * the fault, and both arenas are unchanged. */
START_TEST(handler_told_function_arena_pointer_fault)
{
    tarena t, u;
    ca_arena *a = tarena_make(&t, "faulty", 16, 256, layers[_i]);
    ca_arena *b = tarena_make(&u, "faulty-other", 4, 256, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 512), *q = ca_alloc(a, 256), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    fill_pattern(p, 512, 14);
    ca_free(a, q);
    int local = 0;
    recorder_on();
    for (int c = 0; c < NCALLS; c++) {
        enum bad_call call = (enum bad_call)c;
        const struct {
            void *ptr;
            const char *arena;
            ca_fault fault;
        } bad[] = {
            {&local, call == CALL_FREE_ANY ? "(none)" : "faulty", CA_FAULT_FOREIGN},
            {call == CALL_FREE_ANY ? (void *)&nseen : other,
             call == CALL_FREE_ANY ? "(none)" : "faulty", CA_FAULT_FOREIGN},
            {p + 1, "faulty", CA_FAULT_INTERIOR},
            {p + 256, "faulty", CA_FAULT_INTERIOR},
            {q, "faulty", CA_FAULT_NOT_ALLOCATED},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ca_stats before = stats_of(a), before_b = stats_of(b);
            bad_call(call, a, bad[i].ptr);
            expect_fault(call_names[call], bad[i].arena, bad[i].ptr, bad[i].fault);
            expect_unchanged(a, &before, call_names[call]);
            expect_unchanged(b, &before_b, call_names[call]);
        }
    }
    expect_pattern(p, 512, 14, "p after the faults");
    ck_assert_uint_eq(ca_usable_size(a, p), 512);
    ca_free(a, p);
    ca_free(b, other);
    expect_no_fault("valid frees");
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

/* A handler that uses the same arena and the registry: with a lock of the
 * library held it would deadlock (spin, ticket, mutex; urcu's grace period
 * for the create/destroy). */
static ca_arena *reentry_arena;
static size_t reentry_ok;
static _Alignas(4096) unsigned char reentry_mem[64 * 1024];

static void reentrant_handler(const ca_fault_report *r)
{
    record_fault(r);
    ca_stats s;
    if (ca_arena_stats(reentry_arena, &s) != 0)
        return;
    void *p = ca_alloc(reentry_arena, 10);
    if (!p)
        return;
    void *q = ca_realloc(reentry_arena, p, 600);
    if (!q) {
        ca_free(reentry_arena, p);
        return;
    }
    if (ca_usable_size(reentry_arena, q) != 768 || ca_free_checked(reentry_arena, q) != CA_FAULT_NONE)
        return;
    if (ca_arena_check(reentry_arena) != NULL || ca_arena_list(NULL, 0) == 0 ||
        ca_arena_find(ca_arena_name(reentry_arena)) != reentry_arena)
        return;
    ca_config c = {.chunk_size = 256, .lock = CA_LOCK_MUTEX};
    ca_arena *fresh = ca_arena_create("from-the-handler", reentry_mem, sizeof reentry_mem, &c);
    if (!fresh || ca_arena_destroy(fresh) != 0)
        return;
    reentry_ok++;
}

START_TEST(handler_runs_without_lock)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "reentrant", 32, 256, layers[_i]);
    reentry_arena = a;
    reentry_ok = 0;
    unsigned char *p = ca_alloc(a, 512), *q = ca_alloc(a, 256);
    ck_assert(p != NULL && q != NULL);
    ca_free(a, q);
    int local = 0;
    nseen = 0;
    ca_set_fault_handler(reentrant_handler);
    ca_free(a, p + 1);
    ca_free(a, q);
    (void)ca_realloc(a, p + 1, 1000);
    (void)ca_aligned_realloc(a, q, 4096, 10);
    (void)ca_aligned_realloc(a, q, 16, 10);
    (void)ca_resize(a, q, 10);
    (void)ca_usable_size(a, p + 1);
    ca_free_any(p + 1);
    ca_free_any(&local);
    ca_set_fault_handler(NULL);
    ck_assert_msg(nseen == 9, "9 faults provoked, %zu reported", nseen);
    ck_assert_msg(reentry_ok == 9,
                  "only %zu of 9 handler calls could use the arena and the registry", reentry_ok);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 2, "after the handlers: %zu live, %zu used",
                  s.allocations, s.chunks_used);
    expect_healthy(a, "after reentrant handlers");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* With the default handler, in a child: exactly one line on stderr naming
 * the function, the arena, the pointer (as %p prints it) and the fault
 * (ca_fault_name), then abort (SIGABRT). */
static void expect_default_report(enum bad_call call, ca_arena *a, void *p, const char *arena,
                                  ca_fault fault)
{
    int fds[2];
    ck_assert_msg(pipe(fds) == 0, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        ca_set_fault_handler(NULL);
        int err;
        (void)provoke(call, a, p, &err);
        _exit(0); /* the default handler returned */
    }
    close(fds[1]);
    char out[2048];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + len, sizeof out - 1 - len);
        if (n > 0 && len + (size_t)n < sizeof out - 1)
            len += (size_t)n;
        else if (n > 0)
            len = sizeof out - 1;
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(fds[0]);
    out[len] = '\0';
    int status = 0;
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s(%p) with the default handler did not abort (status 0x%x); stderr: \"%s\"",
                  call_names[call], p, (unsigned)status, out);
    const char *nl = strchr(out, '\n');
    ck_assert_msg(len > 0 && nl == out + len - 1,
                  "%s: the default handler did not print exactly one line: \"%s\"",
                  call_names[call], out);
    char ptr[32];
    snprintf(ptr, sizeof ptr, "%p", p);
    const char *need[] = {call_names[call], arena, ptr, ca_fault_name(fault)};
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(strstr(out, need[i]) != NULL, "%s: the default handler's line \"%.*s\" lacks "
                      "\"%s\"", call_names[call], (int)(len - 1), out, need[i]);
}

START_TEST(default_handler_one_line_then_abort)
{
    tarena t, u;
    ca_arena *a = tarena_make(&t, "default-handler", 16, 128, CA_LOCK_SPIN);
    ca_arena *b = tarena_make(&u, "default-other", 4, 128, CA_LOCK_HINT);
    unsigned char *p = ca_alloc(a, 256), *q = ca_alloc(a, 10), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    ca_free(a, q);
    int local = 0;
    expect_default_report(CALL_FREE, a, p + 1, "default-handler", CA_FAULT_INTERIOR);
    expect_default_report(CALL_FREE, a, q, "default-handler", CA_FAULT_NOT_ALLOCATED);
    expect_default_report(CALL_FREE_ANY, a, &local, "(none)", CA_FAULT_FOREIGN);
    expect_default_report(CALL_USABLE, a, q, "default-handler", CA_FAULT_NOT_ALLOCATED);
    expect_default_report(CALL_REALLOC, a, other, "default-handler", CA_FAULT_FOREIGN);
    expect_default_report(CALL_RESIZE, a, p + 128, "default-handler", CA_FAULT_INTERIOR);
    expect_default_report(CALL_AREALLOC_BIG, b, p, "default-other", CA_FAULT_FOREIGN);
    /* nothing changed here, in the parent */
    ck_assert_uint_eq(ca_usable_size(a, p), 256);
    ca_free(a, p);
    ca_free(b, other);
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

START_TEST(fault_and_lock_names)
{
    static const struct {
        ca_lock lock;
        const char *name;
    } locks[] = {{CA_LOCK_DEFAULT, "default"}, {CA_LOCK_NONE, "none"},   {CA_LOCK_SPIN, "spin"},
                 {CA_LOCK_TICKET, "ticket"},   {CA_LOCK_MUTEX, "mutex"}, {CA_LOCK_HINT, "hint"}};
    for (size_t i = 0; i < sizeof locks / sizeof locks[0]; i++) {
        const char *n = ca_lock_name(locks[i].lock);
        ck_assert_msg(n != NULL && strcmp(n, locks[i].name) == 0, "ca_lock_name(%d) = \"%s\", not \"%s\"",
                      (int)locks[i].lock, n ? n : "(null)", locks[i].name);
    }
    static const struct {
        ca_fault fault;
        const char *word; /* the description must contain it */
    } faults[] = {{CA_FAULT_NONE, ""},
                  {CA_FAULT_FOREIGN, "foreign"},
                  {CA_FAULT_INTERIOR, "interior"},
                  {CA_FAULT_NOT_ALLOCATED, "not allocated"}};
    for (size_t i = 0; i < 4; i++) {
        const char *n = ca_fault_name(faults[i].fault);
        ck_assert_msg(n != NULL && n[0] != '\0', "ca_fault_name(%d) is empty", (int)faults[i].fault);
        ck_assert_msg(strcasestr(n, faults[i].word) != NULL, "ca_fault_name(%d) = \"%s\" lacks \"%s\"",
                      (int)faults[i].fault, n, faults[i].word);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(n, ca_fault_name(faults[j].fault)) != 0,
                          "faults %zu and %zu share the description \"%s\"", i, j, n);
    }
    ck_assert_msg(ca_fault_name((ca_fault)42) != NULL, "ca_fault_name of an unknown value");
    ck_assert_msg(ca_lock_name((ca_lock)42) != NULL, "ca_lock_name of an unknown value");
}
END_TEST


void api_add_free(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "free");
    tcase_add_loop_test(tc, free_null_and_valid, 0, NLAYERS);
    tcase_add_loop_test(tc, free_checked_faults, 0, NLAYERS);
    tcase_add_test(tc, free_any_among_several);
    tcase_add_loop_test(tc, free_any_faults, 0, NLAYERS);
    tc = api_tcase(s, "faults");
    tcase_add_test(tc, set_fault_handler_returns_previous);
    tcase_add_loop_test(tc, handler_told_function_arena_pointer_fault, 0, NLAYERS);
    tcase_add_loop_test(tc, handler_runs_without_lock, 0, NLAYERS);
    tcase_add_test(tc, default_handler_one_line_then_abort);
    tcase_add_test(tc, fault_and_lock_names);
}
