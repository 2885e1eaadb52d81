/* SPDX-License-Identifier: MIT */
/*
 * stress/run.c — the stress harness (stress/stress.h), the rounds: the thread
 * bodies, the main thread's checks while the threads hold still (figures,
 * counters, provoked faults), and running a phase in rounds of fresh threads.
 */
#include "stress/stress.h"

/* ---- the thread bodies ---- */

/* Free whatever the thread still holds. */
static void release_all(worker *w)
{
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i].p)
            op_free(w, &w->slots[i], draw_how(w));
}

/* Between two ops: if the main thread asks, hold still until it has
 * checked the arenas. The release increment of `paused` makes everything
 * this thread did happen-before the main thread's check (which loads
 * `paused` with acquire); the acquire load that sees `pausing` cleared
 * makes the check happen-before our next op. We leave `paused` only after
 * that, and the main thread waits for it to drop to 0 before it asks again,
 * so no thread is counted as still while it works. */
static void hold_still(worker *w)
{
    run *r = w->r;
    if (!atomic_load_explicit(&r->pausing, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&r->paused, 1u, memory_order_release);
    while (atomic_load_explicit(&r->pausing, memory_order_acquire))
        nap(20 * 1000);
    atomic_fetch_sub_explicit(&r->paused, 1u, memory_order_relaxed);
}

static bool keep_going(worker *w)
{
    hold_still(w);
    return w->op < w->r->op_limit && !atomic_load_explicit(&w->r->stop, memory_order_relaxed);
}

/* The end of a thread's round: in the last one, give everything back. */
static void *finish(worker *w)
{
    if (w->r->last_round) {
        release_all(w);
        if (w->r->inbox)
            close_inbox(w);
    }
    /* release: pairs with the main thread's acquire load, as `paused` does */
    atomic_fetch_add_explicit(&w->r->finished, 1u, memory_order_release);
    return NULL;
}

/* A size for g: mostly small, sometimes dozens of chunks, rarely a large
 * share of the arena (which fills it, so failures and their paths get
 * exercised). */
size_t draw_size(worker *w, const region *g)
{
    size_t cs = g->cs;
    uint64_t roll = below(w, 1000);
    if (roll < 100)
        return below(w, 17); /* 0 .. 16 bytes */
    if (roll < 600)
        return 1 + below(w, 2 * cs);
    if (roll < 850)
        return 1 + below(w, 8 * cs);
    if (roll < 995)
        return 1 + below(w, 48 * cs);
    return 1 + below(w, g->huge);
}

/* An alignment: none, small ones, any power of two up to the chunk size,
 * and some above it. */
static size_t draw_align(worker *w, const region *g)
{
    uint64_t roll = below(w, 100);
    if (roll < 30)
        return 0;
    if (roll < 45)
        return 16;
    if (roll < 60)
        return 64;
    if (roll < 70)
        return (size_t)1 << below(w, g->shift + 1);
    if (roll < 80)
        return 256;
    if (roll < 90)
        return 1024;
    return 4096;
}

static void *pattern_thread(void *arg)
{
    worker *w = arg;
    region *g = &w->r->regions[0];
    bool handing = w->r->inbox != NULL;
    for (; keep_going(w); w->op++) {
        if (handing && w->op % RECEIVE_EVERY == 0)
            receive(w);
        slot *s = &w->slots[below(w, w->nslots)];
        if (!s->p) {
            op_alloc(w, s, g, draw_size(w, g), draw_align(w, g));
        } else {
            uint64_t roll = below(w, 100);
            if (roll < 30)
                op_free(w, s, draw_how(w));
            else if (roll < 50)
                (void)op_resize(w, s, s->size + 1 + below(w, roll < 48 ? 4 * g->cs : 32 * g->cs));
            else if (roll < 65)
                (void)op_resize(w, s, below(w, s->size + 1));
            else if (roll < 85)
                op_realloc(w, s, draw_size(w, g));
            else if (!(roll < 90 && handing && send_parcel(w, s)))
                op_probe(w, s); /* else handed to another thread, which frees it */
        }
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, g);
    }
    return finish(w);
}

/* Allocations of one chunk (two after a growth) in an arena that is always
 * full, so every free has neighbours that other threads are changing. */
static void *hammer_thread(void *arg)
{
    worker *w = arg;
    region *g = &w->r->regions[0];
    for (; keep_going(w); w->op++) {
        if (w->op % RECEIVE_EVERY == 0)
            receive(w); /* the hammer has two threads or more: an inbox each */
        slot *s = &w->slots[below(w, w->nslots)];
        uint64_t roll = below(w, 20);
        if (!s->p)
            op_alloc(w, s, g, g->cs, 0);
        else if (roll < 14)
            op_free(w, s, draw_how(w));
        else if (roll < 18)
            (void)op_resize(w, s, s->usable == g->cs ? 2 * g->cs : g->cs);
        else if (!(roll == 18 && send_parcel(w, s)))
            op_probe(w, s); /* else handed to another thread, which frees it */
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, g);
    }
    return finish(w);
}

/* The public API only, over every arena of the run. */
static void *api_thread(void *arg)
{
    worker *w = arg;
    this_worker = w; /* for the fault handler */
    for (; keep_going(w); w->op++) {
        if (w->op % RECEIVE_EVERY == 0)
            receive(w);
        if (below(w, SCRATCH_EVERY) == 0)
            op_scratch(w);
        slot *s = &w->slots[below(w, w->nslots)];
        uint64_t roll = below(w, 1000);
        if (!s->p) {
            region *g = pick_region(w);
            if (roll < 150) {
                size_t n = 1 + below(w, 8);
                op_calloc(w, s, g, n, draw_size(w, g) / n);
            } else {
                op_alloc(w, s, g, draw_size(w, g), draw_align(w, g)); /* ca_(aligned_)alloc */
            }
        } else if (roll < 200) {
            op_free(w, s, draw_how(w));
        } else if (roll < 300) {
            (void)op_resize(w, s, s->size + 1 + below(w, 4 * s->g->cs));
        } else if (roll < 380) {
            (void)op_resize(w, s, below(w, s->size + 1));
        } else if (roll < 580) {
            op_api_realloc(w, s, draw_size(w, s->g), 0);
        } else if (roll < 660) {
            op_api_realloc(w, s, draw_size(w, s->g), draw_align(w, s->g)); /* 0: ca_realloc */
        } else if (roll < 740 && send_parcel(w, s)) {
            /* handed over */
        } else if (roll < 770) {
            op_lookup(w, s);
        } else {
            op_probe(w, s);
        }
        if ((w->op + 1) % CHECK_EVERY == 0)
            check_stats(w, pick_region(w));
    }
    return finish(w);
}

/* ---- the main thread's checks ---- */

/* The tallies of every worker (the main thread's too) in region `index`,
 * or in all regions if index < 0. */
void sum_tallies(const run *r, const worker *ws, int index, tally *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i <= r->nthreads; i++)
        for (unsigned k = 0; k < r->nregions; k++) {
            if (index >= 0 && k != (unsigned)index)
                continue;
            const tally *c = &ws[i].t[k];
            sum->allocs += c->allocs;
            sum->frees += c->frees;
            sum->resizes += c->resizes;
            sum->grows += c->grows;
            sum->shrinks += c->shrinks;
            sum->reallocs += c->reallocs;
            sum->moves += c->moves;
            sum->failures += c->failures;
            sum->requested += c->requested;
            sum->false_invalid_free += c->false_invalid_free;
            sum->neighbour_frees += c->neighbour_frees;
            sum->free_any += c->free_any;
            sum->sent += c->sent;
            sum->received += c->received;
            sum->live_chunks += c->live_chunks;
            sum->live_allocs += c->live_allocs;
        }
}

/* Blocks of g waiting in an inbox, counted into *sum's live figures (the
 * threads hold still, or are gone). */
static void count_in_transit(const run *r, const region *g, tally *sum)
{
    if (!r->inbox)
        return;
    for (size_t i = 0; i < (size_t)r->nthreads * INBOX_SLOTS; i++) {
        const parcel *e = &r->inbox[i];
        if (atomic_load_explicit(&e->state, memory_order_acquire) == BOX_FULL && e->s.g == g) {
            sum->live_chunks += e->s.usable >> g->shift;
            sum->live_allocs++;
        }
    }
}

static void same_stats(worker *m, const region *g, const ca_stats *before, const ca_stats *after)
{
#define COMPARE(f)                                                                               \
    if (before->f != after->f)                                                                   \
        violation(m, "bad pointers and arguments changed %s of %s from %zu to %zu", #f, g->name,  \
                  before->f, after->f);
    STATS_FIELDS(COMPARE)
#undef COMPARE
}

/* ca_free_checked(p) must return `fault` and change nothing. */
void refused(worker *m, region *g, void *p, ca_fault fault, const char *what)
{
    ca_fault f = ca_free_checked(g->api, p);
    m->r->bad_pointers++;
    if (f != fault)
        violation(m, "ca_free_checked of %s %p in %s returned \"%s\", expected \"%s\"", what, p,
                  g->name, ca_fault_name(f), ca_fault_name(fault));
}

/* The last call must have told the handler, exactly once, that `function`
 * found `fault` on p in the arena named `arena`. */
void told(worker *m, const char *function, const char *arena, const void *p,
          ca_fault fault)
{
    const ca_fault_report *rep = &faults_here.last;
    m->r->bad_pointers++;
    if (faults_here.calls != 1)
        violation(m, "%s(%p) in %s called the fault handler %u times, expected once (%s)",
                  function, p, arena, faults_here.calls, ca_fault_name(fault));
    else if (strcmp(rep->function, function) != 0 || strcmp(rep->arena, arena) != 0 ||
             rep->pointer != p || rep->fault != fault)
        violation(m, "%s(%p) in %s: the handler was told %s(%p) in \"%s\": %s; expected %s",
                  function, p, arena, rep->function, rep->pointer, rep->arena,
                  ca_fault_name(rep->fault), ca_fault_name(fault));
    faults_here.calls = 0;
}

/* A call with a bad argument returned `failed` (it must have) with errno
 * `got` (which must be `want`). */
static void rejected(worker *m, const region *g, const char *call, bool failed, int got, int want)
{
    m->r->bad_pointers++;
    if (!failed || got != want)
        violation(m, "%s in %s %s with errno %d (%s), expected a failure with %s", call, g->name,
                  failed ? "failed" : "succeeded", got, strerror(got), strerror(want));
}

/*
 * In a quiet moment (no other thread works on g): feed arena g bad pointers
 * and arguments. A live block v (one to three chunks) gives interior
 * pointers; a block d allocated and freed gives a double free; a local
 * variable and another arena's memory give foreign pointers.
 * ca_free_checked must name each fault without calling the handler; ca_free,
 * ca_free_any, ca_realloc, ca_resize and ca_usable_size must tell the
 * handler (once, with the function, the arena, the pointer, the fault) and
 * return; bad alignments and an overflowing calloc are refused with their
 * errno; destroy is refused while v lives (static: EPERM). Not one figure of
 * ca_arena_stats may change, the arena must check clean, and v's pattern
 * must be intact. Its allocations are the main worker's, tallied like any.
 */
static void provoke_faults(worker *m, region *g)
{
    run *r = m->r;
    ca_arena *a = g->api;
    region *other = &r->regions[(g->index + 1) % r->nregions];
    int local = 0;
    slot v = {0}, d = {0};
    op_alloc(m, &v, g, (1 + (size_t)below(m, 3)) * g->cs, 0);
    op_alloc(m, &d, g, 0, 0);
    unsigned char *freed = d.p;
    if (d.p)
        op_free(m, &d, draw_how(m));

    ca_stats before, after;
    region_stats(g, &before);
    faults_here.expecting = true;
    faults_here.calls = 0;
    if (v.p) {
        refused(m, g, v.p + 1, CA_FAULT_INTERIOR, "the interior pointer");
        refused(m, g, v.p + v.usable - 1, CA_FAULT_INTERIOR, "the interior pointer");
        if (v.usable > g->cs)
            refused(m, g, v.p + g->cs, CA_FAULT_INTERIOR, "the interior pointer");
    }
    if (freed)
        refused(m, g, freed, CA_FAULT_NOT_ALLOCATED, "the freed pointer");
    refused(m, g, &local, CA_FAULT_FOREIGN, "the foreign pointer");
    if (other != g)
        refused(m, g, other->base, CA_FAULT_FOREIGN, "another arena's pointer");
    if (faults_here.calls)
        violation(m, "ca_free_checked called the fault handler (%u times)", faults_here.calls);
    faults_here.calls = 0;

    if (v.p) {
        ca_free(a, v.p + 1);
        told(m, "ca_free", g->name, v.p + 1, CA_FAULT_INTERIOR);
        errno = 0;
        void *q = ca_realloc(a, v.p + 1, 1);
        int e = errno;
        told(m, "ca_realloc", g->name, v.p + 1, CA_FAULT_INTERIOR);
        rejected(m, g, "ca_realloc of an interior pointer", q == NULL, e, EINVAL);
        size_t u = ca_usable_size(a, v.p + g->cs / 2);
        told(m, "ca_usable_size", g->name, v.p + g->cs / 2, CA_FAULT_INTERIOR);
        if (u != 0)
            violation(m, "ca_usable_size of an interior pointer in %s gave %zu", g->name, u);
    }
    if (freed) {
        ca_free_any(freed);
        told(m, "ca_free_any", g->name, freed, CA_FAULT_NOT_ALLOCATED);
        errno = 0;
        int rc = ca_resize(a, freed, 1);
        int e = errno;
        told(m, "ca_resize", g->name, freed, CA_FAULT_NOT_ALLOCATED);
        rejected(m, g, "ca_resize of a freed pointer", rc == -1, e, EINVAL);
    }
    ca_free_any(&local);
    told(m, "ca_free_any", "(none)", &local, CA_FAULT_FOREIGN);
    faults_here.expecting = false;

    errno = 0;
    void *q = ca_aligned_alloc(a, 0, 16);
    rejected(m, g, "ca_aligned_alloc aligned to 0", q == NULL, errno, EINVAL);
    errno = 0;
    q = ca_aligned_alloc(a, 48, 16);
    rejected(m, g, "ca_aligned_alloc aligned to 48", q == NULL, errno, EINVAL);
    errno = 0;
    q = ca_calloc(a, SIZE_MAX / 2 + 1, 2);
    rejected(m, g, "ca_calloc of SIZE_MAX / 2 + 1 times 2 bytes", q == NULL, errno, ENOMEM);
    if (v.p) {
        errno = 0;
        q = ca_aligned_realloc(a, v.p, 24, 16);
        rejected(m, g, "ca_aligned_realloc aligned to 24", q == NULL, errno, EINVAL);
        errno = 0;
        int rc = ca_arena_destroy(a);
        rejected(m, g, "ca_arena_destroy with live allocations", rc == -1, errno,
                 g->api == CA_ARENA(stress_static) ? EPERM : EBUSY);
    }

    region_stats(g, &after);
    same_stats(m, g, &before, &after);
    const char *why = region_check(g);
    if (why)
        violation(m, "check of %s after bad pointers: %s", g->name, why);
    if (v.p)
        op_free(m, &v, draw_how(m)); /* verifies the pattern */
}

/* Arena g with no operation in flight (the threads hold still, or are
 * gone): its figures exactly what the threads hold (and their inboxes),
 * every invariant intact, its counters (since the phase began) equal to
 * the threads' tallies. After the last round it must be empty, and hand
 * out all of itself in one allocation. */
static void check_region(run *r, worker *ws, region *g, const char *when, unsigned round,
                         bool last)
{
    worker *m = &ws[r->nthreads];
    tally sum;
    sum_tallies(r, ws, (int)g->index, &sum);
    count_in_transit(r, g, &sum);

    ca_stats st;
    region_stats(g, &st);
    if (st.chunks_used != sum.live_chunks || st.allocations != sum.live_allocs)
        main_violation(r, "%s round %u: %s: %zu chunks used in %zu allocations; the threads "
                          "hold %zu chunks in %zu allocations", when, round, g->name,
                       st.chunks_used, st.allocations, sum.live_chunks, sum.live_allocs);
    if (last && (st.free_runs != 1 || st.largest_free_run != g->nchunks))
        main_violation(r, "the empty arena %s has %zu free runs, the longest %zu of %zu chunks",
                       g->name, st.free_runs, st.largest_free_run, g->nchunks);
    const char *why = region_check(g);
    if (why)
        main_violation(r, "%s round %u: check of %s: %s", when, round, g->name, why);
    size_t failures = st.failures - g->start.failures;
    size_t grows = st.grows_in_place - g->start.grows_in_place;
    size_t shrinks = st.shrinks_in_place - g->start.shrinks_in_place;
    size_t requested = st.bytes_requested - g->start.bytes_requested;
    size_t moves = st.moves - g->start.moves;
    if (failures != sum.failures || grows != sum.grows || shrinks != sum.shrinks ||
        requested != sum.requested || (g->api && moves != sum.moves))
        main_violation(r, "%s round %u: %s: the arena's counters disagree with the threads': "
                          "failures %zu/%" PRIu64 ", grows %zu/%" PRIu64 ", shrinks %zu/%" PRIu64
                          ", bytes requested %zu/%" PRIu64 ", moves %zu/%" PRIu64, when, round,
                       g->name, failures, sum.failures, grows, sum.grows, shrinks, sum.shrinks,
                       requested, sum.requested, g->api ? moves : 0, g->api ? sum.moves : 0);
    if (g->kind != CA_LOCK_HINT && st.chunks_peak > st.chunks_total)
        main_violation(r, "%s: peak of %zu chunks in an arena of %zu", g->name, st.chunks_peak,
                       st.chunks_total);
    if (!last)
        return;

    ca_core_status s = CA_CORE_RETRY;
    unsigned char *all = region_alloc(m, g, g->nchunks << g->shift, 0, &s);
    if (all != g->base || s != CA_CORE_OK)
        main_violation(r, "the empty arena %s refused one allocation of all its %zu chunks: got "
                          "%p (%s), expected %p", g->name, g->nchunks, (void *)all,
                       status_name(s), (void *)g->base);
    if (all) {
        s = region_free(m, g, all, FREE_CHECKED);
        if (s != CA_CORE_OK)
            main_violation(r, "free of the allocation of the whole arena %s returned %s",
                           g->name, status_name(s));
    }
    why = region_check(g);
    if (why)
        main_violation(r, "check of %s after the whole-arena allocation: %s", g->name, why);
}

/* Every arena of the run, quiet. In phase api the main thread first feeds
 * each one bad pointers (which must leave it as it was). */
static void check_quiet(run *r, worker *ws, const char *when, unsigned round, bool last)
{
    r->checks++;
    for (unsigned k = 0; k < r->nregions; k++) {
        if (r->ph == PHASE_API)
            provoke_faults(&ws[r->nthreads], &r->regions[k]);
        else if (strcmp(when, "after") == 0 && r->regions[k].kind != CA_LOCK_NONE)
            duel_frees(&ws[r->nthreads], &r->regions[k]); /* "none": one thread at a time */
        check_region(r, ws, &r->regions[k], when, round, last);
    }
}

/* ---- running a phase ---- */

/* One round: start a thread for each worker, stop them when the round's
 * time is up (or let them reach its op limit), join them. */
static bool run_round(run *r, worker *ws, const options *o, unsigned round)
{
    static void *(*const bodies[])(void *) = {pattern_thread, hammer_thread, api_thread};
    unsigned started = 0;
    bool ok = true;
    r->last_round = round + 1 == ROUNDS;
    r->op_limit = r->max_ops == NO_LIMIT || r->last_round ? r->max_ops
                                                          : r->max_ops / ROUNDS * (round + 1);
    atomic_store_explicit(&r->stop, false, memory_order_relaxed);
    atomic_store_explicit(&r->finished, 0u, memory_order_relaxed);
    for (; started < r->nthreads; started++) {
        int err = pthread_create(&ws[started].thread, NULL, bodies[r->ph], &ws[started]);
        if (err) {
            fprintf(stderr, "ca-stress: cannot start thread %u: %s\n", started, strerror(err));
            ok = false;
            break;
        }
    }
    double deadline = o->seconds > 0 && ok ? now_seconds() + o->seconds / ROUNDS : INFINITY;
    if (!ok)
        atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    /* Every PAUSE_EVERY_MS, have the threads hold still and check the
     * arenas as they are then, full of live allocations (see hold_still). */
    while (atomic_load_explicit(&r->finished, memory_order_relaxed) < started &&
           now_seconds() < deadline) {
        nap(PAUSE_EVERY_MS * 1000 * 1000);
        if (!ok)
            continue;
        atomic_store_explicit(&r->pausing, true, memory_order_relaxed);
        while (atomic_load_explicit(&r->paused, memory_order_acquire) +
                   atomic_load_explicit(&r->finished, memory_order_acquire) < started)
            nap(20 * 1000);
        /* Only while every thread holds still: one that has finished its
         * round may still be in its exit hook, giving its cached blocks
         * back, until it is joined (the "after" check covers that). */
        if (atomic_load_explicit(&r->finished, memory_order_acquire) == 0)
            check_quiet(r, ws, "during", round, false);
        atomic_store_explicit(&r->pausing, false, memory_order_release);
        while (atomic_load_explicit(&r->paused, memory_order_relaxed) != 0)
            nap(20 * 1000);
    }
    atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    return ok;
}

/* The workers of a run: one per thread, and the main thread's (the last). */
worker *make_workers(run *r, const options *o, unsigned layer)
{
    worker *ws = calloc(r->nthreads + 1u, sizeof *ws);
    if (!ws)
        out_of_memory();
    for (unsigned i = 0; i <= r->nthreads; i++) {
        worker *w = &ws[i];
        w->r = r;
        w->id = i;
        w->rng = ca_splitmix64_seed(derive(o->seed, layer, r->ph, i));
        w->nslots = r->ph == PHASE_HAMMER ? HAMMER_SLOTS : 64 + (size_t)below(w, 193);
        w->slots = calloc(w->nslots, sizeof *w->slots);
        if (!w->slots)
            out_of_memory();
    }
    return ws;
}

void free_workers(run *r, worker *ws)
{
    for (unsigned i = 0; i <= r->nthreads; i++) {
        free(ws[i].slots);
        free(ws[i].scratch);
    }
    free(ws);
}

/* Drive the arenas of r with its threads, in rounds. At the end of each,
 * the threads exit (a "hint" arena gets their slots back, and the next
 * round's threads claim slots afresh, so allocations are freed through
 * other contexts than made them) and the main thread checks the quiet
 * arenas, full of live allocations, against what the threads hold. False
 * if a thread could not be started. */
bool run_rounds(run *r, worker *ws, const options *o)
{
    bool started = true;
    for (unsigned round = 0; round < ROUNDS && started; round++) {
        started = run_round(r, ws, o, round);
        if (started)
            check_quiet(r, ws, "after", round, round + 1 == ROUNDS);
    }
    return started;
}

run *new_run(const options *o, const char *layer, phase ph, unsigned nthreads)
{
    run *r = calloc(1, sizeof *r);
    if (!r)
        out_of_memory();
    r->layer = layer;
    r->ph = ph;
    r->nthreads = nthreads;
    r->seed = o->seed;
    r->max_ops = o->ops;
    atomic_init(&r->stop, false);
    atomic_init(&r->finished, 0u);
    atomic_init(&r->pausing, false);
    atomic_init(&r->paused, 0u);
    atomic_init(&r->violations, 0);
    return r;
}

/* The geometry of region g, its owner map and its start figures. */
void set_region(run *r, region *g, unsigned char *base, size_t nchunks, unsigned shift)
{
    g->index = (unsigned)(g - r->regions);
    g->base = base;
    g->nchunks = nchunks;
    g->shift = shift;
    g->cs = (size_t)1 << shift;
    g->huge = (nchunks / (4u * r->nthreads) + 1) << shift;
    g->owner = calloc(nchunks, sizeof *g->owner);
    if (!g->owner)
        out_of_memory();
    region_stats(g, &g->start);
}

/* Run phase pattern or hammer on a fresh arena of layer `kind`, driven
 * directly. Returns true if it passed. */
bool run_phase(const options *o, ca_lock kind, phase ph, bool caches)
{
    unsigned nthreads = kind == CA_LOCK_NONE ? 1u : o->threads;
    const char *on = caches ? "on" : "off";
    if (ph == PHASE_HAMMER && nthreads < 2) {
        printf("layer=%s phase=hammer caches=%s skipped (needs 2 threads or more)\n",
               ca_lock_name(kind), on);
        return true;
    }
    run *r = new_run(o, ca_lock_name(kind), ph, nthreads);
    size_t nchunks = ph == PHASE_PATTERN ? o->chunks : (size_t)nthreads * HAMMER_CHUNKS_PER_THREAD;
    size_t cs = (size_t)1 << o->shift;

    /* The run's own draws: where the region starts within a 4 KiB page,
     * and the best-fit window. */
    ca_splitmix64 rng = ca_splitmix64_seed(derive(o->seed, kind, ph, RUN_TID));
    void *mem;
    unsigned char *base = place(&rng, nchunks << o->shift, cs, &mem);
    unsigned window = draw_window(&rng);
    void *meta = aligned_alloc(128, round_up(ca_sync_meta_size(kind, nchunks), 128));
    ca_sync_arena *arena = aligned_alloc(64, round_up(sizeof *arena, 64));
    ca_cache *cache = caches ? aligned_alloc(64, round_up(sizeof *cache, 64)) : NULL;
    if (!meta || !arena || (caches && !cache))
        out_of_memory();

    region *g = &r->regions[0];
    r->nregions = 1;
    if (nthreads > 1) { /* hand-offs: blocks freed by another thread than made them */
        r->inbox = calloc((size_t)nthreads * INBOX_SLOTS, sizeof *r->inbox);
        if (!r->inbox)
            out_of_memory();
        r->inbox_open = ph == PHASE_HAMMER ? HAMMER_INBOX : INBOX_SLOTS;
    }
    g->name = r->layer;
    g->kind = kind;
    g->sync = arena;
    bool passed = false;
    ca_core_status st = ca_sync_arena_init(arena, kind, base, nchunks, o->shift, meta, window);
    if (st == CA_CORE_OK) {
        if (cache) {
            /* The API's largest cached block; a sixteenth of the arena, but
             * room for a quantum (16 chunks) a thread in the small hammer
             * arena: caching from the first operation. */
            size_t classes = CA_CACHE_DEFAULT_BLOCK >> o->shift;
            size_t limit = nchunks / 2 < 16u * nthreads ? nchunks / 2 : 16u * nthreads;
            if (limit < nchunks / CA_CACHE_SHARE)
                limit = nchunks / CA_CACHE_SHARE;
            ca_cache_init(cache, arena, classes ? classes : 1, limit, true);
            g->cache = cache;
        }
        set_region(r, g, base, nchunks, o->shift);
        worker *ws = make_workers(r, o, kind);
        double t0 = now_seconds();
        bool started = run_rounds(r, ws, o);
        double elapsed = now_seconds() - t0;

        tally sum;
        sum_tallies(r, ws, -1, &sum);
        uint64_t ops = 0, bad = atomic_load_explicit(&r->violations, memory_order_relaxed);
        for (unsigned i = 0; i < nthreads; i++)
            ops += ws[i].op;
        printf("layer=%s phase=%s caches=%s threads=%u chunks=%zu window=%u ops=%" PRIu64
               " allocs=%" PRIu64 " frees=%" PRIu64 " resizes=%" PRIu64 " grows=%" PRIu64
               " shrinks=%" PRIu64, r->layer, phase_names[ph], on, nthreads, nchunks, window,
               ops, sum.allocs, sum.frees, sum.resizes, sum.grows, sum.shrinks);
        if (ph == PHASE_PATTERN)
            printf(" moves=%" PRIu64, sum.moves);
        printf(" failures=%" PRIu64, sum.failures);
        if (ph == PHASE_HAMMER)
            printf(" neighbour_frees=%" PRIu64, sum.neighbour_frees);
        if (r->inbox)
            printf(" handoffs=%" PRIu64, sum.sent);
        if (cache) {
            ca_stats now;
            region_stats(g, &now);
            printf(" cache_hits=%zu cache_misses=%zu", now.cache_hits, now.cache_misses);
        }
        printf(" raced_frees=%" PRIu64 " false_invalid_free=%" PRIu64 " quiet_checks=%" PRIu64
               " violations=%" PRIu64 " seconds=%.2f\n", r->raced_frees, sum.false_invalid_free,
               r->checks, bad, elapsed);
        passed = started && bad == 0 && sum.false_invalid_free == 0;
        free_workers(r, ws);
        if (cache)
            ca_cache_fini(cache);
        ca_sync_arena_fini(arena);
    } else {
        main_violation(r, "ca_sync_arena_init of %zu chunks of %zu bytes (window %u) returned %s",
                       nchunks, cs, window, status_name(st));
    }
    free(g->owner);
    free(r->inbox);
    free(cache);
    free(arena);
    free(meta);
    free(mem);
    free(r);
    return passed;
}
