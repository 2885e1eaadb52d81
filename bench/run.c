/* SPDX-License-Identifier: MIT */
/*
 * bench/run.c — the drivers: one workload on one configuration (a
 * chunkarena layer, malloc, mimalloc-arena), as a verified run with its
 * instruments on, then the timed repetitions, turned into the report's
 * rows (report.h); what a verification finds goes to bench_fail. Also the
 * list of the configurations this process runs itself.
 *
 * Thread safety: called by the main thread only; W3 and W6 start their
 * own threads inside w3_run and handoff_run.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench/ca-bench.h"
#include "bench/common.h"
#include "bench/handoff.h"
#include "bench/report.h"
#include "bench/timing.h"
#include "bench/verify.h"

static const unsigned w6_pairs[] = {1, 2, 4};

void run_config_name(config *c, const char *workload)
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
    run_config_name(c, "W1");
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
void run_check_touch(const char *what, const churn_result *r)
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
        run_check_touch(c->what, &r);
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
    const char *workload = bench_workload_ids[wi];
    bool w4 = wi == WI_W4;
    run_config_name(c, workload);
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
    run_check_touch(c->what, &r);
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
    run_check_touch(x->what, &r);
    *partial = r.partial;
    if (r.failed > *failed)
        *failed = r.failed;
    return (double)r.ops / (r.t1 - r.t0) / 1e6;
}

static void run_w3(const plan *pl, config *c, unsigned threads)
{
    run_config_name(c, "W3");
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
    run_check_touch(what, &r);
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
    run_config_name(c, "W5");
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
    run_config_name(c, "W6");
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
void run_config(const plan *pl, int wi, config *c)
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
        for (unsigned i = 0; i < NW3_THREADS; i++)
            if ((pl->w3_threads & (1u << i)) &&
                (c->spec.kind != BENCH_CHUNKARENA || c->spec.lock != CA_LOCK_NONE ||
                 bench_w3_threads[i] == 1))
                run_w3(pl, c, bench_w3_threads[i]);
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
size_t run_local_configs(const options *o, const allocator_id *self, config *out)
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
