/* SPDX-License-Identifier: MIT */
/*
 * sync/sync.h — an arena: one core bound to one sync layer.
 *
 * The layer is chosen per arena when it is set up; every layer is compiled
 * into every build, and configure's --with-lock only picks the default.
 * Each operation enters the layer (takes the lock, or finds the calling
 * thread's context for "hint"), runs the core (exclusive under a lock,
 * shared under "hint"), keeps the peak, and leaves. Nothing here knows
 * names, errno, the error handler or the default layer: api/ adds those. A
 * layer is a ca_lock value (the public enumeration, api/chunkarena.h).
 *
 * Thread safety: alloc, free, resize, usable and stats may be called from
 * any thread at any time, except for a "none" arena, which is for one
 * thread at a time: "none" takes no lock at all (it needs no state and no
 * code of its own), so two threads in one are a data race, which
 * ThreadSanitizer reports. Its core runs in exclusive mode, as under a
 * lock. init, fini, reset and check need the arena quiet (no operation in
 * flight); the caller guarantees it.
 */
#ifndef CA_SYNC_SYNC_H
#define CA_SYNC_SYNC_H

#include <stdbool.h>
#include <stddef.h>

/* For the one enumeration of layers, ca_lock, and nothing else of the API:
 * a layer is named by the value users pass, so no code maps one name to
 * another. */
#include "api/chunkarena.h"
#include "core/core.h"
#include "core/inspect.h"
#include "sync/hint.h"
#include "sync/mutex.h"
#include "sync/spin.h"
#include "sync/ticket.h"

typedef struct ca_sync_arena {
    ca_core core;
    ca_lock kind; /* the layer, CA_LOCK_NONE .. CA_LOCK_HINT: never CA_LOCK_DEFAULT,
                   * which names no layer (api/ resolves it to configure's
                   * --with-lock before it sets an arena up) */
    /* The lock and the context it guards share a line: a locked operation
     * moves one cache line between threads, not two. */
    _Alignas(64) union {
        ca_sync_spin spin;
        ca_sync_ticket ticket;
        ca_sync_mutex mutex;
    } lock;
    ca_core_ctx ctx;     /* the context of the locking layers */
    _Atomic size_t peak; /* most chunks in use at once (see ca_sync_stats) */
    ca_sync_hint hint;   /* the "hint" layer (its per-thread records live outside) */
    bool caches;         /* per-thread caches in front (cache/cache.h): stats count
                          * cached blocks as free (ca_core_survey) */
} ca_sync_arena;

/* An arena's figures: each field as ca_stats' of the same name
 * (api/chunkarena.h), which ca_api_stats_of copies one by one. */
typedef struct ca_sync_stats {
    size_t chunk_size;       /* bytes */
    size_t chunks_total;
    size_t chunks_used;
    size_t chunks_peak;      /* exact under a lock; under "hint", as published
                              * (within max(16, chunks / 256) per context) */
    size_t allocations;      /* live */
    size_t bytes_requested;  /* by successful allocations, ever */
    size_t largest_free_run; /* chunks in the longest free run */
    size_t free_runs;
    size_t failures;         /* allocations that found no room */
    size_t grows_in_place;
    size_t shrinks_in_place;
    size_t runs_examined;    /* free runs the searches measured, ever */
    size_t free_run_histogram[CA_CORE_RUN_CLASSES]; /* free runs by size class
                                                     * (core/inspect.h), same scan */
} ca_sync_stats;

/* Metadata bytes an arena of nchunks chunks with this layer needs: the
 * core's (no layer keeps per-thread state in the arena). 0 if nchunks is 0
 * or too large. */
size_t ca_sync_meta_size(ca_lock kind, size_t nchunks);

/* Set up the arena with layer `kind`, CA_LOCK_NONE .. CA_LOCK_HINT (see
 * ca_core_init for the refusals; meta must hold ca_sync_meta_size bytes, 8-aligned). On
 * a refusal nothing is set up. */
ca_core_status ca_sync_arena_init(ca_sync_arena *a, ca_lock kind, void *base, size_t nchunks,
                                  unsigned shift, void *meta, unsigned window);

/* Release what the layer holds (the mutex; the live-list entry and the
 * per-thread records of "hint"). */
void ca_sync_arena_fini(ca_sync_arena *a);

/* The core operations (core/core.h), through the layer. alloc never
 * returns CA_CORE_RETRY: the layer searches again. */
void *ca_sync_arena_alloc(ca_sync_arena *a, size_t size, size_t align, size_t room,
                          ca_core_status *status);
ca_core_status ca_sync_arena_free(ca_sync_arena *a, void *p);
ca_core_status ca_sync_arena_resize(ca_sync_arena *a, void *p, size_t size);
ca_core_status ca_sync_arena_usable(ca_sync_arena *a, const void *p, size_t *bytes);
ca_core_status ca_sync_arena_align_of(ca_sync_arena *a, const void *p, size_t *align);
ca_core_status ca_sync_arena_note_align(ca_sync_arena *a, const void *p, size_t align);

/* What each of `ncells` consecutive groups of `group` chunks holds (see
 * ca_core_cells; with caches, cached blocks count as free, as in
 * ca_sync_arena_stats), under the lock or, for "hint", read while others
 * work. */
void ca_sync_arena_cells(ca_sync_arena *a, size_t group, ca_core_cell *cells, size_t ncells);

/* Up to `max` live blocks from chunk `from` on (see ca_core_blocks), under
 * the lock (held for this one call) or, for "hint", read while others work. */
size_t ca_sync_arena_blocks(ca_sync_arena *a, size_t from, ca_core_block *out, size_t max,
                            size_t *next);

/* Figures: counters summed over every context, and one scan of the map
 * (under the lock, or, for "hint", a snapshot while others work). */
void ca_sync_arena_stats(ca_sync_arena *a, ca_sync_stats *s);

/* Mark every chunk free. The counts of what is live go to 0; the counts of
 * what happened (requested bytes, failures, grows, shrinks, the peak)
 * keep counting. The arena must be quiet. */
void ca_sync_arena_reset(ca_sync_arena *a);

/* ca_core_check with the counters of every context. The arena must be quiet. */
const char *ca_sync_arena_check(ca_sync_arena *a);

/* ---- batches for the per-thread caches (cache/cache.h) ----
 * One pass through the layer each: one lock hold, or one lookup of the
 * calling thread's hint context. */

/* Up to n allocations of `size` bytes (chunk alignment) into out[];
 * returns how many were made. Stops at the first failure (*status says
 * why; CA_CORE_OK when all n were made). */
size_t ca_sync_arena_alloc_batch(ca_sync_arena *a, size_t size, void **out, size_t n,
                                 ca_core_status *status);

/* Release n cached blocks of `chunks` chunks each, which the caller's
 * cache owns, and clear their cached bits (ca_core_cache_drop). */
void ca_sync_arena_drop_cached(ca_sync_arena *a, void *const *blocks, size_t n, size_t chunks);

/* Under a lock: free p as ca_sync_arena_free does unless *flag is set
 * (then CA_CORE_RETRY, nothing changed), the flag read under the lock. */
ca_core_status ca_sync_arena_free_unless(ca_sync_arena *a, void *p, _Atomic bool *flag);

/* Set *flag under the lock: every free_unless that read it clear has
 * returned, every later one sees it set. (Under "hint", with no lock, a
 * plain store: no ordering.) */
void ca_sync_arena_set_flag(ca_sync_arena *a, _Atomic bool *flag);
/* Send the calling thread's next-fit search (the shared one under a lock)
 * back to the start of its lane, so that it reuses the memory freed there
 * before it walks on into memory never touched: for malloc/, whose pages
 * are never given back. Advisory, like every hint. */
void ca_sync_arena_rewind(ca_sync_arena *a);
/* ---- what the api layer needs of the core, through this layer ---- */

/* Limits on an arena: at most this many chunks; the best-fit window. */
#define CA_SYNC_MAX_CHUNKS CA_CORE_MAX_CHUNKS
#define CA_SYNC_DEFAULT_WINDOW CA_CORE_DEFAULT_WINDOW
#define CA_SYNC_MAX_WINDOW CA_CORE_MAX_WINDOW

/* log2 of a chunk size the core accepts (a power of two from
 * 2^CA_CORE_MIN_CHUNK_SHIFT to 2^CA_CORE_MAX_CHUNK_SHIFT), else 0: the one
 * check of a chunk size. O(1). */
unsigned ca_sync_chunk_shift(size_t chunk_size);

/* Lay out [mem, mem + len) for an arena of `kind` whose owner keeps `extra`
 * bytes of its own at the front, before the layer's bookkeeping
 * (ca_sync_meta_size): as many chunks of (1 << shift) bytes as fit after
 * both (ca_core_layout). *meta is mem. Statuses as ca_core_layout. */
ca_core_status ca_sync_layout(ca_lock kind, size_t extra, void *mem, size_t len,
                              unsigned shift, size_t *nchunks, void **meta, void **base);

/* Whether p lies in the arena's region (any byte of any chunk). O(1). */
bool ca_sync_arena_owns(const ca_sync_arena *a, const void *p);

#endif /* CA_SYNC_SYNC_H */
