/* SPDX-License-Identifier: MIT */
/*
 * bench/ca-bench.h — what the files of the ca-bench program share:
 * ca-bench.c (main and the plan of a run), options.c (the command line),
 * run.c (the drivers), peer_child.c (the peers' child processes) and
 * instr.c (--instr). It holds the workloads' ids, the options, the plan, a
 * configuration and each file's entry points; the modules under them
 * (backends, workloads, report, ...) do not include it.
 *
 * Thread safety: all of it is for the main thread; W3 and W6 start their
 * own threads inside w3_run and handoff_run.
 */
#ifndef CA_BENCH_CA_BENCH_H
#define CA_BENCH_CA_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/backends.h"
#include "bench/peers.h"
#include "bench/workloads.h"

enum { NWORKLOADS = 7 };
extern const char *const bench_workload_ids[NWORKLOADS]; /* options.c */
enum { NW3_THREADS = 3 };
extern const unsigned bench_w3_threads[NW3_THREADS]; /* options.c: W3's T = 1, 2, 8 */
enum { WI_W1, WI_W2, WI_W3, WI_W4, WI_W5, WI_W6, WI_W7 };

/* Backends, as --backends names them: bits of options.backends. */
#define BK_CHUNKARENA (1u << 0)
#define BK_MALLOC (1u << 1)
#define BK_MIARENA (1u << 2)
#define BK_NULL (1u << 3)  /* --instr's baseline; never part of "all" */
#define BK_PEER0 (1u << 4) /* shifted left by the index in bench_peers */

typedef struct options {
    bool quick, no_plots, child, identify, instr, instr_run;
    unsigned workloads; /* bit i: bench_workload_ids[i] */
    unsigned backends;
    unsigned layers;    /* bit i: bench_layers[i] */
    unsigned w3_threads; /* bit i: bench_w3_threads[i] */
    unsigned reps;      /* 0: each workload's default */
    size_t w1_iters;
    const char *csv, *results, *plot_script;
} options;

typedef struct plan {
    size_t w1_iters;
    size_t ops[NWORKLOADS];   /* W2-W7 (W3: per thread; W6: blocks per pair) */
    unsigned reps[NWORKLOADS];
    unsigned w3_threads;      /* bit i: W3 runs at T = bench_w3_threads[i] */
    size_t w3_verify_ops;     /* per thread, in W3's verified run (it only checks) */
    double w3_budget_s;       /* W3: no further timed run once a configuration took this */
    double w3_deadline_s;     /* W3: a run still going after this is stopped (partial) */
    size_t w6_verify_blocks;  /* per pair, in W6's verified run */
} plan;

/* One configuration: what runs and how its rows are named. */
typedef struct config {
    bench_backend spec;
    const char *backend; /* row backend column */
    char layer[48];      /* row layer column */
    char label[80];      /* for plots: "chunkarena/spin" (backend_label) */
    char what[96];       /* for messages: "W2 chunkarena/spin" */
} config;

typedef struct peer_state {
    bool run;                /* selected, found, and it started */
    allocator_id id;         /* what the child said serves it */
} peer_state;

/* options.c: parse argv into *o; prints the usage and exits 0 for --help,
 * exits 2 with a message for a bad option. */
void options_parse(int argc, char **argv, options *o);

/* run.c */
/* Run workload wi on one configuration. */
void run_config(const plan *pl, int wi, config *c);
/* The configurations of this process: null (only when asked: --instr's
 * baseline), chunkarena layers, malloc, mimalloc-arena (when it loads). */
size_t run_local_configs(const options *o, const allocator_id *self, config *out);
/* Names c for workload: its label and its "what" for messages. */
void run_config_name(config *c, const char *workload);
/* A broken touch: the op index written into a block was not there when
 * it was freed (the memory was handed out twice, or written by the
 * allocator while in use). */
void run_check_touch(const char *what, const churn_result *r);

/* peer_child.c */
/* Identify each selected, installed peer by running a child. */
void peer_child_identify(const options *o, peer_state *ps);
/* Run workload wi in peer i's child; its rows join the report. */
void peer_child_run(const options *o, unsigned i, int wi);
/* A child's stdout line: a row for the report, or a complaint on stderr. */
void peer_child_take_line(const char *line, void *ctx);

/* instr.c: whether --instr counts workload wi; the child's counted
 * replay of wi on c; the parent's side, which runs the children under
 * callgrind and prints the tables (0, or 1 when it cannot measure). */
bool instr_workload(int wi);
void instr_child(const plan *pl, int wi, config *c);
int instr_main(const options *o, const allocator_id *self, peer_state *ps);

#endif /* CA_BENCH_CA_BENCH_H */
