/* SPDX-License-Identifier: MIT */
/*
 * tests/exit/exit_module.c — a module (dlopen()ed by tests/exit/exit_late.c,
 * never closed) with a static arena of its own, used while the process
 * exits: threads started here keep allocating from it while main returns,
 * and a destructor that runs after the module's CA_ARENA_DEFINE destructor
 * (priority 101 runs last) frees a block into it. Linked with the shared
 * library, so there is one registry with the program. Thread-safe as the
 * arena; exit_module_start is called once.
 */
#include "api/chunkarena.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

CA_ARENA_DEFINE(mod, "exit-module", 256, 64, CA_LOCK_HINT);

static void *kept;

__attribute__((destructor(101))) static void late(void)
{
    if (kept)
        ca_free(CA_ARENA(mod), kept); /* a fault aborts: the default handler */
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        void *p = ca_alloc(CA_ARENA(mod), 100);
        if (!p)
            _exit(4); /* the arena went away under a running thread */
        ca_free(CA_ARENA(mod), p);
    }
    return NULL;
}

/* Start `threads` threads that allocate until the process ends. */
int exit_module_start(unsigned threads);
int exit_module_start(unsigned threads)
{
    kept = ca_alloc(CA_ARENA(mod), 100);
    if (!kept)
        return -1;
    for (unsigned i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_detach(t) != 0)
            return -1;
    }
    return 0;
}
