/* SPDX-License-Identifier: MIT */
/*
 * bench/peers.c — detecting the allocator that serves malloc, finding the
 * peers' libraries, and running a child under LD_PRELOAD (see peers.h).
 *
 * Detection checks that each marker symbol lives in the object that
 * defines malloc: dlsym on a handle also searches that object's
 * dependencies (libc among them), so a marker found elsewhere says
 * nothing. Function pointers are copied out of dlsym's void * with memcpy,
 * the ISO-clean way.
 */
#define _GNU_SOURCE
#include "bench/peers.h"

#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------ detection */

/* `name` if the object `obj` defines it (any object when obj is NULL). */
static void *marker(void *handle, const char *obj, const char *name)
{
    void *sym = dlsym(handle, name);
    if (sym == NULL || obj == NULL)
        return sym;
    Dl_info info;
    if (dladdr(sym, &info) == 0 || info.dli_fname == NULL || strcmp(info.dli_fname, obj) != 0)
        return NULL;
    return sym;
}

void allocator_detect(allocator_id *id)
{
    memset(id, 0, sizeof *id);
    snprintf(id->name, sizeof id->name, "unknown");
    snprintf(id->version, sizeof id->version, "?");

    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *obj = NULL;
    if (m != NULL && dladdr(m, &info) != 0 && info.dli_fname != NULL) {
        snprintf(id->object, sizeof id->object, "%s", info.dli_fname);
        obj = id->object;
    }
    /* Look inside the object that defines malloc; failing that (malloc in
     * the main program, say), in the global scope. */
    void *handle = obj != NULL ? dlopen(obj, RTLD_NOW | RTLD_NOLOAD) : NULL;
    void *scope = handle != NULL ? handle : RTLD_DEFAULT;
    const char *in = handle != NULL ? obj : NULL;
    void *sym;

    if ((sym = marker(scope, in, "mallctl")) != NULL) {
        int (*mallctl)(const char *, void *, size_t *, void *, size_t);
        memcpy(&mallctl, &sym, sizeof sym);
        const char *v = NULL;
        size_t len = sizeof v;
        snprintf(id->name, sizeof id->name, "jemalloc");
        if (mallctl("version", &v, &len, NULL, 0) == 0 && v != NULL)
            snprintf(id->version, sizeof id->version, "%s", v);
    } else if ((sym = marker(scope, in, "mi_version")) != NULL) {
        int (*mi_version)(void);
        memcpy(&mi_version, &sym, sizeof sym);
        int v = mi_version(); /* major * 100 + minor * 10 + patch */
        snprintf(id->name, sizeof id->name, "mimalloc");
        snprintf(id->version, sizeof id->version, "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
    } else if ((sym = marker(scope, in, "tc_version")) != NULL) {
        const char *(*tc_version)(int *, int *, const char **);
        memcpy(&tc_version, &sym, sizeof sym);
        int major = 0, minor = 0;
        const char *patch = NULL;
        const char *v = tc_version(&major, &minor, &patch);
        snprintf(id->name, sizeof id->name, "tcmalloc");
        snprintf(id->version, sizeof id->version, "%s", v != NULL ? v : "?");
    } else if (marker(scope, in, "MallocExtension_GetNumericProperty") != NULL) {
        snprintf(id->name, sizeof id->name, "tcmalloc");
    } else if ((sym = marker(scope, in, "gnu_get_libc_version")) != NULL) {
        const char *(*libc_version)(void);
        memcpy(&libc_version, &sym, sizeof sym);
        snprintf(id->name, sizeof id->name, "glibc");
        snprintf(id->version, sizeof id->version, "%s", libc_version());
    } else {
        /* A peer added later: known by its marker, version unknown. */
        for (unsigned i = 0; i < PEER_COUNT; i++)
            if (marker(scope, in, bench_peers[i].marker) != NULL) {
                snprintf(id->name, sizeof id->name, "%s", bench_peers[i].label);
                break;
            }
    }
    if (handle != NULL)
        dlclose(handle);
}

/* ------------------------------------------------------------ locating */

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__i386__)
#define MULTIARCH "i386-linux-gnu"
#elif defined(__arm__)
#define MULTIARCH "arm-linux-gnueabihf"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define MULTIARCH "powerpc64le-linux-gnu"
#elif defined(__s390x__)
#define MULTIARCH "s390x-linux-gnu"
#elif defined(__riscv) && __riscv_xlen == 64
#define MULTIARCH "riscv64-linux-gnu"
#else
#define MULTIARCH ""
#endif

/* The peers, one line each: label, library files, marker symbol. The
 * first three also have their versions read in allocator_detect. */
peer bench_peers[] = {
    {"jemalloc", {"libjemalloc.so.2", "libjemalloc.so", NULL}, "mallctl", false, ""},
    {"mimalloc", {"libmimalloc.so.2", "libmimalloc.so.2.0", "libmimalloc.so", NULL}, "mi_version",
     false, ""},
    {"tcmalloc", {"libtcmalloc_minimal.so.4", "libtcmalloc.so.4", "libtcmalloc_minimal.so", NULL},
     "tc_version", false, ""},
#ifdef CA_BENCH_MALLOC_LIB
    /* this project's malloc: the one just built (a path), detected by a
     * function only chunkarena exports */
    {"chunkarena-malloc", {CA_BENCH_MALLOC_LIB, NULL}, "ca_arena_find", false, ""},
#endif
};
const unsigned PEER_COUNT = sizeof bench_peers / sizeof bench_peers[0];
_Static_assert(sizeof bench_peers / sizeof bench_peers[0] <= PEER_MAX,
               "raise PEER_MAX (ca-bench's option bits have room for 29 backends)");

static const char *const lib_dirs[] = {
    "/usr/lib/" MULTIARCH, "/lib/" MULTIARCH, "/usr/lib64", "/usr/local/lib", "/usr/lib", "/lib64",
    NULL,
};

void peers_locate(void)
{
    for (size_t i = 0; i < PEER_COUNT; i++) {
        peer *p = &bench_peers[i];
        p->found = false;
        for (size_t f = 0; p->files[f] != NULL && !p->found; f++)
            if (strchr(p->files[f], '/') != NULL) { /* a path: made absolute for the child */
                p->found = realpath(p->files[f], p->path) != NULL && access(p->path, R_OK) == 0;
            }
        for (size_t d = 0; lib_dirs[d] != NULL && !p->found; d++) {
            if (strcmp(lib_dirs[d], "/usr/lib/") == 0 || strcmp(lib_dirs[d], "/lib/") == 0)
                continue; /* no multiarch name for this architecture */
            for (size_t f = 0; p->files[f] != NULL && !p->found; f++) {
                if (strchr(p->files[f], '/') != NULL)
                    continue;
                snprintf(p->path, sizeof p->path, "%s/%s", lib_dirs[d], p->files[f]);
                p->found = access(p->path, R_OK) == 0;
            }
        }
        if (!p->found)
            p->path[0] = '\0';
    }
}

/* -------------------------------------------------------------- children */

int peer_run(const peer *p, char *const argv[], void (*on_line)(const char *line, void *ctx),
             void *ctx)
{
    return child_run(p->path, NULL, argv, on_line, ctx);
}

int child_run(const char *lib, const char *prog, char *const argv[],
              void (*on_line)(const char *line, void *ctx), void *ctx)
{
    /* The environment, with LD_PRELOAD replaced by lib (or kept, without lib). */
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    char *preload = malloc((lib ? strlen(lib) : 0) + sizeof "LD_PRELOAD=");
    if (envp == NULL || preload == NULL) {
        free(envp);
        free(preload);
        return -1;
    }
    sprintf(preload, "LD_PRELOAD=%s", lib ? lib : "");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (lib == NULL || strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            envp[k++] = environ[i];
    if (lib != NULL)
        envp[k++] = preload;
    envp[k] = NULL;

    int fds[2];
    int status = -1;
    if (pipe(fds) != 0)
        goto out;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int err = prog != NULL ? posix_spawnp(&pid, prog, &fa, NULL, argv, envp)
                           : posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        goto out;
    }
    FILE *in = fdopen(fds[0], "r");
    if (in != NULL) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, in)) >= 0) {
            if (len > 0 && line[len - 1] == '\n')
                line[len - 1] = '\0';
            on_line(line, ctx);
        }
        free(line);
        fclose(in);
    } else {
        close(fds[0]);
    }
    int ws;
    if (waitpid(pid, &ws, 0) == pid && WIFEXITED(ws))
        status = WEXITSTATUS(ws);
out:
    free(preload);
    free(envp);
    return status;
}
