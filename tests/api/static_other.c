/* SPDX-License-Identifier: MIT */
/*
 * tests/api/static_other.c — the second translation unit of suite "api"
 * (tests/api/): static arenas across files. It defines one arena with
 * CA_ARENA_DEFINE that tests/api/static.c reaches through CA_ARENA_DECLARE, and,
 * the other way round, declares one defined in common.c and uses it from
 * a constructor that runs before any default-priority constructor, hence
 * before the CA_ARENA_DEFINE constructors have registered anything: "usable
 * from the start". No header on purpose: each file writes the extern
 * declarations it needs, as a user would. Single threaded (constructors).
 */
#include "api/chunkarena.h"

/* Defined here, used from tests/api/common.c. */
CA_ARENA_DEFINE(other_tu, "static-other-tu", 32, 64, CA_LOCK_TICKET);

/* Defined in tests/api/common.c ("static-early", 256-byte chunks), used here. */
CA_ARENA_DECLARE(searly);

/* What tests/api/common.c calls (it declares the same prototypes). */
void *static_other_alloc(size_t size);
ca_arena *static_other_arena(void);
void *static_early_pointer(void);
ca_arena *static_early_arena(void);

/* An allocation made from searly by a constructor of priority 101, before
 * the arena's own (default-priority) constructor has run, and the handle
 * this file sees for searly. */
static void *early_pointer;
static ca_arena *early_arena;

__attribute__((constructor(101))) static void use_before_registration(void)
{
    early_arena = CA_ARENA(searly);
    early_pointer = ca_alloc(CA_ARENA(searly), 100);
}

void *static_other_alloc(size_t size)
{
    return ca_alloc(CA_ARENA(other_tu), size);
}

ca_arena *static_other_arena(void)
{
    return CA_ARENA(other_tu);
}

void *static_early_pointer(void)
{
    return early_pointer;
}

ca_arena *static_early_arena(void)
{
    return early_arena;
}
