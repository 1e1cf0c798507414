"""Interpreter discovery from a fake pyenv root, PATH and uv dir; ``find`` errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftdoc.env.host import interpreters as it
from driftdoc.errors import InputError


def fake_python(path: Path, version: str, impl: str = "CPython") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nprintf '{version} {impl}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture()
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pyenv"
    fake_python(root / "versions" / "2.7.18" / "bin" / "python", "2.7.18")
    fake_python(root / "versions" / "3.8.10" / "bin" / "python3.8", "3.8.10")
    fake_python(root / "versions" / "3.8.18" / "bin" / "python3.8", "3.8.18")
    fake_python(tmp_path / "uvpy" / "cpython-3.12.1-linux" / "bin" / "python3", "3.12.1")
    fake_python(tmp_path / "bin" / "python3.13", "3.13.0")
    fake_python(tmp_path / "bin" / "python-broken", "x")
    (tmp_path / "bin" / "python3.5").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "python3.5").chmod(0o755)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uvpy"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_discover(fake_env: Path) -> None:
    found = {i.version: i for i in it.discover()}
    assert set(found) == {"2.7", "3.8", "3.12", "3.13"}
    assert found["3.8"].full_version == "3.8.18"  # newest patch wins
    assert found["2.7"].source == "pyenv"
    assert found["3.12"].source == "uv"
    assert found["3.13"].source == "path"
    assert found["3.13"].implementation == "CPython"


def test_discover_uses_cache(fake_env: Path) -> None:
    first = it.discover()
    # break every interpreter but keep (mtime, size): a warm call answers from the cache
    for p in fake_env.rglob("python*"):
        if p.is_file():
            st = p.stat()
            p.write_text("#!/bin/sh\nexit 1\n".ljust(st.st_size, "#"))
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert it.discover() == first
    assert it.discover(use_cache=False) == []
    assert (fake_env / "cache" / "interpreters.json").exists()


def test_find(fake_env: Path) -> None:
    assert it.find("3.12").full_version == "3.12.1"
    with pytest.raises(InputError, match=r"Python 3\.10 is not available"):
        it.find("3.10")
    with pytest.raises(InputError, match="version like"):
        it.find("three")


def test_real_machine_has_some_interpreter() -> None:
    assert it.discover(), "no Python interpreter found at all"
