"""Emitted files: a build constraint the search needed travels with the environment."""

from __future__ import annotations

from driftdoc.env.emit.files import dockerfile, requirements_txt
from driftdoc.env.search.result import EnvResult
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict


def _result(constraints: list[str]) -> EnvResult:
    return EnvResult("gist.py", "resolved", "3.8", ["anyjson==0.3.3", "setuptools==57.0.0"],
                     3, 1.0, build_constraints=constraints)


def test_dockerfile_builds_old_setup_py_under_the_constraint() -> None:
    text = dockerfile(_result(["setuptools<58"]))
    runs = [ln for ln in text.replace(" \\\n", "").splitlines() if ln.startswith("RUN ")]
    assert len(runs) == 1  # one resolved install, the constraint file written in the same step
    assert runs[0] == ("RUN printf '%s\\n' 'setuptools<58' > /tmp/driftdoc-build-constraints.txt"
                       " && PIP_CONSTRAINT=/tmp/driftdoc-build-constraints.txt pip install "
                       "--no-cache-dir anyjson==0.3.3 setuptools==57.0.0")
    assert "setuptools<58" in requirements_txt(_result(["setuptools<58"]))


def test_a_pin_the_constraint_excludes_installs_after() -> None:
    result = EnvResult("gist.py", "resolved", "3.8", ["anyjson==0.3.3", "setuptools==70.0"],
                       3, 1.0, build_constraints=["setuptools<58"])
    text = dockerfile(result).replace(" \\\n", "")
    assert ("PIP_CONSTRAINT=/tmp/driftdoc-build-constraints.txt pip install --no-cache-dir "
            "anyjson==0.3.3 && pip install --no-cache-dir setuptools==70.0") in text


def test_without_constraints_the_dockerfile_is_plain() -> None:
    text = dockerfile(_result([]))
    assert "PIP_CONSTRAINT" not in text and "printf" not in text
    assert "build constraints" not in requirements_txt(_result([]))


def test_constraints_survive_the_json_round_trips() -> None:
    result = _result(["setuptools<58"])
    assert EnvResult.from_json(result.to_json()).build_constraints == ["setuptools<58"]
    verdict = Verdict(Kind.SUCCESS, pins=["anyjson==0.3.3"], build_constraints=["setuptools<58"])
    assert Verdict.from_json(verdict.to_json()).build_constraints == ["setuptools<58"]
    assert Verdict.from_json({"kind": Kind.SUCCESS}).build_constraints == []


def test_a_lock_without_third_party_packages_is_still_valid() -> None:
    import tomllib
    from packaging.pylock import Pylock

    from driftdoc.env.emit.files import pylock

    text = pylock(EnvResult("plain.py", "resolved", "3.8", [], 1, 0.1), lambda n, v: [])
    lock = Pylock.from_dict(tomllib.loads(text))
    assert lock.packages == [] and lock.requires_python is not None
