#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/cxx.sh — the C++ program (cxx_threads.cc) under
# libchunkarena-malloc: new/delete, std::thread, containers.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
prog="$CA_BUILDDIR/tests/malloc/cxx_threads"
[ -x "$prog" ] || { echo "SKIP: no C++ compiler was found by configure: cxx_threads not built"; exit 77; }
compare cxx "$work/cxx" "$prog"
