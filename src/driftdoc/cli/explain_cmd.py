"""``driftdoc explain``: state a snippet's drift as root causes over package versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
from driftdoc.cli.run_cmd import RunReporter
from driftdoc.errors import InputError
from driftdoc.store import DEFAULT_PATH, Store

if TYPE_CHECKING:
    from driftdoc.env.emit.explain import Explanation


@app.command("explain")
def explain_command(
    snippet: Annotated[Path, typer.Argument(metavar="SNIPPET", help="SNIPPET.py or .ipynb")],
    python: PythonOpt = None,
    as_of: AsOfOpt = None,
    budget: BudgetOpt = limits.BUDGET,
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
    from driftdoc.environments import explain, run

    store = Store(store_path)
    try:
        with RunReporter(verbose=verbose, quiet=quiet, budget=budget) as reporter:
            result = run(snippet, python=python, as_of=as_of, store=store, index_url=index_url,
                         sandbox=sandbox, timeout=timeout, memory_mb=memory_mb, budget=budget,
                         time_limit=time_limit, jobs=jobs, reporter=reporter)
        with ProgressReporter(total=None, verbose=verbose, label="explaining",
                              quiet=quiet) as progress:
            explanation = explain(snippet, environment=result, explain_budget=explain_budget,
                                  timeout=timeout, memory_mb=memory_mb, jobs=jobs, store=store,
                                  index_url=index_url, sandbox=sandbox, reporter=progress)
    finally:
        store.close()
    doc = explanation.to_json()
    if output is not None:
        from driftdoc.env.emit.files import write_outputs
        from driftdoc.report import render_explain

        written = write_outputs(result, output, index_url=index_url)
        (output / "explanation.json").write_text(json.dumps(doc, indent=2) + "\n",
                                                 encoding="utf-8")
        (output / "report.html").write_text(render_explain(doc), encoding="utf-8")
        if not quiet:
            say(err, f"wrote {', '.join(str(p) for p in [*written, output / 'explanation.json'])}")
    if fmt == "json":
        out.print(json.dumps(doc, indent=2), markup=False, highlight=False)
    else:
        _render(explanation)
    raise typer.Exit(0 if explanation.status in ("explained", "no-drift") else 1)


def _render(explanation: Explanation) -> None:
    """Each boundary with the releases on both sides, then what it cost."""
    if not explanation.boundaries:
        say(out, f"No boundary: {explanation.message}", style="bold")
    for b in explanation.boundaries:
        say(out, b.text(), label="Behaviour changes at", label_style="bold")
        for what, probes in (("works", b.passes), ("fails", b.fails),
                             ("unknown (does not install here)", b.unknown)):
            if probes:
                versions = ", ".join(p.version for p in probes)
                say(out, f"  {what}: {versions}", style="dim" if what != "fails" else "red")
        if b.fails:
            say(out, f"  first failure: {b.fails[0].detail}", style="dim")
    say(out, f"{explanation.status}: {explanation.message}", style="dim")
