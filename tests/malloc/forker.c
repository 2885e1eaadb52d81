/* SPDX-License-Identifier: MIT */
/*
 * tests/malloc/forker.c — fork() with threads running: three threads
 * allocate, fill, check and free all the time while the main thread forks
 * children; each child allocates (in its own new thread too), checks what
 * it wrote and exits through exit(), so that its own exit check runs.
 * Threads are also created and joined constantly, by the main thread
 * between forks and by a spawner thread during them, so that a fork can
 * come while a thread's exit gives its cached blocks back (under the
 * caches' mutex, which the child must not inherit held: a child that
 * hangs is killed by an alarm and counts as bad). 24 children, 3 workers:
 * a second or two on an idle machine. Prints a summary that does not
 * depend on timing.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/malloc/sanitized.h"

#define CHILDREN 24
#define WORKERS 3
#define CHILD_SECONDS 30 /* a child still running then is hung */

static atomic_bool stop;

static int churn(unsigned seed, int rounds)
{
    void *held[64] = {0};
    for (int r = 0; r < rounds; r++) {
        unsigned i = (seed = seed * 1103515245u + 12345u) >> 16;
        size_t size = (size_t)1 << (i % 18); /* 1 B .. 128 KiB */
        unsigned slot = i % 64;
        if (held[slot]) {
            if (((unsigned char *)held[slot])[0] != (unsigned char)slot)
                return 1;
            free(held[slot]);
        }
        held[slot] = malloc(size);
        if (!held[slot])
            return 1;
        memset(held[slot], (int)slot, size);
    }
    for (int s = 0; s < 64; s++)
        free(held[s]);
    return 0;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    while (!atomic_load(&stop))
        if (churn(seed++, 200) != 0)
            return (void *)1;
    return NULL;
}

static void *short_lived(void *arg)
{
    return (void *)(size_t)churn((unsigned)(size_t)arg, 100);
}

/* Threads that live for a few allocations, one after another, until stop. */
static void *spawner(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        void *res;
        if (pthread_create(&t, NULL, short_lived, (void *)(size_t)seed++) != 0 ||
            pthread_join(t, &res) != 0 || res != NULL)
            return (void *)1;
    }
    return NULL;
}

int main(void)
{
#ifdef CA_SANITIZED
    puts("SKIP: a sanitizer build (tests/malloc/sanitized.h)");
    return 77;
#endif
    pthread_t w[WORKERS + 1]; /* the workers, then the spawner */
    for (size_t i = 0; i < WORKERS; i++)
        if (pthread_create(&w[i], NULL, worker, (void *)i) != 0)
            return 2;
    if (pthread_create(&w[WORKERS], NULL, spawner, (void *)1000) != 0)
        return 2;
    int good = 0;
    for (int c = 0; c < CHILDREN; c++) {
        pthread_t t;
        void *res;
        if (pthread_create(&t, NULL, short_lived, (void *)(size_t)c) != 0 ||
            pthread_join(t, &res) != 0 || res != NULL)
            return 3;
        pid_t pid = fork();
        if (pid < 0)
            return 4;
        if (pid == 0) {
            alarm(CHILD_SECONDS);
            int bad = churn((unsigned)c, 2000);
            if (pthread_create(&t, NULL, short_lived, (void *)(size_t)c) != 0 ||
                pthread_join(t, &res) != 0 || res != NULL)
                bad = 1;
            exit(bad);
        }
        int st;
        if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            good++;
    }
    atomic_store(&stop, true);
    int bad = 0;
    for (int i = 0; i <= WORKERS; i++) {
        void *res;
        pthread_join(w[i], &res);
        bad += res != NULL;
    }
    printf("children: %d of %d good; workers and spawner: %d bad\n", good, CHILDREN, bad);
    return good == CHILDREN && bad == 0 ? 0 : 1;
}
