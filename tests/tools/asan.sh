#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/tools/asan.sh — AddressSanitizer sees inside arenas: a program built
# with -fsanitize=address against the library (plain, found at run time; or
# built with --enable-asan) gets a report for each deliberate bug on an
# arena block, and none for a clean program. LeakSanitizer has no interface
# for an allocator's blocks, so leaks are memcheck's (valgrind.sh).
. "$(dirname "$0")/common.sh"
prog=tests/tools/bugs-asan
[ -x "$prog" ] || { echo "SKIP: $prog is not built (a ThreadSanitizer build)"; exit 77; }
ASAN_OPTIONS=exitcode=99
export ASAN_OPTIONS
report='ERROR: AddressSanitizer: use-after-poison'
expect clean 0 'AddressSanitizer' "$prog"
# LeakSanitizer's scan at each exit costs more than the rest: once is enough.
ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0
expect handover 0 'AddressSanitizer' "$prog"
expect overflow 10 "$report" "$prog"
expect underflow 10 "$report" "$prog"
expect uaf 10 "$report" "$prog"
expect wild 10 "$report" "$prog"
expect shrunk 10 "$report" "$prog"
# The library finds a double free itself: its fault handler's report (with
# handle_abort=1, ASan's stack trace of the abort that follows it).
ASAN_OPTIONS=$ASAN_OPTIONS:handle_abort=1
expect double-free 10 'not allocated' "$prog"
finish
