/* SPDX-License-Identifier: MIT */
/*
 * api/stats.c — an arena's figures, its occupancy map, its invariant check.
 *
 * Figures come from the sync arena (counters summed over every context,
 * one scan of the map); the dump prints them and a map of the region, each
 * character a group of chunks, from ' ' (empty) to '#' (full). Printing
 * happens after the figures were gathered, with no lock held. Thread
 * safety: see api/chunkarena.h (check needs a quiet arena).
 */
#include "config.h"

#include "api/internal.h"

#include <errno.h>

/* The occupancy map: at most this many characters a line and lines. */
#define DUMP_COLUMNS 64u
#define DUMP_ROWS 16u

int ca_arena_stats(ca_arena *a, ca_stats *out)
{
    if (!a || !out || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    ca_sync_stats s;
    ca_sync_arena_stats(&a->sync, &s);
    out->name = a->name;
    out->lock = a->lock;
    out->chunk_size = s.chunk_size;
    out->chunks_total = s.chunks_total;
    out->chunks_used = s.chunks_used;
    out->chunks_peak = s.chunks_peak;
    out->allocations = s.allocations;
    out->bytes_requested = s.bytes_requested;
    out->largest_free_run = s.largest_free;
    out->free_runs = s.free_runs;
    out->failures = s.failures;
    out->grows_in_place = s.grows;
    out->shrinks_in_place = s.shrinks;
    out->moves = atomic_load_explicit(&a->moves, memory_order_relaxed);
    return 0;
}

/* ' ' for an empty group, then . : - = + * % # as it fills; '#' only when
 * full, so a '#' always means "no room here". */
static char shade(size_t used, size_t size)
{
    static const char steps[] = " .:-=+*%";
    if (used == 0)
        return ' ';
    if (used >= size)
        return '#';
    return steps[1 + used * 7 / size]; /* 1..7 */
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
    size_t counts[DUMP_COLUMNS * DUMP_ROWS];
    ca_sync_arena_occupancy(&a->sync, group, counts, cells);

    int failed = fprintf(out,
                         "arena \"%s\" (%s): %zu chunks of %zu bytes, %zu used (%.1f%%), peak %zu\n"
                         "  %zu allocations, %zu bytes requested; %zu free runs, the longest "
                         "%zu chunks\n"
                         "  %zu failed allocations, %zu grown and %zu shrunk in place, %zu moved\n"
                         "  map: one character per %zu chunk%s, ' ' empty to '#' full\n",
                         s.name, ca_lock_name(s.lock), s.chunks_total, s.chunk_size, s.chunks_used,
                         100.0 * (double)s.chunks_used / (double)s.chunks_total, s.chunks_peak,
                         s.allocations, s.bytes_requested, s.free_runs, s.largest_free_run,
                         s.failures, s.grows_in_place, s.shrinks_in_place, s.moves, group,
                         group == 1 ? "" : "s") < 0;
    for (size_t i = 0; i < cells && !failed; i += DUMP_COLUMNS) {
        char line[DUMP_COLUMNS + 1];
        size_t n = 0;
        for (; n < DUMP_COLUMNS && i + n < cells; n++) {
            size_t first = (i + n) * group;
            size_t size = first + group <= s.chunks_total ? group : s.chunks_total - first;
            line[n] = shade(counts[i + n], size);
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
