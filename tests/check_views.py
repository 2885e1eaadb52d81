#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/check_views.py — check chunkarena's JSON statistics and SVG maps
with real parsers (Python's json and xml.etree).

    check_views.py EXPECTED ONE.json ALL.json ONE.svg ALL.svg

EXPECTED holds the figures the C side (tests/test_views.c) read with
ca_arena_stats, one arena a block ("arena HEXNAME", "FIELD VALUE" lines,
"hist CLASS RUNS" lines, "end"): first the arena ONE.json and ONE.svg
show, then every registered arena in registration order. Exits 0 when every
check holds, else 1 with what is wrong."""
import json
import sys
import xml.etree.ElementTree as ET

FIELDS = ["chunk_size", "chunks_total", "chunks_used", "chunks_peak", "allocations",
          "bytes_requested", "failures", "grows_in_place", "shrinks_in_place", "moves",
          "free_runs", "largest_free_run", "chunks_cached", "cache_hits", "cache_misses",
          "runs_examined"]


def fail(msg):
    print("check_views.py: " + msg)
    sys.exit(1)


def expected(path):
    arenas, cur = [], None
    for line in open(path, encoding="ascii"):
        words = line.split()
        if words[0] == "arena":
            cur = {"name": bytes.fromhex(words[1]).decode("utf-8", "replace"), "hist": {}}
        elif words[0] == "lock":
            cur["lock"] = words[1]
        elif words[0] == "hist":
            cur["hist"][int(words[1])] = int(words[2])
        elif words[0] == "end":
            arenas.append(cur)
        else:
            cur[words[0]] = int(words[1])
    return arenas


def pairs(items):
    return {"__order__": [k for k, _ in items], **dict(items)}


def check_arena(got, want, where):
    for key in ["name", "lock"] + FIELDS:
        if key not in got:
            fail(f"{where}: no \"{key}\"")
        if key in FIELDS and (type(got[key]) is not int):
            fail(f"{where}: \"{key}\" is {got[key]!r}, not an integer")
        if got[key] != want[key]:
            fail(f"{where}: \"{key}\" is {got[key]!r}, ca_arena_stats says {want[key]!r}")
    hist = got["free_run_histogram"]
    classes = want["largest_free_run"].bit_length() if want["free_runs"] else 0
    if len(hist) != classes:
        fail(f"{where}: {len(hist)} histogram classes, the longest run needs {classes}")
    for k, cls in enumerate(hist):
        if [cls["from"], cls["to"]] != [1 << k, (2 << k) - 1]:
            fail(f"{where}: class {k} is {cls['from']}..{cls['to']}")
        if type(cls["runs"]) is not int or cls["runs"] != want["hist"].get(k, 0):
            fail(f"{where}: class {k}: {cls['runs']!r} runs, ca_arena_stats says "
                 f"{want['hist'].get(k, 0)}")
    if sum(c["runs"] for c in hist) != want["free_runs"]:
        fail(f"{where}: the histogram does not add up to free_runs")


def check_json(path, want):
    try:
        doc = json.load(open(path, encoding="utf-8"), object_pairs_hook=pairs)
    except ValueError as e:
        fail(f"{path} is not JSON: {e}")
    if doc["__order__"][0] != "version" or doc["version"] != 1:
        fail(f"{path}: the first member is {doc['__order__'][0]!r}, not \"version\": 1")
    if len(doc["arenas"]) != len(want):
        fail(f"{path}: {len(doc['arenas'])} arenas, expected {len(want)}")
    for i, (got, w) in enumerate(zip(doc["arenas"], want)):
        check_arena(got, w, f"{path}, arena {i} ({w['name']!r})")


def check_svg(path, want):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail(f"{path} is not XML: {e}")
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        fail(f"{path}: the root is {root.tag}, not svg")
    # Document order: the panels' texts and squares, then the legend, whose
    # swatches show every colour a square can have.
    items = list(root.iter())
    texts = ["".join(e.itertext()) for e in items if e.tag.endswith("text")]
    legend_at = next((i for i, e in enumerate(items)
                      if e.tag.endswith("text") and e.text == "legend"), None)
    if legend_at is None:
        fail(f"{path}: no legend")
    fills = lambda es: {e.get("fill") for e in es if e.tag.endswith("rect")}
    unexplained = fills(items[:legend_at]) - fills(items[legend_at:]) - {"#ffffff"}
    if unexplained:
        fail(f"{path}: squares coloured {sorted(unexplained)}, which the legend does not show")
    for w in want:
        # XML cannot carry control characters: the picture shows them as '?'.
        shown = "".join("?" if ord(c) < 0x20 or c == "\x7f" else c for c in w["name"])
        if not any(t.startswith(shown + " (" + w["lock"] + ")") for t in texts):
            fail(f"{path}: no heading for arena {w['name']!r}")
        if not any(f"{w['free_runs']} free runs" in t for t in texts):
            fail(f"{path}: arena {w['name']!r}: its {w['free_runs']} free runs are not said")


def main():
    if len(sys.argv) != 6:
        fail("usage: check_views.py EXPECTED ONE.json ALL.json ONE.svg ALL.svg")
    want = expected(sys.argv[1])
    one, every = want[:1], want[1:]
    check_json(sys.argv[2], one)
    check_json(sys.argv[3], every)
    check_svg(sys.argv[4], one)
    check_svg(sys.argv[5], every)
    print(f"check_views.py: {len(every)} arenas, JSON and SVG as ca_arena_stats says")


main()
