"""Time per validation: driftdoc (cold cache / warm cache rebuild / reused env) vs pip + venv.

Run from the repository root (needs the real PyPI)::

    python benchmarks/validation.py                  # py3 (newest installed >= 3.8) and 2.7
    python benchmarks/validation.py --python 3.11 --repeat 5 --json out.json

Each case validates the same snippet importing three small pure-Python packages
(requests, six, python-dateutil) end to end:

- ``cold``: an empty ``$DRIFTDOC_CACHE_DIR`` (resolution, downloads, env build, sandboxed run;
  for 2.7 also the one-time tool venv with ``virtualenv<20.22``).
- ``warm``: environments deleted, every other cache kept (resolution cache, uv cache / 2.7
  wheelhouse): the env is rebuilt, then the snippet runs in the sandbox.
- ``reused``: the env exists: only the sandboxed run (plus the cache look-ups).
- ``baseline``: ``python -m venv`` (``virtualenv`` for 2.7) + ``pip install`` of the same
  three names + ``python snippet.py`` (no sandbox), with pip's cache warm (a cold first
  baseline run is reported too). pip runs ``--isolated`` against PyPI, like driftdoc.

Medians of ``--repeat`` runs (cold: one run). Ratios are baseline(warm pip cache) / case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNIPPET = """\
import six
import requests
from dateutil import parser, relativedelta

when = parser.parse("2019-03-04T05:06:07")
later = when + relativedelta.relativedelta(months=+1)
req = requests.Request("GET", "https://example.org", params={"q": six.text_type("x")})
print(later.isoformat(), req.prepare().url)
"""
REQUIREMENTS = ["requests", "six", "python-dateutil"]
PYPI = "https://pypi.org/simple"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_driftdoc(python: str, snippet: Path, cache_dir: Path, repeat: int) -> dict[str, float]:
    os.environ["DRIFTDOC_CACHE_DIR"] = str(cache_dir)
    from driftdoc.env.validation.classify import classify
    from driftdoc.env.validation.validate import validate_requirements

    def once() -> float:
        start = time.perf_counter()
        rec = validate_requirements(snippet, python, REQUIREMENTS, index_url=PYPI)
        took = time.perf_counter() - start
        if rec.status_code != "Success":
            raise SystemExit(f"driftdoc validation failed on {python}: "
                             f"{json.dumps(rec.to_v2_json(), indent=1)[:3000]}")
        assert classify(rec).env_ok
        return took

    shutil.rmtree(cache_dir, ignore_errors=True)
    cold = once()
    warm = []
    for _ in range(repeat):
        shutil.rmtree(cache_dir / "envs", ignore_errors=True)
        warm.append(once())
    reused = [once() for _ in range(repeat)]
    return {"cold": cold, "warm": _median(warm), "reused": _median(reused)}


def bench_baseline(python: str, interp: Path, snippet: Path, work: Path,
                   repeat: int) -> dict[str, float]:
    pip_cache = work / "pip-cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV"))}
    env["PIP_CACHE_DIR"] = str(pip_cache)

    def once() -> float:
        venv = work / "venv"
        shutil.rmtree(venv, ignore_errors=True)
        start = time.perf_counter()
        if python == "2.7":
            from driftdoc.env.toolchain.py27 import py27_tool

            create = [str(py27_tool()), "-m", "virtualenv", "-q", "--no-periodic-update",
                      "-p", str(interp), str(venv)]
        else:
            create = [str(interp), "-m", "venv", str(venv)]
        subprocess.run(create, check=True, env=env, capture_output=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--isolated",
                        "--disable-pip-version-check", "--index-url", PYPI, *REQUIREMENTS],
                       check=True, env=env, capture_output=True)
        subprocess.run([str(venv / "bin" / "python"), str(snippet)], check=True, env=env,
                       capture_output=True, cwd=snippet.parent)
        return time.perf_counter() - start

    shutil.rmtree(pip_cache, ignore_errors=True)
    cold = once()
    warm = [once() for _ in range(repeat)]
    return {"cold": cold, "warm": _median(warm)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", help="X.Y (repeatable); default: py3 + 2.7")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()

    from driftdoc.env.host.interpreters import discover, find

    if args.python:
        versions = args.python
    else:
        found = {i.version for i in discover()}
        py3 = sorted((v for v in found if v.startswith("3.") and int(v.split(".")[1]) >= 8),
                     key=lambda v: int(v.split(".")[1]))
        versions = ([py3[-1]] if py3 else []) + (["2.7"] if "2.7" in found else [])
        if "3.11" in found:
            versions[0] = "3.11"

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="driftdoc-bench-") as tmp:
        root = Path(tmp)
        snippet = root / "snippet" / "snippet.py"
        snippet.parent.mkdir()
        snippet.write_text(SNIPPET)
        for python in versions:
            print(f"benchmarking Python {python} ...", file=sys.stderr, flush=True)
            ours = bench_driftdoc(python, snippet, root / f"cache-{python}", args.repeat)
            base = bench_baseline(python, find(python).path, snippet, root / f"base-{python}",
                                  args.repeat)
            results[python] = {**ours, "baseline_cold": base["cold"],
                               "baseline_warm": base["warm"]}

    header = (f"{'python':<7} {'case':<26} {'seconds':>8} {'vs baseline':>12}")
    print(f"driftdoc validation benchmark: {platform.node()} {platform.machine()}, "
          f"{os.cpu_count()} cpus, repeat={args.repeat}")
    print(header)
    print("-" * len(header))
    for python, r in results.items():
        base = r["baseline_warm"]
        rows = [("driftdoc cold cache", r["cold"]), ("driftdoc warm cache rebuild", r["warm"]),
                ("driftdoc reused env", r["reused"]),
                ("pip+venv (cold pip cache)", r["baseline_cold"]),
                ("pip+venv (warm pip cache)", base)]
        for name, secs in rows:
            print(f"{python:<7} {name:<26} {secs:>8.3f} {base / secs:>11.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(),
                                         "repeat": args.repeat, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
