// SPDX-License-Identifier: MIT
// tests/cxx/header.cpp — api/chunkarena.h as C++ code sees it (compiled, not
// run, by tests/cxx_header.sh as C++11, 17 and 20 with every C++ compiler
// found, -Wall -Wextra -Wpedantic -Werror): the declarations, the limits as
// constant expressions, and CA_ARENA_DEFINE at namespace scope and at file
// scope, used through CA_ARENA and CA_ARENA_DECLARE.
#include "chunkarena.h"

namespace game {
CA_ARENA_DEFINE(particles, "cxx-particles", 64, 64, CA_LOCK_HINT);
CA_ARENA_DEFINE(sounds, "cxx-sounds", 16, 4096, CA_LOCK_DEFAULT);

void *spawn(size_t n)
{
    return ca_alloc(CA_ARENA(particles), n);
}

void despawn(void *p)
{
    ca_free(CA_ARENA(particles), p);
}
} // namespace game

CA_ARENA_DEFINE(top, "cxx-top", 8, 16, CA_LOCK_MUTEX);
CA_ARENA_DECLARE(top);

static_assert(CA_NAME_MAX > 0, "a constant expression in C++ too");

int main()
{
    void *p = game::spawn(100);
    game::despawn(p);
    ca_stats s;
    (void)ca_arena_stats(CA_ARENA(top), &s);
    ca_config c = ca_config();
    c.chunk_size = 64;
    c.lock = CA_LOCK_SPIN;
    return ca_arena_meta_size(16, &c) == 0;
}
