/* SPDX-License-Identifier: MIT */
/*
 * tests/exit/exit_late.c — static arenas stay usable while the process
 * exits, whichever way the library is linked: this program is built twice,
 * against the shared library (exit_late_so) and the static one
 * (exit_late_a). Each round forks a child that (1) keeps a block of a
 * static arena for a destructor of priority 101 (which runs after the
 * CA_ARENA_DEFINE destructors) to free, (2) leaves four threads allocating
 * from it, and (3) returns from its main-like function into exit(). The
 * shared build also dlopen()s tests/exit/exit_module.c, which does the same
 * with an arena of its own. The child must end with status 0: a free
 * reported as foreign aborts it (default fault handler), a thread whose
 * arena vanished ends it with 4. Each round is a fresh race with exit: ten
 * rounds. The module is found as CA_TEST_EXIT_MODULE, else next to this
 * program (.libs/exit_module.so or exit_module.so). Exit status: 0 pass,
 * 1 fail, 77 skip (no module in the shared build).
 */
#define _GNU_SOURCE 1

#include "api/chunkarena.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 10
#define THREADS 4

CA_ARENA_DEFINE(la, "late-a", 256, 64, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(lh, "late-h", 256, 64, CA_LOCK_HINT);

static void *kept_a, *kept_h;

__attribute__((destructor(101))) static void late(void)
{
    if (kept_a)
        ca_free(CA_ARENA(la), kept_a); /* a fault aborts: the default handler */
    if (kept_h)
        ca_free(CA_ARENA(lh), kept_h);
    if (kept_a && !ca_arena_of(kept_a))
        _exit(5); /* the registry no longer knows a static arena's memory */
}

static void *worker(void *arg)
{
    ca_arena *a = arg;
    for (;;) {
        void *p = ca_alloc(a, 100);
        if (!p)
            _exit(4);
        ca_free(a, p);
    }
    return NULL;
}

static int module_path(char *buf, size_t len)
{
    const char *env = getenv("CA_TEST_EXIT_MODULE");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    char exe[4000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    static const char *const places[] = {"/.libs/exit_module.so", "/exit_module.so"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(buf, len, "%s%s", exe, places[i]);
        if (access(buf, R_OK) == 0)
            return 0;
    }
    return -1;
}

/* The child: never returns. */
static void child(const char *module)
{
    if (module) {
        void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
        int (*start)(unsigned) = NULL;
        if (!h || !(*(void **)&start = dlsym(h, "exit_module_start")) || start(THREADS) != 0) {
            fprintf(stderr, "exit_late: module %s: %s\n", module, dlerror());
            _exit(6);
        }
    }
    kept_a = ca_alloc(CA_ARENA(la), 100);
    kept_h = ca_alloc(CA_ARENA(lh), 100);
    if (!kept_a || !kept_h)
        _exit(3);
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, i % 2 ? CA_ARENA(la) : CA_ARENA(lh)) != 0)
            _exit(3);
    }
    usleep(1000); /* let them run */
    exit(0);      /* as main returning: destructors run with the threads busy */
}

int main(void)
{
    char buf[4096];
    const char *module = NULL;
#ifdef CA_EXIT_WITH_MODULE
    if (module_path(buf, sizeof buf) != 0) {
        fprintf(stderr, "exit_late: exit_module.so not found (set CA_TEST_EXIT_MODULE)\n");
        return 77;
    }
    module = buf;
#else
    (void)buf;
    (void)module_path;
#endif
    int failed = 0;
    for (int r = 0; r < ROUNDS; r++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            child(module);
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "exit_late: round %d: the child ended with %s %d\n", r,
                    WIFSIGNALED(status) ? "signal" : "status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            failed++;
        }
    }
    printf("exit_late: %d of %d rounds failed\n", failed, ROUNDS);
    return failed ? 1 : 0;
}
