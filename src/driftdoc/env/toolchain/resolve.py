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
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.metadata import Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from driftdoc.env.host import cache
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import BUILD_TIMEOUT, run_bounded
from driftdoc.env.toolchain.legacy import legacy_build_args, remember_legacy_build
from driftdoc.env.toolchain.syspkgs import SystemRoot, build_env
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter

# The index resolution and builds use unless told otherwise (same variable as the client).
DEFAULT_INDEX = os.environ.get("DRIFTDOC_INDEX_URL", "https://pypi.org/simple").rstrip("/")
PY27_CUTOFF = datetime(2020, 1, 1, tzinfo=UTC)
"""Python 2.7 reached end of life on 2020-01-01; later uploads rarely support it."""
LATE_WINDOW = timedelta(days=90)
"""A project first published after the cut-off may take its releases of this first window."""
UNDATED_TTL = 24 * 3600.0
INDEX_TTL = 600.0
ANCIENT_DAYS = 365
CACHE_FORMAT = 2
_JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass
class Resolution:
    """A pinned set (``name==version`` lines) or why there is none."""

    pins: list[str]
    ok: bool
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    backtracked: list[str] = field(default_factory=list)
    python: str = ""
    # projects kept to releases with a wheel for this Python (their newest has none)
    binary_only: list[str] = field(default_factory=list)
    as_of: str | None = None
    cached: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------ helpers

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


def _check_python(python: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d)\.(\d+)\s*", python)
    if not m:
        raise InputError(f"expected a Python version like 3.8 or 2.7, not {python!r}")
    return int(m.group(1)), int(m.group(2))


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def pins_from_text(text: str) -> list[str]:
    """``name==version`` lines of a compiled requirements text (comments dropped)."""
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "==" in line and not line.startswith("-"):
            pins.append(line.replace(" ", ""))
    return sorted(pins, key=str.lower)


_interp_cache: dict[str, Path | None] = {}
_interp_lock = threading.Lock()


def interpreter_path(python: str) -> Path | None:
    """The interpreter for "X.Y" (memoised per process), or ``None`` if none is installed."""
    with _interp_lock:
        if python in _interp_cache:
            return _interp_cache[python]
    try:
        from driftdoc.env.host.interpreters import find

        path: Path | None = find(python).path
    except InputError:
        path = None
    with _interp_lock:
        _interp_cache[python] = path
    return path


# ------------------------------------------------------------------------------ index view

@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    version: str | None
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool


def _version_from_filename(filename: str, project: str) -> str | None:
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 else None
    stem = re.sub(r"\.(tar\.gz|tar\.bz2|tgz|zip|tar\.xz|egg)$", "", filename)
    prefix_len = len(project)
    if canonicalize_name(stem[:prefix_len]) == canonicalize_name(project) and \
            stem[prefix_len:prefix_len + 1] == "-":
        return stem[prefix_len + 1:]
    return stem.rsplit("-", 1)[1] if "-" in stem else None


def index_files(index_url: str, project: str, *, ttl: float = INDEX_TTL) -> list[IndexFile]:
    """The files the index lists for ``project`` (PEP 691 JSON), cached on disk for ``ttl``."""
    name = canonicalize_name(project)
    url = f"{index_url.rstrip('/')}/{name}/"
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    path = cache.cache_root() / "resolve" / "index" / f"{key}.json"
    doc: dict[str, Any] | None = None
    try:
        if time.time() - path.stat().st_mtime < ttl:
            doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = None
    if doc is None:
        req = urllib.request.Request(url, headers={"Accept": _JSON_ACCEPT})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise
        if "json" not in ctype:
            return []  # an index without PEP 691: no upload times to reason with
        doc = json.loads(body)
        cache.write_json_atomic(path, doc)
    files = []
    for f in doc.get("files", []):
        uploaded = f.get("upload-time")
        when = None
        if uploaded:
            try:
                when = datetime.fromisoformat(uploaded.replace("Z", "+00:00"))
            except ValueError:
                when = None
        files.append(IndexFile(
            filename=f["filename"], url=urllib.parse.urljoin(url, f["url"]),
            version=_version_from_filename(f["filename"], name), upload_time=when,
            requires_python=f.get("requires-python"), yanked=bool(f.get("yanked")),
        ))
    return files


def _python_ok(spec: str | None, python: str) -> bool:
    if not spec:
        return True
    try:
        return SpecifierSet(spec).contains(python + ".99", prereleases=True) or \
            SpecifierSet(spec).contains(python + ".0", prereleases=True)
    except InvalidSpecifier:
        return True


def newest_compatible(index_url: str, req: Requirement, python: str,
                      as_of: datetime | None) -> tuple[Version, datetime | None] | None:
    """The newest non-yanked, non-pre-release version matching ``req`` for ``python`` and
    uploaded by ``as_of``, with its first upload time."""
    best: dict[Version, datetime | None] = {}
    for f in index_files(index_url, req.name):
        if f.yanked or f.version is None or not _python_ok(f.requires_python, python):
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


def late_cutoffs(index_url: str, reqs: Sequence[Requirement], python: str,
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
            if newest_compatible(index_url, req, python, cutoff) is not None:
                continue
            times = [f.upload_time for f in index_files(index_url, req.name)
                     if f.upload_time is not None and not f.yanked
                     and _python_ok(f.requires_python, python) and _admits(req, f.version)]
        except (OSError, ValueError):
            continue
        if times:
            late[canonicalize_name(req.name)] = min(times) + LATE_WINDOW
    return late


def _upload_time(index_url: str, name: str, version: str) -> datetime | None:
    times = [f.upload_time for f in index_files(index_url, name)
             if f.version is not None and f.upload_time is not None
             and _same_version(f.version, version)]
    return min(times) if times else None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def check_backtracking(index_url: str, reqs: Sequence[Requirement], pins: Sequence[str],
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
            newest = newest_compatible(index_url, req, python, as_of)
            if newest is None:
                continue
            top, top_time = newest
            resolved = Version(got)
            if resolved >= top:
                continue
            got_time = _upload_time(index_url, name, got)
        except (OSError, ValueError, InvalidVersion):
            continue
        age = (top_time - got_time).days if top_time and got_time else None
        if resolved.major != top.major or (age is not None and age > ANCIENT_DAYS):
            when = f" (uploaded {age} days earlier)" if age is not None else ""
            problem, requires_python = release_metadata(index_url, name, str(top))
            if problem is None and not _python_ok(requires_python, python):
                continue  # the index hides it, but the release itself excludes this Python
            why = (f"uv skipped {name}=={top}: {problem}" if problem
                   else "another requirement or invalid metadata pushed it back")
            warnings.append(f"backtracked: {name} resolved to {got}{when} although {top} is "
                            f"the newest compatible release; {why}")
            names.append(name)
    return warnings, names


def wheel_fits(filename: str, python: str, machine: str | None = None) -> bool:
    """Does the wheel ``filename`` install on CPython ``python`` ("X.Y") on Linux here?"""
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


def source_builds(index_url: str, pins: Sequence[str], python: str,
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
        built = pool.map(lambda nv: _builds_from_source(index_url, nv[0], nv[1], python), todo)
        return [canonicalize_name(name) for (name, _), b in zip(todo, built, strict=True) if b]


def _builds_from_source(index_url: str, name: str, version: str, python: str) -> bool:
    try:
        files = index_files(index_url, name)
    except (OSError, ValueError):
        return False
    wheels = [f.filename for f in files if f.filename.endswith(".whl")]
    if not any(platform_wheel(w) for w in wheels):
        return False  # a pure or source-only project builds quickly (or not at all)
    mine = [f.filename for f in files if f.version is not None
            and _same_version(f.version, version) and f.filename.endswith(".whl")]
    return not any(wheel_fits(w, python) for w in mine)


def metadata_problem(index_url: str, name: str, version: str) -> str | None:
    """Why the metadata of ``name==version`` is invalid (resolvers skip such releases
    silently), or ``None`` if it looks valid or cannot be checked."""
    return release_metadata(index_url, name, version)[0]


def release_metadata(index_url: str, name: str,
                     version: str) -> tuple[str | None, str | None]:
    """(problem with the metadata or ``None``, Requires-Python from the wheel's METADATA)."""
    files = [f for f in index_files(index_url, name)
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
    try:
        with urllib.request.urlopen(wheel.url + ".metadata", timeout=30) as resp:
            raw = resp.read()
    except (OSError, ValueError):
        return None, None
    try:
        meta = Metadata.from_email(raw, validate=True)
    except Exception as exc:  # InvalidMetadata or an ExceptionGroup of them
        subs = getattr(exc, "exceptions", None) or [exc]
        return "invalid metadata: " + "; ".join(str(e) for e in subs)[:300], None
    spec = meta.requires_python
    return None, str(spec) if spec is not None else None


# ------------------------------------------------------------------------------ uv path

def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the uv wheel ships the binary

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return "uv"


SPEEDUPS_OFF: dict[str, str] = {
    # cassandra-driver: Cython, libev and murmur3 extensions; minutes to compile each release
    "CASS_DRIVER_NO_EXTENSIONS": "1",
    "CASS_DRIVER_NO_CYTHON": "1",
}
"""Build switches that leave out a package's optional compiled speed-ups: the same API in
seconds instead of a compile that eats the time limit (and every release a bisection
probes is another compile)."""


def uv_env() -> dict[str, str]:
    """Environment for uv subprocesses: our cache dir, no downloads of Pythons, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(SPEEDUPS_OFF)
    env.update({"UV_CACHE_DIR": str(cache.cache_root() / "uv"), "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_PROGRESS": "1", "NO_COLOR": "1"})
    return env


def _resolve_uv(python: str, reqs: list[Requirement], as_of: datetime | None,
                index_url: str, system: SystemRoot | None = None,
                late: dict[str, datetime] | None = None) -> Resolution:
    argv = [_uv(), "pip", "compile", "-", "--no-config", "--no-header", "--no-annotate",
            "--python-version", python, "--python-platform", "linux", "--index-url", index_url]
    interp = interpreter_path(python)
    if interp is not None:
        argv += ["--python", str(interp)]
    if as_of is not None:
        argv += ["--exclude-newer", as_of.strftime("%Y-%m-%dT%H:%M:%SZ")]
        for name, when in sorted((late or {}).items()):
            argv += ["--exclude-newer-package", f"{name}={when.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    try:
        # an sdist's metadata may need its C library already (mysqlclient's mysql_config)
        text = "\n".join(str(r) for r in reqs) + "\n"
        env = build_env(system, uv_env())
        proc = run_bounded(argv, input=text, env=env)
        legacy = legacy_build_args(proc.stderr) if proc.returncode != 0 else []
        if legacy:
            first = proc.stderr
            proc = run_bounded([*argv, *legacy], input=text, env=env)
            if proc.returncode == 0:
                _remember_blamed(first, pins_from_text(proc.stdout))
    except subprocess.TimeoutExpired:
        return Resolution([], False, f"resolving took longer than {BUILD_TIMEOUT:g}s (building "
                          "an sdist for its metadata?)", python=python)
    except OSError as exc:
        return Resolution([], False, f"uv failed to run: {exc}", python=python)
    warnings = [line.strip() for line in proc.stderr.splitlines()
                if line.lower().startswith("warning:")
                and "requested python version" not in line.lower()]
    if proc.returncode != 0:
        return Resolution([], False, _tail(proc.stderr), warnings, python=python)
    result = Resolution(pins_from_text(proc.stdout), True, None, warnings, python=python)
    try:
        return _prefer_wheels(result, [*argv, *legacy], text, env, index_url, reqs)
    except subprocess.TimeoutExpired:
        return result


def _exact_pins(reqs: Sequence[Requirement]) -> list[str]:
    return [r.name for r in reqs
            if any(s.operator in ("==", "===") and "*" not in s.version for s in r.specifier)]


def _prefer_wheels(result: Resolution, argv: list[str], text: str, env: dict[str, str],
                   index_url: str, reqs: Sequence[Requirement]) -> Resolution:
    """Resolve again, keeping projects that would be compiled from source to releases
    with a wheel for this Python (``source_builds``); the first resolution stands if that
    is impossible."""
    binary: list[str] = []
    for _round in range(2):  # an older release may in turn need an older dependency
        more = [n for n in source_builds(index_url, result.pins, result.python,
                                         _exact_pins(reqs)) if n not in binary]
        if not more:
            break
        binary += more
        flags = [arg for name in binary for arg in ("--only-binary", name)]
        proc = run_bounded([*argv, *flags], input=text, env=env)
        if proc.returncode != 0:
            break
        result = replace(result, pins=pins_from_text(proc.stdout), binary_only=list(binary))
        result.warnings.append("kept to releases with a wheel for Python "
                               f"{result.python}: {', '.join(more)}")
    return result


def _remember_blamed(failure: str, pins: Sequence[str]) -> None:
    """The pin a failure blames built with old setuptools: remember it for later builds."""
    blamed = failing_requirement(failure, pins)
    if blamed is not None:
        remember_legacy_build(blamed)


# ------------------------------------------------------------------------------ 2.7 path

class _DateFilterProxy:
    """A loopback PEP 503 index showing only releases first published by ``cutoff`` (with
    all their files) and not excluded."""

    def __init__(self, upstream: str, cutoff: datetime,
                 late: dict[str, datetime] | None = None) -> None:
        self.upstream = upstream
        self.cutoff = cutoff
        self.late = late or {}
        self.excluded: set[tuple[str, str]] = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/simple"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(req.path).path
        if not path.startswith("/simple/") or path.rstrip("/") == "/simple":
            req.send_error(404)
            return
        project = canonicalize_name(path[len("/simple/"):].strip("/"))
        try:
            files = index_files(self.upstream, project)
        except (OSError, ValueError) as exc:
            req.send_error(502, str(exc)[:100])
            return
        if not files:
            req.send_error(404)
            return
        rows = []
        cutoff = self.late.get(project, self.cutoff)
        released = _first_uploads(files)
        for f in files:
            # a release of its time keeps the wheels built for it later (pandas 0.18.1's
            # 2.7 wheels came two months after it): without them it is a source build
            when = released.get(f.version, f.upload_time) if f.version else f.upload_time
            if when is not None and when > cutoff:
                continue
            if f.version is not None and (project, f.version) in self.excluded:
                continue
            attrs = ""
            if f.requires_python:
                attrs += ' data-requires-python="{}"'.format(
                    f.requires_python.replace("&", "&amp;").replace("<", "&lt;")
                    .replace(">", "&gt;").replace('"', "&quot;"))
            if f.yanked:
                attrs += ' data-yanked=""'
            rows.append(f'<a href="{f.url}"{attrs}>{f.filename}</a><br/>')
        body = ("<!DOCTYPE html><html><body>\n" + "\n".join(rows) + "\n</body></html>").encode()
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


def _first_uploads(files: Sequence[IndexFile]) -> dict[str, datetime]:
    """When each version was first published (its earliest file)."""
    first: dict[str, datetime] = {}
    for f in files:
        if f.version is not None and f.upload_time is not None:
            prev = first.get(f.version)
            if prev is None or f.upload_time < prev:
                first[f.version] = f.upload_time
    return first


_WRONG_PYTHON = re.compile(r"Package '([^']+)' requires a different Python")
_FETCHED = re.compile(r"(?:Downloading|Using cached|File was already downloaded)\s+"
                      r"(?:\S*/)?([A-Za-z0-9_.]+)-([0-9][^-\s]*?)(?:-py|\.tar|\.zip|\.whl|-cp)")


def _py27_cutoff(as_of: datetime | None) -> datetime:
    """What a 2.7 resolution may see: as of ``as_of``, and never after 2.7's end of life."""
    return min(as_of, PY27_CUTOFF) if as_of is not None else PY27_CUTOFF


def _resolve_py27(python: str, reqs: list[Requirement], as_of: datetime | None,
                  index_url: str, system: SystemRoot | None = None,
                  late: dict[str, datetime] | None = None) -> Resolution:
    from driftdoc.env.toolchain.build import (
        py27_pip_command,
        py27_pip_env,
        py27_pip_wheel,
        py27_wheelhouse,
    )

    cutoff = _py27_cutoff(as_of)
    interp = interpreter_path(python)
    if interp is None:
        return Resolution([], False, f"Python {python} is not installed here", python=python)
    try:
        pip = py27_pip_command(interp)
    except OSError as exc:
        return Resolution([], False, f"cannot prepare pip for Python 2.7: {exc}", python=python)
    proxy = _DateFilterProxy(index_url, cutoff, late)
    warnings: list[str] = []
    try:
        for _attempt in range(8):
            with tempfile.TemporaryDirectory(prefix="driftdoc-py27-") as tmp:
                env = py27_pip_env(system)
                argv = [*py27_pip_wheel(pip, env), "--use-feature=2020-resolver",
                        "--index-url", proxy.url, "--trusted-host", "127.0.0.1", "-w", tmp,
                        *(str(r) for r in reqs)]
                # No --find-links to the wheelhouse: it may hold wheels newer than the cut-off
                # (exact pins built on request); pip's own cache keeps downloads cheap.
                proc = run_bounded(argv, env=env)
                output = proc.stdout + "\n" + proc.stderr
                if proc.returncode == 0:
                    pins = []
                    for whl in sorted(Path(tmp).glob("*.whl")):
                        parts = whl.name.split("-")
                        pins.append(f"{canonicalize_name(parts[0])}=={parts[1]}")
                        target = py27_wheelhouse(system) / whl.name
                        if not target.exists():
                            shutil.copyfile(whl, target)
                    return Resolution(sorted(pins), True, None, warnings, python=python)
                m = _WRONG_PYTHON.search(output)
                fetched = [(canonicalize_name(n), v) for n, v in _FETCHED.findall(output)]
                if m:
                    name = canonicalize_name(m.group(1))
                    fetched = [f for f in fetched if f[0] == name]
                    why = f"it does not support Python {python} but its index entry does not say so"
                elif "RequirementParseError" in output or "InvalidRequirement" in output:
                    why = "its metadata is invalid"
                else:
                    return Resolution([], False, _tail(output), warnings, python=python)
                if not fetched or fetched[-1] in proxy.excluded:
                    return Resolution([], False, _tail(output), warnings, python=python)
                proxy.excluded.add(fetched[-1])
                warnings.append(f"skipped {fetched[-1][0]}=={fetched[-1][1]}: {why}")
        return Resolution([], False, "too many Python-incompatible releases skipped", warnings,
                          python=python)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Resolution([], False, f"pip failed to run: {exc}", warnings, python=python)
    finally:
        proxy.close()


# ------------------------------------------------------------------------------ entry point

def _cache_key(python: str, reqs: list[Requirement], as_of: datetime | None,
               index_url: str) -> str:
    doc = {"f": CACHE_FORMAT, "python": python, "reqs": sorted(str(r) for r in reqs),
           "as_of": as_of.isoformat() if as_of else None, "index": index_url}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def resolve(python: str, requirements: Sequence[str], *, as_of: date | datetime | None = None,
            index_url: str | None = None, use_cache: bool = True,
            check_backtrack: bool = True, reporter: Reporter = null_reporter,
            system: SystemRoot | None = None) -> Resolution:
    """Pin ``requirements`` for Python ``python`` ("X.Y"); see the module docstring."""
    start = time.perf_counter()
    major, minor = _check_python(python)
    python = f"{major}.{minor}"
    reqs = _parse_requirements(requirements)
    when = _as_datetime(as_of)
    index = (index_url or DEFAULT_INDEX).rstrip("/")
    key = _cache_key(python, reqs, when, index)
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
    late: dict[str, datetime] = {}
    if not reqs:
        result = Resolution([], True, None, python=python)
    elif (major, minor) < (3, 6):
        if (major, minor) != (2, 7):
            raise InputError(f"Python {python} is not supported (use 2.7 or 3.6+)")
        late = late_cutoffs(index, reqs, python, _py27_cutoff(when))
        result = _resolve_py27(python, reqs, when, index, system, late)
    else:
        late = late_cutoffs(index, reqs, python, when)
        result = _resolve_uv(python, reqs, when, index, system, late)
    if late:
        result.warnings.append("first published after the cut-off, so taken from its first "
                               "releases: " + ", ".join(sorted(late)))
    result.python = python
    result.as_of = when.isoformat() if when else None
    if result.ok and check_backtrack:
        cutoff = when if major == 3 else _py27_cutoff(when)
        forced = set(result.binary_only)  # older on purpose: their newest has no wheel
        more, names = check_backtracking(
            index, [r for r in reqs if canonicalize_name(r.name) not in forced],
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
