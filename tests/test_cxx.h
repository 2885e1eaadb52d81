// SPDX-License-Identifier: MIT
/*
 * tests/test_cxx.h — what tests/test_cxx_static.cpp gives tests/test_cxx.cpp:
 * its static arena, that arena's memory_resource, and a string made in it
 * before main. Used from one thread, as the suite's tests are.
 */
#ifndef CA_TESTS_TEST_CXX_H
#define CA_TESTS_TEST_CXX_H

#include <memory_resource>
#include <string>

#include "chunkarena.h"

namespace cxx_test {
ca_arena *static_arena();
std::pmr::memory_resource &static_resource();
const std::pmr::string &early_string();
} // namespace cxx_test

#endif
