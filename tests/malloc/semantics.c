/* SPDX-License-Identifier: MIT */
/*
 * tests/malloc/semantics.c — what a C program relies on from malloc,
 * checked on libchunkarena-malloc linked in (its static form: link-time
 * replacement): malloc(0), alignment, realloc's edge cases, errno, calloc
 * and reallocarray overflow, ENOMEM at exhaustion, the aligned family,
 * usable size, content kept across moves between classes, the arenas in
 * the registry, and bad pointers (one line, then abort; or report and go
 * on with CHUNKARENA_MALLOC_FAULT=ignore), run in re-executed children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/chunkarena.h"
#include "tests/malloc/sanitized.h"

static int failures;

#define EXPECT(cond)                                                        \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static size_t live(const char *name)
{
    ca_stats s;
    ca_arena *a = ca_arena_find(name);
    return a && ca_arena_stats(a, &s) == 0 ? s.allocations : (size_t)-1;
}

static void basics(void)
{
    errno = 1234;
    void *a = malloc(0), *b = malloc(0);
    EXPECT(a && b && a != b);
    free(a);
    free(b);
    for (size_t n = 1; n < 300000; n = n * 3 + 1) {
        void *p = malloc(n);
        EXPECT(p && (uintptr_t)p % alignof(max_align_t) == 0);
        EXPECT(malloc_usable_size(p) >= n);
        memset(p, 0xa5, n);
        free(p);
    }
    EXPECT(errno == 1234); /* untouched by every success above */

    /* realloc as glibc: NULL -> malloc; size 0 -> free, NULL */
    size_t before = live("malloc-tiny");
    char *p = realloc(NULL, 10);
    EXPECT(p != NULL && live("malloc-tiny") == before + 1);
    EXPECT(realloc(p, 0) == NULL && live("malloc-tiny") == before);

    /* content survives moves up and down the classes */
    p = malloc(100);
    for (int i = 0; i < 100; i++)
        p[i] = (char)i;
    size_t sizes[] = {400, 5000, 70000, 3000000, 200, 64};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        p = realloc(p, sizes[k]);
        EXPECT(p != NULL);
        for (int i = 0; i < 64; i++)
            EXPECT(p[i] == (char)i);
    }
    free(p);
    EXPECT(errno == 1234);
}

static void overflow_and_exhaustion(void)
{
    volatile size_t half = SIZE_MAX / 2, huge = SIZE_MAX - 4096; /* unknown to the compiler */
    errno = 0;
    EXPECT(calloc(half, 3) == NULL && errno == ENOMEM);
    errno = 0;
    EXPECT(reallocarray(NULL, half, 3) == NULL && errno == ENOMEM);
    errno = 0;
    EXPECT(malloc(huge) == NULL && errno == ENOMEM);
    int *z = calloc(1000, sizeof *z);
    int zero = 1;
    for (int i = 0; i < 1000; i++)
        zero &= z[i] == 0;
    EXPECT(z && zero);
    free(z);

    /* exhaust the reservation (CHUNKARENA_MALLOC_SIZE=1G here): NULL and
     * ENOMEM, no abort, and everything usable again after the frees */
    void *held[64];
    int n = 0;
    errno = 0;
    while (n < 64 && (held[n] = malloc((size_t)64 << 20)) != NULL)
        n++;
    EXPECT(n > 0 && n < 64 && errno == ENOMEM);
    void *small = malloc(24); /* the tiny class still has room */
    EXPECT(small != NULL);
    free(small);
    while (n > 0)
        free(held[--n]);
    void *again = malloc((size_t)64 << 20);
    EXPECT(again != NULL);
    free(again);
}

static void aligned(void)
{
    void *p = NULL;
    EXPECT(posix_memalign(&p, 3, 10) == EINVAL);
    EXPECT(posix_memalign(&p, 4, 10) == EINVAL); /* not a multiple of sizeof(void *) */
    for (size_t al = 8; al <= ((size_t)1 << 20); al *= 4) {
        EXPECT(posix_memalign(&p, al, 100) == 0 && (uintptr_t)p % al == 0);
        free(p);
        p = aligned_alloc(al, 3 * al);
        EXPECT(p && (uintptr_t)p % al == 0);
        free(p);
        p = memalign(al, 1);
        EXPECT(p && (uintptr_t)p % al == 0);
        free(p);
    }
    errno = 0;
    EXPECT(aligned_alloc(24, 48) == NULL && errno == EINVAL);
    p = memalign(24, 10); /* glibc rounds it up to 32 */
    EXPECT(p && (uintptr_t)p % 32 == 0);
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(10);
    EXPECT(p && (uintptr_t)p % page == 0);
    free(p);
    p = pvalloc(0);
    EXPECT(p && (uintptr_t)p % page == 0 && malloc_usable_size(p) >= page);
    free(p);
}

static void registry(void)
{
    /* the arenas are registered: the program can look at them */
    ca_arena *a = ca_arena_find("malloc");
    EXPECT(a != NULL);
    void *p = malloc(1000);
    EXPECT(ca_arena_of(p) == a);
    free(p);
    EXPECT(ca_arena_find("malloc-tiny") != NULL && ca_arena_find("malloc-huge") != NULL);
}

/* ---- bad pointers, in a re-executed child ---- */

/* p, out of the compiler's sight: the misuse below is meant. */
static __attribute__((noinline)) void *hide(void *p)
{
    void *volatile v = p;
    return v;
}

static void bad(const char *what)
{
    char *p = malloc(100);
    if (strcmp(what, "double") == 0) {
        free(hide(p));
        free(hide(p));
    } else if (strcmp(what, "interior") == 0) {
        free(hide(p + 16));
    } else if (strcmp(what, "foreign") == 0) {
        static char not_heap[64];
        free(hide(not_heap + 16));
    } else if (strcmp(what, "realloc") == 0) {
        free(hide(p));
        errno = 0;
        if (realloc(hide(p), 300) != NULL || errno != EINVAL)
            exit(3);
    }
    exit(0);
}

/* Run `self bad WHAT` with FAULT (or not); its stderr into `err`. */
static int child(const char *self, const char *what, const char *fault, char *err, size_t len)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        if (fault)
            setenv("CHUNKARENA_MALLOC_FAULT", fault, 1);
        execl(self, self, "bad", what, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = read(fd[0], err + got, len - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void faults(const char *self)
{
    static const struct {
        const char *what, *function, *says;
    } cases[] = {{"double", "free", "double free"},
                 {"interior", "free", "interior pointer"},
                 {"foreign", "free", "not from this malloc"},
                 {"realloc", "realloc", "double free"}};
    char err[1024];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        snprintf(want, sizeof want, "chunkarena-malloc: %s(): invalid pointer 0x",
                 cases[i].function);
        int st = child(self, cases[i].what, NULL, err, sizeof err);
        EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
        EXPECT(strncmp(err, want, strlen(want)) == 0 && strstr(err, cases[i].says) != NULL);
        EXPECT(strchr(err, '\n') == err + strlen(err) - 1); /* one line */
        st = child(self, cases[i].what, "ignore", err, sizeof err);
        EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        EXPECT(strncmp(err, want, strlen(want)) == 0);
    }
}

int main(int argc, char **argv)
{
#ifdef CA_SANITIZED
    (void)argc;
    (void)argv;
    puts("SKIP: a sanitizer build: its runtime owns malloc, this test cannot replace it");
    return 77;
#endif
    if (argc == 3 && strcmp(argv[1], "bad") == 0)
        bad(argv[2]);
    if (!getenv("CHUNKARENA_MALLOC_SIZE")) { /* a small reservation, to exhaust it */
        setenv("CHUNKARENA_MALLOC_SIZE", "1G", 1);
        execv("/proc/self/exe", argv);
        return 1;
    }
    basics();
    overflow_and_exhaustion();
    aligned();
    registry();
    faults("/proc/self/exe");
    printf("%s\n", failures ? "FAIL" : "all passed");
    return failures != 0;
}
