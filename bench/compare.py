#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/compare.py — two builds side by side: W3 and W6 before -> after.

    bench/compare.py --before B1.csv [B2.csv ...] --after A1.csv [A2.csv ...]
                     [--png PATH]

Each CSV is one run of ca-bench (`--workloads=W3,W6 --csv=...`); give the
runs of each build in the order they were made, interleaved with the other
build's so that both see the same machine. For every chunkarena layer it
prints W3's and W6's aggregate Mops/s before and after, each cell the
median over the runs of the per-run medians, with the range of all timed
repetitions (min..max); the malloc peers' rows show whichever side's runs
have them. With --png it draws both workloads against T (gnuplot):
chunkarena's layers before dashed and after solid, the peers (from the
"after" runs) dotted.
"""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summary import load  # noqa: E402  (the CSV reader of bench/summary.py)

SERIES = (("W3", (1, 2, 8), "T"), ("W6", (1, 2, 4), "pairs"))


def combine(paths):
    """{(workload, backend, layer, threads): (median, min, max)}, and the order."""
    runs = [load(p) for p in paths]
    order = []
    for _, o in runs:
        order += [bl for bl in o if bl not in order and bl[0] != "null"]
    out = {}
    for w, ts, _ in SERIES:
        for bl in order:
            for t in ts:
                key = (w, bl[0], bl[1], str(t))
                med = [float(r[key + ("mops",)]) for r, _ in runs if key + ("mops",) in r]
                if not med:
                    continue
                lo = min(float(r.get(key + ("mops_min",), r[key + ("mops",)])) for r, _ in runs if key + ("mops",) in r)
                hi = max(float(r.get(key + ("mops_max",), r[key + ("mops",)])) for r, _ in runs if key + ("mops",) in r)
                out[(w, bl[0], bl[1], t)] = (statistics.median(med), lo, hi)
    return out, order


def fmt(v):
    return "-" if v is None else "%.2f (%.2f..%.2f)" % v


def table(before, after, order):
    for w, ts, what in SERIES:
        print("### %s: aggregate Mops/s, before -> after\n" % w)
        print("| backend | " + " | ".join("%s=%d before | after" % (what, t) for t in ts) + " |")
        print("|---|" + "---|---|" * len(ts))
        for bl in order:
            b = [before.get((w, bl[0], bl[1], t)) for t in ts]
            a = [after.get((w, bl[0], bl[1], t)) for t in ts]
            if all(x is None for x in a + b):
                continue
            name = bl[0] if bl[1] == "-" else "%s %s" % bl
            print("| %s | %s |" % (name, " | ".join("%s | %s" % (fmt(x), fmt(y)) for x, y in zip(b, a))))
        print()


def plot(before, after, order, png):
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        data = f.name
        blocks = []  # (workload, dash type, colour number)
        for w, ts, _ in SERIES:
            for bl in order:
                for label, src, dash in (("before", before, 2), ("after", after, 1)):
                    pts = [(t, src[(w, bl[0], bl[1], t)][0]) for t in ts if (w, bl[0], bl[1], t) in src]
                    if not pts or (bl[0] != "chunkarena" and label == "before"):
                        continue
                    title = "%s %s" % (bl[1], label) if bl[0] == "chunkarena" else bl[0]
                    f.write('"%s"\n' % title + "".join("%d %.4f\n" % p for p in pts) + "\n\n")
                    blocks.append((w, dash if bl[0] == "chunkarena" else 3, order.index(bl)))
    script = ['set terminal pngcairo size 1300,560 noenhanced font ",10"', 'set output "%s"' % png,
              "set multiplot layout 1,2", "set grid", "set key outside right top",
              "set logscale x 2", "set ylabel 'aggregate Mops/s'", "set yrange [0:*]"]
    colours = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf".split()
    for w, ts, what in SERIES:
        idx = [i for i, b in enumerate(blocks) if b[0] == w]
        script += ["set title '%s: chunkarena before (dashed) and after (solid); peers dotted'" % w,
                   "set xlabel '%s'" % what, "set xrange [0.8:%d]" % (ts[-1] * 1.25),
                   "set xtics (%s)" % ", ".join('"%d" %d' % (t, t) for t in ts)]
        parts = []
        for i in idx:
            colour = colours[blocks[i][2] % len(colours)]
            parts.append("'%s' index %d using 1:2 with linespoints lw 2 pt 7 dt %d lc rgb '%s' title columnheader(1)"
                         % (data, i, blocks[i][1], colour))
        script.append("plot " + ", ".join(parts))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    os.unlink(data)


def main():
    args = sys.argv[1:]
    if "--before" not in args or "--after" not in args:
        sys.exit(__doc__)
    png = None
    if "--png" in args:
        i = args.index("--png")
        if i + 1 >= len(args) or args[i + 1].startswith("--"):
            sys.exit("compare.py: --png wants a path\n" + __doc__)
        png = args[i + 1]
        del args[i:i + 2]
    b, a = args.index("--before"), args.index("--after")
    before_paths = args[b + 1:a] if b < a else args[b + 1:]
    after_paths = args[a + 1:b] if a < b else args[a + 1:]
    before, order_b = combine(before_paths)
    after, order_a = combine(after_paths)
    order = order_a + [bl for bl in order_b if bl not in order_a]
    table(before, after, order)
    if png:
        plot(before, after, order, png)


if __name__ == "__main__":
    main()
