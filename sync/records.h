/* SPDX-License-Identifier: MIT */
/*
 * sync/records.h — per-thread records keyed by (owner, generation): the
 * machinery the hint layer (sync/hint.c) and the per-thread caches
 * (cache/cache.c) share.
 *
 * An owner (one hint layer, one cache) has a record per thread that uses
 * it, made on the thread's first use and found through the thread's own
 * table: a growable array of (owner, generation, record) entries in
 * initial-exec TLS, with the entry used last checked first, so the usual
 * lookup is a few instructions and no call. An owner destroyed and set up
 * again at the same address has a new generation, so a stale entry is
 * never followed. No limit on owners per thread or threads per owner.
 *
 * The memory comes from the system in pages (mmap), never from malloc: the
 * arenas may serve malloc itself. A record of up to CA_SYNC_REC_SMALL
 * bytes comes from a pool of such slots carved from larger mappings (one
 * page per record would be waste for the hint layer's 128 bytes); a larger
 * one gets pages of its own. A record that cannot be had (mmap failed)
 * leaves the caller to work without one.
 *
 * A registry (one per kind of owner) holds a process-wide mutex, the list
 * of live owners and, per owner, the list of its records. At thread exit
 * the registry's `leave` hook sees each of the thread's records of a live
 * owner and either frees it (the caches: their blocks go back first) or
 * parks it on the owner's list for the next thread's first use (the hint
 * layer: the record's counters stay). Owners destroyed before are skipped:
 * their records went with them (ca_sync_owner_fini), and a destroyed owner
 * is never touched.
 *
 * Thread safety: ca_sync_rec_find is the calling thread's own business (its
 * table); everything else takes the registry's mutex, which also orders a
 * record's handing over from one thread to the next (the old thread's
 * unlock in exit happens-before the new thread's lock in attach). Lock
 * order: a registry's mutex, then anything its hooks take; the hooks run
 * under it and must not take the same registry's mutex. Nothing here calls
 * user code, prints, or maps memory with the mutex held.
 */
#ifndef CA_SYNC_RECORDS_H
#define CA_SYNC_RECORDS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Records of at most this many bytes come from the pool (and are aligned
 * to it, so two threads' records never share a cache line or its
 * prefetched neighbour). */
#define CA_SYNC_REC_SMALL 128u

/* The head of a record: the owner's list. The owner's own fields follow
 * (its record type starts with this one). */
typedef struct ca_sync_rec {
    struct ca_sync_rec *prev, *next; /* the owner's list (registry mutex) */
    size_t bytes;                    /* of its memory (CA_SYNC_REC_SMALL: the pool's) */
    bool parked;                     /* its thread exited; the next first use takes it */
} ca_sync_rec;

typedef struct ca_sync_owner {
    uint64_t generation; /* unique per ca_sync_owner_init in the process; 0 never */
    /* Under the registry's mutex: */
    ca_sync_rec *recs; /* every record, its thread running or parked */
    size_t parked;     /* how many of recs are parked */
    struct ca_sync_owner *live_next; /* singly linked: fini walks the list
                                      * anyway (is_live), and the owner sits
                                      * in every arena object */
} ca_sync_owner;

typedef struct ca_sync_entry {
    ca_sync_owner *owner; /* NULL: unused */
    uint64_t generation;  /* the owner's when the record was made */
    ca_sync_rec *rec;
} ca_sync_entry;

/* A thread's table for one registry: the client declares it CA_SYNC_TLS. */
typedef struct ca_sync_table {
    ca_sync_entry *recent; /* the entry used last: checked first */
    ca_sync_entry *e;      /* pages, grown by doubling */
    size_t len, cap;
    struct ca_sync_registry *reg; /* set at the first attach: for the exit hook */
} ca_sync_table;

/* Initial-exec TLS: one instruction to reach, no call to __tls_get_addr on
 * the allocation path. */
#define CA_SYNC_TLS _Thread_local __attribute__((tls_model("initial-exec")))

typedef struct ca_sync_registry {
    pthread_mutex_t mutex;
    /* Under the mutex: a thread's first use of o got record r (fresh: its
     * memory zeroed beyond the head; else a parked record, as its last
     * thread left it). NULL: nothing to do. */
    void (*adopt)(ca_sync_owner *o, ca_sync_rec *r, bool fresh);
    /* Under the mutex, at the exit of r's thread (o live): true to free r,
     * false to park it. */
    bool (*leave)(ca_sync_owner *o, ca_sync_rec *r);
    /* Under the mutex: */
    ca_sync_owner *live;
    ca_sync_rec *pool; /* free small records */
    bool keyed;        /* `key` exists */
    pthread_key_t key; /* its destructor is the thread-exit hook */
} ca_sync_registry;

#define CA_SYNC_REGISTRY_INIT(adopt, leave) \
    {PTHREAD_MUTEX_INITIALIZER, adopt, leave, NULL, NULL, false, 0}

/* Give o a new generation and put it on g's live list. */
void ca_sync_owner_init(ca_sync_registry *g, ca_sync_owner *o);

/* Take o off the live list and free its records (a second fini does
 * nothing): no thread's exit touches o afterwards. No thread may use o
 * meanwhile or afterwards. */
void ca_sync_owner_fini(ca_sync_registry *g, ca_sync_owner *o);

/* Call fn(r, arg) on every record of o (running threads' and parked), under
 * the mutex. */
void ca_sync_owner_each(ca_sync_registry *g, ca_sync_owner *o,
                        void (*fn)(ca_sync_rec *r, void *arg), void *arg);

/* The calling thread's record of o, or NULL if it has none yet. O(1) when
 * o is the owner used last, else O(owners in the table). */
static inline ca_sync_rec *ca_sync_rec_find(ca_sync_table *t, const ca_sync_owner *o)
{
    ca_sync_entry *e = t->recent;
    if (e && e->owner == o && e->generation == o->generation)
        return e->rec;
    for (size_t i = 0; i < t->len; i++)
        if (t->e[i].owner == o && t->e[i].generation == o->generation) {
            t->recent = &t->e[i];
            return t->e[i].rec;
        }
    return NULL;
}

/* The calling thread's first use of o: a record of `bytes` bytes (a parked
 * one if o has any), in t, with the exit hook armed. NULL if memory for the
 * record or the table could not be had. Takes the mutex. */
ca_sync_rec *ca_sync_rec_attach(ca_sync_registry *g, ca_sync_table *t, ca_sync_owner *o,
                                size_t bytes);

#endif /* CA_SYNC_RECORDS_H */
