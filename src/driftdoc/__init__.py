"""driftdoc: find why a computation fails under some configurations and what makes it work."""

from driftdoc.api import debug
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
    "DriftdocError",
    "InputError",
    "Instance",
    "Outcome",
    "Parameter",
    "Predicate",
    "Space",
    "__version__",
    "debug",
]
