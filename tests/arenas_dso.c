/* SPDX-License-Identifier: MIT */
/*
 * tests/arenas_dso.c — a tiny shared library (a libtool module) that
 * defines its own static arena, for suite "api" (tests/api/static.c, TCase
 * "dso"). Loading it must register the arena "dso" with the registry of
 * the program that loads it, and unloading it must unregister it. It is
 * deliberately NOT linked against libchunkarena: its ca_* references are
 * left undefined and bind, when test_api dlopen()s it, to the copy of the
 * library inside the test program (linked with -export-dynamic), so that
 * there is exactly one registry. The arena uses the lock-free "hint" layer,
 * whose per-thread state must survive the module being unloaded and loaded
 * again. Single threaded use by the test; the functions are as thread-safe
 * as the arena.
 */
#include "api/chunkarena.h"

#define DSO_CHUNKS 64
#define DSO_CHUNK_SIZE 128

CA_ARENA_DEFINE(dso, "dso", DSO_CHUNKS, DSO_CHUNK_SIZE, CA_LOCK_HINT);

/* The functions the test looks up with dlsym (no header: the test declares
 * matching pointer types). */
ca_arena *arenas_dso_arena(void);
void *arenas_dso_alloc(size_t size);
void arenas_dso_free(void *p);
const void *arenas_dso_region(size_t *len);

/* The arena, through the macro, as code inside the module sees it. */
ca_arena *arenas_dso_arena(void)
{
    return CA_ARENA(dso);
}

/* Allocate from the module's arena (from inside the module). */
void *arenas_dso_alloc(size_t size)
{
    return ca_alloc(CA_ARENA(dso), size);
}

/* Free into the module's arena (from inside the module). */
void arenas_dso_free(void *p)
{
    ca_free(CA_ARENA(dso), p);
}

/* Where CA_ARENA_DEFINE put the region, and its length in bytes. */
const void *arenas_dso_region(size_t *len)
{
    *len = sizeof ca_region_dso;
    return ca_region_dso;
}
