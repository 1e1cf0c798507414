"""Releases known not to build here: a source build that failed is not tried again.

A release with no wheel for an interpreter is built from its sdist; when that build
failed (not cut by a time limit), trying it again on the same interpreter with no more
system packages only spends minutes of the snippet's time limit to fail the same way.
When the output names what every source build here lacks (a header, a compiler), the
older releases of the project without a wheel for that interpreter are doomed alike.
With a ``path``, verdicts are shared across snippets and runs: one JSON line each in the
cache, appended under a lock, read by every search of the same ``scope`` (the index and
the validator's version: a newer validator may build what an older one could not).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from driftdoc.env.host import cache
from driftdoc.env.search.state import norm
from driftdoc.env.validation.failure import Failure
from driftdoc.env.validation.verdict import Attempt

HasWheel = Callable[[str, str, str], bool]
"""(distribution, version, Python) -> whether a wheel of that release installs there."""


@dataclass(frozen=True)
class Unbuilt:
    """A release whose source build failed on ``python`` with ``system`` packages."""

    dist: str  # normalised
    version: str
    python: str
    system: tuple[str, ...]
    cause: str | None  # set: older releases without a wheel fail alike
    scope: str = ""


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


class Unbuildable:
    """The memo of failed source builds (see the module docstring)."""

    def __init__(self, has_wheel: HasWheel, *, path: Path | None = None,
                 scope: str = "") -> None:
        self.has_wheel = has_wheel
        self.path = path
        self.scope = scope
        self._lock = threading.Lock()
        self._known: list[Unbuilt] = []
        self._read = False

    def _load(self) -> list[Unbuilt]:
        with self._lock:
            if not self._read and self.path is not None:
                self._read = True
                try:
                    lines = self.path.read_text(encoding="utf-8").splitlines()
                except OSError:
                    lines = []
                for line in lines:
                    try:
                        data = json.loads(line)
                        entry = Unbuilt(str(data["dist"]), str(data["version"]),
                                        str(data["python"]), tuple(data.get("system") or ()),
                                        data.get("cause"), str(data.get("scope", "")))
                    except (ValueError, KeyError, TypeError):
                        continue  # a line written by another format: ignore it
                    if entry.scope == self.scope and entry not in self._known:
                        self._known.append(entry)
            return list(self._known)

    def learn(self, attempt: Attempt, pins: Sequence[str], failure: Failure) -> Unbuilt | None:
        """Remember the release whose source build ``failure`` reports, if it does."""
        if not failure.build_failed or not failure.failed_requirement:
            return None
        name, _, version = failure.failed_requirement.partition("==")
        dist = norm(name.strip())
        version = version.strip() or next(
            (v for n, _, v in (p.partition("==") for p in pins) if norm(n) == dist), "")
        if not version:
            return None
        entry = Unbuilt(dist, version, attempt.python, tuple(sorted(attempt.system)),
                        failure.build_cause, self.scope)
        if entry in self._load():
            return None
        with self._lock:
            self._known.append(entry)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with cache.locked("unbuildable"), self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(entry)) + "\n")
        return entry

    def doomed(self, attempt: Attempt) -> str | None:
        """Why a pin of ``attempt`` cannot build here, if one is known not to."""
        known = self._load()
        if not known:
            return None
        system = set(attempt.system)
        for req in attempt.requirements:
            name, _, version = req.partition("==")
            if not version:
                continue
            dist = norm(name)
            for e in known:
                if e.dist != dist or e.python != attempt.python or not system <= set(e.system):
                    continue  # new system packages may supply what the build lacked
                if e.version == version:
                    return (f"{name}=={version} failed to build on Python {e.python} before"
                            + (f" ({e.cause})" if e.cause else ""))
                if e.cause and self._older_sdist(dist, version, e):
                    return (f"{name}=={version} has no wheel for Python {e.python}, and the "
                            f"source build of {name}=={e.version} lacked what it needs "
                            f"({e.cause})")
        return None

    def _older_sdist(self, dist: str, version: str, entry: Unbuilt) -> bool:
        mine, theirs = _version(version), _version(entry.version)
        return mine is not None and theirs is not None and mine < theirs and \
            not self.has_wheel(dist, version, entry.python)


def memo_path() -> Path:
    """Where verdicts are shared across snippets (in the cache; each line has its scope)."""
    return cache.cache_root() / "search" / "unbuildable.jsonl"
