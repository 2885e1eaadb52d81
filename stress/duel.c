/* SPDX-License-Identifier: MIT */
/*
 * stress/duel.c — the stress harness (stress/stress.h), double frees that
 * race: in a quiet moment after a round, the main thread allocates a few
 * small blocks, then it and a thread of its own free each of them at the
 * same moment, in the same order, twice. Of the first two frees of a block
 * exactly one must succeed and the other be told NOTALLOC (with caches on:
 * the race of two fetch_or on the block's cached bit, core/core.h); the
 * second pass frees blocks that sit in a cache or are free, and both must
 * be told NOTALLOC. No thread allocates meanwhile, so a late free cannot
 * meet the block handed out again. The quiet check that follows
 * (check_region) then finds whether anything was corrupted or lost.
 *
 * Thread safety: the two duelists share the duel's blocks (read only) and
 * the `ready` counter; each writes only its own side of the statuses,
 * which the main thread reads after pthread_join.
 */
#include "stress/stress.h"

#include <sched.h>

#define DUEL_BLOCKS 16u /* blocks freed twice by two threads, a duel */
#define DUEL_PASSES 2u

typedef struct duel {
    worker *m;
    region *g;
    slot s[DUEL_BLOCKS];
    size_t n;                  /* blocks allocated */
    bool alone;                /* no thread could be started: the main thread frees alone */
    atomic_uint ready;         /* duelists at a start line, over all passes */
    ca_core_status st[DUEL_PASSES][2][DUEL_BLOCKS]; /* [pass][side][block] */
} duel;

typedef struct duelist {
    duel *d;
    unsigned side;
} duelist;

/* Wait for the other side at the start of pass `pass` (the acq_rel
 * increment and the acquire loads pair with the other side's increment:
 * the blocks' allocation by the main thread happens before either free). */
static void line_up(duel *d, unsigned pass)
{
    unsigned sides = d->alone ? 1u : 2u;
    atomic_fetch_add_explicit(&d->ready, 1u, memory_order_acq_rel);
    while (atomic_load_explicit(&d->ready, memory_order_acquire) < sides * (pass + 1))
        sched_yield(); /* two cores shared with others: let the other side run */
}

static void *fight(void *arg)
{
    duelist *me = arg;
    duel *d = me->d;
    for (unsigned pass = 0; pass < DUEL_PASSES; pass++) {
        line_up(d, pass);
        for (size_t i = 0; i < d->n; i++)
            d->st[pass][me->side][i] = region_free(d->m, d->g, d->s[i].p, FREE_CHECKED);
    }
    return NULL;
}

void duel_frees(worker *m, region *g)
{
    duel d = {.m = m, .g = g};
    atomic_init(&d.ready, 0u);
    for (unsigned i = 0; i < DUEL_BLOCKS; i++) {
        op_alloc(m, &d.s[d.n], g, (size_t)(1 + below(m, 2)) * g->cs, 0);
        if (d.s[d.n].p)
            d.n++; /* else the arena is full (the failure is tallied) */
    }
    for (size_t i = 0; i < d.n; i++) {
        verify(m, g, d.s[i].p, d.s[i].tag, d.s[i].usable, "before the duel");
        let_go(m, &d.s[i]);
    }

    pthread_t other;
    duelist them = {&d, 0}, me = {&d, 1};
    int err = pthread_create(&other, NULL, fight, &them);
    if (err) {
        main_violation(m->r, "cannot start a thread for the duel: %s", strerror(err));
        d.alone = true;
    }
    fight(&me);
    if (!err)
        pthread_join(other, NULL);

    for (size_t i = 0; i < d.n; i++) {
        const void *p = d.s[i].p;
        ca_core_status a = d.st[0][0][i], b = d.st[0][1][i];
        if (d.alone ? b != CA_CORE_OK
                    : !((a == CA_CORE_OK && b == CA_CORE_NOTALLOC) ||
                        (a == CA_CORE_NOTALLOC && b == CA_CORE_OK)))
            violation(m, "two frees at once of the block at %p in %s returned %s and %s, "
                         "expected OK and NOTALLOC", p, g->name, status_name(a),
                      status_name(b));
        a = d.st[1][0][i];
        b = d.st[1][1][i];
        if ((!d.alone && a != CA_CORE_NOTALLOC) || b != CA_CORE_NOTALLOC)
            violation(m, "two frees at once of the freed block at %p in %s returned %s and %s, "
                         "expected NOTALLOC twice", p, g->name, status_name(a),
                      status_name(b));
        m->t[g->index].frees++;
        d.s[i].p = NULL;
    }
    m->r->raced_frees += d.n;
    /* What the main thread cached goes back, so that the next round's
     * workers can reach every chunk the figures call free. No other thread
     * runs (the round's workers are joined, their caches went back as they
     * exited): the arena is quiet, as ca_cache_drain_all asks. */
    if (g->cache)
        ca_cache_drain_all(g->cache);
}
