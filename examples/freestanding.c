/* SPDX-License-Identifier: MIT */
/*
 * examples/freestanding.c — the chunkarena core with no libc.
 *
 * This program uses only core/ (the bitmap chunk allocator), as a "none"
 * arena uses it: one thread, no lock. There is no C library, no C runtime
 * and no threads. It provides its own entry point and talks to the kernel only
 * through two system calls, write and exit, made with inline assembly.
 * It serves two purposes. First, it proves that the core needs nothing from
 * libc: it is linked with -nostdlib -static, so any libc symbol the core
 * used would be an undefined reference and the link would fail. (The
 * library's build proves the same with -z defs on a shared object.) Second,
 * it shows the minimal embedded use: a firmware, a kernel or a boot loader
 * gives the core a static region and a static metadata buffer and
 * allocates from it. There's nothing to initialise but ca_core_init,
 * because the loader maps .bss zero-filled and there are no constructors.
 * The program allocates, frees, resizes in place, tries bad frees, fills
 * the heap and empties it, and runs ca_core_check after each step. It exits
 * with 0 if every step held, or else with the number of the first step that
 * failed.
 *
 * Build (x86_64 or aarch64 Linux):
 *
 *     gcc -std=c11 -O2 -ffreestanding -nostdlib -static -fno-stack-protector \
 *         -fno-builtin -I. examples/freestanding.c core/core.c core/check.c \
 *         -o freestanding && ./freestanding
 */
#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__))
#error "examples/freestanding.c: its entry point and system calls are for x86_64 and aarch64 Linux"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ----------------------------------------------------- the bare minimum */

/*
 * GCC may call memset and memcpy even in freestanding code: for struct
 * copies, for large initialisers, and for loops it recognises as a fill or
 * a copy. -fno-builtin does not stop that. GCC's documentation says a
 * freestanding environment must provide these functions (and memmove and
 * memcmp, which this program's code does not need). So the program provides
 * the two. The byte stores go through a volatile pointer so that the
 * compiler can't turn the loop into a call to the function being defined.
 * The core avoids the constructs that need them (it clears its map with
 * atomic stores), but an unoptimised build may still call memset to zero a
 * local array: clang -O0 does.
 */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);

void *memset(void *dst, int c, size_t n)
{
    volatile unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    volatile unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

/* System calls, Linux numbering. Three arguments are enough for write;
 * exit uses one. */
#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT_GROUP 231

static long syscall3(long number, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94

static long syscall3(long number, long a, long b, long c)
{
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
#endif

/* Terminate the whole process with `status`. This is what _exit does: no
 * atexit handlers, no stdio buffers to flush, because there are none. */
static _Noreturn void exit_with(int status)
{
    for (;;)
        (void)syscall3(SYS_EXIT_GROUP, status, 0, 0);
}

static size_t length(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Write a string to file descriptor fd. Errors are ignored: the exit status
 * is what counts. */
static void put(int fd, const char *s)
{
    (void)syscall3(SYS_WRITE, fd, (long)(uintptr_t)s, (long)length(s));
}

/* Write n in decimal. */
static void put_number(int fd, size_t n)
{
    char digits[24];
    size_t i = sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    put(fd, &digits[i]);
}

/* ------------------------------------------------------------- the heap */

/*
 * The heap: 1000 chunks of 64 bytes in .bss. The core needs the region
 * aligned to the chunk size. It is aligned to 1024 here so that the
 * 1024-aligned allocation of step 5 lands on the same chunk wherever the
 * linker puts the region, and the run is the same everywhere. The bookkeeping is in a
 * separate buffer, sized by the constant expression CA_CORE_META_WORDS:
 * 2 bits a chunk, plus summaries. 1000 is not a multiple of 32 on purpose:
 * the last map word has padding chunks, which the core marks as used so
 * that they are never handed out.
 */
#define HEAP_SHIFT 6u /* 64-byte chunks */
#define HEAP_CHUNK ((size_t)1 << HEAP_SHIFT)
#define HEAP_CHUNKS 1000u

static _Alignas(1024) unsigned char heap_region[HEAP_CHUNKS * HEAP_CHUNK];
static uint64_t heap_meta[CA_CORE_META_WORDS(HEAP_CHUNKS)];
static ca_core heap;
static ca_core_ctx heap_ctx; /* the next-fit hint and the counters */

/*
 * The critical section. This program has one thread, so it needs no lock
 * (as a "none" arena takes none) and these compile to nothing. Every heap
 * operation still goes between them, because that is where a system with
 * interrupts would put its critical section (mask interrupts, or a
 * spinlock on SMP). The core runs in exclusive mode (shared == false): the
 * holder of the critical section is its only user.
 */
static void heap_lock(void)
{
}

static void heap_unlock(void)
{
}

static void *heap_alloc(size_t size, size_t align)
{
    ca_core_status st;
    heap_lock();
    void *p = ca_core_alloc(&heap, &heap_ctx, size, align, 0, false, &st);
    heap_unlock();
    return p; /* NULL: st says why (NOMEM or BADALIGN) */
}

static ca_core_status heap_free(void *p)
{
    heap_lock();
    ca_core_status st = ca_core_free(&heap, &heap_ctx, p, false);
    heap_unlock();
    return st;
}

static ca_core_status heap_resize(void *p, size_t size)
{
    heap_lock();
    ca_core_status st = ca_core_resize(&heap, &heap_ctx, p, size, false);
    heap_unlock();
    return st;
}

static size_t heap_usable(const void *p)
{
    size_t bytes = 0;
    heap_lock();
    ca_core_status st = ca_core_usable(&heap, p, &bytes, false);
    heap_unlock();
    return st == CA_CORE_OK ? bytes : 0;
}

/* ------------------------------------------------------------ the steps */

/* The number of the step running, which is the exit status if it fails. */
static int step;

/* Fail the current step: say which one and why, then exit with its number. */
static _Noreturn void fail(const char *why)
{
    put(2, "freestanding: step ");
    put_number(2, (size_t)step);
    put(2, " failed: ");
    put(2, why);
    put(2, "\n");
    exit_with(step);
}

static void expect(bool holds, const char *what)
{
    if (!holds)
        fail(what);
}

/* Every invariant of the heap, including the counters against the map. */
static void expect_consistent(void)
{
    const char *broken = ca_core_check(&heap, &heap_ctx.tally);
    if (broken)
        fail(broken);
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i);
}

static bool holds_fill(const unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i))
            return false;
    return true;
}

/* Pointers of the fill-the-heap step: at most one per chunk. */
static void *blocks[HEAP_CHUNKS];

/* A second core, over one 16 KiB region that carries its own bookkeeping. */
#define POOL_SHIFT 5u /* 32-byte chunks */
static _Alignas((size_t)1 << POOL_SHIFT) unsigned char pool_region[16384];
static ca_core pool;

/* Returns the number of blocks that filled the heap, for the message. */
static size_t run(void)
{
    step = 1; /* set up the heap over the static buffers */
    expect(ca_core_init(&heap, heap_region, HEAP_CHUNKS, HEAP_SHIFT, heap_meta,
                        CA_CORE_DEFAULT_WINDOW) == CA_CORE_OK,
           "ca_core_init refused the heap");
    ca_core_ctx_init(&heap_ctx, 0);
    expect_consistent();

    step = 2; /* three allocations: 100 bytes (2 chunks), 1000 (16), 0 (1) */
    unsigned char *a = heap_alloc(100, 0);
    unsigned char *b = heap_alloc(1000, 0);
    unsigned char *c = heap_alloc(0, 0);
    expect(a && b && c && a != b && b != c && a != c, "an allocation failed");
    expect(((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) % HEAP_CHUNK == 0,
           "an allocation is not aligned to the chunk size");
    expect(heap_usable(a) == 2 * HEAP_CHUNK && heap_usable(b) == 16 * HEAP_CHUNK &&
               heap_usable(c) == HEAP_CHUNK,
           "usable sizes are not whole chunks");
    fill(a, 100, 1);
    fill(b, 1000, 2);
    fill(c, HEAP_CHUNK, 3);
    expect_consistent();

    step = 3; /* bad frees are reported, and change nothing */
    unsigned char outside;
    expect(heap_free(b) == CA_CORE_OK, "freeing b failed");
    expect(heap_free(b) == CA_CORE_NOTALLOC, "a double free was not detected");
    expect(heap_free(a + 1) == CA_CORE_INTERIOR, "an interior pointer was not detected");
    expect(heap_free(&outside) == CA_CORE_FOREIGN, "a foreign pointer was not detected");
    expect(holds_fill(a, 100, 1) && holds_fill(c, HEAP_CHUNK, 3), "a neighbour was disturbed");
    expect_consistent();

    step = 4; /* resize in place: a grows into what was b, and shrinks back */
    expect(a < b && b < c, "the first allocations are not in order"); /* next fit from 0 */
    size_t room = (size_t)(c - a); /* a's chunks and b's old ones, up to c */
    expect(heap_resize(a, room) == CA_CORE_OK, "a did not grow into the free chunks after it");
    expect(heap_usable(a) == room, "a grew to the wrong size");
    expect(heap_resize(a, room + 1) == CA_CORE_NOMEM, "a grew over c");
    expect(holds_fill(a, 100, 1), "growing in place lost a's contents");
    expect(heap_resize(a, 64) == CA_CORE_OK && heap_usable(a) == HEAP_CHUNK,
           "shrinking a failed");
    expect_consistent();

    step = 5; /* alignment above the chunk size: only suitable start chunks */
    unsigned char *d = heap_alloc(200, 1024);
    expect(d && (uintptr_t)d % 1024 == 0, "an aligned allocation is misaligned");
    expect(heap_alloc(16, 48) == NULL, "an alignment that is not a power of two was taken");
    expect_consistent();

    step = 6; /* fill the heap with blocks of 1 to 4 chunks, until it refuses */
    size_t filled = 0;
    uint32_t random = 12345u;
    for (;;) {
        random = random * 1103515245u + 12345u; /* a fixed sequence */
        size_t size = ((random >> 16) % 4 + 1) * HEAP_CHUNK;
        void *p = heap_alloc(size, 0);
        if (!p)
            break;
        expect(filled < HEAP_CHUNKS, "more blocks than chunks");
        blocks[filled++] = p;
    }
    expect(filled > 0, "nothing fitted");
    expect_consistent();

    step = 7; /* free everything: the heap is one free run again */
    for (size_t i = 0; i < filled; i += 2) /* every other block first */
        expect(heap_free(blocks[i]) == CA_CORE_OK, "freeing a block failed");
    for (size_t i = 1; i < filled; i += 2)
        expect(heap_free(blocks[i]) == CA_CORE_OK, "freeing a block failed");
    expect(heap_free(a) == CA_CORE_OK && heap_free(c) == CA_CORE_OK && heap_free(d) == CA_CORE_OK,
           "freeing a, c or d failed");
    ca_core_usage usage;
    ca_core_scan(&heap, &usage, false);
    expect(usage.chunks_used == 0 && usage.allocations == 0 && usage.free_runs == 1 &&
               usage.largest_free_run == HEAP_CHUNKS,
           "the heap is not empty");
    expect_consistent();

    step = 8; /* ca_core_layout: metadata carved from the front of one region */
    size_t nchunks;
    void *meta, *base;
    ca_core_ctx pool_ctx;
    expect(ca_core_layout(pool_region, sizeof pool_region, POOL_SHIFT, NULL, NULL, &nchunks,
                          &meta, &base) == CA_CORE_OK,
           "ca_core_layout refused the pool");
    expect(ca_core_init(&pool, base, nchunks, POOL_SHIFT, meta, 1) == CA_CORE_OK,
           "ca_core_init refused the pool"); /* window 1: pure next fit */
    ca_core_ctx_init(&pool_ctx, 0);
    ca_core_status st;
    void *e = ca_core_alloc(&pool, &pool_ctx, 500, 0, 0, false, &st);
    expect(e && (unsigned char *)e >= (unsigned char *)base, "the pool handed out its metadata");
    expect(ca_core_alloc(&pool, &pool_ctx, sizeof pool_region, 0, 0, false, &st) == NULL &&
               st == CA_CORE_NOMEM,
           "the pool accepted more than it holds");
    expect(ca_core_check(&pool, &pool_ctx.tally) == NULL, "the pool is inconsistent");
    expect(ca_core_free(&pool, &pool_ctx, e, false) == CA_CORE_OK, "freeing from the pool failed");
    expect(ca_core_check(&pool, &pool_ctx.tally) == NULL, "the pool is inconsistent");

    return filled;
}

/* ----------------------------------------------------------- the entry */

/*
 * The kernel starts the program at _start with nothing set up but the stack
 * (argc, argv and the environment on it, none of which this program needs).
 * A few lines of assembly clear the frame pointer, align the stack as a C
 * call expects (on x86_64 it is 16-byte aligned at entry, and a C function
 * expects it 8 bytes off that, just after the call pushed the return
 * address), and call freestanding_main, which never returns.
 */
_Noreturn void freestanding_main(void);

#if defined(__x86_64__)
__asm__(".text\n"
        ".global _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    xor %ebp, %ebp\n"
        "    and $-16, %rsp\n"
        "    call freestanding_main\n"
        "    hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "    mov x29, #0\n" /* sp is always 16-byte aligned on aarch64 */
        "    mov x30, #0\n"
        "    bl freestanding_main\n"
        "    b .\n");
#endif

_Noreturn void freestanding_main(void)
{
    size_t filled = run();
    put(1, "freestanding: ok: heap of ");
    put_number(1, HEAP_CHUNKS);
    put(1, " chunks filled with ");
    put_number(1, filled);
    put(1, " blocks and emptied; ");
    put_number(1, (size_t)step);
    put(1, " steps, each checked by ca_core_check\n");
    exit_with(0);
}
