/* SPDX-License-Identifier: MIT */
/*
 * sync/hint.c — per-thread slots of the "hint" layer (see sync/hint.h).
 *
 * Thread safety: lock, lost and publish are called by any thread at any
 * time; init and fini by the arena's owner while no operation runs on it.
 * Process-wide state (the live list, the exit hook) is guarded by
 * live_mutex; a thread's table is its own.
 */
#include "config.h"

#include "sync/hint.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>

/* Entries in a thread's table: a thread can work in this many hint arenas at
 * once with a slot of its own in each. */
#define TABLE_SIZE 8u

/* A thread's table lives in initial-exec TLS: one instruction to reach,
 * with no call to __tls_get_addr on the allocation path. */
#define CA_TLS _Thread_local __attribute__((tls_model("initial-exec")))

typedef struct entry {
    ca_sync_hint *h;         /* NULL: unused */
    uint64_t generation;     /* h's generation when the slot was claimed */
    ca_sync_hint_slot *slot; /* this thread's slot in h */
} entry;

static CA_TLS entry table[TABLE_SIZE];
static CA_TLS entry *recent;     /* the entry used last: checked first */
static CA_TLS unsigned ordinal;  /* 1 + this thread's number, 0 until needed */
static CA_TLS bool exit_hooked;  /* the exit hook is armed for this thread */
static CA_TLS unsigned full_at;  /* 1 + `finis` when the table was last found full of live layers */

static pthread_mutex_t live_mutex = PTHREAD_MUTEX_INITIALIZER;
static ca_sync_hint *live_head;             /* guarded by live_mutex */
static _Atomic uint64_t generations;        /* last generation handed out */
static _Atomic unsigned ordinals;           /* threads numbered so far */
static _Atomic unsigned finis;              /* layers taken off the live list so far */
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;

size_t ca_sync_hint_meta_size(void)
{
    return CA_SYNC_HINT_SLOTS * sizeof(ca_sync_hint_slot);
}

/* Where slot i's hint starts: the fraction i * 0.618... (mod 1) of the
 * arena, so any number of threads are spread about evenly. */
static size_t spread(unsigned i, size_t nchunks)
{
    uint64_t frac = (i * 0x9E3779B97F4A7C15ull) >> 32; /* 32-bit fixed point */
    return (size_t)((frac * (uint64_t)nchunks) >> 32);
}

/* Whether h is alive with this generation. Caller holds live_mutex. */
static bool is_live(const ca_sync_hint *h, uint64_t generation)
{
    for (const ca_sync_hint *p = live_head; p; p = p->live_next)
        if (p == h)
            return p->generation == generation;
    return false;
}

void ca_sync_hint_init(ca_sync_hint *h, void *slots_mem, size_t nchunks)
{
    h->slots = slots_mem;
    for (unsigned i = 0; i < CA_SYNC_HINT_SLOTS; i++) {
        atomic_init(&h->slots[i].owner, 0u);
        h->slots[i].lane_mask = 0;
        h->slots[i].published = 0;
        ca_core_ctx_init(&h->slots[i].ctx, spread(i, nchunks));
    }
    h->generation = atomic_fetch_add_explicit(&generations, 1, memory_order_relaxed) + 1;
    h->nchunks = nchunks;
    atomic_init(&h->active, 0u);
    ca_sync_spin_init(&h->overflow_lock);
    ca_core_ctx_init(&h->overflow, 0);
    h->overflow_published = 0;
    atomic_init(&h->published, (size_t)0);
    h->step = nchunks / 256 > 16 ? nchunks / 256 : 16;

    pthread_mutex_lock(&live_mutex);
    h->live_prev = NULL;
    h->live_next = live_head;
    if (live_head)
        live_head->live_prev = h;
    live_head = h;
    pthread_mutex_unlock(&live_mutex);
}

void ca_sync_hint_fini(ca_sync_hint *h)
{
    pthread_mutex_lock(&live_mutex);
    if (is_live(h, h->generation)) { /* a second fini must not touch the list */
        if (h->live_prev)
            h->live_prev->live_next = h->live_next;
        else
            live_head = h->live_next;
        if (h->live_next)
            h->live_next->live_prev = h->live_prev;
        h->live_prev = h->live_next = NULL;
        atomic_fetch_add_explicit(&finis, 1u, memory_order_relaxed);
    }
    pthread_mutex_unlock(&live_mutex);
}

/* The exit hook: give back this thread's slots in arenas still alive. */
static void give_back(void *unused)
{
    (void)unused;
    exit_hooked = false; /* a later key destructor of this thread may use an arena again */
    pthread_mutex_lock(&live_mutex);
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        entry *e = &table[i];
        if (e->h && is_live(e->h, e->generation)) {
            unsigned slot = (unsigned)(e->slot - e->h->slots);
            atomic_fetch_and_explicit(&e->h->active, ~(1u << slot), memory_order_relaxed);
            /* release: pairs with the acquire CAS of the next owner's claim,
             * so our counter writes happen-before theirs */
            atomic_store_explicit(&e->slot->owner, 0u, memory_order_release);
        }
        e->h = NULL;
    }
    pthread_mutex_unlock(&live_mutex);
}

static void make_exit_key(void)
{
    (void)pthread_key_create(&exit_key, give_back);
}

static void arm_exit_hook(void)
{
    if (exit_hooked)
        return;
    (void)pthread_once(&exit_key_once, make_exit_key);
    /* Any non-NULL value makes the key's destructor run at thread exit. */
    (void)pthread_setspecific(exit_key, &exit_hooked);
    exit_hooked = true;
}

/* Claim a free slot of h, starting from this thread's own place. */
static ca_sync_hint_slot *claim_slot(ca_sync_hint *h)
{
    if (ordinal == 0)
        ordinal = atomic_fetch_add_explicit(&ordinals, 1u, memory_order_relaxed) + 1u;
    for (unsigned i = 0; i < CA_SYNC_HINT_SLOTS; i++) {
        ca_sync_hint_slot *s = &h->slots[(ordinal - 1u + i) % CA_SYNC_HINT_SLOTS];
        unsigned free_mark = 0u;
        if (atomic_load_explicit(&s->owner, memory_order_relaxed) == 0u &&
            atomic_compare_exchange_strong_explicit(&s->owner, &free_mark, 1u,
                                                    memory_order_acquire, /* pairs with give_back */
                                                    memory_order_relaxed)) {
            unsigned slot = (unsigned)(s - h->slots);
            atomic_fetch_or_explicit(&h->active, 1u << slot, memory_order_relaxed);
            return s;
        }
    }
    return NULL;
}

/* A table entry this thread can fill for h: an unused one, or one left by a
 * layer that lived at h's address before (a new generation there means the
 * old one is gone). Failing that, forget entries of dead layers and look
 * again. NULL when the table is full of live layers; then, until some
 * layer is taken off the live list, it is not looked through again (that
 * takes the process-wide mutex, and this thread would do it on every
 * operation in its ninth arena). */
static entry *free_entry(ca_sync_hint *h)
{
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        if (table[i].h == NULL || table[i].h == h)
            return &table[i];
    unsigned now = atomic_load_explicit(&finis, memory_order_relaxed) + 1u;
    if (full_at == now)
        return NULL;
    pthread_mutex_lock(&live_mutex);
    entry *found = NULL;
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        if (!is_live(table[i].h, table[i].generation)) {
            table[i].h = NULL;
            found = &table[i];
        }
    pthread_mutex_unlock(&live_mutex);
    if (!found)
        full_at = now;
    return found;
}

/* Draw slot s's lane for the active slots `mask`: from where its hint
 * started to where the next active slot's did, going round the arena. */
static void draw_lane(ca_sync_hint *h, ca_sync_hint_slot *s, uint32_t mask)
{
    unsigned me = (unsigned)(s - h->slots);
    size_t lo = spread(me, h->nchunks), len = 0; /* 0: the whole arena */
    for (uint32_t others = mask & ~(1u << me); others; others &= others - 1) {
        size_t at = spread((unsigned)__builtin_ctz(others), h->nchunks);
        size_t gap = at > lo ? at - lo : at + h->nchunks - lo;
        if (gap > 0 && (len == 0 || gap < len))
            len = gap;
    }
    s->ctx.lane_lo = lo;
    s->ctx.lane_len = len;
    s->lane_mask = mask;
}

/* The lane of slot s, redrawn when the active slots changed. */
static inline ca_core_ctx *in_lane(ca_sync_hint *h, ca_sync_hint_slot *s)
{
    uint32_t mask = atomic_load_explicit(&h->active, memory_order_relaxed);
    if (mask != s->lane_mask)
        draw_lane(h, s, mask);
    return &s->ctx;
}

/* This thread's slot context in h, or NULL if it has none. */
static inline ca_core_ctx *own_context(ca_sync_hint *h)
{
    entry *e = recent;
    if (e && e->h == h && e->generation == h->generation)
        return in_lane(h, e->slot);
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        if (table[i].h == h && table[i].generation == h->generation) {
            recent = &table[i];
            return in_lane(h, table[i].slot);
        }
    return NULL;
}

/* The first use of h by this thread: claim a slot, or fall back to the
 * overflow context, locked. */
static ca_core_ctx *first_use(ca_sync_hint *h)
{
    entry *e = free_entry(h);
    ca_sync_hint_slot *s = e ? claim_slot(h) : NULL;
    if (s) {
        e->h = h;
        e->generation = h->generation;
        e->slot = s;
        recent = e;
        arm_exit_hook();
        return in_lane(h, s);
    }
    ca_sync_spin_lock(&h->overflow_lock);
    return &h->overflow;
}

ca_core_ctx *ca_sync_hint_lock(ca_sync_hint *h)
{
    ca_core_ctx *x = own_context(h);
    return x ? x : first_use(h);
}

void ca_sync_hint_lost(ca_sync_hint *h, ca_core_ctx *x, unsigned lost)
{
    if (lost % CA_SYNC_HINT_RETRIES)
        return;
    x->cursor = (x->cursor + (size_t)((h->nchunks * 0x9E3779B9ull) >> 32)) % h->nchunks;
    sched_yield();
}

void ca_sync_hint_reset(ca_sync_hint *h)
{
    for (unsigned i = 0; i < CA_SYNC_HINT_SLOTS; i++)
        h->slots[i].published = 0;
    h->overflow_published = 0;
    atomic_store_explicit(&h->published, (size_t)0, memory_order_relaxed);
}

size_t ca_sync_hint_publish(ca_sync_hint *h, ca_core_ctx *x)
{
    size_t *mark = x == &h->overflow
                       ? &h->overflow_published
                       : &((ca_sync_hint_slot *)((char *)x - offsetof(ca_sync_hint_slot, ctx)))
                              ->published;
    size_t now = atomic_load_explicit(&x->tally.chunks, memory_order_relaxed);
    size_t change = now - *mark; /* modulo 2^64: a negative change wraps */
    if (change < h->step || -change < h->step) /* |change| < step */
        return 0;
    *mark = now;
    return atomic_fetch_add_explicit(&h->published, change, memory_order_relaxed) + change;
}

size_t ca_sync_hint_contexts(ca_sync_hint *h, ca_core_ctx **out)
{
    for (unsigned i = 0; i < CA_SYNC_HINT_SLOTS; i++)
        out[i] = &h->slots[i].ctx;
    out[CA_SYNC_HINT_SLOTS] = &h->overflow;
    return CA_SYNC_HINT_SLOTS + 1u;
}

/* ---- fork (for a malloc built on hint arenas: malloc/) ---- */

void ca_sync_hint_fork_lock(void)
{
    pthread_mutex_lock(&live_mutex);
}

void ca_sync_hint_fork_unlock(void)
{
    pthread_mutex_unlock(&live_mutex);
}
