"""``driftdoc explain``: state a snippet's drift as root causes over package versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from driftdoc.cli.app import app, err, out
from driftdoc.cli.render import ProgressReporter
from driftdoc.cli.run_cmd import RunReporter, parse_date
from driftdoc.errors import InputError
from driftdoc.store import DEFAULT_PATH, Store


@app.command("explain")
def explain_command(
    snippet: Annotated[Path, typer.Argument(help="SNIPPET.py or .ipynb")],
    python: Annotated[str | None, typer.Option(help="pin the Python version (X.Y)")] = None,
    as_of: Annotated[str | None, typer.Option(help="resolve as of this date (YYYY-MM-DD)")]
    = None,
    budget: Annotated[int, typer.Option(help="most validations for the explanation")] = 40,
    jobs: Annotated[int, typer.Option(help="parallel validations")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    store_path: Annotated[Path, typer.Option("--store", help="provenance store")] = DEFAULT_PATH,
    index_url: Annotated[str | None, typer.Option(help="package index (PEP 691)")] = None,
    sandbox: Annotated[str, typer.Option(help="bwrap or none")] = "bwrap",
    run_timeout: Annotated[float, typer.Option(help="seconds per validation run")] = 20.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Find the working environment, then explain the drift as root causes."""
    if fmt not in ("text", "json"):
        raise InputError("--format must be text or json")
    if not snippet.is_file():
        raise InputError(f"{snippet} is not a file")
    if python is not None:
        from driftdoc.env.host.interpreters import find

        python = find(python).version
    from driftdoc.env.emit.explain import explain
    from driftdoc.env.search.runner import AttemptMemo, IndexReleases, memo_experiment, run_snippet
    from driftdoc.env.validation.validator import SandboxValidator

    store = Store(store_path)
    try:
        with RunReporter(verbose=verbose, quiet=False) as reporter:
            result = run_snippet(snippet, python=python, as_of=parse_date(as_of), store=store,
                                 index_url=index_url, sandbox=sandbox, run_timeout=run_timeout,
                                 jobs=jobs, reporter=reporter)
        if result.python is None or not result.requirements:
            raise InputError(f"nothing to explain: {result.reason or 'no packages'}")
        validator = SandboxValidator(snippet, index_url=index_url, timeout=run_timeout,
                                     sandbox=sandbox)
        memo = AttemptMemo(store, memo_experiment(snippet, index_url),
                           validator, jobs=jobs)
        with ProgressReporter(total=budget, verbose=verbose, label="explaining") as progress:
            space, diag = explain(snippet, result, memo=memo,
                                  releases=IndexReleases(index_url=index_url), store=store,
                                  budget=budget, jobs=jobs, reporter=progress)
    finally:
        store.close()
    if fmt == "json":
        data = diag.summary()
        data["space"] = space.to_json()
        data["environment"] = result.to_json()
        out.print_json(data=data)
        return
    table = Table("parameter", "values explored", title="Version space around the environment")
    for p in space.parameters:
        table.add_row(p.name, ", ".join(map(str, p.values)))
    err.print(table)
    if not diag.causes:
        out.print(f"No drift found in this space: {diag.message or 'every version worked'} "
                  f"({diag.runs} validation(s))", highlight=False)
        return
    out.print(f"[bold]Drift, as root causes of failure[/] ({diag.runs} validation(s)):",
              highlight=False)
    for cause in diag.causes:
        out.print(f"  [bold red]{cause.text(diag.param_order)}[/]", highlight=False)
