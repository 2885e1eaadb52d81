/* SPDX-License-Identifier: MIT */
/*
 * tests/test_version.c — the version macros of the public header match
 * configure's version (CA_EXPECT_VERSION, "major.minor.patch"), and
 * ca_version() of the library this program loads (the shared one) matches
 * CA_VERSION. Single threaded. Exit status 0 pass, 1 fail.
 */
#include "chunkarena.h"

#include <stdio.h>

int main(void)
{
    int major = -1, minor = -1, patch = -1, failed = 0;
    if (sscanf(CA_EXPECT_VERSION, "%d.%d.%d", &major, &minor, &patch) != 3) {
        fprintf(stderr, "test_version: configure's version \"%s\" is not x.y.z\n",
                CA_EXPECT_VERSION);
        return 1;
    }
    if (CA_VERSION_MAJOR != major || CA_VERSION_MINOR != minor || CA_VERSION_PATCH != patch) {
        fprintf(stderr, "test_version: the header says %d.%d.%d, configure %s\n",
                CA_VERSION_MAJOR, CA_VERSION_MINOR, CA_VERSION_PATCH, CA_EXPECT_VERSION);
        failed = 1;
    }
    if (CA_VERSION != major * 10000 + minor * 100 + patch) {
        fprintf(stderr, "test_version: CA_VERSION %d is not %d.%d.%d\n", CA_VERSION, major, minor,
                patch);
        failed = 1;
    }
    if (ca_version() != CA_VERSION) {
        fprintf(stderr, "test_version: the library loaded is %d, the header %d\n", ca_version(),
                CA_VERSION);
        failed = 1;
    }
    printf("test_version: %s, ca_version() %d\n", failed ? "FAIL" : "PASS", ca_version());
    return failed;
}
