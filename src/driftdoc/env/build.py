"""Build (or reuse) an environment for an interpreter and a pinned set, from a warm cache.

``ensure_env(python, pins, *, index_url=None) -> BuiltEnv``

- Content address: sha256 of (interpreter full version, hash of its real path, sorted
  normalised pins, index URL). The env lives at ``<cache>/envs/<key>``; it is complete iff its
  marker file exists (written atomically, last). Builds take a per-key file lock (threads and
  processes); different keys build in parallel. A reused env costs one ``stat``.
- Python >= 3.6: ``uv venv`` + ``uv pip install`` with driftdoc's own uv cache and
  ``--link-mode hardlink`` (envs share file data with the cache: bounded disk use). The
  install is tried ``--offline`` first (no index round-trips when the cache is warm).
- Python 2.7: uv cannot, and virtualenv >= 20.22 cannot create 2.7 envs, so a tool venv with
  ``virtualenv<20.22`` is made once (``<cache>/py27/tool``; its embedded pip 20.3.4 wheel also
  runs the 2.7 resolver). Envs are created with setuptools only, then pip (run from its wheel by
  the env's interpreter) installs from the local wheelhouse ``<cache>/py27/wheels`` with
  ``--no-index``; missing wheels are fetched/built into the wheelhouse first.
- Install failures are captured as ``InstallError`` (which requirement, output tail), never
  raised. Bad input (unknown Python version) raises ``InputError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env import cache
from driftdoc.env.records import InstallError
from driftdoc.env.resolve import DEFAULT_INDEX, _check_python, _uv, interpreter_path, uv_env
from driftdoc.errors import InputError

PY27_VIRTUALENV = "virtualenv<20.22"
PY27_PIP_WHEEL = "pip-20.3.4-py2.py3-none-any.whl"
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


def env_key(exe: Path, pins: Sequence[str], index_url: str) -> str:
    full, path_hash = _interp_identity(exe)
    doc = {"f": BUILD_FORMAT, "python": full, "exe": path_hash,
           "pins": normalize_pins(pins), "index": index_url.rstrip("/")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def _failing_requirement(text: str, pins: Sequence[str]) -> str | None:
    """The pin whose name the installer's error output mentions first (best effort)."""
    names = {canonicalize_name(p.split("==")[0].split("<")[0].split(">")[0]): p for p in pins}
    lines = text.splitlines()
    # Error sections start at "error:"/"ERROR:"/"×"; search from there.
    start = next((i for i, ln in enumerate(lines)
                  if re.match(r"^\s*(error|ERROR|×|Because)", ln)), 0)
    for line in lines[start:]:
        for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", line):
            pin = names.get(canonicalize_name(token))
            if pin is not None:
                return pin
    return None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------------------ uv (3.x)

def _build_uv(dest: Path, interp: Path, pins: list[str], index_url: str) -> list[InstallError]:
    env = uv_env()
    uv = _uv()
    proc = subprocess.run([uv, "venv", "--no-config", "--quiet", "--python", str(interp),
                           "--link-mode", "hardlink", str(dest)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    if proc.returncode != 0:
        return [InstallError(None, "creating the environment failed:\n" + _tail(proc.stderr))]
    if not pins:
        return []
    base = [uv, "pip", "install", "--no-config", "--python", str(dest / "bin" / "python"),
            "--link-mode", "hardlink", "--index-url", index_url, "--no-progress", *pins]
    proc = subprocess.run([*base, "--offline"], capture_output=True, text=True, env=env,
                          timeout=1800, check=False)
    if proc.returncode != 0:
        proc = subprocess.run(base, capture_output=True, text=True, env=env, timeout=1800,
                              check=False)
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        return [InstallError(_failing_requirement(text, pins), _tail(text))]
    return []


# ------------------------------------------------------------------------------ 2.7

def py27_dir() -> Path:
    return cache.cache_root() / "py27"


def py27_wheelhouse() -> Path:
    path = py27_dir() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def py27_tool(index_url: str | None = None) -> Path:
    """The tool venv holding ``virtualenv<20.22`` (made once); returns its python.

    The tools come from ``index_url``, else ``$DRIFTDOC_TOOLS_INDEX_URL``, else PyPI: not from
    the index the snippet's packages come from (a private or test index rarely mirrors them).
    """
    tool = py27_dir() / "tool"
    python = tool / "bin" / "python"
    done = tool / ".driftdoc-ready"
    if done.exists():
        return python
    with cache.locked("py27-tool"):
        if done.exists():
            return python
        cache.remove_tree(tool)
        env = uv_env()
        for argv in (
            [_uv(), "venv", "--no-config", "--quiet", "--python", sys.executable, str(tool)],
            [_uv(), "pip", "install", "--no-config", "--quiet", "--python", str(python),
             "--index-url",
             index_url or os.environ.get("DRIFTDOC_TOOLS_INDEX_URL") or DEFAULT_INDEX,
             PY27_VIRTUALENV],
        ):
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600,
                                  check=False)
            if proc.returncode != 0:
                raise OSError(f"preparing the Python 2.7 tools failed: {_tail(proc.stderr, 5)}")
        done.write_text("ok\n")
    return python


def _embed_dir(tool_python: Path) -> Path:
    found = sorted(tool_python.parent.parent.glob(
        "lib/python*/site-packages/virtualenv/seed/wheels/embed"))
    if not found:
        raise OSError("virtualenv's embedded wheels are missing from the 2.7 tool venv")
    return found[0]


def py27_pip_command(interp: Path) -> list[str]:
    """argv prefix running pip 20.3.4 (from its wheel) with the 2.7 interpreter ``interp``."""
    wheel = _embed_dir(py27_tool()) / PY27_PIP_WHEEL
    if not wheel.exists():
        raise OSError(f"{PY27_PIP_WHEEL} not found in virtualenv's embedded wheels")
    return [str(interp), str(wheel / "pip")]


def _py27_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "VIRTUALENV_"))}
    env["PIP_CACHE_DIR"] = str(py27_dir() / "pip-cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["VIRTUALENV_OVERRIDE_APP_DATA"] = str(py27_dir() / "app-data")
    return env


def _build_py27(dest: Path, interp: Path, pins: list[str], index_url: str) -> list[InstallError]:
    try:
        tool = py27_tool()
        pip = py27_pip_command(interp)
    except OSError as exc:
        return [InstallError(None, str(exc))]
    env = _py27_env()
    proc = subprocess.run(
        [str(tool), "-m", "virtualenv", "--quiet", "--no-periodic-update", "--no-download",
         "--no-pip", "--no-wheel", "--activators", "", "-p", str(interp), str(dest)],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    if proc.returncode != 0:
        return [InstallError(None, "creating the environment failed:\n"
                             + _tail(proc.stderr + proc.stdout))]
    if not pins:
        return []
    house = py27_wheelhouse()
    common = ["--isolated", "--disable-pip-version-check", "--no-python-version-warning"]
    py = str(dest / "bin" / "python")
    install = [py, pip[1], "install", *common, "--no-index", "--find-links", str(house),
               "--no-compile", *pins]
    proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1800,
                          check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        # Fetch or build the missing wheels into the wheelhouse, then install offline again.
        fetch = subprocess.run(
            [*pip, "wheel", *common, "--index-url", index_url, "--find-links", str(house),
             "-w", str(house), *pins],
            capture_output=True, text=True, env=env, timeout=1800, check=False,
            stdin=subprocess.DEVNULL)
        if fetch.returncode != 0:
            text = fetch.stdout + fetch.stderr
            return [InstallError(_failing_requirement(text, pins), _tail(text))]
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1800,
                              check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        text = proc.stdout + proc.stderr
        return [InstallError(_failing_requirement(text, pins), _tail(text))]
    return []


# ------------------------------------------------------------------------------ entry point

def ensure_env(python: str, pins: Sequence[str], *, index_url: str | None = None,
               rebuild: bool = False) -> BuiltEnv:
    """Return a complete env for (``python``, ``pins``), building it only if needed."""
    start = time.perf_counter()
    major, minor = _check_python(python)
    python = f"{major}.{minor}"
    if (major, minor) < (3, 6) and (major, minor) != (2, 7):
        raise InputError(f"Python {python} is not supported (use 2.7 or 3.6+)")
    interp = interpreter_path(python)
    if interp is None:
        raise InputError(f"Python {python} is not installed here")
    norm = normalize_pins(pins)
    index = (index_url or DEFAULT_INDEX).rstrip("/")
    key = env_key(interp, norm, index)
    dest = cache.envs_dir() / key
    exe = dest / "bin" / "python"

    def done(ok: bool, errors: list[InstallError], reused: bool) -> BuiltEnv:
        return BuiltEnv(dest, exe, ok, errors, time.perf_counter() - start, reused, python,
                        norm, key)

    if not rebuild and cache.read_marker(dest) is not None:
        cache.touch(dest)
        return done(True, [], True)
    with cache.locked(f"env-{key}"):
        if not rebuild and cache.read_marker(dest) is not None:  # built while we waited
            cache.touch(dest)
            return done(True, [], True)
        cache.remove_tree(dest)  # leftovers of a crashed build
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            if major == 2:
                errors = _build_py27(dest, interp, norm, index)
            else:
                errors = _build_uv(dest, interp, norm, index)
        except (OSError, subprocess.SubprocessError) as exc:
            errors = [InstallError(None, f"build failed: {exc}")]
        if errors:
            cache.remove_tree(dest)
            return done(False, errors, False)
        cache.write_json_atomic(dest / cache.MARKER, {
            "python": python, "interpreter": str(interp), "pins": norm, "index": index,
            "created": time.time(), "seconds": round(time.perf_counter() - start, 3),
        })
    return done(True, [], False)
