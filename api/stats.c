/* SPDX-License-Identifier: MIT */
/*
 * api/stats.c — an arena's figures, its occupancy map, its invariant check.
 *
 * Figures come from the sync arena (counters summed over every context,
 * one scan of the map, which also sorts the free runs by length); the dump
 * prints them, the free runs by length, and a map of the region, each
 * character a group of chunks: how full it is and, when partly used,
 * whether its free chunks are one run or split (fragmentation), with a
 * legend of every character the map can hold. Printing happens after the
 * figures were gathered, with no lock held. Thread safety: see
 * api/chunkarena.h (check needs a quiet arena).
 */
#include "config.h"

#include "api/internal.h"

#include <errno.h>
#include <string.h>

_Static_assert(CA_FREE_RUN_CLASSES == CA_CORE_RUN_CLASSES, "the histogram is the core's classes");
_Static_assert(sizeof(((ca_stats *)0)->free_run_histogram) ==
                   sizeof(((ca_sync_stats *)0)->free_run_histogram),
               "ca_api_stats_of copies the histogram whole");

/* The occupancy map: at most this many characters a line and lines. */
#define DUMP_COLUMNS 64u
#define DUMP_ROWS 16u

void ca_api_stats_of(const ca_sync_stats *s, ca_stats *out)
{
    out->chunk_size = s->chunk_size;
    out->chunks_total = s->chunks_total;
    out->chunks_used = s->chunks_used;
    out->chunks_peak = s->chunks_peak;
    out->allocations = s->allocations;
    out->bytes_requested = s->bytes_requested;
    out->largest_free_run = s->largest_free_run;
    out->free_runs = s->free_runs;
    out->failures = s->failures;
    out->grows_in_place = s->grows_in_place;
    out->shrinks_in_place = s->shrinks_in_place;
    out->runs_examined = s->runs_examined;
    memcpy(out->free_run_histogram, s->free_run_histogram, sizeof out->free_run_histogram);
}

int ca_arena_stats(ca_arena *a, ca_stats *out)
{
    if (!a || !out || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    ca_sync_stats s;
    ca_cache_figures k;
    ca_cache_arena_stats(&a->cache, &s, &k);
    ca_api_stats_of(&s, out);
    out->name = a->name;
    out->lock = a->sync.kind;
    out->moves = atomic_load_explicit(&a->moves, memory_order_relaxed);
    out->chunks_cached = k.chunks_cached;
    out->cache_hits = k.cache_hits;
    out->cache_misses = k.cache_misses;
    return 0;
}

/* The character of a group of `size` chunks: ' ' empty, '#' full; partly
 * used, a shade of how full it is when its free chunks are one run, else
 * a digit, its tenths used (1..9). LEGEND must explain every one. */
static char glyph(const ca_core_cell *c, size_t size)
{
    static const char steps[] = ".:-=+*%";
    if (c->used == 0)
        return ' ';
    if (c->used >= size)
        return '#';
    if (c->free_runs < 2)
        return steps[c->used * 7 / size]; /* 0..6 */
    size_t tenths = c->used * 10 / size;
    return (char)('0' + (tenths < 1 ? 1 : tenths > 9 ? 9 : tenths));
}

#define LEGEND                                                                             \
    "  legend: ' ' all free, '#' all used; partly used, with its free chunks in one run:\n" \
    "          '.' ':' '-' '=' '+' '*' '%' from emptier to fuller; partly used, with its\n" \
    "          free chunks in two runs or more (fragmented): '1'..'9', how full in tenths\n"

/* The free runs by length, on one line: "1: 5, 2-3: 2, ...", classes up
 * to the longest run. */
static int print_histogram(FILE *out, const ca_stats *s)
{
    if (fputs("  free runs by length in chunks:", out) < 0)
        return -1;
    if (s->free_runs == 0)
        return fputs(" none\n", out) < 0 ? -1 : 0;
    unsigned top = ca_core_run_class(s->largest_free_run);
    for (unsigned k = 0; k <= top; k++) {
        size_t lo = (size_t)1 << k, hi = (lo << 1) - 1;
        int rc = lo == hi ? fprintf(out, "%s %zu: %zu", k ? "," : "", lo, s->free_run_histogram[k])
                          : fprintf(out, "%s %zu-%zu: %zu", k ? "," : "", lo, hi,
                                    s->free_run_histogram[k]);
        if (rc < 0)
            return -1;
    }
    return fputs("\n", out) < 0 ? -1 : 0;
}

int ca_arena_dump(ca_arena *a, FILE *out)
{
    ca_stats s;
    if (ca_arena_stats(a, &s) != 0)
        return -1;
    size_t cells = s.chunks_total < DUMP_COLUMNS * DUMP_ROWS ? s.chunks_total
                                                              : DUMP_COLUMNS * DUMP_ROWS;
    size_t group = (s.chunks_total + cells - 1) / cells;
    cells = (s.chunks_total + group - 1) / group;
    ca_core_cell counts[DUMP_COLUMNS * DUMP_ROWS];
    ca_sync_arena_cells(&a->sync, group, counts, cells);

    int failed = fprintf(out,
                         "arena \"%s\" (%s): %zu chunks of %zu bytes, %zu used (%.1f%%), peak %zu\n"
                         "  %zu allocations, %zu bytes requested; %zu free runs, the longest "
                         "%zu chunks\n"
                         "  %zu failed allocations, %zu grown and %zu shrunk in place, %zu moved\n",
                         s.name, ca_lock_name(s.lock), s.chunks_total, s.chunk_size, s.chunks_used,
                         100.0 * (double)s.chunks_used / (double)s.chunks_total, s.chunks_peak,
                         s.allocations, s.bytes_requested, s.free_runs, s.largest_free_run,
                         s.failures, s.grows_in_place, s.shrinks_in_place, s.moves) < 0;
    failed = failed || print_histogram(out, &s) != 0;
    failed = failed || fprintf(out, "  map: one character per %zu chunk%s, %u a line\n", group,
                               group == 1 ? "" : "s", DUMP_COLUMNS) < 0;
    failed = failed || fputs(LEGEND, out) < 0;
    for (size_t i = 0; i < cells && !failed; i += DUMP_COLUMNS) {
        char line[DUMP_COLUMNS + 1];
        size_t n = 0;
        for (; n < DUMP_COLUMNS && i + n < cells; n++) {
            size_t first = (i + n) * group;
            size_t size = first + group <= s.chunks_total ? group : s.chunks_total - first;
            line[n] = glyph(&counts[i + n], size);
        }
        line[n] = '\0';
        failed = fprintf(out, "  |%s|\n", line) < 0;
    }
    /* A buffered stream may fail only when it is flushed. */
    if (fflush(out) != 0 || ferror(out))
        failed = 1;
    return failed ? -1 : 0;
}

const char *ca_arena_check(ca_arena *a)
{
    if (!a || !ca_api_ready(a))
        return "not a usable arena";
    return ca_sync_arena_check(&a->sync);
}
