"""Pipeline specs: what loads, what is refused (one clear line), what the experiment is."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftdoc.errors import InputError
from driftdoc.pipeline.snapshot import SnapshotStore
from driftdoc.pipeline.spec import PipelineSpec, load_spec

GOOD = """
name = "t"
[parameters]
lr = [0.01, 0.1]
opt = {values = ["sgd", "adam"], kind = "categorical"}
[pipeline]
command = "python train.py --lr {lr} --opt {opt} --out {workdir}/x"
inputs = ["train.py", "data"]
timeout = 5
[evaluation]
file = "metrics.json"
json_path = "acc"
">=" = 0.8
[search]
budget = 10
"""


def write(tmp: Path, text: str) -> Path:
    (tmp / "train.py").write_text("print('hi')\n")
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "a.csv").write_text("1,2\n")
    spec = tmp / "driftdoc.toml"
    spec.write_text(text)
    return spec


def test_good_spec(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.space.names == ("lr", "opt")
    assert spec.space["lr"].ordered and not spec.space["opt"].ordered
    assert spec.command == ("python", "train.py", "--lr", "{lr}", "--opt", "{opt}", "--out",
                            "{workdir}/x")
    assert spec.argv({"lr": 0.1, "opt": "adam"}, "/w") == [
        "python", "train.py", "--lr", "0.1", "--opt", "adam", "--out", "/w/x"]
    assert [(w.path, w.source.kind if w.source else None) for w in spec.snapshots] == [
        ("train.py", "file"), ("data", "file")]
    assert spec.evaluation.op == ">=" and spec.evaluation.expected == 0.8
    assert spec.defaults == {"budget": 10}
    # loading a directory finds driftdoc.toml
    assert load_spec(tmp_path).lineage == spec.lineage


def test_experiment_is_stable_and_tracks_inputs(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    store = SnapshotStore(tmp_path / "snaps")

    def experiment(spec: PipelineSpec) -> str:
        return spec.experiment(store.take(spec.base, spec.snapshots).id)

    first = experiment(load_spec(path))
    assert experiment(load_spec(path)) == first
    assert experiment(load_spec(path).with_options(sandbox="none", timeout=3)) == first
    snap = store.take(tmp_path, load_spec(path).snapshots)
    assert set(snap.digests()) == {"train.py", "data/a.csv"}
    (tmp_path / "data" / "a.csv").write_text("changed\n")
    assert experiment(load_spec(path)) != first
    assert snap.changed(tmp_path, load_spec(path).snapshots) == ["data/a.csv"]


def test_values_cannot_inject_arguments(tmp_path: Path) -> None:
    text = GOOD.replace('["sgd", "adam"]', '["a b; rm -rf /", "adam"]')
    spec = load_spec(write(tmp_path, text))
    argv = spec.argv({"lr": 0.1, "opt": "a b; rm -rf /"}, "/w")
    assert argv[5] == "a b; rm -rf /"
    shell = load_spec(write(tmp_path, text.replace('timeout = 5', 'timeout = 5\nshell = true')))
    cmd = shell.argv({"lr": 0.1, "opt": "a b; rm -rf /"}, "/w")
    assert cmd[:2] == ["/bin/sh", "-c"] and "'a b; rm -rf /'" in cmd[2]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("[search]", "[search]\nfoo = 1"), "unknown key 'foo'"),
    (lambda t: t.replace('name = "t"', 'name = "t"\nbogus = 1'), "unknown key 'bogus'"),
    (lambda t: t.replace('command = "python train.py --lr {lr} --opt {opt} --out {workdir}/x"',
                         ""), "exactly one of 'command' or 'callable'"),
    (lambda t: t.split("[pipeline]")[0], "missing [pipeline]"),
    (lambda t: t.replace("{opt}", "{optimizer}"), "placeholder {optimizer} names no parameter"),
    (lambda t: t.replace("{opt}", "{opt.__class__}"), "plain parameter name"),
    (lambda t: t.replace("lr = [0.01, 0.1]", "lr = []"), "empty value list"),
    (lambda t: t.replace("lr = [0.01, 0.1]", "lr = [0.1, 0.1]"), "twice"),
    (lambda t: t.replace('"data"]', '"missing"]'), "input 'missing' does not exist"),
    (lambda t: t.replace("timeout = 5", "timeout = -1"), "timeout must be a positive"),
    (lambda t: t.replace('">=" = 0.8', ""), "say what to compare"),
    (lambda t: t.replace("[parameters]", "[parameters]\nworkdir = [1, 2]"), "reserved"),
    (lambda t: t + "\n[oops", "not valid TOML"),
])
def test_bad_specs_are_one_line_input_errors(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("{", r"\{")) as exc:
        load_spec(path)
    assert "\n" not in str(exc.value)


def test_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")


def test_callable_and_evaluation_callable(tmp_path: Path) -> None:
    text = GOOD.replace('command = "python train.py --lr {lr} --opt {opt} --out {workdir}/x"',
                        'callable = "train:run"')
    text = text.split("[evaluation]")[0] + '[evaluation]\ncallable = "checks:ok"\n'
    spec = load_spec(write(tmp_path, text))
    assert spec.callable == "train:run" and spec.command is None
    assert spec.evaluation.kind == "callable"
