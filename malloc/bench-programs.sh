#!/bin/sh
# SPDX-License-Identifier: MIT
# malloc/bench-programs.sh — the real programs of libchunkarena-malloc's
# tests, timed under every allocator in one run: wall time and peak RSS
# (GNU time's %e and %M: the largest resident set of the process or of any
# child it waited for), the median of REPS runs each. Prints a Markdown
# table for docs/PERFORMANCE.md. Timings are noisy on a shared machine.
#
#   malloc/bench-programs.sh [BUILDDIR] [REPS]    (BUILDDIR: where make ran)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
self="$src/malloc/bench-programs.sh" # it runs itself from other directories

if [ "${1:-}" = --run ]; then # --run PROGRAM: one program, in the current directory
    case $2 in
    python) exec "$CA_PY" "$src/tests/malloc/churn.py" ;;
    sqlite3) exec sqlite3 rows.db <"$src/tests/malloc/rows.sql" ;;
    git) exec sh "$src/tests/malloc/repo.sh" ;;
    c++) exec "$CA_BUILD/tests/malloc/cxx_threads" ;;
    fork) exec "$CA_BUILD/tests/malloc/forker" ;;
    esac
    exit 2
fi

CA_BUILD=$(cd "${1:-$src}" && pwd)
reps=${2:-3}
lib="$CA_BUILD/.libs/libchunkarena-malloc.so"
[ -f "$lib" ] || { echo "no $lib: build first (and make check, for the test programs)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
CA_PY=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a shim
export CA_BUILD CA_PY
multi=/usr/lib/x86_64-linux-gnu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name:library to preload (none for glibc)
allocators="glibc: jemalloc:$multi/libjemalloc.so.2 mimalloc:$multi/libmimalloc.so.2
tcmalloc:$multi/libtcmalloc_minimal.so.4 chunkarena-malloc:$lib"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| program | allocator | wall (s) | peak RSS (MiB) |"
echo "|---|---|---:|---:|"
for prog in python sqlite3 git c++ fork; do
    for a in $allocators; do
        name=${a%%:*} path=${a#*:}
        if [ -n "$path" ] && [ ! -f "$path" ]; then
            echo "| $prog | $name | not installed | |"
            continue
        fi
        : >"$work/times"
        i=0
        while [ "$i" -lt "$reps" ]; do
            rm -rf "$work/dir" && mkdir "$work/dir"
            (cd "$work/dir" && LD_PRELOAD="$path" /usr/bin/time -f '%e %M' -o "$work/one" \
                "$self" --run "$prog" >/dev/null) && cat "$work/one" >>"$work/times" ||
                echo "warning: $prog under $name failed" >&2
            i=$((i + 1))
        done
        if [ ! -s "$work/times" ]; then
            echo "| $prog | $name | failed | |"
            continue
        fi
        wall=$(cut -d' ' -f1 "$work/times" | median)
        rss=$(cut -d' ' -f2 "$work/times" | median)
        echo "| $prog | $name | $wall | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') |"
    done
done
