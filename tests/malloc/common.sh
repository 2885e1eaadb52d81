# SPDX-License-Identifier: MIT
# tests/malloc/common.sh — sourced by the real-program tests of
# libchunkarena-malloc: run a command under glibc's malloc and again under
# LD_PRELOAD of the library (with its exit check on), and fail unless the
# outputs match, the library reported no fault, and every process it ran
# in found all its arenas clean at exit. A program that is missing, or a
# sanitizer build (whose runtime owns malloc), is a SKIP (exit 77).
set -eu

: "${CA_MALLOC_LIB:?make check sets CA_MALLOC_LIB}"
if [ -n "${CA_SAN_CFLAGS:-}" ]; then
    echo "SKIP: a sanitizer build: its runtime replaces malloc, so no preloaded malloc can run"
    exit 77
fi
[ -f "$CA_MALLOC_LIB" ] || { echo "FAIL: $CA_MALLOC_LIB not built"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need() { # need PROGRAM: SKIP unless it is installed
    command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 is not installed (./bootstrap installs it)"; exit 77; }
}

# under NAME DIR CMD...: run CMD in a fresh DIR under the library, its exit
# check on; fail on a non-zero exit, a fault reported, or a process that did
# not find every arena clean. Its stdout is left in $work/NAME.ca.
under() {
    name=$1 dir=$2
    shift 2
    rm -rf "$dir" && mkdir -p "$dir"
    status=0
    (cd "$dir" && LD_PRELOAD="$CA_MALLOC_LIB" CHUNKARENA_MALLOC_CHECK=1 "$@") \
        >"$work/$name.ca" 2>"$work/$name.ca.err" || status=$?
    grep -v '^chunkarena-malloc: check: ' "$work/$name.ca.err" >&2 || true
    if [ "$status" -ne 0 ]; then
        echo "FAIL: $name under chunkarena-malloc exited $status"; exit 1
    fi
    if grep -q 'invalid pointer' "$work/$name.ca.err"; then
        echo "FAIL: $name: a fault was reported"; exit 1
    fi
    checks=$(grep -c '^chunkarena-malloc: check: ' "$work/$name.ca.err" || true)
    clean=$(grep -Ec '^chunkarena-malloc: check: ([0-9]+) of \1 arenas clean' "$work/$name.ca.err" || true)
    if [ "$checks" -eq 0 ] || [ "$checks" -ne "$clean" ]; then
        echo "FAIL: $name: $clean of $checks processes found every arena clean"
        grep '^chunkarena-malloc: check: ' "$work/$name.ca.err" | grep -v ' clean ' | head
        exit 1
    fi
}

# compare NAME DIR CMD...: run CMD in a fresh DIR under glibc, then as
# `under` does; fail also when the outputs differ.
compare() {
    name=$1 dir=$2
    shift 2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && "$@") >"$work/$name.glibc" 2>"$work/$name.glibc.err" || {
        echo "FAIL: $name under glibc exited $?"; cat "$work/$name.glibc.err"; exit 1; }
    under "$name" "$dir" "$@"
    if ! cmp -s "$work/$name.glibc" "$work/$name.ca"; then
        echo "FAIL: $name: the output differs from glibc's"
        diff "$work/$name.glibc" "$work/$name.ca" | head -20
        exit 1
    fi
    echo "ok: $name: same output as glibc ($(wc -l <"$work/$name.ca") lines), $checks processes, every arena clean"
}
