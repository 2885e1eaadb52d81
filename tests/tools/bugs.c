/* SPDX-License-Identifier: MIT */
/*
 * tests/tools/bugs.c — programs with deliberate bugs on arena blocks, for the
 * memory tools (ASan, Valgrind memcheck, TSan) to catch; and clean ones,
 * which they must pass silently. Built as a user builds: the public header
 * and the installed library, the sanitizer in the program only.
 *
 *   bugs SCENARIO [ARENA [LAYER]]
 *
 * SCENARIO: clean, overflow (one byte past the requested size), underflow
 * (one byte before a block, in the previous chunk), uaf (a write after
 * free), wild (a read of arena memory never allocated), shrunk (a write
 * past a block shrunk in place), double-free, leak (a block whose last
 * pointer is dropped), race (two threads write one block unsynchronised),
 * handover (a block freed on one thread and reused on another: clean).
 * ARENA: static, created or all (default); LAYER: none, spin, ticket,
 * mutex, hint or all (default).
 *
 * Each (arena, layer) pair runs in a child process of its own, so a tool
 * that stops the program at the first report still sees every pair; the
 * parent prints one line a pair ("pair static/hint: exit 0") and exits 0.
 * The test scripts (tests/tools/asan.sh, tsan.sh, valgrind.sh) count the tool's reports. The
 * program is single-threaded except in race and handover, which use two
 * threads (not on a "none" arena, which is for one thread at a time: they
 * skip it).
 */
#define _POSIX_C_SOURCE 200809L

#include "chunkarena.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 64
#define NCHUNKS 64

CA_ARENA_DEFINE(s_none, "bugs-none", NCHUNKS, CHUNK, CA_LOCK_NONE);
CA_ARENA_DEFINE(s_spin, "bugs-spin", NCHUNKS, CHUNK, CA_LOCK_SPIN);
CA_ARENA_DEFINE(s_ticket, "bugs-ticket", NCHUNKS, CHUNK, CA_LOCK_TICKET);
CA_ARENA_DEFINE(s_mutex, "bugs-mutex", NCHUNKS, CHUNK, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(s_hint, "bugs-hint", NCHUNKS, CHUNK, CA_LOCK_HINT);

static const char *const layer_names[] = {"none", "spin", "ticket", "mutex", "hint"};
static const ca_lock layers[] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                 CA_LOCK_HINT};

static ca_arena *static_arena(size_t i)
{
    ca_arena *const s[] = {CA_ARENA(s_none), CA_ARENA(s_spin), CA_ARENA(s_ticket),
                           CA_ARENA(s_mutex), CA_ARENA(s_hint)};
    return s[i];
}

static void die(const char *what)
{
    fprintf(stderr, "bugs: %s\n", what);
    exit(2);
}

/* A created arena over a heap buffer, kept in a global (so the buffer is
 * reachable; only the arena's blocks can leak). */
static unsigned char *created_mem;
static ca_arena *created_arena(size_t i)
{
    size_t len = 16384 + NCHUNKS * CHUNK;
    created_mem = aligned_alloc(CHUNK, len);
    if (!created_mem)
        die("no memory for a created arena");
    ca_config c = {.chunk_size = CHUNK, .lock = layers[i]};
    char name[32];
    snprintf(name, sizeof name, "bugs-created-%s", layer_names[i]);
    ca_arena *a = ca_arena_create(name, created_mem, len, &c);
    if (!a)
        die("ca_arena_create failed");
    return a;
}

/* Where bugs write: volatile, so the compiler keeps every access. */
static volatile unsigned char *volatile sink;
static void *volatile kept; /* a pointer the leak scenario drops */
static void *volatile first; /* and one it keeps */

static void *xalloc(ca_arena *a, size_t n)
{
    void *p = ca_alloc(a, n);
    if (!p)
        die("ca_alloc failed");
    return p;
}

/* Everything a correct program does with blocks: no tool may complain. */
static void clean(ca_arena *a)
{
    unsigned char *p = xalloc(a, 40);
    memset(p, 1, 40);
    unsigned char *q = ca_calloc(a, 3, 30);
    if (!q || q[89] != 0)
        die("calloc");
    unsigned char *al = ca_aligned_alloc(a, 256, 100);
    if (!al)
        die("aligned_alloc");
    memset(al, 2, 100);
    /* grow in place or moved, then shrink: contents follow */
    p = ca_realloc(a, p, 300);
    if (!p || p[39] != 1)
        die("realloc grow");
    memset(p + 40, 3, 260);
    p = ca_realloc(a, p, 70);
    if (!p || p[69] != 3)
        die("realloc shrink");
    p[69] = 4;
    if (ca_resize(a, q, 10) != 0)
        die("resize shrink");
    q[9] = 5;
    /* the usable size is usable */
    size_t u = ca_usable_size(a, q);
    memset(q, 6, u);
    al = ca_aligned_realloc(a, al, 512, 600);
    if (!al || al[99] != 2)
        die("aligned_realloc");
    memset(al, 7, 600);
    unsigned char *z = xalloc(a, 0);
    ca_free(a, z);
    ca_free(a, p);
    if (ca_free_checked(a, q) != CA_FAULT_NONE)
        die("free_checked");
    ca_free_any(al);
    /* blocks discarded by a reset are not leaks */
    p = xalloc(a, 100);
    p[99] = 1;
    ca_arena_reset(a);
    p = xalloc(a, 100);
    p[99] = 1;
    ca_free(a, p);
}

struct two {
    ca_arena *a;
    unsigned char *block;
    atomic_int stage;
};

/* race: both threads write the block's first byte, unsynchronised. */
static void *race_writer(void *arg)
{
    struct two *t = arg;
    t->block[0]++;
    return NULL;
}

/* handover: the first thread fills the whole arena with one block, writes
 * it and frees it; the second waits (relaxed: no happens-before that TSan
 * could see) and takes the same chunks again, then writes them. */
static void *hand_first(void *arg)
{
    struct two *t = arg;
    unsigned char *p = xalloc(t->a, NCHUNKS * CHUNK);
    memset(p, 1, NCHUNKS * CHUNK);
    ca_free(t->a, p);
    atomic_store_explicit(&t->stage, 1, memory_order_relaxed);
    return NULL;
}

static void *hand_second(void *arg)
{
    struct two *t = arg;
    while (atomic_load_explicit(&t->stage, memory_order_relaxed) == 0)
        sched_yield();
    unsigned char *p;
    while ((p = ca_alloc(t->a, NCHUNKS * CHUNK)) == NULL)
        sched_yield(); /* the free may still be on its way under "hint" */
    memset(p, 2, NCHUNKS * CHUNK);
    ca_free(t->a, p);
    return NULL;
}

static void two_threads(struct two *t, void *(*f)(void *), void *(*g)(void *))
{
    pthread_t x, y;
    if (pthread_create(&x, NULL, f, t) || pthread_create(&y, NULL, g, t))
        die("pthread_create");
    pthread_join(x, NULL);
    pthread_join(y, NULL);
}

static int scenario(const char *s, ca_arena *a, size_t layer)
{
    if (strcmp(s, "clean") == 0) {
        clean(a);
    } else if (strcmp(s, "overflow") == 0) {
        unsigned char *p = xalloc(a, 40);
        sink = p;
        sink[40] = 1; /* BUG: one byte past the 40 asked for */
        ca_free(a, p);
    } else if (strcmp(s, "underflow") == 0) {
        (void)xalloc(a, 10);
        unsigned char *p = xalloc(a, CHUNK);
        sink = p;
        sink[-1] = 1; /* BUG: one byte before the block (the tail of the one before) */
    } else if (strcmp(s, "uaf") == 0) {
        unsigned char *p = xalloc(a, 40);
        ca_free(a, p);
        sink = p;
        sink[0] = 1; /* BUG: use after free */
    } else if (strcmp(s, "wild") == 0) {
        unsigned char *p = xalloc(a, 40);
        sink = p;
        if (sink[8 * CHUNK]) /* BUG: arena memory never allocated */
            puts("nonzero");
    } else if (strcmp(s, "shrunk") == 0) {
        unsigned char *p = xalloc(a, 4 * CHUNK);
        if (ca_resize(a, p, 20) != 0)
            die("resize");
        sink = p;
        sink[20] = 1; /* BUG: past the block shrunk in place */
    } else if (strcmp(s, "double-free") == 0) {
        unsigned char *p = xalloc(a, 40);
        ca_free(a, p);
        ca_free(a, p); /* BUG: double free */
    } else if (strcmp(s, "leak") == 0) {
        /* Not the block at the start of the region: the arena's own
         * pointer to its region keeps that one reachable for memcheck. */
        first = xalloc(a, 40);
        kept = xalloc(a, 40);
        kept = NULL; /* BUG: the last pointer to a live block */
    } else if (strcmp(s, "race") == 0 || strcmp(s, "handover") == 0) {
        if (layers[layer] == CA_LOCK_NONE)
            return 0; /* one thread at a time only */
        struct two t = {a, NULL, 0};
        if (s[0] == 'r') {
            t.block = xalloc(a, 40);
            two_threads(&t, race_writer, race_writer); /* BUG: a data race */
            ca_free(a, t.block);
        } else {
            two_threads(&t, hand_first, hand_second);
        }
    } else {
        die("unknown scenario");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4)
        die("usage: bugs SCENARIO [static|created|all [LAYER|all]]");
    const char *arena = argc > 2 ? argv[2] : "all";
    const char *layer = argc > 3 ? argv[3] : "all";
    int ran = 0;
    for (int kind = 0; kind < 2; kind++) {
        const char *kind_name = kind ? "created" : "static";
        if (strcmp(arena, "all") != 0 && strcmp(arena, kind_name) != 0)
            continue;
        for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
            if (strcmp(layer, "all") != 0 && strcmp(layer, layer_names[i]) != 0)
                continue;
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0)
                die("fork");
            if (pid == 0) {
                ca_arena *a = kind ? created_arena(i) : static_arena(i);
                exit(scenario(argv[1], a, i));
            }
            int status;
            if (waitpid(pid, &status, 0) != pid)
                die("waitpid");
            if (WIFEXITED(status))
                printf("pair %s/%s: exit %d\n", kind_name, layer_names[i], WEXITSTATUS(status));
            else
                printf("pair %s/%s: signal %d\n", kind_name, layer_names[i], WTERMSIG(status));
            ran++;
        }
    }
    if (ran == 0)
        die("no such arena or layer");
    return 0;
}
