/* SPDX-License-Identifier: MIT */
/*
 * api/registry.c — the process-wide list of named arenas.
 *
 * Readers (find, list, of, free_any) and writers (create, destroy, static
 * registration) may run at once from any thread. The list is singly linked
 * through ca_arena.next, newest first. Writers are serialised by a mutex;
 * they publish a new arena with a release store of the pointer that makes
 * it reachable (after filling it in), and readers follow pointers with
 * acquire loads, which pairs with it: a reader that reaches an arena sees
 * it whole. A removed arena is unlinked the same way, and its memory may go
 * back to the caller only once no reader can still be looking at it:
 *
 *  - with liburcu (configure --with-urcu), readers are RCU read-side
 *    critical sections (the "bulletproof" flavour, which needs no thread
 *    registration, as a library must), and the writer waits for a grace
 *    period (synchronize_rcu) after unlinking;
 *  - without it, readers hold a read lock on a rwlock that writers take
 *    for writing, so there is nothing left to wait for.
 *
 * ThreadSanitizer cannot see liburcu's grace periods, so in a TSan build
 * with liburcu the two sides say it in annotations: each reader "releases"
 * a token when it leaves, and the writer "acquires" it after the grace
 * period, which is exactly the ordering the grace period guarantees.
 */
#include "config.h"

#include "api/internal.h"

#include <pthread.h>
#include <string.h>

#if CA_HAVE_URCU
#include <urcu-bp.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define CA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CA_TSAN 1
#endif
#endif

#if CA_HAVE_URCU && defined(CA_TSAN)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char readers_token;
#define READERS_LEFT() __tsan_release(&readers_token)
#define READERS_GONE() __tsan_acquire(&readers_token)
#else
#define READERS_LEFT() ((void)0)
#define READERS_GONE() ((void)0)
#endif

static _Atomic(ca_arena *) head;
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;
#if !CA_HAVE_URCU
static pthread_rwlock_t readers = PTHREAD_RWLOCK_INITIALIZER;
#endif

void ca_registry_enter(void)
{
#if CA_HAVE_URCU
    urcu_bp_read_lock();
#else
    (void)pthread_rwlock_rdlock(&readers);
#endif
}

void ca_registry_leave(void)
{
#if CA_HAVE_URCU
    READERS_LEFT();
    urcu_bp_read_unlock();
#else
    (void)pthread_rwlock_unlock(&readers);
#endif
}

ca_arena *ca_registry_first(void)
{
    return atomic_load_explicit(&head, memory_order_acquire); /* pairs with add's release */
}

ca_arena *ca_registry_next(const ca_arena *a)
{
    return atomic_load_explicit(&((ca_arena *)a)->next, memory_order_acquire);
}

void ca_registry_lock(void)
{
    (void)pthread_mutex_lock(&writer);
#if !CA_HAVE_URCU
    (void)pthread_rwlock_wrlock(&readers);
#endif
}

void ca_registry_unlock(void)
{
#if !CA_HAVE_URCU
    (void)pthread_rwlock_unlock(&readers);
#endif
    (void)pthread_mutex_unlock(&writer);
}

ca_arena *ca_registry_named(const char *name)
{
    for (ca_arena *a = ca_registry_first(); a; a = ca_registry_next(a))
        if (a->named && strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

void ca_registry_add(ca_arena *a)
{
    if (a->registered)
        return; /* never twice: the list would close into a cycle */
    atomic_store_explicit(&a->next, atomic_load_explicit(&head, memory_order_relaxed),
                          memory_order_relaxed);
    /* release: whoever reaches `a` through head sees it filled in */
    atomic_store_explicit(&head, a, memory_order_release);
    a->registered = true;
}

void ca_registry_remove(ca_arena *a)
{
    _Atomic(ca_arena *) *link = &head;
    for (ca_arena *p; (p = atomic_load_explicit(link, memory_order_relaxed)) != NULL;
         link = &p->next)
        if (p == a) {
            /* release: a reader that reaches a->next through the new link
             * sees it as it was published */
            atomic_store_explicit(link, atomic_load_explicit(&a->next, memory_order_relaxed),
                                  memory_order_release);
            a->registered = false;
            return;
        }
}

void ca_registry_wait_readers(void)
{
#if CA_HAVE_URCU
    urcu_bp_synchronize_rcu();
    READERS_GONE();
#endif
}
