"""HG2.9K benchmark: batch mode on a seeded sample, then independent re-validation.

    python benchmarks/hg29k.py --sample 300 --seed 29 --jobs 2 --out bench-out/hg29k
    python benchmarks/hg29k.py --sample 30 --dask-workers 2 --skip-revalidate --out OUT
    python benchmarks/hg29k.py --sample 300 --executor dask://HOST:8786 --out OUT

1. copies a seeded random sample of ``../shared/benchmarks/hg2.9k/gists`` into a work folder;
2. runs ``driftdoc run WORK --jobs J`` (batch mode; resumable, so a rerun continues), or
   on a Dask cluster: ``--executor dask://HOST:PORT``, or ``--dask-workers N`` to start a
   scheduler and N ``dask worker`` processes on loopback here (sharing this cache, or each
   its own with ``--worker-caches DIR``); prints the throughput in gists per hour;
3. re-validates every emitted environment with ``revalidate.py`` (fresh build, network
   off, the field's pass criterion), never trusting driftdoc's own verdict;
4. prints pass rate, class histogram, median/p90/total seconds, and the published
   tools' results on the same gists (read from peers.csv, here only).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from revalidate import check

DATA = Path(os.environ.get("HG29K_DATA") or
            Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hg2.9k")
"""The data set (``HG29K_DATA`` when the checkout is not next to ``shared/``)."""


def driftdoc_command() -> list[str]:
    """The ``driftdoc`` of this interpreter's environment (``.venv/bin/python hg29k.py``
    works without activating the venv, and never runs another checkout's from PATH)."""
    script = Path(sys.executable).parent / "driftdoc"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "driftdoc.cli"]


def sample(gists: Path, n: int, seed: int) -> list[str]:
    names = sorted(p.name for p in gists.iterdir() if (p / "snippet.py").is_file())
    rng = random.Random(seed)
    return sorted(rng.sample(names, min(n, len(names))))


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(q * (len(xs) - 1))))
    return xs[k]


def peers(names: list[str]) -> dict[str, dict[str, float]]:
    """Published tools on the same gists (benchmark only; the tool never reads this)."""
    rows = {}
    with (DATA / "peers.csv").open() as fp:
        for row in csv.DictReader(fp):
            rows[row["gist"]] = row
    picked = [rows[n] for n in names if n in rows]
    out: dict[str, dict[str, float]] = {}
    for tool, col, sec in [("PyEGo", "pyego_passed", "pyego_seconds"),
                           ("ReadPyE", "readpye_passed", "readpye_seconds"),
                           ("PLLM (run 1)", "pllm_run1_passed", "pllm_run1_seconds")]:
        passed = [r[col] == "True" for r in picked]
        secs = [float(r[sec]) for r in picked if r[sec]]
        out[tool] = {"pass": sum(passed) / max(1, len(picked)),
                     "median": statistics.median(secs) if secs else 0.0,
                     "p90": pct(secs, 0.9)}
    union = [any(r[c] == "True" for c in ("pyego_passed", "readpye_passed", "pllm_run1_passed"))
             for r in picked]
    out["union of the three"] = {"pass": sum(union) / max(1, len(picked)), "median": 0.0,
                                 "p90": 0.0}
    return out


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def emitted(result: dict[str, object]) -> tuple[object, list[str], list[str], list[str]]:
    """What a re-validation depends on: Python, requirements, system packages and build
    constraints."""
    def names(key: str) -> list[str]:
        return sorted(str(v) for v in _listed(result.get(key)))
    return (result.get("python"), names("requirements"), names("system_packages"),
            names("build_constraints"))


def to_check(names: list[str], results: dict[str, dict[str, object]],
             checks: dict[str, dict[str, object]]) -> list[str]:
    """Gists whose environment has no re-validation yet, or one of another environment (a
    rerun changed it): a gist the batch has not finished is not checked at all."""
    return [n for n in names if n in results
            and checks.get(n, {}).get("emitted") != list(emitted(results[n]))]


def disk_report(log: Path) -> list[str]:
    """Disk per gist, from the batch's ``disk.csv``: what the cache took in while each gist
    ran (its size after the gist plus what was evicted meanwhile, minus its size after the
    gist before; with --jobs 2 that includes what the other job added), the bound, and what
    eviction removed."""
    if not log.exists():
        return ["disk: no disk.csv (a batch of an older driftdoc)"]
    with log.open() as fp:
        rows = list(csv.DictReader(fp))
    if not rows:
        return ["disk: disk.csv is empty"]
    sizes = [int(r["cache_bytes"]) for r in rows]
    growth: dict[str, int] = {}
    # what the cache took in while a gist ran: its size plus all evicted so far, after the
    # gist minus after the one before (samples in between are not baselines)
    marks = [r for r in rows if r["event"] in ("start", "snippet")]
    for before, row in itertools.pairwise(marks):
        if row["event"] == "snippet":
            growth[row["snippet"]] = max(0, int(row["cache_bytes"]) + int(row["evicted_bytes"])
                                         - int(before["cache_bytes"])
                                         - int(before["evicted_bytes"]))
    gib, mib = 1024**3, 1024**2
    last = rows[-1]
    lines = [f"disk: cache {sizes[0] / gib:.2f} GiB at the start, {sizes[-1] / gib:.2f} GiB at "
             f"the end, peak {max(sizes) / gib:.2f} GiB; bound "
             f"{int(last['limit_bytes']) / gib:.2f} GiB; evicted "
             f"{int(last['evicted_bytes']) / gib:.2f} GiB"]
    if growth:
        added = sorted(growth.values())
        top = sorted(growth.items(), key=lambda kv: -kv[1])[:5]
        lines.append(f"disk per gist ({len(added)} gists): mean {statistics.mean(added) / mib:.0f} "
                     f"MiB, median {statistics.median(added) / mib:.0f} MiB, p90 "
                     f"{pct([float(a) for a in added], 0.9) / mib:.0f} MiB; largest: "
                     + ", ".join(f"{n} {v / mib:.0f} MiB" for n, v in top))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--revalidate-jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench-out/hg29k"))
    ap.add_argument("--skip-run", action="store_true", help="only re-validate and report")
    ap.add_argument("--skip-revalidate", action="store_true",
                    help="only run the batch and report its throughput")
    ap.add_argument("--executor", default="local",
                    help="where the batch runs its snippets: local or dask://HOST:PORT")
    ap.add_argument("--dask-workers", type=int, default=0,
                    help="start a loopback Dask scheduler and this many worker processes")
    ap.add_argument("--worker-caches", type=Path, default=None,
                    help="with --dask-workers: each worker's own DRIFTDOC_CACHE_DIR under here "
                         "(default: the workers share this process's cache)")
    ap.add_argument("--reuse-checks", type=Path, default=None,
                    help="another run's OUT: reuse its passing re-validation of a gist whose "
                         "emitted Python, requirements and system packages are identical (same "
                         "snippet, same build)")
    args = ap.parse_args()

    names = sample(DATA / "gists", args.sample, args.seed)
    work = args.out / "gists"
    for name in names:
        dest = work / name
        if not (dest / "snippet.py").exists():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / "gists" / name / "snippet.py", dest / "snippet.py")
    results_dir = args.out / "run"
    before = len(list((results_dir / "results").glob("*.json"))) \
        if (results_dir / "results").is_dir() else 0
    started = time.monotonic()
    if not args.skip_run:
        with contextlib.ExitStack() as stack:
            executor = args.executor
            if args.dask_workers:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from support.dask_cluster import DaskCluster

                cache = None
                if args.worker_caches is None:
                    from driftdoc.env.host.cache import cache_root

                    cache = cache_root()
                cluster = stack.enter_context(DaskCluster(
                    (args.worker_caches or args.out / "dask").resolve(),
                    workers=args.dask_workers, cache=cache))
                executor = f"dask://{cluster.address}"
            batch = subprocess.run([*driftdoc_command(), "run", str(work),
                                    "--output", str(results_dir), "--jobs", str(args.jobs),
                                    "--time-limit", str(args.time_limit),
                                    "--executor", executor], check=False)
        left = [n for n in names if not (results_dir / "results" / f"{n}.json").exists()]
        if batch.returncode not in (0, 1) and left:
            print(f"the batch stopped early (exit {batch.returncode}) with {len(left)} gists "
                  "to go: rerun the same command to resume it", file=sys.stderr)
            return batch.returncode
    wall = time.monotonic() - started
    ran = len(list((results_dir / "results").glob("*.json"))) - before
    if not args.skip_run and ran:
        where = f"{args.dask_workers} Dask worker(s)" if args.dask_workers else args.executor
        print(f"throughput: {ran} gists in {wall:.0f} s on {where}: "
              f"{3600 * ran / wall:.0f} gists/hour")
    if args.skip_revalidate:
        return 0

    results = {}
    for name in names:
        path = results_dir / "results" / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    checks_path = args.out / "revalidated.json"
    checks: dict[str, dict[str, object]] = (
        json.loads(checks_path.read_text()) if checks_path.exists() else {})

    def one(name: str) -> tuple[str, dict[str, object]]:
        r = results.get(name) or {}
        c = check(work / name / "snippet.py", r.get("python"), list(r.get("requirements") or []),
                  system_packages=list(r.get("system_packages") or []),
                  build_constraints=list(r.get("build_constraints") or []))
        return name, {**c.__dict__, "emitted": list(emitted(r))}

    reused = 0
    if args.reuse_checks is not None:
        other = args.reuse_checks
        other_checks = json.loads((other / "revalidated.json").read_text())
        for name in names:
            mine, theirs = results.get(name), other / "run" / "results" / f"{name}.json"
            if mine is None or name not in to_check([name], results, checks) \
                    or name not in other_checks or not theirs.exists():
                continue
            prior = json.loads(theirs.read_text())
            # only passes are reused: a failure may have been the re-validator's own (its
            # sysroot handling changed between runs; a full disk) and is checked again
            if emitted(prior) == emitted(mine) and other_checks[name].get("passed"):
                checks[name] = dict(other_checks[name], reused=True, emitted=list(emitted(mine)))
                reused += 1
    checks = {n: c for n, c in checks.items() if n in results}
    todo = to_check(names, results, checks)
    with ThreadPoolExecutor(max_workers=args.revalidate_jobs) as pool:
        for i, (name, c) in enumerate(pool.map(one, todo), 1):
            checks[name] = c
            if i % 10 == 0 or i == len(todo):
                checks_path.write_text(json.dumps(checks, indent=1))
                print(f"re-validated {i}/{len(todo)}", file=sys.stderr)
    checks_path.write_text(json.dumps(checks, indent=1))

    passed = [n for n in names if checks.get(n, {}).get("passed")]
    secs = [float(results[n].get("seconds") or 0) for n in names if n in results]
    hist: dict[str, int] = {}
    for n in names:
        key = str(checks.get(n, {}).get("category", "missing"))
        hist[key] = hist.get(key, 0) + 1
    tool_classes: dict[str, int] = {}
    for n in names:
        key = str((results.get(n) or {}).get("classification", "missing"))
        tool_classes[key] = tool_classes.get(key, 0) + 1

    print(f"\nHG2.9K sample: {len(names)} gists (seed {args.seed}), jobs {args.jobs}")
    print(f"{'tool':<22}{'pass':>8}{'median s':>10}{'p90 s':>9}")
    print(f"{'driftdoc':<22}{100 * len(passed) / len(names):>7.1f}%"
          f"{statistics.median(secs) if secs else 0:>10.1f}{pct(secs, 0.9):>9.1f}")
    for tool, row in peers(names).items():
        print(f"{tool:<22}{100 * row['pass']:>7.1f}%{row['median']:>10.1f}{row['p90']:>9.1f}")
    print(f"\ndriftdoc total seconds {sum(secs):.0f} (batch wall {wall:.0f})")
    if reused:
        print(f"re-validation reused for {reused} gists with an identical emitted environment "
              f"(from {args.reuse_checks}); {len(todo)} re-validated here")
    with_system = [n for n in names if checks.get(n, {}).get("system_packages")]
    if with_system:
        skipped = sorted({str(p) for n in with_system
                          for p in _listed(checks[n].get("system_skipped"))})
        print(f"{len(with_system)} environments re-validated with system packages unpacked "
              f"from apt (closure parts that would not download: {', '.join(skipped) or 'none'})")
    for line in disk_report(results_dir / "disk.csv"):
        print(line)
    print("re-validation classes:", json.dumps(dict(sorted(hist.items(), key=lambda kv: -kv[1]))))
    print("driftdoc classes:     ",
          json.dumps(dict(sorted(tool_classes.items(), key=lambda kv: -kv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
