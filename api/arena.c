/* SPDX-License-Identifier: MIT */
/*
 * api/arena.c — arenas as the user sees them: creation over caller memory,
 * static arenas, destruction, reset, lookup by name and by address.
 *
 * Thread safety: see api/chunkarena.h. Lookups run as registry readers;
 * creation, destruction and static (un)registration as registry writers,
 * one at a time. No user code runs and nothing is printed under the
 * registry's locks.
 */
#include "config.h"

#include "api/internal.h"
#include "api/track.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* The bytes of bookkeeping before the chunks, in this order: the arena
 * object (64-aligned), the sync arena's metadata (core map and summaries). */
#define OBJECT_ROOM ((sizeof(struct ca_arena) + 63u) & ~(size_t)63u)

const char *ca_lock_name(ca_lock lock)
{
    static const char *const names[] = {[CA_LOCK_DEFAULT] = "default", [CA_LOCK_NONE] = "none",
                                        [CA_LOCK_SPIN] = "spin",       [CA_LOCK_TICKET] = "ticket",
                                        [CA_LOCK_MUTEX] = "mutex",     [CA_LOCK_HINT] = "hint"};
    return (unsigned)lock <= (unsigned)CA_LOCK_HINT ? names[lock] : "unknown lock";
}

/* A config with every default filled in; false if any field is out of range.
 * The one place CA_LOCK_DEFAULT is resolved: sync/ knows only layers. */
static bool settle(const ca_config *in, ca_config *out, unsigned *shift)
{
    static const ca_config defaults = {0};
    *out = in ? *in : defaults;
    if (out->chunk_size == 0)
        out->chunk_size = CA_DEFAULT_CHUNK_SIZE;
    if (out->lock == CA_LOCK_DEFAULT)
        out->lock = CA_SYNC_DEFAULT; /* configure --with-lock */
    if (out->fit_window == 0)
        out->fit_window = CA_SYNC_DEFAULT_WINDOW;
    *shift = ca_sync_chunk_shift(out->chunk_size);
    return *shift != 0 && (unsigned)out->lock <= (unsigned)CA_LOCK_HINT &&
           out->fit_window <= CA_SYNC_MAX_WINDOW && (unsigned)out->cache <= (unsigned)CA_CACHE_OFF &&
           (out->cache_block >> *shift) <= CA_CACHE_BLOCK_CHUNKS_MAX;
}

/* The caches of an arena of nchunks chunks of (1 << shift) bytes under
 * config c: the largest block cached (0: off) and the limit, in chunks. */
static void cache_plan(const ca_config *c, size_t nchunks, unsigned shift, size_t *classes,
                       size_t *limit, bool *eager)
{
    /* configure --with-cache: CA_CACHE_DEFAULT_MODE is 0 (no), 1 (shared:
     * from a second thread on) or 2 (always: from the first operation). */
    bool on = c->cache == CA_CACHE_ON || (c->cache == CA_CACHE_DEFAULT && CA_CACHE_DEFAULT_MODE &&
                                          nchunks >= CA_CACHE_MIN_CHUNKS);
    *eager = c->cache == CA_CACHE_ON || CA_CACHE_DEFAULT_MODE == 2;
    size_t block = c->cache_block ? c->cache_block : CA_CACHE_DEFAULT_BLOCK;
    *classes = on ? ((block - 1) >> shift) + 1 : 0;
    if (*classes > CA_CACHE_BLOCK_CHUNKS_MAX) /* the default block, of 16-byte chunks */
        *classes = CA_CACHE_BLOCK_CHUNKS_MAX;
    *limit = c->cache_limit ? c->cache_limit >> shift : nchunks / CA_CACHE_SHARE;
}

/* The arena's own bytes before the layer's bookkeeping: the object, and 64
 * to align it. */
#define OWN_BYTES (OBJECT_ROOM + 64u)

/* All the bookkeeping of n chunks under `kind`; 0: too many chunks. */
static size_t meta_bytes(size_t nchunks, ca_lock kind)
{
    size_t sync = ca_sync_meta_size(kind, nchunks);
    return sync ? OWN_BYTES + sync : 0;
}

size_t ca_arena_meta_size(size_t nchunks, const ca_config *config)
{
    ca_config c;
    unsigned shift;
    if (!settle(config, &c, &shift) || nchunks == 0 || nchunks > CA_SYNC_MAX_CHUNKS) {
        errno = EINVAL;
        return 0;
    }
    return meta_bytes(nchunks, c.lock);
}

/* Fill in a new arena object at `a` and set up its sync arena as `config`
 * (settled) says; the caller holds the registry's writer lock (or sets up
 * a static arena), has checked the name, and registers it afterwards.
 * Returns a core status (OK or a refusal). */
static ca_core_status set_up(ca_arena *a, const char *name, void *base, size_t nchunks,
                             unsigned shift, void *sync_meta, bool is_static,
                             const ca_config *config)
{
    ca_core_status st = ca_sync_arena_init(&a->sync, config->lock, base, nchunks, shift,
                                           sync_meta, config->fit_window);
    if (st != CA_CORE_OK)
        return st;
    size_t classes, limit;
    bool eager;
    cache_plan(config, nchunks, shift, &classes, &limit, &eager);
    ca_cache_init(&a->cache, &a->sync, classes, limit, eager);
    a->is_static = is_static;
    ca_api_track_region(a); /* no block yet: poisoned whole */
    a->registered = false;
    a->named = true;
    strcpy(a->name, name); /* length checked by the callers */
    atomic_init(&a->next, NULL);
    atomic_init(&a->moves, (size_t)0);
    return CA_CORE_OK;
}

static void arm_exit(void); /* see "Whether the process is exiting" below */

/* Record the memory an arena was given: [mem, mem + len) and [meta,
 * meta + meta_len) (meta NULL: carved from mem). */
static void set_spans(ca_arena *a, const void *mem, size_t len, const void *meta, size_t meta_len)
{
    a->span[0][0] = (uintptr_t)mem;
    a->span[0][1] = (uintptr_t)mem + len;
    a->span[1][0] = meta ? (uintptr_t)meta : 0;
    a->span[1][1] = meta ? (uintptr_t)meta + meta_len : 0;
}

static bool overlap(uintptr_t lo, uintptr_t hi, const uintptr_t span[2])
{
    return lo < hi && span[0] < span[1] && lo < span[1] && span[0] < hi;
}

/* Whether [lo, hi) overlaps the memory of a registered arena (caller holds
 * the registry's writer lock). Reusing a live arena's memory would set up
 * a second arena over the first (over the very same object when the
 * bookkeeping is carved at the same place: adding it again would close the
 * registry's list into a cycle). */
static bool in_use(uintptr_t lo, uintptr_t hi)
{
    for (ca_arena *a = ca_registry_first(); a; a = ca_registry_next(a))
        if (overlap(lo, hi, a->span[0]) || overlap(lo, hi, a->span[1]))
            return true;
    return false;
}

static int errno_of(ca_core_status st)
{
    return st == CA_CORE_TOOSMALL || st == CA_CORE_TOOLARGE ? ENOMEM : EINVAL;
}

ca_arena *ca_arena_create(const char *name, void *mem, size_t len, const ca_config *config)
{
    ca_config c;
    unsigned shift;
    if (!name || !mem || name[0] == '\0' || !settle(config, &c, &shift) ||
        ((uintptr_t)mem & (c.chunk_size - 1)) || ((uintptr_t)c.meta & 63u)) {
        errno = EINVAL;
        return NULL;
    }
    if (strlen(name) > CA_NAME_MAX) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    uintptr_t mem_lo = (uintptr_t)mem, mem_hi = mem_lo + len;
    uintptr_t meta_lo = (uintptr_t)c.meta, meta_hi = meta_lo + c.meta_len;
    if (len > UINTPTR_MAX - mem_lo || (c.meta && c.meta_len > UINTPTR_MAX - meta_lo)) {
        errno = EINVAL; /* wraps the address space */
        return NULL;
    }
    if (c.meta) {
        uintptr_t m[2] = {mem_lo, mem_hi};
        if (overlap(meta_lo, meta_hi, m)) {
            errno = EINVAL;
            return NULL;
        }
    }

    /* Where things go: with a separate buffer, the bookkeeping there and
     * every chunk in mem; otherwise the bookkeeping at the front of mem. */
    size_t nchunks;
    void *meta, *base;
    if (c.meta) {
        nchunks = len >> shift;
        if (nchunks > CA_SYNC_MAX_CHUNKS)
            nchunks = CA_SYNC_MAX_CHUNKS;
        if (nchunks == 0 || c.meta_len < meta_bytes(nchunks, c.lock)) {
            errno = ENOMEM;
            return NULL;
        }
        meta = c.meta;
        base = mem;
    } else {
        ca_core_status st =
            ca_sync_layout(c.lock, OWN_BYTES, mem, len, shift, &nchunks, &meta, &base);
        if (st != CA_CORE_OK) {
            errno = errno_of(st);
            return NULL;
        }
    }
    uintptr_t at = ((uintptr_t)meta + 63u) & ~(uintptr_t)63u;
    ca_arena *a = (ca_arena *)at;
    void *sync_meta = (unsigned char *)a + OBJECT_ROOM;

    arm_exit();
    ca_registry_lock();
    if (ca_registry_named(name)) {
        ca_registry_unlock();
        errno = EEXIST;
        return NULL;
    }
    if (in_use(mem_lo, mem_hi) || (c.meta && in_use(meta_lo, meta_hi))) {
        ca_registry_unlock();
        errno = EBUSY;
        return NULL;
    }
    ca_core_status st = set_up(a, name, base, nchunks, shift, sync_meta, false, &c);
    if (st == CA_CORE_OK) {
        set_spans(a, mem, len, c.meta, c.meta_len);
        atomic_store_explicit(&a->state, CA_STATE_READY, memory_order_release);
        ca_registry_add(a);
    }
    ca_registry_unlock();
    if (st != CA_CORE_OK) {
        errno = errno_of(st);
        return NULL;
    }
    return a;
}

int ca_arena_destroy(ca_arena *a)
{
    if (!a || !ca_api_ready(a)) {
        errno = EINVAL;
        return -1;
    }
    if (a->is_static) {
        errno = EPERM;
        return -1;
    }
    /* The scan needs no registry lock: no operation may run on the arena
     * now (and the last free must have returned), as the header says.
     * Cached blocks are not the program's allocations: they go back once
     * destroy is sure to go ahead (a refusal changes nothing). */
    ca_sync_stats s;
    ca_sync_arena_stats(&a->sync, &s); /* cached blocks not counted */
    if (s.allocations > 0) {
        errno = EBUSY;
        return -1;
    }
    ca_cache_drain_all(&a->cache);
    ca_registry_lock();
    if (atomic_load_explicit(&a->state, memory_order_relaxed) != CA_STATE_READY) {
        ca_registry_unlock(); /* destroyed meanwhile by another call */
        errno = EINVAL;
        return -1;
    }
    ca_registry_remove(a);
    atomic_store_explicit(&a->state, CA_STATE_GONE, memory_order_relaxed);
    ca_registry_unlock();
    ca_registry_wait_readers();
    ca_cache_fini(&a->cache);
    ca_api_track_region_gone(a);
    ca_sync_arena_fini(&a->sync);
    return 0;
}

void ca_arena_reset(ca_arena *a)
{
    if (a && ca_api_ready(a)) {
        ca_api_track_discard(a); /* every block gone at once */
        ca_cache_reset(&a->cache); /* every thread's caches, then the sync arena */
    }
}

ca_arena *ca_arena_find(const char *name)
{
    if (!name) {
        errno = EINVAL;
        return NULL;
    }
    ca_registry_enter();
    ca_arena *a = ca_registry_named(name);
    ca_registry_leave();
    if (!a)
        errno = ENOENT;
    return a;
}

size_t ca_arena_list(ca_arena **out, size_t max)
{
    size_t n = 0;
    ca_registry_enter();
    for (ca_arena *a = ca_registry_first(); a; a = ca_registry_next(a), n++)
        if (n < max)
            out[n] = a;
    ca_registry_leave();
    return n;
}

const char *ca_arena_name(const ca_arena *a)
{
    ca_arena *m = (ca_arena *)a; /* a static arena may set itself up here */
    return ca_api_ready(m) ? m->name : "";
}

ca_arena *ca_arena_of(const void *p)
{
    ca_arena *found = NULL;
    ca_registry_enter();
    for (ca_arena *a = ca_registry_first(); a && !found; a = ca_registry_next(a))
        if (ca_sync_arena_owns(&a->sync, p))
            found = a;
    ca_registry_leave();
    if (!found)
        errno = ENOENT;
    return found;
}

/* ---- static arenas ---- */

/* Set up a static arena from its descriptor: its config has every default
 * but chunk_size and lock. Under SETTING, one thread. */
static int set_up_static(struct ca_arena_static *s)
{
    const struct ca_arena_static_desc *d = &s->desc;
    ca_arena *a = (ca_arena *)s->object;
    const ca_config given = {.chunk_size = d->chunk_size, .lock = d->lock};
    ca_config c;
    unsigned shift;
    if (!d->name || d->name[0] == '\0' || strlen(d->name) > CA_NAME_MAX || d->chunk_size == 0 ||
        !settle(&given, &c, &shift) || d->meta_len < ca_sync_meta_size(c.lock, d->nchunks))
        return CA_STATE_BROKEN;
    ca_core_status st = set_up(a, d->name, d->region, d->nchunks, shift, d->meta, true, &c);
    set_spans(a, d->region, d->nchunks * d->chunk_size, d->meta, d->meta_len);
    return st == CA_CORE_OK ? CA_STATE_READY : CA_STATE_BROKEN;
}

bool ca_api_static_ready(ca_arena *a)
{
    int state = atomic_load_explicit(&a->state, memory_order_acquire);
    if (state == CA_STATE_UNSET) {
        int unset = CA_STATE_UNSET;
        if (atomic_compare_exchange_strong_explicit(&a->state, &unset, CA_STATE_SETTING,
                                                    memory_order_acquire, memory_order_acquire)) {
            arm_exit();
            state = set_up_static((struct ca_arena_static *)a);
            /* release: pairs with the acquire loads of ca_api_ready */
            atomic_store_explicit(&a->state, state, memory_order_release);
            return state == CA_STATE_READY;
        }
        state = unset;
    }
    while (state == CA_STATE_SETTING) {
        sched_yield(); /* another thread is setting it up: a few microseconds */
        state = atomic_load_explicit(&a->state, memory_order_acquire);
    }
    return state == CA_STATE_READY;
}

/*
 * Whether the process is exiting, so that a static arena's destructor leaves
 * the arena alone (its memory stays until the end, and destructors that run
 * later, or threads still running, may use it), while a dlclose() takes the
 * arenas of the module it unloads out of the registry.
 *
 * The flag is set by an atexit handler, which must run before any module's
 * destructor. glibc runs the atexit handlers in reverse order of arming,
 * and every module's destructors from one of them: the dynamic linker's
 * _dl_fini, which __libc_start_main arms just before the executable's
 * constructors run. A handler armed later (by the executable's
 * constructors, by main, by anything a dlopen()ed module does) runs before
 * the destructors; one armed by a shared library's constructor at start-up
 * runs after them all, too late. That last case is libchunkarena.so's own
 * constructor, and the constructors of the static arenas of any library
 * loaded with the program. So the handler is armed again wherever the
 * library may run after start-up: when a static arena registers or sets
 * itself up, and when an arena is created. Arming is bounded (MAX_ARMED):
 * a program that creates arenas in a loop does not grow the atexit list.
 */
#define MAX_ARMED 32u
static _Atomic bool exiting;
static _Atomic unsigned armed;

static void note_exit(void)
{
    atomic_store_explicit(&exiting, true, memory_order_relaxed);
}

static void arm_exit(void)
{
    if (atomic_load_explicit(&armed, memory_order_relaxed) < MAX_ARMED &&
        atomic_fetch_add_explicit(&armed, 1u, memory_order_relaxed) < MAX_ARMED)
        (void)atexit(note_exit);
}

__attribute__((constructor)) static void watch_exit(void)
{
    arm_exit();
}

void ca_arena_static_register(struct ca_arena_static *s)
{
    ca_arena *a = (ca_arena *)s->object;
    arm_exit();
    if (!ca_api_ready(a))
        return;
    ca_registry_lock();
    if (!a->registered) {
        /* A name already taken: registered by address all the same (so
         * ca_arena_of and ca_free_any know its memory), not by name. */
        a->named = ca_registry_named(a->name) == NULL;
        ca_registry_add(a);
    }
    ca_registry_unlock();
}

void ca_arena_static_unregister(struct ca_arena_static *s)
{
    ca_arena *a = (ca_arena *)s->object;
    /* At process exit the memory stays until the end, and destructors that
     * run later (or threads still running) may still use the arena: leave
     * it. Only an unloaded shared library takes its arenas away. */
    if (atomic_load_explicit(&exiting, memory_order_relaxed) ||
        atomic_load_explicit(&a->state, memory_order_acquire) != CA_STATE_READY)
        return;
    ca_registry_lock();
    bool was = a->registered;
    if (was)
        ca_registry_remove(a);
    atomic_store_explicit(&a->state, CA_STATE_GONE, memory_order_relaxed);
    ca_registry_unlock();
    if (was)
        ca_registry_wait_readers();
    ca_cache_fini(&a->cache);
    ca_api_track_region_gone(a);
    ca_sync_arena_fini(&a->sync);
}
