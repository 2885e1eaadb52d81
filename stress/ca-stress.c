/*
 * stress/ca-stress.c — the stress harness: every sync layer, and the public
 * API over several named arenas at once, under threads that allocate,
 * resize, move and free, checking every byte they own.
 *
 * For each chosen layer it runs two phases, each on a fresh arena driven
 * directly (sync/arena.h). "pattern": N threads share one arena; each keeps
 * a table of its own live allocations and, drawing from its own SplitMix64
 * generator, allocates random sizes (zero to dozens of chunks, now and then
 * a large share of the arena) at random alignments (up to 4096, above the
 * chunk size), grows and shrinks in place, reallocates (in place, or by
 * allocate-copy-free) and frees. Every allocation is filled with a pattern
 * that names its thread, its sequence number and each word's offset,
 * verified before every free and after every resize or move: memory handed
 * to two owners at once shows up as a broken pattern that says who wrote
 * over it. "hammer" (layers run with two threads or more): a small arena
 * kept nearly full of one-chunk allocations, so that each free has
 * neighbours that other threads are allocating, growing, shrinking and
 * freeing at that very moment: the free-validation protocol of core/core.h
 * under fire; every free of a live allocation must succeed (otherwise it is
 * a "false invalid free").
 *
 * Then (--layer=all, or alone with --layer=api) phase "api": the same
 * discipline through the public API of api/chunkarena.h only, over several
 * named arenas at once: one per sync layer made with ca_arena_create over
 * memory the harness owns ("none" only when one thread runs), their chunk
 * sizes 16 to 4096 shuffled by the seed, each with its bookkeeping either
 * in a separate buffer or carved from the front of its memory, plus the
 * static arena that CA_ARENA_DEFINE defines below. For each allocation a
 * thread picks an arena at random (ca_alloc, ca_aligned_alloc, ca_calloc,
 * whose zeroing is checked); then it resizes in place (ca_resize),
 * reallocates (ca_realloc, ca_aligned_realloc: the content must survive a
 * move, and a moved block keep its alignment), asks (ca_usable_size,
 * ca_arena_of, which must name the block's arena, ca_arena_find, interior
 * pointers through ca_free_checked, ca_arena_stats) and frees (ca_free,
 * ca_free_checked or ca_free_any, at random). Some blocks are handed to
 * another thread through its inbox, and freed there with ca_free_any. Now
 * and then a thread creates, uses and destroys an arena of its own, so the
 * registry changes under the lookups of the others. A fault handler,
 * installed at the start, counts its calls: any that the harness did not
 * provoke on purpose is a false fault. In each quiet moment (below) the
 * main thread feeds every arena bad pointers — interior, freed already,
 * foreign — and bad arguments, and checks that each is reported (by
 * ca_free_checked, or to the handler with the right report) and changes
 * nothing (ca_arena_stats before and after, every field). At the end
 * every runtime arena must be destroyed by ca_arena_destroy (then
 * ca_arena_find and ca_arena_of say ENOENT).
 *
 * Shared by every phase: the harness sees an arena as a "region" (its
 * chunks, an owner map, and the arena behind it, sync or public, reached
 * through the region_* wrappers, which give both the sync arena's shape: a
 * pointer or a status). The helpers that allocate into a thread's slot,
 * free, resize, probe and check the statistics work on any region. The
 * owner map (one atomic per chunk: the thread holding it) catches a chunk
 * handed out twice the moment it happens; each thread checks an arena's
 * statistics now and then against what it holds. Every 10 ms the main
 * thread has the threads hold still and checks every quiet arena, full of
 * live allocations: its check clean (summaries and bound exact, as they
 * must be when no operation is in flight), its figures and counters equal
 * to what the threads hold (blocks in an inbox included) and counted. A
 * phase runs in four rounds of fresh threads, so a "hint" arena sees its
 * slots given back and claimed again; after the last every arena must be
 * empty and hand out all of itself in one allocation. Any violation is
 * printed (thread, op index, seed, what was wrong), counted, and fails the
 * run at the end.
 *
 * Thread safety: besides the arenas, the threads share only atomics (the
 * stop and pause flags, the finished and paused counts, the violation
 * counts, the owner maps) and the inboxes, whose entries are handed over
 * by a release/acquire state word (see send). A thread's table, generator
 * and tallies are its own; the main thread reads them only while the
 * thread holds still (after a release/acquire handshake, see hold_still)
 * or after pthread_join. The harness takes no lock of its own; messages go
 * to stderr through stdio, whose locking lasts one call. Exit status: 0 if
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

#include "api/chunkarena.h"
#include "tests/splitmix64.h"
#include "sync/arena.h"

/* ---- defaults and limits ---- */

/* ThreadSanitizer runs code 5 to 15 times slower: smaller arenas and far
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
#define API_CHUNKS 1024u                /* chunks in each runtime arena of phase api */
#else
#define DEFAULT_SECONDS 1.1
#define DEFAULT_OPS 50000000u
#define DEFAULT_CHUNKS ((size_t)1 << 16)
#define API_CHUNKS 4096u
#endif
#define DEFAULT_THREADS 4u
#define DEFAULT_SHIFT 6u

#define MAX_THREADS 1024u               /* thread ids (and main's) must fit the pattern tag */
#define MAX_REGION ((size_t)1 << 30)    /* bytes in one arena */
#define NO_LIMIT UINT64_MAX

#define HAMMER_SLOTS 32u                /* allocations a hammer thread holds at most */
#define HAMMER_CHUNKS_PER_THREAD 20u    /* a bit less than a thread holds: nearly full */
#define ROUNDS 4u                       /* rounds of threads per phase (see run_rounds) */
#define PAUSE_EVERY_MS 10u              /* between two checks of the arenas held still */
#define CHECK_EVERY 1024u               /* ops between two statistics checks */
#define MAX_PRINTED 40u                 /* violation messages printed; all are counted */

#define MAX_REGIONS 8u                  /* arenas in one phase */
#define INBOX_SLOTS 32u                 /* blocks in transit to one thread, at most */
#define RECEIVE_EVERY 8u                /* ops between two looks into a thread's inbox */
#define SCRATCH_EVERY 4096u             /* ops between two rounds of scratch arenas (avg.) */
#define SCRATCH_CHUNKS 64u              /* of 64 bytes, in a thread's scratch arena */
#define SCRATCH_CYCLES 2u               /* scratch arenas made in a row over one memory */

/* The static arena of phase api: the one CA_ARENA_DEFINE lays out, in .bss,
 * registered before main; CA_LOCK_DEFAULT is configure's --with-lock. */
#define STATIC_NAME "ca-stress-static"
#define STATIC_CHUNKS 4096u
#define STATIC_CHUNK_SIZE 128u
CA_ARENA_DEFINE(stress_static, STATIC_NAME, STATIC_CHUNKS, STATIC_CHUNK_SIZE, CA_LOCK_DEFAULT);

/* --layer: a ca_sync_kind, or one of these. */
#define LAYER_ALL (-1)
#define LAYER_API CA_SYNC_KINDS

typedef struct options {
    int layer;          /* a ca_sync_kind, LAYER_API or LAYER_ALL */
    unsigned threads;
    double seconds;     /* per layer and phase; 0: no time limit */
    uint64_t ops;       /* per thread; NO_LIMIT: none */
    uint64_t seed;
    unsigned shift;
    size_t chunks;
} options;

/* ---- what a phase works on ---- */

typedef enum phase { PHASE_PATTERN, PHASE_HAMMER, PHASE_API } phase;
static const char *const phase_names[] = {"pattern", "hammer", "api"};

/* An arena as the harness sees it: its chunks, who holds each, and the
 * arena itself, driven directly (sync) or through the public API (api). */
typedef struct region {
    const char *name;       /* the layer's name, or the arena's */
    unsigned index;         /* in run.regions, and in a worker's tallies */
    ca_sync_kind kind;      /* the layer (of an API arena: the one it uses) */
    ca_sync_arena *sync;    /* phases pattern and hammer; NULL in phase api */
    ca_arena *api;          /* phase api; NULL in the others */
    unsigned char *base;    /* the arena's first chunk */
    size_t nchunks;
    unsigned shift;
    size_t cs;              /* chunk size */
    size_t huge;            /* the largest size draw_size draws */
    /* Chunk i is held by thread owner[i] - 1, or by nobody (0). Only
     * exchanged, relaxed: an RMW always reads the latest value in the
     * location's modification order, and a thread drops its chunks before
     * the free (or shrink, or realloc) that lets another claim them, which
     * the arena orders (lock, or release CAS then acquire CAS on the map)
     * before that claim and so before the next owner's exchange. A nonzero
     * value seen when taking a chunk is thus a chunk held by two owners. */
    _Atomic uint16_t *owner;
    ca_stats start;         /* its counters when the phase began */
} region;

/* One allocation a thread holds. */
typedef struct slot {
    unsigned char *p;   /* NULL: the slot is empty */
    region *g;          /* the arena it is in */
    uint64_t tag;       /* names the pattern (see pattern_word) */
    size_t size;        /* bytes asked for */
    size_t usable;      /* bytes it owns: its chunks times the chunk size */
    size_t align;       /* asked for (0: none); a move must keep it */
} slot;

/* What one thread did, and holds, in one arena. The main thread sums them
 * while the threads hold still or after they are joined. */
typedef struct tally {
    uint64_t allocs, frees, resizes, grows, shrinks, reallocs, moves, failures;
    uint64_t requested;          /* bytes, by successful allocations (moves included) */
    uint64_t false_invalid_free; /* frees of a live allocation that were refused */
    uint64_t neighbour_frees;    /* frees with a neighbouring chunk held by another thread */
    uint64_t free_any;           /* frees by ca_free_any */
    uint64_t sent, received;     /* blocks handed to another thread, and from one */
    size_t live_chunks, live_allocs;
} tally;

/* An entry of a thread's inbox: a block on its way from another thread.
 * EMPTY -> WRITING (a sender claims it) -> FULL (published) -> EMPTY (the
 * owner took the block); in the last round the owner closes it for good. */
enum { BOX_EMPTY, BOX_WRITING, BOX_FULL, BOX_CLOSED };
typedef struct parcel {
    _Atomic unsigned state;
    slot s;
} parcel;

/* The run of one phase. */
typedef struct run {
    const char *layer;      /* for messages: the layer's name, or "api" */
    phase ph;
    unsigned nthreads;
    uint64_t seed;          /* the --seed of the whole program, for messages */
    uint64_t max_ops;       /* per thread, over all rounds */
    uint64_t op_limit;      /* per thread, by the end of the current round */
    bool last_round;        /* the threads free everything when they stop */
    region regions[MAX_REGIONS];
    unsigned nregions;
    parcel *inbox;          /* phase api: INBOX_SLOTS per thread */
    atomic_bool stop;       /* the time is up */
    atomic_uint finished;   /* threads done with the round */
    atomic_bool pausing;    /* the main thread asks the threads to hold still */
    atomic_uint paused;     /* threads holding still */
    uint64_t checks;        /* of the quiet arenas, by the main thread */
    uint64_t bad_pointers;  /* phase api: bad pointers and arguments fed on purpose */
    _Atomic uint64_t violations;
} run;

_Static_assert(MAX_THREADS < UINT16_MAX, "a thread id + 1 fits the owner map");
_Static_assert(MAX_THREADS < 1u << 12, "a thread id, main's too, fits the 12 bits of a tag");

static _Atomic unsigned printed; /* violation messages printed so far */

/* A thread of a phase. The main thread has one too (the last of a run's
 * workers, id nthreads): its allocations in quiet moments are tallied like
 * the others'. */
typedef struct worker {
    run *r;
    unsigned id;
    ca_splitmix64 rng;
    uint64_t op;            /* index of the op under way; ops done, at the end */
    uint64_t next_seq;      /* sequence number of the next allocation */
    slot *slots;
    size_t nslots;
    tally t[MAX_REGIONS];   /* by region index */
    uint64_t scratch_arenas;
    unsigned char *scratch; /* the memory of its scratch arenas (phase api) */
    pthread_t thread;
} worker;

/* ---- small helpers ---- */

/* The public API's name of each layer, and back. */
static const ca_lock lock_of_kind[CA_SYNC_KINDS] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET,
                                                    CA_LOCK_MUTEX, CA_LOCK_HINT};

static ca_sync_kind kind_of_lock(ca_lock lock)
{
    unsigned k = 0;
    while (k + 1 < CA_SYNC_KINDS && lock_of_kind[k] != lock)
        k++;
    return (ca_sync_kind)k;
}

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

__attribute__((noreturn)) static void out_of_memory(void)
{
    fprintf(stderr, "ca-stress: out of memory\n");
    exit(1);
}

static uint64_t below(worker *w, uint64_t n)
{
    return ca_splitmix64_below(&w->rng, n);
}

/* A seed for one thread (or, with tid RUN_TID, for the run itself) of one
 * layer (LAYER_API for phase api) and phase, derived from the program's
 * seed. */
#define RUN_TID 0xFFFFu
static uint64_t derive(uint64_t seed, unsigned layer, phase ph, unsigned tid)
{
    ca_splitmix64 g = ca_splitmix64_seed(seed ^ ((uint64_t)layer << 56) ^ ((uint64_t)ph << 48) ^
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
static size_t chunks_for(const region *g, size_t size)
{
    return size == 0 ? 1 : (size - 1) / g->cs + 1;
}

static size_t chunk_of(const region *g, const unsigned char *p)
{
    return (size_t)(p - g->base) >> g->shift;
}

/* Round n up to a multiple of m (a power of two). */
static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) & ~(m - 1);
}

/* Memory for len bytes at a multiple of cs (a power of two), placed at a
 * random chunk within a 4 KiB page, so that alignments above the chunk size
 * meet a start not aligned to them. *block is what to free. */
static unsigned char *place(ca_splitmix64 *g, size_t len, size_t cs, void **block)
{
    size_t page = 4096, offset = 0;
    if (cs < page)
        offset = (size_t)ca_splitmix64_below(g, page / cs) * cs;
    size_t big_align = cs > page ? cs : page;
    *block = aligned_alloc(big_align, round_up(len + offset, big_align));
    if (!*block)
        out_of_memory();
    return (unsigned char *)*block + offset;
}

/* A best-fit window for an arena (1: pure next fit). */
static unsigned draw_window(ca_splitmix64 *g)
{
    static const unsigned windows[] = {1u, 2u, 4u, 16u};
    return windows[ca_splitmix64_below(g, 4)];
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
    fprintf(stderr, "VIOLATION layer=%s phase=%s %s seed=0x%016" PRIx64 ": %s\n", r->layer,
            phase_names[r->ph], who, r->seed, msg);
}

/* Something wrong seen by worker w (the main thread's too) during its
 * current op. */
__attribute__((format(printf, 2, 3))) static void violation(worker *w, const char *fmt, ...)
{
    char who[64];
    if (w->id == w->r->nthreads)
        snprintf(who, sizeof who, "thread=main");
    else
        snprintf(who, sizeof who, "thread=%u op=%" PRIu64, w->id, w->op);
    va_list ap;
    va_start(ap, fmt);
    vreport(w->r, who, fmt, ap);
    va_end(ap);
}

/* Something wrong seen by the main thread outside any op of a worker. */
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

/* Verify bytes [0, len) of p, in region g, against the pattern of `tag`;
 * report the first broken word, naming who wrote it. */
static bool verify(worker *w, const region *g, const unsigned char *p, uint64_t tag, size_t len,
                   const char *when)
{
    const uint64_t *q = (const uint64_t *)(const void *)p;
    for (size_t j = 0; j < len / 8; j++) {
        uint64_t want = pattern_word(tag, j), got = q[j];
        if (got == want)
            continue;
        uint64_t d = got ^ SALT;
        violation(w,
                  "%s: pattern of the allocation at %p (%s, chunk %zu, %zu bytes; thread %u seq "
                  "%" PRIu64 ") broken at byte %zu: expected 0x%016" PRIx64 ", found 0x%016" PRIx64
                  " (as if from thread %u seq %" PRIu64 " word %u)",
                  when, (const void *)p, g->name, chunk_of(g, p), len, tag_thread(tag),
                  tag_seq(tag), j * 8, want, got, tag_thread(d), tag_seq(d),
                  (unsigned)(d & 0xFFFFu));
        return false;
    }
    return true;
}

/* ---- the owner map ---- */

/* Mark the chunks of bytes [from, to) of allocation p in g as this thread's. */
static void take(worker *w, region *g, const unsigned char *p, size_t from, size_t to)
{
    size_t c0 = chunk_of(g, p);
    for (size_t c = c0 + from / g->cs; c < c0 + to / g->cs; c++) {
        unsigned old = atomic_exchange_explicit(&g->owner[c], (uint16_t)(w->id + 1),
                                                memory_order_relaxed);
        if (old != 0)
            violation(w, "chunk %zu of %s (of the allocation at %p) was handed to thread %u "
                         "while thread %u holds it", c, g->name, (const void *)p, w->id, old - 1u);
    }
}

/* Unmark them, before the free, shrink or realloc that gives them back. */
static void drop(worker *w, region *g, const unsigned char *p, size_t from, size_t to)
{
    size_t c0 = chunk_of(g, p);
    for (size_t c = c0 + from / g->cs; c < c0 + to / g->cs; c++) {
        unsigned old = atomic_exchange_explicit(&g->owner[c], 0, memory_order_relaxed);
        if (old != w->id + 1u)
            violation(w, "chunk %zu of %s, of my allocation at %p, is marked as held by %s%u", c,
                      g->name, (const void *)p, old ? "thread " : "nobody", old ? old - 1u : 0u);
    }
}

/* Whether chunk c of g is held by a thread other than w (a snapshot). */
static bool foreign(const worker *w, const region *g, size_t c)
{
    unsigned o = atomic_load_explicit(&g->owner[c], memory_order_relaxed);
    return o != 0 && o != w->id + 1u;
}

/* ---- the fault handler (phase api) ----
 *
 * The library calls it in the thread that found the fault, so what it saw
 * is kept per thread: the API wrappers below learn from it which fault a
 * failed call found. A call that the main thread did not provoke on purpose
 * (expecting) is a false fault: counted, and a violation of the thread's
 * current op. */
typedef struct fault_log {
    bool expecting;        /* the main thread is feeding bad pointers */
    unsigned calls;        /* since the last api_begin (or expect_fault) */
    ca_fault_report last;
} fault_log;

static _Thread_local fault_log faults_here;
static _Thread_local worker *this_worker; /* the worker this thread runs, for the handler */
static _Atomic uint64_t false_faults;

static void count_fault(const ca_fault_report *report)
{
    faults_here.calls++;
    faults_here.last = *report;
    if (faults_here.expecting)
        return;
    atomic_fetch_add_explicit(&false_faults, 1, memory_order_relaxed);
    if (this_worker)
        violation(this_worker, "false fault: the handler was told %s(%p) in arena \"%s\": %s",
                  report->function, report->pointer, report->arena, ca_fault_name(report->fault));
}

static ca_core_status fault_status(ca_fault f)
{
    switch (f) {
    case CA_FAULT_NONE:
        return CA_CORE_OK;
    case CA_FAULT_FOREIGN:
        return CA_CORE_FOREIGN;
    case CA_FAULT_INTERIOR:
        return CA_CORE_INTERIOR;
    case CA_FAULT_NOT_ALLOCATED:
        break;
    }
    return CA_CORE_NOTALLOC;
}

/* Before a public call whose outcome api_status reads. */
static void api_begin(void)
{
    errno = 0;
    faults_here.calls = 0;
}

/* What the public call `function`, which succeeded or not (ok), stands for
 * as a status: a fault the handler was told, NOMEM for ENOMEM, BADALIGN for
 * an EINVAL without a fault (a bad argument). A call that succeeded must
 * leave errno alone. */
static ca_core_status api_status(worker *w, bool ok, const char *function)
{
    if (ok) {
        if (errno != 0)
            violation(w, "%s succeeded but set errno to %d (%s)", function, errno,
                      strerror(errno));
        return CA_CORE_OK;
    }
    if (faults_here.calls)
        return fault_status(faults_here.last.fault);
    return errno == ENOMEM ? CA_CORE_NOMEM : CA_CORE_BADALIGN;
}

/* ---- the arena behind a region ----
 *
 * Phases pattern and hammer drive a sync arena directly; phase api an arena
 * of the public API. These wrappers give both the sync arena's shape. */

/* How a block is freed: the public API has three ways (a sync arena one). */
typedef enum how_free { FREE_PLAIN, FREE_CHECKED, FREE_ANY } how_free;
static const char *const free_names[] = {"ca_free", "ca_free_checked", "ca_free_any"};

static unsigned char *region_alloc(worker *w, region *g, size_t size, size_t align,
                                   ca_core_status *st)
{
    if (g->sync)
        return ca_sync_arena_alloc(g->sync, size, align, st);
    api_begin();
    void *p = align ? ca_aligned_alloc(g->api, align, size) : ca_alloc(g->api, size);
    *st = api_status(w, p != NULL, align ? "ca_aligned_alloc" : "ca_alloc");
    return p;
}

static ca_core_status region_free(worker *w, region *g, void *p, how_free how)
{
    if (g->sync)
        return ca_sync_arena_free(g->sync, p);
    api_begin();
    switch (how) {
    case FREE_PLAIN:
        ca_free(g->api, p);
        break;
    case FREE_CHECKED:
        return fault_status(ca_free_checked(g->api, p));
    case FREE_ANY:
        ca_free_any(p);
        break;
    }
    return api_status(w, faults_here.calls == 0, free_names[how]);
}

static ca_core_status region_resize(worker *w, region *g, void *p, size_t size)
{
    if (g->sync)
        return ca_sync_arena_resize(g->sync, p, size);
    api_begin();
    int rc = ca_resize(g->api, p, size);
    return api_status(w, rc == 0, "ca_resize");
}

static ca_core_status region_usable(worker *w, region *g, const void *p, size_t *bytes)
{
    if (g->sync)
        return ca_sync_arena_usable(g->sync, p, bytes);
    api_begin();
    *bytes = ca_usable_size(g->api, p);
    return api_status(w, *bytes != 0, "ca_usable_size");
}

/* What the arena says of a pointer that may be bad, changing nothing if it
 * is: the sync arena's usable size; ca_free_checked in the public API
 * (which would free a good one: give it only bad ones). */
static ca_core_status region_judge(region *g, const void *p)
{
    size_t ignored;
    if (g->sync)
        return ca_sync_arena_usable(g->sync, p, &ignored);
    return fault_status(ca_free_checked(g->api, (void *)(uintptr_t)p));
}

/* The arena's figures, in the public API's form (a sync arena has no move
 * counter: 0). */
static void region_stats(region *g, ca_stats *st)
{
    memset(st, 0, sizeof *st);
    if (g->api) {
        if (ca_arena_stats(g->api, st) != 0)
            memset(st, 0, sizeof *st); /* nothing will match: reported by the caller */
        return;
    }
    ca_sync_stats s;
    ca_sync_arena_stats(g->sync, &s);
    st->name = g->name;
    st->chunk_size = s.chunk_size;
    st->chunks_total = s.chunks_total;
    st->chunks_used = s.chunks_used;
    st->chunks_peak = s.chunks_peak;
    st->allocations = s.allocations;
    st->bytes_requested = s.bytes_requested;
    st->largest_free_run = s.largest_free;
    st->free_runs = s.free_runs;
    st->failures = s.failures;
    st->grows_in_place = s.grows;
    st->shrinks_in_place = s.shrinks;
}

static const char *region_check(region *g)
{
    return g->sync ? ca_sync_arena_check(g->sync) : ca_arena_check(g->api);
}

/* ---- a thread's slots ---- */

/* The slot's chunks are now this thread's (marked, and counted). */
static void hold(worker *w, slot *s)
{
    tally *c = &w->t[s->g->index];
    take(w, s->g, s->p, 0, s->usable);
    c->live_chunks += s->usable >> s->g->shift;
    c->live_allocs++;
}

/* ... and no longer: before the free (or hand-off, or realloc) that gives
 * them up. The slot keeps its fields. */
static void let_go(worker *w, slot *s)
{
    tally *c = &w->t[s->g->index];
    drop(w, s->g, s->p, 0, s->usable);
    c->live_chunks -= s->usable >> s->g->shift;
    c->live_allocs--;
}

/* Usable size of p as the arena reports it; 0 (and a violation) on a fault. */
static size_t usable_of(worker *w, region *g, const unsigned char *p, const char *when)
{
    size_t bytes = 0;
    ca_core_status st = region_usable(w, g, p, &bytes);
    if (st != CA_CORE_OK) {
        violation(w, "%s: usable size of my live allocation at %p in %s returned %s", when,
                  (const void *)p, g->name, status_name(st));
        return 0;
    }
    return bytes;
}

/* After an allocation of `size` bytes aligned to `align` failed with NOMEM:
 * in a "none" arena (one thread's alone, so exact) the failure is false if
 * a free run long enough to hold it at any alignment exists. */
static void check_nomem(worker *w, region *g, size_t size, size_t align)
{
    if (g->kind != CA_SYNC_NONE)
        return; /* others may have freed or taken room meanwhile: not exact */
    ca_stats st;
    region_stats(g, &st);
    size_t achunks = align > g->cs ? align / g->cs : 1;
    size_t need = chunks_for(g, size) + achunks - 1;
    if (st.largest_free_run >= need)
        violation(w, "allocation of %zu bytes aligned to %zu in %s failed (NOMEM) although a "
                     "free run of %zu chunks exists (%zu would do)", size, align, g->name,
                  st.largest_free_run, need);
}

/* Whether p, just returned for `size` bytes aligned to `align` (0: none),
 * is a good block of g: inside the region, on a chunk, aligned, as many
 * chunks as the size takes. Its usable size, or 0 (and a violation). */
static size_t accept(worker *w, region *g, unsigned char *p, size_t size, size_t align,
                     const char *what)
{
    size_t region_bytes = g->nchunks << g->shift, want = chunks_for(g, size) << g->shift;
    if (p < g->base || (size_t)(p - g->base) >= region_bytes) {
        violation(w, "%s of %zu bytes returned %p, outside %s [%p, %p)", what, size, (void *)p,
                  g->name, (void *)g->base, (void *)(g->base + region_bytes));
        return 0;
    }
    if ((size_t)(p - g->base) & (g->cs - 1)) {
        violation(w, "%s of %zu bytes returned %p, not on a chunk boundary of %s", what, size,
                  (void *)p, g->name);
        return 0;
    }
    if (align && ((uintptr_t)p & (align - 1))) {
        violation(w, "%s of %zu bytes aligned to %zu returned %p, misaligned", what, size,
                  align, (void *)p);
        return 0;
    }
    size_t usable = usable_of(w, g, p, what);
    if (usable != want) {
        if (usable)
            violation(w, "%s of %zu bytes at %p has usable size %zu, expected %zu", what, size,
                      (void *)p, usable, want);
        return 0;
    }
    if ((size_t)(p - g->base) + usable > region_bytes) {
        violation(w, "%s of %zu bytes at %p runs past the end of %s", what, size, (void *)p,
                  g->name);
        return 0;
    }
    return usable;
}

/* An allocation of `size` bytes aligned to `align` in g returned p (NULL:
 * with status st): count it and, if it is good, put it in the empty slot s
 * (all but the pattern). False if the arena had no room (counted) or the
 * allocation is unusable (reported, and abandoned untouched). */
static bool adopt(worker *w, slot *s, region *g, unsigned char *p, ca_core_status st,
                  size_t size, size_t align)
{
    tally *c = &w->t[g->index];
    if (p == NULL) {
        if (st == CA_CORE_NOMEM) {
            c->failures++;
            check_nomem(w, g, size, align);
        } else {
            violation(w, "allocation of %zu bytes aligned to %zu in %s returned NULL with %s",
                      size, align, g->name, status_name(st));
        }
        return false;
    }
    if (st != CA_CORE_OK)
        violation(w, "allocation of %zu bytes returned %p with status %s", size, (void *)p,
                  status_name(st));
    c->allocs++;
    c->requested += size;
    size_t usable = accept(w, g, p, size, align, "allocation");
    if (!usable)
        return false;
    s->p = p;
    s->g = g;
    s->tag = make_tag(w->id, w->next_seq++);
    s->size = size;
    s->usable = usable;
    s->align = align;
    hold(w, s);
    return true;
}

static bool alloc_into(worker *w, slot *s, region *g, size_t size, size_t align)
{
    ca_core_status st = CA_CORE_RETRY;
    unsigned char *p = region_alloc(w, g, size, align, &st);
    return adopt(w, s, g, p, st, size, align);
}

/* ---- operations on one slot, in any phase ---- */

/* A new allocation in g into the empty slot s, filled with its pattern. */
static void op_alloc(worker *w, slot *s, region *g, size_t size, size_t align)
{
    if (alloc_into(w, s, g, size, align))
        fill(s->p, s->tag, 0, s->usable);
}

/* Verify and free the allocation in s (as `how` says, in phase api); every
 * refusal is a false invalid free. */
static void op_free(worker *w, slot *s, how_free how)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    verify(w, g, s->p, s->tag, s->usable, "before free");
    size_t first = chunk_of(g, s->p), last = first + (s->usable >> g->shift) - 1;
    if ((first > 0 && foreign(w, g, first - 1)) ||
        (last + 1 < g->nchunks && foreign(w, g, last + 1)))
        c->neighbour_frees++;
    let_go(w, s);
    ca_core_status st = region_free(w, g, s->p, how);
    if (st == CA_CORE_OK) {
        c->frees++;
        c->free_any += g->api && how == FREE_ANY;
    } else {
        c->false_invalid_free++;
        violation(w, "%s of my live allocation at %p (%s, chunk %zu, %zu bytes) returned %s",
                  g->api ? free_names[how] : "free", (void *)s->p, g->name, first, s->usable,
                  status_name(st));
    }
    s->p = NULL;
}

/* Resize s in place to new_size bytes. Growth may fail with NOMEM, which
 * leaves the allocation as it was; anything else must succeed. Returns the
 * arena's status. */
static ca_core_status op_resize(worker *w, slot *s, size_t new_size)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    size_t have = s->usable >> g->shift, want = chunks_for(g, new_size);
    if (want < have) /* the tail is up for grabs the moment resize returns */
        drop(w, g, s->p, want << g->shift, s->usable);
    ca_core_status st = region_resize(w, g, s->p, new_size);
    c->resizes++;
    if (st != CA_CORE_OK) {
        if (st != CA_CORE_NOMEM || want <= have)
            violation(w, "resize of my allocation at %p in %s from %zu to %zu bytes returned %s",
                      (void *)s->p, g->name, s->size, new_size, status_name(st));
        if (want < have)
            take(w, g, s->p, want << g->shift, s->usable);
        if (st == CA_CORE_NOMEM && want > have && g->kind == CA_SYNC_NONE) {
            /* Single-threaded, the owner map is the whole map: were the
             * chunks after the allocation free after all? */
            size_t ch = chunk_of(g, s->p) + have, ch_end = chunk_of(g, s->p) + want;
            while (ch < ch_end && ch < g->nchunks &&
                   atomic_load_explicit(&g->owner[ch], memory_order_relaxed) == 0)
                ch++;
            if (ch == ch_end)
                violation(w, "growth of %p from %zu to %zu chunks failed (NOMEM) although the "
                             "chunks after it are free", (void *)s->p, have, want);
        }
        size_t u = usable_of(w, g, s->p, "after a failed resize");
        if (u && u != s->usable)
            violation(w, "a failed resize changed the usable size of %p from %zu to %zu",
                      (void *)s->p, s->usable, u);
        verify(w, g, s->p, s->tag, s->usable, "after a failed resize");
        return st;
    }
    size_t u = usable_of(w, g, s->p, "after resize");
    if (u != want << g->shift) {
        if (u)
            violation(w, "resize of %p to %zu bytes left a usable size of %zu, expected %zu",
                      (void *)s->p, new_size, u, want << g->shift);
        /* We no longer know what we own: let the allocation go untouched. */
        c->live_chunks -= have;
        c->live_allocs--;
        s->p = NULL;
        return st;
    }
    if (want > have) {
        take(w, g, s->p, s->usable, u);
        fill(s->p, s->tag, s->usable, u);
        c->grows++;
    } else if (want < have) {
        c->shrinks++;
    }
    c->live_chunks = c->live_chunks - have + want;
    s->size = new_size;
    s->usable = u;
    verify(w, g, s->p, s->tag, s->usable, "after resize");
    return st;
}

/* realloc done by the harness (the sync arena has none): in place if
 * possible, else allocate, copy, verify the copy, free the old one. If the
 * arena has no room at all, s stays as it was. */
static void op_realloc(worker *w, slot *s, size_t new_size)
{
    region *g = s->g;
    bool grows = chunks_for(g, new_size) > s->usable >> g->shift;
    if (op_resize(w, s, new_size) != CA_CORE_NOMEM || !grows)
        return; /* done in place (or a shrink refused, reported by op_resize) */
    slot t;
    if (!alloc_into(w, &t, g, new_size, s->align))
        return;
    memcpy(t.p, s->p, s->usable); /* growing: t.usable > s->usable */
    t.tag = s->tag;               /* the same allocation, moved */
    verify(w, g, t.p, t.tag, s->usable, "after the copy of a move");
    fill(t.p, t.tag, s->usable, t.usable);
    w->t[g->index].moves++;
    op_free(w, s, FREE_CHECKED);
    *s = t;
}

/* Ask the arena about s (usable size; two interior pointers, which must be
 * refused as INTERIOR, changing nothing), then verify the pattern. */
static void op_probe(worker *w, slot *s)
{
    region *g = s->g;
    size_t u = usable_of(w, g, s->p, "probe");
    if (u && u != s->usable)
        violation(w, "usable size of %p is %zu, expected %zu", (void *)s->p, u, s->usable);
    const unsigned char *inside[2] = {s->p + 1, s->usable > g->cs ? s->p + g->cs : NULL};
    for (int i = 0; i < 2; i++) {
        if (!inside[i])
            continue;
        ca_core_status st = region_judge(g, inside[i]);
        if (st != CA_CORE_INTERIOR)
            violation(w, "%s of the interior pointer %p (my allocation %p in %s, %zu bytes) "
                         "returned %s, expected INTERIOR",
                      g->api ? "ca_free_checked" : "usable size", (const void *)inside[i],
                      (void *)s->p, g->name, s->usable, status_name(st));
    }
    verify(w, g, s->p, s->tag, s->usable, "probe");
}

/* Compare g's figures with what this thread holds there. Under a lock they
 * are one consistent picture, which includes all of ours. Under "hint"
 * they are a snapshot taken while others work: the free runs come from one
 * pass, which may skip a used word whose summary bit lags (so it may count
 * our chunks as free), and the allocations from another, which reads every
 * map word and so counts each of ours (their LAST markers do not change
 * while we ask). A "none" arena is one thread's alone: exact, and quiet
 * enough for the full invariant check. */
static void check_stats(worker *w, region *g)
{
    ca_stats st;
    region_stats(g, &st);
    const tally *c = &w->t[g->index];
    bool exact = g->kind == CA_SYNC_NONE, locked = g->kind != CA_SYNC_HINT;
    if (st.chunk_size != g->cs || st.chunks_total != g->nchunks)
        violation(w, "stats of %s: chunk size %zu, %zu chunks; expected %zu, %zu", g->name,
                  st.chunk_size, st.chunks_total, g->cs, g->nchunks);
    if (g->api && (!st.name || strcmp(st.name, g->name) != 0))
        violation(w, "stats of %s name it \"%s\"", g->name, st.name ? st.name : "(null)");
    /* chunks_used and largest_free come from the same pass, even under "hint" */
    if (st.chunks_used > st.chunks_total ||
        st.largest_free_run > st.chunks_total - st.chunks_used ||
        (locked && st.allocations > st.chunks_used))
        violation(w, "stats of %s are inconsistent: %zu of %zu chunks used, %zu allocations, "
                     "longest free run %zu", g->name, st.chunks_used, st.chunks_total,
                  st.allocations, st.largest_free_run);
    if (exact ? st.chunks_used != c->live_chunks || st.allocations != c->live_allocs
              : (locked && st.chunks_used < c->live_chunks) || st.allocations < c->live_allocs)
        violation(w, "stats of %s: %zu chunks used in %zu allocations, but this thread alone "
                     "holds %zu chunks in %zu allocations", g->name, st.chunks_used,
                  st.allocations, c->live_chunks, c->live_allocs);
    if (exact) {
        const char *why = region_check(g);
        if (why)
            violation(w, "check of %s: %s", g->name, why);
    }
}

/* ---- phase api: its own operations ---- */

/* An arena for a new allocation. */
static region *pick_region(worker *w)
{
    return &w->r->regions[below(w, w->r->nregions)];
}

/* How to free: in phase api, one of the three ways at random. */
static how_free draw_how(worker *w)
{
    return w->r->ph == PHASE_API ? (how_free)below(w, 3) : FREE_CHECKED;
}

/* ca_calloc of n * each bytes into the empty slot s: zeroed, then filled. */
static void op_calloc(worker *w, slot *s, region *g, size_t n, size_t each)
{
    api_begin();
    unsigned char *p = ca_calloc(g->api, n, each);
    ca_core_status st = api_status(w, p != NULL, "ca_calloc");
    if (!adopt(w, s, g, p, st, n * each, 0))
        return;
    for (size_t i = 0; i < n * each; i++)
        if (p[i] != 0) {
            violation(w, "ca_calloc(%zu, %zu) at %p in %s: byte %zu is 0x%02x, not 0", n, each,
                      (void *)p, g->name, i, p[i]);
            break;
        }
    fill(s->p, s->tag, 0, s->usable);
}

/* ca_realloc (align 0) or ca_aligned_realloc of s to `size` bytes. In place
 * the content survives up to the smaller usable size; a move copies the
 * smaller of the old usable size and the new size, and keeps the
 * alignment the block was asked (a realloc never loses it). A failure
 * (ENOMEM) leaves s untouched. We do not know beforehand whether it moves
 * or shrinks, so all our chunks are dropped first and the result's taken
 * after. */
static void op_api_realloc(worker *w, slot *s, size_t size, size_t align)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    unsigned char *old = s->p;
    size_t old_usable = s->usable, keep_align = align ? align : s->align;
    const char *fn = align ? "ca_aligned_realloc" : "ca_realloc";
    c->reallocs++;
    let_go(w, s);
    api_begin();
    unsigned char *q = align ? ca_aligned_realloc(g->api, old, align, size)
                             : ca_realloc(g->api, old, size);
    ca_core_status st = api_status(w, q != NULL, fn);
    if (!q) {
        hold(w, s);
        if (st == CA_CORE_NOMEM)
            c->failures++; /* the move found no room (not checked against the map: a
                            * realloc may keep more alignment than was asked) */
        else
            violation(w, "%s of my allocation at %p in %s to %zu bytes returned NULL with %s", fn,
                      (void *)old, g->name, size, status_name(st));
        size_t u = usable_of(w, g, old, "after a failed realloc");
        if (u && u != old_usable)
            violation(w, "a failed %s changed the usable size of %p from %zu to %zu", fn,
                      (void *)old, old_usable, u);
        verify(w, g, old, s->tag, old_usable, "after a failed realloc");
        return;
    }
    size_t usable = accept(w, g, q, size, keep_align, fn);
    if (!usable) {
        s->p = NULL; /* we no longer know what we own: let it go untouched */
        return;
    }
    size_t kept; /* bytes whose pattern must have survived */
    if (q == old) {
        kept = old_usable < usable ? old_usable : usable;
        c->grows += usable > old_usable;
        c->shrinks += usable < old_usable;
    } else {
        kept = (old_usable < size ? old_usable : size) & ~(size_t)7;
        c->moves++;
        c->requested += size;
    }
    s->p = q;
    s->size = size;
    s->usable = usable;
    s->align = keep_align;
    hold(w, s);
    verify(w, g, q, s->tag, kept,
           q == old ? "after a realloc in place" : "after a move by realloc");
    fill(q, s->tag, kept, usable);
}

/* The registry knows s: ca_arena_of its first and last byte gives its
 * arena, ca_arena_find the arena's name; an unknown name is ENOENT. */
static void op_lookup(worker *w, slot *s)
{
    region *g = s->g;
    const unsigned char *ends[2] = {s->p, s->p + s->usable - 1};
    for (int i = 0; i < 2; i++) {
        ca_arena *a = ca_arena_of(ends[i]);
        if (a != g->api)
            violation(w, "ca_arena_of(%p), a byte of my allocation at %p in %s, gave %p (\"%s\")",
                      (const void *)ends[i], (void *)s->p, g->name, (void *)a,
                      a ? ca_arena_name(a) : "");
    }
    ca_arena *a = ca_arena_find(g->name);
    if (a != g->api)
        violation(w, "ca_arena_find(\"%s\") gave %p, expected %p", g->name, (void *)a,
                  (void *)g->api);
    errno = 0;
    a = ca_arena_find("ca-stress-nowhere");
    if (a || errno != ENOENT)
        violation(w, "ca_arena_find of an unknown name gave %p, errno %d", (void *)a, errno);
}

/* Hand the block in s to another thread: claim an empty entry of its inbox
 * (acquire: pairs with the release store of EMPTY by which the owner gave
 * the entry back after copying the last block out, so our writes come
 * after its reads), fill it in, publish it (release: the owner's acquire
 * load of FULL sees the entry and the pattern in the block). False if
 * there is no other thread or no empty entry. */
static bool send(worker *w, slot *s)
{
    run *r = w->r;
    if (r->nthreads < 2)
        return false;
    unsigned to = (unsigned)below(w, r->nthreads - 1);
    if (to >= w->id)
        to++;
    parcel *box = &r->inbox[(size_t)to * INBOX_SLOTS];
    for (unsigned k = 0; k < INBOX_SLOTS; k++) {
        unsigned expected = BOX_EMPTY;
        if (!atomic_compare_exchange_strong_explicit(&box[k].state, &expected, BOX_WRITING,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        verify(w, s->g, s->p, s->tag, s->usable, "before a hand-off");
        let_go(w, s); /* in transit, its chunks are marked as nobody's */
        box[k].s = *s;
        w->t[s->g->index].sent++;
        s->p = NULL;
        atomic_store_explicit(&box[k].state, BOX_FULL, memory_order_release);
        return true;
    }
    return false;
}

/* A block from another thread: ours now; the registry must know its arena,
 * and free it without being told (ca_free_any). */
static void free_parcel(worker *w, slot *t)
{
    hold(w, t);
    w->t[t->g->index].received++;
    ca_arena *a = ca_arena_of(t->p);
    if (a != t->g->api)
        violation(w, "ca_arena_of(%p), a block handed over from thread %u, gave %p; it is in %s",
                  (void *)t->p, tag_thread(t->tag), (void *)a, t->g->name);
    op_free(w, t, FREE_ANY);
}

/* Take the blocks waiting in this thread's inbox (acquire: pairs with the
 * sender's release store of FULL) and free them; each entry goes back
 * (release: see send). */
static void receive(worker *w)
{
    parcel *box = &w->r->inbox[(size_t)w->id * INBOX_SLOTS];
    for (unsigned k = 0; k < INBOX_SLOTS; k++) {
        if (atomic_load_explicit(&box[k].state, memory_order_acquire) != BOX_FULL)
            continue;
        slot t = box[k].s;
        atomic_store_explicit(&box[k].state, BOX_EMPTY, memory_order_release);
        free_parcel(w, &t);
    }
}

/* At the very end: close every entry of the inbox, taking what is in it,
 * so that no block is left behind; a sender then finds no room and keeps
 * its block. An entry being written is waited for (a sender fills it in
 * within one op). */
static void close_inbox(worker *w)
{
    parcel *box = &w->r->inbox[(size_t)w->id * INBOX_SLOTS];
    for (unsigned k = 0; k < INBOX_SLOTS; k++) {
        for (;;) {
            unsigned seen = BOX_EMPTY;
            /* acquire (on failure: C11 wants success as strong): as receive's load */
            if (atomic_compare_exchange_strong_explicit(&box[k].state, &seen, BOX_CLOSED,
                                                        memory_order_acquire,
                                                        memory_order_acquire))
                break;
            if (seen == BOX_FULL) {
                slot t = box[k].s;
                atomic_store_explicit(&box[k].state, BOX_EMPTY, memory_order_release);
                free_parcel(w, &t);
            } else {
                nap(1000);
            }
        }
    }
}

/* An arena of this thread's own, over its own memory (bookkeeping in
 * front), created, used and destroyed within one op, SCRATCH_CYCLES times
 * in a row: the registry's writers at work while the other threads look
 * arenas up (ca_free_any, ca_arena_of, ca_arena_find), and the memory of a
 * destroyed arena written again at once by the next creation — which is
 * safe only if destroy waited for every lookup that could still see the
 * arena (ThreadSanitizer sees it if not). Its layer goes round the five (it
 * is this thread's alone, so "none" will do); a "hint" arena made where
 * another was must not use that one's per-thread hints. */
static void op_scratch(worker *w)
{
    char name[CA_NAME_MAX + 1];
    snprintf(name, sizeof name, "ca-stress-scratch-%u", w->id);
    ca_config config = {.chunk_size = 64, .lock = CA_LOCK_HINT}; /* the most bookkeeping */
    size_t len = round_up(ca_arena_meta_size(SCRATCH_CHUNKS, &config), 64) + SCRATCH_CHUNKS * 64;
    if (!w->scratch && !(w->scratch = aligned_alloc(4096, round_up(len, 4096))))
        out_of_memory();
    for (unsigned cycle = 0; cycle < SCRATCH_CYCLES; cycle++) {
        config.lock = lock_of_kind[w->scratch_arenas % CA_SYNC_KINDS];
        ca_arena *a = ca_arena_create(name, w->scratch, len, &config);
        if (!a) {
            violation(w, "ca_arena_create(\"%s\") of a scratch arena failed: %s", name,
                      strerror(errno));
            return;
        }
        w->scratch_arenas++;
        void *p = ca_alloc(a, 100);
        ca_arena *of = ca_arena_of(p), *found = ca_arena_find(name);
        if (!p || of != a || found != a)
            violation(w, "scratch arena %s (%p): ca_alloc gave %p, ca_arena_of %p, "
                         "ca_arena_find %p", name, (void *)a, p, (void *)of, (void *)found);
        api_begin();
        ca_free_any(p);
        (void)api_status(w, faults_here.calls == 0, "ca_free_any");
        errno = 0;
        if (ca_arena_destroy(a) != 0)
            violation(w, "ca_arena_destroy of the empty scratch arena %s failed: %s", name,
                      strerror(errno));
        else if (ca_arena_find(name) != NULL)
            violation(w, "ca_arena_find(\"%s\") still finds the scratch arena it destroyed",
                      name);
    }
}

/* ---- the thread bodies ---- */

/* Free whatever the thread still holds. */
static void release_all(worker *w)
{
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i].p)
            op_free(w, &w->slots[i], draw_how(w));
}

/* Between two ops: if the main thread asks, hold still until it has
 * checked the arenas. The release increment of `paused` makes everything
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
    if (w->r->last_round) {
        release_all(w);
        if (w->r->ph == PHASE_API)
            close_inbox(w);
    }
    /* release: pairs with the main thread's acquire load, as `paused` does */
    atomic_fetch_add_explicit(&w->r->finished, 1u, memory_order_release);
    return NULL;
}

/* A size for g: mostly small, sometimes dozens of chunks, rarely a large
 * share of the arena (which fills it, so failures and their paths get
 * exercised). */
static size_t draw_size(worker *w, const region *g)
{
    size_t cs = g->cs;
    uint64_t roll = below(w, 1000);
    if (roll < 100)
        return below(w, 17); /* 0 .. 16 bytes */
    if (roll < 600)
        return 1 + below(w, 2 * cs);
    if (roll < 850)
        return 1 + below(w, 8 * cs);
    if (roll < 995)
        return 1 + below(w, 48 * cs);
    return 1 + below(w, g->huge);
}

/* An alignment: none, small ones, any power of two up to the chunk size,
 * and some above it. */
static size_t draw_align(worker *w, const region *g)
{
    uint64_t roll = below(w, 100);
    if (roll < 30)
        return 0;
    if (roll < 45)
        return 16;
    if (roll < 60)
        return 64;
    if (roll < 70)
        return (size_t)1 << below(w, g->shift + 1);
    if (roll < 80)
        return 256;
    if (roll < 90)
        return 1024;
    return 4096;
}

static void *pattern_thread(void *arg)
{
    worker *w = arg;
    region *g = &w->r->regions[0];
    for (; keep_going(w); w->op++) {
        slot *s = &w->slots[below(w, w->nslots)];
        if (!s->p) {
            op_alloc(w, s, g, draw_size(w, g), draw_align(w, g));
        } else {
            uint64_t roll = below(w, 100);
            if (roll < 30)
                op_free(w, s, draw_how(w));
            else if (roll < 50)
                (void)op_resize(w, s, s->size + 1 + below(w, roll < 48 ? 4 * g->cs : 32 * g->cs));
            else if (roll < 65)
                (void)op_resize(w, s, below(w, s->size + 1));
            else if (roll < 85)
                op_realloc(w, s, draw_size(w, g));
            else
                op_probe(w, s);
        }
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, g);
    }
    return finish(w);
}

/* Allocations of one chunk (two after a growth) in an arena that is always
 * full, so every free has neighbours that other threads are changing. */
static void *hammer_thread(void *arg)
{
    worker *w = arg;
    region *g = &w->r->regions[0];
    for (; keep_going(w); w->op++) {
        slot *s = &w->slots[below(w, w->nslots)];
        uint64_t roll = below(w, 10);
        if (!s->p)
            op_alloc(w, s, g, g->cs, 0);
        else if (roll < 7)
            op_free(w, s, draw_how(w));
        else if (roll < 9)
            (void)op_resize(w, s, s->usable == g->cs ? 2 * g->cs : g->cs);
        else
            op_probe(w, s);
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, g);
    }
    return finish(w);
}

/* The public API only, over every arena of the run. */
static void *api_thread(void *arg)
{
    worker *w = arg;
    this_worker = w; /* for the fault handler */
    for (; keep_going(w); w->op++) {
        if (w->op % RECEIVE_EVERY == 0)
            receive(w);
        if (below(w, SCRATCH_EVERY) == 0)
            op_scratch(w);
        slot *s = &w->slots[below(w, w->nslots)];
        uint64_t roll = below(w, 1000);
        if (!s->p) {
            region *g = pick_region(w);
            if (roll < 150) {
                size_t n = 1 + below(w, 8);
                op_calloc(w, s, g, n, draw_size(w, g) / n);
            } else {
                op_alloc(w, s, g, draw_size(w, g), draw_align(w, g)); /* ca_(aligned_)alloc */
            }
        } else if (roll < 200) {
            op_free(w, s, draw_how(w));
        } else if (roll < 300) {
            (void)op_resize(w, s, s->size + 1 + below(w, 4 * s->g->cs));
        } else if (roll < 380) {
            (void)op_resize(w, s, below(w, s->size + 1));
        } else if (roll < 580) {
            op_api_realloc(w, s, draw_size(w, s->g), 0);
        } else if (roll < 660) {
            op_api_realloc(w, s, draw_size(w, s->g), draw_align(w, s->g)); /* 0: ca_realloc */
        } else if (roll < 740 && send(w, s)) {
            /* handed over */
        } else if (roll < 770) {
            op_lookup(w, s);
        } else {
            op_probe(w, s);
        }
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, pick_region(w));
    }
    return finish(w);
}

/* ---- the main thread's checks ---- */

/* The tallies of every worker (the main thread's too) in region `index`,
 * or in all regions if index < 0. */
static void sum_tallies(const run *r, const worker *ws, int index, tally *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i <= r->nthreads; i++)
        for (unsigned k = 0; k < r->nregions; k++) {
            if (index >= 0 && k != (unsigned)index)
                continue;
            const tally *c = &ws[i].t[k];
            sum->allocs += c->allocs;
            sum->frees += c->frees;
            sum->resizes += c->resizes;
            sum->grows += c->grows;
            sum->shrinks += c->shrinks;
            sum->reallocs += c->reallocs;
            sum->moves += c->moves;
            sum->failures += c->failures;
            sum->requested += c->requested;
            sum->false_invalid_free += c->false_invalid_free;
            sum->neighbour_frees += c->neighbour_frees;
            sum->free_any += c->free_any;
            sum->sent += c->sent;
            sum->received += c->received;
            sum->live_chunks += c->live_chunks;
            sum->live_allocs += c->live_allocs;
        }
}

/* Blocks of g waiting in an inbox, counted into *sum's live figures (the
 * threads hold still, or are gone). */
static void count_in_transit(const run *r, const region *g, tally *sum)
{
    if (!r->inbox)
        return;
    for (size_t i = 0; i < (size_t)r->nthreads * INBOX_SLOTS; i++) {
        const parcel *e = &r->inbox[i];
        if (atomic_load_explicit(&e->state, memory_order_acquire) == BOX_FULL && e->s.g == g) {
            sum->live_chunks += e->s.usable >> g->shift;
            sum->live_allocs++;
        }
    }
}

/* Every figure of two ca_stats (X-macro: the fields compared). */
#define STATS_FIELDS(X)                                                                          \
    X(chunk_size) X(chunks_total) X(chunks_used) X(chunks_peak) X(allocations)                   \
    X(bytes_requested) X(largest_free_run) X(free_runs) X(failures) X(grows_in_place)            \
    X(shrinks_in_place) X(moves)

static void same_stats(worker *m, const region *g, const ca_stats *before, const ca_stats *after)
{
#define COMPARE(f)                                                                               \
    if (before->f != after->f)                                                                   \
        violation(m, "bad pointers and arguments changed %s of %s from %zu to %zu", #f, g->name,  \
                  before->f, after->f);
    STATS_FIELDS(COMPARE)
#undef COMPARE
}

/* ca_free_checked(p) must return `fault` and change nothing. */
static void refused(worker *m, region *g, void *p, ca_fault fault, const char *what)
{
    ca_fault f = ca_free_checked(g->api, p);
    m->r->bad_pointers++;
    if (f != fault)
        violation(m, "ca_free_checked of %s %p in %s returned \"%s\", expected \"%s\"", what, p,
                  g->name, ca_fault_name(f), ca_fault_name(fault));
}

/* The last call must have told the handler, exactly once, that `function`
 * found `fault` on p in the arena named `arena`. */
static void told(worker *m, const char *function, const char *arena, const void *p,
                 ca_fault fault)
{
    const ca_fault_report *rep = &faults_here.last;
    m->r->bad_pointers++;
    if (faults_here.calls != 1)
        violation(m, "%s(%p) in %s called the fault handler %u times, expected once (%s)",
                  function, p, arena, faults_here.calls, ca_fault_name(fault));
    else if (strcmp(rep->function, function) != 0 || strcmp(rep->arena, arena) != 0 ||
             rep->pointer != p || rep->fault != fault)
        violation(m, "%s(%p) in %s: the handler was told %s(%p) in \"%s\": %s; expected %s",
                  function, p, arena, rep->function, rep->pointer, rep->arena,
                  ca_fault_name(rep->fault), ca_fault_name(fault));
    faults_here.calls = 0;
}

/* A call with a bad argument returned `failed` (it must have) with errno
 * `got` (which must be `want`). */
static void rejected(worker *m, const region *g, const char *call, bool failed, int got, int want)
{
    m->r->bad_pointers++;
    if (!failed || got != want)
        violation(m, "%s in %s %s with errno %d (%s), expected a failure with %s", call, g->name,
                  failed ? "failed" : "succeeded", got, strerror(got), strerror(want));
}

/*
 * In a quiet moment (no other thread works on g): feed arena g bad pointers
 * and arguments. A live block v (one to three chunks) gives interior
 * pointers; a block d allocated and freed gives a double free; a local
 * variable and another arena's memory give foreign pointers.
 * ca_free_checked must name each fault without calling the handler; ca_free,
 * ca_free_any, ca_realloc, ca_resize and ca_usable_size must tell the
 * handler (once, with the function, the arena, the pointer, the fault) and
 * return; bad alignments and an overflowing calloc are refused with their
 * errno; destroy is refused while v lives (static: EPERM). Not one figure of
 * ca_arena_stats may change, the arena must check clean, and v's pattern
 * must be intact. Its allocations are the main worker's, tallied like any.
 */
static void provoke_faults(worker *m, region *g)
{
    run *r = m->r;
    ca_arena *a = g->api;
    region *other = &r->regions[(g->index + 1) % r->nregions];
    int local = 0;
    slot v = {0}, d = {0};
    op_alloc(m, &v, g, (1 + (size_t)below(m, 3)) * g->cs, 0);
    op_alloc(m, &d, g, 0, 0);
    unsigned char *freed = d.p;
    if (d.p)
        op_free(m, &d, draw_how(m));

    ca_stats before, after;
    region_stats(g, &before);
    faults_here.expecting = true;
    faults_here.calls = 0;
    if (v.p) {
        refused(m, g, v.p + 1, CA_FAULT_INTERIOR, "the interior pointer");
        refused(m, g, v.p + v.usable - 1, CA_FAULT_INTERIOR, "the interior pointer");
        if (v.usable > g->cs)
            refused(m, g, v.p + g->cs, CA_FAULT_INTERIOR, "the interior pointer");
    }
    if (freed)
        refused(m, g, freed, CA_FAULT_NOT_ALLOCATED, "the freed pointer");
    refused(m, g, &local, CA_FAULT_FOREIGN, "the foreign pointer");
    if (other != g)
        refused(m, g, other->base, CA_FAULT_FOREIGN, "another arena's pointer");
    if (faults_here.calls)
        violation(m, "ca_free_checked called the fault handler (%u times)", faults_here.calls);
    faults_here.calls = 0;

    if (v.p) {
        ca_free(a, v.p + 1);
        told(m, "ca_free", g->name, v.p + 1, CA_FAULT_INTERIOR);
        errno = 0;
        void *q = ca_realloc(a, v.p + 1, 1);
        int e = errno;
        told(m, "ca_realloc", g->name, v.p + 1, CA_FAULT_INTERIOR);
        rejected(m, g, "ca_realloc of an interior pointer", q == NULL, e, EINVAL);
        size_t u = ca_usable_size(a, v.p + g->cs / 2);
        told(m, "ca_usable_size", g->name, v.p + g->cs / 2, CA_FAULT_INTERIOR);
        if (u != 0)
            violation(m, "ca_usable_size of an interior pointer in %s gave %zu", g->name, u);
    }
    if (freed) {
        ca_free_any(freed);
        told(m, "ca_free_any", g->name, freed, CA_FAULT_NOT_ALLOCATED);
        errno = 0;
        int rc = ca_resize(a, freed, 1);
        int e = errno;
        told(m, "ca_resize", g->name, freed, CA_FAULT_NOT_ALLOCATED);
        rejected(m, g, "ca_resize of a freed pointer", rc == -1, e, EINVAL);
    }
    ca_free_any(&local);
    told(m, "ca_free_any", "(none)", &local, CA_FAULT_FOREIGN);
    faults_here.expecting = false;

    errno = 0;
    void *q = ca_aligned_alloc(a, 0, 16);
    rejected(m, g, "ca_aligned_alloc aligned to 0", q == NULL, errno, EINVAL);
    errno = 0;
    q = ca_aligned_alloc(a, 48, 16);
    rejected(m, g, "ca_aligned_alloc aligned to 48", q == NULL, errno, EINVAL);
    errno = 0;
    q = ca_calloc(a, SIZE_MAX / 2 + 1, 2);
    rejected(m, g, "ca_calloc of SIZE_MAX / 2 + 1 times 2 bytes", q == NULL, errno, ENOMEM);
    if (v.p) {
        errno = 0;
        q = ca_aligned_realloc(a, v.p, 24, 16);
        rejected(m, g, "ca_aligned_realloc aligned to 24", q == NULL, errno, EINVAL);
        errno = 0;
        int rc = ca_arena_destroy(a);
        rejected(m, g, "ca_arena_destroy with live allocations", rc == -1, errno,
                 g->api == CA_ARENA(stress_static) ? EPERM : EBUSY);
    }

    region_stats(g, &after);
    same_stats(m, g, &before, &after);
    const char *why = region_check(g);
    if (why)
        violation(m, "check of %s after bad pointers: %s", g->name, why);
    if (v.p)
        op_free(m, &v, draw_how(m)); /* verifies the pattern */
}

/* Arena g with no operation in flight (the threads hold still, or are
 * gone): its figures exactly what the threads hold (and their inboxes),
 * every invariant intact, its counters (since the phase began) equal to
 * the threads' tallies. After the last round it must be empty, and hand
 * out all of itself in one allocation. */
static void check_region(run *r, worker *ws, region *g, const char *when, unsigned round,
                         bool last)
{
    worker *m = &ws[r->nthreads];
    tally sum;
    sum_tallies(r, ws, (int)g->index, &sum);
    count_in_transit(r, g, &sum);

    ca_stats st;
    region_stats(g, &st);
    if (st.chunks_used != sum.live_chunks || st.allocations != sum.live_allocs)
        main_violation(r, "%s round %u: %s: %zu chunks used in %zu allocations; the threads "
                          "hold %zu chunks in %zu allocations", when, round, g->name,
                       st.chunks_used, st.allocations, sum.live_chunks, sum.live_allocs);
    if (last && (st.free_runs != 1 || st.largest_free_run != g->nchunks))
        main_violation(r, "the empty arena %s has %zu free runs, the longest %zu of %zu chunks",
                       g->name, st.free_runs, st.largest_free_run, g->nchunks);
    const char *why = region_check(g);
    if (why)
        main_violation(r, "%s round %u: check of %s: %s", when, round, g->name, why);
    size_t failures = st.failures - g->start.failures;
    size_t grows = st.grows_in_place - g->start.grows_in_place;
    size_t shrinks = st.shrinks_in_place - g->start.shrinks_in_place;
    size_t requested = st.bytes_requested - g->start.bytes_requested;
    size_t moves = st.moves - g->start.moves;
    if (failures != sum.failures || grows != sum.grows || shrinks != sum.shrinks ||
        requested != sum.requested || (g->api && moves != sum.moves))
        main_violation(r, "%s round %u: %s: the arena's counters disagree with the threads': "
                          "failures %zu/%" PRIu64 ", grows %zu/%" PRIu64 ", shrinks %zu/%" PRIu64
                          ", bytes requested %zu/%" PRIu64 ", moves %zu/%" PRIu64, when, round,
                       g->name, failures, sum.failures, grows, sum.grows, shrinks, sum.shrinks,
                       requested, sum.requested, g->api ? moves : 0, g->api ? sum.moves : 0);
    if (g->kind != CA_SYNC_HINT && st.chunks_peak > st.chunks_total)
        main_violation(r, "%s: peak of %zu chunks in an arena of %zu", g->name, st.chunks_peak,
                       st.chunks_total);
    if (!last)
        return;

    ca_core_status s = CA_CORE_RETRY;
    unsigned char *all = region_alloc(m, g, g->nchunks << g->shift, 0, &s);
    if (all != g->base || s != CA_CORE_OK)
        main_violation(r, "the empty arena %s refused one allocation of all its %zu chunks: got "
                          "%p (%s), expected %p", g->name, g->nchunks, (void *)all,
                       status_name(s), (void *)g->base);
    if (all) {
        s = region_free(m, g, all, FREE_CHECKED);
        if (s != CA_CORE_OK)
            main_violation(r, "free of the allocation of the whole arena %s returned %s",
                           g->name, status_name(s));
    }
    why = region_check(g);
    if (why)
        main_violation(r, "check of %s after the whole-arena allocation: %s", g->name, why);
}

/* Every arena of the run, quiet. In phase api the main thread first feeds
 * each one bad pointers (which must leave it as it was). */
static void check_quiet(run *r, worker *ws, const char *when, unsigned round, bool last)
{
    r->checks++;
    for (unsigned k = 0; k < r->nregions; k++) {
        if (r->ph == PHASE_API)
            provoke_faults(&ws[r->nthreads], &r->regions[k]);
        check_region(r, ws, &r->regions[k], when, round, last);
    }
}

/* ---- running a phase ---- */

/* One round: start a thread for each worker, stop them when the round's
 * time is up (or let them reach its op limit), join them. */
static bool run_round(run *r, worker *ws, const options *o, unsigned round)
{
    static void *(*const bodies[])(void *) = {pattern_thread, hammer_thread, api_thread};
    unsigned started = 0;
    bool ok = true;
    r->last_round = round + 1 == ROUNDS;
    r->op_limit = r->max_ops == NO_LIMIT || r->last_round ? r->max_ops
                                                          : r->max_ops / ROUNDS * (round + 1);
    atomic_store_explicit(&r->stop, false, memory_order_relaxed);
    atomic_store_explicit(&r->finished, 0u, memory_order_relaxed);
    for (; started < r->nthreads; started++) {
        int err = pthread_create(&ws[started].thread, NULL, bodies[r->ph], &ws[started]);
        if (err) {
            fprintf(stderr, "ca-stress: cannot start thread %u: %s\n", started, strerror(err));
            ok = false;
            break;
        }
    }
    double deadline = o->seconds > 0 && ok ? now_seconds() + o->seconds / ROUNDS : INFINITY;
    if (!ok)
        atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    /* Every PAUSE_EVERY_MS, have the threads hold still and check the
     * arenas as they are then, full of live allocations (see hold_still). */
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

/* The workers of a run: one per thread, and the main thread's (the last). */
static worker *make_workers(run *r, const options *o, unsigned layer)
{
    worker *ws = calloc(r->nthreads + 1u, sizeof *ws);
    if (!ws)
        out_of_memory();
    for (unsigned i = 0; i <= r->nthreads; i++) {
        worker *w = &ws[i];
        w->r = r;
        w->id = i;
        w->rng = ca_splitmix64_seed(derive(o->seed, layer, r->ph, i));
        w->nslots = r->ph == PHASE_HAMMER ? HAMMER_SLOTS : 64 + (size_t)below(w, 193);
        w->slots = calloc(w->nslots, sizeof *w->slots);
        if (!w->slots)
            out_of_memory();
    }
    return ws;
}

static void free_workers(run *r, worker *ws)
{
    for (unsigned i = 0; i <= r->nthreads; i++) {
        free(ws[i].slots);
        free(ws[i].scratch);
    }
    free(ws);
}

/* Drive the arenas of r with its threads, in rounds. At the end of each,
 * the threads exit (a "hint" arena gets their slots back, and the next
 * round's threads claim slots afresh, so allocations are freed through
 * other contexts than made them) and the main thread checks the quiet
 * arenas, full of live allocations, against what the threads hold. False
 * if a thread could not be started. */
static bool run_rounds(run *r, worker *ws, const options *o)
{
    bool started = true;
    for (unsigned round = 0; round < ROUNDS && started; round++) {
        started = run_round(r, ws, o, round);
        if (started)
            check_quiet(r, ws, "after", round, round + 1 == ROUNDS);
    }
    return started;
}

static run *new_run(const options *o, const char *layer, phase ph, unsigned nthreads)
{
    run *r = calloc(1, sizeof *r);
    if (!r)
        out_of_memory();
    r->layer = layer;
    r->ph = ph;
    r->nthreads = nthreads;
    r->seed = o->seed;
    r->max_ops = o->ops;
    atomic_init(&r->stop, false);
    atomic_init(&r->finished, 0u);
    atomic_init(&r->pausing, false);
    atomic_init(&r->paused, 0u);
    atomic_init(&r->violations, 0);
    return r;
}

/* The geometry of region g, its owner map and its start figures. */
static void set_region(run *r, region *g, unsigned char *base, size_t nchunks, unsigned shift)
{
    g->index = (unsigned)(g - r->regions);
    g->base = base;
    g->nchunks = nchunks;
    g->shift = shift;
    g->cs = (size_t)1 << shift;
    g->huge = (nchunks / (4u * r->nthreads) + 1) << shift;
    g->owner = calloc(nchunks, sizeof *g->owner);
    if (!g->owner)
        out_of_memory();
    region_stats(g, &g->start);
}

/* Run phase pattern or hammer on a fresh arena of layer `kind`, driven
 * directly. Returns true if it passed. */
static bool run_phase(const options *o, ca_sync_kind kind, phase ph)
{
    unsigned nthreads = kind == CA_SYNC_NONE ? 1u : o->threads;
    if (ph == PHASE_HAMMER && nthreads < 2) {
        printf("layer=%s phase=hammer skipped (needs 2 threads or more)\n",
               ca_sync_kind_name(kind));
        return true;
    }
    run *r = new_run(o, ca_sync_kind_name(kind), ph, nthreads);
    size_t nchunks = ph == PHASE_PATTERN ? o->chunks : (size_t)nthreads * HAMMER_CHUNKS_PER_THREAD;
    size_t cs = (size_t)1 << o->shift;

    /* The run's own draws: where the region starts within a 4 KiB page,
     * and the best-fit window. */
    ca_splitmix64 rng = ca_splitmix64_seed(derive(o->seed, kind, ph, RUN_TID));
    void *mem;
    unsigned char *base = place(&rng, nchunks << o->shift, cs, &mem);
    unsigned window = draw_window(&rng);
    void *meta = aligned_alloc(128, round_up(ca_sync_meta_size(kind, nchunks), 128));
    ca_sync_arena *arena = aligned_alloc(64, round_up(sizeof *arena, 64));
    if (!meta || !arena)
        out_of_memory();

    region *g = &r->regions[0];
    r->nregions = 1;
    g->name = r->layer;
    g->kind = kind;
    g->sync = arena;
    bool passed = false;
    ca_core_status st = ca_sync_arena_init(arena, kind, base, nchunks, o->shift, meta, window);
    if (st == CA_CORE_OK) {
        set_region(r, g, base, nchunks, o->shift);
        worker *ws = make_workers(r, o, kind);
        double t0 = now_seconds();
        bool started = run_rounds(r, ws, o);
        double elapsed = now_seconds() - t0;

        tally sum;
        sum_tallies(r, ws, -1, &sum);
        uint64_t ops = 0, bad = atomic_load_explicit(&r->violations, memory_order_relaxed);
        for (unsigned i = 0; i < nthreads; i++)
            ops += ws[i].op;
        printf("layer=%s phase=%s threads=%u chunks=%zu window=%u ops=%" PRIu64
               " allocs=%" PRIu64 " frees=%" PRIu64 " resizes=%" PRIu64 " grows=%" PRIu64
               " shrinks=%" PRIu64, r->layer, phase_names[ph], nthreads, nchunks, window, ops,
               sum.allocs, sum.frees, sum.resizes, sum.grows, sum.shrinks);
        if (ph == PHASE_PATTERN)
            printf(" moves=%" PRIu64, sum.moves);
        printf(" failures=%" PRIu64, sum.failures);
        if (ph == PHASE_HAMMER)
            printf(" neighbour_frees=%" PRIu64, sum.neighbour_frees);
        printf(" false_invalid_free=%" PRIu64 " quiet_checks=%" PRIu64 " violations=%" PRIu64
               " seconds=%.2f\n", sum.false_invalid_free, r->checks, bad, elapsed);
        passed = started && bad == 0 && sum.false_invalid_free == 0;
        free_workers(r, ws);
        ca_sync_arena_fini(arena);
    } else {
        main_violation(r, "ca_sync_arena_init of %zu chunks of %zu bytes (window %u) returned %s",
                       nchunks, cs, window, status_name(st));
    }
    free(g->owner);
    free(arena);
    free(meta);
    free(mem);
    free(r);
    return passed;
}

/* ---- phase api: the arenas ---- */

/* The memory a runtime arena of phase api is made over. */
typedef struct api_memory {
    void *block; /* from place */
    void *meta;  /* a separate bookkeeping buffer, or NULL */
    char name[CA_NAME_MAX + 1];
} api_memory;

/* Make the runtime arena of layer `kind` with chunks of 2^shift bytes into
 * region g: with its bookkeeping in a separate buffer (all of mem is
 * chunks) or carved from the front of mem (the chunks start at the chunk
 * boundary after it). False (reported) if it cannot be made. */
static bool create_arena(run *r, region *g, api_memory *mm, ca_sync_kind kind, unsigned shift,
                         ca_splitmix64 *rng)
{
    size_t cs = (size_t)1 << shift, nchunks = API_CHUNKS;
    bool separate = ca_splitmix64_below(rng, 2) == 0;
    ca_config config = {.chunk_size = cs, .lock = lock_of_kind[kind],
                        .fit_window = draw_window(rng)};
    size_t meta_len = ca_arena_meta_size(nchunks, &config);
    size_t front = separate ? 0 : round_up(meta_len, cs), len = front + (nchunks << shift);
    if (meta_len == 0) {
        main_violation(r, "ca_arena_meta_size(%zu chunks of %zu bytes, %s) failed: %s", nchunks,
                       cs, ca_sync_kind_name(kind), strerror(errno));
        return false;
    }
    if (separate) {
        mm->meta = aligned_alloc(64, round_up(meta_len, 64));
        if (!mm->meta)
            out_of_memory();
        config.meta = mm->meta;
        config.meta_len = meta_len;
    }
    unsigned char *mem = place(rng, len, cs, &mm->block);
    snprintf(mm->name, sizeof mm->name, "ca-stress-%s", ca_sync_kind_name(kind));
    ca_arena *a = ca_arena_create(mm->name, mem, len, &config);
    if (!a) {
        main_violation(r, "ca_arena_create(\"%s\", %zu bytes, chunks of %zu, %s, bookkeeping %s) "
                          "failed: %s", mm->name, len, cs, ca_sync_kind_name(kind),
                       separate ? "apart" : "in front", strerror(errno));
        free(mm->block);
        free(mm->meta);
        memset(mm, 0, sizeof *mm);
        return false;
    }
    errno = 0;
    if (ca_arena_create(mm->name, mem, len, &config) != NULL || errno != EEXIST)
        main_violation(r, "a second ca_arena_create(\"%s\") did not fail with EEXIST (errno %d)",
                       mm->name, errno);
    g->name = mm->name;
    g->kind = kind;
    g->api = a;
    set_region(r, g, mem + front, nchunks, shift);
    return true;
}

/* Check what ca_arena_stats says of a fresh arena against the region, and
 * that the empty arena hands out all of itself, from the region's base, in
 * one allocation. */
static void check_fresh(run *r, worker *m, region *g, ca_lock lock)
{
    ca_stats st;
    if (ca_arena_stats(g->api, &st) != 0) {
        main_violation(r, "ca_arena_stats of %s failed: %s", g->name, strerror(errno));
        return;
    }
    if (strcmp(st.name, g->name) != 0 || strcmp(ca_arena_name(g->api), g->name) != 0 ||
        st.lock != lock || st.chunk_size != g->cs || st.chunks_total != g->nchunks ||
        st.allocations != 0 || st.chunks_used != 0)
        main_violation(r, "the fresh arena %s says: name \"%s\", layer %s, %zu chunks of %zu "
                          "bytes, %zu used in %zu allocations; expected layer %s, %zu chunks of "
                          "%zu bytes, empty", g->name, st.name, ca_lock_name(st.lock),
                       st.chunks_total, st.chunk_size, st.chunks_used, st.allocations,
                       ca_lock_name(lock), g->nchunks, g->cs);
    slot all = {0};
    if (alloc_into(m, &all, g, g->nchunks << g->shift, 0)) {
        if (all.p != g->base)
            main_violation(r, "the empty arena %s handed out all of itself at %p, not at %p",
                           g->name, (void *)all.p, (void *)g->base);
        fill(all.p, all.tag, 0, all.usable);
        op_free(m, &all, FREE_CHECKED);
    }
}

/* The arenas of phase api into r->regions: one runtime arena per layer
 * ("none" only for one thread), chunk sizes shuffled, and the static arena
 * (unless its layer is "none" and several threads run). */
static void make_arenas(run *r, worker *m, api_memory *mm, const options *o)
{
    ca_splitmix64 rng = ca_splitmix64_seed(derive(o->seed, LAYER_API, PHASE_API, RUN_TID));
    unsigned shifts[CA_SYNC_KINDS] = {4, 6, 8, 10, 12}; /* 16 .. 4096 bytes */
    for (unsigned i = CA_SYNC_KINDS - 1; i > 0; i--) {
        unsigned j = (unsigned)ca_splitmix64_below(&rng, i + 1), t = shifts[i];
        shifts[i] = shifts[j];
        shifts[j] = t;
    }
    for (unsigned k = 0; k < CA_SYNC_KINDS; k++) {
        if (k == CA_SYNC_NONE && r->nthreads > 1)
            continue;
        region *g = &r->regions[r->nregions];
        if (create_arena(r, g, &mm[r->nregions], (ca_sync_kind)k, shifts[k], &rng))
            check_fresh(r, m, &r->regions[r->nregions++], lock_of_kind[k]);
    }

    ca_arena *s = CA_ARENA(stress_static);
    ca_stats st;
    if (ca_arena_find(STATIC_NAME) != s || ca_arena_stats(s, &st) != 0) {
        main_violation(r, "the static arena " STATIC_NAME " is not registered or not usable");
        return;
    }
    if (st.lock == CA_LOCK_NONE && r->nthreads > 1) {
        printf("layer=api: the static arena " STATIC_NAME " has layer none (configure "
               "--with-lock): left out with %u threads\n", r->nthreads);
        return;
    }
    region *g = &r->regions[r->nregions];
    g->name = STATIC_NAME;
    g->kind = kind_of_lock(st.lock);
    g->api = s;
    /* Its base is where the empty arena puts an allocation of all of it. */
    unsigned char *base = ca_alloc(s, st.chunks_total * st.chunk_size);
    if (!base || ca_free_checked(s, base) != CA_FAULT_NONE) {
        main_violation(r, "the empty static arena refused to hand out all of itself");
        return;
    }
    set_region(r, g, base, st.chunks_total, (unsigned)__builtin_ctzll(st.chunk_size));
    check_fresh(r, m, &r->regions[r->nregions++], st.lock);
}

/* Every arena in the registry's list. */
static void check_listed(run *r)
{
    ca_arena *list[64];
    size_t n = ca_arena_list(list, 64);
    if (n > 64)
        n = 64;
    for (unsigned k = 0; k < r->nregions; k++) {
        size_t i = 0;
        while (i < n && list[i] != r->regions[k].api)
            i++;
        if (i == n)
            main_violation(r, "ca_arena_list does not list %s", r->regions[k].name);
    }
}

/* After the last round: nothing left in transit, every block handed over
 * received; every runtime arena destroyed (0), then unknown by name and by
 * address (ENOENT); the static one refuses (EPERM) and stays. */
static void retire_arenas(run *r, worker *ws)
{
    tally sum;
    sum_tallies(r, ws, -1, &sum);
    if (sum.sent != sum.received)
        main_violation(r, "%" PRIu64 " blocks were handed over, %" PRIu64 " received", sum.sent,
                       sum.received);
    for (size_t i = 0; i < (size_t)r->nthreads * INBOX_SLOTS; i++)
        if (atomic_load_explicit(&r->inbox[i].state, memory_order_acquire) != BOX_CLOSED)
            main_violation(r, "entry %zu of thread %zu's inbox was not closed", i % INBOX_SLOTS,
                           i / INBOX_SLOTS);
    for (unsigned k = 0; k < r->nregions; k++) {
        region *g = &r->regions[k];
        errno = 0;
        int rc = ca_arena_destroy(g->api);
        if (g->api == CA_ARENA(stress_static)) {
            if (rc != -1 || errno != EPERM || ca_arena_find(g->name) != g->api)
                main_violation(r, "ca_arena_destroy of the static arena gave %d (errno %d), or "
                                  "it was unregistered", rc, errno);
            continue;
        }
        if (rc != 0) {
            main_violation(r, "ca_arena_destroy of the empty arena %s failed: %s", g->name,
                           strerror(errno));
            continue;
        }
        errno = 0;
        ca_arena *a = ca_arena_find(g->name);
        if (a || errno != ENOENT)
            main_violation(r, "after ca_arena_destroy, ca_arena_find(\"%s\") gave %p (errno %d)",
                           g->name, (void *)a, errno);
        errno = 0;
        a = ca_arena_of(g->base);
        if (a || errno != ENOENT)
            main_violation(r, "after ca_arena_destroy of %s, ca_arena_of its memory gave %p "
                              "(errno %d)", g->name, (void *)a, errno);
    }
}

/* Phase api. Returns true if it passed. */
static bool run_api(const options *o)
{
    run *r = new_run(o, "api", PHASE_API, o->threads);
    worker *ws = make_workers(r, o, LAYER_API);
    worker *m = &ws[r->nthreads];
    api_memory mm[MAX_REGIONS];
    memset(mm, 0, sizeof mm);
    r->inbox = calloc((size_t)r->nthreads * INBOX_SLOTS, sizeof *r->inbox);
    if (!r->inbox)
        out_of_memory();
    atomic_store_explicit(&false_faults, 0, memory_order_relaxed);
    this_worker = m;
    ca_fault_handler previous = ca_set_fault_handler(count_fault);

    make_arenas(r, m, mm, o);
    check_listed(r);
    double t0 = now_seconds();
    bool started = run_rounds(r, ws, o);
    double elapsed = now_seconds() - t0;
    retire_arenas(r, ws);
    if (ca_set_fault_handler(previous) != count_fault)
        main_violation(r, "ca_set_fault_handler did not give back the handler installed");
    this_worker = NULL;

    tally sum;
    sum_tallies(r, ws, -1, &sum);
    uint64_t faults = atomic_load_explicit(&false_faults, memory_order_relaxed);
    uint64_t ops = 0, scratch = 0;
    for (unsigned i = 0; i < r->nthreads; i++) {
        ops += ws[i].op;
        scratch += ws[i].scratch_arenas;
    }
    uint64_t bad = atomic_load_explicit(&r->violations, memory_order_relaxed);
    printf("layer=api phase=api threads=%u arenas=%u ops=%" PRIu64 " allocs=%" PRIu64
           " frees=%" PRIu64 " reallocs=%" PRIu64 " moves=%" PRIu64 " free_any=%" PRIu64
           " handoffs=%" PRIu64 " resizes=%" PRIu64 " failures=%" PRIu64 " scratch_arenas=%" PRIu64
           " bad_pointers=%" PRIu64 " quiet_checks=%" PRIu64 " faults=%" PRIu64
           " violations=%" PRIu64 " seconds=%.2f\n", r->nthreads, r->nregions, ops, sum.allocs,
           sum.frees, sum.reallocs, sum.moves, sum.free_any, sum.sent, sum.resizes, sum.failures,
           scratch, r->bad_pointers, r->checks, faults, bad, elapsed);
    bool passed = started && bad == 0 && faults == 0 && sum.false_invalid_free == 0 &&
                  r->nregions > 0;

    for (unsigned k = 0; k < r->nregions; k++)
        free(r->regions[k].owner);
    for (unsigned k = 0; k < MAX_REGIONS; k++) {
        free(mm[k].block);
        free(mm[k].meta);
    }
    free(r->inbox);
    free_workers(r, ws);
    free(r);
    return passed;
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ca-stress [--layer=NAME|api|all] [--threads=N] [--seconds=S] [--ops=N]\n"
            "                 [--seed=X] [--chunk-shift=K] [--chunks=N] [--help]\n"
            "\n"
            "Stress every sync layer (none, spin, ticket, mutex, hint) with threads that\n"
            "allocate, resize, move and free while checking a pattern in every byte\n"
            "(phase \"pattern\"), then hammer the free-validation protocol with adjacent\n"
            "one-chunk allocations in a full arena (phase \"hammer\", 2+ threads); then\n"
            "the same through the public API over an arena of each layer and a static\n"
            "one at once, with hand-offs between threads and bad pointers (phase \"api\").\n"
            "\n"
            "  --layer=NAME    one layer, api (the public API phase alone), or all\n"
            "                  (default all)\n"
            "  --threads=N     threads per phase, 1..%u (default %u; \"none\" always 1)\n"
            "  --seconds=S     duration of each phase of each layer\n"
            "  --ops=N         ops per thread and phase; with --seconds, whichever ends\n"
            "                  first; with neither, %.2f s or %u ops%s\n"
            "  --seed=X        the seed (decimal or 0x hex; default from time and pid);\n"
            "                  printed first, so a failure can be replayed: with the same\n"
            "                  layer, threads and sizes every thread makes the same\n"
            "                  choices again (the interleaving of threads differs)\n"
            "  --chunk-shift=K chunk size 2^K bytes, 4..20 (default %u), phases pattern\n"
            "                  and hammer (phase api has its own: 16 to 4096)\n"
            "  --chunks=N      chunks in the pattern arena (default %zu, at most 1 GiB\n"
            "                  of them); the hammer arena has %u chunks per thread, each\n"
            "                  arena of phase api %u\n"
            "\n"
            "Prints one line per layer and phase, then OK or FAILED. Exit status 0 if\n"
            "all passed, 1 if anything failed, 2 on a bad argument.\n",
            MAX_THREADS, DEFAULT_THREADS, DEFAULT_SECONDS, (unsigned)DEFAULT_OPS,
            UNDER_TSAN ? " (ThreadSanitizer build)" : "", DEFAULT_SHIFT, DEFAULT_CHUNKS,
            HAMMER_CHUNKS_PER_THREAD, API_CHUNKS);
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
    o->layer = LAYER_ALL;
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
                o->layer = LAYER_ALL;
            else if (strcmp(value, "api") == 0)
                o->layer = LAYER_API;
            else if (ca_sync_kind_parse(value, &k))
                o->layer = (int)k;
            else
                bad_argument("--layer: unknown layer '%s' (none, spin, ticket, mutex, hint, api, "
                             "all)", value);
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
    printf("layers=%s threads=%u",
           o.layer == LAYER_ALL   ? "all"
           : o.layer == LAYER_API ? "api"
                                  : ca_sync_kind_name((ca_sync_kind)o.layer),
           o.threads);
    if (o.seconds > 0)
        printf(" seconds=%.2f", o.seconds);
    if (o.ops != NO_LIMIT)
        printf(" ops=%" PRIu64, o.ops);
    printf(" chunk_shift=%u chunks=%zu tsan=%s\n", o.shift, o.chunks, UNDER_TSAN ? "yes" : "no");

    bool ok = true;
    for (unsigned k = 0; k < CA_SYNC_KINDS; k++) {
        if (o.layer != LAYER_ALL && (unsigned)o.layer != k)
            continue;
        ok &= run_phase(&o, (ca_sync_kind)k, PHASE_PATTERN);
        ok &= run_phase(&o, (ca_sync_kind)k, PHASE_HAMMER);
    }
    if (o.layer == LAYER_ALL || o.layer == LAYER_API)
        ok &= run_api(&o);
    puts(ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
