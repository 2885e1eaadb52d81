/* SPDX-License-Identifier: MIT */
/*
 * bench/report.c — rows, tables, CSV, plot data and plots (see report.h).
 *
 * Rows and series points live in growable arrays of fixed-size records;
 * they are filled between runs, never during one, so their malloc does not
 * disturb a measurement. A table is built from the rows of its workload:
 * one line per (backend, layer) in the order the rows were added.
 */
#define _GNU_SOURCE
#include "bench/report.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common.h"

extern char **environ;

/* ------------------------------------------------------------------ rows */

typedef struct row {
    char workload[8];
    char backend[32];
    char layer[32];
    unsigned threads;
    char metric[40];
    char value[32];
    char unit[16];
} row;

static row *rows;
static size_t nrows, caprows;

static void *grow_array(void *a, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return a;
    size_t cap2 = *cap ? *cap * 2 : 256;
    while (cap2 < need)
        cap2 *= 2;
    void *b = realloc(a, cap2 * elem);
    if (b == NULL) {
        fprintf(stderr, "ca-bench: out of memory for results\n");
        exit(1);
    }
    *cap = cap2;
    return b;
}

static void row_add(const char *w, const char *b, const char *l, unsigned t, const char *m,
                    const char *v, const char *u)
{
    rows = grow_array(rows, &caprows, nrows + 1, sizeof *rows);
    row *r = &rows[nrows++];
    snprintf(r->workload, sizeof r->workload, "%s", w);
    snprintf(r->backend, sizeof r->backend, "%s", b);
    snprintf(r->layer, sizeof r->layer, "%s", l);
    r->threads = t;
    snprintf(r->metric, sizeof r->metric, "%s", m);
    snprintf(r->value, sizeof r->value, "%s", v);
    snprintf(r->unit, sizeof r->unit, "%s", u);
}

void row_u(const row_key *k, const char *metric, uint64_t v, const char *unit)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    row_add(k->workload, k->backend, k->layer, k->threads, metric, s, unit);
}

void row_f(const row_key *k, const char *metric, double v, int decimals, const char *unit)
{
    char s[32];
    snprintf(s, sizeof s, "%.*f", decimals, v);
    row_add(k->workload, k->backend, k->layer, k->threads, metric, s, unit);
}

void row_na(const row_key *k, const char *metric, const char *unit)
{
    row_add(k->workload, k->backend, k->layer, k->threads, metric, "NA", unit);
}

void backend_label(char *buf, size_t len, const char *backend, const char *layer)
{
    if (strcmp(layer, "-") == 0)
        snprintf(buf, len, "%s", backend);
    else
        snprintf(buf, len, "%s/%s", backend, layer);
}

const char *row_get(const char *workload, const char *backend, const char *layer,
                    unsigned threads, const char *metric)
{
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->threads == threads && strcmp(r->metric, metric) == 0 &&
            strcmp(r->workload, workload) == 0 && strcmp(r->backend, backend) == 0 &&
            strcmp(r->layer, layer) == 0)
            return r->value;
    }
    return NULL;
}

/* ---------------------------------------------------------------- series */

typedef struct point {
    char set[8];
    char label[48];
    double x, y;
} point;

static point *points;
static size_t npoints, cappoints;

static void point_add(const char *set, const char *label, double x, double y)
{
    points = grow_array(points, &cappoints, npoints + 1, sizeof *points);
    point *p = &points[npoints++];
    snprintf(p->set, sizeof p->set, "%s", set);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->x = x;
    p->y = y;
}

void series_cdf(const char *label, const uint64_t *sorted, size_t n)
{
    if (n == 0)
        return;
    /* Quantiles 0.1 % apart up to 99 %, 0.01 % apart above, and the max:
     * the tail, where allocators differ, keeps its detail. */
    for (unsigned i = 1; i <= 1100; i++) {
        double q = i <= 990 ? i / 1000.0 : 0.99 + (i - 990) / 11000.0;
        if (q > 1.0)
            q = 1.0;
        size_t k = (size_t)(q * (double)n);
        if (k < 1)
            k = 1;
        if (k > n)
            k = n;
        point_add("w1", label, (double)sorted[k - 1], q);
    }
}

/* ------------------------------------------------------ child protocol */

void report_dump_child(FILE *out)
{
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        fprintf(out, "ROW,%s,%s,%s,%u,%s,%s,%s\n", r->workload, r->backend, r->layer, r->threads,
                r->metric, r->value, r->unit);
    }
    for (size_t i = 0; i < npoints; i++)
        fprintf(out, "SER,%s,%s,%.17g,%.17g\n", points[i].set, points[i].label, points[i].x,
                points[i].y);
    for (size_t i = 0; i < bench_fail_count(); i++)
        fprintf(out, "FAIL,%s\n", bench_fail_message(i));
    fflush(out);
}

/* Split s at commas into at most max fields (the last keeps its commas). */
static size_t split(char *s, char **f, size_t max)
{
    size_t n = 0;
    while (n + 1 < max) {
        f[n++] = s;
        char *c = strchr(s, ',');
        if (c == NULL)
            return n;
        *c = '\0';
        s = c + 1;
    }
    f[n++] = s;
    return n;
}

bool report_take_line(const char *line, char *id_name, size_t id_name_len, char *id_version,
                      size_t id_version_len)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *f[8];
    if (strncmp(buf, "FAIL,", 5) == 0) {
        bench_fail_note(buf + 5);
        return true;
    }
    size_t n = split(buf, f, 8);
    if (strcmp(f[0], "ROW") == 0 && n == 8) {
        row_add(f[1], f[2], f[3], (unsigned)strtoul(f[4], NULL, 10), f[5], f[6], f[7]);
        return true;
    }
    if (strcmp(f[0], "SER") == 0 && n == 5) {
        point_add(f[1], f[2], strtod(f[3], NULL), strtod(f[4], NULL));
        return true;
    }
    if (strcmp(f[0], "ID") == 0 && n >= 3) {
        if (id_name != NULL)
            snprintf(id_name, id_name_len, "%s", f[1]);
        if (id_version != NULL)
            snprintf(id_version, id_version_len, "%s", f[2]);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- tables */

typedef struct line_key {
    const char *backend, *layer;
} line_key;

/* The distinct (backend, layer) of a workload's rows, in order; returns
 * how many (at most max). */
static size_t table_lines(const char *workload, line_key *keys, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (strcmp(r->workload, workload) != 0)
            continue;
        size_t j = 0;
        while (j < n && !(strcmp(keys[j].backend, r->backend) == 0 &&
                          strcmp(keys[j].layer, r->layer) == 0))
            j++;
        if (j == n && n < max) {
            keys[n].backend = r->backend;
            keys[n].layer = r->layer;
            n++;
        }
    }
    return n;
}

/* A cell: the row's value, or "-". */
static const char *cell(const char *w, const line_key *k, unsigned t, const char *metric)
{
    const char *v = row_get(w, k->backend, k->layer, t, metric);
    return v != NULL ? v : "-";
}

/* "min..max" of a throughput, for one cell. */
static const char *spread(char *buf, size_t len, const char *w, const line_key *k, unsigned t)
{
    snprintf(buf, len, "%s..%s", cell(w, k, t, "mops_min"), cell(w, k, t, "mops_max"));
    return buf;
}

/* The same for the "no touch" figures. */
static const char *spread_nt(char *buf, size_t len, const char *w, const line_key *k)
{
    snprintf(buf, len, "%s..%s", cell(w, k, 1, "mops_notouch_min"),
             cell(w, k, 1, "mops_notouch_max"));
    return buf;
}

enum { MAX_LINES = 64 };

static void table_w1(FILE *out)
{
    line_key k[MAX_LINES];
    size_t n = table_lines("W1", k, MAX_LINES);
    fprintf(out, "  allocation latency of the successful allocations before the first failure,\n"
                 "  TSC ticks (then ns):\n");
    fprintf(out, "  %-10s %-11s %7s %7s %7s %7s %10s | %8s %8s %8s %12s\n", "backend", "layer",
            "p50", "p90", "p99", "p99.9", "max", "p50 ns", "p99 ns", "p99.9 ns", "max ns");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-10s %-11s %7s %7s %7s %7s %10s | %8s %8s %8s %12s\n", k[i].backend,
                k[i].layer, cell("W1", &k[i], 1, "alloc_p50_prefail"),
                cell("W1", &k[i], 1, "alloc_p90_prefail"), cell("W1", &k[i], 1, "alloc_p99_prefail"),
                cell("W1", &k[i], 1, "alloc_p999_prefail"),
                cell("W1", &k[i], 1, "alloc_max_prefail"),
                cell("W1", &k[i], 1, "alloc_p50_prefail_ns"),
                cell("W1", &k[i], 1, "alloc_p99_prefail_ns"),
                cell("W1", &k[i], 1, "alloc_p999_prefail_ns"),
                cell("W1", &k[i], 1, "alloc_max_prefail_ns"));
    fprintf(out, "\n  counts, failures (ticks), frees (ticks), wall time, checksums:\n");
    fprintf(out, "  %-10s %-11s %8s %7s %7s %9s %9s %9s %8s %9s\n", "backend", "layer", "1st fail",
            "ok", "failed", "fail p50", "ok p50*", "free p50", "wall ms", "checksums");
    for (size_t i = 0; i < n; i++) {
        const char *ck = cell("W1", &k[i], 1, "checksum_ok");
        const char *wall = cell("W1", &k[i], 1, "wall_s");
        char ms[32];
        if (strcmp(wall, "-") != 0)
            snprintf(ms, sizeof ms, "%.1f", strtod(wall, NULL) * 1e3);
        else
            snprintf(ms, sizeof ms, "-");
        fprintf(out, "  %-10s %-11s %8s %7s %7s %9s %9s %9s %8s %9s\n", k[i].backend, k[i].layer,
                cell("W1", &k[i], 1, "first_fail_iter"), cell("W1", &k[i], 1, "ok"),
                cell("W1", &k[i], 1, "failed"), cell("W1", &k[i], 1, "failed_alloc_p50"),
                cell("W1", &k[i], 1, "alloc_p50_postfail"), cell("W1", &k[i], 1, "free_p50"), ms,
                strcmp(ck, "1") == 0 ? "match" : strcmp(ck, "0") == 0 ? "MISMATCH" : "n/a");
    }
    fprintf(out, "  (* ok p50: successful allocations after the first failure)\n");

    /* The checksums themselves: one line when every row agrees. */
    bool same = true;
    for (size_t i = 1; i < n; i++)
        same = same &&
               strcmp(cell("W1", &k[i], 1, "sum_size"), cell("W1", &k[0], 1, "sum_size")) == 0 &&
               strcmp(cell("W1", &k[i], 1, "sum_align"), cell("W1", &k[0], 1, "sum_align")) == 0 &&
               strcmp(cell("W1", &k[i], 1, "free_events"), cell("W1", &k[0], 1, "free_events")) ==
                   0 &&
               strcmp(cell("W1", &k[i], 1, "checksum_ok"), cell("W1", &k[0], 1, "checksum_ok")) ==
                   0;
    for (size_t i = 0; i < n && (i == 0 || !same); i++) {
        const char *ck = cell("W1", &k[i], 1, "checksum_ok");
        char who[80];
        if (same)
            snprintf(who, sizeof who, "of every row");
        else
            snprintf(who, sizeof who, "of %s %s", k[i].backend, k[i].layer);
        fprintf(out, "  checksums %s: sum(size)=%s sum(align)=%s free events=%s -> %s\n", who,
                cell("W1", &k[i], 1, "sum_size"), cell("W1", &k[i], 1, "sum_align"),
                cell("W1", &k[i], 1, "free_events"),
                strcmp(ck, "1") == 0   ? "match docs/WORKLOADS.md"
                : strcmp(ck, "0") == 0 ? "DO NOT MATCH docs/WORKLOADS.md"
                                       : "not checked (no reference for this count)");
    }
}

/* W2 and W7: throughput with the touch and without, latency; W7 also the
 * free runs examined per allocation. */
static void table_churn(FILE *out, const char *w)
{
    line_key k[MAX_LINES];
    size_t n = table_lines(w, k, MAX_LINES);
    bool w7 = strcmp(w, "W7") == 0;
    char sp[80], sp2[80];
    fprintf(out, "  %-14s %-7s %8s %-17s | %-27s %6s | %-34s%s\n", "backend", "layer", "Mops/s",
            " (min..max)", "no touch (min..max)", "failed", "alloc ticks: p50 p90 p99 p99.9 max",
            w7 ? " | runs/alloc" : "");
    for (size_t i = 0; i < n; i++) {
        const char *runs = cell(w, &k[i], 1, "runs_per_alloc");
        fprintf(out, "  %-14s %-7s %8s  %-16s | %8s %-18s %6s | %6s %6s %6s %6s %8s", k[i].backend,
                k[i].layer, cell(w, &k[i], 1, "mops"), spread(sp, sizeof sp, w, &k[i], 1),
                cell(w, &k[i], 1, "mops_notouch"), spread_nt(sp2, sizeof sp2, w, &k[i]),
                cell(w, &k[i], 1, "failed"), cell(w, &k[i], 1, "alloc_p50"),
                cell(w, &k[i], 1, "alloc_p90"), cell(w, &k[i], 1, "alloc_p99"),
                cell(w, &k[i], 1, "alloc_p999"), cell(w, &k[i], 1, "alloc_max"));
        if (w7)
            fprintf(out, " | %10s", strcmp(runs, "NA") == 0 ? "n/a" : runs);
        fputc('\n', out);
    }
}

/* W3 (T threads) and W6 (T pairs): aggregate throughput by T. */
static void table_threads(FILE *out, const char *w)
{
    line_key k[MAX_LINES];
    size_t n = table_lines(w, k, MAX_LINES);
    bool w6 = strcmp(w, "W6") == 0;
    unsigned ts[16];
    size_t nt = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (strcmp(rows[i].workload, w) != 0)
            continue;
        size_t j = 0;
        while (j < nt && ts[j] != rows[i].threads)
            j++;
        if (j == nt && nt < 16)
            ts[nt++] = rows[i].threads;
    }
    for (size_t i = 1; i < nt; i++) /* ascending */
        for (size_t j = i; j > 0 && ts[j - 1] > ts[j]; j--) {
            unsigned t = ts[j];
            ts[j] = ts[j - 1];
            ts[j - 1] = t;
        }
    fprintf(out, "  aggregate Mops/s (min..max over the runs); failed allocations, if any, "
                 "after /:\n");
    fprintf(out, "  %-14s %-7s", "backend", "layer");
    for (size_t j = 0; j < nt; j++) {
        char h[16];
        snprintf(h, sizeof h, "%s=%u", w6 ? "pairs" : "T", ts[j]);
        fprintf(out, " %8s %-16s", h, "");
    }
    fputc('\n', out);
    bool any_cut = false, any_stopped = false;
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "  %-14s %-7s", k[i].backend, k[i].layer);
        for (size_t j = 0; j < nt; j++) {
            char sp[80], sp2[128];
            const char *v = row_get(w, k[i].backend, k[i].layer, ts[j], "mops");
            const char *runs = row_get(w, k[i].backend, k[i].layer, ts[j], "runs");
            const char *planned = row_get(w, k[i].backend, k[i].layer, ts[j], "runs_planned");
            const char *part = row_get(w, k[i].backend, k[i].layer, ts[j], "partial_runs");
            const char *failed = row_get(w, k[i].backend, k[i].layer, ts[j], "failed");
            bool cut = runs && planned && strcmp(runs, planned) != 0;
            bool stopped = part && strcmp(part, "0") != 0;
            bool show_failed = failed != NULL && strcmp(failed, "0") != 0;
            any_cut = any_cut || cut;
            any_stopped = any_stopped || stopped;
            snprintf(sp2, sizeof sp2, "%s%s%s%s%s",
                     v != NULL ? spread(sp, sizeof sp, w, &k[i], ts[j]) : "", cut ? "*" : "",
                     stopped ? "!" : "", show_failed ? " /" : "", show_failed ? failed : "");
            fprintf(out, " %8s %-16s", v != NULL ? v : "-", sp2);
        }
        fputc('\n', out);
    }
    if (any_cut)
        fprintf(out, "  (* fewer timed runs than planned: the configuration had spent its time "
                     "budget; see the runs rows of the CSV)\n");
    if (any_stopped)
        fprintf(out, "  (! at least one run was stopped at the deadline: its rate is over the ops "
                     "it did; see partial_runs)\n");
}

static void table_w4(FILE *out)
{
    line_key k[MAX_LINES];
    size_t n = table_lines("W4", k, MAX_LINES);
    char sp[80];
    char sp2[80];
    fprintf(out, "  %-14s %-7s %8s %-17s | %-27s %6s | %9s %12s %12s %9s\n", "backend", "layer",
            "Mops/s", " (min..max)", "no touch (min..max)", "failed", "footprint", "peak req B",
            "usable B", "stats*");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-14s %-7s %8s  %-16s | %8s %-18s %6s | %9s %12s %12s %9s\n",
                k[i].backend, k[i].layer, cell("W4", &k[i], 1, "mops"),
                spread(sp, sizeof sp, "W4", &k[i], 1), cell("W4", &k[i], 1, "mops_notouch"),
                spread_nt(sp2, sizeof sp2, "W4", &k[i]), cell("W4", &k[i], 1, "failed"),
                cell("W4", &k[i], 1, "footprint_ratio"),
                cell("W4", &k[i], 1, "peak_requested_bytes"),
                cell("W4", &k[i], 1, "usable_at_peak_bytes"),
                cell("W4", &k[i], 1, "footprint_ratio_stats"));
}

static void table_w5(FILE *out)
{
    line_key k[MAX_LINES];
    size_t n = table_lines("W5", k, MAX_LINES);
    char sp[80];
    fprintf(out, "  %-10s %-7s %8s %-17s %6s | %8s %8s %8s %13s\n", "backend", "layer", "Mops/s",
            " (min..max)", "failed", "growths", "in place", "moves", "bytes copied");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-10s %-7s %8s  %-16s %6s | %8s %8s %8s %13s\n", k[i].backend, k[i].layer,
                cell("W5", &k[i], 1, "mops"), spread(sp, sizeof sp, "W5", &k[i], 1),
                cell("W5", &k[i], 1, "failed"), cell("W5", &k[i], 1, "growths"),
                cell("W5", &k[i], 1, "inplace_share"), cell("W5", &k[i], 1, "moves"),
                cell("W5", &k[i], 1, "bytes_copied"));
}

void report_table(FILE *out, const char *workload)
{
    if (strcmp(workload, "W1") == 0)
        table_w1(out);
    else if (strcmp(workload, "W2") == 0 || strcmp(workload, "W7") == 0)
        table_churn(out, workload);
    else if (strcmp(workload, "W3") == 0 || strcmp(workload, "W6") == 0)
        table_threads(out, workload);
    else if (strcmp(workload, "W4") == 0)
        table_w4(out);
    else if (strcmp(workload, "W5") == 0)
        table_w5(out);
    fflush(out);
}

/* ------------------------------------------------------------ files */

bool make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "ca-bench: cannot create %s: %s\n", buf, strerror(errno));
            return false;
        }
        *p = c;
        if (c == '\0')
            return true;
    }
}

/* The directory part of path ("." if none) into buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s", path);
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        snprintf(buf, len, ".");
    else if (slash == buf)
        slash[1] = '\0';
    else
        *slash = '\0';
    return buf;
}

bool report_merge_csv(const char *path, const char *prefix)
{
    /* Keep the old file's rows whose metric does not start with prefix. */
    FILE *old = fopen(path, "r");
    if (old != NULL) {
        row *mine = rows;
        size_t n_mine = nrows, cap_mine = caprows;
        rows = NULL;
        nrows = caprows = 0;
        char line[1024];
        bool header = true;
        while (fgets(line, sizeof line, old) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            char *f[8];
            if (header) {
                header = false;
                continue;
            }
            if (split(line, f, 8) != 7 || strncmp(f[4], prefix, strlen(prefix)) == 0)
                continue;
            row_add(f[0], f[1], f[2], (unsigned)strtoul(f[3], NULL, 10), f[4], f[5], f[6]);
        }
        fclose(old);
        for (size_t i = 0; i < n_mine; i++)
            if (strncmp(mine[i].metric, prefix, strlen(prefix)) == 0)
                row_add(mine[i].workload, mine[i].backend, mine[i].layer, mine[i].threads,
                        mine[i].metric, mine[i].value, mine[i].unit);
        free(mine);
        (void)cap_mine;
    }
    return report_write_csv(path);
}

bool report_write_csv(const char *path)
{
    char dir[4096];
    if (!make_dirs(dir_of(path, dir, sizeof dir)))
        return false;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "ca-bench: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "workload,backend,layer,threads,metric,value,unit\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        fprintf(f, "%s,%s,%s,%u,%s,%s,%s\n", r->workload, r->backend, r->layer, r->threads,
                r->metric, r->value, r->unit);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "ca-bench: error writing %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

/* Write every series of `set` as gnuplot data blocks (a quoted title line,
 * then "x y" lines; blocks apart by two blank lines). Returns the count;
 * *ca gets how many are chunkarena's (they come first). */
static size_t write_series(FILE *f, const char *set, size_t *ca)
{
    size_t blocks = 0;
    *ca = 0;
    for (size_t i = 0; i < npoints; i++) {
        if (strcmp(points[i].set, set) != 0)
            continue;
        bool first = true; /* first point of its label? */
        for (size_t j = 0; j < i && first; j++)
            if (strcmp(points[j].set, set) == 0 && strcmp(points[j].label, points[i].label) == 0)
                first = false;
        if (!first)
            continue;
        fprintf(f, "%s\"%s\" \"\"\n", blocks ? "\n\n" : "", points[i].label);
        if (strncmp(points[i].label, "chunkarena/", 11) == 0)
            (*ca)++;
        for (size_t j = i; j < npoints; j++)
            if (strcmp(points[j].set, set) == 0 && strcmp(points[j].label, points[i].label) == 0)
                fprintf(f, "%.10g %.10g\n", points[j].x, points[j].y);
        blocks++;
    }
    return blocks;
}

/* The W3 throughput rows as series "w3": one per backend/layer, x = T. */
static void w3_series(void)
{
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (strcmp(r->workload, "W3") != 0 || strcmp(r->metric, "mops") != 0)
            continue;
        char label[72];
        backend_label(label, sizeof label, r->backend, r->layer);
        point_add("w3", label, (double)r->threads, strtod(r->value, NULL));
    }
}

/* The full path of `prog` on PATH into buf, or false. */
static bool on_path(const char *prog, char *buf, size_t len)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", prog);
        if (access(buf, X_OK) == 0)
            return true;
        if (end == NULL)
            break;
        path = end + 1;
    }
    return false;
}

/* Append name='value' to a gnuplot -e string (quotes doubled). */
static void gp_var(char *buf, size_t len, const char *name, const char *value)
{
    size_t at = strlen(buf);
    at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s='", name);
    for (const char *c = value; *c != '\0' && at + 3 < len; c++) {
        if (*c == '\'')
            buf[at++] = '\'';
        buf[at++] = *c;
    }
    if (at + 3 < len)
        snprintf(buf + at, len - at, "'; ");
}

void report_plots(FILE *out, const char *dir, const char *script)
{
    if (!make_dirs(dir))
        return;
    w3_series();
    char w1data[4096], w3data[4096], w1png[4096], w3png[4096];
    snprintf(w1data, sizeof w1data, "%s/w1_latency.dat", dir);
    snprintf(w3data, sizeof w3data, "%s/w3_scaling.dat", dir);
    snprintf(w1png, sizeof w1png, "%s/w1_latency.png", dir);
    snprintf(w3png, sizeof w3png, "%s/w3_scaling.png", dir);
    size_t blocks[2] = {0, 0}, ca[2] = {0, 0};
    const char *files[2] = {w1data, w3data};
    const char *sets[2] = {"w1", "w3"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "w");
        if (f == NULL) {
            fprintf(out, "plots: cannot write %s: %s\n", files[i], strerror(errno));
            return;
        }
        blocks[i] = write_series(f, sets[i], &ca[i]);
        fclose(f);
    }
    fprintf(out, "plot data: %s (%zu series), %s (%zu series)\n", w1data, blocks[0], w3data,
            blocks[1]);

    char gnuplot[4096];
    if (!on_path("gnuplot", gnuplot, sizeof gnuplot)) {
        fprintf(out, "plots: gnuplot is not on PATH: PNGs skipped (the data files are written)\n");
        return;
    }
    if (script == NULL || access(script, R_OK) != 0) {
        fprintf(out, "plots: gnuplot script %s not found: PNGs skipped (use --plot-script)\n",
                script ? script : "(none)");
        return;
    }
    char vars[16384] = "";
    gp_var(vars, sizeof vars, "w1data", blocks[0] ? w1data : "");
    gp_var(vars, sizeof vars, "w1png", w1png);
    gp_var(vars, sizeof vars, "w3data", blocks[1] ? w3data : "");
    gp_var(vars, sizeof vars, "w3png", w3png);
    size_t at = strlen(vars);
    snprintf(vars + at, sizeof vars - at, "w1ca=%zu; w3ca=%zu; ", ca[0], ca[1]);
    char *argv[] = {gnuplot, "-e", vars, (char *)script, NULL};
    pid_t pid;
    int ws = 0;
    if (posix_spawn(&pid, gnuplot, NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        fprintf(out, "plots: gnuplot failed (see its messages above)\n");
        return;
    }
    fprintf(out, "plots: %s%s%s\n", blocks[0] ? w1png : "", blocks[0] && blocks[1] ? ", " : "",
            blocks[1] ? w3png : "");
}
