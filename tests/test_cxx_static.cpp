// SPDX-License-Identifier: MIT
/*
 * tests/test_cxx_static.cpp — a static arena defined in a .cpp file, for
 * tests/test_cxx.cpp: CA_ARENA_DEFINE at namespace scope, and a global
 * object whose constructor allocates from it through CA_ARENA_RESOURCE
 * before main (the arena sets itself up on first use). Single threaded at
 * start-up, as every constructor of a global.
 */
#include <memory_resource>
#include <string>

#include "chunkarena.hpp"
#include "tests/test_cxx.h"

namespace cxx_test {

CA_ARENA_DEFINE(cxx_static, "cxx-static", 256, 64, CA_LOCK_HINT);

ca_arena *static_arena() { return CA_ARENA(cxx_static); }

std::pmr::memory_resource &static_resource() { return CA_ARENA_RESOURCE(cxx_static); }

// Made before main, in the static arena.
static std::pmr::string early{"made before main, in a static arena's memory", &CA_ARENA_RESOURCE(cxx_static)};

const std::pmr::string &early_string() { return early; }

} // namespace cxx_test
