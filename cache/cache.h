/* SPDX-License-Identifier: MIT */
/*
 * cache/cache.h — per-thread caches of small blocks in front of an arena's
 * sync layer (magazines, after Bonwick and Adams, "Magazines and Vmem",
 * USENIX 2001).
 *
 * A thread that frees a block of at most `classes` chunks keeps it, in a
 * magazine of its own for that chunk count (an array of pointers in the
 * thread's record for the arena, never a link inside the block), and a
 * later allocation of that chunk count on the same thread takes it back
 * without touching shared state. A thread goes to the arena (through the
 * sync layer: one lock hold, or one pass of the lock-free protocol) once
 * a batch: to refill an empty magazine with several blocks, or to give the
 * older half of a full one back.
 *
 * A cached block stays allocated in the chunk map; the core's cached plane
 * (core/core.h, the end) marks it, so every pointer judgement treats it as
 * freed (CA_CORE_NOTALLOC), and the race of two frees of one block is
 * decided by one atomic fetch_or on its bit.
 *
 * Bounds. All threads' caches of an arena hold at most `limit` chunks
 * together: a record reserves quota from the arena's counter in quanta
 * before it keeps blocks, and one thread at most `thread_cap`. An
 * allocation that finds no room gives back the calling thread's cached
 * blocks and searches once more; other threads' caches may then still
 * hold up to `limit` chunks, in blocks of at most `classes` chunks.
 *
 * Per-thread state: a record per thread and arena (sync/records.h: pages,
 * never malloc), made on the thread's first cacheable operation on the
 * arena and found through a thread-local table (any number of arenas per
 * thread, of threads per arena; a thread whose record cannot be made runs
 * uncached). A process-wide mutex guards the list of live caches and each
 * cache's list of records: thread exit gives a thread's blocks back to the
 * arenas still alive and parks its records (the next thread takes one
 * over), reset and destroy account for
 * every record, live thread or exited.
 *
 * Thread safety: alloc, free and stats from any thread at any time (a
 * "none" arena: one thread at a time); init, reset, drain_all and fini
 * need the arena quiet, as sync/sync.h's init, reset and fini do.
 */
#ifndef CA_CACHE_CACHE_H
#define CA_CACHE_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/sync.h"

/* The largest block a cache takes, in chunks. */
#define CA_CACHE_MAX_CLASSES 64u
/* Blocks a magazine holds at most (fewer for larger blocks: see cache.c). */
#define CA_CACHE_ROUNDS 32u
/* The default share of an arena its caches may hold: 1 / CA_CACHE_SHARE. */
#define CA_CACHE_SHARE 16u
/* The default largest block cached, in bytes (at least one chunk). */
#define CA_CACHE_DEFAULT_BLOCK 16384u
/* Caches are on by default only in arenas of at least this many chunks:
 * below it a sixteenth of the arena is less than a batch of blocks. */
#define CA_CACHE_MIN_CHUNKS 1024u

typedef struct ca_cache {
    ca_sync_arena *sync;
    size_t classes;    /* blocks of 1..classes chunks are cached; 0: caching off */
    size_t limit;      /* most chunks all threads' caches hold together */
    size_t thread_cap; /* most chunks one thread's cache holds */
    size_t quantum;    /* chunks of quota a record reserves or returns at once */
    /* The caches keep blocks: from the start (eager), or from the moment a
     * second thread operates on the arena. Until then a lone thread's operations
     * go to the layer and its blocks land where next fit puts them, as
     * without caches. Set once, never cleared (release, under the layer's
     * lock; read with acquire: cache.c, engaged). */
    _Atomic bool engaged;
    /* The first thread that used the arena (the address of a thread-local
     * of its), while the caches are off (cache.c, lone). */
    _Atomic(void *) first;
    /* Quota handed out to records (chunks): at most `limit`. RMW once a
     * quantum, relaxed: it is a counter, it orders nothing. */
    _Atomic size_t reserved;
    ca_sync_owner owner; /* the threads' records (sync/records.h) */
} ca_cache;

/* What the caches hold and did (ca_cache_stats). */
typedef struct ca_cache_figures {
    size_t chunks_cached; /* chunks in cached blocks (ca_stats' names where it has them) */
    size_t blocks;        /* cached blocks */
    size_t cache_hits;    /* allocations served from a cache */
    size_t cache_misses;  /* cacheable allocations that went to the arena */
    size_t requested;     /* bytes asked for by the hits */
    size_t retried;       /* failed searches retried after the caller's caches were
                           * given back: the arena's failure count holds them, and
                           * the retry counts again if it fails */
} ca_cache_figures;

/* Set up k in front of the (set up) sync arena s: caching blocks of up to
 * `classes` chunks (0: off; at most CA_CACHE_MAX_CLASSES), all threads
 * together at most `limit` chunks; from the first operation if `eager`,
 * else once a second thread uses the arena. Takes the process-wide mutex. */
void ca_cache_init(ca_cache *k, ca_sync_arena *s, size_t classes, size_t limit, bool eager);

/* Give every record's blocks back and free every record (the arena quiet),
 * and take k off the live list: no thread exit touches it afterwards. */
void ca_cache_fini(ca_cache *k);

/* As ca_sync_arena_alloc: a request of up to `classes` chunks with no
 * alignment above the chunk size and no room comes from the calling
 * thread's magazine, refilled a batch at a time; anything else goes to the
 * layer. On NOMEM, gives the calling thread's cached blocks back and
 * searches once more. */
void *ca_cache_alloc(ca_cache *k, size_t size, size_t align, size_t room, ca_core_status *status);

/* As ca_sync_arena_free: a block of up to `classes` chunks goes to the
 * calling thread's magazine (the older half of a full magazine goes back
 * to the arena first); pointer faults as ca_core_free, a cached block
 * included. */
ca_core_status ca_cache_free(ca_cache *k, void *p);

/* Give every thread's cached blocks back to the arena (the arena quiet). */
void ca_cache_drain_all(ca_cache *k);

/* Take and release the caches' process-wide mutex (the records and live
 * list of every cache) around a fork(), as ca_sync_hint_fork_lock does for
 * the hint layer's: a pthread_atfork prepare handler takes it, after the
 * API registry and before the hint layer's mutex (the order of their
 * nesting elsewhere: ca_arena_create sets up the caches under the API
 * registry, and a thread's exit under "hint" gives its blocks back, which
 * may take the layer's mutex, under this one), and the parent and child
 * handlers release it, so the child never inherits it held by a thread
 * that does not exist there. For malloc/, whose allocations run at any
 * fork. */
void ca_cache_fork_lock(void);
void ca_cache_fork_unlock(void);

/* Empty every record without touching the map, then reset the sync arena
 * (ca_sync_arena_reset: every chunk free, cached plane cleared). Quiet. */
void ca_cache_reset(ca_cache *k);

/* The caches' figures, summed over every record (relaxed: a moment stale
 * while others work). */
void ca_cache_stats(ca_cache *k, ca_cache_figures *f);

/* The sync arena's figures (ca_sync_arena_stats, cached blocks counted as
 * free) as the program sees them, and the caches' in *f: the bytes the
 * caches' hits were asked for added to bytes_requested, the failed
 * searches they retried taken off failures. */
void ca_cache_arena_stats(ca_cache *k, ca_sync_stats *s, ca_cache_figures *f);

#endif /* CA_CACHE_CACHE_H */
