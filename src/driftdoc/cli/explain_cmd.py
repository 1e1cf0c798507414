"""``driftdoc explain``: state a snippet's drift as root causes over package versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from driftdoc import limits
from driftdoc.cli.app import app, err, out, say
from driftdoc.cli.options import (
    AsOfOpt,
    BudgetOpt,
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
from driftdoc.cli.render import ProgressReporter
from driftdoc.cli.run_cmd import RunReporter, parse_date
from driftdoc.env.search.repair import DEFAULT_BUDGET
from driftdoc.errors import InputError
from driftdoc.store import DEFAULT_PATH, Store


@app.command("explain")
def explain_command(
    snippet: Annotated[Path, typer.Argument(metavar="SNIPPET", help="SNIPPET.py or .ipynb")],
    python: PythonOpt = None,
    as_of: AsOfOpt = None,
    budget: BudgetOpt = DEFAULT_BUDGET,
    explain_budget: Annotated[int, typer.Option(
        metavar="N", help="Most validations spent on the explanation, once an environment "
        "works.")] = limits.EXPLAIN_BUDGET,
    time_limit: TimeLimitOpt = None,
    timeout: TimeoutOpt = limits.TIMEOUT,
    memory_mb: MemoryOpt = limits.MEMORY_MB,
    jobs: JobsOpt = 1,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")]
    = "text",
    output: OutputOpt = None,
    store_path: StoreOpt = DEFAULT_PATH,
    index_url: IndexOpt = None,
    sandbox: SandboxOpt = "bwrap",
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Find the working environment, then explain the drift as a version boundary."""
    check_limits(budget=budget, jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                 time_limit=time_limit, sandbox=sandbox)
    if explain_budget < 1:
        raise InputError("--explain-budget must be 1 or more")
    if fmt not in ("text", "json"):
        raise InputError("--format must be text or json")
    if not snippet.is_file():
        raise InputError(f"{snippet} is not a file")
    if python is not None:
        from driftdoc.env.host.interpreters import find

        python = find(python).version
    from driftdoc.env.emit.explain import explain
    from driftdoc.env.knowledge.releases import IndexReleases
    from driftdoc.env.search.runner import AttemptMemo, memo_experiment, run_snippet
    from driftdoc.env.validation.validator import SandboxValidator

    store = Store(store_path)
    try:
        with RunReporter(verbose=verbose, quiet=quiet, budget=budget) as reporter:
            result = run_snippet(snippet, python=python, as_of=parse_date(as_of), store=store,
                                 index_url=index_url, sandbox=sandbox, run_timeout=timeout,
                                 memory_mb=memory_mb, budget=budget, time_limit=time_limit,
                                 jobs=jobs, reporter=reporter)
        if result.python is None or not result.requirements:
            raise InputError(f"nothing to explain: {result.reason or 'no packages'}")
        validator = SandboxValidator(snippet, index_url=index_url, timeout=timeout,
                                     sandbox=sandbox, memory_mb=memory_mb)
        memo = AttemptMemo(store, memo_experiment(snippet, index_url, sandbox),
                           validator, jobs=jobs)
        with ProgressReporter(total=explain_budget, verbose=verbose, label="explaining",
                              quiet=quiet) as progress:
            space, diag = explain(snippet, result, memo=memo,
                                  releases=IndexReleases(index_url=index_url), store=store,
                                  budget=explain_budget, jobs=jobs, reporter=progress)
    finally:
        store.close()
    if output is not None:
        from driftdoc.env.emit.files import write_all

        written = write_all(result, output)
        explanation = output / "explanation.json"
        explanation.write_text(json.dumps({**diag.summary(), "space": space.to_json()}, indent=2)
                               + "\n", encoding="utf-8")
        if not quiet:
            say(err, f"wrote {', '.join(str(p) for p in [*written, explanation])}")
    if fmt == "json":
        data = diag.summary()
        data["space"] = space.to_json()
        data["environment"] = result.to_json()
        out.print_json(data=data)
        return
    table = Table("parameter", "values explored", title="Version space around the environment")
    for p in space.parameters:
        table.add_row(Text(p.name), Text(", ".join(map(str, p.values))))
    if not quiet:
        err.print(table)
    if not diag.causes:
        say(out, f"No drift found in this space: {diag.message or 'every version worked'} "
            f"({diag.runs} validation(s))")
        return
    say(out, f"({diag.runs} validation(s)):", label="Drift, as root causes of failure",
        label_style="bold")
    for cause in diag.causes:
        say(out, f"  {cause.text(diag.param_order)}", style="bold red")
