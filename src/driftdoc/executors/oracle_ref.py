"""An oracle named by reference and imported where it runs: the workers hold the pipeline.

``OracleRef("mymodule:check")`` pickles as a string, so a Dask worker that has
``mymodule`` installed can run it although the dispatcher never imports it. A module
named without a function (``OracleRef("my_api_example")``) is used the way BugDoc's seed
worker script uses it: ``evaluate_pipeline_output(execute_pipeline(filename, config))``.
As in that script, a pipeline that raises is a failing run; a module that cannot be
imported on the worker is a ``RunError`` (no verdict).
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from typing import Any

from driftdoc.executors.base import RunError
from driftdoc.model import Instance, Outcome

SEED_API = ("execute_pipeline", "evaluate_pipeline_output")


class OracleRef:
    """A picklable runner for ``module:function`` or a seed-style pipeline module."""

    def __init__(self, ref: str, filename: str = "pipeline") -> None:
        self.ref = ref
        self.filename = filename
        self._func: Callable[[dict[str, Any]], Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"ref": self.ref, "filename": self.filename}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ref, self.filename, self._func = state["ref"], state["filename"], None

    def __repr__(self) -> str:
        return f"OracleRef({self.ref!r})"

    def _load(self) -> Callable[[dict[str, Any]], Any]:
        if self._func is None:
            target, _, attr = self.ref.partition(":")
            module = importlib.import_module(target)
            if attr:
                self._func = getattr(module, attr)
            else:
                execute, evaluate = (getattr(module, name) for name in SEED_API)
                filename = self.filename
                self._func = lambda cfg: evaluate(execute(filename, cfg))
        return self._func

    def __call__(self, instance: Instance) -> Outcome | RunError:
        try:
            func = self._load()
        except (ImportError, AttributeError) as exc:
            return RunError("worker-error", f"cannot load {self.ref!r} here: {exc}",
                            details={"params": dict(instance)})
        start = time.perf_counter()
        try:
            result = func(dict(instance))
        except Exception as exc:  # the seed's worker scores a crash as a failure
            return Outcome(False, "crash", f"{type(exc).__name__}: {exc}",
                           time.perf_counter() - start,
                           {"params": dict(instance), "traceback": traceback.format_exc()[-4000:]})
        duration = time.perf_counter() - start
        if isinstance(result, Outcome):
            return result
        if isinstance(result, bool) or (isinstance(result, int) and result in (0, 1)) \
                or type(result).__name__ == "bool_":
            ok = bool(result)
            return Outcome(ok, "" if ok else "failed", "", duration, {"params": dict(instance)})
        return RunError("worker-error", f"{self.ref} returned {type(result).__name__}, "
                        "not a bool", details={"params": dict(instance)})
