"""What ``driftdoc debug PIPELINE.toml`` needs: the space, an executor, the experiment.

The inputs are snapshotted here, once per experiment, and the experiment is chosen from
the snapshot: the same definition on the same content resumes, other content is another
experiment. When the live inputs differ from the spec's latest experiment, that is said
plainly; by default the search starts a new experiment on the new snapshot, and
``inputs="snapshot"`` continues the latest one on its own snapshot instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.executors.base import Executor
from driftdoc.executors.factory import make_executor
from driftdoc.model import Space
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.snapshot import Snapshot, SnapshotMissing, SnapshotStore
from driftdoc.pipeline.spec import PipelineSpec, load_spec
from driftdoc.sandbox import check_bwrap
from driftdoc.store import Experiment, Store

INPUT_POLICIES = ("live", "snapshot")


@dataclass
class Prepared:
    """A pipeline ready to search: its executor, experiment and the snapshot every run uses."""

    spec: PipelineSpec
    space: Space
    executor: Executor
    experiment: str
    snapshot: Snapshot
    defaults: dict[str, Any]

    def inputs_changed(self) -> list[str]:
        """Live input files that now differ from the snapshot (e.g. overwritten mid-search)."""
        return self.snapshot.changed(self.spec.base, self.spec.snapshots)


def _latest(store: Store, spec: PipelineSpec) -> Experiment | None:
    """The spec's most recent experiment in ``store`` (same definition, any input content)."""
    mine = [e for e in store.experiments()
            if e.meta.get("lineage") == spec.lineage and e.meta.get("spec") == str(spec.path)]
    return mine[-1] if mine else None


def _differences(old: Snapshot, new: Snapshot) -> list[str]:
    a, b = old.digests(), new.digests()
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def choose_experiment(spec: PipelineSpec, snapshots: SnapshotStore, store: Store | None,
                      inputs: str, reporter: Reporter) -> tuple[str, Snapshot]:
    """Snapshot the live inputs and pick the experiment (see the module docstring)."""
    if inputs not in INPUT_POLICIES:
        raise InputError(f"unknown --inputs {inputs!r}; use live or snapshot")
    latest = _latest(store, spec) if store is not None else None
    if inputs == "snapshot":
        if latest is None:
            raise InputError(f"--inputs snapshot: no earlier experiment of {spec.path} in "
                             f"{store.path if store else 'memory'} to continue")
        try:
            snap = snapshots.load(str(latest.meta["snapshot"]))
        except SnapshotMissing as exc:
            raise InputError(f"--inputs snapshot: {exc}; rerun with --inputs live") from None
        reporter(Note(f"continuing experiment {latest.name} on its snapshot "
                      f"{snap.id[:12]}; the live inputs are not read"))
        return latest.name, snap
    snap = snapshots.take(spec.base, spec.snapshots)
    name = spec.experiment(snap.id)
    if latest is not None and latest.name != name and store is not None \
            and name not in {e.name for e in store.experiments()}:
        try:
            changed = _differences(snapshots.load(str(latest.meta["snapshot"])), snap)
        except SnapshotMissing:
            changed = []
        what = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "") or "their content"
        reporter(Note(f"the inputs changed since experiment {latest.name} ({what}); "
                      f"starting a new experiment {name} on a fresh snapshot (--inputs "
                      "snapshot continues the old one on its own snapshot)", level="warning"))
    if store is not None:
        exp_id = store.experiment(name, spec.space, meta={
            "kind": "pipeline", "spec": str(spec.path), "name": spec.name,
            "lineage": spec.lineage, "snapshot": snap.id})
        store.update_meta(exp_id, {"snapshot": snap.id})
    return name, snap


def prepare(
    path: Path,
    *,
    executor: str | None = None,
    workers: int = 1,
    sandbox: str | None = None,
    timeout: float | None = None,
    reporter: Reporter = null_reporter,
    store: Store | None = None,
    inputs: str = "live",
    snapshots: SnapshotStore | None = None,
) -> Prepared:
    """Load the spec, snapshot its inputs, pick the experiment, build the executor.

    Sandbox and time limit do not change the experiment: they must not change results.
    """
    spec = load_spec(path).with_options(sandbox=sandbox, timeout=timeout)
    remote = (executor or "local").startswith("zmq")
    if spec.sandbox == "bwrap" and not remote:
        check_bwrap()  # fail early with install instructions, not once per run
    name, snap = choose_experiment(spec, snapshots or SnapshotStore(), store, inputs, reporter)
    runner = PipelineRunner(spec, snapshot=snap)
    ex = make_executor(executor, runner, workers=workers, filename=str(spec.path),
                       space_names=spec.space.names, timeout=spec.timeout, reporter=reporter,
                       snapshot_id=snap.id)
    return Prepared(spec, spec.space, ex, name, snap, spec.defaults)


def prepare_pipeline(
    path: Path,
    *,
    executor: str | None = None,
    workers: int = 1,
    sandbox: str | None = None,
    timeout: float | None = None,
    reporter: Reporter = null_reporter,
) -> tuple[Space, Executor, str, dict[str, Any]]:
    """``(space, executor, experiment name, search defaults)`` without a store."""
    p = prepare(path, executor=executor, workers=workers, sandbox=sandbox, timeout=timeout,
                reporter=reporter)
    return p.space, p.executor, p.experiment, p.defaults
