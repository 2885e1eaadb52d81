// SPDX-License-Identifier: MIT
// tests/malloc/cxx_threads.cc — C++ under libchunkarena-malloc: new and
// delete (plain, array, aligned), std::thread, and the containers, in
// several threads. Under glibc's libstdc++, operator new calls malloc, so
// all of it lands in the arenas. Prints digests that depend only on the
// work.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct alignas(64) Line {
    std::uint64_t v[8];
};

static std::uint64_t work(unsigned seed)
{
    std::uint64_t sum = seed;
    for (int round = 0; round < 20; round++) {
        std::vector<std::string> words;
        std::map<std::string, int> counts;
        std::unordered_map<int, std::vector<int>> groups;
        for (int i = 0; i < 3000; i++) {
            words.push_back(std::string(static_cast<std::size_t>(i % 40), char('a' + i % 26)));
            counts[words.back()]++;
            groups[i % 101].push_back(i);
        }
        auto *raw = new int[1000];
        for (int i = 0; i < 1000; i++)
            raw[i] = i * round;
        sum += static_cast<std::uint64_t>(raw[999]);
        delete[] raw;
        std::unique_ptr<Line> line(new Line());
        if (reinterpret_cast<std::uintptr_t>(line.get()) % alignof(Line) != 0)
            return 0; // an aligned new that is not: the digest shows it
        line->v[0] = counts.size();
        sum = sum * 31 + line->v[0] + groups[7].size() + words.size();
    }
    return sum;
}

int main()
{
    std::vector<std::uint64_t> out(4);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; t++)
        threads.emplace_back([t, &out] { out[t] = work(t); });
    for (auto &t : threads)
        t.join();
    for (unsigned t = 0; t < 4; t++)
        std::printf("%u %llu\n", t, static_cast<unsigned long long>(out[t]));
    return 0;
}
