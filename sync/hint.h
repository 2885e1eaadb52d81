/* SPDX-License-Identifier: MIT */
/*
 * sync/hint.h — the "hint" layer: lock-free arenas with per-thread next-fit
 * hints.
 *
 * There is no lock. The core runs in shared mode (core/core.h): chunks are
 * claimed and released by compare-and-swap on the map words, a claim that
 * loses a race rolls back and the search resumes elsewhere. What keeps
 * threads from racing for the same chunks in the first place is that each
 * one searches from its own next-fit cursor, and the hints start spread over
 * the arena (at the lane positions below), so threads carve different parts
 * of the arena.
 *
 * Hints alone do not keep threads apart: each thread's next fit sweeps the
 * whole arena, the sweeps drift, and once one thread runs right behind
 * another they write the same cache lines on every operation (measured: two
 * threads on one arena ran no faster than one). So each thread has a lane:
 * it starts where the thread's hint starts and ends where the next thread's
 * begins, and a search looks through its own lane first (core/core.h). The
 * lanes follow the set of lane positions in use (below); a lone thread's
 * lane is the whole arena.
 *
 * Per-thread state lives in a record per thread and arena (sync/records.h),
 * made on the thread's first use of the arena, outside the arena: 128
 * bytes of a pool of pages, so no two threads share a cache line. It
 * holds a context (hint, lane and counters, see ca_core_ctx), the lane it
 * was drawn for and what the record last published of its chunk count.
 * The thread finds it through its own table, the entry used last first;
 * any number of threads per arena, of arenas per thread.
 *
 * Lanes. There are CA_SYNC_HINT_LANES lane positions (lane i starts at
 * the fraction i * 0.618... of the arena, modulo 1); a record takes the
 * position fewest records hold (the thread's own number breaks ties), so
 * the first 32 threads have a lane each and more share them evenly. A
 * position's users are counted (`lane_users`, under the records' mutex),
 * and `active` has bit i set while position i has users: a record's lane
 * runs from its position to the next active one. `active` is read by every
 * operation and written under the mutex, all relaxed: it only shapes the
 * lanes, which are advisory, and orders nothing.
 *
 * Hand-over. At thread exit the record is parked, not freed: its position
 * is counted off, and it stays on the arena's list with its counters, so
 * the figures summed over records (ca_sync_hint_each) lose nothing. The
 * next thread's first use takes a parked record before it makes one: an
 * arena has as many records as it ever had threads at once. The mutex
 * orders the hand-over (the exiting thread's unlock happens-before the
 * adopting thread's lock), so the old owner's counter writes happen-before
 * the new owner's. Destroy frees the records; a thread that exits later
 * finds the arena off the live list and touches nothing; an arena made
 * again at the same address has a new generation, so stale entries are
 * never followed. A thread whose record cannot be made (mmap failed) uses
 * the overflow context under a spinlock.
 *
 * The contract of a layer (init, lock, unlock)
 * maps here to: lock = find the calling thread's context, unlock = let go of
 * it (only the overflow context is a real lock).
 */
#ifndef CA_SYNC_HINT_H
#define CA_SYNC_HINT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "sync/spin.h"

#include "sync/records.h"

/* Lane positions: `active` is a 32-bit mask of them. */
#define CA_SYNC_HINT_LANES 32u

typedef struct ca_sync_hint {
    /* Read by every operation: the owner's generation (the lookup), the
     * chunk count (lanes) and `active`. On a line of their own. */
    _Alignas(64) ca_sync_owner owner; /* the records (sync/records.h) */
    size_t nchunks;                   /* of the arena: where the lanes fall */
    size_t step;                      /* see `published` */
    _Atomic uint32_t active;          /* bit i: lane position i has users */
    ca_sync_spin overflow_lock;       /* guards `overflow` */
    ca_core_ctx overflow;             /* for a thread without a record */
    size_t overflow_published;
    /* The arena's chunk count as published by the contexts: each publishes
     * its change once it reaches `step` chunks, so this is within one step
     * per context of the truth, and cheap to keep. Written now and then by
     * every thread: away from the line every operation reads. */
    _Atomic size_t published;
    /* Users of each lane position (records' mutex). A position has at most
     * (threads at once) / 32 + 1 users: a record takes the position with
     * the fewest, which has at most (threads at once) / 32. */
    uint16_t lane_users[CA_SYNC_HINT_LANES];
} ca_sync_hint;

_Static_assert(CA_SYNC_HINT_LANES <= 32, "the active positions fit a 32-bit mask");
_Static_assert(offsetof(ca_sync_hint, published) >= 64, "published is off the hot line");


/* Set up the layer for an arena of nchunks chunks, and put it on the live
 * list. Takes the records' mutex. */
void ca_sync_hint_init(ca_sync_hint *h, size_t nchunks);

/* Take the layer off the live list and free its records: no thread exit
 * touches it afterwards. The caller guarantees no operation is in flight. */
void ca_sync_hint_fini(ca_sync_hint *h);

/* The calling thread's context: its own record's (made on first use), or
 * the overflow context, locked. Pass the result to ca_sync_hint_unlock. */
ca_core_ctx *ca_sync_hint_lock(ca_sync_hint *h);

/* Let go of a context from lock. */
static inline void ca_sync_hint_unlock(ca_sync_hint *h, ca_core_ctx *x)
{
    if (x == &h->overflow)
        ca_sync_spin_unlock(&h->overflow_lock);
}

/* After an operation through context x changed its chunk count: publish
 * the change if it has grown to `step`; returns the new published total if
 * it published, else 0. */
size_t ca_sync_hint_publish(ca_sync_hint *h, ca_core_ctx *x);

/* A search through x lost its `lost`-th race in a row (another thread
 * claimed the run first). Every CA_SYNC_HINT_RETRIES lost races, x's hint
 * jumps to another part of the arena and the thread yields: a thread that
 * owes a summary its correction may be preempted, and the run will keep
 * looking free until it runs again. */
#define CA_SYNC_HINT_RETRIES 8u
void ca_sync_hint_lost(ca_sync_hint *h, ca_core_ctx *x, unsigned lost);

/* After the core was reset (the arena quiet): forget what every context
 * published of its chunk count. */
void ca_sync_hint_reset(ca_sync_hint *h);

/* Call fn(x, arg) on every context of the layer (every record's, its
 * thread running or exited, then the overflow context), under the records'
 * mutex: for summing counters and for reset. fn must not use the layer. */
void ca_sync_hint_each(ca_sync_hint *h, void (*fn)(ca_core_ctx *x, void *arg), void *arg);

/* Take and release the process-wide mutex of the records and live list, around a
 * fork(): a pthread_atfork prepare handler takes it (after every operation
 * of the caller's arenas has drained), the parent and child handlers
 * release it, so the child never inherits it held by a thread that does
 * not exist there. For malloc/, whose allocations run at any fork. */
void ca_sync_hint_fork_lock(void);
void ca_sync_hint_fork_unlock(void);

#endif /* CA_SYNC_HINT_H */
