"""Pipeline specs: a ``driftdoc.toml`` declares parameters, the pipeline, inputs and evaluation.

Format (every key except ``[parameters]`` and one of ``command``/``callable`` is optional)::

    name = "train"                       # experiment name prefix (default: the file's dir)

    [parameters]
    lr = [0.001, 0.01, 0.1]              # name -> values; kind inferred
    optimizer = { values = ["sgd", "adam"], kind = "categorical" }

    [pipeline]
    command = "python train.py --lr {lr} --opt {optimizer}"   # argv template, no shell
    # callable = "train:run"             # or: a function receiving the parameter dict
    # shell = false                      # true: run the command through /bin/sh -c
    inputs = ["train.py", "data"]        # snapshotted once per experiment; runs see the snapshot
    writable_inputs = false              # true: each run gets private writable copies
    timeout = 60                         # seconds per run
    memory_mb = 1024
    sandbox = "bwrap"                    # or "none"
    network = false
    env = { OMP_NUM_THREADS = "1" }
    keep_runs = false                    # keep each run's work dir (otherwise deleted)

    [evaluation]                         # default: exit status 0 (callable: no exception)
    # callable = "checks:ok"             # receives the run's outputs dict, returns bool
    # file = "metrics.json"              # check an output file ...
    # json_path = "scores.accuracy"      # ... a value inside it (dotted path) ...
    # ">=" = 0.8                         # ... compared with ==, !=, <, <=, >, >=
    # regex = "converged"                # or: a regex that must match the file (or stdout)

    [search]
    algorithm = "ddt"
    budget = 100

    [snapshots.D]                        # a database, dumped once per experiment
    path = "D.db"                        # where runs find it in their work dir (default "D")
    sqlite = "live.db"                   # SQLite's online backup API; or:
    # command = "pg_dump -f {output} shop"   # any command that writes the dump to {output}
    # file = "exports/d.csv"             # or a plain file or folder
    # versions.monday = { sqlite = "monday.db" }   # several snapshots of D: then D is a
    # versions.tuesday = { command = "..." }       # parameter whose values name them

Command templates are shlex-split first, then each token is formatted, so a value can
never inject extra arguments. ``{workdir}`` names the run's work dir as seen by the run.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError
from driftdoc.model import Parameter, Space, Value, format_value
from driftdoc.pipeline.snapshot import Source, Wanted

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RESERVED = frozenset({"workdir"})
OPERATORS = ("==", "!=", "<", "<=", ">", ">=")
_TOP_KEYS = {"name", "parameters", "pipeline", "evaluation", "search", "snapshots"}
_PIPE_KEYS = {"command", "callable", "shell", "inputs", "timeout", "memory_mb", "sandbox",
              "network", "env", "keep_runs", "writable_inputs"}
_SOURCE_KEYS = ("file", "sqlite", "command")
_SNAP_KEYS = {"path", "versions", "timeout", *_SOURCE_KEYS}
_EVAL_KEYS = {"callable", "file", "json_path", "regex", *OPERATORS}
_SEARCH_KEYS = {"algorithm", "budget", "mode"}


@dataclass(frozen=True)
class Evaluation:
    """How a run's outputs become a verdict."""

    kind: str = "exit-status"  # exit-status | callable | file
    callable: str | None = None
    file: str | None = None
    json_path: str | None = None
    regex: str | None = None
    op: str | None = None
    expected: Value | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline spec; plain data, so it pickles to any worker."""

    path: Path
    base: Path
    name: str
    space: Space
    command: tuple[str, ...] | None = None
    callable: str | None = None
    shell: bool = False
    inputs: tuple[str, ...] = ()
    timeout: float | None = None
    memory_mb: int | None = None
    sandbox: str = "bwrap"
    network: bool = False
    env: tuple[tuple[str, str], ...] = ()
    keep_runs: bool = False
    evaluation: Evaluation = field(default_factory=Evaluation)
    search: tuple[tuple[str, Any], ...] = ()
    snapshots: tuple[Wanted, ...] = ()
    writable_inputs: bool = False

    @property
    def lineage(self) -> str:
        """The definition without the inputs' content: what stays when only data changes."""
        definition = {
            "space": self.space.to_json(),
            "command": list(self.command) if self.command else None,
            "callable": self.callable,
            "shell": self.shell,
            "inputs": [(w.path, w.parameter, w.source, w.versions) for w in self.snapshots],
            "evaluation": self.evaluation.to_json(),
            "memory_mb": self.memory_mb,
            "network": self.network,
            "env": dict(self.env),
        }
        blob = json.dumps(definition, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def experiment(self, snapshot_id: str) -> str:
        """Stable across reruns of the same definition on the same input content, so a
        rerun resumes; other content (a new snapshot) is another experiment."""
        blob = f"{self.lineage}:{snapshot_id}".encode()
        return f"pipeline:{self.name}@{hashlib.sha256(blob).hexdigest()[:12]}"

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(self.search)

    def with_options(self, *, sandbox: str | None = None, timeout: float | None = None
                     ) -> PipelineSpec:
        """Apply command-line overrides (``--sandbox``, ``--timeout``)."""
        changes: dict[str, Any] = {}
        if sandbox is not None:
            if sandbox not in ("bwrap", "none"):
                raise InputError(f"unknown sandbox {sandbox!r}; use bwrap or none")
            changes["sandbox"] = sandbox
        if timeout is not None:
            if timeout <= 0:
                raise InputError("--timeout must be positive")
            changes["timeout"] = float(timeout)
        if not changes:
            return self
        from dataclasses import replace

        return replace(self, **changes)

    def argv(self, params: Mapping[str, Value], workdir: str) -> list[str]:
        """The command for one configuration (only for command pipelines)."""
        assert self.command is not None
        if self.shell:
            text = " ".join(self.command)
            return ["/bin/sh", "-c", _format_token(text, params, workdir, quote=True)]
        return [_format_token(tok, params, workdir) for tok in self.command]


def _format_token(token: str, params: Mapping[str, Value], workdir: str,
                  quote: bool = False) -> str:
    pieces = []
    for literal, name, spec, conv in string.Formatter().parse(token):
        pieces.append(literal)
        if name is None:
            continue
        value: Any = workdir if name == "workdir" else params[name]
        if conv == "r":
            text = repr(value)
        elif spec:
            text = format(value, spec)
        else:
            text = value if isinstance(value, str) else format_value(value)
        pieces.append(shlex.quote(text) if quote else text)
    return "".join(pieces)


def _placeholders(token: str, where: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(token))
    except ValueError as exc:
        raise InputError(f"{where}: bad placeholder in {token!r} ({exc})") from None
    names = set()
    for _, name, _, conv in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise InputError(f"{where}: placeholder {{{name}}} must be a plain parameter name")
        if conv not in (None, "r", "s"):
            raise InputError(f"{where}: unsupported conversion !{conv} in {token!r}")
        names.add(name)
    return names


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise InputError(f"{where}: unknown key {key!r} (allowed: {known})")


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: [{key}] must be a table")
    return value


def _parameters(table: Mapping[str, Any], where: str) -> Space:
    if not table:
        raise InputError(f"{where}: [parameters] must declare at least one parameter")
    params = []
    for name, entry in table.items():
        kind = None
        values = entry
        if isinstance(entry, Mapping):
            _check_keys(entry, {"values", "kind"}, f"{where}: parameter {name!r}")
            if "values" not in entry:
                raise InputError(f"{where}: parameter {name!r} needs a 'values' list")
            values, kind = entry["values"], entry.get("kind")
        if not isinstance(values, list):
            raise InputError(f"{where}: parameter {name!r} must map to a list of values")
        if name in RESERVED:
            raise InputError(f"{where}: {name!r} is reserved; rename the parameter")
        try:
            params.append(Parameter.of(name, values, kind))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    return Space(params)


def _evaluation(table: Mapping[str, Any], where: str) -> Evaluation:
    where = f"{where} [evaluation]"
    _check_keys(table, _EVAL_KEYS, where)
    ops = [op for op in OPERATORS if op in table]
    if len(ops) > 1:
        raise InputError(f"{where}: give one comparison, not {', '.join(ops)}")
    if "callable" in table:
        if set(table) != {"callable"}:
            raise InputError(f"{where}: 'callable' cannot be combined with file checks")
        ref = table["callable"]
        if not isinstance(ref, str) or ":" not in ref:
            raise InputError(f"{where}: callable must be 'module:function'")
        return Evaluation(kind="callable", callable=ref)
    if not table:
        return Evaluation()
    file = table.get("file")
    if file is not None and (not isinstance(file, str) or not file):
        raise InputError(f"{where}: file must be a relative path")
    json_path, regex = table.get("json_path"), table.get("regex")
    if regex is not None:
        import re

        try:
            re.compile(regex)
        except (re.error, TypeError) as exc:
            raise InputError(f"{where}: bad regex {regex!r}: {exc}") from None
        if ops or json_path:
            raise InputError(f"{where}: use either regex or json_path/comparison")
        return Evaluation(kind="file", file=file, regex=regex)
    if file is None:
        raise InputError(f"{where}: a check needs 'file' (and json_path/comparison or regex)")
    if json_path is not None and not isinstance(json_path, str):
        raise InputError(f"{where}: json_path must be a dotted string")
    if not ops:
        raise InputError(f"{where}: say what to compare with, e.g. \">=\" = 0.8")
    expected = table[ops[0]]
    if not isinstance(expected, str | int | float | bool):
        raise InputError(f"{where}: compare with a number, string or bool")
    return Evaluation(kind="file", file=file, json_path=json_path, op=ops[0], expected=expected)


def _source(table: Mapping[str, Any], where: str) -> Source:
    given = [k for k in _SOURCE_KEYS if k in table]
    if len(given) != 1:
        raise InputError(f"{where}: give exactly one of {', '.join(_SOURCE_KEYS)}")
    kind = given[0]
    value = table[kind]
    timeout = table.get("timeout", 600)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise InputError(f"{where}: timeout must be a positive number of seconds")
    if kind == "command":
        if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
            tokens = tuple(value)
        elif isinstance(value, str) and value.strip():
            try:
                tokens = tuple(shlex.split(value))
            except ValueError as exc:
                raise InputError(f"{where}: cannot split command {value!r}: {exc}") from None
        else:
            raise InputError(f"{where}: command must be a non-empty string or list of strings")
        if not any("{output}" in t for t in tokens):
            raise InputError(f"{where}: the command must write its dump to {{output}}")
        return Source(kind, tokens, float(timeout))
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {kind} must be a path")
    if Path(value).is_absolute() or ".." in Path(value).parts:
        raise InputError(f"{where}: {kind} {value!r} must be a path inside the spec's folder")
    return Source(kind, value, float(timeout))


def _snapshots(table: Mapping[str, Any], where: str, base: Path
               ) -> tuple[list[Wanted], dict[str, list[str]]]:
    """``[snapshots.NAME]`` entries, and the parameters their versions define."""
    wanted: list[Wanted] = []
    params: dict[str, list[str]] = {}
    for name, entry in table.items():
        here = f"{where} [snapshots.{name}]"
        if not isinstance(entry, Mapping):
            raise InputError(f"{here} must be a table")
        _check_keys(entry, _SNAP_KEYS, here)
        path = entry.get("path", name)
        if not isinstance(path, str) or not path or Path(path).is_absolute() \
                or ".." in Path(path).parts:
            raise InputError(f"{here}: path must be a relative path in the work dir")
        versions = entry.get("versions")
        if versions is None:
            wanted.append(Wanted(path, _source(entry, here)))
            continue
        if any(k in entry for k in _SOURCE_KEYS) or not isinstance(versions, Mapping) \
                or not versions:
            raise InputError(f"{here}: give either one source or a table of versions")
        if not name.isidentifier() or name in RESERVED:
            raise InputError(f"{here}: a snapshot with versions is a parameter; {name!r} "
                             "must be a plain identifier")
        pairs = []
        for label, spec in versions.items():
            if not isinstance(spec, Mapping):
                raise InputError(f"{here}: version {label!r} must be a table")
            _check_keys(spec, {"timeout", *_SOURCE_KEYS}, f"{here} version {label!r}")
            pairs.append((str(label), _source(spec, f"{here} version {label!r}")))
        wanted.append(Wanted(path, None, name, tuple(pairs)))
        params[name] = [label for label, _ in pairs]
    for want in wanted:
        for source in [want.source] if want.source else [s for _, s in want.versions]:
            if source.kind != "command":
                assert isinstance(source.value, str)
                if not (base / source.value).exists():
                    raise InputError(f"{where}: snapshot source {source.value!r} does not "
                                     f"exist (relative to {base})")
    return wanted, params


def load_spec(path: str | Path) -> PipelineSpec:
    """Read and validate a pipeline spec; every problem is one ``InputError`` line."""
    path = Path(path)
    if path.is_dir():
        path = path / "driftdoc.toml"
    if not path.is_file():
        raise InputError(f"pipeline spec {path} does not exist")
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from None
    _check_keys(data, _TOP_KEYS, where)
    base = path.resolve().parent
    declared = _table(data, "parameters", where)
    has_versions = any(isinstance(v, Mapping) and "versions" in v
                       for v in _table(data, "snapshots", where).values())
    space: Space | None = _parameters(declared, where) if declared or not has_versions \
        else None
    snaps, snap_params = _snapshots(_table(data, "snapshots", where), where, base)
    for name, labels in snap_params.items():
        if space is not None and name in space.names:
            listed = [str(v) for v in space[name].values]
            if sorted(listed) != sorted(labels):
                raise InputError(f"{where}: parameter {name!r} must list the versions of "
                                 f"[snapshots.{name}] ({', '.join(labels)})")
        else:
            extra = Parameter.of(name, labels, "categorical")
            space = Space([*space.parameters, extra]) if space is not None else Space([extra])
    assert space is not None

    pipe = _table(data, "pipeline", where)
    if not pipe:
        raise InputError(f"{where}: missing [pipeline] with a 'command' or a 'callable'")
    _check_keys(pipe, _PIPE_KEYS, f"{where} [pipeline]")
    if ("command" in pipe) == ("callable" in pipe):
        raise InputError(f"{where}: [pipeline] needs exactly one of 'command' or 'callable'")
    command: tuple[str, ...] | None = None
    shell = pipe.get("shell", False)
    if not isinstance(shell, bool):
        raise InputError(f"{where}: shell must be true or false")
    if "command" in pipe:
        raw = pipe["command"]
        if isinstance(raw, list) and all(isinstance(t, str) for t in raw) and raw:
            tokens = list(raw)
        elif isinstance(raw, str) and raw.strip():
            try:
                tokens = [raw] if shell else shlex.split(raw)
            except ValueError as exc:
                raise InputError(f"{where}: cannot split command {raw!r}: {exc}") from None
        else:
            raise InputError(f"{where}: command must be a non-empty string or list of strings")
        for tok in tokens:
            unknown = _placeholders(tok, where) - set(space.names) - RESERVED
            if unknown:
                raise InputError(
                    f"{where}: command placeholder {{{sorted(unknown)[0]}}} names no parameter"
                )
        command = tuple(tokens)
    callable_ref = pipe.get("callable")
    if callable_ref is not None and (not isinstance(callable_ref, str) or ":" not in callable_ref):
        raise InputError(f"{where}: callable must be 'module:function'")

    inputs = pipe.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(i, str) and i for i in inputs):
        raise InputError(f"{where}: inputs must be a list of paths")
    for item in inputs:
        p = (base / item)
        if not p.exists():
            raise InputError(f"{where}: input {item!r} does not exist (relative to {base})")
        if Path(item).is_absolute() or ".." in Path(item).parts:
            raise InputError(f"{where}: input {item!r} must be a path inside {base}")
    names = [Path(i).name for i in inputs] + [w.path for w in snaps]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: two inputs share the name; each lands in the work dir")
    writable = pipe.get("writable_inputs", False)
    if not isinstance(writable, bool):
        raise InputError(f"{where}: writable_inputs must be true or false")
    wanted = tuple(Wanted(Path(i).name, Source("file", i)) for i in inputs) + tuple(snaps)

    timeout = pipe.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or isinstance(timeout, bool)
                                or timeout <= 0):
        raise InputError(f"{where}: timeout must be a positive number of seconds")
    memory = pipe.get("memory_mb")
    if memory is not None and (not isinstance(memory, int) or isinstance(memory, bool)
                               or memory <= 0):
        raise InputError(f"{where}: memory_mb must be a positive whole number")
    sandbox = pipe.get("sandbox", "bwrap")
    if sandbox not in ("bwrap", "none"):
        raise InputError(f"{where}: sandbox must be 'bwrap' or 'none'")
    network = pipe.get("network", False)
    keep = pipe.get("keep_runs", False)
    if not isinstance(network, bool) or not isinstance(keep, bool):
        raise InputError(f"{where}: network and keep_runs must be true or false")
    env = pipe.get("env", {})
    if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
        raise InputError(f"{where}: env must be a table of strings")

    evaluation = _evaluation(_table(data, "evaluation", where), where)
    search = _table(data, "search", where)
    _check_keys(search, _SEARCH_KEYS, f"{where} [search]")
    budget = search.get("budget")
    if budget is not None and (not isinstance(budget, int) or budget < 0):
        raise InputError(f"{where}: budget must be a whole number >= 0")

    name = data.get("name", base.name or "pipeline")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: name must be a non-empty string")
    return PipelineSpec(
        path=path.resolve(),
        base=base,
        name=name,
        space=space,
        command=command,
        callable=callable_ref,
        shell=shell,
        inputs=tuple(inputs),
        timeout=float(timeout) if timeout is not None else None,
        memory_mb=memory,
        sandbox=sandbox,
        network=network,
        env=tuple(sorted(env.items())),
        keep_runs=keep,
        evaluation=evaluation,
        search=tuple(sorted(search.items())),
        snapshots=wanted,
        writable_inputs=writable,
    )
