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

``--old-sandbox REF`` (default ``2b29366``, the last commit before the minimal-root
sandbox) also times the ``warm`` and ``reused`` cases, and a bare ``true``, under the
sandbox of that commit (its ``sandbox.py`` is read with ``git show``), interleaved with the
current sandbox in the same invocation, so the cost of the stricter sandbox is measured
side by side. ``--old-sandbox ''`` skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def load_old_sandbox(ref: str, where: Path) -> Any:
    """The ``sandbox.py`` of ``ref`` as a module (it imports only ``driftdoc.errors``)."""
    text = subprocess.run(["git", "show", f"{ref}:src/driftdoc/sandbox.py"], check=True,
                          capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent).stdout
    path = where / "old_sandbox.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("driftdoc_old_sandbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def old_runner(old: Any) -> Callable[..., Any]:
    """``run_sandboxed`` with today's signature, running the old sandbox."""
    from driftdoc import sandbox

    def run(argv: list[str], *, workdir: Path, policy: Any = None, limits: Any = None,
            env: Any = None, workdir_mode: str = "bind", seed: Any = (),
            stdin: bytes | None = None) -> Any:
        policy = policy or sandbox.Policy()
        limits = limits or sandbox.Limits()
        res = old.run_sandboxed(
            argv, workdir=workdir,
            policy=old.Policy(mode=policy.mode, network=policy.network,
                              ro_binds=policy.ro_binds),
            limits=old.Limits(timeout=limits.timeout, memory_mb=limits.memory_mb,
                              workdir_mb=limits.workdir_mb, tail_bytes=limits.tail_bytes),
            env=env, workdir_mode=workdir_mode, seed=seed, stdin=stdin)
        return sandbox.SandboxResult(
            returncode=res.returncode, timed_out=res.timed_out,
            killed_reason=res.killed_reason, stdout_tail=res.stdout_tail,
            stderr_tail=res.stderr_tail, duration=res.duration,
            sandbox_startup=res.sandbox_startup, signal=res.signal,
            stdout_bytes=res.stdout_bytes, stderr_bytes=res.stderr_bytes,
            workdir=res.workdir, mode=policy.mode)

    return run


@contextlib.contextmanager
def using(runner: Callable[..., Any] | None) -> Iterator[None]:
    """Validations inside run through ``runner`` (``None``: today's sandbox)."""
    from driftdoc.env.validation import validate as module

    saved = module.run_sandboxed
    if runner is not None:
        module.run_sandboxed = runner  # type: ignore[assignment]
    try:
        yield
    finally:
        module.run_sandboxed = saved


def bench_startup(runners: dict[str, Callable[..., Any] | None], work: Path,
                  repeat: int) -> dict[str, dict[str, float]]:
    """A bare ``true`` under each sandbox: wall time of the call and in-sandbox start-up."""
    from driftdoc.sandbox import Limits, run_sandboxed

    out: dict[str, dict[str, list[float]]] = {k: {"call": [], "startup": []} for k in runners}
    work.mkdir(parents=True, exist_ok=True)
    for _ in range(max(5, repeat * 3)):
        for name, runner in runners.items():
            run = runner or run_sandboxed
            res = run(["true"], workdir=work, limits=Limits(memory_mb=2048))
            out[name]["call"].append(res.duration)
            out[name]["startup"].append(res.sandbox_startup or float("nan"))
    return {k: {m: _median(v) for m, v in d.items()} for k, d in out.items()}


def bench_driftdoc(python: str, snippet: Path, cache_dir: Path, repeat: int,
                   runners: dict[str, Callable[..., Any] | None]) -> dict[str, float]:
    os.environ["DRIFTDOC_CACHE_DIR"] = str(cache_dir)
    from driftdoc.env.validation.failure import classify
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
    warm: dict[str, list[float]] = {name: [] for name in runners}
    reused: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeat):  # the sandboxes take turns, so load affects them alike
        for name, runner in runners.items():
            with using(runner):
                shutil.rmtree(cache_dir / "envs", ignore_errors=True)
                warm[name].append(once())
                reused[name].append(once())
    out = {"cold": cold}
    for name in runners:
        suffix = "" if name == "new" else f"_{name}"
        out[f"warm{suffix}"] = _median(warm[name])
        out[f"reused{suffix}"] = _median(reused[name])
    return out


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
    ap.add_argument("--old-sandbox", default="2b29366", metavar="REF",
                    help="also time the sandbox of this commit ('' to skip)")
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
    startup: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="driftdoc-bench-") as tmp:
        root = Path(tmp)
        runners: dict[str, Callable[..., Any] | None] = {"new": None}
        if args.old_sandbox:
            runners["old"] = old_runner(load_old_sandbox(args.old_sandbox, root))
        snippet = root / "snippet" / "snippet.py"
        snippet.parent.mkdir()
        snippet.write_text(SNIPPET)
        startup = bench_startup(runners, root / "startup", args.repeat)
        for python in versions:
            print(f"benchmarking Python {python} ...", file=sys.stderr, flush=True)
            ours = bench_driftdoc(python, snippet, root / f"cache-{python}", args.repeat,
                                  runners)
            base = bench_baseline(python, find(python).path, snippet, root / f"base-{python}",
                                  args.repeat)
            results[python] = {**ours, "baseline_cold": base["cold"],
                               "baseline_warm": base["warm"]}

    header = (f"{'python':<7} {'case':<34} {'seconds':>8} {'vs baseline':>12}")
    print(f"driftdoc validation benchmark: {platform.node()} {platform.machine()}, "
          f"{os.cpu_count()} cpus, repeat={args.repeat}, load {os.getloadavg()[0]:.1f}")
    for name, figures in startup.items():
        label = "today's sandbox" if name == "new" else f"old sandbox ({args.old_sandbox})"
        print(f"bare `true` under {label}: {figures['call']:.4f} s per call, "
              f"{figures['startup']:.4f} s until the command starts")
    print(header)
    print("-" * len(header))
    for python, r in results.items():
        base = r["baseline_warm"]
        rows = [("driftdoc cold cache", r["cold"]), ("driftdoc warm cache rebuild", r["warm"]),
                ("driftdoc reused env", r["reused"])]
        if "warm_old" in r:
            rows += [("  same, old sandbox: warm rebuild", r["warm_old"]),
                     ("  same, old sandbox: reused env", r["reused_old"])]
        rows += [("pip+venv (cold pip cache)", r["baseline_cold"]),
                 ("pip+venv (warm pip cache)", base)]
        for name, secs in rows:
            print(f"{python:<7} {name:<34} {secs:>8.3f} {base / secs:>11.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(),
                                         "repeat": args.repeat, "old_sandbox": args.old_sandbox,
                                         "startup": startup, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
