"""Options shared by ``run``, ``validate`` and ``explain``: one name, one default, one help.

Each is an ``Annotated`` type; a command declares ``timeout: TimeoutOpt = limits.TIMEOUT``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PythonOpt = Annotated[str | None, typer.Option(
    "--python", "-p", metavar="X.Y", help="Pin the Python version.")]
AsOfOpt = Annotated[str | None, typer.Option(
    metavar="DATE", help="Resolve as of this date (YYYY-MM-DD).")]
BudgetOpt = Annotated[int, typer.Option(
    metavar="N", help="Most validations the repair search may make.")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    metavar="SECONDS", help="Seconds per snippet for the whole search (a batch: 120).")]
TimeoutOpt = Annotated[float, typer.Option(
    metavar="SECONDS", help="Seconds one validation may run the snippet.")]
MemoryOpt = Annotated[int, typer.Option(
    metavar="MB", help="Memory limit of one validation run, in MB.")]
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", metavar="N", help="Parallel validations (a batch: snippets at once).")]
StoreOpt = Annotated[Path, typer.Option(
    "--store", metavar="FILE", help="Provenance store (SQLite).")]
IndexOpt = Annotated[str | None, typer.Option(
    metavar="URL", help="Package index (PEP 691 simple API).")]
SandboxOpt = Annotated[str, typer.Option(
    metavar="bwrap|none", help="Run snippets under bubblewrap, or without a sandbox.")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="DIR", help="Write every output format and report.html here.")]
HashesOpt = Annotated[bool, typer.Option(
    "--hashes", help="Give each pin of requirements.txt its --hash lines (for pip "
    "--require-hashes).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show each validation.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def check_limits(*, budget: int | None = None, jobs: int | None = None,
                 timeout: float | None = None, memory_mb: int | None = None,
                 time_limit: float | None = None, sandbox: str | None = None) -> None:
    """One-line errors for out-of-range limits, worded alike in every command."""
    from driftdoc.errors import InputError

    if budget is not None and budget < 1:
        raise InputError("--budget must be 1 or more")
    if jobs is not None and jobs < 1:
        raise InputError("--jobs must be 1 or more")
    if timeout is not None and timeout <= 0:
        raise InputError("--timeout must be more than 0 seconds")
    if memory_mb is not None and memory_mb < 64:
        raise InputError("--memory-mb must be at least 64")
    if time_limit is not None and time_limit <= 0:
        raise InputError("--time-limit must be more than 0 seconds")
    if sandbox is not None and sandbox not in ("bwrap", "none"):
        raise InputError("--sandbox must be bwrap or none")
