-- SPDX-License-Identifier: MIT
-- tests/malloc/rows.sql: 100,000 rows, two indexes, queries, a delete, a
-- vacuum, an integrity check (tests/malloc/sqlite.sh, malloc/bench-programs.sh).
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
