#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/suite.sh — part of the project's own test suite under
# libchunkarena-malloc: the core, bits and sync suites (Check forks a child
# for every test: fork after fork). Left out:
# test_api, which counts the registry's arenas and swaps the process-wide
# fault handler, ca-stress, which takes 11 s alone, and the game example,
# which requires every registered arena to be empty at its end (a malloc's
# arenas never are: stdio's buffers live there).
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
for t in tests/test_bits tests/test_core tests/test_core_random tests/test_sync; do
    # Check's summary: a percentage and counts, the same under any malloc.
    compare "${t#tests/}" "$work/suite" sh -c "'$CA_BUILDDIR/$t' | grep '^[0-9]*%: Checks'"
done
