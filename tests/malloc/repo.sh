# SPDX-License-Identifier: MIT
# tests/malloc/repo.sh: a git repository of 300 files, three commits, log,
# gc, fsck, in the current directory (tests/malloc/git.sh,
# malloc/bench-programs.sh). Names and dates are fixed: the same hashes
# under any malloc.
set -e
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t
export GIT_COMMITTER_EMAIL=t@example.org GIT_AUTHOR_DATE='2026-01-01T00:00:00Z'
export GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$PWD
git init -q -b main .
mkdir d0 d1 d2 d3 d4 d5 d6 d7 d8 d9
awk 'BEGIN { for (i = 0; i < 300; i++) { f = "d" (i % 10) "/f" i ".txt";
             for (j = i; j <= 3 * i; j++) print j > f; close(f) } }'
git add -A && git commit -q -m "300 files"
seq 1 5000 >d0/f0.txt && git commit -q -am "grow one"
git rm -q -r d9 && git commit -q -m "drop d9"
git log --format='%H %s' --stat | tail -n 20
git gc -q
git fsck --full --strict
git count-objects -v | grep -E '^(count|in-pack|packs)'
