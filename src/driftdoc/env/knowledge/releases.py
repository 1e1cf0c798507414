"""The release provider: every fact about a distribution's releases, behind one protocol.

The repair rules and the resolver ask a :class:`ReleaseProvider` (as resolvelib's
algorithm asks its provider) and never the index: versions for a Python as of a date,
pre-releases, upload dates, whether a project exists, which Pythons a release has wheels
for, and which modules a release ships. :class:`IndexReleases` answers from the package
index (``index``, one client and one cache); tests answer from fake worlds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from packaging.utils import canonicalize_name

from driftdoc.env.knowledge.contents import release_members, ships_module
from driftdoc.env.knowledge.distfiles import (
    DistFile,
    Release,
    filter_releases,
    platform_wheel,
    wheel_fits,
)
from driftdoc.env.knowledge.index import IndexClient


class ReleaseProvider(Protocol):
    """Release history of distributions: what version and Python moves can choose from,
    and the files behind it that the resolver's checks read."""

    def releases(self, name: str) -> list[Release]:
        """Every release with a valid version, oldest first ([] for an unknown project)."""
        ...

    def files(self, name: str) -> list[DistFile]:
        """Every file the index lists, unparseable versions included."""
        ...

    def metadata(self, file: DistFile) -> bytes | None:
        """A wheel's PEP 658 metadata (None: not served, or unreadable)."""
        ...

    def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
        """Installable final versions for ``python`` as of a date, oldest first (may be
        empty)."""
        ...

    def prereleases(self, name: str, python: str) -> list[str]:
        """Pre-releases for ``python``, oldest first."""
        ...

    def exists(self, name: str) -> bool:
        """Whether the index has the project at all."""
        ...

    def upload_date(self, name: str, version: str) -> dt.date | None:
        """When a release was first uploaded (None if unknown)."""
        ...

    def wheel_pythons(self, name: str, version: str, pythons: Sequence[str]) -> list[str] | None:
        """The Pythons among ``pythons`` a release has a wheel for here; None when the
        project ships no compiled wheels for Linux (its source builds the same anywhere)."""
        ...

    def ships(self, name: str, version: str, module: str) -> bool | None:
        """Whether release ``version`` has the file of ``module`` (None: unknown)."""
        ...


class IndexReleases:
    """The :class:`ReleaseProvider` of a package index; also the raw files and releases
    the resolver's checks read. Each project's page is read once per provider."""

    def __init__(self, client: IndexClient | None = None, index_url: str | None = None,
                 *, ttl: float | None = None) -> None:
        if client is None:
            client = IndexClient(index_url) if ttl is None else IndexClient(index_url, ttl=ttl)
        self.client = client
        self._releases: dict[str, list[Release]] = {}
        self._files: dict[str, list[DistFile]] = {}

    @property
    def index_url(self) -> str:
        return self.client.index_url.rstrip("/")

    def releases(self, name: str) -> list[Release]:
        """Every release, oldest first; none for a missing or unreachable project."""
        key = canonicalize_name(name)
        if key not in self._releases:
            try:
                self._releases[key] = list(self.client.releases(name))
            except Exception:  # a missing or unreachable project: nothing to move to
                self._releases[key] = []
        return self._releases[key]

    def files(self, name: str) -> list[DistFile]:
        """Every file the index lists, unparseable versions included (pip may read them)."""
        key = canonicalize_name(name)
        if key not in self._files:
            try:
                self._files[key] = list(self.client.files(name))
            except Exception:  # as for releases
                self._files[key] = []
        return self._files[key]

    def metadata(self, file: DistFile) -> bytes | None:
        try:
            return self.client.read(file.url + ".metadata")[0]
        except (OSError, ValueError):
            return None

    def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
        when = dt.datetime.combine(as_of, dt.time(23, 59), tzinfo=dt.UTC) if as_of else None
        return [r.version for r in filter_releases(self.releases(name), python=python,
                                                   as_of=when)]

    def prereleases(self, name: str, python: str) -> list[str]:
        """Some ports to Python 3 never left beta (webapp2 3.0.0b1)."""
        return [r.version for r in filter_releases(self.releases(name), python=python,
                                                   include_prereleases=True)
                if r.parsed.is_prerelease]

    def upload_date(self, name: str, version: str) -> dt.date | None:
        for rel in self.releases(name):
            if rel.version == version:
                return rel.upload_time.date() if rel.upload_time is not None else None
        return None

    def exists(self, name: str) -> bool:
        return bool(self.releases(name))

    def wheel_pythons(self, name: str, version: str, pythons: Sequence[str]) -> list[str] | None:
        releases = self.releases(name)
        if not any(platform_wheel(f.filename) for r in releases for f in r.files):
            return None
        files = [f.filename for r in releases if r.version == version for f in r.files
                 if f.is_wheel]
        return [py for py in pythons if any(wheel_fits(f, py) for f in files)]

    def ships(self, name: str, version: str, module: str) -> bool | None:
        for rel in self.releases(name):
            if rel.version == version:
                members = release_members(rel)
                return None if members is None else ships_module(members, module)
        return None
