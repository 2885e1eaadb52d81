/* SPDX-License-Identifier: MIT */
/*
 * bench/instr.c — ca-bench --instr: instructions per op under callgrind.
 *
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
 *
 * Thread safety: main thread only, in the parent and in each child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/ca-bench.h"
#include "bench/common.h"
#include "bench/report.h"

/* --instr: ops of the counted part, after a warm-up that brings the slot
 * table to its steady state (W7's 32,768 slots need more). */
#define INSTR_OPS 200000u
#define INSTR_WARMUP 50000u
#define INSTR_WARMUP_W7 200000u

static const int instr_workloads[] = {WI_W2, WI_W4, WI_W7};

bool instr_workload(int wi)
{
    return wi == WI_W2 || wi == WI_W4 || wi == WI_W7;
}

/* Child side: one counted replay of wi on c. */
void instr_child(const plan *pl, int wi, config *c)
{
    (void)pl;
    if (wi == WI_W4 && c->spec.kind == BENCH_CHUNKARENA)
        c->spec.chunk_size = 16;
    run_config_name(c, bench_workload_ids[wi]);
    row_key k = {bench_workload_ids[wi], c->backend, c->layer, 1};
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
    run_check_touch(c->what, &r);
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
    snprintf(wl, sizeof wl, "--workloads=%s", bench_workload_ids[wi]);
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
    bench_progress("  %s %s%s%s%s", bench_workload_ids[wi], t->backend,
                   strcmp(t->layer, "-") != 0 ? "/" : "", strcmp(t->layer, "-") != 0 ? t->layer : "",
                   t->preload ? " (LD_PRELOAD)" : "");
    unlink(out);
    int st = child_run(t->preload, "valgrind", argv, peer_child_take_line, NULL);
    if (st != 0) {
        bench_fail("%s %s %s: the callgrind child failed (status %d)", bench_workload_ids[wi],
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
           bench_workload_ids[wi], INSTR_OPS, wi == WI_W7 ? INSTR_WARMUP_W7 : INSTR_WARMUP);
    printf("  %-16s %-7s %10s %10s %8s\n", "backend", "layer", "net/op", "total/op", "failed");
    for (size_t i = 0; i < nt; i++) {
        const char *net = row_get(bench_workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_per_op");
        const char *tot =
            row_get(bench_workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_per_op_total");
        const char *f = row_get(bench_workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_failed");
        printf("  %-16s %-7s %10s %10s %8s\n", t[i].backend, t[i].layer, net ? net : "-",
               tot ? tot : "-", f ? f : "-");
    }
}

int instr_main(const options *o, const allocator_id *self, peer_state *ps)
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
        bench_progress("%s (callgrind):", bench_workload_ids[wi]);
        uint64_t base = 0;
        for (size_t i = 0; i < nt; i++) {
            uint64_t total = instr_spawn(o, &t[i], wi);
            const char *ops_s = row_get(bench_workload_ids[wi], t[i].backend, t[i].layer, 1, "instr_ops");
            double ops = ops_s ? strtod(ops_s, NULL) : 0.0;
            row_key k = {bench_workload_ids[wi], t[i].backend, t[i].layer, 1};
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
