"""``driftdoc debug``: root causes of failure for an oracle or a pipeline spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from driftdoc.api import ALGORITHMS, MODES, debug
from driftdoc.cli.app import app, err, out, say
from driftdoc.cli.loading import load_callable, load_space, read_text
from driftdoc.cli.render import ProgressReporter
from driftdoc.errors import InputError
from driftdoc.events import Event, Reporter
from driftdoc.executors.base import Executor
from driftdoc.model import Diagnosis, Space
from driftdoc.store import DEFAULT_PATH, Store, parse_bugdoc_lines


class Relay:
    """A reporter to hand out before the real one exists: keeps events until it does."""

    def __init__(self) -> None:
        self._target: Reporter | None = None
        self._held: list[Event] = []

    def attach(self, target: Reporter) -> None:
        self._target = target
        for event in self._held:
            target(event)
        self._held.clear()

    def __call__(self, event: Event) -> None:
        if self._target is None:
            self._held.append(event)
        else:
            self._target(event)


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
    return value


# Exit codes of ``driftdoc debug`` (README): 0 a trusted answer, 1 no answer, 2 bad input,
# 3 a partial answer (budget ran out, causes unconfirmed or unverified), 4 verdicts that
# did not repeat (non-deterministic pipeline), 130 interrupted.
EXIT_CODES = {"found": 0, "all-succeed": 0, "no-failure-found": 1, "all-fail": 1,
              "budget-exhausted": 3, "unverified": 3, "partial": 3, "nondeterministic": 4}


def exit_code(diag: Diagnosis) -> int:
    return EXIT_CODES.get(diag.status, 1)


def render_diagnosis(diag: Diagnosis) -> None:
    """Print causes as a numbered list with the cost of finding them and what was covered."""
    reruns = f" ({diag.reruns} re-run(s))" if diag.reruns else ""
    head = (f"{diag.algorithm}, find-{diag.mode}: {diag.runs} run(s){reruns}, "
            f"{diag.evaluated} configuration(s) known")
    if diag.replayed:
        head += f", {diag.replayed} replayed from the store"
    if diag.status in ("nondeterministic", "unverified", "partial", "budget-exhausted"):
        say(err, str(diag.message), label="warning:", label_style="bold yellow")
    _render_causes(diag, head)
    for cause in diag.withheld:
        say(out, cause.text(diag.param_order),
            label="withheld (rests on verdicts that did not repeat):", label_style="yellow")
    for cause in diag.unverified:
        say(out, cause.text(diag.param_order),
            label="unverified (no budget left to re-run its evidence):", label_style="yellow")
    for inst in diag.nondeterministic:
        say(out, str(dict(inst)), label="non-deterministic:", label_style="yellow")
    for note in diag.notes:
        say(out, note, label="note:", style="dim")
    if diag.coverage is not None:
        say(out, diag.coverage.text(len(diag.causes)), label="covered:", style="dim")


def _render_causes(diag: Diagnosis, head: str) -> None:
    if not diag.causes:
        say(out, f"{diag.message or 'nothing failed'}  ({head})", label="No root cause:",
            label_style="bold")
        return
    table = Table(title=f"Root causes of failure ({head})", title_justify="left",
                  show_header=False, box=None)
    table.add_column("n", style="dim")
    table.add_column("cause", style="bold red")
    for i, cause in enumerate(diag.causes, 1):
        table.add_row(f"{i}.", Text(cause.text(diag.param_order)))
    out.print(table)
    if diag.message and diag.status == "found":
        say(out, diag.message, style="dim")


def _seed_history(store: Store, experiment: str, space: Space, history: Path) -> int:
    """Import a BugDoc history once; lines already recorded are not added again."""
    exp_id = store.experiment(experiment, space)
    seen = {(json.dumps(r.params, sort_keys=True), r.outcome.succeeded)
            for r in store.runs(exp_id)}
    lines = read_text(history, "history file").splitlines()
    fresh = [ln for ln in lines if ln.strip()]
    keep = []
    for (inst, ok), line in zip(parse_bugdoc_lines(fresh, space), fresh, strict=True):
        if (json.dumps(dict(inst), sort_keys=True), ok) not in seen:
            keep.append(line)
    return store.import_bugdoc(exp_id, space, keep)


@app.command("debug")
def debug_command(
    target: Annotated[Path | None, typer.Argument(
        help="SPACE.json (with --oracle) or PIPELINE.toml; default ./driftdoc.toml")] = None,
    oracle: Annotated[str | None, typer.Option(help="module:function returning True on success")]
    = None,
    algorithm: Annotated[str | None, typer.Option(
        help="ddt, shortcut or stacked (default: the spec's, else ddt)")] = None,
    mode: Annotated[str, typer.Option(help="one: a single cause; all: every cause")] = "all",
    budget: Annotated[int | None, typer.Option(help="most new runs to make")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    store_path: Annotated[Path, typer.Option("--store", help="provenance store")] = DEFAULT_PATH,
    experiment: Annotated[str | None, typer.Option(help="experiment name in the store")] = None,
    history: Annotated[Path | None, typer.Option(
        help="seed with a BugDoc JSON-lines history")] = None,
    recheck: Annotated[int | None, typer.Option(
        help="re-run this many other known configurations to detect non-determinism "
             "(default: about one in twenty, 3 to 10); causes are always re-checked")] = None,
    repeats: Annotated[int, typer.Option(
        help="run each configuration N times and decide its verdict by majority")] = 1,
    executor: Annotated[str | None, typer.Option(
        help="local, zmq[://HOST:PUSH:PULL][?wait=SECONDS], dask or dask://HOST:PORT; with a "
        "SPACE.json, zmq workers (e.g. BugDoc's worker script) hold the pipeline, and Dask "
        "workers import --oracle themselves")] = None,
    filename: Annotated[str | None, typer.Option(
        help="pipeline name sent to ZeroMQ workers (BugDoc's filename field; SPACE.json "
        "only); default: the space file's path")] = None,
    workers: Annotated[int, typer.Option(help="parallel runs for the local executor")] = 1,
    sandbox: Annotated[str | None, typer.Option(help="bwrap or none (pipelines)")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per run (pipelines)")] = None,
    inputs: Annotated[str, typer.Option(
        help="live: snapshot the pipeline's inputs as they are now (if they changed since "
        "the spec's last search, a new experiment starts, said on stderr); snapshot: "
        "continue that last experiment on its own snapshot")] = "live",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show every run")] = False,
    report: Annotated[Path | None, typer.Option(
        metavar="FILE.html", help="write an HTML report: the causes, the runs behind each, "
        "and the decision tree over every run")] = None,
) -> None:
    """Find the minimal root causes of failure, using as few runs as possible."""
    if algorithm is not None:
        _choice(algorithm, ALGORITHMS, "algorithm")
    _choice(mode, MODES, "mode")
    _choice(fmt, ("text", "json"), "format")
    if budget is not None and budget < 0:
        raise InputError("--budget must be 0 or more")
    if workers < 1:
        raise InputError("--workers must be 1 or more")
    if repeats < 1:
        raise InputError("--repeats must be 1 or more")
    if recheck is not None and recheck < 0:
        raise InputError("--recheck must be 0 or more")
    if report is not None and not report.resolve().parent.is_dir():
        raise InputError(f"cannot write the report {report}: its folder does not exist")
    if target is None:
        target = Path("driftdoc.toml")
        if not target.exists():
            raise InputError("give a SPACE.json or PIPELINE.toml (no driftdoc.toml here)")

    _choice(inputs, ("live", "snapshot"), "--inputs")
    run_executor: Executor | None = None
    relay = Relay()  # executors report (e.g. "no worker connected") before progress starts
    func: Any = None
    defaults: dict[str, Any] = {}
    store: Store | None = None
    prepared: Any = None
    if target.suffix == ".toml":
        if oracle:
            raise InputError("--oracle is for SPACE.json; a pipeline spec names its own pipeline")
        if filename:
            raise InputError("--filename is for SPACE.json; a spec sends its own path")
        store = Store(store_path)
        try:
            prepared = _pipeline(target, executor, workers, sandbox, timeout, relay, store,
                                 inputs)
        except BaseException:
            store.close()
            raise
        space, run_executor, defaults = prepared.space, prepared.executor, prepared.defaults
        experiment = experiment or prepared.experiment
    elif executor is not None:
        if sandbox:
            raise InputError("--sandbox applies to PIPELINE.toml specs")
        space = load_space(target)
        run_executor, name = _workers(target, space, executor, oracle, filename, workers,
                                      timeout, relay)
        experiment = experiment or name
    else:
        if sandbox or timeout or filename:
            raise InputError("--sandbox, --timeout and --filename need a PIPELINE.toml spec "
                             "or --executor")
        if not oracle:
            raise InputError("a SPACE.json needs --oracle module:function, or --executor "
                             "zmq[://HOST:PUSH:PULL] with workers that hold the pipeline")
        space = load_space(target)
        func = load_callable(oracle)
        experiment = experiment or f"{oracle}@{target.name}"
    if budget is None:
        budget = int(defaults.get("budget", 200))
    # the command line wins over the spec's [search] defaults, which win over ddt
    algorithm = _choice(str(algorithm or defaults.get("algorithm") or "ddt"), ALGORITHMS,
                        "algorithm")

    store = store or Store(store_path)
    try:
        if history is not None:
            added = _seed_history(store, experiment, space, history)
            say(err, f"imported {added} run(s) from {history}", style="dim")
        with ProgressReporter(total=budget, verbose=verbose) as reporter:
            relay.attach(reporter)
            diag = debug(space, func, algorithm=algorithm, mode=mode, budget=budget,
                         store=store, executor=run_executor, experiment=experiment,
                         recheck=recheck, repeats=repeats, reporter=reporter)
        if report is not None:
            write_report(report, store, experiment, space, diag)
    finally:
        if run_executor is not None:
            run_executor.close()
        store.close()
    if prepared is not None:
        changed = prepared.inputs_changed()
        if changed:
            shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
            say(err, f"note: the live inputs changed during the search ({shown}); every run "
                f"used the snapshot {prepared.snapshot.id[:12]} taken at its start",
                style="yellow")
    if fmt == "json":
        out.print_json(data=diag.summary())
    else:
        render_diagnosis(diag)
    code = exit_code(diag)
    if code:
        raise typer.Exit(code)


def write_report(path: Path, store: Store, experiment: str, space: Space,
                 diag: Diagnosis) -> None:
    """The debug report from the diagnosis and every run the store holds for it."""
    from driftdoc.report import render_debug

    runs = [{"id": r.id, "params": r.params, "succeeded": r.outcome.succeeded,
             "category": r.outcome.category, "message": r.outcome.message,
             "duration": r.outcome.duration}
            for r in store.runs(store.experiment(experiment, space))]
    try:
        path.write_text(render_debug(experiment, diag.summary(), space.to_json(), runs),
                        encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    say(err, f"report: {path}", style="dim")


def _workers(target: Path, space: Space, executor: str, oracle: str | None,
             filename: str | None, workers: int, timeout: float | None, reporter: Reporter
             ) -> tuple[Executor, str]:
    """An executor for a SPACE.json whose pipeline lives with the workers, and its experiment.

    ZeroMQ workers (BugDoc's worker script, or anything speaking its protocol) run and
    judge each configuration themselves; Dask and local workers import ``--oracle``.
    """
    from driftdoc.executors.factory import make_executor
    from driftdoc.executors.oracle_ref import OracleRef

    if timeout is not None and timeout <= 0:
        raise InputError("--timeout must be positive")
    name = filename or str(target)
    if executor.strip().lower().startswith("zmq"):
        if oracle:
            raise InputError("ZeroMQ workers hold the pipeline themselves; drop --oracle")
        ex = make_executor(executor, OracleRef("unused"), workers=workers, filename=name,
                           space_names=space.names, timeout=timeout, reporter=reporter)
        return ex, f"workers:{name}@{target.name}"
    if not oracle:
        raise InputError(f"--executor {executor} runs --oracle module:function (or a module "
                         "with execute_pipeline and evaluate_pipeline_output) on its workers")
    if "://" not in executor:
        load_callable(oracle if ":" in oracle else f"{oracle}:execute_pipeline")  # fail early
    ex = make_executor(executor, OracleRef(oracle, name), workers=workers, filename=name,
                       space_names=space.names, timeout=timeout, reporter=reporter)
    return ex, f"{oracle}@{target.name}"


def _pipeline(path: Path, executor: str | None, workers: int, sandbox: str | None,
              timeout: float | None, reporter: Reporter, store: Store, inputs: str) -> Any:
    """Snapshot a pipeline spec's inputs and build its executor (lazy: pipelines are optional)."""
    from driftdoc.pipeline.cli_glue import prepare

    return prepare(path, executor=executor, workers=workers, sandbox=sandbox, timeout=timeout,
                   reporter=reporter, store=store, inputs=inputs)
