/* SPDX-License-Identifier: MIT */
/*
 * tests/test_core_random.c — suite "core_random": a randomised differential
 * test of the core against the reference model of tests/testutil.h (an
 * array of owners, obviously correct). Fixed seeds, so a failure is
 * reproducible; its message names the seed, the operation index and what
 * differed. Over chunk sizes 16, 256 and 4096, regions of 1 to ~70000
 * chunks and best-fit windows 1 and 4, it runs random allocations (sizes
 * from 0 to beyond the region, alignments from none to far above the chunk
 * size, a few invalid ones), frees, frees of bad pointers (double, interior,
 * foreign, into free chunks) that must change nothing, resizes up and down,
 * usable-size queries, and now and then fills a region to the brim and
 * empties it. The model decides every outcome: whether an allocation may
 * fail (no aligned run fits), where it must land (the next-fit/best-fit rule
 * of core/core.c), which fault a pointer gets, whether a growth fits in
 * place. The invariant check runs after every operation and the map is
 * compared with the model chunk by chunk regularly; at least a million
 * operations in all.
 */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/core.h"
#include "tests/splitmix64.h"
#include "tests/testutil.h"

#define NONE SIZE_MAX
#define MIN_TOTAL_OPS 1000000u
#define FILLS 3 /* fills to the brim per configuration */

typedef struct config {
    unsigned shift;
    size_t nchunks;
    unsigned window;
    size_t steps; /* random steps; a step is one operation, a fill many */
    uint64_t seed;
} config;

#define STEPS 28000u     /* for each small configuration */
#define BIG_STEPS 12000u /* for each large region */

/* Every combination of these, each with STEPS steps... */
static const unsigned shifts[] = {4, 8, 12};
static const size_t regions[] = {1, 7, 64, 100, 1000, 4099};
static const unsigned windows[] = {1, 4};
#define NSHIFTS (sizeof shifts / sizeof shifts[0])
#define NREGIONS (sizeof regions / sizeof regions[0])
#define NWINDOWS (sizeof windows / sizeof windows[0])
#define NSMALL (NSHIFTS * NREGIONS * NWINDOWS)
/* ...then two large regions, over some 35 level-1 summary words each. */
static const config big[] = {
    {4, 70001, 4, BIG_STEPS, 0},
    {8, 69999, 1, BIG_STEPS, 0},
};
#define NCONFIGS (NSMALL + sizeof big / sizeof big[0])

/* Configuration i; its seed is simply i + 1. */
static config config_of(size_t i)
{
    config c;
    if (i < NSMALL) {
        c.shift = shifts[i / (NREGIONS * NWINDOWS)];
        c.nchunks = regions[i / NWINDOWS % NREGIONS];
        c.window = windows[i % NWINDOWS];
        c.steps = STEPS;
    } else {
        c = big[i - NSMALL];
    }
    c.seed = i + 1;
    return c;
}

/* Operations counted across the tests, which Check may run in child
 * processes: the counter lives in a shared anonymous mapping. */
static size_t *total_ops;

typedef struct block {
    size_t s, n; /* first chunk, chunks */
    uint32_t id; /* in the model */
} block;

typedef struct run {
    const config *cfg;
    ca_test_core t;
    ca_test_model m;
    ca_splitmix64 rng;
    block *blocks;
    size_t nblocks;
    ca_test_counts want; /* what the context's counters must say */
    ca_test_snapshot snap;
    size_t cs;
    size_t base_chunk;    /* region address / chunk size, for alignment */
    size_t ops;           /* operations so far */
    size_t diff_every;    /* compare the whole map with the model this often */
    const char *what;     /* the operation under way */
    unsigned char *freed; /* the last block freed, for double frees */
} run;

/* A failed expectation names the seed, the operation and what it was
 * doing. A passing one costs nothing: ck_assert_msg would write a mark
 * point down Check's pipe each time, a system call per check, which a
 * million operations cannot afford. */
#define EXPECT(r, cond, fmt, ...)                                                                \
    do {                                                                                         \
        if (!(cond))                                                                             \
            ck_abort_msg("seed %llu (shift %u, %zu chunks, window %u), op %zu, %s: " fmt,        \
                         (unsigned long long)(r)->cfg->seed, (r)->cfg->shift,                    \
                         (r)->cfg->nchunks, (r)->cfg->window, (r)->ops, (r)->what, __VA_ARGS__); \
    } while (0)

static uint64_t below(run *r, uint64_t n)
{
    return ca_splitmix64_below(&r->rng, n);
}

static unsigned char *chunk_ptr(const run *r, size_t i)
{
    return r->t.region + i * r->cs;
}

/* ---- after every operation ---- */

static void compare_map(run *r)
{
    size_t where = 0;
    const char *why = ca_test_model_diff(&r->m, &r->t, &where);
    EXPECT(r, why == NULL, "%s at chunk %zu", why ? why : "", where);
}

/* ca_test_core_check, with the seed and operation in the message; the
 * counters against the expected ones; now and then the whole map. */
static void verify(run *r)
{
    const char *why = ca_core_check(&r->t.core, &r->t.ctx.tally);
    EXPECT(r, why == NULL, "invariant broken: %s", why ? why : "");
    ca_test_counts got;
    ca_test_counts_of(&r->t.ctx.tally, &got);
    const char *field = ca_test_counts_diff(&r->want, &got);
    EXPECT(r, field == NULL, "counter '%s' differs from the model's", field ? field : "");
    if (r->ops % r->diff_every == 0)
        compare_map(r);
    r->ops++;
}

/* ---- what the model says ---- */

static size_t chunks_for(const run *r, size_t size)
{
    size_t n = size / r->cs + (size % r->cs != 0);
    return n ? n : 1;
}

/*
 * Where the core must put n chunks aligned to `achunks` chunks, searching
 * from `from`, by the rule of search() in core/core.c: runs in next-fit
 * order (from `from`, the run holding it cut there; then, wrapping, the runs
 * that start before it, whole). A run fits if an aligned start leaves n
 * chunks in it. An exact fit, or a "roomy" run (at least n chunks more than
 * n plus the worst alignment loss), ends the search; otherwise up to
 * `window` fitting runs are compared and the one with the fewest spare
 * chunks wins, the first of equals. NONE if nothing fits.
 */
static size_t model_place(const ca_test_model *m, size_t from, size_t n, size_t base_chunk,
                          size_t achunks, unsigned window)
{
    if (n > m->nchunks)
        return NONE;
    size_t roomy = 2 * n + (achunks - 1), best = NONE, best_waste = NONE;
    unsigned fits = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && from == 0)
            break;
        size_t i = pass ? 0 : from, stop = pass ? from : m->nchunks;
        while (i < stop) {
            if (m->owner[i]) {
                i++;
                continue;
            }
            size_t e = i;
            while (e < m->nchunks && !m->owner[e])
                e++;
            size_t len = e - i, off = (achunks - (i + base_chunk) % achunks) % achunks;
            if (off < len && len - off >= n) {
                if (len - n < best_waste) {
                    best = i + off;
                    best_waste = len - n;
                }
                if (len == n || len >= roomy || ++fits >= window)
                    return best;
            }
            i = e;
        }
    }
    return best;
}

/* The status every pointer operation must give p: a fault, or OK for the
 * first byte of a live block. */
static ca_core_status model_fault(const run *r, const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)r->t.region;
    if (a < lo || (a - lo) / r->cs >= r->m.nchunks)
        return CA_CORE_FOREIGN;
    size_t i = (a - lo) / r->cs;
    uint32_t id = r->m.owner[i];
    if (!id)
        return CA_CORE_NOTALLOC;
    if ((a - lo) % r->cs || (i > 0 && r->m.owner[i - 1] == id))
        return CA_CORE_INTERIOR;
    return CA_CORE_OK;
}

/* ---- random requests ---- */

static size_t random_size(run *r, bool within_region)
{
    size_t region = r->m.nchunks * r->cs;
    uint64_t k = below(r, 100);
    if (k < 10)
        return 0;
    if (k < 50)
        return (size_t)below(r, 3 * r->cs + 1);
    if (k < 75)
        return (size_t)below(r, 64 * r->cs) + 1;
    if (k < 90 || within_region)
        return (size_t)below(r, region) + 1;
    if (k < 99)
        return region + 1 + (size_t)below(r, 3 * r->cs);
    return SIZE_MAX - (size_t)below(r, r->cs);
}

static size_t random_align(run *r)
{
    uint64_t k = below(r, 100);
    if (k < 50)
        return 0;
    if (k < 80)
        return (size_t)1 << below(r, r->cfg->shift + 1); /* 1 .. chunk size */
    if (k < 96)
        return r->cs << (1 + below(r, 6)); /* 2 .. 64 chunks */
    return (size_t)1 << (40 + below(r, 24)); /* far above any region */
}

/* ---- operations ---- */

static void add_block(run *r, size_t s, size_t n)
{
    block *b = &r->blocks[r->nblocks++];
    b->s = s;
    b->n = n;
    b->id = ca_test_model_take(&r->m, s, n);
}

/* Allocate; returns whether it succeeded. */
static bool op_alloc(run *r, size_t size, size_t align)
{
    r->what = "alloc";
    size_t n = chunks_for(r, size), achunks = align > r->cs ? align / r->cs : 1;
    size_t from = r->t.ctx.cursor < r->m.nchunks ? r->t.ctx.cursor : 0;
    size_t place = model_place(&r->m, from, n, r->base_chunk, achunks, r->cfg->window);
    ca_core_status st = CA_CORE_OK;
    unsigned char *p = ca_core_alloc(&r->t.core, &r->t.ctx, size, align, 0, false, &st);
    if (!p) {
        EXPECT(r, st == CA_CORE_NOMEM, "size %zu align %zu: status %d", size, align, (int)st);
        EXPECT(r, !ca_test_model_fits(&r->m, n, r->base_chunk, achunks),
               "size %zu align %zu: NOMEM, but the model has a fitting run", size, align);
        EXPECT(r, place == NONE, "size %zu: NOMEM where the rule places it at chunk %zu", size,
               place);
        r->want.failures++;
        compare_map(r); /* nothing changed */
        verify(r);
        return false;
    }
    size_t s = ca_test_chunk_of(&r->t, p);
    EXPECT(r, st == CA_CORE_OK && p == chunk_ptr(r, s), "size %zu: status %d, pointer %p", size,
           (int)st, (void *)p);
    EXPECT(r, align == 0 || (uintptr_t)p % align == 0, "size %zu align %zu: %p is not aligned",
           size, align, (void *)p);
    EXPECT(r, ca_test_model_free(&r->m, s, n), "size %zu: chunks %zu..+%zu are not free", size,
           s, n);
    EXPECT(r, s == place, "size %zu align %zu from hint %zu: chunk %zu, the rule says %zu", size,
           align, from, s, place);
    EXPECT(r, r->t.ctx.cursor == s + n, "hint %zu after chunks %zu..+%zu", r->t.ctx.cursor, s, n);
    add_block(r, s, n);
    r->want.chunks += n;
    r->want.allocs++;
    r->want.bytes_requested += size;
    verify(r);
    return true;
}

static void op_bad_align(run *r)
{
    r->what = "alloc with a bad alignment";
    size_t align = r->cs * 3 + (size_t)below(r, 2) * 2; /* never a power of two */
    ca_test_snapshot_take(&r->snap, &r->t);
    ca_core_status st = CA_CORE_OK;
    void *p =
        ca_core_alloc(&r->t.core, &r->t.ctx, (size_t)below(r, 4 * r->cs), align, 0, false, &st);
    EXPECT(r, p == NULL && st == CA_CORE_BADALIGN, "align %zu: status %d", align, (int)st);
    const char *why = ca_test_snapshot_diff(&r->snap, &r->t);
    EXPECT(r, why == NULL, "align %zu changed the core: %s", align, why ? why : "");
    verify(r);
}

static void free_block(run *r, size_t k)
{
    r->what = "free";
    block b = r->blocks[k];
    unsigned char *p = chunk_ptr(r, b.s);
    ca_core_status st = ca_core_free(&r->t.core, &r->t.ctx, p, false);
    EXPECT(r, st == CA_CORE_OK, "block at chunk %zu (%zu chunks): status %d", b.s, b.n, (int)st);
    ca_test_model_set(&r->m, b.s, b.n, 0);
    r->blocks[k] = r->blocks[--r->nblocks];
    r->want.chunks -= b.n;
    r->want.allocs--;
    r->freed = p;
    verify(r);
}

/* A pointer that is not the start of a live block. */
static unsigned char *bad_pointer(run *r)
{
    uintptr_t lo = (uintptr_t)r->t.region, hi = lo + r->m.nchunks * r->cs;
    switch (below(r, 6)) {
    case 0:
        if (r->freed)
            return r->freed; /* a double free, unless the chunk went to a new block */
        break;
    case 1:
        return (unsigned char *)(lo - 1 - below(r, 4 * r->cs));
    case 2:
        return (unsigned char *)(hi + below(r, 4 * r->cs));
    case 3:
        return NULL;
    default:
        break;
    }
    size_t i = (size_t)below(r, r->m.nchunks);
    unsigned char *p = chunk_ptr(r, i) + below(r, 2) * below(r, r->cs);
    return model_fault(r, p) == CA_CORE_OK ? p + 1 : p; /* a block's start: go one byte in */
}

static void op_bad_pointer(run *r)
{
    unsigned char *p = bad_pointer(r);
    ca_core_status want = model_fault(r, p);
    if (want == CA_CORE_OK) /* the freed chunk starts a new block now */
        return;
    ca_test_snapshot_take(&r->snap, &r->t);
    ca_core_status st;
    size_t bytes = 0;
    switch (below(r, 3)) {
    case 0:
        r->what = "free of a bad pointer";
        st = ca_core_free(&r->t.core, &r->t.ctx, p, false);
        break;
    case 1:
        r->what = "resize of a bad pointer";
        st = ca_core_resize(&r->t.core, &r->t.ctx, p, random_size(r, true), false);
        break;
    default:
        r->what = "usable size of a bad pointer";
        st = ca_core_usable(&r->t.core, p, &bytes, false);
        break;
    }
    size_t off = (size_t)((uintptr_t)p - (uintptr_t)r->t.region);
    EXPECT(r, st == want, "pointer at region offset %zu (%#zx): status %d, expected %d", off, off,
           (int)st, (int)want);
    const char *why = ca_test_snapshot_diff(&r->snap, &r->t);
    EXPECT(r, why == NULL, "pointer at region offset %zu changed the core: %s", off,
           why ? why : "");
    verify(r);
}

static void op_resize(run *r)
{
    r->what = "resize";
    size_t k = (size_t)below(r, r->nblocks);
    block *b = &r->blocks[k];
    size_t want_n;
    uint64_t kind = below(r, 100);
    if (kind < 45)
        want_n = 1 + (size_t)below(r, b->n); /* shrink, or the same */
    else if (kind < 97)
        want_n = b->n + 1 + (size_t)below(r, 2 * b->n + 4);
    else
        want_n = SIZE_MAX / r->cs; /* far past the end */
    /* A size of want_n chunks: anything in ((want_n - 1) * cs, want_n * cs]. */
    size_t size = want_n * r->cs - (size_t)below(r, r->cs);
    if (want_n == 1 && below(r, 4) == 0)
        size = 0;
    unsigned char *p = chunk_ptr(r, b->s);
    bool fits = want_n <= b->n ||
                (want_n - b->n <= r->m.nchunks - b->s - b->n &&
                 ca_test_model_free(&r->m, b->s + b->n, want_n - b->n));
    ca_core_status st = ca_core_resize(&r->t.core, &r->t.ctx, p, size, false);
    if (!fits) {
        EXPECT(r, st == CA_CORE_NOMEM, "growing %zu chunks at %zu to %zu (blocked): status %d",
               b->n, b->s, want_n, (int)st);
        compare_map(r);
        verify(r);
        return;
    }
    EXPECT(r, st == CA_CORE_OK, "resizing %zu chunks at %zu to %zu: status %d", b->n, b->s,
           want_n, (int)st);
    if (want_n > b->n) {
        ca_test_model_set(&r->m, b->s + b->n, want_n - b->n, b->id);
        r->want.chunks += want_n - b->n;
        r->want.grows_in_place++;
    } else if (want_n < b->n) {
        ca_test_model_set(&r->m, b->s + want_n, b->n - want_n, 0);
        r->want.chunks -= b->n - want_n;
        r->want.shrinks_in_place++;
    }
    b->n = want_n;
    verify(r);
    r->what = "usable size after a resize";
    size_t bytes = 0;
    st = ca_core_usable(&r->t.core, p, &bytes, false);
    EXPECT(r, st == CA_CORE_OK && bytes == want_n * r->cs, "status %d, %zu bytes, not %zu chunks",
           (int)st, bytes, want_n);
    verify(r);
}

static void op_usable(run *r)
{
    r->what = "usable size";
    block *b = &r->blocks[below(r, r->nblocks)];
    size_t bytes = 0;
    ca_core_status st = ca_core_usable(&r->t.core, chunk_ptr(r, b->s), &bytes, false);
    EXPECT(r, st == CA_CORE_OK && bytes == b->n * r->cs,
           "block at chunk %zu of %zu chunks: status %d, %zu bytes", b->s, b->n, (int)st, bytes);
    verify(r);
}

static void expect_scan(run *r, size_t used, size_t runs, size_t largest)
{
    ca_core_usage u;
    ca_core_scan(&r->t.core, &u, false);
    EXPECT(r, u.chunks_used == used && u.allocations == r->nblocks && u.free_runs == runs &&
                  u.largest_free_run == largest,
           "scan: %zu used, %zu blocks, %zu runs, largest %zu; expected %zu, %zu, %zu, %zu",
           u.chunks_used, u.allocations, u.free_runs, u.largest_free_run, used, r->nblocks, runs,
           largest);
}

/* Allocate random sizes until one fails, then, while the model has a free
 * run, exactly the longest free run (it must succeed), until not even one
 * chunk fits; then free everything, in random order, and see it empty. */
static void fill_and_empty(run *r)
{
    while (op_alloc(r, random_size(r, true), below(r, 4) ? 0 : random_align(r)))
        ;
    for (size_t longest; (longest = ca_test_model_longest(&r->m)) > 0;) {
        bool ok = op_alloc(r, longest * r->cs - (size_t)below(r, r->cs), 0);
        EXPECT(r, ok, "filling: no room for the longest free run, %zu chunks", longest);
    }
    EXPECT(r, !op_alloc(r, 0, 0), "one chunk fitted into a full region (%zu blocks)",
           r->nblocks);
    r->what = "after filling to the brim";
    compare_map(r);
    expect_scan(r, r->m.nchunks, 0, 0);
    while (r->nblocks)
        free_block(r, (size_t)below(r, r->nblocks));
    r->what = "after emptying";
    compare_map(r);
    expect_scan(r, 0, 1, r->m.nchunks);
}

static void step(run *r)
{
    uint64_t k = below(r, 100);
    if (r->nblocks == 0 || k < 36) {
        op_alloc(r, random_size(r, false), random_align(r));
    } else if (k < 38) {
        op_bad_align(r);
    } else if (k < 63) {
        free_block(r, (size_t)below(r, r->nblocks));
    } else if (k < 75) {
        op_bad_pointer(r);
    } else if (k < 92) {
        op_resize(r);
    } else {
        op_usable(r);
    }
}

static void run_init(run *r, const config *cfg)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    ca_test_core_init(&r->t, cfg->nchunks, cfg->shift, 0, cfg->window);
    ca_test_model_init(&r->m, cfg->nchunks);
    r->rng = ca_splitmix64_seed(cfg->seed);
    r->blocks = malloc(cfg->nchunks * sizeof *r->blocks);
    ck_assert_msg(r->blocks != NULL, "out of memory for %zu blocks", cfg->nchunks);
    r->cs = r->t.chunk_size;
    r->base_chunk = (size_t)((uintptr_t)r->t.region / r->cs);
    r->diff_every = cfg->nchunks / 1024 + 1; /* about 1000 chunk compares an op */
    r->what = "start";
}

static void run_fini(run *r)
{
    while (r->nblocks)
        free_block(r, r->nblocks - 1);
    r->what = "at the end";
    compare_map(r);
    expect_scan(r, 0, 1, r->m.nchunks);
    ca_test_snapshot_fini(&r->snap);
    free(r->blocks);
    ca_test_model_fini(&r->m);
    ca_test_core_fini(&r->t);
}

START_TEST(random_config)
{
    const config c = config_of((size_t)_i), *cfg = &c;
    run r;
    run_init(&r, cfg);
    size_t fill_every = cfg->steps / (FILLS + 1);
    for (size_t i = 1; i <= cfg->steps; i++) {
        if (i % fill_every == 0 && i / fill_every <= FILLS)
            fill_and_empty(&r);
        else
            step(&r);
    }
    run_fini(&r);
    ck_assert_msg(r.ops >= cfg->steps, "seed %llu: %zu operations for %zu steps",
                  (unsigned long long)cfg->seed, r.ops, cfg->steps);
    *total_ops += r.ops;
}
END_TEST

START_TEST(random_total)
{
    ck_assert_msg(*total_ops >= MIN_TOTAL_OPS, "%zu operations in all, fewer than %u", *total_ops,
                  MIN_TOTAL_OPS);
}
END_TEST

static Suite *random_suite(void)
{
    Suite *s = suite_create("core_random");
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_config, 0, (int)NCONFIGS);
    tcase_add_test(tc, random_total); /* after the loop: Check runs tests in order */
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    total_ops = mmap(NULL, sizeof *total_ops, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (total_ops == MAP_FAILED)
        return EXIT_FAILURE;
    *total_ops = 0;
    SRunner *sr = srunner_create(random_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    munmap(total_ops, sizeof *total_ops);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
