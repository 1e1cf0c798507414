"""Discover the Python interpreters installed here (pyenv, PATH, uv-managed).

Nothing is hard-coded: roots come from ``$PYENV_ROOT`` / ``pyenv root`` / ``~/.pyenv``,
``$PATH`` and ``uv python dir``. Each candidate executable is asked for its version once;
answers are cached on disk keyed by (real path, mtime, size) so a warm call costs no process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from driftdoc.env.host.cache import cache_root
from driftdoc.errors import InputError

_PROBE = (
    "import sys, platform; "
    "sys.stdout.write('%d.%d.%d %s' % (sys.version_info[0], sys.version_info[1], "
    "sys.version_info[2], platform.python_implementation()))"
)
_NAME_RE = re.compile(r"^python(\d(\.\d+)?)?$")
_VERSION_RE = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True, order=True)
class Interpreter:
    """One usable interpreter: ``version`` is "X.Y", ``full_version`` "X.Y.Z"."""

    version: str
    full_version: str
    path: Path
    implementation: str = "CPython"
    source: str = "path"

    @property
    def version_tuple(self) -> tuple[int, int]:
        major, minor = self.version.split(".")
        return int(major), int(minor)

    def to_json(self) -> dict[str, str]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _pyenv_roots() -> Iterator[tuple[Path, str]]:
    seen: set[Path] = set()
    roots: list[Path] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    roots.append(Path.home() / ".pyenv")
    exe = shutil.which("pyenv")
    if exe and not roots[0].is_dir():
        try:
            out = subprocess.run([exe, "root"], capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                roots.insert(0, Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    for root in roots:
        versions = root / "versions"
        if versions.is_dir() and versions.resolve() not in seen:
            seen.add(versions.resolve())
            for d in sorted(versions.iterdir()):
                yield d / "bin", "pyenv"


def _uv_roots() -> Iterator[tuple[Path, str]]:
    candidates: list[Path] = []
    if os.environ.get("UV_PYTHON_INSTALL_DIR"):
        candidates.append(Path(os.environ["UV_PYTHON_INSTALL_DIR"]))
    data = os.environ.get("XDG_DATA_HOME")
    candidates.append((Path(data) if data else Path.home() / ".local" / "share") / "uv" / "python")
    uv = shutil.which("uv")
    if uv and not any(c.is_dir() for c in candidates):
        try:  # a non-default layout: ask uv itself (only then: it costs a process)
            out = subprocess.run([uv, "python", "dir"], capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    for root in candidates:
        if root.is_dir():
            for d in sorted(root.iterdir()):
                if d.is_dir() and not d.name.startswith("."):
                    yield d / "bin", "uv"


def _path_dirs() -> Iterator[tuple[Path, str]]:
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and "shims" not in Path(entry).parts:  # pyenv shims fail for non-global versions
            yield Path(entry), "path"


def _executables(dirs: Iterable[tuple[Path, str]]) -> Iterator[tuple[Path, str]]:
    for d, source in dirs:
        try:
            names = sorted(p.name for p in d.iterdir())
        except OSError:
            continue
        for name in names:
            if _NAME_RE.match(name):
                p = d / name
                if os.access(p, os.X_OK) and p.is_file():
                    yield p, source


class _ProbeCache:
    """(real path, mtime, size) -> "X.Y.Z Impl"; one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, str] = {}
        self.dirty = False
        try:
            self.data = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=0, sort_keys=True))
            tmp.replace(self.path)
        except OSError:
            pass


def _key(real: Path) -> str:
    st = real.stat()
    return f"{real}|{st.st_mtime_ns}|{st.st_size}"


def _probe(exe: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(exe), "-c", _PROBE], capture_output=True, text=True, timeout=10,
            env={**os.environ, "PYTHONNOUSERSITE": "1"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and re.match(r"^\d+\.\d+\.\d+ \w+$", text) else None


def discover(*, use_cache: bool = True) -> list[Interpreter]:
    """Every working interpreter, one per (version, implementation), newest patch first.

    pyenv versions win over uv-managed ones, which win over PATH entries.
    """
    found: list[tuple[Path, Path, str]] = []
    seen_real: set[Path] = set()
    for exe, source in _executables([*_pyenv_roots(), *_uv_roots(), *_path_dirs()]):
        try:
            real = exe.resolve()
        except OSError:
            continue
        if real in seen_real:
            continue
        seen_real.add(real)
        found.append((exe, real, source))

    cache = _ProbeCache(cache_root() / "interpreters.json")
    answers: dict[Path, str | None] = {}
    todo: list[tuple[Path, Path, str]] = []
    for exe, real, source in found:
        key = _key(real)
        if use_cache and key in cache.data:
            answers[real] = cache.data[key] or None
        else:
            todo.append((exe, real, source))
    if todo:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for (_exe, real, _), ans in zip(todo, pool.map(lambda t: _probe(t[0]), todo),
                                           strict=True):
                answers[real] = ans
                cache.data[_key(real)] = ans or ""
                cache.dirty = True
        cache.save()

    best: dict[tuple[str, str], Interpreter] = {}
    rank = {"pyenv": 0, "uv": 1, "path": 2}
    for exe, real, source in found:
        ans = answers.get(real)
        if not ans:
            continue
        full, impl = ans.split(" ", 1)
        version = ".".join(full.split(".")[:2])
        interp = Interpreter(version, full, exe, impl, source)
        k = (version, impl)
        cur = best.get(k)
        if cur is None or (rank[source], _neg(full)) < (rank[cur.source], _neg(cur.full_version)):
            best[k] = interp
    return sorted(best.values(), key=lambda i: (i.version_tuple, i.implementation))


def _neg(full: str) -> tuple[int, ...]:
    return tuple(-int(x) for x in full.split("."))


def find(version: str, interpreters: list[Interpreter] | None = None) -> Interpreter:
    """The interpreter for "X.Y" (CPython preferred); ``InputError`` if none is installed."""
    if not _VERSION_RE.match(version.strip()):
        raise InputError(f"--python expects a version like 3.8 or 2.7, not {version!r}")
    version = version.strip()
    pool = discover() if interpreters is None else interpreters
    matches = [i for i in pool if i.version == version]
    if not matches:
        have = ", ".join(sorted({i.version for i in pool}, key=_vkey)) or "none"
        raise InputError(f"Python {version} is not available here (found: {have})")
    matches.sort(key=lambda i: i.implementation != "CPython")
    return matches[0]


def _vkey(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def check_python(python: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d)\.(\d+)\s*", python)
    if not m:
        raise InputError(f"expected a Python version like 3.8 or 2.7, not {python!r}")
    return int(m.group(1)), int(m.group(2))


_interp_cache: dict[str, Path | None] = {}


_interp_lock = threading.Lock()


def interpreter_path(python: str) -> Path | None:
    """The interpreter for "X.Y" (memoised per process), or ``None`` if none is installed."""
    with _interp_lock:
        if python in _interp_cache:
            return _interp_cache[python]
    try:
        path: Path | None = find(python).path
    except InputError:
        path = None
    with _interp_lock:
        _interp_cache[python] = path
    return path
