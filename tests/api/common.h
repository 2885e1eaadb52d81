/* SPDX-License-Identifier: MIT */
/*
 * tests/api/common.h — the shared part of suite "api" (the files of
 * tests/api/, one program, tests/test_api): the static arenas every area uses,
 * the test arena
 * over heap memory (tarena) and its forced layouts, the content patterns, the
 * statistics comparisons, the fault recorder and the loader of the module
 * tests/arenas_dso.c. Layouts are forced (every chunk allocated, then the
 * wanted ones freed) so that no expectation depends on the fit policy; most
 * allocation tests run once per sync layer (loop tests, _i = the layer). The
 * helpers are for one thread at a time (the fault recorder is a plain global).
 *
 * The module tests/arenas_dso.c is found through the environment variable
 * CA_TEST_DSO (its path), else next to this program: <dir>/.libs/arenas_dso.so
 * (libtool's place for it when this program is a real binary) or
 * <dir>/arenas_dso.so (when this program runs from .libs/ itself). The
 * program must be linked with -export-dynamic (libtool) / -rdynamic, so that
 * the module's ca_* references bind to the library inside the program.
 */
#ifndef CA_TESTS_API_COMMON_H
#define CA_TESTS_API_COMMON_H

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
 * static arena's set-up compares its CA_PRIVATE_META_BOUND buffer with.
 * (CA_SYNC_DEFAULT, configure's --with-lock, comes from config.h.) */
#include "sync/sync.h"

#define TIMEOUT 60

/* The five real layers; loop tests take _i as an index into it. */
#define NLAYERS 5
extern const ca_lock layers[NLAYERS];

/* A TCase of the suite, with its timeout and the default fault handler
 * installed before and after each test. */
TCase *api_tcase(Suite *s, const char *name);

/* Each area's file adds its TCases (tests/api/main.c calls them all). */
void api_add_create(Suite *s);
void api_add_lookup(Suite *s);
void api_add_static(Suite *s);
void api_add_alloc(Suite *s);
void api_add_realloc(Suite *s);
void api_add_free(Suite *s);
void api_add_stats(Suite *s);
void api_add_meta(Suite *s);
void api_add_hint(Suite *s);
void api_add_registry_mt(Suite *s);

/* ---- static arenas (defined in common.c) ---- */

CA_ARENA_DECLARE(s16);
CA_ARENA_DECLARE(s256);
CA_ARENA_DECLARE(s4096);
CA_ARENA_DECLARE(snone);
CA_ARENA_DECLARE(sticket);
CA_ARENA_DECLARE(sdefault);
CA_ARENA_DECLARE(searly);
CA_ARENA_DECLARE(sexit);
CA_ARENA_DECLARE(dup_first);
CA_ARENA_DECLARE(dup_second);

/* Defined in tests/api/static_other.c. */
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

/* The static arenas of every layer, and those at chunk counts where the
 * bookkeeping crosses a word or a summary boundary. */
#define NSTATIC 6
extern const static_case static_cases[NSTATIC];
#define NBOUND 5
extern const static_case bound_cases[NBOUND];

/* ---- helpers ---- */

size_t round_up(size_t x, size_t to);
size_t chunks_for(size_t size, size_t chunk_size);
/* A heap block of len bytes aligned to `align` (freed with free()). */
void *aligned_block(size_t align, size_t len);
/* What CA_LOCK_x resolves to: CA_LOCK_DEFAULT, to configure's --with-lock. */
ca_lock resolved(ca_lock lock);
size_t registered(void);
void fill_pattern(void *p, size_t len, unsigned seed);
/* The first byte that differs from the pattern, or len. */
size_t pattern_mismatch(const void *p, size_t len, unsigned seed);
void expect_pattern(const void *p, size_t len, unsigned seed, const char *what);
void expect_healthy(ca_arena *a, const char *when);
ca_stats stats_of(ca_arena *a);
/* The arena must be exactly as `before` says, and healthy. */
void expect_unchanged(ca_arena *a, const ca_stats *before, const char *what);
/* create must fail with `err` and register nothing. */
void expect_refused(const char *what, const char *name, void *mem, size_t len, const ca_config *c,
                    int err);

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
ca_arena *tarena_make_aligned(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
                              ca_lock lock, size_t align);
ca_arena *tarena_make(tarena *t, const char *name, size_t nchunks, size_t chunk_size,
                      ca_lock lock);
/* Reset, destroy (must succeed) and free. */
void tarena_drop(tarena *t);
unsigned char *chunk(const tarena *t, size_t i);
/* The chunk index of p in t (p must be in the region). */
size_t index_of(const tarena *t, const void *p);
/* Lay out the (empty) arena of t by `map`: '#' allocated, '.' free. */
void shape(tarena *t, const char *map);
/* A map of n chunks, all `c`, in buf (n + 1 bytes). */
char *map_of(char *buf, size_t n, char c);

/* ---- the realloc tests' arena ---- */

#define RCS 256 /* chunk size of the realloc tests */
#define RN 64   /* their chunks */
/* A 64-chunk arena of 256-byte chunks, mem aligned to 16 KiB. */
ca_arena *realloc_arena(tarena *t, ca_lock lock);
/* A map with only the listed chunks free (list ends with SIZE_MAX). */
char *map_free_only(char *buf, const size_t *free_chunks);

/* ---- the fault recorder ---- */

typedef struct seen_fault {
    char function[32];
    char arena[CA_NAME_MAX + 8];
    const void *pointer;
    ca_fault fault;
} seen_fault;

#define MAX_SEEN 8
extern seen_fault seen[MAX_SEEN];
extern size_t nseen;

void record_fault(const ca_fault_report *r);
/* Exactly one fault has been reported since the last expectation: this one. */
void expect_fault(const char *function, const char *arena, const void *p, ca_fault fault);
void expect_no_fault(const char *what);
/* Install the recorder (any other fault reaches the default handler). */
void recorder_on(void);
/* The checked fixture of every TCase: start and end with the default. */
void fixture_default_handler(void);

/* ---- the module tests/arenas_dso.c ---- */

typedef struct dso {
    void *handle;
    ca_arena *(*arena)(void);
    void *(*alloc)(size_t);
    void (*release)(void *);
    const void *(*region)(size_t *);
} dso;

/* CA_TEST_DSO, else <dir of this program>/.libs/arenas_dso.so, else
 * <dir>/arenas_dso.so. */
const char *dso_path(void);
void dso_open(dso *d);
void dso_close(dso *d);

#endif
