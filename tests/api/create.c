/* SPDX-License-Identifier: MIT */
/*
 * tests/api/create.c — suite "api", create and destroy: creation over caller
 * memory (bookkeeping carved from the front, or in a separate buffer), each
 * refusal with its errno after which nothing is registered, and destruction
 * with its refusals. Single threaded.
 */
#include "tests/api/common.h"

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
        ck_assert_msg(s.chunk_size == CA_DEFAULT_CHUNK_SIZE && s.lock == resolved(CA_LOCK_DEFAULT),
                      "defaults: chunk %zu, layer %s; expected %d, %s", s.chunk_size,
                      ca_lock_name(s.lock), CA_DEFAULT_CHUNK_SIZE,
                      ca_lock_name(resolved(CA_LOCK_DEFAULT)));
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


void api_add_create(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "create");
    tcase_add_loop_test(tc, create_carved_metadata, 0, NLAYERS);
    tcase_add_loop_test(tc, create_carved_small_alignment, 0, NLAYERS);
    tcase_add_loop_test(tc, create_separate_metadata, 0, NLAYERS);
    tcase_add_test(tc, create_separate_len_rounds_down);
    tcase_add_test(tc, create_refusals);
    tcase_add_test(tc, create_edges_accepted);
    tcase_add_test(tc, create_duplicate_name);
    tcase_add_loop_test(tc, create_every_lock, 0, 6);
    tc = api_tcase(s, "destroy");
    tcase_add_loop_test(tc, destroy_refused_while_busy, 0, NLAYERS);
    tcase_add_loop_test(tc, destroy_after_reset, 0, NLAYERS);
    tcase_add_test(tc, destroy_static_and_null);
    tcase_add_loop_test(tc, destroy_frees_name_and_memory, 0, NLAYERS);
    tcase_add_test(tc, destroy_recreate_smaller_hint_arena);
}
