"""validate(sandbox="none"): the same records without bubblewrap (machines that lack it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftdoc.env.toolchain.build import ensure_env
from driftdoc.env.validation.failure import Kind, classify
from driftdoc.env.validation.validate import validate
from support.fixtures import *  # noqa: F403
from support.fixtures import python3_version
from support.index import LocalIndex

PY3 = python3_version((3, 8))


@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_records_without_sandbox(tmp_path: Path, fake_index: LocalIndex,
                                 driftdoc_cache: Path) -> None:
    assert PY3 is not None
    env = ensure_env(PY3, ["drift-pkg==2.0"], index_url=fake_index.url)
    assert env.ok, env.install_errors
    snippet = tmp_path / "s.py"
    (tmp_path / "data.txt").write_text("neighbour\n")
    snippet.write_text("import driftpkg\nprint(open('data.txt').read().strip())\n"
                       "driftpkg.compute(2)\n")
    rec = validate(snippet, env, sandbox="none", timeout=20)
    assert rec.execution.stdout_tail.strip() == "neighbour"
    verdict = classify(rec)
    assert verdict.category is Kind.DRIFT and verdict.responsible == "drift-pkg"
    assert rec.execution.exception_stack[0][0].endswith("/s.py")
