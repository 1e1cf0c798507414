"""Resolve requirements to a fully pinned set for one Python version, optionally "as of" a date.

``resolve(python, requirements, *, as_of=None, index_url=None, reporter=null_reporter)
-> Resolution(pins, ok, error, warnings, backtracked, ...)``

- Python >= 3.6: ``uv pip compile`` with ``--python-version``, ``--python-platform linux``,
  ``--exclude-newer`` (as of) and ``--index-url``.
- Python 2.7 (uv cannot target it): pip 20.3 (the last 2.7 pip, run from its wheel with the
  2.7 interpreter) runs ``pip wheel`` against a loopback *date-filtering proxy* of the index
  that hides files uploaded after the cut-off (as of, and never later than
  :data:`PY27_CUTOFF`, when 2.7 was still current). When pip aborts with "requires a different
  Python" (an index entry without Requires-Python), that version is hidden too and pip retries.
  The wheels pip produced go to the shared 2.7 wheelhouse, so the later build is offline.
- Results are cached on disk keyed by every input (``resolve/<key>.json``); without ``as_of``
  the entry expires after :data:`UNDATED_TTL` because "latest" moves.
- Two silent resolver failure modes are reported in ``warnings``: uv's own warnings (e.g.
  versions skipped for invalid metadata), and *backtracking to ancient versions*: a direct
  requirement resolved far below the newest version the index offers for it (same specifier,
  Python and date); such names are listed in ``Resolution.backtracked``.

Failures never raise: ``ok=False`` with ``error`` holding the tail of the resolver's output.
Unparseable requirement strings raise ``InputError``. Safe to call from several threads.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from driftdoc.env.host import cache
from driftdoc.env.host.interpreters import check_python
from driftdoc.env.knowledge.index import default_index
from driftdoc.env.knowledge.releases import IndexReleases
from driftdoc.env.toolchain.checks import RESOLVE_TTL, check_backtracking, late_cutoffs
from driftdoc.env.toolchain.installer import Resolution
from driftdoc.env.toolchain.installers import installer_for
from driftdoc.env.toolchain.syspkgs import SystemRoot
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter

UNDATED_TTL = 24 * 3600.0

CACHE_FORMAT = 4  # 3: 2.7 resolutions prefer wheels; 4: lenient reading of refused metadata


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_requirements(requirements: Sequence[str]) -> list[Requirement]:
    out = []
    for raw in requirements:
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("-") else raw.strip()
        if not line:
            continue
        if line.startswith("-"):
            raise InputError(f"requirement options are not supported: {raw!r}")
        try:
            out.append(Requirement(line))
        except InvalidRequirement as exc:
            raise InputError(f"bad requirement {raw!r}: {exc}") from exc
    return out


def _cache_key(python: str, reqs: list[Requirement], as_of: datetime | None,
               index_url: str, without: Sequence[str] = ()) -> str:
    doc: dict[str, object] = {"f": CACHE_FORMAT, "python": python,
                              "reqs": sorted(str(r) for r in reqs),
                              "as_of": as_of.isoformat() if as_of else None, "index": index_url}
    if without:  # absent otherwise: the keys of full resolutions stay as they were
        doc["without"] = sorted(canonicalize_name(n) for n in without)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def resolve(python: str, requirements: Sequence[str], *, as_of: date | datetime | None = None,
            index_url: str | None = None, use_cache: bool = True,
            check_backtrack: bool = True, reporter: Reporter = null_reporter,
            system: SystemRoot | None = None, without: Sequence[str] = ()) -> Resolution:
    """Pin ``requirements`` for Python ``python`` ("X.Y"); see the module docstring.
    ``without`` names distributions left out wherever a dependency asks for them."""
    start = time.perf_counter()
    major, minor = check_python(python)
    python = f"{major}.{minor}"
    reqs = _parse_requirements(requirements)
    when = _as_datetime(as_of)
    index = (index_url or default_index()).rstrip("/")
    key = _cache_key(python, reqs, when, index, without)
    path = cache.cache_root() / "resolve" / f"{key}.json"
    if use_cache:
        try:
            fresh = when is not None or time.time() - path.stat().st_mtime < UNDATED_TTL
            if fresh:
                data = json.loads(path.read_text())
                data.update(cached=True, seconds=time.perf_counter() - start)
                return Resolution(**data)
        except (OSError, ValueError, TypeError):
            pass
    reporter(Note(f"resolving {len(reqs)} requirement(s) for Python {python}"
                  + (f" as of {when.date()}" if when else ""), data={"python": python}))
    releases = IndexReleases(index_url=index, ttl=RESOLVE_TTL)  # one read per project
    late: dict[str, datetime] = {}
    cutoff = when
    if not reqs:
        result = Resolution([], True, None, python=python)
    else:
        installer = installer_for(major, minor)
        cutoff = installer.cutoff(when)
        late = late_cutoffs(releases, reqs, python, cutoff)
        result = installer.resolve(python, reqs, when, index, releases, system, late,
                                   without)
    if late:
        result.warnings.append("first published after the cut-off, so taken from its first "
                               "releases: " + ", ".join(sorted(late)))
    result.python = python
    result.as_of = when.isoformat() if when else None
    if result.ok and check_backtrack:
        forced = set(result.binary_only)  # older on purpose: their newest has no wheel
        more, names = check_backtracking(
            releases, [r for r in reqs if canonicalize_name(r.name) not in forced],
            result.pins, python, cutoff)
        result.warnings.extend(more)
        result.backtracked = names
    result.seconds = time.perf_counter() - start
    if result.ok and use_cache:
        data = result.to_json()
        data.pop("cached", None)
        data.pop("seconds", None)
        cache.write_json_atomic(path, data)
    return result
