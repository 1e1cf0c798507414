"""Run a Python oracle in this process: the cheapest executor, for the library API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from driftdoc.errors import OracleError
from driftdoc.model import Instance, Outcome, Value

Oracle = Callable[[dict[str, Value]], Any]


def coerce_verdict(result: Any, instance: Instance) -> Outcome:
    """Accept a bool (or 0/1) or an Outcome from an oracle; anything else is an error."""
    if isinstance(result, Outcome):
        return result
    if isinstance(result, bool) or (isinstance(result, int) and result in (0, 1)):
        return Outcome.of(bool(result))
    if type(result).__name__ == "bool_":  # numpy.bool_ without importing numpy
        return Outcome.of(bool(result))
    raise OracleError(
        f"the oracle must return a bool or an Outcome, got {type(result).__name__} "
        f"for {dict(instance)}"
    )


class InProcessExecutor:
    """Calls the oracle directly, one instance after another.

    An oracle that raises is a bug in the oracle, not a failing configuration, so
    the search stops with a clear error instead of recording a made-up verdict.
    """

    name = "in-process"

    def __init__(self, oracle: Oracle) -> None:
        self.oracle = oracle

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Outcome]]:
        for inst in instances:
            start = time.perf_counter()
            try:
                result = self.oracle(dict(inst))
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                raise OracleError(
                    f"the oracle raised {type(exc).__name__}: {exc} (for {dict(inst)})"
                ) from exc
            outcome = coerce_verdict(result, inst)
            if not outcome.duration:
                outcome = Outcome(
                    outcome.succeeded, outcome.category, outcome.message,
                    time.perf_counter() - start, outcome.details,
                )
            yield inst, outcome

    def close(self) -> None:
        """Nothing to release."""
