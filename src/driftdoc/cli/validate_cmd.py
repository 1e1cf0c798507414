"""``driftdoc validate``: build (or reuse) an environment and run a snippet in the sandbox."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from driftdoc.cli.app import app, err, out
from driftdoc.env.validation.classify import classify
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.errors import InputError
from driftdoc.events import Event


def _read_requirements(files: list[Path]) -> list[str]:
    reqs: list[str] = []
    for path in files:
        try:
            text = path.read_text()
        except OSError as exc:
            raise InputError(f"cannot read requirements file {path}: "
                             f"{exc.strerror or exc}") from exc
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


def _render(record: ValidationRecord) -> None:
    verdict = classify(record)
    ex = record.execution
    colour = "green" if verdict.env_ok else "red"
    out.print(f"[bold {colour}]{'environment OK' if verdict.env_ok else 'environment FAILED'}"
              f"[/] ({verdict.category.value}) on Python {record.python} "
              f"[dim]in {record.seconds:.2f}s[/]", highlight=False)
    if not ex.exception_name or verdict.env_ok:
        out.print(f"  {verdict.reason}", highlight=False, markup=False)
    if verdict.responsible:
        out.print(f"  responsible: [bold]{verdict.responsible}[/]", highlight=False)
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
        out.print(f"  [dim]pins: {' '.join(record.pins)}[/]", highlight=False)


@app.command()
def validate(
    snippet: Annotated[Path, typer.Argument(help="The snippet (.py or .ipynb).")],
    python: Annotated[str, typer.Option("--python", "-p", help="Python version, e.g. 3.8.")],
    requirement_files: Annotated[list[Path] | None, typer.Option(
        "--requirements", "-r", help="requirements.txt (pins or ranges); repeatable.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    timeout: Annotated[float, typer.Option(help="Time limit of the run, seconds.")] = 30.0,
    grace: Annotated[float, typer.Option(
        help="Time allowed after the imports completed, seconds (0: no grace limit).")] = 5.0,
    memory_mb: Annotated[int, typer.Option(help="Memory limit of the run, MB.")] = 4096,
    index_url: Annotated[str | None, typer.Option(help="Package index (simple API).")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="Resolve as of this date (YYYY-MM-DD).")] = None,
    sandbox: Annotated[str, typer.Option(help="bwrap or none.")] = "bwrap",
) -> None:
    """Resolve, build (or reuse) an environment, and run SNIPPET in the sandbox.

    Exit status: 0 when the environment works, 1 when it does not, 2 on bad input.
    """
    from driftdoc.env.validation.validate import validate_requirements

    if fmt not in ("text", "json"):
        raise InputError(f"unknown format {fmt!r}; use text or json")
    when = None
    if as_of:
        try:
            when = date.fromisoformat(as_of)
        except ValueError as exc:
            raise InputError(f"--as-of expects YYYY-MM-DD, not {as_of!r}") from exc
    reqs = _read_requirements(requirement_files or [])
    if fmt == "text":
        err.print(f"[dim]validating {snippet} on Python {python} "
                  f"with {len(reqs)} requirement(s)...[/]", highlight=False)
    def report(event: Event) -> None:
        if fmt == "text":
            colour = "yellow" if getattr(event, "level", "info") == "warning" else "dim"
            err.print(f"[{colour}]{event.describe()}[/]", highlight=False)

    record = validate_requirements(snippet, python, reqs, as_of=when, index_url=index_url,
                                   timeout=timeout, grace=grace or None, memory_mb=memory_mb,
                                   sandbox=sandbox, reporter=report)
    verdict = classify(record)
    if fmt == "json":
        doc = record.to_v2_json()
        doc["classification"] = verdict.to_json()
        out.print_json(json.dumps(doc))
    else:
        _render(record)
    raise typer.Exit(0 if verdict.env_ok else 1)
