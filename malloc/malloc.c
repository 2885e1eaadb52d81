/* SPDX-License-Identifier: MIT */
/*
 * malloc/malloc.c — the malloc family over chunkarena arenas: the
 * reservation, the size classes and their slices, the gate that fork()
 * and the exit check close, and every entry point.
 *
 * Thread safety: every entry point may be called from any thread at any
 * time, before main, during exit, in a forked child, and from inside the
 * library's own first use (the hint layer may ask calloc for a thread's
 * key storage). Set-up runs once: `state` goes UNSET -> SETTING -> READY by
 * CAS, whoever comes first; set-up itself never allocates, so no thread
 * can wait on itself. Each operation passes the gate (a count per shard of
 * threads, see gate_enter) so that a fork sees no operation in flight, in
 * any layer, the lock-free one included.
 */
#define _GNU_SOURCE
#include "config.h"

#include "malloc/internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's own allocator, for pointers that came from it (see foreign()). */
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t size);

#define CA_TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* What malloc promises: alignof(max_align_t); the tiny class's chunk. */
#define TINY_CHUNK 16u
_Static_assert(alignof(max_align_t) <= TINY_CHUNK, "the tiny chunk keeps max_align_t aligned");
/* Tiny requests: up to one map word of 16-byte chunks. */
#define TINY_MAX (32u * TINY_CHUNK)
/* The main class serves up to this many of its chunks; beyond is huge. */
#define MAIN_MAX_CHUNKS 256u
/* The huge class's smallest chunk: a page. */
#define HUGE_MIN_CHUNK 4096u
/* The reservation's alignment: a slice must start on its chunk size. */
#define RESERVE_ALIGN ((size_t)2 << 20)
/* The smallest reservation tried when the asked one is refused. */
#define RESERVE_MIN ((size_t)64 << 20)

ca_malloc_settings ca_malloc_set;
ca_malloc_class ca_malloc_classes[CA_MALLOC_CLASSES] = {
    {.name = "malloc-tiny", .grow = PTHREAD_MUTEX_INITIALIZER},
    {.name = "malloc", .grow = PTHREAD_MUTEX_INITIALIZER},
    {.name = "malloc-huge", .grow = PTHREAD_MUTEX_INITIALIZER},
};

static unsigned char *region; /* the reservation */
static size_t region_len;

enum { UNSET, SETTING, READY, FAILED };
static _Atomic int state;

/* ------------------------------------------------------------ the gate */

/*
 * Every operation counts itself in the shard of its thread while it runs;
 * closing the gate raises `closed` and waits for every shard to drain.
 * That is a store-then-load on each side (an operation adds, then reads
 * `closed`; the closer writes `closed`, then reads the counts), so all four
 * accesses are seq_cst: in their single total order, either the closer
 * sees the count, or the operation sees `closed` and backs out. Shards
 * keep threads from writing one cache line: the cost is one uncontended
 * atomic add and subtract an operation. A thread already inside (the hint
 * layer calling calloc for a thread key, say) passes at once: it must not
 * wait for a closer that waits for it.
 */
#define GATE_SHARDS 32u

static struct {
    _Alignas(64) _Atomic size_t busy;
} shards[GATE_SHARDS];
static _Atomic bool closed;
static _Atomic unsigned threads_seen;
static CA_TLS unsigned my_shard; /* 1 + index; 0 until first used */
static CA_TLS unsigned depth;    /* operations of this thread in flight */
static CA_TLS bool keeper;       /* this thread closed the gate */

static inline void gate_enter(void)
{
    if (depth++ > 0 || keeper)
        return;
    if (my_shard == 0)
        my_shard = 1u + atomic_fetch_add_explicit(&threads_seen, 1u, memory_order_relaxed) %
                            GATE_SHARDS;
    _Atomic size_t *busy = &shards[my_shard - 1u].busy;
    for (;;) {
        atomic_fetch_add_explicit(busy, 1, memory_order_seq_cst);
        if (!atomic_load_explicit(&closed, memory_order_seq_cst))
            return;
        /* release: pairs with the closer's acquire of the count (nothing
         * was done, but the order costs nothing here) */
        atomic_fetch_sub_explicit(busy, 1, memory_order_release);
        /* acquire: pairs with gate_open's release: what the closer did
         * (a fork's child set-up, the check) happens-before us */
        while (atomic_load_explicit(&closed, memory_order_acquire))
            sched_yield();
    }
}

static inline void gate_leave(void)
{
    if (--depth > 0 || keeper)
        return;
    /* release: pairs with the closer's seq_cst (acquire) read of the
     * count: the operation's writes happen-before the fork or the check */
    atomic_fetch_sub_explicit(&shards[my_shard - 1u].busy, 1, memory_order_release);
}

void ca_malloc_gate_close(void)
{
    atomic_store_explicit(&closed, true, memory_order_seq_cst);
    keeper = true;
    for (unsigned i = 0; i < GATE_SHARDS; i++)
        while (atomic_load_explicit(&shards[i].busy, memory_order_seq_cst) != 0)
            sched_yield();
}

void ca_malloc_gate_open(void)
{
    keeper = false;
    /* release: pairs with the acquire wait of gate_enter */
    atomic_store_explicit(&closed, false, memory_order_release);
}

/* ---------------------------------------------------------- fork */

/* prepare: drain the gate, then take every lock an operation or a lookup
 * can hold: each class's growth mutex, the registry's writer lock (which
 * excludes readers too without liburcu), the hint layer's live list. The
 * parent and the child release them in reverse; the child inherits arenas
 * with no operation half done, whatever the layer. */
static void fork_prepare(void)
{
    ca_malloc_gate_close();
    for (unsigned c = 0; c < CA_MALLOC_CLASSES; c++)
        pthread_mutex_lock(&ca_malloc_classes[c].grow);
    ca_registry_lock();
    ca_cache_fork_lock();
    ca_sync_hint_fork_lock();
}

static void fork_release(void)
{
    ca_sync_hint_fork_unlock();
    ca_cache_fork_unlock();
    ca_registry_unlock();
    for (unsigned c = CA_MALLOC_CLASSES; c-- > 0;)
        pthread_mutex_unlock(&ca_malloc_classes[c].grow);
    ca_malloc_gate_open();
}

/* ---------------------------------------------------------- set-up */

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* Reserve `want` bytes (aligned to RESERVE_ALIGN), halving while the
 * system refuses (a strict overcommit policy, a ulimit -v). */
static bool reserve(size_t want)
{
    for (size_t len = want; len >= RESERVE_MIN; len /= 2) {
        void *m = mmap(NULL, len + RESERVE_ALIGN, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            continue;
        region = (unsigned char *)align_up((uintptr_t)m, RESERVE_ALIGN);
        region_len = len;
        return true;
    }
    return false;
}

/* Cut the reservation: tiny 1/8, main 3/8, huge 1/2; first slices of 4,
 * 64 and 64 MiB (less in a small reservation). Each part is a multiple of
 * RESERVE_ALIGN, so every slice starts on its chunk size. */
static void lay_out(void)
{
    static const unsigned eighths[CA_MALLOC_CLASSES] = {1, 3, 4};
    static const size_t firsts[CA_MALLOC_CLASSES] = {(size_t)4 << 20, (size_t)64 << 20,
                                                     (size_t)64 << 20};
    size_t main_chunk = ca_malloc_set.chunk;
    size_t chunks[CA_MALLOC_CLASSES] = {TINY_CHUNK, main_chunk,
                                        main_chunk > HUGE_MIN_CHUNK ? main_chunk : HUGE_MIN_CHUNK};
    size_t maxes[CA_MALLOC_CLASSES] = {TINY_MAX, main_chunk * MAIN_MAX_CHUNKS, SIZE_MAX};
    unsigned char *at = region;
    for (unsigned c = 0; c < CA_MALLOC_CLASSES; c++) {
        ca_malloc_class *k = &ca_malloc_classes[c];
        size_t len = c + 1 < CA_MALLOC_CLASSES
                         ? region_len / 8 * eighths[c] / RESERVE_ALIGN * RESERVE_ALIGN
                         : region_len - (size_t)(at - region);
        k->base = at;
        k->len = len;
        k->chunk = chunks[c];
        k->max = maxes[c];
        k->first = firsts[c] < len ? firsts[c] : len;
        /* slices whose start is inside the part: first * (2^n - 1) < len */
        unsigned n = 1;
        while (n < CA_MALLOC_SLICES && k->first * (((size_t)1 << n) - 1) < len)
            n++;
        k->nslices = k->first * (((size_t)1 << (n - 1)) - 1) < len ? n : n - 1;
        at += len;
    }
}

static void create_slice(ca_malloc_class *k, unsigned i);

static void set_up(void)
{
    int saved = errno;
    ca_malloc_read_env(&ca_malloc_set);
    bool ok = reserve(ca_malloc_set.size);
    if (ok) {
        lay_out();
        for (unsigned c = 0; c < CA_MALLOC_CLASSES; c++)
            create_slice(&ca_malloc_classes[c], 0);
        ok = atomic_load_explicit(&ca_malloc_classes[0].made, memory_order_relaxed) > 0;
    }
    if (!ok)
        ca_malloc_say("chunkarena-malloc: cannot reserve or set up its memory: every "
                      "allocation fails (ENOMEM)\n");
    /* release: pairs with the acquire loads of ready(): the settings, the
     * layout and the first slices are seen whole */
    atomic_store_explicit(&state, ok ? READY : FAILED, memory_order_release);
    if (ok) /* may allocate (it would find the library ready) */
        (void)pthread_atfork(fork_prepare, fork_release, fork_release);
    errno = saved;
}

/* Whether the library can serve: set it up on first use. */
static inline bool ready(void)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (__builtin_expect(s == READY, 1))
        return true;
    if (s == UNSET) {
        int unset = UNSET;
        if (atomic_compare_exchange_strong_explicit(&state, &unset, SETTING, memory_order_acquire,
                                                    memory_order_acquire)) {
            set_up();
            return atomic_load_explicit(&state, memory_order_relaxed) == READY;
        }
        s = unset;
    }
    while (s == SETTING) { /* another thread is setting up: microseconds */
        sched_yield();
        s = atomic_load_explicit(&state, memory_order_acquire);
    }
    return s == READY;
}

/* Set up while the program loads, before its threads exist. */
__attribute__((constructor)) static void load(void)
{
    (void)ready();
}

__attribute__((destructor)) static void unload(void)
{
    if (atomic_load_explicit(&state, memory_order_acquire) == READY)
        ca_malloc_at_exit();
}

/* ---------------------------------------------------------- slices */

static void slice_name(char *out, const char *name, unsigned i)
{
    size_t n = strlen(name);
    memcpy(out, name, n);
    if (i > 0) {
        out[n++] = '.';
        if (i >= 10)
            out[n++] = (char)('0' + i / 10);
        out[n++] = (char)('0' + i % 10);
    }
    out[n] = '\0';
}

/* Create slice i of k (the caller holds k->grow, or is the set-up). */
static void create_slice(ca_malloc_class *k, unsigned i)
{
    size_t start = k->first * (((size_t)1 << i) - 1);
    size_t len = i + 1 == k->nslices ? k->len - start : k->first << i;
    char name[CA_NAME_MAX + 1];
    slice_name(name, k->name, i);
    /* A window of 1, pure next fit: in slices kept dense (see restart),
     * comparing 4 fitting runs cost more searching than it saved (W2
     * through malloc: 1.4 Mops/s against 0.5 with the default window). */
    ca_config cfg = {.chunk_size = k->chunk, .lock = ca_malloc_set.lock, .fit_window = 1};
    int saved = errno;
    ca_arena *a = ca_arena_create(name, k->base + start, len, &cfg);
    errno = saved;
    if (!a)
        return;
    k->slice[i] = a;
    /* release: pairs with the acquire loads of `made`: whoever sees the
     * count sees the slice */
    atomic_store_explicit(&k->made, i + 1, memory_order_release);
}

/* Slices of k after the `seen` first ones are full: create the next, if
 * nobody did meanwhile; the count now. */
static unsigned grow(ca_malloc_class *k, unsigned seen)
{
    pthread_mutex_lock(&k->grow);
    unsigned made = atomic_load_explicit(&k->made, memory_order_acquire); /* pairs with create_slice */
    if (made == seen && made < k->nslices) {
        create_slice(k, made);
        made = atomic_load_explicit(&k->made, memory_order_relaxed);
    }
    pthread_mutex_unlock(&k->grow);
    return made;
}

/* The class that serves `size` first. */
static inline unsigned class_of(size_t size)
{
    if (size <= TINY_MAX)
        return 0;
    return size <= ca_malloc_classes[1].max ? 1 : 2;
}

/* Where p is: its class and arena; false for a pointer outside the
 * reservation. */
static inline bool locate(const void *p, ca_malloc_class **kp, ca_arena **ap)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)region;
    if (off >= region_len)
        return false;
    ca_malloc_class *k = &ca_malloc_classes[0];
    while ((uintptr_t)p - (uintptr_t)k->base >= k->len)
        k++;
    size_t units = ((uintptr_t)p - (uintptr_t)k->base) / k->first + 1;
    unsigned i = 63u - (unsigned)__builtin_clzll((unsigned long long)units);
    if (i >= k->nslices)
        i = k->nslices - 1;
    /* acquire: pairs with create_slice's release (a slice not yet made
     * holds no allocation: p is bad) */
    if (i >= atomic_load_explicit(&k->made, memory_order_acquire))
        return false;
    *kp = k;
    *ap = k->slice[i];
    return true;
}

/*
 * Where this thread starts its search in each class: the slice where its
 * last allocation there succeeded. Starting from the first slice every
 * time would reuse low memory soonest, but a full slice is expensive to
 * fail in while it churns: the core fails in O(1) only against an exact
 * bound on its longest free run, and every allocation that takes the
 * longest run leaves the bound stale, so the next request larger than
 * what is left scans the slice's free runs (measured: W2 through malloc
 * ran 8 times slower than on one arena). So a thread stays where it last
 * found room. Every RESTART allocations it goes back to the first slice of
 * each class and sends its next fit in every slice back to the start of
 * its lane (ca_sync_arena_rewind): next fit alone walks a whole slice
 * before it reuses what was freed behind it, touching every page of it
 * (sqlite3's test: 75 MiB resident against glibc's 8), where the rewind
 * keeps the walk near the memory in use (11 MiB) for one longer search in
 * RESTART calls (W2: 1.6 Mops/s against 3.8 without it, see
 * docs/PERFORMANCE.md).
 */
#define RESTART 64u
_Static_assert(CA_MALLOC_SLICES <= 255, "a slice index fits start_at");
static CA_TLS unsigned char start_at[CA_MALLOC_CLASSES];
static CA_TLS unsigned allocations;

/* Every class: start again from slice 0, and every slice's next fit from
 * the start of this thread's lane. */
static void restart(void)
{
    for (unsigned c = 0; c < CA_MALLOC_CLASSES; c++) {
        ca_malloc_class *k = &ca_malloc_classes[c];
        /* acquire: pairs with create_slice's release */
        unsigned n = atomic_load_explicit(&k->made, memory_order_acquire);
        start_at[c] = 0;
        for (unsigned i = 0; i < n; i++)
            ca_sync_arena_rewind(&k->slice[i]->sync);
    }
}

/* Try slices [from, to) of k; the slice that served, or -1. */
static inline int try_slices(ca_malloc_class *k, unsigned from, unsigned to, size_t size,
                             size_t align, void **out)
{
    for (unsigned i = from; i < to; i++) {
        void *p = align ? ca_aligned_alloc(k->slice[i], align, size) : ca_alloc(k->slice[i], size);
        if (p) {
            *out = p;
            return (int)i;
        }
    }
    return -1;
}

/* Allocate from class c: its slices from this thread's start to the last,
 * then those before the start, then a new slice when every one is full;
 * then the larger classes. NULL when nothing fits (errno is the caller's
 * to set). */
static void *alloc_from(unsigned c, size_t size, size_t align)
{
    if (++allocations % RESTART == 0)
        restart();
    for (; c < CA_MALLOC_CLASSES; c++) {
        ca_malloc_class *k = &ca_malloc_classes[c];
        /* acquire: pairs with create_slice's release */
        unsigned n = atomic_load_explicit(&k->made, memory_order_acquire);
        unsigned from = start_at[c] < n ? start_at[c] : 0;
        void *p = NULL;
        int at = try_slices(k, from, n, size, align, &p);
        if (at < 0)
            at = try_slices(k, 0, from, size, align, &p);
        while (at < 0) {
            unsigned seen = n;
            if ((n = grow(k, seen)) == seen)
                break; /* the class is full */
            at = try_slices(k, seen, n, size, align, &p);
        }
        if (at >= 0) {
            start_at[c] = (unsigned char)at;
            return p;
        }
    }
    return NULL;
}

/* An allocation of size bytes aligned to align (0: the chunk's), from the
 * gate in to the gate out; errno ENOMEM on failure, untouched on success. */
static void *allocate(size_t size, size_t align)
{
    if (!ready()) {
        errno = ENOMEM;
        return NULL;
    }
    int saved = errno;
    gate_enter();
    void *p = alloc_from(class_of(size > align ? size : align), size, align);
    gate_leave();
    errno = p ? saved : ENOMEM;
    return p;
}

/* ------------------------------------------------------ foreign pointers */

/*
 * A pointer outside the reservation. It can be honest: memory glibc's own
 * malloc handed out before this library was bound (ld.so's start-up, or a
 * library that called __libc_malloc directly) and that the program now
 * frees. glibc's malloc says whether it ever handed out anything
 * (mallinfo2: its arenas and mmapped blocks); when it did, the pointer is
 * taken for one of those and given back to it (which judges it itself, and
 * aborts on a bad one with its own message). When it never did, the
 * pointer is bad: reported as a foreign pointer.
 */
static bool glibc_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.arena != 0 || mi.hblks != 0;
}

/* ---------------------------------------------------------- the family */

void *malloc(size_t size)
{
    return allocate(size, 0);
}

void free(void *p)
{
    if (!p)
        return;
    ca_malloc_class *k;
    ca_arena *a;
    if (!locate(p, &k, &a)) {
        if (glibc_used())
            __libc_free(p);
        else
            ca_malloc_fault("free", p, CA_FAULT_FOREIGN);
        return;
    }
    int saved = errno;
    gate_enter();
    ca_fault f = ca_free_checked(a, p);
    gate_leave();
    errno = saved;
    if (f != CA_FAULT_NONE)
        ca_malloc_fault("free", p, f);
}

void *calloc(size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = allocate(bytes, 0);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *realloc(void *p, size_t size)
{
    if (!p)
        return allocate(size, 0);
    if (size == 0) { /* glibc: free, and NULL */
        free(p);
        return NULL;
    }
    ca_malloc_class *k;
    ca_arena *a;
    if (!locate(p, &k, &a)) {
        if (glibc_used())
            return __libc_realloc(p, size);
        ca_malloc_fault("realloc", p, CA_FAULT_FOREIGN);
        errno = EINVAL;
        return NULL;
    }
    int saved = errno;
    gate_enter();
    /* In place while the new size belongs to p's class or a smaller one
     * (a shrink gives its tail back); a block outgrowing its class moves
     * up, to chunks its size suits. */
    ca_core_status st = CA_CORE_NOMEM;
    unsigned want = class_of(size);
    if (&ca_malloc_classes[want] <= k)
        st = ca_sync_arena_resize(&a->sync, p, size);
    void *q = p;
    size_t old = 0;
    if (st == CA_CORE_NOMEM)
        st = ca_sync_arena_usable(&a->sync, p, &old);
    if (st == CA_CORE_OK && q == p && old != 0) {
        q = alloc_from(want, size, 0);
        if (q) {
            memcpy(q, p, old < size ? old : size);
            (void)ca_free_checked(a, p);
        }
    }
    gate_leave();
    if (st != CA_CORE_OK) {
        ca_malloc_fault("realloc", p, ca_api_fault_of(st));
        errno = EINVAL;
        return NULL;
    }
    errno = q ? saved : ENOMEM;
    return q;
}

void *reallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}

static bool power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* glibc's memalign: an alignment below the chunk's is the chunk's, one
 * that is not a power of two is rounded up to one. */
void *memalign(size_t align, size_t size)
{
    if (align <= TINY_CHUNK)
        return allocate(size, 0);
    if (!power_of_two(align)) {
        if (align > SIZE_MAX / 2 + 1) {
            errno = EINVAL;
            return NULL;
        }
        align = (size_t)1 << (64 - __builtin_clzll((unsigned long long)align));
    }
    return allocate(size, align);
}

void *aligned_alloc(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = memalign(align, size);
    if (!p) {
        errno = saved; /* posix_memalign reports through its value */
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign(page, size ? align_up(size, page) : page);
}

size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    ca_malloc_class *k;
    ca_arena *a;
    if (!locate(p, &k, &a)) {
        if (glibc_used()) { /* glibc's own, found past this library's definition */
            size_t (*usable)(void *);
            void *sym = dlsym(RTLD_NEXT, "malloc_usable_size");
            memcpy(&usable, &sym, sizeof usable);
            return sym ? usable(p) : 0;
        }
        ca_malloc_fault("malloc_usable_size", p, CA_FAULT_FOREIGN);
        return 0;
    }
    size_t bytes = 0;
    gate_enter();
    ca_core_status st = ca_sync_arena_usable(&a->sync, p, &bytes);
    gate_leave();
    if (st != CA_CORE_OK) {
        ca_malloc_fault("malloc_usable_size", p, ca_api_fault_of(st));
        return 0;
    }
    return bytes;
}

/* C23's sized frees: the size (and alignment) are hints this allocator
 * does not need. Declared here: glibc's headers know them from 2.41. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);

void free_sized(void *p, size_t size)
{
    (void)size;
    free(p);
}

void free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    free(p);
}
