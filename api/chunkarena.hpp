// SPDX-License-Identifier: MIT
/*
 * chunkarena.hpp — chunkarena for C++17: a std::pmr::memory_resource, a
 * standard allocator, an owning arena and unique pointers over the C API of
 * chunkarena.h. Header-only: it adds no symbol to the library, and every
 * call below is one or two calls of the C API, with that function's cost
 * and thread safety (see chunkarena.h): a ca::memory_resource, allocator or
 * unique_ptr may be used from any thread at once when the arena's layer is
 * not CA_LOCK_NONE. A ca::arena object itself is like any other object:
 * moving or destroying it races with every other use.
 *
 * Exceptions: allocation throws std::bad_alloc when the arena has no room
 * (std::bad_array_new_length when n * sizeof(T) overflows), ca::arena's
 * constructors throw std::system_error with the errno of ca_arena_create
 * (or std::bad_alloc when the buffer it owns cannot be had), and whatever a
 * constructor of T throws passes through make_unique (nothing leaks).
 * Nothing else throws; a bad pointer goes to the fault handler as in C.
 *
 * GCC and Clang only, as chunkarena.h's CA_ARENA_DEFINE (constructor and
 * visibility attributes); needs RTTI for memory_resource::is_equal.
 */
#ifndef CHUNKARENA_HPP
#define CHUNKARENA_HPP

#if __cplusplus < 201703L
#error "chunkarena.hpp needs C++17 (std::pmr); from C++11 and C++14, include chunkarena.h"
#endif

#include <cerrno>
#include <cstddef>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include "chunkarena.h"

namespace ca {

/*
 * A std::pmr::memory_resource over one arena, which must outlive it (and
 * every container using it). allocate honours any power-of-two alignment
 * (ca_aligned_alloc) and throws std::bad_alloc when the arena cannot serve
 * it, leaving the arena as it was; deallocate is ca_free (the size and
 * alignment are not needed). Two resources are equal when they are over
 * the same arena: memory from one may be given back through the other.
 * Copyable; holds nothing but the arena's handle.
 */
class memory_resource : public std::pmr::memory_resource {
public:
    explicit memory_resource(ca_arena *arena) noexcept : arena_(arena) {}

    ca_arena *get() const noexcept { return arena_; }

private:
    void *do_allocate(std::size_t bytes, std::size_t align) override
    {
        void *p = ca_aligned_alloc(arena_, align, bytes);
        if (p == nullptr)
            throw std::bad_alloc();
        return p;
    }

    void do_deallocate(void *p, std::size_t, std::size_t) override { ca_free(arena_, p); }

    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override
    {
        if (this == &other)
            return true;
        const auto *o = dynamic_cast<const memory_resource *>(&other);
        return o != nullptr && o->arena_ == arena_;
    }

    ca_arena *arena_;
};

/*
 * A standard allocator over one arena (which must outlive every container
 * using it), for std::vector, std::map, std::basic_string,
 * std::allocate_shared... Rebinds to any type; two allocators are equal when
 * they are over the same arena. No default constructor: an allocator names
 * its arena.
 *
 * Propagation: all three propagate traits are true. A container copy-,
 * move-assigned or swapped takes the other's arena with its elements, so
 * move assignment and swap never copy elements and are legal between
 * containers on different arenas (with false, swap between them would be
 * undefined behaviour). A copy-constructed container uses the same arena
 * as the original. std::pmr::polymorphic_allocator chooses the opposite
 * (a container stays on its resource); use ca::memory_resource with
 * std::pmr containers for that.
 */
template <class T>
class allocator {
public:
    using value_type = T;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    explicit allocator(ca_arena *arena) noexcept : arena_(arena) {}
    template <class U>
    allocator(const allocator<U> &other) noexcept : arena_(other.arena())
    {
    }

    // n objects of T, aligned to alignof(T); std::bad_alloc when the arena
    // has no room, std::bad_array_new_length when n * sizeof(T) overflows.
    T *allocate(std::size_t n)
    {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
            throw std::bad_array_new_length();
        void *p = ca_aligned_alloc(arena_, alignof(T), n * sizeof(T));
        if (p == nullptr)
            throw std::bad_alloc();
        return static_cast<T *>(p);
    }

    void deallocate(T *p, std::size_t) noexcept { ca_free(arena_, p); }

    ca_arena *arena() const noexcept { return arena_; }

    template <class U>
    friend bool operator==(const allocator &a, const allocator<U> &b) noexcept
    {
        return a.arena() == b.arena();
    }
    template <class U>
    friend bool operator!=(const allocator &a, const allocator<U> &b) noexcept
    {
        return a.arena() != b.arena();
    }

private:
    ca_arena *arena_;
};

/*
 * Owns a runtime arena: created by the constructor (ca_arena_create),
 * destroyed by the destructor. Over caller memory (kept valid and
 * untouched by the caller until the destructor), or over a buffer of
 * `bytes` bytes that the object allocates (aligned to the chunk size, with
 * ::operator new) and frees. Move-only; a moved-from arena owns nothing
 * (get() is nullptr) and may only be destroyed or assigned to.
 *
 * The destructor discards the allocations still live (ca_arena_reset: no
 * destructor of theirs runs, and every pointer into the arena dangles),
 * then destroys the arena, as std::pmr::monotonic_buffer_resource releases
 * its memory. Destroy the containers first.
 */
class arena {
public:
    // Over [mem, mem + len). Throws std::system_error with ca_arena_create's
    // errno (EINVAL, ENAMETOOLONG, EEXIST, ENOMEM: see chunkarena.h).
    arena(const char *name, void *mem, std::size_t len, const ca_config &config = {})
        : arena_(create(name, mem, len, config))
    {
    }

    // Over a buffer of `bytes` bytes it owns (bookkeeping included, unless
    // config.meta is given). Throws std::bad_alloc when the buffer cannot
    // be allocated, and std::system_error as above.
    arena(const char *name, std::size_t bytes, const ca_config &config = {})
    {
        std::align_val_t align{config.chunk_size != 0 ? config.chunk_size : CA_DEFAULT_CHUNK_SIZE};
        // A chunk size that is not a power of two is refused by
        // ca_arena_create (EINVAL); operator new must not see it first.
        if ((static_cast<std::size_t>(align) & (static_cast<std::size_t>(align) - 1)) != 0)
            align = std::align_val_t{alignof(std::max_align_t)};
        void *mem = ::operator new(bytes, align);
        try {
            arena_ = create(name, mem, bytes, config);
        } catch (...) {
            ::operator delete(mem, align);
            throw;
        }
        owned_ = mem;
        owned_align_ = align;
    }

    arena(const arena &) = delete;
    arena &operator=(const arena &) = delete;

    arena(arena &&other) noexcept
        : arena_(std::exchange(other.arena_, nullptr)), owned_(std::exchange(other.owned_, nullptr)),
          owned_align_(other.owned_align_)
    {
    }

    arena &operator=(arena &&other) noexcept
    {
        if (this != &other) {
            release();
            arena_ = std::exchange(other.arena_, nullptr);
            owned_ = std::exchange(other.owned_, nullptr);
            owned_align_ = other.owned_align_;
        }
        return *this;
    }

    ~arena() { release(); }

    // ca_arena_reset: frees every allocation at once; nothing else may use
    // the arena meanwhile, and no pointer into it afterwards.
    void reset() noexcept { ca_arena_reset(arena_); }

    // ca_arena_stats. Throws std::system_error (EINVAL) on a moved-from arena.
    ca_stats stats() const
    {
        ca_stats s;
        if (ca_arena_stats(arena_, &s) != 0)
            throw std::system_error(errno, std::generic_category(), "ca_arena_stats");
        return s;
    }

    const char *name() const noexcept { return ca_arena_name(arena_); }

    // The handle, for the C API.
    ca_arena *get() const noexcept { return arena_; }

    // Any registered arena (runtime or static) by name: ca_arena_find. A
    // handle, not an owner; nullptr (errno ENOENT) when there is none.
    static ca_arena *find(const char *name) noexcept { return ca_arena_find(name); }

private:
    static ca_arena *create(const char *name, void *mem, std::size_t len, const ca_config &config)
    {
        ca_arena *a = ca_arena_create(name, mem, len, &config);
        if (a == nullptr)
            throw std::system_error(errno, std::generic_category(), "ca_arena_create");
        return a;
    }

    void release() noexcept
    {
        if (arena_ != nullptr) {
            ca_arena_reset(arena_);
            (void)ca_arena_destroy(arena_); // cannot fail: nothing is live, it is not static
            arena_ = nullptr;
        }
        if (owned_ != nullptr) {
            ::operator delete(owned_, owned_align_);
            owned_ = nullptr;
        }
    }

    ca_arena *arena_ = nullptr;
    void *owned_ = nullptr;
    std::align_val_t owned_align_{alignof(std::max_align_t)};
};

/*
 * The deleter of ca::unique_ptr: runs the destructor (of each element, the
 * last first, for an array) and frees the memory into the arena it came
 * from. A deleter<Base> made from a deleter<Derived> frees the whole object
 * even where the Base part does not start it (polymorphic types; Base needs
 * a virtual destructor, as with std::default_delete).
 */
template <class T>
struct deleter {
    ca_arena *arena = nullptr;

    deleter() noexcept = default;
    explicit deleter(ca_arena *a) noexcept : arena(a) {}
    template <class U, class = std::enable_if_t<std::is_convertible_v<U *, T *>>>
    deleter(const deleter<U> &other) noexcept : arena(other.arena)
    {
    }

    void operator()(T *p) const noexcept
    {
        void *mem;
        if constexpr (std::is_polymorphic_v<T>)
            mem = dynamic_cast<void *>(p); // the most derived object's first byte
        else
            mem = static_cast<void *>(p);
        p->~T();
        ca_free(arena, mem);
    }
};

template <class T>
struct deleter<T[]> {
    ca_arena *arena = nullptr;
    std::size_t n = 0;

    deleter() noexcept = default;
    deleter(ca_arena *a, std::size_t count) noexcept : arena(a), n(count) {}

    void operator()(T *p) const noexcept
    {
        for (std::size_t i = n; i-- > 0;)
            p[i].~T();
        ca_free(arena, p);
    }
};

template <class T>
using unique_ptr = std::unique_ptr<T, deleter<T>>;

/* One T made with args in the arena. Throws std::bad_alloc when the arena
 * has no room, and what T's constructor throws (the memory is freed). */
template <class T, class... Args>
std::enable_if_t<!std::is_array_v<T>, unique_ptr<T>> make_unique(ca_arena *arena, Args &&...args)
{
    void *mem = ca_aligned_alloc(arena, alignof(T), sizeof(T));
    if (mem == nullptr)
        throw std::bad_alloc();
    T *p;
    try {
        p = ::new (mem) T(std::forward<Args>(args)...);
    } catch (...) {
        ca_free(arena, mem);
        throw;
    }
    return unique_ptr<T>(p, deleter<T>(arena));
}

/* n value-initialized Ts (T[]) in the arena. Throws as above; the elements
 * made before a constructor threw are destroyed, the memory freed. */
template <class T>
std::enable_if_t<std::is_array_v<T> && std::extent_v<T> == 0, unique_ptr<T>> make_unique(ca_arena *arena,
                                                                                          std::size_t n)
{
    using E = std::remove_extent_t<T>;
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(E))
        throw std::bad_array_new_length();
    void *mem = ca_aligned_alloc(arena, alignof(E), n * sizeof(E));
    if (mem == nullptr)
        throw std::bad_alloc();
    E *p = static_cast<E *>(mem);
    std::size_t made = 0;
    try {
        for (; made < n; made++)
            ::new (static_cast<void *>(p + made)) E();
    } catch (...) {
        while (made-- > 0)
            p[made].~E();
        ca_free(arena, mem);
        throw;
    }
    return unique_ptr<T>(p, deleter<T>(arena, n));
}

template <class T, class... Args>
std::enable_if_t<std::is_array_v<T> && std::extent_v<T> != 0> make_unique(ca_arena *, Args &&...) = delete;

/* The same on a ca::arena. */
template <class T, class... Args>
std::enable_if_t<!std::is_array_v<T>, unique_ptr<T>> make_unique(arena &a, Args &&...args)
{
    return make_unique<T>(a.get(), std::forward<Args>(args)...);
}

template <class T>
std::enable_if_t<std::is_array_v<T> && std::extent_v<T> == 0, unique_ptr<T>> make_unique(arena &a, std::size_t n)
{
    return make_unique<T>(a.get(), n);
}

/*
 * The memory_resource of a static arena, for CA_ARENA_RESOURCE. One object
 * per arena in a program (or shared library), made on first use and never
 * destroyed, so that it serves as long as the static arena does: from
 * constructors of globals in any file, and while the process exits.
 * Hidden, as the arena is: two shared libraries that each define a static
 * arena under the same id must not share one resource (an inline
 * function's statics are otherwise merged across them at load time).
 */
template <struct ca_arena_static *S>
CA_PRIVATE_VISIBILITY memory_resource &static_resource() noexcept
{
    alignas(memory_resource) static unsigned char storage[sizeof(memory_resource)];
    static memory_resource *r = ::new (static_cast<void *>(storage)) memory_resource(reinterpret_cast<ca_arena *>(S));
    return *r;
}

} // namespace ca

/*
 * CA_ARENA_RESOURCE(id) — the ca::memory_resource& of the static arena
 * `id`, defined with CA_ARENA_DEFINE at namespace scope in a .cpp file (or
 * declared with CA_ARENA_DECLARE). Usable at any time, also before main.
 */
#define CA_ARENA_RESOURCE(id) (::ca::static_resource<&ca_static_##id>())

#endif /* CHUNKARENA_HPP */
