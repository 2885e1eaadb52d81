/* SPDX-License-Identifier: MIT */
/*
 * sync/records.c — per-thread records keyed by (owner, generation) (see
 * sync/records.h).
 *
 * Thread safety: a thread's table is its own; every list (live owners, an
 * owner's records, the pool) is guarded by its registry's mutex. Pages are
 * mapped and unmapped with no lock held.
 */
#include "config.h"

#include "sync/records.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

/* Small records are carved from mappings of this size. */
#define POOL_BYTES 16384u

_Static_assert(POOL_BYTES % CA_SYNC_REC_SMALL == 0, "a mapping holds whole small records");

static _Atomic uint64_t generations; /* last generation handed out, all registries */

/* Whole pages from the system, zeroed; NULL if mmap fails. */
static void *pages_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void pages_free(void *p, size_t bytes)
{
    if (p)
        (void)munmap(p, bytes);
}

/* Where o is linked in the live list (the link that points to it), or NULL
 * if o is not live with this generation. Caller holds the mutex. */
static ca_sync_owner **live_link(ca_sync_registry *g, const ca_sync_owner *o, uint64_t generation)
{
    for (ca_sync_owner **at = &g->live; *at; at = &(*at)->live_next)
        if (*at == o)
            return o->generation == generation ? at : NULL;
    return NULL;
}

static bool is_live(ca_sync_registry *g, const ca_sync_owner *o, uint64_t generation)
{
    return live_link(g, o, generation) != NULL;
}

void ca_sync_owner_init(ca_sync_registry *g, ca_sync_owner *o)
{
    /* Relaxed: it only has to be unique. */
    o->generation = atomic_fetch_add_explicit(&generations, 1, memory_order_relaxed) + 1;
    o->recs = NULL;
    o->parked = 0;
    pthread_mutex_lock(&g->mutex);
    o->live_next = g->live;
    g->live = o;
    pthread_mutex_unlock(&g->mutex);
}

static void unlink_rec(ca_sync_owner *o, ca_sync_rec *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        o->recs = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* Let go of r (unlinked): a small one back to the pool, a large one onto
 * *dead, to be unmapped once the mutex is released. Caller holds it. */
static void dispose(ca_sync_registry *g, ca_sync_rec *r, ca_sync_rec **dead)
{
    ca_sync_rec **to = r->bytes == CA_SYNC_REC_SMALL ? &g->pool : dead;
    r->next = *to;
    *to = r;
}

static void unmap_all(ca_sync_rec *dead)
{
    while (dead) {
        ca_sync_rec *next = dead->next;
        pages_free(dead, dead->bytes);
        dead = next;
    }
}

void ca_sync_owner_fini(ca_sync_registry *g, ca_sync_owner *o)
{
    ca_sync_rec *dead = NULL;
    pthread_mutex_lock(&g->mutex);
    ca_sync_owner **at = live_link(g, o, o->generation);
    if (at) { /* a second fini must not touch the lists */
        *at = o->live_next;
        o->live_next = NULL;
        /* The threads' entries for o are stale now: never followed again. */
        for (ca_sync_rec *r = o->recs, *next; r; r = next) {
            next = r->next;
            dispose(g, r, &dead);
        }
        o->recs = NULL;
        o->parked = 0;
    }
    pthread_mutex_unlock(&g->mutex);
    unmap_all(dead);
}

void ca_sync_owner_each(ca_sync_registry *g, ca_sync_owner *o,
                        void (*fn)(ca_sync_rec *r, void *arg), void *arg)
{
    pthread_mutex_lock(&g->mutex);
    for (ca_sync_rec *r = o->recs; r; r = r->next)
        fn(r, arg);
    pthread_mutex_unlock(&g->mutex);
}

/* ---- thread exit ---- */

/* The exit hook (the key's destructor): each of the thread's records of a
 * live owner is freed or parked (the registry's `leave` says which); the
 * table goes. A later destructor of this thread may use an owner again:
 * it starts a new table and arms the hook again (the system runs the
 * destructors again while any key has a value). */
static void thread_exit(void *arg)
{
    ca_sync_table *t = arg;
    ca_sync_registry *g = t->reg;
    ca_sync_entry *e = t->e;
    size_t len = t->len, cap = t->cap;
    t->e = NULL;
    t->recent = NULL;
    t->len = t->cap = 0;
    ca_sync_rec *dead = NULL;
    pthread_mutex_lock(&g->mutex);
    for (size_t i = 0; i < len; i++) {
        ca_sync_owner *o = e[i].owner;
        if (!o || !is_live(g, o, e[i].generation))
            continue; /* destroyed: its fini let go of the record */
        ca_sync_rec *r = e[i].rec;
        if (g->leave(o, r)) {
            unlink_rec(o, r);
            dispose(g, r, &dead);
        } else {
            r->parked = true;
            o->parked++;
        }
    }
    pthread_mutex_unlock(&g->mutex);
    unmap_all(dead);
    pages_free(e, cap * sizeof *e);
}

/* ---- first use ---- */

/* An entry of t to fill for o: an unused one, or one left by an owner that
 * lived at o's address before; else forget the entries of dead owners;
 * else grow the table. NULL if it cannot grow. */
static ca_sync_entry *free_entry(ca_sync_registry *g, ca_sync_table *t, const ca_sync_owner *o)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->e[i].owner == NULL || t->e[i].owner == o)
            return &t->e[i];
    if (t->len == t->cap) {
        ca_sync_entry *found = NULL;
        pthread_mutex_lock(&g->mutex);
        for (size_t i = 0; i < t->len; i++)
            if (!is_live(g, t->e[i].owner, t->e[i].generation)) {
                t->e[i].owner = NULL;
                found = &t->e[i];
            }
        pthread_mutex_unlock(&g->mutex);
        if (found)
            return found;
        size_t bytes = t->cap ? 2 * t->cap * sizeof *t->e : 4096u;
        ca_sync_entry *grown = pages_alloc(bytes);
        if (!grown)
            return NULL;
        if (t->e)
            memcpy(grown, t->e, t->len * sizeof *t->e);
        pages_free(t->e, t->cap * sizeof *t->e);
        t->e = grown;
        t->cap = bytes / sizeof *t->e;
        t->recent = NULL; /* it pointed into the old table */
    }
    ca_sync_entry *e = &t->e[t->len++];
    e->owner = NULL;
    return e;
}

/* A record for o under the mutex: a parked one, or one from the pool, or
 * `fresh` (mapped by the caller); NULL if none is at hand. */
static ca_sync_rec *take(ca_sync_registry *g, ca_sync_owner *o, size_t bytes, ca_sync_rec **fresh)
{
    ca_sync_rec *r = NULL;
    if (o->parked) {
        for (r = o->recs; !r->parked; r = r->next)
            ;
        r->parked = false;
        o->parked--;
        if (g->adopt)
            g->adopt(o, r, false);
        return r;
    }
    if (bytes <= CA_SYNC_REC_SMALL && g->pool) {
        r = g->pool;
        g->pool = r->next;
        memset(r, 0, CA_SYNC_REC_SMALL);
        r->bytes = CA_SYNC_REC_SMALL;
    } else if (bytes > CA_SYNC_REC_SMALL && *fresh) {
        r = *fresh;
        *fresh = NULL;
        r->bytes = bytes;
    } else {
        return NULL;
    }
    r->prev = NULL;
    r->next = o->recs;
    if (o->recs)
        o->recs->prev = r;
    o->recs = r;
    if (g->adopt)
        g->adopt(o, r, true);
    return r;
}

ca_sync_rec *ca_sync_rec_attach(ca_sync_registry *g, ca_sync_table *t, ca_sync_owner *o,
                                size_t bytes)
{
    ca_sync_entry *e = free_entry(g, t, o);
    if (!e)
        return NULL;
    ca_sync_rec *r, *fresh = NULL;
    for (;;) {
        pthread_mutex_lock(&g->mutex);
        if (!g->keyed)
            g->keyed = pthread_key_create(&g->key, thread_exit) == 0;
        bool keyed = g->keyed;
        r = keyed ? take(g, o, bytes, &fresh) : NULL;
        pthread_mutex_unlock(&g->mutex);
        if (r || !keyed)
            break;
        /* Nothing at hand: map memory with the mutex released, and look
         * again (another thread's exit may have parked a record meanwhile). */
        if (bytes > CA_SYNC_REC_SMALL) {
            if (!fresh && !(fresh = pages_alloc(bytes)))
                break;
            fresh->bytes = bytes;
            continue;
        }
        unsigned char *slab = pages_alloc(POOL_BYTES);
        if (!slab)
            break;
        pthread_mutex_lock(&g->mutex);
        for (size_t at = 0; at < POOL_BYTES; at += CA_SYNC_REC_SMALL) {
            ca_sync_rec *s = (ca_sync_rec *)(slab + at);
            s->next = g->pool;
            g->pool = s;
        }
        pthread_mutex_unlock(&g->mutex);
    }
    pages_free(fresh, bytes); /* mapped, then a parked record came first */
    if (!r)
        return NULL;
    e->owner = o;
    e->generation = o->generation;
    e->rec = r;
    t->recent = e;
    t->reg = g;
    /* The hook runs at thread exit once the key has a value; the value is
     * the table (thread_exit's argument). g->key was read after the lock
     * that created it or saw it created. */
    (void)pthread_setspecific(g->key, t);
    return r;
}
