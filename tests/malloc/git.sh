#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/git.sh — git under libchunkarena-malloc (and every git
# process it starts): init, a commit of 300 files, two more commits, log,
# gc and fsck. Names and dates are fixed, so the hashes are the same
# under any malloc.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
need git
compare git "$work/repo" sh "$CA_SRCDIR/tests/malloc/repo.sh"
