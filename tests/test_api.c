/*
 * tests/test_api.c — suite "api": the public interface of api/chunkarena.h,
 * function by function, and every row of DESIGN.md's "Bad input" table that
 * the API sees. Creation over caller memory (bookkeeping carved from the
 * front, or in a separate buffer) and each refusal with its errno, after
 * which nothing may be registered; destruction and its refusals; lookups by
 * name and address and the registry listing; static arenas (CA_ARENA_DEFINE
 * in this file, in a second translation unit, tests/test_api_static.c, used
 * before registration, at exit, and in a dlopen()ed module,
 * tests/arenas_dso.c); allocation, calloc, realloc (in place, moved, with
 * its original alignment, failing without harm), resize, free and its
 * checked and registry-wide variants; the fault handler (what it is told,
 * that it runs with no lock held, the default's one line and abort); the
 * statistics, dump and check; the metadata sizes, including the static bound
 * CA_PRIVATE_META_BOUND; the hint layer past its per-thread limits (more
 * arenas than a thread's table, more threads than an arena's slots); and
 * the registry under concurrent lookups, creation, destruction and module
 * loading. Layouts are forced (every chunk allocated, then the wanted
 * ones freed) so that no expectation depends on the fit policy; most
 * allocation tests run once per sync layer (loop tests, _i = the layer).
 * The tests run single threaded except TCases "hint" and "registry_mt".
 *
 * The module tests/arenas_dso.c is found through the environment variable
 * CA_TEST_DSO (its path), else next to this program: <dir>/.libs/arenas_dso.so
 * (libtool's place for it when this program is a real binary) or
 * <dir>/arenas_dso.so (when this program runs from .libs/ itself). The
 * program must be linked with -export-dynamic (libtool) / -rdynamic, so that
 * the module's ca_* references bind to the library inside the program.
 */
#define _GNU_SOURCE 1

#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/chunkarena.h"
/* Internal, for TCase "meta" only: ca_sync_meta_size is the very figure a
 * static arena's set-up compares its CA_PRIVATE_META_BOUND buffer with, and
 * CA_SYNC_DEFAULT is configure's --with-lock. */
#include "sync/arena.h"

#define TIMEOUT 60

/* The five real layers; loop tests take _i as an index into it. */
#define NLAYERS 5
static const ca_lock layers[NLAYERS] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                        CA_LOCK_HINT};

/* ------------------------------------------------------------ static arenas */

CA_ARENA_DEFINE(s16, "static-16", 64, 16, CA_LOCK_SPIN);
CA_ARENA_DEFINE(s256, "static-256", 32, 256, CA_LOCK_HINT);
CA_ARENA_DEFINE(s4096, "static-4096", 8, 4096, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(snone, "static-none", 16, 32, CA_LOCK_NONE);
CA_ARENA_DEFINE(sticket, "static-ticket", 16, 64, CA_LOCK_TICKET);
CA_ARENA_DEFINE(sdefault, "static-default", 16, 128, CA_LOCK_DEFAULT);
/* Used by a constructor of tests/test_api_static.c before registration. */
CA_ARENA_DEFINE(searly, "static-early", 16, 256, CA_LOCK_HINT);
/* Used by a destructor at exit (TCase "static", static_usable_at_exit). */
CA_ARENA_DEFINE(sexit, "static-exit", 8, 64, CA_LOCK_MUTEX);
/* Two static arenas under one name: both work, one is found. */
CA_ARENA_DEFINE(dup_first, "static-dup", 8, 64, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(dup_second, "static-dup", 8, 64, CA_LOCK_SPIN);
/* Static arenas at chunk counts where the bookkeeping crosses a word or a
 * summary boundary, under the layer that needs the most (hint). */
CA_ARENA_DEFINE(bound1, "bound-1", 1, 16, CA_LOCK_HINT);
CA_ARENA_DEFINE(bound33, "bound-33", 33, 16, CA_LOCK_HINT);
CA_ARENA_DEFINE(bound2049, "bound-2049", 2049, 16, CA_LOCK_HINT);
CA_ARENA_DEFINE(bound5000, "bound-5000", 5000, 16, CA_LOCK_HINT);
CA_ARENA_DEFINE(bound131073, "bound-131073", 131073, 16, CA_LOCK_HINT);

/* Defined in tests/test_api_static.c; declared here without a header. */
CA_ARENA_DECLARE(other_tu);
void *static_other_alloc(size_t size);
ca_arena *static_other_arena(void);
void *static_early_pointer(void);
ca_arena *static_early_arena(void);

typedef struct static_case {
    ca_arena *arena;
    const char *name;
    size_t nchunks, chunk_size;
    ca_lock lock;
    const unsigned char *region; /* where CA_ARENA_DEFINE put it */
    size_t region_len;
} static_case;

#define STATIC_CASE(id, name, n, cs, lock) {CA_ARENA(id), name, n, cs, lock, ca_region_##id, sizeof ca_region_##id}

static const static_case static_cases[] = {
    STATIC_CASE(s16, "static-16", 64, 16, CA_LOCK_SPIN),
    STATIC_CASE(s256, "static-256", 32, 256, CA_LOCK_HINT),
    STATIC_CASE(s4096, "static-4096", 8, 4096, CA_LOCK_MUTEX),
    STATIC_CASE(snone, "static-none", 16, 32, CA_LOCK_NONE),
    STATIC_CASE(sticket, "static-ticket", 16, 64, CA_LOCK_TICKET),
    STATIC_CASE(sdefault, "static-default", 16, 128, CA_LOCK_DEFAULT),
};
#define NSTATIC (sizeof static_cases / sizeof static_cases[0])

static const static_case bound_cases[] = {
    STATIC_CASE(bound1, "bound-1", 1, 16, CA_LOCK_HINT),
    STATIC_CASE(bound33, "bound-33", 33, 16, CA_LOCK_HINT),
    STATIC_CASE(bound2049, "bound-2049", 2049, 16, CA_LOCK_HINT),
    STATIC_CASE(bound5000, "bound-5000", 5000, 16, CA_LOCK_HINT),
    STATIC_CASE(bound131073, "bound-131073", 131073, 16, CA_LOCK_HINT),
};
#define NBOUND (sizeof bound_cases / sizeof bound_cases[0])

/* ----------------------------------------------------------------- helpers */

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

static size_t chunks_for(size_t size, size_t chunk_size)
{
    size_t n = size / chunk_size + (size % chunk_size != 0);
    return n ? n : 1;
}

/* A heap block of len bytes aligned to `align` (freed with free()). */
static void *aligned_block(size_t align, size_t len)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    int rc = posix_memalign(&p, align, len ? len : 1);
    ck_assert_msg(rc == 0 && p != NULL, "posix_memalign(%zu, %zu) failed: %s", align, len,
                  strerror(rc));
    return p;
}

/* The layer configure made the default (--with-lock), as a ca_lock. */
static ca_lock configured_default(void)
{
    for (unsigned i = 0; i < NLAYERS; i++)
        if (strcmp(ca_lock_name(layers[i]), ca_sync_kind_name(CA_SYNC_DEFAULT)) == 0)
            return layers[i];
    ck_abort_msg("configure's default layer \"%s\" has no ca_lock",
                 ca_sync_kind_name(CA_SYNC_DEFAULT));
    return CA_LOCK_DEFAULT;
}

/* What CA_LOCK_x resolves to. */
static ca_lock resolved(ca_lock lock)
{
    return lock == CA_LOCK_DEFAULT ? configured_default() : lock;
}

static size_t registered(void)
{
    return ca_arena_list(NULL, 0);
}

static void fill_pattern(void *p, size_t len, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(seed + i * 131u + (i >> 8));
}

/* The first byte that differs from the pattern, or len. */
static size_t pattern_mismatch(const void *p, size_t len, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i] != (unsigned char)(seed + i * 131u + (i >> 8)))
            return i;
    return len;
}

static void expect_pattern(const void *p, size_t len, unsigned seed, const char *what)
{
    size_t at = pattern_mismatch(p, len, seed);
    ck_assert_msg(at == len, "%s: content not preserved: byte %zu of %zu differs", what, at, len);
}

static void expect_healthy(ca_arena *a, const char *when)
{
    const char *why = ca_arena_check(a);
    ck_assert_msg(why == NULL, "%s: ca_arena_check(\"%s\"): %s", when, ca_arena_name(a), why);
}

static ca_stats stats_of(ca_arena *a)
{
    ca_stats s;
    memset(&s, 0, sizeof s);
    int rc = ca_arena_stats(a, &s);
    ck_assert_msg(rc == 0, "ca_arena_stats(\"%s\") failed: %s", ca_arena_name(a),
                  strerror(errno));
    return s;
}

/* NULL if the two are equal, else the name of the first field that differs. */
static const char *stats_diff(const ca_stats *x, const ca_stats *y)
{
    if (strcmp(x->name, y->name) != 0)
        return "name";
#define SAME(f)            \
    if (x->f != y->f)      \
        return #f
    SAME(lock);
    SAME(chunk_size);
    SAME(chunks_total);
    SAME(chunks_used);
    SAME(chunks_peak);
    SAME(allocations);
    SAME(bytes_requested);
    SAME(largest_free_run);
    SAME(free_runs);
    SAME(failures);
    SAME(grows_in_place);
    SAME(shrinks_in_place);
    SAME(moves);
#undef SAME
    return NULL;
}

/* The arena must be exactly as `before` says, and healthy. */
static void expect_unchanged(ca_arena *a, const ca_stats *before, const char *what)
{
    ca_stats now = stats_of(a);
    const char *field = stats_diff(before, &now);
    ck_assert_msg(field == NULL, "%s changed the arena \"%s\": stats field %s differs", what,
                  ca_arena_name(a), field);
    expect_healthy(a, what);
}

/* ---- a test arena over heap memory, with a separate metadata buffer, so
 * that its region is exactly [mem, mem + nchunks * chunk_size) ---- */

typedef struct tarena {
    ca_arena *a;
    unsigned char *mem;
    size_t nchunks, chunk_size, len;
    unsigned char *meta;
    size_t meta_len;
    char name[CA_NAME_MAX + 1];
} tarena;

/* mem aligned to `align` (at least the chunk size). */
static ca_arena *tarena_make_aligned(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
                                     ca_lock lock, size_t align)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    if (align < chunk_size)
        align = chunk_size;
    ca_config c = {.chunk_size = chunk_size, .lock = lock};
    t->meta_len = ca_arena_meta_size(nchunks, &c);
    ck_assert_msg(t->meta_len > 0, "ca_arena_meta_size(%zu, chunk %zu, %s) = 0: %s", nchunks,
                  chunk_size, ca_lock_name(lock), strerror(errno));
    t->meta = aligned_block(64, t->meta_len);
    t->len = nchunks * chunk_size;
    t->mem = aligned_block(align, t->len);
    t->nchunks = nchunks;
    t->chunk_size = chunk_size;
    c.meta = t->meta;
    c.meta_len = t->meta_len;
    t->a = ca_arena_create(name, t->mem, t->len, &c);
    ck_assert_msg(t->a != NULL, "ca_arena_create(\"%s\", %zu chunks of %zu, %s) failed: %s", name,
                  nchunks, chunk_size, ca_lock_name(lock), strerror(errno));
    ca_stats s = stats_of(t->a);
    ck_assert_msg(s.chunks_total == nchunks && s.chunk_size == chunk_size,
                  "\"%s\": %zu chunks of %zu, expected %zu of %zu", name, s.chunks_total,
                  s.chunk_size, nchunks, chunk_size);
    return t->a;
}

static ca_arena *tarena_make(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
                             ca_lock lock)
{
    return tarena_make_aligned(t, name, nchunks, chunk_size, lock, 0);
}

/* Reset, destroy (must succeed) and free. */
static void tarena_drop(tarena *t)
{
    ca_arena_reset(t->a);
    int rc = ca_arena_destroy(t->a);
    ck_assert_msg(rc == 0, "ca_arena_destroy(\"%s\") after reset failed: %s", t->name,
                  strerror(errno));
    free(t->mem);
    free(t->meta);
    memset(t, 0, sizeof *t);
}

static unsigned char *chunk(const tarena *t, size_t i)
{
    return t->mem + i * t->chunk_size;
}

/* The chunk index of p in t (p must be in the region). */
static size_t index_of(const tarena *t, const void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)t->mem;
    ck_assert_msg((uintptr_t)p >= (uintptr_t)t->mem && off < t->len,
                  "%p is not in the region of \"%s\"", p, t->name);
    return (size_t)(off / t->chunk_size);
}

/* Lay out the (empty) arena of t by `map`, one character a chunk: '#' a
 * one-chunk allocation, '.' a free chunk. Every chunk is allocated first
 * (all must succeed, and the next allocation must fail), then those marked
 * '.' are freed: so the layout never depends on the fit policy. A '#' chunk
 * is freed later with ca_free(t->a, chunk(t, i)). */
static void shape(tarena *t, const char *map)
{
    ck_assert_msg(strlen(map) == t->nchunks, "shape: map of %zu characters for %zu chunks",
                  strlen(map), t->nchunks);
    for (size_t i = 0; i < t->nchunks; i++) {
        void *p = ca_alloc(t->a, 1);
        ck_assert_msg(p != NULL, "shape: one-chunk allocation %zu of %zu failed (%s)", i,
                      t->nchunks, strerror(errno));
    }
    errno = 0;
    void *extra = ca_alloc(t->a, 1);
    ck_assert_msg(extra == NULL && errno == ENOMEM,
                  "shape: an allocation from the full arena gave %p, errno %d", extra, errno);
    for (size_t i = 0; i < t->nchunks; i++)
        if (map[i] != '#') {
            ca_fault f = ca_free_checked(t->a, chunk(t, i));
            ck_assert_msg(f == CA_FAULT_NONE, "shape: chunk %zu was not a one-chunk allocation: %s",
                          i, ca_fault_name(f));
        }
    expect_healthy(t->a, "shape");
}

/* A map of n chunks, all `c`, in buf (n + 1 bytes). */
static char *map_of(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- the fault recorder ---- */

typedef struct seen_fault {
    char function[32];
    char arena[CA_NAME_MAX + 8];
    const void *pointer;
    ca_fault fault;
} seen_fault;

#define MAX_SEEN 8
static seen_fault seen[MAX_SEEN];
static size_t nseen;

static void record_fault(const ca_fault_report *r)
{
    size_t i = nseen++;
    if (i < MAX_SEEN) {
        snprintf(seen[i].function, sizeof seen[i].function, "%s", r->function ? r->function : "?");
        snprintf(seen[i].arena, sizeof seen[i].arena, "%s", r->arena ? r->arena : "?");
        seen[i].pointer = r->pointer;
        seen[i].fault = r->fault;
    }
}

/* Exactly one fault has been reported since the last expectation: this one. */
static void expect_fault(const char *function, const char *arena, const void *p, ca_fault fault)
{
    ck_assert_msg(nseen == 1, "%s(%p): expected one fault report (%s, arena \"%s\"), got %zu",
                  function, p, ca_fault_name(fault), arena, nseen);
    ck_assert_msg(strcmp(seen[0].function, function) == 0,
                  "fault reported by \"%s\", expected \"%s\"", seen[0].function, function);
    ck_assert_msg(strcmp(seen[0].arena, arena) == 0, "%s(%p): fault names arena \"%s\", not \"%s\"",
                  function, p, seen[0].arena, arena);
    ck_assert_msg(seen[0].pointer == p, "%s: fault reports pointer %p, not %p", function,
                  seen[0].pointer, p);
    ck_assert_msg(seen[0].fault == fault, "%s(%p): fault reported as \"%s\", expected \"%s\"",
                  function, p, ca_fault_name(seen[0].fault), ca_fault_name(fault));
    nseen = 0;
}

static void expect_no_fault(const char *what)
{
    ck_assert_msg(nseen == 0, "%s: unexpected fault report: %s on %p in \"%s\" (%s)", what,
                  seen[0].function, seen[0].pointer, seen[0].arena, ca_fault_name(seen[0].fault));
}

/* Tests that provoke faults install the recorder; any other fault reaches
 * the default handler and aborts the test, loudly. */
static void recorder_on(void)
{
    nseen = 0;
    ca_set_fault_handler(record_fault);
}

/* The checked fixture of every TCase: start and end with the default. */
static void fixture_default_handler(void)
{
    ca_set_fault_handler(NULL);
    nseen = 0;
}

/* ======================================================== TCase "create" */

/* Bookkeeping carved from the front of mem: the chunks start at the first
 * chunk boundary after ca_arena_meta_size(chunks) bytes, as many as fit,
 * and the whole region is the user's (overwriting it harms nothing). */
START_TEST(create_carved_metadata)
{
    ca_lock lock = layers[_i];
    const size_t cs = 256, len = 64 * 1024;
    unsigned char *mem = aligned_block(4096, len);
    ca_config c = {.chunk_size = cs, .lock = lock};
    char name[32];
    snprintf(name, sizeof name, "carved-%s", ca_lock_name(lock));
    size_t before = registered();

    ca_arena *a = ca_arena_create(name, mem, len, &c);
    ck_assert_msg(a != NULL, "ca_arena_create(\"%s\", 64 KiB, carved) failed: %s", name,
                  strerror(errno));
    ck_assert_msg(ca_arena_find(name) == a, "\"%s\" is not found by name", name);
    ck_assert_msg(registered() == before + 1, "the registry holds %zu arenas, expected %zu",
                  registered(), before + 1);
    ck_assert_str_eq(ca_arena_name(a), name);

    ca_stats s = stats_of(a);
    ck_assert_msg(s.lock == lock && s.chunk_size == cs, "stats: layer %s, chunk %zu; expected %s, %zu",
                  ca_lock_name(s.lock), s.chunk_size, ca_lock_name(lock), cs);
    size_t n = s.chunks_total;
    size_t front = round_up(ca_arena_meta_size(n, &c), cs);
    ck_assert_msg(n > 0 && front + n * cs <= len,
                  "%zu chunks after %zu bytes of bookkeeping do not fit in %zu bytes", n, front, len);
    ck_assert_msg(round_up(ca_arena_meta_size(n + 1, &c), cs) + (n + 1) * cs > len,
                  "only %zu chunks, but %zu would fit in %zu bytes with their bookkeeping", n, n + 1,
                  len);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0 && s.largest_free_run == n &&
                      s.free_runs == 1,
                  "a new arena: %zu used, %zu allocations, longest free run %zu, %zu runs",
                  s.chunks_used, s.allocations, s.largest_free_run, s.free_runs);

    /* The whole region in one allocation starts right after the bookkeeping. */
    unsigned char *p = ca_alloc(a, n * cs);
    ck_assert_msg(p == mem + front, "the first chunk is at mem + %td, expected mem + %zu",
                  p ? p - mem : (ptrdiff_t)-1, front);
    ck_assert_msg(ca_arena_of(p) == a && ca_arena_of(p + n * cs - 1) == a,
                  "ca_arena_of does not find the region's first and last byte");
    memset(p, 0x5A, n * cs);
    expect_healthy(a, "after overwriting the whole region");
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "the whole-region allocation is not freed");
    s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "after free: %zu used, %zu live",
                  s.chunks_used, s.allocations);
    ck_assert_msg(ca_arena_destroy(a) == 0, "destroy: %s", strerror(errno));
    free(mem);
}
END_TEST

/* A 16-byte chunk arena over memory aligned to 16 only (not 32 or 64): the
 * bookkeeping is aligned inside it, and stays out of the chunks. */
START_TEST(create_carved_small_alignment)
{
    ca_lock lock = layers[_i];
    const size_t cs = 16, len = 8192;
    unsigned char *block = aligned_block(64, len + 64);
    unsigned char *mem = block + 16;
    ca_config c = {.chunk_size = cs, .lock = lock};
    ca_arena *a = ca_arena_create("carved-16", mem, len, &c);
    ck_assert_msg(a != NULL, "create over 16-aligned memory (%s) failed: %s", ca_lock_name(lock),
                  strerror(errno));
    size_t n = stats_of(a).chunks_total;
    ck_assert_msg(n > 0, "no chunks");
    unsigned char *p = ca_alloc(a, n * cs);
    ck_assert_msg(p != NULL && p >= mem && p + n * cs <= mem + len,
                  "the whole region [%p, +%zu) is not inside [%p, +%zu)", (void *)p, n * cs,
                  (void *)mem, len);
    ck_assert_msg((uintptr_t)p % cs == 0, "chunks misaligned: %p", (void *)p);
    memset(p, 0xC3, n * cs);
    expect_healthy(a, "after overwriting the region");
    ca_free(a, p);
    ck_assert_msg(ca_arena_destroy(a) == 0, "destroy: %s", strerror(errno));
    free(block);
}
END_TEST

/* A separate metadata buffer: all of mem becomes chunks. */
START_TEST(create_separate_metadata)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "separate", 40, 512, lock);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_total == 40 && s.lock == lock, "40 chunks under %s expected, got %zu (%s)",
                  ca_lock_name(lock), s.chunks_total, ca_lock_name(s.lock));
    unsigned char *p = ca_alloc(a, t.len);
    ck_assert_msg(p == t.mem, "the whole region starts at %p, not at mem %p", (void *)p,
                  (void *)t.mem);
    ck_assert_msg(ca_arena_of(t.mem) == a && ca_arena_of(t.mem + t.len - 1) == a,
                  "ca_arena_of misses the region's edges");
    memset(p, 0xFF, t.len);
    expect_healthy(a, "after overwriting all of mem");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* With a separate buffer, len need not be a multiple of the chunk size. */
START_TEST(create_separate_len_rounds_down)
{
    const size_t cs = 128;
    ca_config c = {.chunk_size = cs, .lock = CA_LOCK_MUTEX};
    size_t ml = ca_arena_meta_size(10, &c);
    unsigned char *meta = aligned_block(64, ml), *mem = aligned_block(cs, 11 * cs);
    c.meta = meta;
    c.meta_len = ml;
    ca_arena *a = ca_arena_create("rounds-down", mem, 10 * cs + cs / 2, &c);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));
    ck_assert_uint_eq(stats_of(a).chunks_total, 10);
    ck_assert_msg(ca_arena_of(mem + 10 * cs) == NULL, "the partial chunk belongs to the arena");
    ck_assert_msg(ca_arena_destroy(a) == 0, "destroy: %s", strerror(errno));
    free(mem);
    free(meta);
}
END_TEST

/* create must fail with `err` and register nothing. */
static void expect_refused(const char *what, const char *name, void *mem, size_t len,
                           const ca_config *c, int err)
{
    size_t before = registered();
    errno = 0;
    ca_arena *a = ca_arena_create(name, mem, len, c);
    int e = errno;
    ck_assert_msg(a == NULL, "%s: ca_arena_create accepted it", what);
    ck_assert_msg(e == err, "%s: errno %d (%s), expected %d (%s)", what, e, strerror(e), err,
                  strerror(err));
    ck_assert_msg(registered() == before, "%s: the registry went from %zu to %zu arenas", what,
                  before, registered());
    if (name && name[0] && strlen(name) <= CA_NAME_MAX && err != EEXIST) {
        errno = 0;
        ca_arena *f = ca_arena_find(name);
        ck_assert_msg(f == NULL && errno == ENOENT, "%s: \"%s\" is registered after the refusal",
                      what, name);
    }
}

START_TEST(create_refusals)
{
    const size_t cs = 256, len = 64 * 1024;
    unsigned char *mem = aligned_block(4096, len);
    ca_config c = {.chunk_size = cs, .lock = CA_LOCK_MUTEX};
    size_t ml = ca_arena_meta_size(len / cs, &c);
    unsigned char *meta = aligned_block(64, ml + 64);
    char long_name[CA_NAME_MAX + 2];
    map_of(long_name, CA_NAME_MAX + 1, 'n');

    expect_refused("NULL name", NULL, mem, len, &c, EINVAL);
    expect_refused("NULL mem", "refused", NULL, len, &c, EINVAL);
    expect_refused("empty name", "", mem, len, &c, EINVAL);
    expect_refused("name of CA_NAME_MAX + 1 characters", long_name, mem, len, &c, ENAMETOOLONG);

    static const size_t bad_chunks[] = {1, 8, 15, 24, 48, 100, 257, 3u << 8};
    for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        char what[64];
        ca_config b = c;
        b.chunk_size = bad_chunks[i];
        snprintf(what, sizeof what, "chunk size %zu", bad_chunks[i]);
        expect_refused(what, "refused", mem, len, &b, EINVAL);
        b.meta = meta;
        b.meta_len = ml;
        expect_refused(what, "refused", mem, len, &b, EINVAL);
    }

    /* mem not aligned to the chunk size (the Rust original took it). */
    expect_refused("mem at chunk size / 2", "refused", mem + cs / 2, len - cs, &c, EINVAL);
    expect_refused("mem at +16", "refused", mem + 16, len - cs, &c, EINVAL);
    ca_config sep = c;
    sep.meta = meta;
    sep.meta_len = ml;
    expect_refused("mem at +16, separate meta", "refused", mem + 16, len - cs, &sep, EINVAL);
    ca_config big = {.chunk_size = 4096, .lock = CA_LOCK_SPIN};
    expect_refused("mem at +256 with 4096-byte chunks", "refused", mem + 256, len - 4096, &big,
                   EINVAL);

    /* meta not 64-aligned, or too small */
    ca_config m = sep;
    m.meta = meta + 8;
    expect_refused("meta at +8", "refused", mem, len, &m, EINVAL);
    m.meta = meta + 32;
    expect_refused("meta at +32", "refused", mem, len, &m, EINVAL);
    m.meta = meta;
    m.meta_len = ml - 1;
    expect_refused("meta_len one byte short", "refused", mem, len, &m, ENOMEM);
    m.meta_len = 0;
    expect_refused("meta_len 0", "refused", mem, len, &m, ENOMEM);

    /* len too small for one chunk and the bookkeeping */
    expect_refused("len 0, carved", "refused", mem, 0, &c, ENOMEM);
    expect_refused("len of one chunk, carved", "refused", mem, cs, &c, ENOMEM);
    size_t one = round_up(ca_arena_meta_size(1, &c), cs) + cs;
    expect_refused("len one byte short of one chunk, carved", "refused", mem, one - 1, &c, ENOMEM);
    expect_refused("len 0, separate meta", "refused", mem, 0, &sep, ENOMEM);
    expect_refused("len below one chunk, separate meta", "refused", mem, cs - 1, &sep, ENOMEM);

    /* fit_window and lock out of range */
    ca_config w = c;
    w.fit_window = 65;
    expect_refused("fit_window 65", "refused", mem, len, &w, EINVAL);
    w.fit_window = 1000;
    expect_refused("fit_window 1000", "refused", mem, len, &w, EINVAL);
    static const unsigned bad_locks[] = {6, 7, 99, UINT_MAX};
    for (size_t i = 0; i < sizeof bad_locks / sizeof bad_locks[0]; i++) {
        char what[64];
        ca_config l = c;
        l.lock = (ca_lock)bad_locks[i];
        snprintf(what, sizeof what, "lock value %u", bad_locks[i]);
        expect_refused(what, "refused", mem, len, &l, EINVAL);
        l.meta = meta;
        l.meta_len = ml;
        expect_refused(what, "refused", mem, len, &l, EINVAL);
    }
    free(meta);
    free(mem);
}
END_TEST

/* The edges that must be accepted. */
START_TEST(create_edges_accepted)
{
    const size_t cs = 256, len = 64 * 1024;
    unsigned char *mem = aligned_block(4096, len);
    ca_config c = {.chunk_size = cs, .lock = CA_LOCK_TICKET};
    char name[CA_NAME_MAX + 1];
    map_of(name, CA_NAME_MAX, 'x');

    ca_arena *a = ca_arena_create(name, mem, len, &c);
    ck_assert_msg(a != NULL, "a name of CA_NAME_MAX characters is refused: %s", strerror(errno));
    ck_assert_msg(ca_arena_find(name) == a, "the longest name is not found");
    ck_assert_str_eq(ca_arena_name(a), name);
    ck_assert_int_eq(ca_arena_destroy(a), 0);

    /* the name is copied: the caller's buffer may change afterwards */
    char buf[16] = "copied-name";
    a = ca_arena_create(buf, mem, len, &c);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));
    memcpy(buf, "changed-nam", 11);
    ck_assert_msg(ca_arena_find("copied-name") == a && strcmp(ca_arena_name(a), "copied-name") == 0,
                  "the arena's name follows the caller's buffer: \"%s\"", ca_arena_name(a));
    ck_assert_int_eq(ca_arena_destroy(a), 0);

    /* exactly one chunk after the bookkeeping */
    size_t one = round_up(ca_arena_meta_size(1, &c), cs) + cs;
    a = ca_arena_create("one-chunk", mem, one, &c);
    ck_assert_msg(a != NULL, "%zu bytes (bookkeeping + one chunk) refused: %s", one,
                  strerror(errno));
    ck_assert_uint_eq(stats_of(a).chunks_total, 1);
    void *p = ca_alloc(a, cs);
    ck_assert_msg(p != NULL && ca_alloc(a, 0) == NULL, "one chunk: %p, then a second", p);
    ca_free(a, p);
    ck_assert_int_eq(ca_arena_destroy(a), 0);

    /* fit windows 1 and 64 */
    static const unsigned windows[] = {1, 2, 63, 64};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        ca_config w = c;
        w.fit_window = windows[i];
        a = ca_arena_create("window", mem, len, &w);
        ck_assert_msg(a != NULL, "fit_window %u refused: %s", windows[i], strerror(errno));
        p = ca_alloc(a, 1000);
        ck_assert_msg(p != NULL, "fit_window %u: no allocation", windows[i]);
        ca_free(a, p);
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }

    /* NULL config and a zero config: every default */
    const ca_config zero = {0};
    const ca_config *defaults[] = {NULL, &zero};
    for (size_t i = 0; i < 2; i++) {
        a = ca_arena_create("defaults", mem, len, defaults[i]);
        ck_assert_msg(a != NULL, "%s config refused: %s", i ? "zero" : "NULL", strerror(errno));
        ca_stats s = stats_of(a);
        ck_assert_msg(s.chunk_size == CA_DEFAULT_CHUNK_SIZE && s.lock == configured_default(),
                      "defaults: chunk %zu, layer %s; expected %d, %s", s.chunk_size,
                      ca_lock_name(s.lock), CA_DEFAULT_CHUNK_SIZE,
                      ca_lock_name(configured_default()));
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }

    /* chunk size 16, the smallest */
    ca_config small = {.chunk_size = 16, .lock = CA_LOCK_HINT};
    a = ca_arena_create("chunk-16", mem, len, &small);
    ck_assert_msg(a != NULL, "chunk size 16 refused: %s", strerror(errno));
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    free(mem);
}
END_TEST

START_TEST(create_duplicate_name)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "duplicate", 16, 64, CA_LOCK_MUTEX);
    unsigned char *mem2 = aligned_block(4096, 16384);
    size_t before = registered();
    expect_refused("a runtime arena's name", "duplicate", mem2, 16384, NULL, EEXIST);
    ck_assert_msg(ca_arena_find("duplicate") == a, "the first \"duplicate\" is no longer found");
    ck_assert_uint_eq(registered(), before);
    ca_arena *st = ca_arena_find("static-16");
    expect_refused("a static arena's name", "static-16", mem2, 16384, NULL, EEXIST);
    ck_assert_msg(ca_arena_find("static-16") == st && st == CA_ARENA(s16),
                  "the static arena lost its name");
    /* once the first is gone, the name is free */
    tarena_drop(&t);
    a = ca_arena_create("duplicate", mem2, 16384, NULL);
    ck_assert_msg(a != NULL, "the name of a destroyed arena is still taken: %s", strerror(errno));
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    free(mem2);
}
END_TEST

/* Every lock value works, and the stats (and dump) name the layer in use;
 * CA_LOCK_DEFAULT resolves to configure's layer. _i: 0..5. */
START_TEST(create_every_lock)
{
    static const ca_lock all[] = {CA_LOCK_DEFAULT, CA_LOCK_NONE, CA_LOCK_SPIN,
                                  CA_LOCK_TICKET,  CA_LOCK_MUTEX, CA_LOCK_HINT};
    ca_lock lock = all[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "every-lock", 64, 64, lock);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.lock != CA_LOCK_DEFAULT, "stats report CA_LOCK_DEFAULT, not the layer in use");
    ck_assert_msg(s.lock == resolved(lock), "created with %s, stats report %s (expected %s)",
                  ca_lock_name(lock), ca_lock_name(s.lock), ca_lock_name(resolved(lock)));
    void *p[8];
    for (int i = 0; i < 8; i++) {
        p[i] = ca_alloc(a, (size_t)i * 50);
        ck_assert_msg(p[i] != NULL, "%s: allocation %d failed", ca_lock_name(lock), i);
    }
    for (int i = 0; i < 8; i++)
        ck_assert_msg(ca_free_checked(a, p[i]) == CA_FAULT_NONE, "free %d", i);
    expect_healthy(a, "every lock");

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_msg(f != NULL, "open_memstream");
    ck_assert_int_eq(ca_arena_dump(a, f), 0);
    fclose(f);
    char layer[32];
    snprintf(layer, sizeof layer, "%s", ca_lock_name(s.lock));
    ck_assert_msg(strstr(text, layer) != NULL, "the dump does not name the layer \"%s\":\n%s", layer,
                  text);
    free(text);
    tarena_drop(&t);
}
END_TEST

/* ======================================================= TCase "destroy" */

START_TEST(destroy_refused_while_busy)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "busy", 32, 128, lock);
    void *p = ca_alloc(a, 300);
    ck_assert_msg(p != NULL, "alloc");
    fill_pattern(p, 300, 1);
    errno = 0;
    ck_assert_msg(ca_arena_destroy(a) == -1 && errno == EBUSY,
                  "destroy with a live allocation: errno %d (%s), expected EBUSY", errno,
                  strerror(errno));
    /* still registered and working */
    ck_assert_msg(ca_arena_find("busy") == a, "a refused destroy unregistered the arena");
    ck_assert_msg(ca_arena_of(p) == a, "a refused destroy: ca_arena_of lost the region");
    expect_pattern(p, 300, 1, "after a refused destroy");
    void *q = ca_alloc(a, 1000);
    ck_assert_msg(q != NULL, "no allocation after a refused destroy");
    ca_free(a, p);
    errno = 0;
    ck_assert_msg(ca_arena_destroy(a) == -1 && errno == EBUSY, "destroy with one of two live");
    ca_free(a, q);
    ck_assert_msg(ca_arena_destroy(a) == 0, "destroy after every free: %s", strerror(errno));
    ck_assert_msg(ca_arena_find("busy") == NULL, "destroyed but still found");
    free(t.mem);
    free(t.meta);
}
END_TEST

START_TEST(destroy_after_reset)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "reset-then-destroy", 64, 64, lock);
    for (size_t i = 0; i < 10; i++)
        ck_assert_msg(ca_alloc(a, i * 40) != NULL, "alloc %zu", i);
    errno = 0;
    ck_assert_msg(ca_arena_destroy(a) == -1 && errno == EBUSY, "destroy with 10 live allocations");
    ca_arena_reset(a);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0 && s.largest_free_run == 64 &&
                      s.free_runs == 1,
                  "after reset: %zu used, %zu live, longest run %zu, %zu runs", s.chunks_used,
                  s.allocations, s.largest_free_run, s.free_runs);
    expect_healthy(a, "after reset");
    void *p = ca_alloc(a, 64 * 64);
    ck_assert_msg(p == t.mem, "after reset the whole region is not free");
    ca_arena_reset(a);
    ck_assert_msg(ca_arena_destroy(a) == 0, "destroy after reset: %s", strerror(errno));
    free(t.mem);
    free(t.meta);
}
END_TEST

START_TEST(destroy_static_and_null)
{
    for (size_t i = 0; i < NSTATIC; i++) {
        errno = 0;
        ck_assert_msg(ca_arena_destroy(static_cases[i].arena) == -1 && errno == EPERM,
                      "destroy of static \"%s\": errno %d (%s), expected EPERM",
                      static_cases[i].name, errno, strerror(errno));
        ck_assert_msg(ca_arena_find(static_cases[i].name) == static_cases[i].arena,
                      "static \"%s\" unregistered by a refused destroy", static_cases[i].name);
    }
    errno = 0;
    ck_assert_msg(ca_arena_destroy(CA_ARENA(other_tu)) == -1 && errno == EPERM,
                  "destroy of a static arena of another file");
    errno = 0;
    ck_assert_msg(ca_arena_destroy(NULL) == -1 && errno == EINVAL,
                  "destroy(NULL): errno %d, expected EINVAL", errno);
}
END_TEST

/* After destroy: the name is free, the memory is no arena's, and the same
 * memory can carry a new arena of the same name. */
START_TEST(destroy_frees_name_and_memory)
{
    ca_lock lock = layers[_i];
    tarena t;
    size_t before = registered();
    ca_arena *a = tarena_make(&t, "gone", 32, 256, lock);
    unsigned char *p = ca_alloc(a, 700);
    ck_assert_msg(p != NULL, "alloc");
    ca_free(a, p);
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    errno = 0;
    ck_assert_msg(ca_arena_find("gone") == NULL && errno == ENOENT, "\"gone\" still found");
    errno = 0;
    ck_assert_msg(ca_arena_of(p) == NULL && errno == ENOENT,
                  "ca_arena_of still finds the memory of a destroyed arena");
    ck_assert_msg(ca_arena_of(t.mem) == NULL && ca_arena_of(t.mem + t.len - 1) == NULL,
                  "the region's edges still belong to an arena");
    ck_assert_uint_eq(registered(), before);
    ca_arena *list[64];
    size_t n = ca_arena_list(list, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        ck_assert_msg(list[i] != a, "the destroyed arena is still listed");

    /* again, over the same memory and metadata */
    ca_config c = {.chunk_size = 256, .lock = lock, .meta = t.meta, .meta_len = t.meta_len};
    a = ca_arena_create("gone", t.mem, t.len, &c);
    ck_assert_msg(a != NULL, "re-create over the same memory: %s", strerror(errno));
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0 && s.bytes_requested == 0 &&
                      s.chunks_peak == 0,
                  "the new arena inherited figures: %zu used, %zu live, %zu bytes, peak %zu",
                  s.chunks_used, s.allocations, s.bytes_requested, s.chunks_peak);
    ck_assert_msg(ca_arena_find("gone") == a && ca_arena_of(t.mem) == a, "the new arena not found");
    p = ca_alloc(a, t.len);
    ck_assert_msg(p == t.mem, "the new arena is not empty");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* A hint arena destroyed and re-created at the same memory, smaller and
 * with another chunk size: this thread's cached hint of the old one must
 * not be used (it points far past the new region). Then the other way. */
START_TEST(destroy_recreate_smaller_hint_arena)
{
    const size_t len = 1024 * 64;
    unsigned char *mem = aligned_block(4096, len);
    ca_config big = {.chunk_size = 64, .lock = CA_LOCK_HINT};
    size_t ml = ca_arena_meta_size(1024, &big);
    unsigned char *meta = aligned_block(64, ml);
    big.meta = meta;
    big.meta_len = ml;
    ca_arena *a = ca_arena_create("hint-big", mem, len, &big);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));
    void **ptrs = malloc(1024 * sizeof *ptrs);
    ck_assert(ptrs != NULL);
    for (size_t i = 0; i < 1000; i++) {
        ptrs[i] = ca_alloc(a, 64);
        ck_assert_msg(ptrs[i] != NULL, "alloc %zu", i);
    }
    for (size_t i = 0; i < 1000; i++)
        ca_free(a, ptrs[i]);
    ck_assert_int_eq(ca_arena_destroy(a), 0);

    static const size_t sizes[] = {4096, 256, 16};
    for (size_t k = 0; k < 3; k++) {
        ca_config small = {.chunk_size = sizes[k], .lock = CA_LOCK_HINT, .meta = meta, .meta_len = ml};
        a = ca_arena_create("hint-small", mem, 8 * sizes[k], &small);
        ck_assert_msg(a != NULL, "re-create with 8 chunks of %zu: %s", sizes[k], strerror(errno));
        for (size_t i = 0; i < 8; i++) {
            ptrs[i] = ca_alloc(a, 1);
            ck_assert_msg(ptrs[i] != NULL, "8 chunks of %zu: allocation %zu failed", sizes[k], i);
            ck_assert_msg((unsigned char *)ptrs[i] >= mem && (unsigned char *)ptrs[i] < mem + 8 * sizes[k],
                          "allocation %p outside the new region [%p, +%zu)", ptrs[i], (void *)mem,
                          8 * sizes[k]);
        }
        errno = 0;
        ck_assert_msg(ca_alloc(a, 1) == NULL && errno == ENOMEM, "a ninth chunk out of 8");
        expect_healthy(a, "re-created hint arena");
        for (size_t i = 0; i < 8; i++)
            ck_assert_msg(ca_free_checked(a, ptrs[i]) == CA_FAULT_NONE, "free %zu", i);
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }
    /* and large again: the whole region is usable */
    a = ca_arena_create("hint-big", mem, len, &big);
    ck_assert_msg(a != NULL, "create: %s", strerror(errno));
    for (size_t i = 0; i < 1024; i++) {
        ptrs[i] = ca_alloc(a, 64);
        ck_assert_msg(ptrs[i] != NULL, "big again: allocation %zu of 1024 failed", i);
    }
    ca_arena_reset(a);
    ck_assert_int_eq(ca_arena_destroy(a), 0);
    free(ptrs);
    free(meta);
    free(mem);
}
END_TEST

/* ======================================================== TCase "lookup" */

START_TEST(find_by_name)
{
    tarena t1, t2;
    ca_arena *a1 = tarena_make(&t1, "look-a", 8, 64, CA_LOCK_MUTEX);
    ca_arena *a2 = tarena_make(&t2, "look-b", 8, 64, CA_LOCK_HINT);
    ck_assert_msg(ca_arena_find("look-a") == a1, "look-a");
    ck_assert_msg(ca_arena_find("look-b") == a2, "look-b");
    ck_assert_str_eq(ca_arena_name(a1), "look-a");
    ck_assert_str_eq(ca_arena_name(a2), "look-b");
    static const char *const unknown[] = {"look", "look-", "look-c", "LOOK-A", "look-a ", ""};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        errno = 0;
        ca_arena *f = ca_arena_find(unknown[i]);
        ck_assert_msg(f == NULL && errno == ENOENT, "find(\"%s\"): %p, errno %d; expected ENOENT",
                      unknown[i], (void *)f, errno);
    }
    errno = 0;
    ck_assert_msg(ca_arena_find(NULL) == NULL && errno == EINVAL, "find(NULL): errno %d", errno);
    for (size_t i = 0; i < NSTATIC; i++) {
        ck_assert_msg(ca_arena_find(static_cases[i].name) == static_cases[i].arena,
                      "static \"%s\" not found by name", static_cases[i].name);
        ck_assert_str_eq(ca_arena_name(static_cases[i].arena), static_cases[i].name);
    }
    tarena_drop(&t1);
    tarena_drop(&t2);
}
END_TEST

START_TEST(list_snapshot_and_truncation)
{
    size_t before = registered();
    ca_arena *prior[128];
    ck_assert_msg(before <= 128, "%zu arenas registered", before);
    ck_assert_uint_eq(ca_arena_list(prior, 128), before);
    tarena t[3];
    ca_arena *a[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "list-%d", i);
        a[i] = tarena_make(&t[i], name, 8, 64, CA_LOCK_SPIN);
    }
    ca_arena *out[130];
    size_t n = ca_arena_list(out, 130);
    ck_assert_msg(n == before + 3, "list: %zu arenas, expected %zu", n, before + 3);
    /* newest first */
    ck_assert_msg(out[0] == a[2] && out[1] == a[1] && out[2] == a[0],
                  "list is not newest first: %s, %s, %s", ca_arena_name(out[0]),
                  ca_arena_name(out[1]), ca_arena_name(out[2]));
    for (size_t i = 0; i < before; i++)
        ck_assert_msg(out[3 + i] == prior[i], "older arena %zu moved in the list", i);
    /* every listed arena is found by its name */
    for (size_t i = 0; i < n; i++) {
        const char *name = ca_arena_name(out[i]);
        if (strcmp(name, "static-dup") != 0)
            ck_assert_msg(ca_arena_find(name) == out[i], "listed \"%s\" is not what find gives",
                          name);
    }
    /* truncated: max smaller than the count */
    ca_arena *small[3] = {NULL, NULL, (ca_arena *)&small};
    n = ca_arena_list(small, 2);
    ck_assert_msg(n == before + 3, "truncated list returned %zu, expected the full count %zu", n,
                  before + 3);
    ck_assert_msg(small[0] == a[2] && small[1] == a[1], "truncated list: wrong first two");
    ck_assert_msg(small[2] == (ca_arena *)&small, "list wrote past max");
    ck_assert_uint_eq(ca_arena_list(NULL, 0), before + 3);
    /* after destroying the middle one */
    tarena_drop(&t[1]);
    n = ca_arena_list(out, 130);
    ck_assert_msg(n == before + 2 && out[0] == a[2] && out[1] == a[0],
                  "after destroying list-1: %zu arenas, first %s, %s", n, ca_arena_name(out[0]),
                  ca_arena_name(out[1]));
    tarena_drop(&t[0]);
    tarena_drop(&t[2]);
    ck_assert_uint_eq(registered(), before);
}
END_TEST

START_TEST(of_region_edges)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "edges", 16, 256, CA_LOCK_MUTEX);
    ck_assert_msg(ca_arena_of(t.mem) == a, "first byte of the region");
    ck_assert_msg(ca_arena_of(t.mem + t.len - 1) == a, "last byte of the region");
    ck_assert_msg(ca_arena_of(t.mem + t.len / 2 + 3) == a, "a byte in the middle");
    errno = 0;
    ck_assert_msg(ca_arena_of(t.mem + t.len) == NULL && errno == ENOENT,
                  "one byte past the region belongs to an arena");
    errno = 0;
    ck_assert_msg(ca_arena_of((void *)((uintptr_t)t.mem - 1)) == NULL && errno == ENOENT,
                  "one byte before the region belongs to an arena");
    /* a carved arena: its first and last chunk */
    const size_t len = 16384;
    unsigned char *mem = aligned_block(4096, len);
    ca_arena *b = ca_arena_create("edges-carved", mem, len, NULL);
    ck_assert_msg(b != NULL, "create: %s", strerror(errno));
    size_t n = stats_of(b).chunks_total, cs = stats_of(b).chunk_size;
    unsigned char *p = ca_alloc(b, n * cs);
    ck_assert_msg(p != NULL, "whole region");
    ck_assert_msg(ca_arena_of(p) == b && ca_arena_of(p + n * cs - 1) == b,
                  "the carved arena's first or last chunk is not found");
    ck_assert_msg(ca_arena_of(p + n * cs) != b, "one past the carved region is found");
    ca_free(b, p);
    ck_assert_int_eq(ca_arena_destroy(b), 0);
    free(mem);
    tarena_drop(&t);
}
END_TEST

START_TEST(of_foreign_pointers)
{
    int local = 0;
    errno = 0;
    ck_assert_msg(ca_arena_of(&local) == NULL && errno == ENOENT, "a stack pointer: errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_arena_of(NULL) == NULL && errno == ENOENT, "NULL: errno %d", errno);
    void *heap = malloc(64);
    ck_assert(heap != NULL);
    errno = 0;
    ck_assert_msg(ca_arena_of(heap) == NULL && errno == ENOENT, "a malloc'd pointer");
    free(heap);
    ck_assert_msg(ca_arena_of(&static_cases) == NULL, "a static variable");
}
END_TEST

/* ======================================================== TCase "static" */

/* Each static arena: found by name, the figures of its definition, its
 * region where the macro put it (one allocation of all of it starts there),
 * and usable. _i: index into static_cases. */
START_TEST(static_arenas_by_macro_and_name)
{
    const static_case *sc = &static_cases[_i];
    ca_arena *a = sc->arena;
    ck_assert_msg(ca_arena_find(sc->name) == a, "\"%s\" not found by name", sc->name);
    ck_assert_str_eq(ca_arena_name(a), sc->name);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunk_size == sc->chunk_size && s.chunks_total == sc->nchunks,
                  "\"%s\": %zu chunks of %zu, defined with %zu of %zu", sc->name, s.chunks_total,
                  s.chunk_size, sc->nchunks, sc->chunk_size);
    ck_assert_msg(s.lock == resolved(sc->lock), "\"%s\": layer %s, defined with %s (%s)", sc->name,
                  ca_lock_name(s.lock), ca_lock_name(sc->lock), ca_lock_name(resolved(sc->lock)));
    ck_assert_uint_eq(sc->region_len, sc->nchunks * sc->chunk_size);
    ck_assert_msg((uintptr_t)sc->region % sc->chunk_size == 0, "\"%s\": region %p not aligned to %zu",
                  sc->name, (const void *)sc->region, sc->chunk_size);
    ck_assert_msg(ca_arena_of(sc->region) == a && ca_arena_of(sc->region + sc->region_len - 1) == a,
                  "\"%s\": ca_arena_of does not place its region where the macro put it", sc->name);
    ck_assert_msg(ca_arena_of(sc->region + sc->region_len) != a,
                  "\"%s\": one byte past its region is found in it", sc->name);

    unsigned char *p = ca_alloc(a, sc->region_len);
    ck_assert_msg(p == sc->region, "\"%s\": the whole region starts at %p, not at the array %p",
                  sc->name, (void *)p, (const void *)sc->region);
    memset(p, 0x77, sc->region_len);
    expect_healthy(a, sc->name);
    ca_free(a, p);
    void *q[4];
    for (size_t i = 0; i < 4; i++) {
        q[i] = ca_alloc(a, sc->chunk_size * (i % 2) + 1);
        ck_assert_msg(q[i] != NULL && (uintptr_t)q[i] % sc->chunk_size == 0,
                      "\"%s\": small allocation %zu: %p", sc->name, i, q[i]);
        ck_assert_msg(ca_arena_of(q[i]) == a, "\"%s\": ca_arena_of(allocation)", sc->name);
    }
    for (size_t i = 0; i < 4; i++)
        ca_free(a, q[i]);
    s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "\"%s\": %zu chunks left in use",
                  sc->name, s.chunks_used);
}
END_TEST

/* CA_ARENA_DECLARE: an arena defined in tests/test_api_static.c. */
START_TEST(static_other_translation_unit)
{
    ca_arena *a = CA_ARENA(other_tu);
    ck_assert_msg(a == static_other_arena(), "CA_ARENA(other_tu) differs between the two files");
    ck_assert_msg(ca_arena_find("static-other-tu") == a, "\"static-other-tu\" not found by name");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunk_size == 64 && s.chunks_total == 32 && s.lock == CA_LOCK_TICKET,
                  "static-other-tu: %zu chunks of %zu, %s", s.chunks_total, s.chunk_size,
                  ca_lock_name(s.lock));
    void *p = static_other_alloc(100);
    ck_assert_msg(p != NULL && ca_arena_of(p) == a, "allocation from the other file: %p", p);
    ck_assert_uint_eq(ca_usable_size(a, p), 128);
    void *q = ca_alloc(a, 10);
    ck_assert_msg(q != NULL, "allocation from this file");
    ca_free(a, p);
    ca_free(a, q);
    ck_assert_uint_eq(stats_of(a).allocations, 0);
}
END_TEST

/* tests/test_api_static.c allocated from "static-early" in a constructor
 * that ran before this file's CA_ARENA_DEFINE constructors. */
START_TEST(static_usable_before_registration)
{
    ca_arena *a = CA_ARENA(searly);
    ck_assert_msg(static_early_arena() == a, "the other file's CA_ARENA(searly) differs");
    void *p = static_early_pointer();
    ck_assert_msg(p != NULL, "ca_alloc from a static arena in an early constructor failed");
    ck_assert_msg(ca_arena_find("static-early") == a, "\"static-early\" not registered after use");
    ck_assert_msg(ca_arena_of(p) == a, "the early allocation is not in \"static-early\"");
    ck_assert_msg(ca_usable_size(a, p) >= 100, "usable size of the early allocation");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 1,
                  "static-early: %zu allocations, %zu chunks (expected the early one)",
                  s.allocations, s.chunks_used);
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "free of the early allocation");
}
END_TEST

/* Two static arenas of one name: both work, the registry holds one under
 * that name, and the other's memory is never attributed to the first. */
START_TEST(static_name_taken)
{
    ca_arena *x = CA_ARENA(dup_first), *y = CA_ARENA(dup_second);
    ca_arena *found = ca_arena_find("static-dup");
    ck_assert_msg(found == x || found == y, "\"static-dup\" finds neither definition");
    ca_arena *other = found == x ? y : x;
    ck_assert_str_eq(ca_arena_name(other), "static-dup");
    /* Both are registered (by address: listed, known to ca_arena_of and
     * ca_free_any), only the first by name. */
    ca_arena *list[128];
    size_t n = ca_arena_list(list, 128), named = 0;
    for (size_t i = 0; i < n && i < 128; i++)
        named += strcmp(ca_arena_name(list[i]), "static-dup") == 0;
    ck_assert_msg(named == 2, "%zu arenas listed as \"static-dup\", not both", named);
    ca_arena *both[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        void *p = ca_alloc(both[i], 100);
        ck_assert_msg(p != NULL, "the %s definition does not work", i ? "second" : "first");
        ck_assert_uint_eq(ca_usable_size(both[i], p), 128);
        ck_assert_msg(ca_arena_of(p) == both[i],
                      "a pointer of one \"static-dup\" is not attributed to it");
        ca_free_any(p); /* the default handler would abort if its memory were unknown */
        ck_assert_msg(ca_free_checked(both[i], p) == CA_FAULT_NOT_ALLOCATED,
                      "ca_free_any did not free the %s definition's pointer",
                      i ? "second" : "first");
    }
    errno = 0;
    ck_assert_msg(ca_arena_destroy(other) == -1 && errno == EPERM, "destroy of the shadowed one");
}
END_TEST

START_TEST(static_reset)
{
    ca_arena *a = CA_ARENA(sticket);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(ca_alloc(a, 64) != NULL, "alloc %d", i);
    ca_arena_reset(a);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0 && s.largest_free_run == 16,
                  "reset of a static arena: %zu used", s.chunks_used);
    ck_assert_msg(ca_arena_find("static-ticket") == a, "reset unregistered it");
    expect_healthy(a, "static reset");
}
END_TEST

/* A destructor that runs after the CA_ARENA_DEFINE destructors (priority
 * 101 destructors run last), as code late in exit() does: a shared
 * library's destructor (they run after the executable's), or a thread still
 * working while the process exits. Armed only in the child of
 * static_usable_at_exit. */
static void *exit_pointer;

__attribute__((destructor(101))) static void free_at_exit(void)
{
    if (!exit_pointer)
        return;
    void *p = ca_alloc(CA_ARENA(sexit), 10);
    if (!p)
        _exit(2);
    ca_free(CA_ARENA(sexit), p);
    ca_free(CA_ARENA(sexit), exit_pointer); /* a fault aborts (default handler) */
}

/* A static arena of the executable "cannot be destroyed": it must still
 * work, and accept its own pointers back, in code that runs during exit. */
START_TEST(static_usable_at_exit)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        ca_set_fault_handler(NULL);
        exit_pointer = ca_alloc(CA_ARENA(sexit), 10);
        if (!exit_pointer)
            _exit(3);
        exit(0); /* runs the destructors */
    }
    int status = 0;
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "ca_alloc from sexit failed");
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 2),
                  "at exit, after the CA_ARENA_DEFINE destructors ran, ca_alloc from a static "
                  "arena fails");
    ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT),
                  "at exit, after the CA_ARENA_DEFINE destructors ran, ca_free of a valid pointer "
                  "of a static arena called the fault handler (it aborted)");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child ended with status 0x%x", (unsigned)status);
}
END_TEST

/* ========================================================== TCase "dso" */

typedef struct dso {
    void *handle;
    ca_arena *(*arena)(void);
    void *(*alloc)(size_t);
    void (*release)(void *);
    const void *(*region)(size_t *);
} dso;

static char dso_path_buf[4096];

/* CA_TEST_DSO, else <dir of this program>/.libs/arenas_dso.so, else
 * <dir>/arenas_dso.so. */
static const char *dso_path(void)
{
    const char *env = getenv("CA_TEST_DSO");
    if (env && *env)
        return env;
    char exe[sizeof dso_path_buf - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_msg(n > 0, "readlink(/proc/self/exe): %s", strerror(errno));
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    ck_assert(slash != NULL);
    *slash = '\0';
    static const char *const places[] = {"/.libs/arenas_dso.so", "/arenas_dso.so"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(dso_path_buf, sizeof dso_path_buf, "%s%s", exe, places[i]);
        if (access(dso_path_buf, R_OK) == 0)
            return dso_path_buf;
    }
    ck_abort_msg("arenas_dso.so is neither in %s/.libs/ nor in %s/: build it (make check builds "
                 "tests/arenas_dso.la) or set CA_TEST_DSO to its path",
                 exe, exe);
    return NULL;
}

static void dso_symbol(void *handle, const char *name, void *fn, size_t size)
{
    void *sym = dlsym(handle, name);
    ck_assert_msg(sym != NULL, "dlsym(%s): %s", name, dlerror());
    ck_assert(size == sizeof sym);
    memcpy(fn, &sym, size);
}

static void dso_open(dso *d)
{
    const char *path = dso_path();
    d->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(d->handle != NULL, "dlopen(%s): %s", path, dlerror());
    dso_symbol(d->handle, "arenas_dso_arena", &d->arena, sizeof d->arena);
    dso_symbol(d->handle, "arenas_dso_alloc", &d->alloc, sizeof d->alloc);
    dso_symbol(d->handle, "arenas_dso_free", &d->release, sizeof d->release);
    dso_symbol(d->handle, "arenas_dso_region", &d->region, sizeof d->region);
}

static void dso_close(dso *d)
{
    ck_assert_msg(dlclose(d->handle) == 0, "dlclose: %s", dlerror());
    memset(d, 0, sizeof *d);
}

/* Load the module: "dso" registered; use it from both sides; unload it:
 * "dso" gone. Twice, so the second load meets the state the first left
 * (this thread's cached hint of the unloaded arena). */
START_TEST(dso_load_use_unload)
{
    size_t before = registered();
    errno = 0;
    ck_assert_msg(ca_arena_find("dso") == NULL && errno == ENOENT, "\"dso\" exists before dlopen");
    for (int round = 0; round < 2; round++) {
        dso d;
        dso_open(&d);
        ca_arena *a = ca_arena_find("dso");
        ck_assert_msg(a != NULL, "round %d: \"dso\" is not registered after dlopen", round);
        ck_assert_msg(a == d.arena(), "round %d: find(\"dso\") is not the module's CA_ARENA(dso)",
                      round);
        ck_assert_uint_eq(registered(), before + 1);
        ca_stats s = stats_of(a);
        ck_assert_msg(s.chunk_size == 128 && s.chunks_total == 64 && s.lock == CA_LOCK_HINT &&
                          s.allocations == 0,
                      "round %d: dso: %zu chunks of %zu, %s, %zu live", round, s.chunks_total,
                      s.chunk_size, ca_lock_name(s.lock), s.allocations);
        size_t len = 0;
        const unsigned char *region = d.region(&len);
        ck_assert_msg(len == 64 * 128 && ca_arena_of(region) == a &&
                          ca_arena_of(region + len - 1) == a,
                      "round %d: the module's region is not the arena's", round);
        void *p = d.alloc(100);
        ck_assert_msg(p != NULL && ca_arena_of(p) == a, "round %d: allocation inside the module",
                      round);
        fill_pattern(p, 100, 9);
        void *q = ca_alloc(a, 300);
        ck_assert_msg(q != NULL && ca_usable_size(a, q) == 384, "round %d: allocation from here",
                      round);
        expect_pattern(p, 100, 9, "module allocation");
        ca_free(a, p);   /* freed here, allocated there */
        d.release(q);    /* and the other way */
        s = stats_of(a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "round %d: %zu allocations left",
                      round, s.allocations);
        expect_healthy(a, "dso");
        errno = 0;
        ck_assert_msg(ca_arena_destroy(a) == -1 && errno == EPERM, "destroy of the module's arena");
        uintptr_t where = (uintptr_t)region;
        dso_close(&d);
        errno = 0;
        ck_assert_msg(ca_arena_find("dso") == NULL && errno == ENOENT,
                      "round %d: \"dso\" is still registered after dlclose", round);
        ck_assert_uint_eq(registered(), before);
        ck_assert_msg(ca_arena_of((const void *)where) == NULL,
                      "round %d: the unloaded module's region still belongs to an arena", round);
    }
}
END_TEST

/* A runtime arena holds the name "dso" when the module loads: the module's
 * arena works but is not found by name, and unloading it leaves the runtime
 * arena registered. */
START_TEST(dso_name_taken)
{
    tarena t;
    ca_arena *mine = tarena_make(&t, "dso", 16, 64, CA_LOCK_MUTEX);
    dso d;
    dso_open(&d);
    ca_arena *theirs = d.arena();
    ck_assert_msg(ca_arena_find("dso") == mine, "the module's arena took the name");
    ck_assert_msg(theirs != mine, "the module returned the runtime arena");
    void *p = d.alloc(50);
    ck_assert_msg(p != NULL, "the shadowed module arena does not work");
    ck_assert_msg(ca_arena_of(p) != mine, "its pointer is attributed to the runtime \"dso\"");
    ck_assert_str_eq(ca_arena_name(theirs), "dso");
    d.release(p);
    ck_assert_uint_eq(stats_of(theirs).allocations, 0);
    dso_close(&d);
    ck_assert_msg(ca_arena_find("dso") == mine,
                  "unloading the module unregistered the runtime arena of the same name");
    ck_assert_msg(ca_arena_of(t.mem) == mine, "the runtime arena's region was unregistered");
    tarena_drop(&t);
}
END_TEST

/* ========================================================= TCase "alloc" */

START_TEST(alloc_size_zero_is_unique)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "zero", 8, 64, layers[_i]);
    unsigned char *p = ca_alloc(a, 0), *q = ca_alloc(a, 0);
    ck_assert_msg(p != NULL && q != NULL, "size 0: %p, %p", (void *)p, (void *)q);
    ck_assert_msg(p != q && (p + 64 <= q || q + 64 <= p), "two size-0 allocations overlap: %p %p",
                  (void *)p, (void *)q);
    ck_assert_uint_eq(ca_usable_size(a, p), 64);
    ck_assert_uint_eq(ca_usable_size(a, q), 64);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 2 && s.allocations == 2, "two size-0: %zu chunks, %zu live",
                  s.chunks_used, s.allocations);
    ca_free(a, p);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(alloc_rounds_up_to_chunks)
{
    const size_t cs = 128;
    tarena t;
    ca_arena *a = tarena_make(&t, "rounding", 64, cs, layers[_i]);
    const size_t sizes[] = {1, 16, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 1, 10 * cs - 1};
    void *p[sizeof sizes / sizeof sizes[0]];
    size_t used = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = ca_alloc(a, sizes[i]);
        ck_assert_msg(p[i] != NULL, "alloc(%zu) failed", sizes[i]);
        ck_assert_msg((uintptr_t)p[i] % cs == 0 && (uintptr_t)p[i] % 16 == 0,
                      "alloc(%zu) = %p is not chunk aligned", sizes[i], p[i]);
        size_t n = chunks_for(sizes[i], cs);
        used += n;
        ck_assert_msg(ca_usable_size(a, p[i]) == n * cs, "alloc(%zu): usable %zu, expected %zu",
                      sizes[i], ca_usable_size(a, p[i]), n * cs);
        ck_assert_msg(stats_of(a).chunks_used == used, "after alloc(%zu): %zu chunks used, not %zu",
                      sizes[i], stats_of(a).chunks_used, used);
        memset(p[i], (int)i, sizes[i]);
    }
    expect_healthy(a, "rounding");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        ca_free(a, p[i]);
    tarena_drop(&t);
}
END_TEST

/* A full arena: NULL with ENOMEM (fast, on the known-longest-run path, but
 * only the behaviour is asserted), counted as failures; room made by a free
 * is found again. */
START_TEST(alloc_full_arena)
{
    const size_t cs = 64, n = 32;
    tarena t;
    ca_arena *a = tarena_make(&t, "full", n, cs, layers[_i]);
    errno = 0;
    ck_assert_msg(ca_alloc(a, n * cs + 1) == NULL && errno == ENOMEM, "more than the arena");
    errno = 0;
    ck_assert_msg(ca_alloc(a, SIZE_MAX) == NULL && errno == ENOMEM, "SIZE_MAX");
    errno = 0;
    ck_assert_msg(ca_alloc(a, SIZE_MAX - cs + 2) == NULL && errno == ENOMEM,
                  "a size whose rounding overflows");
    char map[64];
    shape(&t, map_of(map, n, '#'));
    size_t failures = stats_of(a).failures;
    errno = 0;
    ck_assert_msg(ca_alloc(a, 1) == NULL && errno == ENOMEM, "alloc(1) from a full arena: errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_alloc(a, 0) == NULL && errno == ENOMEM, "alloc(0) from a full arena");
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, 16, 1) == NULL && errno == ENOMEM, "aligned, full arena");
    errno = 0;
    ck_assert_msg(ca_calloc(a, 1, 1) == NULL && errno == ENOMEM, "calloc, full arena");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.failures == failures + 4, "4 failed allocations counted as %zu",
                  s.failures - failures);
    ck_assert_msg(s.chunks_used == n && s.largest_free_run == 0 && s.free_runs == 0,
                  "full: %zu used, longest free %zu, %zu runs", s.chunks_used, s.largest_free_run,
                  s.free_runs);
    ca_free(a, chunk(&t, 17));
    void *p = ca_alloc(a, cs);
    ck_assert_msg(p == chunk(&t, 17), "the one free chunk (17) is not found: %p", p);
    ca_free(a, chunk(&t, 17));
    errno = 0;
    ck_assert_msg(ca_alloc(a, 2 * cs) == NULL && errno == ENOMEM, "two chunks from a one-chunk hole");
    expect_healthy(a, "full arena");
    tarena_drop(&t);
}
END_TEST

START_TEST(alloc_null_arena)
{
    errno = 0;
    ck_assert_msg(ca_alloc(NULL, 1) == NULL && errno == EINVAL, "alloc(NULL arena): errno %d",
                  errno);
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(NULL, 64, 1) == NULL && errno == EINVAL, "aligned_alloc(NULL)");
    errno = 0;
    ck_assert_msg(ca_calloc(NULL, 1, 1) == NULL && errno == EINVAL, "calloc(NULL arena)");
    errno = 0;
    ck_assert_msg(ca_realloc(NULL, NULL, 1) == NULL && errno == EINVAL, "realloc(NULL arena, NULL)");
    ca_stats s;
    errno = 0;
    ck_assert_msg(ca_arena_stats(NULL, &s) == -1 && errno == EINVAL, "stats(NULL arena)");
}
END_TEST

/* "errno is left alone on success", for every function that sets it. */
START_TEST(errno_untouched_on_success)
{
    const size_t len = 64 * 1024;
    unsigned char *mem = aligned_block(4096, len);
#define KEEPS_ERRNO(call)                                                                       \
    do {                                                                                        \
        errno = ERANGE;                                                                         \
        call;                                                                                   \
        ck_assert_msg(errno == ERANGE, "%s succeeded but changed errno to %d (%s)", #call,       \
                      errno, strerror(errno));                                                  \
    } while (0)
    ca_arena *a = NULL;
    ca_config c = {.chunk_size = 256, .lock = CA_LOCK_HINT};
    size_t ms = 0;
    KEEPS_ERRNO(ms = ca_arena_meta_size(100, &c));
    ck_assert(ms > 0);
    KEEPS_ERRNO(a = ca_arena_create("errno", mem, len, &c));
    ck_assert(a != NULL);
    ca_arena *f = NULL;
    KEEPS_ERRNO(f = ca_arena_find("errno"));
    ck_assert(f == a);
    size_t n = 0;
    KEEPS_ERRNO(n = ca_arena_list(NULL, 0));
    ck_assert(n > 0);
    void *p = NULL, *q = NULL, *r = NULL;
    KEEPS_ERRNO(p = ca_alloc(a, 100));
    ck_assert(p != NULL);
    KEEPS_ERRNO(f = ca_arena_of(p));
    ck_assert(f == a);
    KEEPS_ERRNO(q = ca_aligned_alloc(a, 1024, 100));
    ck_assert(q != NULL);
    KEEPS_ERRNO(r = ca_calloc(a, 10, 10));
    ck_assert(r != NULL);
    KEEPS_ERRNO(p = ca_realloc(a, p, 1000));
    ck_assert(p != NULL);
    KEEPS_ERRNO(q = ca_aligned_realloc(a, q, 1024, 2000));
    ck_assert(q != NULL);
    int rc = -1;
    KEEPS_ERRNO(rc = ca_resize(a, r, 50));
    ck_assert(rc == 0);
    size_t u = 0;
    KEEPS_ERRNO(u = ca_usable_size(a, r));
    ck_assert(u == 256);
    ca_stats s;
    KEEPS_ERRNO(rc = ca_arena_stats(a, &s));
    ck_assert(rc == 0);
    FILE *out = tmpfile();
    ck_assert(out != NULL);
    KEEPS_ERRNO(rc = ca_arena_dump(a, out));
    ck_assert(rc == 0);
    fclose(out);
    const char *why = "x";
    KEEPS_ERRNO(why = ca_arena_check(a));
    ck_assert(why == NULL);
    ca_fault fault = CA_FAULT_FOREIGN;
    KEEPS_ERRNO(fault = ca_free_checked(a, r));
    ck_assert(fault == CA_FAULT_NONE);
    KEEPS_ERRNO(ca_free(a, p));
    KEEPS_ERRNO(ca_free_any(q));
    KEEPS_ERRNO(ca_arena_reset(a));
    KEEPS_ERRNO(rc = ca_arena_destroy(a));
    ck_assert(rc == 0);
#undef KEEPS_ERRNO
    free(mem);
}
END_TEST

/* Every power-of-two alignment, below, at and above the chunk size. */
START_TEST(aligned_alloc_honoured)
{
    const size_t cs = 256;
    tarena t;
    ca_arena *a = tarena_make_aligned(&t, "aligned", 64, cs, layers[_i], 16384);
    for (size_t align = 1; align <= 16384; align *= 2) {
        const size_t sizes[] = {1, 300, 4096};
        for (size_t k = 0; k < 3; k++) {
            unsigned char *p = ca_aligned_alloc(a, align, sizes[k]);
            ck_assert_msg(p != NULL, "aligned_alloc(%zu, %zu) failed: %s", align, sizes[k],
                          strerror(errno));
            ck_assert_msg((uintptr_t)p % align == 0 && (uintptr_t)p % cs == 0,
                          "aligned_alloc(%zu, %zu) = %p", align, sizes[k], (void *)p);
            ck_assert_msg(ca_usable_size(a, p) >= sizes[k], "usable size below the request");
            memset(p, 1, sizes[k]);
            ca_free(a, p);
        }
    }
    /* an alignment no address of the region has */
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, (size_t)1 << 62, 1) == NULL && errno == ENOMEM,
                  "alignment 2^62: errno %d, expected ENOMEM", errno);
    errno = 0;
    ck_assert_msg(ca_aligned_alloc(a, (SIZE_MAX >> 1) + 1, 1) == NULL && errno == ENOMEM,
                  "alignment 2^63: errno %d, expected ENOMEM", errno);
    /* over-aligned starts are scarce: only chunk 48 qualifies for 4096 */
    char map[65];
    map_of(map, 64, '.');
    map[0] = map[16] = map[32] = '#';
    shape(&t, map);
    unsigned char *p = ca_aligned_alloc(a, 4096, 512);
    ck_assert_msg(p == chunk(&t, 48), "the only 4096-aligned free start is chunk 48, got chunk %zu",
                  p ? index_of(&t, p) : SIZE_MAX);
    ca_free(a, p);
    expect_healthy(a, "aligned");
    tarena_drop(&t);
}
END_TEST

START_TEST(aligned_alloc_bad_alignment)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "bad-align", 16, 64, layers[_i]);
    ca_stats before = stats_of(a);
    static const size_t bad[] = {3, 6, 48, 100, 4095, 4097, SIZE_MAX, (SIZE_MAX >> 1) + 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = ca_aligned_alloc(a, bad[i], 10);
        ck_assert_msg(p == NULL && errno == EINVAL, "alignment %zu: %p, errno %d; expected EINVAL",
                      bad[i], p, errno);
    }
    expect_unchanged(a, &before, "refused alignments");
    tarena_drop(&t);
}
END_TEST

/* 0 is not a power of two: ca_aligned_alloc must refuse it as the header
 * says (and as ca_aligned_realloc does). */
START_TEST(aligned_alloc_zero_alignment)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "zero-align", 16, 64, CA_LOCK_MUTEX);
    errno = 0;
    void *p = ca_aligned_alloc(a, 0, 10);
    int e = errno;
    if (p)
        ca_free(a, p);
    void *q = ca_alloc(a, 10);
    ck_assert(q != NULL);
    errno = 0;
    void *r = ca_aligned_realloc(a, q, 0, 10);
    int e2 = errno;
    ca_free(a, r ? r : q);
    tarena_drop(&t);
    ck_assert_msg(r == NULL && e2 == EINVAL, "ca_aligned_realloc(align 0): %p, errno %d", r, e2);
    ck_assert_msg(p == NULL && e == EINVAL,
                  "ca_aligned_alloc(a, 0, 10) returned %p (errno %d): alignment 0 is not a power "
                  "of two, expected NULL with EINVAL (ca_aligned_realloc refuses 0)",
                  p, e);
}
END_TEST

/* calloc zeroes even memory that was dirty. */
START_TEST(calloc_zeroes_dirty_memory)
{
    const size_t cs = 128, n = 16;
    tarena t;
    ca_arena *a = tarena_make(&t, "calloc", n, cs, layers[_i]);
    unsigned char *p = ca_alloc(a, n * cs);
    ck_assert(p == t.mem);
    memset(p, 0xA5, n * cs);
    ca_free(a, p);
    unsigned char *z = ca_calloc(a, n, cs);
    ck_assert_msg(z == t.mem, "calloc of the whole arena: %p", (void *)z);
    for (size_t i = 0; i < n * cs; i++)
        ck_assert_msg(z[i] == 0, "calloc(%zu, %zu): byte %zu is 0x%02x", n, cs, i, z[i]);
    memset(z, 0x5A, n * cs);
    ca_free(a, z);
    z = ca_calloc(a, 7, 51);
    ck_assert_msg(z != NULL, "calloc(7, 51)");
    for (size_t i = 0; i < 7 * 51; i++)
        ck_assert_msg(z[i] == 0, "calloc(7, 51): byte %zu is 0x%02x", i, z[i]);
    unsigned char *e = ca_calloc(a, 0, 10);
    ck_assert_msg(e != NULL && e != z, "calloc(0, 10): a unique pointer, got %p", (void *)e);
    ca_free(a, z);
    ca_free(a, e);
    tarena_drop(&t);
}
END_TEST

START_TEST(calloc_overflow)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "calloc-overflow", 16, 64, layers[_i]);
    ca_stats before = stats_of(a);
    const size_t half = (SIZE_MAX >> 1) + 1;
    const size_t cases[][2] = {{half, 2},         {2, half},     {SIZE_MAX, SIZE_MAX},
                               {SIZE_MAX, 2},     {SIZE_MAX, 1}, {1, SIZE_MAX},
                               {(size_t)1 << 32, (size_t)1 << 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        errno = 0;
        void *p = ca_calloc(a, cases[i][0], cases[i][1]);
        ck_assert_msg(p == NULL && errno == ENOMEM, "calloc(%zu, %zu): %p, errno %d", cases[i][0],
                      cases[i][1], p, errno);
    }
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == before.chunks_used && s.allocations == 0,
                  "refused callocs allocated something");
    expect_healthy(a, "calloc overflow");
    tarena_drop(&t);
}
END_TEST

START_TEST(usable_size_rules)
{
    const size_t cs = 64;
    tarena t;
    ca_arena *a = tarena_make(&t, "usable", 64, cs, layers[_i]);
    const size_t sizes[] = {0, 1, 63, 64, 65, 200, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = ca_alloc(a, sizes[i]);
        ck_assert(p != NULL);
        size_t u = ca_usable_size(a, p);
        ck_assert_msg(u >= sizes[i] && u % cs == 0 && u == chunks_for(sizes[i], cs) * cs,
                      "usable_size after alloc(%zu): %zu", sizes[i], u);
        ca_free(a, p);
    }
    ck_assert_uint_eq(ca_usable_size(a, NULL), 0);
    recorder_on();
    unsigned char *p = ca_alloc(a, 100);
    ck_assert_uint_eq(ca_usable_size(a, p + 1), 0);
    expect_fault("ca_usable_size", "usable", p + 1, CA_FAULT_INTERIOR);
    ca_free(a, p);
    ck_assert_uint_eq(ca_usable_size(a, p), 0);
    expect_fault("ca_usable_size", "usable", p, CA_FAULT_NOT_ALLOCATED);
    tarena_drop(&t);
}
END_TEST

/* ======================================================= TCase "realloc" */

#define RCS 256 /* chunk size of the realloc tests */
#define RN 64   /* their chunks */

/* A 64-chunk arena of 256-byte chunks, mem aligned to 16 KiB: chunks 0, 16,
 * 32, 48 are the 4096-aligned ones (chunk 16 is mem + 4096, aligned to 4096
 * and not to 8192). */
static ca_arena *realloc_arena(tarena *t, ca_lock lock)
{
    return tarena_make_aligned(t, "realloc", RN, RCS, lock, 16384);
}

/* A map with only the listed chunks free (list ends with SIZE_MAX). */
static char *map_free_only(char *buf, const size_t *free_chunks)
{
    map_of(buf, RN, '#');
    for (size_t i = 0; free_chunks[i] != SIZE_MAX; i++)
        buf[free_chunks[i]] = '.';
    return buf;
}

START_TEST(realloc_null_allocates)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    void *p = ca_realloc(a, NULL, 300);
    ck_assert_msg(p != NULL && ca_usable_size(a, p) == 2 * RCS, "realloc(NULL, 300): %p", p);
    void *q = ca_aligned_realloc(a, NULL, 4096, 100);
    ck_assert_msg(q != NULL && (uintptr_t)q % 4096 == 0, "aligned_realloc(NULL, 4096): %p", q);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 2 && s.chunks_used == 3 && s.moves == 0,
                  "two allocations by realloc(NULL): %zu live, %zu chunks, %zu moves",
                  s.allocations, s.chunks_used, s.moves);
    ca_free(a, p);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_grows_in_place)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, 100);
    ck_assert_msg(p == chunk(&t, 1), "the only free chunk is 1");
    fill_pattern(p, 100, 3);
    ca_free(a, chunk(&t, 2));
    ca_free(a, chunk(&t, 3));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 3 * RCS);
    ck_assert_msg(q == p, "chunks 2 and 3 are free: realloc moved %p to %p", (void *)p, (void *)q);
    ck_assert_uint_eq(ca_usable_size(a, q), 3 * RCS);
    expect_pattern(q, 100, 3, "grown in place");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.grows_in_place == before.grows_in_place + 1 && s.moves == before.moves,
                  "grows_in_place %zu -> %zu, moves %zu -> %zu", before.grows_in_place,
                  s.grows_in_place, before.moves, s.moves);
    ck_assert_uint_eq(s.chunks_used, before.chunks_used + 2);
    expect_healthy(a, "grown in place");
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_moves_when_blocked)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 4);
    for (size_t i = 40; i < 44; i++)
        ca_free(a, chunk(&t, i));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 3 * RCS);
    ck_assert_msg(q != NULL, "realloc with room at chunks 40..43 failed: %s", strerror(errno));
    ck_assert_msg(q == chunk(&t, 40) || q == chunk(&t, 41),
                  "3 chunks fit only at chunk 40 or 41, got chunk %zu", index_of(&t, q));
    expect_pattern(q, RCS, 4, "moved");
    ck_assert_uint_eq(ca_usable_size(a, q), 3 * RCS);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.moves == before.moves + 1 && s.grows_in_place == before.grows_in_place,
                  "moves %zu -> %zu, grows %zu -> %zu", before.moves, s.moves,
                  before.grows_in_place, s.grows_in_place);
    ck_assert_msg(s.allocations == before.allocations && s.chunks_used == before.chunks_used + 2,
                  "after a move: %zu live (was %zu), %zu chunks (was %zu)", s.allocations,
                  before.allocations, s.chunks_used, before.chunks_used);
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NOT_ALLOCATED,
                  "the old block was not freed by the move");
    expect_healthy(a, "moved");
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_shrinks_in_place)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    unsigned char *p = ca_alloc(a, RN * RCS);
    ck_assert(p == t.mem);
    fill_pattern(p, RN * RCS, 5);
    unsigned char *q = ca_realloc(a, p, RCS + 1);
    ck_assert_msg(q == p, "a shrink moved the block");
    ck_assert_uint_eq(ca_usable_size(a, q), 2 * RCS);
    expect_pattern(q, RCS + 1, 5, "shrunk");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.shrinks_in_place == 1 && s.moves == 0 && s.chunks_used == 2,
                  "shrinks %zu, moves %zu, used %zu", s.shrinks_in_place, s.moves, s.chunks_used);
    /* the tail is reusable: 62 chunks fit only right after it */
    unsigned char *r = ca_alloc(a, (RN - 2) * RCS);
    ck_assert_msg(r == chunk(&t, 2), "the shrunk tail is not reusable: %p", (void *)r);
    ca_free(a, r);
    ca_free(a, q);
    tarena_drop(&t);
}
END_TEST

START_TEST(realloc_zero_keeps_one_chunk)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    unsigned char *p = ca_alloc(a, 5 * RCS);
    ck_assert(p != NULL);
    fill_pattern(p, 16, 6);
    unsigned char *q = ca_realloc(a, p, 0);
    ck_assert_msg(q == p, "realloc(p, 0) returned %p, expected p %p (it never frees)", (void *)q,
                  (void *)p);
    ck_assert_uint_eq(ca_usable_size(a, q), RCS);
    expect_pattern(q, 16, 6, "realloc to 0");
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 1, "after realloc(p, 0): %zu live, %zu used",
                  s.allocations, s.chunks_used);
    ck_assert_msg(ca_free_checked(a, q) == CA_FAULT_NONE, "the kept chunk is not an allocation");
    tarena_drop(&t);
}
END_TEST

/* The alignment p was asked for survives a move: p from
 * ca_aligned_alloc(4096) in a 256-byte chunk arena, growth blocked by a
 * neighbour, and a single free 4096-aligned place among many unaligned
 * ones. */
START_TEST(realloc_keeps_original_alignment)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){16, SIZE_MAX}));
    unsigned char *p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert_msg(p == chunk(&t, 16), "aligned_alloc(4096): chunk 16 is the only place");
    fill_pattern(p, RCS, 7);
    /* free everything but chunk 17 (the neighbour) and the aligned 0 and 32 */
    for (size_t i = 0; i < RN; i++)
        if (i != 0 && i != 16 && i != 17 && i != 32)
            ca_free(a, chunk(&t, i));
    ca_stats before = stats_of(a);
    unsigned char *q = ca_realloc(a, p, 2 * RCS);
    ck_assert_msg(q != NULL, "realloc failed: %s", strerror(errno));
    ck_assert_msg((uintptr_t)q % 4096 == 0,
                  "the moved block %p (chunk %zu) lost the 4096 alignment it was allocated with",
                  (void *)q, index_of(&t, q));
    ck_assert_msg(q == chunk(&t, 48), "chunk 48 is the only free 4096-aligned place, got %zu",
                  index_of(&t, q));
    expect_pattern(q, RCS, 7, "aligned move");
    ck_assert_uint_eq(stats_of(a).moves, before.moves + 1);
    /* and through ca_aligned_realloc with an explicit, smaller alignment:
     * the header promises that alignment only */
    expect_healthy(a, "aligned move");
    tarena_drop(&t);
}
END_TEST

/* The move must ask for the alignment the block was allocated with, not
 * for the alignment its address happens to have: p = ca_aligned_alloc(4096)
 * at a 1 MiB aligned address, growth blocked, free 4096-aligned places
 * elsewhere. */
START_TEST(realloc_move_needs_only_the_asked_alignment)
{
    tarena t;
    ca_arena *a = tarena_make_aligned(&t, "realloc-asked", RN, RCS, CA_LOCK_MUTEX, (size_t)1 << 20);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){0, SIZE_MAX}));
    unsigned char *p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert_msg(p == t.mem, "aligned_alloc: chunk 0 is the only free chunk");
    fill_pattern(p, RCS, 8);
    for (size_t i = 2; i < RN; i++)
        ca_free(a, chunk(&t, i)); /* chunk 1 stays: the neighbour */
    ca_stats s = stats_of(a);
    ck_assert_msg(s.largest_free_run == RN - 2, "set-up: longest free run %zu", s.largest_free_run);
    errno = 0;
    unsigned char *q = ca_realloc(a, p, 2 * RCS);
    int e = errno;
    if (q)
        ca_free(a, q);
    else
        ca_free(a, p);
    ca_free(a, chunk(&t, 1));
    tarena_drop(&t);
    ck_assert_msg(q != NULL,
                  "ca_realloc of a block allocated with alignment 4096 failed (errno %d) although "
                  "chunks 16, 32 and 48 are free 4096-aligned starts of 62 free chunks: the move "
                  "asked for the alignment of the address (1 MiB or more), not 4096",
                  e);
    ck_assert_msg((uintptr_t)q % 4096 == 0, "moved block %p not 4096-aligned", (void *)q);
}
END_TEST

START_TEST(realloc_failure_leaves_p)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){5, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, 100);
    ck_assert(p == chunk(&t, 5));
    fill_pattern(p, RCS, 9);
    ca_stats before = stats_of(a);
    const size_t sizes[] = {2 * RCS, RN * RCS, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        void *q = ca_realloc(a, p, sizes[i]);
        ck_assert_msg(q == NULL && errno == ENOMEM, "realloc(p, %zu) in a full arena: %p, errno %d",
                      sizes[i], q, errno);
        expect_pattern(p, RCS, 9, "after a failed realloc");
        ck_assert_uint_eq(ca_usable_size(a, p), RCS);
        errno = 0;
        q = ca_aligned_realloc(a, p, 4096, sizes[i]);
        ck_assert_msg(q == NULL && errno == ENOMEM, "aligned_realloc(p, 4096, %zu): %p, errno %d",
                      sizes[i], q, errno);
        expect_pattern(p, RCS, 9, "after a failed aligned realloc");
    }
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == before.chunks_used && s.allocations == before.allocations &&
                      s.largest_free_run == before.largest_free_run &&
                      s.free_runs == before.free_runs && s.moves == before.moves &&
                      s.grows_in_place == before.grows_in_place &&
                      s.shrinks_in_place == before.shrinks_in_place,
                  "a failed realloc changed the arena");
    expect_healthy(a, "failed realloc");
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p is no longer a valid allocation");
    tarena_drop(&t);
}
END_TEST

START_TEST(aligned_realloc_rules)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    /* bad alignments: NULL, EINVAL, p untouched */
    unsigned char *p = ca_alloc(a, 100);
    ck_assert(p != NULL);
    fill_pattern(p, 100, 10);
    static const size_t bad[] = {0, 3, 48, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *q = ca_aligned_realloc(a, p, bad[i], 1000);
        ck_assert_msg(q == NULL && errno == EINVAL, "aligned_realloc(align %zu): %p, errno %d",
                      bad[i], q, errno);
        expect_pattern(p, 100, 10, "refused alignment");
    }
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p lost after refused alignments");

    /* in place when p has the alignment and room follows */
    p = ca_aligned_alloc(a, 4096, RCS);
    ck_assert(p != NULL);
    size_t grows = stats_of(a).grows_in_place;
    unsigned char *q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q == p, "aligned p with free chunks after it moved");
    ck_assert_uint_eq(stats_of(a).grows_in_place, grows + 1);
    ca_free(a, q);

    /* a move honours the new alignment */
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 11);
    for (size_t i = 3; i < RN; i++)
        ca_free(a, chunk(&t, i)); /* chunk 2 blocks growth; chunk 0 stays */
    q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q != NULL && (uintptr_t)q % 4096 == 0, "aligned_realloc(4096) moved to %p",
                  (void *)q);
    expect_pattern(q, RCS, 11, "aligned realloc move");

    /* p not aligned as asked, though it could grow in place: the result is aligned */
    ca_free(a, chunk(&t, 2));
    unsigned char *held[4], *r = ca_alloc(a, RCS);
    size_t nheld = 0;
    while (r && (uintptr_t)r % 1024 == 0 && nheld < 4) { /* want r not 1024-aligned */
        held[nheld++] = r;
        r = ca_alloc(a, RCS);
    }
    for (size_t i = 0; i < nheld; i++)
        ca_free(a, held[i]);
    ck_assert_msg(r != NULL && (uintptr_t)r % 1024 != 0, "no block that is not 1024-aligned");
    fill_pattern(r, RCS, 12);
    unsigned char *s = ca_aligned_realloc(a, r, 1024, 2 * RCS);
    ck_assert_msg(s != NULL && (uintptr_t)s % 1024 == 0,
                  "aligned_realloc(1024) of a block at %p returned %p", (void *)r, (void *)s);
    expect_pattern(s, RCS, 12, "aligned realloc of a misaligned block");
    expect_healthy(a, "aligned realloc");
    tarena_drop(&t);
}
END_TEST

/* A block that ca_aligned_realloc grew in place was asked to be aligned:
 * a later move by ca_realloc must keep that alignment, as it does for a
 * block from ca_aligned_alloc or one that ca_aligned_realloc moved. */
START_TEST(aligned_realloc_in_place_is_remembered)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, CA_LOCK_MUTEX);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){16, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert_msg(p == chunk(&t, 16), "the only free chunk is 16 (4096-aligned)");
    ca_free(a, chunk(&t, 17));
    unsigned char *q = ca_aligned_realloc(a, p, 4096, 2 * RCS);
    ck_assert_msg(q == p, "aligned_realloc(4096) of a 4096-aligned block with room after it moved");
    fill_pattern(q, 2 * RCS, 15);
    for (size_t i = 0; i < RN; i++)
        if (i != 0 && i != 16 && i != 17 && i != 18 && i != 32)
            ca_free(a, chunk(&t, i)); /* chunk 18 blocks growth; 48 is the aligned room */
    unsigned char *r = ca_realloc(a, q, 3 * RCS);
    ck_assert_msg(r != NULL, "realloc: %s", strerror(errno));
    size_t ir = index_of(&t, r);
    expect_pattern(r, 2 * RCS, 15, "moved after an aligned realloc");
    ca_free(a, r);
    ca_free(a, chunk(&t, 0));
    ca_free(a, chunk(&t, 18));
    ca_free(a, chunk(&t, 32));
    tarena_drop(&t);
    ck_assert_msg((uintptr_t)r % 4096 == 0,
                  "the block was asked to be 4096-aligned by ca_aligned_realloc (which grew it in "
                  "place); ca_realloc then moved it to chunk %zu, not 4096-aligned (chunk 48 was "
                  "free)",
                  ir);
}
END_TEST

START_TEST(resize_in_place_only)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, layers[_i]);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, 10);
    ck_assert(p == chunk(&t, 1));
    fill_pattern(p, RCS, 13);
    ca_free(a, chunk(&t, 2));
    ca_free(a, chunk(&t, 3));
    ca_stats s0 = stats_of(a);
    ck_assert_msg(ca_resize(a, p, 3 * RCS) == 0, "resize into free chunks 2, 3: %s", strerror(errno));
    ck_assert_uint_eq(ca_usable_size(a, p), 3 * RCS);
    ck_assert_uint_eq(stats_of(a).grows_in_place, s0.grows_in_place + 1);
    ca_stats s1 = stats_of(a);
    const size_t too_big[] = {4 * RCS, 3 * RCS + 1, RN * RCS, SIZE_MAX};
    for (size_t i = 0; i < 4; i++) {
        errno = 0;
        ck_assert_msg(ca_resize(a, p, too_big[i]) == -1 && errno == ENOMEM,
                      "resize to %zu with chunk 4 taken: errno %d", too_big[i], errno);
        ck_assert_uint_eq(ca_usable_size(a, p), 3 * RCS);
    }
    expect_unchanged(a, &s1, "refused resizes");
    ck_assert_msg(ca_resize(a, p, RCS) == 0, "shrink");
    ck_assert_uint_eq(ca_usable_size(a, p), RCS);
    ck_assert_uint_eq(stats_of(a).shrinks_in_place, s1.shrinks_in_place + 1);
    ck_assert_msg(ca_resize(a, p, 0) == 0, "resize to 0");
    ck_assert_uint_eq(ca_usable_size(a, p), RCS);
    ck_assert_msg(ca_resize(a, p, 2 * RCS) == 0, "grow again into chunk 2");
    expect_pattern(p, RCS, 13, "after resizes");
    ck_assert_msg(ca_free_checked(a, p) == CA_FAULT_NONE, "p after resizes");
    expect_healthy(a, "resize");
    tarena_drop(&t);
}
END_TEST

/* ========================================================== TCase "free" */

START_TEST(free_null_and_valid)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "free", 16, 64, layers[_i]);
    recorder_on();
    ca_stats before = stats_of(a);
    ca_free(a, NULL);
    ca_free_any(NULL);
    ck_assert_int_eq(ca_free_checked(a, NULL), CA_FAULT_NONE);
    expect_unchanged(a, &before, "freeing NULL");
    expect_no_fault("freeing NULL");
    void *p = ca_alloc(a, 200);
    ck_assert(p != NULL);
    ca_free(a, p);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_used == 0 && s.allocations == 0, "ca_free left %zu chunks", s.chunks_used);
    p = ca_alloc(a, 16 * 64);
    ck_assert_msg(p == t.mem, "freed chunks are not reusable");
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NONE);
    expect_no_fault("valid frees");
    tarena_drop(&t);
}
END_TEST

/* ca_free_checked returns exactly the fault, changes nothing, and never
 * calls the handler. */
START_TEST(free_checked_faults)
{
    const size_t cs = 256;
    tarena t, u;
    ca_arena *a = tarena_make(&t, "checked", 16, cs, layers[_i]);
    ca_arena *b = tarena_make(&u, "checked-other", 4, cs, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 3 * cs), *q = ca_alloc(a, cs), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    ca_free(a, q);
    size_t ip = index_of(&t, p), iq = index_of(&t, q), never = 0;
    while ((never >= ip && never < ip + 3) || never == iq)
        never++;
    int local = 0;
    const struct {
        const char *what;
        void *ptr;
        ca_fault fault;
    } cases[] = {
        {"a stack pointer", &local, CA_FAULT_FOREIGN},
        {"another arena's allocation", other, CA_FAULT_FOREIGN},
        {"one byte past the region", t.mem + t.len, CA_FAULT_FOREIGN},
        {"one chunk before the region", (void *)((uintptr_t)t.mem - cs), CA_FAULT_FOREIGN},
        {"p + 1", p + 1, CA_FAULT_INTERIOR},
        {"p + 16", p + 16, CA_FAULT_INTERIOR},
        {"p + one chunk", p + cs, CA_FAULT_INTERIOR},
        {"the last byte of p", p + 3 * cs - 1, CA_FAULT_INTERIOR},
        {"a freed pointer", q, CA_FAULT_NOT_ALLOCATED},
        {"a chunk never allocated", chunk(&t, never), CA_FAULT_NOT_ALLOCATED},
        {"a byte inside a free chunk", chunk(&t, never) + 8, CA_FAULT_NOT_ALLOCATED},
    };
    recorder_on();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ca_stats before = stats_of(a), before_b = stats_of(b);
        ca_fault f = ca_free_checked(a, cases[i].ptr);
        ck_assert_msg(f == cases[i].fault, "ca_free_checked(%s): \"%s\", expected \"%s\"",
                      cases[i].what, ca_fault_name(f), ca_fault_name(cases[i].fault));
        expect_unchanged(a, &before, cases[i].what);
        expect_unchanged(b, &before_b, cases[i].what);
        expect_no_fault("ca_free_checked");
    }
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NONE);
    ck_assert_int_eq(ca_free_checked(a, p), CA_FAULT_NOT_ALLOCATED);
    ck_assert_int_eq(ca_free_checked(NULL, p), CA_FAULT_FOREIGN);
    ca_free(b, other);
    expect_no_fault("ca_free_checked");
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

START_TEST(free_any_among_several)
{
    static const ca_lock locks[3] = {CA_LOCK_MUTEX, CA_LOCK_HINT, CA_LOCK_SPIN};
    static const size_t sizes[3] = {64, 256, 1024};
    tarena t[3];
    void *p[3][4];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "any-%d", i);
        tarena_make(&t[i], name, 16, sizes[i], locks[i]);
        for (int k = 0; k < 4; k++) {
            p[i][k] = ca_alloc(t[i].a, sizes[i] * (size_t)(k % 2 + 1));
            ck_assert(p[i][k] != NULL);
        }
    }
    void *sp = ca_alloc(CA_ARENA(s16), 20);
    ck_assert(sp != NULL);
    size_t s16_live = stats_of(CA_ARENA(s16)).allocations;
    recorder_on();
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++) {
            int i = (j + k) % 3;
            size_t live[3];
            for (int m = 0; m < 3; m++)
                live[m] = stats_of(t[m].a).allocations;
            ca_free_any(p[i][k]);
            for (int m = 0; m < 3; m++)
                ck_assert_msg(stats_of(t[m].a).allocations == live[m] - (m == i),
                              "ca_free_any of a pointer of any-%d: any-%d went from %zu to %zu "
                              "allocations",
                              i, m, live[m], stats_of(t[m].a).allocations);
        }
    ca_free_any(sp);
    ck_assert_uint_eq(stats_of(CA_ARENA(s16)).allocations, s16_live - 1);
    expect_no_fault("ca_free_any of valid pointers");
    for (int i = 0; i < 3; i++)
        tarena_drop(&t[i]);
}
END_TEST

START_TEST(free_any_faults)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "free-any", 8, 128, layers[_i]);
    unsigned char *p = ca_alloc(a, 256);
    ck_assert(p != NULL);
    int local = 0;
    recorder_on();
    ca_stats before = stats_of(a);
    ca_free_any(&local);
    expect_fault("ca_free_any", "(none)", &local, CA_FAULT_FOREIGN);
    ca_free_any(p + 1);
    expect_fault("ca_free_any", "free-any", p + 1, CA_FAULT_INTERIOR);
    ca_free_any(p + 128);
    expect_fault("ca_free_any", "free-any", p + 128, CA_FAULT_INTERIOR);
    expect_unchanged(a, &before, "ca_free_any of bad pointers");
    ca_free_any(p);
    expect_no_fault("ca_free_any(p)");
    before = stats_of(a);
    ca_free_any(p);
    expect_fault("ca_free_any", "free-any", p, CA_FAULT_NOT_ALLOCATED);
    expect_unchanged(a, &before, "a double ca_free_any");
    tarena_drop(&t);
}
END_TEST

/* ======================================================== TCase "faults" */

static size_t other_calls;

static void other_handler(const ca_fault_report *r)
{
    (void)r;
    other_calls++;
}

START_TEST(set_fault_handler_returns_previous)
{
    ca_fault_handler d = ca_set_fault_handler(record_fault);
    ck_assert_msg(d != NULL && d != record_fault, "the first handler is not the default");
    ck_assert_msg(ca_set_fault_handler(other_handler) == record_fault, "previous: record_fault");
    tarena t;
    ca_arena *a = tarena_make(&t, "handlers", 8, 64, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 10);
    nseen = 0;
    ca_free(a, p + 1);
    ck_assert_msg(other_calls == 1 && nseen == 0, "the installed handler was not the one called");
    ck_assert_msg(ca_set_fault_handler(NULL) == other_handler, "previous: other_handler");
    ck_assert_msg(ca_set_fault_handler(record_fault) == d,
                  "after set(NULL), the handler in place is not the default");
    ca_free(a, p + 1);
    expect_fault("ca_free", "handlers", p + 1, CA_FAULT_INTERIOR);
    ck_assert_msg(ca_set_fault_handler(NULL) == record_fault, "previous: record_fault");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* The calls that report a bad pointer to the handler. */
enum bad_call { CALL_FREE, CALL_REALLOC, CALL_AREALLOC_SMALL, CALL_AREALLOC_BIG, CALL_RESIZE,
                CALL_USABLE, CALL_FREE_ANY, NCALLS };
static const char *const call_names[NCALLS] = {"ca_free",        "ca_realloc",
                                               "ca_aligned_realloc", "ca_aligned_realloc",
                                               "ca_resize",      "ca_usable_size",
                                               "ca_free_any"};

/* Make the call; returns what it returned as a number (pointer calls: 1 if
 * not NULL) and its errno in *err. No assertion: it runs in forked children. */
static size_t provoke(enum bad_call call, ca_arena *a, void *p, int *err)
{
    size_t ret = 0;
    errno = 0;
    switch (call) {
    case CALL_FREE:
        ca_free(a, p);
        break;
    case CALL_REALLOC:
        ret = ca_realloc(a, p, 100) != NULL;
        break;
    case CALL_AREALLOC_SMALL:
        ret = ca_aligned_realloc(a, p, 16, 100) != NULL;
        break;
    case CALL_AREALLOC_BIG:
        ret = ca_aligned_realloc(a, p, 4096, 100) != NULL;
        break;
    case CALL_RESIZE:
        ret = (size_t)ca_resize(a, p, 100);
        break;
    case CALL_USABLE:
        ret = ca_usable_size(a, p);
        break;
    case CALL_FREE_ANY:
        ca_free_any(p);
        break;
    case NCALLS:
        break;
    }
    *err = errno;
    return ret;
}

/* provoke, and check what the call returned after the handler returned. */
static void bad_call(enum bad_call call, ca_arena *a, void *p)
{
    int err = 0;
    size_t ret = provoke(call, a, p, &err);
    switch (call) {
    case CALL_REALLOC:
    case CALL_AREALLOC_SMALL:
    case CALL_AREALLOC_BIG:
        ck_assert_msg(ret == 0 && err == EINVAL, "%s(%p) of a bad pointer: %s, errno %d",
                      call_names[call], p, ret ? "not NULL" : "NULL", err);
        break;
    case CALL_RESIZE:
        ck_assert_msg(ret == (size_t)-1 && err == EINVAL, "ca_resize(%p) of a bad pointer: %zd, "
                      "errno %d", p, (ssize_t)ret, err);
        break;
    case CALL_USABLE:
        ck_assert_msg(ret == 0, "ca_usable_size(%p) of a bad pointer: %zu", p, ret);
        break;
    default:
        break;
    }
}

/* Every reporting function, with a foreign, an interior and a freed
 * pointer: the handler is told the function, the arena, the pointer and
 * the fault, and both arenas are unchanged. */
START_TEST(handler_told_function_arena_pointer_fault)
{
    tarena t, u;
    ca_arena *a = tarena_make(&t, "faulty", 16, 256, layers[_i]);
    ca_arena *b = tarena_make(&u, "faulty-other", 4, 256, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, 512), *q = ca_alloc(a, 256), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    fill_pattern(p, 512, 14);
    ca_free(a, q);
    int local = 0;
    recorder_on();
    for (int c = 0; c < NCALLS; c++) {
        enum bad_call call = (enum bad_call)c;
        const struct {
            void *ptr;
            const char *arena;
            ca_fault fault;
        } bad[] = {
            {&local, call == CALL_FREE_ANY ? "(none)" : "faulty", CA_FAULT_FOREIGN},
            {call == CALL_FREE_ANY ? (void *)&nseen : other,
             call == CALL_FREE_ANY ? "(none)" : "faulty", CA_FAULT_FOREIGN},
            {p + 1, "faulty", CA_FAULT_INTERIOR},
            {p + 256, "faulty", CA_FAULT_INTERIOR},
            {q, "faulty", CA_FAULT_NOT_ALLOCATED},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ca_stats before = stats_of(a), before_b = stats_of(b);
            bad_call(call, a, bad[i].ptr);
            expect_fault(call_names[call], bad[i].arena, bad[i].ptr, bad[i].fault);
            expect_unchanged(a, &before, call_names[call]);
            expect_unchanged(b, &before_b, call_names[call]);
        }
    }
    expect_pattern(p, 512, 14, "p after the faults");
    ck_assert_uint_eq(ca_usable_size(a, p), 512);
    ca_free(a, p);
    ca_free(b, other);
    expect_no_fault("valid frees");
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

/* A handler that uses the same arena and the registry: with a lock of the
 * library held it would deadlock (spin, ticket, mutex; urcu's grace period
 * for the create/destroy). */
static ca_arena *reentry_arena;
static size_t reentry_ok;
static _Alignas(4096) unsigned char reentry_mem[64 * 1024];

static void reentrant_handler(const ca_fault_report *r)
{
    record_fault(r);
    ca_stats s;
    if (ca_arena_stats(reentry_arena, &s) != 0)
        return;
    void *p = ca_alloc(reentry_arena, 10);
    if (!p)
        return;
    void *q = ca_realloc(reentry_arena, p, 600);
    if (!q) {
        ca_free(reentry_arena, p);
        return;
    }
    if (ca_usable_size(reentry_arena, q) != 768 || ca_free_checked(reentry_arena, q) != CA_FAULT_NONE)
        return;
    if (ca_arena_check(reentry_arena) != NULL || ca_arena_list(NULL, 0) == 0 ||
        ca_arena_find(ca_arena_name(reentry_arena)) != reentry_arena)
        return;
    ca_config c = {.chunk_size = 256, .lock = CA_LOCK_MUTEX};
    ca_arena *fresh = ca_arena_create("from-the-handler", reentry_mem, sizeof reentry_mem, &c);
    if (!fresh || ca_arena_destroy(fresh) != 0)
        return;
    reentry_ok++;
}

START_TEST(handler_runs_without_lock)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "reentrant", 32, 256, layers[_i]);
    reentry_arena = a;
    reentry_ok = 0;
    unsigned char *p = ca_alloc(a, 512), *q = ca_alloc(a, 256);
    ck_assert(p != NULL && q != NULL);
    ca_free(a, q);
    int local = 0;
    nseen = 0;
    ca_set_fault_handler(reentrant_handler);
    ca_free(a, p + 1);
    ca_free(a, q);
    (void)ca_realloc(a, p + 1, 1000);
    (void)ca_aligned_realloc(a, q, 4096, 10);
    (void)ca_aligned_realloc(a, q, 16, 10);
    (void)ca_resize(a, q, 10);
    (void)ca_usable_size(a, p + 1);
    ca_free_any(p + 1);
    ca_free_any(&local);
    ca_set_fault_handler(NULL);
    ck_assert_msg(nseen == 9, "9 faults provoked, %zu reported", nseen);
    ck_assert_msg(reentry_ok == 9,
                  "only %zu of 9 handler calls could use the arena and the registry", reentry_ok);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.allocations == 1 && s.chunks_used == 2, "after the handlers: %zu live, %zu used",
                  s.allocations, s.chunks_used);
    expect_healthy(a, "after reentrant handlers");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* With the default handler, in a child: exactly one line on stderr naming
 * the function, the arena, the pointer (as %p prints it) and the fault
 * (ca_fault_name), then abort (SIGABRT). */
static void expect_default_report(enum bad_call call, ca_arena *a, void *p, const char *arena,
                                  ca_fault fault)
{
    int fds[2];
    ck_assert_msg(pipe(fds) == 0, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        ca_set_fault_handler(NULL);
        int err;
        (void)provoke(call, a, p, &err);
        _exit(0); /* the default handler returned */
    }
    close(fds[1]);
    char out[2048];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + len, sizeof out - 1 - len);
        if (n > 0 && len + (size_t)n < sizeof out - 1)
            len += (size_t)n;
        else if (n > 0)
            len = sizeof out - 1;
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(fds[0]);
    out[len] = '\0';
    int status = 0;
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s(%p) with the default handler did not abort (status 0x%x); stderr: \"%s\"",
                  call_names[call], p, (unsigned)status, out);
    const char *nl = strchr(out, '\n');
    ck_assert_msg(len > 0 && nl == out + len - 1,
                  "%s: the default handler did not print exactly one line: \"%s\"",
                  call_names[call], out);
    char ptr[32];
    snprintf(ptr, sizeof ptr, "%p", p);
    const char *need[] = {call_names[call], arena, ptr, ca_fault_name(fault)};
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(strstr(out, need[i]) != NULL, "%s: the default handler's line \"%.*s\" lacks "
                      "\"%s\"", call_names[call], (int)(len - 1), out, need[i]);
}

START_TEST(default_handler_one_line_then_abort)
{
    tarena t, u;
    ca_arena *a = tarena_make(&t, "default-handler", 16, 128, CA_LOCK_SPIN);
    ca_arena *b = tarena_make(&u, "default-other", 4, 128, CA_LOCK_HINT);
    unsigned char *p = ca_alloc(a, 256), *q = ca_alloc(a, 10), *other = ca_alloc(b, 10);
    ck_assert(p != NULL && q != NULL && other != NULL);
    ca_free(a, q);
    int local = 0;
    expect_default_report(CALL_FREE, a, p + 1, "default-handler", CA_FAULT_INTERIOR);
    expect_default_report(CALL_FREE, a, q, "default-handler", CA_FAULT_NOT_ALLOCATED);
    expect_default_report(CALL_FREE_ANY, a, &local, "(none)", CA_FAULT_FOREIGN);
    expect_default_report(CALL_USABLE, a, q, "default-handler", CA_FAULT_NOT_ALLOCATED);
    expect_default_report(CALL_REALLOC, a, other, "default-handler", CA_FAULT_FOREIGN);
    expect_default_report(CALL_RESIZE, a, p + 128, "default-handler", CA_FAULT_INTERIOR);
    expect_default_report(CALL_AREALLOC_BIG, b, p, "default-other", CA_FAULT_FOREIGN);
    /* nothing changed here, in the parent */
    ck_assert_uint_eq(ca_usable_size(a, p), 256);
    ca_free(a, p);
    ca_free(b, other);
    tarena_drop(&t);
    tarena_drop(&u);
}
END_TEST

START_TEST(fault_and_lock_names)
{
    static const struct {
        ca_lock lock;
        const char *name;
    } locks[] = {{CA_LOCK_DEFAULT, "default"}, {CA_LOCK_NONE, "none"},   {CA_LOCK_SPIN, "spin"},
                 {CA_LOCK_TICKET, "ticket"},   {CA_LOCK_MUTEX, "mutex"}, {CA_LOCK_HINT, "hint"}};
    for (size_t i = 0; i < sizeof locks / sizeof locks[0]; i++) {
        const char *n = ca_lock_name(locks[i].lock);
        ck_assert_msg(n != NULL && strcmp(n, locks[i].name) == 0, "ca_lock_name(%d) = \"%s\", not \"%s\"",
                      (int)locks[i].lock, n ? n : "(null)", locks[i].name);
    }
    static const struct {
        ca_fault fault;
        const char *word; /* the description must contain it */
    } faults[] = {{CA_FAULT_NONE, ""},
                  {CA_FAULT_FOREIGN, "foreign"},
                  {CA_FAULT_INTERIOR, "interior"},
                  {CA_FAULT_NOT_ALLOCATED, "not allocated"}};
    for (size_t i = 0; i < 4; i++) {
        const char *n = ca_fault_name(faults[i].fault);
        ck_assert_msg(n != NULL && n[0] != '\0', "ca_fault_name(%d) is empty", (int)faults[i].fault);
        ck_assert_msg(strcasestr(n, faults[i].word) != NULL, "ca_fault_name(%d) = \"%s\" lacks \"%s\"",
                      (int)faults[i].fault, n, faults[i].word);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(n, ca_fault_name(faults[j].fault)) != 0,
                          "faults %zu and %zu share the description \"%s\"", i, j, n);
    }
    ck_assert_msg(ca_fault_name((ca_fault)42) != NULL, "ca_fault_name of an unknown value");
    ck_assert_msg(ca_lock_name((ca_lock)42) != NULL, "ca_lock_name of an unknown value");
}
END_TEST

/* ========================================================= TCase "stats" */

/* Which chunks are in use, to derive the free runs a layout has. */
typedef struct model {
    size_t n;
    bool used[64];
} model;

static void model_set(model *m, const tarena *t, const void *p, size_t chunks, bool used)
{
    size_t first = index_of(t, p);
    ck_assert_msg(first + chunks <= m->n, "model: chunks %zu + %zu past the end", first, chunks);
    for (size_t i = first; i < first + chunks; i++) {
        ck_assert_msg(m->used[i] != used, "model: chunk %zu is already %s", i, used ? "used" : "free");
        m->used[i] = used;
    }
}

typedef struct want {
    size_t used, peak, allocations, requested, failures, grows, shrinks, moves;
} want;

/* The figures must be what the model and the counters say. Under hint the
 * peak is approximate: only used <= peak <= total is asserted. */
static void expect_figures(const tarena *t, const model *m, const want *w, bool exact_peak,
                           const char *step)
{
    size_t runs = 0, largest = 0, run = 0;
    for (size_t i = 0; i <= m->n; i++) {
        if (i < m->n && !m->used[i]) {
            run++;
            continue;
        }
        runs += run > 0;
        largest = run > largest ? run : largest;
        run = 0;
    }
    ca_stats s = stats_of(t->a);
#define FIGURE(field, value)                                                                    \
    ck_assert_msg(s.field == (value), "%s: %s is %zu, expected %zu", step, #field, s.field,       \
                  (size_t)(value))
    FIGURE(chunks_used, w->used);
    FIGURE(allocations, w->allocations);
    FIGURE(bytes_requested, w->requested);
    FIGURE(largest_free_run, largest);
    FIGURE(free_runs, runs);
    FIGURE(failures, w->failures);
    FIGURE(grows_in_place, w->grows);
    FIGURE(shrinks_in_place, w->shrinks);
    FIGURE(moves, w->moves);
    FIGURE(chunks_total, t->nchunks);
    FIGURE(chunk_size, t->chunk_size);
#undef FIGURE
    if (exact_peak)
        ck_assert_msg(s.chunks_peak == w->peak, "%s: chunks_peak is %zu, expected %zu", step,
                      s.chunks_peak, w->peak);
    else
        ck_assert_msg(s.chunks_peak >= s.chunks_used && s.chunks_peak <= s.chunks_total,
                      "%s: chunks_peak %zu outside [%zu, %zu]", step, s.chunks_peak, s.chunks_used,
                      s.chunks_total);
    expect_healthy(t->a, step);
}

START_TEST(stats_known_sequence)
{
    ca_lock lock = layers[_i];
    const bool exact = lock != CA_LOCK_HINT;
    const size_t cs = 256, n = 32;
    tarena t;
    ca_arena *a = tarena_make(&t, "figures", n, cs, lock);
    model m = {.n = n};
    want w = {0};
    ca_stats s = stats_of(a);
    ck_assert_msg(strcmp(s.name, "figures") == 0 && s.lock == lock, "name \"%s\", layer %s", s.name,
                  ca_lock_name(s.lock));
    expect_figures(&t, &m, &w, exact, "fresh");

    const size_t sizes[4] = {100, 600, 0, 1024}, chunks[4] = {1, 3, 1, 4};
    void *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = ca_alloc(a, sizes[i]);
        ck_assert(p[i] != NULL);
        model_set(&m, &t, p[i], chunks[i], true);
    }
    w = (want){.used = 9, .peak = 9, .allocations = 4, .requested = 1724};
    expect_figures(&t, &m, &w, exact, "four allocations");

    ca_free(a, p[1]);
    model_set(&m, &t, p[1], 3, false);
    w.used = 6;
    w.allocations = 3;
    expect_figures(&t, &m, &w, exact, "one freed");

    errno = 0;
    ck_assert_msg(ca_alloc(a, n * cs) == NULL && errno == ENOMEM, "the whole arena with 6 used");
    w.failures = 1;
    expect_figures(&t, &m, &w, exact, "a failed allocation");

    static const int rest[3] = {0, 2, 3};
    for (int k = 0; k < 3; k++) {
        ca_free(a, p[rest[k]]);
        model_set(&m, &t, p[rest[k]], chunks[rest[k]], false);
    }
    w.used = 0;
    w.allocations = 0;
    expect_figures(&t, &m, &w, exact, "all freed");

    unsigned char *whole = ca_alloc(a, n * cs);
    ck_assert(whole == t.mem);
    model_set(&m, &t, whole, n, true);
    w.used = w.peak = n;
    w.allocations = 1;
    w.requested += n * cs;
    expect_figures(&t, &m, &w, exact, "the whole arena");

    ck_assert(ca_realloc(a, whole, 8 * cs) == whole);
    model_set(&m, &t, whole + 8 * cs, n - 8, false);
    w.used = 8;
    w.shrinks = 1;
    w.requested = stats_of(a).bytes_requested; /* whether a realloc counts: unspecified */
    expect_figures(&t, &m, &w, exact, "shrunk by realloc");

    ck_assert_int_eq(ca_resize(a, whole, 10 * cs), 0);
    model_set(&m, &t, whole + 8 * cs, 2, true);
    w.used = 10;
    w.grows = 1;
    expect_figures(&t, &m, &w, exact, "grown by resize");

    unsigned char *r = ca_alloc(a, (n - 10) * cs);
    ck_assert_msg(r == chunk(&t, 10), "the only room is chunk 10");
    model_set(&m, &t, r, n - 10, true);
    w.used = n;
    w.allocations = 2;
    w.requested += (n - 10) * cs;
    expect_figures(&t, &m, &w, exact, "filled again");

    ck_assert(ca_realloc(a, r, cs) == r);
    model_set(&m, &t, r + cs, n - 11, false);
    w.used = 11;
    w.shrinks = 2;
    w.requested = stats_of(a).bytes_requested;
    expect_figures(&t, &m, &w, exact, "second shrink");

    unsigned char *q = ca_realloc(a, whole, 12 * cs);
    ck_assert_msg(q != NULL && q != whole, "realloc blocked by chunk 10 did not move: %p",
                  (void *)q);
    size_t iq = index_of(&t, q);
    ck_assert_msg(iq >= 11 && iq <= 20, "12 chunks fit only at 11..20, got %zu", iq);
    model_set(&m, &t, whole, 10, false);
    model_set(&m, &t, q, 12, true);
    w.used = 13;
    w.moves = 1;
    w.requested = stats_of(a).bytes_requested;
    expect_figures(&t, &m, &w, exact, "moved");

    errno = 0;
    ck_assert_msg(ca_resize(a, q, 30 * cs) == -1 && errno == ENOMEM, "resize past the room");
    expect_figures(&t, &m, &w, exact, "a refused resize");

    ca_free(a, q);
    ca_free(a, r);
    model_set(&m, &t, q, 12, false);
    model_set(&m, &t, r, 1, false);
    w.used = 0;
    w.allocations = 0;
    expect_figures(&t, &m, &w, exact, "empty again");
    tarena_drop(&t);
}
END_TEST

START_TEST(stats_null_arguments)
{
    ca_stats s;
    errno = 0;
    ck_assert_msg(ca_arena_stats(NULL, &s) == -1 && errno == EINVAL, "stats(NULL, &s)");
    errno = 0;
    ck_assert_msg(ca_arena_stats(CA_ARENA(s16), NULL) == -1 && errno == EINVAL, "stats(a, NULL)");
}
END_TEST

/* ca_arena_reset must treat the history counters alike: bytes_requested,
 * failures, grows_in_place, shrinks_in_place and moves are all "ever"
 * counts; a reset may keep them or zero them, but not zero some and keep
 * others. */
START_TEST(reset_treats_counters_alike)
{
    tarena t;
    ca_arena *a = realloc_arena(&t, CA_LOCK_MUTEX);
    char map[RN + 1];
    shape(&t, map_free_only(map, (const size_t[]){1, SIZE_MAX}));
    unsigned char *p = ca_alloc(a, RCS);
    ck_assert(p == chunk(&t, 1));
    ca_free(a, chunk(&t, 10));
    ca_free(a, chunk(&t, 11));
    unsigned char *q = ca_realloc(a, p, 2 * RCS); /* blocked by chunk 2: a move */
    ck_assert_msg(q == chunk(&t, 10), "set-up: the move must land at chunk 10");
    ca_free(a, chunk(&t, 12));
    ck_assert_msg(ca_resize(a, q, 3 * RCS) == 0 && ca_resize(a, q, RCS) == 0,
                  "set-up: grow into chunk 12, then shrink");
    errno = 0;
    ck_assert(ca_alloc(a, RN * RCS) == NULL);
    ca_stats before = stats_of(a);
    ck_assert_msg(before.bytes_requested > 0 && before.grows_in_place > 0 &&
                      before.shrinks_in_place > 0 && before.moves > 0,
                  "set-up: requested %zu, grows %zu, shrinks %zu, moves %zu",
                  before.bytes_requested, before.grows_in_place, before.shrinks_in_place,
                  before.moves);
    ck_assert(before.failures > 0);
    ca_arena_reset(a);
    ca_stats after = stats_of(a);
    bool kept = after.bytes_requested == before.bytes_requested &&
                after.failures == before.failures && after.grows_in_place == before.grows_in_place &&
                after.shrinks_in_place == before.shrinks_in_place && after.moves == before.moves;
    bool zeroed = after.bytes_requested == 0 && after.failures == 0 && after.grows_in_place == 0 &&
                  after.shrinks_in_place == 0 && after.moves == 0;
    tarena_drop(&t);
    ck_assert_msg(kept || zeroed,
                  "ca_arena_reset kept some history counters and zeroed others: bytes_requested "
                  "%zu -> %zu, failures %zu -> %zu, grows_in_place %zu -> %zu, shrinks_in_place "
                  "%zu -> %zu, moves %zu -> %zu",
                  before.bytes_requested, after.bytes_requested, before.failures, after.failures,
                  before.grows_in_place, after.grows_in_place, before.shrinks_in_place,
                  after.shrinks_in_place, before.moves, after.moves);
}
END_TEST

/* ---- the dump ---- */

static char *dump_text(ca_arena *a)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_msg(f != NULL, "open_memstream: %s", strerror(errno));
    int rc = ca_arena_dump(a, f);
    ck_assert_msg(fclose(f) == 0, "fclose of the memstream");
    ck_assert_msg(rc == 0, "ca_arena_dump returned %d: %s", rc, strerror(errno));
    return text;
}

typedef struct map_count {
    size_t cells, full, empty;
} map_count;

/* The occupancy map of a dump: the characters between the bars of every
 * line of the form "<spaces>|...|". */
static map_count count_map(const char *text)
{
    map_count c = {0, 0, 0};
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t i = 0;
        while (i < len && line[i] == ' ')
            i++;
        if (len - i >= 2 && line[i] == '|' && line[len - 1] == '|')
            for (size_t k = i + 1; k < len - 1; k++) {
                c.cells++;
                c.full += line[k] == '#';
                c.empty += line[k] == ' ';
            }
        line += len + (end != NULL);
    }
    return c;
}

/* The name, the layer and a map whose '#' cells follow the occupancy:
 * empty, full, and the first half full. */
START_TEST(dump_name_layer_map)
{
    ca_lock lock = layers[_i];
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-map", 64, 64, lock);
    char *text = dump_text(a);
    ck_assert_msg(strstr(text, "dump-map") != NULL, "the dump does not name the arena:\n%s", text);
    ck_assert_msg(strstr(text, ca_lock_name(lock)) != NULL, "the dump does not name the layer %s:\n%s",
                  ca_lock_name(lock), text);
    map_count c = count_map(text);
    ck_assert_msg(c.cells > 0 && c.full == 0 && c.empty == c.cells,
                  "empty arena: %zu cells, %zu '#', %zu ' ':\n%s", c.cells, c.full, c.empty, text);
    free(text);

    unsigned char *p = ca_alloc(a, t.len);
    ck_assert(p == t.mem);
    text = dump_text(a);
    map_count full = count_map(text);
    ck_assert_msg(full.cells == c.cells && full.full == full.cells,
                  "full arena: %zu of %zu cells '#':\n%s", full.full, full.cells, text);
    free(text);

    ck_assert(ca_realloc(a, p, t.len / 2) == p);
    text = dump_text(a);
    map_count half = count_map(text);
    ck_assert_msg(half.cells == c.cells && half.full * 2 == half.cells && half.empty * 2 == half.cells,
                  "first half used: %zu '#' and %zu ' ' of %zu cells:\n%s", half.full, half.empty,
                  half.cells, text);
    free(text);
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

START_TEST(dump_large_arena)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-large", 4096, 16, CA_LOCK_MUTEX);
    unsigned char *p = ca_alloc(a, t.len);
    ck_assert(p == t.mem);
    ck_assert(ca_realloc(a, p, t.len / 2) == p);
    char *text = dump_text(a);
    map_count c = count_map(text);
    ck_assert_msg(c.cells > 1 && c.cells <= 4096 && c.full * 2 == c.cells && c.empty * 2 == c.cells,
                  "4096 chunks, first half used: %zu cells, %zu '#', %zu ' ':\n%s", c.cells, c.full,
                  c.empty, text);
    free(text);
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* A stream that fails: -1, with errno from the stream. */
START_TEST(dump_failing_streams)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "dump-fail", 16, 64, CA_LOCK_MUTEX);
    void *p = ca_alloc(a, 100);
    ca_stats before = stats_of(a);
    FILE *ro = fopen("/dev/null", "r");
    ck_assert_msg(ro != NULL, "fopen(/dev/null, r): %s", strerror(errno));
    errno = 0;
    int rc = ca_arena_dump(a, ro);
    int e = errno;
    fclose(ro);
    ck_assert_msg(rc == -1 && e != 0, "dump to a read-only stream: %d, errno %d", rc, e);
    FILE *full = fopen("/dev/full", "w");
    ck_assert_msg(full != NULL, "fopen(/dev/full): %s", strerror(errno));
    setvbuf(full, NULL, _IONBF, 0);
    errno = 0;
    rc = ca_arena_dump(a, full);
    e = errno;
    fclose(full);
    ck_assert_msg(rc == -1 && e == ENOSPC, "dump to /dev/full (unbuffered): %d, errno %d", rc, e);
    expect_unchanged(a, &before, "failed dumps");
    ca_free(a, p);
    tarena_drop(&t);
}
END_TEST

/* ========================================================== TCase "meta" */

START_TEST(meta_size_refusals)
{
    const ca_config zero = {0};
    errno = 0;
    ck_assert_msg(ca_arena_meta_size(0, NULL) == 0 && errno == EINVAL, "0 chunks, NULL config");
    errno = 0;
    ck_assert_msg(ca_arena_meta_size(0, &zero) == 0 && errno == EINVAL, "0 chunks");
    static const size_t bad_chunks[] = {1, 8, 24, 100, 4097};
    for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        ca_config c = {.chunk_size = bad_chunks[i]};
        errno = 0;
        ck_assert_msg(ca_arena_meta_size(10, &c) == 0 && errno == EINVAL, "chunk size %zu",
                      bad_chunks[i]);
    }
    static const unsigned bad_locks[] = {6, 99, UINT_MAX};
    for (size_t i = 0; i < 3; i++) {
        ca_config c = {.lock = (ca_lock)bad_locks[i]};
        errno = 0;
        ck_assert_msg(ca_arena_meta_size(10, &c) == 0 && errno == EINVAL, "lock %u", bad_locks[i]);
    }
    ck_assert_msg(ca_arena_meta_size(1, NULL) > 0, "1 chunk, defaults");
    ca_config mutex = {.lock = CA_LOCK_MUTEX}, hint = {.lock = CA_LOCK_HINT};
    ck_assert_msg(ca_arena_meta_size(1000, &hint) > ca_arena_meta_size(1000, &mutex),
                  "hint's per-thread slots are not counted");
}
END_TEST

/* A separate buffer of exactly ca_arena_meta_size bytes works (and the
 * library writes nothing past it: AddressSanitizer would see it); one byte
 * less is ENOMEM. */
START_TEST(meta_size_is_exact_for_create)
{
    ca_lock lock = layers[_i];
    static const size_t ns[] = {1,    2,     31,    32,     33,     63,     64,     65,      2047,
                                2048, 2049,  4096,  65535,  65536,  65537,  131072, 131073,
                                (size_t)1 << 20};
    const size_t max = (size_t)1 << 20;
    unsigned char *mem = aligned_block(64, max * 16);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        ca_config c = {.chunk_size = 16, .lock = lock};
        size_t ms = ca_arena_meta_size(ns[i], &c);
        ck_assert_msg(ms > 0, "meta_size(%zu)", ns[i]);
        unsigned char *meta = aligned_block(64, ms);
        c.meta = meta;
        c.meta_len = ms - 1;
        char what[64];
        snprintf(what, sizeof what, "%zu chunks, meta_len one short", ns[i]);
        expect_refused(what, "meta-exact", mem, ns[i] * 16, &c, ENOMEM);
        c.meta_len = ms;
        ca_arena *a = ca_arena_create("meta-exact", mem, ns[i] * 16, &c);
        ck_assert_msg(a != NULL, "%zu chunks (%s) with meta_len = ca_arena_meta_size = %zu: %s",
                      ns[i], ca_lock_name(lock), ms, strerror(errno));
        ck_assert_uint_eq(stats_of(a).chunks_total, ns[i]);
        void *p = ca_alloc(a, ns[i] * 16);
        ck_assert_msg(p == mem, "%zu chunks: the whole region", ns[i]);
        ca_free(a, p);
        ck_assert_int_eq(ca_arena_destroy(a), 0);
        free(meta);
    }
    free(mem);
}
END_TEST

/*
 * CA_PRIVATE_META_BOUND(n) must hold what a static arena of n chunks needs
 * under every layer. The rigorous form: a static arena's set-up (api/arena.c,
 * set_up_static) accepts its buffer iff sizeof ca_meta_id =
 * CA_PRIVATE_META_BOUND(n) >= ca_sync_meta_size(layer, n), and its arena
 * object lives apart in CA_PRIVATE_OBJECT_BYTES. So, for n = 1..5000 and a
 * spread of large n up to the largest chunk count, and every layer:
 *   - ca_sync_meta_size(layer, n) <= CA_PRIVATE_META_BOUND(n), and
 *   - the public ca_arena_meta_size(n) is that same need plus a room for
 *     the object (and its alignment) that does not depend on n and fits
 *     CA_PRIVATE_OBJECT_BYTES + 64: the public figure and the static
 *     check measure the same bookkeeping.
 * End to end (meta_bound_static_edges), the static arenas bound-* are set up
 * and usable at the chunk counts where the bookkeeping crosses a boundary.
 */
static void check_bound(size_t n, size_t *room)
{
    for (unsigned k = 0; k < NLAYERS; k++) {
        ca_sync_kind kind;
        ck_assert(ca_sync_kind_parse(ca_lock_name(layers[k]), &kind));
        size_t need = ca_sync_meta_size(kind, n);
        ck_assert_msg(need > 0 && need <= CA_PRIVATE_META_BOUND(n),
                      "%zu chunks under %s need %zu bytes of bookkeeping; "
                      "CA_PRIVATE_META_BOUND gives %zu",
                      n, ca_lock_name(layers[k]), need, CA_PRIVATE_META_BOUND(n));
        ca_config c = {.chunk_size = 16, .lock = layers[k]};
        size_t pub = ca_arena_meta_size(n, &c);
        ck_assert_msg(pub > need, "%zu chunks, %s: ca_arena_meta_size %zu <= the need %zu", n,
                      ca_lock_name(layers[k]), pub, need);
        if (room[k] == 0)
            room[k] = pub - need;
        ck_assert_msg(pub - need == room[k] && room[k] <= CA_PRIVATE_OBJECT_BYTES + 64,
                      "%zu chunks, %s: ca_arena_meta_size %zu = need %zu + %zu (elsewhere + %zu)", n,
                      ca_lock_name(layers[k]), pub, need, pub - need, room[k]);
    }
}

START_TEST(meta_bound_covers_every_layer)
{
    size_t room[NLAYERS] = {0};
    for (size_t n = 1; n <= 5000; n++)
        check_bound(n, room);
    const size_t top = (size_t)1 << 40; /* the largest chunk count of the core */
    for (unsigned k = 13; k <= 40; k++)
        for (int d = -1; d <= 1; d++) {
            size_t n = ((size_t)1 << k) + (size_t)(ptrdiff_t)d;
            if (n <= top)
                check_bound(n, room);
        }
    for (size_t p = 10000; p <= top; p *= 10) {
        check_bound(p, room);
        if (3 * p <= top)
            check_bound(3 * p, room);
        check_bound(p + 4097, room);
    }
}
END_TEST

START_TEST(meta_bound_static_edges)
{
    const static_case *sc = &bound_cases[_i];
    ca_arena *a = sc->arena;
    ck_assert_msg(ca_arena_find(sc->name) == a, "\"%s\" not registered", sc->name);
    ca_stats s = stats_of(a);
    ck_assert_msg(s.chunks_total == sc->nchunks && s.lock == CA_LOCK_HINT,
                  "\"%s\": %zu chunks, %s", sc->name, s.chunks_total, ca_lock_name(s.lock));
    unsigned char *p = ca_alloc(a, sc->region_len);
    ck_assert_msg(p == sc->region, "\"%s\": whole region at %p, not %p", sc->name, (void *)p,
                  (const void *)sc->region);
    expect_healthy(a, sc->name);
    ca_free(a, p);
    void *q = ca_alloc(a, 1);
    ck_assert(q != NULL);
    ca_free(a, q);
    expect_healthy(a, sc->name);
}
END_TEST

/* ========================================================== TCase "hint" */

/* The hint layer keeps per-thread state per arena, in a small per-thread
 * table and a fixed number of slots per arena; past either limit a thread
 * falls back to a shared context. Through the API that must not show. */

/* One thread, more hint arenas than its table holds, used in turns. */
START_TEST(hint_one_thread_many_arenas)
{
    enum { NARENAS = 12, ROUNDS = 3 };
    tarena t[NARENAS];
    void *p[NARENAS][ROUNDS];
    for (int i = 0; i < NARENAS; i++) {
        char name[32];
        snprintf(name, sizeof name, "hint-many-%d", i);
        tarena_make(&t[i], name, 64, 64, CA_LOCK_HINT);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NARENAS; i++) {
            p[i][r] = ca_alloc(t[i].a, 100);
            ck_assert_msg(p[i][r] != NULL && ca_arena_of(p[i][r]) == t[i].a,
                          "hint-many-%d, round %d: %p", i, r, p[i][r]);
            fill_pattern(p[i][r], 100, (unsigned)(i * ROUNDS + r));
        }
    for (int i = 0; i < NARENAS; i++) {
        ca_stats s = stats_of(t[i].a);
        ck_assert_msg(s.allocations == ROUNDS && s.chunks_used == 2 * ROUNDS,
                      "hint-many-%d: %zu allocations, %zu chunks; expected %d, %d", i,
                      s.allocations, s.chunks_used, ROUNDS, 2 * ROUNDS);
        expect_healthy(t[i].a, "many hint arenas");
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NARENAS; i++) {
            expect_pattern(p[i][r], 100, (unsigned)(i * ROUNDS + r), "many hint arenas");
            ck_assert_msg(ca_free_checked(t[i].a, p[i][r]) == CA_FAULT_NONE, "free");
        }
    for (int i = 0; i < NARENAS; i++) {
        ca_stats s = stats_of(t[i].a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "hint-many-%d: %zu left", i,
                      s.allocations);
        expect_healthy(t[i].a, "many hint arenas, emptied");
        tarena_drop(&t[i]);
    }
}
END_TEST

#define HT_THREADS 40 /* more than the layer's 32 slots */
#define HT_ITERATIONS 200

typedef struct ht_arg {
    ca_arena *a;
    unsigned seed;
    size_t allocated;
    char failure[160];
} ht_arg;

static void *ht_main(void *arg)
{
    ht_arg *h = arg;
    void *live[4] = {NULL, NULL, NULL, NULL};
    size_t size[4] = {0, 0, 0, 0};
    for (unsigned i = 0; i < HT_ITERATIONS && !h->failure[0]; i++) {
        unsigned k = i % 4;
        if (live[k]) {
            if (pattern_mismatch(live[k], size[k], h->seed + k) != size[k])
                snprintf(h->failure, sizeof h->failure, "thread %u: pattern broken", h->seed);
            if (ca_free_checked(h->a, live[k]) != CA_FAULT_NONE)
                snprintf(h->failure, sizeof h->failure, "thread %u: free refused", h->seed);
            live[k] = NULL;
        }
        size[k] = 1 + (h->seed * 131u + i * 17u) % 300u;
        live[k] = ca_alloc(h->a, size[k]);
        if (!live[k]) {
            snprintf(h->failure, sizeof h->failure, "thread %u: alloc(%zu) failed: %s", h->seed,
                     size[k], strerror(errno));
            break;
        }
        fill_pattern(live[k], size[k], h->seed + k);
        h->allocated++;
    }
    for (unsigned k = 0; k < 4; k++)
        if (live[k] && ca_free_checked(h->a, live[k]) != CA_FAULT_NONE && !h->failure[0])
            snprintf(h->failure, sizeof h->failure, "thread %u: final free refused", h->seed);
    return NULL;
}

/* More threads than slots, twice (slots given back at thread exit are
 * taken again): every allocation is private (patterns intact), and the
 * figures are exact once all have joined. */
START_TEST(hint_more_threads_than_slots)
{
    tarena t;
    ca_arena *a = tarena_make(&t, "hint-threads", 4096, 64, CA_LOCK_HINT);
    for (int wave = 0; wave < 2; wave++) {
        pthread_t th[HT_THREADS];
        ht_arg args[HT_THREADS];
        memset(args, 0, sizeof args);
        for (unsigned i = 0; i < HT_THREADS; i++) {
            args[i].a = a;
            args[i].seed = (unsigned)wave * 1000u + i;
            ck_assert_int_eq(pthread_create(&th[i], NULL, ht_main, &args[i]), 0);
        }
        for (unsigned i = 0; i < HT_THREADS; i++)
            ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        for (unsigned i = 0; i < HT_THREADS; i++) {
            ck_assert_msg(args[i].failure[0] == '\0', "wave %d: %s", wave, args[i].failure);
            ck_assert_uint_eq(args[i].allocated, HT_ITERATIONS);
        }
        ca_stats s = stats_of(a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0 && s.largest_free_run == 4096 &&
                          s.free_runs == 1 && s.failures == 0,
                      "wave %d, all joined: %zu live, %zu used, longest free %zu, %zu runs, %zu "
                      "failures",
                      wave, s.allocations, s.chunks_used, s.largest_free_run, s.free_runs,
                      s.failures);
        expect_healthy(a, "after the threads");
    }
    tarena_drop(&t);
}
END_TEST

/* =================================================== TCase "registry_mt" */

/*
 * Readers call ca_arena_find, ca_arena_list and ca_arena_of in a loop while
 * writers create and destroy arenas over their own memory, again and again
 * at the same memory (alternately with carved bookkeeping under one name
 * and with a separate buffer under another). A handle that may be
 * destroyed at any moment is never dereferenced by a reader: it is only
 * compared with the handles its writer got in a warm-up (the arena object
 * sits in the bookkeeping, at the same place for the same memory), which
 * checks "the handle found has the asked name" without a race of our own.
 * Two stable arenas, never destroyed meanwhile, are also found, named,
 * located and allocated from by every reader. One more writer loads and
 * unloads tests/arenas_dso.c, whose static arena registers and unregisters
 * (and whose memory is unmapped) under the readers' feet.
 */
#define MT_WRITERS 3
#define MT_READERS 3
#define MT_LEN ((size_t)64 * 1024)
#define MT_RUN_NS 1500000000L
#define MT_MAX_LISTED 128

typedef struct mt_writer {
    unsigned char *mem, *meta;
    size_t meta_len;
    char name_carved[32], name_meta[32];
    ca_lock lock_carved, lock_meta;
    uintptr_t h_carved, h_meta;
    unsigned long cycles;
    char failure[256];
} mt_writer;

typedef struct mt_shared {
    atomic_bool stop;
    mt_writer writers[MT_WRITERS];
    tarena stable[2];
    ca_arena *baseline[MT_MAX_LISTED];
    size_t nbaseline;
    const char *dso_path; /* the module loaded and unloaded by one more writer */
    unsigned long dso_cycles;
    char dso_failure[256];
} mt_shared;

typedef struct mt_reader {
    mt_shared *sh;
    unsigned long rounds;
    char failure[256];
} mt_reader;

static ca_arena *mt_create(mt_writer *w, bool carved)
{
    ca_config c = {.chunk_size = 256, .lock = carved ? w->lock_carved : w->lock_meta};
    if (!carved) {
        c.meta = w->meta;
        c.meta_len = w->meta_len;
    }
    return ca_arena_create(carved ? w->name_carved : w->name_meta, w->mem, MT_LEN, &c);
}

/* One create / use / destroy cycle; false (and w->failure) on a failure. */
static bool mt_cycle(mt_writer *w, bool carved)
{
    const char *name = carved ? w->name_carved : w->name_meta;
    uintptr_t expected = carved ? w->h_carved : w->h_meta;
    ca_arena *a = mt_create(w, carved);
    if (!a) {
        snprintf(w->failure, sizeof w->failure, "create \"%s\": %s", name, strerror(errno));
        return false;
    }
    if ((uintptr_t)a != expected) {
        snprintf(w->failure, sizeof w->failure, "create \"%s\" at the same memory gave handle %p, "
                 "the warm-up %p", name, (void *)a, (void *)expected);
        return false;
    }
    void *p = ca_alloc(a, 1000);
    if (!p || ca_arena_find(name) != a || ca_arena_of(p) != a) {
        snprintf(w->failure, sizeof w->failure, "\"%s\": alloc %p, find or of wrong", name, p);
        return false;
    }
    ca_free(a, p);
    if (ca_arena_destroy(a) != 0) {
        snprintf(w->failure, sizeof w->failure, "destroy \"%s\": %s", name, strerror(errno));
        return false;
    }
    return true;
}

typedef struct mt_writer_arg {
    mt_shared *sh;
    mt_writer *w;
} mt_writer_arg;

static void *mt_writer_main(void *arg)
{
    mt_writer_arg *wa = arg;
    while (!atomic_load_explicit(&wa->sh->stop, memory_order_relaxed)) {
        if (!mt_cycle(wa->w, true) || !mt_cycle(wa->w, false))
            break;
        wa->w->cycles++;
    }
    return NULL;
}

/* One more writer: load the module (its static arena registers), use it,
 * unload it (the arena unregisters, and its memory goes away). */
static void *mt_dso_main(void *arg)
{
    mt_shared *sh = arg;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        void *h = dlopen(sh->dso_path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "dlopen: %s", dlerror());
            break;
        }
        void *sym_arena = dlsym(h, "arenas_dso_arena"), *sym_alloc = dlsym(h, "arenas_dso_alloc");
        ca_arena *(*arena_fn)(void) = NULL;
        void *(*alloc_fn)(size_t) = NULL;
        if (sym_arena && sym_alloc) {
            memcpy(&arena_fn, &sym_arena, sizeof arena_fn);
            memcpy(&alloc_fn, &sym_alloc, sizeof alloc_fn);
        }
        ca_arena *a = arena_fn ? arena_fn() : NULL;
        void *p = alloc_fn ? alloc_fn(100) : NULL;
        if (!p || ca_arena_find("dso") != a || ca_arena_of(p) != a) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure,
                     "loaded module: arena %p, allocation %p, find %p", (void *)a, p,
                     (void *)ca_arena_find("dso"));
            break;
        }
        ca_free(a, p);
        if (dlclose(h) != 0) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "dlclose: %s", dlerror());
            break;
        }
        if (ca_arena_find("dso") != NULL) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "\"dso\" registered after dlclose");
            break;
        }
        sh->dso_cycles++;
    }
    return NULL;
}

static bool mt_known(const mt_shared *sh, const ca_arena *a)
{
    for (size_t i = 0; i < sh->nbaseline; i++)
        if (sh->baseline[i] == a)
            return true;
    for (size_t i = 0; i < MT_WRITERS; i++)
        if ((uintptr_t)a == sh->writers[i].h_carved || (uintptr_t)a == sh->writers[i].h_meta)
            return true;
    return false;
}

/* One round of lookups; false (and r->failure) on a wrong answer. */
static bool mt_round(mt_reader *r)
{
    mt_shared *sh = r->sh;
    for (size_t i = 0; i < MT_WRITERS; i++) {
        const mt_writer *w = &sh->writers[i];
        ca_arena *a = ca_arena_find(w->name_carved);
        if (a && (uintptr_t)a != w->h_carved) {
            snprintf(r->failure, sizeof r->failure, "find(\"%s\") gave %p, not its arena %p",
                     w->name_carved, (void *)a, (void *)w->h_carved);
            return false;
        }
        a = ca_arena_find(w->name_meta);
        if (a && (uintptr_t)a != w->h_meta) {
            snprintf(r->failure, sizeof r->failure, "find(\"%s\") gave %p, not its arena %p",
                     w->name_meta, (void *)a, (void *)w->h_meta);
            return false;
        }
        a = ca_arena_of(w->mem + MT_LEN / 2);
        if (a && (uintptr_t)a != w->h_carved && (uintptr_t)a != w->h_meta) {
            snprintf(r->failure, sizeof r->failure, "of(writer %zu's memory) gave %p", i,
                     (void *)a);
            return false;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        const tarena *t = &sh->stable[i];
        ca_arena *a = ca_arena_find(t->name);
        if (a != t->a || strcmp(ca_arena_name(a), t->name) != 0 ||
            ca_arena_of(t->mem + t->len - 1) != t->a) {
            snprintf(r->failure, sizeof r->failure, "stable \"%s\": find %p, expected %p",
                     t->name, (void *)a, (void *)t->a);
            return false;
        }
        void *p = ca_alloc(t->a, 100);
        if (!p || ca_arena_of(p) != t->a || ca_free_checked(t->a, p) != CA_FAULT_NONE) {
            snprintf(r->failure, sizeof r->failure, "stable \"%s\": allocation %p", t->name, p);
            return false;
        }
    }
    /* the module's arena (at most one) is the only arena not known here */
    ca_arena *out[MT_MAX_LISTED];
    size_t n = ca_arena_list(out, MT_MAX_LISTED), unknown = 0;
    if (n < sh->nbaseline || n > sh->nbaseline + MT_WRITERS + 1) {
        snprintf(r->failure, sizeof r->failure, "list counted %zu arenas, expected %zu..%zu", n,
                 sh->nbaseline, sh->nbaseline + (size_t)MT_WRITERS + 1);
        return false;
    }
    for (size_t i = 0; i < n && i < MT_MAX_LISTED; i++)
        unknown += !mt_known(sh, out[i]);
    if (unknown > 1) {
        snprintf(r->failure, sizeof r->failure, "list gave %zu unknown arenas", unknown);
        return false;
    }
    ca_arena *d = ca_arena_find("dso");
    if (d && mt_known(sh, d)) {
        snprintf(r->failure, sizeof r->failure, "find(\"dso\") gave another arena, %p", (void *)d);
        return false;
    }
    int local = 0;
    if (ca_arena_of(&local) != NULL) {
        snprintf(r->failure, sizeof r->failure, "of(a stack pointer) found an arena");
        return false;
    }
    return true;
}

static void *mt_reader_main(void *arg)
{
    mt_reader *r = arg;
    while (!atomic_load_explicit(&r->sh->stop, memory_order_relaxed)) {
        if (!mt_round(r))
            break;
        r->rounds++;
    }
    return NULL;
}

START_TEST(registry_concurrent_lookup_and_churn)
{
    static mt_shared sh; /* large; zeroed below */
    memset(&sh, 0, sizeof sh);
    atomic_init(&sh.stop, false);
    tarena_make(&sh.stable[0], "mt-stable-hint", 4096, 64, CA_LOCK_HINT);
    tarena_make(&sh.stable[1], "mt-stable-mutex", 4096, 64, CA_LOCK_MUTEX);
    for (size_t i = 0; i < MT_WRITERS; i++) {
        mt_writer *w = &sh.writers[i];
        snprintf(w->name_carved, sizeof w->name_carved, "mt-w%zu-carved", i);
        snprintf(w->name_meta, sizeof w->name_meta, "mt-w%zu-meta", i);
        w->lock_carved = layers[i % NLAYERS];
        w->lock_meta = CA_LOCK_HINT;
        w->mem = aligned_block(4096, MT_LEN);
        ca_config c = {.chunk_size = 256, .lock = w->lock_meta};
        w->meta_len = ca_arena_meta_size(MT_LEN / 256, &c);
        w->meta = aligned_block(64, w->meta_len);
        /* warm-up: learn the handle of each variant */
        ca_arena *a = mt_create(w, true);
        ck_assert_msg(a != NULL, "warm-up create: %s", strerror(errno));
        w->h_carved = (uintptr_t)a;
        ck_assert_int_eq(ca_arena_destroy(a), 0);
        a = mt_create(w, false);
        ck_assert_msg(a != NULL, "warm-up create: %s", strerror(errno));
        w->h_meta = (uintptr_t)a;
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }
    sh.nbaseline = ca_arena_list(sh.baseline, MT_MAX_LISTED);
    ck_assert_msg(sh.nbaseline < MT_MAX_LISTED, "%zu arenas registered", sh.nbaseline);
    sh.dso_path = dso_path();

    pthread_t wt[MT_WRITERS], rt[MT_READERS], dt;
    mt_writer_arg wargs[MT_WRITERS];
    mt_reader readers[MT_READERS];
    memset(readers, 0, sizeof readers);
    for (size_t i = 0; i < MT_WRITERS; i++) {
        wargs[i] = (mt_writer_arg){&sh, &sh.writers[i]};
        ck_assert_int_eq(pthread_create(&wt[i], NULL, mt_writer_main, &wargs[i]), 0);
    }
    for (size_t i = 0; i < MT_READERS; i++) {
        readers[i].sh = &sh;
        ck_assert_int_eq(pthread_create(&rt[i], NULL, mt_reader_main, &readers[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&dt, NULL, mt_dso_main, &sh), 0);
    struct timespec run = {MT_RUN_NS / 1000000000L, MT_RUN_NS % 1000000000L};
    while (nanosleep(&run, &run) != 0 && errno == EINTR)
        ;
    atomic_store_explicit(&sh.stop, true, memory_order_relaxed);
    for (size_t i = 0; i < MT_WRITERS; i++)
        ck_assert_int_eq(pthread_join(wt[i], NULL), 0);
    for (size_t i = 0; i < MT_READERS; i++)
        ck_assert_int_eq(pthread_join(rt[i], NULL), 0);
    ck_assert_int_eq(pthread_join(dt, NULL), 0);
    ck_assert_msg(sh.dso_failure[0] == '\0', "module writer: %s", sh.dso_failure);
    ck_assert_msg(sh.dso_cycles > 0, "the module writer made no cycle");

    for (size_t i = 0; i < MT_WRITERS; i++) {
        ck_assert_msg(sh.writers[i].failure[0] == '\0', "writer %zu: %s", i, sh.writers[i].failure);
        ck_assert_msg(sh.writers[i].cycles > 0, "writer %zu made no cycle", i);
    }
    for (size_t i = 0; i < MT_READERS; i++) {
        ck_assert_msg(readers[i].failure[0] == '\0', "reader %zu: %s", i, readers[i].failure);
        ck_assert_msg(readers[i].rounds > 0, "reader %zu made no round", i);
    }
    ck_assert_uint_eq(registered(), sh.nbaseline);
    unsigned long cycles = 0, rounds = 0;
    for (size_t i = 0; i < MT_WRITERS; i++)
        cycles += sh.writers[i].cycles;
    for (size_t i = 0; i < MT_READERS; i++)
        rounds += readers[i].rounds;
    printf("registry_mt: %d writers made %lu create/destroy cycles, the module writer %lu "
           "load/unload cycles, %d readers %lu lookup rounds\n",
           MT_WRITERS, cycles, sh.dso_cycles, MT_READERS, rounds);
    for (size_t i = 0; i < 2; i++) {
        ca_stats s = stats_of(sh.stable[i].a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "stable %zu: %zu allocations left",
                      i, s.allocations);
        expect_healthy(sh.stable[i].a, "stable arena after the threads");
        tarena_drop(&sh.stable[i]);
    }
    for (size_t i = 0; i < MT_WRITERS; i++) {
        free(sh.writers[i].mem);
        free(sh.writers[i].meta);
    }
}
END_TEST

/* ================================================================= suite */

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc;

#define TCASE(name)                                                                                 tc = tcase_create(name);                                                                        tcase_set_timeout(tc, TIMEOUT);                                                                 tcase_add_checked_fixture(tc, fixture_default_handler, fixture_default_handler);               suite_add_tcase(s, tc)

    TCASE("create");
    tcase_add_loop_test(tc, create_carved_metadata, 0, NLAYERS);
    tcase_add_loop_test(tc, create_carved_small_alignment, 0, NLAYERS);
    tcase_add_loop_test(tc, create_separate_metadata, 0, NLAYERS);
    tcase_add_test(tc, create_separate_len_rounds_down);
    tcase_add_test(tc, create_refusals);
    tcase_add_test(tc, create_edges_accepted);
    tcase_add_test(tc, create_duplicate_name);
    tcase_add_loop_test(tc, create_every_lock, 0, 6);

    TCASE("destroy");
    tcase_add_loop_test(tc, destroy_refused_while_busy, 0, NLAYERS);
    tcase_add_loop_test(tc, destroy_after_reset, 0, NLAYERS);
    tcase_add_test(tc, destroy_static_and_null);
    tcase_add_loop_test(tc, destroy_frees_name_and_memory, 0, NLAYERS);
    tcase_add_test(tc, destroy_recreate_smaller_hint_arena);

    TCASE("lookup");
    tcase_add_test(tc, find_by_name);
    tcase_add_test(tc, list_snapshot_and_truncation);
    tcase_add_test(tc, of_region_edges);
    tcase_add_test(tc, of_foreign_pointers);

    TCASE("static");
    tcase_add_loop_test(tc, static_arenas_by_macro_and_name, 0, (int)NSTATIC);
    tcase_add_test(tc, static_other_translation_unit);
    tcase_add_test(tc, static_usable_before_registration);
    tcase_add_test(tc, static_name_taken);
    tcase_add_test(tc, static_reset);
    tcase_add_test(tc, static_usable_at_exit);

    TCASE("dso");
    tcase_add_test(tc, dso_load_use_unload);
    tcase_add_test(tc, dso_name_taken);

    TCASE("alloc");
    tcase_add_loop_test(tc, alloc_size_zero_is_unique, 0, NLAYERS);
    tcase_add_loop_test(tc, alloc_rounds_up_to_chunks, 0, NLAYERS);
    tcase_add_loop_test(tc, alloc_full_arena, 0, NLAYERS);
    tcase_add_test(tc, alloc_null_arena);
    tcase_add_test(tc, errno_untouched_on_success);
    tcase_add_loop_test(tc, aligned_alloc_honoured, 0, NLAYERS);
    tcase_add_loop_test(tc, aligned_alloc_bad_alignment, 0, NLAYERS);
    tcase_add_test(tc, aligned_alloc_zero_alignment);
    tcase_add_loop_test(tc, calloc_zeroes_dirty_memory, 0, NLAYERS);
    tcase_add_loop_test(tc, calloc_overflow, 0, NLAYERS);
    tcase_add_loop_test(tc, usable_size_rules, 0, NLAYERS);

    TCASE("realloc");
    tcase_add_loop_test(tc, realloc_null_allocates, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_grows_in_place, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_moves_when_blocked, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_shrinks_in_place, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_zero_keeps_one_chunk, 0, NLAYERS);
    tcase_add_loop_test(tc, realloc_keeps_original_alignment, 0, NLAYERS);
    tcase_add_test(tc, realloc_move_needs_only_the_asked_alignment);
    tcase_add_loop_test(tc, realloc_failure_leaves_p, 0, NLAYERS);
    tcase_add_loop_test(tc, aligned_realloc_rules, 0, NLAYERS);
    tcase_add_test(tc, aligned_realloc_in_place_is_remembered);
    tcase_add_loop_test(tc, resize_in_place_only, 0, NLAYERS);

    TCASE("free");
    tcase_add_loop_test(tc, free_null_and_valid, 0, NLAYERS);
    tcase_add_loop_test(tc, free_checked_faults, 0, NLAYERS);
    tcase_add_test(tc, free_any_among_several);
    tcase_add_loop_test(tc, free_any_faults, 0, NLAYERS);

    TCASE("faults");
    tcase_add_test(tc, set_fault_handler_returns_previous);
    tcase_add_loop_test(tc, handler_told_function_arena_pointer_fault, 0, NLAYERS);
    tcase_add_loop_test(tc, handler_runs_without_lock, 0, NLAYERS);
    tcase_add_test(tc, default_handler_one_line_then_abort);
    tcase_add_test(tc, fault_and_lock_names);

    TCASE("stats");
    tcase_add_loop_test(tc, stats_known_sequence, 0, NLAYERS);
    tcase_add_test(tc, stats_null_arguments);
    tcase_add_test(tc, reset_treats_counters_alike);
    tcase_add_loop_test(tc, dump_name_layer_map, 0, NLAYERS);
    tcase_add_test(tc, dump_large_arena);
    tcase_add_test(tc, dump_failing_streams);

    TCASE("meta");
    tcase_add_test(tc, meta_size_refusals);
    tcase_add_loop_test(tc, meta_size_is_exact_for_create, 0, NLAYERS);
    tcase_add_test(tc, meta_bound_covers_every_layer);
    tcase_add_loop_test(tc, meta_bound_static_edges, 0, (int)NBOUND);

    TCASE("hint");
    tcase_add_test(tc, hint_one_thread_many_arenas);
    tcase_add_test(tc, hint_more_threads_than_slots);

    TCASE("registry_mt");
    tcase_add_test(tc, registry_concurrent_lookup_and_churn);
#undef TCASE
    return s;
}

int main(void)
{
    printf("api: registry lookups %s; default layer %s\n",
           CA_HAVE_URCU ? "under RCU (liburcu-bp)" : "under a read lock",
           ca_sync_kind_name(CA_SYNC_DEFAULT));
    fflush(stdout);
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
