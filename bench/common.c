/* SPDX-License-Identifier: MIT */
/*
 * bench/common.c — scratch memory from mmap, the failure record and
 * progress lines (see common.h). The failure record is a fixed array
 * behind a mutex, so that a failure found in a worker thread or in the
 * fault handler needs no allocation.
 */
#define _GNU_SOURCE
#include "bench/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *map(size_t bytes, int flags)
{
    if (bytes == 0)
        bytes = 1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "ca-bench: mmap of %zu bytes failed\n", bytes);
        exit(1);
    }
    return p;
}

void *bench_map(size_t bytes)
{
    return map(bytes, MAP_POPULATE);
}

void *bench_map_lazy(size_t bytes)
{
    return map(bytes, 0);
}

void bench_unmap(void *p, size_t bytes)
{
    if (p != NULL)
        munmap(p, bytes ? bytes : 1);
}

/* ---- failures ---- */

enum { FAIL_KEEP = 64, FAIL_LEN = 256 };

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_text[FAIL_KEEP][FAIL_LEN];
static size_t fail_total;

void bench_fail_note(const char *msg)
{
    pthread_mutex_lock(&fail_lock);
    if (fail_total < FAIL_KEEP)
        snprintf(fail_text[fail_total], FAIL_LEN, "%s", msg);
    fail_total++;
    pthread_mutex_unlock(&fail_lock);
}

void bench_fail(const char *fmt, ...)
{
    char msg[FAIL_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bench_fail_note(msg);
    fprintf(stderr, "\n*** VERIFICATION FAILED: %s\n", msg);
}

size_t bench_fail_count(void)
{
    pthread_mutex_lock(&fail_lock);
    size_t n = fail_total;
    pthread_mutex_unlock(&fail_lock);
    return n;
}

const char *bench_fail_message(size_t i)
{
    return i < FAIL_KEEP ? fail_text[i] : "(more failures, not kept)";
}

/* ---- progress ---- */

static int progress_quiet;

void bench_progress_quiet(int quiet)
{
    progress_quiet = quiet;
}

void bench_progress(const char *fmt, ...)
{
    if (progress_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
