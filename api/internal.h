/* SPDX-License-Identifier: MIT */
/*
 * api/internal.h — the arena object behind a ca_arena handle, and what the
 * api/ files share.
 *
 * An arena object is one sync arena (sync/sync.h), the per-thread caches
 * in front of it (cache/cache.h), with a name, its place in
 * the registry (api/registry.c) and the API's own counter. A runtime arena's
 * object sits at the front of its bookkeeping (in the caller's memory); a
 * static arena's sits in the struct ca_arena_static that CA_ARENA_DEFINE
 * lays out, and is set up on first use: `state` goes UNSET -> SETTING ->
 * READY once, by CAS (acquire/release), whichever thread comes first; the
 * others wait for READY (acquire, pairs with the release store that ends
 * the set-up).
 */
#ifndef CA_API_INTERNAL_H
#define CA_API_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/chunkarena.h"
#include "cache/cache.h"
#include "sync/sync.h"

enum arena_state {
    CA_STATE_UNSET = 0, /* a static arena not yet set up (zero-initialised) */
    CA_STATE_SETTING,   /* being set up by one thread */
    CA_STATE_READY,
    CA_STATE_BROKEN,    /* a static arena whose set-up failed: every call fails */
    CA_STATE_GONE       /* destroyed or unloaded */
};

struct ca_arena {
    _Atomic int state;                /* enum arena_state */
    bool is_static;
    bool registered;                  /* in the registry (writers only) */
    bool named;                       /* found by name: not a static arena whose
                                       * name another arena had already */
    char name[CA_NAME_MAX + 1];
    _Atomic(struct ca_arena *) next;  /* registry order (api/registry.c) */
    _Atomic size_t moves;             /* reallocs that moved */
    /* The memory the arena was given (its region and, when separate, its
     * bookkeeping), so that create refuses memory a live arena uses. */
    uintptr_t span[2][2];             /* [i][0] first byte, [i][1] one past */
    ca_sync_arena sync;
    ca_cache cache;                   /* per-thread caches in front of sync */
};

_Static_assert(sizeof(struct ca_arena) <= CA_PRIVATE_OBJECT_BYTES,
               "the arena object must fit a static arena's room for it");
_Static_assert(_Alignof(struct ca_arena) <= 64, "a static arena's object room is 64-aligned");
_Static_assert(offsetof(struct ca_arena_static, object) == 0,
               "a static arena's handle is the address of its object");

/* Set up a static arena now if nobody has; false if it cannot be used. */
bool ca_api_static_ready(ca_arena *a);

/* Whether the arena can be used: one acquire load when it is (the common
 * case), else the static set-up. */
static inline bool ca_api_ready(ca_arena *a)
{
    return atomic_load_explicit(&a->state, memory_order_acquire) == CA_STATE_READY ||
           ca_api_static_ready(a);
}

/* The sync arena's figures into the fields of ca_stats of the same names
 * (the rest, the API's own, left alone). For api/stats.c and the stress
 * harness, which checks a sync arena's figures as the API shows them. */
void ca_api_stats_of(const ca_sync_stats *s, ca_stats *out);

/* Map a core status to a fault (for pointer statuses). */
ca_fault ca_api_fault_of(ca_core_status st);

/* Report a fault on `p` to the handler (no lock held). */
void ca_api_report(const ca_arena *a, const void *p, ca_fault fault, const char *function);

/* ---- the registry (api/registry.c): safe from any thread ---- */

/* Readers: between enter and leave the arenas seen stay valid (an arena
 * being destroyed waits for every reader that might see it). */
void ca_registry_enter(void);
void ca_registry_leave(void);
/* The first registered arena, and the next one; NULL at the end. */
ca_arena *ca_registry_first(void);
ca_arena *ca_registry_next(const ca_arena *a);

/* Writers: one at a time, between lock and unlock. */
void ca_registry_lock(void);
void ca_registry_unlock(void);
/* The registered arena named `name`, or NULL (under the writer lock or
 * between enter and leave). */
ca_arena *ca_registry_named(const char *name);
void ca_registry_add(ca_arena *a);
void ca_registry_remove(ca_arena *a);
/* After remove and unlock: wait until no reader can still see the arena. */
void ca_registry_wait_readers(void);

#endif /* CA_API_INTERNAL_H */
