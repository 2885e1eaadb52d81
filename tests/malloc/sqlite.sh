#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/sqlite.sh — sqlite3 under libchunkarena-malloc: a database
# of 100,000 rows with two indexes, queries through them, a delete, a
# vacuum and an integrity check.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
need sqlite3
cat >"$work/rows.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO t SELECT i, 'name-' || (i * 7919 % 100000), i % 97, zeroblob(i % 300) FROM n;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, id);
SELECT count(*), sum(length(payload)) FROM t;
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT id FROM t WHERE name BETWEEN 'name-5000' AND 'name-5010' ORDER BY id;
DELETE FROM t WHERE grp % 3 = 0;
VACUUM;
SELECT count(*) FROM t;
PRAGMA integrity_check;
SQL
compare sqlite3 "$work/db" sh -c "sqlite3 rows.db <'$work/rows.sql'"
