/* SPDX-License-Identifier: MIT */
/*
 * sync/sync.c — one core bound to one sync layer (see sync/sync.h).
 *
 * enter() and leave() are the only places that know the layers; every
 * operation is enter, core, leave. Nothing here calls user code, prints,
 * allocates or aborts, with or without a lock held.
 */
#include "config.h"

#include "core/invariant.h"
#include "sync/sync.h"

#include "core/ops.h"

#include <assert.h>
#include <string.h>

#define RLX memory_order_relaxed

/* The switches over an arena's layer below name CA_LOCK_DEFAULT only to be
 * complete (-Wswitch): no arena has it (ca_sync_arena_init asserts so).
 * They put it with "none", which does nothing. */

size_t ca_sync_meta_size(ca_lock kind, size_t nchunks)
{
    (void)kind; /* every layer's per-thread state lives outside the arena */
    return ca_core_meta_size(nchunks);
}

ca_core_status ca_sync_arena_init(ca_sync_arena *a, ca_lock kind, void *base, size_t nchunks,
                                  unsigned shift, void *meta, unsigned window)
{
    assert(kind >= CA_LOCK_NONE && kind <= CA_LOCK_HINT); /* api/ validates, resolves the default */
    ca_core_status st = ca_core_init(&a->core, base, nchunks, shift, meta, window);
    if (st != CA_CORE_OK)
        return st;
    a->kind = kind;
    switch (kind) {
    case CA_LOCK_DEFAULT:
    case CA_LOCK_NONE: /* no lock */
        break;
    case CA_LOCK_SPIN:
        ca_sync_spin_init(&a->lock.spin);
        break;
    case CA_LOCK_TICKET:
        ca_sync_ticket_init(&a->lock.ticket);
        break;
    case CA_LOCK_MUTEX:
        ca_sync_mutex_init(&a->lock.mutex);
        break;
    case CA_LOCK_HINT:
        ca_sync_hint_init(&a->hint, nchunks);
        break;
    }
    ca_core_ctx_init(&a->ctx, 0);
    atomic_init(&a->peak, (size_t)0);
    a->caches = false; /* until a cache is set up in front (ca_cache_init) */
    return CA_CORE_OK;
}

void ca_sync_arena_fini(ca_sync_arena *a)
{
    if (a->kind == CA_LOCK_MUTEX)
        ca_sync_mutex_fini(&a->lock.mutex);
    else if (a->kind == CA_LOCK_HINT)
        ca_sync_hint_fini(&a->hint);
}

/* ---- entering and leaving the layer ---- */

/* Always inlined: they sit on every operation's path. `kind` is the
 * arena's layer; on the hot paths (alloc, free) it is a constant, so each
 * layer's copy of the operation keeps its own lock and nothing else. */
#define HOT static inline __attribute__((always_inline))

HOT ca_core_ctx *enter(ca_sync_arena *a, ca_lock kind)
{
    switch (kind) {
    case CA_LOCK_SPIN:
        ca_sync_spin_lock(&a->lock.spin);
        break;
    case CA_LOCK_TICKET:
        ca_sync_ticket_lock(&a->lock.ticket);
        break;
    case CA_LOCK_MUTEX:
        ca_sync_mutex_lock(&a->lock.mutex);
        break;
    case CA_LOCK_HINT:
        return ca_sync_hint_lock(&a->hint);
    case CA_LOCK_DEFAULT:
    case CA_LOCK_NONE:
        break;
    }
    return &a->ctx;
}

HOT void leave(ca_sync_arena *a, ca_lock kind, ca_core_ctx *x)
{
    /* A debug build checks the whole core after every operation of a
     * locked arena, while the lock still keeps others out (the one place:
     * every operation leaves through here). A lock-free arena has no
     * quiet moment to check. */
    CA_ASSERT(kind == CA_LOCK_HINT || ca_core_check(&a->core, &x->tally) == NULL);
    switch (kind) {
    case CA_LOCK_SPIN:
        ca_sync_spin_unlock(&a->lock.spin);
        break;
    case CA_LOCK_TICKET:
        ca_sync_ticket_unlock(&a->lock.ticket);
        break;
    case CA_LOCK_MUTEX:
        ca_sync_mutex_unlock(&a->lock.mutex);
        break;
    case CA_LOCK_HINT:
        ca_sync_hint_unlock(&a->hint, x);
        break;
    case CA_LOCK_DEFAULT:
    case CA_LOCK_NONE:
        break;
    }
}

static inline bool is_shared(const ca_sync_arena *a)
{
    return a->kind == CA_LOCK_HINT;
}

/* After an operation through x changed the chunk count: keep the peak.
 * Under a lock the count is exact and only the holder writes the peak;
 * under "hint" the published total stands for it (see ca_sync_stats). */
HOT void note_chunks(ca_sync_arena *a, ca_lock kind, ca_core_ctx *x, bool grew)
{
    size_t now;
    if (kind != CA_LOCK_HINT) {
        if (!grew)
            return;
        now = atomic_load_explicit(&x->tally.chunks, RLX);
        if (now > atomic_load_explicit(&a->peak, RLX))
            atomic_store_explicit(&a->peak, now, RLX);
        return;
    }
    now = ca_sync_hint_publish(&a->hint, x);
    /* The published total runs ahead or behind by what contexts have not
     * published yet, and can dip below 0 (frees published before the
     * allocations they free): only a total within the arena means
     * anything for the peak. */
    if (!grew || now == 0 || now > a->core.nchunks)
        return;
    size_t peak = atomic_load_explicit(&a->peak, RLX);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&a->peak, &peak, now, RLX, RLX))
        ;
}

/* The hot operations (alloc, free) of each layer, with the layer a
 * constant: each is the whole operation (lock, core, unlock) in one
 * function, so an operation picks its layer once (BY_LAYER) and makes no
 * further call on its way, but for a search (core/ops.h). */
#define LAYER_OPS(name, KIND)                                                                 \
    static CA_CORE_FLAT void *alloc_##name(ca_sync_arena *a, size_t size, size_t align,       \
                                           size_t room, ca_core_status *status)               \
    {                                                                                         \
        return alloc_as(a, KIND, size, align, room, status);                                  \
    }                                                                                         \
    static CA_CORE_FLAT ca_core_status free_##name(ca_sync_arena *a, void *p)                 \
    {                                                                                         \
        return free_as(a, KIND, p, NULL);                                                     \
    }                                                                                         \
    static CA_CORE_FLAT ca_core_status free_unless_##name(ca_sync_arena *a, void *p,          \
                                                          _Atomic bool *flag)                 \
    {                                                                                         \
        return free_as(a, KIND, p, flag);                                                     \
    }

#define BY_LAYER(a, op, ...)                   \
    switch ((a)->kind) {                       \
    case CA_LOCK_DEFAULT:                      \
    case CA_LOCK_NONE:                         \
        return op##_none(a, __VA_ARGS__);      \
    case CA_LOCK_SPIN:                         \
        return op##_spin(a, __VA_ARGS__);      \
    case CA_LOCK_TICKET:                       \
        return op##_ticket(a, __VA_ARGS__);    \
    case CA_LOCK_MUTEX:                        \
        return op##_mutex(a, __VA_ARGS__);     \
    case CA_LOCK_HINT:                         \
        break;                                 \
    }                                          \
    return op##_hint(a, __VA_ARGS__)

/* ---- operations ---- */

HOT void *alloc_as(ca_sync_arena *a, ca_lock kind, size_t size, size_t align, size_t room,
                   ca_core_status *status)
{
    const bool shared = kind == CA_LOCK_HINT;
    ca_core_ctx *x = enter(a, kind);
    void *p;
    for (unsigned lost = 0;;) {
        p = alloc(&a->core, x, size, align, room, shared, status);
        if (!shared || *status != CA_CORE_RETRY)
            break;
        ca_sync_hint_lost(&a->hint, x, ++lost);
    }
    if (p)
        note_chunks(a, kind, x, true);
    leave(a, kind, x);
    return p;
}

/* A free; with `flag` (not NULL), only if *flag is clear, read under the
 * lock (else CA_CORE_RETRY, nothing changed): see ca_sync_arena_set_flag. */
HOT ca_core_status free_as(ca_sync_arena *a, ca_lock kind, void *p, _Atomic bool *flag)
{
    ca_core_ctx *x = enter(a, kind);
    ca_core_status st = CA_CORE_RETRY;
    if (!flag || !atomic_load_explicit(flag, RLX)) { /* the lock orders it: see set_flag */
        st = free_at(&a->core, x, p, kind == CA_LOCK_HINT);
        if (st == CA_CORE_OK)
            note_chunks(a, kind, x, false);
    }
    leave(a, kind, x);
    return st;
}

LAYER_OPS(none, CA_LOCK_NONE)
LAYER_OPS(spin, CA_LOCK_SPIN)
LAYER_OPS(ticket, CA_LOCK_TICKET)
LAYER_OPS(mutex, CA_LOCK_MUTEX)
LAYER_OPS(hint, CA_LOCK_HINT)

void *ca_sync_arena_alloc(ca_sync_arena *a, size_t size, size_t align, size_t room,
                          ca_core_status *status)
{
    BY_LAYER(a, alloc, size, align, room, status);
}

ca_core_status ca_sync_arena_free(ca_sync_arena *a, void *p)
{
    BY_LAYER(a, free, p);
}

ca_core_status ca_sync_arena_resize(ca_sync_arena *a, void *p, size_t size)
{
    ca_core_ctx *x = enter(a, a->kind);
    ca_core_status st = ca_core_resize(&a->core, x, p, size, is_shared(a));
    if (st == CA_CORE_OK)
        note_chunks(a, a->kind, x, true); /* a shrink leaves the peak alone by itself */
    leave(a, a->kind, x);
    return st;
}

ca_core_status ca_sync_arena_usable(ca_sync_arena *a, const void *p, size_t *bytes)
{
    ca_core_ctx *x = enter(a, a->kind);
    ca_core_status st = ca_core_usable(&a->core, p, bytes, is_shared(a));
    leave(a, a->kind, x);
    return st;
}

ca_core_status ca_sync_arena_align_of(ca_sync_arena *a, const void *p, size_t *align)
{
    ca_core_ctx *x = enter(a, a->kind);
    ca_core_status st = ca_core_align_of(&a->core, p, align, is_shared(a));
    leave(a, a->kind, x);
    return st;
}

ca_core_status ca_sync_arena_note_align(ca_sync_arena *a, const void *p, size_t align)
{
    ca_core_ctx *x = enter(a, a->kind);
    ca_core_status st = ca_core_note_align(&a->core, p, align, is_shared(a));
    leave(a, a->kind, x);
    return st;
}

/* ---- figures and upkeep ---- */

void ca_sync_arena_cells(ca_sync_arena *a, size_t group, ca_core_cell *cells, size_t ncells)
{
    ca_core_ctx *x = is_shared(a) ? NULL : enter(a, a->kind);
    ca_core_cells(&a->core, group, cells, ncells, a->caches, is_shared(a));
    if (x)
        leave(a, a->kind, x);
}

size_t ca_sync_arena_blocks(ca_sync_arena *a, size_t from, ca_core_block *out, size_t max,
                            size_t *next)
{
    ca_core_ctx *x = is_shared(a) ? NULL : enter(a, a->kind);
    size_t n = ca_core_blocks(&a->core, from, out, max, next, is_shared(a));
    if (x)
        leave(a, a->kind, x);
    return n;
}

/* Every context of the arena: fn on each (under "hint", under its records'
 * mutex). */
static void each_context(ca_sync_arena *a, void (*fn)(ca_core_ctx *x, void *arg), void *arg)
{
    if (is_shared(a))
        ca_sync_hint_each(&a->hint, fn, arg);
    else
        fn(&a->ctx, arg);
}

static void add_tally(ca_core_ctx *x, void *sum)
{
    const ca_core_tally *both[2] = {sum, &x->tally};
    ca_core_tally_sum(both, 2, sum); /* reads both before it writes the sum */
}

/* The counters of every context, summed. */
static void tally(ca_sync_arena *a, ca_core_tally *sum)
{
    ca_core_tally_sum(NULL, 0, sum); /* zero */
    each_context(a, add_tally, sum);
}

void ca_sync_arena_stats(ca_sync_arena *a, ca_sync_stats *s)
{
    ca_core_tally t;
    ca_core_usage u;
    ca_core_ctx *x = is_shared(a) ? NULL : enter(a, a->kind);
    tally(a, &t);
    /* With caches, cached blocks count as free: in the free runs, the
     * longest and the histogram alike (one pass), as ca_stats says. */
    ca_core_survey(&a->core, &u, s->free_run_histogram, a->caches, is_shared(a));
    size_t peak = atomic_load_explicit(&a->peak, RLX);
    if (x)
        leave(a, a->kind, x);

    s->chunk_size = ca_core_chunk_size(&a->core);
    s->chunks_total = a->core.nchunks;
    s->chunks_used = u.chunks_used;
    s->chunks_peak = peak > u.chunks_used ? peak : u.chunks_used;
    s->allocations = u.allocations;
    s->bytes_requested = atomic_load_explicit(&t.bytes_requested, RLX);
    s->failures = atomic_load_explicit(&t.failures, RLX);
    s->grows_in_place = atomic_load_explicit(&t.grows_in_place, RLX);
    s->shrinks_in_place = atomic_load_explicit(&t.shrinks_in_place, RLX);
    s->runs_examined = atomic_load_explicit(&t.runs_examined, RLX);
    s->free_runs = u.free_runs;
    s->largest_free_run = u.largest_free_run;
}

static void forget_live(ca_core_ctx *x, void *unused)
{
    (void)unused;
    ca_core_ctx_forget_live(x);
}

void ca_sync_arena_reset(ca_sync_arena *a)
{
    ca_core_reset(&a->core);
    each_context(a, forget_live, NULL);
    if (is_shared(a))
        ca_sync_hint_reset(&a->hint);
}

const char *ca_sync_arena_check(ca_sync_arena *a)
{
    ca_core_tally t;
    tally(a, &t);
    return ca_core_check(&a->core, &t);
}

/* ---- batches for the per-thread caches (cache/cache.h) ---- */

/* One allocation through x (entered), searching again after each lost
 * race (the hint layer decides when to look elsewhere). */
static void *alloc_entered(ca_sync_arena *a, ca_core_ctx *x, size_t size, ca_core_status *status)
{
    void *p;
    for (unsigned lost = 0;;) {
        p = ca_core_alloc(&a->core, x, size, 0, 0, is_shared(a), status);
        if (*status != CA_CORE_RETRY)
            break;
        ca_sync_hint_lost(&a->hint, x, ++lost);
    }
    if (p)
        note_chunks(a, a->kind, x, true);
    return p;
}

size_t ca_sync_arena_alloc_batch(ca_sync_arena *a, size_t size, void **out, size_t n,
                                 ca_core_status *status)
{
    ca_core_ctx *x = enter(a, a->kind);
    size_t got = 0;
    while (got < n && (out[got] = alloc_entered(a, x, size, status)) != NULL)
        got++;
    /* The bytes asked for count once: the blocks beyond the first are
     * counted when a cache hands them out (cache/cache.c). */
    if (got > 1)
        atomic_store_explicit(
            &x->tally.bytes_requested,
            atomic_load_explicit(&x->tally.bytes_requested, RLX) - (got - 1) * size, RLX);
    /* A block beyond the first that found no room is no failure of the
     * caller's: it has its block. */
    if (got > 0 && *status == CA_CORE_NOMEM)
        atomic_store_explicit(&x->tally.failures,
                              atomic_load_explicit(&x->tally.failures, RLX) - 1, RLX);
    leave(a, a->kind, x);
    return got;
}

void ca_sync_arena_drop_cached(ca_sync_arena *a, void *const *blocks, size_t n, size_t chunks)
{
    if (n == 0)
        return;
    ca_core_ctx *x = enter(a, a->kind);
    for (size_t i = 0; i < n; i++)
        ca_core_cache_drop(&a->core, x, blocks[i], chunks, is_shared(a));
    note_chunks(a, a->kind, x, false);
    leave(a, a->kind, x);
}

ca_core_status ca_sync_arena_free_unless(ca_sync_arena *a, void *p, _Atomic bool *flag)
{
    BY_LAYER(a, free_unless, p, flag);
}

void ca_sync_arena_set_flag(ca_sync_arena *a, _Atomic bool *flag)
{
    ca_core_ctx *x = enter(a, a->kind);
    /* release: pairs with an acquire load of the flag outside the lock,
     * so whoever sees it set sees what the lock's earlier holders did */
    atomic_store_explicit(flag, true, memory_order_release);
    leave(a, a->kind, x);
}

/* ---- rewind (for malloc/: keep next fit's walk short) ---- */

void ca_sync_arena_rewind(ca_sync_arena *a)
{
    ca_core_ctx *x = enter(a, a->kind);
    x->cursor = x->lane_lo;
    leave(a, a->kind, x);
}

/* ---- what the api layer needs of the core ---- */

unsigned ca_sync_chunk_shift(size_t chunk_size)
{
    if (chunk_size < ((size_t)1 << CA_CORE_MIN_CHUNK_SHIFT) ||
        chunk_size > ((size_t)1 << CA_CORE_MAX_CHUNK_SHIFT) || (chunk_size & (chunk_size - 1)))
        return 0;
    return (unsigned)__builtin_ctzll(chunk_size);
}

typedef struct layout_arg {
    ca_lock kind;
    size_t extra;
} layout_arg;

/* The owner's bytes and the layer's bookkeeping of n chunks (ca_core_meta_fn). */
static size_t layout_meta(size_t nchunks, const void *arg)
{
    const layout_arg *l = arg;
    size_t sync = ca_sync_meta_size(l->kind, nchunks);
    return sync ? l->extra + sync : 0;
}

ca_core_status ca_sync_layout(ca_lock kind, size_t extra, void *mem, size_t len,
                              unsigned shift, size_t *nchunks, void **meta, void **base)
{
    layout_arg l = {kind, extra};
    return ca_core_layout(mem, len, shift, layout_meta, &l, nchunks, meta, base);
}

bool ca_sync_arena_owns(const ca_sync_arena *a, const void *p)
{
    return ca_core_owns(&a->core, p);
}
