"""``driftdoc history``: list, show, export and import recorded runs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from driftdoc.cli.app import app, err, out, say
from driftdoc.cli.loading import load_space, read_text
from driftdoc.errors import InputError
from driftdoc.model import Space
from driftdoc.provenance import EXPORT_FORMATS, export, import_jsonl, is_jsonl, title
from driftdoc.store import DEFAULT_PATH, RunRecord, Store, space_from_bugdoc_lines

history_app = typer.Typer(help="Inspect and move recorded runs (provenance).",
                          no_args_is_help=True)
app.add_typer(history_app, name="history")

StoreOpt = Annotated[Path, typer.Option("--store", help="provenance store")]


def _open_existing(path: Path) -> Store:
    if not path.exists():
        raise InputError(f"no store at {path} (run driftdoc debug first, or pass --store)")
    return Store(path)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds")


def _params(rec: RunRecord) -> str:
    return ", ".join(f"{k}={v}" for k, v in rec.params.items())


@history_app.command("list")
def list_command(
    experiment: Annotated[str | None, typer.Argument(help="list this experiment's runs")] = None,
    store_path: StoreOpt = DEFAULT_PATH,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List experiments, or the runs of one experiment."""
    with _open_existing(store_path) as store:
        if experiment is None:
            rows: list[dict[str, Any]] = [
                {"id": e.id, "title": title(e), "name": e.name, "runs": store.count_runs(e.id),
                 "errors": store.count_errors(e.id), "created": _when(e.created)}
                for e in store.experiments()
            ]
            if fmt == "json":
                out.print_json(data=rows)
                return
            table = Table("id", "what", "experiment", "runs", "errors", "created",
                          title="Experiments")
            for r in rows:
                table.add_row(str(r["id"]), Text(r["title"]), Text(r["name"]), str(r["runs"]),
                              str(r["errors"] or "-"), r["created"])
            out.print(table)
            return
        exp = store.find_experiment(experiment)
        runs = store.runs(exp.id)
        errors = store.errors(exp.id)
    if fmt == "json":
        out.print_json(data=[_record_json(r) for r in runs])
        return
    table = Table("run", "parameters", "verdict", "category", "seconds", "worker", "source",
                  title=f"Runs of {title(exp)} ({exp.name})")
    for rec in runs:
        verdict = "[green]ok[/]" if rec.outcome.succeeded else "[red]fail[/]"
        table.add_row(str(rec.id), Text(_params(rec)), verdict, Text(rec.outcome.category),
                      f"{rec.outcome.duration:.3f}", Text(rec.worker), rec.source)
    out.print(table)
    if errors:
        table = Table("error", "parameters", "kind", "attempts", "worker", "message",
                      title="Machinery errors (no verdict; retried)")
        for e in errors:
            table.add_row(str(e.id), Text(", ".join(f"{k}={v}" for k, v in e.params.items())),
                          e.kind, str(e.attempts), Text(e.worker), Text(e.message[:120]))
        out.print(table)


def _record_json(rec: RunRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "experiment": rec.experiment,
        "params": rec.params,
        "succeeded": rec.outcome.succeeded,
        "category": rec.outcome.category,
        "message": rec.outcome.message,
        "duration": rec.outcome.duration,
        "started": rec.started,
        "finished": rec.finished,
        "worker": rec.worker,
        "source": rec.source,
        "details": rec.outcome.details,
    }


@history_app.command("show")
def show_command(
    run_id: Annotated[int, typer.Argument(help="run id (see history list)")],
    store_path: StoreOpt = DEFAULT_PATH,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show everything recorded about one run: parameters, inputs, outputs, verdict."""
    with _open_existing(store_path) as store:
        rec = store.run(run_id)
    data = _record_json(rec)
    if fmt == "json":
        out.print_json(data=data)
        return
    verdict = "succeeded" if rec.outcome.succeeded else "failed"
    say(out, f"of {rec.experiment}: {verdict}", label=f"Run {rec.id}", label_style="bold")
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rec.params.items():
        table.add_row(Text(f"  {name}"), Text(repr(value)))
    table.add_row("category", Text(rec.outcome.category or "-"))
    table.add_row("message", Text(rec.outcome.message or "-"))
    table.add_row("duration", f"{rec.outcome.duration:.3f} s")
    table.add_row("started", _when(rec.started))
    table.add_row("worker", Text(rec.worker or "-"))
    table.add_row("source", rec.source)
    out.print(table)
    for key, value in rec.outcome.details.items():
        say(out, f"{key}:", style="bold")
        if key in ("stdout_tail", "stderr_tail") and isinstance(value, str):
            out.print(value.rstrip() or "(empty)", markup=False, highlight=False)
        else:
            out.print(json.dumps(value, indent=2, default=str), markup=False, highlight=False)


@history_app.command("export")
def export_command(
    experiment: Annotated[str, typer.Argument(help="experiment name or id")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file (default stdout)")]
    = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="jsonl: everything history show knows (docs/provenance.md); "
        "bugdoc: BugDoc's history (parameters plus result); prov: W3C PROV-JSON")] = "jsonl",
    store_path: StoreOpt = DEFAULT_PATH,
) -> None:
    """Export an experiment's runs and machinery errors, to move or archive them."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown format {fmt!r}; use {', '.join(EXPORT_FORMATS)}")
    with _open_existing(store_path) as store:
        exp = store.find_experiment(experiment)
        if output is None:
            n = export(store, exp, sys.stdout, fmt)
        else:
            with output.open("w", encoding="utf-8") as fp:
                n = export(store, exp, fp, fmt)
    say(err, f"exported {n} record(s) of {title(exp)}")


@history_app.command("import")
def import_command(
    history: Annotated[Path, typer.Argument(
        help="a driftdoc export (history export) or a BugDoc JSON-lines history")],
    experiment: Annotated[str | None, typer.Option(
        help="experiment to add the runs to (required for BugDoc histories; default for a "
        "driftdoc export: its own name)")] = None,
    space_path: Annotated[Path | None, typer.Option(
        "--space", help="SPACE.json; default: inferred from the history")] = None,
    store_path: StoreOpt = DEFAULT_PATH,
) -> None:
    """Import a history so that a later search starts from it."""
    lines = read_text(history, "history file").splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if is_jsonl(first):
        with Store(store_path) as store:
            n = import_jsonl(store, lines, experiment)
        say(err, f"imported {n} record(s) from {history}")
        return
    if experiment is None:
        raise InputError("a BugDoc history needs --experiment NAME")
    space: Space = load_space(space_path) if space_path else space_from_bugdoc_lines(lines)
    with Store(store_path) as store:
        exp_id = store.experiment(experiment, space)
        n = store.import_bugdoc(exp_id, space, lines)
    err.print(f"imported {n} run(s) into {experiment}", highlight=False)
