/* SPDX-License-Identifier: MIT */
/*
 * core/inspect.c — the live blocks, the free runs by length and the
 * contents of groups of chunks, read from the map a word at a time.
 *
 * Everything here is derived from the two bits a chunk (core/chunkmap.h)
 * with spaced masks: in a word v, the chunks that continue their allocation
 * ("01") are used & ~ends, so a used chunk starts an allocation when the
 * chunk before it does not continue one, and a free chunk starts a free
 * run when the chunk before it is not free. The chunk before chunk 0 of a
 * word lives in the previous word: each pass carries that one bit along.
 * Chunks past the end of the region (padding, marked "11") are cut off by
 * position, never counted. Thread safety: core/inspect.h (reads only).
 */
#include "inspect.h"

#define SEQ memory_order_seq_cst
#define RLX memory_order_relaxed
#define WSHIFT CA_MAP_WORD_SHIFT
/* Words without a block start that ca_core_blocks reads before it returns
 * what it has: a caller that holds a lock meanwhile holds it for a bounded
 * time even over a long free stretch. */
#define SCAN_WORDS 256u

_Static_assert(CA_MAP_CHUNKS_PER_WORD == 32u, "the carry is chunk 31 of a word: bits 62, 63");

static inline uint64_t load(const ca_core *c, size_t w, bool shared)
{
    _Atomic uint64_t *p = &((ca_core *)c)->map[w]; /* a load only: atomics want non-const */
    return shared ? atomic_load_explicit(p, SEQ) : atomic_load_explicit(p, RLX);
}

/* Spaced mask of the chunks of v that continue their allocation ("01"). */
static inline uint64_t continuing(uint64_t v)
{
    return ca_map_used(v) & ~ca_map_lasts(v);
}

/* Spaced mask of the real chunks of word w (not the padding past the end). */
static inline uint64_t real_chunks(const ca_core *c, size_t w)
{
    return w + 1 < c->nwords ? CA_MAP_USED_BITS
                             : ca_map_upto((unsigned)((c->nchunks - 1) & 31));
}

/*
 * Whether the allocation that starts at chunk s belongs to the program: the
 * one question the walk asks of a block before it reports it. Blocks parked
 * in a per-thread cache are "used" in the map but are not the program's:
 * the cached plane marks them (one bit at their first chunk), and the walk
 * leaves them out.
 */
static inline bool block_live(const ca_core *c, size_t s, bool shared)
{
    (void)shared; /* one relaxed load either way: see ca_core_cached */
    return !ca_core_cached(c, s);
}

size_t ca_core_blocks(const ca_core *c, size_t from, ca_core_block *out, size_t max,
                      size_t *next, bool shared)
{
    size_t n = 0, p = from, scanned = 0;
    if (p >= c->nchunks) {
        *next = c->nchunks;
        return 0;
    }
    /* carry: chunk p - 1 continues an allocation (so p cannot start one),
     * when p is the first chunk of its word; within a word the mask says it. */
    size_t cw = p >> WSHIFT;
    uint64_t v = load(c, cw, shared);
    uint64_t carry = 0;
    if ((p & 31) == 0 && p > 0)
        carry = ca_map_state(load(c, cw - 1, shared), 31) == CA_MAP_USED;
    while (p < c->nchunks) {
        size_t w = p >> WSHIFT;
        if (w != cw) {
            cw = w;
            v = load(c, w, shared);
        }
        uint64_t used = ca_map_used(v);
        uint64_t starts = used & ~((continuing(v) << 2) | carry) & ca_map_from((unsigned)(p & 31)) &
                          real_chunks(c, w);
        if (!starts) { /* on to the next word; its chunk 0 follows our chunk 31 */
            carry = continuing(v) >> 62;
            p = (w + 1) << WSHIFT;
            if (++scanned == SCAN_WORDS && p < c->nchunks) {
                *next = p;
                return n;
            }
            continue;
        }
        unsigned k = ca_map_lowest(starts);
        size_t s = (w << WSHIFT) + k;
        if (n == max) {
            *next = s;
            return n;
        }
        /* Its end: the first LAST marker from k on, every chunk before it used. */
        size_t ew = w;
        uint64_t ev = v, lim = ca_map_from(k);
        uint64_t ends = ca_map_lasts(ev) & ca_map_used(ev) & lim;
        uint64_t holes = ca_map_free(ev) & lim;
        while (!ends && !holes && ew + 1 < c->nwords) {
            ev = load(c, ++ew, shared);
            ends = ca_map_lasts(ev) & ca_map_used(ev);
            holes = ca_map_free(ev);
        }
        if (!ends || (holes & ca_map_upto(ca_map_lowest(ends)))) {
            /* No LAST before a free chunk: only while a claim or a release
             * is writing this run (shared mode). Not a block (yet, or any
             * more): go on after its first chunk, which continues it. */
            p = s + 1;
            carry = 1;
            continue;
        }
        size_t e = (ew << WSHIFT) + ca_map_lowest(ends);
        if (block_live(c, s, shared)) {
            out[n].first = s;
            out[n].chunks = e - s + 1;
            n++;
        }
        p = e + 1;
        cw = ew;
        v = ev;
        carry = 0; /* chunk e is LAST */
    }
    *next = c->nchunks;
    return n;
}

/* The free runs found so far (ca_core_survey). */
typedef struct tally_runs {
    size_t runs, longest;
    size_t *hist; /* or NULL */
} tally_runs;

static inline void close_run(tally_runs *t, size_t *run)
{
    if (!*run)
        return;
    t->runs++;
    t->longest = *run > t->longest ? *run : t->longest;
    if (t->hist)
        t->hist[ca_core_run_class(*run)]++;
    *run = 0;
}

/*
 * Spaced mask of the chunks of word w (map value v) that lie in cached
 * blocks: from each cached start (the cached plane, core/core.h) to its
 * block's LAST marker, or to the end of the word, when *carry is set for
 * the next word: the block goes on there. *carry on entry: a cached block
 * came in from the word before. The plane is read relaxed, as
 * ca_core_cached does: exact in a quiet map, a snapshot in a shared one
 * (like the map words, whose mixture of moments inspect.h describes). In
 * a snapshot a block may have changed between the loads of its words, so
 * the walk also stops at a free chunk, which no cached block holds: a
 * stale start or carry then runs into no other block; and only real
 * chunks count, never the padding after the last one (which is never
 * free, so a stale walk could otherwise run into it).
 */
static inline uint64_t cached_chunks(const ca_core *c, size_t w, uint64_t v, bool *carry)
{
    _Atomic uint64_t *plane = &((ca_core *)c)->cached[w >> 1]; /* a load only */
    uint64_t starts = (atomic_load_explicit(plane, RLX) >> (32 * (w & 1))) & 0xFFFFFFFFu;
    /* Where a cached block ends at the latest: its LAST, or a free chunk. */
    uint64_t ends = (ca_map_lasts(v) & ca_map_used(v)) | ca_map_free(v), inside = 0;
    if (*carry) {
        *carry = ends == 0;
        inside = *carry ? CA_MAP_USED_BITS : ca_map_upto(ca_map_lowest(ends));
    }
    for (; starts; starts &= starts - 1) {
        unsigned k = ca_bits_first(starts);
        uint64_t to = ends & ca_map_from(k);
        if (to) {
            inside |= ca_map_span(k, ca_map_lowest(to));
        } else {
            inside |= ca_map_from(k);
            *carry = true;
        }
    }
    return inside & ca_map_used(v) & real_chunks(c, w);
}

void ca_core_survey(const ca_core *c, ca_core_usage *u, size_t *hist, bool cached, bool shared)
{
    size_t used = 0, ends = 0, run = 0; /* run: the free run still open */
    bool carry = false;                 /* a cached block goes on into the next word */
    tally_runs t = {0, 0, hist};
    if (hist)
        for (unsigned k = 0; k < CA_CORE_RUN_CLASSES; k++)
            hist[k] = 0;
    for (size_t w = 0; w < c->nwords; w++) {
        uint64_t v = load(c, w, shared), real = real_chunks(c, w);
        uint64_t inuse = ca_map_used(v), fr = ca_map_free(v); /* padding is never free */
        if (cached) { /* a cached block's chunks are free to the figures */
            uint64_t in = cached_chunks(c, w, v, &carry);
            inuse &= ~in;
            fr |= in;
        }
        used += ca_bits_count(inuse & real);
        ends += ca_bits_count(ca_map_lasts(v) & inuse & real);
        /* The word's free runs: each from a free chunk s to the next used
         * chunk e; one that reaches the end of the word stays open. */
        for (unsigned k = 0;;) {
            uint64_t f = fr & ca_map_from(k);
            if (!f) { /* chunks k..31 are used */
                close_run(&t, &run);
                break;
            }
            unsigned s = ca_map_lowest(f);
            if (s > k)
                close_run(&t, &run);
            uint64_t after = inuse & ca_map_from(s);
            unsigned e = after ? ca_map_lowest(after) : 32;
            run += e - s;
            if (e == 32)
                break;
            close_run(&t, &run);
            k = e;
        }
    }
    close_run(&t, &run);
    u->chunks_used = used;
    u->allocations = ends;
    u->free_runs = t.runs;
    u->largest_free_run = t.longest;
}

void ca_core_cells(const ca_core *c, size_t group, ca_core_cell *cells, size_t ncells,
                   bool cached, bool shared)
{
    for (size_t g = 0; g < ncells; g++)
        cells[g] = (ca_core_cell){0, 0, 0};
    size_t end = group * ncells < c->nchunks ? group * ncells : c->nchunks;
    size_t cw = (size_t)-1;
    uint64_t used = 0, starts = 0, runs = 0, fr = 0;
    uint64_t cont_carry = 0, free_carry = 0; /* chunk 31 of the word before: "01"; free */
    bool cached_carry = false; /* a cached block goes on into the next word */
    /* A piece ends at a word end or a group end, whichever comes first,
     * and is counted with one popcount a mask. Words come in order, so the
     * carries are those of the word before. */
    for (size_t i = 0; i < end;) {
        size_t w = i >> WSHIFT, g = i / group;
        if (w != cw) {
            uint64_t v = load(c, w, shared), cont = continuing(v);
            used = ca_map_used(v);
            fr = ca_map_free(v);
            if (cached) { /* as in ca_core_survey: a cached block's chunks are free */
                uint64_t in = cached_chunks(c, w, v, &cached_carry);
                used &= ~in;
                fr |= in;
            }
            starts = used & ~((cont << 2) | cont_carry);
            runs = fr & ~((fr << 2) | free_carry);
            cont_carry = cont >> 62;
            free_carry = fr >> 62;
            cw = w;
        }
        size_t stop = (w + 1) << WSHIFT;
        if (stop > (g + 1) * group)
            stop = (g + 1) * group;
        if (stop > end)
            stop = end;
        uint64_t span = ca_map_span((unsigned)(i & 31), (unsigned)((stop - 1) & 31));
        cells[g].used += ca_bits_count(used & span);
        cells[g].starts += ca_bits_count(starts & span);
        cells[g].free_runs += ca_bits_count(runs & span);
        /* A free run that enters the group from the one before counts here too. */
        uint64_t first = 1ull << (2 * (i & 31));
        if (i == g * group && (fr & first) && !(runs & first))
            cells[g].free_runs++;
        i = stop;
    }
}
