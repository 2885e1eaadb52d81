/* SPDX-License-Identifier: MIT */
/*
 * core/check.c — the invariant check of a core.
 *
 * Recomputes everything the core derives and compares: the map's encoding
 * and allocation structure, the padding past the end, both summary levels,
 * the bound on the longest free run, and optionally the chunk and
 * allocation counters. Tests call it after every operation. Exclusive: the
 * caller guarantees that no operation runs meanwhile (it reads with relaxed
 * loads).
 */
#include "core.h"

#define RLX memory_order_relaxed

static uint64_t word(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, RLX);
}

static bool bit(_Atomic uint64_t *bits, size_t i)
{
    return (word(&bits[i >> 6]) >> (i & 63)) & 1u;
}

/* Bits `from` and up (none when from is 64): the padding of a summary word. */
static uint64_t pad_bits(size_t from)
{
    return from < 64 ? ca_bits_from((unsigned)from) : 0;
}

/* The map: encoding, allocation structure, padding, level-1 summaries.
 * Counts the used chunks and allocations of the region. */
static const char *check_map(const ca_core *c, size_t *used, size_t *ends)
{
    size_t n_used = 0, n_ends = 0;
    unsigned tail = (unsigned)((c->nchunks - 1) & 31); /* last real chunk of the last word */
    uint64_t pad = ~ca_map_upto(tail) & CA_MAP_USED_BITS;
    for (size_t w = 0; w < c->nwords; w++) {
        uint64_t v = word(&c->map[w]);
        uint64_t inuse = ca_map_used(v), last = ca_map_lasts(v);
        if (last & ~inuse)
            return "a chunk is marked LAST but not USED (state 10)";
        /* A used chunk that is not LAST must be followed by a used chunk. */
        uint64_t next_used = inuse >> 2;
        if (w + 1 < c->nwords)
            next_used |= (word(&c->map[w + 1]) & 1u) << 62;
        if ((inuse & ~last) & ~next_used)
            return "an allocation runs into a free chunk or the end without a LAST chunk";
        if (bit(c->sum_full, w) != (ca_map_free(v) == 0))
            return "level-1 'full' summary disagrees with its map word";
        if (bit(c->sum_used, w) != (inuse != 0))
            return "level-1 'used' summary disagrees with its map word";
        n_used += ca_bits_count(inuse);
        n_ends += ca_bits_count(last);
    }
    uint64_t v = word(&c->map[c->nwords - 1]);
    if ((v & pad * 3u) != pad * 3u)
        return "a padding chunk past the end of the region is not marked used and last";
    if (ca_map_state(v, tail) == CA_MAP_USED)
        return "the allocation at the end of the region runs into the padding";
    size_t padded = ca_bits_count(pad);
    *used = n_used - padded;
    *ends = n_ends - padded;
    return NULL;
}

/* Level 2, and the padding bits of both levels. */
static const char *check_summaries(const ca_core *c)
{
    uint64_t pad1 = pad_bits(c->nwords - ((c->nsum1 - 1) << 6));
    if ((word(&c->sum_full[c->nsum1 - 1]) & pad1) != pad1 ||
        (word(&c->sum_used[c->nsum1 - 1]) & pad1) != pad1)
        return "a level-1 summary bit past the last map word is not set";
    for (size_t i = 0; i < c->nsum1; i++)
        if (bit(c->sum_full2, i) != (word(&c->sum_full[i]) == ~0ull))
            return "level-2 summary disagrees with its level-1 word";
    uint64_t pad2 = pad_bits(c->nsum1 - ((c->nsum2 - 1) << 6));
    if ((word(&c->sum_full2[c->nsum2 - 1]) & pad2) != pad2)
        return "a level-2 summary bit past the last level-1 word is not set";
    return NULL;
}

/* The fit index (core/ops.h): each byte at least the run its word starts
 * (more is allowed: stale, until a search passes by), none above
 * CA_MAP_FIT_ON; the bytes past the last map word are 0. */
static const char *check_fit(const ca_core *c)
{
    for (size_t w = 0; w < c->nwords; w++) {
        unsigned have = (unsigned)(word(&c->fit[w >> 3]) >> ((w & 7) * 8)) & 0xFFu;
        bool has_next = w + 1 < c->nwords;
        unsigned want = ca_map_fit(word(&c->map[w]), has_next ? word(&c->map[w + 1]) : 0, has_next);
        if (have < want)
            return "the fit index is below a run its map word starts";
        if (have > CA_MAP_FIT_ON)
            return "a fit byte is above CA_MAP_FIT_ON";
    }
    if ((c->nwords & 7) && (word(&c->fit[c->nfit - 1]) >> ((c->nwords & 7) * 8)) != 0)
        return "a fit byte past the last map word is set";
    return NULL;
}

/* Alignment records (core.c, "over-aligned starts"): each set bit of plane
 * k stands for the one start s in its group of 2^k chunks whose address is
 * aligned to chunk size << k; s must be inside the region, the first chunk
 * of a live allocation, and have no other record; k's alignment at most
 * max_align; no bit is set past the last plane. */
static const char *check_aligned(const ca_core *c)
{
    size_t most = atomic_load_explicit(&((ca_core *)c)->max_align, RLX);
    size_t n = c->nchunks, off = 0, m = n - 1;
    uintptr_t base = (uintptr_t)c->base >> c->shift;
    for (unsigned k = 1; k < 64 - c->shift; k++) {
        size_t len = (m >> k) + 1;
        for (size_t j = 0; j < len; j++) {
            size_t b = off + j;
            if (!((word(&c->aligned[b >> 6]) >> (b & 63)) & 1u))
                continue;
            if (((size_t)1 << (k + c->shift)) > most)
                return "an alignment record above the largest alignment ever asked";
            size_t s = (j << k) + ((size_t)(0 - base) & (((size_t)1 << k) - 1));
            if (s >= n)
                return "an alignment record past the end of the region";
            unsigned st = ca_map_state(word(&c->map[s >> 5]), (unsigned)(s & 31));
            unsigned before = s ? ca_map_state(word(&c->map[(s - 1) >> 5]), (unsigned)((s - 1) & 31))
                                : CA_MAP_FREE;
            if (st == CA_MAP_FREE || before == CA_MAP_USED)
                return "an alignment record is not on the first chunk of a live allocation";
            size_t got = 0;
            if (ca_core_align_of(c, c->base + (s << c->shift), &got, false) != CA_CORE_OK ||
                got != ((size_t)1 << (k + c->shift)))
                return "two alignment records for one allocation";
        }
        off += len;
    }
    for (size_t b = off; b < CA_CORE_ALIGNED_WORDS(n) * 64u; b++)
        if ((word(&c->aligned[b >> 6]) >> (b & 63)) & 1u)
            return "an alignment record past the last plane";
    return NULL;
}

const char *ca_core_check(const ca_core *c, const ca_core_tally *sum)
{
    size_t used, ends;
    const char *why = check_map(c, &used, &ends);
    if (!why)
        why = check_summaries(c);
    if (!why)
        why = check_fit(c);
    if (why)
        return why;
    ca_core_usage u;
    ca_core_scan(c, &u, false);
    if (u.chunks_used != used || u.allocations != ends)
        return "a scan of the free runs disagrees with the map";
    if (ca_core_bound(c) < u.largest_free_run)
        return "the bound on the longest free run is below the longest free run";
    why = check_aligned(c);
    if (why)
        return why;
    if (sum && (atomic_load_explicit(&sum->chunks, RLX) != used ||
                atomic_load_explicit(&sum->allocs, RLX) != ends))
        return "the chunk or allocation counters disagree with the map";
    return NULL;
}
