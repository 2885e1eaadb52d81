#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/sqlite.sh — sqlite3 under libchunkarena-malloc: a database
# of 100,000 rows with two indexes, queries through them, a delete, a
# vacuum and an integrity check.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
need sqlite3
compare sqlite3 "$work/db" sh -c "sqlite3 rows.db <'$CA_SRCDIR/tests/malloc/rows.sql'"
