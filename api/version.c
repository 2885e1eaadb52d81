/* SPDX-License-Identifier: MIT */
/*
 * api/version.c — ca_version: the version this library was built as (its
 * CA_VERSION), for programs that check the library they loaded against the
 * header they were compiled with. A constant: thread-safe.
 */
#include "api/chunkarena.h"

int ca_version(void)
{
    return CA_VERSION;
}
