"""``driftdoc run``: a working environment for a snippet (or a folder of snippets)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from driftdoc.cli.app import app, err, out
from driftdoc.env.emit.files import FORMATS, render, write_all
from driftdoc.env.search.repair import DEFAULT_BUDGET
from driftdoc.env.search.result import EnvResult
from driftdoc.errors import InputError
from driftdoc.events import Event, Note
from driftdoc.store import DEFAULT_PATH, Store


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of wants a date like 2019-06-01, got {text!r}") from None


class RunReporter:
    """Status line on stderr: what is being tried and why; ``verbose`` lists each validation."""

    def __init__(self, *, verbose: bool, quiet: bool) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self._status = err.status("inspecting the snippet", spinner="dots") if not quiet else None

    def __enter__(self) -> RunReporter:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        text = event.describe()
        from driftdoc.env.search.repair import Tried
        from driftdoc.env.search.runner import ValidationFinished

        if isinstance(event, Tried) and self._status is not None:
            self._status.update(f"{text[:110]}")
        if isinstance(event, Note):
            err.print(f"[dim]{text}[/]", highlight=False)
        elif self.verbose and isinstance(event, ValidationFinished | Tried):
            err.print(f"  {text}", highlight=False, markup=False)


@app.command("run")
def run_command(
    target: Annotated[Path, typer.Argument(help="SNIPPET.py/.ipynb, or a folder of snippets")],
    python: Annotated[str | None, typer.Option(help="pin the Python version (X.Y)")] = None,
    as_of: Annotated[str | None, typer.Option(help="resolve as of this date (YYYY-MM-DD)")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help=", ".join(FORMATS))] = "dockerfile",
    output: Annotated[Path | None, typer.Option(help="write every format into this folder")]
    = None,
    budget: Annotated[int, typer.Option(help="most validations per snippet")] = DEFAULT_BUDGET,
    time_limit: Annotated[float | None, typer.Option(
        help="seconds per snippet (batch default 120)")] = None,
    run_timeout: Annotated[float, typer.Option(
        help="seconds one validation may run the snippet")] = 20.0,
    memory_mb: Annotated[int, typer.Option(help="memory limit of one validation run (MB)")]
    = 2048,
    jobs: Annotated[int, typer.Option(help="parallel validations, or snippets in a batch")] = 1,
    store_path: Annotated[Path, typer.Option("--store", help="provenance store")] = DEFAULT_PATH,
    index_url: Annotated[str | None, typer.Option(help="package index (PEP 691)")] = None,
    sandbox: Annotated[str, typer.Option(help="bwrap or none")] = "bwrap",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show each validation")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress output")] = False,
    checkpoint: Annotated[Path | None, typer.Option(
        hidden=True, help="keep the best result so far in this file (batch mode uses it)")]
    = None,
) -> None:
    """Infer, validate and repair the environment a snippet needs (exit 0 if one works)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if budget < 1:
        raise InputError("--budget must be 1 or more")
    if jobs < 1:
        raise InputError("--jobs must be 1 or more")
    if memory_mb < 64:
        raise InputError("--memory-mb must be at least 64")
    if sandbox not in ("bwrap", "none"):
        raise InputError("--sandbox must be bwrap or none")
    when = parse_date(as_of)
    if not target.exists():
        raise InputError(f"{target} does not exist")
    if python is not None:
        from driftdoc.env.host.interpreters import find

        python = find(python).version
    if target.is_dir():
        _batch(target, output, jobs=jobs, time_limit=time_limit or 120.0, python=python,
               as_of=as_of, budget=budget, run_timeout=run_timeout, index_url=index_url,
               sandbox=sandbox, verbose=verbose, quiet=quiet, memory_mb=memory_mb)
        return
    if sandbox == "bwrap":
        from driftdoc.sandbox import check_bwrap

        check_bwrap()
    from driftdoc.env.search.runner import run_snippet

    store = Store(store_path)
    save = None
    if checkpoint is not None:
        from driftdoc.env.search.batch import write_atomic

        def save(partial: EnvResult) -> None:
            write_atomic(checkpoint, partial.to_json())

    try:
        with RunReporter(verbose=verbose, quiet=quiet) as reporter:
            result = run_snippet(target, python=python, as_of=when, budget=budget,
                                 time_limit=time_limit, jobs=jobs, store=store,
                                 index_url=index_url, run_timeout=run_timeout, sandbox=sandbox,
                                 memory_mb=memory_mb, reporter=reporter, checkpoint=save)
    finally:
        store.close()
    _report(result, fmt, output, quiet=quiet)
    raise typer.Exit(0 if result.resolved else 1)


def _report(result: EnvResult, fmt: str, output: Path | None, *, quiet: bool) -> None:
    if output is not None:
        written = write_all(result, output)
        if not quiet:
            err.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
    if fmt == "json":
        out.print(json.dumps(result.to_json(), indent=2), markup=False, highlight=False)
    elif result.python or fmt != "dockerfile":
        out.print(render(result, fmt), markup=False, highlight=False, end="")
    if quiet:
        return
    for fix in result.drift:
        err.print(f"[yellow]drift:[/] {fix.package} {fix.from_version} -> {fix.to_version} "
                  f"fixed {fix.exception_name}", highlight=False)
    for note in result.caveats:
        err.print(f"[yellow]caveat:[/] {note}", highlight=False)
    if result.system_packages:
        err.print(f"[yellow]system packages:[/] {' '.join(result.system_packages)} "
                  "(apt-get install them; the Dockerfile does)", highlight=False)
    if result.resolved:
        err.print(f"[green]resolved[/] with {result.validations} validation(s) in "
                  f"{result.seconds:.1f}s", highlight=False)
    else:
        err.print(f"[red]unresolved[/]: {result.reason}", highlight=False)


def _batch(root: Path, output: Path | None, *, jobs: int, time_limit: float, python: str | None,
           as_of: str | None, budget: int, run_timeout: float, index_url: str | None,
           sandbox: str, verbose: bool, quiet: bool, memory_mb: int) -> None:
    from driftdoc.env.search.batch import SnippetDone, env_ok, find_snippets, run_batch

    if not find_snippets(root):
        raise InputError(f"no snippets (*.py, *.ipynb or */snippet.py) in {root}")
    out_dir = output or (root / ".driftdoc-batch")
    child: list[str] = ["--budget", str(budget), "--run-timeout", str(run_timeout),
                        "--memory-mb", str(memory_mb),
                        "--sandbox", sandbox, "--store", str(out_dir / "store.db")]
    if python:
        child += ["--python", python]
    if as_of:
        child += ["--as-of", as_of]
    if index_url:
        child += ["--index-url", index_url]
    progress = Progress(TextColumn("[bold blue]snippets"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                        console=err, disable=quiet)
    task = progress.add_task("batch", total=None, rate="")

    def reporter(event: Event) -> None:
        if isinstance(event, SnippetDone):
            rate = f"env ok {event.passed}/{event.done} ({100 * event.passed / event.done:.0f}%)"
            progress.update(task, completed=event.done, total=event.total, rate=rate)
            if verbose:
                progress.console.print(f"  {event.describe()}", highlight=False, markup=False)
        elif isinstance(event, Note):
            progress.console.print(f"[yellow]{escape(event.text)}[/]", highlight=False)

    with progress:
        summary = run_batch(root, out_dir, jobs=jobs, time_limit=time_limit, child_args=child,
                            reporter=reporter)
    table = Table("outcome", "snippets", title=f"driftdoc run {root}")
    for key, n in summary.counts().items():
        table.add_row(key, str(n))
    ok = sum(env_ok(r) for r in summary.results.values())
    resolved = sum(r.get("status") == "resolved" for r in summary.results.values())
    total = len(summary.results)
    table.add_row("[bold]environment works[/]", f"{ok}/{total}")
    table.add_row("[bold]resolved[/]", f"{resolved}/{total}")
    if not quiet:
        err.print(table)
        err.print(f"results: {out_dir / 'results'}  table: {out_dir / 'results.csv'}"
                  + (f"  ({summary.skipped} already done)" if summary.skipped else ""),
                  highlight=False)
    if summary.interrupted:
        raise KeyboardInterrupt
    if summary.stopped:
        err.print(f"[red]error:[/] stopped before the end: {summary.stopped}", highlight=False)
        raise typer.Exit(2)
    raise typer.Exit(0 if total and resolved == total else 1)
