"""A validation as an executor's job: rebuilt from its key where it runs, the snippet's
files carried along for a worker that cannot see them, and the machinery's failures
reported as errors, never as verdicts."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from driftdoc.env.validation.task import SnippetBundle, ValidationTask, attempt_instance
from driftdoc.env.validation.verdict import Attempt
from driftdoc.executors.base import RunError
from driftdoc.model import Outcome
from support.fixtures import (  # noqa: F401
    can_sandbox,
    driftdoc_cache,
    local_index,
    python3_version,
)
from support.index import LocalIndex


def test_a_bundle_carries_the_snippet_and_its_neighbours(tmp_path: Path) -> None:
    folder = tmp_path / "gist"
    (folder / "pkg").mkdir(parents=True)
    (folder / "snippet.py").write_text("import helper\n")
    (folder / "helper.py").write_text("X = 1\n")
    (folder / "pkg" / "__init__.py").write_text("Y = 2\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref\n")
    bundle = pickle.loads(pickle.dumps(SnippetBundle.of(folder / "snippet.py")))
    assert dict(bundle.files) == {"snippet.py": b"import helper\n", "helper.py": b"X = 1\n",
                                  "pkg/__init__.py": b"Y = 2\n"}
    path = bundle.materialize(tmp_path / "elsewhere")
    assert path.name == "snippet.py" and (path.parent / "pkg" / "__init__.py").is_file()
    assert bundle.materialize(tmp_path / "elsewhere") == path  # made once
    (folder / "helper.py").write_text("X = 2\n")
    assert SnippetBundle.of(folder / "snippet.py").digest != bundle.digest


@pytest.mark.skipif(python3_version() is None, reason="no Python 3.8+ here")
def test_a_worker_without_the_snippet_validates_it_from_the_bundle(
        tmp_path: Path, local_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
) -> None:
    folder = tmp_path / "gist"
    folder.mkdir()
    snippet = folder / "snippet.py"
    snippet.write_text("import helper\nprint(helper.X)\n")
    (folder / "helper.py").write_text("X = 41 + 1\n")
    task = ValidationTask(str(snippet.resolve()), index_url=local_index.url,
                          sandbox="bwrap" if can_sandbox() else "none",
                          bundle=SnippetBundle.of(snippet))
    shutil.rmtree(folder)  # as on another machine
    job = pickle.loads(pickle.dumps(task))
    outcome = job(attempt_instance(Attempt(str(python3_version()), ())))
    assert isinstance(outcome, Outcome) and outcome.succeeded, outcome
    record = outcome.details["verdict"]["record"]
    assert record["snippet"] == str(snippet.resolve())  # named as where the caller is
    assert "42" in record["execution"]["stdout_tail"]


def test_the_machinery_failing_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    snippet = tmp_path / "s.py"
    snippet.write_text("print(1)\n")
    result = ValidationTask(str(snippet))(attempt_instance(Attempt("1.9", ())))
    assert isinstance(result, RunError) and result.kind == "worker-error"
    assert "1.9" in result.message
