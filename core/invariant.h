/* SPDX-License-Identifier: MIT */
/*
 * core/invariant.h — CA_ASSERT, the internal-invariant tier of chunkarena's
 * assertions. Three tiers: (1) cheap preconditions on what callers pass,
 * always checked, answered with a status or errno (never an assertion);
 * (2) CA_ASSERT(cond): an internal invariant, checked only in a debug build
 * (configure --enable-debug defines CA_DEBUG=1), where a false one stops
 * the program at once with __builtin_trap() — freestanding, no libc, so
 * core/ may use it; elsewhere it compiles to nothing (cond is not
 * evaluated); (3) in a debug build, the sync layer runs the full
 * ca_core_check after every operation of a locked arena (sync/sync.c,
 * leave). Thread-safe: it has no state.
 */
#ifndef CA_CORE_INVARIANT_H
#define CA_CORE_INVARIANT_H

#ifndef CA_DEBUG
#define CA_DEBUG 0
#endif

#if CA_DEBUG
#define CA_ASSERT(cond) ((cond) ? (void)0 : __builtin_trap())
#else
#define CA_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif /* CA_CORE_INVARIANT_H */
