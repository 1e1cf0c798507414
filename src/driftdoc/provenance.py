"""Provenance that can leave the machine: an experiment as JSON lines, BugDoc's, or W3C PROV.

``driftdoc-provenance`` (documented in ``docs/provenance.md``) keeps everything the store
knows: a header line for the experiment (space, snapshot, spec), then one line per run
(parameters, verdict, timing, worker, input and output digests, every detail) and one
per failure of the machinery (never a verdict). ``read_jsonl`` reads it back, so a
history moved to another machine resumes there. ``bugdoc`` is BugDoc's own history
(parameters plus ``result``); ``prov`` is a small PROV-JSON document: each run an
activity that used its input files (entities named by sha256), generated its outputs
and was associated with its worker (an agent).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from driftdoc.errors import InputError
from driftdoc.model import Outcome, Space
from driftdoc.store import ErrorRecord, Experiment, RunRecord, Store

FORMAT = "driftdoc-provenance"
VERSION = 1
EXPORT_FORMATS = ("jsonl", "bugdoc", "prov")


def title(exp: Experiment) -> str:
    """A person's name for an experiment: its spec, snippet or oracle, not only a hash."""
    meta = exp.meta
    if meta.get("kind") == "pipeline":
        return f"pipeline {meta.get('name', '?')} ({meta.get('spec', '?')})"
    if meta.get("snippet"):
        return f"snippet {meta['snippet']}"
    name = exp.name
    if name.startswith("run:"):
        return f"snippet {name.split(':')[1][:12]} (environment search)"
    if name.startswith("explain:"):
        return "explanation of an environment search"
    if name.startswith("workers:"):
        return f"workers' pipeline {name[len('workers:'):]}"
    if "@" in name:
        who, _, where = name.partition("@")
        return f"{who} over {where}"
    return name


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")


def run_line(rec: RunRecord) -> dict[str, Any]:
    details = rec.outcome.details
    outputs = details.get("outputs", {})
    return {
        "type": "run", "id": rec.id, "params": rec.params,
        "verdict": {"succeeded": rec.outcome.succeeded, "category": rec.outcome.category,
                    "message": rec.outcome.message},
        "duration": rec.outcome.duration, "started": rec.started, "finished": rec.finished,
        "worker": rec.worker, "source": rec.source,
        "snapshot": details.get("snapshot"), "inputs": details.get("inputs", {}),
        "outputs": outputs.get("files", {}) if isinstance(outputs, dict) else {},
        "details": details,
    }


def error_line(rec: ErrorRecord) -> dict[str, Any]:
    return {"type": "error", "id": rec.id, "params": rec.params, "kind": rec.kind,
            "message": rec.message, "attempts": rec.attempts, "started": rec.started,
            "finished": rec.finished, "worker": rec.worker, "source": rec.source,
            "details": rec.details}


def header(exp: Experiment) -> dict[str, Any]:
    return {"type": "experiment", "format": FORMAT, "version": VERSION, "id": exp.id,
            "name": exp.name, "title": title(exp), "created": exp.created,
            "space": exp.space, "meta": exp.meta}


def export(store: Store, exp: Experiment, fp: IO[str], fmt: str = "jsonl") -> int:
    """Write ``exp`` in ``fmt``; returns the number of runs and errors written."""
    if fmt == "bugdoc":
        return store.export_bugdoc(exp.id, fp)
    runs, errors = store.runs(exp.id), store.errors(exp.id)
    if fmt == "prov":
        json.dump(prov_document(exp, runs, errors), fp, indent=1, default=str)
        fp.write("\n")
        return len(runs) + len(errors)
    if fmt != "jsonl":
        raise InputError(f"unknown export format {fmt!r}; use {', '.join(EXPORT_FORMATS)}")
    fp.write(json.dumps(header(exp), default=str) + "\n")
    for line in [*(run_line(r) for r in runs), *(error_line(e) for e in errors)]:
        fp.write(json.dumps(line, default=str) + "\n")
    return len(runs) + len(errors)


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The objects of a driftdoc-provenance file, header first; one-line errors."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"provenance line {lineno} is not JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or obj.get("type") not in ("experiment", "run", "error"):
            raise InputError(f"provenance line {lineno}: not an experiment, run or error")
        if lineno == 1 and (obj["type"] != "experiment" or obj.get("format") != FORMAT):
            raise InputError(f"line 1 is not a {FORMAT} header")
        if obj.get("type") == "experiment" and obj.get("version") != VERSION:
            raise InputError(f"{FORMAT} version {obj.get('version')} is not {VERSION}")
        yield obj


def is_jsonl(first_line: str) -> bool:
    try:
        obj = json.loads(first_line)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def export_lines(store: Store, exp: Experiment, *, after_run: int = 0,
                 after_error: int = 0) -> list[str]:
    """``exp`` as driftdoc-provenance lines, only runs and errors past the given ids: a
    slice of a store that another one (a worker's, the batch client's) takes in."""
    out = [json.dumps(header(exp), default=str)]
    out += [json.dumps(run_line(r), default=str) for r in store.runs(exp.id) if r.id > after_run]
    out += [json.dumps(error_line(e), default=str) for e in store.errors(exp.id)
            if e.id > after_error]
    return out


def import_jsonl(store: Store, lines: Iterable[str], experiment: str | None = None, *,
                 keep_ids: bool = False) -> int:
    """Load an exported experiment (runs and errors, all details) into ``store``.

    Runs and errors already recorded there (same parameters, verdict or kind, and start)
    are not added twice, so a slice may be taken in more than once. ``keep_ids`` gives each
    row its exported id (into a store that has none of them), so the places where searches
    began (``mark_search``, in the header's meta) still hold.
    """
    objs = list(read_jsonl(lines))
    head = objs[0]
    space = Space.from_json(head["space"]) if head.get("space") else None
    exp_id = store.experiment(experiment or head["name"], space, meta=head.get("meta") or {})
    seen = {(json.dumps(r.params, sort_keys=True), r.outcome.succeeded, r.started)
            for r in store.runs(exp_id)}
    seen_errors = {(json.dumps(e.params, sort_keys=True), e.kind, e.started)
                   for e in store.errors(exp_id)}
    n = 0
    for obj in objs[1:]:
        if obj["type"] == "run":
            v = obj["verdict"]
            mark_run = (json.dumps(obj["params"], sort_keys=True), v["succeeded"],
                        obj.get("started"))
            if mark_run in seen:
                continue
            seen.add(mark_run)
            store.record(exp_id, obj["params"],
                         Outcome(bool(v["succeeded"]), v.get("category", ""),
                                 v.get("message", ""), float(obj.get("duration") or 0),
                                 obj.get("details") or {}),
                         started=obj.get("started"), finished=obj.get("finished"),
                         worker=obj.get("worker", ""), source=obj.get("source", "run"),
                         run_id=int(obj["id"]) if keep_ids else None)
            n += 1
        elif obj["type"] == "error":
            mark = (json.dumps(obj["params"], sort_keys=True), obj["kind"], obj.get("started"))
            if mark in seen_errors:
                continue
            seen_errors.add(mark)
            store.record_error(exp_id, obj["params"], obj["kind"], obj.get("message", ""),
                               attempts=int(obj.get("attempts") or 1),
                               details=obj.get("details") or {}, started=obj.get("started"),
                               finished=obj.get("finished"), worker=obj.get("worker", ""),
                               source=obj.get("source", "run"),
                               error_id=int(obj["id"]) if keep_ids else None)
            n += 1
    return n


# -- W3C PROV-JSON ------------------------------------------------------------------


def prov_document(exp: Experiment, runs: list[RunRecord], errors: list[ErrorRecord]
                  ) -> dict[str, Any]:
    """PROV-JSON: runs are activities, files entities by digest, workers agents."""
    entity: dict[str, Any] = {}
    activity: dict[str, Any] = {}
    agent: dict[str, Any] = {}
    used: dict[str, Any] = {}
    generated: dict[str, Any] = {}
    associated: dict[str, Any] = {}
    plan = f"dd:experiment-{exp.id}"
    entity[plan] = {"prov:type": {"$": "prov:Plan", "type": "prov:QUALIFIED_NAME"},
                    "prov:label": title(exp), "dd:name": exp.name}

    def file_entity(path: str, digest: str) -> str:
        key = f"dd:sha256-{digest}"
        entity.setdefault(key, {"prov:label": path, "dd:sha256": digest})
        return key

    for rec in runs:
        act = f"dd:run-{rec.id}"
        attrs: dict[str, Any] = {"prov:type": "dd:run", "dd:succeeded": rec.outcome.succeeded,
                                 "dd:category": rec.outcome.category,
                                 "dd:params": json.dumps(rec.params, sort_keys=True)}
        if rec.started is not None:
            activity[act] = {"prov:startTime": _iso(rec.started),
                             "prov:endTime": _iso(rec.finished), **attrs}
        else:
            activity[act] = attrs
        worker = f"dd:worker-{rec.worker or 'unknown'}".replace(" ", "_")
        agent.setdefault(worker, {"prov:type": {"$": "prov:SoftwareAgent",
                                                "type": "prov:QUALIFIED_NAME"},
                                  "prov:label": rec.worker or "unknown"})
        associated[f"_:assoc-{rec.id}"] = {"prov:activity": act, "prov:agent": worker,
                                           "prov:plan": plan}
        line = run_line(rec)
        inputs = line["inputs"] if isinstance(line["inputs"], dict) else {}
        for path, digest in inputs.items():
            if isinstance(digest, str) and len(digest) == 64:
                used[f"_:used-{rec.id}-{len(used)}"] = {
                    "prov:activity": act, "prov:entity": file_entity(path, digest)}
        for path, info in line["outputs"].items():
            digest = info.get("sha256") if isinstance(info, dict) else None
            if digest:
                generated[f"_:gen-{rec.id}-{len(generated)}"] = {
                    "prov:entity": file_entity(path, digest), "prov:activity": act}
    for err in errors:
        activity[f"dd:error-{err.id}"] = {"prov:type": "dd:infrastructure-error",
                                          "dd:kind": err.kind, "prov:label": err.message,
                                          "dd:params": json.dumps(err.params, sort_keys=True)}
    doc: dict[str, Any] = {"prefix": {"dd": "https://driftdoc.invalid/ns#"},
                           "entity": entity, "activity": activity, "agent": agent}
    for name, table in (("used", used), ("wasGeneratedBy", generated),
                        ("wasAssociatedWith", associated)):
        if table:
            doc[name] = table
    return doc
