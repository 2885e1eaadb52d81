/* SPDX-License-Identifier: MIT */
/*
 * bench/workloads.c — W1 to W5 and W7 (see workloads.h and
 * docs/WORKLOADS.md).
 *
 * The order of the random draws is the specification: it is spelled out
 * next to each loop. Verification that costs nothing measurable (counting,
 * an alignment test outside the timed window) is done in every run;
 * what does cost (the event log, per-call timing in W2/W4, usable sizes)
 * only in the verified run, which the caller does not time. W5's pattern
 * is part of the workload itself and runs in every repetition.
 *
 * The churn loop is one always-inline function instantiated with probing
 * on and off and the touch on and off, so the timed instances carry no
 * rdtscp, no log and no bookkeeping beyond the slot table (and the touch
 * when asked).
 *
 * Thread safety: see workloads.h.
 */
#define _GNU_SOURCE
#include "bench/workloads.h"

#include <pthread.h>
#include <string.h>

#include "bench/common.h"
#include "bench/timing.h"
#include "tests/splitmix64.h"

#ifdef CA_BENCH_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT /* valgrind/callgrind.h absent: --instr refuses to run */
#endif

#define ALWAYS_INLINE inline __attribute__((always_inline))

static bool aligned_as(const void *p, size_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

bool w1_expected(size_t iters, uint64_t *sum_size, uint64_t *sum_align, uint64_t *free_events)
{
    if (iters == 75000) {
        *sum_size = 616951948u, *sum_align = 2392716u, *free_events = 7541u;
        return true;
    }
    if (iters == 100000) {
        *sum_size = 824017102u, *sum_align = 3193309u, *free_events = 10019u;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ W1 */

typedef struct w1_entry {
    void *p; /* NULL: a failed allocation */
    size_t size;
} w1_entry;

void w1_run(bench_heap *h, size_t iters, event_log *log, w1_result *r)
{
    memset(r, 0, sizeof *r);
    r->iters = iters;
    r->first_fail = -1;
    w1_entry *queue = bench_map(iters * sizeof *queue);
    size_t head = 0, tail = 0; /* the FIFO is queue[head, tail); it never wraps */
    r->lat_prefail = bench_map(iters * sizeof(uint64_t));
    r->lat_postfail = bench_map(iters * sizeof(uint64_t));
    r->lat_failed = bench_map(iters * sizeof(uint64_t));
    r->lat_free = bench_map(iters * sizeof(uint64_t));

    ca_splitmix64 rng = ca_splitmix64_seed(W1_SEED);
    double w0 = now_s();
    for (size_t it = 0; it < iters; it++) {
        /* 1. align, then size. */
        size_t align = (size_t)1 << ca_splitmix64_below(&rng, 8);
        size_t size = 64 + (size_t)ca_splitmix64_below(&rng, 16320);
        r->sum_size += size;
        r->sum_align += align;

        /* 2. One timed allocation; push (size, pointer or NULL). */
        uint64_t t0 = tsc_begin();
        void *p = heap_alloc(h, align, size);
        uint64_t t1 = tsc_end();
        if (p != NULL) {
            r->ok++;
            log_alloc(log, p, size);
            if (!aligned_as(p, align))
                r->misaligned++;
            if (r->first_fail < 0)
                r->lat_prefail[r->n_prefail++] = t1 - t0;
            else
                r->lat_postfail[r->n_postfail++] = t1 - t0;
        } else {
            r->failed++;
            if (r->first_fail < 0)
                r->first_fail = (long)it;
            r->lat_failed[r->n_failed++] = t1 - t0;
        }
        queue[tail].p = p;
        queue[tail].size = size;
        tail++;

        /* 3. More than 10 entries (tested before drawing) and below(10) == 0:
         * pop until 7 blocks are freed, dropping NULL entries on the way
         * (or until the queue is empty). */
        if (tail - head > 10 && ca_splitmix64_below(&rng, 10) == 0) {
            r->free_events++;
            unsigned freed = 0;
            while (freed < 7 && head < tail) {
                w1_entry e = queue[head++];
                if (e.p == NULL)
                    continue;
                log_free(log, e.p);
                t0 = tsc_begin();
                heap_free(h, e.p);
                t1 = tsc_end();
                r->lat_free[r->n_free++] = t1 - t0;
                freed++;
            }
            r->frees += freed;
        }
    }
    r->wall_s = now_s() - w0;

    ca_stats st;
    if (heap_stats(h, &st)) {
        r->have_stats = true;
        r->stats_failures = st.failures;
    }
    for (; head < tail; head++) /* clean-up, untimed */
        if (queue[head].p != NULL) {
            log_free(log, queue[head].p);
            heap_free(h, queue[head].p);
        }
    bench_unmap(queue, iters * sizeof *queue);
    sort_u64(r->lat_prefail, r->n_prefail);
    sort_u64(r->lat_postfail, r->n_postfail);
    sort_u64(r->lat_failed, r->n_failed);
    sort_u64(r->lat_free, r->n_free);
}

void w1_release(w1_result *r)
{
    bench_unmap(r->lat_prefail, r->iters * sizeof(uint64_t));
    bench_unmap(r->lat_postfail, r->iters * sizeof(uint64_t));
    bench_unmap(r->lat_failed, r->iters * sizeof(uint64_t));
    bench_unmap(r->lat_free, r->iters * sizeof(uint64_t));
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------- W2, W3, W4 */

typedef struct slot {
    void *p;       /* NULL: the slot is empty */
    size_t size;   /* requested */
    size_t usable; /* probed runs with footprint only */
    uint64_t tag;  /* touch: the op that allocated it, as written in the block */
} slot;

/* The request of one allocation, in the order docs/WORKLOADS.md draws it. */
static ALWAYS_INLINE void churn_draw(churn_shape shape, ca_splitmix64 *rng, size_t *align,
                                     size_t *size)
{
    if (shape == CHURN_W2) {
        *align = (size_t)1 << ca_splitmix64_below(rng, 8);
        *size = 64 + (size_t)ca_splitmix64_below(rng, 16320);
    } else {
        *align = 16;
        *size = 16 + (size_t)ca_splitmix64_below(rng, 240);
    }
}

/* Per op: slot = below(slots); a live slot is freed, an empty one gets a
 * fresh draw and an allocation. A failed allocation leaves the slot empty. */
static ALWAYS_INLINE void churn_loop(bench_heap *h, const churn_config *cfg, slot *slots,
                                     ca_splitmix64 *rngp, size_t op_begin, size_t op_end,
                                     churn_probe *probe, churn_result *r, const bool probed,
                                     const bool touch)
{
    ca_splitmix64 rng = *rngp;
    size_t live_req = probed ? probe->requested_at_end : 0;
    size_t live_usable = probed ? probe->usable_at_end : 0;
    size_t op;
    for (op = op_begin; op < op_end; op++) {
        if ((op & 1023) == 0 && cfg->stop != NULL &&
            atomic_load_explicit(cfg->stop, memory_order_relaxed) != 0)
            break;
        slot *s = &slots[ca_splitmix64_below(&rng, cfg->slots)];
        if (s->p != NULL) {
            if (probed) {
                log_free(probe->log, s->p);
                live_req -= s->size;
                live_usable -= s->usable;
            }
            if (touch) {
                uint64_t seen;
                memcpy(&seen, s->p, sizeof seen);
                if (seen != s->tag && r->touch_errors++ == 0)
                    r->first_bad_op = op;
            }
            heap_free(h, s->p);
            s->p = NULL;
            r->frees++;
            continue;
        }
        size_t align, size;
        churn_draw(cfg->shape, &rng, &align, &size);
        void *p;
        if (probed && probe->lat != NULL) {
            uint64_t t0 = tsc_begin();
            p = heap_alloc(h, align, size);
            uint64_t t1 = tsc_end();
            if (p != NULL)
                probe->lat[probe->n_lat++] = t1 - t0;
        } else {
            p = heap_alloc(h, align, size);
        }
        if (p == NULL) {
            r->failed++;
            continue;
        }
        r->allocs++;
        if (touch) {
            uint64_t tag = op;
            memcpy(p, &tag, sizeof tag);
            s->tag = tag;
        }
        s->p = p;
        s->size = size;
        if (probed) {
            log_alloc(probe->log, p, size);
            if (!aligned_as(p, align))
                probe->misaligned++;
            if (probe->footprint) {
                s->usable = heap_usable(h, p);
                live_req += size;
                live_usable += s->usable;
                if (live_req > probe->peak_requested) {
                    probe->peak_requested = live_req;
                    probe->usable_at_peak = live_usable;
                    probe->peak_op = op;
                }
            }
        }
    }
    r->ops = op;
    r->partial = op < cfg->ops;
    *rngp = rng;
    if (probed) {
        probe->requested_at_end = live_req;
        probe->usable_at_end = live_usable;
    }
}

/* Ops [begin, end) of the churn, in the instance that fits. */
static void churn_part(bench_heap *h, const churn_config *cfg, slot *slots, ca_splitmix64 *rng,
                       size_t begin, size_t end, churn_probe *probe, churn_result *r)
{
    if (probe != NULL && cfg->touch)
        churn_loop(h, cfg, slots, rng, begin, end, probe, r, true, true);
    else if (probe != NULL)
        churn_loop(h, cfg, slots, rng, begin, end, probe, r, true, false);
    else if (cfg->touch)
        churn_loop(h, cfg, slots, rng, begin, end, NULL, r, false, true);
    else
        churn_loop(h, cfg, slots, rng, begin, end, NULL, r, false, false);
}

void churn_run(bench_heap *h, const churn_config *cfg, churn_probe *probe, churn_result *r)
{
    memset(r, 0, sizeof *r);
    slot *slots = bench_map(cfg->slots * sizeof *slots);
    if (probe != NULL)
        probe->requested_at_end = probe->usable_at_end = 0;
    ca_splitmix64 rng = ca_splitmix64_seed(cfg->seed);
    if (cfg->start_barrier != NULL)
        pthread_barrier_wait(cfg->start_barrier);
    r->t0 = now_s();
    if (cfg->instr) {
        /* Collection is off at the start (--collect-atstart=no): on for
         * exactly the counted ops, off again before the clean-up. */
        churn_part(h, cfg, slots, &rng, 0, cfg->warmup, probe, r);
        CALLGRIND_TOGGLE_COLLECT;
        churn_part(h, cfg, slots, &rng, cfg->warmup, cfg->ops, probe, r);
        CALLGRIND_TOGGLE_COLLECT;
    } else {
        churn_part(h, cfg, slots, &rng, 0, cfg->ops, probe, r);
    }
    r->t1 = now_s();

    ca_stats st;
    if (probe != NULL && probe->stats_at_end && heap_stats(h, &st))
        probe->held_stats_at_end = st.chunks_used * st.chunk_size;
    for (size_t i = 0; i < cfg->slots; i++) /* clean-up, untimed */
        if (slots[i].p != NULL) {
            if (probe != NULL)
                log_free(probe->log, slots[i].p);
            heap_free(h, slots[i].p);
        }
    bench_unmap(slots, cfg->slots * sizeof *slots);
}

/* What the threads of one W3 run share with the thread that waits for them. */
typedef struct w3_shared {
    pthread_mutex_t lock;
    pthread_cond_t finished; /* signalled as each thread ends; `done` under `lock` */
    unsigned done;
    _Atomic int stop;        /* the deadline passed */
} w3_shared;

typedef struct w3_thread {
    pthread_t tid;
    bench_heap *heap;
    w3_shared *shared;
    churn_config cfg;
    churn_probe probe;
    bool probed;
    churn_result r;
} w3_thread;

static void *w3_main(void *arg)
{
    w3_thread *t = arg;
    churn_run(t->heap, &t->cfg, t->probed ? &t->probe : NULL, &t->r);
    heap_thread_end(t->heap);
    pthread_mutex_lock(&t->shared->lock);
    t->shared->done++;
    pthread_cond_signal(&t->shared->finished);
    pthread_mutex_unlock(&t->shared->lock);
    return NULL;
}

/* Wait until every thread is done or the deadline passes; then stop them. */
static void w3_wait(w3_shared *sh, unsigned threads, double deadline_s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double whole = (double)(time_t)deadline_s;
    until.tv_sec += (time_t)deadline_s;
    until.tv_nsec += (long)((deadline_s - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&sh->lock);
    while (sh->done < threads)
        if (pthread_cond_timedwait(&sh->finished, &sh->lock, &until) != 0 &&
            sh->done < threads) {
            atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
            break;
        }
    pthread_mutex_unlock(&sh->lock);
}

void w3_run(bench_heap *h, unsigned threads, size_t ops_per_thread, bool touch,
            event_log *log, double deadline_s, churn_result *r)
{
    w3_thread *t = bench_map(threads * sizeof *t);
    w3_shared sh;
    pthread_mutex_init(&sh.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh.finished, &ca);
    pthread_condattr_destroy(&ca);
    sh.done = 0;
    atomic_init(&sh.stop, 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads);
    for (unsigned i = 0; i < threads; i++) {
        t[i].shared = &sh;
        t[i].cfg.stop = &sh.stop;
        t[i].heap = h;
        t[i].cfg.shape = CHURN_W2;
        t[i].cfg.seed = W2_SEED + i;
        t[i].cfg.ops = ops_per_thread;
        t[i].cfg.slots = W2_SLOTS;
        t[i].cfg.start_barrier = &start;
        t[i].cfg.touch = touch;
        t[i].probed = log != NULL;
        t[i].probe.log = log;
        if (pthread_create(&t[i].tid, NULL, w3_main, &t[i]) != 0) {
            fprintf(stderr, "ca-bench: pthread_create failed\n");
            exit(1);
        }
    }
    w3_wait(&sh, threads, deadline_s);
    memset(r, 0, sizeof *r);
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i].tid, NULL);
        r->ops += t[i].r.ops;
        r->partial = r->partial || t[i].r.partial;
        r->allocs += t[i].r.allocs;
        r->frees += t[i].r.frees;
        r->failed += t[i].r.failed;
        if (t[i].r.touch_errors != 0 && r->touch_errors == 0)
            r->first_bad_op = t[i].r.first_bad_op;
        r->touch_errors += t[i].r.touch_errors;
        if (i == 0 || t[i].r.t0 < r->t0)
            r->t0 = t[i].r.t0;
        if (i == 0 || t[i].r.t1 > r->t1)
            r->t1 = t[i].r.t1;
        if (t[i].probe.misaligned != 0)
            bench_fail("W3 thread %u: %zu blocks not aligned as asked", i,
                       t[i].probe.misaligned);
    }
    pthread_barrier_destroy(&start);
    pthread_cond_destroy(&sh.finished);
    pthread_mutex_destroy(&sh.lock);
    bench_unmap(t, threads * sizeof *t);
}

/* ------------------------------------------------------------------ W5 */

typedef struct grow_buffer {
    void *p;
    size_t size; /* requested */
} grow_buffer;

/* The pattern of one growth: 64-bit words tag + k, then tail bytes. */
static void pattern_fill(void *p, size_t n, uint64_t tag)
{
    uint64_t *w = p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++)
        w[k] = tag + k;
    unsigned char *b = p;
    for (size_t k = words * 8; k < n; k++)
        b[k] = (unsigned char)(tag + k);
}

static bool pattern_holds(const void *p, size_t n, uint64_t tag)
{
    const uint64_t *w = p;
    size_t words = n / 8;
    uint64_t bad = 0;
    for (size_t k = 0; k < words; k++)
        bad |= w[k] ^ (tag + k);
    const unsigned char *b = p;
    for (size_t k = words * 8; k < n; k++)
        bad |= (unsigned char)(b[k] ^ (unsigned char)(tag + k));
    return bad == 0;
}

void grow_run(bench_heap *h, size_t ops, event_log *log, grow_result *r)
{
    memset(r, 0, sizeof *r);
    r->ops = ops;
    grow_buffer *buf = bench_map(W5_BUFFERS * sizeof *buf);
    for (size_t i = 0; i < W5_BUFFERS; i++) { /* set-up, untimed */
        buf[i].p = heap_alloc(h, 16, W5_START_SIZE);
        buf[i].size = buf[i].p != NULL ? W5_START_SIZE : 0;
        if (buf[i].p != NULL)
            log_alloc(log, buf[i].p, W5_START_SIZE);
        else
            r->failed++;
    }

    ca_splitmix64 rng = ca_splitmix64_seed(W5_SEED);
    double t0 = now_s();
    for (size_t op = 0; op < ops; op++) {
        /* Draws: i = below(1024); then below(4): nonzero (3 chances in 4)
         * grows, zero frees; a growth then draws its delta = below(4096). */
        grow_buffer *b = &buf[ca_splitmix64_below(&rng, W5_BUFFERS)];
        if (ca_splitmix64_below(&rng, 4) != 0) {
            size_t delta = (size_t)ca_splitmix64_below(&rng, 4096);
            size_t old = b->size;
            uint64_t tag = ((uint64_t)op << 10 | (uint64_t)(b - buf)) * 0x9E3779B97F4A7C15u;
            pattern_fill(b->p, old, tag);
            if (b->p != NULL)
                log_free(log, b->p);
            void *q = heap_realloc(h, b->p, old + delta);
            if (q == NULL) { /* b->p is untouched */
                if (b->p != NULL)
                    log_alloc(log, b->p, old);
                r->failed++;
                continue;
            }
            log_alloc(log, q, old + delta);
            r->growths++;
            if (q == b->p) {
                r->inplace++;
            } else {
                r->moves++;
                r->bytes_copied += old;
            }
            if (!pattern_holds(q, old, tag) && r->pattern_errors++ == 0)
                r->first_bad_op = op;
            b->p = q;
            b->size = old + delta;
        } else {
            if (b->p != NULL)
                log_free(log, b->p);
            heap_free(h, b->p);
            r->frees++;
            b->p = heap_alloc(h, 16, W5_START_SIZE);
            b->size = b->p != NULL ? W5_START_SIZE : 0;
            if (b->p != NULL)
                log_alloc(log, b->p, W5_START_SIZE);
            else
                r->failed++;
        }
    }
    r->seconds = now_s() - t0;

    for (size_t i = 0; i < W5_BUFFERS; i++) /* clean-up, untimed */
        if (buf[i].p != NULL) {
            log_free(log, buf[i].p);
            heap_free(h, buf[i].p);
        }
    bench_unmap(buf, W5_BUFFERS * sizeof *buf);
}
