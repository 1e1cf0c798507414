"""Emitted files: a build constraint the search needed travels with the environment."""

from __future__ import annotations

import json

from driftdoc.env.emit.files import dockerfile, requirements_txt
from driftdoc.env.search.result import EnvResult
from driftdoc.env.validation.verdict import SUCCESS, Verdict


def _result(constraints: list[str]) -> EnvResult:
    return EnvResult("gist.py", "resolved", "3.8", ["anyjson==0.3.3", "setuptools==57.0.0"],
                     3, 1.0, build_constraints=constraints)


def test_dockerfile_builds_old_setup_py_under_the_constraint() -> None:
    lines = dockerfile(_result(["setuptools<58"])).splitlines()
    runs = [ln for ln in lines if ln.startswith("RUN [")]
    anyjson = json.loads(runs[0][4:])
    assert anyjson[:2] == ["env", "PIP_CONSTRAINT=/tmp/driftdoc-build-constraints.txt"]
    assert anyjson[-1] == "anyjson==0.3.3"
    assert json.loads(runs[1][4:]) == ["pip", "install", "--no-cache-dir", "setuptools==57.0.0"]
    assert "RUN printf '%s\\n' 'setuptools<58' > /tmp/driftdoc-build-constraints.txt" in lines
    assert "setuptools<58" in requirements_txt(_result(["setuptools<58"]))


def test_without_constraints_the_dockerfile_is_plain() -> None:
    text = dockerfile(_result([]))
    assert "PIP_CONSTRAINT" not in text and "printf" not in text
    assert "build constraints" not in requirements_txt(_result([]))


def test_constraints_survive_the_json_round_trips() -> None:
    result = _result(["setuptools<58"])
    assert EnvResult.from_json(result.to_json()).build_constraints == ["setuptools<58"]
    verdict = Verdict(SUCCESS, pins=["anyjson==0.3.3"], build_constraints=["setuptools<58"])
    assert Verdict.from_json(verdict.to_json()).build_constraints == ["setuptools<58"]
    assert Verdict.from_json({"kind": SUCCESS}).build_constraints == []
