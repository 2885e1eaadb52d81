#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/exports.sh — the interface of the installed library is exactly the
# public header, and every piece of it is exercised by a test:
#   1. every symbol the shared library exports (nm -D --defined-only) is a
#      function declared in api/chunkarena.h;
#   2. every function declared in api/chunkarena.h is marked CA_API there
#      and exported;
#   3. every exported symbol is called in at least one tests/*.c or
#      tests/*/*.c file, or
#      (for the private helpers of CA_ARENA_DEFINE) called by a macro of the
#      header that a tests/*.c file uses.
# Comments and string literals do not count as declarations or calls.
#
# Environment: srcdir (set by automake's test harness; default: the parent
# of this script's directory) locates api/ and tests/; CA_SHLIB the shared
# library (default .libs/libchunkarena.so, relative to the build directory,
# which is where `make check` runs this, also in a VPATH build); NM the nm
# to use (default nm). Exit 0 on success, 1 with what is wrong otherwise.

srcdir=${srcdir:-$(dirname "$0")/..}
lib=${CA_SHLIB:-.libs/libchunkarena.so}
nm=${NM:-nm}
header=$srcdir/api/chunkarena.h

fail() {
    echo "exports.sh: $*" >&2
    exit 1
}

test -f "$header" || fail "no header at $header (set srcdir)"
test -f "$lib" || fail "no shared library at $lib (build it, or set CA_SHLIB)"
set -- "$srcdir"/tests/*.c "$srcdir"/tests/*/*.c
test -f "$1" || fail "no tests/*.c under $srcdir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/exports.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT INT TERM

# C text without comments and without the contents of string and character
# literals (newlines kept, so preprocessor lines stay lines).
strip_c() {
    awk '
    {
        line = $0; out = ""; n = length(line); i = 1
        while (i <= n) {
            c = substr(line, i, 1); c2 = substr(line, i, 2)
            if (incomment) {
                if (c2 == "*/") { incomment = 0; i += 2 } else i++
                continue
            }
            if (c2 == "/*") { incomment = 1; out = out " "; i += 2; continue }
            if (c2 == "//") break
            if (c == "\"" || c == "\047") {
                q = c; i++
                while (i <= n) {
                    d = substr(line, i, 1)
                    if (d == "\\") { i += 2; continue }
                    i++
                    if (d == q) break
                }
                out = out q q
                continue
            }
            out = out c; i++
        }
        print out
    }' "$@"
}

# Exported: defined dynamic symbols, without version suffixes or version
# nodes (type A).
# shellcheck disable=SC2086  # $nm may carry options, e.g. "nm -B"
$nm -D --defined-only "$lib" > "$tmp/nm" 2> "$tmp/nm.err" ||
    fail "$nm -D --defined-only $lib failed: $(cat "$tmp/nm.err")"
awk 'NF >= 2 && $(NF-1) != "A" { sub(/@.*/, "", $NF); print $NF }' "$tmp/nm" |
    sort -u > "$tmp/exported"
test -s "$tmp/exported" || fail "$lib exports nothing"

# Declared: identifiers followed by "(" in the header outside preprocessor
# lines (so macro bodies do not count), i.e. function declarations.
strip_c "$header" > "$tmp/header"
awk '
    cont { cont = /\\$/; next }
    /^[ \t]*#/ { cont = /\\$/; next }
    { print }' "$tmp/header" |
    grep -oE '(^|[^A-Za-z0-9_])ca_[A-Za-z0-9_]*[[:space:]]*\(' |
    sed -E 's/^[^A-Za-z_]//; s/[[:space:]]*\($//' | sort -u > "$tmp/declared"
test -s "$tmp/declared" || fail "no function declarations found in $header"
# ... and each is marked CA_API where it is declared (the library is built
# with -fvisibility=hidden: an unmarked one would not be exported).
grep -E '^[A-Za-z].*[^A-Za-z0-9_]ca_[A-Za-z0-9_]*[[:space:]]*\(' "$tmp/header" |
    grep -vE '^(CA_API |typedef |#)' > "$tmp/unmarked" || :

# The header's macros, one a line: NAME<space>body (continuations joined).
awk '
    cont { body = body " " $0; if (!/\\$/) { print name " " body; cont = 0 }; next }
    /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*/ {
        s = $0; sub(/^[ \t]*#[ \t]*define[ \t]+/, "", s)
        name = s; sub(/[^A-Za-z0-9_].*$/, "", name)
        body = s
        if (/\\$/) cont = 1; else print name " " body
    }' "$tmp/header" > "$tmp/macros"

strip_c "$@" > "$tmp/tests"

called_in_tests() { # name: called as name( in a tests/*.c file
    grep -qE "(^|[^A-Za-z0-9_])${1}[[:space:]]*\\(" "$tmp/tests"
}

bad=0
while read -r line; do
    echo "declared without CA_API in api/chunkarena.h: $line"
    bad=1
done < "$tmp/unmarked"
while read -r sym; do
    if ! grep -qx "$sym" "$tmp/declared"; then
        echo "exported but not declared in api/chunkarena.h: $sym"
        bad=1
    fi
    if called_in_tests "$sym"; then
        continue
    fi
    grep -E "(^|[^A-Za-z0-9_])${sym}[[:space:]]*\\(" "$tmp/macros" | cut -d' ' -f1 > "$tmp/via"
    via=
    while read -r macro; do
        if called_in_tests "$macro"; then
            via=$macro
            break
        fi
    done < "$tmp/via"
    if [ -z "$via" ]; then
        echo "exported but called by no tests/*.c file (directly or through a header macro): $sym"
        bad=1
    fi
done < "$tmp/exported"

while read -r sym; do
    if ! grep -qx "$sym" "$tmp/exported"; then
        echo "declared in api/chunkarena.h but not exported by $lib: $sym"
        bad=1
    fi
done < "$tmp/declared"

if [ "$bad" -ne 0 ]; then
    echo "exports.sh: FAIL ($lib against $header)" >&2
    exit 1
fi
echo "exports.sh: $(wc -l < "$tmp/exported") exported symbols = $(wc -l < "$tmp/declared") declared functions, each called by a test"
exit 0
