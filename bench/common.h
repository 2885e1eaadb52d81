/* SPDX-License-Identifier: MIT */
/*
 * bench/common.h — what every part of ca-bench shares: scratch memory that
 * does not come from the allocator under test, and the record of failed
 * verifications.
 *
 * The benchmark's own big arrays (slot tables, queues, latency samples,
 * event logs) are mapped with mmap, never taken from malloc, so that the
 * malloc backends measure the workload and nothing else. Verification
 * failures are printed loudly on stderr when found, kept, printed again at
 * the end of the table, and make ca-bench exit non-zero.
 *
 * Thread safety: bench_map and bench_unmap are safe from any thread;
 * bench_fail is safe from any thread (it takes a mutex), the others are
 * called by the main thread only.
 */
#ifndef CA_BENCH_COMMON_H
#define CA_BENCH_COMMON_H

#include <stddef.h>
#include <stdio.h>

/* `bytes` of zeroed memory from mmap, its pages faulted in now
 * (MAP_POPULATE) so that a run never pays for its own tables; exits the
 * program when the system has none (a benchmark cannot go on without its
 * tables). */
void *bench_map(size_t bytes);

/* The same without faulting the pages in: for the arena region, which a
 * run touches as a user of chunkarena would. */
void *bench_map_lazy(size_t bytes);
void bench_unmap(void *p, size_t bytes);

/* Record a failed verification (a wrong checksum, a broken pattern, an
 * overlap, an arena invariant): printed at once on stderr, kept for the
 * summary. printf-like. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Record a failure that was already printed elsewhere (by a child). */
void bench_fail_note(const char *msg);

/* How many failures were recorded, and the i-th message. */
size_t bench_fail_count(void);
const char *bench_fail_message(size_t i);

/* A progress line on stderr (stdout carries only the tables). */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Silence progress lines (the --child process keeps its stderr quiet). */
void bench_progress_quiet(int quiet);

#endif /* CA_BENCH_COMMON_H */
