"""Issue 17's drift classes against the real PyPI (marked ``network``; deselect with
``-m 'not network'``). Each uses small, long-lived releases so that it stays quick and its
ground truth stays true; the hermetic twins are in test_drift_classes_local.py and the
rule tests.

A cache given in ``$DRIFTDOC_CACHE_DIR`` is used (warm reruns); otherwise a fresh one.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.cli import main
from driftdoc.env.toolchain import bound
from support.fixtures import can_sandbox, has_python
from support.schema import assert_valid

pytestmark = [pytest.mark.network,
              pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")]


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("DRIFTDOC_CACHE_DIR")
    path = Path(given) if given else tmp_path_factory.mktemp("real-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRIFTDOC_CACHE_DIR", str(path))
        yield path


def run(tmp_path: Path, source: bytes, capsys: pytest.CaptureFixture[str],
        *extra: str) -> tuple[int, dict[str, Any]]:
    snippet = tmp_path / "snippet.py"
    snippet.write_bytes(source)
    rc = main(["run", str(snippet), "--format", "json", "--quiet",
               "--store", str(tmp_path / "store.db"), *extra])
    doc = json.loads(capsys.readouterr().out)
    assert_valid(doc, "run")
    return rc, doc


def pins(doc: dict[str, Any]) -> dict[str, str]:
    return {r.split("==")[0].lower().replace("_", "-"): r.split("==")[1]
            for r in doc["requirements"]}


@pytest.mark.skipif(not has_python("3.8"), reason="no Python 3.8 installed")
def test_a_move_reports_every_version_it_changed(
        tmp_path: Path, real_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """werkzeug.contrib went in Werkzeug 1.0; stepping Werkzeug back also takes Flask (3.x
    needs Werkzeug 3) back: both are drift, each from today's release to the pinned one."""
    rc, doc = run(tmp_path, b"from flask import Flask\n"
                            b"from werkzeug.contrib.cache import SimpleCache\n"
                            b"cache = SimpleCache()\ncache.set('k', Flask.__name__)\n"
                            b"print(cache.get('k'))\n", capsys, "--python", "3.8")
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    pinned = pins(doc)
    assert int(pinned["werkzeug"].split(".")[0]) < 1  # ground truth: contrib before 1.0
    drift = {d["package"].lower(): d for d in doc["drift"]}
    assert {"werkzeug", "flask"} <= set(drift)
    for name, d in drift.items():
        assert d["to"] == pinned[name.replace("_", "-")] and d["from"] != d["to"]
        assert d["fixed"]["exception_name"] in ("ModuleNotFoundError", "ImportError")


@pytest.mark.skipif(not has_python("3.6"), reason="no Python 3.6 installed")
def test_an_old_release_gets_the_undeclared_dependency_of_its_era(
        tmp_path: Path, real_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """scikit-learn before 0.20 imports scipy without declaring it (as Keras 2.2 did its
    backend); the old release needs a scipy of its time, added by the search."""
    rc, doc = run(tmp_path, b"from sklearn.cross_validation import train_test_split\n"
                            b"print(train_test_split([1, 2, 3, 4], test_size=0.5))\n",
                  capsys, "--python", "3.6")
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    pinned = pins(doc)
    major, minor = (int(x) for x in pinned["scikit-learn"].split(".")[:2])
    assert (major, minor) < (0, 20)  # ground truth: cross_validation went in 0.20
    assert "scipy" in pinned


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
def test_a_latin1_py2_file_is_not_resolved(
        tmp_path: Path, real_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(tmp_path, b"import six\nprint 'caf\xe9', six.PY2\n", capsys)
    assert doc["status"] != "resolved" and rc != 0, doc
    assert "Non-ASCII character" in (doc["reason"] or "")


@pytest.mark.skipif(not has_python("3.8"), reason="no Python 3.8 installed")
def test_a_batch_stays_within_the_cache_bound(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Three snippets, each needing a different real project; the bound is what the largest
    needed alone, so the batch must evict while it runs and still resolve all three."""
    from driftdoc.env.search.batch import env_ok, run_batch

    cache = tmp_path / "cache"  # its own: eviction must not touch a shared cache
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(cache))
    monkeypatch.setattr(bound, "MIN_AGE", 0.0)
    gists = tmp_path / "gists"
    # "a" (numpy, the largest) alone sizes the bound; b and c need room of their own
    snippets = {"a": "import numpy\nprint(numpy.arange(3).sum())\n",
                "b": "import lxml.etree\nprint(lxml.etree.fromstring('<a/>').tag)\n",
                "c": "import six\nprint(six.PY3)\n"}
    for name, text in snippets.items():
        (gists / name).mkdir(parents=True)
        (gists / name / "snippet.py").write_text(text)
    # the whole cache the first snippet needed, nothing more
    probe = tmp_path / "probe"
    (probe / "a").mkdir(parents=True)
    (probe / "a" / "snippet.py").write_text(snippets["a"])
    first = run_batch(probe, tmp_path / "probe-out", time_limit=300.0,
                      child_args=["--python", "3.8"])
    assert all(env_ok(r) for r in first.results.values()), first.results
    limit = bound.measure().total
    monkeypatch.setenv(bound.CACHE_MAX_ENV, str(limit))
    out = tmp_path / "out"
    summary = run_batch(gists, out, jobs=2, time_limit=300.0, child_args=["--python", "3.8"])
    assert {n: env_ok(r) for n, r in summary.results.items()} == dict.fromkeys(snippets, True), \
        json.dumps(summary.results, indent=1)[:3000]
    with (out / "disk.csv").open() as fp:
        rows = list(csv.DictReader(fp))
    assert any(r["event"] == "evict" for r in rows)  # it had to make room, and did
    final = bound.measure()
    assert final.total <= limit, final.sections
