"""``driftdoc explain``: drift as root causes, via the debugging algorithms.

The environment found by ``run`` anchors a small version space (the releases
around each direct dependency's working version); Debugging Decision Trees then
search it with validations as the oracle, so drift reads as a root cause such as
``scikit-learn >= 0.20``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from driftdoc.api import debug
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.search.result import EnvResult
from driftdoc.env.search.runner import AttemptMemo
from driftdoc.env.validation.verdict import Attempt
from driftdoc.errors import InputError
from driftdoc.events import Reporter, null_reporter
from driftdoc.model import Diagnosis, Instance, Outcome, Parameter, Space
from driftdoc.store import Store

PYTHON = "python"


def _parse(v: str) -> Version | None:
    try:
        return Version(v)
    except InvalidVersion:
        return None


def neighbourhood(versions: Sequence[str], anchor: str, *, older: int = 2,
                  newer: int = 4) -> list[str]:
    """The newest patch of each minor series around ``anchor``, anchor included."""
    best: dict[tuple[int, int], Version] = {}
    for text in versions:
        v = _parse(text)
        if v is None or v.is_prerelease or v.is_devrelease:
            continue
        key = (v.major, v.minor)
        if key not in best or v > best[key]:
            best[key] = v
    anchor_v = _parse(anchor)
    if anchor_v is None:
        return [anchor]
    series = sorted(best.values())
    below = [v for v in series if v < anchor_v and (v.major, v.minor) !=
             (anchor_v.major, anchor_v.minor)]
    above = [v for v in series if v > anchor_v and (v.major, v.minor) !=
             (anchor_v.major, anchor_v.minor)]
    picked = [*below[-older:], anchor_v, *_spread(above, newer)]
    return [str(v) for v in picked]


def _spread(items: list[Version], k: int) -> list[Version]:
    """Up to ``k`` items evenly spread, always keeping the newest."""
    if len(items) <= k:
        return items
    step = (len(items) - 1) / (k - 1)
    return [items[round(i * step)] for i in range(k)]


def version_space(result: EnvResult, releases: ReleaseProvider, *, older: int = 2,
                  newer: int = 4) -> Space:
    """Python fixed at the working one; each direct package over its neighbourhood."""
    if result.python is None:
        raise InputError("no environment to explain: the search did not pick a Python")
    pins = dict(p.split("==", 1) for p in result.requirements if "==" in p)
    lowered = {k.lower(): v for k, v in pins.items()}
    params = [Parameter.of(PYTHON, [result.python], "categorical")]
    for req in result.direct:
        name = req.split("==", 1)[0]
        anchor = lowered.get(name.lower()) or lowered.get(name.lower().replace("_", "-"))
        if anchor is None:
            continue
        values = neighbourhood(releases.versions(name, result.python, None), anchor,
                               older=older, newer=newer)
        params.append(Parameter.of(name, values, "ordered" if len(values) > 1 else None))
    if len(params) == 1:
        raise InputError("the snippet has no third-party packages, so there is no drift")
    return Space(params)


@dataclass
class ValidationExecutor:
    """Runs instances of a version space as validations (memoised with ``run``'s)."""

    memo: AttemptMemo
    jobs: int = 1
    name: str = "validation"

    def _attempt(self, inst: Instance) -> Attempt:
        reqs = tuple(f"{k}=={v}" for k, v in inst.items() if k != PYTHON)
        return Attempt(str(inst[PYTHON]), reqs, None)

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Outcome]]:
        def one(inst: Instance) -> tuple[Instance, Outcome]:
            start = time.perf_counter()
            verdict = self.memo([self._attempt(inst)])[0]
            assert verdict is not None
            return inst, Outcome(verdict.ok and verdict.passes, verdict.kind,
                                 verdict.exception_message or "", time.perf_counter() - start,
                                 {"pins": verdict.pins, "line": verdict.line})

        if self.jobs > 1 and len(instances) > 1:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                yield from pool.map(one, instances)
        else:
            for inst in instances:
                yield one(inst)

    def close(self) -> None:
        """Nothing to release."""


def explain(snippet: Path, result: EnvResult, *, memo: AttemptMemo, releases: ReleaseProvider,
            store: Store, budget: int = 40, jobs: int = 1,
            reporter: Reporter = null_reporter) -> tuple[Space, Diagnosis]:
    """Root causes of failure over the versions around the working environment."""
    space = version_space(result, releases)
    executor = ValidationExecutor(memo, jobs)
    diagnosis = debug(space, executor=executor, algorithm="ddt", mode="all", budget=budget,
                      store=store, experiment=f"explain:{memo.experiment_id}",
                      reporter=reporter)
    return space, diagnosis
