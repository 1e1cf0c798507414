"""The Python 2.7 toolchain: pip 20.3 (the last 2.7 pip) and virtualenv<20.22.

uv cannot target 2.7, so a tool venv holding ``virtualenv<20.22`` is made once; its embedded
pip 20.3.4 wheel resolves (``pip wheel`` against a date-filtering proxy of the index) and
fills a shared wheelhouse; environments are hardlinked copies of a per-interpreter seed into
which the wheels' files are hardlinked from a store of extracted wheels.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from driftdoc.env.host import cache, tables
from driftdoc.env.host.interpreters import interpreter_path
from driftdoc.env.knowledge.index import default_index
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import BUILD_TIMEOUT, run_bounded
from driftdoc.env.toolchain.installer import InstallError, Resolution, tail
from driftdoc.env.toolchain.py27_proxy import DateFilterProxy
from driftdoc.env.toolchain.syspkgs import SystemRoot, build_env, system_cache_dir
from driftdoc.env.toolchain.uv import uv_binary, uv_env
from driftdoc.env.toolchain.wheel_install import install_unpacked, unpacked

PY27_VIRTUALENV = "virtualenv<20.22"

PY27_PIP_WHEEL = "pip-20.3.4-py2.py3-none-any.whl"
PY27_CUTOFF = datetime(2020, 1, 1, tzinfo=UTC)
"""Python 2.7 reached end of life on 2020-01-01; later uploads rarely support it."""



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
            [uv_binary(), "venv", "--no-config", "--quiet", "--python", sys.executable, str(tool)],
            [uv_binary(), "pip", "install", "--no-config", "--quiet", "--python", str(python),
             "--index-url",
             index_url or os.environ.get("DRIFTDOC_TOOLS_INDEX_URL") or default_index(),
             PY27_VIRTUALENV],
        ):
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600,
                                  check=False)
            if proc.returncode != 0:
                raise OSError(f"preparing the Python 2.7 tools failed: {tail(proc.stderr, 5)}")
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
    env.update(tables.speedups_off())  # optional compiled speed-ups: minutes per build
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
                          + tail(proc.stderr + proc.stdout))
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


_WRONG_PYTHON = re.compile(r"Package '([^']+)' requires a different Python")
_FETCHED = re.compile(r"(?:Downloading|Using cached|File was already downloaded)\s+"
                      r"(?:\S*/)?([A-Za-z0-9_.]+)-([0-9][^-\s]*?)(?:-py|\.tar|\.zip|\.whl|-cp)")


def py27_cutoff(as_of: datetime | None) -> datetime:
    """What a 2.7 resolution may see: as of ``as_of``, and never after 2.7's end of life."""
    return min(as_of, PY27_CUTOFF) if as_of is not None else PY27_CUTOFF


def _resolve(python: str, reqs: list[Requirement], as_of: datetime | None,
                  releases: ReleaseProvider, system: SystemRoot | None = None,
                  late: dict[str, datetime] | None = None) -> Resolution:
    cutoff = py27_cutoff(as_of)
    interp = interpreter_path(python)
    if interp is None:
        return Resolution([], False, f"Python {python} is not installed here", python=python)
    try:
        pip = py27_pip_command(interp)
    except OSError as exc:
        return Resolution([], False, f"cannot prepare pip for Python 2.7: {exc}", python=python)
    proxy = DateFilterProxy(releases, cutoff, late)
    warnings: list[str] = []
    try:
        for _attempt in range(8):
            with tempfile.TemporaryDirectory(prefix="driftdoc-py27-") as tmp:
                env = py27_pip_env(system)
                # --prefer-binary: of the releases a requirement allows, those with a wheel
                # for 2.7 come first, also while backtracking, where pip would otherwise
                # build sdists for their metadata (numpy 1.10.0.post2 for opencv-python
                # as of 2016: minutes of a snippet's time limit); uv's path does the same
                # with --only-binary for the projects that would be compiled
                argv = [*py27_pip_wheel(pip, env), "--use-feature=2020-resolver",
                        "--prefer-binary", "--index-url", proxy.url, "--trusted-host",
                        "127.0.0.1", "-w", tmp, *(str(r) for r in reqs)]
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
                    return Resolution([], False, tail(output), warnings, python=python)
                if not fetched or fetched[-1] in proxy.excluded:
                    return Resolution([], False, tail(output), warnings, python=python)
                proxy.excluded.add(fetched[-1])
                warnings.append(f"skipped {fetched[-1][0]}=={fetched[-1][1]}: {why}")
        return Resolution([], False, "too many Python-incompatible releases skipped", warnings,
                          python=python)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Resolution([], False, f"pip failed to run: {exc}", warnings, python=python)
    finally:
        proxy.close()


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


def _build(dest: Path, interp: Path, pins: list[str], index_url: str,
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
            return [InstallError(failing_requirement(error, pins), tail(error))]
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
            install_unpacked(unpacked(py27_dir() / "unpacked", wheels[pin], interp), dest, site)
    except (OSError, zipfile.BadZipFile) as exc:
        return [InstallError(None, f"installing wheels failed: {exc}")]
    return []



class Py27Installer:
    """The :class:`~driftdoc.env.toolchain.installer.Installer` for Python 2.7 (no GPU-only
    wheel is published for 2.7: ``without`` names nothing a 2.7 resolution has)."""

    def cutoff(self, as_of: datetime | None) -> datetime | None:
        return py27_cutoff(as_of)

    def resolve(self, python: str, reqs: list[Requirement], as_of: datetime | None,
                index_url: str, releases: ReleaseProvider, system: SystemRoot | None,
                late: dict[str, datetime], without: Sequence[str] = ()) -> Resolution:
        return _resolve(python, reqs, as_of, releases, system, late)

    def build(self, dest: Path, interp: Path, pins: list[str], index_url: str,
              system: SystemRoot | None, constraints: list[str],
              without: Sequence[str] = ()) -> list[InstallError]:
        return _build(dest, interp, pins, index_url, system)
