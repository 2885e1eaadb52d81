/* SPDX-License-Identifier: MIT */
/*
 * tests/malloc/sanitized.h — CA_SANITIZED is defined in a build with
 * ThreadSanitizer or AddressSanitizer: their runtime owns malloc (no
 * replacement can be tested there), and ThreadSanitizer refuses threads
 * in the child of a multi-threaded fork. The malloc test programs skip
 * (exit 77) in such a build.
 */
#ifndef CA_TESTS_MALLOC_SANITIZED_H
#define CA_TESTS_MALLOC_SANITIZED_H

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define CA_SANITIZED 1
#endif
#endif

#endif /* CA_TESTS_MALLOC_SANITIZED_H */
