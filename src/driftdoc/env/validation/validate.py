"""Run a snippet in a built environment, sandboxed, and return a V2-style validation record.

``validate(snippet, env, *, timeout=30.0, grace=5.0, memory_mb=2048, sandbox="bwrap")``
runs ``env``'s interpreter on :mod:`driftdoc.env.validation.harness` through
:func:`driftdoc.sandbox.run_sandboxed`: no network, a minimal root where the env, the
interpreter and the system-package prefix are read-only, an unprivileged user, a size-capped
tmpfs work dir seeded with a copy of the snippet and the files next to it (bounded: huge or
hidden neighbours are skipped), stdin from ``/dev/null``, one memory limit for the whole
process tree, a process limit and a process-tree kill. The record names the limit that
ended a run (``execution.killed_by``) and keeps the sandbox's details (``sandbox``: its mode,
``none`` for the explicit opt-out). Notebooks are converted to a script first (code cells,
magics and ``!`` lines replaced by ``pass``).

The harness enforces ``timeout`` and the ``grace`` after the snippet's imports completed
itself, so the record (with the stack where it waited) normally comes back; the sandbox kills
everything a little later as a backstop. If no record arrives (a crash, a hard kill), one is
synthesised from the sandbox result. The record names the distribution whose frame raised, using
the env's ``RECORD`` files.

``validate_requirements(snippet, python, requirements, *, as_of=None, index_url=None,
timeout, grace, memory_mb, sandbox, reporter)`` chains resolve -> build -> validate.
Everything here is safe to call from several threads at once. Both return a
:class:`~driftdoc.env.validation.records.ValidationRecord` (``.to_v2_json()``); classify it with
:func:`driftdoc.env.validation.classify.classify`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.snippet.encoding import python2_encoding_problem
from driftdoc.env.snippet.read import read_snippet
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.build import BuiltEnv, using_env
from driftdoc.env.toolchain.installer import InstallError
from driftdoc.env.toolchain.resolve import resolve
from driftdoc.env.validation.records import (
    EXCEPTION,
    FAILED,
    SUCCESS,
    TIMEOUT,
    DependencyResult,
    ExecutionResult,
    ValidationRecord,
)
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.sandbox import (
    Limits,
    Policy,
    SandboxResult,
    describe,
    run_sandboxed,
    sandbox_details,
    scrubbed_env,
)

HARNESS = Path(__file__).with_name("harness.py")
RECORD_TAG = b"@@DRIFTDOC-RECORD@@"
IMPORTS_TAG = b"@@DRIFTDOC-IMPORTS@@"
DEFAULT_TIMEOUT = 30.0
DEFAULT_GRACE = 5.0
DEFAULT_MEMORY_MB = 4096
WORKDIR_MB = 512
NEIGHBOUR_MAX_FILE = 5 * 1024 * 1024
NEIGHBOUR_BUDGET = 32 * 1024 * 1024
NEIGHBOUR_MAX_FILES = 2000
NEIGHBOUR_MAX_ENTRIES = 200  # each is one bind mount on bwrap's command line
TAIL_CHARS = 4000
_SKIP_NAMES = {"__pycache__", ".git", ".hg", ".svn", ".ipynb_checkpoints", "node_modules",
               ".venv", "venv", ".tox"}
# scratch names of driftdoc, pip, uv and tempfile.mkdtemp() ("tmp" + 8 random characters)
_TRANSIENT = re.compile(r"(driftdoc-|pip-|uv-)|tmp[a-z0-9_]{8}$")


# ------------------------------------------------------------------------------ staging

def _dir_size(path: Path, budget: int) -> int | None:
    """Total bytes under ``path``, or ``None`` as soon as it exceeds ``budget`` or the file cap."""
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_NAMES]
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
            files += 1
            if total > budget or files > NEIGHBOUR_MAX_FILES:
                return None
    return total


def neighbours(snippet: Path, exclude: set[str]) -> list[Path]:
    """Files and small directories next to ``snippet`` worth copying into the sandbox."""
    chosen: list[Path] = []
    budget = NEIGHBOUR_BUDGET
    try:
        entries = sorted(snippet.parent.iterdir())
    except OSError:
        return chosen
    for entry in entries:
        if entry.name in exclude or entry.name in _SKIP_NAMES or entry.name.startswith("."):
            continue
        if _TRANSIENT.match(entry.name):
            continue  # scratch of builds running beside a snippet that lives in /tmp
        try:
            if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
                continue
            if entry.is_dir() and (entry / "pyvenv.cfg").exists():
                continue  # someone's virtualenv: never the snippet's data
            size = entry.stat().st_size if entry.is_file() else _dir_size(entry, budget)
        except OSError:
            continue
        if size is None or size > budget or (entry.is_file() and size > NEIGHBOUR_MAX_FILE):
            continue
        budget -= size
        chosen.append(entry)
        if len(chosen) >= NEIGHBOUR_MAX_ENTRIES:
            break
    return chosen


# ------------------------------------------------------------------------------ attribution

_record_maps: dict[str, dict[str, str]] = {}
_record_lock = threading.Lock()


def _file_owners(site: Path) -> dict[str, str]:
    """relative path in site-packages -> distribution name, from every ``RECORD``."""
    key = str(site)
    with _record_lock:
        if key in _record_maps:
            return _record_maps[key]
    owners: dict[str, str] = {}
    for record in site.glob("*.dist-info/RECORD"):
        dist = canonicalize_name(record.parent.name.split("-", 1)[0])
        try:
            lines = record.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            rel = line.split(",", 1)[0]
            if rel:
                owners[os.path.normpath(rel)] = dist
    with _record_lock:
        _record_maps[key] = owners
    return owners


def raising_distribution(env: BuiltEnv, stack: Sequence[Sequence[Any]]) -> str | None:
    """The distribution owning the innermost site-packages frame of ``stack``."""
    site = env.site_packages
    if site is None:
        return None
    owners = _file_owners(site)
    for frame in reversed(stack):
        path = str(frame[0])
        for marker in ("/site-packages/", "/dist-packages/"):
            if marker in path:
                rel = os.path.normpath(path.split(marker, 1)[1])
                if rel.endswith((".pyc", ".pyo")):
                    rel = rel[:-1]
                return owners.get(rel)
    return None


# ------------------------------------------------------------------------------ run

def _text_tail(data: bytes) -> str:
    lines = [ln for ln in data.split(b"\n")
             if not ln.startswith(RECORD_TAG) and not ln.startswith(IMPORTS_TAG)]
    return b"\n".join(lines).decode("utf-8", errors="replace").strip("\n")[-TAIL_CHARS:]


def _parse_record(stdout: bytes) -> dict[str, Any] | None:
    idx = stdout.rfind(b"\n" + RECORD_TAG)
    if idx < 0:
        if not stdout.startswith(RECORD_TAG):
            return None
        idx = -1
    line = stdout[idx + 1 + len(RECORD_TAG):].split(b"\n", 1)[0]
    try:
        data = json.loads(line.decode("ascii", errors="replace"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _execution_from(data: dict[str, Any]) -> ExecutionResult:
    known = set(ExecutionResult.__dataclass_fields__)
    fields = {k: v for k, v in (data.get("execution") or {}).items() if k in known}
    stack = fields.pop("exception_stack", None) or []
    fields["exception_stack"] = [(str(f[0]), int(f[1] or 0), str(f[2]), str(f[3] or ""))
                                 for f in stack if isinstance(f, list | tuple) and len(f) >= 4]
    return ExecutionResult(**fields)


_LIMIT_TEXT = {"memory": "memory limit reached", "processes": "process limit reached",
               "disk": "disk limit reached"}


def _synthesised(res: SandboxResult, imports_done: bool) -> tuple[str, ExecutionResult]:
    if res.timed_out:
        return TIMEOUT, ExecutionResult(
            status_code=TIMEOUT, exception_message="killed by the sandbox time limit",
            imports_completed=imports_done, timeout_phase="hard")
    reason = describe(res)
    if res.killed_reason in _LIMIT_TEXT:
        reason = f"{_LIMIT_TEXT[res.killed_reason]}: {reason}"
    return FAILED, ExecutionResult(status_code="Crash", exception_message=reason,
                                   imports_completed=imports_done, exit_code=res.returncode)


def _killed_by(res: SandboxResult, status: str, execution: ExecutionResult) -> str | None:
    """The limit that ended the run: the sandbox's word, the harness's own time limit, or
    a full work dir the snippet ran into (the harness caught its ENOSPC)."""
    if res.killed_reason is not None:
        return res.killed_reason
    if status == TIMEOUT:
        return "timeout"
    if "[Errno 28]" in (execution.exception_message or "") or \
            "No space left on device" in (execution.exception_message or ""):
        return "disk"
    return None


def _python2_refuses(path: Path, kind: str, python: str) -> ExecutionResult | None:
    """The SyntaxError ``python2 snippet.py`` raises before running anything, which the
    harness's ``compile()`` of the bytes would not raise (a notebook's cells are text)."""
    if kind != "py" or not python.startswith("2."):
        return None
    problem = python2_encoding_problem(path.read_bytes(), path.name)
    if problem is None:
        return None
    return ExecutionResult(
        status_code=EXCEPTION, exception_name="SyntaxError", exception_message=problem.message,
        exception_file_name=str(path), exception_line_number=problem.line,
        exception_line=problem.text,
        exception_stack=[(str(path), problem.line, "<module>", problem.text)])


def validate(
    snippet: Path | str,
    env: BuiltEnv,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    grace: float | None = DEFAULT_GRACE,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    sandbox: str = "bwrap",
) -> ValidationRecord:
    """Run ``snippet`` with ``env`` in the sandbox; see the module docstring."""
    start = time.perf_counter()
    path = Path(snippet).resolve()
    source = read_snippet(path)  # InputError for anything that is not a snippet
    meta: dict[str, Any] = {"python": env.python, "pins": list(env.pins), "snippet": str(path),
            "env_path": str(env.path)}
    if not env.ok:
        rec = ValidationRecord.install_failed(list(env.install_errors), **meta)
        rec.seconds = time.perf_counter() - start
        return rec
    if timeout <= 0:
        raise InputError(f"the timeout must be positive, got {timeout}")
    refused = _python2_refuses(path, source.kind, env.python)
    if refused is not None:
        return ValidationRecord(status_code=FAILED, dependencies=DependencyResult(SUCCESS, []),
                                execution=refused, seconds=time.perf_counter() - start, **meta)
    if sandbox not in ("bwrap", "none"):
        raise InputError(f"unknown sandbox {sandbox!r}; use bwrap or none")
    policy_mode = "bwrap" if sandbox == "bwrap" else "none"

    tmp = Path(tempfile.mkdtemp(prefix="driftdoc-validate-"))
    try:
        ctl = tmp / "ctl"
        stage = tmp / "stage"
        work = tmp / "work"
        for d in (ctl, stage, work):
            d.mkdir()
        shutil.copyfile(HARNESS, ctl / "harness.py")
        if source.kind == "ipynb":
            script_name = path.stem + ".py"
            (stage / script_name).write_text(source.source, encoding="utf-8")
            script = stage / script_name
        else:
            script_name = path.name
            script = path
        seeds = [*neighbours(path, {path.name, script_name}), script]

        # the sandbox adds what the interpreter really resolves to (its pyenv/uv folder)
        ro = [ctl, env.path]
        if env.system_root is not None:
            ro.append(env.system_root.path)
        policy = Policy(mode=policy_mode, network=False, ro_binds=tuple(ro))  # type: ignore[arg-type]
        inside = policy.workdir_path(work)
        backstop = timeout + min(15.0, max(5.0, timeout * 0.25))  # harness first, even under load
        limits = Limits(timeout=backstop, memory_mb=memory_mb, workdir_mb=WORKDIR_MB,
                        tail_bytes=256 * 1024)
        argv = [str(env.python_exe), "-s", str(ctl / "harness.py"),
                "--snippet", f"{inside}/{script_name}",
                "--grace", str(grace or 0), "--timeout", str(timeout)]
        # One BLAS/OpenMP thread: a shared machine, deterministic runs, and far less virtual
        # memory reserved under the RLIMIT_AS memory cap.
        run_env = scrubbed_env(extra={"PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1",
                                      "MPLBACKEND": "Agg", "LANG": "C.UTF-8",
                                      "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                      "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"})
        if env.system_root is not None:  # its libraries and GObject typelibs
            run_env.update(env.system_root.run_env())
        # a neighbour may vanish meanwhile (another process's scratch): not the snippet's
        seeds = [s for s in seeds if s == script or s.exists()]
        res = run_sandboxed(argv, workdir=work, policy=policy, limits=limits, env=run_env,
                            workdir_mode="tmpfs", seed=seeds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    data = _parse_record(res.stdout_tail)
    if data is not None:
        status = str(data.get("status_code", FAILED))
        execution = _execution_from(data)
    else:
        status, execution = _synthesised(res, IMPORTS_TAG in res.stdout_tail)
    execution.killed_by = _killed_by(res, status, execution)
    execution.stdout_tail = _text_tail(res.stdout_tail)
    execution.stderr_tail = _text_tail(res.stderr_tail)
    if execution.raised_in_package:
        execution.raising_distribution = raising_distribution(env, execution.exception_stack)
    called = str(((data or {}).get("execution") or {}).get("called_path") or "")
    if execution.called_module and called:
        execution.called_distribution = raising_distribution(env, [(called, 0, "", "")])
    if data is None or not execution.duration:
        execution.duration = round(res.duration, 4)
    details = sandbox_details(res, policy)
    details["killed_by"] = execution.killed_by
    return ValidationRecord(status_code=status, dependencies=DependencyResult(SUCCESS, []),
                            execution=execution, seconds=time.perf_counter() - start,
                            sandbox=details, **meta)


def validate_requirements(
    snippet: Path | str,
    python: str,
    requirements: Sequence[str],
    *,
    as_of: date | datetime | None = None,
    index_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    grace: float | None = DEFAULT_GRACE,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    sandbox: str = "bwrap",
    reporter: Reporter = null_reporter,
) -> ValidationRecord:
    """resolve -> using_env -> validate; resolution failures become install failures."""
    start = time.perf_counter()
    read_snippet(snippet)  # bad input fails fast, before any resolution or build
    resolution = resolve(python, requirements, as_of=as_of, index_url=index_url,
                         reporter=reporter)
    for warning in [*resolution.warnings, *resolution.lenient]:
        reporter(Note(warning, level="warning"))
    if not resolution.ok:
        error = resolution.error or "resolution failed"
        failing = failing_requirement(error, list(requirements))
        rec = ValidationRecord.install_failed(
            [InstallError(failing, "resolution failed:\n" + error)], python=python,
            pins=[], snippet=str(snippet))
        rec.seconds = time.perf_counter() - start
        return rec
    with using_env(python, resolution.pins, index_url=index_url, reporter=reporter) as env:
        reporter(Note(f"running {Path(snippet).name} in the sandbox"))
        rec = validate(snippet, env, timeout=timeout, grace=grace, memory_mb=memory_mb,
                       sandbox=sandbox)
    rec.seconds = time.perf_counter() - start
    return rec
