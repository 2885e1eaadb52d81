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
    char name[32];       /* "glibc", a peer's label, or "unknown" */
    char version[64];    /* as the allocator says it, or "?" */
    char object[PATH_MAX]; /* the shared object that defines malloc */
} allocator_id;

/* The allocator serving malloc in this process. */
void allocator_detect(allocator_id *id);

/* A peer: an allocator that replaces malloc when its shared library is
 * preloaded. Adding one is one line in bench_peers (peers.c): its label,
 * the file names to look for (a name with a '/' is taken as a path, e.g.
 * a library of this build tree), and a symbol only it exports, which is
 * how allocator_detect recognises it. */
typedef struct peer {
    const char *label;     /* "jemalloc", ... : what we hope to load */
    const char *files[4];  /* library file names, NULL-terminated */
    const char *marker;    /* a symbol only this allocator exports */
    bool found;            /* a library file exists */
    char path[PATH_MAX];   /* ... here */
} peer;

extern peer bench_peers[];
extern const unsigned PEER_COUNT;
enum { PEER_MAX = 8 };     /* room in ca-bench's tables and option bits */

/* Look for each peer's shared library in the usual places of this
 * architecture (Debian multiarch first). */
void peers_locate(void);

/* Run `prog` (NULL: this program, /proc/self/exe) with argv and, when
 * preload is not NULL, LD_PRELOAD set to it; each line the child writes on
 * stdout (without its newline) goes to on_line. The child's stderr is
 * ours. Returns the child's exit status, or -1 if it could not run or died
 * of a signal. */
int child_run(const char *preload, const char *prog, char *const argv[],
              void (*on_line)(const char *line, void *ctx), void *ctx);

/* child_run of this program under the peer's library. */
int peer_run(const peer *p, char *const argv[], void (*on_line)(const char *line, void *ctx),
             void *ctx);

#endif /* CA_BENCH_PEERS_H */
