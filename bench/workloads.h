/* SPDX-License-Identifier: MIT */
/*
 * bench/workloads.h — the seven workloads of docs/WORKLOADS.md, each
 * written once against the heap interface of backends.h (W6 in
 * handoff.h).
 *
 * Every workload draws from SplitMix64 (tests/splitmix64.h) exactly as
 * the document says; a run is one replay on one heap. A run frees what it
 * still holds after its timed part (untimed), so the caller can close the
 * heap and check it is empty. An event_log (verify.h) given to a run
 * records its allocations and frees for the overlap check; timed
 * repetitions pass NULL.
 *
 * W2, W3, W4 and W7 touch the memory they get, as a program would: the
 * 8-byte op index is written at the first byte of each block right after
 * its allocation and read back and compared right before its free (a
 * mismatch is counted; the caller fails the run). churn_config.touch off
 * gives the "no touch" figures.
 *
 * Thread safety: a run uses its heap from the calling thread only, except
 * w3_run, which runs T threads on one heap.
 */
#ifndef CA_BENCH_WORKLOADS_H
#define CA_BENCH_WORKLOADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/backends.h"
#include "bench/verify.h"

/* ---- the constants of docs/WORKLOADS.md ---- */

#define W1_SEED 0x5ca0001u
#define W1_ITERS 75000u
#define W2_SEED 0xC0FFEEu
#define W2_SLOTS 4096u
#define W2_OPS 2000000u
#define W3_OPS_PER_THREAD 1000000u
#define W4_OPS 2000000u
#define W5_SEED 0x9E0u
#define W5_BUFFERS 1024u
#define W5_START_SIZE 64u
#define W5_OPS 1000000u
#define W7_SLOTS 32768u
#define W7_OPS 2000000u

/* The checksums docs/WORKLOADS.md gives for W1 (sum(size), sum(align), free
 * events), for the iteration counts it names; false for any other count. */
bool w1_expected(size_t iters, uint64_t *sum_size, uint64_t *sum_align, uint64_t *free_events);

/* ---- W1 "seed replay" ---- */

typedef struct w1_result {
    size_t iters;
    uint64_t sum_size, sum_align;  /* checksums: over every iteration's draws */
    uint64_t free_events;          /* checksum: times step 3 ran */
    size_t frees;                  /* blocks freed by those events */
    size_t ok, failed;
    long first_fail;               /* iteration of the first failure; -1: none */
    size_t misaligned;             /* blocks not aligned as asked */
    double wall_s;                 /* the whole loop, iterations and frees */
    /* Latencies in ticks, each array sorted: */
    uint64_t *lat_prefail;         /* successful allocations before the first failure */
    size_t n_prefail;
    uint64_t *lat_postfail;        /* successful allocations after it */
    size_t n_postfail;
    uint64_t *lat_failed;          /* failed allocations */
    size_t n_failed;
    uint64_t *lat_free;            /* frees */
    size_t n_free;
    bool have_stats;               /* chunkarena: the arena's failure counter */
    size_t stats_failures;
} w1_result;

void w1_run(bench_heap *h, size_t iters, event_log *log, w1_result *r);
void w1_release(w1_result *r);

/* ---- W2 "churn", W4 "small", and each thread of W3 ---- */

typedef enum churn_shape {
    CHURN_W2, /* align = 1 << below(8), then size = 64 + below(16320) */
    CHURN_W4  /* size = 16 + below(240), align 16 (no draw) */
} churn_shape;

typedef struct churn_config {
    churn_shape shape;
    uint64_t seed;
    size_t ops;
    size_t slots;
    void *start_barrier;  /* a pthread_barrier_t to wait on before timing, or NULL */
    const _Atomic int *stop; /* W3's deadline: stop early once it is nonzero (looked at
                              * every 1024 ops), or NULL */
    bool touch;           /* write and check the op index in each block */
    size_t warmup;        /* instr: ops before counting starts (< ops) */
    bool instr;           /* count instructions of ops [warmup, ops) under callgrind
                           * (client requests toggle collection; nothing when not
                           * under valgrind) */
} churn_config;

/* What a verified (untimed) run measures besides the operations. Every
 * pointer may be NULL / every flag false. */
typedef struct churn_probe {
    event_log *log;
    uint64_t *lat;           /* room for cfg.ops allocation latencies (ticks) */
    size_t n_lat;            /* out: successful allocations timed */
    bool footprint;          /* track requested and usable bytes of live blocks */
    size_t peak_requested;   /* out: the most requested bytes live at once */
    size_t usable_at_peak;   /* out: their usable bytes at that moment */
    size_t peak_op;          /* out: the op that reached the peak first */
    bool stats_at_end;       /* chunkarena: ca_arena_stats before the clean-up */
    size_t requested_at_end; /* out: live requested bytes then */
    size_t usable_at_end;    /* out: live usable bytes then */
    size_t held_stats_at_end; /* out: chunks_used * chunk_size then */
    size_t misaligned;       /* out: blocks not aligned as asked */
} churn_probe;

typedef struct churn_result {
    size_t ops;              /* ops done: cfg.ops unless stopped early */
    size_t allocs, frees, failed;
    double t0, t1;           /* CLOCK_MONOTONIC seconds around the timed loop */
    bool partial;            /* stopped early by the deadline (W3) */
    size_t touch_errors;     /* blocks whose op index was not there at free */
    size_t first_bad_op;     /* the op that found the first one */
} churn_result;

void churn_run(bench_heap *h, const churn_config *cfg, churn_probe *probe, churn_result *r);

/* ---- W3 "threads" ---- */

/* T threads, thread t running W2 (seed W2_SEED + t, its own slots) for
 * ops_per_thread ops, all on heap h. Aggregate figures in *r: ops summed,
 * t0 the earliest start, t1 the latest end. log: as for churn_run. A run
 * still going deadline_s seconds after it started is stopped (every thread
 * ends within 1024 ops): r->partial says so, r->ops counts what was done. */
void w3_run(bench_heap *h, unsigned threads, size_t ops_per_thread, bool touch,
            event_log *log, double deadline_s, churn_result *r);

/* ---- W5 "grow" ---- */

typedef struct grow_result {
    size_t ops, growths, inplace, moves, frees, failed;
    uint64_t bytes_copied;   /* the old size of every growth that moved */
    size_t pattern_errors;
    size_t first_bad_op;     /* the op of the first broken pattern */
    double seconds;
} grow_result;

void grow_run(bench_heap *h, size_t ops, event_log *log, grow_result *r);

#endif /* CA_BENCH_WORKLOADS_H */
