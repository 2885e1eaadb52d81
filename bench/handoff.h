/* SPDX-License-Identifier: MIT */
/*
 * bench/handoff.h — W6 "handoff": blocks allocated on one thread and freed
 * on another (docs/WORKLOADS.md).
 *
 * T pairs of threads on one heap. Producer i draws sizes with SplitMix64
 * seeded W6_SEED + i (size = 64 + below(4032), default alignment),
 * allocates, stamps the block's sequence number into its first and last 8
 * bytes, and pushes the pointer into its pair's bounded single-producer
 * single-consumer queue (1,024 pointers), waiting while it is full.
 * Consumer i pops, checks both stamps, and frees. The queue carries only
 * the pointer: the consumer replays its producer's draws to know each
 * block's size, and the first stamp says which draw the block is (a
 * failed allocation leaves a gap in the sequence, which the consumer
 * steps over).
 *
 * Thread safety: handoff_run is called by one thread; it starts and joins
 * its 2T threads itself.
 */
#ifndef CA_BENCH_HANDOFF_H
#define CA_BENCH_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/backends.h"
#include "bench/verify.h"

#define W6_SEED 0xC0FFEEu
#define W6_BLOCKS_PER_PAIR 1000000u
#define W6_QUEUE 1024u

typedef struct handoff_result {
    size_t blocks;         /* blocks freed by the consumers (= handed over) */
    size_t failed;         /* allocations that returned NULL */
    size_t stamp_errors;   /* blocks whose stamps were not the expected ones */
    double t0, t1;         /* earliest start, latest end (CLOCK_MONOTONIC s) */
    bool partial;          /* stopped at the deadline */
} handoff_result;

/* One W6 run: `pairs` pairs, `blocks` draws per producer. log: every
 * allocation and free for the overlap check, or NULL. A run still going
 * deadline_s seconds after it started is stopped (producers stop drawing
 * within 1024 blocks, consumers drain what was pushed). */
void handoff_run(bench_heap *h, unsigned pairs, size_t blocks, event_log *log, double deadline_s,
                 handoff_result *r);

#endif /* CA_BENCH_HANDOFF_H */
