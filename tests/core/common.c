/* SPDX-License-Identifier: MIT */
/*
 * tests/core/common.c — the helpers the files of suite "core" share: a test
 * core, chunk arithmetic, and expectations on counters, snapshots and scans.
 * Single threaded.
 */
#include "tests/core/common.h"

TCase *core_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, TIMEOUT);
    suite_add_tcase(s, tc);
    return tc;
}


/* A test core of n chunks of 2^shift bytes, base aligned to the chunk size only. */
void setup(ca_test_core *t, size_t n, unsigned shift, unsigned window)
{
    ca_test_core_init(t, n, shift, 0, window);
}

size_t div_up(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

/* Chunks an allocation of `size` bytes takes: at least one. */
size_t chunks_for(const ca_test_core *t, size_t size)
{
    size_t n = div_up(size, t->chunk_size);
    return n ? n : 1;
}

unsigned char *chunk_ptr(const ca_test_core *t, size_t i)
{
    return t->region + i * t->chunk_size;
}

/* An address computed as an integer: outside the region, never dereferenced. */
void *addr(uintptr_t a)
{
    return (void *)a;
}

void expect_counts(const ca_test_core *t, const ca_test_counts *want, const char *when)
{
    ca_test_counts got;
    ca_test_counts_of(&t->ctx.tally, &got);
    const char *field = ca_test_counts_diff(want, &got);
    ck_assert_msg(field == NULL, "%s: counter '%s' is wrong", when, field ? field : "");
}

void expect_unchanged(const ca_test_snapshot *s, const ca_test_core *t, const char *when)
{
    const char *why = ca_test_snapshot_diff(s, t);
    ck_assert_msg(why == NULL, "%s changed the core: %s", when, why ? why : "");
}

size_t usable_of(const ca_test_core *t, const void *p)
{
    size_t bytes = 0;
    ca_core_status st = ca_core_usable(&t->core, p, &bytes, false);
    ck_assert_msg(st == CA_CORE_OK, "usable size of chunk %zu: status %d", ca_test_chunk_of(t, p),
                  (int)st);
    ca_test_core_check(t);
    return bytes;
}

void expect_usage(const ca_test_core *t, const ca_core_usage *want, const char *when)
{
    ca_core_usage u;
    ca_core_scan(&t->core, &u, false);
    ck_assert_msg(u.chunks_used == want->chunks_used && u.allocations == want->allocations &&
                      u.free_runs == want->free_runs &&
                      u.largest_free_run == want->largest_free_run,
                  "%s: scan found %zu used, %zu allocations, %zu free runs, largest %zu; "
                  "expected %zu, %zu, %zu, %zu",
                  when, u.chunks_used, u.allocations, u.free_runs, u.largest_free_run,
                  want->chunks_used, want->allocations, want->free_runs, want->largest_free_run);
}

void expect_empty(const ca_test_core *t, const char *when)
{
    ca_core_usage want = {0, 0, 1, t->nchunks};
    expect_usage(t, &want, when);
}


/* An allocation that must fail with NOMEM and change nothing but the
 * failure counter (and, legitimately, lower the bound: the check verifies
 * it stays at least the longest free run). */
void expect_nomem_unchanged(ca_test_core *t, size_t size, size_t align)
{
    ca_test_snapshot s = {0};
    ca_test_snapshot_take(&s, t);
    ca_core_status st = CA_CORE_OK;
    void *p = ca_core_alloc(&t->core, &t->ctx, size, align, 0, false, &st);
    ck_assert_msg(p == NULL && st == CA_CORE_NOMEM,
                  "size %zu align %zu in %zu chunks: %p, status %d, expected NOMEM", size, align,
                  t->nchunks, p, (int)st);
    s.counts.failures++;
    s.bound = atomic_load_explicit(&t->core.bound, memory_order_relaxed);
    expect_unchanged(&s, t, "a failed allocation");
    ca_test_snapshot_fini(&s);
    ca_test_core_check(t);
}

void resize_ok(ca_test_core *t, void *p, size_t size)
{
    ca_core_status st = ca_core_resize(&t->core, &t->ctx, p, size, false);
    ck_assert_msg(st == CA_CORE_OK, "resize of chunk %zu to %zu bytes: status %d",
                  ca_test_chunk_of(t, p), size, (int)st);
    ca_test_core_check(t);
    ck_assert_msg(usable_of(t, p) == chunks_for(t, size) * t->chunk_size,
                  "resized to %zu bytes: usable %zu", size, usable_of(t, p));
}
