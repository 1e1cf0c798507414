"""Batch mode survives hostile snippets, Ctrl-C, and folders with other files in them."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from driftdoc.cli import main
from support.browser import check_report
from support.fixtures import can_sandbox, driftdoc_cache  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")

HOSTILE = {
    "hangs": "import time\nwhile True:\n    time.sleep(1)\n",
    "children": (
        "import subprocess, sys\n"
        "for _ in range(3):\n"
        "    subprocess.Popen(['sleep', '987654'], start_new_session=True)\n"
        "print('left children behind')\n"
    ),
    "writer": (
        "with open('big.bin', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(b'x' * (1 << 20))\n"
    ),
    "eater": "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n",
    "fine": "import json\nprint(json.dumps({'ok': True}))\n",
}


@pytest.fixture
def empty_index(tmp_path: Path) -> LocalIndex:
    index = LocalIndex(tmp_path / "index")
    index.start()
    return index


def make_folder(root: Path, snippets: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in snippets.items():
        d = root / name
        d.mkdir()
        (d / "snippet.py").write_text(text, encoding="utf-8")
    return root


def results(out: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}


def no_survivors(marker: str) -> bool:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd and b"pytest" not in cmd:
            return False
    return True


def test_batch_survives_hostile_snippets(tmp_path: Path, empty_index: LocalIndex,
                                         driftdoc_cache: Path,  # noqa: F811
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = make_folder(tmp_path / "gists", HOSTILE)
    (root / "notes.txt").write_text("not a snippet\n")
    (root / "data.csv").write_text("a,b\n1,2\n")
    (root / "blob.py").write_bytes(b"\x00\xff\x00binary" * 50)
    out = tmp_path / "out"
    rc = main(["run", str(root), "--output", str(out), "--jobs", "2", "--timeout", "6",
               "--memory-mb", "400", "--format", "json",
               "--time-limit", "60", "--index-url", empty_index.url, "--quiet"])
    assert rc in (0, 1)
    got = results(out)
    batch = json.loads(capsys.readouterr().out)
    assert_valid(batch, "batch")
    assert batch["results"] == got and batch["snippets"] == len(got)
    for name in got:  # every format per snippet, killed and bad-input ones included
        written = {p.name for p in (out / "snippets" / name).iterdir()}
        assert {"driftdoc.json", "requirements.txt", "report.html"} <= written, (name, written)
    assert {"Dockerfile", "pylock.toml"} <= {p.name for p in (out / "snippets/fine").iterdir()}
    works = batch["environment_works"]
    check_report(out / "report.html", [
        f"driftdoc batch: {root}", f"{works}/{len(got)}", "Classes", "timeout-after-imports",
        "bad-input", "Time per snippet", "fine", "hangs", "blob"])
    assert set(got) == {*HOSTILE, "blob"}  # notes.txt and data.csv are not snippets
    assert got["fine"]["status"] == "resolved"
    assert got["hangs"]["classification"] == "timeout-after-imports"
    assert got["blob"]["classification"] == "bad-input"
    for name in ("children", "writer", "eater"):
        assert got[name]["classification"] in ("success", "snippet-error"), got[name]
    assert no_survivors("987654")
    with (out / "results.csv").open() as fp:
        rows = list(csv.DictReader(fp))
    assert {r["snippet"] for r in rows} == set(got)
    assert set(rows[0]) >= {"snippet", "status", "python", "requirements", "validations",
                            "seconds", "classification"}


def test_ctrl_c_then_rerun_resumes(tmp_path: Path, empty_index: LocalIndex,
                                   driftdoc_cache: Path) -> None:  # noqa: F811
    snippets = {f"s{i}": f"import time\ntime.sleep({1 + i % 2})\nprint({i})\n" for i in range(6)}
    root = make_folder(tmp_path / "gists", snippets)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "driftdoc.cli", "run", str(root), "--output", str(out),
            "--jobs", "1", "--index-url", empty_index.url, "--quiet"]
    env = dict(os.environ, DRIFTDOC_CACHE_DIR=str(driftdoc_cache))
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(results(out) if out.exists() else {}) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    first = results(out)
    assert 2 <= len(first) < 6
    stamps = {n: (out / "results" / f"{n}.json").stat().st_mtime_ns for n in first}
    rerun = subprocess.run(args, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert set(results(out)) == set(snippets)
    for name, stamp in stamps.items():  # finished snippets were not redone
        assert (out / "results" / f"{name}.json").stat().st_mtime_ns == stamp


def test_full_disk_stops_the_batch_before_it_records_bogus_failures(
        tmp_path: Path, empty_index: LocalIndex, driftdoc_cache: Path) -> None:  # noqa: F811
    root = make_folder(tmp_path / "gists", {"a": "print(1)\n", "b": "print(2)\n"})
    out = tmp_path / "out"
    args = [sys.executable, "-m", "driftdoc.cli", "run", str(root), "--output", str(out),
            "--jobs", "1", "--index-url", empty_index.url, "--quiet"]
    env = dict(os.environ, DRIFTDOC_CACHE_DIR=str(driftdoc_cache),
               DRIFTDOC_MIN_FREE_MB=str(10**12))  # more than any disk has
    full = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert full.returncode == 2
    assert "free on the disk" in full.stderr and "Traceback" not in full.stderr
    assert results(out) == {}
    env["DRIFTDOC_MIN_FREE_MB"] = "1"
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert set(results(out)) == {"a", "b"}


def test_low_disk_first_reclaims_unused_environments(
        tmp_path: Path, empty_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    import driftdoc.env.search.batch as batch
    from driftdoc.env.toolchain.store import PruneResult
    from driftdoc.events import Event

    root = make_folder(tmp_path / "gists", {"a": "print(1)\n"})
    pruned: list[dict[str, object]] = []

    def fake_reclaim(older_than: float) -> PruneResult:
        pruned.append({"older_than": older_than})
        return PruneResult(["old-env"], [], 2**30)

    events: list[Event] = []
    monkeypatch.setattr("driftdoc.env.toolchain.store.reclaim", fake_reclaim)
    monkeypatch.setattr(batch, "low_disk", lambda paths: None if pruned else "only 0 GiB free")
    summary = batch.run_batch(root, tmp_path / "out", child_args=["--index-url",
                                                                   empty_index.url],
                              reporter=events.append)
    assert pruned == [{"older_than": batch.RECLAIM_AGE}]
    assert summary.stopped is None and set(summary.results) == {"a"}
    assert any("low disk: removed 1 environment" in e.describe() for e in events)

    # when pruning does not help, the batch stops (once pruned, not on every check)
    pruned.clear()
    root2 = make_folder(tmp_path / "more", {"b": "print(2)\n", "c": "print(3)\n"})
    monkeypatch.setattr(batch, "low_disk", lambda paths: "only 0 GiB free")
    summary = batch.run_batch(root2, tmp_path / "out2", reporter=events.append)
    assert len(pruned) == 1 and summary.stopped == "only 0 GiB free"
    assert summary.results == {}


def test_a_child_that_writes_more_than_a_pipe_holds_is_read(
        tmp_path: Path, driftdoc_cache: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch reads a child's output after it exits: on a pipe, a child writing more than
    the pipe's 64 KiB would wait for a reader forever (until the hard limit killed it)."""
    import driftdoc.env.search.batch as batch

    noisy = ("import json, sys\n"
             "sys.stderr.write('e' * 300000)\n"
             "print(json.dumps({'status': 'resolved', 'snippet': sys.argv[1],\n"
             "                  'reason': 'x' * 200000, 'requirements': []}))\n")

    def argv(job: batch.Job, args: list[str], *, outputs: bool = True) -> list[str]:
        return [sys.executable, "-c", noisy, str(job.path)]

    monkeypatch.setattr(batch, "child_argv", argv)
    root = make_folder(tmp_path / "gists", {"a": "print(1)\n", "b": "print(2)\n"})
    start = time.monotonic()
    summary = batch.run_batch(root, tmp_path / "out", jobs=2, time_limit=1.0)
    assert time.monotonic() - start < 30  # not the 61 s hard limit
    assert {n: (r["status"], len(r["reason"])) for n, r in summary.results.items()} == \
        {"a": ("resolved", 200000), "b": ("resolved", 200000)}
