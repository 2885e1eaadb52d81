# SPDX-License-Identifier: MIT
# tests/tools/common.sh — what asan.sh, tsan.sh and valgrind.sh share: run
# one scenario of tests/tools/bugs under a tool and check, pair by pair of
# arena and layer, that the tool reported exactly where a bug was.
#
#   expect SCENARIO BAD PATTERN COMMAND...
#
# runs COMMAND SCENARIO (COMMAND ends with the bugs program), then checks:
# 10 pairs ran (static and created, five layers); BAD of them ended other
# than "exit 0" (the tool's exit code, or the abort of a fault); PATTERN
# (an extended regex of the tool's report) appears at least BAD times, and
# not at all when BAD is 0. On a failure the output is shown.

failures=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

expect() {
    scenario=$1 bad=$2 pattern=$3
    shift 3
    "$@" "$scenario" >"$log" 2>&1
    rc=$?
    pairs=$(grep -c '^pair ' "$log")
    failed=$(grep '^pair ' "$log" | grep -vc ': exit 0$')
    reports=$(grep -Ec -- "$pattern" "$log")
    ok=yes
    [ "$rc" -eq 0 ] && [ "$pairs" -eq 10 ] && [ "$failed" -eq "$bad" ] || ok=no
    if [ "$bad" -eq 0 ]; then
        [ "$reports" -eq 0 ] || ok=no
    else
        [ "$reports" -ge "$bad" ] || ok=no
    fi
    if [ $ok = yes ]; then
        echo "ok: $scenario: $failed of $pairs pairs reported ($reports reports)"
    else
        echo "FAIL: $scenario: exit $rc, $pairs pairs, $failed reported (want $bad)," \
             "$reports lines match /$pattern/; the output:"
        cat "$log"
        failures=$((failures + 1))
    fi
}

finish() {
    [ "$failures" -eq 0 ] || { echo "$failures scenario(s) failed"; exit 1; }
    exit 0
}
