/* SPDX-License-Identifier: MIT */
/*
 * malloc/internal.h — what the files of libchunkarena-malloc share: the
 * settings read from the environment, the size classes and their slices,
 * and the messages it writes.
 *
 * Thread safety: the settings are written once, by the thread that sets the
 * library up, before the release store that makes it ready (malloc.c) and
 * only read afterwards; a class's slices are appended under the class's
 * mutex and published with a release store of the slice count (readers
 * load it with acquire). Nothing here allocates: every function may run
 * before the program's main, inside malloc itself, and after exit began.
 */
#ifndef CA_MALLOC_INTERNAL_H
#define CA_MALLOC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/internal.h"

/* The size classes: tiny (16-byte chunks), the main arena (the chunk size
 * of CHUNKARENA_MALLOC_CHUNK), huge (page-sized chunks at least). */
#define CA_MALLOC_CLASSES 3u
/* Slices a class can have at most (they double in size: 2^40 first slices). */
#define CA_MALLOC_SLICES 40u

typedef struct ca_malloc_settings {
    size_t size;        /* bytes to reserve (CHUNKARENA_MALLOC_SIZE) */
    size_t chunk;       /* the main class's chunk (CHUNKARENA_MALLOC_CHUNK) */
    ca_lock lock;       /* every arena's layer (CHUNKARENA_MALLOC_LOCK) */
    bool fault_ignore;  /* CHUNKARENA_MALLOC_FAULT=ignore: report and go on */
    bool stats;         /* CHUNKARENA_MALLOC_STATS=1: figures at exit */
    bool check;         /* CHUNKARENA_MALLOC_CHECK=1: ca_arena_check at exit */
} ca_malloc_settings;

/*
 * A size class: its part of the reservation, cut into slices that double
 * in size (slice i starts at first * (2^i - 1); the last one runs to the
 * end of the part), each slice one arena, created when the ones before it
 * are full. Allocation tries the slices from the first: memory low in the
 * class is reused before new memory is touched (see docs/MALLOC.md).
 */
typedef struct ca_malloc_class {
    const char *name;        /* the first slice's arena name; the others add ".i" */
    size_t chunk;            /* bytes */
    size_t max;              /* the largest request it serves first */
    unsigned char *base;     /* its part of the reservation */
    size_t len;
    size_t first;            /* bytes of slice 0 */
    unsigned nslices;        /* slices its part holds */
    _Atomic unsigned made;   /* slices created so far */
    pthread_mutex_t grow;    /* serialises creating slices */
    ca_arena *slice[CA_MALLOC_SLICES];
} ca_malloc_class;

extern ca_malloc_settings ca_malloc_set;
extern ca_malloc_class ca_malloc_classes[CA_MALLOC_CLASSES];

/* ---- malloc/setup.c ---- */

/* Fill *s from the environment (reads `environ` itself: getenv is not
 * allowed to allocate here, and none of this may). Bad values get a
 * warning line and the default. */
void ca_malloc_read_env(ca_malloc_settings *s);

/* Write a whole line to stderr with write(2) (no stdio, no allocation). */
void ca_malloc_say(const char *line);

/* Report a bad pointer given to `function` ("free", "realloc", ...) in one
 * line, then abort, unless CHUNKARENA_MALLOC_FAULT=ignore. */
void ca_malloc_fault(const char *function, const void *p, ca_fault fault);

/* At exit: the figures (CHUNKARENA_MALLOC_STATS) and the check
 * (CHUNKARENA_MALLOC_CHECK) of every arena created, with every operation
 * held at the gate meanwhile. */
void ca_malloc_at_exit(void);

/* ---- malloc/malloc.c ---- */

/* Hold every malloc operation at the gate once those in flight have
 * returned (a fork, the check at exit); let them go on again. The thread
 * that closed the gate passes it. */
void ca_malloc_gate_close(void);
void ca_malloc_gate_open(void);

#endif /* CA_MALLOC_INTERNAL_H */
