#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/summary.py — the headline tables of a ca-bench CSV, as Markdown.

    bench/summary.py bench/results/latest.csv [--label before]

Prints, from one CSV of `make bench` (and `make bench-instr`, which adds
its rows to the same file): W2, W4 and W7 throughput with the touch and
without it ("no touch"), W7's failures, W3 and W6 aggregate throughput by
T, and instructions per op. Each throughput cell is "median (min..max)".
Rows that are missing in the CSV are shown as "-". The tables in
docs/PERFORMANCE.md are made this way, so a later run can be put next to
them with the same command.
"""
import csv
import sys


def load(path):
    rows = {}
    order = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["workload"], r["backend"], r["layer"], r["threads"], r["metric"])
            rows[key] = r["value"]
            bl = (r["backend"], r["layer"])
            if "/c" not in r["layer"] and bl not in order:
                order.append(bl)
    return rows, order


def name(bl):
    return bl[0] if bl[1] == "-" else "%s %s" % bl


def cell(rows, w, bl, t, metric="mops"):
    v = rows.get((w, bl[0], bl[1], str(t), metric))
    if v is None:
        return "-"
    lo = rows.get((w, bl[0], bl[1], str(t), metric + "_min"))
    hi = rows.get((w, bl[0], bl[1], str(t), metric + "_max"))
    if lo is None or hi is None:
        return v
    return "%.2f (%.2f..%.2f)" % (float(v), float(lo), float(hi))


def has(rows, w, bl):
    return any(k[0] == w and (k[1], k[2]) == bl for k in rows)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows, order = load(sys.argv[1])
    section = []  # a table's lines: printed only when it has a row

    def out(line):
        section.append(line)

    def flush(header_lines):
        if len(section) > header_lines:
            print("\n".join(section) + "\n")
        section.clear()

    out("### W2, W4, W7: one thread, Mops/s, median (min..max)\n")
    out("| backend | W2 touch | W2 no touch | W4 touch | W4 no touch | W7 touch | W7 no touch | W7 failed |")
    out("|---|---|---|---|---|---|---|---|")
    for bl in order:
        if not any(has(rows, w, bl) for w in ("W2", "W4", "W7")) or bl[0] == "null":
            continue
        if not any(rows.get((w, bl[0], bl[1], "1", "mops")) for w in ("W2", "W4", "W7")):
            continue
        out("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name(bl), cell(rows, "W2", bl, 1), cell(rows, "W2", bl, 1, "mops_notouch"),
            cell(rows, "W4", bl, 1), cell(rows, "W4", bl, 1, "mops_notouch"),
            cell(rows, "W7", bl, 1), cell(rows, "W7", bl, 1, "mops_notouch"),
            rows.get(("W7", bl[0], bl[1], "1", "failed"), "-")))

    flush(3)
    for w, ts, what in (("W3", (1, 2, 8), "T"), ("W6", (1, 2, 4), "pairs")):
        out("### %s: aggregate Mops/s, median (min..max); failed allocations, if any, after /\n" % w)
        out("| backend | " + " | ".join("%s=%d" % (what, t) for t in ts) + " |")
        out("|---|" + "---|" * len(ts))
        for bl in order:
            if not has(rows, w, bl):
                continue
            cells = []
            for t in ts:
                c = cell(rows, w, bl, t)
                f = rows.get((w, bl[0], bl[1], str(t), "failed"))
                if f not in (None, "0"):
                    c += " / " + f
                p = rows.get((w, bl[0], bl[1], str(t), "partial_runs"))
                if p not in (None, "0"):
                    c += " (%s stopped)" % p
                cells.append(c)
            out("| %s | %s |" % (name(bl), " | ".join(cells)))
        flush(3)

    if any(k[4] == "instr_per_op" for k in rows):
        out("### Instructions per op (callgrind; net of the workload's own loop; total in brackets)\n")
        out("| backend | W2 | W4 | W7 | W7 / W2 |")
        out("|---|---|---|---|---|")
        for bl in order:
            v = [rows.get((w, bl[0], bl[1], "1", "instr_per_op")) for w in ("W2", "W4", "W7")]
            t = [rows.get((w, bl[0], bl[1], "1", "instr_per_op_total")) for w in ("W2", "W4", "W7")]
            if all(x is None for x in v) or bl[0] == "null":
                continue
            cells = ["%s (%s)" % (a, b) if a not in (None, "NA") else "-" for a, b in zip(v, t)]
            ratio = "-"
            if v[0] not in (None, "NA") and v[2] not in (None, "NA") and float(v[0]) > 0:
                ratio = "%.2f" % (float(v[2]) / float(v[0]))
            out("| %s | %s | %s | %s | %s |" % (name(bl), cells[0], cells[1], cells[2], ratio))
        flush(3)


if __name__ == "__main__":
    main()
