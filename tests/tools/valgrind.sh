#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/tools/valgrind.sh — Valgrind memcheck sees inside arenas: the plain
# program under memcheck gets an error for each deliberate bug on an arena
# block (invalid writes and reads, a leaked block at exit), and none for a
# clean program. Skipped when the library was built without valgrind.h
# (--with-valgrind=no), under a sanitizer, or valgrind is not installed.
. "$(dirname "$0")/common.sh"
prog=tests/tools/bugs-plain
[ -x "$prog" ] || { echo "SKIP: $prog is not built (a sanitizer build)"; exit 77; }
[ "$CA_HAVE_VALGRIND_BUILD" = yes ] || { echo "SKIP: built without valgrind.h"; exit 77; }
[ -n "$VALGRIND" ] || { echo "SKIP: valgrind is not installed"; exit 77; }
vg="$VALGRIND -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
expect clean 0 'Invalid|uninitialised|definitely lost' $vg "$prog"
expect leak 10 'definitely lost in loss record' $vg "$prog"
# The leak check at each exit is the slow part: the others go without.
vg="$VALGRIND -q --error-exitcode=99 --leak-check=no"
expect handover 0 'Invalid|uninitialised' $vg "$prog"
expect overflow 10 'Invalid write of size 1' $vg "$prog"
expect underflow 10 'Invalid write of size 1' $vg "$prog"
expect uaf 10 'Invalid write of size 1' $vg "$prog"
expect wild 10 'Invalid read of size 1' $vg "$prog"
expect shrunk 10 'Invalid write of size 1' $vg "$prog"
expect double-free 10 'not allocated' $vg "$prog"
finish
