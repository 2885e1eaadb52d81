/* SPDX-License-Identifier: MIT */
/*
 * tests/api/stats.c — suite "api", the statistics, the dump and the check.
 * Single threaded.
 */
#include "tests/api/common.h"

/* ========================================================= TCase "stats" */

/* Which chunks are in use, to derive the free runs a layout has. */
typedef struct model {
    size_t n;
    bool used[64];
} model;

static void model_set(model *m, const tarena *t, const void *p, size_t chunks, bool used)
{
    size_t first = index_of(t, p);
    ck_assert_msg(first + chunks <= m->n, "model: chunks %zu + %zu past the end", first, chunks);
    for (size_t i = first; i < first + chunks; i++) {
        ck_assert_msg(m->used[i] != used, "model: chunk %zu is already %s", i, used ? "used" : "free");
        m->used[i] = used;
    }
}

typedef struct want {
    size_t used, peak, allocations, requested, failures, grows, shrinks, moves;
} want;

/* The figures must be what the model and the counters say. Under hint the
 * peak is approximate: only used <= peak <= total is asserted. */
static void expect_figures(const tarena *t, const model *m, const want *w, bool exact_peak,
                           const char *step)
{
    size_t runs = 0, largest = 0, run = 0;
    for (size_t i = 0; i <= m->n; i++) {
        if (i < m->n && !m->used[i]) {
            run++;
            continue;
        }
        runs += run > 0;
        largest = run > largest ? run : largest;
        run = 0;
    }
    ca_stats s = stats_of(t->a);
#define FIGURE(field, value)                                                                    \
    ck_assert_msg(s.field == (value), "%s: %s is %zu, expected %zu", step, #field, s.field,       \
                  (size_t)(value))
    FIGURE(chunks_used, w->used);
    FIGURE(allocations, w->allocations);
    FIGURE(bytes_requested, w->requested);
    FIGURE(largest_free_run, largest);
    FIGURE(free_runs, runs);
    FIGURE(failures, w->failures);
    FIGURE(grows_in_place, w->grows);
    FIGURE(shrinks_in_place, w->shrinks);
    FIGURE(moves, w->moves);
    FIGURE(chunks_total, t->nchunks);
    FIGURE(chunk_size, t->chunk_size);
#undef FIGURE
    if (exact_peak)
        ck_assert_msg(s.chunks_peak == w->peak, "%s: chunks_peak is %zu, expected %zu", step,
                      s.chunks_peak, w->peak);
    else
        ck_assert_msg(s.chunks_peak >= s.chunks_used && s.chunks_peak <= s.chunks_total,
                      "%s: chunks_peak %zu outside [%zu, %zu]", step, s.chunks_peak, s.chunks_used,
                      s.chunks_total);
    expect_healthy(t->a, step);
}

START_TEST(stats_known_sequence)
{
    ca_lock lock = layers[_i];
    const bool exact = lock != CA_LOCK_HINT;
    const size_t cs = 256, n = 32;
    tarena t;
    ca_arena *a = tarena_make(&t, "figures", n, cs, lock);
    model m = {.n = n};
    want w = {0};
    ca_stats s = stats_of(a);
    ck_assert_msg(strcmp(s.name, "figures") == 0 && s.lock == lock, "name \"%s\", layer %s", s.name,
                  ca_lock_name(s.lock));
    expect_figures(&t, &m, &w, exact, "fresh");

    const size_t sizes[4] = {100, 600, 0, 1024}, chunks[4] = {1, 3, 1, 4};
    void *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = ca_alloc(a, sizes[i]);
        ck_assert(p[i] != NULL);
        model_set(&m, &t, p[i], chunks[i], true);
    }
    w = (want){.used = 9, .peak = 9, .allocations = 4, .requested = 1724};
    expect_figures(&t, &m, &w, exact, "four allocations");

    ca_free(a, p[1]);
    model_set(&m, &t, p[1], 3, false);
    w.used = 6;
    w.allocations = 3;
    expect_figures(&t, &m, &w, exact, "one freed");

    errno = 0;
    ck_assert_msg(ca_alloc(a, n * cs) == NULL && errno == ENOMEM, "the whole arena with 6 used");
    w.failures = 1;
    expect_figures(&t, &m, &w, exact, "a failed allocation");

    static const int rest[3] = {0, 2, 3};
    for (int k = 0; k < 3; k++) {
        ca_free(a, p[rest[k]]);
        model_set(&m, &t, p[rest[k]], chunks[rest[k]], false);
    }
    w.used = 0;
    w.allocations = 0;
    expect_figures(&t, &m, &w, exact, "all freed");

    unsigned char *whole = ca_alloc(a, n * cs);
    ck_assert(whole == t.mem);
    model_set(&m, &t, whole, n, true);
    w.used = w.peak = n;
    w.allocations = 1;
    w.requested += n * cs;
    expect_figures(&t, &m, &w, exact, "the whole arena");

    ck_assert(ca_realloc(a, whole, 8 * cs) == whole);
    model_set(&m, &t, whole + 8 * cs, n - 8, false);
    w.used = 8;
    w.shrinks = 1;
    w.requested = stats_of(a).bytes_requested; /* whether a realloc counts: unspecified */
    expect_figures(&t, &m, &w, exact, "shrunk by realloc");

    ck_assert_int_eq(ca_resize(a, whole, 10 * cs), 0);
    model_set(&m, &t, whole + 8 * cs, 2, true);
    w.used = 10;
    w.grows = 1;
    expect_figures(&t, &m, &w, exact, "grown by resize");

    unsigned char *r = ca_alloc(a, (n - 10) * cs);
    ck_assert_msg(r == chunk(&t, 10), "the only room is chunk 10");
    model_set(&m, &t, r, n - 10, true);
    w.used = n;
    w.allocations = 2;
    w.requested += (n - 10) * cs;
    expect_figures(&t, &m, &w, exact, "filled again");

    ck_assert(ca_realloc(a, r, cs) == r);
    model_set(&m, &t, r + cs, n - 11, false);
    w.used = 11;
    w.shrinks = 2;
    w.requested = stats_of(a).bytes_requested;
    expect_figures(&t, &m, &w, exact, "second shrink");

    unsigned char *q = ca_realloc(a, whole, 12 * cs);
    ck_assert_msg(q != NULL && q != whole, "realloc blocked by chunk 10 did not move: %p",
                  (void *)q);
    size_t iq = index_of(&t, q);
    ck_assert_msg(iq >= 11 && iq <= 20, "12 chunks fit only at 11..20, got %zu", iq);
    model_set(&m, &t, whole, 10, false);
    model_set(&m, &t, q, 12, true);
    w.used = 13;
    w.moves = 1;
    w.requested = stats_of(a).bytes_requested;
    expect_figures(&t, &m, &w, exact, "moved");

    errno = 0;
    ck_assert_msg(ca_resize(a, q, 30 * cs) == -1 && errno == ENOMEM, "resize past the room");
    expect_figures(&t, &m, &w, exact, "a refused resize");

    ca_free(a, q);
    ca_free(a, r);
    model_set(&m, &t, q, 12, false);
    model_set(&m, &t, r, 1, false);
    w.used = 0;
    w.allocations = 0;
    expect_figures(&t, &m, &w, exact, "empty again");
    tarena_drop(&t);
}
END_TEST

START_TEST(stats_null_arguments)
{
    ca_stats s;
    errno = 0;
    ck_assert_msg(ca_arena_stats(NULL, &s) == -1 && errno == EINVAL, "stats(NULL, &s)");
    errno = 0;
    ck_assert_msg(ca_arena_stats(CA_ARENA(s16), NULL) == -1 && errno == EINVAL, "stats(a, NULL)");
}
END_TEST

/* ca_arena_reset must treat the history counters alike: bytes_requested,
 * failures, grows_in_place, shrinks_in_place, moves and runs_examined are
 * all "ever" counts; a reset may keep them or zero them, but not zero some and keep
 * others. */
START_TEST(reset_treats_counters_alike)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, CA_LOCK_MUTEX);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    ca_free(a, chunk(&t, 10));
    ca_free(a, chunk(&t, 11));
    unsigned char *q = ca_realloc(a, p, 2 * RCS); /* blocked by chunk 2: a move */
    ck_assert_msg(q == chunk(&t, 10), "set-up: the move must land at chunk 10");
    ca_free(a, chunk(&t, 12));
    ck_assert_msg(ca_resize(a, q, 3 * RCS) == 0 && ca_resize(a, q, RCS) == 0,
                  "set-up: grow into chunk 12, then shrink");
    errno = 0;
    ck_assert(ca_alloc(a, RN * RCS) == NULL);
    ca_stats before = stats_of(a);
    ck_assert_msg(before.bytes_requested > 0 && before.grows_in_place > 0 &&
                      before.shrinks_in_place > 0 && before.moves > 0 && before.runs_examined > 0,
                  "set-up: requested %zu, grows %zu, shrinks %zu, moves %zu, runs examined %zu",
                  before.bytes_requested, before.grows_in_place, before.shrinks_in_place,
                  before.moves, before.runs_examined);
    ck_assert(before.failures > 0);
    ca_arena_reset(a);
    ca_stats after = stats_of(a);
    bool kept = after.bytes_requested == before.bytes_requested &&
                after.failures == before.failures && after.grows_in_place == before.grows_in_place &&
                after.shrinks_in_place == before.shrinks_in_place && after.moves == before.moves &&
                after.runs_examined == before.runs_examined;
    bool zeroed = after.bytes_requested == 0 && after.failures == 0 && after.grows_in_place == 0 &&
                  after.shrinks_in_place == 0 && after.moves == 0 && after.runs_examined == 0;
    tarena_drop(&t);
    ck_assert_msg(kept || zeroed,
                  "ca_arena_reset kept some history counters and zeroed others: bytes_requested "
                  "%zu -> %zu, failures %zu -> %zu, grows_in_place %zu -> %zu, shrinks_in_place "
                  "%zu -> %zu, moves %zu -> %zu, runs_examined %zu -> %zu",
                  before.bytes_requested, after.bytes_requested, before.failures, after.failures,
                  before.grows_in_place, after.grows_in_place, before.shrinks_in_place,
                  after.shrinks_in_place, before.moves, after.moves, before.runs_examined,
                  after.runs_examined);
}
END_TEST

/* ---- the dump ---- */

static char *dump_text(ca_arena *a)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_msg(f != NULL, "open_memstream: %s", strerror(errno));
    int rc = ca_arena_dump(a, f);
    ck_assert_msg(fclose(f) == 0, "fclose of the memstream");
    ck_assert_msg(rc == 0, "ca_arena_dump returned %d: %s", rc, strerror(errno));
    return text;
}

typedef struct map_count {
    size_t cells, full, empty;
} map_count;

/* The occupancy map of a dump: the characters between the bars of every
 * line of the form "<spaces>|...|". */
static map_count count_map(const char *text)
{
    map_count c = {0, 0, 0};
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t i = 0;
        while (i < len && line[i] == ' ')
            i++;
        if (len - i >= 2 && line[i] == '|' && line[len - 1] == '|')
            for (size_t k = i + 1; k < len - 1; k++) {
                c.cells++;
                c.full += line[k] == '#';
                c.empty += line[k] == ' ';
            }
        line += len + (end != NULL);
    }
    return c;
}

/* The name, the layer and a map whose '#' cells follow the occupancy:
 * empty, full, and the first half full. */
START_TEST(dump_name_layer_map)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-map", 64, 64, lock);
    char *text = dump_text(a);
    ck_assert_msg(strstr(text, "dump-map") != NULL, "the dump does not name the arena:\n%s", text);
    ck_assert_msg(strstr(text, ca_lock_name(lock)) != NULL, "the dump does not name the layer %s:\n%s",
                  ca_lock_name(lock), text);
    map_count c = count_map(text);
    ck_assert_msg(c.cells > 0 && c.full == 0 && c.empty == c.cells,
                  "empty arena: %zu cells, %zu '#', %zu ' ':\n%s", c.cells, c.full, c.empty, text);
    free(text);

    unsigned char *p = ca_alloc(a, t.len);
    ck_assert(p == t.mem);
    text = dump_text(a);
    map_count full = count_map(text);
    ck_assert_msg(full.cells == c.cells && full.full == full.cells,
                  "full arena: %zu of %zu cells '#':\n%s", full.full, full.cells, text);
    free(text);

    ck_assert(ca_realloc(a, p, t.len / 2) == p);
    text = dump_text(a);
    map_count half = count_map(text);
    ck_assert_msg(half.cells == c.cells && half.full * 2 == half.cells && half.empty * 2 == half.cells,
                  "first half used: %zu '#' and %zu ' ' of %zu cells:\n%s", half.full, half.empty,
                  half.cells, text);
    free(text);
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* Blocks in a thread's cache are no program's: the map draws their chunks
 * free, as the figures count them. With caches always on, the first
 * one-chunk allocation also fills this thread's magazine, and every other
 * block freed goes there; with one chunk a cell, the map's '#' cells are
 * then exactly the used chunks of ca_stats, none of the cached ones. */
START_TEST(dump_draws_cached_blocks_free)
{
    enum { N = 24, CHUNKS = 1024, CS = 64 };
    unsigned char *mem = aligned_block(CS, CHUNKS * CS);
    ca_config c = {.chunk_size = CS, .lock = layers[_i], .cache = CA_CACHE_ON};
    ca_arena *a = ca_arena_create("dump-cached", mem, CHUNKS * CS, &c);
    ck_assert_msg(a != NULL, "ca_arena_create: %s", strerror(errno));
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ca_alloc(a, CS);
        ck_assert_ptr_nonnull(p[i]);
    }
    for (int i = 0; i < N; i += 2)
        ca_free(a, p[i]);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_cached >= N / 2 && s.chunks_used == N / 2,
                  "%zu chunks cached, %zu used: the caches did not take the frees",
                  s.chunks_cached, s.chunks_used);
    char *text = dump_text(a);
    map_count m = count_map(text);
    ck_assert_msg(m.cells == s.chunks_total && m.full == s.chunks_used &&
                      m.empty == s.chunks_total - s.chunks_used,
                  "%zu cells, %zu '#', %zu ' '; the figures: %zu used of %zu, %zu cached:\n%s",
                  m.cells, m.full, m.empty, s.chunks_used, s.chunks_total, s.chunks_cached, text);
    free(text);
    for (int i = 1; i < N; i += 2)
        ca_free(a, p[i]);
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    free(mem);
}
END_TEST

START_TEST(dump_large_arena)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-large", 4096, 16, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, t.len);
    ck_assert(p == t.mem);
    ck_assert(ca_realloc(a, p, t.len / 2) == p);
    char *text = dump_text(a);
    map_count c = count_map(text);
    ck_assert_msg(c.cells > 1 && c.cells <= 4096 && c.full * 2 == c.cells && c.empty * 2 == c.cells,
                  "4096 chunks, first half used: %zu cells, %zu '#', %zu ' ':\n%s", c.cells, c.full,
                  c.empty, text);
    free(text);
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* A stream that fails: -1, with errno from the stream. */
START_TEST(dump_failing_streams)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-fail", 16, 64, CA_LOCK_MUTEX);
    void *p = ca_alloc(a, 100);
    ca_stats before = stats_of(a);
    FILE *ro = fopen("/dev/null", "r");
    ck_assert_msg(ro != NULL, "fopen(/dev/null, r): %s", strerror(errno));
    errno = 0;
    int rc = ca_arena_dump(a, ro);
    int e = errno;
    fclose(ro);
    ck_assert_msg(rc == -1 && e != 0, "dump to a read-only stream: %d, errno %d", rc, e);
    FILE *full = fopen("/dev/full", "w");
    ck_assert_msg(full != NULL, "fopen(/dev/full): %s", strerror(errno));
    setvbuf(full, NULL, _IONBF, 0);
    errno = 0;
    rc = ca_arena_dump(a, full);
    e = errno;
    fclose(full);
    ck_assert_msg(rc == -1 && e == ENOSPC, "dump to /dev/full (unbuffered): %d, errno %d", rc, e);
    expect_unchanged(a, &before, "failed dumps");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST


void api_add_stats(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "stats");
    tcase_add_loop_test(tc, stats_known_sequence, 0, NLAYERS);
    tcase_add_test(tc, stats_null_arguments);
    tcase_add_test(tc, reset_treats_counters_alike);
    tcase_add_loop_test(tc, dump_name_layer_map, 0, NLAYERS);
    tcase_add_loop_test(tc, dump_draws_cached_blocks_free, 0, NLAYERS);
    tcase_add_test(tc, dump_large_arena);
    tcase_add_test(tc, dump_failing_streams);
}
