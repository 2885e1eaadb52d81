/* SPDX-License-Identifier: MIT */
/*
 * examples/fragmentation.c — what fragmentation looks like, next to what
 * a full arena and a half-used one look like.
 *
 * Three arenas of 2048 chunks of 64 bytes, filled with blocks of 1 to 8
 * chunks (seeded, so every run draws the same):
 *   full        filled up: no room left, exhaustion;
 *   fragmented  the same fill, then about every other block freed: half
 *               of it free, yet in short holes, so a request of a few
 *               chunks more than the holes fails;
 *   half used   the same number of chunks used, all in the first half:
 *               one long free run.
 * It prints each arena's dump (figures, free runs by length, map) and
 * draws the three into one SVG picture with ca_map_svg_all: the file
 * given as the first argument (docs/img/fragmentation.svg is made so:
 * `make docs-pictures`), or, without one, into memory only. It exits 0 when
 * the figures tell the three apart as described, so it runs as a test.
 *
 * Build it against the public header and the installed library only.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "chunkarena.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNKS 2048
#define CHUNK 64

CA_ARENA_DEFINE(full, "full", CHUNKS, CHUNK, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(fragmented, "fragmented", CHUNKS, CHUNK, CA_LOCK_MUTEX);
CA_ARENA_DEFINE(half, "half used", CHUNKS, CHUNK, CA_LOCK_MUTEX);

/* SplitMix64: a small seeded random source. */
static unsigned long long next_random(unsigned long long *state)
{
    unsigned long long z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fill the arena with blocks of 1..8 chunks until nothing fits; keep them
 * in blocks[]; return how many. */
static size_t fill(ca_arena *a, void **blocks, unsigned long long seed)
{
    size_t n = 0;
    for (;;) {
        void *p = ca_alloc(a, CHUNK * (1 + next_random(&seed) % 8));
        if (!p)
            p = ca_alloc(a, CHUNK); /* the last holes, one chunk at a time */
        if (!p)
            return n;
        blocks[n++] = p;
    }
}

int main(int argc, char **argv)
{
    static void *blocks[CHUNKS];
    ca_stats f, g, h;

    fill(CA_ARENA(full), blocks, 42);

    size_t n = fill(CA_ARENA(fragmented), blocks, 42);
    unsigned long long seed = 7;
    for (size_t i = 0; i < n; i++)
        if (next_random(&seed) % 2)
            ca_free(CA_ARENA(fragmented), blocks[i]);
    ca_arena_stats(CA_ARENA(fragmented), &g);

    /* As many chunks as the fragmented arena uses, from the front. */
    void *front = ca_alloc(CA_ARENA(half), g.chunks_used * CHUNK);
    ca_arena_stats(CA_ARENA(full), &f);
    ca_arena_stats(CA_ARENA(half), &h);

    ca_arena_dump(CA_ARENA(full), stdout);
    ca_arena_dump(CA_ARENA(fragmented), stdout);
    ca_arena_dump(CA_ARENA(half), stdout);

    /* Half of it is free, and yet a request of twice its longest hole fails. */
    void *big = ca_alloc(CA_ARENA(fragmented), 2 * g.largest_free_run * CHUNK);
    printf("\nfragmented: %zu of %zu chunks free, the longest run %zu: a block of %zu chunks %s\n",
           g.chunks_total - g.chunks_used, g.chunks_total, g.largest_free_run,
           2 * g.largest_free_run, big ? "fits" : "does not fit");

    char *text = NULL;
    size_t size = 0;
    FILE *out = argc > 1 ? fopen(argv[1], "w") : open_memstream(&text, &size);
    int drawn = out ? ca_map_svg_all(out) : -1;
    if (out && fclose(out) != 0)
        drawn = -1;
    free(text);
    if (drawn != 0) {
        fprintf(stderr, "fragmentation: cannot draw %s: %s\n", argc > 1 ? argv[1] : "the picture",
                strerror(errno));
        return EXIT_FAILURE;
    }
    if (argc > 1)
        printf("drawn: %s\n", argv[1]);

    int ok = front && !big && f.chunks_used == CHUNKS && f.free_runs == 0 &&
             g.chunks_used * 3 < CHUNKS * 2 && g.largest_free_run < 64 &&
             g.free_runs > 50 && h.free_runs == 1 && h.chunks_used == g.chunks_used;
    if (!ok)
        fprintf(stderr, "fragmentation: the figures do not tell the three arenas apart\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
