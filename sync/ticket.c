/*
 * sync/ticket.c — how many tickets the ticket lock lets out at once
 * (sync/ticket.h): as many as there are CPUs online, asked once. Any thread
 * may call it; the first calls may each ask, and all store the same value.
 */
#include "config.h"

#include "sync/ticket.h"

#include <unistd.h>

unsigned ca_sync_ticket_admitted(void)
{
    static _Atomic unsigned cpus; /* 0 until asked */
    unsigned n = atomic_load_explicit(&cpus, memory_order_relaxed);
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 1 ? (unsigned)online : 2u; /* a holder and one waiter at least */
        atomic_store_explicit(&cpus, n, memory_order_relaxed);
    }
    return n;
}
