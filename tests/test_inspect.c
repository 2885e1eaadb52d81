/* SPDX-License-Identifier: MIT */
/*
 * tests/test_inspect.c — suite "inspect": seeing inside arenas.
 *
 * The walk (ca_arena_walk) under every layer: every live block once, in
 * address order, with its usable size, and nothing else (no free chunk, no
 * padding past the end, no interior chunk); a visitor that stops it; a
 * visitor that frees and allocates in the same arena (no lock is held
 * while it runs); walks over many batches and long free stretches; walks
 * while other threads allocate and free (the blocks live throughout are
 * all seen, once, in order). The free-run histogram of ca_stats against a
 * count made from the walk's gaps. The dump: every character of its map
 * is explained by its legend, and fragmentation shows (an arena half used
 * in 2-chunk stripes does not look like one half used in 8-chunk blocks).
 * The core's side (core/inspect.h) on its own: a batch that starts inside
 * a block, one block a call, a long free stretch cut short and resumed,
 * the groups of a known layout, and the survey against ca_core_scan. The
 * JSON and the picture are checked by tests/test_views (a real JSON and
 * XML parser).
 */
#define _GNU_SOURCE /* open_memstream */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/chunkarena.h"
#include "core/inspect.h"
#include "tests/splitmix64.h"
#include "tests/testutil.h"

#define TIMEOUT 60

static const ca_lock layers[] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                 CA_LOCK_HINT};
#define NLAYERS (sizeof layers / sizeof layers[0])

/* ------------------------------------------------------------- arenas */

typedef struct tarena {
    ca_arena *a;
    unsigned char *mem, *meta;
    size_t nchunks, chunk_size;
} tarena;

static ca_arena *make(tarena *t, const char *name, size_t nchunks, size_t chunk_size, ca_lock lock)
{
    ca_config c = {.chunk_size = chunk_size, .lock = lock};
    size_t meta_len = ca_arena_meta_size(nchunks, &c);
    ck_assert_msg(meta_len > 0, "ca_arena_meta_size: %s", strerror(errno));
    t->meta = aligned_alloc(64, (meta_len + 63) & ~(size_t)63);
    t->mem = aligned_alloc(chunk_size, nchunks * chunk_size);
    ck_assert(t->meta && t->mem);
    c.meta = t->meta;
    c.meta_len = meta_len;
    t->nchunks = nchunks;
    t->chunk_size = chunk_size;
    t->a = ca_arena_create(name, t->mem, nchunks * chunk_size, &c);
    ck_assert_msg(t->a != NULL, "ca_arena_create(%s, %s): %s", name, ca_lock_name(lock),
                  strerror(errno));
    return t->a;
}

static void drop(tarena *t)
{
    ca_arena_reset(t->a);
    ck_assert_msg(ca_arena_destroy(t->a) == 0, "destroy: %s", strerror(errno));
    free(t->mem);
    free(t->meta);
}

/* ---------------------------------------------------- what a walk sees */

typedef struct seen {
    void *p;
    size_t usable;
} seen;

typedef struct record {
    seen *items;
    size_t n, cap;
    size_t stop_after; /* 0: never stop */
    int stop_value;
} record;

static int note(void *ctx, void *block, size_t usable)
{
    record *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->items = realloc(r->items, r->cap * sizeof *r->items);
        ck_assert(r->items != NULL);
    }
    r->items[r->n++] = (seen){block, usable};
    return r->stop_after && r->n == r->stop_after ? r->stop_value : 0;
}

static int by_address(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)((const seen *)x)->p, b = (uintptr_t)((const seen *)y)->p;
    return a < b ? -1 : a > b;
}

/* The walk of a quiet arena is exactly `live` (any order), each with the
 * size ca_usable_size gives, in address order. */
static void expect_walk(ca_arena *a, seen *live, size_t n, const char *what)
{
    qsort(live, n, sizeof *live, by_address);
    record r = {0};
    int rc = ca_arena_walk(a, note, &r);
    ck_assert_msg(rc == 0, "%s: walk returned %d", what, rc);
    ck_assert_msg(r.n == n, "%s: the walk saw %zu blocks, %zu are live", what, r.n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(r.items[i].p == live[i].p, "%s: block %zu is %p, expected %p", what, i,
                      r.items[i].p, live[i].p);
        ck_assert_msg(r.items[i].usable == ca_usable_size(a, live[i].p),
                      "%s: block %p has %zu usable bytes, ca_usable_size says %zu", what,
                      live[i].p, r.items[i].usable, ca_usable_size(a, live[i].p));
    }
    free(r.items);
}

/* Allocate random blocks (sizes up to `most` chunks, some over-aligned)
 * until `count` or the arena is full; free about half. Returns the live
 * ones in live[] (room for count) and their number. */
static size_t scatter(ca_arena *a, const tarena *t, ca_splitmix64 *seed, size_t count, size_t most,
                      seen *live)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t chunks = 1 + ca_splitmix64_next(seed) % most;
        size_t size = chunks * t->chunk_size - ca_splitmix64_next(seed) % t->chunk_size;
        void *p = ca_splitmix64_next(seed) % 8 == 0
                      ? ca_aligned_alloc(a, t->chunk_size * 4, size)
                      : ca_alloc(a, size);
        if (!p)
            break;
        live[n++] = (seen){p, 0};
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (ca_splitmix64_next(seed) % 2)
            ca_free(a, live[i].p);
        else
            live[kept++] = live[i];
    return kept;
}

/* Empty, full, a random layout, one-chunk blocks back to back: under
 * every layer, in an arena whose chunk count is not a multiple of 32 (the
 * padding chunks past the end must not be reported). */
START_TEST(walk_sees_every_live_block_once)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = make(&t, "walk", 1000, 64, lock);
    static seen live[1000];
    expect_walk(a, live, 0, "empty");

    void *all = ca_alloc(a, 1000 * 64);
    ck_assert(all != NULL);
    live[0] = (seen){all, 0};
    expect_walk(a, live, 1, "one block over the whole arena");
    ca_free(a, all);

    ca_splitmix64 seed = ca_splitmix64_seed(0x1234 + (uint64_t)_i);
    size_t n = scatter(a, &t, &seed, 600, 12, live);
    ck_assert_msg(n > 20, "only %zu blocks live", n);
    expect_walk(a, live, n, "random layout");

    ca_arena_reset(a);
    void *p;
    for (n = 0; (p = ca_alloc(a, 1)) != NULL; n++)
        live[n] = (seen){p, 0};
    ck_assert_msg(n == 1000, "1000 one-chunk blocks, got %zu", n);
    expect_walk(a, live, n, "one-chunk blocks, full");
    ck_assert_msg(ca_arena_check(a) == NULL, "%s", ca_arena_check(a));
    drop(&t);
}
END_TEST

/* The visitor's value stops the walk and is returned; bad arguments. */
START_TEST(walk_stops_when_told)
{
    tarena t;
    ca_arena *a = make(&t, "walk-stop", 256, 64, layers[_i]);
    for (int i = 0; i < 100; i++)
        ck_assert(ca_alloc(a, 64) != NULL);
    record r = {.stop_after = 3, .stop_value = 7};
    ck_assert_int_eq(ca_arena_walk(a, note, &r), 7);
    ck_assert_uint_eq(r.n, 3);
    r.n = 0, r.stop_after = 70, r.stop_value = -5; /* in the second batch */
    ck_assert_int_eq(ca_arena_walk(a, note, &r), -5);
    ck_assert_uint_eq(r.n, 70);
    free(r.items);

    errno = 0;
    ck_assert_int_eq(ca_arena_walk(NULL, note, &r), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(ca_arena_walk(a, NULL, &r), -1);
    ck_assert_int_eq(errno, EINVAL);
    drop(&t);
}
END_TEST

/* A visitor that frees the block it is given, and allocates: no lock is
 * held while it runs (a lock layer would deadlock), every block that was
 * live is seen once, and the walk ends although it allocates as it goes. */
typedef struct churn {
    ca_arena *a;
    size_t visits, allocated;
} churn;

static int free_and_allocate(void *ctx, void *block, size_t usable)
{
    churn *c = ctx;
    (void)usable;
    c->visits++;
    ca_free(c->a, block);
    if (c->visits % 4 == 0 && ca_alloc(c->a, 10) != NULL) /* lands anywhere */
        c->allocated++;
    return 0;
}

START_TEST(walk_visitor_may_use_the_arena)
{
    tarena t;
    ca_arena *a = make(&t, "walk-churn", 512, 64, layers[_i]);
    for (size_t i = 0; i < 200; i++)
        ck_assert(ca_alloc(a, 64 * (1 + i % 2)) != NULL);
    churn c = {a, 0, 0};
    ck_assert_int_eq(ca_arena_walk(a, free_and_allocate, &c), 0);
    ca_stats s;
    ck_assert_int_eq(ca_arena_stats(a, &s), 0);
    /* Every visit freed its block; what is left was allocated after the
     * walk had passed its address. */
    ck_assert_msg(c.visits >= 200 && s.allocations == c.allocated - (c.visits - 200),
                  "%zu visits, %zu allocated, %zu live", c.visits, c.allocated, s.allocations);
    ck_assert_msg(ca_arena_check(a) == NULL, "%s", ca_arena_check(a));
    drop(&t);
}
END_TEST

/* More blocks than a batch, blocks far apart (more than a batch's 256
 * words without a block between them), blocks longer than a word. */
START_TEST(walk_over_many_batches_and_gaps)
{
    tarena t;
    ca_arena *a = make(&t, "walk-far", 40000, 16, layers[_i]);
    seen live[300];
    size_t n = 0;
    void *first = ca_alloc(a, 16 * 12000);
    ck_assert(first != NULL);
    for (int i = 0; i < 200; i++)
        live[n++] = (seen){ca_alloc(a, 16 * (1 + (size_t)i % 50)), 0};
    void *gap = ca_alloc(a, 16 * 15000);
    void *last = ca_alloc(a, 16);
    ck_assert(gap && last && live[n - 1].p);
    live[n++] = (seen){last, 0};
    ca_free(a, first);
    ca_free(a, gap);
    expect_walk(a, live, n, "far apart");
    drop(&t);
}
END_TEST

/* The histogram of ca_stats against the gaps between the blocks the walk
 * reports: every free run is a gap, counted in class floor(log2(len)). */
START_TEST(histogram_matches_the_walk)
{
    tarena t;
    ca_arena *a = make(&t, "hist", 3000, 32, layers[_i]);
    seen live[900];
    ca_splitmix64 seed = ca_splitmix64_seed(0xABCD + (uint64_t)_i);
    for (int round = 0; round < 4; round++) {
        (void)scatter(a, &t, &seed, 300, 1 + 30 * (size_t)round, live);
        record r = {0};
        ck_assert_int_eq(ca_arena_walk(a, note, &r), 0);
        size_t want[CA_FREE_RUN_CLASSES] = {0}, runs = 0, longest = 0, at = 0;
        for (size_t i = 0; i <= r.n; i++) {
            size_t start = i < r.n ? ((size_t)((unsigned char *)r.items[i].p - t.mem)) / 32 : 3000;
            size_t gap = start - at;
            if (gap) {
                unsigned k = 0;
                while (((size_t)2 << k) <= gap)
                    k++;
                want[k]++;
                runs++;
                longest = gap > longest ? gap : longest;
            }
            if (i < r.n)
                at = start + r.items[i].usable / 32;
        }
        free(r.items);
        ca_stats s;
        ck_assert_int_eq(ca_arena_stats(a, &s), 0);
        ck_assert_uint_eq(s.free_runs, runs);
        ck_assert_uint_eq(s.largest_free_run, longest);
        for (unsigned k = 0; k < CA_FREE_RUN_CLASSES; k++)
            ck_assert_msg(s.free_run_histogram[k] == want[k],
                          "round %d: class %u (%zu..%zu chunks): %zu runs, the walk says %zu",
                          round, k, (size_t)1 << k, ((size_t)2 << k) - 1,
                          s.free_run_histogram[k], want[k]);
    }
    drop(&t);
}
END_TEST

/* ---------------------------------------------------- walks under threads */

typedef struct worker {
    ca_arena *a;
    _Atomic bool *stop;
    ca_splitmix64 seed;
} worker;

static void *allocate_and_free(void *arg)
{
    worker *w = arg;
    void *held[64] = {0};
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        size_t i = ca_splitmix64_next(&w->seed) % 64;
        if (held[i]) {
            ca_free(w->a, held[i]);
            held[i] = NULL;
        } else {
            held[i] = ca_alloc(w->a, 1 + ca_splitmix64_next(&w->seed) % 2000);
        }
    }
    for (size_t i = 0; i < 64; i++)
        ca_free(w->a, held[i]);
    return NULL;
}

/* Two threads allocate and free while the main thread walks: the blocks
 * live for the whole walk are all seen once, with their size; addresses
 * only go up. (CA_LOCK_NONE is for one thread: not here.) */
START_TEST(walk_while_others_work)
{
    ca_lock lock = layers[1 + _i];
    tarena t;
    ca_arena *a = make(&t, "walk-busy", 8192, 32, lock);
    seen keep[100];
    for (size_t i = 0; i < 100; i++) {
        keep[i] = (seen){ca_alloc(a, 32 * (1 + i % 70)), 0};
        ck_assert(keep[i].p != NULL);
        keep[i].usable = ca_usable_size(a, keep[i].p);
    }
    qsort(keep, 100, sizeof *keep, by_address);
    _Atomic bool stop = false;
    worker w[2] = {{a, &stop, {1}}, {a, &stop, {2}}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, allocate_and_free, &w[i]), 0);
    for (int round = 0; round < 30; round++) {
        record r = {0};
        ck_assert_int_eq(ca_arena_walk(a, note, &r), 0);
        size_t k = 0;
        for (size_t i = 0; i < r.n; i++) {
            ck_assert_msg(i == 0 || (uintptr_t)r.items[i - 1].p < (uintptr_t)r.items[i].p,
                          "the walk went back from %p to %p", r.items[i - 1].p, r.items[i].p);
            if (k < 100 && r.items[i].p == keep[k].p) {
                ck_assert_uint_eq(r.items[i].usable, keep[k].usable);
                k++;
            }
        }
        ck_assert_msg(k == 100, "round %d (%s): %zu of the 100 steady blocks seen", round,
                      ca_lock_name(lock), k);
        free(r.items);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < 100; i++)
        ca_free(a, keep[i].p);
    ck_assert_msg(ca_arena_check(a) == NULL, "%s", ca_arena_check(a));
    drop(&t);
}
END_TEST

/* ---------------------------------------------------------------- dump */

static char *dump_text(ca_arena *a)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert(f != NULL);
    ck_assert_int_eq(ca_arena_dump(a, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

/* The map's characters (between the bars of "  |...|" lines), in order. */
static char *map_of(const char *text)
{
    char *map = calloc(strlen(text) + 1, 1);
    size_t n = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len >= 4 && strncmp(line, "  |", 3) == 0 && line[len - 1] == '|')
            for (size_t k = 3; k < len - 1; k++)
                map[n++] = line[k];
        line += len + (end != NULL);
    }
    return map;
}

/* Whether the legend (the lines from "legend:" to the map) explains c: it
 * names it quoted, 'c', or in a quoted range 'a'..'b'. */
static bool explained(const char *text, char c)
{
    const char *legend = strstr(text, "legend:");
    ck_assert_msg(legend != NULL, "no legend in the dump:\n%s", text);
    const char *end = strstr(legend, "\n  |");
    for (const char *q = legend; q + 2 < end; q++) {
        if (q[0] != '\'' || q[2] != '\'')
            continue;
        if (q[1] == c)
            return true;
        if (strncmp(q + 3, "..'", 3) == 0 && q[7] == '\'' && q[1] <= c && c <= q[6])
            return true;
    }
    return false;
}

/* Fill the arena with one-chunk blocks, then free those whose chunk
 * `keep` refuses: the map is then exactly the layout. */
static void layout(ca_arena *a, size_t nchunks, bool (*keep)(size_t chunk))
{
    static void *hold[32768];
    ck_assert(nchunks <= 32768);
    ca_arena_reset(a);
    for (size_t c = 0; c < nchunks; c++)
        ck_assert((hold[c] = ca_alloc(a, 1)) != NULL);
    for (size_t c = 0; c < nchunks; c++)
        if (!keep(c))
            ca_free(a, hold[c]);
}

/* In groups of 32 chunks, g = chunk / 32, c = chunk % 32: */
static bool prefix(size_t chunk) /* the first g % 33 chunks used: every fill, one run */
{
    return chunk % 32 < (chunk / 32) % 33;
}

static bool holes(size_t chunk) /* 2..16 isolated free chunks: fragmented, 50..94% */
{
    size_t c = chunk % 32, m = 2 + (chunk / 32) % 15;
    return !(c % 2 == 1 && c < 2 * m);
}

static bool sparse(size_t chunk) /* 2..16 isolated used chunks: fragmented, 6..50% */
{
    size_t c = chunk % 32, m = 2 + (chunk / 32) % 15;
    return c % 2 == 0 && c < 2 * m;
}

/* Layouts that make every kind of character: empty, full, partly used
 * with one free run at every fill, fragmented at every fill. Every
 * character printed in the map is in the legend. */
START_TEST(dump_legend_explains_every_character)
{
    tarena t;
    ca_arena *a = make(&t, "legend", 32768, 16, layers[_i]); /* 32 chunks a character */
    bool (*const layouts[])(size_t) = {prefix, holes, sparse};
    char printed[256] = {0};
    for (size_t l = 0; l < 3; l++) {
        layout(a, 32768, layouts[l]);
        char *text = dump_text(a);
        char *map = map_of(text);
        ck_assert_msg(strlen(map) == 1024, "%zu cells:\n%s", strlen(map), text);
        for (const char *m = map; *m; m++) {
            ck_assert_msg(explained(text, *m), "'%c' is in the map but not in the legend:\n%s",
                          *m, text);
            printed[(unsigned char)*m] = 1;
        }
        free(map);
        free(text);
    }
    /* The layouts did make every kind: blank, full, shades, digits. */
    for (const char *k = " #.:-=+*%123456789"; *k; k++)
        ck_assert_msg(printed[(unsigned char)*k], "no layout printed '%c'", *k);
    drop(&t);
}
END_TEST

static bool stripes(size_t chunk) /* 2 used, 2 free */
{
    return chunk % 4 < 2;
}

static bool blocks(size_t chunk) /* 8 used, 8 free */
{
    return chunk % 16 < 8;
}

static bool first_half(size_t chunk)
{
    return chunk < 8192;
}

/* Half used in 2-chunk stripes against half used in one 8-chunk block a
 * 16-chunk group, and against the first half used: three different maps,
 * and the striped one says "fragmented" (digits) where the others do not. */
START_TEST(dump_shows_fragmentation)
{
    tarena t;
    ca_arena *a = make(&t, "stripes", 16384, 16, CA_LOCK_MUTEX); /* 16 chunks a character */
    bool (*const layouts[])(size_t) = {stripes, blocks, first_half};
    char *maps[3];
    for (int l = 0; l < 3; l++) {
        layout(a, 16384, layouts[l]);
        ca_stats s;
        ck_assert_int_eq(ca_arena_stats(a, &s), 0);
        ck_assert_uint_eq(s.chunks_used, 8192);
        char *text = dump_text(a);
        maps[l] = map_of(text);
        free(text);
    }
    ck_assert_msg(strcmp(maps[0], maps[1]) != 0 && strcmp(maps[0], maps[2]) != 0 &&
                      strcmp(maps[1], maps[2]) != 0,
                  "stripes, blocks and one half look alike:\n%.64s\n%.64s\n%.64s", maps[0],
                  maps[1], maps[2]);
    ck_assert_msg(strspn(maps[0], "5") == 1024, "2-chunk stripes: %.64s", maps[0]);
    ck_assert_msg(strpbrk(maps[1], "123456789") == NULL, "8-chunk blocks: %.64s", maps[1]);
    for (int i = 0; i < 3; i++)
        free(maps[i]);
    drop(&t);
}
END_TEST

/* ---------------------------------------------------------- the core */

/* Runs of 5 3 2 4 1 40 chunks; the 2 and the 1 are freed: blocks at 0, 5,
 * 10, 55 (the 40 crosses a word boundary). */
static void carve_known(ca_test_core *t, void **runs)
{
    static const size_t lens[] = {5, 3, 2, 4, 1, 40};
    ca_test_core_init(t, 100, 4, 16, CA_CORE_DEFAULT_WINDOW);
    ca_test_core_carve(t, lens, 6, runs);
    ca_test_free(t, runs[2]);
    ca_test_free(t, runs[4]);
}

START_TEST(core_blocks_from_inside_and_one_at_a_time)
{
    bool shared = _i;
    ca_test_core t;
    void *runs[6];
    carve_known(&t, runs);
    ca_core_block b[8];
    size_t next;
    /* From inside the first block: it is not reported. */
    size_t n = ca_core_blocks(&t.core, 2, b, 8, &next, shared);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(next, 100);
    ck_assert(b[0].first == 5 && b[0].chunks == 3 && b[1].first == 10 && b[1].chunks == 4 &&
              b[2].first == 15 && b[2].chunks == 40);
    /* One at a time: each call goes on where the last one stopped. */
    size_t want[][2] = {{0, 5}, {5, 3}, {10, 4}, {15, 40}}, from = 0;
    for (size_t i = 0; i < 4; i++) {
        n = ca_core_blocks(&t.core, from, b, 1, &next, shared);
        ck_assert_uint_eq(n, 1);
        ck_assert(b[0].first == want[i][0] && b[0].chunks == want[i][1]);
        ck_assert_uint_eq(next, i < 3 ? want[i + 1][0] : 100);
        from = next;
    }
    /* Past the last block, and past the end. */
    ck_assert_uint_eq(ca_core_blocks(&t.core, 16, b, 8, &next, shared), 0);
    ck_assert_uint_eq(next, 100);
    ck_assert_uint_eq(ca_core_blocks(&t.core, 100, b, 8, &next, shared), 0);
    ck_assert_uint_eq(next, 100);
    ca_test_core_fini(&t);
}
END_TEST

/* A free stretch of more than 256 words: the call returns early, with
 * nothing, and the next one finds the far block. */
START_TEST(core_blocks_stop_in_long_free_stretches)
{
    ca_test_core t;
    ca_test_core_init(&t, 40000, 4, 16, CA_CORE_DEFAULT_WINDOW);
    static const size_t lens[] = {1, 30000, 1};
    void *runs[3];
    ca_test_core_carve(&t, lens, 3, runs);
    ca_test_free(&t, runs[1]);
    ca_core_block b[4];
    size_t next, from = 1, found = 0, calls = 0;
    while (from < 40000) {
        size_t n = ca_core_blocks(&t.core, from, b, 4, &next, false);
        ck_assert(next > from);
        for (size_t i = 0; i < n; i++, found++)
            ck_assert(b[i].first == 30001 && b[i].chunks == 1);
        from = next;
        calls++;
    }
    ck_assert_uint_eq(found, 1);
    ck_assert_msg(calls > 1, "one call read %d words without a block", 30000 / 32);
    ca_test_core_fini(&t);
}
END_TEST

/* Groups of 8 over the known layout: used, starts, free runs (a run that
 * crosses a group boundary counts in both). */
START_TEST(core_cells_of_a_known_layout)
{
    ca_test_core t;
    void *runs[6];
    carve_known(&t, runs);
    /* chunks: 0-4 used, 5-7 used, 8-9 free, 10-13 used, 14 free, 15-54 used, 55-99 free */
    ca_core_cell c[14];
    ca_core_cells(&t.core, 8, c, 14, false, _i);
    ck_assert(c[0].used == 8 && c[0].starts == 2 && c[0].free_runs == 0);
    ck_assert(c[1].used == 5 && c[1].starts == 2 && c[1].free_runs == 2);
    ck_assert(c[6].used == 7 && c[6].starts == 0 && c[6].free_runs == 1); /* 48-54 used, 55 free */
    ck_assert(c[7].used == 0 && c[7].free_runs == 1);                     /* the run from 55 goes on */
    ck_assert(c[12].used == 0 && c[12].free_runs == 1);                   /* 96-99 */
    ck_assert(c[13].used == 0 && c[13].starts == 0 && c[13].free_runs == 0); /* past the end */
    ca_test_core_fini(&t);
}
END_TEST

/* The survey's figures are ca_core_scan's, and its classes add up. */
START_TEST(core_survey_agrees_with_scan)
{
    ca_test_core t;
    ca_test_core_init(&t, 5000, 4, 16, CA_CORE_DEFAULT_WINDOW);
    ca_splitmix64 seed = ca_splitmix64_seed(99);
    void *held[400] = {0};
    for (int step = 0; step < 3000; step++) {
        size_t i = ca_splitmix64_next(&seed) % 400;
        if (held[i]) {
            ca_test_free(&t, held[i]);
            held[i] = NULL;
        } else {
            ca_core_status st;
            held[i] = ca_core_alloc(&t.core, &t.ctx, 16 * (1 + ca_splitmix64_next(&seed) % 60),
                                    0, 0, false, &st);
        }
        if (step % 100)
            continue;
        ca_core_usage a, b;
        size_t hist[CA_CORE_RUN_CLASSES], sum = 0;
        ca_core_scan(&t.core, &a, false);
        ca_core_survey(&t.core, &b, hist, false, step % 200 == 0);
        ck_assert(a.chunks_used == b.chunks_used && a.allocations == b.allocations &&
                  a.free_runs == b.free_runs && a.largest_free_run == b.largest_free_run);
        for (unsigned k = 0; k < CA_CORE_RUN_CLASSES; k++)
            sum += hist[k];
        ck_assert_uint_eq(sum, b.free_runs);
        ck_assert(b.free_runs == 0 || hist[ca_core_run_class(b.largest_free_run)] > 0);
    }
    ca_test_core_fini(&t);
}
END_TEST

/* The cells and the survey with cached blocks, against a model: blocks of
 * 1..70 chunks carved over a 300-chunk core (so blocks cross map words),
 * each then freed, kept live or marked cached at random. A cached block's
 * chunks count as free and its start as no allocation's, in groups of 1,
 * 4, 7 and 32 chunks and in the survey alike. */
START_TEST(core_figures_count_cached_blocks_free)
{
    enum { N = 300 };
    static const size_t groups[] = {1, 4, 7, 32};
    ca_splitmix64 rng = ca_splitmix64_seed(0xCAC4Eu + (uint64_t)_i);
    for (int round = 0; round < 40; round++) {
        ca_test_core t;
        ca_test_core_init(&t, N, 4, 16, CA_CORE_DEFAULT_WINDOW);
        size_t lens[N], count = 0, total = 0;
        while (total < N) {
            size_t len = 1 + (size_t)ca_splitmix64_below(&rng, 70);
            lens[count] = len < N - total ? len : N - total;
            total += lens[count++];
        }
        void *blocks[N];
        ca_test_core_carve(&t, lens, count, blocks);
        char state[N]; /* 'f' free, 'u' live, 'c' cached */
        bool start[N] = {false};
        for (size_t b = 0, at = 0; b < count; at += lens[b], b++) {
            char s = "fuc"[ca_splitmix64_below(&rng, 3)];
            if (s == 'f')
                ca_test_free(&t, blocks[b]);
            else if (s == 'c')
                ca_core_cache_mark(&t.core, blocks[b]);
            memset(state + at, s, lens[b]);
            start[at] = s == 'u';
        }
        /* The survey: live chunks and starts; maximal runs of the rest. */
        size_t used = 0, starts = 0, runs = 0, longest = 0, run = 0;
        for (size_t k = 0; k < N; k++) {
            used += state[k] == 'u';
            starts += start[k];
            run = state[k] == 'u' ? 0 : run + 1;
            runs += run == 1;
            longest = run > longest ? run : longest;
        }
        ca_core_usage u;
        size_t hist[CA_CORE_RUN_CLASSES];
        ca_core_survey(&t.core, &u, hist, true, _i);
        ck_assert_msg(u.chunks_used == used && u.allocations == starts && u.free_runs == runs &&
                          u.largest_free_run == longest,
                      "round %d: survey %zu used, %zu allocations, %zu runs, longest %zu; model "
                      "%zu, %zu, %zu, %zu",
                      round, u.chunks_used, u.allocations, u.free_runs, u.largest_free_run, used,
                      starts, runs, longest);
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            size_t g = groups[gi], ncells = (N + g - 1) / g;
            ca_core_cell cells[N];
            ca_core_cells(&t.core, g, cells, ncells, true, _i);
            for (size_t i = 0; i < ncells; i++) {
                size_t lo = i * g, hi = lo + g < N ? lo + g : N, cu = 0, cs = 0, cr = 0;
                for (size_t k = lo; k < hi; k++) {
                    cu += state[k] == 'u';
                    cs += start[k];
                    /* a free run with a chunk here: one that starts here, or the one entering */
                    cr += state[k] != 'u' && (k == lo || state[k - 1] == 'u');
                }
                ck_assert_msg(cells[i].used == cu && cells[i].starts == cs &&
                                  cells[i].free_runs == cr,
                              "round %d, group %zu of %zu chunks: used %zu starts %zu runs %zu; "
                              "model %zu %zu %zu",
                              round, i, g, cells[i].used, cells[i].starts, cells[i].free_runs, cu,
                              cs, cr);
            }
        }
        for (size_t b = 0, at = 0; b < count; at += lens[b], b++) {
            if (state[at] == 'c')
                ca_core_cache_take(&t.core, blocks[b]);
            if (state[at] != 'f')
                ca_test_free(&t, blocks[b]);
        }
        ca_test_core_fini(&t);
    }
}
END_TEST

/* In a snapshot of a shared map, the cached plane and the map words are
 * read at different moments, so the figures may see a cached start where
 * the map no longer has the block. Such a start must not make free chunks
 * out of anything else: here a stale start on the free last chunk of a
 * 40-chunk core (whose last map word has 24 chunks of padding after it),
 * and one inside a live block that crosses into that word. The figures
 * must stay figures of this arena: no run longer than its free chunks. */
START_TEST(core_figures_ignore_a_stale_cached_start)
{
    ca_test_core t;
    ca_test_core_init(&t, 40, 4, 16, CA_CORE_DEFAULT_WINDOW);
    void *p = ca_test_alloc(&t, 39 * 16, 0); /* chunks 0..38; 39 free */
    static const unsigned stale[] = {39, 31};
    for (size_t i = 0; i < 2; i++) {
        uint64_t bit = 1ull << stale[i]; /* plane word 0 covers chunks 0..63 */
        atomic_fetch_or_explicit(&t.core.cached[0], bit, memory_order_relaxed);
        ca_core_usage u;
        size_t hist[CA_CORE_RUN_CLASSES];
        ca_core_survey(&t.core, &u, hist, true, _i);
        ck_assert_msg(u.chunks_used <= 40 && u.largest_free_run <= 40 - u.chunks_used,
                      "stale start at %u: %zu used, longest free run %zu", stale[i],
                      u.chunks_used, u.largest_free_run);
        ca_core_cell c[5];
        ca_core_cells(&t.core, 8, c, 5, true, _i);
        size_t used = 0;
        for (size_t g = 0; g < 5; g++)
            used += c[g].used;
        ck_assert_msg(used == u.chunks_used, "stale start at %u: cells count %zu used, the survey %zu",
                      stale[i], used, u.chunks_used);
        atomic_fetch_and_explicit(&t.core.cached[0], ~bit, memory_order_relaxed);
    }
    ca_test_free(&t, p);
    ca_test_core_fini(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("inspect");
    TCase *tc = tcase_create("walk");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_loop_test(tc, walk_sees_every_live_block_once, 0, NLAYERS);
    tcase_add_loop_test(tc, walk_stops_when_told, 0, NLAYERS);
    tcase_add_loop_test(tc, walk_visitor_may_use_the_arena, 0, NLAYERS);
    tcase_add_loop_test(tc, walk_over_many_batches_and_gaps, 0, NLAYERS);
    tcase_add_loop_test(tc, walk_while_others_work, 0, NLAYERS - 1);
    suite_add_tcase(s, tc);
    tc = tcase_create("figures");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_loop_test(tc, histogram_matches_the_walk, 0, NLAYERS);
    tcase_add_loop_test(tc, dump_legend_explains_every_character, 0, 2);
    tcase_add_test(tc, dump_shows_fragmentation);
    suite_add_tcase(s, tc);
    tc = tcase_create("core");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_loop_test(tc, core_blocks_from_inside_and_one_at_a_time, 0, 2);
    tcase_add_test(tc, core_blocks_stop_in_long_free_stretches);
    tcase_add_loop_test(tc, core_cells_of_a_known_layout, 0, 2);
    tcase_add_test(tc, core_survey_agrees_with_scan);
    tcase_add_loop_test(tc, core_figures_count_cached_blocks_free, 0, 2);
    tcase_add_loop_test(tc, core_figures_ignore_a_stale_cached_start, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
