/* SPDX-License-Identifier: MIT */
/*
 * sync/ticket.h — the "ticket" layer: a FIFO ticket lock that survives
 * oversubscription.
 *
 * A thread takes the next ticket and waits until `turn` serves it, so the
 * lock goes to waiters in arrival order. A strict FIFO lock collapses when
 * threads outnumber cores: each handoff goes to one particular thread, and
 * most threads are not running, so every handoff waits for the scheduler
 * (docs/PERFORMANCE.md has the figure of a first version that did that).
 * Two rules keep the order FIFO among the threads
 * that can run:
 *
 *  - admission: at most as many tickets are out as there are CPUs online;
 *    a thread beyond that yields before it takes one. (When threads do not
 *    outnumber cores, this never happens.)
 *  - skipping: the lock holds, with the serving ticket, a "taken" bit that
 *    its owner sets when it takes its turn. A turn left free and untaken
 *    for CA_SYNC_TICKET_SKIP polls (about 1.6 us) belongs to a thread that
 *    is not running: a waiter moves the turn past it with a CAS, and that
 *    thread, when it runs again and sees its turn gone, queues again.
 *
 * Only the waiter next in line spins (a few pauses between polls, within
 * the spin budget of sync/backoff.h, then yielding); those further back
 * yield at once.
 *
 * Memory order: taking the turn is a CAS with acquire that pairs with the
 * release store of unlock, which hands over everything the previous holder
 * did. Taking a ticket and reading `next` are relaxed: they only reserve a
 * place and shape the waiting. A skip is a relaxed CAS: it hands over
 * nothing (the skipped thread never held the lock), and the waiter that
 * then takes the turn does so with its own acquire CAS on the same word,
 * which reads the release sequence headed by the last unlock.
 *
 * Counters wrap (unsigned 32-bit); distances are taken modulo 2^32, so a
 * wrap is harmless as long as fewer than 2^31 tickets are out at once.
 */
#ifndef CA_SYNC_TICKET_H
#define CA_SYNC_TICKET_H

#include <stdatomic.h>
#include <stdint.h>

#include "sync/backoff.h"

/* Pauses between two polls of the turn by the waiter next in line. */
#define CA_SYNC_TICKET_PAUSE 4u
/* Polls of a free, untaken turn (about 1.6 us) before a waiter skips it. */
#define CA_SYNC_TICKET_SKIP 16u

typedef struct ca_sync_ticket {
    _Atomic uint32_t next; /* the next ticket to hand out */
    _Atomic uint64_t turn; /* the serving ticket << 1 | taken */
} ca_sync_ticket;

/* Tickets that may be out at once: the CPUs online (the first call asks). */
unsigned ca_sync_ticket_admitted(void);

static inline void ca_sync_ticket_init(ca_sync_ticket *l)
{
    atomic_init(&l->next, 0u);
    atomic_init(&l->turn, 0u);
}

static inline uint32_t ca_sync_ticket_serving(uint64_t turn)
{
    return (uint32_t)(turn >> 1);
}

/* Take the lock (sync/ticket.c). Out of line, unlike the rest: it is
 * mostly waiting, and inlined into sync/sync.c's operations, which hold
 * every layer's lock code, it cost each of them register saves whatever
 * the layer. It calls ca_sync_ticket_admitted from there. */
void ca_sync_ticket_lock(ca_sync_ticket *l);

static inline void ca_sync_ticket_unlock(ca_sync_ticket *l)
{
    uint64_t t = atomic_load_explicit(&l->turn, memory_order_relaxed); /* only we change it now */
    /* release: pairs with the acquire CAS of the next owner */
    atomic_store_explicit(&l->turn, (uint64_t)(ca_sync_ticket_serving(t) + 1u) << 1,
                          memory_order_release);
}

#endif /* CA_SYNC_TICKET_H */
