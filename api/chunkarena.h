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
 *   CA_LOCK_HINT    lock-free: compare-and-swap claims, per-thread next-fit hints.
 *                   Its limits today: 32 threads per arena get a slot (a
 *                   next-fit hint and counters) of their own, more share one
 *                   overflow slot; a thread keeps its slots in up to 8 arenas
 *                   at once (more make it give one up and claim again); each
 *                   arena needs about 4 KiB more bookkeeping (the slots)
 *   CA_LOCK_DEFAULT the layer chosen by ./configure --with-lock (hint unless changed)
 *
 * The bookkeeping is a bitmap of chunks kept outside the region, so a buffer
 * overrun in user memory never corrupts the arena. An allocation of n bytes
 * takes ceil(n / chunk size) contiguous chunks (one for n == 0). free needs
 * no size, and tells a valid pointer from a foreign one, an interior one and
 * one freed already: a checked variant returns the fault, the plain one
 * calls the fault handler (by default: one line on stderr, then abort).
 *
 * Costs: an allocation searches from a next-fit hint and compares a bounded
 * window of fitting runs; one that cannot fit fails in O(1) once the arena
 * knows its longest free run, else after one scan of the free runs (a few
 * microseconds on a full 160 MiB arena). free and resize cost O(chunks / 32)
 * of the allocation. Lookups by name or address walk the registry, O(arenas).
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
 * Errors: functions that return a pointer return NULL and set errno; those
 * that return int return 0 on success and -1 with errno set. errno is left
 * alone on success.
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
} ca_config;

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

/* ------------------------------------------------------------- arenas */

/* Bytes of bookkeeping an arena of nchunks chunks needs with this config,
 * for a separate metadata buffer (ca_config.meta). Counts the arena object,
 * the chunk map and its summaries, and the per-thread slots of
 * CA_LOCK_HINT. 0 (errno EINVAL) for 0 chunks or more than 2^40, a chunk
 * size that is not a power of two from 16 to 2^30 (1 GiB), a lock or
 * fit_window out of range. O(1). */
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
 * (ca_arena_reset first to discard them), EPERM for a static arena, EINVAL
 * for NULL. No operation on the arena may run meanwhile or afterwards;
 * lookups that already found it finish safely first. */
CA_API int ca_arena_destroy(ca_arena *arena);

/* Free every allocation of the arena at once. No operation on the arena
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

/* Write the arena's figures and a map of its occupancy (one character per
 * group of chunks, from ' ' empty to '#' full) to out. Returns 0, or -1
 * with errno from the stream. O(chunks / 32). */
CA_API int ca_arena_dump(ca_arena *arena, FILE *out);

/* Verify every invariant of the arena (chunk map, summaries, counters).
 * Returns NULL if all hold, else a description of the first that does not.
 * The arena must be quiet (no operation in flight). O(chunks / 32). */
CA_API const char *ca_arena_check(ca_arena *arena);

/* -------------------------------------------------------- allocation */

/* Allocate `size` bytes, aligned to at least 16 (to the chunk size, in
 * fact). size 0 gives a unique pointer to one chunk. NULL with ENOMEM when
 * no run of free chunks fits (or size exceeds the arena), EINVAL for a NULL
 * arena. */
CA_API void *ca_alloc(ca_arena *arena, size_t size);

/* As ca_alloc, aligned to `align`, a power of two (any: above the chunk
 * size only suitable start chunks qualify). NULL with EINVAL when align is
 * not a power of two (0 included), ENOMEM when nothing suitable is free. */
CA_API void *ca_aligned_alloc(ca_arena *arena, size_t align, size_t size);

/* n * size zeroed bytes. NULL with ENOMEM when n * size overflows or does
 * not fit. Zeroing costs O(bytes). */
CA_API void *ca_calloc(ca_arena *arena, size_t n, size_t size);

/*
 * Resize the allocation at p to `size` bytes. In place when possible: it
 * shrinks by giving its tail back, and grows into the free chunks right
 * after it. Otherwise it allocates, copies and frees (a "move"): the new
 * block is aligned at least as the old one was asked to be. p NULL:
 * ca_alloc. size 0: keeps one chunk (it never frees). On failure (ENOMEM)
 * returns NULL and p is untouched. A bad p calls the fault handler, changes
 * nothing and returns NULL (errno EINVAL) if the handler returns.
 */
CA_API void *ca_realloc(ca_arena *arena, void *p, size_t size);

/* As ca_realloc, with the block aligned to `align` (a power of two, else
 * NULL with EINVAL): a p that is not moves, and the alignment is kept by
 * later moves (ca_realloc) as if the block had been made with it. */
CA_API void *ca_aligned_realloc(ca_arena *arena, void *p, size_t align, size_t size);

/* Resize in place only; never moves. Returns 0, or -1 with ENOMEM when the
 * chunks after the allocation are not free. A bad p: as ca_realloc (-1,
 * EINVAL). */
CA_API int ca_resize(ca_arena *arena, void *p, size_t size);

/* Free the allocation at p (NULL: nothing). A bad p calls the fault
 * handler and changes nothing. */
CA_API void ca_free(ca_arena *arena, void *p);

/* Free the allocation at p and return CA_FAULT_NONE, or return what is
 * wrong with p and change nothing. Never calls the handler. NULL:
 * CA_FAULT_NONE. */
CA_API ca_fault ca_free_checked(ca_arena *arena, void *p);

/* Free p in whichever registered arena holds it (ca_arena_of); a p in no
 * arena calls the fault handler with CA_FAULT_FOREIGN. NULL: nothing. */
CA_API void ca_free_any(void *p);

/* Bytes usable at p: its chunks times the chunk size (>= what was asked).
 * 0 for NULL; a bad p calls the fault handler and gives 0. */
CA_API size_t ca_usable_size(ca_arena *arena, const void *p);

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

#define CA_PRIVATE_VISIBILITY __attribute__((visibility("hidden")))

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
 * layer: 2 bits a chunk of map, 1 bit a chunk for over-aligned starts,
 * summaries, and 8 KiB of per-thread slots and alignment. The library
 * checks at set-up that the real need fits. */
#define CA_PRIVATE_META_BOUND(n) \
    ((size_t)(n) / 4u + (size_t)(n) / 8u + (size_t)(n) / 64u + 8192u + 64u)

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
