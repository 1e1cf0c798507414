"""Import name -> ranked candidate distributions, from the data built by tools/build_knowledge.py.

Lookups try the longest dotted prefix first, so namespace packages resolve per sub-package
(``google.cloud.storage`` -> google-cloud-storage, ``google.protobuf`` -> protobuf). Candidates
come best first; a validator that fails with the first can fall back to the next. Imports that
exist only inside a host application or on another platform are reported as ``PlatformBinding``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.host import tables

DATA_FILE = "knowledge.json.gz"
TAIL_FILE = "knowledge-tail.tsv.gz"


@dataclass(frozen=True)
class Candidate:
    """A distribution that may provide an import; ``confidence`` is in [0, 1]."""

    distribution: str
    confidence: float
    source: str  # "curated" | "wheel" | "pigar" | combinations joined by "+" | "guess" | "backport"
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"distribution": self.distribution, "confidence": round(self.confidence, 3),
                "source": self.source, "reason": self.reason}


@dataclass(frozen=True)
class PlatformBinding:
    """An import only a host application or another platform provides (no PyPI fix)."""

    module: str
    category: str
    reason: str
    weak: bool = False


class Knowledge:
    """The loaded knowledge base (use ``load()`` for the shared instance)."""

    def __init__(self, data: dict[str, Any], tail: bytes | None = None,
                 *, load_tail: bool = True) -> None:
        self.version: str = data.get("version", "0")
        self.built: str = data.get("built", "")
        self.sources: dict[str, Any] = data.get("sources", {})
        self._dists: list[str] = data.get("distributions", [])
        # module -> "dist_index,score,bits;..." (decoded per lookup: loading stays fast)
        self._modules: dict[str, str] = data.get("modules", {})
        self._reasons: dict[str, str] = data.get("curated_reasons", {})
        self._platform: dict[str, list[Any]] = data.get("platform", {})
        self._bits: dict[str, int] = data.get("source_bits", {"wheel": 1, "pigar": 2, "curated": 4})
        self._tail = tail
        self._load_tail = load_tail
        self._tail_finds = 0
        self._tail_index: dict[str, str] | None = None

    # ------------------------------------------------------------------ lookups
    def __contains__(self, name: str) -> bool:
        return self.match(name) is not None

    def match(self, name: str) -> str | None:
        """The longest dotted prefix of ``name`` the knowledge base has an entry for."""
        parts = name.split(".")
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in self._modules:
                return key
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if self._tail_row(key) is not None:
                return key
        return None

    def _tail_bytes(self) -> bytes:
        """The long tail (pigar-only names), read on the first miss of the main table."""
        if self._tail is None:
            raw = b""
            if self._load_tail:
                try:
                    ref = resources.files("driftdoc.data").joinpath(TAIL_FILE)
                    raw = gzip.decompress(ref.read_bytes())
                except (FileNotFoundError, OSError):
                    raw = b""
            self._tail = b"\n" + raw
        return self._tail

    def _tail_row(self, key: str) -> tuple[str, float] | None:
        if not key or "\t" in key or "\n" in key:
            return None
        if self._tail_index is None:
            self._tail_finds += 1
            if self._tail_finds > 50:  # many lookups (a batch): index the lines once
                self._tail_index = {}
                for line in self._tail_bytes().decode("utf-8", "replace").split("\n"):
                    mod, _, rest = line.partition("\t")
                    if rest:
                        self._tail_index[mod] = rest
        if self._tail_index is not None:
            found = self._tail_index.get(key)
            if found is None:
                return None
            dist, _, score = found.partition("\t")
            return (dist or key), float(score)
        tail = self._tail_bytes()
        at = tail.find(b"\n" + key.encode("utf-8", "replace") + b"\t")
        if at < 0:
            return None
        end = tail.find(b"\n", at + 1)
        _, dist, score = tail[at + 1: end if end >= 0 else None].decode().split("\t")
        return (dist or key), float(score)

    def _rows(self, key: str) -> list[tuple[str, float, int]]:
        if key in self._modules:
            rows = []
            for item in self._modules[key].split(";"):
                i, s, b = item.split(",")
                rows.append((self._dists[int(i)], float(s), int(b)))
            return rows
        row = self._tail_row(key)
        return [] if row is None else [(row[0], row[1], self._bits.get("pigar", 2))]

    def candidates(self, name: str, *, limit: int = 5) -> list[Candidate]:
        """Ranked distributions for the import ``name`` (dotted); [] if unknown."""
        redirected = redirect(name)
        if redirected != name:
            found = self.candidates(redirected, limit=limit)
            if found:
                return found
        key = self.match(name)
        if key is None:
            return []
        rows = self._rows(key)[:limit]
        total = sum(max(r[1], 0.1) for r in rows)
        out: list[Candidate] = []
        for i, (dist, score, bits) in enumerate(rows):
            reason = self._reason(key, name, dist, bits)
            if i and bits & self._bits.get("curated", 4):
                reason = f"alternative to {rows[0][0]} ({reason})"
            out.append(Candidate(dist, self._confidence(score, total, i, bits),
                                 self._source(bits), reason))
        return out

    def best(self, name: str) -> Candidate | None:
        found = self.candidates(name, limit=1)
        return found[0] if found else None

    def platform(self, name: str, others: Iterable[str] = ()) -> PlatformBinding | None:
        """Is ``name`` bound to a host/platform? Weak names need a same-category companion."""
        entry = self._platform_entry(name)
        if entry is None:
            return None
        key, (category, reason, weak) = entry
        if weak:
            companions = [o for o in others if o.split(".")[0] != name.split(".")[0]]
            strong_or_weak_same = [
                e for e in (self._platform_entry(o) for o in companions)
                if e is not None and e[1][0] == category
            ]
            if not strong_or_weak_same:
                return None
        return PlatformBinding(key, category, reason, bool(weak))

    def _platform_entry(self, name: str) -> tuple[str, list[Any]] | None:
        parts = name.split(".")
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in self._platform:
                return key, self._platform[key]
        return None

    def distributions_for(self, dist: str) -> list[str]:
        """Module names whose best candidate is ``dist`` (for diagnostics)."""
        want = canonicalize_name(dist)
        return [m for m, rows in self._modules.items()
                if rows and canonicalize_name(self._dists[int(rows.split(",", 1)[0])]) == want]

    # ------------------------------------------------------------------ helpers
    def _source(self, bits: int) -> str:
        names = [n for n, b in sorted(self._bits.items(), key=lambda kv: -kv[1]) if bits & b]
        return "+".join(names) or "unknown"

    def _confidence(self, score: float, total: float, rank: int, bits: int) -> float:
        if bits & self._bits.get("curated", 4) and rank == 0:
            return 0.97
        share = max(score, 0.1) / total
        strength = 1 - math.exp(-max(score, 0.0) / 8.0)
        return round(min(0.95, 0.5 * share + 0.5 * strength), 3)

    def _reason(self, key: str, name: str, dist: str, bits: int) -> str:
        if bits & self._bits.get("curated", 4) and key in self._reasons:
            return self._reasons[key]
        via = []
        if bits & self._bits.get("wheel", 1):
            via.append("its wheel installs it")
        if bits & self._bits.get("pigar", 2):
            via.append("pigar's module database lists it")
        scope = f"{key!r}" if key == name else f"{key!r} (prefix of {name!r})"
        return f"{dist} provides {scope}: " + (", ".join(via) or "known mapping")


def _read(name: str) -> dict[str, Any]:
    try:
        raw = resources.files("driftdoc.data").joinpath(name).read_bytes()
    except (FileNotFoundError, OSError):
        return {}
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


@cache
def load() -> Knowledge:
    """The knowledge base shipped in driftdoc.data (loaded once per process)."""
    return Knowledge(_read(DATA_FILE))


def redirect(name: str) -> str:
    """Import hooks that rename modules: ``flask.ext.foo`` / ``flaskext.foo`` -> ``flask_foo``."""
    for package, module_prefix in tables.import_hooks().items():
        prefix = package + "."
        if name.startswith(prefix) and len(name) > len(prefix):
            return module_prefix + name[len(prefix):]
    return name


_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def guessable(name: str) -> bool:
    """Can the import's top-level name be a PyPI project name? (``_scene2`` cannot.)"""
    return _PROJECT_NAME.fullmatch(name.split(".")[0]) is not None


def guess(name: str) -> Candidate:
    """The fallback when nothing is known: a distribution named like the import."""
    top = name.split(".")[0]
    return Candidate(top, 0.2, "guess", f"no known mapping; guessing the distribution {top!r}")
