"""Fake worlds for the repair search: releases and a validator whose ground truth is known.

A world is a function (Python, {distribution: version}) -> Verdict; :class:`FakeValidator`
resolves unpinned requirements to the newest release and asks it. :class:`Releases` is a
complete release provider (``knowledge.releases.ReleaseProvider``) over a version table;
subclasses add the file facts (wheels, shipped modules, pre-releases) a rule needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from packaging.version import Version

from driftdoc.env.knowledge.distfiles import DistFile, Release
from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict

World = Callable[[str, dict[str, str]], Verdict]


class Releases:
    """A complete release provider over ``{name: [versions]}`` (no file facts)."""

    def __init__(self, table: dict[str, list[str]],
                 dates: dict[tuple[str, str], dt.date] | None = None) -> None:
        self.table = table
        self.dates = dates or {}

    def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
        return sorted(self.table.get(name.lower(), []), key=Version)

    def exists(self, name: str) -> bool:
        return name.lower() in self.table

    def upload_date(self, name: str, version: str) -> dt.date | None:
        return self.dates.get((name.lower(), version))

    # what a world with no file facts answers (subclasses below add some)
    def prereleases(self, name: str, python: str) -> list[str]:
        return []

    def wheel_pythons(self, name: str, version: str, pythons: Sequence[str]) -> list[str] | None:
        return None

    def ships(self, name: str, version: str, module: str) -> bool | None:
        return None

    def releases(self, name: str) -> list[Release]:
        return []

    def files(self, name: str) -> list[DistFile]:
        return []

    def metadata(self, file: DistFile) -> bytes | None:
        return None


class FakeValidator:
    """Resolves unpinned requirements to the newest release, then asks the world."""

    def __init__(self, releases: Releases, world: World) -> None:
        self.releases = releases
        self.world = world
        self.seen: list[Attempt] = []

    def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
        out: list[Verdict | None] = []
        for att in attempts:
            self.seen.append(att)
            env: dict[str, str] = {}
            for req in att.requirements:
                name, _, version = req.partition("==")
                if not self.releases.exists(name):
                    out.append(Verdict(Kind.INSTALL, failed_requirement=name))
                    break
                env[name.lower()] = version or self.releases.versions(name, att.python, None)[-1]
            else:
                verdict = self.world(att.python, env)
                verdict.pins = [f"{k}=={v}" for k, v in sorted(env.items())]
                out.append(verdict)
        return out


class DatedReleases(Releases):
    """Releases that exist only from their upload date on (every version needs a date)."""

    def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
        return [v for v in super().versions(name, python, as_of)
                if as_of is None or self.dates[(name.lower(), v)] <= as_of]


class AsOfValidator(FakeValidator):
    """Resolves unpinned requirements to the newest release as of the attempt's date."""

    def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
        out: list[Verdict | None] = []
        for att in attempts:
            self.seen.append(att)
            env = {}
            for req in att.requirements:
                name, _, version = req.partition("==")
                env[name.lower()] = version or self.releases.versions(
                    name, att.python, att.as_of)[-1]
            verdict = self.world(att.python, env)
            verdict.pins = [f"{k}=={v}" for k, v in sorted(env.items())]
            out.append(verdict)
        return out


def search(start: State, releases: Releases, world: World, *, lookup: dict[str, list[str]],
           imports: set[str], pythons: Sequence[str] = ("3.7",), budget: int = 16,
           validator: FakeValidator | None = None) -> tuple[RepairSearch, FakeValidator]:
    validator = validator or FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: lookup.get(m, []), snippet_imports=frozenset(imports),
                      pythons=pythons, budget=budget)
    return rs, validator


def resolved(verdict: Verdict, name: str) -> Version:
    for pin in verdict.pins:
        n, _, v = pin.partition("==")
        if n == name:
            return Version(v)
    raise AssertionError(f"{name} not in {verdict.pins}")
