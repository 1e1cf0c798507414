"""Build (or reuse) an environment for an interpreter and a pinned set, from a warm cache.

``ensure_env(python, pins, *, index_url=None, reporter=null_reporter)
-> BuiltEnv(path, python_exe, ok, install_errors, seconds, reused, python, pins, key)``

- Content address: sha256 of (interpreter full version, hash of its real path, sorted
  normalised pins, index URL). The env lives at ``<cache>/envs/<key>``; it is complete iff its
  marker file exists (written atomically, last). Builds take a per-key file lock (threads and
  processes); different keys build in parallel. A reused env costs one ``stat``.
- Python >= 3.6: ``uv venv`` + ``uv pip install`` with driftdoc's own uv cache and
  ``--link-mode hardlink`` (envs share file data with the cache: bounded disk use). The
  install is tried ``--offline`` first (no index round-trips when the cache is warm).
  Bytecode is linked in from a store keyed by source inode (:func:`link_bytecode`): runs are
  read-only and never write it, and compiling imports on every run costs more than the build.
- Python 2.7: uv cannot, and virtualenv >= 20.22 cannot create 2.7 envs, so a tool venv with
  ``virtualenv<20.22`` is made once (``<cache>/py27/tool``; its embedded pip 20.3.4 wheel also
  runs the 2.7 resolver). It creates one *seed* env per interpreter (setuptools only); each env
  is a hardlinked copy of the seed (virtualenv's 2.7 envs are relocatable) into which the
  pinned wheels from the wheelhouse ``<cache>/py27/wheels`` are installed by hardlinking
  their files from a store of extracted wheels (``<cache>/py27/unpacked``), like uv does.
  Missing wheels are fetched (or built from sdists) with ``pip wheel`` first. Pins must be
  exact and complete (what ``resolve`` returns).
- Install failures are captured as ``InstallError`` (which requirement, output tail), never
  raised. Bad input (unknown Python version) raises ``InputError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env.host import cache
from driftdoc.env.host.interpreters import check_python, interpreter_path
from driftdoc.env.knowledge.index import default_index
from driftdoc.env.toolchain.installer import InstallError
from driftdoc.env.toolchain.installers import installer_for
from driftdoc.env.toolchain.legacy import legacy_constraints
from driftdoc.env.toolchain.syspkgs import SystemRoot
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter

BUILD_FORMAT = 1


@dataclass
class BuiltEnv:
    """A usable (``ok``) or failed environment; ``reused`` when no build was needed."""

    path: Path
    python_exe: Path
    ok: bool
    install_errors: list[InstallError] = field(default_factory=list)
    seconds: float = 0.0
    reused: bool = False
    python: str = ""
    pins: list[str] = field(default_factory=list)
    key: str = ""
    system_root: SystemRoot | None = None  # Debian packages the build and the run use
    build_constraints: list[str] = field(default_factory=list)  # setuptools<58: old setup.py

    @property
    def site_packages(self) -> Path | None:
        libs = sorted(self.path.glob("lib/python*/site-packages"))
        return libs[0] if libs else None


def normalize_pins(pins: Sequence[str]) -> list[str]:
    out = []
    for pin in pins:
        pin = pin.split("#", 1)[0].strip()
        if not pin:
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$", pin)
        if not m:
            raise InputError(f"bad pin {pin!r}")
        out.append(canonicalize_name(m.group(1)) + m.group(2).replace(" ", ""))
    return sorted(set(out))


_key_cache: dict[tuple[str, str], tuple[str, str]] = {}


_key_lock = threading.Lock()


def _interp_identity(exe: Path) -> tuple[str, str]:
    """(full version, path hash) of an interpreter; memoised (one process per path)."""
    real = str(exe.resolve())
    st = os.stat(real)
    k = (real, f"{st.st_mtime_ns}:{st.st_size}")
    with _key_lock:
        if k in _key_cache:
            return _key_cache[k]
    out = subprocess.run([real, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         capture_output=True, text=True, timeout=60, check=True)
    ident = (out.stdout.strip(), hashlib.sha256(real.encode()).hexdigest()[:12])
    with _key_lock:
        _key_cache[k] = ident
    return ident


def env_key(exe: Path, pins: Sequence[str], index_url: str,
            system: Sequence[str] = (), without: Sequence[str] = ()) -> str:
    full, path_hash = _interp_identity(exe)
    doc: dict[str, object] = {"f": BUILD_FORMAT, "python": full, "exe": path_hash,
                              "pins": normalize_pins(pins), "index": index_url.rstrip("/")}
    if system:  # compiled against these libraries: not the same env as without them
        doc["system"] = sorted(system)
    if without:  # installed with every requirement on these removed
        doc["without"] = sorted(canonicalize_name(n) for n in without)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def _locate(python: str, pins: Sequence[str], index_url: str | None,
            system: SystemRoot | None,
            without: Sequence[str] = ()) -> tuple[str, Path, list[str], str, str]:
    """(X.Y, interpreter, normalised pins, index, env key) of an environment."""
    major, minor = check_python(python)
    python = f"{major}.{minor}"
    interp = interpreter_path(python)
    if interp is None:
        raise InputError(f"Python {python} is not installed here")
    norm = normalize_pins(pins)
    index = (index_url or default_index()).rstrip("/")
    return python, interp, norm, index, env_key(
        interp, norm, index, system.packages if system is not None else (), without)


def store_leases(python: str, pins: Sequence[str]) -> tuple[str, list[str]]:
    """The shared store an env of ``pins`` links its files from (``uv`` by project, the 2.7
    wheel store by release) and the names of what it uses there."""
    exact = [p for p in pins if "==" in p]
    if python.startswith("2."):
        return "py27", exact
    return "uv", sorted({p.split("==", 1)[0] for p in exact})


@contextlib.contextmanager
def using_env(python: str, pins: Sequence[str], *, index_url: str | None = None,
              reporter: Reporter = null_reporter, system: SystemRoot | None = None,
              without: Sequence[str] = ()) -> Iterator[BuiltEnv]:
    """:func:`ensure_env` for a run: the env and the store entries it is built from are
    leased while the block runs, so the cache bound never removes them from under it."""
    python, _interp, norm, _index, key = _locate(python, pins, index_url, system, without)
    store, names = store_leases(python, norm)
    with cache.leased([f"env-{key}", *(f"{store}-{n}" for n in names)]):
        cache.note_use(store, names)
        yield ensure_env(python, norm, index_url=index_url, reporter=reporter, system=system,
                         without=without)


def ensure_env(python: str, pins: Sequence[str], *, index_url: str | None = None,
               rebuild: bool = False, reporter: Reporter = null_reporter,
               system: SystemRoot | None = None, without: Sequence[str] = ()) -> BuiltEnv:
    """Return a complete env for (``python``, ``pins``), building it only if needed.

    With ``system``, builds see that prefix's headers and libraries (and runs its loader
    path); such an env is keyed apart from one built without them. ``without`` names
    distributions left out although a pin requires them (GPU-only ones, see
    :mod:`~driftdoc.env.toolchain.gpu_only`); the env is keyed apart too.
    """
    start = time.perf_counter()
    python, interp, norm, index, key = _locate(python, pins, index_url, system, without)
    installer = installer_for(*check_python(python))
    dest = cache.envs_dir() / key
    exe = dest / "bin" / "python"

    def done(ok: bool, errors: list[InstallError], reused: bool,
             constraints: Sequence[str] = ()) -> BuiltEnv:
        # also a pin that needed them before, though its wheel now comes from the cache
        needed = sorted({*constraints, *legacy_constraints(norm)}) if ok else []
        return BuiltEnv(dest, exe, ok, errors, time.perf_counter() - start, reused, python,
                        norm, key, system, needed)

    def reuse() -> BuiltEnv | None:
        marker = None if rebuild else cache.read_marker(dest)
        if marker is None:
            return None
        cache.touch(dest)
        return done(True, [], True, [str(c) for c in marker.get("build_constraints") or []])

    if (built := reuse()) is not None:
        return built
    with cache.locked(f"env-{key}"):
        if (built := reuse()) is not None:  # built while we waited
            return built
        reporter(Note(f"building a Python {python} environment with {len(norm)} package(s)",
                      data={"key": key}))
        cache.remove_tree(dest)  # leftovers of a crashed build
        dest.parent.mkdir(parents=True, exist_ok=True)
        constraints: list[str] = []
        try:
            errors = installer.build(dest, interp, norm, index, system, constraints, without)
        except (OSError, subprocess.SubprocessError) as exc:
            errors = [InstallError(None, f"build failed: {exc}")]
        if errors:
            cache.remove_tree(dest)
            return done(False, errors, False)
        cache.write_json_atomic(dest / cache.MARKER, {
            "python": python, "interpreter": str(interp), "pins": norm, "index": index,
            "created": time.time(), "seconds": round(time.perf_counter() - start, 3),
            "system": list(system.packages) if system is not None else [],
            "build_constraints": constraints, "without": sorted(without),
            "bytes": cache.exclusive_bytes(dest),  # the rest is the stores' (the bound)
        })
    return done(True, [], False, constraints)
