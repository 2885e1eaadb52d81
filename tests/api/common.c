/* SPDX-License-Identifier: MIT */
/*
 * tests/api/common.c — what the files of suite "api" share: the static arenas
 * (CA_ARENA_DEFINE here; CA_ARENA_DECLARE in common.h), a test arena over heap
 * memory with a separate metadata buffer (tarena), forced layouts (shape), the
 * content patterns, the statistics comparisons, the fault recorder, the
 * refused-create expectation and the loader of tests/arenas_dso.c. Single
 * threaded, except where a caller says otherwise (the fault recorder is not
 * thread-safe: only tests running in one thread install it).
 */
#include "tests/api/common.h"

const ca_lock layers[NLAYERS] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX,
                                 CA_LOCK_HINT};

/* ------------------------------------------------------------ static arenas */

CA_ARENA_DEFINE(s16, "static-16", 64, 16, CA_LOCK_SPIN);
CA_ARENA_DEFINE(s256, "static-256", 32, 256, CA_LOCK_HINT);
CA_ARENA_DEFINE(s4096, "static-4096", 8, 4096, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(snone, "static-none", 16, 32, CA_LOCK_NONE);
CA_ARENA_DEFINE(sticket, "static-ticket", 16, 64, CA_LOCK_TICKET);
CA_ARENA_DEFINE(sdefault, "static-default", 16, 128, CA_LOCK_DEFAULT);
/* Used by a constructor of tests/api/static_other.c before registration. */
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

#define STATIC_CASE(id, name, n, cs, lock)                                                      \
    {CA_ARENA(id), name, n, cs, lock, ca_region_##id, sizeof ca_region_##id}

const static_case static_cases[] = {
    STATIC_CASE(s16, "static-16", 64, 16, CA_LOCK_SPIN),
    STATIC_CASE(s256, "static-256", 32, 256, CA_LOCK_HINT),
    STATIC_CASE(s4096, "static-4096", 8, 4096, CA_LOCK_MUTEX),
    STATIC_CASE(snone, "static-none", 16, 32, CA_LOCK_NONE),
    STATIC_CASE(sticket, "static-ticket", 16, 64, CA_LOCK_TICKET),
    STATIC_CASE(sdefault, "static-default", 16, 128, CA_LOCK_DEFAULT),
};
const static_case bound_cases[] = {
    STATIC_CASE(bound1, "bound-1", 1, 16, CA_LOCK_HINT),
    STATIC_CASE(bound33, "bound-33", 33, 16, CA_LOCK_HINT),
    STATIC_CASE(bound2049, "bound-2049", 2049, 16, CA_LOCK_HINT),
    STATIC_CASE(bound5000, "bound-5000", 5000, 16, CA_LOCK_HINT),
    STATIC_CASE(bound131073, "bound-131073", 131073, 16, CA_LOCK_HINT),
};
_Static_assert(sizeof static_cases / sizeof static_cases[0] == NSTATIC, "NSTATIC in common.h");
_Static_assert(sizeof bound_cases / sizeof bound_cases[0] == NBOUND, "NBOUND in common.h");

TCase *api_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_checked_fixture(tc, fixture_default_handler, fixture_default_handler);
    suite_add_tcase(s, tc);
    return tc;
}

/* ----------------------------------------------------------------- helpers */

size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

size_t chunks_for(size_t size, size_t chunk_size)
{
    size_t n = size / chunk_size + (size % chunk_size != 0);
    return n ? n : 1;
}

/* A heap block of len bytes aligned to `align` (freed with free()). */
void *aligned_block(size_t align, size_t len)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    int rc = posix_memalign(&p, align, len ? len : 1);
    ck_assert_msg(rc == 0 && p != NULL, "posix_memalign(%zu, %zu) failed: %s", align, len,
                  strerror(rc));
    return p;
}

/* What CA_LOCK_x resolves to: CA_LOCK_DEFAULT, to configure's --with-lock. */
ca_lock resolved(ca_lock lock)
{
    return lock == CA_LOCK_DEFAULT ? CA_SYNC_DEFAULT : lock;
}

size_t registered(void)
{
    return ca_arena_list(NULL, 0);
}

void fill_pattern(void *p, size_t len, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(seed + i * 131u + (i >> 8));
}

/* The first byte that differs from the pattern, or len. */
size_t pattern_mismatch(const void *p, size_t len, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i] != (unsigned char)(seed + i * 131u + (i >> 8)))
            return i;
    return len;
}

void expect_pattern(const void *p, size_t len, unsigned seed, const char *what)
{
    size_t at = pattern_mismatch(p, len, seed);
    ck_assert_msg(at == len, "%s: content not preserved: byte %zu of %zu differs", what, at, len);
}

void expect_healthy(ca_arena *a, const char *when)
{
    const char *why = ca_arena_check(a);
    ck_assert_msg(why == NULL, "%s: ca_arena_check(\"%s\"): %s", when, ca_arena_name(a), why);
}

ca_stats stats_of(ca_arena *a)
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
void expect_unchanged(ca_arena *a, const ca_stats *before, const char *what)
{
    ca_stats now = stats_of(a);
    const char *field = stats_diff(before, &now);
    ck_assert_msg(field == NULL, "%s changed the arena \"%s\": stats field %s differs", what,
                  ca_arena_name(a), field);
    expect_healthy(a, what);
}

/* ---- a test arena over heap memory, with a separate metadata buffer, so
 * that its region is exactly [mem, mem + nchunks * chunk_size) ---- */

/* mem aligned to `align` (at least the chunk size). */
ca_arena *tarena_make_aligned(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
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

ca_arena *tarena_make(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
                      ca_lock lock)
{
    return tarena_make_aligned(t, name, nchunks, chunk_size, lock, 0);
}

/* Reset, destroy (must succeed) and free. */
void tarena_drop(tarena *t)
{
    ca_arena_reset(t->a);
    int rc = ca_arena_destroy(t->a);
    ck_assert_msg(rc == 0, "ca_arena_destroy(\"%s\") after reset failed: %s", t->name,
                  strerror(errno));
    free(t->mem);
    free(t->meta);
    memset(t, 0, sizeof *t);
}

unsigned char *chunk(const tarena *t, size_t i)
{
    return t->mem + i * t->chunk_size;
}

/* The chunk index of p in t (p must be in the region). */
size_t index_of(const tarena *t, const void *p)
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
void shape(tarena *t, const char *map)
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
char *map_of(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- the fault recorder ---- */

seen_fault seen[MAX_SEEN];
size_t nseen;

void record_fault(const ca_fault_report *r)
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
void expect_fault(const char *function, const char *arena, const void *p, ca_fault fault)
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

void expect_no_fault(const char *what)
{
    ck_assert_msg(nseen == 0, "%s: unexpected fault report: %s on %p in \"%s\" (%s)", what,
                  seen[0].function, seen[0].pointer, seen[0].arena, ca_fault_name(seen[0].fault));
}

/* Tests that provoke faults install the recorder; any other fault reaches
 * the default handler and aborts the test, loudly. */
void recorder_on(void)
{
    nseen = 0;
    ca_set_fault_handler(record_fault);
}

/* The checked fixture of every TCase: start and end with the default. */
void fixture_default_handler(void)
{
    ca_set_fault_handler(NULL);
    nseen = 0;
}

/* create must fail with `err` and register nothing. */
void expect_refused(const char *what, const char *name, void *mem, size_t len,
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

/* A 64-chunk arena of 256-byte chunks, mem aligned to 16 KiB: chunks 0, 16,
 * 32, 48 are the 4096-aligned ones (chunk 16 is mem + 4096, aligned to 4096
 * and not to 8192). */
ca_arena *realloc_arena(tarena *t, ca_lock lock)
{
    return tarena_make_aligned(t, "realloc", RN, RCS, lock, 16384);
}

/* A map with only the listed chunks free (list ends with SIZE_MAX). */
char *map_free_only(char *buf, const size_t *free_chunks)
{
    map_of(buf, RN, '#');
    for (size_t i = 0; free_chunks[i] != SIZE_MAX; i++)
        buf[free_chunks[i]] = '.';
    return buf;
}

static char dso_path_buf[4096];

/* CA_TEST_DSO, else <dir of this program>/.libs/arenas_dso.so, else
 * <dir>/arenas_dso.so. */
const char *dso_path(void)
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

void dso_open(dso *d)
{
    const char *path = dso_path();
    d->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(d->handle != NULL, "dlopen(%s): %s", path, dlerror());
    dso_symbol(d->handle, "arenas_dso_arena", &d->arena, sizeof d->arena);
    dso_symbol(d->handle, "arenas_dso_alloc", &d->alloc, sizeof d->alloc);
    dso_symbol(d->handle, "arenas_dso_free", &d->release, sizeof d->release);
    dso_symbol(d->handle, "arenas_dso_region", &d->region, sizeof d->region);
}

void dso_close(dso *d)
{
    ck_assert_msg(dlclose(d->handle) == 0, "dlclose: %s", dlerror());
    memset(d, 0, sizeof *d);
}
