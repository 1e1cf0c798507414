"""``driftdoc worker``: run pipeline configurations sent by a ZeroMQ dispatcher."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from driftdoc.cli.app import app, err, say
from driftdoc.errors import InputError


@app.command("worker")
def worker_command(
    spec_path: Annotated[Path, typer.Argument(
        metavar="PIPELINE.toml", help="the pipeline spec whose configurations to run")],
    connect: Annotated[str, typer.Option(help="dispatcher host")] = "localhost",
    pull: Annotated[int, typer.Option(help="dispatcher's request port (we PULL)")] = 5557,
    push: Annotated[int, typer.Option(help="dispatcher's reply port (we PUSH)")] = 5558,
    sandbox: Annotated[str | None, typer.Option(help="bwrap or none")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per run")] = None,
    max_runs: Annotated[int | None, typer.Option(help="stop after this many runs")] = None,
    idle_timeout: Annotated[float | None, typer.Option(
        help="stop after this many seconds without requests")] = None,
    bugdoc_replies: Annotated[bool, typer.Option(
        "--bugdoc-replies", help="reply str(values + [result]) for BugDoc's own dispatcher "
        "(no provenance); default: JSON with the full outcome")] = False,
) -> None:
    """Serve a dispatcher (driftdoc debug --executor zmq, or BugDoc): run, evaluate, reply."""
    from driftdoc.executors.zmq import serve, worker_id
    from driftdoc.pipeline.runner import PipelineRunner
    from driftdoc.pipeline.spec import load_spec
    from driftdoc.sandbox import check_bwrap

    for name, port in (("--pull", pull), ("--push", push)):
        if not 0 < port < 65536:
            raise InputError(f"{name} must be a port number, got {port}")
    if max_runs is not None and max_runs < 1:
        raise InputError("--max-runs must be 1 or more")
    spec = load_spec(spec_path).with_options(sandbox=sandbox, timeout=timeout)
    if spec.sandbox == "bwrap":
        check_bwrap()
    me = worker_id()
    runner = PipelineRunner(spec, worker=me)
    snap = runner.ensure_snapshot()  # once, now: every run of this worker uses it
    say(err, f"worker {me}: {spec.name} on snapshot {snap.id[:12]} of its inputs, requests "
        f"from tcp://{connect}:{pull}, replies to tcp://{connect}:{push}", style="dim")
    runs = serve(runner, spec.space, connect=connect, pull_port=pull, push_port=push,
                 max_runs=max_runs, idle_timeout=idle_timeout, bugdoc_replies=bugdoc_replies)
    say(err, f"worker {me}: {runs} run(s)", style="dim")
