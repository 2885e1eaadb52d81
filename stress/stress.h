/* SPDX-License-Identifier: MIT */

/*
 * stress/stress.h — the stress harness (ca-stress): every sync layer, and
 * the public API over several named arenas at once, under threads that allocate,
 * resize, move and free, checking every byte they own.
 *
 * For each chosen layer it runs two phases, each on a fresh arena driven
 * directly (sync/sync.h). "pattern": N threads share one arena; each keeps
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
 * a "false invalid free"). Each phase runs twice, with half the time and
 * ops each: first on the sync arena alone (caches=off), then through
 * per-thread caches in front of it (cache/cache.h, caches=on, caching from
 * the first operation), so that cached blocks, their hand-back at thread
 * exit and the frees of blocks another thread allocated (blocks handed to
 * another thread through its inbox, as in phase api below, and what each
 * round's new threads free of the last round's) meet every layer. After each
 * round the main thread and a thread of its own free the same blocks at
 * the same moment, twice (duel_frees; every layer but "none"): one free of each must succeed and
 * every other be refused as NOTALLOC, the block cached or free by then.
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
 * by a release/acquire state word (see send_parcel). A thread's table, generator
 * and tallies are its own; the main thread reads them only while the
 * thread holds still (after a release/acquire handshake, see hold_still)
 * or after pthread_join. The harness takes no lock of its own; messages go
 * to stderr through stdio, whose locking lasts one call. Exit status: 0 if
 * everything passed, 1 on any failure, 2 on a bad argument.
 */
#ifndef CA_STRESS_STRESS_H
#define CA_STRESS_STRESS_H

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
#include "api/internal.h" /* ca_api_stats_of */
#include "cache/cache.h"
#include "sync/sync.h"
#include "tests/splitmix64.h"

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
#define HAMMER_INBOX 2u                 /* ... in phase hammer: a thread that does not run
                                         * for a while must not hold the small arena */
#define RECEIVE_EVERY 8u                /* ops between two looks into a thread's inbox */
#define SCRATCH_EVERY 4096u             /* ops between two rounds of scratch arenas (avg.) */
#define SCRATCH_CHUNKS 64u              /* of 64 bytes, in a thread's scratch arena */
#define SCRATCH_CYCLES 2u               /* scratch arenas made in a row over one memory */

/* The static arena of phase api: the one CA_ARENA_DEFINE lays out, in .bss,
 * registered before main; CA_LOCK_DEFAULT is configure's --with-lock. */
#define STATIC_NAME "ca-stress-static"
#define STATIC_CHUNKS 4096u
#define STATIC_CHUNK_SIZE 128u

/* The layers, CA_LOCK_NONE .. CA_LOCK_HINT (CA_LOCK_DEFAULT names none). */
#define NLAYERS (CA_LOCK_HINT - CA_LOCK_NONE + 1)

/* --layer: a layer (a ca_lock), or one of these. */
#define LAYER_ALL (-1)
#define LAYER_API (CA_LOCK_HINT + 1)
typedef struct options {
    int layer;          /* a ca_lock, LAYER_API or LAYER_ALL */
    unsigned threads;
    double seconds;     /* per layer and phase; 0: no time limit */
    uint64_t ops;       /* per thread; NO_LIMIT: none */
    uint64_t seed;
    unsigned shift;
    size_t chunks;
} options;

typedef enum phase { PHASE_PATTERN, PHASE_HAMMER, PHASE_API } phase;

/* An arena as the harness sees it: its chunks, who holds each, and the
 * arena itself, driven directly (sync) or through the public API (api). */
typedef struct region {
    const char *name;       /* the layer's name, or the arena's */
    unsigned index;         /* in run.regions, and in a worker's tallies */
    ca_lock kind;           /* the layer (of an API arena: the one it uses) */
    ca_sync_arena *sync;    /* phases pattern and hammer; NULL in phase api */
    ca_cache *cache;        /* phases pattern and hammer with caches on: in front of
                             * sync, which allocations and frees go through; else NULL */
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
    parcel *inbox;          /* INBOX_SLOTS per thread (two threads or more) */
    unsigned inbox_open;    /* of which senders fill the first inbox_open */
    atomic_bool stop;       /* the time is up */
    atomic_uint finished;   /* threads done with the round */
    atomic_bool pausing;    /* the main thread asks the threads to hold still */
    atomic_uint paused;     /* threads holding still */
    uint64_t checks;        /* of the quiet arenas, by the main thread */
    uint64_t bad_pointers;  /* phase api: bad pointers and arguments fed on purpose */
    uint64_t raced_frees;   /* phases pattern and hammer: blocks freed by two threads at once */
    _Atomic uint64_t violations;
} run;

_Static_assert(MAX_THREADS < UINT16_MAX, "a thread id + 1 fits the owner map");
_Static_assert(MAX_THREADS < 1u << 12, "a thread id, main's too, fits the 12 bits of a tag");

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

/* A seed for one thread (or, with tid RUN_TID, for the run itself) of one
 * layer (LAYER_API for phase api) and phase, derived from the program's
 * seed. */
#define RUN_TID 0xFFFFu

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

/* How a block is freed: the public API has three ways (a sync arena one). */
typedef enum how_free { FREE_PLAIN, FREE_CHECKED, FREE_ANY } how_free;

/* Every figure of two ca_stats (X-macro: the fields compared). */
#define STATS_FIELDS(X)                                                                          \
    X(chunk_size) X(chunks_total) X(chunks_used) X(chunks_peak) X(allocations)                   \
    X(bytes_requested) X(largest_free_run) X(free_runs) X(failures) X(grows_in_place)            \
    X(shrinks_in_place) X(moves)

/* The memory a runtime arena of phase api is made over. */
typedef struct api_memory {
    void *block; /* from place */
    void *meta;  /* a separate bookkeeping buffer, or NULL */
    char name[CA_NAME_MAX + 1];
} api_memory;

CA_ARENA_DECLARE(stress_static);

/* ---- what the files share ---- */

extern const char *const phase_names[];
extern _Atomic unsigned printed;
double now_seconds(void);
void nap(long nanoseconds);
__attribute__((noreturn)) void out_of_memory(void);
uint64_t below(worker *w, uint64_t n);
uint64_t derive(uint64_t seed, unsigned layer, phase ph, unsigned tid);
const char *status_name(ca_core_status st);

/* Chunks an allocation of `size` bytes takes: max(1, ceil(size / cs)). */
size_t chunks_for(const region *g, size_t size);
size_t chunk_of(const region *g, const unsigned char *p);

/* Round n up to a multiple of m (a power of two). */
size_t round_up(size_t n, size_t m);

/* Memory for len bytes at a multiple of cs (a power of two), placed at a
 * random chunk within a 4 KiB page, so that alignments above the chunk size
 * meet a start not aligned to them. *block is what to free. */
unsigned char *place(ca_splitmix64 *g, size_t len, size_t cs, void **block);

/* A best-fit window for an arena (1: pure next fit). */
unsigned draw_window(ca_splitmix64 *g);

/* Something wrong seen by worker w (the main thread's too) during its
 * current op. */
__attribute__((format(printf, 2, 3))) void violation(worker *w, const char *fmt, ...);

/* Something wrong seen by the main thread outside any op of a worker. */
__attribute__((format(printf, 2, 3))) void main_violation(run *r, const char *fmt, ...);

/* The thread and sequence number a tag (or an unsalted word) names. */
unsigned tag_thread(uint64_t tag);

/* Write the pattern over bytes [from, to) of p (multiples of 8). */
void fill(unsigned char *p, uint64_t tag, size_t from, size_t to);

/* Verify bytes [0, len) of p, in region g, against the pattern of `tag`;
 * report the first broken word, naming who wrote it. */
bool verify(worker *w, const region *g, const unsigned char *p, uint64_t tag, size_t len,
            const char *when);

/* Mark the chunks of bytes [from, to) of allocation p in g as this thread's. */
void take(worker *w, region *g, const unsigned char *p, size_t from, size_t to);

/* Unmark them, before the free, shrink or realloc that gives them back. */
void drop(worker *w, region *g, const unsigned char *p, size_t from, size_t to);

/* Whether chunk c of g is held by a thread other than w (a snapshot). */
bool foreign(const worker *w, const region *g, size_t c);
extern _Thread_local fault_log faults_here;
extern _Thread_local worker *this_worker;
extern _Atomic uint64_t false_faults;
void count_fault(const ca_fault_report *report);

/* Before a public call whose outcome api_status reads. */
void api_begin(void);

/* What the public call `function`, which succeeded or not (ok), stands for
 * as a status: a fault the handler was told, NOMEM for ENOMEM, BADALIGN for
 * an EINVAL without a fault (a bad argument). A call that succeeded must
 * leave errno alone. */
ca_core_status api_status(worker *w, bool ok, const char *function);
extern const char *const free_names[];
unsigned char *region_alloc(worker *w, region *g, size_t size, size_t align,
                            ca_core_status *st);
ca_core_status region_free(worker *w, region *g, void *p, how_free how);
ca_core_status region_resize(worker *w, region *g, void *p, size_t size);

/* What the arena says of a pointer that may be bad, changing nothing if it
 * is: the sync arena's usable size; ca_free_checked in the public API
 * (which would free a good one: give it only bad ones). */
ca_core_status region_judge(region *g, const void *p);

/* The arena's figures, in the public API's form (a sync arena has no move
 * counter: 0). */
void region_stats(region *g, ca_stats *st);
const char *region_check(region *g);

/* The slot's chunks are now this thread's (marked, and counted). */
void hold(worker *w, slot *s);

/* ... and no longer: before the free (or hand-off, or realloc) that gives
 * them up. The slot keeps its fields. */
void let_go(worker *w, slot *s);

/* Usable size of p as the arena reports it; 0 (and a violation) on a fault. */
size_t usable_of(worker *w, region *g, const unsigned char *p, const char *when);

/* Whether p, just returned for `size` bytes aligned to `align` (0: none),
 * is a good block of g: inside the region, on a chunk, aligned, as many
 * chunks as the size takes. Its usable size, or 0 (and a violation). */
size_t accept_block(worker *w, region *g, unsigned char *p, size_t size, size_t align,
                    const char *what);

/* An allocation of `size` bytes aligned to `align` in g returned p (NULL:
 * with status st): count it and, if it is good, put it in the empty slot s
 * (all but the pattern). False if the arena had no room (counted) or the
 * allocation is unusable (reported, and abandoned untouched). */
bool adopt(worker *w, slot *s, region *g, unsigned char *p, ca_core_status st,
           size_t size, size_t align);
bool alloc_into(worker *w, slot *s, region *g, size_t size, size_t align);

/* A new allocation in g into the empty slot s, filled with its pattern. */
void op_alloc(worker *w, slot *s, region *g, size_t size, size_t align);

/* Verify and free the allocation in s (as `how` says, in phase api); every
 * refusal is a false invalid free. */
void op_free(worker *w, slot *s, how_free how);

/* Resize s in place to new_size bytes. Growth may fail with NOMEM, which
 * leaves the allocation as it was; anything else must succeed. Returns the
 * arena's status. */
ca_core_status op_resize(worker *w, slot *s, size_t new_size);

/* realloc done by the harness (the sync arena has none): in place if
 * possible, else allocate, copy, verify the copy, free the old one. If the
 * arena has no room at all, s stays as it was. */
void op_realloc(worker *w, slot *s, size_t new_size);

/* Ask the arena about s (usable size; two interior pointers, which must be
 * refused as INTERIOR, changing nothing), then verify the pattern. */
void op_probe(worker *w, slot *s);

/* Compare g's figures with what this thread holds there. Under a lock they
 * are one consistent picture, which includes all of ours. Under "hint"
 * they are a snapshot taken while others work: the free runs come from one
 * pass, which may skip a used word whose summary bit lags (so it may count
 * our chunks as free), and the allocations from another, which reads every
 * map word and so counts each of ours (their LAST markers do not change
 * while we ask). A "none" arena is one thread's alone: exact, and quiet
 * enough for the full invariant check. */
void check_stats(worker *w, region *g);

/* An arena for a new allocation. */
region *pick_region(worker *w);

/* How to free: in phase api, one of the three ways at random. */
how_free draw_how(worker *w);

/* ca_calloc of n * each bytes into the empty slot s: zeroed, then filled. */
void op_calloc(worker *w, slot *s, region *g, size_t n, size_t each);

/* ca_realloc (align 0) or ca_aligned_realloc of s to `size` bytes. In place
 * the content survives up to the smaller usable size; a move copies the
 * smaller of the old usable size and the new size, and keeps the
 * alignment the block was asked (a realloc never loses it). A failure
 * (ENOMEM) leaves s untouched. We do not know beforehand whether it moves
 * or shrinks, so all our chunks are dropped first and the result's taken
 * after. */
void op_api_realloc(worker *w, slot *s, size_t size, size_t align);

/* The registry knows s: ca_arena_of its first and last byte gives its
 * arena, ca_arena_find the arena's name; an unknown name is ENOENT. */
void op_lookup(worker *w, slot *s);

/* Hand the block in s to another thread: claim an empty entry of its inbox
 * (acquire: pairs with the release store of EMPTY by which the owner gave
 * the entry back after copying the last block out, so our writes come
 * after its reads), fill it in, publish it (release: the owner's acquire
 * load of FULL sees the entry and the pattern in the block). False if
 * there is no other thread or no empty entry. */
bool send_parcel(worker *w, slot *s);

/* Take the blocks waiting in this thread's inbox (acquire: pairs with the
 * sender's release store of FULL) and free them; each entry goes back
 * (release: see send_parcel). */
void receive(worker *w);

/* At the very end: close every entry of the inbox, taking what is in it,
 * so that no block is left behind; a sender then finds no room and keeps
 * its block. An entry being written is waited for (a sender fills it in
 * within one op). */
void close_inbox(worker *w);

/* An arena of this thread's own, over its own memory (bookkeeping in
 * front), created, used and destroyed within one op, SCRATCH_CYCLES times
 * in a row: the registry's writers at work while the other threads look
 * arenas up (ca_free_any, ca_arena_of, ca_arena_find), and the memory of a
 * destroyed arena written again at once by the next creation — which is
 * safe only if destroy waited for every lookup that could still see the
 * arena (ThreadSanitizer sees it if not). Its layer goes round the five (it
 * is this thread's alone, so "none" will do); a "hint" arena made where
 * another was must not use that one's per-thread hints. */
void op_scratch(worker *w);

/* A size for g: mostly small, sometimes dozens of chunks, rarely a large
 * share of the arena (which fills it, so failures and their paths get
 * exercised). */
size_t draw_size(worker *w, const region *g);

/* The tallies of every worker (the main thread's too) in region `index`,
 * or in all regions if index < 0. */
void sum_tallies(const run *r, const worker *ws, int index, tally *sum);

/* ca_free_checked(p) must return `fault` and change nothing. */
void refused(worker *m, region *g, void *p, ca_fault fault, const char *what);

/* The last call must have told the handler, exactly once, that `function`
 * found `fault` on p in the arena named `arena`. */
void told(worker *m, const char *function, const char *arena, const void *p,
          ca_fault fault);

/* The workers of a run: one per thread, and the main thread's (the last). */
worker *make_workers(run *r, const options *o, unsigned layer);
void free_workers(run *r, worker *ws);

/* Drive the arenas of r with its threads, in rounds. At the end of each,
 * the threads exit (a "hint" arena gets their slots back, and the next
 * round's threads claim slots afresh, so allocations are freed through
 * other contexts than made them) and the main thread checks the quiet
 * arenas, full of live allocations, against what the threads hold. False
 * if a thread could not be started. */
bool run_rounds(run *r, worker *ws, const options *o);
run *new_run(const options *o, const char *layer, phase ph, unsigned nthreads);

/* The geometry of region g, its owner map and its start figures. */
void set_region(run *r, region *g, unsigned char *base, size_t nchunks, unsigned shift);

/* Run phase pattern or hammer on a fresh arena of layer `kind`, driven
 * directly, or through per-thread caches (cache/cache.h, caching from the
 * first operation) if `caches`. Returns true if it passed. */
bool run_phase(const options *o, ca_lock kind, phase ph, bool caches);

/* In a quiet moment after a round (no worker running): the main thread
 * allocates a few blocks of g, then it and a thread of its own free each of
 * them at the same moment (exactly one free must succeed, the other be
 * told NOTALLOC), then again (both NOTALLOC: the block is cached or free).
 * The blocks are tallied as the main worker's. */
void duel_frees(worker *m, region *g);

/* Phase api. Returns true if it passed. */
bool run_api(const options *o);
static inline uint64_t pattern_word(uint64_t tag, size_t j)
{
    return (tag | (j & 0xFFFFu)) ^ SALT;
}

#endif
