"""The newest release past the date cut-off for a package that does not build.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_package_that_builds_only_past_the_cutoff_gets_its_newer_release() -> None:
    """RPi.GPIO <= 0.7.0 no longer links with GCC 10+ (-fno-common); 0.7.1, released after
    the 2.7 cut-off, is that fix: worth one build before a stand-in distribution."""
    class Dated(Releases):
        def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
            return [v for v in super().versions(name, python, as_of)
                    if as_of is None or self.dates[(name.lower(), v)] <= as_of]

    dates = {("rpi.gpio", "0.6.5"): dt.date(2018, 11, 1),
             ("rpi.gpio", "0.7.0"): dt.date(2019, 7, 1),
             ("rpi.gpio", "0.7.1"): dt.date(2022, 2, 1),
             ("fakerpigpio", "0.3a1"): dt.date(2016, 1, 1)}
    releases = Dated({"rpi.gpio": ["0.6.5", "0.7.0", "0.7.1"], "fakerpigpio": ["0.3a1"]},
                     dates)

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "fakerpigpio" in env:
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=100,
                           exception_message="'module' object has no attribute 'BOTH'")
        return Verdict(Kind.SNIPPET, exception_name="RuntimeError", line=5,
                       imports_completed=False)

    class OldBuildsFail(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if any(r.lower() in ("rpi.gpio", "rpi.gpio==0.7.0", "rpi.gpio==0.6.5")
                       for r in a.requirements):
                    out.append(Verdict(Kind.INSTALL, failed_requirement="RPi.GPIO"))
                else:
                    out += super().evaluate([a])
            return out

    start = State("2.7", dt.date(2019, 12, 31),
                  (Dep(("RPi",), ("RPi.GPIO", "fakeRPiGPIO"), standin=True),))
    rs, _ = search(start, releases, world, lookup={}, imports={"RPi"}, pythons=("2.7",),
                   validator=OldBuildsFail(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("RPi.GPIO==0.7.1",)
    assert [s["move"] for s in out.steps][-1] == "newer"
