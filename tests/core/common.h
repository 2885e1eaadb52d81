/* SPDX-License-Identifier: MIT */
/*
 * tests/core/common.h — the shared part of suite "core" (the files of
 * tests/core/, one program, tests/test_core): the contract of core/core.h,
 * function by function. Expected values are derived from the documented
 * rules (chunk arithmetic, next-fit order, the window rule of core/core.c),
 * never read back from the implementation. Single threaded.
 */
#ifndef CA_TESTS_CORE_COMMON_H
#define CA_TESTS_CORE_COMMON_H

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tests/splitmix64.h"
#include "tests/testutil.h"

#define TIMEOUT 120

/* A TCase of the suite, with its timeout. */
TCase *core_tcase(Suite *s, const char *name);

/* Each file adds its TCases (tests/core/main.c calls them all). */
void core_add_layout(Suite *s);
void core_add_alloc(Suite *s);
void core_add_free(Suite *s);
void core_add_whole(Suite *s);

/* A test core of n chunks of 2^shift bytes, base aligned to the chunk size only. */
void setup(ca_test_core *t, size_t n, unsigned shift, unsigned window);
size_t div_up(size_t a, size_t b);
/* Chunks an allocation of `size` bytes takes: at least one. */
size_t chunks_for(const ca_test_core *t, size_t size);
unsigned char *chunk_ptr(const ca_test_core *t, size_t i);
/* An address computed as an integer: outside the region, never dereferenced. */
void *addr(uintptr_t a);
void expect_counts(const ca_test_core *t, const ca_test_counts *want, const char *when);
void expect_unchanged(const ca_test_snapshot *s, const ca_test_core *t, const char *when);
size_t usable_of(const ca_test_core *t, const void *p);
void expect_usage(const ca_test_core *t, const ca_core_usage *want, const char *when);
void expect_empty(const ca_test_core *t, const char *when);
/* An allocation that must fail with NOMEM and change nothing but the
 * failure counter (and, legitimately, lower the bound). */
void expect_nomem_unchanged(ca_test_core *t, size_t size, size_t align);
void resize_ok(ca_test_core *t, void *p, size_t size);

#endif
