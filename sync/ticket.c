/* SPDX-License-Identifier: MIT */
/*
 * sync/ticket.c — the out-of-line parts of the ticket lock (sync/ticket.h):
 * how many tickets it lets out at once, as many as there are CPUs online,
 * asked once (any thread may call it; the first calls may each ask, and all
 * store the same value); and taking the lock, which is mostly waiting.
 */
#include "config.h"

#include "sync/ticket.h"

#include <unistd.h>

unsigned ca_sync_ticket_admitted(void)
{
    static _Atomic unsigned cpus; /* 0 until asked */
    unsigned n = atomic_load_explicit(&cpus, memory_order_relaxed);
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 1 ? (unsigned)online : 2u; /* a holder and one waiter at least */
        atomic_store_explicit(&cpus, n, memory_order_relaxed);
    }
    return n;
}

void ca_sync_ticket_lock(ca_sync_ticket *l)
{
    unsigned admitted = ca_sync_ticket_admitted();
    for (;;) {
        /* Admission: wait outside the queue while it is full. */
        while (atomic_load_explicit(&l->next, memory_order_relaxed) -
                   ca_sync_ticket_serving(atomic_load_explicit(&l->turn, memory_order_relaxed)) >=
               admitted)
            sched_yield();
        uint32_t me = atomic_fetch_add_explicit(&l->next, 1u, memory_order_relaxed);
        ca_sync_backoff b = CA_SYNC_BACKOFF_INIT;
        uint64_t stalled_at = ~0ull; /* the free, untaken turn seen last */
        unsigned stalled = 0;
        for (;;) {
            uint64_t t = atomic_load_explicit(&l->turn, memory_order_relaxed);
            uint32_t s = ca_sync_ticket_serving(t), ahead = me - s;
            if (ahead == 0) {
                if (atomic_compare_exchange_weak_explicit(&l->turn, &t, t | 1u,
                                                          memory_order_acquire, /* pairs with unlock */
                                                          memory_order_relaxed))
                    return;
                continue;
            }
            if (ahead > UINT32_MAX / 2)
                break; /* our turn was skipped while we were not running: queue again */
            if (t & 1u || t != stalled_at) {
                stalled_at = t & 1u ? ~0ull : t;
                stalled = 0;
            } else if (++stalled >= CA_SYNC_TICKET_SKIP) {
                /* Turn s is free and nobody took it: its owner is not running. */
                (void)atomic_compare_exchange_strong_explicit(
                    &l->turn, &t, (uint64_t)(s + 1u) << 1, memory_order_relaxed,
                    memory_order_relaxed);
                stalled = 0;
                continue;
            }
            if (ahead > 1u)
                sched_yield(); /* not next: the wait is long, or its holder is not running */
            else
                ca_sync_backoff_wait(&b, CA_SYNC_TICKET_PAUSE);
        }
    }
}
