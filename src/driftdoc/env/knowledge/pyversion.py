"""Which Python versions can run a snippet: ranked candidates with the reasons behind each score.

Evidence: (1) compiling the snippet with every discovered interpreter (in parallel, cached on disk
by content hash), (2) syntax that only one Python line has (print statement, f-strings, ...),
(3) Python-2-only builtins and idioms, and (4) standard-library modules that exist only in some
versions (``urllib2``, ``tomllib``, ``distutils`` ...). Without interpreters the static
evidence alone ranks the versions the stdlib data knows.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftdoc.env.host import tables
from driftdoc.env.host.cache import cache_root
from driftdoc.env.host.interpreters import Interpreter
from driftdoc.env.knowledge import stdlib
from driftdoc.env.snippet.encoding import python2_encoding_problem
from driftdoc.env.snippet.imports import ImportScan, RawImport

# A mild prior among versions that all fit: the ones most old gists' dependencies have wheels for.
PRIOR: dict[str, float] = {
    "3.8": 3.0, "3.7": 2.8, "3.9": 2.6, "3.6": 2.4, "3.10": 2.2, "3.11": 2.0,
    "3.12": 1.6, "3.13": 1.4, "2.7": 1.0,
}
PY2_NAMES = {"xrange", "unicode", "basestring", "raw_input", "unichr", "execfile", "reduce",
             "apply", "intern", "coerce", "reload"}
PY2_ATTRS = {"iteritems", "itervalues", "iterkeys", "has_key", "maxint", "letters",
             "lowercase", "uppercase", "im_func", "func_name", "im_self", "func_code"}
PY2_URLLIB = {"urlopen", "urlencode", "quote", "unquote", "urlretrieve", "quote_plus",
              "unquote_plus", "pathname2url"}

PY2_ERA_WEIGHT = 6.0

_PROBE = r"""
import sys
data = getattr(sys.stdin, 'buffer', sys.stdin).read()
try:
    compile(data, '<snippet>', 'exec')
except SyntaxError as e:
    sys.stdout.write('E %s %s' % (e.lineno, e.msg))
except Exception as e:
    sys.stdout.write('X %s' % type(e).__name__)
else:
    sys.stdout.write('OK')
"""


@dataclass
class PythonCandidate:
    """One Python version that may run the snippet; higher ``score`` is better."""

    version: str
    interpreter: Path | None
    score: float
    reasons: list[str] = field(default_factory=list)
    compiles: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version,
                "interpreter": str(self.interpreter) if self.interpreter else None,
                "score": round(self.score, 2), "compiles": self.compiles,
                "reasons": self.reasons}


def _vt(version: str) -> tuple[int, int]:
    a, b = version.split(".")[:2]
    return int(a), int(b)


# ---------------------------------------------------------------------------- compiling


def compile_check(code: bytes, interpreters: Sequence[Interpreter],
                  *, use_cache: bool = True) -> dict[str, tuple[bool, str]]:
    """version -> (compiles, message), one subprocess per interpreter, cached by content."""
    digest = hashlib.sha256(code).hexdigest()
    cache_file = cache_root() / "compile" / f"{digest[:2]}" / f"{digest}.json"
    cached: dict[str, list[Any]] = {}
    if use_cache:
        try:
            cached = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cached = {}
    results: dict[str, tuple[bool, str]] = {}
    todo: list[Interpreter] = []
    for interp in interpreters:
        hit = cached.get(interp.full_version)
        if hit is not None:
            results[interp.version] = (bool(hit[0]), str(hit[1]))
        else:
            todo.append(interp)
    if todo:
        with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
            for interp, res in zip(todo, pool.map(lambda i: _compile_one(code, i), todo),
                                   strict=True):
                if res is None:
                    continue
                results[interp.version] = res
                cached[interp.full_version] = [res[0], res[1]]
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cached))
            tmp.replace(cache_file)
        except OSError:
            pass
    problem = python2_encoding_problem(code, "<snippet>")
    if problem is not None:  # compile() skips the check that python2 FILE makes
        for version in results:
            if version.startswith("2."):
                results[version] = (False, f"SyntaxError on Python {version} (line "
                                           f"{problem.line}): {problem.message}")
    return results


def _compile_one(code: bytes, interp: Interpreter) -> tuple[bool, str] | None:
    try:
        out = subprocess.run([str(interp.path), "-S", "-E", "-c", _PROBE], input=code,
                             capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.decode("utf-8", "replace").strip()
    if text == "OK":
        return True, f"compiles with Python {interp.full_version}"
    if text.startswith("E "):
        line, _, msg = text[2:].partition(" ")
        return False, f"SyntaxError on Python {interp.version} (line {line}): {msg}"
    return None


# ---------------------------------------------------------------------------- static evidence


def py2_idioms(tree: ast.Module | None) -> list[tuple[str, int]]:
    """Python-2-only builtins/attributes used and not defined by the snippet itself."""
    if tree is None:
        return []
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.alias):
            defined.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    hits: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in PY2_NAMES and node.id not in defined:
                hits.setdefault(f"{node.id}()", node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            if node.attr in PY2_ATTRS:
                hits.setdefault(f".{node.attr}", node.lineno)
            elif (node.attr in PY2_URLLIB and isinstance(node.value, ast.Name)
                  and node.value.id == "urllib"):
                hits.setdefault(f"urllib.{node.attr}", node.lineno)
    return sorted(hits.items(), key=lambda kv: kv[1])


def infer_versions(
    scan: ImportScan,
    *,
    interpreters: Sequence[Interpreter],
    code: bytes | None = None,
    pinned: str | None = None,
    imports: Sequence[RawImport] | None = None,
    local_names: set[str] | frozenset[str] = frozenset(),
) -> list[PythonCandidate]:
    """Rank Python versions for a snippet (best first)."""
    by_version = {i.version: i for i in interpreters if i.implementation == "CPython"}
    for i in interpreters:
        by_version.setdefault(i.version, i)
    versions = sorted(by_version, key=_vt) if by_version else list(stdlib.versions())
    if pinned is not None:
        versions = [pinned]
    compiled: dict[str, tuple[bool, str]] = {}
    if code is not None and by_version:
        compiled = compile_check(code, [by_version[v] for v in versions if v in by_version])

    idioms = py2_idioms(scan.tree)
    required = [
        imp for imp in (imports if imports is not None else scan.imports)
        if imp.context != "optional" and imp.level == 0 and imp.name
        and imp.top not in local_names
    ]
    out: list[PythonCandidate] = []
    for v in versions:
        score = PRIOR.get(v, 1.0)
        reasons: list[str] = []
        vt = _vt(v)
        ok: bool | None = None
        if v in compiled:
            ok, msg = compiled[v]
            score += 5 if ok else -60
            reasons.append(msg)
        if scan.py2_syntax:
            feats = sorted({f for f, _ in scan.py2_syntax})
            first = min(line for _, line in scan.py2_syntax)
            desc = ", ".join(feats[:4]) + (" ..." if len(feats) > 4 else "")
            if vt[0] == 2:
                score += 12
                reasons.append(f"Python 2 syntax: {desc} (first on line {first})")
            elif ok is None:
                score -= 30
                reasons.append(f"Python 2 syntax rejected by Python 3: {desc} (line {first})")
        if scan.parser == "lines" and ok is None:
            reasons.append(f"does not parse as Python 3.11 ({scan.error})")
        for what, line, since in _dedup(scan.py3_syntax):
            if vt < since:
                score -= 25 if ok is None else 3
                reasons.append(f"{what} (line {line}) needs Python {since[0]}.{since[1]}+")
            elif vt[0] == 3 and since > (3, 0):
                score += 0.5
        if idioms:
            names = ", ".join(n for n, _ in idioms[:4])
            weight = min(12.0, 4.0 * len(idioms))
            if vt[0] == 2:
                score += weight
                reasons.append(f"Python 2 idioms: {names} (line {idioms[0][1]})")
            else:
                score -= weight
                reasons.append(f"Python 2 idioms fail on Python 3: {names}")
        m = re.search(r"python\s*([23])(?:\.(\d+))?\b", scan.shebang)
        if m:
            want_major = int(m.group(1))
            want_minor = int(m.group(2)) if m.group(2) else None
            if vt[0] == want_major and want_minor in (None, vt[1]):
                score += 4 if want_minor is None else 6
                reasons.append(f"shebang asks for {m.group(0).replace(' ', '')}")
            elif vt[0] != want_major:
                score -= 4
        if vt[0] == 2 and ("print_function" in scan.future or "unicode_literals" in scan.future):
            score += 1
            reasons.append("from __future__ imports: written to run on Python 2 as well")
        seen: set[str] = set()
        for imp in required:
            top = imp.top
            if top in seen:
                continue
            seen.add(top)
            where = stdlib.stdlib_versions(top)
            if not where or len(where) == len(stdlib.versions()):
                continue
            span = _span(where)
            if v in where:
                if top not in tables.backports():
                    score += 1
                    reasons.append(f"'{top}' (line {imp.line}) is stdlib here (only in {span})")
                continue
            if top in tables.backports():
                score -= 2
                reasons.append(f"'{top}' (line {imp.line}) is stdlib only in {span}; "
                               f"{tables.backports()[top][0]} provides it")
            else:
                score -= 15
                reasons.append(f"imports '{top}' (line {imp.line}), stdlib only in {span}")
        era = _py2_era(required)
        if era is not None:
            name, line, why = era
            if vt[0] == 2:
                score += PY2_ERA_WEIGHT
                reasons.append(f"imports '{name}' (line {line}): {why}")
            else:
                score -= PY2_ERA_WEIGHT
        if pinned is not None:
            reasons.insert(0, "pinned with --python")
        interp = by_version.get(v)
        out.append(PythonCandidate(v, interp.path if interp else None, score, reasons, ok))
    out.sort(key=lambda c: (-c.score, -PRIOR.get(c.version, 0)))
    return out


def _py2_era(imports: Sequence[RawImport]) -> tuple[str, int, str] | None:
    """The first import that only a Python 2 distribution provides, if any."""
    for imp in imports:
        for prefix, why in tables.py2_era_imports().items():
            if imp.name == prefix or imp.name.startswith(prefix + "."):
                return imp.name, imp.line, why
    return None


def _dedup(items: list[tuple[str, int, tuple[int, int]]]) -> list[tuple[str, int, tuple[int, int]]]:
    seen: dict[str, tuple[str, int, tuple[int, int]]] = {}
    for what, line, since in items:
        seen.setdefault(what, (what, line, since))
    return sorted(seen.values(), key=lambda t: t[2], reverse=True)[:4]


def _span(versions: list[str]) -> str:
    if len(versions) == 1:
        return versions[0]
    ordered = sorted(versions, key=_vt)
    known = list(stdlib.versions())
    if ordered == known[known.index(ordered[0]): known.index(ordered[-1]) + 1]:
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(ordered)
