"""Adding a distribution for a module nobody provides, and what an old release imports
without declaring it.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, resolved, search


def test_older_major_plus_backend() -> None:
    """Keras 2 dropped an API the snippet uses; Keras 1 needs Theano as its backend."""
    releases = Releases({"keras": ["0.3.3", "1.2.2", "2.2.4"], "tensorflow": ["1.13.1"],
                         "theano": ["0.8.2", "1.0.4"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        major = Version(env["keras"]).major
        if major >= 2:
            if "tensorflow" not in env:
                return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError",
                               exception_message="No module named 'tensorflow'",
                               missing_module="tensorflow", line=3, in_package=True,
                               responsible="keras")
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=10,
                           imports_completed=True,
                           exception_message="module 'keras.layers' has no attribute 'Conv'")
        if "theano" not in env:
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError",
                           exception_message="No module named 'theano'",
                           missing_module="theano", line=3, in_package=True, responsible="keras")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("keras",), ("keras",)),))
    rs, _ = search(start, releases, world, imports={"keras"},
                   lookup={"tensorflow": ["tensorflow"], "theano": ["Theano"]})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "keras").major == 1
    assert any(p.startswith("theano==") for p in out.verdict.pins)
    assert any(d.package == "keras" and d.to_version == "1.2.2" for d in out.drift)


def test_undeclared_dependency_of_an_old_release_is_added() -> None:
    """Old scikit-learn did not declare numpy; the snippet imports both."""
    releases = Releases({"scikit-learn": ["0.18.2", "0.20.4"], "numpy": ["1.16.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=15,
                           exception_message="cannot import name 'cross_validation' from "
                                             "'sklearn'")
        if "numpy" not in env:
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                           missing_module="numpy", exception_message="No module named 'numpy'")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={"numpy": ["numpy"]},
                   imports={"sklearn", "numpy"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert any(p.startswith("numpy==") for p in out.verdict.pins)


def test_several_undeclared_dependencies_are_added_in_one_move() -> None:
    """An old release needing numpy *and* scipy, neither declared nor imported directly."""
    releases = Releases({"scikit-learn": ["0.18.2", "0.20.4"], "numpy": ["1.16.0"],
                         "scipy": ["1.2.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=15,
                           exception_message="cannot import name 'cross_validation' from "
                                             "'sklearn'")
        for need in ("numpy", "scipy"):
            if need not in env:
                return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                               missing_module=need, in_package=True, responsible="sklearn",
                               exception_message=f"No module named '{need}'")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={"numpy": ["numpy"], "scipy": ["scipy"]},
                   imports={"sklearn"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert {p.split("==")[0] for p in out.verdict.pins} == {"scikit-learn", "numpy", "scipy"}


def test_import_error_naming_what_a_package_requires_adds_it() -> None:
    releases = Releases({"ipython": ["0.13.2"], "pyzmq": ["2.2.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "pyzmq" in env:
            return Verdict(Kind.SUCCESS, imports_completed=True)
        return Verdict(Kind.IMPORT, exception_name="ImportError", line=21, in_package=True,
                       responsible="ipython",
                       exception_message="IPython.zmq requires pyzmq >= 2.1.4")

    start = State("2.7", None, (Dep(("IPython",), ("ipython",)),))
    rs, _ = search(start, releases, world, lookup={"pyzmq": ["pyzmq"]}, imports={"IPython"},
                   pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert any(d.dist == "pyzmq" for d in out.state.deps)


def test_undeclared_dependencies_of_an_old_release_come_of_its_time() -> None:
    """scikit-learn 0.19 (2017) imports scipy without declaring it and needs
    ``scipy.misc.comb``, which scipy 1.3 removed: the added scipy must be of 2017."""
    releases = Releases({"scikit-learn": ["0.19.1", "0.24.2"], "scipy": ["1.0.0", "1.5.4"]},
                        dates={("scikit-learn", "0.19.1"): dt.date(2017, 10, 23),
                               ("scikit-learn", "0.24.2"): dt.date(2021, 4, 28)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        raise AssertionError("the validator below decides")

    class Dated(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                self.seen.append(a)
                reqs = dict(r.partition("==")[::2] for r in a.requirements)
                sk = reqs.get("scikit-learn") or "0.24.2"
                new_scipy = a.as_of is None or a.as_of > dt.date(2019, 5, 1)
                if Version(sk) >= Version("0.20"):
                    v = Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=3,
                                missing_module="sklearn.cross_validation",
                                exception_message="No module named 'sklearn.cross_validation'")
                elif "scipy" not in reqs:
                    v = Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=3,
                                in_package=True, missing_module="scipy",
                                exception_message="No module named 'scipy'")
                elif new_scipy:
                    v = Verdict(Kind.DRIFT, exception_name="AttributeError", line=3,
                                in_package=True, responsible="scikit-learn",
                                exception_message="module 'scipy.misc' has no attribute 'comb'")
                else:
                    v = Verdict(Kind.SUCCESS, imports_completed=True)
                v.pins = [f"scikit-learn=={sk}"]
                out.append(v)
            return out

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    validator = Dated(releases, world)
    rs, _ = search(start, releases, world, lookup={"scipy": ["scipy"]},
                   imports={"sklearn"}, pythons=("3.6",), validator=validator)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.state.as_of is not None and out.state.as_of < dt.date(2019, 5, 1)
    # no validation went to the old release with today's dependencies but without scipy
    assert not any(a.as_of is not None and "scipy" not in " ".join(a.requirements)
                   for a in validator.seen)
