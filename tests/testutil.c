/* SPDX-License-Identifier: MIT */
/*
 * tests/testutil.c — test cores with guard areas, the helpers around them,
 * and the reference model. See tests/testutil.h. Single threaded.
 */
#include "tests/testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 256u      /* guard bytes on each side of a block */
#define GUARD_BYTE 0xA5 /* what they hold */

/* A block of `len` bytes aligned to exactly `align` (not 2 * align), with
 * GUARD bytes of GUARD_BYTE on both sides. Returns the usable start and
 * puts the malloc'd block in *block. */
static unsigned char *guarded(size_t len, size_t align, unsigned char **block)
{
    size_t total = GUARD + 2 * align + len + GUARD;
    unsigned char *b = malloc(total);
    ck_assert_msg(b != NULL, "out of memory for a test block of %zu bytes", total);
    memset(b, GUARD_BYTE, total);
    uintptr_t p = ((uintptr_t)b + GUARD + align - 1) & ~(uintptr_t)(align - 1);
    if ((p & (2 * align - 1)) == 0) /* aligned to 2 * align: move up one step */
        p += align;
    *block = b;
    return (unsigned char *)p;
}

static void check_guards(const unsigned char *block, const unsigned char *start, size_t len,
                         size_t align, const char *what)
{
    size_t total = GUARD + 2 * align + len + GUARD;
    size_t lo = (size_t)(start - block), hi = lo + len;
    for (size_t i = 0; i < lo; i++)
        ck_assert_msg(block[i] == GUARD_BYTE, "%s: guard byte %zu before the block written", what,
                      lo - i);
    for (size_t i = hi; i < total; i++)
        ck_assert_msg(block[i] == GUARD_BYTE, "%s: guard byte %zu after the block written", what,
                      i - hi);
}

void ca_test_core_init(ca_test_core *t, size_t nchunks, unsigned shift, size_t align,
                       unsigned window)
{
    memset(t, 0, sizeof *t);
    t->chunk_size = (size_t)1 << shift;
    t->nchunks = nchunks;
    if (align < t->chunk_size)
        align = t->chunk_size;
    t->region_align = align;
    t->meta_len = ca_core_meta_size(nchunks);
    ck_assert_msg(t->meta_len > 0, "no metadata size for %zu chunks", nchunks);
    t->region = guarded(nchunks * t->chunk_size, align, &t->region_block);
    t->meta = guarded(t->meta_len, 64, &t->meta_block);
    ca_core_status st = ca_core_init(&t->core, t->region, nchunks, shift, t->meta, window);
    ck_assert_msg(st == CA_CORE_OK, "ca_core_init(%zu chunks, shift %u) failed: %d", nchunks,
                  shift, (int)st);
}

void ca_test_core_empty(ca_test_core *t)
{
    ca_core_reset(&t->core);
    memset(&t->ctx, 0, sizeof t->ctx);
    ca_test_core_check(t);
}

void ca_test_core_fini(ca_test_core *t)
{
    check_guards(t->region_block, t->region, t->nchunks * t->chunk_size, t->region_align,
                 "region");
    check_guards(t->meta_block, t->meta, t->meta_len, 64, "metadata");
    free(t->region_block);
    free(t->meta_block);
    memset(t, 0, sizeof *t);
}

void ca_test_core_check(const ca_test_core *t)
{
    const char *why = ca_core_check(&t->core, &t->ctx.tally);
    ck_assert_msg(why == NULL, "invariant broken: %s", why ? why : "");
}

size_t ca_test_chunk_of(const ca_test_core *t, const void *p)
{
    return (size_t)((const unsigned char *)p - t->region) / t->chunk_size;
}

/* The two bits of chunk i (CA_MAP_FREE, _USED, _END or _BAD) in t's map. */
static unsigned chunk_state(const ca_test_core *t, size_t i)
{
    uint64_t v = atomic_load_explicit(&t->core.map[i >> CA_MAP_WORD_SHIFT], memory_order_relaxed);
    return ca_map_state(v, (unsigned)(i & (CA_MAP_CHUNKS_PER_WORD - 1)));
}

void *ca_test_alloc(ca_test_core *t, size_t size, size_t align)
{
    ca_core_status st = CA_CORE_OK;
    void *p = ca_core_alloc(&t->core, &t->ctx, size, align, 0, false, &st);
    ck_assert_msg(p != NULL && st == CA_CORE_OK,
                  "alloc of %zu bytes aligned to %zu in %zu chunks of %zu: status %d", size,
                  align, t->nchunks, t->chunk_size, (int)st);
    ca_test_core_check(t);
    return p;
}

void ca_test_alloc_nomem(ca_test_core *t, size_t size, size_t align)
{
    ca_core_status st = CA_CORE_OK;
    void *p = ca_core_alloc(&t->core, &t->ctx, size, align, 0, false, &st);
    ck_assert_msg(p == NULL && st == CA_CORE_NOMEM,
                  "alloc of %zu bytes aligned to %zu in %zu chunks of %zu: status %d, chunk "
                  "%zu, expected NOMEM",
                  size, align, t->nchunks, t->chunk_size, (int)st,
                  p ? ca_test_chunk_of(t, p) : (size_t)0);
    ca_test_core_check(t);
}

void ca_test_free(ca_test_core *t, void *p)
{
    ca_core_status st = ca_core_free(&t->core, &t->ctx, p, false);
    ck_assert_msg(st == CA_CORE_OK, "free of chunk %zu: status %d", ca_test_chunk_of(t, p),
                  (int)st);
    ca_test_core_check(t);
}

void ca_test_core_carve(ca_test_core *t, const size_t *lens, size_t count, void **out)
{
    size_t at = 0;
    t->ctx.cursor = 0;
    for (size_t i = 0; i < count; i++) {
        out[i] = ca_test_alloc(t, lens[i] * t->chunk_size, 0);
        ck_assert_msg(out[i] == t->region + at * t->chunk_size,
                      "carving run %zu (%zu chunks): landed at chunk %zu, not %zu", i, lens[i],
                      ca_test_chunk_of(t, out[i]), at);
        at += lens[i];
    }
}

void ca_test_counts_of(const ca_core_tally *tally, ca_test_counts *out)
{
    out->chunks = atomic_load_explicit(&tally->chunks, memory_order_relaxed);
    out->allocs = atomic_load_explicit(&tally->allocs, memory_order_relaxed);
    out->bytes_requested = atomic_load_explicit(&tally->bytes_requested, memory_order_relaxed);
    out->failures = atomic_load_explicit(&tally->failures, memory_order_relaxed);
    out->grows_in_place = atomic_load_explicit(&tally->grows_in_place, memory_order_relaxed);
    out->shrinks_in_place = atomic_load_explicit(&tally->shrinks_in_place, memory_order_relaxed);
}

const char *ca_test_counts_diff(const ca_test_counts *want, const ca_test_counts *got)
{
    if (want->chunks != got->chunks)
        return "chunks";
    if (want->allocs != got->allocs)
        return "allocs";
    if (want->bytes_requested != got->bytes_requested)
        return "bytes_requested";
    if (want->failures != got->failures)
        return "failures";
    if (want->grows_in_place != got->grows_in_place)
        return "grows_in_place";
    if (want->shrinks_in_place != got->shrinks_in_place)
        return "shrinks_in_place";
    return NULL;
}

static uint64_t bound_of(const ca_test_core *t)
{
    return ca_core_bound(&t->core);
}

void ca_test_snapshot_take(ca_test_snapshot *s, const ca_test_core *t)
{
    if (s->meta_len != t->meta_len) {
        free(s->meta);
        s->meta = malloc(t->meta_len);
        ck_assert_msg(s->meta != NULL, "out of memory for a snapshot of %zu bytes", t->meta_len);
        s->meta_len = t->meta_len;
    }
    memcpy(s->meta, t->meta, t->meta_len);
    s->bound = bound_of(t);
    s->cursor = t->ctx.cursor;
    ca_test_counts_of(&t->ctx.tally, &s->counts);
    ca_core_scan(&t->core, &s->usage, false);
}

const char *ca_test_snapshot_diff(const ca_test_snapshot *s, const ca_test_core *t)
{
    /* Every byte but the fit index's: a search lowers its stale bytes as
     * it passes (core/ops.h), so two cores in the same state may hold
     * different, equally valid, indexes; ca_core_check judges it. */
    size_t at = (size_t)((const unsigned char *)t->core.fit - (const unsigned char *)t->meta);
    size_t end = at + t->core.nfit * sizeof(uint64_t);
    if (s->meta_len != t->meta_len || memcmp(s->meta, t->meta, at) != 0 ||
        memcmp((const unsigned char *)s->meta + end, (const unsigned char *)t->meta + end,
               t->meta_len - end) != 0)
        return "the metadata bytes differ";
    if (s->bound != bound_of(t))
        return "the bound on the longest free run differs";
    if (s->cursor != t->ctx.cursor)
        return "the context's cursor differs";
    ca_test_counts now;
    ca_test_counts_of(&t->ctx.tally, &now);
    if (ca_test_counts_diff(&s->counts, &now))
        return "a counter of the context differs";
    ca_core_usage u;
    ca_core_scan(&t->core, &u, false);
    if (u.chunks_used != s->usage.chunks_used || u.allocations != s->usage.allocations ||
        u.free_runs != s->usage.free_runs || u.largest_free_run != s->usage.largest_free_run)
        return "what a scan finds differs";
    return NULL;
}

void ca_test_snapshot_fini(ca_test_snapshot *s)
{
    free(s->meta);
    memset(s, 0, sizeof *s);
}

void ca_test_model_init(ca_test_model *m, size_t nchunks)
{
    m->nchunks = nchunks;
    m->owner = calloc(nchunks, sizeof *m->owner);
    ck_assert_msg(m->owner != NULL, "out of memory for a model of %zu chunks", nchunks);
    m->next_id = 1;
}

void ca_test_model_fini(ca_test_model *m)
{
    free(m->owner);
    m->owner = NULL;
}

bool ca_test_model_free(const ca_test_model *m, size_t s, size_t n)
{
    if (s > m->nchunks || n > m->nchunks - s)
        return false;
    for (size_t i = s; i < s + n; i++)
        if (m->owner[i])
            return false;
    return true;
}

bool ca_test_model_fits(const ca_test_model *m, size_t n, size_t base_chunk, size_t align_chunks)
{
    size_t run = 0;
    for (size_t i = 0; i < m->nchunks; i++) {
        run = m->owner[i] ? 0 : run + 1;
        if (run >= n) {
            size_t s = i + 1 - n;
            if ((s + base_chunk) % align_chunks == 0)
                return true;
        }
    }
    return false;
}

uint32_t ca_test_model_take(ca_test_model *m, size_t s, size_t n)
{
    uint32_t id = m->next_id++;
    ca_test_model_set(m, s, n, id);
    return id;
}

void ca_test_model_set(ca_test_model *m, size_t s, size_t n, uint32_t id)
{
    for (size_t i = s; i < s + n; i++)
        m->owner[i] = id;
}

size_t ca_test_model_longest(const ca_test_model *m)
{
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < m->nchunks; i++) {
        run = m->owner[i] ? 0 : run + 1;
        if (run > longest)
            longest = run;
    }
    return longest;
}

const char *ca_test_model_diff(const ca_test_model *m, const ca_test_core *t, size_t *where)
{
    if (m->nchunks != t->nchunks) {
        *where = 0;
        return "the model and the core differ in size";
    }
    for (size_t i = 0; i < m->nchunks; i++) {
        uint32_t id = m->owner[i];
        unsigned want = !id ? CA_MAP_FREE
                        : i + 1 == m->nchunks || m->owner[i + 1] != id ? CA_MAP_LAST
                                                                       : CA_MAP_USED;
        unsigned got = chunk_state(t, i);
        if (got != want) {
            *where = i;
            return want == CA_MAP_FREE  ? "a chunk free in the model is not free in the map"
                   : want == CA_MAP_LAST ? "the last chunk of an allocation is not 11 in the map"
                                        : "an inner chunk of an allocation is not 01 in the map";
        }
    }
    return NULL;
}
