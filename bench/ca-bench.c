/* SPDX-License-Identifier: MIT */
/*
 * bench/ca-bench.c — the benchmark of chunkarena: main, the --child
 * mode, the plan of a run (ops and repetitions of each workload) and the
 * tables' headers. The command line is in options.c, the drivers that
 * turn workload runs into rows in run.c, the peers' child processes in
 * peer_child.c, --instr in instr.c; ca-bench.h is what they share.
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/ca-bench.h"
#include "bench/common.h"
#include "bench/handoff.h"
#include "bench/report.h"
#include "bench/timing.h"

/* ---------------------------------------------------------------- plan */

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
    p->w3_threads = o->w3_threads;
    p->w3_verify_ops = p->ops[2] < 100000 ? p->ops[2] : 100000;
    p->w6_verify_blocks = p->ops[WI_W6] < 100000 ? p->ops[WI_W6] : 100000;
    p->w3_budget_s = o->quick ? 3.0 : 20.0;
    p->w3_deadline_s = o->quick ? 2.0 : 15.0;
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
        printf("   runs/alloc: free runs the allocator's search examined per allocation,\n"
               "   in the verified run (chunkarena: ca_stats.runs_examined; n/a: the\n"
               "   allocator cannot say)\n");
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
    if (o->instr_run) {
        config cs[16];
        size_t n = run_local_configs(o, &self, cs);
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
    options_parse(argc, argv, &o);
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
    peer_child_identify(&o, ps);
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
    size_t nlocal = run_local_configs(&o, &self, local);
    for (int wi = 0; wi < NWORKLOADS; wi++) {
        if (!(o.workloads & (1u << wi)))
            continue;
        bench_progress("%s:", bench_workload_ids[wi]);
        for (size_t i = 0; i < nlocal; i++)
            run_config(&pl, wi, &local[i]);
        for (unsigned i = 0; i < PEER_COUNT; i++)
            if (ps[i].run)
                peer_child_run(&o, i, wi);
        section_header(&pl, wi);
        report_table(stdout, bench_workload_ids[wi]);
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
