"""System packages: the library a build or an import needs, and a typelib.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftdoc.env.search.state import Dep, State
from driftdoc.env.toolchain import syspkgs
from driftdoc.env.toolchain.syspkgs import needed_for
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_search_builds_with_the_library_a_package_needs() -> None:
    """mysqlclient fails to build in every release until its library is there; then the
    import fails at run time until the run sees it too (the same prefix serves both)."""
    releases = Releases({"mysqlclient": ["1.3.14", "1.4.6"]})

    class WithLibraries(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for att in attempts:
                self.seen.append(att)
                if "default-libmysqlclient-dev" not in att.system:
                    out.append(Verdict(Kind.INSTALL, failed_requirement="mysqlclient"))
                else:
                    out.append(Verdict(Kind.SUCCESS, pins=["mysqlclient==1.4.6"]))
            return out

    start = State("2.7", None, (Dep(("MySQLdb",), ("mysqlclient",)),))
    def unused(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.SUCCESS)

    rs, _ = search(start, releases, unused, lookup={}, imports={"MySQLdb"},
                   validator=WithLibraries(releases, unused))
    rs.context.system_packages = needed_for
    found = rs.run()
    assert found.verdict is not None and found.verdict.kind == Kind.SUCCESS
    assert found.state.system == ("default-libmysqlclient-dev", "pkg-config")
    assert [s["move"] for s in found.steps] == ["start", "system"]
    # without the knowledge (or apt on the machine) there is no such move
    rs2, _ = search(start, releases, unused, lookup={}, imports={"MySQLdb"},
                    validator=WithLibraries(releases, unused))
    assert rs2.run().state.system == ()


def test_a_candidate_that_needs_a_library_is_tried_with_it() -> None:
    """rtmidi (an unrelated old project) never installs; its stand-in python-rtmidi builds
    only with ALSA's headers. The candidate move must be judged with them present."""
    releases = Releases({"rtmidi": ["2.1", "2.3.4"], "python-rtmidi": ["1.3.1"]})

    class Alsa(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for att in attempts:
                self.seen.append(att)
                names = [r.split("==")[0] for r in att.requirements]
                if "rtmidi" in names:
                    out.append(Verdict(Kind.INSTALL, failed_requirement="rtmidi"))
                elif "python-rtmidi" in names and "libasound2-dev" not in att.system:
                    out.append(Verdict(Kind.INSTALL, failed_requirement="python-rtmidi"))
                elif "python-rtmidi" in names:
                    out.append(Verdict(Kind.SUCCESS, pins=["python-rtmidi==1.3.1"]))
                else:
                    out.append(Verdict(Kind.IMPORT, exception_name="ImportError", line=3,
                                       missing_module="rtmidi"))
            return out

    def unused(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.SUCCESS)

    start = State("2.7", None, (Dep(("rtmidi",), ("rtmidi", "python-rtmidi")),))
    rs, _ = search(start, releases, unused, lookup={"rtmidi": ["rtmidi", "python-rtmidi"]},
                   imports={"rtmidi"}, pythons=("2.7",), validator=Alsa(releases, unused))
    rs.context.system_packages = needed_for
    found = rs.run()
    assert found.verdict is not None and found.verdict.kind == Kind.SUCCESS
    assert found.state.deps[0].dist == "python-rtmidi"
    assert "libasound2-dev" in found.state.system


def test_missing_shared_library_at_import_asks_for_its_package() -> None:
    releases = Releases({"pyaudio": ["0.2.11", "0.2.14"]})

    def world_for(att: Attempt) -> Verdict:
        if "portaudio19-dev" in att.system:
            return Verdict(Kind.SUCCESS)
        return Verdict(Kind.IMPORT, exception_name="ImportError", responsible="PyAudio",
                       in_package=True, line=1,
                       exception_message="libportaudio.so.2: cannot open shared object file: "
                                         "No such file or directory")

    class Libs(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            self.seen.extend(attempts)
            return [world_for(a) for a in attempts]

    start = State("3.8", None, (Dep(("pyaudio",), ("PyAudio",)),))
    rs, seen = search(start, releases, lambda py, env: Verdict(Kind.SUCCESS), lookup={},
                      imports={"pyaudio"}, pythons=("3.8",),
                      validator=Libs(releases, lambda py, env: Verdict(Kind.SUCCESS)))
    rs.context.system_packages = needed_for
    found = rs.run()
    assert found.state.system == ("portaudio19-dev",) and found.validations == 2
    # the attempt's key says which packages were there, so the memo tells them apart
    assert seen.seen[-1].key()["sys:portaudio19-dev"] == "yes"
    assert "sys:portaudio19-dev" not in seen.seen[0].key()
    # and how the prefix was laid out: a verdict from an older layout is not reused
    assert seen.seen[-1].key()["sys-layout"] == str(syspkgs.LAYOUT)
    assert "sys-layout" not in seen.seen[0].key()


def test_libraries_of_several_packages_are_added_one_build_failure_at_a_time() -> None:
    """pycairo, dbus-python and PyGObject each build against their own C libraries; a
    build stops at the first that lacks one, so the libraries come one failure at a time
    and only all of them together get the snippet further."""
    releases = Releases({"pycairo": ["1.26.1"], "dbus-python": ["1.3.2"],
                         "pygobject": ["3.48.2"]})
    needs = {"pycairo": "libcairo2-dev", "dbus-python": "libdbus-1-dev",
             "pygobject": "libgirepository1.0-dev"}

    class Builds(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for att in attempts:
                self.seen.append(att)
                names = [r.split("==")[0] for r in att.requirements]
                lacking = [n for n in names if needs[n] not in att.system]
                out.append(Verdict(Kind.INSTALL, failed_requirement=lacking[0]) if lacking
                           else Verdict(Kind.SUCCESS))
            return out

    def unused(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.SUCCESS)

    start = State("3.8", None, tuple(Dep((m,), (d,)) for m, d in
                                     (("cairo", "pycairo"), ("dbus", "dbus-python"),
                                      ("gi", "pygobject"))))
    rs, _ = search(start, releases, unused, lookup={}, imports={"cairo", "dbus", "gi"},
                   pythons=("3.8",), validator=Builds(releases, unused))
    rs.context.system_packages = needed_for
    found = rs.run()
    assert found.verdict is not None and found.verdict.kind == Kind.SUCCESS
    assert set(needs.values()) <= set(found.state.system)
    assert found.validations == 4


def test_missing_typelib_asks_for_the_package_that_holds_it() -> None:
    """PyGObject installs, then ``from gi.repository import Notify`` finds no typelib: only
    the Debian package of libnotify has it, whatever PyGObject release is tried."""
    releases = Releases({"pygobject": ["3.36.1", "3.48.2"]})
    missing = Verdict(Kind.IMPORT, exception_name="ImportError", line=2,
                      exception_message="cannot import name Notify, introspection typelib "
                                        "not found")

    def world_for(att: Attempt) -> Verdict:
        return Verdict(Kind.SUCCESS) if "gir1.2-notify-0.7" in att.system else missing

    class Typelibs(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            self.seen.extend(attempts)
            return [world_for(a) for a in attempts]

    start = State("3.8", None, (Dep(("gi",), ("pygobject",)),), ("libgirepository1.0-dev",))
    rs, _ = search(start, releases, lambda py, env: Verdict(Kind.SUCCESS), lookup={},
                   imports={"gi"}, pythons=("3.8",),
                   validator=Typelibs(releases, lambda py, env: Verdict(Kind.SUCCESS)))
    rs.context.typelib_packages = syspkgs.typelib_packages
    found = rs.run()
    assert found.verdict is not None and found.verdict.kind == Kind.SUCCESS
    assert found.state.system == ("gir1.2-notify-0.7", "libgirepository1.0-dev")
    assert [s["move"] for s in found.steps] == ["start", "system"]
    assert syspkgs.typelib_packages("NoSuchNamespace") == ()
