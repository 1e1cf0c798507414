"""ensure_env(): content-addressed builds, reuse, concurrency, captured install failures."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from driftdoc.env.host import cache
from driftdoc.env.toolchain.build import ensure_env
from support.fixtures import *  # noqa: F403
from support.fixtures import has_python, python3_version
from support.index import LocalIndex

PY3 = python3_version((3, 8))
needs_py3 = pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")


def _import_version(exe: Path) -> str:
    out = subprocess.run([str(exe), "-c", "import driftpkg; print(driftpkg.VERSION)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@needs_py3
def test_build_then_reuse(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    env = ensure_env(PY3, ["drift-pkg==1.0"], index_url=fake_index.url)
    assert env.ok and not env.reused, env.install_errors
    assert env.path.parent == cache.envs_dir()
    assert _import_version(env.python_exe) == "1.0"
    again = ensure_env(PY3, ["Drift_Pkg == 1.0"], index_url=fake_index.url)  # same set
    assert again.reused and again.path == env.path and again.seconds < 0.5
    other = ensure_env(PY3, ["drift-pkg==2.0"], index_url=fake_index.url)
    assert other.ok and other.path != env.path
    assert _import_version(other.python_exe) == "2.0"


@needs_py3
def test_concurrent_builds_of_one_env_build_once(fake_index: LocalIndex,
                                                 driftdoc_cache: Path) -> None:
    assert PY3 is not None
    pins = ["pin-pkg==1.0", "anchor-pkg==1.0"]
    with ThreadPoolExecutor(4) as pool:
        envs = list(pool.map(lambda _: ensure_env(PY3, pins, index_url=fake_index.url), range(4)))
    assert all(e.ok for e in envs)
    assert len({e.path for e in envs}) == 1
    assert sum(not e.reused for e in envs) == 1


@needs_py3
def test_crashed_build_is_rebuilt(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    env = ensure_env(PY3, ["pin-pkg==2.0"], index_url=fake_index.url)
    (env.path / cache.MARKER).unlink()  # as if the build died before completing
    again = ensure_env(PY3, ["pin-pkg==2.0"], index_url=fake_index.url)
    assert again.ok and not again.reused
    assert (env.path / cache.MARKER).exists()


@needs_py3
def test_install_failure_is_captured(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    env = ensure_env(PY3, ["pin-pkg==1.0", "drift-pkg==7.7"], index_url=fake_index.url)
    assert not env.ok
    assert env.install_errors[0].requirement == "drift-pkg==7.7"
    assert "drift-pkg" in env.install_errors[0].message
    assert not env.path.exists()  # nothing half-built is left behind


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
@pytest.mark.network  # the 2.7 tools (virtualenv<20.22, pip 20.3.4) come from PyPI once
def test_py27_env(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    env = ensure_env("2.7", ["drift-pkg==1.0"], index_url=fake_index.url)
    if not env.ok and "preparing the Python 2.7 tools" in env.install_errors[0].message:
        pytest.skip(f"cannot fetch the 2.7 tools: {env.install_errors[0].message}")
    assert env.ok, env.install_errors
    assert _import_version(env.python_exe) == "1.0"
    out = subprocess.run([str(env.python_exe), "-c", "import sys; print(sys.version_info[0])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
    assert ensure_env("2.7", ["drift-pkg==1.0"], index_url=fake_index.url).reused


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
@pytest.mark.network  # the 2.7 tools (virtualenv<20.22, pip 20.3.4) come from PyPI once
def test_py27_pip_runs_with_working_memoisation(driftdoc_cache: Path) -> None:
    """pip 20.3 on 2.7 falls back to a no-op lru_cache; the bootstrap gives it a real one."""
    from driftdoc.env.host.interpreters import find
    from driftdoc.env.toolchain.py27 import py27_pip_command

    try:
        pip = py27_pip_command(find("2.7").path)
    except OSError as exc:
        pytest.skip(f"cannot prepare the 2.7 tools: {exc}")
    out = subprocess.run([*pip, "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.startswith("pip 20.3"), out.stderr
    probe = ("import runpy, sys; sys.argv = ['x', '--version']\n"
             f"try:\n    runpy.run_path({pip[1]!r}, run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "from pip._internal.utils import compat\n"
             "calls = []\n"
             "@compat.lru_cache(maxsize=None)\n"
             "def f(x):\n    calls.append(x)\n    return x\n"
             "f(1); f(1)\n"
             "sys.stderr.write('calls=%d' % len(calls))\n")
    out = subprocess.run([pip[0], "-c", probe], capture_output=True, text=True, check=False)
    assert "calls=1" in out.stderr, out.stderr


def test_failing_requirement_names_the_distribution_whose_build_failed() -> None:
    from driftdoc.env.toolchain.blame import failing_requirement

    pins = ["numpy==1.16.6", "chaco==4.8.0", "traits==5.2.0"]
    pip27 = (
        "ERROR: Command errored out with exit status 1:\n"
        "     command: /x/bin/python -u -c 'import sys, setuptools, tokenize; sys.argv[0] = "
        "'\"'\"'/tmp/pip-wheel-k2j3/chaco_0123456789abcdef0123456789abcdef/setup.py'\"'\"'\n"
        "    ImportError: No module named numpy\n"
        "  ERROR: Failed building wheel for chaco\n")
    assert failing_requirement(pip27, pins) == "chaco==4.8.0"
    uv = "  × Failed to build `chaco==4.8.0`\n  ├─▶ The build backend returned an error\n numpy"
    assert failing_requirement(uv, pins) == "chaco==4.8.0"
    # without such a line, the first pin the error section names
    assert failing_requirement("error: numpy has no wheel here", pins) == "numpy==1.16.6"


@needs_py3
def test_a_build_that_needed_old_setuptools_says_so_then_and_on_reuse(
        fake_index: LocalIndex, driftdoc_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the emitted environment must carry the constraint, or a fresh build of it fails
    import driftdoc.env.toolchain.uv as uv

    calls: list[list[str]] = []

    def fake_uv(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        legacy = "--build-constraints" in argv
        return subprocess.CompletedProcess(
            argv, 0 if legacy else 1, "",
            "" if legacy else "error in oldpkg setup command: use_2to3 is invalid.")

    monkeypatch.setattr(uv, "run_bounded", fake_uv)
    assert PY3 is not None
    env = ensure_env(PY3, ["oldpkg==0.3"], index_url=fake_index.url)
    assert env.ok and env.build_constraints == ["setuptools<58"]
    assert any("--build-constraints" in argv for argv in calls)
    again = ensure_env(PY3, ["oldpkg==0.3"], index_url=fake_index.url)
    assert again.reused and again.build_constraints == ["setuptools<58"]
    plain = ensure_env(PY3, [], index_url=fake_index.url)
    assert plain.ok and plain.build_constraints == []
    # another env with that pin builds at once (its wheel is cached now) yet still needs it
    # wherever it is rebuilt; an env without the pin does not
    monkeypatch.setattr(uv, "run_bounded", lambda argv, **_: subprocess.CompletedProcess(
        argv, 0, "", ""))
    cached = ensure_env(PY3, ["OldPkg==0.3", "pin-pkg==1.0"], index_url=fake_index.url)
    assert cached.ok and not cached.reused and cached.build_constraints == ["setuptools<58"]
    other = ensure_env(PY3, ["oldpkg==0.4", "pin-pkg==1.0"], index_url=fake_index.url)
    assert other.ok and other.build_constraints == []
