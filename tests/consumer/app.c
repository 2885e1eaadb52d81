/* SPDX-License-Identifier: MIT */
/*
 * tests/consumer/app.c — a C program against an installed chunkarena: a
 * static arena and a runtime one. Prints one line and exits 0 when every
 * check holds, 1 otherwise. Single threaded.
 */
#include <stdio.h>
#include <string.h>

#include <chunkarena.h>

CA_ARENA_DEFINE(consumer_c, "consumer-c", 64, 64, CA_LOCK_DEFAULT);

int main(void)
{
    static _Alignas(256) unsigned char mem[64 * 1024];
    ca_arena *a = ca_arena_create("consumer-runtime", mem, sizeof mem, NULL);
    char *s = ca_alloc(CA_ARENA(consumer_c), 32);
    char *t = a ? ca_alloc(a, 100) : NULL;
    if (s == NULL || t == NULL || ca_arena_find("consumer-c") != CA_ARENA(consumer_c) ||
        ca_arena_of(t) != a) {
        printf("app_c: FAIL\n");
        return 1;
    }
    strcpy(s, "static");
    strcpy(t, "runtime");
    printf("app_c: %s and %s arenas work\n", s, t);
    ca_free(CA_ARENA(consumer_c), s);
    ca_free(a, t);
    return ca_arena_destroy(a) == 0 ? 0 : 1;
}
