/* SPDX-License-Identifier: MIT */
/*
 * core/core.h — the bitmap chunk allocator: one region, one chunk map.
 *
 * A core manages the region [base, base + nchunks * chunk_size): every
 * allocation is a run of whole chunks, recorded in the chunk map
 * (core/chunkmap.h) and in summary bitmaps above it. Bookkeeping lives in a
 * metadata buffer outside the region, so an overrun of user memory cannot
 * corrupt it. The core is freestanding: no libc, no errno, no threads, no
 * printing; it reports through ca_core_status.
 *
 * Thread-safety contract. Every operation takes a `shared` flag:
 *
 *  - shared == false ("exclusive"): the caller guarantees that no other
 *    operation runs on this core at the same time (a lock, or one thread).
 *    Map and summary words are read and written with relaxed atomics, which
 *    cost what plain accesses cost.
 *
 *  - shared == true: any number of threads may run alloc, free, resize and
 *    usable_size at once. Chunks are claimed and released by compare-and-swap
 *    on map words, in the order described below, so that a valid free is
 *    never misjudged and never touches a chunk it does not own. alloc may
 *    return CA_CORE_RETRY when another thread took the chosen chunks first;
 *    the caller searches again (sync/sync.c does, until it succeeds or
 *    fails for want of room; after a few lost races in a row the hint
 *    layer moves its cursor elsewhere: ca_sync_hint_lost).
 *    Summaries may lag while operations are in flight and are exact when none
 *    is. init, reset and check are never shared.
 *
 * Every context (ca_core_ctx) has exactly one writer at a time: the thread
 * holding the arena's lock, or the one thread that owns a hint record. Its
 * counters are therefore updated with a relaxed load and store, and read by
 * statistics with relaxed loads (possibly a moment stale, never torn).
 *
 * Claims and releases (the shared protocol)
 * -----------------------------------------
 * Invariant S: the chunk just before the first chunk of a live allocation is
 * never seen as "used, not last" (01), not even for an instant.
 *
 * Freeing p judges p by two chunks: p's chunk must be used, and the chunk
 * before it must be free or LAST. Invariant S makes that judgement exact for
 * a live allocation while its neighbours change: no false "interior
 * pointer". The rest of the allocation belongs to the caller and does not
 * change under it, so its extent (up to the first LAST marker) is exact too.
 *
 * S holds because every multi-word change keeps each intermediate map a
 * well-formed sequence of allocations:
 *   - a claim of chunks [s, e] writes its words from the highest (which holds
 *     e and its LAST marker) down to the lowest; the claimed part is always
 *     [x, e] with LAST at e, a well-formed allocation;
 *   - a release of [s, e] (free, the tail of a shrink, the rollback of a
 *     failed claim) clears its words from the lowest up; what remains is
 *     [y, e] with LAST at e, again well-formed;
 *   - growth in place first claims the new chunks (ending in LAST), then
 *     clears the old LAST; shrinking first sets the new LAST, then releases
 *     the tail.
 * Within one word a change is a single compare-and-swap, so it is seen
 * whole or not at all.
 *
 * A growth or shrink that touches only the old end's word moves the LAST
 * marker in the same CAS as the chunks (one step, no window at all).
 *
 * A claim's CAS expects the target chunks free; if any is taken, the claim
 * rolls back what it wrote (bottom-up, as a release) and reports
 * CA_CORE_RETRY. A release's CAS expects the chunks exactly as the owner's
 * allocation left them; if they differ (a racing double free), it stops and
 * reports CA_CORE_NOTALLOC. Claims are acquire (they follow the previous
 * owner's release, so its writes to the memory happen-before the new
 * owner's); releases are release. Both are seq_cst, for the summary and the
 * bound protocols in core.c, which are store-then-load patterns that need
 * one total order. (On x86-64 a seq_cst RMW or load costs what an acq_rel
 * RMW or a plain load costs.)
 *
 * What shared mode does not promise (failures that are not linearizable,
 * and a double free racing the reuse of its memory) is said once, for
 * users, at the thread-safety paragraph of api/chunkarena.h; the claim and
 * release orders above are why those two are all.
 */
#ifndef CA_CORE_CORE_H
#define CA_CORE_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunkmap.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "map words must be lock-free 64-bit atomics");
_Static_assert(sizeof(uint64_t) == sizeof(unsigned long long), "map words are 64-bit");

/* Smallest chunk size: a chunk must hold at least a 16-byte aligned object. */
#define CA_CORE_MIN_CHUNK_SHIFT 4u
/* Largest chunk size the core accepts (1 GiB). */
#define CA_CORE_MAX_CHUNK_SHIFT 30u
/* The largest chunk count: the bound word keeps the top bit for a flag. */
#define CA_CORE_MAX_CHUNKS ((size_t)1 << 40)
/* Default best-fit window: how many fitting runs a search compares. */
#define CA_CORE_DEFAULT_WINDOW 4u
/* Largest window accepted. */
#define CA_CORE_MAX_WINDOW 64u

/* Metadata size, in 64-bit words, for n chunks: the map (2 bits a chunk),
 * two level-1 summaries (1 bit a map word), one level-2 summary (1 bit a
 * level-1 word), the over-aligned starts and the cached plane (1 bit a
 * chunk each) and the fit index (1 byte a map word). A constant
 * expression. */
#define CA_CORE_MAP_WORDS(n) (((size_t)(n) + 31u) / 32u)
#define CA_CORE_SUM1_WORDS(n) ((CA_CORE_MAP_WORDS(n) + 63u) / 64u)
#define CA_CORE_SUM2_WORDS(n) ((CA_CORE_SUM1_WORDS(n) + 63u) / 64u)
#define CA_CORE_ALIGNED_WORDS(n) (((size_t)(n) + 64u + 63u) / 64u)
/* The cached plane, 1 bit a chunk (see the end of this file). */
#define CA_CORE_CACHED_WORDS(n) (((size_t)(n) + 63u) / 64u)
/* The fit index, 1 byte a map word (core/ops.h, "the fit index"). */
#define CA_CORE_FIT_WORDS(n) ((CA_CORE_MAP_WORDS(n) + 7u) / 8u)
#define CA_CORE_META_WORDS(n)                                                   \
    (CA_CORE_MAP_WORDS(n) + 2u * CA_CORE_SUM1_WORDS(n) + CA_CORE_SUM2_WORDS(n) + \
     CA_CORE_ALIGNED_WORDS(n) + CA_CORE_CACHED_WORDS(n) + CA_CORE_FIT_WORDS(n))

typedef enum ca_core_status {
    CA_CORE_OK = 0,
    /* allocation and resize */
    CA_CORE_NOMEM,    /* no run of free chunks fits (or growth in place is impossible) */
    CA_CORE_BADALIGN, /* alignment not a power of two */
    CA_CORE_RETRY,    /* shared mode: another thread took the chunks; search again */
    /* free, resize, usable size: what is wrong with the pointer */
    CA_CORE_FOREIGN,  /* not inside this core's region */
    CA_CORE_INTERIOR, /* inside an allocation but not its first byte */
    CA_CORE_NOTALLOC, /* at a chunk that is not allocated: double free, or never allocated */
    /* init */
    CA_CORE_BADCHUNK,   /* chunk size not a power of two, below 16 or above 1 GiB */
    CA_CORE_MISALIGNED, /* region or metadata not aligned as required */
    CA_CORE_TOOSMALL,   /* region smaller than one chunk (after its metadata) */
    CA_CORE_TOOLARGE,   /* more chunks than CA_CORE_MAX_CHUNKS, or the region wraps */
    CA_CORE_BADWINDOW   /* best-fit window 0 or above CA_CORE_MAX_WINDOW */
} ca_core_status;

/* Counters one context owns (single writer; see the contract above). The
 * chunk and allocation counts are deltas: in the lock-free layer a chunk may
 * be claimed through one context and released through another, so only the
 * sum over all contexts (modulo 2^64) is the arena's figure. */
typedef struct ca_core_tally {
    _Atomic size_t chunks;           /* chunks claimed minus chunks released */
    _Atomic size_t allocs;           /* allocations made minus allocations freed */
    _Atomic size_t bytes_requested;  /* bytes asked for by successful allocations, ever */
    _Atomic size_t failures;         /* allocations that found no room */
    _Atomic size_t grows_in_place;   /* resizes that grew in place */
    _Atomic size_t shrinks_in_place; /* resizes that shrank in place */
    _Atomic size_t runs_examined;    /* free runs the searches measured, ever (the
                                      * fast path at the cursor measures none; a
                                      * search made twice counts twice) */
} ca_core_tally;

/* A context: where a search starts (the next-fit cursor, a chunk index; advisory
 * and clamped), the context's lane, and the counters of the operations run
 * through it. A search visits the runs that start in the lane first (from
 * the cursor, wrapping within the lane), then the rest of the arena: each
 * thread of the lock-free layer has a lane of its own, so threads do not
 * end up allocating in the same cache lines. The lane is [lane_lo,
 * lane_lo + lane_len) modulo the chunk count; lane_len 0 means the whole
 * arena (a lane is advisory too: any lane, any cursor, gives correct
 * results). */
typedef struct ca_core_ctx {
    size_t cursor;
    size_t lane_lo;
    size_t lane_len;
    ca_core_tally tally;
} ca_core_ctx;

/* The core. Callers treat the fields as private. The bound word sits on its
 * own cache line: every allocation reads it, and it is written rarely. */
typedef struct ca_core {
    unsigned char *base;          /* first chunk; aligned to the chunk size */
    size_t nchunks;               /* chunks in the region */
    size_t nwords;                /* map words */
    size_t nsum1;                 /* level-1 summary words (each) */
    size_t nsum2;                 /* level-2 summary words */
    unsigned shift;               /* log2(chunk size) */
    unsigned window;              /* best-fit window */
    _Atomic uint64_t *map;        /* nwords: 32 chunks a word */
    _Atomic uint64_t *sum_full;   /* nsum1: bit w = map word w has no free chunk */
    _Atomic uint64_t *sum_used;   /* nsum1: bit w = map word w has a used chunk */
    _Atomic uint64_t *sum_full2;  /* nsum2: bit i = sum_full word i is all set */
    /* The alignment each allocation was asked above the chunk size, exactly
     * (so that a move keeps it: ca_core_align_of): one bit per allocation
     * in the plane of its alignment, fewer than n + 64 bits in all (core.c,
     * "over-aligned starts"). max_align is the largest alignment ever asked
     * (bytes; 0: none yet); free reads the planes only once it is not 0, so
     * arenas that never over-align pay nothing for them. */
    _Atomic uint64_t *aligned;
    _Atomic size_t max_align;
    /* CACHE (issue 11): 1 bit a chunk, set at the first chunk of a block
     * that sits in some thread's cache (the end of this file). */
    _Atomic uint64_t *cached;
    /* The fit index: byte j of word k says which lengths of free run may
     * start in map word 8k + j (core/ops.h, "the fit index"); it lets a
     * search skip the words where the request cannot start. */
    _Atomic uint64_t *fit;
    size_t nfit; /* its words */
    /* An upper bound on the longest run of free chunks (bits 0..40), an
     * epoch (41..62) and, in bit 63, "a failed search is measuring the
     * longest run" (core.c). */
    _Alignas(64) _Atomic uint64_t bound;
    unsigned char pad_bound[64 - sizeof(uint64_t)];
} ca_core;

/* What a scan of the map finds (ca_core_scan). */
typedef struct ca_core_usage {
    size_t chunks_used;      /* chunks in allocations */
    size_t allocations;      /* live allocations */
    size_t free_runs;        /* maximal runs of free chunks */
    size_t largest_free_run; /* chunks in the longest free run */
} ca_core_usage;

/* Bytes of metadata needed for nchunks chunks (0 if nchunks is 0 or too
 * large). The metadata must be aligned to 8 bytes. */
size_t ca_core_meta_size(size_t nchunks);

/* Make c manage nchunks chunks of (1 << shift) bytes at base, with its
 * bookkeeping in meta (ca_core_meta_size(nchunks) bytes, 8-aligned). Marks
 * every chunk free. Refuses (and leaves c untouched): a shift outside
 * 4..30 (BADCHUNK), base not aligned to the chunk size or meta not aligned
 * to 8 (MISALIGNED), nchunks 0 (TOOSMALL), nchunks above CA_CORE_MAX_CHUNKS
 * or a region that wraps the address space (TOOLARGE), a window outside
 * 1..CA_CORE_MAX_WINDOW (BADWINDOW). Cost: O(metadata words). */
ca_core_status ca_core_init(ca_core *c, void *base, size_t nchunks, unsigned shift,
                            void *meta, unsigned window);

/* How many bytes of bookkeeping n chunks need (for ca_core_layout). It
 * must not grow when n falls; 0 means "too many chunks". */
typedef size_t ca_core_meta_fn(size_t nchunks, const void *arg);

/* The layout of a region that carries its own bookkeeping: meta_bytes(n,
 * arg) bytes of it at the front of [mem, mem + len) (meta_bytes NULL:
 * ca_core_meta_size(n), the core's own), the chunks after it from the next
 * chunk boundary, as many as fit (at most CA_CORE_MAX_CHUNKS: a larger
 * region is used up to that many). Fills *nchunks, *meta and *base;
 * refuses as ca_core_init does: BADCHUNK, MISALIGNED (mem not aligned to
 * the chunk size), TOOSMALL (not one chunk fits), TOOLARGE (the range
 * wraps). TOOSMALL exactly when not even one chunk fits after its
 * bookkeeping. Cost: about log2(len / chunk size) evaluations of meta_bytes
 * (a binary search: meta_bytes must not grow when n falls). */
ca_core_status ca_core_layout(void *mem, size_t len, unsigned shift, ca_core_meta_fn *meta_bytes,
                              const void *arg, size_t *nchunks, void **meta, void **base);

/* Mark every chunk free again (counters of contexts are the caller's:
 * ca_core_ctx_forget_live). Exclusive. Cost: O(metadata words). */
void ca_core_reset(ca_core *c);

/* Allocate `size` bytes aligned to `align` (0 or a power of two): a run of
 * max(1, ceil(size / chunk size)) chunks starting at an address that is a
 * multiple of align. The search starts at x->cursor (next fit), compares up to
 * `window` runs that fit and takes the tightest (best fit within the window;
 * an exact fit ends the search at once), and leaves x->cursor just past the
 * new allocation. Returns NULL and sets *status to NOMEM (no room: costs
 * O(1) when the request exceeds the known longest free run, else one scan of
 * the free runs), BADALIGN, or, in shared mode, RETRY.
 *
 * With `room` > 0 (realloc's moves: api/alloc.c), the allocation goes
 * preferably in a run where `room` more bytes are free right after it: it
 * takes only its own chunks, and leaves the cursor past the room, so next fit
 * leaves the room alone, for the allocation to grow into in place, until it
 * comes round again; the room is not held, any allocation may take it. When
 * no run holds both, the allocation goes where it fits alone (a search more);
 * NOMEM only when it fits nowhere. */
void *ca_core_alloc(ca_core *c, ca_core_ctx *x, size_t size, size_t align, size_t room,
                    bool shared, ca_core_status *status);

/* Free the allocation starting at p. FOREIGN, INTERIOR or NOTALLOC leave the
 * map unchanged. Cost: O(chunks of the allocation / 32). */
ca_core_status ca_core_free(ca_core *c, ca_core_ctx *x, void *p, bool shared);

/* Resize the allocation at p in place to `size` bytes: growth claims the
 * free chunks right after it (NOMEM if they are not all free), shrinking
 * releases the tail. Never moves. Pointer faults as ca_core_free. */
ca_core_status ca_core_resize(ca_core *c, ca_core_ctx *x, void *p, size_t size, bool shared);

/* The alignment a copy of the allocation at p must keep: the alignment it
 * was made (or last kept, ca_core_note_align) with when that was above the
 * chunk size, exactly; else the chunk size. O(log2(largest alignment asked
 * / chunk size)). Pointer faults as ca_core_free. */
ca_core_status ca_core_align_of(const ca_core *c, const void *p, size_t *align, bool shared);

/* Record that the allocation at p (which its caller owns, and which p
 * already satisfies) must keep alignment `align` from now on, instead of
 * what it was made with: for a resize in place that was asked an
 * alignment. An alignment up to the chunk size forgets any record. Pointer
 * faults as ca_core_free. */
ca_core_status ca_core_note_align(ca_core *c, const void *p, size_t align, bool shared);

/* Usable size of the allocation at p (its chunks times the chunk size) in
 * *bytes. Pointer faults as ca_core_free. */
ca_core_status ca_core_usable(const ca_core *c, const void *p, size_t *bytes, bool shared);

/* Whether p lies inside the region (any byte of any chunk). O(1). */
bool ca_core_owns(const ca_core *c, const void *p);

/* Scan the map: used chunks, allocations, free runs, longest free run.
 * Exact when no operation is in flight. Cost: O(map words). */
void ca_core_scan(const ca_core *c, ca_core_usage *u, bool shared);

/* Make x a fresh context: search from `cursor` in the whole arena, all
 * counters 0. */
void ca_core_ctx_init(ca_core_ctx *x, size_t cursor);

/* After ca_core_reset: zero x's counts of what is live (chunks and
 * allocations), keeping its counts of what happened (requested bytes,
 * failures, grows, shrinks). */
void ca_core_ctx_forget_live(ca_core_ctx *x);

/* Sum `n` tallies into *sum (field by field, modulo 2^64). */
void ca_core_tally_sum(const ca_core_tally *const *tallies, size_t n, ca_core_tally *sum);

/* Verify every invariant: map encoding (no "10" chunk, every allocation ends
 * in a LAST chunk, padding chunks free), both summary levels exact, the
 * bound at least the longest free run, and, when `sum` is not NULL, the
 * chunk and allocation counts of `sum` equal to the map's. Exclusive (or
 * quiescent). Returns NULL when all hold, else a description of the first
 * violation. Cost: O(map words). */
const char *ca_core_check(const ca_core *c, const ca_core_tally *sum);

/* The core's upper bound on its longest run of free chunks (what an
 * allocation is first compared with; core.c). At least the longest free
 * run whenever no operation is in flight. */
size_t ca_core_bound(const ca_core *c);

/* Chunk size in bytes. */
static inline size_t ca_core_chunk_size(const ca_core *c)
{
    return (size_t)1 << c->shift;
}

/* ---- the cached plane (issue 11) ----
 *
 * A block in a per-thread cache (cache/cache.h) stays allocated in the
 * map; the bit of its first chunk in the cached plane says "cached". To
 * every pointer judgement (free, resize, usable size, alignment) a cached
 * block is CA_CORE_NOTALLOC, exactly as a freed one. The bit is only ever
 * changed by atomic read-modify-writes (reset aside, which is quiet), so
 * two threads that free the same block at once are told apart by one
 * fetch_or: the one that sets the bit owns the block, the other is told
 * NOTALLOC. The bit changes only while its block is allocated in the map:
 * set (ca_core_cache_put) after the block was judged live, cleared by the
 * cache's owner when it hands the block out again (ca_core_cache_take), or
 * after it released the block's chunks (ca_core_cache_drop). Free to call
 * from any thread, without the arena's lock, under every layer: the map is
 * only read here, and a pointer's own chunks do not change while its
 * caller owns it. */

/* Whether the block starting at chunk s sits in a cache. One relaxed load:
 * for a walk of a quiet heap, or a hint to a racing reader. */
static inline bool ca_core_cached(const ca_core *c, size_t s)
{
    return (atomic_load_explicit(&c->cached[s >> 6], memory_order_relaxed) >> (s & 63)) & 1u;
}

/* Judge p as free does and, if it is the start of a live block of at most
 * `most` chunks, not over-aligned, mark it cached: the caller's cache owns
 * it from now on (its chunk count in *n). NOTALLOC if another thread's
 * free, or another cache, took it first. NOMEM, changing nothing, for a live
 * block the cache does not take (too large, or over-aligned): free it the
 * ordinary way. Other pointer faults as ca_core_free. */
ca_core_status ca_core_cache_put(ca_core *c, void *p, size_t most, size_t *n);

/* Mark the block at p, which the caller has just allocated, cached. */
void ca_core_cache_mark(ca_core *c, void *p);

/* Unmark the cached block at p, which the caller's cache owns: it is the
 * caller's live block again. */
void ca_core_cache_take(ca_core *c, void *p);

/* Release the cached block of n chunks at p (the caller's cache owns it)
 * to the map, through context x, then clear its bit: under a lock both
 * happen before the lock is let go; in shared mode an allocation that
 * claims the chunk between the two must wait for the bit
 * (ca_core_cached) before it hands the block out. */
void ca_core_cache_drop(ca_core *c, ca_core_ctx *x, void *p, size_t n, bool shared);


#endif /* CA_CORE_CORE_H */
