#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/package.sh — chunkarena as a user gets it: `make install` into a
# DESTDIR stage, then, against that stage only:
#   1. g++ -std=c++17 app.cpp $(pkg-config --cflags --libs chunkarena)
#      (with PKG_CONFIG_SYSROOT_DIR pointing into the stage), run;
#   2. tests/consumer, a C and a C++ CMake project, through
#      find_package(chunkarena 0.2), against the shared library, then
#      against the static one (CHUNKARENA_USE_STATIC), each run;
#   3. find_package(chunkarena 0.1) and (chunkarena 1.0) are refused;
#   4. the man pages are installed, and `man NAME`'s link pages point to
#      pages that are.
# Every program prints a line and checks itself. SKIP (77) when cmake is
# missing (./bootstrap installs it).
#
# Environment (make check sets it): MAKE, abs_top_builddir, srcdir,
# prefix, libdir, includedir, mandir, CC, CXX, CA_SAN_CFLAGS, PKG_CONFIG,
# CMAKE.
set -u
srcdir=${srcdir:-$(dirname "$0")/..}
: "${abs_top_builddir:?}" "${prefix:?}" "${libdir:?}" "${includedir:?}" "${mandir:?}"
make=${MAKE:-make}
cxx=${CXX:-c++}
cmake=${CMAKE:-cmake}
pkgconfig=${PKG_CONFIG:-pkg-config}
san=${CA_SAN_CFLAGS:-}

command -v "$cmake" >/dev/null 2>&1 || { echo "package.sh: SKIP: no cmake"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/package.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
stage=$tmp/stage

fail() {
    echo "package.sh: FAIL: $*"
    exit 1
}

run() { # run LOG COMMAND...: run quietly; on failure show the log and fail
    log=$1
    shift
    "$@" > "$tmp/$log" 2>&1 || { cat "$tmp/$log"; fail "$*"; }
}

run install.log $make -C "$abs_top_builddir" install DESTDIR="$stage"
export LD_LIBRARY_PATH="$stage$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 1. pkg-config, the way the README tells a C++ user to build.
flags=$(PKG_CONFIG_PATH="$stage$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" \
        $pkgconfig --cflags --libs chunkarena) || fail "pkg-config does not know chunkarena"
# shellcheck disable=SC2086  # the flags are words
run pc-build.log $cxx -std=c++17 $san "$srcdir/tests/consumer/app.cpp" $flags -o "$tmp/app_pc"
"$tmp/app_pc" || fail "the pkg-config build failed its run"

# 2. CMake, shared then static.
for kind in shared static; do
    use_static=OFF
    [ "$kind" = static ] && use_static=ON
    run "cmake-$kind.log" "$cmake" -S "$srcdir/tests/consumer" -B "$tmp/build-$kind" \
        -DCMAKE_PREFIX_PATH="$stage$prefix" -DCHUNKARENA_USE_STATIC=$use_static \
        -DCMAKE_C_COMPILER="${CC:-cc}" -DCMAKE_CXX_COMPILER="$cxx" \
        -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san"
    run "build-$kind.log" "$cmake" --build "$tmp/build-$kind"
    "$tmp/build-$kind/app_c" || fail "app_c ($kind) failed"
    "$tmp/build-$kind/app_cxx" || fail "app_cxx ($kind) failed"
done
# The static build really is static, the shared one not.
if command -v ldd > /dev/null 2>&1; then
    ldd "$tmp/build-shared/app_cxx" | grep -q libchunkarena || fail "app_cxx (shared) does not load libchunkarena.so"
    ldd "$tmp/build-static/app_cxx" | grep -q libchunkarena && fail "app_cxx (static) loads libchunkarena.so"
fi

# 3. The version file refuses what this is not.
for v in 0.1 1.0; do
    mkdir -p "$tmp/v$v"
    cat > "$tmp/v$v/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.5)
project(v C)
find_package(chunkarena $v REQUIRED)
EOT
    if "$cmake" -S "$tmp/v$v" -B "$tmp/v$v/build" -DCMAKE_PREFIX_PATH="$stage$prefix" > "$tmp/v$v.log" 2>&1; then
        fail "find_package(chunkarena $v) accepted this version"
    fi
done

# 4. Man pages: installed, and every link page points to an installed page.
man3=$stage$mandir/man3
[ -f "$man3/chunkarena.3" ] || fail "no chunkarena.3 in $man3"
for page in "$man3"/*.3; do
    target=$(sed -n 's/^\.so man3\///p' "$page")
    [ -z "$target" ] || [ -f "$man3/$target" ] || fail "$(basename "$page") points to man3/$target, not installed"
done

echo "package.sh: pkg-config and CMake (shared, static) builds of C and C++ programs run from a DESTDIR install"
