#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/fork.sh — forker.c under libchunkarena-malloc: forks with
# threads running, threads created and exiting all the time; the parent
# and every child must find every arena clean at exit.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
compare fork "$work/fork" "$CA_BUILDDIR/tests/malloc/forker"
