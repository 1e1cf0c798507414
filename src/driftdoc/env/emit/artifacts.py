"""The files of each pinned release that a lock or a hashed requirements file names.

A lock is for the Python and platform the environment was validated on: the wheels whose
tags install there, and the sdist as the fallback a resolver may build. Each file comes
with its URL, size, upload time and sha256 from the index (PEP 691/700), so installers
can check what they download.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from packaging.tags import Tag, compatible_tags, cpython_tags, platform_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from driftdoc.env.knowledge.distfiles import DistFile
from driftdoc.env.knowledge.releases import IndexReleases
from driftdoc.errors import DriftdocError

# (name, version) -> the files to list for it, wheels first
ArtifactLookup = Callable[[str, str], list[DistFile]]


class MissingArtifacts(DriftdocError):
    """A pin has no file with a sha256 on the index, so no valid lock names it."""


@cache
def target_tags(python: str) -> frozenset[Tag]:
    """Tags a CPython ``X.Y`` on this machine's platform installs (what was validated)."""
    major, minor = (int(p) for p in python.split(".")[:2])
    platforms = list(platform_tags())
    abis = [f"cp{major}{minor}mu", f"cp{major}{minor}m", "none"] if major == 2 else None
    tags = list(cpython_tags((major, minor), abis=abis, platforms=platforms))
    tags += list(compatible_tags((major, minor), f"cp{major}{minor}", platforms))
    return frozenset(tags)


def installable(files: Sequence[DistFile], python: str) -> list[DistFile]:
    """Files a lock lists for ``python``: compatible wheels, then sdists; hashed, not yanked."""
    wheels: list[DistFile] = []
    sdists: list[DistFile] = []
    tags = target_tags(python)
    for f in files:
        if f.yanked or not f.sha256:
            continue
        if f.is_wheel:
            try:
                _, _, _, file_tags = parse_wheel_filename(f.filename)
            except InvalidWheelFilename:
                continue
            if file_tags & tags:
                wheels.append(f)
        else:
            try:
                parse_sdist_filename(f.filename)
            except InvalidSdistFilename:
                continue  # .egg, .exe, .msi and the like install nowhere useful
            sdists.append(f)
    return wheels + sdists


class IndexArtifacts:
    """An ``ArtifactLookup`` over the index the environment was resolved from."""

    def __init__(self, python: str, index_url: str | None = None,
                 provider: IndexReleases | None = None) -> None:
        self.python = python
        self.provider = provider if provider is not None else IndexReleases(index_url=index_url)
        self.index_url = self.provider.index_url + "/"
        self._seen: dict[tuple[str, str], list[DistFile]] = {}

    def __call__(self, name: str, version: str) -> list[DistFile]:
        if (name, version) not in self._seen:
            self._seen[(name, version)] = self._lookup(name, version)
        return self._seen[(name, version)]

    def _lookup(self, name: str, version: str) -> list[DistFile]:
        want = _version(version)
        for release in self.provider.releases(name):
            same = _version(release.version) == want if want else release.version == version
            if same:
                files = installable(release.files, self.python)
                if files:
                    return files
                break
        raise MissingArtifacts(
            f"{canonicalize_name(name)} {version}: the index lists no file with a sha256 that "
            f"installs on Python {self.python} here, so it cannot be locked or hashed")


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
