# SPDX-License-Identifier: MIT
# tests/malloc/stdlib.py — run modules of Python's own test suite quietly
# and print, for each, the tests run, failed, in error and skipped (no
# timings, so that two runs compare equal).
import io
import sys
import unittest

for name in sys.argv[1:]:
    suite = unittest.defaultTestLoader.loadTestsFromName("test." + name)
    r = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
    print(name, r.testsRun, len(r.failures), len(r.errors), len(r.skipped))
