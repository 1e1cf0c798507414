"""The library contract: driftdoc.debug(space, oracle, ...) -> Diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import driftdoc
from driftdoc import Outcome, Space
from driftdoc.errors import InputError, OracleError
from driftdoc.model import Value
from driftdoc.store import Store

SPACE = {"lr": [0.001, 0.01, 0.1, 1.0], "optimizer": ["adam", "sgd", "rmsprop"],
         "batch": [16, 32, 64]}


def planted(cfg: dict[str, Value]) -> bool:
    return not (float(cfg["lr"]) >= 0.1 and cfg["optimizer"] == "adam")


@pytest.mark.parametrize("algorithm", ["ddt", "shortcut", "stacked"])
def test_finds_planted_cause(algorithm: str) -> None:
    diag = driftdoc.debug(SPACE, planted, algorithm=algorithm, mode="all", budget=200)
    assert diag.to_json() == [[["lr", ">=", 0.1], ["optimizer", "==", "adam"]]]
    assert diag.causes[0].text(diag.param_order) == "lr >= 0.1 AND optimizer == adam"
    assert 0 < diag.runs <= 200


def test_space_may_be_a_space_and_oracle_may_return_outcomes() -> None:
    calls: list[dict[str, Value]] = []

    def oracle(cfg: dict[str, Value]) -> Outcome:
        calls.append(cfg)
        ok = planted(cfg)
        return Outcome(ok, "" if ok else "diverged", "loss is nan" if not ok else "")

    diag = driftdoc.debug(Space.from_dict(SPACE), oracle, mode="one")
    assert diag.runs == len(calls)  # every execution counted, re-runs included
    distinct = {json.dumps(c, sort_keys=True) for c in calls}
    assert len(distinct) == len(calls) - diag.reruns and diag.reruns > 0
    assert len(diag.causes) == 1 and all(not planted(c) for c in calls if diag.holds(c))


def test_store_none_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    driftdoc.debug(SPACE, planted)
    assert list(tmp_path.iterdir()) == []


def test_history_in_store_is_never_rerun(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    first = driftdoc.debug(SPACE, planted, store=db, experiment="e")
    with Store(db) as store:
        recorded = {json.dumps(r.params, sort_keys=True) for r in store.runs()}
    calls: list[dict[str, Value]] = []

    def counting(cfg: dict[str, Value]) -> bool:
        calls.append(cfg)
        return planted(cfg)

    again = driftdoc.debug(SPACE, counting, store=db, experiment="e")
    assert again.to_json() == first.to_json()
    assert len(recorded) == first.runs - first.reruns
    assert not {json.dumps(c, sort_keys=True) for c in calls} & recorded


def test_one_parameter() -> None:
    diag = driftdoc.debug({"v": [1, 2, 3, 4, 5, 6]}, lambda c: int(c["v"]) < 4)
    assert diag.to_json() == [[["v", ">=", 4]]]


def test_everything_fails_or_succeeds_is_a_clear_message() -> None:
    fails = driftdoc.debug(SPACE, lambda c: False)
    assert fails.status == "all-fail" and fails.message
    ok = driftdoc.debug(SPACE, lambda c: True)
    assert ok.status == "all-succeed" and ok.causes == () and ok.message


def test_budget_zero_runs_nothing() -> None:
    calls: list[object] = []
    diag = driftdoc.debug(SPACE, lambda c: calls.append(c) or True, budget=0)
    assert calls == [] and diag.runs == 0 and diag.causes == ()
    assert diag.status == "budget-exhausted" and diag.message


def test_nondeterministic_oracle_is_detected_on_rerun() -> None:
    seen: dict[str, int] = {}

    def flaky(cfg: dict[str, Value]) -> bool:
        key = json.dumps(cfg, sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        return planted(cfg) if seen[key] == 1 else not planted(cfg)

    diag = driftdoc.debug(SPACE, flaky, recheck=4)
    assert diag.status == "nondeterministic"
    assert diag.nondeterministic and "different verdicts" in diag.message


def test_bad_input() -> None:
    with pytest.raises(InputError, match="empty value list"):
        driftdoc.debug({"a": []}, planted)
    with pytest.raises(InputError, match="twice"):
        driftdoc.debug({"a": [1, 1]}, planted)
    with pytest.raises(InputError, match="unknown algorithm"):
        driftdoc.debug(SPACE, planted, algorithm="magic")
    with pytest.raises(InputError, match="budget"):
        driftdoc.debug(SPACE, planted, budget=-1)

    def raises(cfg: dict[str, Value]) -> bool:
        raise RuntimeError("disk full")

    with pytest.raises(OracleError, match="RuntimeError: disk full"):
        driftdoc.debug(SPACE, raises)
