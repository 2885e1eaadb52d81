/* SPDX-License-Identifier: MIT */
/*
 * sync/none.h — the "none" layer: no locking at all.
 *
 * For arenas used by one thread only, and for freestanding code. Every call
 * is empty; the arena runs its core in exclusive mode, so using a "none"
 * arena from two threads at once is a data race (ThreadSanitizer says so).
 */
#ifndef CA_SYNC_NONE_H
#define CA_SYNC_NONE_H

#include <stdbool.h>

typedef struct ca_sync_none {
    char unused;
} ca_sync_none;

#define CA_SYNC_NONE_INIT {0}

static inline void ca_sync_none_init(ca_sync_none *l)
{
    l->unused = 0;
}

static inline void ca_sync_none_lock(ca_sync_none *l)
{
    (void)l;
}

static inline void ca_sync_none_unlock(ca_sync_none *l)
{
    (void)l;
}

#endif /* CA_SYNC_NONE_H */
