/*
 * sync/ticket.h — the "ticket" layer: a FIFO ticket lock.
 *
 * A thread takes the next ticket and waits until `serving` reaches it, so
 * the lock goes to waiters in arrival order. A waiter pauses in proportion
 * to its distance from the head of the queue (the ones far back poll less),
 * and after a bound yields: on an oversubscribed machine
 * the thread whose turn it is may be descheduled, and spinning waiters
 * would only keep it from running.
 *
 * Memory order: the load of `serving` that sees our ticket is acquire and
 * pairs with the release store of unlock, which hands over everything the
 * previous holder did. Taking a ticket is a relaxed RMW: it orders nothing,
 * it only reserves a place. Only the holder writes `serving`.
 */
#ifndef CA_SYNC_TICKET_H
#define CA_SYNC_TICKET_H

#include <stdatomic.h>
#include <stdbool.h>

#include "sync/backoff.h"

/* Pauses between two polls of `serving` by the waiter next in line. */
#define CA_SYNC_TICKET_PAUSE 4u

typedef struct ca_sync_ticket {
    _Atomic unsigned next;    /* the next ticket to hand out */
    _Atomic unsigned serving; /* the ticket that holds the lock */
} ca_sync_ticket;

#define CA_SYNC_TICKET_INIT {0u, 0u}

static inline void ca_sync_ticket_init(ca_sync_ticket *l)
{
    atomic_init(&l->next, 0u);
    atomic_init(&l->serving, 0u);
}

static inline bool ca_sync_ticket_trylock(ca_sync_ticket *l)
{
    /* Succeeds only when nobody holds or waits: next == serving. */
    unsigned s = atomic_load_explicit(&l->serving, memory_order_acquire); /* pairs with unlock */
    unsigned n = s;
    return atomic_compare_exchange_strong_explicit(&l->next, &n, s + 1u, memory_order_acquire,
                                                   memory_order_relaxed);
}

static inline void ca_sync_ticket_lock(ca_sync_ticket *l)
{
    unsigned me = atomic_fetch_add_explicit(&l->next, 1u, memory_order_relaxed);
    ca_sync_backoff b = CA_SYNC_BACKOFF_INIT;
    for (;;) {
        unsigned s = atomic_load_explicit(&l->serving, memory_order_acquire); /* pairs with unlock */
        if (s == me)
            return;
        if (me - s > 1u)
            sched_yield(); /* not next: the wait is long, or its holder is not running */
        else
            ca_sync_backoff_wait(&b, CA_SYNC_TICKET_PAUSE);
    }
}

static inline void ca_sync_ticket_unlock(ca_sync_ticket *l)
{
    unsigned s = atomic_load_explicit(&l->serving, memory_order_relaxed); /* only we write it */
    atomic_store_explicit(&l->serving, s + 1u, memory_order_release); /* pairs with lock's acquire */
}

#endif /* CA_SYNC_TICKET_H */
