"""Sort a validation record into exactly one class, and say whether the environment is fine.

The classes answer the search's question "is the *environment* at fault, and who is
responsible?", which is coarser than the exception name:

- ``INSTALL_FAILURE``: a requirement did not install (``responsible`` = that requirement).
- ``SYNTAX_ERROR``: the snippet (wrong Python) or a package file (e.g. Python-3-only code on
  2.7; ``responsible`` = that package) does not parse.
- ``IMPORT_ERROR``: ``ImportError``/``ModuleNotFoundError`` (``responsible`` = the missing
  module, or for "cannot import name X from Y" the module ``Y``).
- ``PACKAGE_ERROR``: ``AttributeError``/``TypeError`` raised from package code, or any
  exception a package raised before the snippet's imports completed: a drift suspect
  (``responsible`` = the distribution, else the top-level module, whose frame raised).
- ``SNIPPET_ERROR``: any other exception (``NameError``, ``FileNotFoundError``, network errors,
  a non-zero ``sys.exit``...) - the environment is fine.
- ``TIMEOUT_AFTER_IMPORTS``: it ran past the limit after importing everything - fine.
- ``TIMEOUT_BEFORE_IMPORTS``: the limit hit while still importing - not known to be fine.
- ``CRASH``: the interpreter died without a record (signal, memory); fine only if the
  imports had completed.
- ``SUCCESS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from driftdoc.env.validation.records import SUCCESS, TIMEOUT, ValidationRecord


class Category(str, Enum):
    INSTALL_FAILURE = "install_failure"
    SYNTAX_ERROR = "syntax_error"
    IMPORT_ERROR = "import_error"
    PACKAGE_ERROR = "package_error"
    SNIPPET_ERROR = "snippet_error"
    TIMEOUT_AFTER_IMPORTS = "timeout_after_imports"
    TIMEOUT_BEFORE_IMPORTS = "timeout_before_imports"
    CRASH = "crash"
    SUCCESS = "success"


ENV_OK = {Category.SNIPPET_ERROR, Category.TIMEOUT_AFTER_IMPORTS, Category.SUCCESS}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}
DRIFT_ERRORS = {"AttributeError", "TypeError"}
V2_FAILURES = {"SyntaxError", "ImportError", "ModuleNotFoundError", "AttributeError"}


@dataclass(frozen=True)
class Classification:
    """One verdict: the class, whether the environment works, and who is responsible."""

    category: Category
    env_ok: bool
    responsible: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {"category": self.category.value, "env_ok": self.env_ok,
                "responsible": self.responsible, "reason": self.reason}


_CANNOT_IMPORT = re.compile(r"cannot import name '?\"?([\w.]+)'?\"?(?: from '?\"?([\w.]+))?")
_NO_MODULE = re.compile(r"No module named '?\"?([\w.]+)")
_FROM_LINE = re.compile(r"^\s*from\s+([\w.]+)\s+import\b")


def _import_responsible(record: ValidationRecord) -> str | None:
    ex = record.execution
    msg = ex.exception_message or ""
    m = _CANNOT_IMPORT.search(msg)
    if m:
        if m.group(2):
            return m.group(2)
        line = _FROM_LINE.match(ex.exception_line or "")
        return line.group(1) if line else ex.missing_module
    if ex.missing_module:
        return ex.missing_module
    m = _NO_MODULE.search(msg)
    return m.group(1) if m else None


def classify(record: ValidationRecord) -> Classification:
    """The single class of ``record`` (see the module docstring); a run that a sandbox
    limit ended says which limit in its reason."""
    verdict = _classify(record)
    limit = record.execution.killed_by
    if limit and limit != "timeout" and verdict.category is not Category.SUCCESS \
            and limit not in verdict.reason:
        return replace(verdict, reason=f"{verdict.reason} (the sandbox's {limit} limit)")
    return verdict


def _classify(record: ValidationRecord) -> Classification:
    deps = record.dependencies
    if deps.status_code != SUCCESS:
        failing = next((e.requirement for e in deps.install_errors if e.requirement), None)
        why = deps.install_errors[0].message.strip().splitlines()[-1:] if deps.install_errors \
            else []
        return Classification(Category.INSTALL_FAILURE, False, failing,
                              f"install failed: {why[0] if why else 'unknown error'}")
    ex = record.execution
    package = ex.raising_distribution or ex.raising_module
    if record.status_code == SUCCESS:
        return Classification(Category.SUCCESS, True, None, "ran to completion")
    if record.status_code == TIMEOUT or ex.status_code == TIMEOUT:
        if ex.imports_completed:
            return Classification(Category.TIMEOUT_AFTER_IMPORTS, True, None,
                                  "timed out after all imports completed")
        return Classification(Category.TIMEOUT_BEFORE_IMPORTS, False, package,
                              "timed out before the imports completed")
    name = ex.exception_name or ""
    if not name or ex.status_code == "Crash":
        return Classification(Category.CRASH, ex.imports_completed, None,
                              ex.exception_message or "the interpreter died without a record")
    if name in ("SyntaxError", "IndentationError", "TabError"):
        return Classification(Category.SYNTAX_ERROR, False, package if ex.raised_in_package
                              else None, f"{name}: {ex.exception_message}")
    if name in IMPORT_ERRORS:
        return Classification(Category.IMPORT_ERROR, False, _import_responsible(record),
                              f"{name}: {ex.exception_message}")
    if ex.raised_in_package and (name in DRIFT_ERRORS or not ex.imports_completed):
        return Classification(Category.PACKAGE_ERROR, False, package,
                              f"{name} raised inside {package or 'a package'}")
    return Classification(Category.SNIPPET_ERROR, True, None,
                          f"{name} in the snippet's own code: the environment is fine")


def v2_pass(record: ValidationRecord) -> bool:
    """V2's pass criterion: installed, and not SyntaxError/ImportError/AttributeError."""
    if record.dependencies.status_code != SUCCESS:
        return False
    return (record.execution.exception_name or "") not in V2_FAILURES
