// SPDX-License-Identifier: MIT
/*
 * bench/ca-bench-pmr.cpp — the C++ user's question: is a chunkarena arena
 * a good std::pmr::memory_resource? W2 (churn, one thread) and W3 (T
 * threads on one shared resource, T = 1, 2, 8) of the benchmark, with
 * every allocation and free going through the path std::pmr containers
 * take: std::pmr::polymorphic_allocator -> memory_resource::allocate /
 * deallocate (a virtual call with size and alignment). Resources:
 * ca::memory_resource over a 160 MiB arena under the hint and the ticket
 * layers, std::pmr::synchronized_pool_resource and new_delete_resource,
 * and unsynchronized_pool_resource (T = 1 only: it is not thread-safe).
 *
 * The draws are W2's (SplitMix64, seed 0xC0FFEE + thread, 4096 slots, an
 * op frees a live slot or allocates 64..16383 bytes aligned to 1..128),
 * with W2's touch: the op index written at a block's first byte after it
 * is allocated, read back and checked before it is freed (a mismatch
 * fails the run). A failed allocation (std::bad_alloc) leaves its slot
 * empty and is counted. Each configuration gets one resource, runs once
 * untimed (warming its pages and pools), then its timed repetitions on
 * the same resource; the median is reported (min and max in the CSV).
 * Timings are wall-clock (steady_clock) and noisy on a shared machine;
 * beside them, ops per second of the process's CPU time (getrusage), which
 * other processes' load disturbs less (a lock that spins burns it too).
 *
 * Output: a table on stdout; with --results=DIR, DIR/pmr.csv (header
 * workload,resource,threads,mops_median,mops_min,mops_max,cpu_mops_median,
 * failures) for
 * bench/pmr.gp. Each thread owns its slot table; the resources are the
 * only shared state.
 */
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "chunkarena.hpp"
#include "tests/splitmix64.h"

namespace {

constexpr std::size_t arena_bytes = 160u << 20;
constexpr std::size_t slots = 4096;
constexpr std::uint64_t seed = 0xC0FFEE;

struct options {
    unsigned long w2_ops = 2000000, w3_ops = 1000000;
    int w2_reps = 5, w3_reps = 3;
    std::string results;
    std::string only; // a resource's name: run that one alone
    bool w2_only = false;
};

struct slot {
    void *p = nullptr;
    std::size_t size = 0, align = 0;
    std::uint64_t stamp = 0; // the op that made it, also at its first byte
};

// One thread of W2: `ops` operations on its own slots. Returns the
// failures; sets *bad on a broken touch.
unsigned long churn(std::pmr::memory_resource *r, std::uint64_t s, unsigned long ops, bool *bad)
{
    std::pmr::polymorphic_allocator<std::byte> pa(r);
    std::vector<slot> table(slots);
    ca_splitmix64 rng = ca_splitmix64_seed(s);
    unsigned long failures = 0;
    for (unsigned long op = 0; op < ops; op++) {
        slot &sl = table[ca_splitmix64_below(&rng, slots)];
        if (sl.p != nullptr) {
            std::uint64_t stamp;
            std::memcpy(&stamp, sl.p, sizeof stamp);
            if (stamp != sl.stamp)
                *bad = true;
            pa.resource()->deallocate(sl.p, sl.size, sl.align);
            sl.p = nullptr;
            continue;
        }
        std::size_t align = std::size_t{1} << ca_splitmix64_below(&rng, 8);
        std::size_t size = 64 + ca_splitmix64_below(&rng, 16320);
        try {
            sl.p = pa.resource()->allocate(size, align);
        } catch (const std::bad_alloc &) {
            failures++;
            continue;
        }
        std::uint64_t stamp = op;
        std::memcpy(sl.p, &stamp, sizeof stamp);
        sl.size = size;
        sl.align = align;
        sl.stamp = stamp;
    }
    // Check every stamp still live, then give everything back.
    for (slot &sl : table)
        if (sl.p != nullptr) {
            std::uint64_t stamp;
            std::memcpy(&stamp, sl.p, sizeof stamp);
            if (stamp != sl.stamp)
                *bad = true;
            pa.resource()->deallocate(sl.p, sl.size, sl.align);
        }
    return failures;
}

struct outcome {
    double mops;     // per wall-clock second
    double cpu_mops; // per second of CPU time (user + system, every thread)
    unsigned long failures;
};

double cpu_seconds()
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

outcome run_once(std::pmr::memory_resource *r, unsigned threads, unsigned long ops)
{
    std::vector<std::thread> ts;
    std::vector<unsigned long> fails(threads);
    std::vector<char> bad(threads, 0);
    double c0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    for (unsigned t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
            bool b = false;
            fails[t] = churn(r, seed + t, ops, &b);
            bad[t] = b;
        });
    for (std::thread &t : ts)
        t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = cpu_seconds() - c0;
    double total = static_cast<double>(ops) * threads;
    outcome o{total / secs / 1e6, total / cpu / 1e6, 0};
    for (unsigned t = 0; t < threads; t++) {
        if (bad[t]) {
            std::fprintf(stderr, "ca-bench-pmr: a block's stamp was overwritten: the run is wrong\n");
            std::exit(1);
        }
        o.failures += fails[t];
    }
    return o;
}

// A resource under test, made fresh for each run.
struct backend {
    const char *name;
    bool thread_safe;
    std::function<std::unique_ptr<std::pmr::memory_resource>()> make;
};

// ca::memory_resource that owns its arena: all 160 MiB as chunks, the
// bookkeeping in a buffer of its own (as bench/ca-bench does).
class owned_ca_resource : public ca::memory_resource {
public:
    explicit owned_ca_resource(ca_lock lock) : owned_ca_resource(make(lock)) {}

private:
    struct parts {
        std::unique_ptr<unsigned char[]> meta;
        std::unique_ptr<ca::arena> arena;
    };
    static parts make(ca_lock lock)
    {
        ca_config c{};
        c.chunk_size = 256;
        c.lock = lock;
        std::size_t chunks = arena_bytes / c.chunk_size;
        c.meta_len = ca_arena_meta_size(chunks, &c);
        parts p;
        p.meta.reset(new (std::align_val_t{64}) unsigned char[c.meta_len]);
        c.meta = p.meta.get();
        p.arena = std::make_unique<ca::arena>(lock == CA_LOCK_HINT ? "pmr-hint" : "pmr-ticket", arena_bytes, c);
        return p;
    }
    explicit owned_ca_resource(parts p) : ca::memory_resource(p.arena->get()), parts_(std::move(p)) {}
    parts parts_;
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    options opt;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--quick") {
            opt.w2_ops = 200000;
            opt.w3_ops = 100000;
            opt.w2_reps = opt.w3_reps = 1;
        } else if (a.rfind("--results=", 0) == 0) {
            opt.results = a.substr(10);
        } else if (a == "--w2-only") {
            opt.w2_only = true;
        } else if (a.rfind("--only=", 0) == 0) {
            opt.only = a.substr(7);
        } else {
            std::fprintf(stderr,
                         "usage: ca-bench-pmr [--quick] [--results=DIR] [--only=RESOURCE] [--w2-only]\n"
                         "  W2 and W3 (T = 1, 2, 8) through std::pmr's allocation path, against\n"
                         "  ca::memory_resource (hint, ticket) and the standard resources\n");
            return a == "--help" ? 0 : 2;
        }
    }

    const backend backends[] = {
        {"ca hint", true, [] { return std::make_unique<owned_ca_resource>(CA_LOCK_HINT); }},
        {"ca ticket", true, [] { return std::make_unique<owned_ca_resource>(CA_LOCK_TICKET); }},
        {"synchronized_pool", true, [] { return std::make_unique<std::pmr::synchronized_pool_resource>(); }},
        {"unsynchronized_pool", false, [] { return std::make_unique<std::pmr::unsynchronized_pool_resource>(); }},
        {"new_delete", true,
         []() -> std::unique_ptr<std::pmr::memory_resource> {
             // new_delete_resource() is a singleton: wrap it in a resource
             // that forwards, so every backend is made the same way.
             struct forward : std::pmr::memory_resource {
                 void *do_allocate(std::size_t n, std::size_t a) override
                 {
                     return std::pmr::new_delete_resource()->allocate(n, a);
                 }
                 void do_deallocate(void *p, std::size_t n, std::size_t a) override
                 {
                     std::pmr::new_delete_resource()->deallocate(p, n, a);
                 }
                 bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override { return this == &o; }
             };
             return std::make_unique<forward>();
         }},
    };

    FILE *csv = nullptr;
    if (!opt.results.empty()) {
        std::string path = opt.results + "/pmr.csv";
        csv = std::fopen(path.c_str(), "w");
        if (csv == nullptr) {
            std::perror(path.c_str());
            return 1;
        }
        std::fprintf(csv, "workload,resource,threads,mops_median,mops_min,mops_max,cpu_mops_median,failures\n");
    }

    std::printf("W2 and W3 through std::pmr: Mops/s of wall-clock time (in brackets: per second of CPU\n"
                "time, all threads); median of %d / %d runs; %lu / %lu ops a thread\n\n",
                opt.w2_reps, opt.w3_reps, opt.w2_ops, opt.w3_ops);
    std::printf("| resource | W2 | W3 T=1 | W3 T=2 | W3 T=8 | failed allocations |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const backend &b : backends) {
        if (!opt.only.empty() && opt.only != b.name)
            continue;
        std::printf("| %s |", b.name);
        std::fflush(stdout);
        unsigned long failures = 0;
        struct cell {
            const char *workload;
            unsigned threads;
        };
        for (cell c : {cell{"W2", 1}, cell{"W3", 1}, cell{"W3", 2}, cell{"W3", 8}}) {
            if ((c.threads > 1 && !b.thread_safe) || (opt.w2_only && std::strcmp(c.workload, "W2") != 0)) {
                std::printf(" - |");
                continue;
            }
            bool w2 = std::strcmp(c.workload, "W2") == 0;
            unsigned long ops = w2 ? opt.w2_ops : opt.w3_ops;
            int reps = w2 ? opt.w2_reps : opt.w3_reps;
            // One resource per configuration: the untimed first run warms
            // it (its pages, its pools), as every run leaves it empty.
            auto r = b.make();
            (void)run_once(r.get(), c.threads, ops);
            std::vector<double> mops, cpu_mops;
            for (int i = 0; i < reps; i++) {
                outcome o = run_once(r.get(), c.threads, ops);
                mops.push_back(o.mops);
                cpu_mops.push_back(o.cpu_mops);
                failures += o.failures;
            }
            double med = median(mops), cpu_med = median(cpu_mops);
            std::printf(" %.1f (%.1f) |", med, cpu_med);
            std::fflush(stdout);
            if (csv)
                std::fprintf(csv, "%s,%s,%u,%.3f,%.3f,%.3f,%.3f,%lu\n", c.workload, b.name, c.threads, med,
                             *std::min_element(mops.begin(), mops.end()),
                             *std::max_element(mops.begin(), mops.end()), cpu_med, failures);
        }
        std::printf(" %lu |\n", failures);
    }
    if (csv)
        std::fclose(csv);
    return 0;
}
