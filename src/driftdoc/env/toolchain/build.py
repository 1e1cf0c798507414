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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env.host import cache
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import BUILD_TIMEOUT, run_bounded
from driftdoc.env.toolchain.legacy import (
    LEGACY_SETUPTOOLS,
    legacy_build_args,
    legacy_constraints,
    remember_legacy_build,
)
from driftdoc.env.toolchain.resolve import (
    DEFAULT_INDEX,
    SPEEDUPS_OFF,
    _check_python,
    _uv,
    interpreter_path,
    uv_env,
)
from driftdoc.env.toolchain.syspkgs import SystemRoot, build_env, system_cache_dir
from driftdoc.env.validation.records import InstallError
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter

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
            system: Sequence[str] = ()) -> str:
    full, path_hash = _interp_identity(exe)
    doc: dict[str, object] = {"f": BUILD_FORMAT, "python": full, "exe": path_hash,
                              "pins": normalize_pins(pins), "index": index_url.rstrip("/")}
    if system:  # compiled against these libraries: not the same env as without them
        doc["system"] = sorted(system)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------------------ uv (3.x)

def _build_uv(dest: Path, interp: Path, pins: list[str], index_url: str,
              system: SystemRoot | None = None,
              constraints: list[str] | None = None) -> list[InstallError]:
    """Build with uv; the build constraints it needed are appended to ``constraints``."""
    env = build_env(system, uv_env())
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
    try:
        proc = run_bounded([*base, "--offline"], env=env)
        if proc.returncode != 0:
            proc = run_bounded(base, env=env)
        legacy = legacy_build_args(proc.stderr) if proc.returncode != 0 else []
        if legacy:  # an old setup.py that today's setuptools refuses
            first = proc.stderr + proc.stdout
            proc = run_bounded([*base, *legacy], env=env)
            if proc.returncode == 0:
                blamed = failing_requirement(first, pins)
                if blamed is not None:
                    remember_legacy_build(blamed)
                if constraints is not None:
                    constraints.append(LEGACY_SETUPTOOLS)
    except subprocess.TimeoutExpired:
        return [InstallError(None, f"installing took longer than {BUILD_TIMEOUT:g}s (a source "
                                   "build?); set DRIFTDOC_BUILD_TIMEOUT to allow more")]
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        return [InstallError(failing_requirement(text, pins), _tail(text))]
    link_bytecode(dest)
    return []


_COMPILE = (
    "import json, py_compile, sys\n"
    "for src, cfile in json.load(sys.stdin):\n"
    "    try:\n"
    "        py_compile.compile(src, cfile=cfile, dfile=src, doraise=True)\n"
    "    except Exception:\n"
    "        pass\n"
    "print(sys.implementation.cache_tag)\n"
)


def link_bytecode(env: Path) -> None:
    """Give ``env`` bytecode for its ``.py`` files, compiling each shared source file once.

    Runs are read-only and never write bytecode, so without it every import compiles.
    Sources hardlinked from uv's cache are the same inode in every env, so their ``.pyc``
    (valid as long as the source's mtime and size match) is kept in ``<cache>/pyc`` keyed by
    that inode and hardlinked into each new env: a warm rebuild compiles nothing.
    """
    python = env / "bin" / "python"
    tag = _cache_tag(python)
    if tag is None:
        return
    store = cache.cache_root() / "pyc" / tag
    store.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[str, str, Path | None]] = []
    for site in env.glob("lib/python*/site-packages"):
        for dirpath, dirnames, filenames in os.walk(site):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                if not name.endswith(".py"):
                    continue
                src = os.path.join(dirpath, name)
                target = os.path.join(dirpath, "__pycache__", f"{name[:-3]}.{tag}.pyc")
                try:
                    st = os.stat(src)
                except OSError:
                    continue
                shared: Path | None = None
                if st.st_nlink > 1:
                    shared = store / (f"{st.st_dev:x}-{st.st_ino:x}-{st.st_mtime_ns:x}-"
                                      f"{st.st_size:x}.pyc")
                    try:
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        os.link(shared, target)
                        continue
                    except FileExistsError:
                        continue
                    except OSError:
                        pass
                todo.append((src, target, shared))
    if not todo:
        return
    env_vars = {k: v for k, v in os.environ.items()
                if k not in ("SOURCE_DATE_EPOCH",) and not k.startswith("PYTHON")}
    subprocess.run([str(python), "-c", _COMPILE], input=json.dumps([t[:2] for t in todo]),
                   capture_output=True, text=True, env=env_vars, timeout=1800, check=False)
    for _src, target, shared in todo:
        if shared is not None and os.path.exists(target):
            with contextlib.suppress(OSError):
                os.link(target, shared)


_tags: dict[str, str | None] = {}


def _cache_tag(python: Path) -> str | None:
    real = str(python.resolve())
    with _key_lock:
        if real in _tags:
            return _tags[real]
    try:
        out = subprocess.run([str(python), "-c",
                              "import sys; print(sys.implementation.cache_tag or '')"],
                             capture_output=True, text=True, timeout=60, check=False)
        tag: str | None = out.stdout.strip() or None
    except OSError:
        tag = None
    with _key_lock:
        _tags[real] = tag
    return tag


# ------------------------------------------------------------------------------ 2.7

def py27_dir() -> Path:
    return cache.cache_root() / "py27"


def py27_wheelhouse(system: SystemRoot | None = None) -> Path:
    """Where built 2.7 wheels are kept; those built against a system prefix apart (a build
    without the prefix must not pick them up, see ``syspkgs.build_env``)."""
    path = py27_dir() / "wheels"
    if system is not None:
        path = system_cache_dir(path, system)
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
    """argv prefix running pip 20.3.4 in a 2.7 tools env (pip, setuptools *and* wheel).

    ``pip wheel`` builds sdist-only releases with ``setup.py bdist_wheel``, which needs the
    ``wheel`` package in the building interpreter; the bare interpreter does not have it.
    """
    wheel = _embed_dir(py27_tool()) / PY27_PIP_WHEEL
    if not wheel.exists():
        raise OSError(f"{PY27_PIP_WHEEL} not found in virtualenv's embedded wheels")
    tools = _py27_seed(py27_tool(), interp, tools=True)
    boot = py27_dir() / "memo-pip.py"
    if not boot.exists() or boot.read_text() != _MEMO_PIP:
        tmp = boot.with_name(f"{boot.name}.{os.getpid()}.tmp")
        tmp.write_text(_MEMO_PIP)
        os.replace(tmp, boot)
    return [str(tools / "bin" / "python"), str(boot)]


# pip 20.3 memoises its index lookups with functools.lru_cache, which Python 2 lacks, so it
# falls back to a no-op there: the 2020 resolver then re-fetches and re-parses every project
# page on every preference check (a TensorFlow resolution: 143 s of CPU instead of 11 s).
_MEMO_PIP = """\
import functools, runpy, sys


def lru_cache(maxsize=None):
    def decorate(func):
        memo = {}

        def wrapper(*args, **kwargs):
            key = args + tuple(sorted(kwargs.items()))
            try:
                return memo[key]
            except KeyError:
                value = memo[key] = func(*args, **kwargs)
                return value
            except TypeError:  # unhashable arguments: not memoised
                return func(*args, **kwargs)
        return functools.update_wrapper(wrapper, func)
    return decorate


functools.lru_cache = lru_cache
sys.argv = ["pip"] + sys.argv[1:]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def py27_pip_env(system: SystemRoot | None = None) -> dict[str, str]:
    """The environment of a 2.7 ``pip wheel`` (with ``system``'s prefix and caches, if any)."""
    return build_env(system, _py27_env())


def py27_pip_wheel(pip: list[str], env: Mapping[str, str]) -> list[str]:
    """``pip wheel`` with the options every 2.7 call takes; ``--isolated`` ignores
    ``PIP_CACHE_DIR``, so the cache ``env`` names is passed on the command line."""
    return [*pip, "wheel", "--isolated", "--disable-pip-version-check",
            "--no-python-version-warning", "--cache-dir", env["PIP_CACHE_DIR"]]


def _py27_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "VIRTUALENV_"))}
    env.update(SPEEDUPS_OFF)
    env["PIP_CACHE_DIR"] = str(py27_dir() / "pip-cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["VIRTUALENV_OVERRIDE_APP_DATA"] = str(py27_dir() / "app-data")
    return env


def _py27_seed(tool: Path, interp: Path, *, tools: bool = False) -> Path:
    """A bare 2.7 virtualenv (setuptools only) per interpreter, made once and then copied:
    virtualenv's 2.7 envs are relocatable, and hardlinking a seed is ~100x faster than
    running virtualenv. ``tools=True`` is the resolver's env, with pip and wheel too."""
    seed = py27_dir() / "seeds" / hashlib.sha256(str(interp.resolve()).encode()).hexdigest()[:16]
    if tools:
        seed = seed.with_name(seed.name + "-tools")
    ready = seed / ".driftdoc-seed"
    if ready.exists():
        return seed
    with cache.locked(f"py27-seed-{seed.name}"):
        if ready.exists():
            return seed
        cache.remove_tree(seed)
        seed.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [str(tool), "-m", "virtualenv", "--quiet", "--no-periodic-update", "--no-download",
             *(() if tools else ("--no-pip", "--no-wheel")), "--activators", "",
             "-p", str(interp), str(seed)],
            capture_output=True, text=True, env=_py27_env(), timeout=600, check=False)
        if proc.returncode != 0:
            cache.remove_tree(seed)
            raise OSError("creating the 2.7 seed environment failed:\n"
                          + _tail(proc.stderr + proc.stdout))
        for stale in seed.glob("bin/easy_install*"):  # absolute shebangs: not relocatable
            stale.unlink()
        ready.write_text("ok\n")
    return seed


def _py27_wheels(system: SystemRoot | None) -> dict[str, Path]:
    """The wheels a build may use: the shared house, and those built against its prefix."""
    wheels = _wheel_index(py27_wheelhouse())
    if system is not None:
        wheels.update(_wheel_index(py27_wheelhouse(system)))
    return wheels


def _wheel_index(house: Path) -> dict[str, Path]:
    """``name==version`` -> a wheel in the 2.7 wheelhouse (pure wheels preferred)."""
    found: dict[str, Path] = {}
    for whl in sorted(house.glob("*.whl"), key=lambda p: ("-none-any" not in p.name, p.name)):
        parts = whl.name[:-4].split("-")
        if len(parts) < 5 or not any(t in parts[-3] for t in ("py2", "cp27", "py27")):
            continue
        found.setdefault(f"{canonicalize_name(parts[0])}=={parts[1]}", whl)
    return found


def _unpacked(wheel: Path, interp: Path) -> Path:
    """The wheel extracted once into the shared store (envs hardlink from it), byte-compiled
    by ``interp`` (runs never write bytecode, and compiling on every import costs more than the
    rest of a 2.7 validation; 2.7 fixes ``co_filename`` when loading, so tracebacks name the
    env's files)."""
    target = py27_dir() / "unpacked" / wheel.name[:-4]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    cache.remove_tree(tmp)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = os.path.normpath(info.filename)
            if name.startswith(("/", "..")) or info.is_dir():
                continue  # never write outside the store
            out = tmp / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(out, mode | 0o400)
    subprocess.run([str(interp), "-m", "compileall", "-q", "-f", str(tmp)],
                   capture_output=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    try:
        os.replace(tmp, target)
    except OSError:  # another thread or process won the race
        cache.remove_tree(tmp)
    return target


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _install_unpacked(unpacked: Path, dest: Path, site: Path) -> None:
    """Install an extracted wheel by hardlinking its files (scripts get this env's shebang)."""
    python = dest / "bin" / "python"
    for src in unpacked.rglob("*"):
        if src.is_dir():
            continue
        rel = src.relative_to(unpacked)
        first = rel.parts[0]
        if first.endswith(".data") and len(rel.parts) > 2:
            kind, rest = rel.parts[1], Path(*rel.parts[2:])
            if kind in ("purelib", "platlib"):
                _link(src, site / rest)
            elif kind == "scripts":
                data = src.read_bytes()
                if data.startswith(b"#!python") or data.startswith(b"#!/usr/bin/env python"):
                    data = b"#!" + str(python).encode() + b"\n" + data.split(b"\n", 1)[-1]
                out = dest / "bin" / rest
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                out.chmod(0o755)
            elif kind == "data":
                _link(src, dest / rest)
            continue
        _link(src, site / rel)
    for entry_points in unpacked.glob("*.dist-info/entry_points.txt"):
        _console_scripts(entry_points.read_text(errors="replace"), dest, python)


def _console_scripts(text: str, dest: Path, python: Path) -> None:
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section != "console_scripts" or "=" not in line:
            continue
        name, target = (x.strip() for x in line.split("=", 1))
        module, _, attr = target.split("[")[0].strip().partition(":")
        if not re.fullmatch(r"[\w.]+", module) or (attr and not re.fullmatch(r"[\w.]+", attr)):
            continue
        top = attr.split(".")[0] if attr else ""
        call = f"{attr}()" if attr else "None"
        script = dest / "bin" / name
        script.write_text(f"#!{python}\nimport sys\nfrom {module} import {top}\n"
                          f"if __name__ == '__main__':\n    sys.exit({call})\n"
                          if top else f"#!{python}\nimport {module}\n")
        script.chmod(0o755)


def _fetch_py27_wheels(pip: list[str], pins: list[str], index_url: str,
                       system: SystemRoot | None = None) -> str | None:
    """``pip wheel`` the pins (and their dependencies) into the wheelhouse; error text or None."""
    house = py27_wheelhouse(system)
    links = [arg for h in dict.fromkeys([house, py27_wheelhouse()])
             for arg in ("--find-links", str(h))]
    with tempfile.TemporaryDirectory(prefix="driftdoc-wheel27-") as tmp:
        try:
            env = py27_pip_env(system)
            proc = run_bounded(
                [*py27_pip_wheel(pip, env), "--index-url", index_url, *links, "-w", tmp, *pins],
                env=env)
        except subprocess.TimeoutExpired:
            return f"building wheels took longer than {BUILD_TIMEOUT:g}s"
        if proc.returncode != 0:
            return proc.stdout + proc.stderr
        for whl in Path(tmp).glob("*.whl"):
            if not (house / whl.name).exists():
                shutil.copyfile(whl, house / whl.name)
    return None


def _build_py27(dest: Path, interp: Path, pins: list[str], index_url: str,
                system: SystemRoot | None = None) -> list[InstallError]:
    try:
        seed = _py27_seed(py27_tool(), interp)
        pip = py27_pip_command(interp)
    except OSError as exc:
        return [InstallError(None, str(exc))]
    exact = [p for p in pins if "==" in p and not re.search(r"[<>!~,;]", p)]
    inexact = [p for p in pins if p not in exact]
    wheels = _py27_wheels(system)
    missing = [p for p in exact if p not in wheels] + inexact
    if missing:
        error = _fetch_py27_wheels(pip, missing, index_url, system)
        if error is not None:
            return [InstallError(failing_requirement(error, pins), _tail(error))]
        wheels = _py27_wheels(system)
        still = [p for p in exact if p not in wheels]
        if still or inexact:
            return [InstallError(still[0] if still else inexact[0],
                                 "Python 2.7 environments need exact pins available as wheels "
                                 f"(missing: {', '.join(still + inexact)}); resolve first")]
    shutil.copytree(seed, dest, symlinks=True, copy_function=os.link)
    (dest / ".driftdoc-seed").unlink(missing_ok=True)
    site = next(iter(sorted(dest.glob("lib/python2.7/site-packages"))), None)
    if site is None:
        return [InstallError(None, "the 2.7 seed environment has no site-packages")]
    try:
        for pin in exact:
            _install_unpacked(_unpacked(wheels[pin], interp), dest, site)
    except (OSError, zipfile.BadZipFile) as exc:
        return [InstallError(None, f"installing wheels failed: {exc}")]
    return []


# ------------------------------------------------------------------------------ entry point

def ensure_env(python: str, pins: Sequence[str], *, index_url: str | None = None,
               rebuild: bool = False, reporter: Reporter = null_reporter,
               system: SystemRoot | None = None) -> BuiltEnv:
    """Return a complete env for (``python``, ``pins``), building it only if needed.

    With ``system``, builds see that prefix's headers and libraries (and runs its loader
    path); such an env is keyed apart from one built without them.
    """
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
    key = env_key(interp, norm, index, system.packages if system is not None else ())
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
            if major == 2:
                errors = _build_py27(dest, interp, norm, index, system)
            else:
                errors = _build_uv(dest, interp, norm, index, system, constraints)
        except (OSError, subprocess.SubprocessError) as exc:
            errors = [InstallError(None, f"build failed: {exc}")]
        if errors:
            cache.remove_tree(dest)
            return done(False, errors, False)
        cache.write_json_atomic(dest / cache.MARKER, {
            "python": python, "interpreter": str(interp), "pins": norm, "index": index,
            "created": time.time(), "seconds": round(time.perf_counter() - start, 3),
            "system": list(system.packages) if system is not None else [],
            "build_constraints": constraints,
        })
    return done(True, [], False, constraints)
