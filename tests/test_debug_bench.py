"""The debugging benchmark's problem families and its driftdoc side, end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from driftdoc.algorithms.logic import count
from driftdoc.algorithms.synthetic import FAMILIES, generate_family

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import debug_synthetic


@pytest.mark.parametrize("family", FAMILIES)
def test_families_are_what_the_issue_asks_for(family: str) -> None:
    for seed in range(5):
        p = generate_family(family, seed)
        sizes = {len(q) for q in p.space.parameters}
        assert sizes == {6}
        assert len(p.space) == (10 if family == "rare" else 12)
        ops = {lit.op for c in p.truth for lit in c}
        if family == "rare":
            assert len(p.truth) == 1 and len(p.truth[0]) == 3 and ops == {"=="}
            assert count(p.space, [[list(p.truth[0])]], lambda v: v[0]) * 216 == p.space.size
        elif family == "multi":
            assert 2 <= len(p.truth) <= 3
            params = [lit.param for c in p.truth for lit in c]
            assert len(params) == len(set(params))  # causes on disjoint parameters
        else:
            assert ops & {"==", "!="} and ops & {"<", ">="}
        for w, clause in zip(p.witnesses, p.truth, strict=True):
            assert clause.holds(w) and p.history[w] is False


def test_benchmark_runs_driftdoc_on_every_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert debug_synthetic.main(["--problems", "1", "--algorithms", "ddt"]) == 0
    out = capsys.readouterr().out
    for family in (*FAMILIES, "random"):
        assert f"{family:<8} driftdoc  ddt       all      1  1.000" in out
