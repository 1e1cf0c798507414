"""The inferred plan for a snippet: Python candidates and every import with what provides it.

``inspect_snippet`` is the entry point others call: read -> scan imports -> rank Python
versions -> classify each import (local, platform-bound, stdlib, third-party, unknown) ->
ranked candidate distributions per third-party import. Static only: nothing is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.host import tables
from driftdoc.env.host.interpreters import Interpreter, discover, find
from driftdoc.env.knowledge import stdlib
from driftdoc.env.knowledge.mapping import Candidate, Knowledge, guess, guessable, load, redirect
from driftdoc.env.knowledge.pyversion import PythonCandidate, infer_versions
from driftdoc.env.snippet.imports import ImportScan, RawImport, scan_imports
from driftdoc.env.snippet.read import Snippet, read_snippet
from driftdoc.errors import InputError

__all__ = ["Candidate", "ImportUse", "Plan", "PythonCandidate", "inspect_snippet",
           "local_modules"]

KINDS = ("stdlib", "local", "thirdparty", "platform", "unknown")
# Platforms whose PyPI bindings (PyObjC, pywin32) refuse to install anywhere else: trying
# them as stand-ins on Linux only spends validations.
NO_STANDINS = frozenset({"macos", "windows"})


@dataclass
class ImportUse:
    """One import of the snippet and what it needs."""

    name: str
    top: str
    line: int
    context: str  # "module" | "function" | "optional" | "dynamic"
    kind: str  # "stdlib" | "local" | "thirdparty" | "platform" | "unknown"
    candidates: list[Candidate] = field(default_factory=list)
    note: str = ""
    group: int | None = None
    category: str = ""  # for kind == "platform"

    @property
    def required(self) -> bool:
        return self.context != "optional"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name, "top": self.top, "line": self.line, "context": self.context,
            "kind": self.kind, "candidates": [c.to_json() for c in self.candidates],
        }
        if self.note:
            d["note"] = self.note
        if self.group is not None:
            d["group"] = self.group
        if self.category:
            d["category"] = self.category
        return d


@dataclass
class Plan:
    """What driftdoc believes a snippet needs."""

    snippet: Path
    python_candidates: list[PythonCandidate]
    imports: list[ImportUse]
    source_kind: str = "py"
    parser: str = "ast"
    notes: list[str] = field(default_factory=list)
    knowledge_version: str = ""

    @property
    def python(self) -> str | None:
        """The best Python version ("X.Y"), if any."""
        return self.python_candidates[0].version if self.python_candidates else None

    @property
    def platform_bound(self) -> list[ImportUse]:
        """Required imports no PyPI environment can satisfy: the search can stop early."""
        return [u for u in self.imports if u.kind == "platform" and u.required]

    def requirements(self) -> list[str]:
        """Top-1 distribution per required third-party (or guessed) import, deduplicated."""
        seen: dict[str, str] = {}
        for use in self.imports:
            if not use.required or use.kind not in ("thirdparty", "unknown") or not use.candidates:
                continue
            dist = use.candidates[0].distribution
            seen.setdefault(canonicalize_name(dist), dist)
        return list(seen.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "snippet": str(self.snippet),
            "source_kind": self.source_kind,
            "parser": self.parser,
            "python": self.python,
            "python_candidates": [c.to_json() for c in self.python_candidates],
            "imports": [u.to_json() for u in self.imports],
            "requirements": self.requirements(),
            "platform_bound": [
                {"name": u.name, "category": u.category, "reason": u.note}
                for u in self.platform_bound
            ],
            "notes": self.notes,
            "knowledge_version": self.knowledge_version,
        }


def local_modules(snippet: Snippet | Path) -> frozenset[str]:
    """Module names importable from the snippet's directory (files and packages next to it)."""
    path = snippet.path if isinstance(snippet, Snippet) else Path(snippet)
    names = {path.stem}
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return frozenset(names)
    for e in entries:
        n = e.name
        try:
            if e.is_file():
                stem = n.split(".")[0]
                if n.endswith((".py", ".pyc", ".pyd", ".so", ".pyw")) and stem.isidentifier():
                    names.add(stem)
            elif (e.is_dir() and n.isidentifier() and not n.startswith(".")
                  and any(c.suffix == ".py" for c in e.iterdir())):
                names.add(n)
        except OSError:
            continue
    return frozenset(names)


def classify(
    raw: list[RawImport],
    *,
    python: str | None,
    locals_: frozenset[str],
    knowledge: Knowledge,
) -> list[ImportUse]:
    """Turn raw imports into ``ImportUse`` records for the chosen Python version."""
    all_names = [r.name for r in raw if r.level == 0 and r.name]
    out: list[ImportUse] = []
    for r in raw:
        if r.level > 0:
            shown = "." * r.level + (r.name or ", ".join(r.fromlist))
            out.append(ImportUse(shown, shown, r.line, r.context, "local", [],
                                 "relative import", r.group))
            continue
        if not r.name:
            continue
        plain = r.top in locals_ or stdlib.is_stdlib_anywhere(r.top)
        for name in ([r.name] if plain else _expand(r, knowledge)):
            out.append(_classify_one(name, r, python, locals_, knowledge, all_names))
    return out


def _expand(r: RawImport, knowledge: Knowledge) -> list[str]:
    """``from google.cloud import storage`` -> the deeper ``google.cloud.storage`` if known."""
    if not r.fromlist:
        return [r.name]
    base = _match_len(r.name, knowledge)
    deeper = []
    for item in r.fromlist:
        full = f"{r.name}.{item}"
        if _match_len(full, knowledge) > base:
            deeper.append(full)
    return deeper or [r.name]


def _match_len(name: str, knowledge: Knowledge) -> int:
    key = knowledge.match(redirect(name))
    return key.count(".") + 1 if key else 0


def _classify_one(
    name: str, r: RawImport, python: str | None, locals_: frozenset[str],
    knowledge: Knowledge, all_names: list[str],
) -> ImportUse:
    top = name.split(".")[0]

    def use(kind: str, cands: list[Candidate] | None = None, note: str = "",
            category: str = "") -> ImportUse:
        return ImportUse(name, top, r.line, r.context, kind, cands or [], note, r.group,
                         category)

    if top in locals_:
        return use("local", note="module next to the snippet")
    bound = knowledge.platform(name, all_names)
    if bound is not None:
        # PyPI projects that provide the import name off-platform (bpy, RPi.GPIO, or a mere
        # namesake): the search may try them as stand-ins and says so in its result
        standins = [] if bound.category in NO_STANDINS else knowledge.candidates(name, limit=2)
        return use("platform", standins, note=bound.reason, category=bound.category)
    if python is not None and stdlib.is_stdlib(top, python):
        return use("stdlib", note=f"standard library of Python {python}")
    where = stdlib.stdlib_versions(top)
    if where:
        backport = tables.backports().get(top)
        if backport is not None and r.context != "optional":
            dist, why = backport
            return use("thirdparty", [Candidate(dist, 0.8, "backport", why)],
                       note=f"not stdlib in Python {python}")
        span = where[0] if len(where) == 1 else f"{where[0]}–{where[-1]}"
        return use("stdlib", note=f"standard library of Python {span} only; not a PyPI package")
    cands = knowledge.candidates(name)
    if cands:
        return use("thirdparty", cands)
    return use("unknown", [guess(name)] if guessable(name) else [],
               note="no known distribution provides it")


def inspect_snippet(
    path: Path,
    *,
    python: str | None = None,
    interpreters: list[Interpreter] | None = None,
    compile_check: bool = True,
) -> Plan:
    """Infer the plan for the snippet at ``path`` (see module doc). ``InputError`` on bad input."""
    snippet = read_snippet(path)
    pool = discover() if interpreters is None else interpreters
    if python is not None:
        python = find(python, pool).version
    scan: ImportScan = scan_imports(snippet.source)
    locals_ = local_modules(snippet)
    code = None
    if compile_check:
        # a notebook's cells are text, not a file Python 2 reads as ASCII: the BOM says so
        code = (snippet.path.read_bytes() if snippet.kind == "py"
                else snippet.source.encode("utf-8-sig"))
    candidates = infer_versions(scan, interpreters=pool, code=code, pinned=python,
                                local_names=locals_)
    if not candidates:
        raise InputError("no Python version is known (no interpreters and no stdlib data)")
    knowledge = load()
    chosen = candidates[0].version
    uses = classify(scan.imports, python=chosen, locals_=locals_, knowledge=knowledge)
    notes = list(snippet.notes)
    if snippet.encoding not in ("utf-8", "ascii"):
        notes.append(f"decoded as {snippet.encoding}")
    if scan.parser == "lines":
        notes.append(f"not parseable as Python 3 or rewritten Python 2 ({scan.error}); "
                     "imports found line by line")
    if python is not None and candidates[0].compiles is False:
        notes.append(f"the snippet does not compile with the pinned Python {python}")
    return Plan(snippet.path, candidates, uses, snippet.kind, scan.parser, notes,
                knowledge.version)
