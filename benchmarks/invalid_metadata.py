#!/usr/bin/env python3
"""Count the releases of the HG2.9K era whose metadata today's resolvers refuse, and the gists
that import them (the class served by ``env/toolchain/lenient.py``).

For every distribution the gists import (each top-level import's best candidate in the
knowledge base, stdlib left out), every release first published up to ``--until`` that has a
wheel is checked: the wheel's PEP 658 metadata is read as uv reads it (PEP 440 strictly,
``packaging``); a release that needed :func:`read_leniently` to change something is refused
by uv. Releases with sdists only have no served metadata and are counted apart.

    DRIFTDOC_CACHE_DIR=/work/tmp/x python benchmarks/invalid_metadata.py --until 2019-12-31
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from driftdoc.env.knowledge.distfiles import DistFile, Release
from driftdoc.env.knowledge.mapping import load
from driftdoc.env.knowledge.releases import IndexReleases
from driftdoc.env.knowledge.stdlib import is_stdlib_anywhere
from driftdoc.env.snippet.imports import scan_imports
from driftdoc.env.snippet.read import read_snippet
from driftdoc.env.toolchain.lenient import check_metadata

GISTS = Path(os.environ.get("HG29K_DATA") or
             Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hg2.9k") / "gists"


def gist_distributions(root: Path) -> dict[str, set[str]]:
    """gist id -> distributions its top-level imports map to."""
    knowledge = load()
    out: dict[str, set[str]] = {}
    for gist in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(gist.glob("*.py")) + sorted(gist.glob("*.ipynb"))
        if not files:
            continue
        try:
            source = read_snippet(files[0]).source
        except Exception:
            continue
        dists = set()
        for imp in scan_imports(source).imports:
            top = imp.top
            if imp.level or not top or is_stdlib_anywhere(top):
                continue
            best = knowledge.best(top)
            if best is not None and best.source != "guess":
                dists.add(best.distribution.lower())
        out[gist.name] = dists
    return out


def _one_wheel(release: Release) -> DistFile | None:
    wheels = [f for f in release.files if f.is_wheel and not f.yanked]
    return min(wheels, key=lambda f: ("none-any" not in f.filename, f.filename)) \
        if wheels else None


def check_release(releases: IndexReleases, name: str, release: Release) -> dict[str, object]:
    wheel = _one_wheel(release)
    if wheel is None:
        return {"name": name, "version": release.version, "state": "sdist-only"}
    reading = check_metadata(wheel, releases)
    if reading is None:
        return {"name": name, "version": release.version, "state": "no-metadata"}
    return {"name": name, "version": release.version,
            "state": "invalid" if reading.changes else "valid", "changes": reading.changes}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gists", type=Path, default=GISTS)
    ap.add_argument("--until", default="2019-12-31", help="the era's end (first upload date)")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--out", type=Path, help="write every checked release here (JSON)")
    args = ap.parse_args()
    until = datetime.fromisoformat(args.until).replace(tzinfo=UTC)
    by_gist = gist_distributions(args.gists)
    dists = sorted({d for ds in by_gist.values() for d in ds})
    releases = IndexReleases()
    todo = []
    for name in dists:
        for rel in releases.releases(name):
            if rel.upload_time is not None and rel.upload_time <= until:
                todo.append((name, rel))
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda t: check_release(releases, *t), todo))
    states: dict[str, int] = defaultdict(int)
    invalid: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        states[str(row["state"])] += 1
        if row["state"] == "invalid":
            invalid[str(row["name"])].append(str(row["version"]))
    gists = {g for g, ds in by_gist.items() if ds & set(invalid)}
    print(f"gists read: {len(by_gist)}; distributions imported: {len(dists)}; "
          f"releases up to {args.until}: {len(rows)} ({dict(states)})")
    print(f"distributions with refused releases: {len(invalid)}; refused releases: "
          f"{sum(len(v) for v in invalid.values())}; gists importing one: {len(gists)}")
    for name, versions in sorted(invalid.items(), key=lambda kv: -len(kv[1])):
        users = sum(1 for ds in by_gist.values() if name in ds)
        print(f"  {name}: {len(versions)} releases ({versions[0]} .. {versions[-1]}), "
              f"imported by {users} gists")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
