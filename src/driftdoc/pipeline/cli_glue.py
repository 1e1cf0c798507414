"""What ``driftdoc debug PIPELINE.toml`` needs: the space, an executor, the experiment name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftdoc.events import Reporter, null_reporter
from driftdoc.executors.base import Executor
from driftdoc.executors.factory import make_executor
from driftdoc.model import Space
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.spec import load_spec
from driftdoc.sandbox import check_bwrap


def prepare_pipeline(
    path: Path,
    *,
    executor: str | None = None,
    workers: int = 1,
    sandbox: str | None = None,
    timeout: float | None = None,
    reporter: Reporter = null_reporter,
) -> tuple[Space, Executor, str, dict[str, Any]]:
    """Load the spec, apply command-line overrides and build the executor that runs it.

    Returns ``(space, executor, experiment name, search defaults from [search])``.
    Sandbox and time limit do not change the experiment name: they must not change results.
    """
    spec = load_spec(path).with_options(sandbox=sandbox, timeout=timeout)
    remote = (executor or "local").startswith("zmq")
    if spec.sandbox == "bwrap" and not remote:
        check_bwrap()  # fail early with install instructions, not once per run
    runner = PipelineRunner(spec)
    ex = make_executor(executor, runner, workers=workers, filename=str(spec.path),
                       space_names=spec.space.names, timeout=spec.timeout, reporter=reporter)
    return spec.space, ex, spec.experiment, spec.defaults
