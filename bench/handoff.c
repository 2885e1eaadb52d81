/* SPDX-License-Identifier: MIT */
/*
 * bench/handoff.c — W6 (see handoff.h).
 *
 * The queue is the classic bounded SPSC ring over C11 atomics. `tail` is
 * written only by the producer, `head` only by the consumer; each side
 * reads its own index relaxed and the other's with acquire:
 *
 *  - push writes the slot (and, before it, the block's stamps), then
 *    stores tail + 1 with release; pop loads tail with acquire. This pair
 *    makes the pointer and the stamps visible to the consumer before it
 *    reads them.
 *  - pop reads the slot, then stores head + 1 with release; push loads
 *    head with acquire before it reuses a slot. This pair keeps the
 *    producer from overwriting a slot the consumer has not read yet.
 *  - the producer's `done` store (release) after its last push pairs with
 *    the consumer's acquire load of `done`; the consumer then looks at
 *    tail once more, so nothing pushed before `done` is missed.
 *
 * The block itself goes from consumer (free) back to a producer (a later
 * allocation of the same memory) through the allocator, whose own
 * synchronisation orders the two. Indices are free-running size_t
 * (wrapping is harmless: only differences are used); head, tail and the
 * slots sit on separate cache lines so the two sides do not false-share.
 * A side that cannot go on spins briefly, then yields: with 2T threads on
 * two cores, a spinning thread would otherwise hold the core its peer
 * needs.
 */
#define _GNU_SOURCE
#include "bench/handoff.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "bench/common.h"
#include "bench/timing.h"
#include "tests/splitmix64.h"

_Static_assert((W6_QUEUE & (W6_QUEUE - 1)) == 0, "the ring's size must be a power of two");

typedef struct spsc {
    _Alignas(64) _Atomic size_t tail; /* next slot to fill: the producer's */
    _Alignas(64) _Atomic size_t head; /* next slot to read: the consumer's */
    _Alignas(64) _Atomic int done;    /* the producer pushed its last block */
    _Alignas(64) void *slot[W6_QUEUE];
} spsc;

typedef struct side {
    pthread_t tid;
    bench_heap *heap;
    spsc *q;
    event_log *log;
    uint64_t seed;
    size_t blocks;
    pthread_barrier_t *start;
    const _Atomic int *stop;
    _Atomic int *finished;       /* counts threads done (for the deadline) */
    size_t done_blocks, failed, stamp_errors;
    double t0, t1;
    bool partial;
} side;

static void wait_a_little(unsigned *spins)
{
    if (++*spins < 64)
        return;
    *spins = 0;
    sched_yield();
}

static size_t draw_size(ca_splitmix64 *rng)
{
    return 64 + (size_t)ca_splitmix64_below(rng, 4032);
}

static void *producer(void *arg)
{
    side *s = arg;
    spsc *q = s->q;
    ca_splitmix64 rng = ca_splitmix64_seed(s->seed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed); /* ours */
    pthread_barrier_wait(s->start);
    s->t0 = now_s();
    size_t seq;
    for (seq = 0; seq < s->blocks; seq++) {
        if ((seq & 1023) == 0 && atomic_load_explicit(s->stop, memory_order_relaxed) != 0)
            break;
        size_t size = draw_size(&rng);
        unsigned char *p = heap_alloc(s->heap, 16, size);
        if (p == NULL) {
            s->failed++;
            continue;
        }
        log_alloc(s->log, p, size);
        uint64_t stamp = seq;
        memcpy(p, &stamp, sizeof stamp);
        memcpy(p + size - sizeof stamp, &stamp, sizeof stamp);
        unsigned spins = 0;
        /* acquire: pairs with pop's release of head (the slot was read). */
        while (tail - atomic_load_explicit(&q->head, memory_order_acquire) == W6_QUEUE)
            wait_a_little(&spins);
        q->slot[tail & (W6_QUEUE - 1)] = p;
        tail++;
        /* release: pairs with pop's acquire of tail (slot and stamps). */
        atomic_store_explicit(&q->tail, tail, memory_order_release);
    }
    s->partial = seq < s->blocks;
    /* release: pairs with the consumer's acquire of done. */
    atomic_store_explicit(&q->done, 1, memory_order_release);
    s->t1 = now_s();
    heap_thread_end(s->heap);
    atomic_fetch_add_explicit(s->finished, 1, memory_order_relaxed);
    return NULL;
}

static void *consumer(void *arg)
{
    side *s = arg;
    spsc *q = s->q;
    ca_splitmix64 rng = ca_splitmix64_seed(s->seed); /* the producer's draws, replayed */
    size_t next_seq = 0;                             /* the draw rng will give next */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed); /* ours */
    unsigned spins = 0;
    pthread_barrier_wait(s->start);
    s->t0 = now_s();
    for (;;) {
        /* acquire: pairs with push's release of tail. */
        size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (tail == head) {
            /* acquire: pairs with the producer's release of done; tail is
             * read again after it, so a last push is not missed. */
            if (atomic_load_explicit(&q->done, memory_order_acquire) != 0 &&
                atomic_load_explicit(&q->tail, memory_order_acquire) == head)
                break;
            wait_a_little(&spins);
            continue;
        }
        for (; head != tail; head++) {
            unsigned char *p = q->slot[head & (W6_QUEUE - 1)];
            uint64_t first, last;
            memcpy(&first, p, sizeof first);
            /* The size of draw `first`: step the replay over the draws of
             * failed allocations. A stamp behind the replay or beyond the
             * producer's draws is broken. */
            size_t size = 0;
            if (first >= next_seq && first < s->blocks) {
                while (next_seq <= first) {
                    size = draw_size(&rng);
                    next_seq++;
                }
                memcpy(&last, p + size - sizeof last, sizeof last);
                if (last != first)
                    s->stamp_errors++;
            } else {
                s->stamp_errors++;
            }
            log_free(s->log, p);
            heap_free(s->heap, p);
            s->done_blocks++;
        }
        /* release: pairs with push's acquire of head (slots read). */
        atomic_store_explicit(&q->head, head, memory_order_release);
    }
    s->t1 = now_s();
    heap_thread_end(s->heap);
    atomic_fetch_add_explicit(s->finished, 1, memory_order_relaxed);
    return NULL;
}

void handoff_run(bench_heap *h, unsigned pairs, size_t blocks, event_log *log, double deadline_s,
                 handoff_result *r)
{
    unsigned n = 2 * pairs;
    side *sides = bench_map(n * sizeof *sides);
    spsc *queues = bench_map(pairs * sizeof *queues);
    _Atomic int stop, finished;
    atomic_init(&stop, 0);
    atomic_init(&finished, 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, n);
    for (unsigned i = 0; i < n; i++) {
        side *s = &sides[i];
        s->heap = h;
        s->q = &queues[i / 2];
        s->log = log;
        s->seed = W6_SEED + i / 2;
        s->blocks = blocks;
        s->start = &start;
        s->stop = &stop;
        s->finished = &finished;
        if (pthread_create(&s->tid, NULL, i % 2 == 0 ? producer : consumer, s) != 0) {
            fprintf(stderr, "ca-bench: pthread_create failed\n");
            exit(1);
        }
    }
    /* The deadline: look every 10 ms (the run itself is timed by its threads). */
    double t_start = now_s();
    while (atomic_load_explicit(&finished, memory_order_relaxed) < (int)n) {
        if (now_s() - t_start > deadline_s) {
            atomic_store_explicit(&stop, 1, memory_order_relaxed);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    memset(r, 0, sizeof *r);
    for (unsigned i = 0; i < n; i++) {
        side *s = &sides[i];
        pthread_join(s->tid, NULL);
        r->blocks += s->done_blocks;
        r->failed += s->failed;
        r->stamp_errors += s->stamp_errors;
        r->partial = r->partial || s->partial;
        if (i == 0 || s->t0 < r->t0)
            r->t0 = s->t0;
        if (i == 0 || s->t1 > r->t1)
            r->t1 = s->t1;
    }
    pthread_barrier_destroy(&start);
    bench_unmap(queues, pairs * sizeof *queues);
    bench_unmap(sides, n * sizeof *sides);
}
