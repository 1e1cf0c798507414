"""What resolution checks against the index besides resolving: projects that arrived
after the date cut-off, requirements a resolver pushed far back, releases that would be
compiled from source although the project ships wheels, and invalid release metadata.

Every fact comes from the release provider, so these checks and the repair rules read the
same index through the same cache, with one meaning of ``Requires-Python``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.knowledge.distfiles import platform_wheel, python_matches, wheel_fits
from driftdoc.env.knowledge.releases import ReleaseProvider

RESOLVE_TTL = 600.0
"""How old a project page resolution may trust: "latest" moves, and uv sees the live index."""
LATE_WINDOW = timedelta(days=90)
"""A project first published after the cut-off may take its releases of this first window."""
ANCIENT_DAYS = 365


def newest_compatible(releases: ReleaseProvider, req: Requirement, python: str,
                      as_of: datetime | None) -> tuple[Version, datetime | None] | None:
    """The newest non-yanked, non-pre-release version matching ``req`` for ``python`` and
    uploaded by ``as_of``, with its first upload time."""
    best: dict[Version, datetime | None] = {}
    for f in releases.files(req.name):
        if f.yanked or f.version is None or not python_matches(f.requires_python, python):
            continue
        if as_of is not None and f.upload_time is not None and f.upload_time > as_of:
            continue
        try:
            v = Version(f.version)
        except InvalidVersion:
            continue
        if v.is_prerelease or (req.specifier and not req.specifier.contains(v)):
            continue
        if f.filename.endswith(".whl") and python.startswith("3") and "-py2-" in f.filename:
            continue
        prev = best.get(v)
        if prev is None or (f.upload_time is not None and f.upload_time < prev):
            best[v] = f.upload_time
    if not best:
        return None
    top = max(best)
    return top, best[top]


def _admits(req: Requirement, version: str | None) -> bool:
    """Whether ``version`` satisfies ``req`` (a pin gets the cut-off of its own release)."""
    if version is None or not req.specifier:
        return True
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def late_cutoffs(releases: ReleaseProvider, reqs: Sequence[Requirement], python: str,
                 cutoff: datetime | None) -> dict[str, datetime]:
    """Per-project cut-offs for requirements with no release by ``cutoff``: the end of
    their first upload window.

    Old code often names a project that reached PyPI only years later (vendors upload their
    back catalogue at once); a date filter would hide every release of it.
    """
    if cutoff is None:
        return {}
    late: dict[str, datetime] = {}
    for req in reqs:
        try:
            if newest_compatible(releases, req, python, cutoff) is not None:
                continue
            times = [f.upload_time for f in releases.files(req.name)
                     if f.upload_time is not None and not f.yanked
                     and python_matches(f.requires_python, python) and _admits(req, f.version)]
        except (OSError, ValueError):
            continue
        if times:
            late[canonicalize_name(req.name)] = min(times) + LATE_WINDOW
    return late


def _upload_time(releases: ReleaseProvider, name: str, version: str) -> datetime | None:
    times = [f.upload_time for f in releases.files(name)
             if f.version is not None and f.upload_time is not None
             and _same_version(f.version, version)]
    return min(times) if times else None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def check_backtracking(releases: ReleaseProvider, reqs: Sequence[Requirement], pins: Sequence[str],
                       python: str, as_of: datetime | None) -> tuple[list[str], list[str]]:
    """(warnings, names) for direct requirements resolved far below the newest candidate."""
    pinned = {canonicalize_name(p.split("==", 1)[0]): p.split("==", 1)[1] for p in pins}
    warnings: list[str] = []
    names: list[str] = []
    for req in reqs:
        name = canonicalize_name(req.name)
        got = pinned.get(name)
        if got is None:
            continue
        try:
            newest = newest_compatible(releases, req, python, as_of)
            if newest is None:
                continue
            top, top_time = newest
            resolved = Version(got)
            if resolved >= top:
                continue
            got_time = _upload_time(releases, name, got)
        except (OSError, ValueError, InvalidVersion):
            continue
        age = (top_time - got_time).days if top_time and got_time else None
        if resolved.major != top.major or (age is not None and age > ANCIENT_DAYS):
            when = f" (uploaded {age} days earlier)" if age is not None else ""
            problem, requires_python = release_metadata(releases, name, str(top))
            if problem is None and not python_matches(requires_python, python):
                continue  # the index hides it, but the release itself excludes this Python
            why = (f"uv skipped {name}=={top}: {problem}" if problem
                   else "another requirement or invalid metadata pushed it back")
            warnings.append(f"backtracked: {name} resolved to {got}{when} although {top} is "
                            f"the newest compatible release; {why}")
            names.append(name)
    return warnings, names


def source_builds(releases: ReleaseProvider, pins: Sequence[str], python: str,
                  exact: Sequence[str] = ()) -> list[str]:
    """Pinned projects that would be compiled from source: the pinned release has no wheel
    for ``python`` although the project ships compiled wheels (``exact``: names the
    requirements pin themselves, left alone).

    A resolver takes the newest release a Python's ``requires-python`` admits, often one
    published after the last wheels for that Python (opencv-python 5 on 3.6): building it
    takes many minutes or fails, while an older release installs from a wheel in seconds.
    """
    fixed = {canonicalize_name(n) for n in exact}
    todo = [pin.partition("==")[::2] for pin in pins]
    todo = [(name, version) for name, version in todo
            if version and canonicalize_name(name) not in fixed]
    with ThreadPoolExecutor(max_workers=8) as pool:  # one index page per project
        built = pool.map(lambda nv: _builds_from_source(releases, nv[0], nv[1], python), todo)
        return [canonicalize_name(name) for (name, _), b in zip(todo, built, strict=True) if b]


def _builds_from_source(releases: ReleaseProvider, name: str, version: str, python: str) -> bool:
    files = releases.files(name)
    wheels = [f.filename for f in files if f.filename.endswith(".whl")]
    if not any(platform_wheel(w) for w in wheels):
        return False  # a pure or source-only project builds quickly (or not at all)
    mine = [f.filename for f in files if f.version is not None
            and _same_version(f.version, version) and f.filename.endswith(".whl")]
    return not any(wheel_fits(w, python) for w in mine)


def release_metadata(releases: ReleaseProvider, name: str,
                     version: str) -> tuple[str | None, str | None]:
    """(problem with the metadata or ``None``, Requires-Python from the wheel's METADATA)."""
    files = [f for f in releases.files(name)
             if f.version is not None and _same_version(f.version, version)]
    for f in files:
        if f.requires_python:
            try:
                SpecifierSet(f.requires_python)
            except InvalidSpecifier:
                return f"invalid Requires-Python {f.requires_python!r} in the index", None
    wheel = next((f for f in files if f.filename.endswith(".whl")), None)
    if wheel is None:
        return None, None
    raw = releases.metadata(wheel)
    if raw is None:
        return None, None
    try:
        meta = Metadata.from_email(raw, validate=True)
    except Exception as exc:  # InvalidMetadata or an ExceptionGroup of them
        subs = getattr(exc, "exceptions", None) or [exc]
        return "invalid metadata: " + "; ".join(str(e) for e in subs)[:300], None
    spec = meta.requires_python
    return None, str(spec) if spec is not None else None
