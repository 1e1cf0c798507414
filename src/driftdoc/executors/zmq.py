"""Dispatch runs to remote workers over ZeroMQ, speaking BugDoc's wire protocol.

The dispatcher binds a PUSH socket (requests, port 5557 by default) and a PULL socket
(replies, 5558). Workers connect PULL to the first and PUSH to the second.

Messages:

- BugDoc request: ``filename|[values]|[names]`` (Python-literal lists, ``str(list)``).
  BugDoc reply: ``str(values + [result])``; parsed with ``ast.literal_eval``, never eval.
  Workers written like BugDoc's seed worker script work unchanged.
- driftdoc request (``protocol="json"``): a JSON object
  ``{"id", "filename", "names", "values", "params"}``.
  driftdoc reply (always JSON, so it starts with ``{``):
  ``{"id"?, "values", "outcome": {"succeeded", "category", "message", "duration", "details"}}``.
  ``driftdoc worker`` answers both request kinds with full Outcomes and provenance.

Faults: a worker that disconnects (dies) gets its in-flight requests re-sent at once; a
request without a reply after ``timeout`` seconds is re-sent too. After ``retries`` re-sends
the run is a ``RunError`` (``worker-lost`` or ``dispatch-timeout``) with the attempts in its
details, never a verdict. A driftdoc worker whose own machinery failed (its sandbox did not
start) replies ``{"values", "error": {...}}``, which is a ``RunError`` too. Late duplicate
replies are ignored. While work waits and no worker is connected, a note says so after
``note_after`` seconds, and after ``wait`` seconds (None: forever) the dispatcher gives up
with ``InfrastructureError``. Limitation of PUSH/PULL: a worker that hangs while staying
connected keeps receiving its share of requests; they are re-sent after the timeout, and a
re-send can land on the same worker again. Kill hung workers: a dead worker is noticed at
once.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import os
import socket
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from driftdoc.errors import DriftdocError, InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.executors.base import InfrastructureError, Result, RunError, Runner
from driftdoc.model import Instance, Outcome, Space, Value

DEFAULT_PUSH = 5557
DEFAULT_PULL = 5558
DEFAULT_WAIT = 300.0
"""Seconds the dispatcher waits with work queued and no worker connected."""
NOTE_AFTER = 3.0


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    return {"succeeded": outcome.succeeded, "category": outcome.category,
            "message": outcome.message, "duration": outcome.duration,
            "details": outcome.details}


def outcome_from_json(data: Any) -> Outcome:
    if not isinstance(data, dict) or not isinstance(data.get("succeeded"), bool):
        raise ValueError("an outcome needs a boolean 'succeeded'")
    details = data.get("details") or {}
    return Outcome(data["succeeded"], str(data.get("category", "")),
                   str(data.get("message", "")), float(data.get("duration") or 0.0),
                   details if isinstance(details, dict) else {"details": details})


def bugdoc_request(filename: str, values: Sequence[Value], names: Sequence[str]) -> str:
    """``filename|[values]|[names]`` exactly as BugDoc builds it (``str(list)``)."""
    if "|" in filename:
        raise InputError(f"the pipeline name {filename!r} must not contain '|'")
    return f"{filename}|{list(values)!s}|{list(names)!s}"


def parse_request(message: str) -> tuple[str | None, str, list[Value], list[str]]:
    """``(id, filename, values, names)`` from either request format; ValueError if bad."""
    if message.startswith("{"):
        data = json.loads(message)
        names, values = data.get("names"), data.get("values")
        if names is None and isinstance(data.get("params"), dict):
            names, values = list(data["params"]), list(data["params"].values())
        if not isinstance(names, list) or not isinstance(values, list):
            raise ValueError("a JSON request needs 'names' and 'values' lists")
        rid = data.get("id")
        return (None if rid is None else str(rid)), str(data.get("filename", "")), values, names
    filename, values_text, names_text = message.split("|", 2)
    values, names = ast.literal_eval(values_text), ast.literal_eval(names_text)
    if not isinstance(values, list) or not isinstance(names, list) or len(values) != len(names):
        raise ValueError("values and names must be lists of the same length")
    return None, filename, values, names


def parse_reply(message: str) -> tuple[str | None, list[Value], Result]:
    """``(id, values, outcome or error)`` from a BugDoc or a driftdoc reply; ValueError if bad."""
    if message.startswith("{"):
        data = json.loads(message)
        values = data.get("values")
        if not isinstance(values, list):
            raise ValueError("a JSON reply needs a 'values' list")
        outcome: Result
        if "error" in data:
            outcome = RunError.from_json(data["error"])
        elif "outcome" in data:
            outcome = outcome_from_json(data["outcome"])
        elif isinstance(data.get("result"), bool):
            outcome = Outcome.of(data["result"])
        else:
            raise ValueError("a JSON reply needs an 'outcome' or a boolean 'result'")
        rid = data.get("id")
        return (None if rid is None else str(rid)), values, outcome
    parsed = ast.literal_eval(message)
    if not isinstance(parsed, list) or not parsed:
        raise ValueError("a BugDoc reply is a list: values followed by the result")
    *values, result = parsed
    if isinstance(result, bool) or result in (0, 1):
        return None, values, Outcome.of(bool(result))
    raise ValueError(f"the result must be a boolean, got {result!r}")


def _key(values: Sequence[Value]) -> str:
    return json.dumps(list(values))


@dataclass
class _Request:
    rid: str
    inst: Instance
    key: str
    message: str
    attempts: int = 0
    sent_at: float = 0.0
    resend_at: float | None = None
    history: list[str] = field(default_factory=list)


class ZmqExecutor:
    """Sends instances to connected workers and collects their verdicts as they arrive."""

    name = "zmq"

    def __init__(
        self,
        *,
        filename: str,
        host: str = "*",
        push_port: int = DEFAULT_PUSH,
        pull_port: int = DEFAULT_PULL,
        timeout: float | None = None,
        retries: int = 3,
        protocol: str = "bugdoc",
        wait: float | None = DEFAULT_WAIT,
        note_after: float = NOTE_AFTER,
        reporter: Reporter = null_reporter,
        expect_snapshot: str | None = None,
    ) -> None:
        if protocol not in ("bugdoc", "json"):
            raise InputError(f"unknown zmq protocol {protocol!r}; use bugdoc or json")
        if wait is not None and wait <= 0:
            raise InputError("the wait for ZeroMQ workers must be positive (or none)")
        self.filename = filename
        self.timeout = timeout
        self.retries = retries
        self.wait = wait
        self.note_after = note_after
        self.expect_snapshot = expect_snapshot
        self.protocol = protocol
        self.reporter = reporter
        self._ids = itertools.count(1)
        self._ctx = zmq.Context()
        self._push = self._ctx.socket(zmq.PUSH)
        self._pull = self._ctx.socket(zmq.PULL)
        for sock in (self._push, self._pull):
            sock.setsockopt(zmq.LINGER, 0)
        self._push.setsockopt(zmq.SNDHWM, 1000)
        self._monitor = self._push.get_monitor_socket(
            zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        try:
            self.push_port = self._bind(self._push, host, push_port)
            self.pull_port = self._bind(self._pull, host, pull_port)
        except zmq.ZMQError as exc:
            self.close()
            raise DriftdocError(f"cannot bind the ZeroMQ dispatcher on {host}: {exc}") from None
        self.host = host
        self.peers = 0
        self.disconnects = 0
        self._idle_since: float | None = None  # work waiting, no worker connected
        self._idle_noted = False

    @staticmethod
    def _bind(sock: Any, host: str, port: int) -> int:
        if port == 0:
            return int(sock.bind_to_random_port(f"tcp://{host}"))
        sock.bind(f"tcp://{host}:{port}")
        return port

    @property
    def endpoints(self) -> tuple[str, str]:
        host = "127.0.0.1" if self.host in ("*", "0.0.0.0") else self.host
        return f"tcp://{host}:{self.push_port}", f"tcp://{host}:{self.pull_port}"

    def _events(self) -> bool:
        """Drain socket-monitor events; True if a worker disconnected."""
        lost = False
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            if event["event"] == zmq.EVENT_ACCEPTED:
                self.peers += 1
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                self.peers = max(0, self.peers - 1)
                self.disconnects += 1
                lost = True
        return lost

    def _message(self, rid: str, inst: Instance) -> str:
        names, values = list(inst.keys()), inst.values_list()
        if self.protocol == "json":
            return json.dumps({"id": rid, "filename": self.filename, "names": names,
                               "values": values, "params": dict(inst)})
        return bugdoc_request(self.filename, values, names)

    def _check_idle(self, waiting: bool) -> None:
        """Say so when work waits without workers; give up after ``wait`` seconds."""
        if not waiting or self.peers > 0:
            self._idle_since = None
            self._idle_noted = False
            return
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        idle = now - self._idle_since
        push, pull = self.endpoints
        where = f"requests on {push}, replies on {pull}"
        if idle >= self.note_after and not self._idle_noted:
            self._idle_noted = True
            limit = "no limit" if self.wait is None else f"giving up after {self.wait:g} s"
            self.reporter(Note(f"no ZeroMQ worker connected after {idle:.0f} s; waiting "
                               f"({where}; {limit})", level="warning"))
        if self.wait is not None and idle >= self.wait:
            raise InfrastructureError(
                f"no ZeroMQ worker connected within {self.wait:g} s ({where}); start workers "
                "(driftdoc worker SPEC, or a BugDoc worker script) or raise ?wait=SECONDS")

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        outbox: deque[_Request] = deque()
        for inst in instances:
            rid = str(next(self._ids))
            outbox.append(_Request(rid, inst, _key(inst.values_list()),
                                   self._message(rid, inst)))
        flight: dict[str, _Request] = {}
        by_key: dict[str, deque[str]] = {}
        poller = zmq.Poller()
        poller.register(self._pull, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)

        def send(req: _Request) -> bool:
            try:
                self._push.send_string(req.message, zmq.NOBLOCK)
            except zmq.Again:
                return False
            req.attempts += 1
            req.sent_at = time.monotonic()
            if req.rid not in flight:
                flight[req.rid] = req
                by_key.setdefault(req.key, deque()).append(req.rid)
            return True

        def retire(req: _Request) -> None:
            flight.pop(req.rid, None)
            queue = by_key.get(req.key)
            if queue is not None:
                with contextlib.suppress(ValueError):
                    queue.remove(req.rid)
                if not queue:
                    del by_key[req.key]

        def give_up(req: _Request, kind: str, why: str) -> tuple[Instance, Result]:
            retire(req)
            details = {"params": dict(req.inst), "dispatch": {
                "executor": "zmq", "attempts": req.attempts, "history": req.history}}
            return req.inst, RunError(kind, f"no worker answered after {req.attempts} "
                                      f"attempt(s): {why}", req.attempts, details)

        retry: deque[_Request] = deque()
        while outbox or flight or retry:
            lost = self._events()
            window = max(1, 2 * self.peers)
            while retry and send(retry[0]):
                retry.popleft()
            while outbox and len(flight) < window and send(outbox[0]):
                outbox.popleft()
            self._check_idle(bool(outbox or retry or flight))
            wait_ms = 50 if any(r.resend_at is not None for r in flight.values()) else 200
            if self.timeout is not None and flight:
                oldest = min(r.sent_at for r in flight.values())
                due_ms = int(max(0.0, oldest + self.timeout - time.monotonic()) * 1000) + 1
                wait_ms = min(wait_ms, due_ms)
            events = dict(poller.poll(wait_ms))
            if self._pull in events:
                while True:
                    try:
                        raw = self._pull.recv_string(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except UnicodeDecodeError:
                        continue
                    found = self._match(raw, flight, by_key)
                    if found is None:
                        continue  # late duplicate or junk
                    req, outcome = found
                    retire(req)
                    details = dict(outcome.details)
                    details.setdefault("params", dict(req.inst))
                    details["dispatch"] = {"executor": "zmq", "attempts": req.attempts,
                                           "history": req.history}
                    if not isinstance(outcome, RunError):
                        outcome = self._check_snapshot(outcome)
                    if isinstance(outcome, RunError):
                        yield req.inst, RunError(outcome.kind, outcome.message,
                                                 req.attempts, details)
                    else:
                        yield req.inst, Outcome(outcome.succeeded, outcome.category,
                                                outcome.message, outcome.duration, details)
            if self._monitor in events:
                lost = self._events() or lost
            if lost and flight:
                # ZeroMQ drops the dead peer's pipe a moment after the event; re-sending
                # at once could route the request into that pipe, so wait a little.
                resend_at = time.monotonic() + 0.3
                for req in flight.values():
                    req.history.append("worker disconnected")
                    req.resend_at = resend_at
            due = [r for r in flight.values()
                   if r.resend_at is not None and r.resend_at <= time.monotonic()]
            for req in due:
                req.resend_at = None
                if req.attempts > self.retries:
                    yield give_up(req, "worker-lost", "workers disconnected")
                elif req not in retry and not send(req):
                    req.sent_at = time.monotonic()
                    retry.append(req)
            if self.timeout is not None:
                now = time.monotonic()
                for req in list(flight.values()):
                    if now - req.sent_at < self.timeout:
                        continue
                    req.history.append(f"no reply within {self.timeout:g}s")
                    if req.attempts > self.retries:
                        yield give_up(req, "dispatch-timeout",
                                      f"no reply within {self.timeout:g}s")
                    elif req not in retry and not send(req):
                        req.sent_at = now
                        retry.append(req)

    def _check_snapshot(self, outcome: Outcome) -> Result:
        """A verdict made on other input content than the experiment's is no verdict here."""
        theirs = outcome.details.get("snapshot")
        if self.expect_snapshot is None or theirs is None or theirs == self.expect_snapshot:
            return outcome
        worker = outcome.details.get("worker")
        who = worker.get("id", "a worker") if isinstance(worker, dict) else "a worker"
        return RunError("snapshot", f"{who} ran on its own snapshot {str(theirs)[:12]} of the "
                        f"inputs, not the experiment's {self.expect_snapshot[:12]}: its input "
                        "files differ")

    def _match(self, raw: str, flight: dict[str, _Request], by_key: dict[str, deque[str]]
               ) -> tuple[_Request, Result] | None:
        try:
            rid, values, outcome = parse_reply(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if rid is not None and rid in flight:
            return flight[rid], outcome
        queue = by_key.get(_key(values))
        if not queue:
            return None
        return flight[queue[0]], outcome

    def close(self) -> None:
        push: Any = getattr(self, "_push", None)
        if push is not None:
            with contextlib.suppress(zmq.ZMQError):
                push.disable_monitor()
        for name in ("_monitor", "_push", "_pull"):
            sock: Any = getattr(self, name, None)
            if sock is not None:
                with contextlib.suppress(zmq.ZMQError):
                    sock.close(linger=0)
        self._ctx.term()


# -- the ready-made worker ----------------------------------------------------------


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


MAX_WORKER_ERRORS = 3
"""Consecutive failures of a worker's own machinery after which it stops taking work."""


def serve(
    runner: Runner,
    space: Space | None = None,
    *,
    connect: str = "localhost",
    pull_port: int = DEFAULT_PUSH,
    push_port: int = DEFAULT_PULL,
    max_runs: int | None = None,
    idle_timeout: float | None = None,
    bugdoc_replies: bool = False,
    reporter: Reporter = null_reporter,
) -> int:
    """Answer requests until ``max_runs`` or ``idle_timeout``; returns the number of runs.

    Connects PULL to the dispatcher's request port and PUSH to its reply port, like the
    BugDoc seed worker. Every reply is JSON with the full Outcome (provenance included),
    unless ``bugdoc_replies``: then ``str(values + [verdict])``, for BugDoc's own dispatcher.
    When this worker's own machinery fails (its sandbox does not start), the JSON reply
    carries the error instead of a verdict; BugDoc's format cannot say that, so no reply
    is sent and the dispatcher re-sends the request elsewhere. After
    ``MAX_WORKER_ERRORS`` such failures in a row the worker stops (``InfrastructureError``)
    rather than keep taking work it cannot do.
    """
    ctx = zmq.Context()
    receiver = ctx.socket(zmq.PULL)
    sender = ctx.socket(zmq.PUSH)
    receiver.setsockopt(zmq.RCVHWM, 1)
    for sock in (receiver, sender):
        sock.setsockopt(zmq.LINGER, 2000)
    receiver.connect(f"tcp://{connect}:{pull_port}")
    sender.connect(f"tcp://{connect}:{push_port}")
    me = worker_id()
    runs = errors = 0
    last = time.monotonic()
    try:
        while max_runs is None or runs < max_runs:
            if not receiver.poll(200):
                if idle_timeout is not None and time.monotonic() - last > idle_timeout:
                    break
                continue
            raw = receiver.recv_string()
            last = time.monotonic()
            reply = _answer(raw, runner, space, me)
            error = reply.get("error")
            if error is None:
                errors = 0
                if bugdoc_replies:
                    sender.send_string(str([*reply["values"], reply["outcome"]["succeeded"]]))
                else:
                    sender.send_string(json.dumps(reply, default=str))
                runs += 1
                reporter(Note(f"run {runs}: {reply['outcome'].get('category') or 'ok'}",
                              data={"values": reply.get("values")}))
                continue
            if not bugdoc_replies:
                sender.send_string(json.dumps(reply, default=str))
            reporter(Note(f"no verdict ({error['kind']}): {error['message']}",
                          level="warning", data={"values": reply.get("values")}))
            if error["kind"] != "worker-error":  # a bad request is the sender's problem
                errors += 1
                if errors >= MAX_WORKER_ERRORS:
                    raise InfrastructureError(
                        f"worker {me} stops: {errors} runs in a row failed to start "
                        f"({error['kind']}: {error['message']})")
    finally:
        receiver.close(linger=0)
        sender.close()
        ctx.term()
    return runs


def _answer(raw: str, runner: Runner, space: Space | None, me: str) -> dict[str, Any]:
    """The reply to one request: ``{"values", "id"?, "outcome"}`` or ``{..., "error"}``."""
    try:
        rid, _filename, values, names = parse_request(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        return {"values": [], "error": RunError(
            "worker-error", f"unreadable request: {exc}", details={"worker": {"id": me}}
        ).to_json()}
    reply: dict[str, Any] = {"values": values}
    if rid is not None:
        reply["id"] = rid
    outcome: Result
    try:
        params = dict(zip(names, values, strict=True))
        inst = space.instance(params) if space is not None else Instance(params.items())
    except (InputError, ValueError) as exc:
        outcome = RunError("worker-error", f"bad configuration: {exc}")
    else:
        start = time.perf_counter()
        try:
            outcome = runner(inst)
        except Exception as exc:  # the seed's worker, too, scores a crash as a failure
            outcome = Outcome(False, "crash", f"{type(exc).__name__}: {exc}",
                              time.perf_counter() - start)
    details = dict(outcome.details)
    worker = details.get("worker")
    details["worker"] = {**(worker if isinstance(worker, dict) else {}), "id": me}
    if isinstance(outcome, RunError):
        reply["error"] = RunError(outcome.kind, outcome.message, outcome.attempts,
                                  details).to_json()
    else:
        reply["outcome"] = outcome_to_json(Outcome(outcome.succeeded, outcome.category,
                                                   outcome.message, outcome.duration, details))
    return reply
