/* SPDX-License-Identifier: MIT */
/*
 * tests/splitmix64.h — the SplitMix64 random source (docs/WORKLOADS.md).
 *
 * Shared by the tests, the stress harness and the benchmark, so that every
 * seeded run draws the same numbers everywhere. One generator per thread:
 * a generator is plain state, not safe to share between threads.
 */
#ifndef CA_TESTS_SPLITMIX64_H
#define CA_TESTS_SPLITMIX64_H

#include <stdint.h>

typedef struct ca_splitmix64 {
    uint64_t s;
} ca_splitmix64;

static inline ca_splitmix64 ca_splitmix64_seed(uint64_t seed)
{
    ca_splitmix64 r = {seed};
    return r;
}

/* The next 64 random bits (all arithmetic modulo 2^64). */
static inline uint64_t ca_splitmix64_next(ca_splitmix64 *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* next() % n, exactly as docs/WORKLOADS.md draws it (n > 0). */
static inline uint64_t ca_splitmix64_below(ca_splitmix64 *r, uint64_t n)
{
    return ca_splitmix64_next(r) % n;
}

#endif /* CA_TESTS_SPLITMIX64_H */
