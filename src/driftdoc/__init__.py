"""driftdoc: find why a computation fails under some configurations and what makes it work."""

# The algorithms subpackage is imported before ``debug`` (the function) is bound, so the
# function is what ``driftdoc.debug`` names afterwards.
import driftdoc.debug.protocol  # noqa: F401  isort: skip
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
