/* SPDX-License-Identifier: MIT */
/*
 * chunkarena.h — thread-safe, fixed-chunk arenas over memory you own.
 *
 * An arena hands out runs of fixed-size chunks from one region of memory
 * that the caller owns: a static array in the executable (CA_ARENA_DEFINE),
 * or any buffer (ca_arena_create). Every arena has a name, a chunk size (a
 * power of two, at least 16 bytes) and a sync layer, chosen per arena:
 *
 *   CA_LOCK_NONE    no locking: one thread at a time (freestanding-friendly)
 *   CA_LOCK_SPIN    test-and-test-and-set spinlock; yields after a few microseconds
 *   CA_LOCK_TICKET  FIFO ticket lock; fair, but slow when threads outnumber cores
 *   CA_LOCK_MUTEX   pthread mutex: waiters sleep in the kernel
 *   CA_LOCK_HINT    lock-free: compare-and-swap claims, per-thread next-fit cursors.
 *                   Each thread gets a record (a next-fit cursor, a lane and
 *                   counters: 128 bytes, from pages outside the arena) on
 *                   its first use of an arena, kept for the next thread when
 *                   it exits; any number of threads and arenas
 *   CA_LOCK_DEFAULT the layer chosen by ./configure --with-lock (hint unless changed)
 *
 * The bookkeeping is a bitmap of chunks kept outside the region, so a buffer
 * overrun in user memory never corrupts the arena. An allocation of n bytes
 * takes ceil(n / chunk size) contiguous chunks (one for n == 0). free needs
 * no size, and tells a valid pointer from a foreign one, an interior one and
 * one freed already: a checked variant returns the fault, the plain one
 * calls the fault handler (by default: one line on stderr, then abort).
 *
 * Costs: an allocation searches from a next-fit cursor and compares a bounded
 * window of fitting runs; an index of one byte per 32 chunks lets the search
 * skip, eight to a load, the parts of the arena where the request cannot
 * start, so it visits the runs that fit, not the short holes between them
 * (and each part whose index is stale once). One that cannot fit fails in
 * O(1) once the arena knows its longest free run, else after one pass over
 * the index (chunks / 256 loads: a few microseconds on a full 160 MiB
 * arena). free and resize cost O(chunks / 32) of the allocation. Lookups by
 * name or address walk the registry, O(arenas).
 *
 * Thread safety, unless a function says otherwise: every function may be
 * called from any thread at any time on an arena whose layer is not
 * CA_LOCK_NONE; a CA_LOCK_NONE arena must be used by one thread at a time.
 * The registry (create, destroy, find, list, of) is safe from any thread.
 * Freeing or resizing the same allocation from two threads at once is a
 * bug in the program, as with malloc. Under CA_LOCK_HINT two things are
 * weaker than under a lock: an allocation may fail while other threads'
 * operations are in flight although memory was freed before it (never
 * once they have returned); and a bad pointer freed at the very moment
 * another thread is being given its chunks (a double free racing the reuse
 * of the memory, which no allocator can always catch) may be taken for
 * valid. Every other bad pointer is caught under every layer.
 *
 * Per-thread caches: a thread keeps blocks it freed (up to 64 chunks each)
 * in caches of its own per arena, and an allocation of that size on the
 * same thread takes them back without the layer's lock; it goes to the
 * arena once a batch. A cached block is freed as far as the program can
 * tell: freeing, resizing or asking the size of it is a fault
 * (CA_FAULT_NOT_ALLOCATED), exactly as for a freed block, under every
 * layer; of two threads that free the same block at once, exactly one
 * succeeds and the other is told CA_FAULT_NOT_ALLOCATED. A block may be
 * freed on any thread; it goes to the freeing thread's cache. A thread
 * that exits gives its caches back to every arena still alive. By default
 * an arena of 1024 chunks or more starts caching once a second thread
 * uses it (ca_config.cache). A CA_LOCK_NONE arena with caches: a thread's
 * exit gives its cache back through the arena, so it counts as an
 * operation on it.
 *
 * Errors: functions that return a pointer return NULL and set errno; those
 * that return int return 0 on success and -1 with errno set. errno is left
 * alone on success.
 *
 * ENOMEM with caches: an allocation that finds no room gives the calling
 * thread's cached blocks of that arena back and searches once more before
 * it fails. At that moment other threads' caches may still hold blocks:
 * at most ca_config.cache_limit bytes in all (a sixteenth of the arena by
 * default), in blocks of at most ca_config.cache_block bytes; chunks_cached
 * (ca_arena_stats) says how many.
 */
#ifndef CHUNKARENA_H
#define CHUNKARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chunkarena_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks each function the library exports. The library is built with
 * -fvisibility=hidden: what is not marked here stays inside it. */
#define CA_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------ types */

/* An arena. Opaque: use it through the functions below. */
typedef struct ca_arena ca_arena;

/* The sync layer of an arena (see the top of this file). */
typedef enum ca_lock {
    CA_LOCK_DEFAULT = 0,
    CA_LOCK_NONE,
    CA_LOCK_SPIN,
    CA_LOCK_TICKET,
    CA_LOCK_MUTEX,
    CA_LOCK_HINT
} ca_lock;

/* What is wrong with a pointer passed to free, realloc, resize or usable_size. */
typedef enum ca_fault {
    CA_FAULT_NONE = 0,      /* nothing: the pointer is the start of a live allocation */
    CA_FAULT_FOREIGN,       /* not inside the arena's region (or inside no arena) */
    CA_FAULT_INTERIOR,      /* inside an allocation, but not its first byte */
    CA_FAULT_NOT_ALLOCATED  /* at a chunk that is free: freed already, or never allocated */
} ca_fault;

/* The longest arena name, in bytes, without the terminating NUL. */
#define CA_NAME_MAX 63

/* The chunk size an arena gets when its config says 0. */
#define CA_DEFAULT_CHUNK_SIZE 256

/* Per-thread caches of an arena (ca_config.cache). */
typedef enum ca_cache_mode {
    CA_CACHE_DEFAULT = 0, /* configure's --with-cache: by default, in an arena of at
                           * least 1024 chunks, on once a second thread uses the
                           * arena (a lone thread's blocks go where they would
                           * without caches); off in smaller arenas */
    CA_CACHE_ON,          /* on from the first operation, whatever the arena's size */
    CA_CACHE_OFF          /* off: every operation goes to the sync layer */
} ca_cache_mode;

/* The largest block a per-thread cache takes, in chunks (ca_config.cache_block). */
#define CA_CACHE_BLOCK_CHUNKS_MAX 64

/* How an arena is set up; zero everywhere means every default. */
typedef struct ca_config {
    size_t chunk_size;   /* a power of two >= 16; 0: CA_DEFAULT_CHUNK_SIZE */
    ca_lock lock;        /* CA_LOCK_DEFAULT: configure's --with-lock */
    unsigned fit_window; /* fitting runs a search compares, 1..64 (1: pure next
                          * fit); 0: 4 */
    void *meta;          /* NULL: the arena keeps its bookkeeping at the front of
                          * its memory; else a separate buffer of meta_len bytes
                          * (ca_arena_meta_size), 64-byte aligned, that the arena
                          * uses until it is destroyed, and all of the memory
                          * becomes chunks */
    size_t meta_len;
    /* Per-thread caches (see the top of this file): in arenas with
     * caches, the caches of all threads together hold at most cache_limit
     * bytes (each thread at most a quarter of it), in blocks of at most
     * cache_block bytes; free and allocation of such blocks take the layer's
     * lock about once a batch of 2 to 16 blocks. */
    ca_cache_mode cache;  /* CA_CACHE_DEFAULT, CA_CACHE_ON or CA_CACHE_OFF */
    size_t cache_block;   /* the largest block cached, in bytes: at most
                           * CA_CACHE_BLOCK_CHUNKS_MAX chunks; 0: 16 KiB, or one
                           * chunk if chunks are larger */
    size_t cache_limit;   /* the most bytes all threads' caches of the arena hold
                           * together; 0: a sixteenth of the arena's chunks */
} ca_config;

/* Size classes of free runs in ca_stats.free_run_histogram: class k holds
 * the runs of 2^k to 2^(k+1) - 1 chunks (an arena has at most 2^40). */
#define CA_FREE_RUN_CLASSES 41

/* An arena's figures (ca_arena_stats). Chunk counts are in chunks. */
typedef struct ca_stats {
    const char *name;
    ca_lock lock;             /* the layer in use (never CA_LOCK_DEFAULT) */
    size_t chunk_size;        /* bytes */
    size_t chunks_total;
    size_t chunks_used;
    size_t chunks_peak;       /* the most in use at once; exact under a lock; under
                               * CA_LOCK_HINT within 32 * max(16, chunks_total / 256) */
    size_t allocations;       /* live allocations */
    size_t bytes_requested;   /* bytes asked for by successful allocations, ever */
    size_t largest_free_run;  /* chunks in the longest run of free chunks */
    size_t free_runs;         /* runs of free chunks */
    size_t failures;          /* allocations that found no room */
    size_t grows_in_place;    /* resizes and reallocs that took more chunks without
                               * moving (a new size within the chunks held
                               * changes no chunk and counts nowhere) */
    size_t shrinks_in_place;  /* ... that gave chunks back */
    size_t moves;             /* reallocs that had to allocate, copy and free */
    size_t free_run_histogram[CA_FREE_RUN_CLASSES]; /* free runs by length: [k] counts
                               * the runs of 2^k .. 2^(k+1) - 1 chunks; from the same
                               * scan as free_runs (their sum) and largest_free_run.
                               * Many short runs and a short longest run, with
                               * chunks free, is fragmentation; few free chunks
                               * at all is exhaustion */
    /* Per-thread caches: what they hold now (counted neither in chunks_used
     * nor in allocations; chunks_peak counts them; their chunks count as
     * free in free_runs, largest_free_run and the histogram alike, though
     * only the thread holding them reuses them before they go back), and
     * how often an allocation they could serve was served from one. */
    size_t chunks_cached;     /* chunks in blocks held in threads' caches */
    size_t cache_hits;        /* allocations served from the thread's cache */
    size_t cache_misses;      /* allocations of a cached size that went to the arena */
    /* How hard the searches work: the free runs they measured, ever (an
     * allocation the fast path serves, an exact fit or twice the request
     * free at the next-fit cursor, measures none; the fit index lets a
     * search pass over the words where the request cannot start unseen; a
     * search made again, after a lost race or to confirm a failure,
     * counts again). Sampled before and after a stretch of work,
     * the difference over the allocations made is the runs measured per
     * allocation: it grows as the arena fragments. */
    size_t runs_examined;
} ca_stats;

/* What the fault handler is told. */
typedef struct ca_fault_report {
    const char *function;  /* the API function that found it, e.g. "ca_free" */
    const char *arena;     /* the arena's name, or "(none)" for ca_free_any */
    const void *pointer;   /* the pointer passed in */
    ca_fault fault;
} ca_fault_report;

typedef void (*ca_fault_handler)(const ca_fault_report *report);

/* ------------------------------------------------------- static arenas */

/*
 * CA_ARENA_DEFINE(id, name, nchunks, chunk_size, lock) — at file scope:
 * defines the storage of an arena (its region of nchunks * chunk_size bytes,
 * aligned to chunk_size, in .bss; its bookkeeping; the arena object) and
 * registers it under `name` (a string literal) before main, or when the
 * shared library that defines it is loaded; unloading it unregisters the
 * arena. No call is needed: CA_ARENA(id) is usable from the start (the
 * arena sets itself up on first use, thread-safely), and ca_arena_find(name)
 * finds it once the program runs main. chunk_size: a power of two >= 16;
 * lock: a ca_lock. CA_ARENA_DECLARE(id) in a header lets other files of the
 * same executable or library use it. A static arena cannot be destroyed,
 * and stays usable while the process exits (by destructors that run late,
 * or threads still running); unloading its shared library takes it away.
 * If its name is taken by another arena, it works (ca_arena_of and
 * ca_free_any know its memory) but ca_arena_find finds the other one.
 * In a static library (.a), a definition is linked (and registered) only if
 * the program references something of its object file: either use the
 * arena (CA_ARENA(id) through CA_ARENA_DECLARE) or any other symbol of that
 * file from the program, or link the library whole
 * (-Wl,--whole-archive libx.a -Wl,--no-whole-archive).
 */
#define CA_ARENA(id) ((ca_arena *)&ca_static_##id)
#define CA_ARENA_DECLARE(id) extern CA_PRIVATE_VISIBILITY struct ca_arena_static ca_static_##id

#define CA_ARENA_DEFINE(id, name, nchunks, chunk_size, lock)                                  \
    CA_PRIVATE_ALIGNAS(chunk_size)                                                            \
    static unsigned char ca_region_##id[(size_t)(nchunks) * (chunk_size)];                    \
    CA_PRIVATE_ALIGNAS(64) static unsigned char ca_meta_##id[CA_PRIVATE_META_BOUND(nchunks)];  \
    CA_PRIVATE_VISIBILITY struct ca_arena_static ca_static_##id = {                            \
        {0}, {"" name "", ca_region_##id, (size_t)(nchunks), (size_t)(chunk_size), (lock),    \
              ca_meta_##id, sizeof ca_meta_##id}};                                            \
    __attribute__((constructor)) static void ca_register_##id(void)                            \
    {                                                                                         \
        ca_arena_static_register(&ca_static_##id);                                            \
    }                                                                                         \
    __attribute__((destructor)) static void ca_unregister_##id(void)                           \
    {                                                                                         \
        ca_arena_static_unregister(&ca_static_##id);                                          \
    }                                                                                         \
    CA_PRIVATE_STATIC_ASSERT(((chunk_size) & ((chunk_size) - 1)) == 0 && (chunk_size) >= 16,  \
                             "CA_ARENA_DEFINE: chunk_size must be a power of two >= 16");     \
    CA_PRIVATE_STATIC_ASSERT((nchunks) > 0, "CA_ARENA_DEFINE: nchunks must be > 0");          \
    CA_PRIVATE_STATIC_ASSERT(sizeof(name) > 1, "CA_ARENA_DEFINE: the name must not be empty"); \
    CA_PRIVATE_STATIC_ASSERT(sizeof(name) <= CA_NAME_MAX + 1,                                 \
                             "CA_ARENA_DEFINE: the name is longer than CA_NAME_MAX");         \
    CA_PRIVATE_STATIC_ASSERT((lock) >= CA_LOCK_DEFAULT && (lock) <= CA_LOCK_HINT,             \
                             "CA_ARENA_DEFINE: lock must be a ca_lock")

/* ------------------------------------------------- compiler attributes */

/*
 * The allocation functions carry the attributes malloc carries, so that the
 * compiler checks their callers as it checks malloc's: with gcc -O2 -Wall,
 * memset(ca_alloc(a, 40), 0, 100) warns (alloc_size), an ignored result
 * warns (warn_unused_result), a NULL arena passed as a constant warns
 * (nonnull), and the optimizer knows a new block aliases nothing (malloc)
 * and how it is aligned (alloc_align). Each macro is empty on a compiler
 * without the attribute (tested with __has_attribute), so the header stays
 * plain C11 / C++11 for others.
 *
 * nonnull is a promise the caller makes, and the compiler may drop a NULL
 * check that follows it; the library itself is built with CA_NO_NONNULL
 * defined, so that it keeps the EINVAL answers documented below. Define
 * CA_NO_NONNULL before including this header to drop nonnull in your code
 * too (for instance to test those answers).
 *
 * alloc_size tells the compiler a block holds the bytes asked for, not the
 * whole of its chunks: to use the rest (ca_usable_size), or the chunk that
 * ca_realloc(a, p, 0) keeps, resize to it first, or the compiler may warn
 * (-Warray-bounds) and _FORTIFY_SOURCE checks may stop the program.
 */
#if defined(__has_attribute)
#define CA_PRIVATE_HAS_ATTRIBUTE(x) __has_attribute(x)
#else
#define CA_PRIVATE_HAS_ATTRIBUTE(x) 0
#endif

#if CA_PRIVATE_HAS_ATTRIBUTE(malloc)
#define CA_ATTR_MALLOC __attribute__((malloc))
#else
#define CA_ATTR_MALLOC
#endif
#if CA_PRIVATE_HAS_ATTRIBUTE(alloc_size)
#define CA_ATTR_ALLOC_SIZE(...) __attribute__((alloc_size(__VA_ARGS__)))
#else
#define CA_ATTR_ALLOC_SIZE(...)
#endif
#if CA_PRIVATE_HAS_ATTRIBUTE(alloc_align)
#define CA_ATTR_ALLOC_ALIGN(n) __attribute__((alloc_align(n)))
#else
#define CA_ATTR_ALLOC_ALIGN(n)
#endif
#if CA_PRIVATE_HAS_ATTRIBUTE(warn_unused_result)
#define CA_ATTR_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define CA_ATTR_WARN_UNUSED
#endif
#if CA_PRIVATE_HAS_ATTRIBUTE(nonnull) && !defined(CA_NO_NONNULL)
#define CA_ATTR_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define CA_ATTR_NONNULL(...)
#endif

/* ------------------------------------------------------------- arenas */

/* Bytes of bookkeeping an arena of nchunks chunks needs with this config,
 * for a separate metadata buffer (ca_config.meta). Counts the arena object,
 * the chunk map and its summaries (the same under every layer). 0 (errno
 * EINVAL) for 0 chunks or more than 2^40, a chunk size that is not a power
 * of two from 16 to 2^30 (1 GiB), a lock or fit_window out of range. O(1). */
CA_API size_t ca_arena_meta_size(size_t nchunks, const ca_config *config);

/*
 * Create an arena named `name` over [mem, mem + len), which the caller
 * keeps valid and does not otherwise touch until ca_arena_destroy. config
 * may be NULL (every default). Without a separate metadata buffer, the
 * arena's bookkeeping is carved from the front of mem and the chunks start
 * at the next chunk boundary after it.
 *
 * Fails, registering nothing, with errno:
 *   EINVAL        name or mem NULL, name empty, chunk size not a power of two
 *                 from 16 to 2^30 (1 GiB), mem not aligned to the chunk size,
 *                 meta not 64-byte aligned, lock or fit_window out of range,
 *                 [mem, mem + len) wraps the address space
 *   ENAMETOOLONG  name longer than CA_NAME_MAX
 *   EEXIST        an arena of that name exists
 *   EBUSY         [mem, mem + len) or the metadata buffer overlaps the memory
 *                 (region or bookkeeping) of a registered arena (a metadata
 *                 buffer that overlaps [mem, mem + len) itself: EINVAL)
 *   ENOMEM        len too small for one chunk (and the bookkeeping), or
 *                 meta_len too small
 * An arena holds at most 2^40 chunks: a larger region is used up to that.
 * Cost: O(chunks / 32) to clear the map, and a registry update (O(arenas)).
 */
CA_API ca_arena *ca_arena_create(const char *name, void *mem, size_t len,
                                 const ca_config *config);

/* Destroy an arena made by ca_arena_create: unregister it and give its
 * memory back to the caller. Fails with EBUSY while allocations are live
 * (ca_arena_reset first to discard them; blocks in threads' caches are not
 * live allocations, and every thread's caches of the arena, running or
 * exited, are let go of), EPERM for a static arena, EINVAL for NULL. No operation on the arena may run meanwhile or afterwards;
 * lookups that already found it finish safely first. */
CA_API int ca_arena_destroy(ca_arena *arena);

/* Free every allocation of the arena at once, and empty every thread's
 * cache of it (running threads' and exited ones'). No operation on the arena
 * may run meanwhile, and no pointer into it may be used afterwards. The
 * figures of what is live go to 0; those of what happened (bytes requested,
 * failures, grows, shrinks, moves, the peak) keep counting. O(chunks / 32). */
CA_API void ca_arena_reset(ca_arena *arena);

/* The arena registered as `name`, or NULL with errno ENOENT (EINVAL for
 * NULL). O(arenas). */
CA_API ca_arena *ca_arena_find(const char *name);

/* Put up to `max` registered arenas in out[] (in registration order, the
 * newest first) and return how many there are in all (possibly more than
 * max). A snapshot: arenas created or destroyed meanwhile may or may not be
 * in it. O(arenas). */
CA_API size_t ca_arena_list(ca_arena **out, size_t max);

/* The arena's name (valid as long as the arena). */
CA_API const char *ca_arena_name(const ca_arena *arena);

/* The registered arena whose region holds p, or NULL with errno ENOENT.
 * O(arenas). */
CA_API ca_arena *ca_arena_of(const void *p);

/* Fill *stats with the arena's figures. Counters are summed over every
 * thread; the map is scanned once (under the lock, or as a snapshot under
 * CA_LOCK_HINT), O(chunks / 32). Returns 0, or -1 with EINVAL for NULL. */
CA_API int ca_arena_stats(ca_arena *arena, ca_stats *stats);

/* Write the arena's figures, its free runs by length, and a map of its
 * occupancy to out: one character per group of chunks (at most 64 a line
 * and 16 lines), ' ' all free, '#' all used, and for a group partly used
 * one of ". : - = + * %" (emptier to fuller) when its free chunks form one
 * run, a digit 1-9 (how full, in tenths) when they form two or more
 * (fragmentation); a legend under the figures says so. The chunks of
 * blocks in threads' caches are drawn free, as ca_stats counts them.
 * Figures and map are gathered (under the lock, or read while others work under
 * CA_LOCK_HINT) before anything is printed, with no lock held. Returns 0,
 * or -1 with errno from the stream. O(chunks / 32). */
CA_API int ca_arena_dump(ca_arena *arena, FILE *out);

/* Verify every invariant of the arena (chunk map, summaries, counters).
 * Returns NULL if all hold, else a description of the first that does not.
 * The arena must be quiet (no operation in flight). O(chunks / 32). */
CA_API const char *ca_arena_check(ca_arena *arena);

/* -------------------------------------------------------- allocation */

/* Allocate `size` bytes, aligned to at least 16 (to the chunk size, in
 * fact). size 0 gives a unique pointer to one chunk. NULL with ENOMEM when
 * no run of free chunks fits (or size exceeds the arena), EINVAL for a NULL
 * arena. With caches, "no room" is after the calling thread's cached
 * blocks went back (see ENOMEM at the top). */
CA_API void *ca_alloc(ca_arena *arena, size_t size)
    CA_ATTR_MALLOC CA_ATTR_ALLOC_SIZE(2) CA_ATTR_WARN_UNUSED CA_ATTR_NONNULL(1);

/* As ca_alloc, aligned to `align`, a power of two (any: above the chunk
 * size only suitable start chunks qualify). NULL with EINVAL when align is
 * not a power of two (0 included), ENOMEM when nothing suitable is free. */
CA_API void *ca_aligned_alloc(ca_arena *arena, size_t align, size_t size)
    CA_ATTR_MALLOC CA_ATTR_ALLOC_SIZE(3) CA_ATTR_ALLOC_ALIGN(2) CA_ATTR_WARN_UNUSED
    CA_ATTR_NONNULL(1);

/* n * size zeroed bytes. NULL with ENOMEM when n * size overflows or does
 * not fit. Zeroing costs O(bytes). */
CA_API void *ca_calloc(ca_arena *arena, size_t n, size_t size)
    CA_ATTR_MALLOC CA_ATTR_ALLOC_SIZE(2, 3) CA_ATTR_WARN_UNUSED CA_ATTR_NONNULL(1);

/*
 * Resize the allocation at p to `size` bytes. In place when possible: it
 * shrinks by giving its tail back, and grows into the free chunks right
 * after it. Otherwise it allocates, copies and frees (a "move"): the new
 * block is aligned at least as the old one was asked to be. p NULL:
 * ca_alloc. size 0: keeps one chunk (it never frees). On failure (ENOMEM)
 * returns NULL and p is untouched. A bad p calls the fault handler, changes
 * nothing and returns NULL (errno EINVAL) if the handler returns.
 */
CA_API void *ca_realloc(ca_arena *arena, void *p, size_t size)
    CA_ATTR_ALLOC_SIZE(3) CA_ATTR_WARN_UNUSED CA_ATTR_NONNULL(1);

/* As ca_realloc, with the block aligned to `align` (a power of two, else
 * NULL with EINVAL): a p that is not moves, and the alignment is kept by
 * later moves (ca_realloc) as if the block had been made with it. */
CA_API void *ca_aligned_realloc(ca_arena *arena, void *p, size_t align, size_t size)
    CA_ATTR_ALLOC_SIZE(4) CA_ATTR_ALLOC_ALIGN(3) CA_ATTR_WARN_UNUSED CA_ATTR_NONNULL(1);

/* Resize in place only; never moves. Returns 0, or -1 with ENOMEM when the
 * chunks after the allocation are not free. A bad p: as ca_realloc (-1,
 * EINVAL). */
CA_API int ca_resize(ca_arena *arena, void *p, size_t size);

/* Free the allocation at p (NULL: nothing). A bad p calls the fault
 * handler and changes nothing. In an arena with caches a block of up to
 * cache_block bytes goes to the calling thread's cache (still allocated in
 * the arena, counted in chunks_cached), else back to the arena. */
CA_API void ca_free(ca_arena *arena, void *p);

/* Free the allocation at p and return CA_FAULT_NONE, or return what is
 * wrong with p and change nothing. Never calls the handler. NULL:
 * CA_FAULT_NONE. */
CA_API ca_fault ca_free_checked(ca_arena *arena, void *p);

/* Free p in whichever registered arena holds it (ca_arena_of); a p in no
 * arena calls the fault handler with CA_FAULT_FOREIGN. NULL: nothing. */
CA_API void ca_free_any(void *p);

/* Bytes usable at p: its chunks times the chunk size (>= what was asked).
 * 0 for NULL; a bad p calls the fault handler and gives 0. Under
 * AddressSanitizer or Valgrind memcheck only the bytes asked for are
 * accessible; this call makes all the bytes it returns accessible (as
 * glibc's malloc_usable_size does), so an overrun up to the usable size is
 * reported only until it is asked for. */
CA_API size_t ca_usable_size(ca_arena *arena, const void *p);

/* ------------------------------------------------- seeing inside arenas */

/* What ca_arena_walk calls for each live block: ctx as passed to the walk,
 * the block's first byte, and its usable size (what ca_usable_size would
 * say). Return 0 to go on, anything else to stop the walk. */
typedef int (*ca_block_visitor)(void *ctx, void *block, size_t usable);

/*
 * Call visitor(ctx, block, usable) for every live block of the arena, in
 * address order, each once. Returns 0 when every block was visited, the
 * visitor's value when it stopped the walk (give a positive one to tell it
 * from an error), or -1 with EINVAL for a NULL arena or visitor.
 *
 * No lock is held while the visitor runs: the walk collects up to 64
 * blocks at a time (under the arena's lock, held only for that; under
 * CA_LOCK_HINT by reading the map while others work), lets go, calls the
 * visitor for them, and goes on past the last of them. So the visitor may
 * call anything, on this arena too: free or resize the block it is given
 * or any other, allocate, even walk again. What it sees:
 *  - a quiet arena (no other thread working on it): exactly its live
 *    blocks, each with its usable size;
 *  - while other threads work: every block that stays live and unresized
 *    for the whole walk is visited once, with its size. Blocks allocated,
 *    freed or resized meanwhile may or may not be seen, and a block may be
 *    freed by its owner between being collected and being visited: touch
 *    its memory only if the program knows it is still live. Under a lock
 *    each batch of 64 is a consistent view; under CA_LOCK_HINT, a block
 *    whose multi-word claim or release is in flight can be seen with part
 *    of its extent (its upper part), as ca_free's own judgement can (see
 *    the top of this file);
 *  - blocks the visitor (or anyone) allocates beyond the walk's position
 *    may be visited; the walk still ends, as its position only moves on.
 * Blocks held in a per-thread cache (free to the program, in use to the
 * map) are not visited.
 * Cost: O(chunks / 32) map words read in all, plus O(blocks) visitor
 * calls; the lock is taken once a batch and held for at most 64 blocks or
 * 256 map words without one.
 */
CA_API int ca_arena_walk(ca_arena *arena, ca_block_visitor visitor, void *ctx);

/*
 * Write the arena's figures to out as a JSON document (UTF-8): an object
 * whose first member is "version" (1), then "arenas", an array with one
 * object of the arena's figures: the fields of ca_stats under their names
 * (the layer by name), numbers as numbers, and "free_run_histogram" as an
 * array of {"from", "to", "runs"} classes up to the longest run. The
 * schema is docs/STATS-JSON.md. Bytes of the name that are not UTF-8 come
 * out as U+FFFD. The figures are gathered first (as ca_arena_stats), then
 * written with no lock held. Returns 0, or -1 with EINVAL for a NULL
 * arena or stream, or errno from the stream. O(chunks / 32).
 */
CA_API int ca_arena_stats_json(ca_arena *arena, FILE *out);

/* The same document with one object a registered arena, in registration
 * order (newest first): a snapshot, as ca_arena_list. The figures of every
 * arena are gathered first (reading the registry as ca_arena_list does),
 * then written with no lock held. Every arena, CA_LOCK_NONE ones included,
 * is read: none may be in use by another thread meanwhile. Returns 0, or
 * -1 with EINVAL for a NULL stream, ENOMEM when the snapshot's memory
 * cannot be allocated, or errno from the stream. O(arenas + their chunks
 * / 32), and a malloc of O(arenas). */
CA_API int ca_stats_json_all(FILE *out);

/*
 * Draw the arena's occupancy as an SVG image (a standalone document; any
 * web browser shows it) on out: one square a chunk, or a group of chunks
 * for an arena of more than 4096, 64 squares a row; its name, layer and
 * headline figures, its free runs by length, and a legend. For single
 * chunks: free, an allocation's first chunk, and its other chunks each get
 * a colour, so allocations and holes show one by one; for groups, shades
 * of blue say how full a group is when its free chunks form one run, and
 * shades of orange when they are split into several (fragmentation).
 * Cached blocks are drawn free, as in ca_arena_dump. Gathered first, written with no lock held, as ca_arena_stats_json.
 * Returns 0, or -1 with EINVAL for a NULL arena or stream, ENOMEM when
 * the picture's memory cannot be allocated, or errno from the stream.
 * O(chunks / 32), and a malloc of about 100 KiB.
 */
CA_API int ca_arena_map_svg(ca_arena *arena, FILE *out);

/* One SVG image of every registered arena, one under the other (a
 * snapshot, as ca_stats_json_all, with its rules). Returns as
 * ca_arena_map_svg. */
CA_API int ca_map_svg_all(FILE *out);

/* ------------------------------------------------------------- faults */

/* Install `handler` (NULL: the default: print one line naming the
 * function, the arena, the pointer and the fault to stderr, then abort)
 * and return the previous one. The handler runs in the thread that found
 * the fault, with no lock of the library held; if it returns, the call that
 * found the fault returns without changing anything. Process-wide. */
CA_API ca_fault_handler ca_set_fault_handler(ca_fault_handler handler);

/* A short description of a fault, e.g. "interior pointer"; "unknown fault"
 * for a value that is not a ca_fault. */
CA_API const char *ca_fault_name(ca_fault fault);

/* The name of a layer: "default", "none", "spin", "ticket", "mutex", "hint";
 * "unknown lock" for a value that is not a ca_lock. */
CA_API const char *ca_lock_name(ca_lock lock);

/* The version of the library actually loaded, as CA_VERSION (the headers'
 * version, chunkarena_version.h) gives it: major * 10000 + minor * 100 +
 * patch. O(1), thread-safe. */
CA_API int ca_version(void);

/* ------------------------------------- private: for CA_ARENA_DEFINE only */

/* Everything below is used by the macros above; it is not part of the
 * interface and may change in any release. Do not touch the fields. */

#if defined(__GNUC__) || defined(__clang__)
#define CA_PRIVATE_VISIBILITY __attribute__((visibility("hidden")))
#else
#define CA_PRIVATE_VISIBILITY
#endif

/* C11 and C++11 spell alignment and compile-time checks differently. */
#ifdef __cplusplus
#define CA_PRIVATE_ALIGNAS(n) alignas(n)
#define CA_PRIVATE_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define CA_PRIVATE_ALIGNAS(n) _Alignas(n)
#define CA_PRIVATE_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Room for the arena object of a static arena. */
#define CA_PRIVATE_OBJECT_BYTES 1024

/* An upper bound, in bytes, on the bookkeeping of nchunks chunks under any
 * layer: 2 bits a chunk of map, 1 bit a chunk for over-aligned starts, 1
 * bit a chunk for blocks held in per-thread caches, 1 byte per 32 chunks
 * of the search's index, summaries, and 8 KiB of room for alignment
 * (generous: it once held the hint layer's per-thread slots, which now
 * live outside the arena). The library checks at set-up that the real
 * need fits. */
#define CA_PRIVATE_META_BOUND(n) \
    ((size_t)(n) / 4u + (size_t)(n) / 4u + (size_t)(n) / 32u + (size_t)(n) / 64u + 8192u + 128u)

struct ca_arena_static_desc {
    const char *name;
    void *region;
    size_t nchunks;
    size_t chunk_size;
    ca_lock lock;
    void *meta;
    size_t meta_len;
};

struct ca_arena_static {
    CA_PRIVATE_ALIGNAS(64) unsigned char object[CA_PRIVATE_OBJECT_BYTES]; /* first: the handle points here */
    struct ca_arena_static_desc desc;
};

CA_API void ca_arena_static_register(struct ca_arena_static *s);
CA_API void ca_arena_static_unregister(struct ca_arena_static *s);

#ifdef __cplusplus
}
#endif

#endif /* CHUNKARENA_H */
