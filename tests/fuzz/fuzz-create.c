/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz-create.c — libFuzzer target: arena creation from arbitrary
 * configurations.
 *
 * The input gives the name (any bytes, any length), the memory (its
 * alignment and length), the chunk size, the lock (any value, valid or
 * not), the fit window, and a separate bookkeeping buffer or none (its
 * alignment and length). ca_arena_create must either refuse with one of
 * the errors api/chunkarena.h names, touching nothing, or make an arena
 * that lies inside the memory given, with consistent statistics, passes
 * ca_arena_check, serves a block of every size up to the whole region at
 * a chunk-aligned address inside it (the block's bytes accessible, the
 * rest poisoned under ASan), is found by name and by address, and is
 * destroyed. ca_arena_meta_size is checked against what creation accepts.
 */
#include "chunkarena.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "fuzz_create: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

static unsigned byte(const uint8_t **p, size_t *n)
{
    if (*n == 0)
        return 0;
    (*n)--;
    return *(*p)++;
}

static size_t number(const uint8_t **p, size_t *n, unsigned bytes)
{
    size_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | byte(p, n);
    return v;
}

#define MEM_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *in = data;
    size_t n = size;
    char name[80];
    size_t name_len = byte(&in, &n) % sizeof name;
    for (size_t i = 0; i < name_len; i++)
        name[i] = (char)byte(&in, &n);
    name[name_len] = '\0';

    unsigned shape = byte(&in, &n);
    ca_config c = {0};
    /* chunk size: a power of two mostly, anything sometimes */
    c.chunk_size = shape & 1 ? number(&in, &n, 3) : (size_t)1 << (byte(&in, &n) % 20);
    c.lock = (ca_lock)(int)(signed char)byte(&in, &n);
    c.fit_window = byte(&in, &n) % 80;
    size_t offset = number(&in, &n, 2) % 4096; /* misalignment of mem */
    size_t len = number(&in, &n, 3) % MEM_MAX;
    unsigned char *buf = aligned_alloc(4096, MEM_MAX + 4096);
    unsigned char *metabuf = NULL;
    CHECK(buf);
    unsigned char *mem = (shape & 2) ? NULL : buf + offset;
    if (shape & 4) {
        size_t moff = byte(&in, &n) % 128;
        c.meta_len = number(&in, &n, 2);
        metabuf = aligned_alloc(64, 65536 + 128);
        CHECK(metabuf);
        c.meta = metabuf + moff;
    }
    const char *nm = (shape & 8) ? NULL : name;

    errno = 0;
    ca_arena *a = ca_arena_create(nm, mem, len, &c);
    if (!a) {
        CHECK(errno == EINVAL || errno == ENOMEM || errno == ENAMETOOLONG || errno == EEXIST);
    } else {
        ca_stats st;
        CHECK(ca_arena_stats(a, &st) == 0);
        CHECK(strcmp(st.name, name) == 0 && strlen(name) <= CA_NAME_MAX);
        CHECK(st.chunk_size >= 16 && (st.chunk_size & (st.chunk_size - 1)) == 0);
        CHECK(c.chunk_size == 0 || st.chunk_size == c.chunk_size);
        CHECK(st.lock >= CA_LOCK_NONE && st.lock <= CA_LOCK_HINT);
        CHECK(st.chunks_total >= 1 && st.chunks_used == 0 && st.allocations == 0);
        CHECK(st.chunks_total * st.chunk_size <= len);
        CHECK(ca_arena_check(a) == NULL);
        CHECK(ca_arena_find(name) == a);
        if (c.meta)
            CHECK(c.meta_len >= ca_arena_meta_size(st.chunks_total, &c));
        /* The whole region, then a block of each size from the input. */
        size_t region = st.chunks_total * st.chunk_size;
        unsigned char *p = ca_alloc(a, region);
        CHECK(p && p >= mem && p + region <= mem + len);
        CHECK((uintptr_t)p % st.chunk_size == 0);
        CHECK(ca_arena_of(p) == a && ca_arena_of(p + region - 1) == a);
        memset(p, 0xA5, region);
        ca_free(a, p);
        for (unsigned i = 0; i < 4 && n > 0; i++) {
            size_t want = number(&in, &n, 2) % (region + 1);
            unsigned char *q = ca_alloc(a, want);
            CHECK(q && q >= p && q + want <= p + region);
            memset(q, 0x5A, want);
            CHECK(ca_usable_size(a, q) >= want);
            ca_free(a, q);
        }
        CHECK(ca_arena_check(a) == NULL);
        CHECK(ca_arena_destroy(a) == 0);
        /* Given back: every byte of the memory is the caller's again. */
        memset(mem, 0, len);
    }
    free(metabuf);
    free(buf);
    return 0;
}
