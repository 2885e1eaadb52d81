/* SPDX-License-Identifier: MIT */
/*
 * sync/mutex.h — the "mutex" layer: a pthread mutex.
 *
 * The kernel puts waiters to sleep, so this is the layer for hosted code on
 * an oversubscribed machine. The mutex supplies the ordering: unlock
 * happens-before the next lock.
 */
#ifndef CA_SYNC_MUTEX_H
#define CA_SYNC_MUTEX_H

#include <pthread.h>

typedef struct ca_sync_mutex {
    pthread_mutex_t m;
} ca_sync_mutex;

static inline void ca_sync_mutex_init(ca_sync_mutex *l)
{
    (void)pthread_mutex_init(&l->m, NULL); /* default attributes: cannot fail on Linux */
}

static inline void ca_sync_mutex_fini(ca_sync_mutex *l)
{
    (void)pthread_mutex_destroy(&l->m);
}

static inline void ca_sync_mutex_lock(ca_sync_mutex *l)
{
    (void)pthread_mutex_lock(&l->m); /* a normal mutex, not ours: cannot fail */
}

static inline void ca_sync_mutex_unlock(ca_sync_mutex *l)
{
    (void)pthread_mutex_unlock(&l->m);
}

#endif /* CA_SYNC_MUTEX_H */
