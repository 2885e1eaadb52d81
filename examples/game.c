/* SPDX-License-Identifier: MIT */
/*
 * examples/game.c — chunkarena in a small game engine.
 *
 * This program shows how an engine would use the library. Each subsystem
 * gets its own static arena, defined at file scope with CA_ARENA_DEFINE.
 * No set-up call is needed. Each arena has a chunk size and a sync layer
 * chosen for how that subsystem uses memory. Four threads (render, audio,
 * physics, net) run a fixed number of frames in lockstep: render command
 * buffers that live for one frame, audio buffers that live for a few
 * microseconds, physics contact lists that grow with ca_realloc, and
 * network packets that are sometimes freed by another thread, which
 * doesn't know their arena (ca_free_any). Everything is seeded, so every
 * run does the same work. Halfway through, with every thread holding its
 * frame's memory, the threads pause and one draws every arena's occupancy
 * into an SVG picture (ca_map_svg_all): game-arenas.svg, or the path given
 * as the first argument. At the end the program prints one row of figures
 * per arena and all the figures as JSON (ca_stats_json_all), checks each
 * arena's invariants with ca_arena_check, and exits 0 only if they all hold
 * and every arena is empty again (nothing leaked).
 *
 * Build it against the public header and the installed library only:
 *
 *     cc -std=c11 -I<prefix>/include game.c -lchunkarena -pthread -o game
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */

#include "chunkarena.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the arenas */

/*
 * Each subsystem has its own arena. That gives it a memory budget, its own
 * figures, and no effect on any other subsystem: if the network floods, it
 * runs out of *network* memory, and rendering doesn't notice.
 *
 * The chunk size is the granule of allocation: a request takes whole
 * chunks. Choose it near the typical request. Smaller wastes bookkeeping,
 * larger wastes the tail of each chunk. The sync layer depends on who
 * allocates from the arena:
 *
 *   render   command buffers of a few KiB, allocated by the render thread
 *            and by others (physics records debug lines). Several threads
 *            allocate from it at once, so it uses the lock-free "hint"
 *            layer. Each thread searches its own part of the arena, and
 *            there is no lock to wait for.
 *   audio    small buffers, and 64-byte sound events that physics posts.
 *            Two threads use it and its critical sections are short, so a
 *            spinlock is enough: a waiter spins for a moment, then yields.
 *   physics  contact lists of 32-byte contacts that grow while the solver
 *            runs. A ticket lock is fair: a thread gets the lock in the
 *            order it asked, so no thread can take it over.
 *   net      packets of up to one MTU. Packet work is bursty and the net
 *            thread may be descheduled while it holds the lock, so it uses
 *            a mutex, which sleeps instead of spinning.
 *
 * The four regions come to 2.75 MiB of .bss. The bookkeeping sits
 * outside the regions, so a buffer overrun in a command buffer can't
 * corrupt the allocator.
 */
CA_ARENA_DEFINE(render, "render", 4096, 256, CA_LOCK_HINT);   /* 1 MiB */
CA_ARENA_DEFINE(audio, "audio", 4096, 64, CA_LOCK_SPIN);      /* 256 KiB */
CA_ARENA_DEFINE(physics, "physics", 4096, 128, CA_LOCK_TICKET); /* 512 KiB */
CA_ARENA_DEFINE(net, "net", 2048, 512, CA_LOCK_MUTEX);        /* 1 MiB */

/* ------------------------------------------------------------- the frame */

#define THREADS 4
#define FRAMES 600 /* ten seconds of game at 60 frames a second */
#define SAMPLE_RATE 48000
#define SAMPLES_PER_FRAME (SAMPLE_RATE / 60)
#define CHANNELS 2

/* The threads end each frame together. A pthread barrier also orders memory:
 * what a thread wrote in frame f is visible to every thread in frame f + 1. */
static pthread_barrier_t frame_end;

static void end_frame(void)
{
    int rc = pthread_barrier_wait(&frame_end);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        abort();
}

/* The picture: at this frame, each thread stops at its photo point, with
 * its memory for the frame still held, and one of them draws every arena
 * while the others wait, so nothing changes while it is drawn. */
#define PHOTO_FRAME (FRAMES / 2)
static const char *photo_path = "game-arenas.svg";
static bool photo_failed;

static void photo_point(unsigned frame)
{
    if (frame != PHOTO_FRAME)
        return;
    int rc = pthread_barrier_wait(&frame_end);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
        FILE *f = fopen(photo_path, "w");
        photo_failed = !f || ca_map_svg_all(f) != 0;
        if (f && fclose(f) != 0)
            photo_failed = true;
        if (photo_failed)
            fprintf(stderr, "game: cannot write %s: %s\n", photo_path, strerror(errno));
    } else if (rc != 0) {
        abort();
    }
    end_frame(); /* the others wait until the picture is done */
}

/* A small random source (SplitMix64). Each thread has its own fixed seed,
 * so every run does the same work. */
typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A number in lo..hi, both included. */
static size_t rng_range(rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* A float in [0, 1). */
static float rng_unit(rng *r)
{
    return (float)(rng_next(r) >> 40) / (float)(1u << 24);
}

/* --------------------------------------------------------------- mailbox */

/*
 * A mailbox passes allocations from one thread to another: a fixed ring of
 * pointers, protected by a mutex. Each letter records the frame in which it
 * was posted. A reader takes only letters from earlier frames. Those were
 * all posted before the barrier that ended the previous frame, so what a
 * thread gets in a frame doesn't depend on how fast the other threads run.
 */
#define MAILBOX_SLOTS 256

typedef struct mailbox {
    pthread_mutex_t lock;
    size_t head;  /* the oldest letter */
    size_t count; /* letters in the ring */
    struct letter {
        void *item;
        unsigned frame;
    } ring[MAILBOX_SLOTS];
} mailbox;

/* Post item in `frame`. Returns false when the ring is full. The sender
 * still owns the item then. */
static bool mailbox_post(mailbox *m, void *item, unsigned frame)
{
    bool posted = false;
    pthread_mutex_lock(&m->lock);
    if (m->count < MAILBOX_SLOTS) {
        struct letter *l = &m->ring[(m->head + m->count) % MAILBOX_SLOTS];
        l->item = item;
        l->frame = frame;
        m->count++;
        posted = true;
    }
    pthread_mutex_unlock(&m->lock);
    return posted;
}

/* The oldest letter posted before frame `before`, or NULL if there is none. */
static void *mailbox_take(mailbox *m, unsigned before)
{
    void *item = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->count > 0 && m->ring[m->head].frame < before) {
        item = m->ring[m->head].item;
        m->head = (m->head + 1) % MAILBOX_SLOTS;
        m->count--;
    }
    pthread_mutex_unlock(&m->lock);
    return item;
}

static mailbox to_audio = {.lock = PTHREAD_MUTEX_INITIALIZER};   /* impact sounds */
static mailbox to_physics = {.lock = PTHREAD_MUTEX_INITIALIZER}; /* remote inputs */

/* What the threads report. Each field has one writer. main reads them after
 * pthread_join, which orders the reads after the writes. */
static struct {
    size_t draw_calls, upload_bytes;                 /* render */
    bool music_streamed;                             /* audio: the track did not fit */
    size_t sounds_played, sounds_dropped;            /* audio */
    size_t contacts, contacts_dropped, debug_lines;  /* physics */
    size_t inputs_applied;                           /* physics */
    size_t packets_in, packets_out, packets_handed;  /* net */
} report;

/* ---------------------------------------------------------------- render */

/* One draw call, as the GPU front end would read it. */
typedef struct draw_cmd {
    uint32_t mesh, material;
    uint32_t first_index, index_count;
    float depth;
    uint32_t flags;
    uint32_t pad[2];
} draw_cmd;

#define MAX_PASSES 16
#define UPLOAD_ALIGN 4096 /* what a DMA engine might ask of a staging buffer */

/*
 * Each frame, the render thread records one command buffer per pass, plus a
 * staging buffer for uploads. At the end of the frame it "submits" them and
 * frees all of them. No memory lives past the frame. A frame's buffers come
 * from wherever the thread's next-fit hint points, so when they are all freed
 * that part of the arena is one free run again, and fragmentation doesn't
 * build up.
 */
static void *render_thread(void *arg)
{
    (void)arg;
    rng r = {0x5EED0001u};
    ca_arena *arena = CA_ARENA(render);

    for (unsigned frame = 0; frame < FRAMES; frame++) {
        draw_cmd *pass[MAX_PASSES];
        size_t passes = rng_range(&r, 4, MAX_PASSES);

        for (size_t i = 0; i < passes; i++) {
            size_t want = rng_range(&r, 16, 480);
            pass[i] = ca_alloc(arena, want * sizeof(draw_cmd));
            if (!pass[i])
                continue; /* out of budget: skip the pass this frame */
            /* Allocations are whole chunks. ca_usable_size gives the actual
             * capacity, so the last chunk can hold commands too. */
            size_t capacity = ca_usable_size(arena, pass[i]) / sizeof(draw_cmd);
            for (size_t k = 0; k < capacity; k++) {
                pass[i][k] = (draw_cmd){
                    .mesh = (uint32_t)rng_range(&r, 0, 999),
                    .material = (uint32_t)rng_range(&r, 0, 63),
                    .first_index = (uint32_t)(k * 36),
                    .index_count = 36,
                    .depth = rng_unit(&r),
                };
            }
            report.draw_calls += capacity;
        }

        /* Texture uploads go through a staging buffer that must be aligned
         * to 4 KiB. ca_aligned_alloc takes only start chunks at such an
         * address. */
        size_t upload = rng_range(&r, 1, 8) * 4096;
        unsigned char *staging = ca_aligned_alloc(arena, UPLOAD_ALIGN, upload);
        if (staging) {
            memset(staging, 0x7F, upload);
            report.upload_bytes += upload;
        }

        photo_point(frame);
        /* The GPU has the frame: free everything recorded for it. */
        ca_free(arena, staging);
        for (size_t i = 0; i < passes; i++)
            ca_free(arena, pass[i]); /* ca_free(NULL) does nothing, as free does */
        end_frame();
    }
    return NULL;
}

/* ----------------------------------------------------------------- audio */

/* A sound to play, posted by physics on an impact. It is one 64-byte chunk
 * of the audio arena, allocated by the physics thread and freed by the
 * audio thread. */
typedef struct impact_sound {
    float gain;
    float pitch;      /* cycles per sample */
    unsigned frames;  /* how long it rings */
} impact_sound;

typedef struct voice {
    float gain, pitch, phase;
    unsigned frames_left;
} voice;

#define VOICES 16
#define MUSIC_TRACK_BYTES ((size_t)1 << 20)

/* A triangle wave: cheap, and needs no libm. */
static void synthesize(voice *v, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float t = v->phase < 0.5f ? v->phase : 1.0f - v->phase;
        out[i] = v->gain * (4.0f * t - 1.0f);
        v->phase += v->pitch;
        if (v->phase >= 1.0f)
            v->phase -= 1.0f;
    }
}

/*
 * Each frame the audio thread mixes every playing voice into a fresh stereo
 * buffer, "hands it to the device" and frees it. The buffers live for
 * microseconds, so fast allocation and free matter more here than anywhere
 * else, and the small chunk size keeps a 3 KiB buffer from wasting much.
 */
static void *audio_thread(void *arg)
{
    (void)arg;
    ca_arena *arena = CA_ARENA(audio);
    voice voices[VOICES] = {{0}};
    voice music = {.gain = 0.25f, .pitch = 110.0f / SAMPLE_RATE, .frames_left = UINT_MAX};

    /* First try to load the whole music track. It can't fit: the arena is
     * 256 KiB. The allocation fails at once with ENOMEM and changes
     * nothing, so the game streams the track instead, one block a frame.
     * (This shows up as the one failure in the "audio" row.) */
    void *track = ca_alloc(arena, MUSIC_TRACK_BYTES);
    if (!track && errno == ENOMEM)
        report.music_streamed = true;
    ca_free(arena, track);

    for (unsigned frame = 0; frame <= FRAMES; frame++) {
        /* New sounds from physics, posted in earlier frames. Copy each into
         * a voice and free it here, on another thread than the one that
         * allocated it. That is fine: the arena knows the owner of each
         * chunk, not of each thread. */
        impact_sound *s;
        while ((s = mailbox_take(&to_audio, frame)) != NULL) {
            voice *v = NULL;
            for (size_t i = 0; i < VOICES && !v; i++)
                if (voices[i].frames_left == 0)
                    v = &voices[i];
            if (v) {
                *v = (voice){.gain = s->gain, .pitch = s->pitch, .frames_left = s->frames};
                report.sounds_played++;
            } else {
                report.sounds_dropped++; /* every voice is busy */
            }
            ca_free(arena, s);
        }
        if (frame == FRAMES)
            break; /* the last pass only drains the mailbox */

        /* ca_calloc: the mix starts as silence. */
        float *mix = ca_calloc(arena, (size_t)SAMPLES_PER_FRAME * CHANNELS, sizeof(float));
        float *block = ca_alloc(arena, SAMPLES_PER_FRAME * sizeof(float));
        if (mix && block) {
            for (size_t i = 0; i <= VOICES; i++) {
                voice *v = i < VOICES ? &voices[i] : &music;
                if (v->frames_left == 0)
                    continue;
                synthesize(v, block, SAMPLES_PER_FRAME);
                for (size_t k = 0; k < SAMPLES_PER_FRAME; k++) {
                    mix[2 * k] += block[k];
                    mix[2 * k + 1] += block[k];
                }
                v->frames_left--;
            }
        }
        photo_point(frame);
        /* The device has copied the mix: both buffers go back. */
        ca_free(arena, block);
        ca_free(arena, mix);
        end_frame();
    }
    return NULL;
}

/* --------------------------------------------------------------- physics */

typedef struct contact {
    float point[3];
    float normal[3];
    float depth;
    uint32_t bodies; /* two 16-bit body ids */
} contact;

/* A contact list grows while collision detection runs. Its capacity is in
 * contacts. */
typedef struct contact_list {
    contact *items;
    size_t count, capacity;
} contact_list;

#define ISLANDS 8

/*
 * Append a contact, growing the list by half as much again when it is full.
 * ca_realloc grows in place when the chunks after the list are free, with
 * no copy. Otherwise it moves the list (allocates, copies, frees). The table
 * at the end counts both. On failure it returns NULL and leaves the list as
 * it was, so keep the old pointer until the new one is known to be good.
 */
static bool contact_push(contact_list *l, const contact *c)
{
    if (l->count == l->capacity) {
        ca_arena *arena = CA_ARENA(physics);
        size_t want = l->capacity < 4 ? 4 : l->capacity + l->capacity / 2;
        contact *grown = ca_realloc(arena, l->items, want * sizeof *grown);
        if (!grown)
            return false; /* over budget: drop the contact, keep the list */
        l->items = grown;
        l->capacity = ca_usable_size(arena, grown) / sizeof *grown;
    }
    l->items[l->count++] = *c;
    return true;
}

/* Play an impact sound: allocate it in the audio arena and post it. The
 * audio thread frees it. */
static void post_impact(rng *r, unsigned frame, float depth)
{
    impact_sound *s = ca_alloc(CA_ARENA(audio), sizeof *s);
    if (!s)
        return; /* no room for the event: the impact is silent */
    *s = (impact_sound){
        .gain = depth * 0.5f,
        .pitch = (220.0f + 660.0f * rng_unit(r)) / SAMPLE_RATE,
        .frames = (unsigned)rng_range(r, 2, 20),
    };
    if (!mailbox_post(&to_audio, s, frame))
        ca_free(CA_ARENA(audio), s);
}

/*
 * Apply the remote players' inputs that the net thread received. The net
 * thread allocated these packets, but gameplay code doesn't have to know
 * from which arena: ca_free_any finds the arena from the address. It looks
 * the arena up in the registry (O(arenas)), so code that knows the arena
 * should call ca_free.
 */
static void apply_remote_inputs(unsigned frame)
{
    unsigned char *packet;
    while ((packet = mailbox_take(&to_physics, frame)) != NULL) {
        report.inputs_applied++;
        ca_free_any(packet);
    }
}

static void *physics_thread(void *arg)
{
    (void)arg;
    rng r = {0x5EED0003u};

    for (unsigned frame = 0; frame < FRAMES; frame++) {
        apply_remote_inputs(frame);

        /* Collision detection: contacts arrive in no particular order of
         * island, so all the lists grow together. Some grow in place and
         * some have to move, as in a real broad phase. */
        contact_list islands[ISLANDS] = {{0}};
        size_t found = rng_range(&r, 40, 600);
        for (size_t i = 0; i < found; i++) {
            float depth = rng_unit(&r);
            contact c = {
                .point = {rng_unit(&r), rng_unit(&r), rng_unit(&r)},
                .normal = {0.0f, 1.0f, 0.0f},
                .depth = depth,
                .bodies = (uint32_t)rng_next(&r),
            };
            if (contact_push(&islands[rng_range(&r, 0, ISLANDS - 1)], &c))
                report.contacts++;
            else
                report.contacts_dropped++;
            if (depth > 0.995f) /* a hard hit: make a sound */
                post_impact(&r, frame, depth);
        }

        /* Debug drawing: one line per contact, recorded into the *render*
         * arena from this thread while the render thread allocates its own
         * buffers there too. */
        float(*lines)[6] = ca_alloc(CA_ARENA(render), found * sizeof *lines);
        size_t drawn = 0;
        for (size_t i = 0; i < ISLANDS && lines; i++)
            for (size_t k = 0; k < islands[i].count; k++, drawn++) {
                const contact *c = &islands[i].items[k];
                for (size_t d = 0; d < 3; d++) {
                    lines[drawn][d] = c->point[d];
                    lines[drawn][3 + d] = c->point[d] + c->normal[d] * c->depth;
                }
            }
        report.debug_lines += drawn;

        photo_point(frame);
        /* The solver is done with this frame's contacts. */
        ca_free(CA_ARENA(render), lines);
        for (size_t i = 0; i < ISLANDS; i++)
            ca_free(CA_ARENA(physics), islands[i].items);
        end_frame();
    }
    apply_remote_inputs(FRAMES); /* the last frame's inputs */
    return NULL;
}

/* ------------------------------------------------------------------- net */

enum { PACKET_INPUT, PACKET_PING, PACKET_SNAPSHOT };

typedef struct packet {
    uint16_t kind;
    uint16_t length; /* payload bytes */
    uint32_t sequence;
    unsigned char payload[];
} packet;

#define MTU 1400
#define RESEND_WINDOW 32

/* A packet with `length` payload bytes, or NULL when the arena is full. */
static packet *packet_new(ca_arena *arena, rng *r, uint16_t kind, size_t length, uint32_t seq)
{
    packet *p = ca_alloc(arena, sizeof(packet) + length);
    if (p) {
        p->kind = kind;
        p->length = (uint16_t)length;
        p->sequence = seq;
        for (size_t i = 0; i < length; i++)
            p->payload[i] = (unsigned char)rng_next(r);
    }
    return p;
}

/*
 * The net thread receives packets and sends snapshots. Pings are answered
 * and freed here. Inputs go to gameplay, which frees them (ca_free_any).
 * Reliable snapshots stay in a resend window until they are acknowledged a
 * few frames later. So packets have three lifetimes: immediate, handed to
 * another thread, and several frames long.
 */
static void *net_thread(void *arg)
{
    (void)arg;
    rng r = {0x5EED0004u};

    /* The net module is written as if it were a plug-in that sees no
     * CA_ARENA_DECLARE. It knows its arena by name from its configuration
     * and looks it up once at start-up (O(arenas)). */
    ca_arena *arena = ca_arena_find("net");
    if (!arena) {
        fprintf(stderr, "game: no arena named \"net\": %s\n", strerror(errno));
        abort();
    }

    struct {
        packet *packet;
        unsigned acked_in; /* the frame in which the peer acknowledges it */
    } window[RESEND_WINDOW] = {{0}};
    uint32_t sequence = 0;

    for (unsigned frame = 0; frame < FRAMES; frame++) {
        /* Receive. */
        size_t arrived = rng_range(&r, 1, 6);
        for (size_t i = 0; i < arrived; i++) {
            bool input = rng_range(&r, 0, 9) < 6;
            packet *p = packet_new(arena, &r, input ? PACKET_INPUT : PACKET_PING,
                                   rng_range(&r, 16, MTU), sequence++);
            if (!p)
                continue; /* dropped, as a full socket buffer would */
            report.packets_in++;
            if (input && mailbox_post(&to_physics, p, frame))
                report.packets_handed++;
            else
                ca_free(arena, p); /* a ping is answered at once */
        }

        /* Acknowledgements free the snapshots they cover. */
        for (size_t i = 0; i < RESEND_WINDOW; i++)
            if (window[i].packet && window[i].acked_in <= frame) {
                ca_free(arena, window[i].packet);
                window[i].packet = NULL;
            }

        /* Send this frame's snapshot and keep it until it is acked. */
        for (size_t i = 0; i < RESEND_WINDOW; i++)
            if (!window[i].packet) {
                window[i].packet =
                    packet_new(arena, &r, PACKET_SNAPSHOT, rng_range(&r, 64, MTU), sequence++);
                window[i].acked_in = frame + (unsigned)rng_range(&r, 2, 12);
                report.packets_out += window[i].packet != NULL;
                break;
            }
        photo_point(frame);
        end_frame();
    }

    /* Disconnect: nothing will acknowledge the snapshots in flight. */
    for (size_t i = 0; i < RESEND_WINDOW; i++)
        ca_free(arena, window[i].packet);
    return NULL;
}

/* ------------------------------------------------------------------ main */

/*
 * A bad free. ca_free would call the fault handler, which by default prints
 * one line and aborts. An engine would install its own handler with
 * ca_set_fault_handler to log and break into the debugger. ca_free_checked
 * returns the fault instead, and leaves the arena unchanged.
 */
static bool show_bad_free(void)
{
    ca_arena *arena = CA_ARENA(render);
    unsigned char *buffer = ca_alloc(arena, 1000);
    if (!buffer)
        return false;
    ca_fault fault = ca_free_checked(arena, buffer + 16); /* not the start */
    printf("ca_free_checked(render, interior pointer): fault %d, \"%s\"\n", (int)fault,
           ca_fault_name(fault));
    ca_free(arena, buffer); /* the allocation itself is intact */
    return fault == CA_FAULT_INTERIOR;
}

/* Print one row per registered arena and check each one. Returns true when
 * all of them are consistent and empty. Call it only when the arenas are
 * quiet: ca_arena_check needs no operation in flight. */
static bool report_arenas(void)
{
    ca_arena *arenas[16];
    size_t n = ca_arena_list(arenas, sizeof arenas / sizeof arenas[0]);
    if (n > sizeof arenas / sizeof arenas[0])
        n = sizeof arenas / sizeof arenas[0];

    printf("\nchunk in bytes; chunks, used, peak and free run (the longest) in chunks;\n"
           "live: allocations; requested: bytes, ever; fail: allocations refused;\n"
           "grown: resizes in place; moved: reallocs that copied\n");
    printf("%-8s %-6s %5s %6s %5s %5s %5s %10s %5s %6s %6s %9s\n", "arena", "layer", "chunk",
           "chunks", "used", "peak", "live", "requested", "fail", "grown", "moved", "free run");
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        ca_stats s;
        if (ca_arena_stats(arenas[i], &s) != 0) {
            fprintf(stderr, "game: ca_arena_stats: %s\n", strerror(errno));
            ok = false;
            continue;
        }
        printf("%-8s %-6s %5zu %6zu %5zu %5zu %5zu %10zu %5zu %6zu %6zu %9zu\n", s.name,
               ca_lock_name(s.lock), s.chunk_size, s.chunks_total, s.chunks_used, s.chunks_peak,
               s.allocations, s.bytes_requested, s.failures, s.grows_in_place, s.moves,
               s.largest_free_run);

        const char *broken = ca_arena_check(arenas[i]);
        if (broken) {
            fprintf(stderr, "game: arena \"%s\" is inconsistent: %s\n", s.name, broken);
            ok = false;
        }
        if (s.chunks_used != 0 || s.allocations != 0) {
            fprintf(stderr, "game: arena \"%s\" leaks %zu allocations (%zu chunks)\n", s.name,
                    s.allocations, s.chunks_used);
            ok = false;
        }
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        photo_path = argv[1];
    /* No set-up call: the arenas registered themselves before main. */
    bool ok = show_bad_free();

    if (pthread_barrier_init(&frame_end, NULL, THREADS) != 0) {
        fprintf(stderr, "game: pthread_barrier_init failed\n");
        return EXIT_FAILURE;
    }
    void *(*const subsystems[THREADS])(void *) = {render_thread, audio_thread, physics_thread,
                                                  net_thread};
    pthread_t threads[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, subsystems[i], NULL) != 0) {
            fprintf(stderr, "game: pthread_create failed\n");
            return EXIT_FAILURE; /* the others wait at the barrier forever: just leave */
        }
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&frame_end);

    printf("%d frames on %d threads\n", FRAMES, THREADS);
    printf("render:  %zu draw calls recorded, %zu KiB uploaded\n", report.draw_calls,
           report.upload_bytes / 1024);
    printf("audio:   music track %s; %zu impact sounds played, %zu dropped\n",
           report.music_streamed ? "did not fit (ENOMEM): streamed instead" : "loaded whole",
           report.sounds_played, report.sounds_dropped);
    printf("physics: %zu contacts (%zu dropped), %zu debug lines, %zu remote inputs applied\n",
           report.contacts, report.contacts_dropped, report.debug_lines, report.inputs_applied);
    printf("net:     %zu packets in (%zu handed to gameplay), %zu snapshots out\n",
           report.packets_in, report.packets_handed, report.packets_out);

    ok = report_arenas() && ok;
    printf("\nthe arenas' figures as JSON (ca_stats_json_all):\n");
    if (ca_stats_json_all(stdout) != 0) {
        fprintf(stderr, "game: ca_stats_json_all: %s\n", strerror(errno));
        ok = false;
    }
    if (!photo_failed)
        printf("\nthe arenas halfway through, drawn by ca_map_svg_all: %s\n", photo_path);
    ok = ok && !photo_failed;
    printf("\n%s\n", ok ? "every arena is consistent and empty" : "FAILED");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
