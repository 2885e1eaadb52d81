#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/tools/tsan.sh — ThreadSanitizer and arena blocks: a program built with
# -fsanitize=thread against the library (plain: the hand-over annotated at
# run time; or built with --enable-tsan) gets no report for a block freed
# on one thread and reused on another, and a report for a real race on a
# block's contents. The "none" layer is for one thread: both scenarios
# leave it out, so 8 of the 10 pairs race.
. "$(dirname "$0")/common.sh"
prog=tests/tools/bugs-tsan
[ -x "$prog" ] || { echo "SKIP: $prog is not built (an AddressSanitizer build)"; exit 77; }
TSAN_OPTIONS=exitcode=99
export TSAN_OPTIONS
expect clean 0 'ThreadSanitizer' "$prog"
expect handover 0 'ThreadSanitizer' "$prog"
expect race 8 'WARNING: ThreadSanitizer: data race' "$prog"
finish
