/* SPDX-License-Identifier: MIT */
/*
 * bench/timing.c — TSC calibration and order statistics (see timing.h).
 * The calibration brackets each clock_gettime with two counter reads and
 * takes their midpoint, at the start and at the end of a ~50 ms busy wait,
 * so the rate does not depend on how long one clock read takes.
 */
#define _GNU_SOURCE
#include "bench/timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tsc_info current = {1.0, 0.0, 0, -1, "clock_gettime"};

/* One (counter, ns) pair, the counter taken as the midpoint around the clock. */
static void sample(double *ticks, double *ns)
{
    uint64_t a = tsc_read();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t b = tsc_read();
    *ticks = (double)a + (double)(b - a) / 2.0;
    *ns = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* 1 when /proc/cpuinfo lists both constant_tsc and nonstop_tsc, 0 when it
 * does not, -1 when it cannot be read. */
static int tsc_invariant(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return -1;
    char line[4096];
    int found = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = strstr(line, " constant_tsc") != NULL && strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return found;
}

void tsc_calibrate(tsc_info *info)
{
    tsc_info t = {1.0, 0.0, 0, -1, "clock_gettime"};
#if BENCH_HAVE_TSC
    t.source = "rdtscp";
    t.invariant = tsc_invariant();
    double t0, n0, t1, n1;
    sample(&t0, &n0);
    do
        sample(&t1, &n1);
    while (n1 - n0 < 50e6);
    t.ticks_per_ns = (t1 - t0) / (n1 - n0);
    t.calib_ms = (n1 - n0) / 1e6;
#endif
    enum { PAIRS = 2001 };
    static uint64_t empty[PAIRS];
    for (size_t i = 0; i < PAIRS; i++) {
        uint64_t a = tsc_begin();
        uint64_t b = tsc_end();
        empty[i] = b - a;
    }
    sort_u64(empty, PAIRS);
    t.overhead = pct_u64(empty, PAIRS, 50.0);
    current = t;
    *info = t;
}

const tsc_info *tsc_get(void)
{
    return &current;
}

double tsc_ns(double ticks)
{
    return ticks / current.ticks_per_ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void sort_u64(uint64_t *a, size_t n)
{
    if (n > 1)
        qsort(a, n, sizeof *a, cmp_u64);
}

uint64_t pct_u64(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    double rank = p / 100.0 * (double)n;
    size_t r = (size_t)rank;
    if ((double)r < rank)
        r++;
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return sorted[r - 1];
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_d(double *a, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(a, n, sizeof *a, cmp_d);
    return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2.0;
}

double min_d(const double *a, size_t n)
{
    double m = n ? a[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        if (a[i] < m)
            m = a[i];
    return m;
}

double max_d(const double *a, size_t n)
{
    double m = n ? a[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        if (a[i] > m)
            m = a[i];
    return m;
}
