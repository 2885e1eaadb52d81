/* SPDX-License-Identifier: MIT */
/*
 * core/core.c — the core's exported entry points, its figures and its
 * set-up.
 *
 * The operations themselves are in core/ops.h (inline, so that the sync
 * layer can inline them too); here each is compiled twice, exclusive and
 * shared. Thread safety: see core/core.h.
 */
#include "ops.h"

size_t ca_core_bound(const ca_core *c)
{
    return bound_of(atomic_load_explicit(&((ca_core *)c)->bound, RLX));
}

bool ca_core_owns(const ca_core *c, const void *p)
{
    return owns(c, p);
}

/*
 * The entry points. Each operation is compiled twice, with `shared` a
 * constant: flatten inlines every helper, so the exclusive copy has no
 * compare-and-swap, no seq_cst and no re-check loop left in it, and the
 * shared copy no branch on the mode.
 */
#define FLAT CA_CORE_FLAT

static FLAT void *alloc_excl(ca_core *c, ca_core_ctx *x, size_t size, size_t align,
                             size_t room, ca_core_status *st)
{
    return alloc(c, x, size, align, room, false, st);
}

static FLAT void *alloc_shared(ca_core *c, ca_core_ctx *x, size_t size, size_t align,
                               size_t room, ca_core_status *st)
{
    return alloc(c, x, size, align, room, true, st);
}

static FLAT ca_core_status free_excl(ca_core *c, ca_core_ctx *x, void *p)
{
    return free_at(c, x, p, false);
}

static FLAT ca_core_status free_shared(ca_core *c, ca_core_ctx *x, void *p)
{
    return free_at(c, x, p, true);
}

static FLAT ca_core_status resize_excl(ca_core *c, ca_core_ctx *x, void *p, size_t size)
{
    return resize(c, x, p, size, false);
}

static FLAT ca_core_status resize_shared(ca_core *c, ca_core_ctx *x, void *p, size_t size)
{
    return resize(c, x, p, size, true);
}

void *ca_core_alloc(ca_core *c, ca_core_ctx *x, size_t size, size_t align, size_t room,
                    bool shared, ca_core_status *status)
{
    return shared ? alloc_shared(c, x, size, align, room, status)
                  : alloc_excl(c, x, size, align, room, status);
}

ca_core_status ca_core_free(ca_core *c, ca_core_ctx *x, void *p, bool shared)
{
    return shared ? free_shared(c, x, p) : free_excl(c, x, p);
}

ca_core_status ca_core_resize(ca_core *c, ca_core_ctx *x, void *p, size_t size, bool shared)
{
    return shared ? resize_shared(c, x, p, size) : resize_excl(c, x, p, size);
}

ca_core_status ca_core_align_of(const ca_core *c, const void *p, size_t *align, bool shared)
{
    /* locate only reads; it takes a non-const core for the atomic loads */
    return align_of((ca_core *)c, p, align, shared);
}

ca_core_status ca_core_note_align(ca_core *c, const void *p, size_t align, bool shared)
{
    return note_align(c, p, align, shared);
}

ca_core_status ca_core_usable(const ca_core *c, const void *p, size_t *bytes, bool shared)
{
    /* locate only reads; it takes a non-const core for the atomic loads */
    return usable((ca_core *)c, p, bytes, shared);
}

/* ---- figures ---- */

/* Chunks past the end of the region in the last map word (marked used). */
static size_t padding(const ca_core *c)
{
    return (c->nwords << WSHIFT) - c->nchunks;
}

void ca_core_scan(const ca_core *c, ca_core_usage *u, bool shared)
{
    ca_core *m = (ca_core *)c; /* the run helpers only read; atomics want non-const */
    size_t free_chunks = 0, runs = 0, longest = 0, ends = 0;
    for (size_t p = next_free(m, 0, shared); p < c->nchunks; p = next_free(m, p, shared)) {
        size_t e = run_end(m, p, c->nchunks, shared);
        size_t len = e > p ? e - p : 1;
        free_chunks += len;
        runs++;
        if (len > longest)
            longest = len;
        p += len;
    }
    for (size_t w = 0; w < c->nwords; w++)
        ends += ca_bits_count(ca_map_lasts(ld(&m->map[w], shared)));
    u->chunks_used = c->nchunks - free_chunks;
    u->allocations = ends - padding(c);
    u->free_runs = runs;
    u->largest_free_run = longest;
}

void ca_core_ctx_init(ca_core_ctx *x, size_t cursor)
{
    x->cursor = cursor;
    x->lane_lo = 0;
    x->lane_len = 0;
    atomic_init(&x->tally.chunks, (size_t)0);
    atomic_init(&x->tally.allocs, (size_t)0);
    atomic_init(&x->tally.bytes_requested, (size_t)0);
    atomic_init(&x->tally.failures, (size_t)0);
    atomic_init(&x->tally.grows_in_place, (size_t)0);
    atomic_init(&x->tally.shrinks_in_place, (size_t)0);
    atomic_init(&x->tally.runs_examined, (size_t)0);
}

void ca_core_ctx_forget_live(ca_core_ctx *x)
{
    atomic_store_explicit(&x->tally.chunks, (size_t)0, RLX);
    atomic_store_explicit(&x->tally.allocs, (size_t)0, RLX);
}

void ca_core_tally_sum(const ca_core_tally *const *tallies, size_t n, ca_core_tally *sum)
{
    /* Plain scalars, not a zeroed array: a compiler may turn the latter
     * into a memset call, which a freestanding core cannot make. */
    size_t chunks = 0, allocs = 0, requested = 0, failures = 0, grows = 0, shrinks = 0, runs = 0;
    for (size_t i = 0; i < n; i++) {
        const ca_core_tally *t = tallies[i];
        chunks += atomic_load_explicit(&t->chunks, RLX);
        allocs += atomic_load_explicit(&t->allocs, RLX);
        requested += atomic_load_explicit(&t->bytes_requested, RLX);
        failures += atomic_load_explicit(&t->failures, RLX);
        grows += atomic_load_explicit(&t->grows_in_place, RLX);
        shrinks += atomic_load_explicit(&t->shrinks_in_place, RLX);
        runs += atomic_load_explicit(&t->runs_examined, RLX);
    }
    atomic_store_explicit(&sum->chunks, chunks, RLX);
    atomic_store_explicit(&sum->allocs, allocs, RLX);
    atomic_store_explicit(&sum->bytes_requested, requested, RLX);
    atomic_store_explicit(&sum->failures, failures, RLX);
    atomic_store_explicit(&sum->grows_in_place, grows, RLX);
    atomic_store_explicit(&sum->shrinks_in_place, shrinks, RLX);
    atomic_store_explicit(&sum->runs_examined, runs, RLX);
}

/* ---- setup ---- */

size_t ca_core_meta_size(size_t nchunks)
{
    if (nchunks == 0 || nchunks > CA_CORE_MAX_CHUNKS)
        return 0;
    return CA_CORE_META_WORDS(nchunks) * sizeof(uint64_t);
}

static ca_core_status check_shift(unsigned shift)
{
    return shift < CA_CORE_MIN_CHUNK_SHIFT || shift > CA_CORE_MAX_CHUNK_SHIFT ? CA_CORE_BADCHUNK
                                                                                : CA_CORE_OK;
}

/* ca_core_layout's default: the core's own metadata. */
static size_t own_meta(size_t nchunks, const void *arg)
{
    (void)arg;
    return ca_core_meta_size(nchunks);
}

/* Whether n chunks fit in len bytes after their bookkeeping, rounded up to
 * whole chunks (meta_bytes 0: too many chunks, no fit). */
static bool layout_fits(size_t n, size_t len, unsigned shift, ca_core_meta_fn *meta_bytes,
                        const void *arg, size_t *front)
{
    size_t cs = (size_t)1 << shift;
    size_t m = meta_bytes(n, arg);
    if (m == 0 || m >= len)
        return false;
    *front = (m + cs - 1) & ~(cs - 1); /* m < len: no overflow */
    return *front < len && n <= (len - *front) >> shift;
}

ca_core_status ca_core_layout(void *mem, size_t len, unsigned shift, ca_core_meta_fn *meta_bytes,
                              const void *arg, size_t *nchunks, void **meta, void **base)
{
    if (!meta_bytes)
        meta_bytes = own_meta;
    ca_core_status st = check_shift(shift);
    if (st != CA_CORE_OK)
        return st;
    size_t cs = (size_t)1 << shift;
    if ((uintptr_t)mem & (cs - 1))
        return CA_CORE_MISALIGNED;
    if (len > UINTPTR_MAX - (uintptr_t)mem)
        return CA_CORE_TOOLARGE;
    /* The most chunks n that fit after their bookkeeping. The metadata
     * never grows when n falls, so "n fits" holds for every n up to that
     * most and for none above: a binary search between 1 (which must fit,
     * or nothing does) and len / chunk size. A guess that steps down from
     * the top cannot do this: above the answer the bookkeeping alone may
     * fill len, and that says nothing of how many fewer chunks would fit
     * (it gave up on regions where one chunk fits). */
    size_t front = 0;
    if (!layout_fits(1, len, shift, meta_bytes, arg, &front))
        return CA_CORE_TOOSMALL;
    size_t lo = 1; /* fits */
    size_t hi = len >> shift;
    if (hi > CA_CORE_MAX_CHUNKS)
        hi = CA_CORE_MAX_CHUNKS;
    hi++; /* above every fit */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, f;
        if (layout_fits(mid, len, shift, meta_bytes, arg, &f)) {
            lo = mid;
            front = f;
        } else {
            hi = mid;
        }
    }
    CA_ASSERT((front & (cs - 1)) == 0 && front + (lo << shift) <= len);
    *nchunks = lo;
    *meta = mem;
    *base = (unsigned char *)mem + front;
    return CA_CORE_OK;
}

/* Set bits `from` and up of *p (from < 64), for padding. */
static void mark_padding(_Atomic uint64_t *p, size_t from)
{
    if (from < 64)
        atomic_store_explicit(p, atomic_load_explicit(p, RLX) | ca_bits_from((unsigned)from), RLX);
}

void ca_core_reset(ca_core *c)
{
    size_t words = CA_CORE_META_WORDS(c->nchunks);
    for (size_t i = 0; i < words; i++) /* atomic stores: never turned into a memset call */
        atomic_store_explicit(&c->map[i], 0, RLX);
    size_t last = c->nwords - 1;
    if (padding(c)) {
        uint64_t pad = ~ca_map_upto((unsigned)((c->nchunks - 1) & 31)) & CA_MAP_USED_BITS;
        atomic_store_explicit(&c->map[last], pad * 3u, RLX); /* "11" each */
        atomic_store_explicit(&c->sum_used[last >> 6], 1ull << (last & 63), RLX);
    }
    mark_padding(&c->sum_full[c->nsum1 - 1], c->nwords & 63 ? c->nwords & 63 : 64);
    mark_padding(&c->sum_used[c->nsum1 - 1], c->nwords & 63 ? c->nwords & 63 : 64);
    mark_padding(&c->sum_full2[c->nsum2 - 1], c->nsum1 & 63 ? c->nsum1 & 63 : 64);
    /* The fit index: every run can go on through the next word (ON), but
     * the last word's, which ends there; 0 past the last word. */
    for (size_t k = 0; k < c->nfit; k++)
        atomic_store_explicit(&c->fit[k], CA_MAP_FIT_ON * FIT_BYTES, RLX);
    if (c->nwords & 7)
        atomic_store_explicit(&c->fit[c->nfit - 1],
                              CA_MAP_FIT_ON * FIT_BYTES &
                                  ca_bits_upto((unsigned)(8 * (c->nwords & 7) - 1)),
                              RLX);
    fit_set(c, last, ca_map_fit(atomic_load_explicit(&c->map[last], RLX), 0, false));
    atomic_store_explicit(&c->bound, c->nchunks, RLX);
    atomic_store_explicit(&c->max_align, (size_t)0, RLX);
}

ca_core_status ca_core_init(ca_core *c, void *base, size_t nchunks, unsigned shift, void *meta,
                            unsigned window)
{
    ca_core_status st = check_shift(shift);
    if (st != CA_CORE_OK)
        return st;
    if (((uintptr_t)base & (((uintptr_t)1 << shift) - 1)) || ((uintptr_t)meta & 7))
        return CA_CORE_MISALIGNED;
    if (nchunks == 0)
        return CA_CORE_TOOSMALL;
    if (nchunks > CA_CORE_MAX_CHUNKS || nchunks > (UINTPTR_MAX - (uintptr_t)base) >> shift)
        return CA_CORE_TOOLARGE;
    if (window == 0 || window > CA_CORE_MAX_WINDOW)
        return CA_CORE_BADWINDOW;

    size_t nwords = CA_CORE_MAP_WORDS(nchunks), nsum1 = CA_CORE_SUM1_WORDS(nchunks);
    _Atomic uint64_t *words = meta;
    c->base = base;
    c->nchunks = nchunks;
    c->nwords = nwords;
    c->nsum1 = nsum1;
    c->nsum2 = CA_CORE_SUM2_WORDS(nchunks);
    c->shift = shift;
    c->window = window;
    c->map = words;
    c->sum_full = words + nwords;
    c->sum_used = words + nwords + nsum1;
    c->sum_full2 = words + nwords + 2 * nsum1;
    c->aligned = c->sum_full2 + c->nsum2;
    c->cached = c->aligned + CA_CORE_ALIGNED_WORDS(nchunks);
    c->fit = c->cached + CA_CORE_CACHED_WORDS(nchunks);
    c->nfit = CA_CORE_FIT_WORDS(nchunks);
    ca_core_reset(c);
    return CA_CORE_OK;
}

/* ---- the cached plane (issue 11; see core.h) ----
 *
 * Memory orders. The bit's word is changed by RMWs only, so the modification
 * order of that word decides every race on a bit: of two frees, the one
 * whose fetch_or reads the bit clear wins. put's fetch_or is acq_rel: it
 * acquires the release of the take or drop that last cleared the bit (so
 * what the previous owner did happens-before this cache owns the block).
 * take and drop clear with release, after the owner's last use of the block
 * (drop: after its release CAS, which is seq_cst, of the map).
 */

static inline _Atomic uint64_t *cached_word(ca_core *c, const void *p, uint64_t *bit)
{
    size_t s = ((uintptr_t)p - (uintptr_t)c->base) >> c->shift;
    *bit = 1ull << (s & 63);
    return &c->cached[s >> 6];
}

ca_core_status ca_core_cache_put(ca_core *c, void *p, size_t most, size_t *n)
{
    size_t s, e;
    /* Shared reads: the caller holds no lock; the map is only read. */
    ca_core_status st = locate(c, p, true, &s, &e);
    if (st != CA_CORE_OK)
        return st;
    if (e - s + 1 > most || is_aligned_start(c, s))
        return CA_CORE_NOMEM;
    uint64_t bit;
    _Atomic uint64_t *w = cached_word(c, p, &bit);
    if (atomic_fetch_or_explicit(w, bit, memory_order_acq_rel) & bit)
        return CA_CORE_NOTALLOC; /* another free took it first */
    /* Won, but maybe late: another free may have taken the block after our
     * locate and dropped it (released the chunks, then cleared the bit)
     * before our fetch_or. Its clear is a release that our RMW acquired, so
     * the released first chunk is seen: then the block was freed already,
     * and the bit goes back. */
    if (ca_map_state(ld(&c->map[s >> WSHIFT], true), (unsigned)(s & 31)) == CA_MAP_FREE) {
        atomic_fetch_and_explicit(w, ~bit, memory_order_release);
        return CA_CORE_NOTALLOC;
    }
    *n = e - s + 1;
    return CA_CORE_OK;
}

void ca_core_cache_mark(ca_core *c, void *p)
{
    uint64_t bit;
    _Atomic uint64_t *w = cached_word(c, p, &bit);
    atomic_fetch_or_explicit(w, bit, memory_order_relaxed); /* ours: no race on this bit */
}

void ca_core_cache_take(ca_core *c, void *p)
{
    uint64_t bit;
    _Atomic uint64_t *w = cached_word(c, p, &bit);
    /* release: pairs with the acquire of the next put of this block */
    atomic_fetch_and_explicit(w, ~bit, memory_order_release);
}

void ca_core_cache_drop(ca_core *c, ca_core_ctx *x, void *p, size_t n, bool shared)
{
    size_t s = ((uintptr_t)p - (uintptr_t)c->base) >> c->shift;
    (void)release(c, s, s + n - 1, NONE, shared); /* the cache's own: cannot mismatch */
    bump(&x->tally.chunks, -n);
    bump(&x->tally.allocs, (size_t)-1);
    ca_core_cache_take(c, p); /* after the release (see ca_core_cache_drop) */
}

