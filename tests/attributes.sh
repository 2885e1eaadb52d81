#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/attributes.sh — the compiler attributes of api/chunkarena.h reach
# the callers: with gcc -O2 -Wall, writing past a ca_alloc'd block warns
# as it does past a malloc'd one (alloc_size), as do an ignored result
# (warn_unused_result) and a constant NULL arena (nonnull); a write that
# fits does not warn. Compiles only; SKIP (77) when the compiler is not GCC
# (clang does not check memset against alloc_size).
#
# Environment: srcdir (automake's; default: the parent of this directory),
# CC (default cc).
srcdir=${srcdir:-$(dirname "$0")/..}
cc=${CC:-cc}

case $($cc --version 2>/dev/null | head -n 1) in
*clang*) echo "attributes.sh: SKIP: $cc is clang, which does not check memset against alloc_size"; exit 77 ;;
*gcc* | *GCC*) ;;
*) echo "attributes.sh: SKIP: $cc is not GCC"; exit 77 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attributes.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

compile() { # compile NAME BODY: compile BODY with -O2 -Wall, warnings to $tmp/NAME.log
    cat > "$tmp/$1.c" <<EOT
#include <string.h>
#include "chunkarena.h"
void f(ca_arena *a);
void f(ca_arena *a)
{
$2
}
EOT
    $cc -O2 -Wall -c -I"$srcdir/api" -I"${builddir:-.}/api" -o "$tmp/$1.o" "$tmp/$1.c" > "$tmp/$1.log" 2>&1 || {
        echo "attributes.sh: $1 does not compile:"; cat "$tmp/$1.log"; exit 1; }
}

bad=0
expect() { # expect NAME PATTERN: the warnings of NAME match PATTERN
    if ! grep -qE "$2" "$tmp/$1.log"; then
        echo "attributes.sh: FAIL: $1: no warning matching '$2'; the compiler said:"
        cat "$tmp/$1.log"
        bad=1
    fi
}

compile overrun '    void *p = ca_alloc(a, 40); memset(p, 0, 100); ca_free(a, p);'
expect overrun 'memset.*(out of the bounds|overflow)|Warray-bounds|Wstringop-overflow'
compile aligned_overrun '    char *p = ca_aligned_alloc(a, 64, 40); memset(p, 0, 100); ca_free(a, p);'
expect aligned_overrun 'Warray-bounds|Wstringop-overflow'
compile calloc_overrun '    char *p = ca_calloc(a, 4, 10); memset(p, 1, 41); ca_free(a, p);'
expect calloc_overrun 'Warray-bounds|Wstringop-overflow'
compile unused '    ca_alloc(a, 8);'
expect unused 'Wunused-result'
compile null_arena '    (void)a; void *p = ca_alloc((ca_arena *)0, 8); ca_free(a, p);'
expect null_arena 'Wnonnull'
compile fits '    void *p = ca_alloc(a, 40); memset(p, 0, 40); ca_free(a, p);'
if [ -s "$tmp/fits.log" ]; then
    echo "attributes.sh: FAIL: a write that fits warns:"; cat "$tmp/fits.log"; bad=1
fi
[ "$bad" -eq 0 ] || exit 1
echo "attributes.sh: $cc warns on overruns, ignored results and NULL arenas, not on a write that fits"
