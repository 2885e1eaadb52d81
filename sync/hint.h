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
 * the arena (slot i at the fraction i * 0.618... of it, modulo 1), so
 * threads carve different parts of the arena.
 *
 * Hints alone do not keep threads apart: each thread's next fit sweeps the
 * whole arena, the sweeps drift, and once one thread runs right behind
 * another they write the same cache lines on every operation (measured: two
 * threads on one arena ran no faster than one). So each slot has a lane: it
 * starts where the slot's hint starts and ends where the next active slot's
 * begins, and a search looks through its own lane first (core/core.h). The
 * lanes follow the set of active slots, a mask kept with each claim and
 * give-back; a lone thread's lane is the whole arena.
 *
 * Per-thread state lives in slots in the arena's metadata
 * (CA_SYNC_HINT_SLOTS of them, 128 bytes each, so no two threads share a
 * cache line): a context (hint, lane and counters, see ca_core_ctx), the
 * mask its lane was drawn for, and what the slot last published of its
 * chunk count. A thread finds its slot through a
 * small thread-local table keyed by the layer's address and generation; a
 * layer destroyed and re-created at the same address has a new generation,
 * so stale entries are never used. A slot has one owner at a time: a thread
 * claims a free slot by CAS (acquire) and gives it back at thread exit
 * (release store), which orders the old owner's counter writes before the
 * new owner's. Thread exit gives back only slots of layers still alive: the
 * live layers are on a list under a process-wide mutex, which init and fini
 * also take, so a destroyed arena is never touched. When every slot is
 * taken, or a thread's table is full, the thread uses the overflow context
 * under a spinlock.
 *
 * The contract of a layer (init, lock, unlock, static initializer)
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

#define CA_SYNC_HINT_SLOTS 32u
#define CA_SYNC_HINT_SLOT_BYTES 128u

/* One thread's slot. */
typedef struct ca_sync_hint_slot {
    _Alignas(CA_SYNC_HINT_SLOT_BYTES) _Atomic unsigned owner; /* 0 free, 1 owned */
    uint32_t lane_mask; /* the active slots ctx's lane was drawn for (owner only) */
    size_t published;   /* ctx.tally.chunks when last published (owner only) */
    ca_core_ctx ctx;
} ca_sync_hint_slot;

_Static_assert(CA_SYNC_HINT_SLOTS <= 32, "the active slots fit a 32-bit mask");

_Static_assert(sizeof(ca_sync_hint_slot) == CA_SYNC_HINT_SLOT_BYTES, "a slot is 128 bytes");

typedef struct ca_sync_hint {
    ca_sync_hint_slot *slots;   /* CA_SYNC_HINT_SLOTS, in the arena's metadata */
    uint64_t generation;        /* unique per init in this process */
    size_t nchunks;             /* of the arena: where the lanes fall */
    /* Bit i: slot i has an owner. Read by every operation (relaxed: it only
     * shapes the lanes), written at claims and give-backs. */
    _Atomic uint32_t active;
    ca_sync_spin overflow_lock; /* guards `overflow` */
    ca_core_ctx overflow;       /* for threads without a slot */
    size_t overflow_published;
    size_t step; /* see `published` */
    struct ca_sync_hint *live_prev, *live_next; /* the live list (hint.c) */
    /* The arena's chunk count as published by the slots: each publishes its
     * change once it reaches `step` chunks, so this is within
     * CA_SYNC_HINT_SLOTS * step of the truth, and cheap to keep. Written
     * now and then by every thread: on a line of its own, away from the
     * fields every operation reads. */
    _Alignas(64) _Atomic size_t published;
} ca_sync_hint;

#define CA_SYNC_HINT_INIT {0}

/* Bytes of slots the layer needs in the arena's metadata (64-aligned). */
size_t ca_sync_hint_meta_size(void);

/* Set up the layer with its slots in `slots_mem` (ca_sync_hint_meta_size()
 * bytes, 128-aligned) for an arena of nchunks chunks, and put it on the
 * live list. Takes the process-wide mutex. */
void ca_sync_hint_init(ca_sync_hint *h, void *slots_mem, size_t nchunks);

/* Take the layer off the live list: no thread exit touches it afterwards.
 * The caller guarantees no operation is in flight. */
void ca_sync_hint_fini(ca_sync_hint *h);

/* The calling thread's context: its own slot's (claimed on first use), or
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

/* After the core was reset (the arena quiet): forget what every slot
 * published of its chunk count. */
void ca_sync_hint_reset(ca_sync_hint *h);

/* Every context of the layer (slots, then overflow), for summing tallies:
 * fills out[0..CA_SYNC_HINT_SLOTS] and returns the count. */
size_t ca_sync_hint_contexts(ca_sync_hint *h, ca_core_ctx **out);

/* Take and release the process-wide mutex of the live list, around a
 * fork(): a pthread_atfork prepare handler takes it (after every operation
 * of the caller's arenas has drained), the parent and child handlers
 * release it, so the child never inherits it held by a thread that does
 * not exist there. For malloc/, whose allocations run at any fork. */
void ca_sync_hint_fork_lock(void);
void ca_sync_hint_fork_unlock(void);

#endif /* CA_SYNC_HINT_H */
