"""The uv toolchain (Python 3.6+): ``uv pip compile`` to resolve, ``uv venv`` + ``uv pip
install`` with hardlinks from driftdoc's own uv cache to build, bytecode linked in once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from packaging.requirements import Requirement

from driftdoc.env.host import cache, tables
from driftdoc.env.host.interpreters import interpreter_path
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import BUILD_TIMEOUT, run_bounded
from driftdoc.env.toolchain.checks import source_builds
from driftdoc.env.toolchain.gpu_only import override_text
from driftdoc.env.toolchain.installer import InstallError, Resolution, tail
from driftdoc.env.toolchain.legacy import (
    LEGACY_SETUPTOOLS,
    legacy_build_args,
    remember_legacy_build,
)
from driftdoc.env.toolchain.lenient import LenientIndex, refused_releases
from driftdoc.env.toolchain.syspkgs import SystemRoot, build_env


def uv_binary() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the uv wheel ships the binary

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return "uv"


def uv_env() -> dict[str, str]:
    """Environment for uv subprocesses: our cache dir, no downloads of Pythons, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(tables.speedups_off())  # optional compiled speed-ups: minutes per build
    env.update({"UV_CACHE_DIR": str(cache.cache_root() / "uv"), "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_PROGRESS": "1", "NO_COLOR": "1"})
    return env


def pins_from_text(text: str) -> list[str]:
    """``name==version`` lines of a compiled requirements text (comments dropped)."""
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "==" in line and not line.startswith("-"):
            pins.append(line.replace(" ", ""))
    return sorted(pins, key=str.lower)


@contextlib.contextmanager
def _overrides(without: Sequence[str]) -> Iterator[list[str]]:
    """uv flags that take ``without`` out of a resolution or an install (none if empty)."""
    if not without:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="driftdoc-overrides-") as tmp:
        path = Path(tmp) / "overrides.txt"
        path.write_text(override_text(without), encoding="utf-8")
        yield ["--overrides", str(path)]


def _resolve(python: str, reqs: list[Requirement], as_of: datetime | None,
             index_url: str, releases: ReleaseProvider, system: SystemRoot | None = None,
             late: dict[str, datetime] | None = None,
             without: Sequence[str] = ()) -> Resolution:
    with _overrides(without) as flags:
        return _resolve_with(python, reqs, as_of, index_url, releases, system, late, flags)


def _resolve_with(python: str, reqs: list[Requirement], as_of: datetime | None,
                  index_url: str, releases: ReleaseProvider, system: SystemRoot | None,
                  late: dict[str, datetime] | None, flags: list[str]) -> Resolution:
    argv = [uv_binary(), "pip", "compile", "-", "--no-config", "--no-header", "--no-annotate",
            "--python-version", python, "--python-platform", "linux", "--index-url", index_url]
    interp = interpreter_path(python)
    if interp is not None:
        argv += ["--python", str(interp)]
    if as_of is not None:
        argv += ["--exclude-newer", as_of.strftime("%Y-%m-%dT%H:%M:%SZ")]
        for name, when in sorted((late or {}).items()):
            argv += ["--exclude-newer-package", f"{name}={when.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    argv += flags
    text = "\n".join(str(r) for r in reqs) + "\n"
    # uv names the releases it skips for invalid metadata only in its log's warnings
    env = {**build_env(system, uv_env()), "RUST_LOG": "warn"}
    lenient: LenientIndex | None = None
    try:
        for _round in range(4):  # a lenient view may reach more refused releases
            result, proc_argv, stderr = _compile(argv, text, env, python)
            refused = {name for name, _v in refused_releases(stderr)}
            if not refused or (lenient is not None and refused <= lenient.projects):
                break
            if lenient is None:
                lenient = LenientIndex(releases, refused)
                argv = [*argv, "--extra-index-url", lenient.url]  # ahead of --index-url
            else:
                lenient.add(refused)
        if lenient is not None:
            result.lenient = [r.note() for r in lenient.notes_for(result.pins)]
        if not result.ok:
            return result
        try:
            return _prefer_wheels(result, proc_argv, text, env, releases, reqs)
        except subprocess.TimeoutExpired:
            return result
    except subprocess.TimeoutExpired:
        return Resolution([], False, f"resolving took longer than {BUILD_TIMEOUT:g}s (building "
                          "an sdist for its metadata?)", python=python)
    except OSError as exc:
        return Resolution([], False, f"uv failed to run: {exc}", python=python)
    finally:
        if lenient is not None:
            lenient.close()


def _compile(argv: list[str], text: str, env: dict[str, str],
             python: str) -> tuple[Resolution, list[str], str]:
    """One ``uv pip compile`` (again with old setuptools if an old setup.py needs it):
    the resolution, the argv that made it, and uv's whole stderr."""
    # an sdist's metadata may need its C library already (mysqlclient's mysql_config)
    proc = run_bounded(argv, input=text, env=env)
    legacy = legacy_build_args(proc.stderr) if proc.returncode != 0 else []
    stderr = proc.stderr
    if legacy:
        first = proc.stderr
        proc = run_bounded([*argv, *legacy], input=text, env=env)
        stderr += proc.stderr
        if proc.returncode == 0:
            _remember_blamed(first, pins_from_text(proc.stdout))
    warnings = [line.strip() for line in proc.stderr.splitlines()
                if line.lower().startswith("warning:")
                and "requested python version" not in line.lower()]
    if proc.returncode != 0:
        return Resolution([], False, tail(_without_log(proc.stderr)), warnings,
                          python=python), [*argv, *legacy], stderr
    return (Resolution(pins_from_text(proc.stdout), True, None, warnings, python=python),
            [*argv, *legacy], stderr)


def _without_log(stderr: str) -> str:
    """uv's output without its log (``WARN ...`` lines and the text they quote), which
    ``RUST_LOG`` mixes in: what is left is the resolver's own report."""
    out, in_log = [], False
    for line in stderr.splitlines():
        if _LOG.match(line):
            in_log = True
        elif in_log and not _REPORT.match(line):
            continue
        else:
            in_log = False
            out.append(line)
    return "\n".join(out)


_LOG = re.compile(r"^(WARN|DEBUG|INFO|TRACE) ")
_REPORT = re.compile(r"^(\s*(error|warning|hint|help|cause):|\s*[×╰]|Resolved )")


def _exact_pins(reqs: Sequence[Requirement]) -> list[str]:
    return [r.name for r in reqs
            if any(s.operator in ("==", "===") and "*" not in s.version for s in r.specifier)]


def _prefer_wheels(result: Resolution, argv: list[str], text: str, env: dict[str, str],
                   releases: ReleaseProvider, reqs: Sequence[Requirement]) -> Resolution:
    """Resolve again, keeping projects that would be compiled from source to releases
    with a wheel for this Python (``source_builds``); the first resolution stands if that
    is impossible."""
    binary: list[str] = []
    for _round in range(2):  # an older release may in turn need an older dependency
        more = [n for n in source_builds(releases, result.pins, result.python,
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


def _build(dest: Path, interp: Path, pins: list[str], index_url: str,
           system: SystemRoot | None = None, constraints: list[str] | None = None,
           without: Sequence[str] = ()) -> list[InstallError]:
    """Build with uv; the build constraints it needed are appended to ``constraints``."""
    with _overrides(without) as flags:
        return _build_with(dest, interp, pins, index_url, system, constraints, flags)


def _build_with(dest: Path, interp: Path, pins: list[str], index_url: str,
                system: SystemRoot | None, constraints: list[str] | None,
                flags: list[str]) -> list[InstallError]:
    env = build_env(system, uv_env())
    uv = uv_binary()
    proc = subprocess.run([uv, "venv", "--no-config", "--quiet", "--python", str(interp),
                           "--link-mode", "hardlink", str(dest)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    if proc.returncode != 0:
        return [InstallError(None, "creating the environment failed:\n" + tail(proc.stderr))]
    if not pins:
        return []
    base = [uv, "pip", "install", "--no-config", "--python", str(dest / "bin" / "python"),
            "--link-mode", "hardlink", "--index-url", index_url, "--no-progress", *flags, *pins]
    try:
        proc = run_bounded([*base, "--offline"], env=env)
        if proc.returncode != 0:
            proc = run_bounded(base, env=env)
        if proc.returncode != 0 and refused_releases(proc.stderr):
            # a release whose metadata uv refuses, resolved through a lenient reading: the
            # pins are the whole resolution, so nothing needs its Requires-Dist again
            base = [*base, "--no-deps"]
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
        return [InstallError(failing_requirement(text, pins), tail(text))]
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
_tags_lock = threading.Lock()


def _cache_tag(python: Path) -> str | None:
    real = str(python.resolve())
    with _tags_lock:
        if real in _tags:
            return _tags[real]
    try:
        out = subprocess.run([str(python), "-c",
                              "import sys; print(sys.implementation.cache_tag or '')"],
                             capture_output=True, text=True, timeout=60, check=False)
        tag: str | None = out.stdout.strip() or None
    except OSError:
        tag = None
    with _tags_lock:
        _tags[real] = tag
    return tag



class UvInstaller:
    """The :class:`~driftdoc.env.toolchain.installer.Installer` for Python 3.6+."""

    def cutoff(self, as_of: datetime | None) -> datetime | None:
        return as_of

    def resolve(self, python: str, reqs: list[Requirement], as_of: datetime | None,
                index_url: str, releases: ReleaseProvider, system: SystemRoot | None,
                late: dict[str, datetime], without: Sequence[str] = ()) -> Resolution:
        return _resolve(python, reqs, as_of, index_url, releases, system, late, without)

    def build(self, dest: Path, interp: Path, pins: list[str], index_url: str,
              system: SystemRoot | None, constraints: list[str],
              without: Sequence[str] = ()) -> list[InstallError]:
        return _build(dest, interp, pins, index_url, system, constraints, without)
