/* SPDX-License-Identifier: MIT */
/*
 * cache/cache.c — per-thread magazines in front of a sync arena (see
 * cache/cache.h).
 *
 * Thread safety: a record's magazines and quota are its owner thread's,
 * read and written by no one else except reset, drain_all and fini (the
 * arena quiet: the program orders them with the owner's operations) and
 * the owner's own exit hook. Its figures are relaxed atomics with one
 * writer at a time, read by stats. The records, their lists and the
 * thread-exit hook are sync/records.h's, whose process-wide mutex (this
 * module's registry, not the hint layer's) guards the live list and every
 * cache's list of records. Lock order: that mutex, then the arena's layer
 * (thread exit and drain_all give blocks back while holding it; under
 * "hint" a thread's first use there takes the hint layer's own registry
 * mutex); nothing takes it inside a layer. Nothing here calls user code or
 * prints.
 */
#include "config.h"

#include "cache/cache.h"

#include <sched.h>
#include <string.h>

#define RLX memory_order_relaxed

/* One chunk count's blocks, newest last. */
typedef struct mag {
    size_t n;
    void *b[CA_CACHE_ROUNDS];
} mag;

/* One thread's caches of one arena: a record of sync/records.h, its pages
 * mapped, never malloc'd (the arenas may be serving malloc itself, and a
 * cache that called malloc on a thread's first use would call back into its
 * own arena). */
typedef struct rec {
    ca_sync_rec head;  /* first: the records' list */
    size_t quota;      /* chunks reserved from the cache's `reserved` */
    _Atomic size_t held;   /* chunks in the magazines */
    _Atomic size_t blocks; /* blocks in the magazines */
    _Atomic size_t hits, misses, requested;
    _Atomic size_t retried; /* failed searches followed by a drain and another */
    mag mags[]; /* `classes` of them: mags[n - 1] holds blocks of n chunks */
} rec;

static bool leave(ca_sync_owner *o, ca_sync_rec *r);

/* The records, the live caches and the exit hook. Its mutex is taken at a
 * thread's first use of an arena, at thread exit, and by stats, reset,
 * drain_all, init and fini, never on the hot path. */
static ca_sync_registry registry = CA_SYNC_REGISTRY_INIT(NULL, leave);
static CA_SYNC_TLS ca_sync_table table; /* the thread's way to its records */
static CA_SYNC_TLS char me;             /* its address names the thread (lone) */

/* One writer: a relaxed load and store, what a plain add costs. */
static inline void add(_Atomic size_t *f, size_t d)
{
    atomic_store_explicit(f, atomic_load_explicit(f, RLX) + d, RLX);
}

/* Blocks a magazine of n-chunk blocks holds: about 256 chunks' worth, 4 to
 * CA_CACHE_ROUNDS. A refill brings, and a flush gives back, half of it. */
static inline size_t rounds(size_t n)
{
    size_t r = 256u / n;
    return r < 4u ? 4u : r > CA_CACHE_ROUNDS ? CA_CACHE_ROUNDS : r;
}

static inline size_t batch(size_t n)
{
    return rounds(n) / 2u;
}

static inline size_t chunks_for(const ca_core *c, size_t size)
{
    return ((size - (size != 0)) >> c->shift) + 1;
}

/* Whether the caches keep blocks yet (see ca_cache_init). Acquire: pairs
 * with the release store of ca_sync_arena_set_flag, so a free that sees
 * the caches on also sees every plain free that ran before they were
 * switched on (under a lock: the plain free re-reads it under the lock,
 * ca_sync_arena_free_unless). On x86-64 a plain load. */
static inline bool engaged(ca_cache *k)
{
    return atomic_load_explicit(&k->engaged, memory_order_acquire);
}

/* Switch k's caches on (a second thread), under the layer's lock. */
static __attribute__((noinline, cold)) void engage(ca_cache *k)
{
    ca_sync_arena_set_flag(k->sync, &k->engaged);
}

/* Whether the calling thread is the only one that has used k so far (then
 * the caches stay off: see ca_cache_init); the first to ask claims k, any
 * other switches the caches on. A thread's name is the address of its
 * `me`: a later thread may get the same address, and is then taken for
 * the same, which it may, since the two never ran on k at once. Relaxed:
 * the CAS only picks one first thread; engage orders the rest. */
static inline __attribute__((always_inline)) bool lone(ca_cache *k)
{
    void *first = atomic_load_explicit(&k->first, RLX);
    if (first == &me)
        return true;
    if (first == NULL &&
        atomic_compare_exchange_strong_explicit(&k->first, &first, (void *)&me, RLX, RLX))
        return true;
    engage(k);
    return false;
}

void ca_cache_init(ca_cache *k, ca_sync_arena *s, size_t classes, size_t limit, bool eager)
{
    atomic_init(&k->engaged, eager);
    atomic_init(&k->first, NULL);
    k->sync = s;
    k->classes = classes > CA_CACHE_MAX_CLASSES ? CA_CACHE_MAX_CLASSES : classes;
    k->limit = limit;
    k->thread_cap = limit / 4u > 64u ? limit / 4u : limit;
    k->quantum = k->thread_cap / 8u > 16u ? k->thread_cap / 8u : 16u;
    if (k->limit == 0)
        k->classes = 0;
    s->caches = k->classes > 0;
    atomic_init(&k->reserved, (size_t)0);
    ca_sync_owner_init(&registry, &k->owner);
}

/* ---- quota and giving back ---- */

/* Room in r's quota for `need` more chunks: reserve quanta from the cache
 * while the thread's cap and the cache's limit allow; false if they do
 * not. */
static bool reserve(ca_cache *k, rec *r, size_t need)
{
    size_t held = atomic_load_explicit(&r->held, RLX);
    if (held + need <= r->quota)
        return true;
    if (held + need > k->thread_cap)
        return false;
    size_t more = (held + need - r->quota + k->quantum - 1) / k->quantum * k->quantum;
    if (r->quota + more > k->thread_cap)
        more = k->thread_cap - r->quota;
    size_t was = atomic_fetch_add_explicit(&k->reserved, more, RLX);
    if (was + more > k->limit) {
        atomic_fetch_sub_explicit(&k->reserved, more, RLX);
        return false;
    }
    r->quota += more;
    return true;
}

/* Return quota beyond one spare quantum to the cache. */
static void unreserve(ca_cache *k, rec *r, size_t spare)
{
    size_t held = atomic_load_explicit(&r->held, RLX);
    if (r->quota > held + spare) {
        size_t give = r->quota - held - spare;
        r->quota -= give;
        atomic_fetch_sub_explicit(&k->reserved, give, RLX);
    }
}

/* Give the m oldest blocks of r's magazine of n-chunk blocks back to the
 * arena, in one pass through the layer. */
static void flush(ca_cache *k, rec *r, size_t n, size_t m)
{
    mag *g = &r->mags[n - 1];
    ca_sync_arena_drop_cached(k->sync, g->b, m, n);
    memmove(g->b, g->b + m, (g->n - m) * sizeof g->b[0]);
    g->n -= m;
    add(&r->held, -(m * n));
    add(&r->blocks, -m);
}

/* Give all of r's blocks back, and its quota. */
static void drain(ca_cache *k, rec *r)
{
    for (size_t n = 1; n <= k->classes; n++)
        if (r->mags[n - 1].n)
            flush(k, r, n, r->mags[n - 1].n);
    unreserve(k, r, 0);
}

/* ---- the thread's records ---- */

/* At the exit of r's thread (the records' mutex held, k alive): its blocks
 * and its quota go back to the arena, and the record is parked, its
 * figures with it: stats sum every record, parked or not, in one walk
 * under that mutex, so a thread that exits meanwhile is counted once. The
 * next thread to use k takes a parked record over (sync/records.h), so
 * parked records number at most the most threads k has had at once. */
static bool leave(ca_sync_owner *o, ca_sync_rec *head)
{
    drain((ca_cache *)((char *)o - offsetof(ca_cache, owner)), (rec *)head);
    return false;
}

/* This thread's record in k, or NULL if it has none yet. */
static inline rec *find(ca_cache *k)
{
    return (rec *)ca_sync_rec_find(&table, &k->owner);
}

static inline rec *mine(ca_cache *k)
{
    rec *r = find(k);
    return r ? r
             : (rec *)ca_sync_rec_attach(&registry, &table, &k->owner,
                                         sizeof(rec) + k->classes * sizeof(mag));
}

/* ---- allocation and free ---- */

/* A block just claimed may start at a chunk whose cached bit is set for a
 * moment: under "hint" by another thread's drop that has released the
 * chunks and not yet cleared the bit (ca_core_cache_drop); under any layer
 * by a late free that won the bit of a block dropped already and is about
 * to give it back (ca_core_cache_put). Wait for the clear before the block
 * is handed out or cached: the other thread is between two steps of one
 * call, with no wait between them. The relaxed load cannot see the bit
 * older than its set: the set happens-before the release of the chunks,
 * which our claim read. */
static inline void settle(ca_cache *k, void *p)
{
    ca_core *c = &k->sync->core;
    size_t s = ((uintptr_t)p - (uintptr_t)c->base) >> c->shift;
    while (ca_core_cached(c, s))
        sched_yield();
}

static inline bool shared(const ca_cache *k)
{
    return k->sync->kind == CA_LOCK_HINT;
}

/* A miss on n-chunk blocks: one for the caller and up to a batch for the
 * magazine, in one pass through the layer. */
static void *refill(ca_cache *k, rec *r, size_t n, size_t size, ca_core_status *status)
{
    mag *g = &r->mags[n - 1];
    size_t extra = batch(n);
    if (!reserve(k, r, extra * n))
        extra = 0;
    void *got[CA_CACHE_ROUNDS / 2u + 1u];
    size_t m = ca_sync_arena_alloc_batch(k->sync, size, got, extra + 1, status);
    if (m == 0)
        return NULL;
    *status = CA_CORE_OK; /* a short batch is still one for the caller */
    ca_core *c = &k->sync->core;
    for (size_t i = 0; i < m; i++)
        settle(k, got[i]);
    for (size_t i = m; i-- > 1;) { /* the lowest address popped first */
        ca_core_cache_mark(c, got[i]);
        g->b[g->n++] = got[i];
    }
    add(&r->held, (m - 1) * n);
    add(&r->blocks, m - 1);
    return got[0];
}

/* An allocation with the caches in play (engaged, or about to be). Out of
 * line: the lone thread's path below stays a few instructions. */
static __attribute__((noinline)) void *cached_alloc(ca_cache *k, size_t size, size_t align,
                                                    size_t room, ca_core_status *status)
{
    ca_core *c = &k->sync->core;
    rec *r = NULL;
    void *p = NULL;
    bool tried = false; /* the arena was searched once, and found no room */
    if (room == 0 && align <= ca_core_chunk_size(c) && !(align & (align - 1))) {
        size_t n = chunks_for(c, size);
        if (n <= k->classes && (r = mine(k)) != NULL) {
            mag *g = &r->mags[n - 1];
            if (g->n) {
                p = g->b[--g->n];
                ca_core_cache_take(c, p);
                add(&r->held, -n);
                add(&r->blocks, (size_t)-1);
                add(&r->hits, 1);
                add(&r->requested, size);
                *status = CA_CORE_OK;
                return p;
            }
            add(&r->misses, 1);
            p = refill(k, r, n, size, status);
            if (p || *status != CA_CORE_NOMEM)
                return p;
            tried = true;
        }
    }
    if (!tried) {
        p = ca_sync_arena_alloc(k->sync, size, align, room, status);
        if (p || *status != CA_CORE_NOMEM)
            goto done;
        if (!r)
            r = find(k);
    }
    /* No room: this thread's cached blocks go back, and one more try. */
    if (r && atomic_load_explicit(&r->held, RLX)) {
        drain(k, r);
        add(&r->retried, 1); /* the arena counted a failure: the retry decides */
        p = ca_sync_arena_alloc(k->sync, size, align, room, status);
    }
done:
    if (p)
        settle(k, p);
    return p;
}

void *ca_cache_alloc(ca_cache *k, size_t size, size_t align, size_t room, ca_core_status *status)
{
    /* No caches, or a lone thread's (see ca_cache_init): the layer, as
     * without caches. Such a thread holds no cached block to give back. */
    if (!k->classes || (!engaged(k) && lone(k))) {
        void *p = ca_sync_arena_alloc(k->sync, size, align, room, status);
        /* A second thread may have switched the caches on meanwhile, and
         * dropped a block whose first chunk we just claimed. */
        if (p && k->classes && engaged(k))
            settle(k, p);
        return p;
    }
    return cached_alloc(k, size, align, room, status);
}

/* A free with the caches in play, or under "hint" (out of line, as
 * cached_alloc). Every free of a block the caches could hold claims its
 * bit first, kept or not: so the bit alone decides two frees of one
 * block. */
static __attribute__((noinline)) ca_core_status cached_free(ca_cache *k, void *p, bool on)
{
    size_t n;
    ca_core_status st = ca_core_cache_put(&k->sync->core, p, k->classes, &n);
    if (st == CA_CORE_NOMEM) /* live, but not a block the cache takes */
        return ca_sync_arena_free(k->sync, p);
    if (st != CA_CORE_OK)
        return st;
    /* The block is ours (its bit set): into the magazine, or back. */
    rec *r = on ? mine(k) : NULL;
    if (r) {
        mag *g = &r->mags[n - 1];
        if (g->n == rounds(n)) {
            flush(k, r, n, batch(n));
            unreserve(k, r, k->quantum);
        }
        if (reserve(k, r, n)) {
            g->b[g->n++] = p;
            add(&r->held, n);
            add(&r->blocks, 1);
            return CA_CORE_OK;
        }
    }
    ca_sync_arena_drop_cached(k->sync, &p, 1, n);
    return CA_CORE_OK;
}

ca_core_status ca_cache_free(ca_cache *k, void *p)
{
    if (!k->classes)
        return ca_sync_arena_free(k->sync, p);
    bool on = engaged(k) || !lone(k); /* a thread that only frees counts too */
    if (!on && !shared(k)) {
        /* A lone thread under a lock: the plain free, under the lock,
         * unless the caches were switched on meanwhile (they are switched
         * on under the lock too, so no cached put can race with it). */
        ca_core_status st = ca_sync_arena_free_unless(k->sync, p, &k->engaged);
        if (st != CA_CORE_RETRY)
            return st;
        on = true;
    }
    return cached_free(k, p, on);
}

/* ---- upkeep ---- */

static void drain_one(ca_sync_rec *r, void *k)
{
    drain(k, (rec *)r);
}

void ca_cache_drain_all(ca_cache *k)
{
    ca_sync_owner_each(&registry, &k->owner, drain_one, k);
}

void ca_cache_fork_lock(void)
{
    pthread_mutex_lock(&registry.mutex);
}

void ca_cache_fork_unlock(void)
{
    pthread_mutex_unlock(&registry.mutex);
}

/* Empty r without touching the map. */
static void forget(ca_sync_rec *head, void *k)
{
    rec *r = (rec *)head;
    for (size_t n = 1; n <= ((ca_cache *)k)->classes; n++)
        r->mags[n - 1].n = 0;
    atomic_store_explicit(&r->held, (size_t)0, RLX);
    atomic_store_explicit(&r->blocks, (size_t)0, RLX);
    r->quota = 0;
}

void ca_cache_reset(ca_cache *k)
{
    ca_sync_owner_each(&registry, &k->owner, forget, k);
    atomic_store_explicit(&k->reserved, (size_t)0, RLX);
    ca_sync_arena_reset(k->sync); /* every chunk free, the cached plane clear */
}

void ca_cache_fini(ca_cache *k)
{
    ca_sync_owner_fini(&registry, &k->owner);
}

static void add_figures(ca_sync_rec *head, void *figures)
{
    rec *r = (rec *)head;
    ca_cache_figures *f = figures;
    f->chunks_cached += atomic_load_explicit(&r->held, RLX);
    f->blocks += atomic_load_explicit(&r->blocks, RLX);
    f->cache_hits += atomic_load_explicit(&r->hits, RLX);
    f->cache_misses += atomic_load_explicit(&r->misses, RLX);
    f->requested += atomic_load_explicit(&r->requested, RLX);
    f->retried += atomic_load_explicit(&r->retried, RLX);
}

void ca_cache_stats(ca_cache *k, ca_cache_figures *f)
{
    f->chunks_cached = f->blocks = 0;
    f->cache_hits = f->cache_misses = f->requested = f->retried = 0;
    ca_sync_owner_each(&registry, &k->owner, add_figures, f);
}

void ca_cache_arena_stats(ca_cache *k, ca_sync_stats *s, ca_cache_figures *f)
{
    ca_cache_stats(k, f);
    ca_sync_arena_stats(k->sync, s);
    /* The scan counted cached blocks as free (ca_sync_arena_stats): they
     * are allocated in the map, not to the program; the bytes the caches
     * handed out, and the failures they retried, are theirs to add. */
    s->bytes_requested += f->requested;
    s->failures -= f->retried;
}
