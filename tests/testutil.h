/* SPDX-License-Identifier: MIT */
/*
 * tests/testutil.h — what the Check suites share.
 *
 * A test core: a region of chunks and its metadata on the heap, each with a
 * guard area around it that the core must never write, and a context; with
 * it, operations that must succeed, the carving of a layout of runs, the
 * counters as plain numbers, and snapshots of everything a refused
 * operation must leave alone. A reference model of a chunk region for the
 * differential test. Single threaded: each test owns its own cores.
 */
#ifndef CA_TESTS_TESTUTIL_H
#define CA_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "tests/splitmix64.h"

/* A core over heap memory. `region` is aligned to `align` (at least the
 * chunk size) and surrounded by guard bytes; so is `meta`. */
typedef struct ca_test_core {
    ca_core core;
    ca_core_ctx ctx;
    unsigned char *region; /* first chunk */
    size_t nchunks;
    size_t chunk_size;
    size_t region_align; /* what the region is aligned to */
    unsigned char *meta;
    size_t meta_len;
    unsigned char *region_block; /* what malloc returned, with guards */
    unsigned char *meta_block;
} ca_test_core;

/* Set up a core of nchunks chunks of 2^shift bytes whose region is aligned
 * to `align` bytes exactly (aligned to it, and not to 2 * align, so that
 * alignment tests see a realistic base). Fails the test on error. */
void ca_test_core_init(ca_test_core *t, size_t nchunks, unsigned shift, size_t align,
                       unsigned window);

/* Make t empty again: every chunk free (ca_core_reset), hint and counters 0. */
void ca_test_core_empty(ca_test_core *t);

/* Release the memory; fails the test if a guard byte was written. */
void ca_test_core_fini(ca_test_core *t);

/* Fail the test with the violation if ca_core_check finds one. */
void ca_test_core_check(const ca_test_core *t);

/* Chunk index of p in t's region. */
size_t ca_test_chunk_of(const ca_test_core *t, const void *p);

/* Exclusive-mode operations that must succeed: allocate `size` bytes aligned
 * to `align`, free p. Each fails the test on another status and checks the
 * core afterwards. */
void *ca_test_alloc(ca_test_core *t, size_t size, size_t align);
void ca_test_free(ca_test_core *t, void *p);
/* An allocation that must fail with CA_CORE_NOMEM; checks the core. */
void ca_test_alloc_nomem(ca_test_core *t, size_t size, size_t align);

/* Lay out runs of lens[0], lens[1], ... chunks back to back from chunk 0 of
 * an empty core (each allocation must land right after the previous one, as
 * next fit from hint 0 puts them); out[i] gets run i. The caller frees the
 * runs that are to be holes. */
void ca_test_core_carve(ca_test_core *t, const size_t *lens, size_t count, void **out);

/* The counters of a tally as plain numbers, to compare with expectations
 * (the tally's field names). */
typedef struct ca_test_counts {
    size_t chunks, allocs, bytes_requested, failures, grows_in_place, shrinks_in_place;
} ca_test_counts;

void ca_test_counts_of(const ca_core_tally *tally, ca_test_counts *out);
/* NULL if equal, else the name of the first counter that differs. */
const char *ca_test_counts_diff(const ca_test_counts *want, const ca_test_counts *got);

/* What an operation that is refused must leave unchanged: the metadata
 * bytes, the bound on the longest free run, the context's hint and
 * counters, and what a scan of the map finds. Zero-initialise a snapshot
 * before its first take; take may be called again to refresh it. */
typedef struct ca_test_snapshot {
    unsigned char *meta;
    size_t meta_len;
    uint64_t bound;
    size_t cursor;
    ca_test_counts counts;
    ca_core_usage usage;
} ca_test_snapshot;

void ca_test_snapshot_take(ca_test_snapshot *s, const ca_test_core *t);
/* NULL if t is as s recorded, else what differs. */
const char *ca_test_snapshot_diff(const ca_test_snapshot *s, const ca_test_core *t);
void ca_test_snapshot_fini(ca_test_snapshot *s);

/*
 * The reference model: the obviously correct version of a chunk region.
 * owner[i] is 0 for a free chunk, else the id of the allocation holding it.
 * Allocation ids are never reused.
 */
typedef struct ca_test_model {
    size_t nchunks;
    uint32_t *owner;
    uint32_t next_id;
} ca_test_model;

void ca_test_model_init(ca_test_model *m, size_t nchunks);
void ca_test_model_fini(ca_test_model *m);
/* Whether chunks [s, s+n) exist and are all free. */
bool ca_test_model_free(const ca_test_model *m, size_t s, size_t n);
/* Whether some run of n free chunks starts at a chunk s with
 * (s + base_chunk) % align_chunks == 0. */
bool ca_test_model_fits(const ca_test_model *m, size_t n, size_t base_chunk,
                        size_t align_chunks);
/* Give chunks [s, s+n) to a new allocation; returns its id. */
uint32_t ca_test_model_take(ca_test_model *m, size_t s, size_t n);
/* Set chunks [s, s+n) to owner id (0 frees them). */
void ca_test_model_set(ca_test_model *m, size_t s, size_t n, uint32_t id);
/* Length of the longest run of free chunks. */
size_t ca_test_model_longest(const ca_test_model *m);
/* Compare t's map with the model chunk by chunk (a free chunk must be 00,
 * the last chunk of an allocation 11, its other chunks 01). NULL if they
 * agree, else what differs, with the chunk in *where. */
const char *ca_test_model_diff(const ca_test_model *m, const ca_test_core *t, size_t *where);

#endif /* CA_TESTS_TESTUTIL_H */
