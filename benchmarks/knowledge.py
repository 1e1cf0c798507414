#!/usr/bin/env python3
"""Benchmark the snippet-analysis and knowledge steps on HG2.9K gists.

Prints: how many imports resolve (stdlib, local, platform-bound, or a known distribution), how
many fall back to a same-name guess, and the top-1 accuracy on the hand-labelled samples in
tests/data/ (``knowledge_labels.gists.csv``, sampled from the gists; ``knowledge_labels.csv``,
known mappings). Never reads peers.csv.

    python benchmarks/knowledge.py                      # figures
    python benchmarks/knowledge.py --sample 200         # print a fresh sample to label
    python benchmarks/knowledge.py --compile            # also compile with the interpreters
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env.host.interpreters import discover
from driftdoc.env.knowledge.mapping import load
from driftdoc.env.knowledge.plan import classify, local_modules
from driftdoc.env.knowledge.pyversion import infer_versions
from driftdoc.env.snippet.imports import scan_imports
from driftdoc.env.snippet.read import read_snippet
from driftdoc.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
GISTS = ROOT.parent / "shared" / "benchmarks" / "hg2.9k" / "gists"
LABELS_GISTS = ROOT / "tests" / "data" / "knowledge_labels.gists.csv"
LABELS_KNOWN = ROOT / "tests" / "data" / "knowledge_labels.csv"
LABELS_HELDOUT = ROOT / "tests" / "data" / "knowledge_labels.heldout.csv"
LABEL_FILES = (LABELS_GISTS, LABELS_HELDOUT, LABELS_KNOWN)
SEED = 20261122
NONE = "-"  # label for "no PyPI distribution provides this"
UNSURE = "?"  # label for "cannot tell"; excluded like NONE


def read_labels(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(line for line in fh if not line.startswith("#")):
            if row and row[0] != "import":
                rows.append((row[0].strip(), row[1].strip()))
    return rows


def top1_accuracy(rows: list[tuple[str, str]]) -> tuple[int, int, list[str]]:
    """(correct, total, misses) for labels that name a distribution."""
    k = load()
    ok = 0
    total = 0
    misses = []
    for name, want in rows:
        if want in (NONE, UNSURE):
            continue
        total += 1
        cands = k.candidates(name)
        got = cands[0].distribution if cands else (name.split(".")[0] + " (guess)")
        alternatives = {canonicalize_name(w) for w in want.split("|")}
        if canonicalize_name(got) in alternatives:
            ok += 1
        else:
            misses.append(f"{name}: want {want}, got {got}")
    return ok, total, misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gists", default=str(GISTS))
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--compile", action="store_true",
                    help="compile with the discovered interpreters (slow cold, cached)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N gists")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    paths = sorted(Path(args.gists).glob("*/snippet.py"))
    if args.limit:
        paths = paths[: args.limit]
    interps = discover()
    knowledge = load()
    kinds: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    parsers: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    occurrences: list[str] = []
    platform_gists = 0
    py2 = 0
    errors = 0
    compiles = agree = 0
    t0 = time.perf_counter()
    for p in paths:
        try:
            snip = read_snippet(p)
        except InputError:
            errors += 1
            continue
        scan = scan_imports(snip.source)
        parsers[scan.parser] += 1
        locals_ = local_modules(snip)
        code = p.read_bytes() if args.compile else None
        cands = infer_versions(scan, interpreters=interps, code=code, local_names=locals_)
        py = cands[0].version
        if args.compile:
            static = infer_versions(scan, interpreters=interps, code=None, local_names=locals_)
            compiles += cands[0].compiles is True
            agree += static[0].version == py
        py2 += py == "2.7"
        uses = classify(scan.imports, python=py, locals_=locals_, knowledge=knowledge)
        seen: set[str] = set()
        bound = False
        for u in uses:
            if u.name in seen:
                continue
            seen.add(u.name)
            kinds[u.kind] += 1
            if u.kind == "platform" and u.required:
                bound = True
            if u.kind in ("thirdparty", "unknown"):
                occurrences.append(u.name)
                sources[u.candidates[0].source if u.candidates else "none"] += 1
            if u.kind == "unknown":
                unknown[u.name] += 1
        platform_gists += bound
    elapsed = time.perf_counter() - t0

    total = sum(kinds.values())
    resolved = total - kinds["unknown"]
    print(f"gists: {len(paths)} ({errors} unreadable), {elapsed:.1f} s "
          f"({1000 * elapsed / max(1, len(paths)):.1f} ms/gist), knowledge {knowledge.version}")
    print(f"parsers: {dict(parsers)}; best Python 2.7 for {py2} gists")
    if args.compile:
        print(f"with compile checks: best Python compiles for {compiles}/{len(paths)} gists; "
              f"static-only choice is the same version for {agree}/{len(paths)}")
    print(f"imports (distinct per gist): {total}")
    for kind in ("stdlib", "local", "platform", "thirdparty", "unknown"):
        print(f"  {kind:<10} {kinds[kind]:6d}  {100 * kinds[kind] / max(1, total):5.1f} %")
    print(f"resolved (stdlib, local, platform or a known distribution): {resolved}/{total} = "
          f"{100 * resolved / max(1, total):.2f} %")
    print(f"gists with a required platform-bound import: {platform_gists}")
    print(f"top-1 sources: {dict(sources.most_common())}")
    if args.verbose:
        print("most common unknown:", unknown.most_common(60))

    for label_file in LABEL_FILES:
        if label_file.exists():
            rows = read_labels(label_file)
            ok, n, misses = top1_accuracy(rows)
            nones = sum(1 for _, w in rows if w in (NONE, UNSURE))
            print(f"top-1 accuracy on {label_file.name}: {ok}/{n} = {100 * ok / max(1, n):.1f} %"
                  f" ({nones} labelled '{NONE}' (not on PyPI) or '{UNSURE}', excluded)")
            for m in misses:
                print(f"    miss: {m}")

    if args.sample:
        rng = random.Random(args.seed)
        order = occurrences[:]
        rng.shuffle(order)
        picked: list[str] = []
        labelled = {n for f in LABEL_FILES if f.exists() for n, _ in read_labels(f)}
        for name in order:
            if name not in picked and (args.seed == SEED or name not in labelled):
                picked.append(name)
            if len(picked) >= args.sample:
                break
        for name in picked:
            c = knowledge.candidates(name)
            print(f"SAMPLE {name},{c[0].distribution if c else '?'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
