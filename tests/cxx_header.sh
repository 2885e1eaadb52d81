#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/cxx_header.sh — api/chunkarena.h compiles as C++ and refuses bad
# static arenas at compile time:
#   1. tests/cxx/header.cpp (the header, CA_ARENA_DEFINE at namespace scope)
#      compiles as C++11, C++17 and C++20 with $CXX and with clang++ when
#      installed, -Wall -Wextra -Wpedantic -Werror;
#   2. each bad definition of tests/cxx/bad_define.c (empty name, name longer
#      than CA_NAME_MAX, lock out of range, chunk size not a power of two,
#      no chunks) fails to compile as C ($CC) and as C++, and the compiler's
#      message names the fault; the good control compiles.
# Environment: srcdir (the source tree, default: this script's parent),
# CC and CXX (configure's). Exit status: 0 pass, 1 fail, 77 skip (no
# working C++ compiler).
set -u
srcdir=${srcdir:-$(dirname "$0")/..}
CC=${CC:-cc}
CXX=${CXX:-c++}
inc="-I$srcdir/api -I${builddir:-.}/api" # chunkarena_version.h is made by configure
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxx_header.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

compilers=
versions=
for c in "$CXX" clang++ clang++-14; do
    command -v "${c%% *}" >/dev/null 2>&1 || continue
    echo 'int main(){}' > "$tmp/probe.cpp"
    $c -c -o "$tmp/probe.o" "$tmp/probe.cpp" 2>/dev/null || continue
    v=$($c --version | head -n 1)
    case "$versions" in *"|$v|"*) continue ;; esac
    versions="$versions|$v|"
    compilers="$compilers|$c"
done
compilers=${compilers#|}
if [ -z "$compilers" ]; then
    echo "SKIP: no working C++ compiler (configure's CXX is '$CXX')"
    exit 77
fi

old_ifs=$IFS
IFS='|'
set -- $compilers
IFS=$old_ifs
for cxx in "$@"; do
    for std in c++11 c++17 c++20; do
        if $cxx -std=$std -Wall -Wextra -Wpedantic -Werror $inc -c \
            -o "$tmp/header.o" "$srcdir/tests/cxx/header.cpp" 2> "$tmp/err"; then
            echo "ok: $cxx -std=$std compiles the header and CA_ARENA_DEFINE at namespace scope"
        else
            fail "$cxx -std=$std: tests/cxx/header.cpp does not compile:"
            cat "$tmp/err"
        fi
    done
done

# expect_refused LANG-COMPILER... BAD MESSAGE
expect_refused() {
    bad=$1
    msg=$2
    shift 2
    for c in "$@"; do
        case $c in
        "$CC") lang="-x c -std=c11" ;;
        *) lang="-x c++ -std=c++17" ;;
        esac
        if $c $lang -Wall -Wextra -Werror $inc -DBAD=$bad -c -o "$tmp/bad.o" \
            "$srcdir/tests/cxx/bad_define.c" 2> "$tmp/err"; then
            fail "$c: bad definition $bad ($msg) compiled"
        elif ! grep -qF "$msg" "$tmp/err"; then
            fail "$c: bad definition $bad failed without saying \"$msg\":"
            cat "$tmp/err"
        else
            echo "ok: $c refuses definition $bad: $msg"
        fi
    done
}
expect_refused 1 "the name must not be empty" "$CC" "$@"
expect_refused 2 "the name is longer than CA_NAME_MAX" "$CC" "$@"
expect_refused 3 "lock must be a ca_lock" "$CC" "$@"
expect_refused 4 "chunk_size must be a power of two" "$CC" "$@"
expect_refused 5 "nchunks must be > 0" "$CC" "$@"
for c in "$CC" "$@"; do
    case $c in "$CC") lang="-x c -std=c11" ;; *) lang="-x c++ -std=c++17" ;; esac
    $c $lang -Wall -Wextra -Werror $inc -DBAD=0 -c -o "$tmp/good.o" \
        "$srcdir/tests/cxx/bad_define.c" 2> "$tmp/err" ||
        { fail "$c: the good control definition does not compile:"; cat "$tmp/err"; }
done

[ $failed -eq 0 ] && echo "cxx_header.sh: PASS" || echo "cxx_header.sh: FAIL"
exit $failed
