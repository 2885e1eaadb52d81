/* SPDX-License-Identifier: MIT */
/*
 * bench/peers.h — which allocator serves malloc, and the peer allocators
 * (jemalloc, mimalloc, tcmalloc) run in child processes under LD_PRELOAD.
 *
 * A label is never trusted: the process that ran a row finds the shared
 * object that defines the malloc it calls (dlsym + dladdr) and recognises
 * it by a symbol only that allocator exports, found in that same object
 * (mallctl: jemalloc; mi_version: mimalloc; tc_version or
 * MallocExtension_GetNumericProperty: tcmalloc; gnu_get_libc_version:
 * glibc).
 *
 * Thread safety: allocator_detect is safe from any thread; peers_locate
 * and peer_run are called by the main thread only.
 */
#ifndef CA_BENCH_PEERS_H
#define CA_BENCH_PEERS_H

#include <limits.h>
#include <stdbool.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

typedef struct allocator_id {
    char name[32];       /* "glibc", "jemalloc", "mimalloc", "tcmalloc", or "unknown" */
    char version[64];    /* as the allocator says it, or "?" */
    char object[PATH_MAX]; /* the shared object that defines malloc */
} allocator_id;

/* The allocator serving malloc in this process. */
void allocator_detect(allocator_id *id);

typedef struct peer {
    const char *label;   /* "jemalloc", ... : what we hope to load */
    bool found;          /* a library file exists */
    char path[PATH_MAX]; /* ... here */
} peer;

enum { PEER_COUNT = 3 };
extern peer bench_peers[PEER_COUNT];

/* Look for each peer's shared library in the usual places of this
 * architecture (Debian multiarch first). */
void peers_locate(void);

/* Run this program (/proc/self/exe) with argv and LD_PRELOAD set to the
 * peer's library; each line the child writes on stdout (without its
 * newline) goes to on_line. The child's stderr is ours. Returns the child's
 * exit status, or -1 if it could not run or died of a signal. */
int peer_run(const peer *p, char *const argv[], void (*on_line)(const char *line, void *ctx),
             void *ctx);

#endif /* CA_BENCH_PEERS_H */
