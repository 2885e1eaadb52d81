/* SPDX-License-Identifier: MIT */
/*
 * api/inspect.c — seeing inside arenas: the walk over live blocks, the
 * figures as JSON, the occupancy as an SVG picture.
 *
 * Nothing here runs user code or prints under a lock. The walk collects a
 * batch of blocks (sync/sync.h: under the arena's lock for that batch
 * only), lets go, and only then calls the visitor. JSON and SVG first
 * gather everything they print (figures, and the contents of groups of
 * chunks for the picture) into memory allocated beforehand; the registry's
 * read section (api/registry.c) is held only while arenas of the registry
 * are read, so that none is destroyed under the reader, and nothing is
 * allocated or printed inside it. Thread safety: see api/chunkarena.h.
 */
#include "config.h"

#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Blocks the walk collects at a time: 1 KiB of stack, and the longest the
 * lock is held, in blocks. */
#define WALK_BATCH 64u

/* The picture: squares a row, most rows, the side of a square in pixels. */
#define SVG_COLUMNS 64u
#define SVG_MAX_CELLS 4096u
#define SVG_CELL 9u
#define SVG_MARGIN 12u

/* The version of the JSON document (docs/STATS-JSON.md). */
#define JSON_VERSION 1

/* ---------------------------------------------------------------- walk */

int ca_arena_walk(ca_arena *a, ca_block_visitor visitor, void *ctx)
{
    if (!a || !visitor || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    const ca_core *core = &a->sync.core;
    ca_core_block batch[WALK_BATCH];
    for (size_t from = 0; from < core->nchunks;) {
        size_t next, n = ca_sync_arena_blocks(&a->sync, from, batch, WALK_BATCH, &next);
        /* No lock held from here on: the visitor may use the arena. */
        for (size_t i = 0; i < n; i++) {
            int rc = visitor(ctx, core->base + (batch[i].first << core->shift),
                             batch[i].chunks << core->shift);
            if (rc != 0)
                return rc;
        }
        from = next; /* past the batch's last block: strictly forward, so the walk ends */
    }
    return 0;
}

/* ------------------------------------------------------------ gathering */

/* What is printed of one arena, copied out while it could be read. */
typedef struct view {
    ca_stats stats;
    char name[CA_NAME_MAX + 1];
    size_t group, ncells; /* the picture's groups, if asked for */
    ca_core_cell *cells;  /* room for SVG_MAX_CELLS, or NULL */
} view;

/* Chunks a square of the picture stands for: 1 up to SVG_MAX_CELLS chunks. */
static size_t group_for(size_t nchunks)
{
    return (nchunks + SVG_MAX_CELLS - 1) / SVG_MAX_CELLS;
}

/* Copy the figures of a (a ready arena) into v, and its groups if v has room. */
static void take_view(ca_arena *a, view *v)
{
    (void)ca_arena_stats(a, &v->stats); /* a is ready: cannot fail */
    memcpy(v->name, a->name, sizeof v->name);
    v->stats.name = v->name;
    if (v->cells) {
        v->group = group_for(v->stats.chunks_total);
        v->ncells = (v->stats.chunks_total + v->group - 1) / v->group;
        ca_sync_arena_cells(&a->sync, v->group, v->cells, v->ncells);
    }
}

/* Room for `n` views, each with room for its groups when `cells`. NULL
 * (errno ENOMEM) if it cannot be had. */
static view *views_new(size_t n, bool cells)
{
    view *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    if (cells) {
        ca_core_cell *all = calloc(n ? n * SVG_MAX_CELLS : 1, sizeof *all);
        if (!all) {
            free(v);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            v[i].cells = all + i * SVG_MAX_CELLS;
    }
    return v;
}

static void views_free(view *v)
{
    if (v)
        free(v[0].cells);
    free(v);
}

/* A view of every registered arena, newest first, in *count; NULL with
 * errno ENOMEM. The memory is allocated before the registry is read, for a
 * few more arenas than were registered a moment before; arenas registered
 * beyond that meanwhile are left out, as a snapshot may. */
static view *views_all(size_t *count, bool cells)
{
    size_t room = ca_arena_list(NULL, 0) + 8;
    view *v = views_new(room, cells);
    if (!v) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = 0;
    ca_registry_enter(); /* registered arenas stay valid until leave */
    for (ca_arena *a = ca_registry_first(); a && n < room; a = ca_registry_next(a))
        if (ca_api_ready(a))
            take_view(a, &v[n++]);
    ca_registry_leave();
    *count = n;
    return v;
}

/* A buffered stream may fail only when it is flushed. */
static int finish(FILE *out, int failed)
{
    if (fflush(out) != 0 || ferror(out))
        failed = 1;
    return failed ? -1 : 0;
}

/* --------------------------------------------------------------- text */

/* The length of the UTF-8 sequence at s (n bytes left), or 0 if it is not
 * one: a lead byte, the right number of continuation bytes, no overlong
 * form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1Fu;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0Fu;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Write s as text of the given kind: a JSON string's contents (quote,
 * backslash and control characters escaped) or XML character data
 * (markup characters as entities, control characters as '?', which XML
 * cannot carry). Bytes that are not UTF-8 become U+FFFD either way. */
enum text_kind { TEXT_JSON, TEXT_XML };

static int put_text(FILE *out, const char *s, enum text_kind kind)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_length(p + i, n - i);
        int rc;
        if (len == 0) {
            rc = fputs(kind == TEXT_JSON ? "\\ufffd" : "\xEF\xBF\xBD", out);
            len = 1;
        } else if (len > 1) {
            rc = fwrite(p + i, 1, len, out) == len ? 0 : -1;
        } else if (kind == TEXT_JSON) {
            rc = c == '"' || c == '\\' ? fprintf(out, "\\%c", c)
                 : c < 0x20 || c == 0x7F ? fprintf(out, "\\u%04x", c)
                                         : fputc(c, out);
        } else {
            rc = c == '&' ? fputs("&amp;", out)
                 : c == '<' ? fputs("&lt;", out)
                 : c == '>' ? fputs("&gt;", out)
                 : c == '"' ? fputs("&quot;", out)
                 : c < 0x20 || c == 0x7F ? fputc('?', out)
                                         : fputc(c, out);
        }
        if (rc < 0)
            return -1;
        i += len;
    }
    return 0;
}

/* --------------------------------------------------------------- JSON */

static int json_arena(FILE *out, const ca_stats *s, bool last)
{
    int failed = fputs("    {\n      \"name\": \"", out) < 0 || put_text(out, s->name, TEXT_JSON);
    failed = failed ||
             fprintf(out,
                     "\",\n      \"lock\": \"%s\",\n"
                     "      \"chunk_size\": %zu,\n      \"chunks_total\": %zu,\n"
                     "      \"chunks_used\": %zu,\n      \"chunks_peak\": %zu,\n"
                     "      \"allocations\": %zu,\n      \"bytes_requested\": %zu,\n"
                     "      \"failures\": %zu,\n      \"grows_in_place\": %zu,\n"
                     "      \"shrinks_in_place\": %zu,\n      \"moves\": %zu,\n"
                     "      \"free_runs\": %zu,\n      \"largest_free_run\": %zu,\n"
                     "      \"chunks_cached\": %zu,\n      \"cache_hits\": %zu,\n"
                     "      \"cache_misses\": %zu,\n      \"runs_examined\": %zu,\n"
                     "      \"free_run_histogram\": [",
                     ca_lock_name(s->lock), s->chunk_size, s->chunks_total, s->chunks_used,
                     s->chunks_peak, s->allocations, s->bytes_requested, s->failures,
                     s->grows_in_place, s->shrinks_in_place, s->moves, s->free_runs,
                     s->largest_free_run, s->chunks_cached, s->cache_hits, s->cache_misses,
                     s->runs_examined) < 0;
    unsigned classes = s->free_runs ? ca_core_run_class(s->largest_free_run) + 1 : 0;
    for (unsigned k = 0; k < classes && !failed; k++) {
        size_t lo = (size_t)1 << k;
        failed = fprintf(out, "%s\n        {\"from\": %zu, \"to\": %zu, \"runs\": %zu}",
                         k ? "," : "", lo, (lo << 1) - 1, s->free_run_histogram[k]) < 0;
    }
    return failed || fprintf(out, "%s]\n    }%s\n", classes ? "\n      " : "", last ? "" : ",") < 0
               ? -1
               : 0;
}

static int json_document(FILE *out, const view *v, size_t n)
{
    int failed = fprintf(out, "{\n  \"version\": %d,\n  \"arenas\": [\n", JSON_VERSION) < 0;
    for (size_t i = 0; i < n && !failed; i++)
        failed = json_arena(out, &v[i].stats, i + 1 == n) != 0;
    failed = failed || fputs("  ]\n}\n", out) < 0;
    return finish(out, failed);
}

int ca_arena_stats_json(ca_arena *a, FILE *out)
{
    view v = {0};
    if (!out || ca_arena_stats(a, &v.stats) != 0) {
        errno = EINVAL;
        return -1;
    }
    return json_document(out, &v, 1);
}

/* One document of every registered arena: `cells` for the picture. */
static int document_all(FILE *out, bool cells, int (*document)(FILE *, const view *, size_t))
{
    if (!out) {
        errno = EINVAL;
        return -1;
    }
    size_t n;
    view *v = views_all(&n, cells);
    if (!v)
        return -1;
    int rc = document(out, v, n);
    views_free(v);
    return rc;
}

int ca_stats_json_all(FILE *out)
{
    return document_all(out, false, json_document);
}

/* ---------------------------------------------------------------- SVG */

/* The colours, and what the legend says of each. */
static const char C_FREE[] = "#eeeeec";
static const char C_START[] = "#204a87"; /* a single chunk: first of its allocation */
static const char C_BODY[] = "#729fcf";  /* a single chunk: the rest of an allocation */
static const char C_FULL[] = "#204a87";  /* a group: all used */
static const char *const solid_shades[4] = {"#dbe6f2", "#b3cbe6", "#729fcf", "#3465a4"};
static const char *const split_shades[4] = {"#fde3c4", "#fcc48a", "#f8a14a", "#ce5c00"};

/* The colour of square i of v. */
static const char *cell_colour(const view *v, size_t i)
{
    const ca_core_cell *c = &v->cells[i];
    size_t first = i * v->group, total = v->stats.chunks_total;
    size_t size = first + v->group <= total ? v->group : total - first;
    if (c->used == 0)
        return C_FREE;
    if (v->group == 1)
        return c->starts ? C_START : C_BODY;
    if (c->used >= size)
        return C_FULL;
    size_t quarter = c->used * 4 / size; /* 0..3 */
    return c->free_runs < 2 ? solid_shades[quarter] : split_shades[quarter];
}

static size_t svg_rows(const view *v)
{
    return (v->ncells + SVG_COLUMNS - 1) / SVG_COLUMNS;
}

/* Height in pixels of one arena's panel: three lines of text and its map. */
#define SVG_LINE 16u
static size_t panel_height(const view *v)
{
    return 3 * SVG_LINE + 6 + svg_rows(v) * SVG_CELL + SVG_MARGIN;
}

#define SVG_WIDTH (2 * SVG_MARGIN + SVG_COLUMNS * SVG_CELL + 260u)
#define LEGEND_HEIGHT (9u * SVG_LINE)

static int svg_panel(FILE *out, const view *v, size_t top)
{
    const ca_stats *s = &v->stats;
    size_t x = SVG_MARGIN, y = top + SVG_LINE;
    int failed = fprintf(out, "<text x=\"%zu\" y=\"%zu\" class=\"h\">", x, y) < 0 ||
                 put_text(out, s->name, TEXT_XML) != 0;
    failed = failed ||
             fprintf(out,
                     " (%s): %zu chunks of %zu bytes, %zu used (%.1f%%), peak %zu</text>\n"
                     "<text x=\"%zu\" y=\"%zu\">%zu allocations; %zu free runs, the longest %zu "
                     "chunks; %zu failed allocations</text>\n"
                     "<text x=\"%zu\" y=\"%zu\">free runs by length in chunks:",
                     ca_lock_name(s->lock), s->chunks_total, s->chunk_size, s->chunks_used,
                     100.0 * (double)s->chunks_used / (double)s->chunks_total, s->chunks_peak, x,
                     y + SVG_LINE, s->allocations, s->free_runs, s->largest_free_run, s->failures,
                     x, y + 2 * SVG_LINE) < 0;
    unsigned classes = s->free_runs ? ca_core_run_class(s->largest_free_run) + 1 : 0;
    bool any = false;
    for (unsigned k = 0; k < classes && !failed; k++) {
        size_t lo = (size_t)1 << k, hi = (lo << 1) - 1;
        if (s->free_run_histogram[k] == 0)
            continue;
        failed = (lo == hi ? fprintf(out, "%s %zu: %zu", any ? "," : "", lo,
                                     s->free_run_histogram[k])
                           : fprintf(out, "%s %zu\xE2\x80\x93%zu: %zu", any ? "," : "", lo, hi,
                                     s->free_run_histogram[k])) < 0;
        any = true;
    }
    failed = failed || fprintf(out, "%s</text>\n", any ? "" : " none") < 0;

    size_t map_top = y + 2 * SVG_LINE + 8, rows = svg_rows(v);
    size_t last_row = v->ncells - (rows - 1) * SVG_COLUMNS;
    /* The map's background is the free colour; then each stretch of
     * squares of one colour in a row, as one rectangle. */
    if (rows > 1)
        failed = failed ||
                 fprintf(out, "<rect x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%zu\" fill=\"%s\"/>\n",
                         x, map_top, (size_t)SVG_COLUMNS * SVG_CELL, (rows - 1) * SVG_CELL,
                         C_FREE) < 0;
    failed = failed ||
             fprintf(out, "<rect x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%u\" fill=\"%s\"/>\n", x,
                     map_top + (rows - 1) * SVG_CELL, last_row * SVG_CELL, SVG_CELL, C_FREE) < 0;
    for (size_t i = 0; i < v->ncells && !failed;) {
        const char *colour = cell_colour(v, i);
        size_t row = i / SVG_COLUMNS, j = i + 1;
        while (j < v->ncells && j / SVG_COLUMNS == row && cell_colour(v, j) == colour)
            j++;
        if (colour != C_FREE)
            failed = fprintf(out,
                             "<rect x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%u\" "
                             "fill=\"%s\"/>\n",
                             x + (i % SVG_COLUMNS) * SVG_CELL, map_top + row * SVG_CELL,
                             (j - i) * SVG_CELL, SVG_CELL, colour) < 0;
        i = j;
    }
    /* White lines between the squares, so that single ones can be told apart. */
    failed = failed || fputs("<path stroke=\"#ffffff\" stroke-width=\"1\" d=\"", out) < 0;
    for (size_t k = 1; k < SVG_COLUMNS && !failed; k++)
        failed = fprintf(out, "M%zu %zuv%zu", x + k * SVG_CELL, map_top, rows * SVG_CELL) < 0;
    for (size_t r = 1; r < rows && !failed; r++)
        failed = fprintf(out, "M%zu %zuh%zu", x, map_top + r * SVG_CELL,
                         (size_t)SVG_COLUMNS * SVG_CELL) < 0;
    failed = failed || fputs("\"/>\n", out) < 0;
    failed = failed ||
             fprintf(out, "<text x=\"%zu\" y=\"%zu\" class=\"n\">one square: %zu chunk%s</text>\n",
                     x + SVG_COLUMNS * SVG_CELL + 8, map_top + 10, v->group,
                     v->group == 1 ? "" : "s") < 0;
    return failed ? -1 : 0;
}

static int swatch(FILE *out, size_t x, size_t y, const char *colour, const char *what)
{
    return fprintf(out,
                   "<rect x=\"%zu\" y=\"%zu\" width=\"%u\" height=\"%u\" fill=\"%s\" "
                   "stroke=\"#888a85\" stroke-width=\"0.5\"/>\n"
                   "<text x=\"%zu\" y=\"%zu\">%s</text>\n",
                   x, y - SVG_CELL, SVG_CELL, SVG_CELL, colour, x + SVG_CELL + 6, y, what) < 0
               ? -1
               : 0;
}

/* The legend: every colour a square can have. */
static int svg_legend(FILE *out, size_t top)
{
    size_t x = SVG_MARGIN, y = top + SVG_LINE;
    int failed = fprintf(out, "<text x=\"%zu\" y=\"%zu\" class=\"h\">legend</text>\n", x, y) < 0;
    failed = failed || swatch(out, x, y + SVG_LINE, C_FREE, "free") != 0;
    failed = failed ||
             swatch(out, x, y + 2 * SVG_LINE, C_START,
                    "one chunk a square: the first chunk of an allocation") != 0;
    failed = failed ||
             swatch(out, x, y + 3 * SVG_LINE, C_BODY,
                    "one chunk a square: another chunk of an allocation") != 0;
    failed = failed ||
             swatch(out, x, y + 4 * SVG_LINE, C_FULL, "a group of chunks a square: all used") != 0;
    const char *const fill[4] = {"under 1/4", "1/4 to 1/2", "1/2 to 3/4", "3/4 or more"};
    for (unsigned k = 0; k < 4 && !failed; k++) {
        failed = fprintf(out,
                         "<rect x=\"%zu\" y=\"%zu\" width=\"%u\" height=\"%u\" fill=\"%s\"/>\n"
                         "<rect x=\"%zu\" y=\"%zu\" width=\"%u\" height=\"%u\" fill=\"%s\"/>\n",
                         x + k * (SVG_CELL + 2), y + 5 * SVG_LINE - SVG_CELL, SVG_CELL, SVG_CELL,
                         solid_shades[k], x + k * (SVG_CELL + 2), y + 6 * SVG_LINE - SVG_CELL,
                         SVG_CELL, SVG_CELL, split_shades[k]) < 0;
    }
    failed = failed ||
             fprintf(out,
                     "<text x=\"%zu\" y=\"%zu\">a group partly used (%s ... %s used), its free "
                     "chunks in one run</text>\n"
                     "<text x=\"%zu\" y=\"%zu\">a group partly used, its free chunks split in "
                     "two runs or more: fragmented</text>\n",
                     x + 4 * (SVG_CELL + 2) + 4, y + 5 * SVG_LINE, fill[0], fill[3],
                     x + 4 * (SVG_CELL + 2) + 4, y + 6 * SVG_LINE) < 0;
    return failed ? -1 : 0;
}

static int svg_document(FILE *out, const view *v, size_t n)
{
    size_t height = SVG_MARGIN + LEGEND_HEIGHT;
    for (size_t i = 0; i < n; i++)
        height += panel_height(&v[i]);
    int failed =
        fprintf(out,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" height=\"%zu\" "
                "viewBox=\"0 0 %zu %zu\" shape-rendering=\"crispEdges\">\n"
                "<style>text{font-family:sans-serif;font-size:12px;fill:#2e3436}"
                ".h{font-weight:bold}.n{font-size:11px;fill:#555753}</style>\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
                (size_t)SVG_WIDTH, height, (size_t)SVG_WIDTH, height) < 0;
    size_t top = SVG_MARGIN / 2;
    for (size_t i = 0; i < n && !failed; i++) {
        failed = svg_panel(out, &v[i], top) != 0;
        top += panel_height(&v[i]);
    }
    failed = failed || svg_legend(out, top) != 0;
    failed = failed || fputs("</svg>\n", out) < 0;
    return finish(out, failed);
}

int ca_arena_map_svg(ca_arena *a, FILE *out)
{
    if (!a || !out || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    view *v = views_new(1, true);
    if (!v) {
        errno = ENOMEM;
        return -1;
    }
    take_view(a, v);
    int rc = svg_document(out, v, 1);
    views_free(v);
    return rc;
}

int ca_map_svg_all(FILE *out)
{
    return document_all(out, true, svg_document);
}
