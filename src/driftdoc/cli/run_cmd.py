"""``driftdoc run``: a working environment for a snippet (or a folder of snippets)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from driftdoc import limits
from driftdoc.cli.app import app, err, out, say
from driftdoc.cli.options import (
    AsOfOpt,
    BudgetOpt,
    ExecutorOpt,
    HashesOpt,
    IndexOpt,
    JobsOpt,
    MemoryOpt,
    OutputOpt,
    PythonOpt,
    QuietOpt,
    SandboxOpt,
    StoreOpt,
    TimeLimitOpt,
    TimeoutOpt,
    VerboseOpt,
    check_limits,
)
from driftdoc.env.emit.files import FORMATS, render, write_outputs
from driftdoc.env.search.repair import DEFAULT_BUDGET
from driftdoc.env.search.result import EnvResult
from driftdoc.env.toolchain import bound
from driftdoc.errors import InputError
from driftdoc.events import Event, Note
from driftdoc.schema import stamped
from driftdoc.store import DEFAULT_PATH, Store


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of wants a date like 2019-06-01, got {text!r}") from None


class RunReporter:
    """Status line on stderr: "validation 5 of ≤ 24" and the step being tried.

    ``verbose`` also lists each validation. Event text is never parsed as markup.
    """

    def __init__(self, *, verbose: bool, quiet: bool, budget: int | None = None) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self.budget = budget
        self.count = 0
        self._status = err.status(Text("inspecting the snippet"), spinner="dots") \
            if not quiet else None

    def __enter__(self) -> RunReporter:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    def status_line(self, step: str, *, upcoming: int = 0) -> str:
        """``validation 5 of ≤ 24: <step>`` (the budget is an upper bound, not a plan);
        ``upcoming`` validations are about to run (the step is the one being tried)."""
        of = f" of ≤ {self.budget}" if self.budget else ""
        number = str(self.count + 1) if upcoming == 1 else \
            (f"{self.count + 1}-{self.count + upcoming}" if upcoming else str(self.count))
        return f"validation {number}{of}: {step}"[:120]

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        text = event.describe()
        from driftdoc.env.search.state import Tried, Trying
        from driftdoc.env.search.trials import ValidationFinished

        if isinstance(event, Trying) and self._status is not None:
            self._status.update(Text(self.status_line(text, upcoming=len(event.moves))))
            return
        if isinstance(event, Tried):
            self.count += 1
            if self._status is not None:
                self._status.update(Text(self.status_line(text)))
        if isinstance(event, Note):
            say(err, text, style="dim")
            if self._status is not None and self.count:
                self._status.update(Text(self.status_line(text)))
        elif self.verbose and isinstance(event, ValidationFinished | Tried):
            say(err, f"  {text}")


@app.command("run")
def run_command(
    target: Annotated[Path, typer.Argument(
        metavar="SNIPPET", help="SNIPPET.py/.ipynb, or a folder of snippets (a batch).")],
    python: PythonOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[str, typer.Option(
        "--format", metavar="FORMAT", help=f"What to print: {', '.join(FORMATS)}.")]
    = "dockerfile",
    output: OutputOpt = None,
    hashes: HashesOpt = False,
    budget: BudgetOpt = DEFAULT_BUDGET,
    time_limit: TimeLimitOpt = None,
    timeout: TimeoutOpt = limits.TIMEOUT,
    memory_mb: MemoryOpt = limits.MEMORY_MB,
    jobs: JobsOpt = 1,
    executor: ExecutorOpt = "local",
    store_path: StoreOpt = DEFAULT_PATH,
    index_url: IndexOpt = None,
    sandbox: SandboxOpt = "bwrap",
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    checkpoint: Annotated[Path | None, typer.Option(
        hidden=True, help="keep the best result so far in this file (batch mode uses it)")]
    = None,
) -> None:
    """Infer, validate and repair the environment a snippet needs (exit 0 if one works)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_limits(budget=budget, jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                 time_limit=time_limit, sandbox=sandbox)
    check_executor(executor)
    when = parse_date(as_of)
    if not target.exists():
        raise InputError(f"{target} does not exist")
    if python is not None:
        from driftdoc.env.host.interpreters import find

        python = find(python).version
    if target.is_dir():
        _batch(target, output, jobs=jobs, time_limit=time_limit or limits.BATCH_TIME_LIMIT,
               python=python, as_of=as_of, budget=budget, timeout=timeout, index_url=index_url,
               sandbox=sandbox, verbose=verbose, quiet=quiet, memory_mb=memory_mb, fmt=fmt,
               hashes=hashes, executor=executor)
        return
    if sandbox == "bwrap":
        from driftdoc.sandbox import check_bwrap

        check_bwrap()
    from driftdoc.env.search.runner import run_snippet

    bound.configured_max()  # a bad DRIFTDOC_CACHE_MAX is bad input, before any work
    store = Store(store_path)
    save = None
    if checkpoint is not None:
        from driftdoc.env.search.batch import write_atomic

        def save(partial: EnvResult) -> None:
            write_atomic(checkpoint, partial.to_json())

    try:
        with RunReporter(verbose=verbose, quiet=quiet, budget=budget) as reporter:
            result = run_snippet(target, python=python, as_of=when, budget=budget,
                                 time_limit=time_limit, jobs=jobs, store=store,
                                 index_url=index_url, run_timeout=timeout, sandbox=sandbox,
                                 memory_mb=memory_mb, reporter=reporter, checkpoint=save,
                                 executor=executor)
    finally:
        store.close()
    report_result(result, fmt, output, quiet=quiet, index_url=index_url, hashes=hashes)
    if checkpoint is None:  # a batch's own children leave the bound to the batch
        bound.check(force=True)
    raise typer.Exit(0 if result.resolved else 1)


def check_executor(spec: str) -> None:
    """One line for an executor the environment half cannot use, before any work."""
    from driftdoc.executors.factory import scheme

    if scheme(spec) not in ("local", "dask"):
        raise InputError(f"--executor {spec!r}: snippets and validations run on local, dask "
                         "or dask://HOST:PORT")


def report_result(result: EnvResult, fmt: str, output: Path | None, *, quiet: bool,
                  index_url: str | None, hashes: bool) -> None:
    """Print ``fmt`` on stdout and write every format into ``output``."""
    def warn(event: Event) -> None:
        if not quiet:
            say(err, event.describe(), label="warning:", label_style="yellow")

    if output is not None:
        written = write_outputs(result, output, index_url=index_url, hashes=hashes,
                                reporter=warn)
        if not quiet:
            say(err, f"wrote {', '.join(str(p) for p in written)}")
    if fmt == "json":
        out.print(json.dumps(result.to_json(), indent=2), markup=False, highlight=False)
    elif fmt in ("pylock", "requirements") and result.python and (fmt == "pylock" or hashes):
        from driftdoc.env.emit.artifacts import IndexArtifacts

        lookup = IndexArtifacts(result.python, index_url)
        out.print(render(result, fmt, lookup, hashes=hashes, index_url=lookup.index_url),
                  markup=False, highlight=False, end="")
    elif result.python or fmt == "requirements":
        out.print(render(result, fmt), markup=False, highlight=False, end="")
    elif fmt == "pylock":
        warn(Note("no pylock.toml: no Python version was determined"))
    if quiet:
        return
    for fix in result.drift:
        how = "" if fix.move in ("older", "bisect", "newer", "") else f" (a {fix.move} move)"
        say(err, f"{fix.package} {fix.from_version} -> {fix.to_version}{how} fixed "
            f"{fix.exception_name}", label="drift:", label_style="yellow")
    for note in result.caveats:
        say(err, note, label="caveat:", label_style="yellow")
    for note in result.lenient_metadata:
        say(err, note, label="lenient metadata:", label_style="yellow")
    if result.system_packages:
        say(err, f"{' '.join(result.system_packages)} (apt-get install them; the Dockerfile "
            "does)", label="system packages:", label_style="yellow")
    if result.resolved:
        say(err, f"with {result.validations} validation(s) in {result.seconds:.1f}s",
            label="resolved", label_style="green")
    else:
        say(err, str(result.reason), label="unresolved:", label_style="red")


def batch_json(root: Path, results: dict[str, dict[str, object]]) -> dict[str, object]:
    """A batch as one JSON document: counts, rates and every snippet's result."""
    from driftdoc.env.search.batch import env_ok

    counts: dict[str, int] = {}
    for r in results.values():
        key = str(r.get("classification") or r.get("status"))
        counts[key] = counts.get(key, 0) + 1
    return stamped("batch", {"root": str(root), "snippets": len(results),
            "resolved": sum(r.get("status") == "resolved" for r in results.values()),
            "environment_works": sum(env_ok(r) for r in results.values()),
            "classes": dict(sorted(counts.items())),
            "results": {name: results[name] for name in sorted(results)}})


def write_batch_report(root: Path, out_dir: Path, results: dict[str, dict[str, object]]) -> Path:
    """``report.html`` of a batch; each snippet links to its own report, else its JSON."""
    from driftdoc.report import render_batch

    links = {}
    for name in results:
        own = out_dir / "snippets" / name / "report.html"
        links[name] = f"snippets/{name}/report.html" if own.is_file() else f"results/{name}.json"
    path = out_dir / "report.html"
    path.write_text(render_batch(str(root), results, links), encoding="utf-8")
    return path


def _batch(root: Path, output: Path | None, *, jobs: int, time_limit: float, python: str | None,
           as_of: str | None, budget: int, timeout: float, index_url: str | None,
           sandbox: str, verbose: bool, quiet: bool, memory_mb: int, fmt: str,
           hashes: bool, executor: str = "local") -> None:
    from driftdoc.env.search.batch import SnippetDone, env_ok, find_snippets, run_batch
    from driftdoc.executors.factory import scheme

    if not find_snippets(root):
        raise InputError(f"no snippets (*.py, *.ipynb or */snippet.py) in {root}")
    out_dir = output or (root / ".driftdoc-batch")
    on_cluster = scheme(executor) == "dask"
    child: list[str] = ["--budget", str(budget), "--timeout", str(timeout),
                        "--memory-mb", str(memory_mb), "--sandbox", sandbox]
    if python:
        child += ["--python", python]
    if as_of:
        child += ["--as-of", as_of]
    if index_url:
        child += ["--index-url", index_url]
    if hashes:
        child.append("--hashes")

    def writer(folder: Path, result: dict[str, object]) -> None:
        write_outputs(EnvResult.from_json(result), folder, index_url=index_url, hashes=hashes,
                      reporter=reporter)

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
            say(progress.console, event.text, style="yellow")

    with progress:
        if on_cluster:  # each snippet a task on a worker; this client writes every file
            from driftdoc.env.search.cluster import run_cluster_batch

            summary = run_cluster_batch(root, out_dir, spec=executor, workers=jobs,
                                        time_limit=time_limit, child_args=child,
                                        index_url=index_url, sandbox=sandbox,
                                        reporter=reporter, write_outputs=writer)
        else:
            child += ["--store", str(out_dir / "store.db")]
            summary = run_batch(root, out_dir, jobs=jobs, time_limit=time_limit,
                                child_args=child, reporter=reporter, write_outputs=writer)
    table = Table("outcome", "snippets", title=f"driftdoc run {root}")
    for key, n in summary.counts().items():
        table.add_row(Text(key), str(n))
    ok = sum(env_ok(r) for r in summary.results.values())
    resolved = sum(r.get("status") == "resolved" for r in summary.results.values())
    total = len(summary.results)
    table.add_row("[bold]environment works[/]", f"{ok}/{total}")
    table.add_row("[bold]resolved[/]", f"{resolved}/{total}")
    if not quiet:
        err.print(table)
        say(err, f"results: {out_dir / 'results'}  table: {out_dir / 'results.csv'}"
            + (f"  ({summary.skipped} already done)" if summary.skipped else ""))
    report = write_batch_report(root, out_dir, summary.results)
    if not quiet:
        say(err, f"report: {report}")
    if fmt == "json":
        out.print(json.dumps(batch_json(root, summary.results), indent=2), markup=False,
                  highlight=False)
    if summary.interrupted:
        raise KeyboardInterrupt
    if summary.stopped:
        say(err, f"stopped before the end: {summary.stopped}", label="error:",
            label_style="red")
        raise typer.Exit(2)
    raise typer.Exit(0 if total and resolved == total else 1)
