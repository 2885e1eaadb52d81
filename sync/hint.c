/* SPDX-License-Identifier: MIT */
/*
 * sync/hint.c — per-thread records of the "hint" layer (see sync/hint.h).
 *
 * Thread safety: lock, lost and publish are called by any thread at any
 * time; init, fini and reset by the arena's owner while no operation runs
 * on it. A record is written by its thread only, but for reset (the arena
 * quiet); its counters are read by each (relaxed). Process-wide state
 * (the live list, every layer's records and lane counts, the exit hook) is
 * guarded by the records' mutex (`registry`); a thread's table is its own.
 */
#include "config.h"

#include "sync/hint.h"

#include <sched.h>
#include <stddef.h>

/* One thread's state in one layer. */
typedef struct rec {
    ca_sync_rec head;   /* first: sync/records.h */
    unsigned lane;      /* its lane position (changed under the mutex only) */
    uint32_t lane_mask; /* the active positions ctx's lane was drawn for (owner only) */
    size_t published;   /* ctx.tally.chunks when last published (owner only) */
    ca_core_ctx ctx;
} rec;

_Static_assert(sizeof(rec) <= CA_SYNC_REC_SMALL, "a record comes from the pool");

static void adopt(ca_sync_owner *o, ca_sync_rec *r, bool fresh);
static bool leave(ca_sync_owner *o, ca_sync_rec *r);

static ca_sync_registry registry = CA_SYNC_REGISTRY_INIT(adopt, leave);
static CA_SYNC_TLS ca_sync_table table;
static CA_SYNC_TLS unsigned ordinal; /* 1 + this thread's number, 0 until needed */
static _Atomic unsigned ordinals;    /* threads numbered so far */

static inline ca_sync_hint *layer_of(ca_sync_owner *o)
{
    return (ca_sync_hint *)((char *)o - offsetof(ca_sync_hint, owner));
}

/* Where lane position i starts: the fraction i * 0.618... (mod 1) of the
 * arena, so any number of positions are spread about evenly. */
static size_t spread(unsigned i, size_t nchunks)
{
    uint64_t frac = (i * 0x9E3779B97F4A7C15ull) >> 32; /* 32-bit fixed point */
    return (size_t)((frac * (uint64_t)nchunks) >> 32);
}

void ca_sync_hint_init(ca_sync_hint *h, size_t nchunks)
{
    h->nchunks = nchunks;
    atomic_init(&h->active, 0u);
    for (unsigned i = 0; i < CA_SYNC_HINT_LANES; i++)
        h->lane_users[i] = 0;
    ca_sync_spin_init(&h->overflow_lock);
    ca_core_ctx_init(&h->overflow, 0);
    h->overflow_published = 0;
    atomic_init(&h->published, (size_t)0);
    h->step = nchunks / 256 > 16 ? nchunks / 256 : 16;
    ca_sync_owner_init(&registry, &h->owner);
}

void ca_sync_hint_fini(ca_sync_hint *h)
{
    ca_sync_owner_fini(&registry, &h->owner);
}

/* Under the mutex: a thread's first use got record r. It takes the lane
 * position fewest records hold, looking from the thread's own number on.
 * A fresh record starts its hint there; a parked one keeps its counters
 * (and its hint, unless its position changed). */
static void adopt(ca_sync_owner *o, ca_sync_rec *r, bool fresh)
{
    ca_sync_hint *h = layer_of(o);
    rec *x = (rec *)r;
    if (ordinal == 0)
        ordinal = atomic_fetch_add_explicit(&ordinals, 1u, memory_order_relaxed) + 1u;
    unsigned best = (ordinal - 1u) % CA_SYNC_HINT_LANES;
    for (unsigned i = 1; i < CA_SYNC_HINT_LANES; i++) {
        unsigned at = (ordinal - 1u + i) % CA_SYNC_HINT_LANES;
        if (h->lane_users[at] < h->lane_users[best])
            best = at;
    }
    if (h->lane_users[best]++ == 0)
        atomic_fetch_or_explicit(&h->active, 1u << best, memory_order_relaxed);
    if (fresh)
        ca_core_ctx_init(&x->ctx, spread(best, h->nchunks));
    else if (x->lane != best)
        x->ctx.cursor = spread(best, h->nchunks);
    x->lane = best;
    x->lane_mask = 0; /* never the active mask now (best is in it): drawn at first use */
}

/* Under the mutex, at the exit of r's thread: count its position off and
 * park it (its counters stay in the sums). */
static bool leave(ca_sync_owner *o, ca_sync_rec *r)
{
    ca_sync_hint *h = layer_of(o);
    unsigned lane = ((rec *)r)->lane;
    if (--h->lane_users[lane] == 0)
        atomic_fetch_and_explicit(&h->active, ~(1u << lane), memory_order_relaxed);
    return false;
}

/* Draw x's lane for the active positions `mask`: from its position to the
 * next active one, going round the arena. */
static void draw_lane(ca_sync_hint *h, rec *x, uint32_t mask)
{
    size_t lo = spread(x->lane, h->nchunks), len = 0; /* 0: the whole arena */
    for (uint32_t others = mask & ~(1u << x->lane); others; others &= others - 1) {
        size_t at = spread((unsigned)__builtin_ctz(others), h->nchunks);
        size_t gap = at > lo ? at - lo : at + h->nchunks - lo;
        if (gap > 0 && (len == 0 || gap < len))
            len = gap;
    }
    x->ctx.lane_lo = lo;
    x->ctx.lane_len = len;
    x->lane_mask = mask;
}

/* x's context, its lane redrawn when the active positions changed. */
static inline ca_core_ctx *in_lane(ca_sync_hint *h, rec *x)
{
    uint32_t mask = atomic_load_explicit(&h->active, memory_order_relaxed);
    if (mask != x->lane_mask)
        draw_lane(h, x, mask);
    return &x->ctx;
}

/* The first use of h by this thread: make (or adopt) its record, or fall
 * back to the overflow context, locked. Out of line: the lookup above
 * stays a few instructions. */
static __attribute__((noinline)) ca_core_ctx *first_use(ca_sync_hint *h)
{
    ca_sync_rec *r = ca_sync_rec_attach(&registry, &table, &h->owner, sizeof(rec));
    if (r)
        return in_lane(h, (rec *)r);
    ca_sync_spin_lock(&h->overflow_lock);
    return &h->overflow;
}

ca_core_ctx *ca_sync_hint_lock(ca_sync_hint *h)
{
    ca_sync_rec *r = ca_sync_rec_find(&table, &h->owner);
    return r ? in_lane(h, (rec *)r) : first_use(h);
}

void ca_sync_hint_lost(ca_sync_hint *h, ca_core_ctx *x, unsigned lost)
{
    if (lost % CA_SYNC_HINT_RETRIES)
        return;
    x->cursor = (x->cursor + (size_t)((h->nchunks * 0x9E3779B9ull) >> 32)) % h->nchunks;
    sched_yield();
}

static void forget_published(ca_sync_rec *r, void *unused)
{
    (void)unused;
    ((rec *)r)->published = 0;
}

void ca_sync_hint_reset(ca_sync_hint *h)
{
    ca_sync_owner_each(&registry, &h->owner, forget_published, NULL);
    h->overflow_published = 0;
    atomic_store_explicit(&h->published, (size_t)0, memory_order_relaxed);
}

size_t ca_sync_hint_publish(ca_sync_hint *h, ca_core_ctx *x)
{
    size_t *mark = x == &h->overflow ? &h->overflow_published
                                     : &((rec *)((char *)x - offsetof(rec, ctx)))->published;
    size_t now = atomic_load_explicit(&x->tally.chunks, memory_order_relaxed);
    size_t change = now - *mark; /* modulo 2^64: a negative change wraps */
    if (change < h->step || -change < h->step) /* |change| < step */
        return 0;
    *mark = now;
    return atomic_fetch_add_explicit(&h->published, change, memory_order_relaxed) + change;
}

typedef struct each_arg {
    void (*fn)(ca_core_ctx *x, void *arg);
    void *arg;
} each_arg;

static void each_rec(ca_sync_rec *r, void *arg)
{
    each_arg *e = arg;
    e->fn(&((rec *)r)->ctx, e->arg);
}

void ca_sync_hint_each(ca_sync_hint *h, void (*fn)(ca_core_ctx *x, void *arg), void *arg)
{
    each_arg e = {fn, arg};
    ca_sync_owner_each(&registry, &h->owner, each_rec, &e);
    fn(&h->overflow, arg);
}

/* ---- fork (for a malloc built on hint arenas: malloc/) ---- */

void ca_sync_hint_fork_lock(void)
{
    pthread_mutex_lock(&registry.mutex);
}

void ca_sync_hint_fork_unlock(void)
{
    pthread_mutex_unlock(&registry.mutex);
}
