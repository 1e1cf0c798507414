"""Executors: where runs happen (in-process, local pool, ZeroMQ workers, Dask)."""

from driftdoc.executors.base import Executor, InfrastructureError, Result, RunError, Runner

__all__ = ["Executor", "InfrastructureError", "Result", "RunError", "Runner"]
