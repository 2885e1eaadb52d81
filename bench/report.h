/* SPDX-License-Identifier: MIT */
/*
 * bench/report.h — results: rows, the tables on stdout, the CSV, the plot
 * data and the plots.
 *
 * Every figure is a row (workload, backend, layer, threads, metric, value,
 * unit), the columns of the CSV. Rows of a peer come from its child
 * process through a line protocol on the child's stdout:
 *
 *   ROW,<workload>,<backend>,<layer>,<threads>,<metric>,<value>,<unit>
 *   SER,<set>,<label>,<x>,<y>         a point of a plotted series
 *   FAIL,<message>                    a verification failure
 *   ID,<name>,<version>,<object>      the allocator serving malloc (--identify)
 *
 * Names never contain commas. Values are kept as the text written to the
 * CSV ("NA" when a figure does not apply).
 *
 * Thread safety: main thread only.
 */
#ifndef CA_BENCH_REPORT_H
#define CA_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct row_key {
    const char *workload; /* "W1" ... "W7" */
    const char *backend;  /* "chunkarena" or the detected allocator */
    const char *layer;    /* the sync layer ("spin/c128" for W1 at chunk 128), "-" for malloc */
    unsigned threads;
} row_key;

void row_u(const row_key *k, const char *metric, uint64_t v, const char *unit);
void row_f(const row_key *k, const char *metric, double v, int decimals, const char *unit);
void row_na(const row_key *k, const char *metric, const char *unit);

/* How a (backend, layer) is named in messages and plots: "chunkarena/spin",
 * or just the backend when the layer is "-". */
void backend_label(char *buf, size_t len, const char *backend, const char *layer);

/* The value of a row, or NULL. */
const char *row_get(const char *workload, const char *backend, const char *layer,
                    unsigned threads, const char *metric);

/* A W1 latency distribution for the plot: the CDF of n sorted samples,
 * reduced to at most about 1100 points. */
void series_cdf(const char *label, const uint64_t *sorted, size_t n);

/* Child side: write every row, series point and failure in the protocol. */
void report_dump_child(FILE *out);

/* Parent side: take one line of a child's output. Rows are added, failures
 * recorded; an ID line fills *id_* (each may be NULL). Returns false for a
 * line that is not in the protocol. */
bool report_take_line(const char *line, char *id_name, size_t id_name_len, char *id_version,
                      size_t id_version_len);

/* The table of one workload ("W1" ... "W5"), from its rows. */
void report_table(FILE *out, const char *workload);

/* Write the CSV (creating its directory); false on error (with a message). */
bool report_write_csv(const char *path);

/* Write the CSV keeping the rows of the file already there, except those
 * whose metric starts with prefix: they are replaced by this run's rows
 * with such a metric (--instr adds its figures to the last full run's). */
bool report_merge_csv(const char *path, const char *prefix);

/* Write w1_latency.dat and w3_scaling.dat in dir, then run gnuplot with
 * `script` to draw w1_latency.png and w3_scaling.png next to them. Says on
 * `out` what it did, or why not. */
void report_plots(FILE *out, const char *dir, const char *script);

/* mkdir -p; false on error (with a message). */
bool make_dirs(const char *path);

#endif /* CA_BENCH_REPORT_H */
