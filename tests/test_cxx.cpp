// SPDX-License-Identifier: MIT
/*
 * tests/test_cxx.cpp — suite "cxx": chunkarena.hpp, the C++17 interface.
 *
 * std::pmr containers (vector, string, unordered_map, list) on an arena
 * under every sync layer; over-aligned types (64 and 4096 bytes);
 * std::bad_alloc when the arena is full, with the arena as it was
 * afterwards; equality of resources and of allocators, and the
 * allocator's propagation on copy, move and swap; std::map, basic_string
 * and allocate_shared over ca::allocator; ca::arena's constructors,
 * errors, moves and destructor; ca::unique_ptr freeing into the right
 * arena (objects, arrays, a base class that does not start its object);
 * a static arena defined in another .cpp (tests/test_cxx_static.cpp);
 * threads sharing one resource (ThreadSanitizer builds check the races).
 * Built twice by make check: with $(CXX) and with the other of g++ and
 * clang++ when installed.
 */
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <list>
#include <map>
#include <memory_resource>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "chunkarena.hpp"
#include "tests/test_cxx.h"

// Last: check.h defines a macro fail() that <ios> would see.
#include <check.h>

#define TIMEOUT 60

namespace {

const ca_lock layers[] = {CA_LOCK_NONE, CA_LOCK_SPIN, CA_LOCK_TICKET, CA_LOCK_MUTEX, CA_LOCK_HINT};

ca_config config_of(ca_lock lock, std::size_t chunk_size = 64)
{
    ca_config c{};
    c.chunk_size = chunk_size;
    c.lock = lock;
    return c;
}

ca_stats stats_of(ca_arena *a)
{
    ca_stats s;
    ck_assert_int_eq(ca_arena_stats(a, &s), 0);
    return s;
}

void assert_quiet_and_sound(ca_arena *a)
{
    const char *why = ca_arena_check(a);
    ck_assert_msg(why == nullptr, "arena check: %s", why ? why : "");
}

bool aligned(const void *p, std::size_t align)
{
    return reinterpret_cast<std::uintptr_t>(p) % align == 0;
}

} // namespace

/* ------------------------------------------------------ pmr containers */

START_TEST(pmr_containers_every_layer)
{
    for (ca_lock lock : layers) {
        ca::arena a("cxx-containers", std::size_t{1} << 20, config_of(lock));
        ca::memory_resource r(a.get());
        {
            std::pmr::vector<std::pmr::string> v(&r);
            for (int i = 0; i < 500; i++)
                v.emplace_back(std::string(static_cast<std::size_t>(40 + i % 50), static_cast<char>('a' + i % 26)));
            std::pmr::unordered_map<int, std::pmr::string> m(&r);
            for (int i = 0; i < 500; i++)
                m.emplace(i, v[static_cast<std::size_t>(i)]);
            std::pmr::list<int> l(&r);
            for (int i = 0; i < 500; i++)
                l.push_back(i);

            // Everything the containers hold is in this arena's memory.
            ck_assert_ptr_eq(ca_arena_of(v.data()), a.get());
            ck_assert_ptr_eq(ca_arena_of(v[7].data()), a.get());
            ck_assert_ptr_eq(ca_arena_of(&m.at(3)), a.get());
            ck_assert_ptr_eq(ca_arena_of(&l.back()), a.get());
            for (int i = 0; i < 500; i++) {
                const std::pmr::string &s = m.at(i);
                ck_assert_uint_eq(s.size(), static_cast<std::size_t>(40 + i % 50));
                ck_assert_int_eq(s[0], 'a' + i % 26);
            }
            ck_assert_int_eq(l.back(), 499);
            ck_assert_uint_gt(stats_of(a.get()).allocations, 1000);
            assert_quiet_and_sound(a.get());
        }
        // The containers gave everything back.
        ca_stats s = stats_of(a.get());
        ck_assert_uint_eq(s.allocations, 0);
        ck_assert_uint_eq(s.chunks_used, 0);
        ck_assert_int_eq(s.lock, lock);
    }
}
END_TEST

/* --------------------------------------------------- over-aligned types */

struct alignas(64) line {
    unsigned char b[64];
};
struct alignas(4096) page {
    unsigned char b[100];
};

START_TEST(over_aligned)
{
    ca::arena a("cxx-aligned", std::size_t{1} << 20, config_of(CA_LOCK_HINT, 16));
    ca::memory_resource r(a.get());
    std::pmr::vector<line> lines(&r);
    std::pmr::vector<page> pages(&r);
    for (int i = 0; i < 20; i++) {
        lines.emplace_back();
        pages.emplace_back();
        ck_assert(aligned(lines.data(), 64));
        ck_assert(aligned(pages.data(), 4096));
    }
    std::vector<page, ca::allocator<page>> pv(ca::allocator<page>(a.get()));
    pv.resize(3);
    ck_assert(aligned(pv.data(), 4096));
    ca::unique_ptr<page> one = ca::make_unique<page>(a);
    ck_assert(aligned(one.get(), 4096));
    ca::unique_ptr<line[]> some = ca::make_unique<line[]>(a, 5);
    ck_assert(aligned(some.get(), 64));
    // Straight through the resource too, at the largest alignment here.
    void *p = r.allocate(10, 4096);
    ck_assert(aligned(p, 4096));
    r.deallocate(p, 10, 4096);
    assert_quiet_and_sound(a.get());
}
END_TEST

/* ------------------------------------------------------ full: bad_alloc */

START_TEST(bad_alloc_when_full)
{
    ca::arena a("cxx-full", 64 * 1024, config_of(CA_LOCK_TICKET));
    ca::memory_resource r(a.get());
    std::pmr::vector<char> held(&r);
    held.reserve(stats_of(a.get()).chunks_total * 64 / 2);
    ca_stats before = stats_of(a.get());

    bool threw = false;
    try {
        std::pmr::vector<char> more(&r);
        more.reserve(before.chunks_total * 64); // more than the whole arena
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    ck_assert(threw);

    threw = false;
    try {
        ca::allocator<long> al(a.get());
        (void)al.allocate(std::size_t{1} << 40);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    ck_assert(threw);

    threw = false;
    try {
        ca::allocator<long> al(a.get());
        (void)al.allocate(SIZE_MAX / 2); // n * sizeof(long) overflows
    } catch (const std::bad_array_new_length &) {
        threw = true;
    }
    ck_assert(threw);

    // Nothing changed but the count of failures.
    ca_stats after = stats_of(a.get());
    ck_assert_uint_eq(after.chunks_used, before.chunks_used);
    ck_assert_uint_eq(after.allocations, before.allocations);
    ck_assert_uint_eq(after.largest_free_run, before.largest_free_run);
    ck_assert_uint_eq(after.failures, before.failures + 2);
    assert_quiet_and_sound(a.get());
    // And what was held is still usable.
    held.assign(held.capacity(), 'x');
    ck_assert_int_eq(held.back(), 'x');
}
END_TEST

/* ---------------------------------------------- equality and propagation */

START_TEST(resource_equality)
{
    ca::arena a("cxx-eq-a", 64 * 1024);
    ca::arena b("cxx-eq-b", 64 * 1024);
    ca::memory_resource ra1(a.get()), ra2(a.get()), rb(b.get());
    ck_assert(ra1.is_equal(ra2));
    ck_assert(ra1 == ra2);
    ck_assert(!ra1.is_equal(rb));
    ck_assert(!ra1.is_equal(*std::pmr::new_delete_resource()));
    ck_assert(!std::pmr::new_delete_resource()->is_equal(ra1));
    // Equal resources: memory from one goes back through the other.
    void *p = ra1.allocate(100, 16);
    ra2.deallocate(p, 100, 16);
    ck_assert_uint_eq(stats_of(a.get()).allocations, 0);

    ca::allocator<int> ia(a.get()), ia2(a.get()), ib(b.get());
    ca::allocator<double> da(ia); // rebinding keeps the arena
    ck_assert(ia == ia2);
    ck_assert(ia != ib);
    ck_assert(da == ia);
    ck_assert_ptr_eq(da.arena(), a.get());
    using rebound = std::allocator_traits<ca::allocator<int>>::rebind_alloc<char>;
    static_assert(std::is_same_v<rebound, ca::allocator<char>>);
    static_assert(!std::allocator_traits<ca::allocator<int>>::is_always_equal::value);
}
END_TEST

START_TEST(allocator_propagation)
{
    using vec = std::vector<int, ca::allocator<int>>;
    using traits = std::allocator_traits<ca::allocator<int>>;
    static_assert(traits::propagate_on_container_copy_assignment::value);
    static_assert(traits::propagate_on_container_move_assignment::value);
    static_assert(traits::propagate_on_container_swap::value);

    ca::arena a("cxx-prop-a", 256 * 1024);
    ca::arena b("cxx-prop-b", 256 * 1024);
    vec va({1, 2, 3}, ca::allocator<int>(a.get()));

    vec copy(va); // copy construction: the same arena
    ck_assert_ptr_eq(copy.get_allocator().arena(), a.get());
    ck_assert_ptr_eq(ca_arena_of(copy.data()), a.get());

    vec vb({9}, ca::allocator<int>(b.get()));
    vb = va; // copy assignment: takes a's arena
    ck_assert_ptr_eq(vb.get_allocator().arena(), a.get());
    ck_assert_ptr_eq(ca_arena_of(vb.data()), a.get());
    ck_assert_int_eq(vb[2], 3);

    vec vm({7, 8}, ca::allocator<int>(b.get()));
    const int *data = va.data();
    vm = std::move(va); // move assignment: takes the block and its arena
    ck_assert_ptr_eq(vm.data(), data);
    ck_assert_ptr_eq(vm.get_allocator().arena(), a.get());

    vec vs({5}, ca::allocator<int>(b.get()));
    const int *sdata = vs.data(), *mdata = vm.data();
    vm.swap(vs); // swap between arenas: blocks and allocators trade places
    ck_assert_ptr_eq(vm.data(), sdata);
    ck_assert_ptr_eq(vm.get_allocator().arena(), b.get());
    ck_assert_ptr_eq(vs.data(), mdata);
    ck_assert_ptr_eq(vs.get_allocator().arena(), a.get());
    ck_assert_int_eq(vm[0], 5);
    ck_assert_int_eq(vs[1], 2);
}
END_TEST

START_TEST(allocator_with_std_types)
{
    ca::arena a("cxx-std", 256 * 1024, config_of(CA_LOCK_MUTEX));
    using str = std::basic_string<char, std::char_traits<char>, ca::allocator<char>>;
    using pair_alloc = ca::allocator<std::pair<const int, str>>;
    {
        std::map<int, str, std::less<int>, pair_alloc> m{pair_alloc(a.get())};
        for (int i = 0; i < 100; i++)
            m.emplace(i, str(100, 'm', ca::allocator<char>(a.get())));
        ck_assert_uint_eq(m.size(), 100);
        ck_assert_ptr_eq(ca_arena_of(m.at(50).data()), a.get());

        std::shared_ptr<str> sp =
            std::allocate_shared<str>(ca::allocator<str>(a.get()), 200, 's', ca::allocator<char>(a.get()));
        ck_assert_ptr_eq(ca_arena_of(sp.get()) , a.get());
        ck_assert_uint_eq(sp->size(), 200);
        ck_assert_ptr_eq(ca_arena_of(sp->data()), a.get());
    }
    ck_assert_uint_eq(stats_of(a.get()).allocations, 0);
}
END_TEST

/* ---------------------------------------------------------- ca::arena */

START_TEST(arena_object)
{
    static_assert(!std::is_copy_constructible_v<ca::arena>);
    static_assert(!std::is_copy_assignable_v<ca::arena>);
    static_assert(std::is_nothrow_move_constructible_v<ca::arena>);

    alignas(256) static unsigned char mem[64 * 1024];
    {
        ca::arena a("cxx-object", mem, sizeof mem);
        ck_assert_str_eq(a.name(), "cxx-object");
        ck_assert_ptr_eq(ca::arena::find("cxx-object"), a.get());
        void *p = ca_alloc(a.get(), 1000);
        ck_assert_ptr_nonnull(p);
        ck_assert(p >= static_cast<void *>(mem) && p < static_cast<void *>(mem + sizeof mem));
        ck_assert_uint_eq(a.stats().allocations, 1);
        a.reset();
        ck_assert_uint_eq(a.stats().allocations, 0);

        ca::arena moved(std::move(a));
        ck_assert_ptr_null(a.get());
        ck_assert_ptr_eq(ca::arena::find("cxx-object"), moved.get());
        ck_assert_ptr_nonnull(ca_alloc(moved.get(), 10)); // live at destruction
    }
    // The destructor discarded what was live and destroyed the arena.
    errno = 0;
    ck_assert_ptr_null(ca::arena::find("cxx-object"));
    ck_assert_int_eq(errno, ENOENT);
    // The memory is the caller's again: a new arena can take it.
    ca::arena again("cxx-object", mem, sizeof mem);

    // Move assignment destroys what the target held.
    ca::arena x("cxx-x", 16 * 1024), y("cxx-y", 16 * 1024);
    x = std::move(y);
    ck_assert_ptr_null(ca::arena::find("cxx-x"));
    ck_assert_str_eq(x.name(), "cxx-y");
    bool threw = false;
    try {
        (void)y.stats();
    } catch (const std::system_error &e) {
        threw = e.code().value() == EINVAL;
    }
    ck_assert(threw);
}
END_TEST

static int create_errno(const char *name, std::size_t bytes, const ca_config &config)
{
    try {
        ca::arena a(name, bytes, config);
    } catch (const std::system_error &e) {
        ck_assert(e.code().category() == std::generic_category());
        return e.code().value();
    }
    return 0;
}

START_TEST(arena_errors)
{
    ca::arena a("cxx-taken", 16 * 1024);
    ck_assert_int_eq(create_errno("cxx-taken", 16 * 1024, {}), EEXIST);
    ck_assert_int_eq(create_errno("", 16 * 1024, {}), EINVAL);
    ck_assert_int_eq(create_errno(std::string(CA_NAME_MAX + 1, 'n').c_str(), 16 * 1024, {}), ENAMETOOLONG);
    ck_assert_int_eq(create_errno("cxx-tiny", 8, {}), ENOMEM);
    ck_assert_int_eq(create_errno("cxx-odd", 16 * 1024, config_of(CA_LOCK_HINT, 48)), EINVAL);
    ca_config bad = config_of(CA_LOCK_HINT);
    bad.lock = static_cast<ca_lock>(CA_LOCK_HINT + 1);
    ck_assert_int_eq(create_errno("cxx-badlock", 16 * 1024, bad), EINVAL);
    // Over caller memory that is not aligned to the chunk size.
    alignas(256) static unsigned char mem[4096];
    bool threw = false;
    try {
        ca::arena b("cxx-misaligned", mem + 1, sizeof mem - 1);
    } catch (const std::system_error &e) {
        threw = e.code().value() == EINVAL;
    }
    ck_assert(threw);
    // None of them registered anything.
    ck_assert_ptr_null(ca::arena::find("cxx-tiny"));
    ck_assert_ptr_null(ca::arena::find("cxx-misaligned"));
    ck_assert_ptr_eq(ca::arena::find("cxx-taken"), a.get());
}
END_TEST

/* -------------------------------------------------------- unique_ptr */

namespace {

int alive = 0;

struct counted {
    int v;
    explicit counted(int x = 7) : v(x) { alive++; }
    ~counted() { alive--; }
};

struct first {
    long f[3] = {1, 2, 3};
    virtual ~first() = default;
};
struct base {
    int b = 42;
    virtual ~base() = default;
};
// base is not at the start of a derived: freeing a base* must still free
// the block where it starts.
struct derived : first, base {
    counted c;
};

struct throws_third {
    static inline int made = 0;
    throws_third()
    {
        if (++made == 3)
            throw std::runtime_error("third");
        alive++;
    }
    ~throws_third() { alive--; }
};

} // namespace

START_TEST(unique_ptr_right_arena)
{
    ca::arena a("cxx-up-a", 64 * 1024), b("cxx-up-b", 64 * 1024);
    alive = 0;
    {
        ca::unique_ptr<counted> pa = ca::make_unique<counted>(a, 1);
        ca::unique_ptr<counted> pb = ca::make_unique<counted>(b.get(), 2);
        ck_assert_ptr_eq(ca_arena_of(pa.get()), a.get());
        ck_assert_ptr_eq(ca_arena_of(pb.get()), b.get());
        ck_assert_int_eq(alive, 2);
        pb.reset();
        ck_assert_int_eq(alive, 1);
        ck_assert_uint_eq(b.stats().allocations, 0);
        ck_assert_uint_eq(a.stats().allocations, 1);

        ca::unique_ptr<counted[]> arr = ca::make_unique<counted[]>(b, 10);
        ck_assert_int_eq(alive, 11);
        ck_assert_int_eq(arr[9].v, 7);
        ck_assert_ptr_eq(ca_arena_of(arr.get()), b.get());
        arr.reset();
        ck_assert_int_eq(alive, 1);
        ck_assert_uint_eq(b.stats().allocations, 0);

        ca::unique_ptr<base> poly = ca::make_unique<derived>(b);
        ck_assert_int_eq(poly->b, 42);
        ck_assert_ptr_ne(static_cast<void *>(poly.get()), dynamic_cast<void *>(poly.get()));
        ck_assert_int_eq(alive, 2);
        poly.reset(); // a base* that does not start the block: no fault
        ck_assert_int_eq(alive, 1);
        ck_assert_uint_eq(b.stats().allocations, 0);
    }
    ck_assert_int_eq(alive, 0);
    ck_assert_uint_eq(a.stats().allocations, 0);

    // A constructor that throws: what was made is destroyed, nothing leaks.
    bool threw = false;
    try {
        auto t = ca::make_unique<throws_third[]>(a, 5);
    } catch (const std::runtime_error &) {
        threw = true;
    }
    ck_assert(threw);
    ck_assert_int_eq(alive, 0);
    ck_assert_uint_eq(a.stats().allocations, 0);
    assert_quiet_and_sound(a.get());
    assert_quiet_and_sound(b.get());
}
END_TEST

/* ------------------------------------------------------- static arenas */

START_TEST(static_arena_from_cpp)
{
    // Made by a constructor before main, in the static arena.
    const std::pmr::string &early = cxx_test::early_string();
    ck_assert_ptr_eq(ca_arena_of(early.data()), cxx_test::static_arena());
    ck_assert_ptr_eq(ca_arena_find("cxx-static"), cxx_test::static_arena());
    // One resource per static arena, whichever file asks.
    ck_assert_ptr_eq(&cxx_test::static_resource(), early.get_allocator().resource());
    std::pmr::vector<std::pmr::string> v(&cxx_test::static_resource());
    v.emplace_back("a string in a static arena, long enough to leave the string");
    ck_assert_ptr_eq(ca_arena_of(v[0].data()), cxx_test::static_arena());
    ca_stats s = stats_of(cxx_test::static_arena());
    ck_assert_int_eq(s.lock, CA_LOCK_HINT);
    ck_assert_uint_eq(s.chunk_size, 64);
    ck_assert_uint_eq(s.allocations, 3); // early, v's array, v[0]
}
END_TEST

/* ------------------------------------------------------------- threads */

START_TEST(threads_share_a_resource)
{
    for (ca_lock lock : {CA_LOCK_HINT, CA_LOCK_TICKET, CA_LOCK_MUTEX}) {
        ca::arena a("cxx-threads", std::size_t{4} << 20, config_of(lock));
        ca::memory_resource r(a.get());
        std::vector<std::thread> threads;
        std::vector<int> ok(4, 0);
        for (int t = 0; t < 4; t++) {
            threads.emplace_back([&r, &ok, t] {
                bool good = true;
                for (int round = 0; round < 20; round++) {
                    std::pmr::vector<std::pmr::string> v(&r);
                    std::pmr::list<int> l(&r);
                    for (int i = 0; i < 100; i++) {
                        v.emplace_back(std::string(static_cast<std::size_t>(30 + (i + t) % 100), static_cast<char>('A' + t)));
                        l.push_back(i * t);
                    }
                    for (int i = 0; i < 100; i++) {
                        const std::pmr::string &s = v[static_cast<std::size_t>(i)];
                        good = good && s.size() == static_cast<std::size_t>(30 + (i + t) % 100) &&
                               std::all_of(s.begin(), s.end(), [t](char c) { return c == 'A' + t; });
                    }
                    good = good && l.back() == 99 * t;
                }
                ok[static_cast<std::size_t>(t)] = good;
            });
        }
        for (std::thread &th : threads)
            th.join();
        for (int t = 0; t < 4; t++)
            ck_assert_msg(ok[static_cast<std::size_t>(t)], "thread %d read back wrong data", t);
        ck_assert_uint_eq(stats_of(a.get()).allocations, 0);
        assert_quiet_and_sound(a.get());
    }
}
END_TEST

static Suite *cxx_suite()
{
    Suite *s = suite_create("cxx");
    TCase *tc = tcase_create("hpp");
    tcase_set_timeout(tc, TIMEOUT);
    tcase_add_test(tc, pmr_containers_every_layer);
    tcase_add_test(tc, over_aligned);
    tcase_add_test(tc, bad_alloc_when_full);
    tcase_add_test(tc, resource_equality);
    tcase_add_test(tc, allocator_propagation);
    tcase_add_test(tc, allocator_with_std_types);
    tcase_add_test(tc, arena_object);
    tcase_add_test(tc, arena_errors);
    tcase_add_test(tc, unique_ptr_right_arena);
    tcase_add_test(tc, static_arena_from_cpp);
    tcase_add_test(tc, threads_share_a_resource);
    suite_add_tcase(s, tc);
    return s;
}

int main()
{
    SRunner *r = srunner_create(cxx_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
