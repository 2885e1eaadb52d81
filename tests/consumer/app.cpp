// SPDX-License-Identifier: MIT
/*
 * tests/consumer/app.cpp — a C++17 program against an installed
 * chunkarena: a std::pmr::vector<std::pmr::string> on an arena, and a
 * static arena's resource. Prints one line and exits 0 when every check
 * holds, 1 otherwise. Single threaded.
 */
#include <cstdio>
#include <memory_resource>
#include <string>
#include <vector>

#include <chunkarena.hpp>

CA_ARENA_DEFINE(consumer_cxx, "consumer-cxx", 256, 64, CA_LOCK_HINT);

int main()
{
    ca::arena arena("consumer-pmr", 1 << 20);
    ca::memory_resource resource(arena.get());
    std::pmr::vector<std::pmr::string> words(&resource);
    for (int i = 0; i < 1000; i++)
        words.emplace_back("a string long enough to need memory of its own, number " + std::to_string(i));
    std::pmr::vector<int> more(&CA_ARENA_RESOURCE(consumer_cxx));
    more.assign(100, 7);
    bool ok = words.size() == 1000 && words[999].size() > 50 && ca_arena_of(words[999].data()) == arena.get() &&
              ca_arena_of(more.data()) == CA_ARENA(consumer_cxx) && arena.stats().allocations == 1001;
    std::printf("app_cxx: %s: %zu strings in arena %s, %zu chunks used\n", ok ? "ok" : "FAIL", words.size(),
                arena.name(), arena.stats().chunks_used);
    return ok ? 0 : 1;
}
