"""``driftdoc run`` for one snippet: inspect -> first plan -> repair search -> EnvResult.

This module only wires pieces together: the plan comes from snippet analysis, the
releases from the index client, and validations from the sandboxed validator run as
jobs of an executor (local threads or a Dask cluster) through the project's ``Session``:
one memo, one budget and one provenance record per validation, in the snippet's
experiment, so a rerun answers known environments without building anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env.host import tables
from driftdoc.env.knowledge.mapping import Knowledge, guess, guessable, redirect
from driftdoc.env.knowledge.mapping import load as load_knowledge
from driftdoc.env.knowledge.plan import ImportUse, Plan, classify, inspect_snippet
from driftdoc.env.knowledge.releases import IndexReleases, ReleaseProvider
from driftdoc.env.knowledge.stdlib import is_stdlib
from driftdoc.env.search.repair import DEFAULT_BUDGET, RepairSearch
from driftdoc.env.search.result import EnvResult
from driftdoc.env.search.state import Dep, SearchOutcome, State
from driftdoc.env.search.trials import Trials
from driftdoc.env.search.unbuildable import memo_path
from driftdoc.env.toolchain import syspkgs
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.task import SnippetBundle, ValidationTask
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.executors.base import Executor
from driftdoc.session import Session
from driftdoc.store import Store

# Plug-in ecosystems whose packages are named "<framework>-<module>" on PyPI.
SURE = 0.9


def _prefixed(use: ImportUse, prefix: str) -> str:
    return f"{prefix}-{use.top.lower().replace('_', '-')}"


def _unsure(use: ImportUse) -> bool:
    """Is the knowledge base's best guess for this import weak enough to add alternatives?"""
    return not use.candidates or use.candidates[0].confidence < SURE


def framework_candidates(use: ImportUse, tops: frozenset[str],
                         exists: Callable[[str], bool] | None) -> list[str]:
    """``django-avatar`` for ``import avatar`` in a Django snippet, if the index has it."""
    if exists is None or not _unsure(use):
        return []
    return [name for fw in tables.frameworks() if fw in tops and use.top.lower() != fw
            and exists(name := _prefixed(use, fw))]


def python_prefixed(use: ImportUse, exists: Callable[[str], bool] | None) -> list[str]:
    """``python-cjson`` for ``import cjson``: a common naming of C-extension bindings, tried
    after what the knowledge base suggests when that is not sure."""
    if exists is None or not _unsure(use):
        return []
    name = _prefixed(use, "python")
    known = {canonicalize_name(c.distribution) for c in use.candidates}
    return [name] if canonicalize_name(name) not in known and exists(name) else []


def deps_from_uses(uses: Sequence[ImportUse],
                   exists: Callable[[str], bool] | None = None) -> tuple[Dep, ...]:
    """Group required third-party imports by their top candidate distribution."""
    groups: dict[str, Dep] = {}
    tops = frozenset(u.top.lower() for u in uses)
    for use in uses:
        if not use.required or use.kind not in ("thirdparty", "unknown", "platform") \
                or not use.candidates:
            continue
        standin = use.kind == "platform"
        names = [c.distribution for c in use.candidates]
        if not standin:
            names = [*framework_candidates(use, tops, exists), *names,
                     *python_prefixed(use, exists)]
        cands = tuple(dict.fromkeys(names))
        key = canonicalize_name(cands[0])
        # flask.ext.sqlalchemy is flask_sqlalchemy: the dependency serves that, not flask
        served = redirect(use.name).split(".")[0]
        if key in groups:
            dep = groups[key]
            if served not in dep.imports:
                groups[key] = replace(dep, imports=(*dep.imports, served))
        else:
            groups[key] = Dep((served,), cands, standin=standin)
    return tuple(groups.values())


# Bump when resolving, building or validating changes meaning: recorded verdicts of an
# older validator are then no longer reused (they stay in the store as provenance).
VALIDATOR_VERSION = 10  # 10: 2.7 time limits fire during a slow import (harness)


_ALIAS = re.compile(r"^\s*import\s+([\w.]+)\s+as\s+(\w+)|^\s*from\s+([\w.]+)\s+import\s+"
                    r"(\w+)\s+as\s+(\w+)", re.MULTILINE)


_FROM_NAMES = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+([\w ,]+?)\s*(?:#.*)?$",
                         re.MULTILINE)


def import_aliases(snippet: Path) -> dict[str, str]:
    """``import tensorflow as tf`` -> {"tf": "tensorflow"}, ``from django.db import models``
    -> {"models": "django.db.models"}; read as text (Python 2 too)."""
    from driftdoc.env.snippet.read import read_snippet

    source = read_snippet(snippet).source
    out: dict[str, str] = {}
    for m in _FROM_NAMES.finditer(source):  # from django.db import models, signals
        for name in m.group(2).split(","):
            name = name.strip()
            if name.isidentifier():
                out[name] = f"{m.group(1)}.{name}"
    for m in _ALIAS.finditer(source):
        if m.group(1):
            out[m.group(2)] = m.group(1)
        else:
            out[m.group(5)] = f"{m.group(3)}.{m.group(4)}"
    return out


def snippet_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def memo_experiment(snippet: Path, index_url: str | None, sandbox: str = "bwrap") -> str:
    """The store experiment whose runs are this snippet's validations; verdicts from runs
    without a sandbox are kept apart, so a sandboxed search never reuses one."""
    unboxed = ":nosandbox" if sandbox == "none" else ""
    return (f"run:{snippet_digest(snippet)}:{index_url or 'default'}:v{VALIDATOR_VERSION}"
            f"{unboxed}")


def validation_executor(spec: str | None, snippet: Path, *, jobs: int = 1,
                        index_url: str | None = None, timeout: float = 20.0,
                        sandbox: str = "bwrap", memory_mb: int | None = 2048,
                        deadline: float | None = None,
                        reporter: Reporter = null_reporter) -> Executor:
    """The executor named by ``spec`` (``local``, ``dask``, ``dask://HOST:PORT``) running
    this snippet's validations, ``jobs`` at a time locally. ``deadline`` is
    ``time.monotonic()``-based, as everywhere in one process."""
    from driftdoc.executors.factory import make_executor, scheme

    kind = scheme(spec)
    if kind not in ("local", "dask"):
        raise InputError(f"validations run on the local or a Dask executor, not {spec!r}")
    wall = None if deadline is None else time.time() + (deadline - time.monotonic())
    task = ValidationTask(str(snippet.resolve()), index_url=index_url, timeout=timeout,
                          sandbox=sandbox, memory_mb=memory_mb, deadline=wall,
                          bundle=SnippetBundle.of(snippet) if kind == "dask" else None)
    return make_executor(spec, task, workers=jobs, timeout=None, reporter=reporter)


def validation_session(snippet: Path, executor: Executor, *, store: Store,
                       index_url: str | None, budget: int | None,
                       search: Mapping[str, object], sandbox: str = "bwrap",
                       reporter: Reporter = null_reporter) -> Session:
    """The Session over this snippet's experiment: known validations answered from the
    store, new ones run by ``executor`` and recorded as ordinary runs, named by the
    snippet in ``driftdoc history``."""
    return Session(None, executor, store=store,
                   experiment=memo_experiment(snippet, index_url, sandbox), budget=budget,
                   reporter=reporter, search=search, exclusive=False,
                   meta={"kind": "environment", "snippet": str(snippet)})


def _first_as_of(python: str, as_of: dt.date | None) -> dt.date | None:
    """Python 2 code wants releases from when 2.7 was alive; otherwise the newest."""
    if as_of is not None:
        return as_of
    if python.startswith("2."):
        return tables.py2_eras()[0][0]
    return None


def _lookup(knowledge: Knowledge) -> Callable[[str], list[str]]:
    """Candidate distributions for a module nobody provides yet (keras -> tensorflow)."""
    def lookup(module: str) -> list[str]:
        cands = [c.distribution for c in knowledge.candidates(module)]
        return cands or ([guess(module).distribution] if guessable(module) else [])

    return lookup


def blocking_platform(plan: Plan) -> list[ImportUse]:
    """Platform-bound imports that run on import and have no PyPI stand-in: no environment
    can get past them, so the search would only spend validations."""
    return [u for u in plan.platform_bound if u.context == "module" and not u.candidates]


def standin_caveats(plan: Plan, deps: Sequence[Dep]) -> list[str]:
    """Honest notes for platform-bound imports that a PyPI distribution stands in for."""
    notes = {u.top: u.note for u in plan.platform_bound}
    out = []
    for dep in deps:
        if dep.standin:
            what = ", ".join(dep.imports)
            why = next((notes[m] for m in dep.imports if notes.get(m)), "platform-bound")
            out.append(f"{what}: {why}; PyPI's {dep.dist} stands in for it here and may "
                       "not be the same library")
    return out


def platform_result(plan: Plan, started: float) -> EnvResult:
    bound = blocking_platform(plan) or plan.platform_bound
    names = ", ".join(f"{u.name} ({u.category or 'platform'})" for u in bound[:4])
    return EnvResult(
        snippet=str(plan.snippet), status="unresolved", python=plan.python, requirements=[],
        validations=0, seconds=time.monotonic() - started, classification="platform",
        reason=f"imports platform-bound modules that no PyPI environment provides: {names}",
    )


def run_snippet(
    snippet: Path,
    *,
    python: str | None = None,
    as_of: dt.date | None = None,
    budget: int = DEFAULT_BUDGET,
    time_limit: float | None = None,
    jobs: int = 1,
    store: Store | None = None,
    releases: ReleaseProvider | None = None,
    executor: str | None = None,
    index_url: str | None = None,
    run_timeout: float = 20.0,
    sandbox: str = "bwrap",
    memory_mb: int | None = 2048,
    reporter: Reporter = null_reporter,
    checkpoint: Callable[[EnvResult], None] | None = None,
) -> EnvResult:
    """Find a working environment for ``snippet`` or explain why there is none.

    ``executor`` names where validations run (``local``, ``dask``, ``dask://HOST:PORT``);
    ``jobs`` is how many run at once.
    """
    started = time.monotonic()
    deadline = started + time_limit if time_limit else None
    plan = inspect_snippet(snippet, python=python)
    reporter(Note(f"{snippet.name}: Python {plan.python}, needs "
                  f"{', '.join(plan.requirements()) or 'no third-party packages'}"))
    if blocking_platform(plan):
        unrun = platform_result(plan, started)
        unrun.sandbox = sandbox
        return unrun
    knowledge = load_knowledge()
    pythons = [c.version for c in plan.python_candidates if c.compiles is not False]
    pythons = pythons or [c.version for c in plan.python_candidates]
    first_py = python or pythons[0]
    source = releases or IndexReleases(index_url=index_url)
    # the plan already classified the imports for its own Python; others are derived lazily
    deps_cache: dict[str, tuple[Dep, ...]] = {}
    if plan.python is not None:
        deps_cache[plan.python] = deps_from_uses(plan.imports, source.exists)

    def deps_for(py: str) -> tuple[Dep, ...]:
        """Re-derive dependencies for another Python (its standard library differs)."""
        if py not in deps_cache:
            from driftdoc.env.knowledge.plan import local_modules
            from driftdoc.env.snippet.imports import scan_imports
            from driftdoc.env.snippet.read import read_snippet

            snip = read_snippet(plan.snippet)
            uses = classify(scan_imports(snip.source).imports, python=py,
                            locals_=local_modules(snip), knowledge=knowledge)
            deps_cache[py] = deps_from_uses(uses, source.exists)
        return deps_cache[py]

    own_store = store is None
    db = store if store is not None else Store.memory()
    runs = validation_executor(executor, snippet, jobs=jobs, index_url=index_url,
                               timeout=run_timeout, sandbox=sandbox, memory_mb=memory_mb,
                               deadline=deadline, reporter=reporter)
    settings = {"search": "repair", "python": python, "budget": budget, "width": jobs,
                "as_of": as_of.isoformat() if as_of else None}
    start = State(first_py, _first_as_of(first_py, as_of), deps_for(first_py))

    def on_kept(found: SearchOutcome) -> None:
        if checkpoint is not None:
            partial = _result(snippet, found, started)
            partial.caveats = standin_caveats(plan, found.state.deps)
            partial.sandbox = sandbox
            if partial.status != "resolved":
                partial.reason = "stopped early (time limit); best environment so far"
            checkpoint(partial)

    try:
        session = validation_session(snippet, runs, store=db, index_url=index_url,
                                     budget=budget, search=settings, sandbox=sandbox,
                                     reporter=reporter)
        found = RepairSearch(
            start, trials=Trials(session, deadline=deadline, reporter=reporter),
            releases=source, lookup=_lookup(knowledge),
            snippet_imports=frozenset(u.top for u in plan.imports),
            pythons=[first_py] if python else pythons, python_pinned=python is not None,
            as_of_pinned=as_of is not None, reporter=reporter,
            width=jobs, deps_for_python=deps_for, on_kept=on_kept, stdlib_in=is_stdlib,
            aliases=import_aliases(snippet),
            system_packages=syspkgs.needed_for if syspkgs.available() else None,
            typelib_packages=syspkgs.typelib_packages if syspkgs.available() else None,
            unbuilt_memo=memo_path(),
            unbuilt_scope=f"{index_url or 'default'}:v{VALIDATOR_VERSION}:{sandbox}",
        ).run()
    finally:
        runs.close()
        if own_store:
            db.close()
    result = _result(snippet, found, started)
    result.caveats = standin_caveats(plan, found.state.deps) + found.notes
    result.sandbox = sandbox
    return result


def _result(snippet: Path, found: SearchOutcome, started: float) -> EnvResult:
    """The JSON contract for where the search stands."""
    verdict = found.verdict
    resolved = verdict is not None and verdict.kind in (Kind.SUCCESS, Kind.TIMEOUT_IMPORTS)
    left = list(verdict.left_out) if verdict is not None else []
    # what the files install: the validated pins and, for a machine with a GPU, what the
    # validation here left out (``left_out`` says which)
    requirements = sorted([*verdict.pins, *(lo.pin for lo in left)], key=str.lower) \
        if verdict is not None else []
    return EnvResult(
        snippet=str(snippet),
        status="resolved" if resolved else "unresolved",
        python=found.state.python,
        requirements=requirements,
        validations=found.validations,
        seconds=time.monotonic() - started,
        drift=found.drift,
        final=verdict.record if verdict is not None else None,
        reason=None if resolved else found.reason,
        classification=verdict.kind.value if verdict is not None else None,
        direct=list(found.state.attempt().requirements),
        steps=found.steps,
        system_packages=list(found.state.system),
        build_constraints=list(verdict.build_constraints) if verdict is not None else [],
        left_out=left,
        lenient_metadata=list(verdict.lenient) if verdict is not None else [],
    )
