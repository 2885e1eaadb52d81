/* SPDX-License-Identifier: MIT */
/*
 * malloc/setup.c — libchunkarena-malloc's settings (read from the
 * environment without allocating), its messages (write(2) only), and what
 * it does at exit (figures, check).
 *
 * Thread safety: ca_malloc_read_env runs once, in the set-up (malloc.c);
 * ca_malloc_say and ca_malloc_fault from any thread, holding nothing;
 * ca_malloc_at_exit once, from the library's destructor, with the gate
 * closed around the arenas' scans (so no operation is in flight: the check
 * needs quiet arenas).
 */
#include "config.h"

#include "malloc/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* Defaults: see docs/MALLOC.md for why. */
#define DEFAULT_SIZE ((size_t)64 << 30)
#define DEFAULT_CHUNK ((size_t)256)
#define MAX_CHUNK ((size_t)64 << 10)

void ca_malloc_say(const char *line)
{
    size_t len = strlen(line);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n <= 0)
            return; /* nowhere to say it: nothing else to do */
        line += n;
        len -= (size_t)n;
    }
}

/* The value of environment variable `name`, or NULL. getenv would do, but
 * a C library may let it allocate (or take a lock that allocation holds);
 * reading environ is plain loads. */
static const char *env(const char *name)
{
    size_t n = strlen(name);
    if (!environ)
        return NULL;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* "123", "64K", "512m", "64G", "1T" (powers of 1024, an optional "iB" or
 * "B" after the letter): false unless all of it parses and fits. */
static bool parse_size(const char *s, size_t *out)
{
    size_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++)
        if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, (size_t)(*s - '0'), &v))
            return false;
    unsigned shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: break;
    }
    if (shift) {
        s++;
        if (v > (SIZE_MAX >> shift))
            return false;
        v <<= shift;
        if (s[0] == 'i' && s[1] == 'B')
            s += 2;
        else if (s[0] == 'B')
            s++;
    }
    if (*s != '\0')
        return false;
    *out = v;
    return true;
}

static void refuse(const char *name, const char *value, const char *why)
{
    char line[256];
    snprintf(line, sizeof line, "chunkarena-malloc: %s=%s refused (%s); using the default\n",
             name, value, why);
    ca_malloc_say(line);
}

void ca_malloc_read_env(ca_malloc_settings *s)
{
    const char *v;
    s->size = DEFAULT_SIZE;
    s->chunk = DEFAULT_CHUNK;
    s->lock = CA_LOCK_HINT;
    s->fault_ignore = false;
    s->stats = false;
    s->check = false;

    size_t n;
    if ((v = env("CHUNKARENA_MALLOC_SIZE")) != NULL) {
        if (parse_size(v, &n) && n >= ((size_t)64 << 20))
            s->size = n;
        else
            refuse("CHUNKARENA_MALLOC_SIZE", v, "a size of at least 64M, as 64G or 1073741824");
    }
    if ((v = env("CHUNKARENA_MALLOC_CHUNK")) != NULL) {
        if (parse_size(v, &n) && n >= 16 && n <= MAX_CHUNK && (n & (n - 1)) == 0)
            s->chunk = n;
        else
            refuse("CHUNKARENA_MALLOC_CHUNK", v, "a power of two from 16 to 64K");
    }
    if ((v = env("CHUNKARENA_MALLOC_LOCK")) != NULL) {
        /* every layer but none, by its name: a malloc must be thread-safe */
        bool known = false;
        for (int l = CA_LOCK_SPIN; l <= CA_LOCK_HINT && !known; l++)
            if (strcmp(v, ca_lock_name((ca_lock)l)) == 0) {
                s->lock = (ca_lock)l;
                known = true;
            }
        if (!known)
            refuse("CHUNKARENA_MALLOC_LOCK", v, "spin, ticket, mutex or hint");
    }
    if ((v = env("CHUNKARENA_MALLOC_FAULT")) != NULL) {
        if (strcmp(v, "ignore") == 0)
            s->fault_ignore = true;
        else if (strcmp(v, "abort") != 0)
            refuse("CHUNKARENA_MALLOC_FAULT", v, "abort or ignore");
    }
    if ((v = env("CHUNKARENA_MALLOC_STATS")) != NULL)
        s->stats = strcmp(v, "0") != 0 && v[0] != '\0';
    if ((v = env("CHUNKARENA_MALLOC_CHECK")) != NULL)
        s->check = strcmp(v, "0") != 0 && v[0] != '\0';
}

void ca_malloc_fault(const char *function, const void *p, ca_fault fault)
{
    const char *what = fault == CA_FAULT_INTERIOR ? "interior pointer"
                       : fault == CA_FAULT_NOT_ALLOCATED
                           ? "double free (or never allocated)"
                           : "not from this malloc";
    char line[256];
    snprintf(line, sizeof line, "chunkarena-malloc: %s(): invalid pointer %p: %s\n", function, p,
             what);
    ca_malloc_say(line);
    if (!ca_malloc_set.fault_ignore)
        abort();
}

/* ---- at exit ---- */

static void print_stats(ca_arena *a)
{
    ca_stats s;
    if (ca_arena_stats(a, &s) != 0)
        return;
    char line[512];
    snprintf(line, sizeof line,
             "chunkarena-malloc: %-14s %-6s chunk %6zu  chunks %zu used %zu peak %zu  "
             "allocations %zu  requested %zu B  failures %zu  grows %zu shrinks %zu  "
             "free runs %zu largest %zu\n",
             s.name, ca_lock_name(s.lock), s.chunk_size, s.chunks_total, s.chunks_used,
             s.chunks_peak, s.allocations, s.bytes_requested, s.failures, s.grows_in_place,
             s.shrinks_in_place, s.free_runs, s.largest_free_run);
    ca_malloc_say(line);
}

void ca_malloc_at_exit(void)
{
    if (!ca_malloc_set.stats && !ca_malloc_set.check)
        return;
    ca_malloc_gate_close();
    unsigned arenas = 0, bad = 0;
    char line[512];
    for (unsigned c = 0; c < CA_MALLOC_CLASSES; c++) {
        ca_malloc_class *k = &ca_malloc_classes[c];
        /* acquire: pairs with create_slice's release */
        unsigned made = atomic_load_explicit(&k->made, memory_order_acquire);
        for (unsigned i = 0; i < made; i++, arenas++) {
            if (ca_malloc_set.stats)
                print_stats(k->slice[i]);
            const char *why = ca_malloc_set.check ? ca_arena_check(k->slice[i]) : NULL;
            if (why) {
                bad++;
                snprintf(line, sizeof line, "chunkarena-malloc: check: arena %s: %s\n",
                         ca_arena_name(k->slice[i]), why);
                ca_malloc_say(line);
            }
        }
    }
    if (ca_malloc_set.check) {
        snprintf(line, sizeof line, "chunkarena-malloc: check: %u of %u arenas clean (pid %ld)\n",
                 arenas - bad, arenas, (long)getpid());
        ca_malloc_say(line);
    }
    ca_malloc_gate_open();
}
