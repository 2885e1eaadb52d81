/* SPDX-License-Identifier: MIT */
/*
 * bench/ca-bench.c — the benchmark of chunkarena: options, the plan of a
 * run, the drivers that turn workload runs into rows, and the peers.
 *
 * For each selected workload, ca-bench runs every chunkarena sync layer,
 * the malloc of this process and mimalloc-arena (mi_arena.h), then each
 * installed peer allocator (bench_peers: jemalloc, mimalloc, tcmalloc) by
 * running itself as a child (`ca-bench --child ...`) under LD_PRELOAD, and
 * prints the workload's table. At the end it writes the CSV, the plot data
 * and the plots. --instr instead counts instructions per op under
 * callgrind (see instr_main).
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
 * Thread safety: the main thread drives everything; W3 and W6 start their
 * own threads inside w3_run and handoff_run.
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
#include "bench/handoff.h"
#include "bench/peers.h"
#include "bench/report.h"
#include "bench/timing.h"
#include "bench/verify.h"
#include "bench/workloads.h"

/* ------------------------------------------------------------ options */

enum { NWORKLOADS = 7 };
static const char *const workload_ids[NWORKLOADS] = {"W1", "W2", "W3", "W4", "W5", "W6", "W7"};
enum { WI_W1, WI_W2, WI_W3, WI_W4, WI_W5, WI_W6, WI_W7 };

/* Backends, as --backends names them: bits of options.backends. */
#define BK_CHUNKARENA (1u << 0)
#define BK_MALLOC (1u << 1)
#define BK_MIARENA (1u << 2)
#define BK_NULL (1u << 3)  /* --instr's baseline; never part of "all" */
#define BK_PEER0 (1u << 4) /* shifted left by the index in bench_peers */

/* --instr: ops of the counted part, after a warm-up that brings the slot
 * table to its steady state (W7's 32,768 slots need more). */
#define INSTR_OPS 200000u
#define INSTR_WARMUP 50000u
#define INSTR_WARMUP_W7 200000u

typedef struct options {
    bool quick, no_plots, child, identify, instr, instr_run;
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
    "  --quick            a short run: fewer ops and repetitions in W2-W7;\n"
    "                     W1 keeps its 75,000 iterations\n"
    "  --workloads=LIST   W1,W2,W3,W4,W5,W6,W7 or all (default all)\n"
    "  --backends=LIST    chunkarena, malloc (this process's allocator),\n"
    "                     mimalloc-arena (mimalloc over the same kind of region),\n"
    "                     jemalloc, mimalloc, tcmalloc, chunkarena-malloc,\n"
    "                     peers (the preloaded ones),\n"
    "                     all (default all)\n"
    "  --layers=LIST      chunkarena layers: none,spin,ticket,mutex,hint or all\n"
    "  --instr            instructions per op instead of timings: W2, W4 and W7\n"
    "                     (others ignored) under valgrind --tool=callgrind, one\n"
    "                     process per backend, 200,000 counted ops after a\n"
    "                     warm-up (50,000; W7 200,000); net of the workload's own\n"
    "                     loop (measured on the null backend); rows instr_per_op\n"
    "  --reps=N           timed repetitions of W2-W7 (default 5; W3, W6 3; quick 3);\n"
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
    "           W2-W7: mops (median), mops_min, mops_max, runs, failed;\n"
    "           W2/W3/W4/W7 with the touch (op index written after each\n"
    "           allocation, checked before each free); W2/W4/W7 also\n"
    "           mops_notouch{,_min,_max} without it;\n"
    "           W2/W4/W7: alloc_{p50,p90,p99,p999,max} (ticks, untimed verified run);\n"
    "           W6: mops = blocks handed over per second (aggregate), threads = pairs;\n"
    "           W7: runs_per_alloc (free runs the search examined; NA: the\n"
    "           allocator cannot say);\n"
    "           --instr: instr_per_op (net), instr_per_op_total, instr_ops;\n"
    "           W4: footprint_ratio (usable bytes / requested bytes at the peak of\n"
    "           requested bytes), footprint_ratio_stats (chunkarena: from\n"
    "           ca_arena_stats); W5: inplace_share, growths, moves, bytes_copied\n"
    "\n"
    "Exit status: 0; 1 if a verification failed (W1 checksums, W5 pattern,\n"
    "the touch, W6 stamps, overlapping blocks, arena invariants); 2 for a bad\n"
    "option.\n";

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
        return BK_CHUNKARENA | BK_MALLOC | BK_MIARENA | peers;
    if (strcmp(t, "chunkarena") == 0)
        return BK_CHUNKARENA;
    if (strcmp(t, "mimalloc-arena") == 0)
        return BK_MIARENA;
    if (strcmp(t, "null") == 0)
        return BK_NULL;
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
        } else if (strcmp(a, "--instr") == 0) {
            o->instr = true;
        } else if (strcmp(a, "--instr-run") == 0) {
            o->instr_run = true;
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
    size_t ops[NWORKLOADS];   /* W2-W7 (W3: per thread; W6: blocks per pair) */
    unsigned reps[NWORKLOADS];
    size_t w3_verify_ops;     /* per thread, in W3's verified run (it only checks) */
    double w3_budget_s;       /* W3: no further timed run once a configuration took this */
    double w3_deadline_s;     /* W3: a run still going after this is stopped (partial) */
    size_t w6_verify_blocks;  /* per pair, in W6's verified run */
} plan;

static const unsigned w3_threads[] = {1, 2, 8};
static const unsigned w6_pairs[] = {1, 2, 4};

static void make_plan(const options *o, plan *p)
{
    memset(p, 0, sizeof *p);
    p->w1_iters = o->w1_iters;
    size_t full[NWORKLOADS] = {0,      W2_OPS, W3_OPS_PER_THREAD, W4_OPS, W5_OPS,
                               W6_BLOCKS_PER_PAIR, W7_OPS};
    /* quick: W6 and W7 cut harder, as they run the most configurations
     * (W6) and the slowest ops (W7), and W7 twice (touch, no touch). */
    size_t quick[NWORKLOADS] = {0,           W2_OPS / 10,
                                W3_OPS_PER_THREAD / 50, W4_OPS / 10,
                                W5_OPS / 10, W6_BLOCKS_PER_PAIR / 100,
                                W7_OPS / 40};
    unsigned reps[NWORKLOADS] = {1, 5, 3, 5, 5, 3, 5};
    for (int i = 1; i < NWORKLOADS; i++) {
        p->ops[i] = o->quick ? quick[i] : full[i];
        p->reps[i] = o->reps ? o->reps : o->quick ? 3 : reps[i];
    }
    p->w3_verify_ops = p->ops[2] < 100000 ? p->ops[2] : 100000;
    p->w6_verify_blocks = p->ops[WI_W6] < 100000 ? p->ops[WI_W6] : 100000;
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

/* A broken touch: the op index written into a block was not there when
 * it was freed (the memory was handed out twice, or written by the
 * allocator while in use). */
static void check_touch(const char *what, const churn_result *r)
{
    if (r->touch_errors != 0)
        bench_fail("%s: %zu blocks lost the op index written into them (the first found at "
                   "op %zu): memory was handed out twice or overwritten",
                   what, r->touch_errors, r->first_bad_op);
}

/* The churn of W2, W4 and W7 as churn_config. */
static churn_config churn_of(const plan *pl, int wi)
{
    churn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.shape = wi == WI_W4 ? CHURN_W4 : CHURN_W2;
    cfg.seed = W2_SEED;
    cfg.ops = pl->ops[wi];
    cfg.slots = wi == WI_W7 ? W7_SLOTS : W2_SLOTS;
    cfg.touch = true;
    return cfg;
}

/* Timed repetitions of one churn; median, min, max under `metric`. */
static size_t churn_reps(const plan *pl, int wi, config *c, const row_key *k,
                         const churn_config *cfg, const char *metric)
{
    bench_heap h;
    churn_result r;
    size_t failed = 0;
    double mops[1000];
    for (unsigned i = 0; i < pl->reps[wi]; i++) {
        heap_open(&h, &c->spec);
        churn_run(&h, cfg, NULL, &r);
        heap_close(&h, c->what);
        check_touch(c->what, &r);
        mops[i] = (double)r.ops / (r.t1 - r.t0) / 1e6;
        if (r.failed > failed)
            failed = r.failed;
    }
    char m[48];
    snprintf(m, sizeof m, "%s_min", metric);
    row_f(k, m, min_d(mops, pl->reps[wi]), 3, "Mops/s");
    snprintf(m, sizeof m, "%s_max", metric);
    row_f(k, m, max_d(mops, pl->reps[wi]), 3, "Mops/s");
    row_f(k, metric, median_d(mops, pl->reps[wi]), 3, "Mops/s");
    return failed;
}

/* W2, W4 and W7: a verified run, then the timed repetitions with the
 * touch, then the same without it ("no touch"). */
static void run_churn(const plan *pl, config *c, int wi)
{
    const char *workload = workload_ids[wi];
    bool w4 = wi == WI_W4;
    config_name(c, workload);
    bench_progress("  %s", c->what);
    row_key k = {workload, c->backend, c->layer, 1};
    churn_config cfg = churn_of(pl, wi);
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
    uint64_t steps0 = 0, steps1 = 0;
    bool steps = heap_search_steps(&h, &steps0);
    churn_run(&h, &cfg, &probe, &r);
    steps = steps && heap_search_steps(&h, &steps1);
    heap_close(&h, c->what);
    check_touch(c->what, &r);
    if (wi == WI_W7) {
        if (steps && r.allocs + r.failed != 0)
            row_f(&k, "runs_per_alloc", (double)(steps1 - steps0) / (double)(r.allocs + r.failed),
                  2, "runs");
        else
            row_na(&k, "runs_per_alloc", "runs");
    }
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
            upto.touch = false; /* its blocks are the verified run's: checked there */
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

    size_t f = churn_reps(pl, wi, c, &k, &cfg, "mops");
    row_u(&k, "runs", pl->reps[wi], "count");
    failed = f > failed ? f : failed;
    cfg.touch = false;
    f = churn_reps(pl, wi, c, &k, &cfg, "mops_notouch");
    failed = f > failed ? f : failed;
    failed_row(&k, c->what, failed);
}

/* One timed run of a threaded workload (W3, W6): its rate in Mops/s;
 * sets *partial if the deadline stopped it, raises *failed to its count. */
typedef double (*threaded_run)(void *ctx, bool *partial, size_t *failed);

/* The timed runs of W3 and W6, cut short (and said so: the runs row) when
 * a configuration is so slow under oversubscription that they would
 * outlast the budget; then its rows. Returns the most failures of a run. */
static size_t bounded_runs(const plan *pl, unsigned reps, const char *what, const row_key *k,
                           threaded_run run, void *ctx, size_t failed)
{
    double mops[1000], t0;
    double spent = 0.0;
    unsigned runs = 0, partial = 0;
    while (runs < reps && (runs == 0 || spent < pl->w3_budget_s)) {
        bool part = false;
        t0 = now_s();
        mops[runs++] = run(ctx, &part, &failed);
        spent += now_s() - t0;
        partial += part;
    }
    if (runs < reps || partial != 0)
        fprintf(stderr,
                "ca-bench: note: %s: %u of %u timed runs (budget %.0f s), %u stopped at the "
                "%.0f s deadline\n",
                what, runs, reps, pl->w3_budget_s, partial, pl->w3_deadline_s);
    mops_rows(k, mops, runs);
    row_u(k, "runs_planned", reps, "count");
    row_u(k, "partial_runs", partial, "count");
    return failed;
}

typedef struct w3_ctx {
    const plan *pl;
    config *c;
    unsigned threads;
    const char *what;
} w3_ctx;

static double w3_timed(void *ctx, bool *partial, size_t *failed)
{
    w3_ctx *x = ctx;
    bench_heap h;
    churn_result r;
    heap_open(&h, &x->c->spec);
    w3_run(&h, x->threads, x->pl->ops[WI_W3], true, NULL, x->pl->w3_deadline_s, &r);
    heap_close(&h, x->what);
    check_touch(x->what, &r);
    *partial = r.partial;
    if (r.failed > *failed)
        *failed = r.failed;
    return (double)r.ops / (r.t1 - r.t0) / 1e6;
}

static void run_w3(const plan *pl, config *c, unsigned threads)
{
    config_name(c, "W3");
    bench_progress("  %s T=%u", c->what, threads);
    row_key k = {"W3", c->backend, c->layer, threads};
    bench_heap h;
    churn_result r;

    event_log log;
    log_init(&log, threads * (pl->w3_verify_ops + W2_SLOTS));
    heap_open(&h, &c->spec);
    w3_run(&h, threads, pl->w3_verify_ops, true, &log, pl->w3_deadline_s, &r);
    heap_close(&h, c->what);
    char what[100];
    snprintf(what, sizeof what, "%s T=%u", c->what, threads);
    check_touch(what, &r);
    log_replay(&log, what);
    log_release(&log);
    size_t failed = r.failed;

    w3_ctx x = {pl, c, threads, what};
    failed = bounded_runs(pl, pl->reps[WI_W3], what, &k, w3_timed, &x, failed);
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

static void check_stamps(const char *what, const handoff_result *r)
{
    if (r->stamp_errors != 0)
        bench_fail("%s: %zu blocks reached the consumer with broken stamps", what,
                   r->stamp_errors);
}

typedef struct w6_ctx {
    const plan *pl;
    config *c;
    unsigned pairs;
    const char *what;
} w6_ctx;

static double w6_timed(void *ctx, bool *partial, size_t *failed)
{
    w6_ctx *x = ctx;
    bench_heap h;
    handoff_result r;
    heap_open(&h, &x->c->spec);
    handoff_run(&h, x->pairs, x->pl->ops[WI_W6], NULL, x->pl->w3_deadline_s, &r);
    heap_close(&h, x->what);
    check_stamps(x->what, &r);
    *partial = r.partial;
    if (r.failed > *failed)
        *failed = r.failed;
    return (double)r.blocks / (r.t1 - r.t0) / 1e6;
}

/* W6 with `pairs` pairs: a verified run (overlap log, fewer blocks), then
 * the timed runs, bounded like W3's. */
static void run_w6(const plan *pl, config *c, unsigned pairs)
{
    config_name(c, "W6");
    bench_progress("  %s pairs=%u", c->what, pairs);
    row_key k = {"W6", c->backend, c->layer, pairs};
    char what[128];
    snprintf(what, sizeof what, "%s pairs=%u", c->what, pairs);
    bench_heap h;
    handoff_result r;

    event_log log;
    log_init(&log, 2 * pairs * pl->w6_verify_blocks);
    heap_open(&h, &c->spec);
    handoff_run(&h, pairs, pl->w6_verify_blocks, &log, pl->w3_deadline_s, &r);
    heap_close(&h, what);
    log_replay(&log, what);
    log_release(&log);
    check_stamps(what, &r);
    size_t failed = r.failed;

    w6_ctx x = {pl, c, pairs, what};
    failed = bounded_runs(pl, pl->reps[WI_W6], what, &k, w6_timed, &x, failed);
    /* Failures are expected of mimalloc-arena when threads outnumber its
     * segments: a row, and a warning only for the others. */
    row_u(&k, "failed", failed, "count");
    if (failed != 0 && c->spec.kind != BENCH_MI_ARENA)
        fprintf(stderr, "ca-bench: WARNING: %s: %zu allocations failed (none should)\n", what,
                failed);
}

/* Run workload wi on one configuration. */
static void run_config(const plan *pl, int wi, config *c)
{
    switch (wi) {
    case WI_W1: {
        if (c->spec.kind != BENCH_CHUNKARENA) { /* chunk size means nothing to the others */
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
    case WI_W2:
    case WI_W7:
        run_churn(pl, c, wi);
        break;
    case WI_W3:
        for (size_t i = 0; i < sizeof w3_threads / sizeof w3_threads[0]; i++)
            if (c->spec.kind != BENCH_CHUNKARENA || c->spec.lock != CA_LOCK_NONE ||
                w3_threads[i] == 1)
                run_w3(pl, c, w3_threads[i]);
        break;
    case WI_W4: {
        size_t keep = c->spec.chunk_size;
        c->spec.chunk_size = 16; /* W4: chunk size 16 */
        run_churn(pl, c, WI_W4);
        c->spec.chunk_size = keep;
        break;
    }
    case WI_W5:
        run_w5(pl, c);
        break;
    case WI_W6: /* layer none is single-threaded: no handoff */
        if (c->spec.kind == BENCH_CHUNKARENA && c->spec.lock == CA_LOCK_NONE)
            break;
        for (size_t i = 0; i < sizeof w6_pairs / sizeof w6_pairs[0]; i++)
            run_w6(pl, c, w6_pairs[i]);
        break;
    default:
        break;
    }
}

/* The configurations of this process: null (only when asked: --instr's
 * baseline), chunkarena layers, malloc, mimalloc-arena (when it loads). */
static size_t local_configs(const options *o, const allocator_id *self, config *out)
{
    size_t n = 0;
    if (o->backends & BK_NULL) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].spec.kind = BENCH_NULL;
        out[n].backend = "null";
        snprintf(out[n].layer, sizeof out[n].layer, "-");
        n++;
    }
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
    const char *why;
    if ((o->backends & BK_MIARENA) && mia_load(&why)) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].spec.kind = BENCH_MI_ARENA;
        out[n].backend = "mimalloc-arena";
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
    "W6 handoff: T producer/consumer pairs on ONE shared 160 MiB arena (chunk 256); producer i\n"
    "   (seed 0xC0FFEE + i) allocates 64 + below(4032) bytes, stamps the first and last 8\n"
    "   bytes, pushes into its pair's 1,024-pointer SPSC queue; the consumer checks, frees",
    "W7 crowded: W2 with 32,768 slots (about 85% of the arena live), seed 0xC0FFEE,\n"
    "   160 MiB arena, chunk 256, one thread",
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
    case WI_W6:
        printf("   %zu blocks per pair; aggregate Mops/s = blocks handed over / (last end -\n"
               "   first start), median of %u timed runs after one verified run of %zu blocks\n"
               "   per pair (overlap log); stamps checked in every run; bounded like W3;\n"
               "   layer none is single-threaded and has no row; mimalloc-arena is expected to\n"
               "   fail allocations once its threads outnumber the region's five 32 MiB segments\n",
               pl->ops[WI_W6], pl->reps[WI_W6], pl->w6_verify_blocks);
        break;
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
               wi == WI_W2 || wi == WI_W7 ? ", allocation latency with rdtscp"
               : wi == WI_W4                ? ", allocation latency, usable sizes"
                                            : "");
        break;
    }
    if (wi == WI_W2 || wi == WI_W3 || wi == WI_W4 || wi == WI_W7)
        printf("   touch: each block gets its op index (8 bytes at its first byte) after the\n"
               "   allocation, checked before the free, as a program writes what it\n"
               "   allocates; \"no touch\": the same runs without it\n");
    if (wi == WI_W7)
        printf("   runs/alloc: free runs the allocator's search examined per allocation\n"
               "   (n/a: the allocator cannot say; chunkarena does not count them yet)\n");
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

/* ------------------------------------------------------- instructions */

/*
 * --instr: for each of W2, W4, W7 and each backend, one child process
 * (`ca-bench --child --instr-run ...`, under LD_PRELOAD for a peer) runs
 * under valgrind --tool=callgrind --collect-atstart=no. The child replays
 * the workload (with the touch) once: warm-up ops uncounted, then
 * INSTR_OPS ops between two CALLGRIND_TOGGLE_COLLECT client requests, so
 * callgrind's total is exactly those ops' instructions: the allocator's
 * calls and the workload's own loop (draws, slot table, touch). The null
 * backend (a free list, no allocator) runs the same ops first; its total
 * is the loop's own cost, and instr_per_op = (total - null total) / ops,
 * the allocator's instructions per op (plus the few of null's free list,
 * which the null figure includes: see docs/PERFORMANCE.md).
 */

static const int instr_workloads[] = {WI_W2, WI_W4, WI_W7};

static bool instr_workload(int wi)
{
    return wi == WI_W2 || wi == WI_W4 || wi == WI_W7;
}

/* Child side: one counted replay of wi on c. */
static void instr_child(const plan *pl, int wi, config *c)
{
    (void)pl;
    if (wi == WI_W4 && c->spec.kind == BENCH_CHUNKARENA)
        c->spec.chunk_size = 16;
    config_name(c, workload_ids[wi]);
    row_key k = {workload_ids[wi], c->backend, c->layer, 1};
    churn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.shape = wi == WI_W4 ? CHURN_W4 : CHURN_W2;
    cfg.seed = W2_SEED;
    cfg.slots = wi == WI_W7 ? W7_SLOTS : W2_SLOTS;
    cfg.touch = true;
    cfg.instr = true;
    cfg.warmup = wi == WI_W7 ? INSTR_WARMUP_W7 : INSTR_WARMUP;
    cfg.ops = cfg.warmup + INSTR_OPS;
    bench_heap h;
    churn_result r;
    heap_open(&h, &c->spec);
    churn_run(&h, &cfg, NULL, &r);
    heap_close(&h, c->what);
    check_touch(c->what, &r);
    c->spec.chunk_size = CA_DEFAULT_CHUNK_SIZE;
    row_u(&k, "instr_ops", cfg.ops - cfg.warmup, "count");
    row_u(&k, "instr_failed", r.failed, "count");
}

/* The total Ir of a callgrind output file, or 0 with a message. */
static uint64_t callgrind_total(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ca-bench: no callgrind output %s: %s\n", path, strerror(errno));
        return 0;
    }
    char line[512];
    uint64_t total = 0;
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "totals:", 7) == 0 || (!found && strncmp(line, "summary:", 8) == 0)) {
            total = strtoull(line + (line[0] == 't' ? 7 : 8), NULL, 10);
            found = true;
        }
    fclose(f);
    if (!found)
        fprintf(stderr, "ca-bench: %s has no totals line\n", path);
    return total;
}

typedef struct instr_target {
    const char *backend; /* row backend column, as the child names it */
    char layer[48];
    char select[64];     /* --backends=... */
    char layers[48];     /* --layers=... or "" */
    const char *preload; /* a peer's library, or NULL */
} instr_target;

/* Run one target's child under callgrind for workload wi; the Ir total. */
static uint64_t instr_spawn(const options *o, const instr_target *t, int wi)
{
    char exe[PATH_MAX], out[PATH_MAX + 64], outopt[PATH_MAX + 96], wl[32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "ca-bench: cannot find my own program\n");
        exit(1);
    }
    exe[n] = '\0';
    snprintf(out, sizeof out, "%s/callgrind.%ld.out", o->results, (long)getpid());
    snprintf(outopt, sizeof outopt, "--callgrind-out-file=%s", out);
    snprintf(wl, sizeof wl, "--workloads=%s", workload_ids[wi]);
    char *argv[16];
    int a = 0;
    argv[a++] = "valgrind";
    argv[a++] = "--tool=callgrind";
    argv[a++] = "--collect-atstart=no";
    argv[a++] = "--quiet";
    argv[a++] = outopt;
    argv[a++] = exe;
    argv[a++] = "--child";
    argv[a++] = "--instr-run";
    argv[a++] = wl;
    argv[a++] = (char *)t->select;
    if (t->layers[0] != '\0')
        argv[a++] = (char *)t->layers;
    argv[a] = NULL;
    bench_progress("  %s %s%s%s%s", workload_ids[wi], t->backend,
                   strcmp(t->layer, "-") != 0 ? "/" : "", strcmp(t->layer, "-") != 0 ? t->layer : "",
                   t->preload ? " (LD_PRELOAD)" : "");
    unlink(out);
    int st = child_run(t->preload, "valgrind", argv, take_line, NULL);
    if (st != 0) {
        bench_fail("%s %s %s: the callgrind child failed (status %d)", workload_ids[wi],
                   t->backend, t->layer, st);
        unlink(out);
        return 0;
    }
    uint64_t total = callgrind_total(out);
    unlink(out);
    return total;
}

static void table_instr(const instr_target *t, size_t nt, int wi)
{
    printf("\n== %s: instructions per op (callgrind; %u counted ops after %u warm-up ops,\n"
           "   with the touch; net = total - null's total: the allocator's own)\n",
           workload_ids[wi], INSTR_OPS, wi == WI_W7 ? INSTR_WARMUP_W7 : INSTR_WARMUP);
    printf("  %-16s %-7s %10s %10s %8s\n", "backend", "layer", "net/op", "total/op", "failed");
    for (size_t i = 0; i < nt; i++) {
        const char *net = row_get(workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_per_op");
        const char *tot =
            row_get(workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_per_op_total");
        const char *f = row_get(workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_failed");
        printf("  %-16s %-7s %10s %10s %8s\n", t[i].backend, t[i].layer, net ? net : "-",
               tot ? tot : "-", f ? f : "-");
    }
}

static int instr_main(const options *o, const allocator_id *self, peer_state *ps)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0) {
        printf("ca-bench --instr: valgrind is not installed (Debian: valgrind): nothing measured\n");
        return 1;
    }
#ifndef CA_BENCH_CALLGRIND
    printf("ca-bench --instr: built without valgrind/callgrind.h: cannot count the loop alone\n");
    return 1;
#endif
    if (!make_dirs(o->results))
        return 1;
    instr_target t[32];
    size_t nt = 0;
    memset(t, 0, sizeof t);
    t[nt].backend = "null";
    snprintf(t[nt].layer, sizeof t[nt].layer, "-");
    snprintf(t[nt++].select, sizeof t[0].select, "--backends=null");
    if (o->backends & BK_CHUNKARENA)
        for (unsigned i = 0; i < 5; i++)
            if (o->layers & (1u << i)) {
                t[nt].backend = "chunkarena";
                snprintf(t[nt].layer, sizeof t[nt].layer, "%s", layer_name(bench_layers[i]));
                snprintf(t[nt].select, sizeof t[nt].select, "--backends=chunkarena");
                snprintf(t[nt].layers, sizeof t[nt].layers, "--layers=%s",
                         layer_name(bench_layers[i]));
                nt++;
            }
    if (o->backends & BK_MALLOC) {
        t[nt].backend = self->name;
        snprintf(t[nt].layer, sizeof t[nt].layer, "-");
        snprintf(t[nt++].select, sizeof t[0].select, "--backends=malloc");
    }
    const char *why;
    if (o->backends & BK_MIARENA) {
        if (mia_load(&why)) {
            t[nt].backend = "mimalloc-arena";
            snprintf(t[nt].layer, sizeof t[nt].layer, "-");
            snprintf(t[nt++].select, sizeof t[0].select, "--backends=mimalloc-arena");
        } else {
            printf("  mimalloc-arena: absent: %s\n", why);
        }
    }
    for (unsigned i = 0; i < PEER_COUNT; i++)
        if (ps[i].run) {
            t[nt].backend = ps[i].id.name;
            snprintf(t[nt].layer, sizeof t[nt].layer, "-");
            snprintf(t[nt].select, sizeof t[nt].select, "--backends=malloc");
            t[nt++].preload = bench_peers[i].path;
        }

    for (size_t w = 0; w < sizeof instr_workloads / sizeof instr_workloads[0]; w++) {
        int wi = instr_workloads[w];
        if (!(o->workloads & (1u << wi)))
            continue;
        bench_progress("%s (callgrind):", workload_ids[wi]);
        uint64_t base = 0;
        for (size_t i = 0; i < nt; i++) {
            uint64_t total = instr_spawn(o, &t[i], wi);
            const char *ops_s = row_get(workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_ops");
            double ops = ops_s ? strtod(ops_s, NULL) : 0.0;
            row_key k = {workload_ids[wi], t[i].backend, t[i].layer, 1};
            if (total == 0 || ops == 0.0) {
                row_na(&k, "instr_per_op", "instr");
                row_na(&k, "instr_per_op_total", "instr");
                continue;
            }
            if (i == 0)
                base = total;
            row_f(&k, "instr_per_op_total", (double)total / ops, 1, "instr");
            if (base != 0)
                row_f(&k, "instr_per_op", ((double)total - (double)base) / ops, 1, "instr");
            else
                row_na(&k, "instr_per_op", "instr");
        }
        table_instr(t, nt, wi);
    }
    return 0;
}

static int child_main(const options *o, const plan *pl)
{
    allocator_id self;
    allocator_detect(&self);
    if (o->identify) {
        printf("ID,%s,%s,%s\n", self.name, self.version, self.object);
        return 0;
    }
    if (o->instr_run) {
        config cs[16];
        size_t n = local_configs(o, &self, cs);
        for (int wi = 0; wi < NWORKLOADS; wi++)
            if ((o->workloads & (1u << wi)) && instr_workload(wi))
                for (size_t i = 0; i < n; i++)
                    instr_child(pl, wi, &cs[i]);
        report_dump_child(stdout);
        return bench_fail_count() ? 1 : 0;
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
    if (!o.identify && !o.instr_run) /* valgrind cannot run rdtscp */
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
    peer_state ps[PEER_MAX];
    identify_peers(&o, ps);
    const char *why;
    if (o.backends & BK_MIARENA) {
        if (mia_load(&why))
            printf("  %-9s mimalloc over its own 160 MiB region (exclusive arena, a heap per "
                   "thread)\n",
                   "mimalloc-arena");
        else
            printf("  %-9s absent: %s\n", "mimalloc-arena", why);
    }
    printf("region: every arena region is aligned to 32 MiB (mimalloc's segment size), for\n"
           "every backend alike\n");

    if (o.instr) {
        int st = instr_main(&o, &self, ps);
        if (st == 0) {
            char csv[4096];
            snprintf(csv, sizeof csv, "%s/latest.csv", o.results);
            const char *csv_path = o.csv ? o.csv : csv;
            if (report_merge_csv(csv_path, "instr_"))
                printf("csv: %s (instr_* rows replaced, the others kept)\n", csv_path);
        }
        size_t nfail = bench_fail_count();
        for (size_t i = 0; i < nfail && i < 64; i++)
            printf("  - %s\n", bench_fail_message(i));
        return st != 0 ? st : nfail != 0;
    }

    config local[16];
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
    printf("verification: all passed (W1 checksums where defined, overlap logs, W5 patterns, the "
           "touch, W6 stamps, arena checks)\n");
    return 0;
}
