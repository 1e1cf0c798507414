#!/usr/bin/env python3
"""Build driftdoc's import-name -> distribution knowledge base from real sources.

Sources, each recorded per candidate so a ranking can be explained:

* ``wheel``   - the file list of the newest wheel of popular distributions, read from PyPI
                with HTTP range requests on the zip central directory (no full download),
                plus their PEP 658 core metadata (for a "how many others depend on it" count);
* ``pigar``   - pigar's bundled module database (``pip download pigar``; read its sqlite file);
* ``curated`` - hand-written overrides with a reason (``tools/knowledge/curated.tsv``);
* ``platform``- imports no PyPI environment can satisfy (``tools/knowledge/platform.tsv``).

Usage::

    python tools/build_knowledge.py fetch --top 1500       # network, cached under --cache
    python tools/build_knowledge.py build                   # offline: writes src/driftdoc/data/

Popularity: a TSV of download ranks (``--ranks``; columns name, ..., rank; by default the committed
``tools/knowledge/ranks.tsv``) picks which distributions to fetch and feeds the ranking.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import json
import math
import re
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.knowledge.contents import wheel_members

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "knowledge"
OUT = ROOT / "src" / "driftdoc" / "data" / "knowledge.json.gz"
OUT_TAIL = ROOT / "src" / "driftdoc" / "data" / "knowledge-tail.tsv.gz"
INDEX = "https://pypi.org/simple/"
UA = "driftdoc-build-knowledge/0.1"
KNOWLEDGE_VERSION = "2026.11.2"

# Top-level names that several distributions share: keep deeper (sub-package) entries for them.
MAX_DEPTH = 3
# Namespace packages whose distributions are named after the sub-package they install
# ("zope.annotation", "google-cloud-storage", "backports.ssl-match-hostname"): pigar only knows
# the top-level name, so the sub-package entry is derived from the distribution's name.
NAMESPACES = {"google", "azure", "zope", "backports", "scikits", "mpl_toolkits", "jaraco",
              "sphinxcontrib", "ruamel", "repoze", "plone", "Products", "collective", "z3c",
              "five", "flufl", "ndg", "tw2", "paste", "oslo", "keystone", "ckanext", "pyobjc",
              "dm", "pyramid", "cloudinit", "xstatic", "tryton", "trytond", "openerp", "odoo",
              "wagtail", "fanstatic", "js", "bda", "gocept", "grokcore", "megrok", "horizon",
              "kotti", "ploneapp", "plonetheme", "senaite", "bika", "sentry", "azureml",
              "ibm", "aws_cdk", "opentelemetry", "airflow", "apache", "kiwi", "jupyterlab"}


def namespace_modules(top: str, dist: str) -> list[str]:
    """Sub-package names a namespace distribution's name suggests (google-cloud-storage ->
    google.cloud_storage, google.cloud.storage)."""
    parts = [p for p in re.split(r"[-_.]+", dist) if p]
    if len(parts) < 2 or parts[0].lower() != top.lower():
        return []
    rest = [p.lower() for p in parts[1:]]
    out = []
    for j in range(1, len(rest) + 1):
        segs = [*rest[: j - 1], "_".join(rest[j - 1:])]
        if all(_MODULE_RE.match(x) for x in segs):
            out.append(".".join([top, *segs]))
    return out


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": UA, **(headers or {})})
    for attempt in range(3):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                data: bytes = resp.read()
                return data
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise
            time.sleep(1 + attempt)
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            time.sleep(1 + attempt)
    raise RuntimeError(f"giving up on {url}")


def _version_of(filename: str) -> Version | None:
    parts = filename.split("-")
    if len(parts) < 2:
        return None
    try:
        return Version(parts[1])
    except InvalidVersion:
        return None


def _wheel_score(filename: str) -> int:
    """Prefer pure wheels, then manylinux x86_64, then anything."""
    if filename.endswith("-none-any.whl"):
        return 3
    if "manylinux" in filename and "x86_64" in filename:
        return 2
    if "linux" in filename:
        return 1
    return 0


def fetch_one(name: str, cache: Path) -> dict[str, Any]:
    """File list + requirements of the newest wheel of ``name`` (cached as JSON)."""
    target = cache / f"{canonicalize_name(name)}.json"
    if target.exists():
        cached: dict[str, Any] = json.loads(target.read_text())
        return cached
    result: dict[str, Any] = {"name": name, "files": [], "requires": [], "releases": 0}
    try:
        page = json.loads(
            _get(INDEX + canonicalize_name(name) + "/",
                 {"Accept": "application/vnd.pypi.simple.v1+json"})
        )
        result["name"] = page.get("name", name)
        result["releases"] = len(page.get("versions", []))
        wheels = [f for f in page["files"]
                  if f["filename"].endswith(".whl") and not f.get("yanked")]
        best: dict[str, Any] | None = None
        best_key: tuple[Version, int] | None = None
        for f in wheels:
            v = _version_of(f["filename"])
            if v is None or v.is_prerelease:
                continue
            key = (v, _wheel_score(f["filename"]))
            if best_key is None or key > best_key:
                best, best_key = f, key
        if best is not None:
            result["wheel"] = best["filename"]
            result["files"] = wheel_members(best["url"], best.get("size"), timeout=30.0)
            if best.get("core-metadata") or best.get("data-dist-info-metadata"):
                meta = _get(best["url"] + ".metadata").decode("utf-8", "replace")
                msg = Parser().parsestr(meta, headersonly=True)
                result["requires"] = msg.get_all("Requires-Dist") or []
    except urllib.error.HTTPError as exc:
        result["error"] = f"HTTP {exc.code}"
    except Exception as exc:  # keep going: one broken project must not stop the build
        result["error"] = f"{type(exc).__name__}: {exc}"
    target.write_text(json.dumps(result))
    return result


def _tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def load_curated() -> dict[str, dict[str, Any]]:
    """module -> {"candidates": [dist, ...], "reason": str}"""
    return {
        row[0]: {"candidates": [c.strip() for c in row[1].split(",")], "reason": row[2]}
        for row in _tsv(SOURCES / "curated.tsv")
    }


def load_platform() -> dict[str, list[Any]]:
    """module -> [category, reason, weak]"""
    return {row[0]: [row[1], row[2], int(row[3])] for row in _tsv(SOURCES / "platform.tsv")}


def load_ranks(path: Path | None) -> dict[str, int]:
    ranks: dict[str, int] = {}
    if path is None or not path.exists():
        return ranks
    with path.open(encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col = next((i for i, h in enumerate(header) if "rank" in h), None)
        if col is None:
            return ranks
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) > col and parts[col].strip().isdigit():
                ranks[canonicalize_name(parts[0])] = int(parts[col])
    return ranks


def cmd_fetch(args: argparse.Namespace) -> None:
    cache = Path(args.cache) / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    ranks = load_ranks(Path(args.ranks) if args.ranks else None)
    names = [n for n, _ in sorted(ranks.items(), key=lambda kv: kv[1])[: args.top]]
    for entry in load_curated().values():
        for cand in entry["candidates"]:
            names.append(cand)
    names = list(dict.fromkeys(canonicalize_name(n) for n in names))
    print(f"fetching {len(names)} distributions", file=sys.stderr)
    done = 0
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        for _ in pool.map(lambda n: fetch_one(n, cache), names):
            done += 1
            if done % 100 == 0:
                print(f"  {done}/{len(names)}", file=sys.stderr)


# --------------------------------------------------------------------------- build


_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def modules_of_wheel(files: list[str]) -> dict[str, bool]:
    """Importable dotted names a wheel provides (depth <= MAX_DEPTH) -> is a real package dir."""
    found: dict[str, bool] = {}
    for path in files:
        if ".dist-info/" in path or ".data/" in path or path.endswith("/"):
            if ".data/purelib/" in path or ".data/platlib/" in path:
                path = path.split("/", 2)[2]
            else:
                continue
        parts = path.split("/")
        leaf = parts[-1]
        dirs = parts[:-1]
        for depth in range(1, min(len(dirs), MAX_DEPTH) + 1):
            if all(_MODULE_RE.match(p) for p in dirs[:depth]):
                dotted = ".".join(dirs[:depth])
                found[dotted] = found.get(dotted, False) or (
                    depth == len(dirs) and leaf == "__init__.py"
                )
        if len(dirs) < MAX_DEPTH:
            stem = leaf.split(".")[0]
            if (leaf.endswith((".py", ".so", ".pyd")) and _MODULE_RE.match(stem)
                    and stem != "__init__" and all(_MODULE_RE.match(p) for p in dirs)):
                found.setdefault(".".join([*dirs, stem]), True)
    return found


def similarity(module: str, dist: str) -> float:
    """How much a distribution's name looks like the import name (0..1)."""
    m = canonicalize_name(module.split(".")[-1]).replace("-", "")
    full = canonicalize_name(module).replace("-", "").replace(".", "")
    d = canonicalize_name(dist).replace("-", "")
    if d in (m, full):
        return 1.0
    for affix in ("python", "py", "lib"):
        if d in (affix + m, m + affix, affix + full, full + affix):
            return 0.8
    if m in d or d in m:
        return 0.5
    return 0.0


def cmd_build(args: argparse.Namespace) -> None:
    cache = Path(args.cache) / "wheels"
    ranks = load_ranks(Path(args.ranks) if args.ranks else None)
    curated = load_curated()
    platform = load_platform()

    # evidence[module][dist] -> set of sources
    evidence: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    display: dict[str, str] = {}
    dependents: Counter[str] = Counter()
    releases: dict[str, int] = {}

    wheel_dists = 0
    per_top: dict[str, set[str]] = defaultdict(set)
    wheel_modules: dict[str, dict[str, bool]] = {}
    for path in sorted(cache.glob("*.json")) if cache.exists() else []:
        rec = json.loads(path.read_text())
        key = canonicalize_name(rec["name"])
        display[key] = rec["name"]
        releases[key] = rec.get("releases", 0)
        for req in rec.get("requires", []):
            try:
                r = Requirement(req)
            except InvalidRequirement:
                continue
            if r.marker is not None and "extra" in str(r.marker):
                continue
            dependents[canonicalize_name(r.name)] += 1
        if not rec.get("files"):
            continue
        wheel_dists += 1
        mods = modules_of_wheel(rec["files"])
        wheel_modules[key] = mods
        for dotted in mods:
            per_top[dotted.split(".")[0]].add(key)
    for wkey, mods in wheel_modules.items():
        for dotted in mods:
            top = dotted.split(".")[0]
            if "." not in dotted:
                evidence[dotted][wkey].add("wheel")
            elif len(per_top[top]) > 1 or not mods.get(top, False) or top in NAMESPACES:
                # shared or namespace top-level: keep the sub-package levels too
                evidence[dotted][wkey].add("wheel")

    pigar_rows = 0
    if args.pigar and Path(args.pigar).exists():
        con = sqlite3.connect(args.pigar)
        for mod, dist in con.execute(
            "SELECT t.name, d.name FROM top_level_module_names t "
            "JOIN distributions d ON d.id = t.distribution_id"
        ):
            if not _MODULE_RE.match(mod.split(".")[0]):
                continue
            key = canonicalize_name(dist)
            display.setdefault(key, dist)
            evidence[mod][key].add("pigar")
            pigar_rows += 1
            if mod in NAMESPACES:
                for sub in namespace_modules(mod, dist):
                    evidence[sub][key].add("pigar")

    reasons: dict[tuple[str, str], str] = {}
    for mod, entry in curated.items():
        for rank, dist in enumerate(entry["candidates"]):
            key = canonicalize_name(dist)
            display[key] = dist  # curated spelling wins
            evidence[mod][key].add(f"curated{rank}")
            reasons[(mod, key)] = entry["reason"]

    def score(mod: str, key: str, sources: set[str]) -> float:
        s = 0.0
        cur = [int(x[7:]) for x in sources if x.startswith("curated")]
        if cur:
            s += 100.0 - 10 * min(cur)
        if "wheel" in sources:
            s += 6.0
        if "pigar" in sources:
            s += 1.0
        r = ranks.get(key)
        if r is not None:
            s += 8.0 * (1.0 - math.log10(r) / math.log10(20000))
        dep = dependents.get(key, 0)
        s += min(4.0, math.log2(1 + dep))
        s += 4.0 * similarity(mod, key)
        s += min(1.5, math.log10(1 + releases.get(key, 0)))
        return round(s, 2)

    dist_index: dict[str, int] = {}
    dist_list: list[str] = []
    modules_out: dict[str, str] = {}
    tail_out: dict[str, list[list[Any]]] = {}
    same_name: list[str] = []
    src_bits = {"wheel": 1, "pigar": 2, "curated": 4}
    kept_tail = 0
    for mod, cands in evidence.items():
        scored = sorted(
            ((score(mod, k, srcs), k, srcs) for k, srcs in cands.items()),
            key=lambda t: (-t[0], t[1]),
        )
        strong = mod.split(".")[0] in NAMESPACES or any(
            ranks.get(k) is not None or "wheel" in srcs
            or any(x.startswith("curated") for x in srcs)
            for _, k, srcs in scored
        )
        if not strong:
            # long tail from pigar only: one candidate each; a distribution named exactly like
            # the module goes to a plain name list (it still proves the name is on PyPI).
            if "." in mod:
                continue
            if len(scored) == 1 and similarity(mod, scored[0][1]) == 1.0:
                same_name.append(mod)
                continue
            scored = scored[:1]
            kept_tail += 1
        out = []
        for s, k, srcs in scored[: args.max_candidates]:
            bits = 0
            for src in srcs:
                bits |= src_bits["curated" if src.startswith("curated") else src]
            if not strong:  # tail rows carry the name itself
                out.append([display.get(k, k), s, bits])
                continue
            if k not in dist_index:
                dist_index[k] = len(dist_list)
                dist_list.append(display.get(k, k))
            out.append([dist_index[k], s, bits])
        if strong:
            # "dist_index,score,bits;..." strings: parsed only when looked up (fast load)
            modules_out[mod] = ";".join(f"{i},{sc:g},{b}" for i, sc, b in out)
        else:
            tail_out[mod] = out

    curated_reasons = {
        mod: entry["reason"] for mod, entry in curated.items()
    }
    data = {
        "version": KNOWLEDGE_VERSION,
        "sources": {
            "wheel_distributions": wheel_dists,
            "pigar_rows": pigar_rows,
            "curated_modules": len(curated),
            "popularity_ranks": len(ranks),
        },
        "source_bits": src_bits,
        "distributions": dist_list,
        "modules": modules_out,
        "curated_reasons": curated_reasons,
        "platform": platform,
    }
    # The long tail (pigar-only, one candidate each) is a separate TSV, searched as bytes only
    # when a lookup misses the main table: it keeps the common case fast and the miss cheap.
    # Lines: "module<TAB>distribution<TAB>score"; an empty distribution means "same as module".
    lines = [f"# driftdoc knowledge tail {KNOWLEDGE_VERSION}"]
    for mod in sorted(set(tail_out) | set(same_name)):
        if mod in tail_out:
            dist, sc, _bits = tail_out[mod][0]
            lines.append(f"{mod}\t{dist}\t{sc}")
        else:
            lines.append(f"{mod}\t\t2")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    with gzip.GzipFile(OUT, "wb", mtime=0, compresslevel=9) as fh:
        fh.write(raw)
    with gzip.GzipFile(OUT_TAIL, "wb", mtime=0, compresslevel=9) as fh:
        fh.write(("\n".join(lines) + "\n").encode())
    size = (OUT.stat().st_size + OUT_TAIL.stat().st_size) / 1e6
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(modules_out)} modules + {len(tail_out)} in the "
        f"tail file (+{len(same_name)} same-name), {len(dist_list)} distributions, {size:.2f} MB",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "driftdoc" / "build"))
    ap.add_argument("--ranks", default=str(SOURCES / "ranks.tsv"),
                    help="TSV with a name column and a rank column (default: the committed "
                         "tools/knowledge/ranks.tsv)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--top", type=int, default=1500)
    f.add_argument("--jobs", type=int, default=8)
    b = sub.add_parser("build")
    b.add_argument("--pigar", default=None, help="pigar's .db.sqlite3 (from `pip download pigar`)")
    b.add_argument("--max-candidates", type=int, default=5)
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        cmd_fetch(args)
    else:
        cmd_build(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
