/* SPDX-License-Identifier: MIT */
/*
 * tests/api/main.c — suite "api": the public interface of api/chunkarena.h,
 * function by function, and every bad input the API sees, after which
 * nothing may be registered. One file per area (create.c, lookup.c,
 * static.c, alloc.c, realloc.c, free.c, stats.c, meta.c, hint.c,
 * registry_mt.c) over the helpers of common.c. The tests run single threaded
 * except TCases "hint" and "registry_mt".
 */
#include "tests/api/common.h"

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    api_add_create(s);
    api_add_lookup(s);
    api_add_static(s);
    api_add_alloc(s);
    api_add_realloc(s);
    api_add_free(s);
    api_add_stats(s);
    api_add_meta(s);
    api_add_hint(s);
    api_add_registry_mt(s);
    return s;
}

int main(void)
{
    printf("api: registry lookups %s; default layer %s\n",
           CA_HAVE_URCU ? "under RCU (liburcu-bp)" : "under a read lock",
           ca_lock_name(CA_SYNC_DEFAULT));
    fflush(stdout);
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
