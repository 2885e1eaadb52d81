/* SPDX-License-Identifier: MIT */
/*
 * sync/spin.h — the "spin" layer: a test-and-test-and-set spinlock.
 *
 * A waiter reads the lock word (shared, in its cache) until it looks free,
 * and only then tries the exchange, so waiting costs no cache-line traffic.
 * Between reads it backs off exponentially (1, 2, 4 ... 32 pauses) and,
 * once its spin budget is spent, yields (sync/backoff.h), which keeps it
 * sound on an oversubscribed machine. Not fair: for short critical sections
 * and few threads.
 *
 * Memory order: the exchange that takes the lock is acquire and pairs with
 * the release store of unlock, so everything the previous holder did under
 * the lock happens-before what the next holder does. The spinning reads are
 * relaxed: they only decide when to try again.
 */
#ifndef CA_SYNC_SPIN_H
#define CA_SYNC_SPIN_H

#include <stdatomic.h>

#include "sync/backoff.h"

/* The longest backoff between two reads of the lock word, in pauses. */
#define CA_SYNC_SPIN_MAX_PAUSES 32u

typedef struct ca_sync_spin {
    _Atomic unsigned held; /* 0 free, 1 held */
} ca_sync_spin;

static inline void ca_sync_spin_init(ca_sync_spin *l)
{
    atomic_init(&l->held, 0u);
}

/* Wait for the lock, found held, and take it. Out of line (and cold): its
 * backoff state would otherwise cost every operation that inlines the
 * lock register saves, held or not. */
static __attribute__((noinline, cold)) void ca_sync_spin_wait(ca_sync_spin *l)
{
    ca_sync_backoff b = CA_SYNC_BACKOFF_INIT;
    unsigned pauses = 1u;
    do {
        while (atomic_load_explicit(&l->held, memory_order_relaxed) != 0u) {
            ca_sync_backoff_wait(&b, pauses);
            if (pauses < CA_SYNC_SPIN_MAX_PAUSES)
                pauses *= 2u;
        }
    } while (atomic_exchange_explicit(&l->held, 1u, memory_order_acquire) != 0u); /* pairs with unlock */
}

static inline void ca_sync_spin_lock(ca_sync_spin *l)
{
    if (atomic_exchange_explicit(&l->held, 1u, memory_order_acquire) != 0u) /* pairs with unlock */
        ca_sync_spin_wait(l);
}

static inline void ca_sync_spin_unlock(ca_sync_spin *l)
{
    atomic_store_explicit(&l->held, 0u, memory_order_release); /* pairs with lock's acquire */
}

#endif /* CA_SYNC_SPIN_H */
