"""What a distribution file and a release are, read off their names and index entries.

No IO here: the version in a file name, whether a ``Requires-Python`` admits a Python (one
meaning for the whole project), whether a wheel installs on a Python here, and the
grouping of files into releases. ``packaging`` parses names, versions, specifiers and tags.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class DistFile:
    """One file of a release, as the index lists it."""

    filename: str
    url: str
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    size: int | None = None
    sha256: str | None = None
    version: str | None = None  # read off the file name (None: not a distribution we know)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass
class Release:
    """A version of a project: earliest upload time, requires-python, yanked if all files are."""

    version: str
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    files: list[DistFile] = field(default_factory=list)

    @property
    def parsed(self) -> Version:
        return Version(self.version)

    @property
    def has_wheel(self) -> bool:
        return any(f.is_wheel for f in self.files)

    def supports_python(self, python: str) -> bool:
        return python_matches(self.requires_python, python)


def python_matches(requires_python: str | None, python: str) -> bool:
    """Does a ``requires-python`` string admit Python ``python`` ("X.Y" or "X.Y.Z")?

    "X.Y" is taken as the newest patch release of that line (the one installed here); an
    empty or invalid specifier admits every Python, as installers treat it.
    """
    if not requires_python or not requires_python.strip():
        return True
    try:
        spec = SpecifierSet(requires_python.strip().rstrip(","))
    except InvalidSpecifier:
        return True
    full = python if python.count(".") >= 2 else f"{python}.99"
    return spec.contains(full, prereleases=True)


_ARCHIVES = (".whl", ".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz", ".egg", ".exe",
             ".msi", ".rpm", ".tar")


def version_from_filename(filename: str, project: str) -> str | None:
    """PEP 691 lists files, not versions: the version a file name carries (None if none).

    ``packaging`` reads well-formed wheel and sdist names; older names (a ``-`` inside the
    project name, ``.tar.bz2``, eggs) are split against the project's normalised name.
    """
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            if name == canonicalize_name(project):
                return str(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    stem = next((filename[: -len(ext)] for ext in _ARCHIVES if filename.endswith(ext)), None)
    if stem is None:
        return None
    if filename.endswith((".whl", ".egg")):
        parts = stem.split("-")
        return parts[1] if len(parts) > 1 else None
    if stem.endswith((".win32", "win-amd64")):
        return None  # a Windows installer, not a distribution pip reads
    norm = canonicalize_name(project)
    pieces = stem.split("-")
    for i in range(1, len(pieces)):
        if canonicalize_name("-".join(pieces[:i])) == norm:
            return "-".join(pieces[i:])
    return pieces[-1] if len(pieces) > 1 else None


def group_releases(files: Iterable[DistFile], versions: Iterable[str] = ()) -> list[Release]:
    """Files grouped into releases with a valid version, oldest version first.

    ``versions`` (PEP 700) adds releases that have no files left; "1.0" and "1.0.0" are
    one release however the file names spell them.
    """
    by_version: dict[str, list[DistFile]] = {}
    for f in files:
        if f.version is not None:
            by_version.setdefault(f.version, []).append(f)
    for v in versions:
        by_version.setdefault(str(v), [])
    merged: dict[Version, Release] = {}
    for version, group in by_version.items():
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        times = [f.upload_time for f in group if f.upload_time is not None]
        rps = [f.requires_python for f in group if f.requires_python]
        if parsed in merged:
            merged[parsed].files.extend(group)
            continue
        merged[parsed] = Release(
            version=version,
            upload_time=min(times) if times else None,
            requires_python=max(set(rps), key=rps.count) if rps else None,
            yanked=bool(group) and all(f.yanked for f in group),
            files=group,
        )
    return [merged[k] for k in sorted(merged)]


def filter_releases(
    releases: Iterable[Release],
    *,
    python: str | None = None,
    as_of: datetime | None = None,
    include_yanked: bool = False,
    include_prereleases: bool = False,
    require_files: bool = True,
) -> list[Release]:
    """Releases usable for a target Python, published by ``as_of``, not yanked, not pre."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    out = []
    for r in releases:
        if require_files and not r.files:
            continue
        if r.yanked and not include_yanked:
            continue
        if not include_prereleases and r.parsed.is_prerelease:
            continue
        if as_of is not None and (r.upload_time is None or r.upload_time > as_of):
            continue
        if python is not None and not r.supports_python(python):
            continue
        out.append(r)
    return out


def group_by_minor(releases: Iterable[Release]) -> dict[str, list[Release]]:
    """"MAJOR.MINOR" -> releases of that line, oldest first (insertion order follows input)."""
    groups: dict[str, list[Release]] = {}
    for r in releases:
        rel = r.parsed.release
        key = f"{rel[0]}.{rel[1] if len(rel) > 1 else 0}"
        groups.setdefault(key, []).append(r)
    return groups


def group_by_major(releases: Iterable[Release]) -> dict[int, list[Release]]:
    groups: dict[int, list[Release]] = {}
    for r in releases:
        groups.setdefault(r.parsed.release[0], []).append(r)
    return groups


def latest(releases: Iterable[Release]) -> Release | None:
    """The highest version among ``releases`` (None if empty)."""
    best: Release | None = None
    for r in releases:
        if best is None or r.parsed > best.parsed:
            best = r
    return best


def wheel_fits(filename: str, python: str, machine: str | None = None) -> bool:
    """Does the wheel ``filename`` install on CPython ``python`` ("X.Y") on Linux here?

    ``packaging.tags`` describes only the running interpreter, so the target's tags are
    matched here: ``pyX``/``pyXY``/``cpXY``, abi3 wheels of older minors, Linux or ``any``.
    """
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    arch = machine or platform.machine()
    major, minor = (int(x) for x in python.split(".")[:2])
    exact = {f"py{major}", f"py{major}{minor}", f"cp{major}{minor}"}
    stable = {f"cp{major}{m}" for m in range(minor + 1)}  # abi3 wheels of older minors
    for tag in tags:
        if tag.platform != "any" and not (tag.platform.startswith(("linux", "manylinux"))
                                          and tag.platform.endswith(arch)):
            continue
        if tag.interpreter in exact or (tag.abi == "abi3" and tag.interpreter in stable):
            return True
    return False


def platform_wheel(filename: str) -> bool:
    """Is ``filename`` a compiled wheel for Linux? (A project with only Windows or macOS
    wheels builds from source here whichever release is picked.)"""
    try:
        return any(t.platform.startswith(("linux", "manylinux"))
                   for t in parse_wheel_filename(filename)[3])
    except InvalidWheelFilename:
        return False
