/*
 * stress/ca-stress.c — the stress harness: every sync layer under threads
 * that allocate, resize, move and free, checking every byte they own.
 *
 * For each chosen layer it runs two phases, each on a fresh arena. "pattern":
 * N threads share one arena; each keeps a table of its own live allocations
 * and, drawing from its own SplitMix64 generator, allocates random sizes
 * (zero to dozens of chunks, now and then a large share of the arena) at
 * random alignments (up to 4096, above the chunk size), grows and shrinks
 * in place, reallocates (in place, or by allocate-copy-free) and frees.
 * Every allocation is filled with a pattern that names its thread, its
 * sequence number and each word's offset, verified before every free and
 * after every resize or move: memory handed to two owners at once shows up
 * as a broken pattern that says who wrote over it. "hammer" (layers run
 * with two threads or more): a small arena kept nearly full of one-chunk
 * allocations, so that each free has neighbours that other threads are
 * allocating, growing, shrinking and freeing at that very moment: the
 * free-validation protocol of core/core.h under fire; every free of a live
 * allocation must succeed (otherwise it is a "false invalid free"). In both
 * phases a chunk owner map (one atomic per chunk: the thread holding it)
 * catches a chunk handed out twice the moment it happens, and each thread
 * checks the arena's statistics now and then against what it holds. Every
 * 10 ms the main thread has the threads hold still and checks the quiet
 * arena, full of live allocations: ca_sync_arena_check clean (summaries and
 * bound exact, as they must be when no operation is in flight), figures
 * and counters equal to what the threads hold and counted. A phase runs in
 * four rounds of fresh threads, so a "hint" arena sees its slots given
 * back and claimed again; after the last the arena must be empty and hand
 * out all of itself in one allocation. Any violation is printed (thread,
 * op index, seed, what was wrong), counted, and fails the run at the end.
 *
 * Thread safety: besides the arena, the threads share only atomics: the
 * stop and pause flags, the finished and paused counts, the violation
 * counts and the owner map. A thread's table, generator and counters are
 * its own; the main thread reads them only while the thread holds still
 * (after a release/acquire handshake, see hold_still) or after
 * pthread_join. The harness takes no lock of its own; messages go to
 * stderr through stdio, whose locking lasts one call. Exit status: 0 if
 * everything passed, 1 on any failure, 2 on a bad argument.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/splitmix64.h"
#include "sync/arena.h"

/* ---- defaults and limits ---- */

/* ThreadSanitizer runs code 5 to 15 times slower: a smaller arena and far
 * fewer ops, which usually end a phase before its (longer) time is up. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#if UNDER_TSAN
#define DEFAULT_SECONDS 2.0
#define DEFAULT_OPS 250000u
#define DEFAULT_CHUNKS ((size_t)1 << 14)
#else
#define DEFAULT_SECONDS 1.25
#define DEFAULT_OPS 50000000u
#define DEFAULT_CHUNKS ((size_t)1 << 16)
#endif
#define DEFAULT_THREADS 4u
#define DEFAULT_SHIFT 6u

#define MAX_THREADS 1024u               /* thread ids must fit the pattern tag */
#define MAX_REGION ((size_t)1 << 30)    /* bytes in one arena */
#define NO_LIMIT UINT64_MAX

#define HAMMER_SLOTS 32u                /* allocations a hammer thread holds at most */
#define HAMMER_CHUNKS_PER_THREAD 20u    /* a bit less than a thread holds: nearly full */
#define ROUNDS 4u                       /* rounds of threads per phase (see drive) */
#define PAUSE_EVERY_MS 10u              /* between two checks of the arena held still */
#define CHECK_EVERY 1024u               /* ops between two statistics checks */
#define MAX_PRINTED 40u                 /* violation messages printed; all are counted */

typedef struct options {
    int layer;          /* a ca_sync_kind, or -1 for all */
    unsigned threads;
    double seconds;     /* per layer and phase; 0: no time limit */
    uint64_t ops;       /* per thread; NO_LIMIT: none */
    uint64_t seed;
    unsigned shift;
    size_t chunks;
} options;

/* ---- the run of one phase on one layer ---- */

typedef enum phase { PHASE_PATTERN, PHASE_HAMMER } phase;
static const char *const phase_names[] = {"pattern", "hammer"};

typedef struct run {
    ca_sync_arena *arena;
    ca_sync_kind kind;
    phase ph;
    unsigned nthreads;
    uint64_t seed;          /* the --seed of the whole program, for messages */
    uint64_t max_ops;       /* per thread, over all rounds */
    uint64_t op_limit;      /* per thread, by the end of the current round */
    bool last_round;        /* the threads free everything when they stop */
    unsigned char *base;    /* the arena's first chunk */
    size_t nchunks;
    unsigned shift;
    size_t cs;              /* chunk size */
    size_t huge;            /* the largest size the pattern phase draws */
    /* Chunk i is held by thread owner[i] - 1, or by nobody (0). Only
     * exchanged, relaxed: an RMW always reads the latest value in the
     * location's modification order, and a thread drops its chunks before
     * the free (or shrink) that lets another claim them, which the arena
     * orders (lock, or release CAS then acquire CAS on the map) before that
     * claim and so before the next owner's exchange. A nonzero value seen
     * when taking a chunk is thus a chunk held by two owners. */
    _Atomic uint16_t *owner;
    atomic_bool stop;       /* the time is up */
    atomic_uint finished;   /* threads done with the round */
    atomic_bool pausing;    /* the main thread asks the threads to hold still */
    atomic_uint paused;     /* threads holding still */
    uint64_t checks;        /* of the quiet arena, by the main thread */
    _Atomic uint64_t violations;
} run;

_Static_assert(MAX_THREADS < UINT16_MAX, "a thread id + 1 fits the owner map");
_Static_assert(MAX_THREADS <= 1u << 12, "a thread id fits the 12 bits of a pattern tag");

static _Atomic unsigned printed; /* violation messages printed so far */

/* One allocation a thread holds. */
typedef struct slot {
    unsigned char *p;   /* NULL: the slot is empty */
    uint64_t tag;       /* names the pattern (see pattern_word) */
    size_t size;        /* bytes asked for */
    size_t usable;      /* bytes it owns: its chunks times the chunk size */
    size_t align;
} slot;

/* What a thread did; summed by the main thread while the threads hold still
 * or after they are joined. */
typedef struct counts {
    uint64_t ops, allocs, frees, resizes, grows, shrinks, moves, failures;
    uint64_t requested;          /* bytes, by successful allocations */
    uint64_t false_invalid_free; /* frees of a live allocation that were refused */
    uint64_t neighbour_frees;    /* frees with a neighbouring chunk held by another thread */
} counts;

typedef struct worker {
    run *r;
    unsigned id;
    ca_splitmix64 rng;
    uint64_t op;            /* index of the op under way */
    uint64_t next_seq;      /* sequence number of the next allocation */
    slot *slots;
    size_t nslots;
    size_t live_chunks;     /* chunks this thread holds */
    size_t live_allocs;
    counts n;
    pthread_t thread;
} worker;

/* ---- small helpers ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(long nanoseconds)
{
    struct timespec ts = {0, nanoseconds};
    nanosleep(&ts, NULL);
}

static uint64_t below(worker *w, uint64_t n)
{
    return ca_splitmix64_below(&w->rng, n);
}

/* A seed for one thread (or, with tid RUN_TID, for the run itself) of one
 * layer and phase, derived from the program's seed. */
#define RUN_TID 0xFFFFu
static uint64_t derive(uint64_t seed, ca_sync_kind kind, phase ph, unsigned tid)
{
    ca_splitmix64 g = ca_splitmix64_seed(seed ^ ((uint64_t)kind << 56) ^ ((uint64_t)ph << 48) ^
                                         ((uint64_t)tid << 16));
    return ca_splitmix64_next(&g);
}

static const char *status_name(ca_core_status st)
{
    static const char *const names[] = {"OK",      "NOMEM",     "BADALIGN",   "RETRY",
                                        "FOREIGN", "INTERIOR",  "NOTALLOC",   "BADCHUNK",
                                        "MISALIGNED", "TOOSMALL", "TOOLARGE", "BADWINDOW"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* Chunks an allocation of `size` bytes takes: max(1, ceil(size / cs)). */
static size_t chunks_for(const run *r, size_t size)
{
    return size == 0 ? 1 : (size - 1) / r->cs + 1;
}

static size_t chunk_of(const run *r, const unsigned char *p)
{
    return (size_t)(p - r->base) >> r->shift;
}

/* ---- violations ---- */

__attribute__((format(printf, 3, 0))) static void vreport(run *r, const char *who, const char *fmt,
                                                       va_list ap)
{
    atomic_fetch_add_explicit(&r->violations, 1, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&printed, 1u, memory_order_relaxed) >= MAX_PRINTED)
        return;
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "VIOLATION layer=%s phase=%s %s seed=0x%016" PRIx64 ": %s\n",
            ca_sync_kind_name(r->kind), phase_names[r->ph], who, r->seed, msg);
}

/* Something wrong seen by worker w during its current op. */
__attribute__((format(printf, 2, 3))) static void violation(worker *w, const char *fmt, ...)
{
    char who[64];
    snprintf(who, sizeof who, "thread=%u op=%" PRIu64, w->id, w->op);
    va_list ap;
    va_start(ap, fmt);
    vreport(w->r, who, fmt, ap);
    va_end(ap);
}

/* Something wrong seen by the main thread after the workers ended. */
__attribute__((format(printf, 2, 3))) static void main_violation(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(r, "thread=main", fmt, ap);
    va_end(ap);
}

/* ---- patterns ----
 *
 * Word j (8 bytes at offset 8j) of the allocation with tag (thread t,
 * sequence s) holds, before the salt,
 *
 *     bits 63..52  51..16          15..0
 *          t       s mod 2^36      j mod 2^16
 *
 * so a broken word names the allocation that wrote it. Usable sizes are
 * whole chunks (at least 16 bytes) and allocations start on a chunk, so
 * words cover every byte. The salt keeps zeroed memory from passing. */
#define SALT 0xA5C3E1F00F1E3C5Aull
#define SEQ_BITS 36u
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)

static uint64_t make_tag(unsigned id, uint64_t seq)
{
    return ((uint64_t)id << 52) | ((seq & SEQ_MASK) << 16);
}

/* The thread and sequence number a tag (or an unsalted word) names. */
static unsigned tag_thread(uint64_t tag)
{
    return (unsigned)(tag >> 52);
}

static uint64_t tag_seq(uint64_t tag)
{
    return (tag >> 16) & SEQ_MASK;
}

static inline uint64_t pattern_word(uint64_t tag, size_t j)
{
    return (tag | (j & 0xFFFFu)) ^ SALT;
}

/* Write the pattern over bytes [from, to) of p (multiples of 8). */
static void fill(unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    uint64_t *q = (uint64_t *)(void *)p;
    for (size_t j = from / 8; j < to / 8; j++)
        q[j] = pattern_word(tag, j);
}

/* Verify bytes [0, len) of p against the pattern of `tag`; report the first
 * broken word, naming who wrote it. */
static bool verify(worker *w, const unsigned char *p, uint64_t tag, size_t len, const char *when)
{
    const uint64_t *q = (const uint64_t *)(const void *)p;
    for (size_t j = 0; j < len / 8; j++) {
        uint64_t want = pattern_word(tag, j), got = q[j];
        if (got == want)
            continue;
        uint64_t d = got ^ SALT;
        violation(w,
                  "%s: pattern of the allocation at %p (chunk %zu, %zu bytes; thread %u seq %" PRIu64
                  ") broken at byte %zu: expected 0x%016" PRIx64 ", found 0x%016" PRIx64
                  " (as if from thread %u seq %" PRIu64 " word %u)",
                  when, (const void *)p, chunk_of(w->r, p), len, tag_thread(tag), tag_seq(tag),
                  j * 8, want, got, tag_thread(d), tag_seq(d), (unsigned)(d & 0xFFFFu));
        return false;
    }
    return true;
}

/* ---- the owner map ---- */

/* Mark the chunks of bytes [from, to) of allocation p as this thread's. */
static void take(worker *w, const unsigned char *p, size_t from, size_t to)
{
    run *r = w->r;
    size_t c0 = chunk_of(r, p);
    for (size_t c = c0 + from / r->cs; c < c0 + to / r->cs; c++) {
        unsigned old = atomic_exchange_explicit(&r->owner[c], (uint16_t)(w->id + 1),
                                                memory_order_relaxed);
        if (old != 0)
            violation(w, "chunk %zu (of the allocation at %p) was handed to thread %u while "
                         "thread %u holds it", c, (const void *)p, w->id, old - 1u);
    }
}

/* Unmark them, before the free or shrink that gives them back. */
static void drop(worker *w, const unsigned char *p, size_t from, size_t to)
{
    run *r = w->r;
    size_t c0 = chunk_of(r, p);
    for (size_t c = c0 + from / r->cs; c < c0 + to / r->cs; c++) {
        unsigned old = atomic_exchange_explicit(&r->owner[c], 0, memory_order_relaxed);
        if (old != w->id + 1u)
            violation(w, "chunk %zu of my allocation at %p is marked as held by %s%u", c,
                      (const void *)p, old ? "thread " : "nobody", old ? old - 1u : 0u);
    }
}

/* Whether chunk c is held by a thread other than w (a snapshot). */
static bool foreign(worker *w, size_t c)
{
    unsigned o = atomic_load_explicit(&w->r->owner[c], memory_order_relaxed);
    return o != 0 && o != w->id + 1u;
}

/* ---- operations on one slot ---- */

/* Usable size of p as the arena reports it; 0 (and a violation) on a fault. */
static size_t usable_of(worker *w, const unsigned char *p, const char *when)
{
    size_t bytes = 0;
    ca_core_status st = ca_sync_arena_usable(w->r->arena, p, &bytes);
    if (st != CA_CORE_OK) {
        violation(w, "%s: usable size of my live allocation at %p returned %s", when,
                  (const void *)p, status_name(st));
        return 0;
    }
    return bytes;
}

/* After an allocation of `size` bytes aligned to `align` failed with NOMEM:
 * in a "none" arena (ours alone, so exact) the failure is false if a free
 * run long enough to hold it at any alignment exists. */
static void check_nomem(worker *w, size_t size, size_t align)
{
    run *r = w->r;
    if (r->kind != CA_SYNC_NONE)
        return; /* others may have freed or taken room meanwhile: not exact */
    ca_sync_stats st;
    ca_sync_arena_stats(r->arena, &st);
    size_t achunks = align > r->cs ? align / r->cs : 1;
    size_t need = chunks_for(r, size) + achunks - 1;
    if (st.largest_free >= need)
        violation(w, "allocation of %zu bytes aligned to %zu failed (NOMEM) although a free "
                     "run of %zu chunks exists (%zu would do)", size, align, st.largest_free, need);
}

/* Allocate into the empty slot s; fills all but the pattern. False if the
 * arena had no room (counted) or the allocation is unusable (reported, and
 * abandoned untouched). */
static bool alloc_into(worker *w, slot *s, size_t size, size_t align)
{
    run *r = w->r;
    ca_core_status st = CA_CORE_RETRY;
    unsigned char *p = ca_sync_arena_alloc(r->arena, size, align, &st);
    if (p == NULL) {
        if (st == CA_CORE_NOMEM) {
            w->n.failures++;
            check_nomem(w, size, align);
        } else {
            violation(w, "allocation of %zu bytes aligned to %zu returned NULL with %s", size,
                      align, status_name(st));
        }
        return false;
    }
    if (st != CA_CORE_OK)
        violation(w, "allocation of %zu bytes returned %p with status %s", size, (void *)p,
                  status_name(st));
    w->n.allocs++;
    w->n.requested += size;

    size_t region = r->nchunks << r->shift, want = chunks_for(r, size) << r->shift;
    if (p < r->base || (size_t)(p - r->base) >= region) {
        violation(w, "allocation of %zu bytes returned %p, outside the region [%p, %p)", size,
                  (void *)p, (void *)r->base, (void *)(r->base + region));
        return false;
    }
    if ((size_t)(p - r->base) & (r->cs - 1)) {
        violation(w, "allocation of %zu bytes returned %p, not on a chunk boundary", size,
                  (void *)p);
        return false;
    }
    if (align && ((uintptr_t)p & (align - 1))) {
        violation(w, "allocation of %zu bytes aligned to %zu returned %p, misaligned", size,
                  align, (void *)p);
        return false;
    }
    size_t usable = usable_of(w, p, "after allocation");
    if (usable != want) {
        if (usable)
            violation(w, "allocation of %zu bytes at %p has usable size %zu, expected %zu", size,
                      (void *)p, usable, want);
        return false;
    }
    if ((size_t)(p - r->base) + usable > region) {
        violation(w, "allocation of %zu bytes at %p runs past the end of the region", size,
                  (void *)p);
        return false;
    }
    take(w, p, 0, usable);
    s->p = p;
    s->tag = make_tag(w->id, w->next_seq++);
    s->size = size;
    s->usable = usable;
    s->align = align;
    w->live_chunks += usable >> r->shift;
    w->live_allocs++;
    return true;
}

/* A new allocation in the empty slot s, filled with its pattern. */
static void op_alloc(worker *w, slot *s, size_t size, size_t align)
{
    if (alloc_into(w, s, size, align))
        fill(s->p, s->tag, 0, s->usable);
}

/* Verify and free the allocation in s; every refusal is a false invalid free. */
static void op_free(worker *w, slot *s)
{
    run *r = w->r;
    verify(w, s->p, s->tag, s->usable, "before free");
    size_t first = chunk_of(r, s->p), last = first + (s->usable >> r->shift) - 1;
    if ((first > 0 && foreign(w, first - 1)) || (last + 1 < r->nchunks && foreign(w, last + 1)))
        w->n.neighbour_frees++;
    drop(w, s->p, 0, s->usable);
    ca_core_status st = ca_sync_arena_free(r->arena, s->p);
    if (st == CA_CORE_OK) {
        w->n.frees++;
    } else {
        w->n.false_invalid_free++;
        violation(w, "free of my live allocation at %p (chunk %zu, %zu bytes) returned %s",
                  (void *)s->p, first, s->usable, status_name(st));
    }
    w->live_chunks -= s->usable >> r->shift;
    w->live_allocs--;
    s->p = NULL;
}

/* Resize s in place to new_size bytes. Growth may fail with NOMEM, which
 * leaves the allocation as it was; anything else must succeed. Returns the
 * arena's status. */
static ca_core_status op_resize(worker *w, slot *s, size_t new_size)
{
    run *r = w->r;
    size_t have = s->usable >> r->shift, want = chunks_for(r, new_size);
    if (want < have) /* the tail is up for grabs the moment resize returns */
        drop(w, s->p, want << r->shift, s->usable);
    ca_core_status st = ca_sync_arena_resize(r->arena, s->p, new_size);
    w->n.resizes++;
    if (st != CA_CORE_OK) {
        if (st != CA_CORE_NOMEM || want <= have)
            violation(w, "resize of my allocation at %p from %zu to %zu bytes returned %s",
                      (void *)s->p, s->size, new_size, status_name(st));
        if (want < have)
            take(w, s->p, want << r->shift, s->usable);
        if (st == CA_CORE_NOMEM && want > have && r->kind == CA_SYNC_NONE) {
            /* Single-threaded, the owner map is the whole map: were the
             * chunks after the allocation free after all? */
            size_t c = chunk_of(r, s->p) + have, c_end = chunk_of(r, s->p) + want;
            while (c < c_end && c < r->nchunks &&
                   atomic_load_explicit(&r->owner[c], memory_order_relaxed) == 0)
                c++;
            if (c == c_end)
                violation(w, "growth of %p from %zu to %zu chunks failed (NOMEM) although the "
                             "chunks after it are free", (void *)s->p, have, want);
        }
        size_t u = usable_of(w, s->p, "after a failed resize");
        if (u && u != s->usable)
            violation(w, "a failed resize changed the usable size of %p from %zu to %zu",
                      (void *)s->p, s->usable, u);
        verify(w, s->p, s->tag, s->usable, "after a failed resize");
        return st;
    }
    size_t u = usable_of(w, s->p, "after resize");
    if (u != want << r->shift) {
        if (u)
            violation(w, "resize of %p to %zu bytes left a usable size of %zu, expected %zu",
                      (void *)s->p, new_size, u, want << r->shift);
        /* We no longer know what we own: let the allocation go untouched. */
        w->live_chunks -= have;
        w->live_allocs--;
        s->p = NULL;
        return st;
    }
    if (want > have) {
        take(w, s->p, s->usable, u);
        fill(s->p, s->tag, s->usable, u);
        w->n.grows++;
    } else if (want < have) {
        w->n.shrinks++;
    }
    w->live_chunks = w->live_chunks - have + want;
    s->size = new_size;
    s->usable = u;
    verify(w, s->p, s->tag, s->usable, "after resize");
    return st;
}

/* realloc: in place if possible, else allocate, copy, verify the copy, free
 * the old one. If the arena has no room at all, s stays as it was. */
static void op_realloc(worker *w, slot *s, size_t new_size)
{
    bool grows = chunks_for(w->r, new_size) > s->usable >> w->r->shift;
    if (op_resize(w, s, new_size) != CA_CORE_NOMEM || !grows)
        return; /* done in place (or a shrink refused, reported by op_resize) */
    slot t;
    if (!alloc_into(w, &t, new_size, s->align))
        return;
    memcpy(t.p, s->p, s->usable); /* growing: t.usable > s->usable */
    t.tag = s->tag;               /* the same allocation, moved */
    verify(w, t.p, t.tag, s->usable, "after the copy of a move");
    fill(t.p, t.tag, s->usable, t.usable);
    w->n.moves++;
    op_free(w, s);
    *s = t;
}

/* Ask the arena about s (usable size; two interior pointers, which must be
 * refused as INTERIOR), then verify the pattern. */
static void op_probe(worker *w, slot *s)
{
    run *r = w->r;
    size_t u = usable_of(w, s->p, "probe");
    if (u && u != s->usable)
        violation(w, "usable size of %p is %zu, expected %zu", (void *)s->p, u, s->usable);
    const unsigned char *inside[2] = {s->p + 1, s->usable > r->cs ? s->p + r->cs : NULL};
    for (int i = 0; i < 2; i++) {
        if (!inside[i])
            continue;
        ca_core_status st = ca_sync_arena_usable(r->arena, inside[i], &u);
        if (st != CA_CORE_INTERIOR)
            violation(w, "usable size of the interior pointer %p (my allocation %p, %zu bytes) "
                         "returned %s, expected INTERIOR", (const void *)inside[i], (void *)s->p,
                      s->usable, status_name(st));
    }
    verify(w, s->p, s->tag, s->usable, "probe");
}

/* Compare the arena's figures with what this thread holds. Under a lock
 * they are one consistent picture, which includes all of ours. Under
 * "hint" they are a snapshot taken while others work: the free runs come
 * from one pass, which may skip a used word whose summary bit lags (so it
 * may count our chunks as free), and the allocations from another, which
 * reads every map word and so counts each of ours (their LAST markers do
 * not change while we ask). A "none" arena is ours alone: exact, and quiet
 * enough for the full invariant check. */
static void check_stats(worker *w)
{
    run *r = w->r;
    ca_sync_stats st;
    ca_sync_arena_stats(r->arena, &st);
    bool exact = r->kind == CA_SYNC_NONE, locked = r->kind != CA_SYNC_HINT;
    if (st.chunk_size != r->cs || st.chunks_total != r->nchunks)
        violation(w, "stats: chunk size %zu, %zu chunks; expected %zu, %zu", st.chunk_size,
                  st.chunks_total, r->cs, r->nchunks);
    /* chunks_used and largest_free come from the same pass, even under "hint" */
    if (st.chunks_used > st.chunks_total || st.largest_free > st.chunks_total - st.chunks_used ||
        (locked && st.allocations > st.chunks_used))
        violation(w, "stats are inconsistent: %zu of %zu chunks used, %zu allocations, "
                     "longest free run %zu", st.chunks_used, st.chunks_total, st.allocations,
                  st.largest_free);
    if (exact ? st.chunks_used != w->live_chunks || st.allocations != w->live_allocs
              : (locked && st.chunks_used < w->live_chunks) || st.allocations < w->live_allocs)
        violation(w, "stats: %zu chunks used in %zu allocations, but this thread alone holds "
                     "%zu chunks in %zu allocations", st.chunks_used, st.allocations,
                  w->live_chunks, w->live_allocs);
    if (exact) {
        const char *why = ca_sync_arena_check(r->arena);
        if (why)
            violation(w, "ca_sync_arena_check: %s", why);
    }
}

/* Free whatever the thread still holds. */
static void release_all(worker *w)
{
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i].p)
            op_free(w, &w->slots[i]);
}

/* ---- the thread bodies ---- */

/* Between two ops: if the main thread asks, hold still until it has
 * checked the arena. The release increment of `paused` makes everything
 * this thread did happen-before the main thread's check (which loads
 * `paused` with acquire); the acquire load that sees `pausing` cleared
 * makes the check happen-before our next op. We leave `paused` only after
 * that, and the main thread waits for it to drop to 0 before it asks again,
 * so no thread is counted as still while it works. */
static void hold_still(worker *w)
{
    run *r = w->r;
    if (!atomic_load_explicit(&r->pausing, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&r->paused, 1u, memory_order_release);
    while (atomic_load_explicit(&r->pausing, memory_order_acquire))
        nap(20 * 1000);
    atomic_fetch_sub_explicit(&r->paused, 1u, memory_order_relaxed);
}

static bool keep_going(worker *w)
{
    hold_still(w);
    return w->op < w->r->op_limit && !atomic_load_explicit(&w->r->stop, memory_order_relaxed);
}

/* The end of a thread's round: in the last one, give everything back. */
static void *finish(worker *w)
{
    w->n.ops = w->op;
    if (w->r->last_round)
        release_all(w);
    /* release: pairs with the main thread's acquire load, as `paused` does */
    atomic_fetch_add_explicit(&w->r->finished, 1u, memory_order_release);
    return NULL;
}

/* A size: mostly small, sometimes dozens of chunks, rarely a large share of
 * the arena (which fills it, so failures and their paths get exercised). */
static size_t draw_size(worker *w)
{
    size_t cs = w->r->cs;
    uint64_t roll = below(w, 1000);
    if (roll < 100)
        return below(w, 17); /* 0 .. 16 bytes */
    if (roll < 600)
        return 1 + below(w, 2 * cs);
    if (roll < 850)
        return 1 + below(w, 8 * cs);
    if (roll < 995)
        return 1 + below(w, 48 * cs);
    return 1 + below(w, w->r->huge);
}

/* An alignment: none, small ones, any power of two up to the chunk size,
 * and some above it. */
static size_t draw_align(worker *w)
{
    uint64_t roll = below(w, 100);
    if (roll < 30)
        return 0;
    if (roll < 45)
        return 16;
    if (roll < 60)
        return 64;
    if (roll < 70)
        return (size_t)1 << below(w, w->r->shift + 1);
    if (roll < 80)
        return 256;
    if (roll < 90)
        return 1024;
    return 4096;
}

static void *pattern_thread(void *arg)
{
    worker *w = arg;
    size_t cs = w->r->cs;
    for (; keep_going(w); w->op++) {
        slot *s = &w->slots[below(w, w->nslots)];
        if (!s->p) {
            op_alloc(w, s, draw_size(w), draw_align(w));
        } else {
            uint64_t roll = below(w, 100);
            if (roll < 30)
                op_free(w, s);
            else if (roll < 50)
                (void)op_resize(w, s, s->size + 1 + below(w, roll < 48 ? 4 * cs : 32 * cs));
            else if (roll < 65)
                (void)op_resize(w, s, below(w, s->size + 1));
            else if (roll < 85)
                op_realloc(w, s, draw_size(w));
            else
                op_probe(w, s);
        }
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w);
    }
    return finish(w);
}

/* Allocations of one chunk (two after a growth) in an arena that is always
 * full, so every free has neighbours that other threads are changing. */
static void *hammer_thread(void *arg)
{
    worker *w = arg;
    size_t cs = w->r->cs;
    for (; keep_going(w); w->op++) {
        slot *s = &w->slots[below(w, w->nslots)];
        uint64_t roll = below(w, 10);
        if (!s->p)
            op_alloc(w, s, cs, 0);
        else if (roll < 7)
            op_free(w, s);
        else if (roll < 9)
            (void)op_resize(w, s, s->usable == cs ? 2 * cs : cs);
        else
            op_probe(w, s);
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w);
    }
    return finish(w);
}

/* ---- running a phase ---- */

static void sum_counts(const run *r, const worker *ws, counts *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < r->nthreads; i++) {
        const counts *c = &ws[i].n;
        sum->ops += c->ops;
        sum->allocs += c->allocs;
        sum->frees += c->frees;
        sum->resizes += c->resizes;
        sum->grows += c->grows;
        sum->shrinks += c->shrinks;
        sum->moves += c->moves;
        sum->failures += c->failures;
        sum->requested += c->requested;
        sum->false_invalid_free += c->false_invalid_free;
        sum->neighbour_frees += c->neighbour_frees;
    }
}

/* The arena with no operation in flight (the threads hold still, or are
 * gone): its figures exactly what the threads hold, every invariant intact,
 * its counters equal to the threads' counts. After the last round it must
 * be empty, and hand out all of itself in one allocation. */
static void check_quiet(run *r, const worker *ws, const char *when, unsigned round, bool last)
{
    size_t chunks = 0, allocs = 0;
    r->checks++;
    for (unsigned i = 0; i < r->nthreads; i++) {
        chunks += ws[i].live_chunks;
        allocs += ws[i].live_allocs;
    }
    counts sum;
    sum_counts(r, ws, &sum);

    ca_sync_stats st;
    ca_sync_arena_stats(r->arena, &st);
    if (st.chunks_used != chunks || st.allocations != allocs)
        main_violation(r, "%s round %u: %zu chunks used in %zu allocations; the threads "
                          "hold %zu chunks in %zu allocations", when, round, st.chunks_used,
                       st.allocations, chunks, allocs);
    if (last && (st.free_runs != 1 || st.largest_free != r->nchunks))
        main_violation(r, "the empty arena has %zu free runs, the longest %zu of %zu chunks",
                       st.free_runs, st.largest_free, r->nchunks);
    const char *why = ca_sync_arena_check(r->arena);
    if (why)
        main_violation(r, "%s round %u: ca_sync_arena_check: %s", when, round, why);
    if (st.failures != sum.failures || st.grows != sum.grows || st.shrinks != sum.shrinks ||
        st.bytes_requested != sum.requested)
        main_violation(r, "%s round %u: the arena's counters disagree with the threads': "
                          "failures %zu/%" PRIu64 ", grows %zu/%" PRIu64 ", shrinks %zu/%" PRIu64
                          ", bytes requested %zu/%" PRIu64, when, round, st.failures, sum.failures,
                       st.grows, sum.grows, st.shrinks, sum.shrinks, st.bytes_requested,
                       sum.requested);
    if (r->kind != CA_SYNC_HINT && st.chunks_peak > st.chunks_total)
        main_violation(r, "peak of %zu chunks in an arena of %zu", st.chunks_peak,
                       st.chunks_total);
    if (!last)
        return;

    ca_core_status s = CA_CORE_RETRY;
    void *all = ca_sync_arena_alloc(r->arena, r->nchunks << r->shift, 0, &s);
    if (all != r->base || s != CA_CORE_OK)
        main_violation(r, "the empty arena refused one allocation of all its %zu chunks: got "
                          "%p (%s), expected %p", r->nchunks, all, status_name(s),
                       (void *)r->base);
    if (all) {
        s = ca_sync_arena_free(r->arena, all);
        if (s != CA_CORE_OK)
            main_violation(r, "free of the allocation of the whole arena returned %s",
                           status_name(s));
    }
    why = ca_sync_arena_check(r->arena);
    if (why)
        main_violation(r, "ca_sync_arena_check after the whole-arena allocation: %s", why);
}

/* One round: start a thread for each worker, stop them when the round's
 * time is up (or let them reach its op limit), join them. */
static bool run_round(run *r, worker *ws, const options *o, unsigned round)
{
    void *(*body)(void *) = r->ph == PHASE_PATTERN ? pattern_thread : hammer_thread;
    unsigned started = 0;
    bool ok = true;
    r->last_round = round + 1 == ROUNDS;
    r->op_limit = r->max_ops == NO_LIMIT || r->last_round ? r->max_ops
                                                          : r->max_ops / ROUNDS * (round + 1);
    atomic_store_explicit(&r->stop, false, memory_order_relaxed);
    atomic_store_explicit(&r->finished, 0u, memory_order_relaxed);
    for (; started < r->nthreads; started++) {
        int err = pthread_create(&ws[started].thread, NULL, body, &ws[started]);
        if (err) {
            fprintf(stderr, "ca-stress: cannot start thread %u: %s\n", started, strerror(err));
            ok = false;
            break;
        }
    }
    double deadline = o->seconds > 0 && ok ? now_seconds() + o->seconds / ROUNDS : INFINITY;
    if (!ok)
        atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    /* Every PAUSE_EVERY_MS, have the threads hold still and check the arena
     * as it is then, full of live allocations (see hold_still). */
    while (atomic_load_explicit(&r->finished, memory_order_relaxed) < started &&
           now_seconds() < deadline) {
        nap(PAUSE_EVERY_MS * 1000 * 1000);
        if (!ok)
            continue;
        atomic_store_explicit(&r->pausing, true, memory_order_relaxed);
        while (atomic_load_explicit(&r->paused, memory_order_acquire) +
                   atomic_load_explicit(&r->finished, memory_order_acquire) < started)
            nap(20 * 1000);
        check_quiet(r, ws, "during", round, false);
        atomic_store_explicit(&r->pausing, false, memory_order_release);
        while (atomic_load_explicit(&r->paused, memory_order_relaxed) != 0)
            nap(20 * 1000);
    }
    atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    return ok;
}

/* Drive the arena of r with its threads, check it, print the phase's line.
 * Returns true if it passed. */
static bool drive(run *r, const options *o, unsigned window)
{
    worker *ws = calloc(r->nthreads, sizeof *ws);
    if (!ws) {
        fprintf(stderr, "ca-stress: out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; i < r->nthreads; i++) {
        worker *w = &ws[i];
        w->r = r;
        w->id = i;
        w->rng = ca_splitmix64_seed(derive(o->seed, r->kind, r->ph, i));
        w->nslots = r->ph == PHASE_PATTERN ? 64 + (size_t)below(w, 193) : HAMMER_SLOTS;
        w->slots = calloc(w->nslots, sizeof *w->slots);
        if (!w->slots) {
            fprintf(stderr, "ca-stress: out of memory\n");
            exit(1);
        }
    }

    /* The phase runs in rounds. At the end of each, the threads exit (a
     * "hint" arena gets their slots back, and the next round's threads
     * claim slots afresh, so allocations are freed through other contexts
     * than made them) and the main thread checks the quiet arena, full of
     * live allocations, against what the threads hold. */
    double t0 = now_seconds();
    bool started = true;
    for (unsigned round = 0; round < ROUNDS && started; round++) {
        started = run_round(r, ws, o, round);
        if (started)
            check_quiet(r, ws, "after", round, round + 1 == ROUNDS);
    }
    double elapsed = now_seconds() - t0;

    counts sum;
    sum_counts(r, ws, &sum);
    uint64_t bad = atomic_load_explicit(&r->violations, memory_order_relaxed);

    printf("layer=%s phase=%s threads=%u chunks=%zu window=%u ops=%" PRIu64 " allocs=%" PRIu64
           " frees=%" PRIu64 " resizes=%" PRIu64 " grows=%" PRIu64 " shrinks=%" PRIu64,
           ca_sync_kind_name(r->kind), phase_names[r->ph], r->nthreads, r->nchunks, window,
           sum.ops, sum.allocs, sum.frees, sum.resizes, sum.grows, sum.shrinks);
    if (r->ph == PHASE_PATTERN)
        printf(" moves=%" PRIu64, sum.moves);
    printf(" failures=%" PRIu64, sum.failures);
    if (r->ph == PHASE_HAMMER)
        printf(" neighbour_frees=%" PRIu64, sum.neighbour_frees);
    printf(" false_invalid_free=%" PRIu64 " quiet_checks=%" PRIu64 " violations=%" PRIu64
           " seconds=%.2f\n", sum.false_invalid_free, r->checks, bad, elapsed);

    for (unsigned i = 0; i < r->nthreads; i++)
        free(ws[i].slots);
    free(ws);
    return started && bad == 0 && sum.false_invalid_free == 0;
}

/* Round n up to a multiple of m (a power of two). */
static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) & ~(m - 1);
}

/* Run one phase on a fresh arena of layer `kind`. Returns true if it passed. */
static bool run_phase(const options *o, ca_sync_kind kind, phase ph)
{
    unsigned nthreads = kind == CA_SYNC_NONE ? 1u : o->threads;
    if (ph == PHASE_HAMMER && nthreads < 2) {
        printf("layer=%s phase=hammer skipped (needs 2 threads or more)\n",
               ca_sync_kind_name(kind));
        return true;
    }

    run r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.ph = ph;
    r.nthreads = nthreads;
    r.seed = o->seed;
    r.max_ops = o->ops;
    r.shift = o->shift;
    r.cs = (size_t)1 << o->shift;
    r.nchunks = ph == PHASE_PATTERN ? o->chunks : (size_t)nthreads * HAMMER_CHUNKS_PER_THREAD;
    r.huge = (r.nchunks / (4u * nthreads) + 1) << r.shift;
    atomic_init(&r.stop, false);
    atomic_init(&r.finished, 0u);
    atomic_init(&r.pausing, false);
    atomic_init(&r.paused, 0u);
    atomic_init(&r.violations, 0);

    /* The run's own draws: where the region starts within a 4 KiB page
     * (so alignments above the chunk size meet a base not aligned to them)
     * and the best-fit window. */
    ca_splitmix64 g = ca_splitmix64_seed(derive(o->seed, kind, ph, RUN_TID));
    size_t page = 4096, offset = 0;
    if (r.cs < page)
        offset = (size_t)ca_splitmix64_below(&g, page / r.cs) * r.cs;
    static const unsigned windows[] = {1u, 2u, 4u, 16u};
    unsigned window = windows[ca_splitmix64_below(&g, 4)];

    size_t region = r.nchunks << r.shift;
    size_t big_align = r.cs > page ? r.cs : page;
    size_t meta_len = round_up(ca_sync_meta_size(kind, r.nchunks), 128);
    unsigned char *mem = aligned_alloc(big_align, round_up(region + offset, big_align));
    void *meta = aligned_alloc(128, meta_len);
    r.arena = aligned_alloc(64, round_up(sizeof *r.arena, 64));
    r.owner = calloc(r.nchunks, sizeof *r.owner);
    if (!mem || !meta || !r.arena || !r.owner) {
        fprintf(stderr, "ca-stress: out of memory for an arena of %zu chunks\n", r.nchunks);
        exit(1);
    }
    r.base = mem + offset;

    bool passed = false;
    ca_core_status st = ca_sync_arena_init(r.arena, kind, r.base, r.nchunks, r.shift, meta, window);
    if (st == CA_CORE_OK) {
        passed = drive(&r, o, window);
        ca_sync_arena_fini(r.arena);
    } else {
        main_violation(&r, "ca_sync_arena_init of %zu chunks of %zu bytes (window %u) returned %s",
                       r.nchunks, r.cs, window, status_name(st));
    }
    free(r.owner);
    free(r.arena);
    free(meta);
    free(mem);
    return passed;
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ca-stress [--layer=NAME|all] [--threads=N] [--seconds=S] [--ops=N]\n"
            "                 [--seed=X] [--chunk-shift=K] [--chunks=N] [--help]\n"
            "\n"
            "Stress every sync layer (none, spin, ticket, mutex, hint) with threads that\n"
            "allocate, resize, move and free while checking a pattern in every byte\n"
            "(phase \"pattern\"), then hammer the free-validation protocol with adjacent\n"
            "one-chunk allocations in a full arena (phase \"hammer\", 2+ threads).\n"
            "\n"
            "  --layer=NAME    one layer, or all (default all)\n"
            "  --threads=N     threads per phase, 1..%u (default %u; \"none\" always 1)\n"
            "  --seconds=S     duration of each phase of each layer\n"
            "  --ops=N         ops per thread and phase; with --seconds, whichever ends\n"
            "                  first; with neither, %.2f s or %u ops%s\n"
            "  --seed=X        the seed (decimal or 0x hex; default from time and pid);\n"
            "                  printed first, so a failure can be replayed: with the same\n"
            "                  layer, threads and sizes every thread makes the same\n"
            "                  choices again (the interleaving of threads differs)\n"
            "  --chunk-shift=K chunk size 2^K bytes, 4..20 (default %u)\n"
            "  --chunks=N      chunks in the pattern arena (default %zu, at most 1 GiB\n"
            "                  of them); the hammer arena has %u chunks per thread\n"
            "\n"
            "Prints one line per layer and phase, then OK or FAILED. Exit status 0 if\n"
            "all passed, 1 if anything failed, 2 on a bad argument.\n",
            MAX_THREADS, DEFAULT_THREADS, DEFAULT_SECONDS, (unsigned)DEFAULT_OPS,
            UNDER_TSAN ? " (ThreadSanitizer build)" : "", DEFAULT_SHIFT, DEFAULT_CHUNKS,
            HAMMER_CHUNKS_PER_THREAD);
}

/* A bad command line: say what is wrong, and exit with status 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void bad_argument(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ca-stress: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ca-stress --help'.\n");
    va_end(ap);
    exit(2);
}

/* An unsigned integer, decimal or 0x hex, nothing else around it. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false; /* strtoull would take blanks and a minus sign */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static uint64_t parse_count(const char *arg, const char *value, uint64_t lo, uint64_t hi)
{
    uint64_t v;
    if (!parse_u64(value, &v) || v < lo || v > hi)
        bad_argument("%s: expected a whole number from %" PRIu64 " to %" PRIu64, arg, lo, hi);
    return v;
}

static void parse_options(int argc, char **argv, options *o)
{
    bool have_seconds = false, have_ops = false, have_seed = false, have_chunks = false;
    o->layer = -1;
    o->threads = DEFAULT_THREADS;
    o->seconds = 0;
    o->ops = NO_LIMIT;
    o->shift = DEFAULT_SHIFT;
    o->chunks = DEFAULT_CHUNKS;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        const char *value = eq ? eq + 1 : "";
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
#define IS(name) (name_len == sizeof(name) - 1 && strncmp(arg, name, name_len) == 0 && eq)
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (IS("--layer")) {
            ca_sync_kind k;
            if (strcmp(value, "all") == 0)
                o->layer = -1;
            else if (ca_sync_kind_parse(value, &k))
                o->layer = (int)k;
            else
                bad_argument("--layer: unknown layer '%s' (none, spin, ticket, mutex, hint, all)",
                             value);
        } else if (IS("--threads")) {
            o->threads = (unsigned)parse_count(arg, value, 1, MAX_THREADS);
        } else if (IS("--seconds")) {
            char *end;
            errno = 0;
            double s = strtod(value, &end);
            if (*value == '\0' || *end || errno || !(s > 0) || s > 1e6)
                bad_argument("--seconds: expected a number of seconds above 0, got '%s'", value);
            o->seconds = s;
            have_seconds = true;
        } else if (IS("--ops")) {
            o->ops = parse_count(arg, value, 1, NO_LIMIT - 1);
            have_ops = true;
        } else if (IS("--seed")) {
            if (!parse_u64(value, &o->seed))
                bad_argument("--seed: expected a 64-bit number (decimal or 0x hex), got '%s'",
                             value);
            have_seed = true;
        } else if (IS("--chunk-shift")) {
            o->shift = (unsigned)parse_count(arg, value, CA_CORE_MIN_CHUNK_SHIFT, 20);
        } else if (IS("--chunks")) {
            o->chunks = (size_t)parse_count(arg, value, 1, MAX_REGION);
            have_chunks = true;
        } else {
            bad_argument("unknown argument '%s'", arg);
        }
#undef IS
    }
    if (!have_seconds && !have_ops) {
        o->seconds = DEFAULT_SECONDS;
        o->ops = DEFAULT_OPS;
    }
    if (!have_chunks && o->chunks > MAX_REGION >> o->shift)
        o->chunks = MAX_REGION >> o->shift; /* large chunks: a smaller default arena */
    if (o->chunks > MAX_REGION >> o->shift)
        bad_argument("--chunks: the pattern arena would exceed 1 GiB (lower --chunks or "
                     "--chunk-shift)");
    if ((size_t)o->threads * HAMMER_CHUNKS_PER_THREAD > MAX_REGION >> o->shift)
        bad_argument("--threads: the hammer arena would exceed 1 GiB (lower --threads or "
                     "--chunk-shift)");
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ca_splitmix64 g = ca_splitmix64_seed(((uint64_t)ts.tv_sec * 1000000000u +
                                              (uint64_t)ts.tv_nsec) ^
                                             ((uint64_t)getpid() << 40));
        o->seed = ca_splitmix64_next(&g);
    }
}

int main(int argc, char **argv)
{
    options o;
    parse_options(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("seed=0x%016" PRIx64 "\n", o.seed);
    printf("layers=%s threads=%u", o.layer < 0 ? "all" : ca_sync_kind_name((ca_sync_kind)o.layer),
           o.threads);
    if (o.seconds > 0)
        printf(" seconds=%.2f", o.seconds);
    if (o.ops != NO_LIMIT)
        printf(" ops=%" PRIu64, o.ops);
    printf(" chunk_shift=%u chunks=%zu tsan=%s\n", o.shift, o.chunks, UNDER_TSAN ? "yes" : "no");

    bool ok = true;
    for (unsigned k = 0; k < CA_SYNC_KINDS; k++) {
        if (o.layer >= 0 && (unsigned)o.layer != k)
            continue;
        ok &= run_phase(&o, (ca_sync_kind)k, PHASE_PATTERN);
        ok &= run_phase(&o, (ca_sync_kind)k, PHASE_HAMMER);
    }
    puts(ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
