/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_child.c — the parent's side of a peer allocator: ca-bench
 * runs itself as a child under the peer's LD_PRELOAD (peers.h), first
 * with --identify to learn which allocator really serves malloc there,
 * then once per workload with --child, and takes back the rows the child
 * prints on its stdout (report.h).
 *
 * Thread safety: called by the main thread only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bench/ca-bench.h"
#include "bench/common.h"
#include "bench/report.h"

static void take_id_line(const char *line, void *ctx)
{
    allocator_id *id = ctx;
    report_take_line(line, id->name, sizeof id->name, id->version, sizeof id->version);
}

void peer_child_take_line(const char *line, void *ctx)
{
    (void)ctx;
    if (!report_take_line(line, NULL, 0, NULL, 0))
        fprintf(stderr, "ca-bench: a child wrote an unexpected line: %s\n", line);
}

/* Identify each selected, installed peer by running a child. */
void peer_child_identify(const options *o, peer_state *ps)
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

void peer_child_run(const options *o, unsigned i, int wi)
{
    char wl[32], reps[32], iters[48], threads[48] = "--threads=";
    snprintf(wl, sizeof wl, "--workloads=%s", bench_workload_ids[wi]);
    snprintf(reps, sizeof reps, "--reps=%u", o->reps);
    snprintf(iters, sizeof iters, "--w1-iters=%zu", o->w1_iters);
    for (unsigned t = 0; t < NW3_THREADS; t++)
        if (o->w3_threads & (1u << t))
            snprintf(threads + strlen(threads), sizeof threads - strlen(threads), "%s%u",
                     threads[strlen(threads) - 1] == '=' ? "" : ",", bench_w3_threads[t]);
    char *argv[9];
    int n = 0;
    argv[n++] = "ca-bench";
    argv[n++] = "--child";
    argv[n++] = "--backends=malloc";
    argv[n++] = wl;
    argv[n++] = iters;
    argv[n++] = threads;
    if (o->reps)
        argv[n++] = reps;
    if (o->quick)
        argv[n++] = "--quick";
    argv[n] = NULL;
    bench_progress("  %s %s (child, LD_PRELOAD=%s)", bench_workload_ids[wi], bench_peers[i].label,
                   bench_peers[i].path);
    int st = peer_run(&bench_peers[i], argv, peer_child_take_line, NULL);
    if (st != 0)
        bench_fail("%s %s: the child process failed (status %d)", bench_workload_ids[wi],
                   bench_peers[i].label, st);
}
