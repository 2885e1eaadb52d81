/* SPDX-License-Identifier: MIT */
/*
 * tests/cxx/bad_define.c — CA_ARENA_DEFINE definitions that can never work,
 * each of which must fail to compile (as C and as C++) with the message
 * tests/cxx_header.sh expects. One is chosen by -DBAD=n.
 */
#include "chunkarena.h"

#if BAD == 1
CA_ARENA_DEFINE(empty, "", 8, 64, CA_LOCK_SPIN);
#elif BAD == 2
CA_ARENA_DEFINE(longname, "a-name-of-sixty-four-characters-is-one-longer-than-CA_NAME_MAX-x", 8, 64,
                CA_LOCK_SPIN);
#elif BAD == 3
CA_ARENA_DEFINE(badlock, "bad-lock", 8, 64, (ca_lock)42);
#elif BAD == 4
CA_ARENA_DEFINE(badchunk, "bad-chunk", 8, 48, CA_LOCK_SPIN);
#elif BAD == 5
CA_ARENA_DEFINE(nochunks, "no-chunks", 0, 64, CA_LOCK_SPIN);
#else
CA_ARENA_DEFINE(good, "good", 8, 64, CA_LOCK_SPIN); /* the control: compiles */
#endif
