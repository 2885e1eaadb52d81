/* SPDX-License-Identifier: MIT */
/*
 * bench/verify.h — the overlap check: an event log written during a run,
 * replayed after it.
 *
 * During a verified run, every successful allocation logs (pointer, size)
 * right after the call returns, and every free logs the pointer right
 * before the call. Each event takes its place from one atomic counter, so
 * the log of a multi-threaded run (W3) is in a global order: if a free
 * really happened before an allocation that reused its memory, the free's
 * event comes first. After the run the log is replayed against a set of
 * live intervals [p, p + size): an allocation that intersects a live one is
 * an overlap (two live blocks share memory); a free of a pointer that is
 * not the start of a live block is a bookkeeping error. The check has no
 * false positives; under threads it may miss an overlap whose two blocks
 * were live together only briefly.
 *
 * The log lives in mmap'd memory and the replay runs after the timed part,
 * so the allocator under test sees nothing of it. Timed repetitions run
 * without a log (the workloads take NULL).
 *
 * Thread safety: log_alloc and log_free are safe from any thread; the
 * others are called with no run in flight.
 */
#ifndef CA_BENCH_VERIFY_H
#define CA_BENCH_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct log_event {
    uintptr_t p;
    size_t size; /* 0: a free (every workload asks for at least 16 bytes) */
} log_event;

typedef struct event_log {
    _Atomic size_t next;  /* the next free place; may pass cap (overflow) */
    size_t cap;
    log_event *ev;
} event_log;

/* A log with room for `cap` events. */
void log_init(event_log *log, size_t cap);
void log_release(event_log *log);

static inline void log_put(event_log *log, const void *p, size_t size)
{
    size_t i = atomic_fetch_add_explicit(&log->next, 1, memory_order_relaxed);
    if (i < log->cap) {
        log->ev[i].p = (uintptr_t)p;
        log->ev[i].size = size;
    }
}

/* Call right after an allocation of `size` (> 0) bytes returned p != NULL. */
static inline void log_alloc(event_log *log, const void *p, size_t size)
{
    if (log != NULL)
        log_put(log, p, size);
}

/* Call right before freeing p != NULL. */
static inline void log_free(event_log *log, const void *p)
{
    if (log != NULL)
        log_put(log, p, 0);
}

/* Replay the log; on the first problem (overlap, bad free, overflow, blocks
 * left live at the end) record a verification failure naming `what` and
 * return false. */
bool log_replay(event_log *log, const char *what);

#endif /* CA_BENCH_VERIFY_H */
