/* SPDX-License-Identifier: MIT */
/*
 * bench/timing.h — clocks and order statistics.
 *
 * Per-call timings read the time-stamp counter with rdtscp, followed by
 * lfence so that the timed call cannot start before the first read (rdtscp
 * already waits for everything before it to finish). The window of an
 * empty pair is measured at start-up and reported, never subtracted.
 * TSC ticks are converted to ns with a rate calibrated against
 * CLOCK_MONOTONIC over about 50 ms. On a machine without an x86 TSC the
 * "ticks" are nanoseconds from CLOCK_MONOTONIC.
 *
 * Percentiles are nearest-rank on sorted samples: p-th percentile of n is
 * sample number ceil(p/100 * n) (1-based), so it is always a measured value.
 *
 * Thread safety: everything here is safe from any thread, except that
 * tsc_calibrate fills its argument (call it once, at start-up).
 */
#ifndef CA_BENCH_TIMING_H
#define CA_BENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#else
#define BENCH_HAVE_TSC 0
#endif

/* Seconds on CLOCK_MONOTONIC. */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read the counter: right before (tsc_begin) and right after (tsc_end)
 * the call being timed. */
static inline uint64_t tsc_read(void)
{
#if BENCH_HAVE_TSC
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}
#define tsc_begin() tsc_read()
#define tsc_end() tsc_read()

typedef struct tsc_info {
    double ticks_per_ns;   /* calibrated rate */
    double calib_ms;       /* how long the calibration ran */
    uint64_t overhead;     /* median ticks of an empty begin/end pair */
    int invariant;         /* 1: constant_tsc and nonstop_tsc in /proc/cpuinfo;
                            * 0: not both; -1: unknown */
    const char *source;    /* "rdtscp" or "clock_gettime" */
} tsc_info;

/* Calibrate the counter (about 50 ms) and measure its overhead. */
void tsc_calibrate(tsc_info *info);

/* The calibration in use (after tsc_calibrate). */
const tsc_info *tsc_get(void);

/* ticks -> ns with the calibrated rate. */
double tsc_ns(double ticks);

/* Sort n samples ascending. */
void sort_u64(uint64_t *a, size_t n);

/* Nearest-rank percentile p (0 < p <= 100) of n sorted samples; 0 if n == 0. */
uint64_t pct_u64(const uint64_t *sorted, size_t n, double p);

/* The median of n values (sorts them); the mean of the two middle ones
 * when n is even. 0 if n == 0. */
double median_d(double *a, size_t n);

/* The smallest and largest of n values. */
double min_d(const double *a, size_t n);
double max_d(const double *a, size_t n);

#endif /* CA_BENCH_TIMING_H */
