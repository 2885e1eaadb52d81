/* SPDX-License-Identifier: MIT */
/*
 * tests/test_views.c — the JSON statistics and the SVG map, read back by
 * real parsers.
 *
 * Sets up three arenas (fragmented under a lock, half used under "hint"
 * with a name that needs escaping and holds a byte that is not UTF-8, and
 * an empty one), writes ca_arena_stats_json and ca_arena_map_svg of the
 * first, ca_stats_json_all and ca_map_svg_all of all three, and the
 * figures ca_arena_stats gives, to files; tests/check_views.py parses them
 * with Python's json and xml.etree and compares. Without python3 the test
 * is skipped (exit 77), never passed. Also: the errors (NULL arguments,
 * a stream that fails) and that a failed write changes nothing.
 * Single threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/chunkarena.h"

#define SKIP 77

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test_views: FAIL: %s (errno %d: %s)\n", what, errno, strerror(errno));
        exit(EXIT_FAILURE);
    }
}

static ca_arena *make(const char *name, size_t nchunks, size_t chunk_size, ca_lock lock)
{
    size_t len = (nchunks * chunk_size + 65536 + 4095) & ~(size_t)4095; /* aligned_alloc wants a multiple */
    void *mem = aligned_alloc(4096, len);
    expect(mem != NULL, "aligned_alloc");
    ca_config c = {.chunk_size = chunk_size, .lock = lock};
    ca_arena *a = ca_arena_create(name, mem, len, &c);
    expect(a != NULL, "ca_arena_create");
    return a;
}

/* The figures of a, as tests/check_views.py reads them. */
static void put_expected(FILE *f, ca_arena *a)
{
    ca_stats s;
    expect(ca_arena_stats(a, &s) == 0, "ca_arena_stats");
    fputs("arena ", f);
    for (const unsigned char *p = (const unsigned char *)s.name; *p; p++)
        fprintf(f, "%02x", *p);
    fprintf(f,
            "\nlock %s\nchunk_size %zu\nchunks_total %zu\nchunks_used %zu\nchunks_peak %zu\n"
            "allocations %zu\nbytes_requested %zu\nfailures %zu\ngrows_in_place %zu\n"
            "shrinks_in_place %zu\nmoves %zu\nfree_runs %zu\nlargest_free_run %zu\n"
            "chunks_cached %zu\ncache_hits %zu\ncache_misses %zu\nruns_examined %zu\n",
            ca_lock_name(s.lock), s.chunk_size, s.chunks_total, s.chunks_used, s.chunks_peak,
            s.allocations, s.bytes_requested, s.failures, s.grows_in_place, s.shrinks_in_place,
            s.moves, s.free_runs, s.largest_free_run, s.chunks_cached, s.cache_hits,
            s.cache_misses, s.runs_examined);
    for (unsigned k = 0; k < CA_FREE_RUN_CLASSES; k++)
        if (s.free_run_histogram[k])
            fprintf(f, "hist %u %zu\n", k, s.free_run_histogram[k]);
    fputs("end\n", f);
}

static FILE *open_out(const char *dir, const char *name, char *path)
{
    snprintf(path, 256, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    expect(f != NULL, path);
    return f;
}

int main(void)
{
    if (system("python3 -c 'import json, xml.etree.ElementTree' >/dev/null 2>&1") != 0) {
        puts("test_views: SKIP: no python3 to parse the output with");
        return SKIP;
    }
    const char *srcdir = getenv("srcdir");
    if (!srcdir)
        srcdir = ".";

    /* Fragmented: one-chunk blocks, every third one kept; a few grown. */
    ca_arena *frag = make("views-fragmented", 3000, 64, CA_LOCK_MUTEX);
    void *p[3000];
    size_t n = 0;
    while (n < 3000 && (p[n] = ca_alloc(frag, 64)) != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        if (i % 3)
            ca_free(frag, p[i]);
    expect(ca_resize(frag, p[0], 128) == 0, "ca_resize in place");
    expect(ca_alloc(frag, 1 << 30) == NULL, "a failed allocation");

    /* Half used, under hint, with a name to escape. */
    ca_arena *half = make("views \"half\"\\\n\xff", 10000, 16, CA_LOCK_HINT);
    expect(ca_alloc(half, 16 * 5000) != NULL, "ca_alloc half");
    ca_arena *empty = make("views-empty", 100, 256, CA_LOCK_SPIN);
    (void)empty;

    char dir[] = "/tmp/test_views.XXXXXX";
    expect(mkdtemp(dir) != NULL, "mkdtemp");
    char want[256], one_json[256], all_json[256], one_svg[256], all_svg[256];
    FILE *f = open_out(dir, "expected", want);
    ca_arena *list[8];
    size_t count = ca_arena_list(list, 8);
    expect(count == 3 && list[2] == frag, "three arenas, the fragmented one first registered");
    /* The fragmented one first (what the single-arena files show), then
     * all in registration order (newest first). */
    put_expected(f, frag);
    for (size_t i = 0; i < count; i++)
        put_expected(f, list[i]);
    expect(fclose(f) == 0, "fclose expected");

    f = open_out(dir, "one.json", one_json);
    expect(ca_arena_stats_json(frag, f) == 0, "ca_arena_stats_json");
    expect(fclose(f) == 0, "fclose");
    f = open_out(dir, "all.json", all_json);
    expect(ca_stats_json_all(f) == 0, "ca_stats_json_all");
    expect(fclose(f) == 0, "fclose");
    f = open_out(dir, "one.svg", one_svg);
    expect(ca_arena_map_svg(frag, f) == 0, "ca_arena_map_svg");
    expect(fclose(f) == 0, "fclose");
    f = open_out(dir, "all.svg", all_svg);
    expect(ca_map_svg_all(f) == 0, "ca_map_svg_all");
    expect(fclose(f) == 0, "fclose");

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/check_views.py' '%s' '%s' '%s' '%s' '%s'", srcdir,
             want, one_json, all_json, one_svg, all_svg);
    fflush(stdout);
    int rc = system(cmd);
    expect(rc == 0, "tests/check_views.py found a fault (see above)");

    /* Errors: NULL arguments, and streams that fail, which change nothing. */
    ca_stats before, after;
    expect(ca_arena_stats(frag, &before) == 0, "stats");
    errno = 0;
    expect(ca_arena_stats_json(NULL, stdout) == -1 && errno == EINVAL, "json of NULL: EINVAL");
    errno = 0;
    expect(ca_arena_stats_json(frag, NULL) == -1 && errno == EINVAL, "json to NULL: EINVAL");
    errno = 0;
    expect(ca_stats_json_all(NULL) == -1 && errno == EINVAL, "json_all to NULL: EINVAL");
    errno = 0;
    expect(ca_arena_map_svg(NULL, stdout) == -1 && errno == EINVAL, "svg of NULL: EINVAL");
    errno = 0;
    expect(ca_map_svg_all(NULL) == -1 && errno == EINVAL, "svg_all to NULL: EINVAL");
    FILE *full = fopen("/dev/full", "w");
    expect(full != NULL, "fopen /dev/full");
    setvbuf(full, NULL, _IONBF, 0);
    errno = 0;
    expect(ca_arena_stats_json(frag, full) == -1 && errno == ENOSPC, "json to /dev/full: ENOSPC");
    errno = 0;
    expect(ca_stats_json_all(full) == -1 && errno == ENOSPC, "json_all to /dev/full: ENOSPC");
    errno = 0;
    expect(ca_arena_map_svg(frag, full) == -1 && errno == ENOSPC, "svg to /dev/full: ENOSPC");
    errno = 0;
    expect(ca_map_svg_all(full) == -1 && errno == ENOSPC, "svg_all to /dev/full: ENOSPC");
    fclose(full);
    expect(ca_arena_stats(frag, &after) == 0 && memcmp(&before, &after, sizeof before) == 0,
           "failed writes changed the figures");

    const char *files[] = {want, one_json, all_json, one_svg, all_svg};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(dir);
    puts("test_views: PASS");
    return EXIT_SUCCESS;
}
