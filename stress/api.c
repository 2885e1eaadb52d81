/* SPDX-License-Identifier: MIT */
/*
 * stress/api.c — the stress harness (stress/stress.h), phase api: its arenas
 * (one per sync layer over memory the harness owns, bookkeeping carved or
 * separate, and the static one), created, checked, listed and retired.
 */
#include "stress/stress.h"

CA_ARENA_DEFINE(stress_static, STATIC_NAME, STATIC_CHUNKS, STATIC_CHUNK_SIZE, CA_LOCK_DEFAULT);
/* ---- phase api: the arenas ---- */

/* Make the runtime arena of layer `kind` with chunks of 2^shift bytes into
 * region g: with its bookkeeping in a separate buffer (all of mem is
 * chunks) or carved from the front of mem (the chunks start at the chunk
 * boundary after it). False (reported) if it cannot be made. */
static bool create_arena(run *r, region *g, api_memory *mm, ca_lock kind, unsigned shift,
                         ca_splitmix64 *rng)
{
    size_t cs = (size_t)1 << shift, nchunks = API_CHUNKS;
    bool separate = ca_splitmix64_below(rng, 2) == 0;
    ca_config config = {.chunk_size = cs, .lock = kind,
                        .fit_window = draw_window(rng)};
    size_t meta_len = ca_arena_meta_size(nchunks, &config);
    size_t front = separate ? 0 : round_up(meta_len, cs), len = front + (nchunks << shift);
    if (meta_len == 0) {
        main_violation(r, "ca_arena_meta_size(%zu chunks of %zu bytes, %s) failed: %s", nchunks,
                       cs, ca_lock_name(kind), strerror(errno));
        return false;
    }
    if (separate) {
        mm->meta = aligned_alloc(64, round_up(meta_len, 64));
        if (!mm->meta)
            out_of_memory();
        config.meta = mm->meta;
        config.meta_len = meta_len;
    }
    unsigned char *mem = place(rng, len, cs, &mm->block);
    snprintf(mm->name, sizeof mm->name, "ca-stress-%s", ca_lock_name(kind));
    ca_arena *a = ca_arena_create(mm->name, mem, len, &config);
    if (!a) {
        main_violation(r, "ca_arena_create(\"%s\", %zu bytes, chunks of %zu, %s, bookkeeping %s) "
                          "failed: %s", mm->name, len, cs, ca_lock_name(kind),
                       separate ? "apart" : "in front", strerror(errno));
        free(mm->block);
        free(mm->meta);
        memset(mm, 0, sizeof *mm);
        return false;
    }
    errno = 0;
    if (ca_arena_create(mm->name, mem, len, &config) != NULL || errno != EEXIST)
        main_violation(r, "a second ca_arena_create(\"%s\") did not fail with EEXIST (errno %d)",
                       mm->name, errno);
    g->name = mm->name;
    g->kind = kind;
    g->api = a;
    set_region(r, g, mem + front, nchunks, shift);
    return true;
}

/* Check what ca_arena_stats says of a fresh arena against the region, and
 * that the empty arena hands out all of itself, from the region's base, in
 * one allocation. */
static void check_fresh(run *r, worker *m, region *g, ca_lock lock)
{
    ca_stats st;
    if (ca_arena_stats(g->api, &st) != 0) {
        main_violation(r, "ca_arena_stats of %s failed: %s", g->name, strerror(errno));
        return;
    }
    if (strcmp(st.name, g->name) != 0 || strcmp(ca_arena_name(g->api), g->name) != 0 ||
        st.lock != lock || st.chunk_size != g->cs || st.chunks_total != g->nchunks ||
        st.allocations != 0 || st.chunks_used != 0)
        main_violation(r, "the fresh arena %s says: name \"%s\", layer %s, %zu chunks of %zu "
                          "bytes, %zu used in %zu allocations; expected layer %s, %zu chunks of "
                          "%zu bytes, empty", g->name, st.name, ca_lock_name(st.lock),
                       st.chunks_total, st.chunk_size, st.chunks_used, st.allocations,
                       ca_lock_name(lock), g->nchunks, g->cs);
    slot all = {0};
    if (alloc_into(m, &all, g, g->nchunks << g->shift, 0)) {
        if (all.p != g->base)
            main_violation(r, "the empty arena %s handed out all of itself at %p, not at %p",
                           g->name, (void *)all.p, (void *)g->base);
        fill(all.p, all.tag, 0, all.usable);
        op_free(m, &all, FREE_CHECKED);
    }
}

/* The arenas of phase api into r->regions: one runtime arena per layer
 * ("none" only for one thread), chunk sizes shuffled, and the static arena
 * (unless its layer is "none" and several threads run). */
static void make_arenas(run *r, worker *m, api_memory *mm, const options *o)
{
    ca_splitmix64 rng = ca_splitmix64_seed(derive(o->seed, LAYER_API, PHASE_API, RUN_TID));
    unsigned shifts[NLAYERS] = {4, 6, 8, 10, 12}; /* 16 .. 4096 bytes, [k - CA_LOCK_NONE] */
    for (unsigned i = NLAYERS - 1; i > 0; i--) {
        unsigned j = (unsigned)ca_splitmix64_below(&rng, i + 1), t = shifts[i];
        shifts[i] = shifts[j];
        shifts[j] = t;
    }
    for (ca_lock k = CA_LOCK_NONE; k <= CA_LOCK_HINT; k++) {
        if (k == CA_LOCK_NONE && r->nthreads > 1)
            continue;
        region *g = &r->regions[r->nregions];
        if (create_arena(r, g, &mm[r->nregions], k, shifts[k - CA_LOCK_NONE], &rng))
            check_fresh(r, m, &r->regions[r->nregions++], k);
    }

    ca_arena *s = CA_ARENA(stress_static);
    ca_stats st;
    if (ca_arena_find(STATIC_NAME) != s || ca_arena_stats(s, &st) != 0) {
        main_violation(r, "the static arena " STATIC_NAME " is not registered or not usable");
        return;
    }
    if (st.lock == CA_LOCK_NONE && r->nthreads > 1) {
        printf("layer=api: the static arena " STATIC_NAME " has layer none (configure "
               "--with-lock): left out with %u threads\n", r->nthreads);
        return;
    }
    region *g = &r->regions[r->nregions];
    g->name = STATIC_NAME;
    g->kind = st.lock;
    g->api = s;
    /* Its base is where the empty arena puts an allocation of all of it. */
    unsigned char *base = ca_alloc(s, st.chunks_total * st.chunk_size);
    if (!base || ca_free_checked(s, base) != CA_FAULT_NONE) {
        main_violation(r, "the empty static arena refused to hand out all of itself");
        return;
    }
    set_region(r, g, base, st.chunks_total, (unsigned)__builtin_ctzll(st.chunk_size));
    check_fresh(r, m, &r->regions[r->nregions++], st.lock);
}

/* Every arena in the registry's list. */
static void check_listed(run *r)
{
    ca_arena *list[64];
    size_t n = ca_arena_list(list, 64);
    if (n > 64)
        n = 64;
    for (unsigned k = 0; k < r->nregions; k++) {
        size_t i = 0;
        while (i < n && list[i] != r->regions[k].api)
            i++;
        if (i == n)
            main_violation(r, "ca_arena_list does not list %s", r->regions[k].name);
    }
}

/* After the last round: nothing left in transit, every block handed over
 * received; every runtime arena destroyed (0), then unknown by name and by
 * address (ENOENT); the static one refuses (EPERM) and stays. */
static void retire_arenas(run *r, worker *ws)
{
    tally sum;
    sum_tallies(r, ws, -1, &sum);
    if (sum.sent != sum.received)
        main_violation(r, "%" PRIu64 " blocks were handed over, %" PRIu64 " received", sum.sent,
                       sum.received);
    for (size_t i = 0; i < (size_t)r->nthreads * INBOX_SLOTS; i++)
        if (atomic_load_explicit(&r->inbox[i].state, memory_order_acquire) != BOX_CLOSED)
            main_violation(r, "entry %zu of thread %zu's inbox was not closed", i % INBOX_SLOTS,
                           i / INBOX_SLOTS);
    for (unsigned k = 0; k < r->nregions; k++) {
        region *g = &r->regions[k];
        errno = 0;
        int rc = ca_arena_destroy(g->api);
        if (g->api == CA_ARENA(stress_static)) {
            if (rc != -1 || errno != EPERM || ca_arena_find(g->name) != g->api)
                main_violation(r, "ca_arena_destroy of the static arena gave %d (errno %d), or "
                                  "it was unregistered", rc, errno);
            continue;
        }
        if (rc != 0) {
            main_violation(r, "ca_arena_destroy of the empty arena %s failed: %s", g->name,
                           strerror(errno));
            continue;
        }
        errno = 0;
        ca_arena *a = ca_arena_find(g->name);
        if (a || errno != ENOENT)
            main_violation(r, "after ca_arena_destroy, ca_arena_find(\"%s\") gave %p (errno %d)",
                           g->name, (void *)a, errno);
        errno = 0;
        a = ca_arena_of(g->base);
        if (a || errno != ENOENT)
            main_violation(r, "after ca_arena_destroy of %s, ca_arena_of its memory gave %p "
                              "(errno %d)", g->name, (void *)a, errno);
    }
}

/* Phase api. Returns true if it passed. */
bool run_api(const options *o)
{
    run *r = new_run(o, "api", PHASE_API, o->threads);
    worker *ws = make_workers(r, o, LAYER_API);
    worker *m = &ws[r->nthreads];
    api_memory mm[MAX_REGIONS];
    memset(mm, 0, sizeof mm);
    r->inbox = calloc((size_t)r->nthreads * INBOX_SLOTS, sizeof *r->inbox);
    r->inbox_open = INBOX_SLOTS;
    if (!r->inbox)
        out_of_memory();
    atomic_store_explicit(&false_faults, 0, memory_order_relaxed);
    this_worker = m;
    ca_fault_handler previous = ca_set_fault_handler(count_fault);

    make_arenas(r, m, mm, o);
    check_listed(r);
    double t0 = now_seconds();
    bool started = run_rounds(r, ws, o);
    double elapsed = now_seconds() - t0;
    retire_arenas(r, ws);
    if (ca_set_fault_handler(previous) != count_fault)
        main_violation(r, "ca_set_fault_handler did not give back the handler installed");
    this_worker = NULL;

    tally sum;
    sum_tallies(r, ws, -1, &sum);
    uint64_t faults = atomic_load_explicit(&false_faults, memory_order_relaxed);
    uint64_t ops = 0, scratch = 0;
    for (unsigned i = 0; i < r->nthreads; i++) {
        ops += ws[i].op;
        scratch += ws[i].scratch_arenas;
    }
    uint64_t bad = atomic_load_explicit(&r->violations, memory_order_relaxed);
    printf("layer=api phase=api threads=%u arenas=%u ops=%" PRIu64 " allocs=%" PRIu64
           " frees=%" PRIu64 " reallocs=%" PRIu64 " moves=%" PRIu64 " free_any=%" PRIu64
           " handoffs=%" PRIu64 " resizes=%" PRIu64 " failures=%" PRIu64 " scratch_arenas=%" PRIu64
           " bad_pointers=%" PRIu64 " quiet_checks=%" PRIu64 " faults=%" PRIu64
           " violations=%" PRIu64 " seconds=%.2f\n", r->nthreads, r->nregions, ops, sum.allocs,
           sum.frees, sum.reallocs, sum.moves, sum.free_any, sum.sent, sum.resizes, sum.failures,
           scratch, r->bad_pointers, r->checks, faults, bad, elapsed);
    bool passed = started && bad == 0 && faults == 0 && sum.false_invalid_free == 0 &&
                  r->nregions > 0;

    for (unsigned k = 0; k < r->nregions; k++)
        free(r->regions[k].owner);
    for (unsigned k = 0; k < MAX_REGIONS; k++) {
        free(mm[k].block);
        free(mm[k].meta);
    }
    free(r->inbox);
    free_workers(r, ws);
    free(r);
    return passed;
}
