"""Every file ``driftdoc run --output`` writes works with the tool that consumes it.

- pylock.toml: ``packaging.pylock`` accepts it, and ``uv pip install -r pylock.toml``
  builds an environment in which the snippet runs;
- requirements.txt with ``--hashes``: ``pip install --require-hashes`` installs it (and
  refuses a tampered hash), and the snippet runs;
- Dockerfile: ``hadolint`` passes it (a notebook's too, which runs the converted script);
- report.html: see test_report_html.py; driftdoc.json: the results schema.

Hermetic: tiny wheels on a loopback index, a compiled-looking wheel for another platform
that the lock must leave out, and an sdist next to a wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from driftdoc.cli import main
from support.fixtures import can_sandbox, driftdoc_cache  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_sdist, make_wheel

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")

SNIPPET = ("from lockfake.cross_validation import split\nimport helperfake\n"
           "print('halves', split([1, 2, 3, 4]), helperfake.HELP)\n")


def _lockfake(version: str, old: bool) -> dict[str, str]:
    files = {"lockfake/__init__.py": f"__version__ = '{version}'\n"}
    if old:
        files["lockfake/cross_validation.py"] = "def split(xs):\n    return xs[:2], xs[2:]\n"
    return files


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("consumers-index")
    built = root / "built"
    built.mkdir()
    with LocalIndex(root / "served") as idx:
        for version, when, old in [("0.18.0", "2016-09-01", True),
                                   ("0.19.2", "2017-08-01", True),
                                   ("0.20.0", "2018-09-01", False)]:
            idx.add(make_wheel(built, "lockfake", version, _lockfake(version, old),
                               requires=["helperfake"]), upload_time=when)
        # the same release for another platform: a lock for Linux must not list it
        idx.add(make_wheel(built, "lockfake", "0.19.2", _lockfake("0.19.2", True),
                           requires=["helperfake"], tag="cp38-cp38-win_amd64"),
                upload_time="2017-08-02")
        idx.add(make_sdist(built / "lockfake-0.19.2.tar.gz", "lockfake-0.19.2",
                           {"setup.py": "raise SystemExit('not built here')\n"}),
                upload_time="2017-08-01")
        idx.add(make_wheel(built, "helperfake", "1.0", {"helperfake/__init__.py": "HELP = 1\n"}),
                upload_time="2016-01-01")
        yield idx


@pytest.fixture(scope="module")
def outputs(index: LocalIndex, tmp_path_factory: pytest.TempPathFactory,
            driftdoc_cache: Path) -> Path:  # noqa: F811
    work = tmp_path_factory.mktemp("consumers")
    (work / "snippet.py").write_text(SNIPPET)
    rc = main(["run", str(work / "snippet.py"), "--output", str(work / "out"), "--hashes",
               "--quiet", "--index-url", index.url, "--store", str(work / "s.db")])
    assert rc == 0
    return work


def _result(outputs: Path) -> dict[str, object]:
    doc = json.loads((outputs / "out" / "driftdoc.json").read_text())
    assert_valid(doc, "run")
    return doc  # type: ignore[no-any-return]


def _interpreter(version: str) -> str:
    from driftdoc.env.host.interpreters import find

    return str(find(version).path)


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_CACHE_DIR=str(tmp / "uv-cache"), UV_NO_CONFIG="1", PIP_NO_CACHE_DIR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull)
    return env


def test_pylock_is_valid_pep_751(outputs: Path, index: LocalIndex) -> None:
    from packaging.pylock import Pylock

    result = _result(outputs)
    text = (outputs / "out" / "pylock.toml").read_text()
    lock = Pylock.from_dict(tomllib.loads(text))
    pins = {p.split("==")[0]: p.split("==")[1] for p in result["requirements"]}  # type: ignore[attr-defined]
    assert {str(p.name): str(p.version) for p in lock.packages} == pins
    served = {f.path.name: f for f in index.files.values()}
    for package in lock.packages:
        files = [*(package.wheels or []), *([package.sdist] if package.sdist else [])]
        assert files, package.name
        for art in files:
            name = art.filename
            assert art.hashes == {"sha256": served[name].sha256}
            assert art.size == served[name].path.stat().st_size
            assert art.upload_time is not None and art.url and art.url.startswith(index.url[:20])
    lockfake = next(p for p in lock.packages if p.name == "lockfake")
    assert [w.filename for w in lockfake.wheels or []] == ["lockfake-0.19.2-py2.py3-none-any.whl"]
    assert lockfake.sdist is not None and lockfake.sdist.filename == "lockfake-0.19.2.tar.gz"
    assert lock.requires_python is not None and lock.requires_python.contains(
        f"{result['python']}.0")


def test_uv_installs_the_lock_and_the_snippet_runs(outputs: Path, tmp_path: Path) -> None:
    python = str(_result(outputs)["python"])
    env = _clean_env(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--python", _interpreter(python), str(venv)], env=env,
                   check=True, capture_output=True)
    res = subprocess.run([UV, "pip", "install", "--python", str(venv / "bin" / "python"),
                          "-r", str(outputs / "out" / "pylock.toml")],
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    run = subprocess.run([str(venv / "bin" / "python"), str(outputs / "snippet.py")],
                         capture_output=True, text=True, cwd=outputs)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("halves ([1, 2], [3, 4]) 1")


def test_pip_require_hashes_installs_requirements(outputs: Path, tmp_path: Path,
                                                  index: LocalIndex) -> None:
    python = str(_result(outputs)["python"])
    reqs = (outputs / "out" / "requirements.txt").read_text()
    assert reqs.count("--hash=sha256:") >= 3  # lockfake's wheel and sdist, helperfake's wheel
    env = _clean_env(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([_interpreter(python), "-m", "venv", str(venv)], check=True, env=env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--require-hashes",
           "--index-url", index.url]
    res = subprocess.run([*pip, "-r", str(outputs / "out" / "requirements.txt")], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    run = subprocess.run([str(venv / "bin" / "python"), str(outputs / "snippet.py")],
                         capture_output=True, text=True, cwd=outputs)
    assert run.returncode == 0, run.stderr
    # the hashes are really checked: a wrong one is refused
    tampered = tmp_path / "tampered.txt"
    first = reqs.index("--hash=sha256:") + len("--hash=sha256:")
    tampered.write_text(reqs[:first] + "0" * 64 + reqs[first + 64:])
    fresh = tmp_path / "fresh"
    subprocess.run([_interpreter(python), "-m", "venv", str(fresh)], check=True, env=env)
    bad = subprocess.run([str(fresh / "bin" / "python"), *pip[1:], "-r", str(tampered)],
                         env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "hash" in (bad.stdout + bad.stderr).lower()


def test_hadolint_passes_the_dockerfile(outputs: Path) -> None:
    dockerfile = outputs / "out" / "Dockerfile"
    text = dockerfile.read_text()
    runs = [ln for ln in text.splitlines() if ln.startswith("RUN")]
    assert len(runs) == 1 and "lockfake==0.19.2" in runs[0] and "helperfake==1.0" in runs[0]
    assert text.rstrip().endswith('CMD ["python", "/app/snippet.py"]')
    res = subprocess.run([HADOLINT, str(dockerfile)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 2, "metadata": {},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Splitting"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": ["%matplotlib inline\n", "from lockfake.cross_validation import split\n",
                    "import helperfake\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [],
         "source": ["!echo from a shell\n", "print('notebook', split([1, 2]))\n"]},
    ],
}


def test_notebook_outputs_run_the_converted_script(index: LocalIndex, tmp_path: Path,
                                                   driftdoc_cache: Path) -> None:  # noqa: F811
    nb = tmp_path / "analysis.ipynb"
    nb.write_text(json.dumps(NOTEBOOK))
    out = tmp_path / "out"
    assert main(["run", str(nb), "--output", str(out), "--quiet", "--index-url", index.url,
                 "--store", str(tmp_path / "s.db")]) == 0
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile.rstrip().endswith('CMD ["python", "/app/analysis.py"]')
    res = subprocess.run([HADOLINT, str(out / "Dockerfile")], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    script = out / "analysis.py"
    assert "from lockfake.cross_validation import split" in script.read_text()
    # the script the image runs is the one validated: it runs in the locked environment
    python = json.loads((out / "driftdoc.json").read_text())["python"]
    env = _clean_env(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--python", _interpreter(python), str(venv)], env=env,
                   check=True, capture_output=True)
    subprocess.run([UV, "pip", "install", "--python", str(venv / "bin" / "python"), "-r",
                    str(out / "pylock.toml")], env=env, check=True, capture_output=True)
    run = subprocess.run([str(venv / "bin" / "python"), str(script)], capture_output=True,
                         text=True, cwd=out)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "notebook ([1, 2], [])"
