/* SPDX-License-Identifier: MIT */
/*
 * tests/core/main.c — suite "core": the contract of core/core.h, one file per
 * area (layout.c: init and layout; alloc.c; free.c: free and resize;
 * whole.c: counters, reset/owns/scan, the failure bound, the check, shared
 * mode) over the helpers of common.c. Single threaded.
 */
#include "tests/core/common.h"

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    core_add_layout(s);
    core_add_alloc(s);
    core_add_free(s);
    core_add_whole(s);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
