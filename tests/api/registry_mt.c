/* SPDX-License-Identifier: MIT */
/*
 * tests/api/registry_mt.c — suite "api", the registry under concurrent
 * lookups, creation, destruction and module loading. Runs threads of its own.
 */
#include "tests/api/common.h"

/* =================================================== TCase "registry_mt" */

/*
 * Readers call ca_arena_find, ca_arena_list and ca_arena_of in a loop while
 * writers create and destroy arenas over their own memory, again and again
 * at the same memory (alternately with carved bookkeeping under one name
 * and with a separate buffer under another). A handle that may be
 * destroyed at any moment is never dereferenced by a reader: it is only
 * compared with the handles its writer got in a warm-up (the arena object
 * sits in the bookkeeping, at the same place for the same memory), which
 * checks "the handle found has the asked name" without a race of our own.
 * Two stable arenas, never destroyed meanwhile, are also found, named,
 * located and allocated from by every reader. One more writer loads and
 * unloads tests/arenas_dso.c, whose static arena registers and unregisters
 * (and whose memory is unmapped) under the readers' feet.
 */
#define MT_WRITERS 3
#define MT_READERS 3
#define MT_LEN ((size_t)64 * 1024)
/* How long the threads run together, at least: the main thread then waits
 * (up to MT_WAIT_S more) until every thread has done one cycle or round,
 * so that they all overlap. Under Valgrind, which runs one thread at a
 * time, a thread may not have been scheduled by then (CI's memcheck step
 * once saw the module writer make no cycle in the 1.5 s). */
#define MT_RUN_NS 1500000000L
#define MT_WAIT_S 40
#define MT_MAX_LISTED 128

typedef struct mt_writer {
    unsigned char *mem, *meta;
    size_t meta_len;
    char name_carved[32], name_meta[32];
    ca_lock lock_carved, lock_meta;
    uintptr_t h_carved, h_meta;
    _Atomic unsigned long cycles; /* its thread writes, the main thread watches */
    char failure[256];
} mt_writer;

typedef struct mt_shared {
    atomic_bool stop;
    mt_writer writers[MT_WRITERS];
    tarena stable[2];
    ca_arena *baseline[MT_MAX_LISTED];
    size_t nbaseline;
    const char *dso_path; /* the module loaded and unloaded by one more writer */
    _Atomic unsigned long dso_cycles;
    char dso_failure[256];
} mt_shared;

typedef struct mt_reader {
    mt_shared *sh;
    _Atomic unsigned long rounds;
    char failure[256];
} mt_reader;

static ca_arena *mt_create(mt_writer *w, bool carved)
{
    ca_config c = {.chunk_size = 256, .lock = carved ? w->lock_carved : w->lock_meta};
    if (!carved) {
        c.meta = w->meta;
        c.meta_len = w->meta_len;
    }
    return ca_arena_create(carved ? w->name_carved : w->name_meta, w->mem, MT_LEN, &c);
}

/* One create / use / destroy cycle; false (and w->failure) on a failure. */
static bool mt_cycle(mt_writer *w, bool carved)
{
    const char *name = carved ? w->name_carved : w->name_meta;
    uintptr_t expected = carved ? w->h_carved : w->h_meta;
    ca_arena *a = mt_create(w, carved);
    if (!a) {
        snprintf(w->failure, sizeof w->failure, "create \"%s\": %s", name, strerror(errno));
        return false;
    }
    if ((uintptr_t)a != expected) {
        snprintf(w->failure, sizeof w->failure, "create \"%s\" at the same memory gave handle %p, "
                 "the warm-up %p", name, (void *)a, (void *)expected);
        return false;
    }
    void *p = ca_alloc(a, 1000);
    if (!p || ca_arena_find(name) != a || ca_arena_of(p) != a) {
        snprintf(w->failure, sizeof w->failure, "\"%s\": alloc %p, find or of wrong", name, p);
        return false;
    }
    ca_free(a, p);
    if (ca_arena_destroy(a) != 0) {
        snprintf(w->failure, sizeof w->failure, "destroy \"%s\": %s", name, strerror(errno));
        return false;
    }
    return true;
}

typedef struct mt_writer_arg {
    mt_shared *sh;
    mt_writer *w;
} mt_writer_arg;

static void *mt_writer_main(void *arg)
{
    mt_writer_arg *wa = arg;
    while (!atomic_load_explicit(&wa->sh->stop, memory_order_relaxed)) {
        if (!mt_cycle(wa->w, true) || !mt_cycle(wa->w, false))
            break;
        atomic_fetch_add_explicit(&wa->w->cycles, 1, memory_order_relaxed);
    }
    return NULL;
}

/* One more writer: load the module (its static arena registers), use it,
 * unload it (the arena unregisters, and its memory goes away). */
static void *mt_dso_main(void *arg)
{
    mt_shared *sh = arg;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        void *h = dlopen(sh->dso_path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "dlopen: %s", dlerror());
            break;
        }
        void *sym_arena = dlsym(h, "arenas_dso_arena"), *sym_alloc = dlsym(h, "arenas_dso_alloc");
        ca_arena *(*arena_fn)(void) = NULL;
        void *(*alloc_fn)(size_t) = NULL;
        if (sym_arena && sym_alloc) {
            memcpy(&arena_fn, &sym_arena, sizeof arena_fn);
            memcpy(&alloc_fn, &sym_alloc, sizeof alloc_fn);
        }
        ca_arena *a = arena_fn ? arena_fn() : NULL;
        void *p = alloc_fn ? alloc_fn(100) : NULL;
        if (!p || ca_arena_find("dso") != a || ca_arena_of(p) != a) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure,
                     "loaded module: arena %p, allocation %p, find %p", (void *)a, p,
                     (void *)ca_arena_find("dso"));
            break;
        }
        ca_free(a, p);
        if (dlclose(h) != 0) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "dlclose: %s", dlerror());
            break;
        }
        if (ca_arena_find("dso") != NULL) {
            snprintf(sh->dso_failure, sizeof sh->dso_failure, "\"dso\" registered after dlclose");
            break;
        }
        atomic_fetch_add_explicit(&sh->dso_cycles, 1, memory_order_relaxed);
    }
    return NULL;
}

static bool mt_known(const mt_shared *sh, const ca_arena *a)
{
    for (size_t i = 0; i < sh->nbaseline; i++)
        if (sh->baseline[i] == a)
            return true;
    for (size_t i = 0; i < MT_WRITERS; i++)
        if ((uintptr_t)a == sh->writers[i].h_carved || (uintptr_t)a == sh->writers[i].h_meta)
            return true;
    return false;
}

/* One round of lookups; false (and r->failure) on a wrong answer. */
static bool mt_round(mt_reader *r)
{
    mt_shared *sh = r->sh;
    for (size_t i = 0; i < MT_WRITERS; i++) {
        const mt_writer *w = &sh->writers[i];
        ca_arena *a = ca_arena_find(w->name_carved);
        if (a && (uintptr_t)a != w->h_carved) {
            snprintf(r->failure, sizeof r->failure, "find(\"%s\") gave %p, not its arena %p",
                     w->name_carved, (void *)a, (void *)w->h_carved);
            return false;
        }
        a = ca_arena_find(w->name_meta);
        if (a && (uintptr_t)a != w->h_meta) {
            snprintf(r->failure, sizeof r->failure, "find(\"%s\") gave %p, not its arena %p",
                     w->name_meta, (void *)a, (void *)w->h_meta);
            return false;
        }
        a = ca_arena_of(w->mem + MT_LEN / 2);
        if (a && (uintptr_t)a != w->h_carved && (uintptr_t)a != w->h_meta) {
            snprintf(r->failure, sizeof r->failure, "of(writer %zu's memory) gave %p", i,
                     (void *)a);
            return false;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        const tarena *t = &sh->stable[i];
        ca_arena *a = ca_arena_find(t->name);
        if (a != t->a || strcmp(ca_arena_name(a), t->name) != 0 ||
            ca_arena_of(t->mem + t->len - 1) != t->a) {
            snprintf(r->failure, sizeof r->failure, "stable \"%s\": find %p, expected %p",
                     t->name, (void *)a, (void *)t->a);
            return false;
        }
        void *p = ca_alloc(t->a, 100);
        if (!p || ca_arena_of(p) != t->a || ca_free_checked(t->a, p) != CA_FAULT_NONE) {
            snprintf(r->failure, sizeof r->failure, "stable \"%s\": allocation %p", t->name, p);
            return false;
        }
    }
    /* the module's arena (at most one) is the only arena not known here */
    ca_arena *out[MT_MAX_LISTED];
    size_t n = ca_arena_list(out, MT_MAX_LISTED), unknown = 0;
    if (n < sh->nbaseline || n > sh->nbaseline + MT_WRITERS + 1) {
        snprintf(r->failure, sizeof r->failure, "list counted %zu arenas, expected %zu..%zu", n,
                 sh->nbaseline, sh->nbaseline + (size_t)MT_WRITERS + 1);
        return false;
    }
    for (size_t i = 0; i < n && i < MT_MAX_LISTED; i++)
        unknown += !mt_known(sh, out[i]);
    if (unknown > 1) {
        snprintf(r->failure, sizeof r->failure, "list gave %zu unknown arenas", unknown);
        return false;
    }
    ca_arena *d = ca_arena_find("dso");
    if (d && mt_known(sh, d)) {
        snprintf(r->failure, sizeof r->failure, "find(\"dso\") gave another arena, %p", (void *)d);
        return false;
    }
    int local = 0;
    if (ca_arena_of(&local) != NULL) {
        snprintf(r->failure, sizeof r->failure, "of(a stack pointer) found an arena");
        return false;
    }
    return true;
}

static void *mt_reader_main(void *arg)
{
    mt_reader *r = arg;
    while (!atomic_load_explicit(&r->sh->stop, memory_order_relaxed)) {
        if (!mt_round(r))
            break;
        atomic_fetch_add_explicit(&r->rounds, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Whether every thread has done one cycle or round (see MT_RUN_NS). */
static bool mt_all_went_round(mt_shared *sh, mt_reader *readers)
{
    bool all = atomic_load_explicit(&sh->dso_cycles, memory_order_relaxed) > 0;
    for (size_t i = 0; i < MT_WRITERS; i++)
        all = all && atomic_load_explicit(&sh->writers[i].cycles, memory_order_relaxed) > 0;
    for (size_t i = 0; i < MT_READERS; i++)
        all = all && atomic_load_explicit(&readers[i].rounds, memory_order_relaxed) > 0;
    return all;
}

START_TEST(registry_concurrent_lookup_and_churn)
{
    static mt_shared sh; /* large; zeroed below */
    memset(&sh, 0, sizeof sh);
    atomic_init(&sh.stop, false);
    tarena_make(&sh.stable[0], "mt-stable-hint", 4096, 64, CA_LOCK_HINT);
    tarena_make(&sh.stable[1], "mt-stable-mutex", 4096, 64, CA_LOCK_MUTEX);
    for (size_t i = 0; i < MT_WRITERS; i++) {
        mt_writer *w = &sh.writers[i];
        snprintf(w->name_carved, sizeof w->name_carved, "mt-w%zu-carved", i);
        snprintf(w->name_meta, sizeof w->name_meta, "mt-w%zu-meta", i);
        w->lock_carved = layers[i % NLAYERS];
        w->lock_meta = CA_LOCK_HINT;
        w->mem = aligned_block(4096, MT_LEN);
        ca_config c = {.chunk_size = 256, .lock = w->lock_meta};
        w->meta_len = ca_arena_meta_size(MT_LEN / 256, &c);
        w->meta = aligned_block(64, w->meta_len);
        /* warm-up: learn the handle of each variant */
        ca_arena *a = mt_create(w, true);
        ck_assert_msg(a != NULL, "warm-up create: %s", strerror(errno));
        w->h_carved = (uintptr_t)a;
        ck_assert_int_eq(ca_arena_destroy(a), 0);
        a = mt_create(w, false);
        ck_assert_msg(a != NULL, "warm-up create: %s", strerror(errno));
        w->h_meta = (uintptr_t)a;
        ck_assert_int_eq(ca_arena_destroy(a), 0);
    }
    sh.nbaseline = ca_arena_list(sh.baseline, MT_MAX_LISTED);
    ck_assert_msg(sh.nbaseline < MT_MAX_LISTED, "%zu arenas registered", sh.nbaseline);
    sh.dso_path = dso_path();

    pthread_t wt[MT_WRITERS], rt[MT_READERS], dt;
    mt_writer_arg wargs[MT_WRITERS];
    mt_reader readers[MT_READERS];
    memset(readers, 0, sizeof readers);
    atomic_init(&sh.dso_cycles, 0ul);
    for (size_t i = 0; i < MT_WRITERS; i++)
        atomic_init(&sh.writers[i].cycles, 0ul);
    for (size_t i = 0; i < MT_READERS; i++)
        atomic_init(&readers[i].rounds, 0ul);
    for (size_t i = 0; i < MT_WRITERS; i++) {
        wargs[i] = (mt_writer_arg){&sh, &sh.writers[i]};
        ck_assert_int_eq(pthread_create(&wt[i], NULL, mt_writer_main, &wargs[i]), 0);
    }
    for (size_t i = 0; i < MT_READERS; i++) {
        readers[i].sh = &sh;
        ck_assert_int_eq(pthread_create(&rt[i], NULL, mt_reader_main, &readers[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&dt, NULL, mt_dso_main, &sh), 0);
    struct timespec run = {MT_RUN_NS / 1000000000L, MT_RUN_NS % 1000000000L};
    while (nanosleep(&run, &run) != 0 && errno == EINTR)
        ;
    for (unsigned waited = 0; waited < MT_WAIT_S * 100u && !mt_all_went_round(&sh, readers);
         waited++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL); /* 10 ms */
    atomic_store_explicit(&sh.stop, true, memory_order_relaxed);
    for (size_t i = 0; i < MT_WRITERS; i++)
        ck_assert_int_eq(pthread_join(wt[i], NULL), 0);
    for (size_t i = 0; i < MT_READERS; i++)
        ck_assert_int_eq(pthread_join(rt[i], NULL), 0);
    ck_assert_int_eq(pthread_join(dt, NULL), 0);
    ck_assert_msg(sh.dso_failure[0] == '\0', "module writer: %s", sh.dso_failure);
    ck_assert_msg(sh.dso_cycles > 0, "the module writer made no cycle");

    for (size_t i = 0; i < MT_WRITERS; i++) {
        ck_assert_msg(sh.writers[i].failure[0] == '\0', "writer %zu: %s", i, sh.writers[i].failure);
        ck_assert_msg(sh.writers[i].cycles > 0, "writer %zu made no cycle", i);
    }
    for (size_t i = 0; i < MT_READERS; i++) {
        ck_assert_msg(readers[i].failure[0] == '\0', "reader %zu: %s", i, readers[i].failure);
        ck_assert_msg(readers[i].rounds > 0, "reader %zu made no round", i);
    }
    ck_assert_uint_eq(registered(), sh.nbaseline);
    unsigned long cycles = 0, rounds = 0;
    for (size_t i = 0; i < MT_WRITERS; i++)
        cycles += sh.writers[i].cycles;
    for (size_t i = 0; i < MT_READERS; i++)
        rounds += readers[i].rounds;
    printf("registry_mt: %d writers made %lu create/destroy cycles, the module writer %lu "
           "load/unload cycles, %d readers %lu lookup rounds\n",
           MT_WRITERS, cycles, atomic_load(&sh.dso_cycles), MT_READERS, rounds);
    for (size_t i = 0; i < 2; i++) {
        ca_stats s = stats_of(sh.stable[i].a);
        ck_assert_msg(s.allocations == 0 && s.chunks_used == 0, "stable %zu: %zu allocations left",
                      i, s.allocations);
        expect_healthy(sh.stable[i].a, "stable arena after the threads");
        tarena_drop(&sh.stable[i]);
    }
    for (size_t i = 0; i < MT_WRITERS; i++) {
        free(sh.writers[i].mem);
        free(sh.writers[i].meta);
    }
}
END_TEST


void api_add_registry_mt(Suite *s)
{
    TCase *tc;
    tc = api_tcase(s, "registry_mt");
    tcase_add_test(tc, registry_concurrent_lookup_and_churn);
}
