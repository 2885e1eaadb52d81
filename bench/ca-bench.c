/* SPDX-License-Identifier: MIT */
/*
 * bench/ca-bench.c — the benchmark of chunkarena: options, the plan of a
 * run, the drivers that turn workload runs into rows, and the peers.
 *
 * For each selected workload, ca-bench runs every chunkarena sync layer
 * and the malloc of this process, then each installed peer allocator
 * (jemalloc, mimalloc, tcmalloc) by running itself as a child
 * (`ca-bench --child ...`) under LD_PRELOAD, and prints the workload's
 * table. At the end it writes the CSV, the plot data and the plots.
 *
 * Method (the same for every backend): a configuration first runs once,
 * untimed, with its instruments on (event log for the overlap check,
 * per-call rdtscp in W2/W4, usable sizes in W4); that run also warms the
 * memory. Then the timed repetitions run with no instrument and their
 * median is reported, with min and max. W1 is a single run timed per call.
 * A failed verification is printed loudly and makes the exit status 1.
 *
 * Output: bench/results/latest.csv (or --csv), header
 * `workload,backend,layer,threads,metric,value,unit`. backend is
 * "chunkarena" or the allocator detected in the process that ran the row;
 * layer is the sync layer, or "-" for malloc; W1 at chunk sizes other than
 * 256 names the chunk size in the layer column: "spin/c128", "hint/c512"
 * (no suffix: 256). threads is T in W3, 1 elsewhere. "NA": the figure does
 * not apply (no failure, so no first_fail_iter). --help lists the metrics.
 *
 * Thread safety: the main thread drives everything; W3 starts its own
 * threads inside w3_run.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench/backends.h"
#include "bench/common.h"
#include "bench/peers.h"
#include "bench/report.h"
#include "bench/timing.h"
#include "bench/verify.h"
#include "bench/workloads.h"

/* ------------------------------------------------------------ options */

enum { NWORKLOADS = 5 };
static const char *const workload_ids[NWORKLOADS] = {"W1", "W2", "W3", "W4", "W5"};

/* Backends, as --backends names them: bits of options.backends. */
#define BK_CHUNKARENA (1u << 0)
#define BK_MALLOC (1u << 1)
#define BK_PEER0 (1u << 2) /* shifted left by the index in bench_peers */

typedef struct options {
    bool quick, no_plots, child, identify;
    unsigned workloads; /* bit i: workload_ids[i] */
    unsigned backends;
    unsigned layers;    /* bit i: bench_layers[i] */
    unsigned reps;      /* 0: each workload's default */
    size_t w1_iters;
    const char *csv, *results, *plot_script;
} options;

#define DEFAULT_RESULTS "bench/results"

static const char usage[] =
    "usage: ca-bench [options]\n"
    "\n"
    "Runs the workloads of docs/WORKLOADS.md against every chunkarena sync layer, the\n"
    "system malloc, and jemalloc, mimalloc and tcmalloc when installed (each in a\n"
    "child process under LD_PRELOAD); prints one table per workload, writes a CSV,\n"
    "plot data and, with gnuplot, PNG plots.\n"
    "\n"
    "  --quick            a short run (under 30 s on 2 cores): fewer ops and\n"
    "                     repetitions in W2-W5; W1 keeps its 75,000 iterations\n"
    "  --workloads=LIST   W1,W2,W3,W4,W5 or all (default all)\n"
    "  --backends=LIST    chunkarena, malloc (this process's allocator), jemalloc,\n"
    "                     mimalloc, tcmalloc, peers (the three), all (default all)\n"
    "  --layers=LIST      chunkarena layers: none,spin,ticket,mutex,hint or all\n"
    "  --reps=N           timed repetitions of W2-W5 (default 5; W3 3; quick 3);\n"
    "                     medians are reported, with min..max; W3 bounds a\n"
    "                     configuration that crawls (a run is stopped after 15 s,\n"
    "                     quick 2 s; no further run once 20 s, quick 3 s, are\n"
    "                     spent): the table marks it, the CSV says runs and\n"
    "                     partial_runs\n"
    "  --w1-iters=N       W1 iterations (default 75000); its checksums are checked\n"
    "                     against docs/WORKLOADS.md for 75000 and 100000 only\n"
    "  --results=DIR      plot data and PNGs go here (default " DEFAULT_RESULTS ")\n"
    "  --csv=PATH         the CSV (default DIR/latest.csv)\n"
    "  --plot-script=PATH the gnuplot script (default: bench/plots.gp of the source)\n"
    "  --no-plots         write no plot data and run no gnuplot\n"
    "  --help             this text\n"
    "  (--child, --identify: internal, how the parent runs a peer)\n"
    "\n"
    "CSV columns: workload,backend,layer,threads,metric,value,unit\n"
    "  backend  \"chunkarena\", or the allocator that really served malloc, as\n"
    "           detected in the process that ran the row (glibc, jemalloc, ...)\n"
    "  layer    the sync layer (none, spin, ticket, mutex, hint) for chunkarena,\n"
    "           \"-\" for malloc; W1 runs at chunk sizes other than 256 say it as\n"
    "           \"<layer>/c<size>\", e.g. spin/c128 (no suffix: chunk 256)\n"
    "  threads  T for W3, 1 elsewhere\n"
    "  value    \"NA\" when a figure does not apply (e.g. first_fail_iter when no\n"
    "           allocation failed)\n"
    "  metrics  W1: alloc_{p50,p90,p99,p999,max}_prefail (ticks; _ns: ns),\n"
    "           first_fail_iter (0-based), ok, failed, failed_alloc_p50, alloc_p50_postfail,\n"
    "           free_p50 (ticks), sum_size, sum_align, free_events, checksum_ok, wall_s;\n"
    "           W2-W5: mops (median), mops_min, mops_max, runs, failed;\n"
    "           W2/W4: alloc_{p50,p90,p99,p999,max} (ticks, untimed verified run);\n"
    "           W4: footprint_ratio (usable bytes / requested bytes at the peak of\n"
    "           requested bytes), footprint_ratio_stats (chunkarena: from\n"
    "           ca_arena_stats); W5: inplace_share, growths, moves, bytes_copied\n"
    "\n"
    "Exit status: 0; 1 if a verification failed (W1 checksums, W5 pattern,\n"
    "overlapping blocks, arena invariants); 2 for a bad option.\n";

static void bad_option(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void bad_option(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ca-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nca-bench: try --help\n");
    va_end(ap);
    exit(2);
}

/* The value of "--name=value" if arg is that option, else NULL. */
static const char *option_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] != '=')
        return NULL;
    return arg + n + 1;
}

static unsigned long parse_count(const char *name, const char *v, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 || n == 0 || n > max)
        bad_option("%s: expected a whole number from 1 to %lu, got '%s'", name, max, v);
    return n;
}

/* Parse a comma-separated list; each item goes to item(), which returns
 * the bits it selects, or 0 for an unknown name. */
static unsigned parse_list(const char *name, const char *v, unsigned (*item)(const char *))
{
    char buf[256];
    if (*v == '\0' || strlen(v) >= sizeof buf)
        bad_option("%s: expected a comma-separated list", name);
    snprintf(buf, sizeof buf, "%s", v);
    unsigned bits = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        unsigned b = item(t);
        if (b == 0)
            bad_option("%s: unknown name '%s'", name, t);
        bits |= b;
    }
    if (bits == 0)
        bad_option("%s: expected a comma-separated list", name);
    return bits;
}

static unsigned workload_item(const char *t)
{
    if (strcasecmp(t, "all") == 0)
        return (1u << NWORKLOADS) - 1;
    for (unsigned i = 0; i < NWORKLOADS; i++)
        if (strcasecmp(t, workload_ids[i]) == 0)
            return 1u << i;
    return 0;
}

static unsigned backend_item(const char *t)
{
    unsigned peers = ((1u << PEER_COUNT) - 1) * BK_PEER0;
    if (strcmp(t, "all") == 0)
        return BK_CHUNKARENA | BK_MALLOC | peers;
    if (strcmp(t, "chunkarena") == 0)
        return BK_CHUNKARENA;
    if (strcmp(t, "malloc") == 0)
        return BK_MALLOC;
    if (strcmp(t, "peers") == 0)
        return peers;
    for (unsigned i = 0; i < PEER_COUNT; i++)
        if (strcmp(t, bench_peers[i].label) == 0)
            return BK_PEER0 << i;
    return 0;
}

static unsigned layer_item(const char *t)
{
    if (strcmp(t, "all") == 0)
        return (1u << 5) - 1;
    ca_lock lock;
    if (!layer_parse(t, &lock))
        return 0;
    for (unsigned i = 0; i < 5; i++)
        if (bench_layers[i] == lock)
            return 1u << i;
    return 0;
}

static void parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->workloads = (1u << NWORKLOADS) - 1;
    o->backends = backend_item("all");
    o->layers = layer_item("all");
    o->w1_iters = W1_ITERS;
    o->results = DEFAULT_RESULTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--no-plots") == 0) {
            o->no_plots = true;
        } else if (strcmp(a, "--child") == 0) {
            o->child = true;
        } else if (strcmp(a, "--identify") == 0) {
            o->identify = true;
        } else if ((v = option_value(a, "--workloads")) != NULL) {
            o->workloads = parse_list("--workloads", v, workload_item);
        } else if ((v = option_value(a, "--backends")) != NULL) {
            o->backends = parse_list("--backends", v, backend_item);
        } else if ((v = option_value(a, "--layers")) != NULL) {
            o->layers = parse_list("--layers", v, layer_item);
        } else if ((v = option_value(a, "--reps")) != NULL) {
            o->reps = (unsigned)parse_count("--reps", v, 1000);
        } else if ((v = option_value(a, "--w1-iters")) != NULL) {
            o->w1_iters = parse_count("--w1-iters", v, 100000000);
        } else if ((v = option_value(a, "--csv")) != NULL && *v != '\0') {
            o->csv = v;
        } else if ((v = option_value(a, "--results")) != NULL && *v != '\0') {
            o->results = v;
        } else if ((v = option_value(a, "--plot-script")) != NULL && *v != '\0') {
            o->plot_script = v;
        } else {
            bad_option("unknown option, or an option without its value: '%s'", a);
        }
    }
}

/* ---------------------------------------------------------------- plan */

typedef struct plan {
    size_t w1_iters;
    size_t ops[NWORKLOADS];   /* W2-W5 (W3: per thread) */
    unsigned reps[NWORKLOADS];
    size_t w3_verify_ops;     /* per thread, in W3's verified run (it only checks) */
    double w3_budget_s;       /* W3: no further timed run once a configuration took this */
    double w3_deadline_s;     /* W3: a run still going after this is stopped (partial) */
} plan;

static const unsigned w3_threads[] = {1, 2, 8};

static void make_plan(const options *o, plan *p)
{
    memset(p, 0, sizeof *p);
    p->w1_iters = o->w1_iters;
    size_t full[NWORKLOADS] = {0, W2_OPS, W3_OPS_PER_THREAD, W4_OPS, W5_OPS};
    size_t quick[NWORKLOADS] = {0, W2_OPS / 10, W3_OPS_PER_THREAD / 50, W4_OPS / 10, W5_OPS / 10};
    unsigned reps[NWORKLOADS] = {1, 5, 3, 5, 5};
    for (int i = 1; i < NWORKLOADS; i++) {
        p->ops[i] = o->quick ? quick[i] : full[i];
        p->reps[i] = o->reps ? o->reps : o->quick ? 3 : reps[i];
    }
    p->w3_verify_ops = p->ops[2] < 100000 ? p->ops[2] : 100000;
    p->w3_budget_s = o->quick ? 3.0 : 20.0;
    p->w3_deadline_s = o->quick ? 2.0 : 15.0;
}

/* ------------------------------------------------------------- drivers */

/* One configuration: what runs and how its rows are named. */
typedef struct config {
    bench_backend spec;
    const char *backend; /* row backend column */
    char layer[48];      /* row layer column */
    char label[80];      /* for plots: "chunkarena/spin" (backend_label) */
    char what[96];       /* for messages: "W2 chunkarena/spin" */
} config;

static void config_name(config *c, const char *workload)
{
    backend_label(c->label, sizeof c->label, c->backend, c->layer);
    snprintf(c->what, sizeof c->what, "%s %s", workload, c->label);
}

/* Latency percentiles of sorted ticks: <prefix>_{p50,...}<suffix> in ticks
 * and again in ns; NA when there is no sample. */
static void latency_rows(const row_key *k, const char *prefix, const char *suffix,
                         const uint64_t *sorted, size_t n)
{
    static const struct {
        const char *name;
        double p;
    } pcts[] = {{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}, {"max", 100.0}};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        char m[64], mns[64];
        snprintf(m, sizeof m, "%s_%s%s", prefix, pcts[i].name, suffix);
        snprintf(mns, sizeof mns, "%s_%s%s_ns", prefix, pcts[i].name, suffix);
        if (n == 0) {
            row_na(k, m, "ticks");
            row_na(k, mns, "ns");
            continue;
        }
        uint64_t v = pct_u64(sorted, n, pcts[i].p);
        row_u(k, m, v, "ticks");
        row_f(k, mns, tsc_ns((double)v), 1, "ns");
    }
}

/* A single figure of sorted ticks (p50 of failed allocations, of frees). */
static void tick_row(const row_key *k, const char *metric, const uint64_t *sorted, size_t n,
                     double p)
{
    if (n == 0) {
        row_na(k, metric, "ticks");
        return;
    }
    row_u(k, metric, pct_u64(sorted, n, p), "ticks");
}

/* Median, min and max of per-run throughputs. */
static void mops_rows(const row_key *k, double *mops, unsigned runs)
{
    row_f(k, "mops_min", min_d(mops, runs), 3, "Mops/s");
    row_f(k, "mops_max", max_d(mops, runs), 3, "Mops/s");
    row_f(k, "mops", median_d(mops, runs), 3, "Mops/s");
    row_u(k, "runs", runs, "count");
}

static void run_w1(const plan *pl, config *c, bool plot)
{
    config_name(c, "W1");
    bench_progress("  %s", c->what);
    row_key k = {"W1", c->backend, c->layer, 1};
    bench_heap h;
    event_log log;
    w1_result r;
    log_init(&log, 2 * pl->w1_iters);
    heap_open(&h, &c->spec);
    w1_run(&h, pl->w1_iters, &log, &r);
    heap_close(&h, c->what);
    log_replay(&log, c->what);
    log_release(&log);

    uint64_t es, ea, ef;
    bool known = w1_expected(r.iters, &es, &ea, &ef);
    bool match = known && r.sum_size == es && r.sum_align == ea && r.free_events == ef;
    if (known && !match)
        bench_fail("%s: checksums sum(size)=%llu sum(align)=%llu free events=%llu differ from "
                   "docs/WORKLOADS.md (%llu, %llu, %llu): the replay is not exact",
                   c->what, (unsigned long long)r.sum_size, (unsigned long long)r.sum_align,
                   (unsigned long long)r.free_events, (unsigned long long)es,
                   (unsigned long long)ea, (unsigned long long)ef);
    if (r.misaligned != 0)
        bench_fail("%s: %zu blocks were not aligned as asked", c->what, r.misaligned);
    if (r.have_stats && r.stats_failures != r.failed)
        bench_fail("%s: ca_arena_stats counts %zu failures, the run saw %zu", c->what,
                   r.stats_failures, r.failed);

    row_u(&k, "iterations", r.iters, "count");
    latency_rows(&k, "alloc", "_prefail", r.lat_prefail, r.n_prefail);
    if (r.first_fail >= 0)
        row_u(&k, "first_fail_iter", (uint64_t)r.first_fail, "iter");
    else
        row_na(&k, "first_fail_iter", "iter");
    row_u(&k, "ok", r.ok, "count");
    row_u(&k, "failed", r.failed, "count");
    tick_row(&k, "failed_alloc_p50", r.lat_failed, r.n_failed, 50.0);
    tick_row(&k, "failed_alloc_p99", r.lat_failed, r.n_failed, 99.0);
    tick_row(&k, "alloc_p50_postfail", r.lat_postfail, r.n_postfail, 50.0);
    tick_row(&k, "free_p50", r.lat_free, r.n_free, 50.0);
    tick_row(&k, "free_p99", r.lat_free, r.n_free, 99.0);
    row_u(&k, "frees", r.frees, "count");
    row_u(&k, "sum_size", r.sum_size, "bytes");
    row_u(&k, "sum_align", r.sum_align, "bytes");
    row_u(&k, "free_events", r.free_events, "count");
    if (known)
        row_u(&k, "checksum_ok", match, "bool");
    else
        row_na(&k, "checksum_ok", "bool");
    row_f(&k, "wall_s", r.wall_s, 4, "s");
    if (plot)
        series_cdf(c->label, r.lat_prefail, r.n_prefail);
    w1_release(&r);
}

/* The failed allocations of W2-W5 (the most seen in one run): none should
 * fail there, so any is worth a warning (not a verification failure: the
 * replay is right, the allocator could not serve it). */
static void failed_row(const row_key *k, const char *what, size_t failed)
{
    row_u(k, "failed", failed, "count");
    if (failed != 0)
        fprintf(stderr, "ca-bench: WARNING: %s: %zu allocations failed (none should)\n", what,
                failed);
}

/* W2 and W4: a verified run, then the timed repetitions. */
static void run_churn(const plan *pl, config *c, const char *workload)
{
    bool w4 = strcmp(workload, "W4") == 0;
    int wi = w4 ? 3 : 1;
    config_name(c, workload);
    bench_progress("  %s", c->what);
    row_key k = {workload, c->backend, c->layer, 1};
    churn_config cfg = {w4 ? CHURN_W4 : CHURN_W2, W2_SEED, pl->ops[wi], W2_SLOTS, NULL, NULL};
    bench_heap h;
    churn_result r;

    /* The verified run: overlap log, per-call latency, footprint (W4). */
    event_log log;
    log_init(&log, cfg.ops + cfg.slots);
    churn_probe probe;
    memset(&probe, 0, sizeof probe);
    probe.log = &log;
    probe.lat = bench_map(cfg.ops * sizeof(uint64_t));
    probe.footprint = w4;
    heap_open(&h, &c->spec);
    churn_run(&h, &cfg, &probe, &r);
    heap_close(&h, c->what);
    log_replay(&log, c->what);
    log_release(&log);
    if (probe.misaligned != 0)
        bench_fail("%s: %zu blocks were not aligned as asked", c->what, probe.misaligned);
    size_t failed = r.failed;
    sort_u64(probe.lat, probe.n_lat);
    latency_rows(&k, "alloc", "", probe.lat, probe.n_lat);
    bench_unmap(probe.lat, cfg.ops * sizeof(uint64_t));

    if (w4) {
        row_u(&k, "peak_requested_bytes", probe.peak_requested, "bytes");
        row_u(&k, "usable_at_peak_bytes", probe.usable_at_peak, "bytes");
        row_f(&k, "footprint_ratio",
              probe.peak_requested ? (double)probe.usable_at_peak / (double)probe.peak_requested
                                   : 0.0,
              4, "ratio");
        if (c->spec.kind == BENCH_CHUNKARENA && r.failed == 0) {
            /* Replay up to the peak and ask the arena what it holds there. */
            churn_config upto = cfg;
            upto.ops = probe.peak_op + 1;
            churn_probe at;
            memset(&at, 0, sizeof at);
            at.footprint = true;
            at.stats_at_end = true;
            heap_open(&h, &c->spec);
            churn_run(&h, &upto, &at, &r);
            heap_close(&h, c->what);
            if (at.requested_at_end != probe.peak_requested)
                bench_fail("%s: the replay to the peak holds %zu requested bytes, not %zu",
                           c->what, at.requested_at_end, probe.peak_requested);
            else if (at.held_stats_at_end != at.usable_at_end)
                bench_fail("%s: at the peak, ca_arena_stats chunks_used * chunk_size = %zu, "
                           "but the live blocks' ca_usable_size add up to %zu",
                           c->what, at.held_stats_at_end, at.usable_at_end);
            row_f(&k, "footprint_ratio_stats",
                  (double)at.held_stats_at_end / (double)probe.peak_requested, 4, "ratio");
        } else {
            row_na(&k, "footprint_ratio_stats", "ratio");
        }
    }

    double mops[1000];
    for (unsigned i = 0; i < pl->reps[wi]; i++) {
        heap_open(&h, &c->spec);
        churn_run(&h, &cfg, NULL, &r);
        heap_close(&h, c->what);
        mops[i] = (double)r.ops / (r.t1 - r.t0) / 1e6;
        if (r.failed > failed)
            failed = r.failed;
    }
    mops_rows(&k, mops, pl->reps[wi]);
    failed_row(&k, c->what, failed);
}

static void run_w3(const plan *pl, config *c, unsigned threads)
{
    config_name(c, "W3");
    bench_progress("  %s T=%u", c->what, threads);
    row_key k = {"W3", c->backend, c->layer, threads};
    size_t ops = pl->ops[2];
    bench_heap h;
    churn_result r;

    event_log log;
    log_init(&log, threads * (pl->w3_verify_ops + W2_SLOTS));
    heap_open(&h, &c->spec);
    w3_run(&h, threads, pl->w3_verify_ops, &log, pl->w3_deadline_s, &r);
    heap_close(&h, c->what);
    char what[100];
    snprintf(what, sizeof what, "%s T=%u", c->what, threads);
    log_replay(&log, what);
    log_release(&log);
    size_t failed = r.failed;

    /* Timed runs, cut short (and said so: the runs row) when a layer is so
     * slow under oversubscription that they would outlast the budget. */
    double mops[1000], spent = 0.0;
    unsigned runs = 0, partial = 0;
    while (runs < pl->reps[2] && (runs == 0 || spent < pl->w3_budget_s)) {
        heap_open(&h, &c->spec);
        w3_run(&h, threads, ops, NULL, pl->w3_deadline_s, &r);
        heap_close(&h, what);
        mops[runs++] = (double)r.ops / (r.t1 - r.t0) / 1e6;
        spent += r.t1 - r.t0;
        partial += r.partial;
        if (r.failed > failed)
            failed = r.failed;
    }
    if (runs < pl->reps[2] || partial != 0)
        fprintf(stderr,
                "ca-bench: note: %s: %u of %u timed runs (budget %.0f s), %u stopped at the "
                "%.0f s deadline\n",
                what, runs, pl->reps[2], pl->w3_budget_s, partial, pl->w3_deadline_s);
    mops_rows(&k, mops, runs);
    row_u(&k, "runs_planned", pl->reps[2], "count");
    row_u(&k, "partial_runs", partial, "count");
    failed_row(&k, what, failed);
}

static void check_pattern(const config *c, const grow_result *r)
{
    if (r->pattern_errors != 0)
        bench_fail("%s: the byte pattern was broken by %zu realloc(s) (the first at op %zu)",
                   c->what, r->pattern_errors, r->first_bad_op);
}

static void run_w5(const plan *pl, config *c)
{
    config_name(c, "W5");
    bench_progress("  %s", c->what);
    row_key k = {"W5", c->backend, c->layer, 1};
    size_t ops = pl->ops[4];
    bench_heap h;
    grow_result r;

    event_log log;
    log_init(&log, 2 * ops + 2 * W5_BUFFERS);
    heap_open(&h, &c->spec);
    grow_run(&h, ops, &log, &r);
    ca_stats st;
    if (heap_stats(&h, &st)) {
        if (st.moves != r.moves)
            bench_fail("%s: ca_arena_stats counts %zu moves, the run saw %zu pointers change",
                       c->what, st.moves, r.moves);
        row_u(&k, "ca_grows_in_place", st.grows_in_place, "count");
        row_u(&k, "ca_moves", st.moves, "count");
    }
    heap_close(&h, c->what);
    log_replay(&log, c->what);
    log_release(&log);
    check_pattern(c, &r);
    grow_result v = r; /* the verified run's counts are the reported ones */
    size_t failed = r.failed;

    double mops[1000];
    for (unsigned i = 0; i < pl->reps[4]; i++) {
        heap_open(&h, &c->spec);
        grow_run(&h, ops, NULL, &r);
        heap_close(&h, c->what);
        check_pattern(c, &r);
        mops[i] = (double)r.ops / r.seconds / 1e6;
        if (r.failed > failed)
            failed = r.failed;
    }
    mops_rows(&k, mops, pl->reps[4]);
    row_u(&k, "growths", v.growths, "count");
    row_u(&k, "inplace", v.inplace, "count");
    row_f(&k, "inplace_share", v.growths ? (double)v.inplace / (double)v.growths : 0.0, 4,
          "ratio");
    row_u(&k, "moves", v.moves, "count");
    row_u(&k, "bytes_copied", v.bytes_copied, "bytes");
    row_u(&k, "frees", v.frees, "count");
    failed_row(&k, c->what, failed);
}

/* Run workload wi on one configuration. */
static void run_config(const plan *pl, int wi, config *c)
{
    switch (wi) {
    case 0: {
        if (c->spec.kind == BENCH_MALLOC) { /* chunk size means nothing to malloc */
            run_w1(pl, c, true);
            break;
        }
        /* Layer column: "spin" at chunk 256, "spin/c128" at 128, ... */
        static const size_t chunks[] = {256, 128, 512};
        const char *layer = layer_name(c->spec.lock);
        for (size_t i = 0; i < 3; i++) {
            c->spec.chunk_size = chunks[i];
            if (chunks[i] == 256)
                snprintf(c->layer, sizeof c->layer, "%s", layer);
            else
                snprintf(c->layer, sizeof c->layer, "%s/c%zu", layer, chunks[i]);
            run_w1(pl, c, chunks[i] == 256);
        }
        snprintf(c->layer, sizeof c->layer, "%s", layer);
        c->spec.chunk_size = CA_DEFAULT_CHUNK_SIZE;
        break;
    }
    case 1:
        run_churn(pl, c, "W2");
        break;
    case 2:
        for (size_t i = 0; i < sizeof w3_threads / sizeof w3_threads[0]; i++)
            if (c->spec.kind != BENCH_CHUNKARENA || c->spec.lock != CA_LOCK_NONE ||
                w3_threads[i] == 1)
                run_w3(pl, c, w3_threads[i]);
        break;
    case 3: {
        size_t keep = c->spec.chunk_size;
        c->spec.chunk_size = 16; /* W4: chunk size 16 */
        run_churn(pl, c, "W4");
        c->spec.chunk_size = keep;
        break;
    }
    case 4:
        run_w5(pl, c);
        break;
    default:
        break;
    }
}

/* The configurations of this process: chunkarena layers, then malloc. */
static size_t local_configs(const options *o, const allocator_id *self, config *out)
{
    size_t n = 0;
    if (o->backends & BK_CHUNKARENA)
        for (unsigned i = 0; i < 5; i++)
            if (o->layers & (1u << i)) {
                memset(&out[n], 0, sizeof out[n]);
                out[n].spec.kind = BENCH_CHUNKARENA;
                out[n].spec.lock = bench_layers[i];
                out[n].spec.chunk_size = CA_DEFAULT_CHUNK_SIZE;
                out[n].backend = "chunkarena";
                snprintf(out[n].layer, sizeof out[n].layer, "%s", layer_name(bench_layers[i]));
                n++;
            }
    if (o->backends & BK_MALLOC) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].spec.kind = BENCH_MALLOC;
        out[n].backend = self->name;
        snprintf(out[n].layer, sizeof out[n].layer, "-");
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- peers */

typedef struct peer_state {
    bool run;                /* selected, found, and it started */
    allocator_id id;         /* what the child said serves it */
} peer_state;

static void take_id_line(const char *line, void *ctx)
{
    allocator_id *id = ctx;
    report_take_line(line, id->name, sizeof id->name, id->version, sizeof id->version);
}

static void take_line(const char *line, void *ctx)
{
    (void)ctx;
    if (!report_take_line(line, NULL, 0, NULL, 0))
        fprintf(stderr, "ca-bench: a child wrote an unexpected line: %s\n", line);
}

/* Identify each selected, installed peer by running a child. */
static void identify_peers(const options *o, peer_state *ps)
{
    peers_locate();
    for (unsigned i = 0; i < PEER_COUNT; i++) {
        const peer *p = &bench_peers[i];
        memset(&ps[i], 0, sizeof ps[i]);
        if (!(o->backends & (BK_PEER0 << i)))
            continue;
        if (!p->found) {
            printf("  %-9s not installed: skipped\n", p->label);
            continue;
        }
        char *argv[] = {"ca-bench", "--child", "--identify", NULL};
        snprintf(ps[i].id.name, sizeof ps[i].id.name, "?");
        int st = peer_run(p, argv, take_id_line, &ps[i].id);
        if (st != 0) {
            printf("  %-9s %s: the child failed (status %d): skipped\n", p->label, p->path, st);
            continue;
        }
        ps[i].run = true;
        printf("  %-9s LD_PRELOAD=%s: served by %s %s\n", p->label, p->path, ps[i].id.name,
               ps[i].id.version);
        if (strcmp(ps[i].id.name, p->label) != 0)
            printf("  WARNING: LD_PRELOAD of %s did not take: its rows will say %s\n", p->label,
                   ps[i].id.name);
    }
}

static void run_peer(const options *o, unsigned i, int wi)
{
    char wl[32], reps[32], iters[48];
    snprintf(wl, sizeof wl, "--workloads=%s", workload_ids[wi]);
    snprintf(reps, sizeof reps, "--reps=%u", o->reps);
    snprintf(iters, sizeof iters, "--w1-iters=%zu", o->w1_iters);
    char *argv[8];
    int n = 0;
    argv[n++] = "ca-bench";
    argv[n++] = "--child";
    argv[n++] = "--backends=malloc";
    argv[n++] = wl;
    argv[n++] = iters;
    if (o->reps)
        argv[n++] = reps;
    if (o->quick)
        argv[n++] = "--quick";
    argv[n] = NULL;
    bench_progress("  %s %s (child, LD_PRELOAD=%s)", workload_ids[wi], bench_peers[i].label,
                   bench_peers[i].path);
    int st = peer_run(&bench_peers[i], argv, take_line, NULL);
    if (st != 0)
        bench_fail("%s %s: the child process failed (status %d)", workload_ids[wi],
                   bench_peers[i].label, st);
}

/* ----------------------------------------------------------------- main */

static void on_fault(const ca_fault_report *r)
{
    bench_fail("chunkarena reported a fault: %s: %p in arena \"%s\": %s", r->function,
               r->pointer, r->arena, ca_fault_name(r->fault));
}

static const char *const section_titles[NWORKLOADS] = {
    "W1 seed replay: seed 0x5ca0001, 160 MiB arena, chunk 256 (also 128, 512); one run each,\n"
    "   every allocation and free timed with rdtscp",
    "W2 churn: seed 0xC0FFEE, 4096 slots, 160 MiB arena, chunk 256",
    "W3 threads: T threads, each W2 with its own slots and seed 0xC0FFEE + thread,\n"
    "   on ONE shared 160 MiB arena (chunk 256); T=8 oversubscribes 2 cores on purpose",
    "W4 small: size 16 + below(240), align 16, chunk 16, 4096 slots, seed 0xC0FFEE",
    "W5 grow: seed 0x9E0, 1024 buffers from 64 bytes; 3/4 grow by below(4096) with realloc\n"
    "   (pattern written before, verified after, in every run), 1/4 free and restart",
};

static void section_header(const plan *pl, int wi)
{
    printf("\n== %s\n", section_titles[wi]);
    switch (wi) {
    case 0: {
        uint64_t s, a, f;
        if (w1_expected(pl->w1_iters, &s, &a, &f))
            printf("   %zu iterations; docs/WORKLOADS.md checksums: sum(size)=%llu sum(align)=%llu "
                   "free events=%llu\n",
                   pl->w1_iters, (unsigned long long)s, (unsigned long long)a,
                   (unsigned long long)f);
        else
            printf("   %zu iterations: docs/WORKLOADS.md gives no checksums for this count "
                   "(75000, 100000 only): not checked\n",
                   pl->w1_iters);
        break;
    }
    case 2:
        printf("   %zu ops per thread; aggregate Mops/s = all ops / (last end - first start),\n"
               "   median of %u timed runs (fewer, marked *, once a configuration has spent\n"
               "   %.0f s) after one verified run of %zu ops per thread (untimed: overlap log);\n"
               "   a run still going after %.0f s is stopped and its rate is over the ops done\n"
               "   (marked !)\n",
               pl->ops[2], pl->reps[2], pl->w3_budget_s, pl->w3_verify_ops, pl->w3_deadline_s);
        break;
    default:
        printf("   %zu ops; Mops/s: median of %u timed runs after one verified run (untimed:\n"
               "   overlap log%s)\n",
               pl->ops[wi], pl->reps[wi],
               wi == 1 ? ", allocation latency with rdtscp"
               : wi == 3 ? ", allocation latency, usable sizes"
                         : "");
        break;
    }
    if (wi == 3)
        printf("   footprint = usable bytes / requested bytes of the live blocks when the\n"
               "   requested bytes peak; usable from ca_usable_size or malloc_usable_size (the\n"
               "   latter leaves out malloc's headers); stats* = chunks_used * chunk_size from\n"
               "   ca_arena_stats at that same op, over the same requested bytes\n");
    if (wi == 4)
        printf("   in place = share of successful growths whose pointer did not change;\n"
               "   bytes copied = the old size of every growth that moved\n");
}

/* Where the gnuplot script is, when --plot-script does not say. */
static const char *find_plot_script(char *buf, size_t len)
{
#ifdef CA_BENCH_PLOTS_GP
    if (access(CA_BENCH_PLOTS_GP, R_OK) == 0)
        return CA_BENCH_PLOTS_GP;
#endif
    if (access("bench/plots.gp", R_OK) == 0)
        return "bench/plots.gp";
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            static const char *const rel[] = {"plots.gp", "../plots.gp", "../bench/plots.gp"};
            for (size_t i = 0; i < 3; i++) {
                snprintf(buf, len, "%s/%s", exe, rel[i]);
                if (access(buf, R_OK) == 0)
                    return buf;
            }
        }
    }
    return NULL;
}

static int child_main(const options *o, const plan *pl)
{
    allocator_id self;
    allocator_detect(&self);
    if (o->identify) {
        printf("ID,%s,%s,%s\n", self.name, self.version, self.object);
        return 0;
    }
    config c;
    memset(&c, 0, sizeof c);
    c.spec.kind = BENCH_MALLOC;
    c.backend = self.name;
    snprintf(c.layer, sizeof c.layer, "-");
    for (int wi = 0; wi < NWORKLOADS; wi++)
        if (o->workloads & (1u << wi))
            run_config(pl, wi, &c);
    report_dump_child(stdout);
    return bench_fail_count() ? 1 : 0;
}

int main(int argc, char **argv)
{
    options o;
    parse_options(argc, argv, &o);
    plan pl;
    make_plan(&o, &pl);
    ca_set_fault_handler(on_fault);
    tsc_info tsc;
    if (!o.identify)
        tsc_calibrate(&tsc);

    if (o.child) {
        bench_progress_quiet(1);
        return child_main(&o, &pl);
    }

    allocator_id self;
    allocator_detect(&self);
    printf("ca-bench: chunkarena benchmark, the workloads of docs/WORKLOADS.md%s\n",
           o.quick ? "\n*** QUICK RUN: fewer ops and repetitions in W2-W5 (W1 is complete); "
                     "figures are rougher ***"
                   : "");
    printf("machine: %ld online CPUs; other processes may be running: compare rows of one "
           "run, not absolute numbers\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("timer: %s, %.4f ticks/ns (calibrated over %.0f ms against CLOCK_MONOTONIC), "
           "empty rdtscp window %llu ticks (not subtracted)%s\n",
           tsc.source, tsc.ticks_per_ns, tsc.calib_ms, (unsigned long long)tsc.overhead,
           tsc.invariant == 0 ? "; WARNING: no constant_tsc/nonstop_tsc flag" : "");
    printf("allocators:\n  %-9s %s %s (this process, %s)\n", "malloc", self.name, self.version,
           self.object);
    peer_state ps[PEER_COUNT];
    identify_peers(&o, ps);

    config local[8];
    size_t nlocal = local_configs(&o, &self, local);
    for (int wi = 0; wi < NWORKLOADS; wi++) {
        if (!(o.workloads & (1u << wi)))
            continue;
        bench_progress("%s:", workload_ids[wi]);
        for (size_t i = 0; i < nlocal; i++)
            run_config(&pl, wi, &local[i]);
        for (unsigned i = 0; i < PEER_COUNT; i++)
            if (ps[i].run)
                run_peer(&o, i, wi);
        section_header(&pl, wi);
        report_table(stdout, workload_ids[wi]);
    }

    printf("\n");
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/latest.csv", o.results);
    const char *csv_path = o.csv ? o.csv : csv;
    if (report_write_csv(csv_path))
        printf("csv: %s\n", csv_path);
    if (!o.no_plots) {
        char buf[4096];
        const char *script = o.plot_script ? o.plot_script : find_plot_script(buf, sizeof buf);
        report_plots(stdout, o.results, script);
    }
    size_t nfail = bench_fail_count();
    if (nfail != 0) {
        printf("\n*** %zu VERIFICATION FAILURE%s ***\n", nfail, nfail > 1 ? "S" : "");
        for (size_t i = 0; i < nfail && i < 64; i++)
            printf("  - %s\n", bench_fail_message(i));
        return 1;
    }
    printf("verification: all passed (W1 checksums where defined, overlap logs, W5 patterns, "
           "arena checks)\n");
    return 0;
}
