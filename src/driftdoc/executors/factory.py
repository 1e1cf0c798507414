"""Turn an ``--executor`` spec into an Executor.

Specs:

- ``local`` (default): a pool of ``workers`` threads; ``local?processes=1`` uses processes.
- ``zmq``: bind the BugDoc dispatcher on all interfaces, ports 5557 (requests) and 5558
  (replies). ``zmq://HOST`` binds HOST; ``zmq://HOST:PUSH:PULL`` also sets the ports
  (0 = pick free ports). Options: ``?protocol=json`` (driftdoc workers only; default
  ``bugdoc``, understood by both), ``&retries=N``, ``&wait=SECONDS`` (how long work may
  wait with no worker connected before the search stops with exit 1; default 300, ``0``
  waits forever).
- ``dask``: start a LocalCluster with ``workers`` workers; ``dask://HOST:PORT`` connects
  to a running scheduler. ``?wait=SECONDS`` (default 300, ``0`` forever) bounds the wait
  for a worker when the cluster has none, as for ZeroMQ; ``&retries=N``.

The ZeroMQ per-request timeout is ``2 * timeout + 10`` seconds when a per-run ``timeout``
is given (workers enforce the run's own limit; the rest covers queueing), else none.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs

from driftdoc.errors import InputError
from driftdoc.events import Reporter, null_reporter
from driftdoc.executors.base import Executor, Runner


def _split(spec: str) -> tuple[str, str, dict[str, str]]:
    base, _, query = spec.partition("?")
    scheme, sep, rest = base.partition("://")
    if not sep:
        scheme, rest = base, ""
    try:
        opts = {k: v[-1] for k, v in parse_qs(query, strict_parsing=bool(query)).items()}
    except ValueError:
        raise InputError(f"bad options in executor spec {spec!r}") from None
    return scheme.strip().lower(), rest.strip(), opts


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise InputError(f"bad port {text!r} in executor spec {spec!r}")
    return int(text)


def _int_opt(opts: dict[str, str], name: str, default: int, spec: str) -> int:
    raw = opts.pop(name, None)
    if raw is None:
        return default
    if not raw.isdigit():
        raise InputError(f"{name} must be a whole number in executor spec {spec!r}")
    return int(raw)


def make_executor(
    spec: str | None,
    runner: Runner,
    *,
    workers: int = 1,
    filename: str = "pipeline",
    space_names: Sequence[str] = (),
    timeout: float | None = None,
    reporter: Reporter = null_reporter,
    snapshot_id: str | None = None,
) -> Executor:
    """Build the executor named by ``spec`` (see the module docstring for the grammar).

    ``snapshot_id`` is the experiment's snapshot of the inputs: ZeroMQ workers take their
    own, and a reply made on another one is an error, not a verdict.
    """
    del space_names  # requests carry the names of each instance
    if workers < 1:
        raise InputError("--workers must be 1 or more")
    scheme, rest, opts = _split(spec or "local")
    if scheme == "local":
        if rest:
            raise InputError(f"the local executor takes no address, got {spec!r}")
        processes = _int_opt(opts, "processes", 0, spec or "local") == 1
        _no_more(opts, spec or "local")
        from driftdoc.executors.local import LocalExecutor

        return LocalExecutor(runner, workers, processes=processes, timeout=timeout)
    if scheme == "zmq":
        assert spec is not None
        host, push, pull = "*", 5557, 5558
        if rest:
            parts = rest.split(":")
            if len(parts) == 1:
                host = parts[0]
            elif len(parts) == 3:
                host, push, pull = parts[0], _port(parts[1], spec), _port(parts[2], spec)
            else:
                raise InputError(f"use zmq://HOST or zmq://HOST:PUSH:PULL, got {spec!r}")
        protocol = opts.pop("protocol", "bugdoc")
        retries = _int_opt(opts, "retries", 3, spec)
        from driftdoc.executors.zmq import DEFAULT_WAIT, ZmqExecutor

        wait = _int_opt(opts, "wait", int(DEFAULT_WAIT), spec)
        _no_more(opts, spec)
        return ZmqExecutor(filename=filename, host=host or "*", push_port=push, pull_port=pull,
                           timeout=None if timeout is None else 2 * timeout + 10,
                           retries=retries, protocol=protocol, wait=wait or None,
                           reporter=reporter, expect_snapshot=snapshot_id)
    if scheme == "dask":
        assert spec is not None
        retries = _int_opt(opts, "retries", 1, spec)
        processes = _int_opt(opts, "processes", 0, spec) == 1
        dask_wait = _int_opt(opts, "wait", 300, spec)
        _no_more(opts, spec)
        if rest and (":" not in rest or not rest.rsplit(":", 1)[1].isdigit()):
            raise InputError(f"use dask://HOST:PORT, got {spec!r}")
        from driftdoc.executors.dask import DaskExecutor

        return DaskExecutor(runner, address=rest or None, workers=workers, processes=processes,
                            timeout=None if timeout is None else 2 * timeout + 10,
                            retries=retries, wait=dask_wait or None, reporter=reporter)
    raise InputError(
        f"unknown executor {spec!r}; use local, zmq, zmq://HOST:PUSH:PULL, dask or "
        "dask://HOST:PORT"
    )


def _no_more(opts: dict[str, str], spec: str) -> None:
    if opts:
        raise InputError(f"unknown option {sorted(opts)[0]!r} in executor spec {spec!r}")
