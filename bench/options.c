/* SPDX-License-Identifier: MIT */
/*
 * bench/options.c — ca-bench's command line: the --help text, and the
 * parsing of argv into an options struct (ca-bench.h). A bad option is
 * refused with a message and exit status 2 before anything runs.
 *
 * Thread safety: called once, by the main thread, at start-up.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/ca-bench.h"

const char *const bench_workload_ids[NWORKLOADS] = {"W1", "W2", "W3", "W4", "W5", "W6", "W7"};
const unsigned bench_w3_threads[NW3_THREADS] = {1, 2, 8};

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
    "  --threads=LIST     W3's thread counts: any of 1,2,8, or all (default all);\n"
    "                     one alone, e.g. under callgrind, profiles that T only\n"
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
    "\n";

/* The help's second half (one string each, within C's 4095 characters). */
static const char usage_csv[] =
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
    "           W7: runs_per_alloc (free runs the searches measured per\n"
    "           allocation, ca_stats.runs_examined, in the verified run; NA\n"
    "           for the other allocators, which cannot say);\n"
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
        if (strcasecmp(t, bench_workload_ids[i]) == 0)
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

static unsigned threads_item(const char *t)
{
    if (strcmp(t, "all") == 0)
        return (1u << NW3_THREADS) - 1;
    for (unsigned i = 0; i < NW3_THREADS; i++) {
        char n[16];
        snprintf(n, sizeof n, "%u", bench_w3_threads[i]);
        if (strcmp(t, n) == 0)
            return 1u << i;
    }
    return 0;
}

void options_parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->workloads = (1u << NWORKLOADS) - 1;
    o->backends = backend_item("all");
    o->layers = layer_item("all");
    o->w3_threads = threads_item("all");
    o->w1_iters = W1_ITERS;
    o->results = DEFAULT_RESULTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            fputs(usage_csv, stdout);
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
        } else if ((v = option_value(a, "--threads")) != NULL) {
            o->w3_threads = parse_list("--threads", v, threads_item);
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
