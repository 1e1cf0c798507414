"""Executors: where runs happen (in-process, local pool, ZeroMQ workers, Dask)."""

from driftdoc.executors.base import Executor

__all__ = ["Executor"]
