/* SPDX-License-Identifier: MIT */
/*
 * sync/backoff.h — how a spinning thread waits: pause, within a bounded
 * budget, then give the processor away.
 *
 * Shared by the spin and ticket locks. The budget is what keeps them alive
 * when threads outnumber cores (8 threads on 2 cores): a critical section
 * here lasts well under a microsecond, so a lock not free after a few
 * microseconds of spinning has a holder (or, for the ticket lock, a next
 * owner) that is not running, and spinning on would only keep it from
 * running. After the budget every wait is a sched_yield. A backoff is
 * per-wait state on the waiter's stack.
 */
#ifndef CA_SYNC_BACKOFF_H
#define CA_SYNC_BACKOFF_H

#include <sched.h>

/* Pauses a waiter may spin before it yields instead: 128 pauses are about
 * 3 microseconds on the machines measured (a pause costs 25 ns on Zen 4,
 * up to 40 ns on recent Intel cores). */
#define CA_SYNC_SPIN_BUDGET 128u

typedef struct ca_sync_backoff {
    unsigned spent; /* pauses spun so far */
} ca_sync_backoff;

#define CA_SYNC_BACKOFF_INIT {0u}

/* One pause: lets the sibling hyperthread run and saves power. */
static inline void ca_sync_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* Wait once: spin `pauses` pauses while the budget lasts, else yield. */
static inline void ca_sync_backoff_wait(ca_sync_backoff *b, unsigned pauses)
{
    if (b->spent >= CA_SYNC_SPIN_BUDGET) {
        sched_yield();
        return;
    }
    for (unsigned i = 0; i < pauses; i++)
        ca_sync_pause();
    b->spent += pauses;
}

#endif /* CA_SYNC_BACKOFF_H */
