"""The Session: memoisation, budget, batching, recording and non-determinism checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from driftdoc.errors import OracleError
from driftdoc.executors.base import InfrastructureError, Result, RunError
from driftdoc.executors.inprocess import InProcessExecutor
from driftdoc.model import Instance, Outcome, Space, Value
from driftdoc.session import Session
from driftdoc.store import Store

SPACE = Space.from_dict({"a": [0, 1, 2], "b": ["x", "y"]})


class Counting:
    """An oracle that records every call, so tests can see re-runs."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Value]] = []

    def __call__(self, cfg: dict[str, Value]) -> bool:
        self.calls.append(cfg)
        return not (cfg["a"] == 2 and cfg["b"] == "y")


def test_memoised_and_budgeted() -> None:
    oracle = Counting()
    s = Session(SPACE, InProcessExecutor(oracle), budget=3)
    insts = list(SPACE)
    first = s.evaluate(insts[:2] + insts[:2])
    assert len(oracle.calls) == 2 and s.runs == 2 and all(o is not None for o in first)
    again = s.evaluate(insts[:4])
    assert len(oracle.calls) == 3 and s.runs == 3  # one new run fits the budget
    assert again[2] is not None and again[3] is None
    assert s.remaining == 0


def test_history_is_reused_across_sessions(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    oracle = Counting()
    Session(SPACE, InProcessExecutor(oracle), store=store, experiment="e").evaluate(list(SPACE))
    assert len(oracle.calls) == 6
    later = Counting()
    s2 = Session(SPACE, InProcessExecutor(later), store=store, experiment="e", budget=0)
    outs = s2.evaluate(list(SPACE))
    assert later.calls == [] and s2.history == 6 and s2.runs == 0
    assert [o.succeeded for o in outs if o] == [True, True, True, True, True, False]


def test_interrupted_search_keeps_finished_runs(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")

    def flaky_stop(cfg: dict[str, Value]) -> bool:
        if cfg["a"] == 2:
            raise KeyboardInterrupt
        return True

    s = Session(SPACE, InProcessExecutor(flaky_stop), store=store, experiment="e")
    with pytest.raises(KeyboardInterrupt):
        s.evaluate(list(SPACE))
    assert store.count_runs(s.experiment_id) == 4  # a in {0, 1} finished before the stop
    oracle = Counting()
    s2 = Session(SPACE, InProcessExecutor(oracle), store=store, experiment="e")
    s2.evaluate(list(SPACE))
    assert len(oracle.calls) == 2  # only the two never-finished instances run


def test_oracle_exceptions_are_clear_errors() -> None:
    def broken(cfg: dict[str, Value]) -> bool:
        raise ValueError("bad config file")

    with pytest.raises(OracleError, match="ValueError: bad config file"):
        Session(SPACE, InProcessExecutor(broken)).evaluate(list(SPACE)[:1])

    with pytest.raises(OracleError, match="bool or an Outcome"):
        Session(SPACE, InProcessExecutor(lambda c: "yes")).evaluate(list(SPACE)[:1])


def test_recheck_detects_nondeterminism() -> None:
    flips = {"n": 0}

    def coin(cfg: dict[str, Value]) -> bool:
        flips["n"] += 1
        return flips["n"] % 2 == 1

    s = Session(SPACE, InProcessExecutor(coin))
    inst = next(iter(SPACE))
    s.evaluate([inst])
    assert s.recheck([inst]) == [inst]
    assert inst in s.conflicts
    assert s.known()[inst].succeeded  # first verdict kept; conflict reported separately


class Batching:
    """An executor that records batch sizes, to show the Session batches runs."""

    name = "batching"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Outcome]]:
        self.batches.append(len(instances))
        for inst in instances:
            yield inst, Outcome(True)

    def close(self) -> None:
        pass


def test_batches_reach_the_executor_whole() -> None:
    ex = Batching()
    Session(SPACE, ex).evaluate(list(SPACE))
    assert ex.batches == [6]


class LosesWorkers:
    """An executor whose machinery fails ``fail[x]`` times for instance a == x."""

    name = "lossy"

    def __init__(self, fail: dict[int, int]) -> None:
        self.fail = dict(fail)
        self.calls: list[Instance] = []

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        for inst in instances:
            self.calls.append(inst)
            a = int(inst["a"])
            if self.fail.get(a, 0) > 0:
                self.fail[a] -= 1
                yield inst, RunError("worker-lost", "worker died", 2,
                                     {"worker": {"id": "w9"}})
            else:
                yield inst, Outcome(not (a == 2 and inst["b"] == "y"))

    def close(self) -> None:
        pass


def test_machinery_errors_are_retried_and_never_verdicts(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ex = LosesWorkers({1: 3})  # (1, x) is lost twice, (1, y) once; the third round runs
    s = Session(SPACE, ex, store=store, experiment="e")
    outs = s.evaluate(list(SPACE))
    assert [o.succeeded for o in outs if o] == [True, True, True, True, True, False]
    assert s.runs == 6 and s.errors == 3
    runs = store.runs(s.experiment_id)
    assert len(runs) == 6 and all(r.outcome.category in ("", "failed") for r in runs)
    errors = store.errors(s.experiment_id)
    assert {e.kind for e in errors} == {"worker-lost"} and len(errors) == 3
    assert all(e.params["a"] == 1 and e.worker == "w9" for e in errors)


def test_persistent_machinery_errors_stop_the_search(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    s = Session(SPACE, LosesWorkers({0: 99}), store=store, experiment="e")
    with pytest.raises(InfrastructureError, match=r"2 configuration.*no verdict after 3 rounds"):
        s.evaluate(list(SPACE))
    # verdicts of the others are kept; the lost ones are errors only, not counted as runs
    assert s.runs == 4 and not any(i["a"] == 0 for i in s.known())
    assert all(r.params["a"] != 0 for r in store.runs(s.experiment_id))
    store.close()
    store = Store(tmp_path / "s.db")
    again = Session(SPACE, LosesWorkers({}), store=store, experiment="e")
    again.evaluate(list(SPACE))
    assert again.history == 4 and again.runs == 2  # a rerun resumes and runs only the rest


def test_an_open_session_keys_instances_by_their_canonical_mapping(tmp_path: Path) -> None:
    """No finite space: any mapping is an instance (the environment half's attempts);
    history reloads by canonical key, and the experiment is named for people."""
    calls: list[dict[str, Value]] = []

    def oracle(cfg: dict[str, Value]) -> bool:
        calls.append(cfg)
        return cfg.get("pkg:numpy") != "2.0"

    store = Store(tmp_path / "s.db")
    s = Session(None, InProcessExecutor(oracle), store=store, experiment="open",
                meta={"snippet": "a.py"})
    a = Instance([("python", "3.8"), ("pkg:numpy", "2.0")])
    b = Instance([("pkg:numpy", "2.0"), ("python", "3.8")])  # the same, another order
    c = Instance([("python", "3.8"), ("pkg:numpy", "1.26"), ("pkg:six", "latest")])
    outs = s.evaluate([a, b, c])
    assert [o.succeeded if o else None for o in outs] == [False, False, True]
    assert len(calls) == 2 and s.runs == 2
    with pytest.raises(Exception, match="no finite space"):
        _ = s.space
    again = Session(None, InProcessExecutor(oracle), store=store, experiment="open")
    assert again.history == 2 and again.evaluate([b, c]) and len(calls) == 2
    assert store.experiment_meta(again.experiment_id)["snippet"] == "a.py"
