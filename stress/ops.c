/* SPDX-License-Identifier: MIT */
/*
 * stress/ops.c — the stress harness (stress/stress.h), the operations on one
 * slot, in any phase (alloc, free, resize, realloc, probe, the statistics
 * check), and those of phase api alone (calloc, the API's realloc, lookups,
 * the inboxes, scratch arenas).
 */
#include "stress/stress.h"

/* ---- operations on one slot, in any phase ---- */

/* A new allocation in g into the empty slot s, filled with its pattern. */
void op_alloc(worker *w, slot *s, region *g, size_t size, size_t align)
{
    if (alloc_into(w, s, g, size, align))
        fill(s->p, s->tag, 0, s->usable);
}

/* Verify and free the allocation in s (as `how` says, in phase api); every
 * refusal is a false invalid free. */
void op_free(worker *w, slot *s, how_free how)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    verify(w, g, s->p, s->tag, s->usable, "before free");
    size_t first = chunk_of(g, s->p), last = first + (s->usable >> g->shift) - 1;
    if ((first > 0 && foreign(w, g, first - 1)) ||
        (last + 1 < g->nchunks && foreign(w, g, last + 1)))
        c->neighbour_frees++;
    let_go(w, s);
    ca_core_status st = region_free(w, g, s->p, how);
    if (st == CA_CORE_OK) {
        c->frees++;
        c->free_any += g->api && how == FREE_ANY;
    } else {
        c->false_invalid_free++;
        violation(w, "%s of my live allocation at %p (%s, chunk %zu, %zu bytes) returned %s",
                  g->api ? free_names[how] : "free", (void *)s->p, g->name, first, s->usable,
                  status_name(st));
    }
    s->p = NULL;
}

/* Resize s in place to new_size bytes. Growth may fail with NOMEM, which
 * leaves the allocation as it was; anything else must succeed. Returns the
 * arena's status. */
ca_core_status op_resize(worker *w, slot *s, size_t new_size)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    size_t have = s->usable >> g->shift, want = chunks_for(g, new_size);
    if (want < have) /* the tail is up for grabs the moment resize returns */
        drop(w, g, s->p, want << g->shift, s->usable);
    ca_core_status st = region_resize(w, g, s->p, new_size);
    c->resizes++;
    if (st != CA_CORE_OK) {
        if (st != CA_CORE_NOMEM || want <= have)
            violation(w, "resize of my allocation at %p in %s from %zu to %zu bytes returned %s",
                      (void *)s->p, g->name, s->size, new_size, status_name(st));
        if (want < have)
            take(w, g, s->p, want << g->shift, s->usable);
        ca_stats now;
        if (st == CA_CORE_NOMEM && want > have && g->kind == CA_LOCK_NONE &&
            (region_stats(g, &now), now.chunks_cached == 0)) {
            /* Single-threaded, the owner map is the whole map: were the
             * chunks after the allocation free after all? (Not while a
             * cache holds blocks: a cached block is held by nobody, and a
             * growth does not take it back.) */
            size_t ch = chunk_of(g, s->p) + have, ch_end = chunk_of(g, s->p) + want;
            while (ch < ch_end && ch < g->nchunks &&
                   atomic_load_explicit(&g->owner[ch], memory_order_relaxed) == 0)
                ch++;
            if (ch == ch_end)
                violation(w, "growth of %p from %zu to %zu chunks failed (NOMEM) although the "
                             "chunks after it are free", (void *)s->p, have, want);
        }
        size_t u = usable_of(w, g, s->p, "after a failed resize");
        if (u && u != s->usable)
            violation(w, "a failed resize changed the usable size of %p from %zu to %zu",
                      (void *)s->p, s->usable, u);
        verify(w, g, s->p, s->tag, s->usable, "after a failed resize");
        return st;
    }
    size_t u = usable_of(w, g, s->p, "after resize");
    if (u != want << g->shift) {
        if (u)
            violation(w, "resize of %p to %zu bytes left a usable size of %zu, expected %zu",
                      (void *)s->p, new_size, u, want << g->shift);
        /* We no longer know what we own: let the allocation go untouched. */
        c->live_chunks -= have;
        c->live_allocs--;
        s->p = NULL;
        return st;
    }
    if (want > have) {
        take(w, g, s->p, s->usable, u);
        fill(s->p, s->tag, s->usable, u);
        c->grows++;
    } else if (want < have) {
        c->shrinks++;
    }
    c->live_chunks = c->live_chunks - have + want;
    s->size = new_size;
    s->usable = u;
    verify(w, g, s->p, s->tag, s->usable, "after resize");
    return st;
}

/* realloc done by the harness (the sync arena has none): in place if
 * possible, else allocate, copy, verify the copy, free the old one. If the
 * arena has no room at all, s stays as it was. */
void op_realloc(worker *w, slot *s, size_t new_size)
{
    region *g = s->g;
    bool grows = chunks_for(g, new_size) > s->usable >> g->shift;
    if (op_resize(w, s, new_size) != CA_CORE_NOMEM || !grows)
        return; /* done in place (or a shrink refused, reported by op_resize) */
    slot t;
    if (!alloc_into(w, &t, g, new_size, s->align))
        return;
    memcpy(t.p, s->p, s->usable); /* growing: t.usable > s->usable */
    t.tag = s->tag;               /* the same allocation, moved */
    verify(w, g, t.p, t.tag, s->usable, "after the copy of a move");
    fill(t.p, t.tag, s->usable, t.usable);
    w->t[g->index].moves++;
    op_free(w, s, FREE_CHECKED);
    *s = t;
}

/* Ask the arena about s (usable size; two interior pointers, which must be
 * refused as INTERIOR, changing nothing), then verify the pattern. */
void op_probe(worker *w, slot *s)
{
    region *g = s->g;
    size_t u = usable_of(w, g, s->p, "probe");
    if (u && u != s->usable)
        violation(w, "usable size of %p is %zu, expected %zu", (void *)s->p, u, s->usable);
    const unsigned char *inside[2] = {s->p + 1, s->usable > g->cs ? s->p + g->cs : NULL};
    for (int i = 0; i < 2; i++) {
        if (!inside[i])
            continue;
        ca_core_status st = region_judge(g, inside[i]);
        if (st != CA_CORE_INTERIOR)
            violation(w, "%s of the interior pointer %p (my allocation %p in %s, %zu bytes) "
                         "returned %s, expected INTERIOR",
                      g->api ? "ca_free_checked" : "usable size", (const void *)inside[i],
                      (void *)s->p, g->name, s->usable, status_name(st));
    }
    verify(w, g, s->p, s->tag, s->usable, "probe");
}

/* Compare g's figures with what this thread holds there. Under a lock they
 * are one consistent picture, which includes all of ours. Under "hint"
 * they are a snapshot taken while others work: the free runs come from one
 * pass, which may skip a used word whose summary bit lags (so it may count
 * our chunks as free), and the allocations from another, which reads every
 * map word and so counts each of ours (their LAST markers do not change
 * while we ask). A "none" arena is one thread's alone: exact, and quiet
 * enough for the full invariant check. */
void check_stats(worker *w, region *g)
{
    ca_stats st;
    region_stats(g, &st);
    const tally *c = &w->t[g->index];
    bool exact = g->kind == CA_LOCK_NONE, locked = g->kind != CA_LOCK_HINT;
    if (st.chunk_size != g->cs || st.chunks_total != g->nchunks)
        violation(w, "stats of %s: chunk size %zu, %zu chunks; expected %zu, %zu", g->name,
                  st.chunk_size, st.chunks_total, g->cs, g->nchunks);
    if (g->api && (!st.name || strcmp(st.name, g->name) != 0))
        violation(w, "stats of %s name it \"%s\"", g->name, st.name ? st.name : "(null)");
    /* chunks_used and largest_free_run come from the same pass, even under "hint" */
    if (st.chunks_used > st.chunks_total ||
        st.largest_free_run > st.chunks_total - st.chunks_used ||
        (locked && st.allocations > st.chunks_used))
        violation(w, "stats of %s are inconsistent: %zu of %zu chunks used, %zu allocations, "
                     "longest free run %zu", g->name, st.chunks_used, st.chunks_total,
                  st.allocations, st.largest_free_run);
    if (exact ? st.chunks_used != c->live_chunks || st.allocations != c->live_allocs
              : (locked && st.chunks_used < c->live_chunks) || st.allocations < c->live_allocs)
        violation(w, "stats of %s: %zu chunks used in %zu allocations, but this thread alone "
                     "holds %zu chunks in %zu allocations", g->name, st.chunks_used,
                  st.allocations, c->live_chunks, c->live_allocs);
    if (exact) {
        const char *why = region_check(g);
        if (why)
            violation(w, "check of %s: %s", g->name, why);
    }
}

/* ---- phase api: its own operations ---- */

/* An arena for a new allocation. */
region *pick_region(worker *w)
{
    return &w->r->regions[below(w, w->r->nregions)];
}

/* How to free: in phase api, one of the three ways at random. */
how_free draw_how(worker *w)
{
    return w->r->ph == PHASE_API ? (how_free)below(w, 3) : FREE_CHECKED;
}

/* ca_calloc of n * each bytes into the empty slot s: zeroed, then filled. */
void op_calloc(worker *w, slot *s, region *g, size_t n, size_t each)
{
    api_begin();
    unsigned char *p = ca_calloc(g->api, n, each);
    ca_core_status st = api_status(w, p != NULL, "ca_calloc");
    if (!adopt(w, s, g, p, st, n * each, 0))
        return;
    for (size_t i = 0; i < n * each; i++)
        if (p[i] != 0) {
            violation(w, "ca_calloc(%zu, %zu) at %p in %s: byte %zu is 0x%02x, not 0", n, each,
                      (void *)p, g->name, i, p[i]);
            break;
        }
    fill(s->p, s->tag, 0, s->usable);
}

/* ca_realloc (align 0) or ca_aligned_realloc of s to `size` bytes. In place
 * the content survives up to the smaller usable size; a move copies the
 * smaller of the old usable size and the new size, and keeps the
 * alignment the block was asked (a realloc never loses it). A failure
 * (ENOMEM) leaves s untouched. We do not know beforehand whether it moves
 * or shrinks, so all our chunks are dropped first and the result's taken
 * after. */
void op_api_realloc(worker *w, slot *s, size_t size, size_t align)
{
    region *g = s->g;
    tally *c = &w->t[g->index];
    unsigned char *old = s->p;
    size_t old_usable = s->usable, keep_align = align ? align : s->align;
    const char *fn = align ? "ca_aligned_realloc" : "ca_realloc";
    c->reallocs++;
    let_go(w, s);
    api_begin();
    unsigned char *q = align ? ca_aligned_realloc(g->api, old, align, size)
                             : ca_realloc(g->api, old, size);
    ca_core_status st = api_status(w, q != NULL, fn);
    if (!q) {
        hold(w, s);
        if (st == CA_CORE_NOMEM)
            c->failures++; /* the move found no room (not checked against the map: a
                            * realloc may keep more alignment than was asked) */
        else
            violation(w, "%s of my allocation at %p in %s to %zu bytes returned NULL with %s", fn,
                      (void *)old, g->name, size, status_name(st));
        size_t u = usable_of(w, g, old, "after a failed realloc");
        if (u && u != old_usable)
            violation(w, "a failed %s changed the usable size of %p from %zu to %zu", fn,
                      (void *)old, old_usable, u);
        verify(w, g, old, s->tag, old_usable, "after a failed realloc");
        return;
    }
    size_t usable = accept_block(w, g, q, size, keep_align, fn);
    if (!usable) {
        s->p = NULL; /* we no longer know what we own: let it go untouched */
        return;
    }
    size_t kept; /* bytes whose pattern must have survived */
    if (q == old) {
        kept = old_usable < usable ? old_usable : usable;
        c->grows += usable > old_usable;
        c->shrinks += usable < old_usable;
    } else {
        kept = (old_usable < size ? old_usable : size) & ~(size_t)7;
        c->moves++;
        c->requested += size;
    }
    s->p = q;
    s->size = size;
    s->usable = usable;
    s->align = keep_align;
    hold(w, s);
    verify(w, g, q, s->tag, kept,
           q == old ? "after a realloc in place" : "after a move by realloc");
    fill(q, s->tag, kept, usable);
}

/* The registry knows s: ca_arena_of its first and last byte gives its
 * arena, ca_arena_find the arena's name; an unknown name is ENOENT. */
void op_lookup(worker *w, slot *s)
{
    region *g = s->g;
    const unsigned char *ends[2] = {s->p, s->p + s->usable - 1};
    for (int i = 0; i < 2; i++) {
        ca_arena *a = ca_arena_of(ends[i]);
        if (a != g->api)
            violation(w, "ca_arena_of(%p), a byte of my allocation at %p in %s, gave %p (\"%s\")",
                      (const void *)ends[i], (void *)s->p, g->name, (void *)a,
                      a ? ca_arena_name(a) : "");
    }
    ca_arena *a = ca_arena_find(g->name);
    if (a != g->api)
        violation(w, "ca_arena_find(\"%s\") gave %p, expected %p", g->name, (void *)a,
                  (void *)g->api);
    errno = 0;
    a = ca_arena_find("ca-stress-nowhere");
    if (a || errno != ENOENT)
        violation(w, "ca_arena_find of an unknown name gave %p, errno %d", (void *)a, errno);
}

/* Hand the block in s to another thread: claim an empty entry of its inbox
 * (acquire: pairs with the release store of EMPTY by which the owner gave
 * the entry back after copying the last block out, so our writes come
 * after its reads), fill it in, publish it (release: the owner's acquire
 * load of FULL sees the entry and the pattern in the block). False if
 * there is no other thread or no empty entry. */
bool send_parcel(worker *w, slot *s)
{
    run *r = w->r;
    if (r->nthreads < 2)
        return false;
    unsigned to = (unsigned)below(w, r->nthreads - 1);
    if (to >= w->id)
        to++;
    parcel *box = &r->inbox[(size_t)to * INBOX_SLOTS];
    for (unsigned k = 0; k < r->inbox_open; k++) {
        unsigned expected = BOX_EMPTY;
        if (!atomic_compare_exchange_strong_explicit(&box[k].state, &expected, BOX_WRITING,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        verify(w, s->g, s->p, s->tag, s->usable, "before a hand-off");
        let_go(w, s); /* in transit, its chunks are marked as nobody's */
        box[k].s = *s;
        w->t[s->g->index].sent++;
        s->p = NULL;
        atomic_store_explicit(&box[k].state, BOX_FULL, memory_order_release);
        return true;
    }
    return false;
}

/* A block from another thread: ours now; in phase api the registry must
 * know its arena, and free it without being told (ca_free_any). */
static void free_parcel(worker *w, slot *t)
{
    hold(w, t);
    w->t[t->g->index].received++;
    if (!t->g->api) {
        op_free(w, t, FREE_CHECKED);
        return;
    }
    ca_arena *a = ca_arena_of(t->p);
    if (a != t->g->api)
        violation(w, "ca_arena_of(%p), a block handed over from thread %u, gave %p; it is in %s",
                  (void *)t->p, tag_thread(t->tag), (void *)a, t->g->name);
    op_free(w, t, FREE_ANY);
}

/* Take the blocks waiting in this thread's inbox (acquire: pairs with the
 * sender's release store of FULL) and free them; each entry goes back
 * (release: see send_parcel). */
void receive(worker *w)
{
    parcel *box = &w->r->inbox[(size_t)w->id * INBOX_SLOTS];
    for (unsigned k = 0; k < INBOX_SLOTS; k++) {
        if (atomic_load_explicit(&box[k].state, memory_order_acquire) != BOX_FULL)
            continue;
        slot t = box[k].s;
        atomic_store_explicit(&box[k].state, BOX_EMPTY, memory_order_release);
        free_parcel(w, &t);
    }
}

/* At the very end: close every entry of the inbox, taking what is in it,
 * so that no block is left behind; a sender then finds no room and keeps
 * its block. An entry being written is waited for (a sender fills it in
 * within one op). */
void close_inbox(worker *w)
{
    parcel *box = &w->r->inbox[(size_t)w->id * INBOX_SLOTS];
    for (unsigned k = 0; k < INBOX_SLOTS; k++) {
        for (;;) {
            unsigned seen = BOX_EMPTY;
            /* acquire (on failure: C11 wants success as strong): as receive's load */
            if (atomic_compare_exchange_strong_explicit(&box[k].state, &seen, BOX_CLOSED,
                                                        memory_order_acquire,
                                                        memory_order_acquire))
                break;
            if (seen == BOX_FULL) {
                slot t = box[k].s;
                atomic_store_explicit(&box[k].state, BOX_EMPTY, memory_order_release);
                free_parcel(w, &t);
            } else {
                nap(1000);
            }
        }
    }
}

/* An arena of this thread's own, over its own memory (bookkeeping in
 * front), created, used and destroyed within one op, SCRATCH_CYCLES times
 * in a row: the registry's writers at work while the other threads look
 * arenas up (ca_free_any, ca_arena_of, ca_arena_find), and the memory of a
 * destroyed arena written again at once by the next creation — which is
 * safe only if destroy waited for every lookup that could still see the
 * arena (ThreadSanitizer sees it if not). Its layer goes round the five (it
 * is this thread's alone, so "none" will do); a "hint" arena made where
 * another was must not use that one's per-thread hints. */
void op_scratch(worker *w)
{
    char name[CA_NAME_MAX + 1];
    snprintf(name, sizeof name, "ca-stress-scratch-%u", w->id);
    ca_config config = {.chunk_size = 64, .lock = CA_LOCK_HINT}; /* the most bookkeeping */
    size_t len = round_up(ca_arena_meta_size(SCRATCH_CHUNKS, &config), 64) + SCRATCH_CHUNKS * 64;
    if (!w->scratch && !(w->scratch = aligned_alloc(4096, round_up(len, 4096))))
        out_of_memory();
    for (unsigned cycle = 0; cycle < SCRATCH_CYCLES; cycle++) {
        config.lock = (ca_lock)(CA_LOCK_NONE + w->scratch_arenas % NLAYERS);
        ca_arena *a = ca_arena_create(name, w->scratch, len, &config);
        if (!a) {
            violation(w, "ca_arena_create(\"%s\") of a scratch arena failed: %s", name,
                      strerror(errno));
            return;
        }
        w->scratch_arenas++;
        void *p = ca_alloc(a, 100);
        ca_arena *of = ca_arena_of(p), *found = ca_arena_find(name);
        if (!p || of != a || found != a)
            violation(w, "scratch arena %s (%p): ca_alloc gave %p, ca_arena_of %p, "
                         "ca_arena_find %p", name, (void *)a, p, (void *)of, (void *)found);
        api_begin();
        ca_free_any(p);
        (void)api_status(w, faults_here.calls == 0, "ca_free_any");
        errno = 0;
        if (ca_arena_destroy(a) != 0)
            violation(w, "ca_arena_destroy of the empty scratch arena %s failed: %s", name,
                      strerror(errno));
        else if (ca_arena_find(name) != NULL)
            violation(w, "ca_arena_find(\"%s\") still finds the scratch arena it destroyed",
                      name);
    }
}
