/* SPDX-License-Identifier: MIT */
/*
 * stress/region.c — the stress harness (stress/stress.h), what every phase
 * shares: the defaults, a region (an arena as the harness sees it: its chunks,
 * owner map and the arena behind it, sync or public, reached through the
 * region_* wrappers), the small helpers, violations, the patterns, the owner
 * map, the fault handler of phase api, and a thread's slots.
 */
#include "stress/stress.h"

/* ---- defaults and limits ---- */

/* ---- what a phase works on ---- */

const char *const phase_names[] = {"pattern", "hammer", "api"};

_Atomic unsigned printed; /* violation messages printed so far */

/* ---- small helpers ---- */

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nap(long nanoseconds)
{
    struct timespec ts = {0, nanoseconds};
    nanosleep(&ts, NULL);
}

__attribute__((noreturn)) void out_of_memory(void)
{
    fprintf(stderr, "ca-stress: out of memory\n");
    exit(1);
}

uint64_t below(worker *w, uint64_t n)
{
    return ca_splitmix64_below(&w->rng, n);
}

uint64_t derive(uint64_t seed, unsigned layer, phase ph, unsigned tid)
{
    ca_splitmix64 g = ca_splitmix64_seed(seed ^ ((uint64_t)layer << 56) ^ ((uint64_t)ph << 48) ^
                                         ((uint64_t)tid << 16));
    return ca_splitmix64_next(&g);
}

const char *status_name(ca_core_status st)
{
    static const char *const names[] = {"OK",      "NOMEM",     "BADALIGN",   "RETRY",
                                        "FOREIGN", "INTERIOR",  "NOTALLOC",   "BADCHUNK",
                                        "MISALIGNED", "TOOSMALL", "TOOLARGE", "BADWINDOW"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* Chunks an allocation of `size` bytes takes: max(1, ceil(size / cs)). */
size_t chunks_for(const region *g, size_t size)
{
    return size == 0 ? 1 : (size - 1) / g->cs + 1;
}

size_t chunk_of(const region *g, const unsigned char *p)
{
    return (size_t)(p - g->base) >> g->shift;
}

/* Round n up to a multiple of m (a power of two). */
size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) & ~(m - 1);
}

/* Memory for len bytes at a multiple of cs (a power of two), placed at a
 * random chunk within a 4 KiB page, so that alignments above the chunk size
 * meet a start not aligned to them. *block is what to free. */
unsigned char *place(ca_splitmix64 *g, size_t len, size_t cs, void **block)
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
unsigned draw_window(ca_splitmix64 *g)
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
__attribute__((format(printf, 2, 3))) void violation(worker *w, const char *fmt, ...)
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
__attribute__((format(printf, 2, 3))) void main_violation(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(r, "thread=main", fmt, ap);
    va_end(ap);
}

static uint64_t make_tag(unsigned id, uint64_t seq)
{
    return ((uint64_t)id << 52) | ((seq & SEQ_MASK) << 16);
}

/* The thread and sequence number a tag (or an unsalted word) names. */
unsigned tag_thread(uint64_t tag)
{
    return (unsigned)(tag >> 52);
}

static uint64_t tag_seq(uint64_t tag)
{
    return (tag >> 16) & SEQ_MASK;
}

/* Write the pattern over bytes [from, to) of p (multiples of 8). */
void fill(unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    uint64_t *q = (uint64_t *)(void *)p;
    for (size_t j = from / 8; j < to / 8; j++)
        q[j] = pattern_word(tag, j);
}

/* Verify bytes [0, len) of p, in region g, against the pattern of `tag`;
 * report the first broken word, naming who wrote it. */
bool verify(worker *w, const region *g, const unsigned char *p, uint64_t tag, size_t len,
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
void take(worker *w, region *g, const unsigned char *p, size_t from, size_t to)
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
void drop(worker *w, region *g, const unsigned char *p, size_t from, size_t to)
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
bool foreign(const worker *w, const region *g, size_t c)
{
    unsigned o = atomic_load_explicit(&g->owner[c], memory_order_relaxed);
    return o != 0 && o != w->id + 1u;
}

_Thread_local fault_log faults_here;
_Thread_local worker *this_worker; /* the worker this thread runs, for the handler */
_Atomic uint64_t false_faults;

void count_fault(const ca_fault_report *report)
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
void api_begin(void)
{
    errno = 0;
    faults_here.calls = 0;
}

/* What the public call `function`, which succeeded or not (ok), stands for
 * as a status: a fault the handler was told, NOMEM for ENOMEM, BADALIGN for
 * an EINVAL without a fault (a bad argument). A call that succeeded must
 * leave errno alone. */
ca_core_status api_status(worker *w, bool ok, const char *function)
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

const char *const free_names[] = {"ca_free", "ca_free_checked", "ca_free_any"};

unsigned char *region_alloc(worker *w, region *g, size_t size, size_t align,
                            ca_core_status *st)
{
    if (g->cache)
        return ca_cache_alloc(g->cache, size, align, 0, st);
    if (g->sync)
        return ca_sync_arena_alloc(g->sync, size, align, 0, st);
    api_begin();
    void *p = align ? ca_aligned_alloc(g->api, align, size) : ca_alloc(g->api, size);
    *st = api_status(w, p != NULL, align ? "ca_aligned_alloc" : "ca_alloc");
    return p;
}

ca_core_status region_free(worker *w, region *g, void *p, how_free how)
{
    if (g->cache)
        return ca_cache_free(g->cache, p);
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

ca_core_status region_resize(worker *w, region *g, void *p, size_t size)
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
ca_core_status region_judge(region *g, const void *p)
{
    size_t ignored;
    if (g->sync)
        return ca_sync_arena_usable(g->sync, p, &ignored);
    return fault_status(ca_free_checked(g->api, (void *)(uintptr_t)p));
}

/* The arena's figures, in the public API's form (a sync arena has no move
 * counter: 0). */
void region_stats(region *g, ca_stats *st)
{
    memset(st, 0, sizeof *st);
    if (g->api) {
        if (ca_arena_stats(g->api, st) != 0)
            memset(st, 0, sizeof *st); /* nothing will match: reported by the caller */
        return;
    }
    ca_sync_stats s;
    if (g->cache) { /* as ca_arena_stats: cached blocks are not the program's */
        ca_cache_figures k;
        ca_cache_arena_stats(g->cache, &s, &k);
        ca_api_stats_of(&s, st);
        st->chunks_cached = k.chunks_cached;
        st->cache_hits = k.cache_hits;
        st->cache_misses = k.cache_misses;
    } else {
        ca_sync_arena_stats(g->sync, &s);
        ca_api_stats_of(&s, st);
    }
    st->name = g->name;
}

const char *region_check(region *g)
{
    return g->sync ? ca_sync_arena_check(g->sync) : ca_arena_check(g->api);
}

/* ---- a thread's slots ---- */

/* The slot's chunks are now this thread's (marked, and counted). */
void hold(worker *w, slot *s)
{
    tally *c = &w->t[s->g->index];
    take(w, s->g, s->p, 0, s->usable);
    c->live_chunks += s->usable >> s->g->shift;
    c->live_allocs++;
}

/* ... and no longer: before the free (or hand-off, or realloc) that gives
 * them up. The slot keeps its fields. */
void let_go(worker *w, slot *s)
{
    tally *c = &w->t[s->g->index];
    drop(w, s->g, s->p, 0, s->usable);
    c->live_chunks -= s->usable >> s->g->shift;
    c->live_allocs--;
}

/* Usable size of p as the arena reports it; 0 (and a violation) on a fault. */
size_t usable_of(worker *w, region *g, const unsigned char *p, const char *when)
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
    if (g->kind != CA_LOCK_NONE)
        return; /* others may have freed or taken room meanwhile: not exact */
    ca_stats st;
    region_stats(g, &st);
    size_t achunks = align > g->cs ? align / g->cs : 1;
    size_t need = chunks_for(g, size) + achunks - 1;
    /* Cached chunks count as free in the figures, but the failed allocation
     * gave back only its own thread's: the main thread's may remain. */
    if (st.largest_free_run >= need && st.chunks_cached == 0)
        violation(w, "allocation of %zu bytes aligned to %zu in %s failed (NOMEM) although a "
                     "free run of %zu chunks exists (%zu would do)", size, align, g->name,
                  st.largest_free_run, need);
}

/* Whether p, just returned for `size` bytes aligned to `align` (0: none),
 * is a good block of g: inside the region, on a chunk, aligned, as many
 * chunks as the size takes. Its usable size, or 0 (and a violation). */
size_t accept_block(worker *w, region *g, unsigned char *p, size_t size, size_t align,
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
bool adopt(worker *w, slot *s, region *g, unsigned char *p, ca_core_status st,
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
    size_t usable = accept_block(w, g, p, size, align, "allocation");
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

bool alloc_into(worker *w, slot *s, region *g, size_t size, size_t align)
{
    ca_core_status st = CA_CORE_RETRY;
    unsigned char *p = region_alloc(w, g, size, align, &st);
    return adopt(w, s, g, p, st, size, align);
}
