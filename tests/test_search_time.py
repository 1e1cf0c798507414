"""The search within its time limit (issue 17, "Time"): releases with wheels first, a time
budget for each bisection, failed source builds never retried, parallel probes.

Releases come from a loopback index of tiny wheels and sdists read by the real
``IndexReleases`` (so "has a wheel for 2.7" is decided from real file names); the
validator is a fake world with a known ground truth.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from driftdoc.env.knowledge.releases import IndexReleases
from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import Dep, State
from driftdoc.env.search.unbuildable import Unbuildable
from driftdoc.env.validation.failure import Kind, read_failure
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, World, resolved
from support.index import LocalIndex
from support.wheels import make_sdist, make_wheel

CP27 = "cp27-cp27mu-manylinux1_x86_64"
CODE = {"fastnum/__init__.py": "VERSION = 1\n"}


def _publish(index: LocalIndex, root: Path, versions: dict[str, bool]) -> None:
    """Every version as an sdist, those marked True also as a 2.7 Linux wheel."""
    root.mkdir(parents=True, exist_ok=True)
    for i, (version, wheel) in enumerate(sorted(versions.items(), key=lambda kv: Version(kv[0]))):
        when = f"{2010 + i}-01-01"
        top = f"fastnum-{version}"
        index.add(make_sdist(root / f"{top}.tar.gz", top, {"setup.py": "raise SystemExit(1)\n"}),
                  upload_time=when)
        if wheel:
            index.add(make_wheel(root, "fastnum", version, CODE, tag=CP27), upload_time=when)


@pytest.fixture
def releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IndexReleases]:
    """fastnum 1.0-1.5: 1.5 is newest; 1.4 and 1.1 are sdist-only for 2.7."""
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    with LocalIndex(tmp_path / "index") as index:
        _publish(index, tmp_path / "built", {"1.0": True, "1.1": False, "1.2": True,
                                             "1.3": True, "1.4": False, "1.5": True})
        yield IndexReleases(index_url=index.url)


def build_failure(requirement: str, output: str) -> Verdict:
    """An install failure whose installer output is that of a failed source build."""
    return Verdict(Kind.INSTALL, failed_requirement=requirement,
                   record={"dependencies": {"install_errors": [
                       {"requirement": requirement, "message": output}]}})


NO_HEADER = ("fastnum/_core.c:1:10: fatal error: Python.h: No such file or directory\n"
             "error: command 'gcc' failed with exit status 1\n"
             "ERROR: Failed building wheel for fastnum")


def _drift_world(works: set[str], sdist_only: set[str]) -> World:
    """``fastnum.select`` went away after the releases in ``works``; sdist-only releases
    fail to build (no Python.h here)."""

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = env["fastnum"]
        if v in sdist_only:
            return build_failure(f"fastnum=={v}", NO_HEADER)
        if v in works:
            return Verdict(Kind.SUCCESS, imports_completed=True)
        return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=3,
                       responsible="fastnum",
                       exception_message="'module' object has no attribute 'select'")

    return world


class _Pinned(FakeValidator):
    """Resolves the unpinned to the newest release (``IndexReleases`` is not a fake)."""

    def __init__(self, releases: IndexReleases | Releases, world: World,
                 delay: float = 0.0) -> None:
        self.rel = releases
        self.world = world
        self.delay = delay
        self.seen: list[Attempt] = []

    def evaluate(self, attempts: list[Attempt]) -> list[Verdict | None]:  # type: ignore[override]
        out: list[Verdict | None] = []
        for att in attempts:
            self.seen.append(att)
            time.sleep(self.delay)
            env = {}
            for req in att.requirements:
                name, _, version = req.partition("==")
                env[name] = version or self.rel.versions(name, att.python, None)[-1]
            verdict = self.world(att.python, env)
            verdict.pins = [f"{k}=={v}" for k, v in sorted(env.items())]
            out.append(verdict)
        return out


def _search(releases: IndexReleases | Releases, validator: _Pinned, *, budget: int = 16,
            deadline: float | None = None, memo: Path | None = None,
            width: int = 1) -> RepairSearch:
    start = State("2.7", None, (Dep(("fastnum",), ("fastnum",)),))
    return RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                        lookup=lambda m: [], snippet_imports=frozenset({"fastnum"}),
                        pythons=("2.7",), budget=budget, deadline=deadline,
                        unbuilt_memo=memo, width=width)


def _tried(validator: _Pinned) -> list[str]:
    return [r.partition("==")[2] for a in validator.seen for r in a.requirements]


# -- 1. releases with wheels first ---------------------------------------------------------

def test_the_previous_release_tried_is_one_with_a_wheel(releases: IndexReleases) -> None:
    """1.4 has no wheel for 2.7 (a source build that fails here): the first older release
    validated is 1.3, which has one; the sdist-only 1.4 is never built."""
    validator = _Pinned(releases, _drift_world({"1.3", "1.2", "1.1", "1.0"}, {"1.4", "1.1"}))
    out = _search(releases, validator).run()
    assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "fastnum") == Version("1.3")
    assert _tried(validator) == ["", "1.3"]  # the first plan (newest), then 1.3 at once


# -- 2. a bisection has a time budget ------------------------------------------------------

def _long_ladder() -> Releases:
    return Releases({"fastnum": [f"0.{m}.0" for m in range(1, 101)]})


def test_a_slow_bisection_stops_at_its_budget_and_says_so() -> None:
    """Only 0.1.0 works and each validation takes 0.4 s: with 4 s for the snippet, the
    bisection may spend half of what is left, stops, and the result says that it ran out
    of time, not that no environment works."""
    rel = _long_ladder()
    validator = _Pinned(rel, _drift_world({"0.1.0"}, set()), delay=0.4)
    out = _search(rel, validator, budget=40, deadline=time.monotonic() + 4.0).run()
    assert out.verdict is not None and out.verdict.kind is not Kind.SUCCESS
    assert any("stopped at its time budget" in n for n in out.notes), out.notes
    assert (out.reason or "").startswith("time budget exhausted"), out.reason
    assert "no further move fixes" not in (out.reason or "")
    assert len(validator.seen) < 9  # the uncut bisection below needs 9 validations


def test_without_a_deadline_the_same_bisection_finds_the_answer() -> None:
    """The ground truth of the test above: given time, the bisection reaches 0.1.0."""
    rel = _long_ladder()
    validator = _Pinned(rel, _drift_world({"0.1.0"}, set()))
    out = _search(rel, validator, budget=40).run()
    assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "fastnum") == Version("0.1.0")
    assert not out.notes and len(validator.seen) == 9


@pytest.mark.parametrize("width", [2, 3, 4])
def test_parallel_probes_find_the_same_release(width: int) -> None:
    """With ``--jobs`` probes run several at once (a k-ary search): same answer."""
    rel = _long_ladder()
    for newest_good in ("0.1.0", "0.7.0", "0.17.0", "0.27.0", "0.98.0"):
        good = {f"0.{m}.0" for m in range(1, int(newest_good.split(".")[1]) + 1)}
        validator = _Pinned(rel, _drift_world(good, set()))
        out = _search(rel, validator, budget=40, width=width).run()
        assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS, out.steps
        assert resolved(out.verdict, "fastnum") == Version(newest_good), width


# -- 3. a release that failed to build is not tried again ----------------------------------

def test_a_failed_build_is_read_from_the_installer_output() -> None:
    f = build_failure("fastnum==1.4", NO_HEADER).failure
    assert f.build_failed and f.build_cause == "missing header Python.h"
    cut = build_failure("fastnum==1.4", "building wheels took longer than 180s").failure
    assert not cut.build_failed  # it might have finished: never remembered
    resolution = read_failure(kind=Kind.INSTALL, failed_requirement="fastnum",
                              install_output="No solution found when resolving")
    assert not resolution.build_failed


GCC_FAILED = ("fastnum/_core.c:7:3: error: unknown type name 'Py_ssize_t'\n"
              "error: command 'gcc' failed with exit status 1\n"
              "ERROR: Failed building wheel for fastnum")


def test_an_unbuildable_release_is_not_retried_across_snippets(tmp_path: Path) -> None:
    """1.4 fails to build here (a compile error of its own); a first snippet learns so, and
    a second one sharing the memo never builds 1.4 again, yet finds 1.3 as the first did."""
    rel = Releases({"fastnum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if env["fastnum"] == "1.4":
            return build_failure("fastnum==1.4", GCC_FAILED)
        return _drift_world({"1.3", "1.2", "1.1", "1.0"}, set())(py, env)

    memo = tmp_path / "memo.jsonl"
    first, second = _Pinned(rel, world), _Pinned(rel, world)
    one = _search(rel, first, memo=memo).run()
    two = _search(rel, second, memo=memo).run()
    assert "1.4" in _tried(first) and "1.4" not in _tried(second), _tried(second)
    for out in (one, two):
        assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS, out.steps
        assert resolved(out.verdict, "fastnum") == Version("1.3")
    assert len(second.seen) < len(first.seen)


def test_within_a_search_a_missing_header_dooms_older_sdist_only_releases() -> None:
    """A source-only project (no wheels at all): the failed build of 1.4 lacked Python.h,
    which every older source build lacks too; none of them is built, and the search ends
    without claiming an environment."""
    rel = Releases({"fastnum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]})
    validator = _Pinned(rel, _drift_world(set(), {"1.4", "1.3", "1.2", "1.1", "1.0"}))
    out = _search(rel, validator, budget=16).run()
    assert [v for v in _tried(validator) if v] == ["1.4"], _tried(validator)
    assert out.verdict is not None and out.verdict.kind is not Kind.SUCCESS


def test_the_memo_dooms_only_what_fails_alike() -> None:
    """Older sdist-only releases on the same Python with no more system packages; never a
    release with a wheel, another Python, or a build given new system packages."""
    sdist_only = {"1.4", "1.2", "1.1"}
    memo = Unbuildable(lambda d, v, p: v not in sdist_only)
    assert memo.doomed(Attempt("2.7", ("fastnum==1.2",))) is None
    memo.learn(Attempt("2.7", ("fastnum==1.4",)), [],
               build_failure("fastnum==1.4", NO_HEADER).failure)
    assert "failed to build" in (memo.doomed(Attempt("2.7", ("fastnum==1.4",))) or "")
    assert "Python.h" in (memo.doomed(Attempt("2.7", ("fastnum==1.2",))) or "")
    assert memo.doomed(Attempt("2.7", ("fastnum==1.3",))) is None  # it has a wheel
    assert memo.doomed(Attempt("2.7", ("fastnum==1.5",))) is None  # newer
    assert memo.doomed(Attempt("3.7", ("fastnum==1.2",))) is None  # another interpreter
    assert memo.doomed(Attempt("2.7", ("fastnum==1.2",), system=("python2-dev",))) is None


@pytest.mark.network
def test_matplotlib_on_27_old_sdists_are_doomed_by_a_missing_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real class: matplotlib before 1.5 has no Linux wheel for 2.7 (nor pandas before
    0.18, nor any Kivy). A build of 1.4.3 lacking ft2build.h dooms 1.3.1 (sdist-only too)
    but not 1.5.3, which has wheels."""
    from driftdoc.env.search.context import Context

    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    ctx = Context(releases=IndexReleases(), lookup=lambda m: [], snippet_imports=frozenset(),
                  pythons=["2.7"])
    assert not ctx.has_wheel("matplotlib", "1.4.3", "2.7")
    assert ctx.has_wheel("matplotlib", "1.5.3", "2.7")
    memo = Unbuildable(ctx.has_wheel)
    output = ("src/ft2font.h:16:22: fatal error: ft2build.h: No such file or directory\n"
              "error: command 'gcc' failed with exit status 1\n"
              "ERROR: Failed building wheel for matplotlib")
    memo.learn(Attempt("2.7", ("matplotlib==1.4.3",)), ["matplotlib==1.4.3"],
               build_failure("matplotlib==1.4.3", output).failure)
    assert "ft2build.h" in (memo.doomed(Attempt("2.7", ("matplotlib==1.3.1",))) or "")
    assert memo.doomed(Attempt("2.7", ("matplotlib==1.5.3",))) is None


def test_no_validation_starts_too_close_to_the_deadline() -> None:
    """With less than the margin left, a build could only be cut short, and a cut install
    would be recorded as a failure of the release (pandas 0.19.2 with one second left)."""
    from driftdoc.env.search.trials import START_MARGIN, AttemptExecutor, Trials
    from driftdoc.session import Session

    asked: list[Attempt] = []

    def evaluate(attempts: list[Attempt]) -> list[Verdict | None]:
        asked.extend(attempts)
        return [Verdict(Kind.SUCCESS, imports_completed=True) for _ in attempts]

    attempt = Attempt("2.7", ("fastnum==1.0",))
    soon = time.monotonic() + START_MARGIN / 2
    trials = Trials(Session(None, AttemptExecutor(evaluate), budget=4), deadline=soon)
    assert trials.run([attempt]) == [None] and asked == [] and trials.exhausted()
    later = time.monotonic() + START_MARGIN + 30
    trials = Trials(Session(None, AttemptExecutor(evaluate), budget=4), deadline=later)
    assert trials.run([attempt])[0] is not None and asked == [attempt]
