#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/malloc/python.sh — python3 under libchunkarena-malloc: threads
# building and dropping dicts, lists and strings (churn.py), and, when
# Python's own test suite is installed, a few of its modules.
. "${CA_SRCDIR:-.}/tests/malloc/common.sh"
need python3
# The interpreter itself, not a wrapper (pyenv's shim is a shell script).
py=$(python3 -c 'import sys; print(sys.executable)')
compare python-churn "$work/py" "$py" "$CA_SRCDIR/tests/malloc/churn.py"
# Three quick modules (about 3 s together): lists, strings, thread-locals.
if "$py" -c 'import test.test_list, test.test_string, test.test_threading_local' 2>/dev/null; then
    compare python-stdlib "$work/py" "$py" "$CA_SRCDIR/tests/malloc/stdlib.py" \
        test_list test_string test_threading_local
else
    echo "note: Python's own test suite (test.test_list) is not installed: that part did not run"
fi
