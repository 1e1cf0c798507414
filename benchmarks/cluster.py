"""A batch on a Dask cluster: dispatch overhead per snippet, and what placement saves.

    python benchmarks/cluster.py overhead --snippets 20 --out bench-out/cluster-overhead
    python benchmarks/cluster.py placement --groups 3 --per-group 4 --out bench-out/placement

Both are hermetic: tiny wheels on a loopback index, a real ``dask scheduler`` and
``dask worker`` processes on 127.0.0.1 (``tests/support/dask_cluster.py``), each worker
with its own cache.

``overhead``: N snippets that need no package (one validation each, the environment built
once per cache) run as a local batch (``--jobs 1``) and on a one-worker cluster; the
dispatch overhead per snippet is the client's round trip (submit to result) less the time
the worker spent on the task, and the end-to-end difference per snippet is printed too.

``placement``: G groups of snippets, each group importing one "heavy" package (a wheel
of ``--heavy-mb`` megabytes of incompressible data), interleaved in the queue, run on two
workers with placement on and off (each from empty caches). Printed: wall time, how many
times a heavy package was installed (summed over workers), and the workers' cache bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from driftdoc.env.search.batch import run_batch  # noqa: E402
from driftdoc.env.search.cluster import ClusterStats, run_cluster_batch  # noqa: E402
from support.dask_cluster import DaskCluster  # noqa: E402
from support.index import LocalIndex  # noqa: E402
from support.wheels import make_wheel  # noqa: E402


def _args(index: LocalIndex, sandbox: str) -> list[str]:
    return ["--budget", "24", "--timeout", "20", "--memory-mb", "2048", "--sandbox", sandbox,
            "--index-url", index.url]


def _du(path: Path) -> int:
    total = 0
    seen: set[int] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def overhead(args: argparse.Namespace) -> None:
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    gists = out / "gists"
    for i in range(args.snippets):
        (gists / f"s{i:03d}").mkdir(parents=True)
        (gists / f"s{i:03d}" / "snippet.py").write_text(f"print({i})\n")
    with LocalIndex(out / "index") as index:
        os.environ["DRIFTDOC_CACHE_DIR"] = str(out / "local-cache")
        warm = out / "warm"  # one snippet first, so both runs start with the environment built
        (warm / "w").mkdir(parents=True)
        (warm / "w" / "snippet.py").write_text("print('warm')\n")
        run_batch(warm, out / "warm-local", child_args=[*_args(index, args.sandbox),
                                                         "--store", str(out / "w.db")])
        t0 = time.monotonic()
        local = run_batch(gists, out / "local", jobs=1, child_args=[
            *_args(index, args.sandbox), "--store", str(out / "local" / "store.db")])
        t_local = time.monotonic() - t0
        with DaskCluster(out / "dask", workers=1) as cluster:
            spec = f"dask://{cluster.address}"
            run_cluster_batch(warm, out / "warm-cluster", spec=spec,
                              child_args=_args(index, args.sandbox), index_url=index.url,
                              sandbox=args.sandbox)
            stats = ClusterStats()
            t0 = time.monotonic()
            remote = run_cluster_batch(gists, out / "cluster", spec=spec,
                                       child_args=_args(index, args.sandbox),
                                       index_url=index.url, sandbox=args.sandbox, stats=stats)
            t_cluster = time.monotonic() - t0
    n = args.snippets
    assert len(local.results) == len(remote.results) == n
    d = sorted(stats.dispatch)
    print(f"snippets: {n} (no package, one validation each, environments built beforehand)")
    print(f"local batch (--jobs 1): {t_local:.1f} s, {t_local / n:.2f} s per snippet")
    print(f"one Dask worker:       {t_cluster:.1f} s, {t_cluster / n:.2f} s per snippet")
    print(f"end-to-end difference: {(t_cluster - t_local) / n * 1000:+.0f} ms per snippet")
    print(f"dispatch overhead (client round trip - worker task time): median "
          f"{statistics.median(d) * 1000:.0f} ms, p90 {d[int(0.9 * (len(d) - 1))] * 1000:.0f} "
          f"ms, max {d[-1] * 1000:.0f} ms")


def placement(args: argparse.Namespace) -> None:
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    groups = [f"heavy{chr(97 + g)}" for g in range(args.groups)]
    gists = out / "gists"
    for i in range(args.per_group):
        for name in groups:  # interleaved: a plain queue alternates the groups
            folder = gists / f"{i:02d}-{name}"
            folder.mkdir(parents=True)
            (folder / "snippet.py").write_text(f"import {name}\nprint({name}.N, {i})\n")
    with LocalIndex(out / "index") as index:
        for name in groups:
            blob = os.urandom(args.heavy_mb * 2**20)
            index.add(make_wheel(out / "built", name, "1.0", {
                f"{name}/__init__.py": "N = 1\n", f"{name}/blob.bin": blob}))
        rows = []
        for mode in ("off", "on"):
            with DaskCluster(out / f"dask-{mode}", workers=2) as cluster:
                stats = ClusterStats()
                t0 = time.monotonic()
                summary = run_cluster_batch(
                    gists, out / f"run-{mode}", spec=f"dask://{cluster.address}",
                    child_args=_args(index, args.sandbox), index_url=index.url,
                    sandbox=args.sandbox, placement=mode == "on", stats=stats)
                wall = time.monotonic() - t0
                caches = list(cluster.caches)
            assert len(summary.results) == args.groups * args.per_group
            installs = sum(len({n.split("-", 1)[1] for n in names})
                           for names in stats.placed.values())
            size = sum(_du(c) for c in caches)
            rows.append((mode, wall, installs, size))
    print(f"{args.groups} groups x {args.per_group} snippets, each group needing one "
          f"{args.heavy_mb} MB package; 2 workers, empty caches")
    print("placement | wall s | heavy installs (over workers) | worker caches MB")
    for mode, wall, installs, size in rows:
        print(f"{mode:>9} | {wall:6.1f} | {installs:29d} | {size / 2**20:16.0f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    a = sub.add_parser("overhead")
    a.add_argument("--snippets", type=int, default=20)
    a.add_argument("--out", type=Path, default=Path("bench-out/cluster-overhead"))
    a.add_argument("--sandbox", default="bwrap")
    b = sub.add_parser("placement")
    b.add_argument("--groups", type=int, default=3)
    b.add_argument("--per-group", type=int, default=4)
    b.add_argument("--heavy-mb", type=int, default=60)
    b.add_argument("--out", type=Path, default=Path("bench-out/cluster-placement"))
    b.add_argument("--sandbox", default="bwrap")
    args = ap.parse_args()
    args.out = args.out.resolve()
    (overhead if args.what == "overhead" else placement)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
