"""SQLite provenance: every run of every experiment, written one transaction per run.

WAL mode plus a commit per run means a crash or Ctrl-C loses at most the run in
flight, and a rerun resumes from everything already recorded. Verdicts (``runs``) and
failures of the machinery (``errors``: a lost worker, a dispatch time-out, a sandbox
that did not start) live in separate tables, so an error can never be read back as a
verdict; rows that older versions wrote as verdicts are moved to ``errors`` on open.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from driftdoc.errors import DriftdocError, InputError
from driftdoc.model import Instance, Outcome, Space, Value

SCHEMA_VERSION = 2
DEFAULT_PATH = Path(".driftdoc") / "store.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    space TEXT NOT NULL,
    created REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    key TEXT NOT NULL,
    params TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    duration REAL NOT NULL DEFAULT 0,
    details TEXT NOT NULL DEFAULT '{}',
    started REAL,
    finished REAL,
    worker TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'run'
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (experiment_id, key);
CREATE TABLE IF NOT EXISTS errors (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    key TEXT NOT NULL,
    params TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 1,
    details TEXT NOT NULL DEFAULT '{}',
    started REAL,
    finished REAL,
    worker TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'run'
);
CREATE INDEX IF NOT EXISTS errors_by_experiment ON errors (experiment_id);
"""

# Rows that versions before schema 2 stored as failing verdicts although the machinery
# failed: lost or broken workers, sandboxes that did not start, Dask dispatch time-outs.
# Only debugging runs ('run', 'recheck'); validations of the environment half differ.
_POISONED = (
    "source IN ('run', 'recheck') AND (category IN ('worker-lost', 'worker-error', 'sandbox')"
    " OR (category = 'timeout' AND json_extract(details, '$.executor') = 'dask'))"
)


class ExperimentBusy(DriftdocError):
    """Another process is searching the same experiment in the same store: exit 1."""


@dataclass(frozen=True)
class Experiment:
    """One named search target (a pipeline, an oracle, a snippet's version space)."""

    id: int
    name: str
    space: dict[str, Any]
    created: float
    meta: dict[str, Any]


@dataclass(frozen=True)
class ErrorRecord:
    """One failure of the machinery for a configuration: no verdict, kept for provenance."""

    id: int
    experiment_id: int
    experiment: str
    params: dict[str, Value]
    kind: str
    message: str
    attempts: int
    details: dict[str, Any]
    started: float | None
    finished: float | None
    worker: str
    source: str


@dataclass(frozen=True)
class RunRecord:
    """One recorded execution, as stored."""

    id: int
    experiment_id: int
    experiment: str
    params: dict[str, Value]
    outcome: Outcome
    started: float | None
    finished: float | None
    worker: str
    source: str


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Store:
    """Provenance store; ``Store(":memory:")`` keeps everything in memory."""

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create the store directory for {self.path}: {exc}") \
                    from None
        self._db = self._open()
        self._lock = threading.Lock()
        self._claims: dict[str, str] = {}  # lock file -> experiment

    def _open(self) -> sqlite3.Connection:
        """Connect, switch to WAL once, create the schema; retry while others hold locks.

        Many processes (batch mode) open one store at once; changing the journal mode
        does not wait for a busy database, so it is done only when needed and retried.
        """
        for attempt in range(40):
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
            try:
                db.execute("PRAGMA busy_timeout=30000")
                if self.path != ":memory:" and \
                        db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
                with db:
                    db.executescript(_SCHEMA)
                    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                               (str(SCHEMA_VERSION),))
                _quarantine(db)
                _adopt_validations(db)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if "locked" in str(exc) or "busy" in str(exc):
                    time.sleep(min(1.0, 0.02 * (attempt + 1)))
                    continue
                raise InputError(f"{self.path} is not a usable driftdoc store: {exc}") from None
            except sqlite3.DatabaseError as exc:
                db.close()
                raise InputError(f"{self.path} is not a usable driftdoc store: {exc}") from None
        raise DriftdocError(f"{self.path} stayed locked by other processes; try again")

    @classmethod
    def memory(cls) -> Store:
        return cls(":memory:")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            for lock in self._claims:
                _release(lock)
            self._claims.clear()

    def claim(self, name: str) -> None:
        """Hold experiment ``name`` for this process until ``close()``.

        Two processes searching one experiment would run the same configurations twice
        and each see only part of the answer, so the second is refused (``ExperimentBusy``)
        with who holds it. The lock is an ``flock`` beside the store: it goes away with
        the process, however that ends. Stores of one process share their locks.
        """
        if self.path == ":memory:" or name in self._claims:
            return
        folder = Path(self.path + ".locks")
        lock = str(folder / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".lock"))
        with _held_lock:
            if lock in _held:
                fd, count = _held[lock]
                _held[lock] = (fd, count + 1)
                self._claims[lock] = name
                return
            try:
                folder.mkdir(exist_ok=True)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise DriftdocError(f"cannot lock experiment {name!r} in {self.path}: {exc}") \
                    from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ExperimentBusy(
                    f"experiment {name!r} in {self.path} is being searched by another "
                    f"driftdoc process ({holder}); wait for it to finish, or pass another "
                    "--experiment") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
            _held[lock] = (fd, 1)
            self._claims[lock] = name

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- experiments -------------------------------------------------------

    def experiment(self, name: str, space: Space | None,
                   meta: Mapping[str, Any] | None = None) -> int:
        """Get or create the experiment ``name``; its stored space follows the latest one.

        ``space`` is None for open-ended searches (environment repair) whose parameters
        grow as the search learns which packages matter.
        """
        space_json = _json(space.to_json() if space is not None else {})
        with self._lock, self._db:
            # Insert first: a SELECT-then-INSERT lets two processes both see "absent" and
            # the second INSERT then fails on the unique name (batch mode opens at once).
            self._db.execute(
                "INSERT OR IGNORE INTO experiments (name, space, created, meta) "
                "VALUES (?, ?, ?, ?)",
                (name, space_json, time.time(), _json(dict(meta or {}))),
            )
            self._db.execute("UPDATE experiments SET space = ? WHERE name = ?", (space_json, name))
            row = self._db.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()
            return int(row[0])

    def experiments(self) -> list[Experiment]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, space, created, meta FROM experiments ORDER BY id"
            ).fetchall()
        return [Experiment(r[0], r[1], json.loads(r[2]), r[3], json.loads(r[4])) for r in rows]

    def find_experiment(self, name_or_id: str) -> Experiment:
        """The experiment of that name, else of that id (one indexed lookup: a batch asks
        once per snippet of a store holding thousands)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, space, created, meta FROM experiments WHERE name = ?",
                (name_or_id,)).fetchone()
            if row is None and name_or_id.isdigit():
                row = self._db.execute(
                    "SELECT id, name, space, created, meta FROM experiments WHERE id = ?",
                    (int(name_or_id),)).fetchone()
        if row is None:
            raise InputError(f"no experiment named {name_or_id!r} in {self.path}")
        return Experiment(row[0], row[1], json.loads(row[2]), row[3], json.loads(row[4]))

    def experiment_meta(self, experiment_id: int) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT meta FROM experiments WHERE id = ?",
                                   (experiment_id,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def mark_search(self, experiment_id: int, signature: str) -> tuple[int, bool]:
        """Where the search ``signature`` began in this experiment's runs: (last run id
        before it, True if it had begun before). Runs after that id are its own, so an
        interrupted search can be replayed instead of restarted from different history."""
        with self._lock, self._db:
            row = self._db.execute("SELECT meta FROM experiments WHERE id = ?",
                                   (experiment_id,)).fetchone()
            meta = json.loads(row[0]) if row else {}
            searches = meta.setdefault("searches", {})
            if signature in searches:
                return int(searches[signature]["start"]), True
            last = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM runs WHERE experiment_id = ?",
                                    (experiment_id,)).fetchone()[0]
            searches[signature] = {"start": int(last), "created": time.time()}
            self._db.execute("UPDATE experiments SET meta = ? WHERE id = ?",
                             (_json(meta), experiment_id))
            return int(last), False

    def update_meta(self, experiment_id: int, meta: Mapping[str, Any]) -> None:
        """Merge ``meta`` into the experiment's metadata (snapshots, the spec it came from)."""
        with self._lock, self._db:
            row = self._db.execute("SELECT meta FROM experiments WHERE id = ?",
                                   (experiment_id,)).fetchone()
            merged = {**json.loads(row[0]), **meta} if row else dict(meta)
            self._db.execute("UPDATE experiments SET meta = ? WHERE id = ?",
                             (_json(merged), experiment_id))

    def count_runs(self, experiment_id: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()
        return int(row[0])

    # -- runs --------------------------------------------------------------

    def record(
        self,
        experiment_id: int,
        instance: Mapping[str, Value],
        outcome: Outcome,
        *,
        started: float | None = None,
        finished: float | None = None,
        worker: str = "",
        source: str = "run",
        run_id: int | None = None,
    ) -> int:
        """Persist one run atomically and return its id (``run_id`` keeps a copied run's)."""
        key = instance.key if isinstance(instance, Instance) else Instance(instance.items()).key
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO runs (id, experiment_id, key, params, succeeded, category, message,"
                " duration, details, started, finished, worker, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    experiment_id,
                    key,
                    _json(dict(instance)),
                    int(outcome.succeeded),
                    outcome.category,
                    outcome.message,
                    outcome.duration,
                    _json(outcome.details),
                    started,
                    finished,
                    worker,
                    source,
                ),
            )
            return int(cur.lastrowid or 0)

    def record_error(
        self,
        experiment_id: int,
        instance: Mapping[str, Value],
        kind: str,
        message: str,
        *,
        attempts: int = 1,
        details: Mapping[str, Any] | None = None,
        started: float | None = None,
        finished: float | None = None,
        worker: str = "",
        source: str = "run",
        error_id: int | None = None,
    ) -> int:
        """Persist one failure of the machinery (never a verdict) and return its id."""
        key = instance.key if isinstance(instance, Instance) else Instance(instance.items()).key
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO errors (id, experiment_id, key, params, kind, message, attempts,"
                " details, started, finished, worker, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (error_id, experiment_id, key, _json(dict(instance)), kind, message, attempts,
                 _json(dict(details or {})), started, finished, worker, source),
            )
            return int(cur.lastrowid or 0)

    def errors(self, experiment_id: int | None = None) -> list[ErrorRecord]:
        where, args = ("", ()) if experiment_id is None else \
            ("WHERE r.experiment_id = ?", (experiment_id,))
        with self._lock:
            rows = self._db.execute(
                "SELECT r.id, r.experiment_id, e.name, r.params, r.kind, r.message, r.attempts,"
                " r.details, r.started, r.finished, r.worker, r.source"
                " FROM errors r JOIN experiments e ON e.id = r.experiment_id "
                + where + " ORDER BY r.id", args,
            ).fetchall()
        return [ErrorRecord(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6],
                            json.loads(r[7]), r[8], r[9], r[10], r[11]) for r in rows]

    def count_errors(self, experiment_id: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM errors WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()
        return int(row[0])

    def _rows(self, where: str, args: tuple[Any, ...]) -> Iterator[RunRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT r.id, r.experiment_id, e.name, r.params, r.succeeded, r.category,"
                " r.message, r.duration, r.details, r.started, r.finished, r.worker, r.source"
                " FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                + where
                + " ORDER BY r.id",
                args,
            ).fetchall()
        for r in rows:
            outcome = Outcome(bool(r[4]), r[5], r[6], r[7], json.loads(r[8]))
            yield RunRecord(r[0], r[1], r[2], json.loads(r[3]), outcome, r[9], r[10], r[11], r[12])

    def runs(self, experiment_id: int | None = None) -> list[RunRecord]:
        if experiment_id is None:
            return list(self._rows("", ()))
        return list(self._rows("WHERE r.experiment_id = ?", (experiment_id,)))

    def run(self, run_id: int) -> RunRecord:
        found = list(self._rows("WHERE r.id = ?", (run_id,)))
        if not found:
            raise InputError(f"no run with id {run_id} in {self.path}")
        return found[0]

    # -- BugDoc JSON-lines history ----------------------------------------

    def export_bugdoc(self, experiment_id: int, fp: IO[str]) -> int:
        """Write one JSON object per run: parameter values plus ``"result"``."""
        n = 0
        for rec in self.runs(experiment_id):
            row: dict[str, Any] = dict(rec.params)
            row["result"] = rec.outcome.succeeded
            fp.write(json.dumps(row) + "\n")
            n += 1
        return n

    def import_bugdoc(self, experiment_id: int, space: Space, lines: Iterable[str]) -> int:
        """Load BugDoc history lines into ``experiment_id``; all or nothing."""
        parsed = [(inst, Outcome.of(ok)) for inst, ok in parse_bugdoc_lines(lines, space)]
        with self._lock, self._db:
            for inst, outcome in parsed:
                self._db.execute(
                    "INSERT INTO runs (experiment_id, key, params, succeeded, category, source)"
                    " VALUES (?, ?, ?, ?, ?, 'import')",
                    (experiment_id, inst.key, _json(dict(inst)), int(outcome.succeeded),
                     outcome.category),
                )
        return len(parsed)


_held: dict[str, tuple[int, int]] = {}  # lock file -> (descriptor, holders in this process)
_held_lock = threading.Lock()


def _release(lock: str) -> None:
    """Drop one holder of an experiment lock; the last one closes it (releasing the flock)."""
    with _held_lock:
        fd, count = _held.get(lock, (-1, 0))
        if count > 1:
            _held[lock] = (fd, count - 1)
            return
        _held.pop(lock, None)
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _quarantine(db: sqlite3.Connection) -> None:
    """Move verdicts that older versions made of machinery failures into ``errors``.

    Checked on every open (a cheap read) because an older driftdoc may still write to
    the same store; the move is one transaction, so a crash leaves either state whole.
    """
    if db.execute(f"SELECT 1 FROM runs WHERE {_POISONED} LIMIT 1").fetchone() is None:
        return
    with db:
        db.execute(
            "INSERT INTO errors (experiment_id, key, params, kind, message, attempts, details,"
            " started, finished, worker, source)"
            " SELECT experiment_id, key, params,"
            " CASE category WHEN 'timeout' THEN 'dispatch-timeout' ELSE category END,"
            " message, 1, details, started, finished, worker, 'legacy-' || source"
            f" FROM runs WHERE {_POISONED} ORDER BY id"
        )
        db.execute(f"DELETE FROM runs WHERE {_POISONED}")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))


def _adopt_validations(db: sqlite3.Connection) -> None:
    """Validations that older versions recorded outside the Session (source
    ``validation``) are ordinary runs of their experiment: same parameters (the attempt's
    key), same verdict in ``details``, same validator version in the experiment's name."""
    if db.execute("SELECT 1 FROM runs WHERE source = 'validation' LIMIT 1").fetchone() is None:
        return
    with db:
        db.execute("UPDATE runs SET source = 'run' WHERE source = 'validation'")


def _parse_result(value: Any, lineno: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise InputError(f"history line {lineno}: 'result' must be true or false, got {value!r}")


def _history_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Numbered JSON objects of a BugDoc history; blank lines are skipped."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"history line {lineno} is not JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or "result" not in obj:
            raise InputError(f"history line {lineno} needs an object with a 'result' field")
        yield lineno, obj


def parse_bugdoc_lines(lines: Iterable[str], space: Space) -> list[tuple[Instance, bool]]:
    """Parse BugDoc JSON-lines history against ``space``, with line-numbered errors."""
    out: list[tuple[Instance, bool]] = []
    for lineno, obj in _history_objects(lines):
        ok = _parse_result(obj.pop("result"), lineno)
        try:
            out.append((space.instance(obj), ok))
        except InputError as exc:
            raise InputError(f"history line {lineno}: {exc}") from None
    return out


def space_from_bugdoc_lines(lines: Iterable[str]) -> Space:
    """Infer a space from a history when none is given: each observed value, in order seen."""
    values: dict[str, list[Value]] = {}
    for _lineno, obj in _history_objects(lines):
        for name, value in obj.items():
            if name == "result":
                continue
            seen = values.setdefault(name, [])
            if value not in seen:
                seen.append(value)
    if not values:
        raise InputError("the history holds no runs")
    return Space.from_dict(values)
