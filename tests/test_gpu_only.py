"""GPU-only distributions (triton for torch) are left out of validations on a machine without
a GPU when the parent runs without them, and every emitted format says so; a snippet that
does need one is validated again with it, so no result names an environment that fails.

The end-to-end tests publish a tiny fake ``torch`` that declares a fake ``triton`` (which in
turn needs ``lit``, as triton 2.0 did) on a local index, so the real table decides.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.cli import main
from driftdoc.env.host import tables
from driftdoc.env.search.result import EnvResult
from driftdoc.env.toolchain import gpu_only
from driftdoc.env.toolchain.gpu_only import LeftOut
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.validator import needs_left_out
from driftdoc.env.validation.verdict import Verdict
from support.fixtures import can_sandbox, driftdoc_cache, python3_version  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

PY3 = python3_version((3, 8))
SNIPPET = "import torch\nprint(sum(torch.ones(3)))\n"
LEAN = ["filelock==3.0", "torch==2.4.1"]
FULL = ["filelock==3.0", "lit==18.1", "torch==2.4.1", "triton==3.0.0"]


# -- the table and the choice -------------------------------------------------------------

def test_the_table_names_measured_parents_within_their_ranges() -> None:
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    entries = tables.gpu_only()
    assert "triton" in entries and "torch" in entries["triton"].parents
    for name, entry in entries.items():
        assert canonicalize_name(name) == name and entry.why.strip() and entry.signs
        assert all(s == s.lower() and s.strip() for s in entry.signs)
        assert set(entry.measured) == set(entry.parents), name  # every range was measured
        assert not set(entry.needed_by) & set(entry.parents), name
        for parent, spec in entry.parents.items():
            assert canonicalize_name(parent) == parent
            assert entry.measured[parent], (name, parent)
            for version in entry.measured[parent]:
                assert SpecifierSet(spec).contains(version), (name, parent, version)


def test_a_gpu_only_pin_is_a_candidate_only_under_a_measured_parent() -> None:
    assert gpu_only.candidates(FULL, ["torch"]) == ["triton"]
    assert gpu_only.candidates(FULL, ["torch", "triton==3.0.0"]) == []  # asked for directly
    assert gpu_only.candidates(["torch==1.4.0", "triton==3.0.0"], ["torch"]) == []  # unmeasured
    assert gpu_only.candidates(["other==1.0", "triton==3.0.0"], ["other"]) == []  # no parent
    assert gpu_only.candidates(LEAN, ["torch"]) == []
    nccl = ["nvidia-nccl-cu12==2.32.3", "xgboost==3.2.0"]
    assert gpu_only.candidates(nccl, ["xgboost"]) == ["nvidia-nccl-cu12"]
    assert gpu_only.candidates([*nccl, "torch==2.4.1"], ["xgboost", "torch"]) == []  # it loads it


def test_what_the_lean_resolution_drops_is_reported_with_why() -> None:
    left = gpu_only.left_out(FULL, LEAN, ["triton"])
    assert left is not None
    assert [(lo.name, lo.version, lo.required_by) for lo in left] == \
        [("lit", "18.1", ("triton",)), ("triton", "3.0.0", ("torch",))]
    triton = left[1]
    assert "GPU only" in triton.why and "no GPU here" in triton.why
    assert "torch runs without it" in triton.why
    assert left[0].why == "needed only by triton"
    assert LeftOut.from_json(triton.to_json()) == triton
    # another release of something both have: the lean set does not stand for the full one
    assert gpu_only.left_out(FULL, ["filelock==3.1", "torch==2.4.1"], ["triton"]) is None
    assert gpu_only.left_out(FULL, FULL, ["triton"]) is None  # nothing was left out


def test_the_overrides_remove_every_requirement_on_them() -> None:
    assert gpu_only.override_text(["Triton", "triton"]) == "triton ; sys_platform == 'never'\n"


def test_nothing_is_left_out_with_a_gpu_or_when_asked_to_keep_them(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(gpu_only.KEEP_VARIABLE, raising=False)
    device = tmp_path / "nvidia0"
    assert gpu_only.gpu_here([str(device)]) is False
    device.touch()
    assert gpu_only.gpu_here([str(device)]) is True
    if not gpu_only.gpu_here():
        assert gpu_only.enabled()
    monkeypatch.setenv(gpu_only.KEEP_VARIABLE, "1")
    assert not gpu_only.enabled()


def _verdict(kind: Kind, name: str | None = None, message: str | None = None, *,
             module: str | None = None, imports: bool = False) -> Verdict:
    return Verdict(kind=kind, exception_name=name, exception_message=message,
                   missing_module=module, imports_completed=imports)


@pytest.mark.parametrize(("verdict", "again"), [
    (_verdict(Kind.SUCCESS, imports=True), False),
    (_verdict(Kind.TIMEOUT_IMPORTS, imports=True), False),
    (_verdict(Kind.IMPORT, "ModuleNotFoundError", "No module named 'triton'",
              module="triton"), True),
    (_verdict(Kind.SNIPPET, "RuntimeError", "Cannot find a working triton installation",
              imports=True), True),
    (_verdict(Kind.DRIFT, "ImportError", "libfoo.so.2: cannot open shared object file"), True),
    (_verdict(Kind.DRIFT), True),  # the interpreter died while importing
    (_verdict(Kind.SNIPPET_ATTR, "AttributeError", "module 'torch' has no attribute 'x'",
              imports=True), False),
    (_verdict(Kind.IMPORT, "ModuleNotFoundError", "No module named 'torch._six'",
              module="torch._six"), False),
    # what only triton pulled in (triton 3.4 brings setuptools, which torch.compile imports)
    (_verdict(Kind.SNIPPET, "ModuleNotFoundError", "No module named 'lit'", module="lit",
              imports=True), True),
])
def test_a_run_without_them_is_redone_only_when_their_absence_may_explain_it(
        verdict: Verdict, again: bool) -> None:
    left = gpu_only.left_out(FULL, LEAN, ["triton"])
    assert left is not None
    assert needs_left_out(verdict, left) is again


# -- end to end, on a local index ------------------------------------------------------------

def _publish(root: Path, version: str, init: str) -> LocalIndex:
    built = root / "built"
    triton = {"2.4.1": "3.0.0", "2.3.0": "2.3.0"}[version]
    index = LocalIndex(root / "served")
    index.add(make_wheel(built, "filelock", "3.0", {"filelock.py": "X = 1\n"}))
    index.add(make_wheel(built, "lit", "18.1", {"lit/__init__.py": ""}))
    index.add(make_wheel(built, "triton", triton, {"triton/__init__.py": "KERNELS = 1\n"},
                         requires=["lit", "filelock"]))
    index.add(make_wheel(built, "torch", version, {"torch/__init__.py": init},
                         requires=["filelock", f"triton=={triton}"]))
    return index


@pytest.fixture(scope="module")
def lean_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """torch 2.4.1 that imports without triton (as the real one does)."""
    with _publish(tmp_path_factory.mktemp("gpu-lean"), "2.4.1",
                  "def ones(n):\n    return [1] * n\n") as index:
        yield index


@pytest.fixture(scope="module")
def needy_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """torch 2.3.0 that imports triton when it is imported (the table would be wrong)."""
    with _publish(tmp_path_factory.mktemp("gpu-needy"), "2.3.0",
                  "import triton\ndef ones(n):\n    return [1] * n\n") as index:
        yield index


sandboxed = pytest.mark.skipif(not can_sandbox() or PY3 is None or gpu_only.gpu_here(),
                               reason="needs bubblewrap, Python >= 3.8 and no GPU here")


def _run(tmp_path: Path, index: LocalIndex,
         capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], Path]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    out = tmp_path / "out"
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--index-url", index.url,
               "--python", PY3 or "", "--store", str(tmp_path / "store.db"),
               "--output", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert_valid(doc, "run")
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    return doc, out


@sandboxed
@pytest.mark.usefixtures("driftdoc_cache")
def test_triton_is_left_out_of_the_validation_and_every_format_says_so(
        tmp_path: Path, lean_index: LocalIndex, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gpu_only.KEEP_VARIABLE, raising=False)
    doc, out = _run(tmp_path, lean_index, capsys)
    left = doc["left_out"]
    assert [(lo["name"], lo["version"], lo["required_by"]) for lo in left] == \
        [("lit", "18.1", ["triton"]), ("triton", "3.0.0", ["torch"])]
    # the files install the full set; the validation ran without triton and lit
    assert doc["requirements"] == FULL
    assert doc["final"]["pins"] == LEAN
    site = next(Path(doc["final"]["env_path"]).glob("lib/python*/site-packages"))
    assert (site / "torch").is_dir() and not (site / "triton").exists()
    assert not (site / "lit").exists()
    for name in ("Dockerfile", "requirements.txt", "pylock.toml"):
        text = (out / name).read_text()
        assert "# left out: triton==3.0.0 (GPU only" in text, name
        assert "# left out: lit==18.1 (needed only by triton)" in text, name
    assert "triton==3.0.0" in (out / "requirements.txt").read_text().splitlines()
    assert 'name = "triton"' in (out / "pylock.toml").read_text()
    again = json.loads((out / "driftdoc.json").read_text())
    assert again["left_out"] == left
    assert EnvResult.from_json(again).to_json() == again
    assert "Left out of the validation" in (out / "report.html").read_text()


@sandboxed
@pytest.mark.usefixtures("driftdoc_cache")
def test_a_parent_that_imports_it_is_validated_again_with_it(
        tmp_path: Path, needy_index: LocalIndex, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gpu_only.KEEP_VARIABLE, raising=False)
    doc, out = _run(tmp_path, needy_index, capsys)
    assert doc["left_out"] == []
    assert doc["final"]["pins"] == doc["requirements"] == \
        ["filelock==3.0", "lit==18.1", "torch==2.3.0", "triton==2.3.0"]
    assert doc["validations"] == 1  # the retry is inside the one validation
    assert "left out" not in (out / "requirements.txt").read_text()


@pytest.mark.network
@pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")
def test_torch_on_python_3_11_imports_and_runs_without_triton(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Real PyPI: torch 2.4.1 (CUDA 12 wheels) without triton, nvidia-cusolver-cu12 and
    nvidia-cuda-nvrtc-cu12. Gigabytes: the cache is DRIFTDOC_CACHE_DIR if set (delete it
    afterwards), else a temporary one removed here."""
    from support.fixtures import has_python

    if not has_python("3.11") or gpu_only.gpu_here():
        pytest.skip("needs CPython 3.11 and no GPU")
    own = "DRIFTDOC_CACHE_DIR" not in os.environ
    cache = tmp_path / "cache"
    if own:
        monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(cache))
    monkeypatch.delenv(gpu_only.KEEP_VARIABLE, raising=False)
    try:
        snippet = tmp_path / "snippet.py"
        snippet.write_text("import torch\nx = torch.randn(8, 4, requires_grad=True)\n"
                           "torch.nn.Linear(4, 2)(x).sum().backward()\n"
                           "print(torch.linalg.solve(torch.eye(3), torch.ones(3)))\n")
        rc = main(["run", str(snippet), "--format", "json", "--quiet", "--python", "3.11",
                   "--as-of", "2024-10-01", "--memory-mb", "8192",  # CUDA maps gigabytes
                   "--timeout", "120", "--store", str(tmp_path / "store.db")])
        doc = json.loads(capsys.readouterr().out)
        assert_valid(doc, "run")
        assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
        names = {lo["name"] for lo in doc["left_out"]}
        assert "triton" in names
        assert any(r.startswith("triton==") for r in doc["requirements"])
        assert "torch==2.4.1" in doc["requirements"]
        assert not any(p.startswith("triton==") for p in doc["final"]["pins"])
    finally:
        if own:
            shutil.rmtree(cache, ignore_errors=True)
