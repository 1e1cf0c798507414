"""``driftdoc validate``: build (or reuse) an environment and run a snippet in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from driftdoc import limits
from driftdoc.cli.app import app, err, out, say
from driftdoc.cli.options import (
    AsOfOpt,
    IndexOpt,
    MemoryOpt,
    QuietOpt,
    SandboxOpt,
    TimeoutOpt,
    check_limits,
)
from driftdoc.cli.run_cmd import parse_date
from driftdoc.env.validation.failure import classify
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.errors import InputError
from driftdoc.events import Event, Note
from driftdoc.reqfile import read_requirements


def _render(record: ValidationRecord) -> None:
    verdict = classify(record)
    ex = record.execution
    colour = "green" if verdict.env_ok else "red"
    say(out, f"({verdict.category.value}) on Python {record.python} in {record.seconds:.2f}s",
        label="environment OK" if verdict.env_ok else "environment FAILED",
        label_style=f"bold {colour}")
    if not ex.exception_name or verdict.env_ok:
        out.print(f"  {verdict.reason}", highlight=False, markup=False)
    if verdict.responsible:
        say(out, verdict.responsible, style="bold", label="  responsible:")
    if ex.exception_name:
        where = f"{ex.exception_file_name}:{ex.exception_line_number}"
        out.print(f"  {ex.exception_name}: {ex.exception_message}", highlight=False,
                  markup=False)
        out.print(f"    at {where}", style="dim", highlight=False, markup=False)
        if ex.exception_line:
            out.print(f"    {ex.exception_line}", highlight=False, markup=False)
    for error in record.dependencies.install_errors:
        out.print(f"  install error ({error.requirement or 'unknown requirement'}):",
                  highlight=False, markup=False)
        for line in error.message.splitlines()[-8:]:
            out.print(f"    {line}", highlight=False, markup=False)
    if record.pins:
        say(out, f"  pins: {' '.join(record.pins)}", style="dim")


@app.command("validate")
def validate(
    snippet: Annotated[Path, typer.Argument(
        metavar="SNIPPET", help="The snippet (.py or .ipynb).")],
    python: Annotated[str, typer.Option(
        "--python", "-p", metavar="X.Y", help="The Python version to validate on.")],
    requirement_files: Annotated[list[Path] | None, typer.Option(
        "--requirements", "-r", metavar="FILE",
        help="A pip requirements file (pip-compile output, -r includes, --hash lines are "
             "fine); repeatable.")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")]
    = "text",
    timeout: TimeoutOpt = limits.TIMEOUT,
    grace: Annotated[float, typer.Option(
        metavar="SECONDS",
        help="Time allowed after the imports completed (0: no grace limit).")] = limits.GRACE,
    memory_mb: MemoryOpt = limits.MEMORY_MB,
    index_url: IndexOpt = None,
    as_of: AsOfOpt = None,
    sandbox: SandboxOpt = "bwrap",
    quiet: QuietOpt = False,
) -> None:
    """Resolve, build (or reuse) an environment, and run SNIPPET in the sandbox.

    Exit status: 0 when the environment works, 1 when it does not, 2 on bad input.
    """
    from driftdoc.environments import validate as validate_api

    if fmt not in ("text", "json"):
        raise InputError(f"unknown format {fmt!r}; use text or json")
    check_limits(timeout=timeout, memory_mb=memory_mb, sandbox=sandbox)
    if grace < 0:
        raise InputError("--grace must not be negative")
    when = parse_date(as_of)
    if not snippet.exists():
        raise InputError(f"{snippet} does not exist")
    parsed = read_requirements(requirement_files or [])
    reqs = parsed.requirements
    talk = fmt == "text" and not quiet

    def report(event: Event) -> None:
        if talk:
            warning = getattr(event, "level", "info") == "warning"
            say(err, event.describe(), style="yellow" if warning else "dim")

    for note in parsed.notes:
        report(Note(note, level="warning"))
    if talk:
        say(err, f"validating {snippet} on Python {python} with {len(reqs)} "
            "requirement(s)...", style="dim")

    result = validate_api(snippet, python, reqs, as_of=when, index_url=index_url,
                          timeout=timeout, grace=grace or None, memory_mb=memory_mb,
                          sandbox=sandbox, reporter=report)
    if fmt == "json":
        out.print_json(json.dumps(result.to_json()))
    else:
        _render(result.record)
    raise typer.Exit(0 if result.env_ok else 1)
