/* SPDX-License-Identifier: MIT */
/*
 * core/ops.h — search, claim, release and resize over the chunk map, as
 * inline functions.
 *
 * Every operation of the core is written here once for both modes
 * (`shared` is a parameter that each caller makes a constant), so the
 * compiler folds the mode away and inlines the whole operation where it is
 * used: core/core.c compiles the exported ca_core_* entry points from it,
 * and sync/sync.c one hot path per sync layer (lock, core, unlock) with
 * no call between the layers. Include it from those two files only.
 *
 *
 * The thread-safety contract and the claim/release protocol are in
 * core/core.h. This file adds two protocols that keep derived state right
 * when operations run in shared mode:
 *
 * Summaries (sync_word, sync_sum2). A summary bit is a function f of one
 * word below it ("map word w has no free chunk"). After changing a word, an
 * operation recomputes f from a fresh load of the word and, only if the bit
 * differs, flips it with an RMW and loads the word again; if f changed in
 * between it repeats. All these accesses are seq_cst. Why the bits are exact
 * once no operation is in flight: take the last RMW W on the bit, by thread
 * T, and T's reload R after it, which agreed with W. A later change M of the
 * word would be followed, in its thread, by a load of the bit that comes
 * after W in the single total order of seq_cst operations, so it sees W and,
 * if the word's new f differs, writes the bit after W: contradiction. So
 * there is no such M and W holds the word's final f. (Store-then-load on two
 * locations needs seq_cst; acquire/release alone would let both threads miss
 * each other's store.) In exclusive mode nothing else writes, so a claim
 * or a release computes the bits of the words it changed from their new
 * values, and writes a summary word only where a bit flips (sums_flip).
 *
 * The bound (c->bound). An allocation that asks for more chunks than the
 * longest free run fails in O(1) against an upper bound on that run:
 *   - a release computes the free run its chunks now belong to and raises
 *     the bound to it (it can only have grown there);
 *   - a search that fails has seen every free run and lowers the bound to
 *     the longest it saw.
 * In shared mode a lowering could miss a run freed behind the scan, so it is
 * announced: the searcher sets the FLAG bit (seq_cst RMW) and then rescans;
 * every release, after its map RMW and summary sync, loads the bound
 * (seq_cst) and, seeing FLAG, clears it with its raise; the lowering is a CAS
 * from the flagged value, so it fails if any release saw the flag. Setting
 * the flag also steps an epoch kept in the word, so a flag cleared and set
 * again by another searcher is not the value the lowering expects (ABA). A
 * release that loaded the bound before the flag was set precedes the flag
 * in the total order, and so does its map change: the rescan sees it,
 * unless a summary hides it. One can: a thread that read a word as full,
 * then wrote its "full" bit after a release had freed chunks there (and
 * found the bit still clear), hides those chunks from every scan until it
 * reloads the word and puts the bit right. That thread, seeing its write
 * was stale, sets the bound to "unknown" (the chunk count): a lowering made
 * meanwhile is undone, one still pending fails. Hence the bound never
 * drops below a free run that exists when the arena is quiet.
 *
 * Padding (see core/chunkmap.h): chunks past the end are marked used for
 * good, and so are the summary bits of map words and level-1 words past the
 * end, so no scan needs to know where the region ends.
 */
#ifndef CA_CORE_OPS_H
#define CA_CORE_OPS_H

#include "core.h"
#include "invariant.h"

#define SEQ memory_order_seq_cst
#define RLX memory_order_relaxed

/* The bound word:  bit 63 FLAG | bits 41..62 epoch | bits 0..40 the bound. */
#define BOUND_FLAG (1ull << 63)
#define BOUND_VALUE ((1ull << 41) - 1)
#define BOUND_EPOCH (~(BOUND_FLAG | BOUND_VALUE))
#define BOUND_EPOCH_ONE (1ull << 41)
#define NONE ((size_t)-1)
#define WSHIFT CA_MAP_WORD_SHIFT

_Static_assert(CA_CORE_MAX_CHUNKS <= BOUND_VALUE, "a chunk count fits the bound word");
_Static_assert(sizeof(size_t) == 8, "the core indexes chunks with 64-bit size_t");

/* ---- word access: relaxed when exclusive, seq_cst when shared ---- */

static inline uint64_t ld(_Atomic uint64_t *p, bool shared)
{
    return shared ? atomic_load_explicit(p, SEQ) : atomic_load_explicit(p, RLX);
}

/* Replace *p, last read as *old, by `val`. Exclusive: a plain store (no other
 * writer exists). Shared: a CAS that fails, refreshing *old, if *p changed. */
static inline bool put(_Atomic uint64_t *p, uint64_t *old, uint64_t val, bool shared)
{
    if (!shared) {
        atomic_store_explicit(p, val, RLX);
        return true;
    }
    return atomic_compare_exchange_weak_explicit(p, old, val, SEQ, SEQ);
}

/* Add d to a counter this context alone writes (see core.h). */
static inline void bump(_Atomic size_t *f, size_t d)
{
    atomic_store_explicit(f, atomic_load_explicit(f, RLX) + d, RLX);
}

/* ---- the bound word ---- */

static inline size_t bound_of(uint64_t b)
{
    return (size_t)(b & BOUND_VALUE);
}

/* Shared mode: set the bound to `value` unless it is already at least that,
 * clearing the flag either way (the epoch stays). */
static void bound_raise(ca_core *c, size_t value)
{
    uint64_t b = atomic_load_explicit(&c->bound, SEQ);
    while (value > bound_of(b) || (b & BOUND_FLAG)) {
        uint64_t to = (b & BOUND_EPOCH) | (value > bound_of(b) ? value : bound_of(b));
        if (atomic_compare_exchange_weak_explicit(&c->bound, &b, to, SEQ, SEQ))
            return;
    }
}

/* ---- summaries ---- */

static inline bool word_full(uint64_t v)
{
    return ca_map_free(v) == 0;
}

static inline bool word_used(uint64_t v)
{
    return ca_map_used(v) != 0;
}

/* Make bit b of *p equal `on` (shared mode); report whether it had to change. */
static inline bool set_bit(_Atomic uint64_t *p, unsigned b, bool on)
{
    uint64_t m = 1ull << b;
    if (((atomic_load_explicit(p, SEQ) & m) != 0) == on)
        return false;
    if (on)
        atomic_fetch_or_explicit(p, m, SEQ);
    else
        atomic_fetch_and_explicit(p, ~m, SEQ);
    return true;
}

/* Exclusive mode: flip the bits `m` of *p (m may be 0). */
static inline void xor_bits(_Atomic uint64_t *p, uint64_t m)
{
    atomic_store_explicit(p, atomic_load_explicit(p, RLX) ^ m, RLX);
}

/* Shared mode, level 2: bit i says "level-1 full word i is all set". A
 * "full" written from a stale read hides free chunks from the scans until
 * it is put right: the bound becomes "unknown" (see the top). */
static void sync_sum2(ca_core *c, size_t i)
{
    for (;;) {
        bool full = atomic_load_explicit(&c->sum_full[i], SEQ) == ~0ull;
        if (!set_bit(&c->sum_full2[i >> 6], (unsigned)(i & 63), full))
            return;
        if ((atomic_load_explicit(&c->sum_full[i], SEQ) == ~0ull) == full)
            return;
        if (full)
            bound_raise(c, c->nchunks);
    }
}

/* Shared mode: bring the summary bits of map word w in line with the word,
 * which the caller just changed. */
static void sync_word(ca_core *c, size_t w)
{
    size_t i = w >> 6;
    unsigned b = (unsigned)(w & 63);
    for (;;) {
        uint64_t v = atomic_load_explicit(&c->map[w], SEQ);
        bool full = word_full(v), used = word_used(v), wrote = false;
        if (set_bit(&c->sum_full[i], b, full)) {
            wrote = true;
            sync_sum2(c, i);
        }
        if (set_bit(&c->sum_used[i], b, used))
            wrote = true;
        if (!wrote)
            return;
        v = atomic_load_explicit(&c->map[w], SEQ);
        if (word_full(v) == full && word_used(v) == used)
            return;
        if (full && !word_full(v)) /* our "full" was stale: see the top */
            bound_raise(c, c->nchunks);
    }
}

/* ---- the fit index ----
 *
 * One byte per map word (eight to an index word): an upper bound on the
 * longest free run that starts in the word, counted on into the next word
 * (chunkmap.h, ca_map_fit; CA_MAP_FIT_ON when it runs on through all of
 * the next). A search for n >= 2 chunks reads eight bytes at a time and
 * goes only to the words whose byte is at least n (next_fit_word): in a
 * crowded arena that skips nearly every short hole without loading the
 * map, where the search used to walk each one. Placement is unchanged: a
 * word whose byte is below n holds no start of a run of n chunks (a run
 * longer than two words runs on through a wholly free word, which the
 * byte marks ON), so the search visits the same runs in the same order,
 * minus ones that cannot fit.
 *
 * The bytes are upper bounds, kept loosely:
 *   - a release raises the byte of its word, and of the word before it if
 *     it freed its word's bottom chunk, to what the freed stretch now
 *     makes possible (fit_released), from loads after its own change;
 *   - a claim changes nothing: it only takes runs away, so it leaves a
 *     byte too high (stale), never too low;
 *   - a search that goes to a word through the index, walks every run that
 *     starts there and finds none that fits, lowers its byte to the longest
 *     it saw (fit_lower): a stale byte costs one visit, and the lowering
 *     costs nothing the walk did not already do.
 * At set-up every byte is ON (all free).
 *
 * Shared mode. A byte may be stale-high at any time; what must not happen
 * is a byte below its word's run once the arena is quiet (a run no search
 * would find). A release raises by CAS after loading the byte, and both
 * after its map RMW. A lowering CASes the byte down, then reloads the two
 * map words it depends on and, if they now allow more, raises it back.
 * All seq_cst: take a release R that could raise byte b, and a lowering L
 * of b. If R's load of b follows L's CAS in the total order, R sees the
 * low value and raises it. Else R's map change precedes R's load, which
 * precedes L's CAS, which precedes L's reload: L sees R's change and
 * raises b back. Between L's CAS and its raise another search may skip the
 * run: a failure that is not linearizable (allowed, core.h); but if that
 * was the rescan of a failing search (the bound protocol, at the top) it
 * could lower the bound below the run, so L, when it raises back, sets the
 * bound to "unknown", as a stale "full" summary bit does. (The walk that
 * measured the lower value read the map at other moments than L's CAS: the
 * reload after the CAS is what L's argument rests on, so L recomputes the
 * byte from it.)
 */

#define FIT_BYTES 0x0101010101010101ull /* bit 0 of every byte */
#define FIT_HIGH 0x8080808080808080ull  /* bit 7 of every byte */
_Static_assert(CA_MAP_FIT_ON < 128, "a fit byte leaves bit 7 clear, for next_fit_word");

static inline unsigned fit_get(ca_core *c, size_t w, bool shared)
{
    return (unsigned)(ld(&c->fit[w >> 3], shared) >> ((w & 7) * 8)) & 0xFFu;
}

/* Exclusive mode: make map word w's byte b. */
static inline void fit_set(ca_core *c, size_t w, unsigned b)
{
    unsigned sh = (unsigned)(w & 7) * 8u;
    uint64_t x = atomic_load_explicit(&c->fit[w >> 3], RLX);
    atomic_store_explicit(&c->fit[w >> 3], (x & ~(0xFFull << sh)) | (uint64_t)b << sh, RLX);
}

/* Raise map word w's byte to at least b. */
static inline void fit_raise(ca_core *c, size_t w, unsigned b, bool shared)
{
    unsigned sh = (unsigned)(w & 7) * 8u;
    _Atomic uint64_t *p = &c->fit[w >> 3];
    uint64_t x = ld(p, shared);
    while (((x >> sh) & 0xFFu) < b) {
        uint64_t to = (x & ~(0xFFull << sh)) | (uint64_t)b << sh;
        if (!shared) {
            atomic_store_explicit(p, to, RLX);
            return;
        }
        if (atomic_compare_exchange_weak_explicit(p, &x, to, SEQ, SEQ))
            return;
    }
}

/* The byte map word w should have, from the map (fresh loads in shared
 * mode; v: w's value when the caller has it). */
static inline unsigned fit_exact(ca_core *c, size_t w, uint64_t v, bool shared)
{
    bool has_next = w + 1 < c->nwords;
    return ca_map_fit(v, has_next ? ld(&c->map[w + 1], shared) : 0, has_next);
}

/* After a release freed chunks a..b (0 <= a <= b <= 31) of map word w (v:
 * its value after, exclusive mode; shared mode loads it again): raise the
 * bytes the freed stretch can have lengthened. The stretch that holds
 * a..b is lo..hi; if it reaches the top, it runs on into w + 1; if it
 * reaches the bottom, it lengthens the run of w - 1 that ends at w's
 * bottom (`back`: raise that one too). Other runs did not change. */
static inline void fit_released(ca_core *c, size_t w, uint64_t v, unsigned a, unsigned b,
                                bool back, bool shared)
{
    if (shared)
        v = atomic_load_explicit(&c->map[w], SEQ);
    /* Shared: chunks of a..b may have been claimed again since; the
     * stretch computed around them is then longer than any real run,
     * which an upper bound allows. */
    uint64_t u = ca_map_used(v);
    uint64_t below = a ? u & ca_map_upto(a - 1) : 0;
    /* Nothing to raise where a byte is ON already: the common case in a
     * roomy arena, where claims leave the bytes as set-up or releases
     * left them. `back` false: the caller raises w - 1 itself. */
    bool mine = fit_get(c, w, shared) < CA_MAP_FIT_ON;
    bool prev = back && !below && w > 0 && fit_get(c, w - 1, shared) < CA_MAP_FIT_ON;
    if (!mine && !prev)
        return;
    uint64_t above = b < 31 ? u & ca_map_from(b + 1) : 0;
    unsigned lo = below ? ca_map_highest(below) + 1 : 0, hi = above ? ca_map_lowest(above) - 1 : 31;
    if (mine) {
        unsigned len = hi - lo + 1;
        if (hi == 31 && w + 1 < c->nwords) {
            unsigned on = ca_map_bottom_free(ld(&c->map[w + 1], shared));
            len = on == 32 ? CA_MAP_FIT_ON : len + on;
        }
        fit_raise(c, w, len, shared);
    }
    if (prev) {
        unsigned top = ca_map_top_free(ld(&c->map[w - 1], shared));
        if (top) {
            unsigned run = top + hi + 1;
            fit_raise(c, w - 1, top == 32 || hi == 31 ? CA_MAP_FIT_ON : run, shared);
        }
    }
}

/* A search went to map word w through the index, walked every run that
 * starts there and found none that fits: the longest of them is `val`
 * chunks. Lower w's byte to it (see above). */
static void fit_lower(ca_core *c, size_t w, size_t val, bool shared)
{
    unsigned sh = (unsigned)(w & 7) * 8u;
    _Atomic uint64_t *p = &c->fit[w >> 3];
    uint64_t x = ld(p, shared);
    if (((x >> sh) & 0xFFu) <= val)
        return;
    uint64_t to = (x & ~(0xFFull << sh)) | (uint64_t)val << sh;
    if (!shared) {
        atomic_store_explicit(p, to, RLX);
        return;
    }
    if (!atomic_compare_exchange_strong_explicit(p, &x, to, SEQ, SEQ))
        return; /* the index word changed meanwhile: leave it high */
    /* The walk's loads may predate a release: recompute from fresh ones. */
    unsigned back = fit_exact(c, w, atomic_load_explicit(&c->map[w], SEQ), shared);
    if (back > val) {
        fit_raise(c, w, back, shared);
        bound_raise(c, c->nchunks);
    }
}

/* First map word >= w whose byte is at least n (1 < n <= CA_MAP_FIT_ON),
 * or nwords. Bytes past the last map word are 0, so none is returned. Bytes
 * are below 128: adding 128 - n to each sets its bit 7 exactly when it is
 * at least n, with no carry into the next byte. */
static size_t next_fit_word(ca_core *c, size_t w, size_t n, bool shared)
{
    size_t k = w >> 3;
    uint64_t minus = (128u - n) * FIT_BYTES;
    uint64_t cut = ca_bits_from((unsigned)(w & 7) * 8u);
    for (; k < c->nfit; k++, cut = ~0ull) {
        uint64_t hit = (ld(&c->fit[k], shared) + minus) & FIT_HIGH & cut;
        if (hit)
            return (k << 3) + (ca_bits_first(hit) >> 3);
    }
    return c->nwords;
}

/* ---- summary scans ---- */

/* First level-1 index >= i whose level-2 bit is clear, or nsum1. */
static size_t next_open_sum1(ca_core *c, size_t i, bool shared)
{
    size_t k = i >> 6;
    if (k >= c->nsum2)
        return c->nsum1;
    uint64_t z = ~ld(&c->sum_full2[k], shared) & ca_bits_from((unsigned)(i & 63));
    while (!z) {
        if (++k >= c->nsum2)
            return c->nsum1;
        z = ~ld(&c->sum_full2[k], shared);
    }
    return (k << 6) + ca_bits_first(z); /* padding bits are set: < nsum1 */
}

/* First map word >= w whose summary says it has a free chunk, or nwords. */
static size_t next_open_word(ca_core *c, size_t w, bool shared)
{
    size_t i = w >> 6;
    if (i >= c->nsum1)
        return c->nwords;
    uint64_t z = ~ld(&c->sum_full[i], shared) & ca_bits_from((unsigned)(w & 63));
    while (!z) {
        i = next_open_sum1(c, i + 1, shared);
        if (i >= c->nsum1)
            return c->nwords;
        z = ~ld(&c->sum_full[i], shared); /* 0 only if level 2 lagged */
    }
    return (i << 6) + ca_bits_first(z); /* padding bits are set: < nwords */
}

/* First map word in [w, lim) whose summary says it has a used chunk, or
 * lim (lim <= nwords). */
static size_t next_used_word(ca_core *c, size_t w, size_t lim, bool shared)
{
    if (w >= lim)
        return lim;
    size_t i = w >> 6;
    uint64_t x = ld(&c->sum_used[i], shared) & ca_bits_from((unsigned)(w & 63));
    while (!x) {
        if ((++i << 6) >= lim)
            return lim;
        x = ld(&c->sum_used[i], shared);
    }
    size_t r = (i << 6) + ca_bits_first(x);
    return r < lim ? r : lim;
}

/* Last map word in [lo, w] whose summary says it has a used chunk, or NONE. */
static size_t prev_used_word(ca_core *c, size_t w, size_t lo, bool shared)
{
    size_t i = w >> 6;
    uint64_t x = ld(&c->sum_used[i], shared) & ca_bits_upto((unsigned)(w & 63));
    for (;;) {
        if (x) {
            size_t r = (i << 6) + ca_bits_top(x);
            return r >= lo ? r : NONE;
        }
        if ((i << 6) <= lo)
            return NONE;
        x = ld(&c->sum_used[--i], shared);
    }
}

/* ---- free runs ---- */

/* First free chunk at or after p, or nchunks. Skips full words through the
 * summaries; a lagging summary (shared mode) only costs a reload. */
static inline size_t next_free(ca_core *c, size_t p, bool shared)
{
    while (p < c->nchunks) {
        size_t w = p >> WSHIFT;
        uint64_t m = ca_map_free(ld(&c->map[w], shared)) & ca_map_from((unsigned)(p & 31));
        if (m)
            return (w << WSHIFT) + ca_map_lowest(m); /* padding is never free */
        p = next_open_word(c, w + 1, shared) << WSHIFT;
    }
    return c->nchunks;
}

/* First used chunk at or after p if it is below cap; else cap (the free run
 * from p reaches cap at least). p < cap <= nchunks. Skips wholly free words
 * through the summaries: a long run costs one summary bit per 32 chunks. */
static size_t run_end(ca_core *c, size_t p, size_t cap, bool shared)
{
    size_t lim = ((cap - 1) >> WSHIFT) + 1; /* words holding chunks below cap */
    size_t w = p >> WSHIFT;
    uint64_t m = ca_map_used(ld(&c->map[w], shared)) & ca_map_from((unsigned)(p & 31));
    while (!m) {
        w = next_used_word(c, w + 1, lim, shared);
        if (w >= lim)
            return cap;
        m = ca_map_used(ld(&c->map[w], shared)); /* 0 only if the summary lagged */
    }
    size_t r = (w << WSHIFT) + ca_map_lowest(m);
    return r < cap ? r : cap;
}

/* First chunk of the free run that ends at p - 1 (the chunk after the last
 * used chunk below p), but not below floor. floor < p. */
static size_t run_start(ca_core *c, size_t p, size_t floor, bool shared)
{
    size_t w = (p - 1) >> WSHIFT;
    uint64_t m = ca_map_used(ld(&c->map[w], shared)) & ca_map_upto((unsigned)((p - 1) & 31));
    while (!m) {
        if ((w << WSHIFT) <= floor)
            return floor;
        w = prev_used_word(c, w - 1, floor >> WSHIFT, shared);
        if (w == NONE)
            return floor;
        m = ca_map_used(ld(&c->map[w], shared));
    }
    size_t q = (w << WSHIFT) + ca_map_highest(m) + 1;
    return q > floor ? q : floor;
}

/* ---- the bound on the longest free run ---- */

/* After chunks [s, e] were released: raise the bound to the free run they
 * now belong to. Each side of that run existed before and was no longer
 * than the bound, so each side is measured up to bound + 1 chunks; a side
 * that reaches that (possible only when a neighbour was freed at the same
 * moment) gives up and sets the bound to "unknown" (nchunks). */
static void raise_bound_to_run(ca_core *c, size_t s, size_t e, uint64_t b, bool shared)
{
    size_t cur = bound_of(b);
    size_t reach = cur + 1, lo = s, hi = e + 1;
    size_t floor = s > reach ? s - reach : 0;
    size_t cap = c->nchunks - hi > reach ? hi + reach : c->nchunks;
    if (s > 0)
        lo = run_start(c, s, floor, shared);
    if (hi < c->nchunks)
        hi = run_end(c, hi, cap, shared);
    size_t run = (lo == floor && floor > 0) || (hi == cap && cap < c->nchunks) ? c->nchunks
                                                                                : hi - lo;
    if (!shared) {
        if (run > cur)
            atomic_store_explicit(&c->bound, run, RLX);
        return;
    }
    bound_raise(c, run);
}

/* The same, with the common case inline: a bound that is "unknown" (the
 * chunk count) and not flagged cannot be raised, and nothing is measured. */
static inline void raise_bound(ca_core *c, size_t s, size_t e, bool shared)
{
    uint64_t b = ld(&c->bound, shared);
    if (bound_of(b) < c->nchunks || (b & BOUND_FLAG))
        raise_bound_to_run(c, s, e, b, shared);
}

/* ---- search ---- */

typedef struct request {
    size_t n;     /* chunks the run must hold: the allocation's and its room */
    size_t take;  /* chunks the allocation takes */
    size_t amask; /* alignment in chunks, minus one */
    size_t rem;   /* a start chunk s is aligned iff (s & amask) == rem */
} request;

/* The ranges of start chunks a search visits, in order: from the cursor
 * (`from`, below the chunk count) to the end of the lane, the lane's
 * beginning up to the cursor, then the rest of the arena; each is cut in two
 * where it wraps past the last chunk. Together they hold every chunk
 * exactly once. */
typedef struct plan {
    size_t lo[6], hi[6];
    unsigned n;
} plan;

static void plan_search(const ca_core *c, const ca_core_ctx *x, size_t from, plan *out)
{
    size_t nch = c->nchunks;
    size_t lo = x->lane_lo < nch ? x->lane_lo : 0;
    size_t len = x->lane_len && x->lane_len < nch ? x->lane_len : nch;
    if (len == nch) {
        /* The whole arena (every context under a lock, a lone thread under
         * "hint"): from the cursor to the end, then from 0 to the cursor, as
         * the locked layers do. (The lane's start does not matter: cutting
         * the circle there would split a free run across it, and the same
         * lone thread would place differently in another lane.) */
        out->lo[0] = from, out->hi[0] = nch;
        out->lo[1] = 0, out->hi[1] = from;
        out->n = from ? 2 : 1;
        return;
    }
    size_t rf = from >= lo ? from - lo : from + nch - lo; /* the cursor, relative to the lane */
    if (rf >= len)
        rf = 0; /* a cursor outside the lane: start at the lane's beginning */
    const size_t piece[3][2] = {{rf, len}, {0, rf}, {len, nch}};
    out->n = 0;
    for (unsigned k = 0; k < 3; k++) {
        size_t a = piece[k][0], b = piece[k][1];
        if (a >= b)
            continue;
        size_t at = lo + a < nch ? lo + a : lo + a - nch, span = b - a;
        if (at + span <= nch) {
            out->lo[out->n] = at, out->hi[out->n++] = at + span;
        } else {
            out->lo[out->n] = at, out->hi[out->n++] = nch;
            out->lo[out->n] = 0, out->hi[out->n++] = at + span - nch;
        }
    }
}

/*
 * Find where n chunks go. Runs are visited in next-fit order, by where
 * they start: the ranges of plan_search (so, in the whole arena, those that
 * start at or after the cursor, then, wrapping, those that start before it).
 * A run that fits with room to spare (n chunks more than it must have) ends
 * the search at once; so does an exact fit; otherwise up to `window` runs
 * that fit tightly are compared and the tightest wins. A run is measured
 * only up to the length that makes it roomy, so a long run costs O(1).
 *
 * Returns the start chunk, or NONE with *longest set to an upper bound on
 * the longest free run: when nothing fits, the search has visited every
 * run that the fit index did not rule out, and measured each exactly (a
 * run that reaches its cap fits); those it ruled out are shorter than n.
 */
static size_t search(ca_core *c, const plan *pl, const request *q, bool shared, size_t *longest,
                     _Atomic size_t *examined)
{
    const size_t n = q->n, need = n + q->amask; /* any run this long fits */
    const size_t roomy = need + n;
    const size_t at_least = n < CA_MAP_FIT_ON ? n : CA_MAP_FIT_ON; /* for the index */
    size_t best = NONE, best_waste = NONE, longest_seen = 0;
    size_t runs = 0; /* free runs measured, for the context's runs_examined */
    unsigned fits = 0;
    /* The word the index sent the search to, while the search walks the
     * runs that start in it, and the longest of them: when the walk ends
     * with none that fits, the word's byte was stale, and comes down to
     * that (fit_lower). A walk cut short (a fit, the end of a range)
     * lowers nothing. */
    size_t home = NONE, home_run = 0;

    for (unsigned r = 0; r < pl->n; r++, home = NONE) {
        const size_t stop = pl->hi[r];
        /* The search carries the map word it is in and its value: a run
         * that ends in the word it started in costs no load, and one
         * shorter than n (most runs, in a fragmented arena) costs two bit
         * scans and a compare before the search moves on. */
        size_t w = pl->lo[r] >> WSHIFT;
        uint64_t v = ld(&c->map[w], shared);
        uint64_t f = ca_map_free(v) & ca_map_from((unsigned)(pl->lo[r] & 31));
        for (;;) {
            /* The next free chunk s: in this word, else in the next word
             * where the request may start (the fit index), or, for one
             * chunk, the next with a free chunk (the summaries). */
            while (!f) {
                if (w == home) /* every run of home walked */
                    fit_lower(c, home, home_run, shared);
                if (n >= 2) {
                    w = next_fit_word(c, w + 1, at_least, shared);
                    home = w, home_run = 0;
                } else {
                    w = next_open_word(c, w + 1, shared);
                }
                if (w >= c->nwords)
                    break;
                v = ld(&c->map[w], shared);
                f = ca_map_free(v); /* 0 only if an index lagged: look further */
            }
            size_t s = f ? (w << WSHIFT) + ca_map_lowest(f) : c->nchunks;
            if (s >= stop)
                break; /* on to the next range */
            runs++;
            /* Its end e: the next used chunk of this word, if it has one. */
            uint64_t u = ca_map_used(v) & ca_map_from((unsigned)(s & 31));
            size_t e, len;
            if (u) {
                e = (w << WSHIFT) + ca_map_lowest(u);
                len = e - s;
                if (len < n) { /* too short, fits nothing: the common case */
                    longest_seen = len > longest_seen ? len : longest_seen;
                    home_run = len > home_run ? len : home_run;
                    f &= ~ca_map_upto(ca_map_lowest(u));
                    continue;
                }
                if (len > roomy)
                    len = roomy, e = s + roomy;
            } else {
                /* The run reaches the end of the word: measure on, up to the
                 * length that makes it roomy. */
                size_t cap = c->nchunks - s > roomy ? s + roomy : c->nchunks;
                size_t next = (w + 1) << WSHIFT;
                e = next < cap ? run_end(c, next, cap, shared) : cap;
                len = e - s;
            }
            size_t off = (q->rem - s) & q->amask;
            if (off < len && len - off >= n) {
                size_t waste = len - n;
                if (waste < best_waste) {
                    best = s + off;
                    best_waste = waste;
                }
                if (waste == 0 || len >= roomy || ++fits >= c->window)
                    goto done;
                if (w == home)
                    home = NONE; /* its byte was right */
            } else {
                longest_seen = len > longest_seen ? len : longest_seen;
                /* A run through all of the next word is ON in the index,
                 * whatever its length (releases further on do not come
                 * back to raise this byte). */
                size_t run = e >= ((w + 2) << WSHIFT) ? CA_MAP_FIT_ON : len;
                home_run = run > home_run ? run : home_run;
            }
            /* Go on from e, a used chunk or the end of the region (a run
             * that reaches its cap fits, so it never stops here). */
            if ((e >> WSHIFT) != w && w == home) { /* every run of home walked */
                fit_lower(c, home, home_run, shared);
                home = NONE;
            }
            if (e >= c->nchunks) {
                f = 0;
                w = c->nwords;
            } else if ((e >> WSHIFT) != w) {
                w = e >> WSHIFT;
                v = ld(&c->map[w], shared);
                f = ca_map_free(v) & ca_map_from((unsigned)(e & 31));
            } else {
                f &= ca_map_from((unsigned)(e & 31));
            }
        }
    }
done:
    /* The runs the index let the search skip are shorter than n. */
    *longest = n >= 2 && longest_seen < n - 1 ? n - 1 : longest_seen;
    bump(examined, runs);
    return best;
}

/* ---- claim and release ---- */

/* The LAST bit of chunk i, within its map word. */
static inline uint64_t last_bit(size_t i)
{
    return ca_map_last_bit((unsigned)(i & 31));
}

/* Exclusive mode: flip summary bits of map word w: its "full" bit if
 * `full`, its "used" bit if `used`. Most changes flip neither: a claim
 * that does not fill its word, into a word already in use; a release that
 * neither empties a word nor frees its first chunk since it was full. */
static inline __attribute__((always_inline)) void sums_flip(ca_core *c, size_t w, bool full,
                                                            bool used)
{
    size_t i = w >> 6;
    if (full) {
        uint64_t bit = 1ull << (w & 63), f1 = atomic_load_explicit(&c->sum_full[i], RLX);
        atomic_store_explicit(&c->sum_full[i], f1 ^ bit, RLX);
        /* Level 2 flips when the other 63 words are full: 2048 chunks fill
         * up, or the first of them is freed. */
        if ((f1 | bit) == ~0ull)
            xor_bits(&c->sum_full2[i >> 6], 1ull << (i & 63));
    }
    if (used)
        xor_bits(&c->sum_used[i], 1ull << (w & 63));
}

/* Exclusive mode: map word w becomes `expr` (of its value `old`) in a
 * claim (chunks only become used: "full" flips if it fills, "used" if it
 * was empty) or a release (the other way round). */
#define EXCL_CLAIM(c, w, expr)                                                           \
    do {                                                                                 \
        uint64_t old = atomic_load_explicit(&(c)->map[w], RLX), now = (expr);            \
        atomic_store_explicit(&(c)->map[w], now, RLX);                                   \
        sums_flip(c, w, word_full(now), !word_used(old));                                \
    } while (0)
#define EXCL_RELEASE(c, w, expr)                                                         \
    do {                                                                                 \
        uint64_t old = atomic_load_explicit(&(c)->map[w], RLX), now = (expr);            \
        atomic_store_explicit(&(c)->map[w], now, RLX);                                   \
        sums_flip(c, w, word_full(old), !word_used(now));                                \
    } while (0)

/* Exclusive mode: claim chunks [s, s+n), which the caller saw free, as one
 * allocation (`join`: as in claim). The order of the words does not matter
 * here: nobody else looks. */
static inline __attribute__((always_inline)) void claim_excl(ca_core *c, size_t s, size_t n, size_t join)
{
    size_t e = s + n - 1, ws = s >> WSHIFT, we = e >> WSHIFT;
    const uint64_t head = ca_map_from((unsigned)(s & 31)), last = last_bit(e);
    const uint64_t upto = ca_map_upto((unsigned)(e & 31));
    const uint64_t drop = join != NONE ? last_bit(join) : 0;
    if (ws == we) {
        EXCL_CLAIM(c, ws, (old | (head & upto) | last) & ~drop);
        return;
    }
    EXCL_CLAIM(c, we, old | upto | last);
    for (size_t w = ws + 1; w < we; w++) { /* all 32 free before: "01" each now */
        atomic_store_explicit(&c->map[w], CA_MAP_USED_BITS, RLX);
        sums_flip(c, w, true, true);
    }
    EXCL_CLAIM(c, ws, (old | head) & ~drop);
}

/* Exclusive mode: release chunks [s, e], which the caller knows to be the
 * tail of one allocation ending at e (`seal`: as in release). */
static inline __attribute__((always_inline)) void release_excl(ca_core *c, size_t s, size_t e, size_t seal)
{
    size_t ws = s >> WSHIFT, we = e >> WSHIFT;
    const uint64_t head = ca_map_from((unsigned)(s & 31)) * 3u;
    const uint64_t upto = ca_map_upto((unsigned)(e & 31)) * 3u; /* both bits: LAST too */
    const uint64_t add = seal != NONE ? last_bit(seal) : 0;
    const unsigned a = (unsigned)(s & 31), b = (unsigned)(e & 31);
    if (ws == we) {
        EXCL_RELEASE(c, ws, (old & ~(head & upto)) | add);
        fit_released(c, ws, atomic_load_explicit(&c->map[ws], RLX), a, b, true, false);
    } else {
        EXCL_RELEASE(c, ws, (old & ~head) | add);
        for (size_t w = ws + 1; w < we; w++) { /* all 32 "01" or "11" before */
            atomic_store_explicit(&c->map[w], 0, RLX);
            sums_flip(c, w, true, true);
            if (fit_get(c, w, false) != CA_MAP_FIT_ON) /* a claim leaves it ON, mostly */
                fit_set(c, w, CA_MAP_FIT_ON); /* free, followed by free or we's bottom */
        }
        EXCL_RELEASE(c, we, old & ~upto);
        /* The index after the map, so that each edge reads its neighbour's
         * new value. we - 1 is ON (a middle word) or ws, whose own raise
         * counts we's bottom. */
        fit_released(c, we, atomic_load_explicit(&c->map[we], RLX), 0, b, false, false);
        fit_released(c, ws, atomic_load_explicit(&c->map[ws], RLX), a, 31, true, false);
    }
    raise_bound(c, s, e, false); /* after the summaries, which it reads */
}

/* Release chunks [s, e], the tail of an allocation ending at e, lowest word
 * first. Shared: each CAS expects the chunks exactly as the allocation left
 * them; on a mismatch (a racing double free) stop with NOTALLOC. `seal`,
 * unless NONE, is a chunk of s's word to mark LAST in the same CAS (a
 * shrink: the kept head ends where the tail starts, in one step). */
static inline __attribute__((always_inline)) ca_core_status release(ca_core *c, size_t s, size_t e,
                                                                  size_t seal, bool shared)
{
    if (!shared) { /* exclusive: the caller judged the chunks (locate), nothing can differ */
        release_excl(c, s, e, seal);
        return CA_CORE_OK;
    }
    _Atomic uint64_t *map = c->map; /* once: the compiler reloads c->map after every atomic store */
    size_t ws = s >> WSHIFT, we = e >> WSHIFT;
    /* The run's chunks in word w: `from` (s's chunk on in the first word,
     * all 32 in the others), cut at e's chunk in the last word, which also
     * holds e's LAST marker. The masks are made once a run; a word costs
     * two selects, not the shifts of four masks. */
    uint64_t from = ca_map_from((unsigned)(s & 31));
    const uint64_t tail = ca_map_upto((unsigned)(e & 31)), last = last_bit(e);
    uint64_t add = seal != NONE ? last_bit(seal) : 0; /* s's word only */
    for (size_t w = ws; w <= we; w++, from = CA_MAP_USED_BITS, add = 0) {
        bool in_last = w == we;
        uint64_t span = from & (in_last ? tail : CA_MAP_USED_BITS);
        uint64_t mark = span | (in_last ? last : 0); /* as the allocation left them */
        uint64_t both = span * 3u;
        uint64_t old = ld(&map[w], shared);
        do {
            if ((old & both) != mark) {
                if (w > ws)
                    raise_bound(c, s, (w << WSHIFT) - 1, shared);
                return CA_CORE_NOTALLOC;
            }
        } while (!put(&map[w], &old, (old & ~both) | add, shared)); /* release: seq_cst */
        sync_word(c, w);
        if (w != ws && !in_last) { /* a whole word freed: its run, and the one */
            fit_raise(c, w, CA_MAP_FIT_ON, shared); /* before it, run on through it */
            fit_raise(c, w - 1, CA_MAP_FIT_ON, shared);
        } else {
            fit_released(c, w, 0, w == ws ? (unsigned)(s & 31) : 0,
                         in_last ? (unsigned)(e & 31) : 31, true, shared); /* loads again */
        }
    }
    raise_bound(c, s, e, shared);
    return CA_CORE_OK;
}

/* Claim chunks [s, s+n) as one allocation, highest word first. Exclusive:
 * always succeeds (the search saw them free). Shared: if a chunk is taken,
 * roll back the words already claimed, put in *lost the first chunk past
 * the word where it lost, and return RETRY. `join`, unless NONE, is a
 * chunk of s's word whose LAST mark to clear in the same CAS as the
 * lowest word's claim (a growth: the old end and the new chunks become
 * one allocation in one step). */
static inline __attribute__((always_inline)) ca_core_status claim(ca_core *c, size_t s, size_t n,
                                                                size_t join, bool shared,
                            size_t *lost)
{
    if (!shared) { /* exclusive: the caller saw the chunks free, nothing can change them */
        claim_excl(c, s, n, join);
        return CA_CORE_OK;
    }
    _Atomic uint64_t *map = c->map; /* once: as in release */
    size_t e = s + n - 1;
    size_t ws = s >> WSHIFT, we = e >> WSHIFT;
    /* As in release, from the top: the run's chunks in word w are `upto`
     * (up to e's chunk, with its LAST marker, in the last word; all 32 in
     * the others) cut at s's chunk in the first word. */
    uint64_t upto = ca_map_upto((unsigned)(e & 31)), last = last_bit(e);
    const uint64_t head = ca_map_from((unsigned)(s & 31));
    const uint64_t join_bit = join != NONE ? last_bit(join) : 0; /* s's word only */
    for (size_t w = we + 1; w-- > ws; upto = CA_MAP_USED_BITS, last = 0) {
        bool in_first = w == ws;
        uint64_t want_free = upto & (in_first ? head : CA_MAP_USED_BITS);
        uint64_t mark = want_free | last;
        uint64_t drop = in_first ? join_bit : 0;
        uint64_t old = ld(&map[w], shared);
        do {
            if (old & want_free) {
                if (w < we)
                    (void)release(c, (w + 1) << WSHIFT, e, NONE, shared);
                *lost = (w + 1) << WSHIFT;
                return CA_CORE_RETRY;
            }
        } while (!put(&map[w], &old, (old | mark) & ~drop, shared)); /* acquire: seq_cst */
        sync_word(c, w);
    }
    return CA_CORE_OK;
}

/* Set or clear the LAST marker of chunk i (a used chunk, which stays used,
 * so no summary changes). */
static void set_last(ca_core *c, size_t i, bool on, bool shared)
{
    _Atomic uint64_t *p = &c->map[i >> WSHIFT];
    uint64_t m = last_bit(i);
    uint64_t old = ld(p, shared);
    while (!put(p, &old, on ? old | m : old & ~m, shared))
        ;
}

/* ---- over-aligned starts: the alignment each allocation was asked ----
 *
 * An allocation asked an alignment of chunk size << k (k >= 1) starts at a
 * chunk s whose address is a multiple of it. Its record is one bit in
 * plane k: bit (s >> k) of that plane. Within each group of 2^k chunks at
 * most one start has such an address, so the bit is the allocation's
 * alone. Plane k has ceil(n / 2^k) bits, and the planes for k = 1 up to
 * 63 - shift lie one after the other in c->aligned: fewer than n + 64 bits
 * in all (CA_CORE_ALIGNED_WORDS), fixed at init. To find the record of a
 * start, look at plane k for each k whose alignment the start's address
 * has, up to the largest alignment ever asked (max_align): at most
 * log2(max_align / chunk size) loads, and none at all (max_align is 0) in
 * an arena that never over-aligned. Exact: a move keeps the alignment the
 * block was asked, not more (which could refuse a move that fits) and not
 * less.
 *
 * A record is set and cleared while its chunk is ours (after the claim,
 * before the release), so no other thread touches its bit meanwhile; its
 * neighbours in the word may change, hence an RMW in shared mode.
 * max_align is raised first: a thread that later frees or moves this
 * allocation got the pointer through the program's own synchronisation,
 * which orders both. */

/* Bit offset of plane k (k >= 1) in c->aligned. */
static size_t plane_at(const ca_core *c, unsigned k)
{
    size_t off = 0, m = c->nchunks - 1;
    for (unsigned j = 1; j < k; j++)
        off += (m >> j) + 1;
    return off;
}

/* The k of the record of the allocation starting at s, or 0 (none); its
 * bit in *at. */
static unsigned record_of(const ca_core *c, size_t s, size_t *at)
{
    size_t most = atomic_load_explicit(&((ca_core *)c)->max_align, RLX);
    if (most == 0)
        return 0;
    uintptr_t addr = ((uintptr_t)c->base >> c->shift) + s; /* in chunks */
    size_t off = 0, m = c->nchunks - 1;
    for (unsigned k = 1; k < 64 - c->shift && ((size_t)1 << (k + c->shift)) <= most &&
                         (addr & (((uintptr_t)1 << k) - 1)) == 0;
         k++) {
        size_t b = off + (s >> k);
        if ((atomic_load_explicit(&c->aligned[b >> 6], RLX) >> (b & 63)) & 1u) {
            *at = b;
            return k;
        }
        off += (m >> k) + 1;
    }
    return 0;
}

/* Set (on) or clear bit b of the planes. */
static void flip_record(ca_core *c, size_t b, bool on, bool shared)
{
    _Atomic uint64_t *w = &c->aligned[b >> 6];
    uint64_t m = 1ull << (b & 63);
    if (shared && on)
        atomic_fetch_or_explicit(w, m, RLX);
    else if (shared)
        atomic_fetch_and_explicit(w, ~m, RLX);
    else
        xor_bits(w, ((atomic_load_explicit(w, RLX) & m) != 0) != on ? m : 0);
}

/* Record that the allocation starting at chunk s was asked alignment
 * `align` (a power of two above the chunk size, which s's address has), or
 * forget what was recorded (align 0). */
static void mark_aligned(ca_core *c, size_t s, size_t align, bool shared)
{
    size_t b;
    if (!align) {
        if (record_of(c, s, &b))
            flip_record(c, b, false, shared);
        return;
    }
    size_t most = atomic_load_explicit(&c->max_align, RLX);
    while (align > most &&
           !atomic_compare_exchange_weak_explicit(&c->max_align, &most, align, RLX, RLX))
        ;
    unsigned k = ca_bits_first((uint64_t)align) - c->shift;
    CA_ASSERT((align & (align - 1)) == 0 && k >= 1 && s < c->nchunks);
    CA_ASSERT(((((uintptr_t)c->base >> c->shift) + s) & (((uintptr_t)1 << k) - 1)) == 0);
    CA_ASSERT(!record_of(c, s, &b)); /* one record a block */
    flip_record(c, plane_at(c, k) + (s >> k), true, shared);
}

static inline bool is_aligned_start(ca_core *c, size_t s)
{
    size_t b;
    return record_of(c, s, &b) != 0;
}

/* ---- pointers ---- */

/* Whether p lies in the region. */
static inline bool owns(const ca_core *c, const void *p)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)c->base;
    return a >= b && ((a - b) >> c->shift) < c->nchunks;
}

/* Tell whether p is the first byte of a live allocation; if so, put its
 * first and last chunk in *s and *e. Reads only: a fault changes nothing. */
static ca_core_status locate(ca_core *c, const void *p, bool shared, size_t *s, size_t *e)
{
    if (!owns(c, p))
        return CA_CORE_FOREIGN;
    uintptr_t off = (uintptr_t)p - (uintptr_t)c->base;
    size_t i = off >> c->shift;
    size_t w = i >> WSHIFT;
    unsigned k = (unsigned)(i & 31);
    uint64_t v = ld(&c->map[w], shared);
    unsigned st = ca_map_state(v, k);
    if (st == CA_MAP_FREE || st == CA_MAP_BAD)
        return CA_CORE_NOTALLOC;
    if ((i << c->shift) != off) /* not at a chunk's first byte */
        return CA_CORE_INTERIOR;
    if (i > 0) {
        uint64_t pv = k ? v : ld(&c->map[w - 1], shared);
        if (ca_map_state(pv, (unsigned)((i - 1) & 31)) == CA_MAP_USED)
            return CA_CORE_INTERIOR;
    }
    /* The extent: up to the first LAST marker, every chunk on the way used. */
    uint64_t ends = ca_map_lasts(v) & ca_map_from(k);
    while (!ends) {
        if (ca_map_free(v) & ca_map_from(k))
            return CA_CORE_NOTALLOC; /* no LAST before a free chunk: not ours */
        if (++w >= c->nwords)
            return CA_CORE_NOTALLOC;
        k = 0;
        v = ld(&c->map[w], shared);
        ends = ca_map_lasts(v);
    }
    unsigned last = ca_map_lowest(ends);
    if (ca_map_free(v) & ca_map_span(k, last))
        return CA_CORE_NOTALLOC;
    if (ca_core_cached(c, i)) /* a block in a thread's cache is not allocated */
        return CA_CORE_NOTALLOC;
    *s = i;
    *e = (w << WSHIFT) + last;
    return CA_CORE_OK;
}

/* Chunks for a request of `size` bytes (at least one): ceil(size / chunk
 * size), as the chunk that holds byte size - 1, plus one; size 0 counts as
 * 1 byte. No overflow, no branch. */
static inline size_t chunks_for(const ca_core *c, size_t size)
{
    return ((size - (size != 0)) >> c->shift) + 1;
}

/* ---- the operations ---- */

/* Where the request goes, or NONE: O(1) when it exceeds the bound, else a
 * search; a search that fails lowers the bound (in shared mode through the
 * flag protocol at the top). */
static inline size_t place(ca_core *c, ca_core_ctx *x, const request *q, bool shared)
{
    uint64_t b = ld(&c->bound, shared);
    if (q->n > bound_of(b))
        return NONE;
    plan pl;
    plan_search(c, x, x->cursor < c->nchunks ? x->cursor : 0, &pl);
    size_t longest;
    size_t s = search(c, &pl, q, shared, &longest, &x->tally.runs_examined);
    if (s != NONE)
        return s;
    if (!shared) {
        atomic_store_explicit(&c->bound, longest, RLX);
        return NONE;
    }
    /* Announce the lowering (flag, next epoch), then measure again; b ends
     * as the flagged value we saw or set. */
    b = ld(&c->bound, shared);
    while (!(b & BOUND_FLAG)) {
        uint64_t flagged = BOUND_FLAG | (((b & BOUND_EPOCH) + BOUND_EPOCH_ONE) & BOUND_EPOCH) |
                           (b & BOUND_VALUE);
        if (atomic_compare_exchange_weak_explicit(&c->bound, &b, flagged, SEQ, SEQ))
            b = flagged;
    }
    if (q->n > bound_of(b))
        return NONE;
    s = search(c, &pl, q, shared, &longest, &x->tally.runs_examined);
    if (s == NONE) /* fails if a release saw the flag since */
        atomic_compare_exchange_strong_explicit(&c->bound, &b, (b & BOUND_EPOCH) | longest, SEQ,
                                                SEQ);
    return s;
}

/* Every helper inlined, none left out of line (for a copy of an operation
 * with `shared` a constant: nothing of the other mode remains in it). */
#define CA_CORE_FLAT __attribute__((flatten, noinline))

/* The search path of alloc (below): any request, from the cursor. */
static inline void *alloc_search(ca_core *c, ca_core_ctx *x, size_t size, size_t align,
                                 size_t room, bool shared, ca_core_status *status)
{
    if (align & (align - 1)) {
        *status = CA_CORE_BADALIGN;
        return NULL;
    }
    request q;
    q.take = chunks_for(c, size);
    q.n = room ? q.take + (room >> c->shift) + ((room & (ca_core_chunk_size(c) - 1)) != 0) : q.take;
    if (q.n < q.take) /* the room overflowed: it cannot fit */
        q.n = SIZE_MAX;
    q.amask = 0, q.rem = 0;
    if (align > ca_core_chunk_size(c)) { /* only then are some starts ruled out */
        q.amask = (align >> c->shift) - 1;
        q.rem = (size_t)(0 - ((uintptr_t)c->base >> c->shift)) & q.amask;
    }

    size_t s = place(c, x, &q, shared);
    if (s == NONE && q.n > q.take) { /* no room to spare: the allocation alone */
        q.n = q.take;
        s = place(c, x, &q, shared);
    }
    if (s == NONE) {
        bump(&x->tally.failures, 1);
        *status = CA_CORE_NOMEM;
        return NULL;
    }
    size_t lost;
    if (claim(c, s, q.take, NONE, shared, &lost) != CA_CORE_OK) {
        /* Search again past the word where the claim lost: the run may have
         * looked longer than it is through a summary that lags, and would
         * look so again from s. */
        x->cursor = lost;
        *status = CA_CORE_RETRY;
        return NULL;
    }
    if (q.amask)
        mark_aligned(c, s, align, shared);
    x->cursor = s + q.n; /* past the room, if any: next fit leaves it free */
    bump(&x->tally.chunks, q.take);
    bump(&x->tally.allocs, 1);
    bump(&x->tally.bytes_requested, size);
    *status = CA_CORE_OK;
    return c->base + (s << c->shift);
}

/* alloc_search, compiled once per mode and out of line, so that the fast
 * path stays small wherever it is inlined. */
static CA_CORE_FLAT void *alloc_search_excl(ca_core *c, ca_core_ctx *x, size_t size,
                                            size_t align, size_t room, ca_core_status *status)
{
    return alloc_search(c, x, size, align, room, false, status);
}

static CA_CORE_FLAT void *alloc_search_shared(ca_core *c, ca_core_ctx *x, size_t size,
                                              size_t align, size_t room, ca_core_status *status)
{
    return alloc_search(c, x, size, align, room, true, status);
}

/* Length of the free run from chunk s, measured up to `cap` chunks
 * (s + cap <= nchunks; cap if the run reaches that far). */
static inline size_t free_run_upto(ca_core *c, size_t s, size_t cap, bool shared)
{
    size_t w = s >> WSHIFT;
    uint64_t u = ca_map_used(ld(&c->map[w], shared)) & ca_map_from((unsigned)(s & 31));
    for (;;) {
        if (u) {
            size_t len = (w << WSHIFT) + ca_map_lowest(u) - s;
            return len < cap ? len : cap;
        }
        if ((++w << WSHIFT) - s >= cap)
            return cap;
        u = ca_map_used(ld(&c->map[w], shared));
    }
}

/* Whether chunk s is inside x's lane (always, for the whole arena). */
static inline bool in_lane(const ca_core *c, const ca_core_ctx *x, size_t s)
{
    if (x->lane_len == 0)
        return true;
    size_t rel = s >= x->lane_lo ? s - x->lane_lo : s + c->nchunks - x->lane_lo;
    return rel < x->lane_len;
}

/*
 * Allocate (see ca_core_alloc). The fast path: the search would begin
 * with the run that starts at the cursor, and take it at once when it fits
 * exactly, or with room to spare (twice the request), or when the window
 * is 1; so when the cursor's run is such a run, claim it without a search.
 * The placement is the search's own, chunk for chunk. Over-aligned
 * requests, requests with room and everything else take the search.
 */
static inline __attribute__((always_inline)) void *alloc(ca_core *c, ca_core_ctx *x, size_t size,
                                                         size_t align, size_t room, bool shared,
                                                         ca_core_status *status)
{
    size_t s = x->cursor, n = chunks_for(c, size);
    if (room == 0 && align <= ca_core_chunk_size(c) && (align & (align - 1)) == 0 &&
        s < c->nchunks && n <= c->nchunks - s && in_lane(c, x, s)) {
        size_t want = 2 * n, left = c->nchunks - s;
        size_t len = free_run_upto(c, s, want < left ? want : left, shared);
        size_t lost;
        if (len >= n && (len == n || len == want || c->window == 1) &&
            claim(c, s, n, NONE, shared, &lost) == CA_CORE_OK) {
            x->cursor = s + n;
            bump(&x->tally.chunks, n);
            bump(&x->tally.allocs, 1);
            bump(&x->tally.bytes_requested, size);
            *status = CA_CORE_OK;
            return c->base + (s << c->shift);
        }
    }
    return shared ? alloc_search_shared(c, x, size, align, room, status)
                  : alloc_search_excl(c, x, size, align, room, status);
}

static inline ca_core_status free_at(ca_core *c, ca_core_ctx *x, void *p, bool shared)
{
    size_t s, e;
    ca_core_status st = locate(c, p, shared, &s, &e);
    if (st == CA_CORE_OK && is_aligned_start(c, s))
        mark_aligned(c, s, 0, shared); /* before the release: the chunk is still ours */
    if (st == CA_CORE_OK)
        st = release(c, s, e, NONE, shared);
    if (st == CA_CORE_OK) {
        bump(&x->tally.chunks, -(e - s + 1));
        bump(&x->tally.allocs, (size_t)-1);
    }
    return st;
}

static inline ca_core_status resize(ca_core *c, ca_core_ctx *x, void *p, size_t size,
                                    bool shared)
{
    size_t s, e;
    ca_core_status st = locate(c, p, shared, &s, &e);
    if (st != CA_CORE_OK)
        return st;
    size_t have = e - s + 1;
    size_t want = chunks_for(c, size);
    if (want > have) {
        size_t more = want - have;
        if (more > c->nchunks - (e + 1) || run_end(c, e + 1, e + 1 + more, shared) < e + 1 + more)
            return CA_CORE_NOMEM;
        /* Claim the new chunks; the old end's LAST goes in the same CAS when
         * it shares the lowest word with them, else right after. */
        bool same_word = (e >> WSHIFT) == ((e + 1) >> WSHIFT);
        size_t lost;
        if (claim(c, e + 1, more, same_word ? e : NONE, shared, &lost) != CA_CORE_OK)
            return CA_CORE_NOMEM; /* a neighbour took the chunks first */
        if (!same_word)
            set_last(c, e, false, shared);
        bump(&x->tally.chunks, more);
        bump(&x->tally.grows_in_place, 1);
    } else if (want < have) {
        /* Mark the new end and give the tail back, in one CAS when they
         * share a word. */
        size_t last = s + want - 1;
        bool same_word = (last >> WSHIFT) == ((last + 1) >> WSHIFT);
        if (!same_word)
            set_last(c, last, true, shared);
        (void)release(c, last + 1, e, same_word ? last : NONE, shared); /* ours: cannot mismatch */
        bump(&x->tally.chunks, -(have - want));
        bump(&x->tally.shrinks_in_place, 1);
    }
    return CA_CORE_OK;
}

static inline ca_core_status align_of(ca_core *c, const void *p, size_t *align, bool shared)
{
    size_t s, e, b;
    ca_core_status st = locate(c, p, shared, &s, &e);
    if (st != CA_CORE_OK)
        return st;
    *align = ca_core_chunk_size(c) << record_of(c, s, &b);
    return CA_CORE_OK;
}

/* The alignment asked now replaces the one recorded: an alignment up to the
 * chunk size leaves no record. */
static inline ca_core_status note_align(ca_core *c, const void *p, size_t align, bool shared)
{
    size_t s, e;
    ca_core_status st = locate(c, p, shared, &s, &e);
    if (st != CA_CORE_OK)
        return st;
    mark_aligned(c, s, 0, shared);
    if (align > ca_core_chunk_size(c))
        mark_aligned(c, s, align, shared);
    return CA_CORE_OK;
}

static inline ca_core_status usable(ca_core *c, const void *p, size_t *bytes, bool shared)
{
    size_t s, e;
    ca_core_status st = locate(c, p, shared, &s, &e);
    if (st == CA_CORE_OK)
        *bytes = (e - s + 1) << c->shift;
    return st;
}

#endif /* CA_CORE_OPS_H */
