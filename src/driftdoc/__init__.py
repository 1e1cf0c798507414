"""driftdoc: find why a computation fails under some configurations and what makes it work."""

from typing import Any

from driftdoc.api import debug
from driftdoc.env.search.result import DriftFix, EnvResult
from driftdoc.environments import Validation, explain, infer, run, validate
from driftdoc.errors import DriftdocError, InputError
from driftdoc.model import (
    Conjunction,
    Diagnosis,
    Instance,
    Outcome,
    Parameter,
    Predicate,
    Space,
)

__version__ = "0.1.0"

__all__ = [
    "Conjunction",
    "Diagnosis",
    "DriftFix",
    "DriftdocError",
    "EnvResult",
    "Explanation",
    "InputError",
    "Instance",
    "Outcome",
    "Parameter",
    "Predicate",
    "Space",
    "Validation",
    "__version__",
    "debug",
    "explain",
    "infer",
    "run",
    "validate",
]


def __getattr__(name: str) -> Any:
    """``Explanation`` loads with the environment search, on first use."""
    if name == "Explanation":
        from driftdoc.env.emit.explain import Explanation

        return Explanation
    raise AttributeError(f"module 'driftdoc' has no attribute {name!r}")
