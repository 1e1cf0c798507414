"""The environment half as a library: ``run`` (alias ``infer``), ``validate``, ``explain``.

Each returns the typed result whose ``to_json()`` is exactly what the matching command
prints with ``--format json`` (``docs/schema/driftdoc-results-1.schema.json``), takes the
same limits under the same names and defaults (``driftdoc.limits``), and reports progress
as events to ``reporter``; nothing is printed. Heavy modules load on first call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import driftdoc.limits as limits
from driftdoc.env.search.result import EnvResult
from driftdoc.errors import InputError
from driftdoc.events import Reporter, null_reporter
from driftdoc.schema import stamped

if TYPE_CHECKING:
    from driftdoc.env.emit.explain import Explanation
    from driftdoc.env.validation.failure import Classification
    from driftdoc.env.validation.records import ValidationRecord
    from driftdoc.store import Store

DEFAULT_BUDGET = limits.BUDGET


def _date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"as_of wants a date like 2019-06-01, got {value!r}") from None


def _python(version: str | None) -> str | None:
    if version is None:
        return None
    from driftdoc.env.host.interpreters import find

    return find(version).version


def run(snippet: str | Path, *, python: str | None = None,
        as_of: dt.date | str | None = None, budget: int = DEFAULT_BUDGET,
        time_limit: float | None = None, timeout: float = limits.TIMEOUT,
        memory_mb: int = limits.MEMORY_MB, jobs: int = 1, store: Store | None = None,
        index_url: str | None = None, sandbox: str = "bwrap",
        reporter: Reporter = null_reporter) -> EnvResult:
    """Infer, validate and repair the environment ``snippet`` needs (``driftdoc run``).

    ``store`` keeps every validation as provenance (and answers repeats); without one they
    are kept in memory for this call only.
    """
    from driftdoc.env.search.runner import run_snippet

    path = Path(snippet)
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    if sandbox == "bwrap":
        from driftdoc.sandbox import check_bwrap

        check_bwrap()
    return run_snippet(path, python=_python(python), as_of=_date(as_of), budget=budget,
                       time_limit=time_limit, jobs=jobs, store=store, index_url=index_url,
                       run_timeout=timeout, sandbox=sandbox, memory_mb=memory_mb,
                       reporter=reporter)


infer = run


@dataclass
class Validation:
    """One validation (``driftdoc validate``): the V2-shaped record and its verdict."""

    record: ValidationRecord
    classification: Classification

    @property
    def env_ok(self) -> bool:
        """The environment works (the CLI exits 0)."""
        return self.classification.env_ok

    def to_json(self) -> dict[str, Any]:
        doc = stamped("validate", self.record.to_v2_json())
        doc["classification"] = self.classification.to_json()
        return doc


def validate(snippet: str | Path, python: str, requirements: Sequence[str] = (), *,
             requirement_files: Sequence[str | Path] = (), as_of: dt.date | str | None = None,
             timeout: float = limits.TIMEOUT, grace: float | None = limits.GRACE,
             memory_mb: int = limits.MEMORY_MB, index_url: str | None = None,
             sandbox: str = "bwrap", reporter: Reporter = null_reporter) -> Validation:
    """Resolve ``requirements`` (and ``requirement_files``, read as pip reads them) for
    Python ``python``, build or reuse the environment, and run ``snippet`` in the sandbox."""
    from driftdoc.env.validation.failure import classify
    from driftdoc.env.validation.validate import validate_requirements
    from driftdoc.events import Note
    from driftdoc.reqfile import read_requirements

    parsed = read_requirements([Path(p) for p in requirement_files])
    for note in parsed.notes:
        reporter(Note(note, level="warning"))
    if not Path(snippet).exists():
        raise InputError(f"{snippet} does not exist")
    record = validate_requirements(Path(snippet), python,
                                   [*requirements, *parsed.requirements], as_of=_date(as_of),
                                   index_url=index_url, timeout=timeout, grace=grace or None,
                                   memory_mb=memory_mb, sandbox=sandbox, reporter=reporter)
    return Validation(record, classify(record))


def explain(snippet: str | Path, *, python: str | None = None,
            as_of: dt.date | str | None = None, budget: int = DEFAULT_BUDGET,
            explain_budget: int = limits.EXPLAIN_BUDGET, time_limit: float | None = None,
            timeout: float = limits.TIMEOUT, memory_mb: int = limits.MEMORY_MB, jobs: int = 1,
            store: Store | None = None, index_url: str | None = None, sandbox: str = "bwrap",
            environment: EnvResult | None = None,
            reporter: Reporter = null_reporter) -> Explanation:
    """The version boundaries where the snippet's behaviour changes (``driftdoc explain``).

    Without ``environment`` it first runs ``run`` for one; releases that do not install
    here are unknown, never failures.
    """
    from driftdoc.env.emit.explain import explain_result
    from driftdoc.env.knowledge.releases import IndexReleases
    from driftdoc.env.search.runner import AttemptMemo, memo_experiment
    from driftdoc.env.validation.validator import SandboxValidator
    from driftdoc.store import Store

    path = Path(snippet)
    db = store if store is not None else Store.memory()
    try:
        if environment is None:
            environment = run(path, python=python, as_of=as_of, budget=budget,
                              time_limit=time_limit, timeout=timeout, memory_mb=memory_mb,
                              jobs=jobs, store=db, index_url=index_url, sandbox=sandbox,
                              reporter=reporter)
        validator = SandboxValidator(path, index_url=index_url, timeout=timeout,
                                     sandbox=sandbox, memory_mb=memory_mb)
        memo = AttemptMemo(db, memo_experiment(path, index_url, sandbox), validator,
                           jobs=jobs)
        return explain_result(path, environment, memo=memo,
                              releases=IndexReleases(index_url=index_url),
                              budget=explain_budget, reporter=reporter)
    finally:
        if store is None:
            db.close()
