"""A batch on a real Dask cluster: a scheduler and two worker processes on loopback.

Hermetic (tiny local wheels, the local index). The cluster's answers must be the local
batch's, the environments must be built by the workers (each with its own
``DRIFTDOC_CACHE_DIR``) and never by the client, and a worker killed mid-batch must cost
nothing but time: every snippet still gets its result, and no verdict recorded is false.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftdoc.cli import main
from support.dask_cluster import DaskCluster
from support.fixtures import can_sandbox, python3_version
from support.index import LocalIndex
from support.wheels import make_wheel

pytest.importorskip("distributed")
pytestmark = [pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here"),
              pytest.mark.skipif(python3_version() is None, reason="no Python 3.8+ here"),
              pytest.mark.slow]

SNIPPETS = {
    "drifted": "from skfake.cross_validation import split\nprint(split([1, 2, 3]))\n",
    "plain": "import sixfake\nprint(sixfake.PY2)\n",
    "newest": "import skfake\nprint(skfake.__version__)\n",
    "slow": "import time\nimport sixfake\ntime.sleep(3)\nprint('done')\n",
    "slower": "import time\nimport skfake\ntime.sleep(3)\nprint(skfake.__version__)\n",
    "own-bug": "import sixfake\nprint(undefined_name)\n",
    "nothing": "print('no packages')\n",
}
COMPARED = ("status", "python", "requirements", "validations", "classification", "drift",
            "direct", "system_packages", "snippet")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("cluster-index")
    built = root / "built"
    with LocalIndex(root / "served") as idx:
        for version, when, cv in [("0.19.2", "2017-08-01", True),
                                  ("0.20.0", "2018-09-01", False)]:
            files = {"skfake/__init__.py": f"__version__ = '{version}'\n"}
            if cv:
                files["skfake/cross_validation.py"] = "def split(xs):\n    return xs[:1], xs[1:]\n"
            idx.add(make_wheel(built, "skfake", version, files), upload_time=when)
        idx.add(make_wheel(built, "sixfake", "1.12.0", {"sixfake.py": "PY2 = False\n"}),
                upload_time="2018-12-01")
        yield idx


def _gists(root: Path) -> Path:
    for name, text in SNIPPETS.items():
        (root / "gists" / name).mkdir(parents=True)
        (root / "gists" / name / "snippet.py").write_text(text, encoding="utf-8")
    return root / "gists"


def _results(out: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


def _verdicts(store_path: Path) -> dict[tuple[str, str], bool]:
    from driftdoc.store import Store

    with Store(store_path) as store:
        return {(r.experiment, json.dumps(r.params, sort_keys=True)): r.outcome.succeeded
                for r in store.runs()}


def test_a_batch_on_two_dask_workers_answers_as_locally_and_survives_a_lost_worker(
        tmp_path: Path, index: LocalIndex, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _gists(tmp_path)
    monkeypatch.chdir(tmp_path)
    gists = Path("gists")  # relative, as a user types it: results name snippets so
    common = ["--index-url", index.url, "--quiet", "--time-limit", "120"]
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "local-cache"))
    assert main(["run", str(gists), "--output", str(tmp_path / "local"), *common]) == 1
    local = _results(tmp_path / "local")
    assert len(local) == len(SNIPPETS)
    assert local["drifted"]["status"] == "resolved" and local["drifted"]["drift"]
    assert local["drifted"]["snippet"] == "gists/drifted/snippet.py"

    client_cache = tmp_path / "client-cache"
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(client_cache))
    out = tmp_path / "cluster"
    with DaskCluster(tmp_path / "dask", workers=2) as cluster:
        killed: list[str] = []

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                if cluster.busy(1) and len(list((out / "results").glob("*.json"))) >= 1:
                    cluster.kill(1)
                    killed.append("w1")
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        rc = main(["run", str(gists), "--output", str(out), "--executor",
                   f"dask://{cluster.address}", *common])
        killer.join(timeout=5)
        caches = list(cluster.caches)
    capsys.readouterr()
    assert killed == ["w1"], "the worker was never caught running a snippet"
    assert rc == 1  # the same exit as the local batch: not every snippet resolved

    remote = _results(out)
    assert set(remote) == set(local)  # nothing lost
    for name in SNIPPETS:
        for key in COMPARED:
            assert remote[name][key] == local[name][key], (name, key)
        steps = [(s["move"], s["requirements"], s["result"]) for s in remote[name]["steps"]]
        assert steps == [(s["move"], s["requirements"], s["result"])
                         for s in local[name]["steps"]], name
    # the client wrote every snippet's files, the table and the report
    assert (out / "results.csv").read_text().count("\n") == len(SNIPPETS) + 1
    assert (out / "report.html").is_file()
    assert (out / "snippets" / "drifted" / "Dockerfile").is_file()

    # environments were built on the workers, each in its own cache, never on the client
    assert not (client_cache / "envs").exists() or not any((client_cache / "envs").iterdir())
    built = [c for c in caches if (c / "envs").is_dir() and any((c / "envs").iterdir())]
    assert caches[0] in built

    # every validation recorded is one the local batch recorded, with the same verdict
    mine, theirs = _verdicts(out / "store.db"), _verdicts(tmp_path / "local" / "store.db")
    assert mine and set(mine) <= set(theirs)
    assert all(mine[k] == theirs[k] for k in mine)
    assert sum(int(r["validations"]) for r in remote.values()) == len(mine)
    # ... as ordinary runs of experiments named by the snippets, as in a local batch
    assert main(["history", "list", "--store", str(out / "store.db"), "--format", "json"]) == 0
    titles = {e["title"] for e in json.loads(capsys.readouterr().out)}
    assert titles == {f"snippet gists/{n}/snippet.py" for n in SNIPPETS}

    # a rerun finds everything done and runs nothing
    with DaskCluster(tmp_path / "dask2", workers=1) as again:
        assert main(["run", str(gists), "--output", str(out), "--executor",
                     f"dask://{again.address}", *common]) == 1
        assert not (again.caches[0] / "envs").exists()
    assert _results(out) == remote


def test_ctrl_c_mid_snippet_keeps_its_validations_and_a_rerun_replays_them(
        tmp_path: Path, index: LocalIndex, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The worker streams each validation to the client as it is recorded; after Ctrl-C
    the rerun answers those from the store and the snippet ends as an uninterrupted run."""
    import _thread

    from driftdoc.store import Store

    gists = tmp_path / "gists"
    (gists / "slowdrift").mkdir(parents=True)
    (gists / "slowdrift" / "snippet.py").write_text(
        "import time\ntime.sleep(4)\nfrom skfake.cross_validation import split\n"
        "print(split([1, 2]))\n", encoding="utf-8")
    common = ["--index-url", index.url, "--quiet", "--time-limit", "120"]
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "client-cache"))
    out = tmp_path / "out"
    with DaskCluster(tmp_path / "dask", workers=1) as cluster:
        def interrupt_after_the_first_validation() -> None:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                try:
                    with Store(out / "store.db") as store:
                        if store.runs():
                            _thread.interrupt_main()
                            return
                except Exception:
                    pass
                time.sleep(0.2)

        threading.Thread(target=interrupt_after_the_first_validation, daemon=True).start()
        spec = ["--executor", f"dask://{cluster.address}"]
        assert main(["run", str(gists), "--output", str(out), *spec, *common]) == 130
        assert not (out / "results" / "slowdrift.json").exists()
        with Store(out / "store.db") as store:
            kept = [r.params for r in store.runs()]
        assert len(kept) == 1  # the first validation, streamed before the interruption
        assert main(["run", str(gists), "--output", str(out), *spec, *common]) == 0
    capsys.readouterr()
    result = json.loads((out / "results" / "slowdrift.json").read_text())
    assert result["status"] == "resolved" and "skfake==0.19.2" in result["requirements"]
    with Store(out / "store.db") as store:
        runs = [r.params for r in store.runs()]
    assert runs[0] == kept[0] and len(runs) == result["validations"] == 2  # replayed, not re-run


def test_a_cluster_without_workers_stops_in_one_line_and_records_nothing(
        tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]) -> None:
    gists = _gists(tmp_path)
    out = tmp_path / "out"
    with DaskCluster(tmp_path / "dask", workers=0) as cluster:
        rc = main(["run", str(gists), "--output", str(out), "--index-url", index.url,
                   "--executor", f"dask://{cluster.address}?wait=2"])
    err = capsys.readouterr().err
    assert rc == 2 and "no Dask worker" in err and "Traceback" not in err
    assert not list((out / "results").glob("*.json"))
