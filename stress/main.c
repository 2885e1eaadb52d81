/* SPDX-License-Identifier: MIT */
/*
 * stress/main.c — the stress harness (stress/stress.h), the command line: the
 * options, their parsing and main.
 */
#include "stress/stress.h"

/* ---- the command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ca-stress [--layer=NAME|api|all] [--threads=N] [--seconds=S] [--ops=N]\n"
            "                 [--seed=X] [--chunk-shift=K] [--chunks=N] [--help]\n"
            "\n"
            "Stress every sync layer (none, spin, ticket, mutex, hint) with threads that\n"
            "allocate, resize, move and free while checking a pattern in every byte\n"
            "(phase \"pattern\"), then hammer the free-validation protocol with adjacent\n"
            "one-chunk allocations in a full arena (phase \"hammer\", 2+ threads); then\n"
            "the same through the public API over an arena of each layer and a static\n"
            "one at once, with hand-offs between threads and bad pointers (phase \"api\").\n"
            "Phases pattern and hammer run twice: on the layer alone, then through\n"
            "per-thread caches in front of it, each with half of --seconds and --ops.\n"
            "\n"
            "  --layer=NAME    one layer, api (the public API phase alone), or all\n"
            "                  (default all)\n"
            "  --threads=N     threads per phase, 1..%u (default %u; \"none\" always 1)\n"
            "  --seconds=S     duration of each phase of each layer\n"
            "  --ops=N         ops per thread and phase; with --seconds, whichever ends\n"
            "                  first; with neither, %.2f s or %u ops%s\n"
            "  --seed=X        the seed (decimal or 0x hex; default from time and pid);\n"
            "                  printed first, so a failure can be replayed: with the same\n"
            "                  layer, threads and sizes every thread makes the same\n"
            "                  choices again (the interleaving of threads differs)\n"
            "  --chunk-shift=K chunk size 2^K bytes, 4..20 (default %u), phases pattern\n"
            "                  and hammer (phase api has its own: 16 to 4096)\n"
            "  --chunks=N      chunks in the pattern arena (default %zu, at most 1 GiB\n"
            "                  of them); the hammer arena has %u chunks per thread, each\n"
            "                  arena of phase api %u\n"
            "\n"
            "Prints one line per layer and phase, then OK or FAILED. Exit status 0 if\n"
            "all passed, 1 if anything failed, 2 on a bad argument.\n",
            MAX_THREADS, DEFAULT_THREADS, DEFAULT_SECONDS, (unsigned)DEFAULT_OPS,
            UNDER_TSAN ? " (ThreadSanitizer build)" : "", DEFAULT_SHIFT, DEFAULT_CHUNKS,
            HAMMER_CHUNKS_PER_THREAD, API_CHUNKS);
}

/* A bad command line: say what is wrong, and exit with status 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void bad_argument(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ca-stress: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ca-stress --help'.\n");
    va_end(ap);
    exit(2);
}

/* An unsigned integer, decimal or 0x hex, nothing else around it. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false; /* strtoull would take blanks and a minus sign */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static uint64_t parse_count(const char *arg, const char *value, uint64_t lo, uint64_t hi)
{
    uint64_t v;
    if (!parse_u64(value, &v) || v < lo || v > hi)
        bad_argument("%s: expected a whole number from %" PRIu64 " to %" PRIu64, arg, lo, hi);
    return v;
}

/* The layer called `name`, or CA_LOCK_DEFAULT (which is none). */
static ca_lock kind_named(const char *name)
{
    for (ca_lock k = CA_LOCK_NONE; k <= CA_LOCK_HINT; k++)
        if (strcmp(name, ca_lock_name(k)) == 0)
            return k;
    return CA_LOCK_DEFAULT;
}

static void parse_options(int argc, char **argv, options *o)
{
    bool have_seconds = false, have_ops = false, have_seed = false, have_chunks = false;
    o->layer = LAYER_ALL;
    o->threads = DEFAULT_THREADS;
    o->seconds = 0;
    o->ops = NO_LIMIT;
    o->shift = DEFAULT_SHIFT;
    o->chunks = DEFAULT_CHUNKS;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        const char *value = eq ? eq + 1 : "";
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
#define IS(name) (name_len == sizeof(name) - 1 && strncmp(arg, name, name_len) == 0 && eq)
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (IS("--layer")) {
            ca_lock k;
            if (strcmp(value, "all") == 0)
                o->layer = LAYER_ALL;
            else if (strcmp(value, "api") == 0)
                o->layer = LAYER_API;
            else if ((k = kind_named(value)) != CA_LOCK_DEFAULT)
                o->layer = (int)k;
            else
                bad_argument("--layer: unknown layer '%s' (none, spin, ticket, mutex, hint, api, "
                             "all)", value);
        } else if (IS("--threads")) {
            o->threads = (unsigned)parse_count(arg, value, 1, MAX_THREADS);
        } else if (IS("--seconds")) {
            char *end;
            errno = 0;
            double s = strtod(value, &end);
            if (*value == '\0' || *end || errno || !(s > 0) || s > 1e6)
                bad_argument("--seconds: expected a number of seconds above 0, got '%s'", value);
            o->seconds = s;
            have_seconds = true;
        } else if (IS("--ops")) {
            o->ops = parse_count(arg, value, 1, NO_LIMIT - 1);
            have_ops = true;
        } else if (IS("--seed")) {
            if (!parse_u64(value, &o->seed))
                bad_argument("--seed: expected a 64-bit number (decimal or 0x hex), got '%s'",
                             value);
            have_seed = true;
        } else if (IS("--chunk-shift")) {
            o->shift = (unsigned)parse_count(arg, value, CA_CORE_MIN_CHUNK_SHIFT, 20);
        } else if (IS("--chunks")) {
            o->chunks = (size_t)parse_count(arg, value, 1, MAX_REGION);
            have_chunks = true;
        } else {
            bad_argument("unknown argument '%s'", arg);
        }
#undef IS
    }
    if (!have_seconds && !have_ops) {
        o->seconds = DEFAULT_SECONDS;
        o->ops = DEFAULT_OPS;
    }
    if (!have_chunks && o->chunks > MAX_REGION >> o->shift)
        o->chunks = MAX_REGION >> o->shift; /* large chunks: a smaller default arena */
    if (o->chunks > MAX_REGION >> o->shift)
        bad_argument("--chunks: the pattern arena would exceed 1 GiB (lower --chunks or "
                     "--chunk-shift)");
    if ((size_t)o->threads * HAMMER_CHUNKS_PER_THREAD > MAX_REGION >> o->shift)
        bad_argument("--threads: the hammer arena would exceed 1 GiB (lower --threads or "
                     "--chunk-shift)");
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ca_splitmix64 g = ca_splitmix64_seed(((uint64_t)ts.tv_sec * 1000000000u +
                                              (uint64_t)ts.tv_nsec) ^
                                             ((uint64_t)getpid() << 40));
        o->seed = ca_splitmix64_next(&g);
    }
}

int main(int argc, char **argv)
{
    options o;
    parse_options(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("seed=0x%016" PRIx64 "\n", o.seed);
    printf("layers=%s threads=%u",
           o.layer == LAYER_ALL   ? "all"
           : o.layer == LAYER_API ? "api"
                                  : ca_lock_name((ca_lock)o.layer),
           o.threads);
    if (o.seconds > 0)
        printf(" seconds=%.2f", o.seconds);
    if (o.ops != NO_LIMIT)
        printf(" ops=%" PRIu64, o.ops);
    printf(" chunk_shift=%u chunks=%zu tsan=%s\n", o.shift, o.chunks, UNDER_TSAN ? "yes" : "no");

    /* Phases pattern and hammer run twice, caches off then on, on half
     * the budget each: the run takes as long as one pass would. */
    options half = o;
    half.seconds = o.seconds / 2;
    if (o.ops != NO_LIMIT)
        half.ops = o.ops > 1 ? o.ops / 2 : 1;
    bool ok = true;
    for (ca_lock k = CA_LOCK_NONE; k <= CA_LOCK_HINT; k++) {
        if (o.layer != LAYER_ALL && o.layer != (int)k)
            continue;
        for (int caches = 0; caches < 2; caches++) {
            ok &= run_phase(&half, k, PHASE_PATTERN, caches);
            ok &= run_phase(&half, k, PHASE_HAMMER, caches);
        }
    }
    if (o.layer == LAYER_ALL || o.layer == LAYER_API)
        ok &= run_api(&o);
    puts(ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
