/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz-api.c — libFuzzer target: the public API driven by an
 * operation sequence, against a reference model of the chunks.
 *
 * The input picks an arena (a created one of 1..200 chunks of 16..256
 * bytes over a heap buffer, its bookkeeping in front or apart, or one of
 * the static arenas), then a sequence of operations: alloc,
 * aligned_alloc, calloc, realloc, aligned_realloc, resize, free (ca_free,
 * ca_free_checked, ca_free_any), free_checked and ca_free of interior,
 * foreign and freed pointers, usable_size, reset, stats. The model keeps
 * which block owns each chunk, and after every operation the target
 * checks: placement (inside the region, at a chunk start, aligned as
 * asked), no overlap (the new chunks were free in the model), contents (a
 * byte pattern per block, across realloc and resize), the fault each bad
 * pointer gets, the statistics, and ca_arena_check. An allocation that
 * fails while a fitting run of free chunks exists is a bug: the model
 * decides that exactly (one thread, so every layer finds every free run).
 *
 * Built with -fsanitize=fuzzer,address,undefined and the library's sources,
 * so ASan checks the poisoning of api/track.c as well: the target touches
 * exactly the bytes the API made accessible. Single-threaded, like every
 * libFuzzer target.
 */
#include "chunkarena.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNKS 256 /* 200 asked at most, and what the slack adds */
#define MAX_BLOCKS 64

/* abort() with a message: the fuzzer's crash, whatever NDEBUG says. */
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_api: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                             \
        }                                                                        \
    } while (0)

CA_ARENA_DEFINE(fz_none, "fuzz-static-none", 64, 32, CA_LOCK_NONE);
CA_ARENA_DEFINE(fz_hint, "fuzz-static-hint", 128, 64, CA_LOCK_HINT);
CA_ARENA_DEFINE(fz_mutex, "fuzz-static-mutex", 32, 128, CA_LOCK_MUTEX);

/* ---- the input ---- */
typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static unsigned byte(input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static unsigned word(input *in)
{
    unsigned lo = byte(in);
    return lo | byte(in) << 8;
}

/* ---- the model ---- */
typedef struct block {
    unsigned char *p; /* NULL: the slot is empty */
    size_t size;      /* accessible bytes: requested, or the usable size once asked */
    size_t chunks;
    unsigned char fill;
} block;

static struct model {
    ca_arena *a;
    unsigned char *base;
    size_t chunk, nchunks;
    int owner[MAX_CHUNKS]; /* block slot, or -1 */
    block b[MAX_BLOCKS];
    size_t live_chunks, live_blocks;
    bool overaligned; /* an alignment above the chunk size was asked */
    unsigned char *freed[8]; /* recently freed pointers */
    unsigned nfreed;
} m;

static ca_fault last_fault;
static unsigned faults;
static void record(const ca_fault_report *r)
{
    last_fault = r->fault;
    faults++;
}

static size_t chunks_of(size_t size)
{
    return size ? (size - 1) / m.chunk + 1 : 1;
}

static size_t index_of(const void *p)
{
    return (size_t)((const unsigned char *)p - m.base) / m.chunk;
}

static bool run_free(size_t i, size_t n)
{
    if (i + n > m.nchunks || i + n < i)
        return false;
    for (size_t k = i; k < i + n; k++)
        if (m.owner[k] >= 0)
            return false;
    return true;
}

/* Whether n free chunks start somewhere at an address aligned to align. */
static bool fits(size_t n, size_t align)
{
    if (n > m.nchunks)
        return false;
    for (size_t i = 0; i + n <= m.nchunks; i++)
        if (((uintptr_t)(m.base + i * m.chunk) & (align - 1)) == 0 && run_free(i, n))
            return true;
    return false;
}

static int free_slot(void)
{
    for (int s = 0; s < MAX_BLOCKS; s++)
        if (!m.b[s].p)
            return s;
    return -1;
}

static int pick_live(input *in)
{
    if (m.live_blocks == 0)
        return -1;
    unsigned k = byte(in) % m.live_blocks;
    for (int s = 0; s < MAX_BLOCKS; s++)
        if (m.b[s].p && k-- == 0)
            return s;
    return -1;
}

static void verify(const block *b, size_t upto)
{
    for (size_t i = 0; i < upto && i < b->size; i++)
        CHECK(b->p[i] == b->fill);
}

static void claim(int s, unsigned char *p, size_t size, size_t align)
{
    CHECK(p >= m.base && p < m.base + m.nchunks * m.chunk);
    CHECK((size_t)(p - m.base) % m.chunk == 0);
    CHECK(((uintptr_t)p & (align - 1)) == 0);
    size_t i = index_of(p), n = chunks_of(size);
    CHECK(run_free(i, n)); /* no overlap with a live block */
    for (size_t k = i; k < i + n; k++)
        m.owner[k] = s;
    block *b = &m.b[s];
    b->p = p;
    b->size = size;
    b->chunks = n;
    b->fill = (unsigned char)(s * 37 + 11 + (unsigned)i);
    memset(p, b->fill, size); /* exactly the bytes made accessible */
    m.live_chunks += n;
    m.live_blocks++;
}

static void release(int s)
{
    block *b = &m.b[s];
    size_t i = index_of(b->p);
    for (size_t k = i; k < i + b->chunks; k++)
        m.owner[k] = -1;
    m.live_chunks -= b->chunks;
    m.live_blocks--;
    m.freed[m.nfreed++ % 8] = b->p;
    b->p = NULL;
}

/* The fault a pointer gets, as the model sees it. */
static ca_fault judge(const unsigned char *p)
{
    if (p < m.base || p >= m.base + m.nchunks * m.chunk)
        return CA_FAULT_FOREIGN;
    size_t i = index_of(p);
    if (m.owner[i] < 0)
        return CA_FAULT_NOT_ALLOCATED;
    return m.b[m.owner[i]].p == p ? CA_FAULT_NONE : CA_FAULT_INTERIOR;
}

static size_t pick_size(input *in)
{
    unsigned k = byte(in);
    if (k < 128)
        return k;                                  /* small, 0 included */
    if (k < 240)
        return (size_t)word(in) % (m.chunk * 8 + 1); /* a few chunks */
    return (size_t)word(in) * 4;                   /* anything, often too large */
}

static size_t pick_align(input *in)
{
    size_t align = (size_t)1 << (byte(in) % 13); /* 1 .. 4096 */
    if (align > m.chunk)
        m.overaligned = true;
    return align;
}

static void after_op(void)
{
    ca_stats st;
    CHECK(ca_arena_stats(m.a, &st) == 0);
    CHECK(st.chunk_size == m.chunk && st.chunks_total == m.nchunks);
    CHECK(st.chunks_used == m.live_chunks);
    CHECK(st.allocations == m.live_blocks);
    const char *why = ca_arena_check(m.a);
    if (why) {
        fprintf(stderr, "fuzz_api: ca_arena_check: %s\n", why);
        abort();
    }
}

static void op_alloc(input *in, unsigned kind)
{
    int s = free_slot();
    if (s < 0)
        return;
    size_t size = pick_size(in), align = 1;
    unsigned char *p;
    errno = 0;
    if (kind == 0) {
        p = ca_alloc(m.a, size);
    } else if (kind == 1) {
        align = pick_align(in);
        p = ca_aligned_alloc(m.a, align, size);
    } else {
        size_t n = byte(in) % 8 + 1, each = size / n;
        size = n * each;
        p = ca_calloc(m.a, n, each);
        if (p)
            for (size_t i = 0; i < size; i++)
                CHECK(p[i] == 0);
    }
    if (p) {
        claim(s, p, size, align < m.chunk ? 1 : align);
    } else {
        CHECK(errno == ENOMEM);
        CHECK(!fits(chunks_of(size), align < m.chunk ? m.chunk : align));
    }
}

static void op_realloc(input *in, bool aligned)
{
    int s = pick_live(in);
    if (s < 0)
        return;
    block old = m.b[s];
    size_t size = pick_size(in), align = aligned ? pick_align(in) : 1;
    errno = 0;
    unsigned char *q = aligned ? ca_aligned_realloc(m.a, old.p, align, size)
                               : ca_realloc(m.a, old.p, size);
    if (!q) {
        CHECK(errno == ENOMEM);
        verify(&old, old.size); /* untouched */
        /* Nowhere to go: not in place, and no fitting run elsewhere (when
         * the alignment a move keeps is the chunk's: see ca_realloc). */
        size_t i = index_of(old.p), n = chunks_of(size);
        bool in_place = ((uintptr_t)old.p & (align - 1)) == 0 &&
                        (n <= old.chunks || run_free(i + old.chunks, n - old.chunks));
        CHECK(!in_place);
        if (!m.overaligned)
            CHECK(!fits(n, m.chunk));
        return;
    }
    CHECK(((uintptr_t)q & (align - 1)) == 0);
    size_t keep = old.size < size ? old.size : size;
    for (size_t i = 0; i < keep; i++)
        CHECK(q[i] == old.fill);
    release(s);
    m.nfreed--; /* not a freed pointer to try again: it may be q */
    claim(s, q, size, 1);
}

static void op_resize(input *in)
{
    int s = pick_live(in);
    if (s < 0)
        return;
    block *b = &m.b[s];
    size_t size = pick_size(in);
    size_t i = index_of(b->p), n = chunks_of(size);
    bool can = n <= b->chunks || run_free(i + b->chunks, n - b->chunks);
    errno = 0;
    int r = ca_resize(m.a, b->p, size);
    CHECK((r == 0) == can);
    if (r != 0) {
        CHECK(errno == ENOMEM);
        verify(b, b->size);
        return;
    }
    verify(b, size);
    for (size_t k = i + n; k < i + b->chunks; k++)
        m.owner[k] = -1;
    for (size_t k = i + b->chunks; k < i + n; k++)
        m.owner[k] = s;
    m.live_chunks = m.live_chunks - b->chunks + n;
    if (size > b->size)
        memset(b->p + b->size, b->fill, size - b->size);
    b->size = size;
    b->chunks = n;
}

static void op_free(input *in)
{
    int s = pick_live(in);
    if (s < 0)
        return;
    block *b = &m.b[s];
    verify(b, b->size);
    unsigned how = byte(in) % 3;
    unsigned before = faults;
    if (how == 0)
        ca_free(m.a, b->p);
    else if (how == 1)
        CHECK(ca_free_checked(m.a, b->p) == CA_FAULT_NONE);
    else
        ca_free_any(b->p);
    CHECK(faults == before);
    release(s);
}

static void op_bad_free(input *in)
{
    static unsigned char outside[64];
    unsigned char *p;
    unsigned what = byte(in) % 4;
    int s = pick_live(in);
    if (what == 0 && s >= 0) /* interior: any byte of the block's chunks but the first */
        p = m.b[s].p + 1 + word(in) % (m.b[s].chunks * m.chunk - 1);
    else if (what == 1 && m.nfreed > 0) /* freed (perhaps in use again) */
        p = m.freed[byte(in) % (m.nfreed < 8 ? m.nfreed : 8)];
    else if (what == 2) /* anywhere in the region */
        p = m.base + word(in) % (m.nchunks * m.chunk);
    else
        p = outside + byte(in) % sizeof outside;
    ca_fault want = judge(p);
    if (want == CA_FAULT_NONE)
        return; /* a valid pointer after all: not this operation's business */
    CHECK(ca_free_checked(m.a, p) == want);
    unsigned before = faults;
    errno = 0;
    if (byte(in) & 1)
        ca_free(m.a, p);
    else
        CHECK(ca_usable_size(m.a, p) == 0);
    CHECK(faults == before + 1 && last_fault == want && errno == EINVAL);
}

static void op_usable(input *in)
{
    int s = pick_live(in);
    if (s < 0)
        return;
    block *b = &m.b[s];
    size_t u = ca_usable_size(m.a, b->p);
    CHECK(u == b->chunks * m.chunk);
    /* The usable bytes are usable: the API made them accessible. */
    memset(b->p + b->size, b->fill, u - b->size);
    b->size = u;
}

static void op_reset(void)
{
    ca_arena_reset(m.a);
    for (int s = 0; s < MAX_BLOCKS; s++)
        m.b[s].p = NULL;
    for (size_t i = 0; i < m.nchunks; i++)
        m.owner[i] = -1;
    m.live_chunks = m.live_blocks = 0;
    m.nfreed = 0;
}

/* The arena the input asks for; NULL if it cannot be made. */
static unsigned char *mem, *meta;
static ca_arena *open_arena(input *in)
{
    unsigned k = byte(in);
    if (k < 24) {
        ca_arena *const s[] = {CA_ARENA(fz_none), CA_ARENA(fz_hint), CA_ARENA(fz_mutex)};
        /* A static arena outlives the input, and so does the largest
         * alignment it was ever asked, which a realloc's move keeps: the
         * model does not know it, so it judges no failed move there. */
        m.overaligned = true;
        return s[k % 3];
    }
    ca_config c = {.chunk_size = (size_t)16 << (byte(in) % 5),
                   .lock = (ca_lock)(byte(in) % 5 + 1),
                   .fit_window = byte(in) % 8 + 1};
    size_t nchunks = byte(in) % 200 + 1;
    /* In front: the bookkeeping, the padding to a chunk boundary, and the
     * slack of ca_core_layout's estimate (a few more chunks may fit). */
    size_t front = (byte(in) & 1) ? 0 : ca_arena_meta_size(nchunks, &c) + c.chunk_size + 256;
    size_t len = nchunks * c.chunk_size + front;
    mem = aligned_alloc(4096, (len + 4095) / 4096 * 4096);
    if (front == 0) {
        c.meta_len = ca_arena_meta_size(nchunks, &c);
        meta = aligned_alloc(64, (c.meta_len + 63) / 64 * 64);
        c.meta = meta;
    }
    ca_arena *a = ca_arena_create("fuzz", mem, len, &c);
    if (!a)
        fprintf(stderr, "fuzz_api: ca_arena_create: %s (chunk %zu, lock %d, window %u, %zu chunks, meta %s)\n",
                strerror(errno), c.chunk_size, (int)c.lock, c.fit_window, nchunks, front ? "in front" : "apart");
    CHECK(a);
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    ca_set_fault_handler(record);
    memset(&m, 0, sizeof m);
    mem = meta = NULL;
    m.a = open_arena(&in);
    ca_stats st;
    CHECK(ca_arena_stats(m.a, &st) == 0 && st.allocations == 0);
    CHECK(st.chunks_total <= MAX_CHUNKS);
    m.chunk = st.chunk_size;
    m.nchunks = st.chunks_total;
    /* The region's start: the one block that takes every chunk. */
    m.base = ca_alloc(m.a, m.nchunks * m.chunk);
    CHECK(m.base);
    ca_free(m.a, m.base);
    for (size_t i = 0; i < MAX_CHUNKS; i++)
        m.owner[i] = -1;
    after_op();

    for (unsigned ops = 0; in.n > 0 && ops < 400; ops++) {
        switch (byte(&in) % 12) {
        case 0: case 1: op_alloc(&in, 0); break;
        case 2: op_alloc(&in, 1); break;
        case 3: op_alloc(&in, 2); break;
        case 4: op_realloc(&in, false); break;
        case 5: op_realloc(&in, true); break;
        case 6: op_resize(&in); break;
        case 7: case 8: op_free(&in); break;
        case 9: op_bad_free(&in); break;
        case 10: op_usable(&in); break;
        default:
            if (byte(&in) < 16)
                op_reset();
            break;
        }
        after_op();
    }

    op_reset();
    after_op();
    if (mem) {
        CHECK(ca_arena_destroy(m.a) == 0);
        free(mem);
        free(meta);
    }
    return 0;
}
