"""A validation record read once: its kind, what it blames and why, and the pass criterion.

Every regular expression over an exception message or a failing line lives here, and so
does the project's one vocabulary of failure kinds (:class:`Kind`). ``classify`` sorts a
record for ``driftdoc validate``; :func:`verdict_fields` reduces it to what a validation
reports to the search; :func:`read_failure` turns those fields into a typed
:class:`Failure`, the only thing the repair rules look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from driftdoc.env.validation.records import SUCCESS as RECORD_SUCCESS
from driftdoc.env.validation.records import TIMEOUT as RECORD_TIMEOUT
from driftdoc.env.validation.records import ValidationRecord


class Kind(str, Enum):
    """What went wrong, in the order a snippet gets through them; the values are the
    ``classification`` of results and the ``category`` of ``driftdoc validate``."""

    INSTALL = "install-failure"
    SYNTAX = "syntax-error"
    TIMEOUT = "timeout"  # before the imports completed
    IMPORT = "import-error"
    DRIFT = "package-error"  # raised from package code: a drift suspect
    SNIPPET_ATTR = "snippet-attribute-error"  # AttributeError in the snippet's own frame
    CRASH = "crash"  # the interpreter died without a record
    SNIPPET = "snippet-error"  # the snippet's own code failed: environment fine
    TIMEOUT_IMPORTS = "timeout-after-imports"  # environment fine
    SUCCESS = "success"


ENV_OK = frozenset({Kind.SNIPPET, Kind.TIMEOUT_IMPORTS, Kind.SUCCESS})
"""Kinds whose environment works: what is left is the snippet's own doing."""

_STAGE = {Kind.INSTALL: 0, Kind.SYNTAX: 1, Kind.TIMEOUT: 2, Kind.IMPORT: 3, Kind.DRIFT: 4,
          Kind.SNIPPET_ATTR: 4, Kind.CRASH: 4, Kind.SNIPPET: 6, Kind.TIMEOUT_IMPORTS: 7,
          Kind.SUCCESS: 8}

IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
SYNTAX_ERRORS = frozenset({"SyntaxError", "IndentationError", "TabError"})
DRIFT_ERRORS = frozenset({"AttributeError", "TypeError"})
FAILING_EXCEPTIONS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError",
                                "SyntaxError"})
"""V2's criterion: a run that raises one of these fails, whatever else it did."""

# -- every message and line pattern of the environment half --------------------------------

_CANNOT_IMPORT = re.compile(r"cannot import name '?\"?([\w.]+)'?\"?(?: from '([\w.]+)')?")
_NO_MODULE = re.compile(r"No module named '?\"?([\w.]+)")
_IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))")
_MODULE_ATTR = re.compile(r"module '([\w.]+)' has no attribute")
_PY2_MODULE_ATTR = re.compile(r"'module' object has no attribute '(\w+)'")
_REQUIRES = re.compile(r"\brequires (?:the )?([A-Za-z][\w.-]*[A-Za-z0-9])")
_SHARED_LIBRARY = re.compile(r"\.so[.\d]*: cannot open shared object file|"
                             r"library not found|Library not loaded|"
                             r"introspection typelib not found")
# PyGObject's importer: "cannot import name Notify, introspection typelib not found"
_TYPELIB = re.compile(r"cannot import name '?(\w+)'?, introspection typelib not found")
_GONE = re.compile(r"\b(?:deprecated|moved|removed|renamed|no longer)\b", re.IGNORECASE)
_BINARY_DRIFT = re.compile(r"binary incompatib|compiled against|API version|undefined symbol|"
                           r"size changed|numpy\.core\.multiarray failed", re.IGNORECASE)
_CAUSE = re.compile(r"^(?:cause:|╰─▶)\s*(.*)")
_ERROR = re.compile(r"^(?:error:|ERROR:|×)\s*(.*)")
_WORDS = re.compile(r"[A-Za-z0-9]")
# an installer's output saying a source build failed (pip 20.3 on 2.7, uv), not that it was
# cut by a time limit (that build might have finished: never remembered as unbuildable)
_BUILD_FAILED = re.compile(r"Failed building wheel for|Failed to build|"
                           r"Command errored out with exit status \d+:.*setup\.py|"
                           r"Running setup\.py install for \S+ \.\.\. error|"
                           r"error: command '[^']+' failed")
_BUILD_CUT = re.compile(r"took longer than|No space left on device|Temporary failure in name "
                        r"resolution|Connection (?:refused|reset|aborted)|Network is unreachable")
# what every source build of a project fails on here, whatever its release
_BUILD_CAUSES = (
    (re.compile(r"fatal error: ([\w/.+-]+\.h): No such file"), "missing header {0}"),
    (re.compile(r"unable to execute '?([\w+-]+)'?: No such file|"
                r"\b(gcc|g\+\+|cc|gfortran|clang): (?:command )?not found"),
     "missing compiler {0}"),
    (re.compile(r"Broken toolchain"), "a C toolchain its build cannot use"),
    (re.compile(r"No module named '?(Cython|numpy)\b"), "setup.py needs {0} before it runs"),
)
_PATH_NOTE = re.compile(r" \((?:/|[A-Za-z]:\\)[^)]*\)")
_DRIFT_LIKE = frozenset({"AttributeError", "TypeError", "ImportError", "ModuleNotFoundError",
                         "SyntaxError", "NameError"})


def short(message: str | None, limit: int = 120) -> str:
    """An exception message without file-system paths, on one line, capped."""
    text = _PATH_NOTE.sub("", (message or "").strip().splitlines()[0] if message else "")
    return text[:limit]


def _from_module(line: str | None) -> str | None:
    """M of a ``from M import ...`` line."""
    m = _IMPORT_LINE.match(line or "")
    return m.group(1) if m else None


def full_module(missing: str | None, line: str | None) -> str | None:
    """Python 2 names only the last part ("No module named cross_validation"); the
    import statement on the failing line has the dotted path (sklearn.cross_validation)."""
    if not missing or not line:
        return missing
    m = _IMPORT_LINE.match(line)
    path = (m.group(1) or m.group(2)) if m else None
    if path and path.endswith("." + missing):
        return path
    return missing


def drift_like(name: str | None, message: str | None) -> bool:
    """Does an exception raised inside a package look like drift between releases?"""
    return name in _DRIFT_LIKE or bool(_BINARY_DRIFT.search(message or ""))


# -- classification (driftdoc validate) -------------------------------------------------------

@dataclass(frozen=True)
class Classification:
    """One record's class, whether the environment works, and who is responsible."""

    category: Kind
    env_ok: bool
    responsible: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {"category": self.category.value, "env_ok": self.env_ok,
                "responsible": self.responsible, "reason": self.reason}


def _import_responsible(record: ValidationRecord) -> str | None:
    ex = record.execution
    msg = ex.exception_message or ""
    m = _CANNOT_IMPORT.search(msg)
    if m:
        if m.group(2):
            return m.group(2)
        return _from_module(ex.exception_line) or ex.missing_module
    if ex.missing_module:
        return ex.missing_module
    m = _NO_MODULE.search(msg)
    return m.group(1) if m else None


def install_reason(message: str) -> str:
    """The installer's own reason in one line: its most specific ``cause:``, else its
    ``error:``, else its last line with words (never a caret line such as ``^^^^^^^``
    under a quoted requirement)."""
    lines = [line.strip() for line in message.splitlines()]
    worded = [line for line in lines if _WORDS.search(line)]
    for pattern in (_CAUSE, _ERROR):
        found = [m.group(1).strip() for line in worded if (m := pattern.match(line))]
        found = [f for f in found if _WORDS.search(f)]
        if found:
            return found[-1]
    return worded[-1] if worded else ""


def classify(record: ValidationRecord) -> Classification:
    """Exactly one class for ``record`` (see :func:`_classify`); a run that a sandbox limit
    ended says which limit in its reason."""
    verdict = _classify(record)
    limit = record.execution.killed_by
    if limit and limit != "timeout" and verdict.category is not Kind.SUCCESS \
            and limit not in verdict.reason:
        return replace(verdict, reason=f"{verdict.reason} (the sandbox's {limit} limit)")
    return verdict


def _classify(record: ValidationRecord) -> Classification:
    """Exactly one class for ``record``:

    install failure (``responsible`` = the requirement); syntax error (the snippet, or a
    package file: ``responsible`` = that package); import error (the missing module, or
    ``Y`` of "cannot import name X from Y"); package error (AttributeError/TypeError raised
    from package code, or anything a package raised before the imports completed: a drift
    suspect); snippet error (environment fine); timeout after / before the imports; crash
    (fine only if the imports had completed); success.
    """
    deps = record.dependencies
    if deps.status_code != RECORD_SUCCESS:
        failing = next((e.requirement for e in deps.install_errors if e.requirement), None)
        why = install_reason(deps.install_errors[0].message) if deps.install_errors else ""
        return Classification(Kind.INSTALL, False, failing,
                              f"install failed: {why or 'unknown error'}")
    ex = record.execution
    package = ex.raising_distribution or ex.raising_module
    if record.status_code == RECORD_SUCCESS:
        return Classification(Kind.SUCCESS, True, None, "ran to completion")
    if record.status_code == RECORD_TIMEOUT or ex.status_code == RECORD_TIMEOUT:
        if ex.imports_completed:
            return Classification(Kind.TIMEOUT_IMPORTS, True, None,
                                  "timed out after all imports completed")
        return Classification(Kind.TIMEOUT, False, package,
                              "timed out before the imports completed")
    name = ex.exception_name or ""
    if not name or ex.status_code == "Crash":
        return Classification(Kind.CRASH, ex.imports_completed, None,
                              ex.exception_message or "the interpreter died without a record")
    if name in SYNTAX_ERRORS:
        return Classification(Kind.SYNTAX, False, package if ex.raised_in_package
                              else None, f"{name}: {ex.exception_message}")
    if name in IMPORT_ERRORS:
        return Classification(Kind.IMPORT, False, _import_responsible(record),
                              f"{name}: {ex.exception_message}")
    if ex.raised_in_package and (name in DRIFT_ERRORS or not ex.imports_completed):
        return Classification(Kind.DRIFT, False, package,
                              f"{name} raised inside {package or 'a package'}")
    called = ex.called_distribution
    if called and name == "TypeError":
        # raised by the call itself (a function that now wants another argument): a drift
        # suspect of the package called, not the snippet's own bug as far as we can tell
        return Classification(Kind.DRIFT, False, called,
                              f"TypeError at a call into {called} on the snippet's line")
    return Classification(Kind.SNIPPET, True, called if name in DRIFT_ERRORS else None,
                          f"{name} in the snippet's own code: the environment is fine")


# -- what a validation reports to the search ------------------------------------------------

def snippet_line(record: ValidationRecord, name: str) -> int | None:
    """The deepest line of the snippet's own file in the failing stack (the checkpoint)."""
    script = Path(name).stem + ".py"
    line = None
    for frame in record.execution.exception_stack:
        file = str(frame[0])
        if "-packages" in file:
            continue
        if Path(file).name == script:
            line = int(frame[1])
    if line is None and record.execution.exception_file_name and \
            Path(record.execution.exception_file_name).name == script:
        line = record.execution.exception_line_number
    return line


def verdict_fields(record: ValidationRecord, cls: Classification,
                   snippet: Path) -> dict[str, Any]:
    """The fields of a Verdict for ``record``: the search's kind (a crash is fine once
    the imports are done, else the packages' fault; an AttributeError in the snippet is
    worth older releases; a package error that is not drift-like wants configuration),
    the blamed distribution with its evidence, the snippet line, the full missing module."""
    ex = record.execution
    kind = cls.category
    if kind is Kind.CRASH:
        kind = Kind.SNIPPET if ex.imports_completed else Kind.DRIFT
    if kind is Kind.SNIPPET and ex.exception_name == "AttributeError":
        kind = Kind.SNIPPET_ATTR  # the field's criterion fails it: worth trying older releases
    if kind is Kind.DRIFT and not drift_like(ex.exception_name, ex.exception_message):
        # e.g. Django's ImproperlyConfigured, "no display": the package wants configuration
        # the snippet never gave it; older releases will not help
        kind = Kind.SNIPPET
    failed = None
    if kind is Kind.INSTALL:
        errors = record.dependencies.install_errors
        failed = next((e.requirement for e in errors if e.requirement), None) or cls.responsible
    responsible: str | None
    if ex.raising_distribution:
        responsible, evidence = ex.raising_distribution, "the failing frame's distribution"
    elif cls.responsible:
        responsible = cls.responsible
        evidence = {Kind.INSTALL: "the installer's output",
                    Kind.IMPORT: "the module that failed to import"}.get(
            cls.category, "the failing frame's module")
        if cls.responsible == ex.called_distribution:
            evidence = "the package the failing line calls"
    else:
        responsible, evidence = ex.raising_module, "the failing frame's module"
    return {
        "kind": kind, "exception_name": ex.exception_name,
        "exception_message": ex.exception_message, "line": snippet_line(record, snippet.name),
        "missing_module": full_module(ex.missing_module, ex.exception_line),
        "responsible": responsible, "evidence": evidence if responsible else "",
        "failed_requirement": failed, "imports_completed": ex.imports_completed,
        "in_package": ex.raised_in_package, "note": cls.reason,
    }


# -- the typed failure the rules reason about ------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """One validation's failure (or success), read once; rules never see the message."""

    kind: Kind
    exception: str | None = None
    line: int | None = None  # deepest line in the snippet's own file
    module: str | None = None  # the module that failed to import (dotted, full)
    name: str | None = None  # "cannot import name X": X
    source: str | None = None  # the module X was asked of (from the message or the line)
    bare_name: bool = False  # Python 2's "cannot import name X", saying nothing more
    module_attribute: str | None = None  # "module 'M' has no attribute": M
    attribute_owner: str | None = None  # Python 2's "'module' object has no attribute 'x'":
    #                                     the expression before ``.x`` on the failing line
    requires: str | None = None  # "IPython.zmq requires pyzmq": what a package says it lacks
    typelib: str | None = None  # GObject namespace whose typelib is missing
    shared_library: bool = False  # a shared library or typelib could not be loaded
    says_gone: bool = False  # the message says the API moved or went away (a stub)
    blamed: str | None = None  # distribution or top-level module held responsible
    evidence: str = ""  # what blames it
    failed_requirement: str | None = None  # install failures: the requirement that failed
    build_failed: bool = False  # install failures: a source build failed (not cut by time)
    build_cause: str | None = None  # what every source build here lacks (a header, a compiler)
    imports_completed: bool = False
    in_package: bool = False  # raised from a package's code
    summary: str = ""  # the message without paths, one line (for people, never for rules)

    @property
    def install_phase(self) -> bool:
        return self.kind is Kind.INSTALL

    @property
    def ok(self) -> bool:
        """The environment works; what fails is the snippet's own doing."""
        return self.kind in ENV_OK

    @property
    def passes(self) -> bool:
        """The project's one pass criterion (V2's): it installed, did not time out before
        its imports, and raised no SyntaxError, ImportError or AttributeError."""
        if self.kind in (Kind.INSTALL, Kind.SYNTAX, Kind.IMPORT, Kind.TIMEOUT):
            return False
        return self.exception not in FAILING_EXCEPTIONS

    def progress(self) -> tuple[int, int, int]:
        """How far the snippet got: later is better (V2's checkpoint idea)."""
        return (int(self.imports_completed), self.line or 0, _STAGE.get(self.kind, 0))

    def brief(self, limit: int = 120) -> str:
        return self.summary[:limit]

    def why(self) -> str:
        """``Name: message`` as a reason for a move."""
        return f"{self.exception}: {self.brief()}"

    def same_as(self, other: Failure) -> bool:
        """The same error where it was (messages compared without paths)."""
        return (self.kind, self.exception, self.line, self.summary) == \
            (other.kind, other.exception, other.line, other.summary)

    def describe(self) -> str:
        if self.kind is Kind.SUCCESS:
            return "success"
        if self.kind is Kind.TIMEOUT_IMPORTS:
            return "imports completed, then ran until the time limit (environment fine)"
        if self.kind is Kind.INSTALL:
            return f"install failure ({self.failed_requirement or 'unknown requirement'})"
        where = f" at line {self.line}" if self.line else ""
        return f"{self.exception or self.kind.value}{where}: {self.brief(100)}".rstrip(": ")


def read_failure(*, kind: Kind, exception_name: str | None = None,
                 exception_message: str | None = None, line: int | None = None,
                 missing_module: str | None = None, responsible: str | None = None,
                 evidence: str = "", failed_requirement: str | None = None,
                 imports_completed: bool = False, in_package: bool = False,
                 exception_line: str | None = None,
                 install_output: str | None = None) -> Failure:
    """The typed failure of a validation's reported fields (the one reading of messages);
    ``install_output`` is the installer's output of an install failure."""
    message = exception_message or ""
    built = kind is Kind.INSTALL and bool(install_output) and \
        bool(_BUILD_FAILED.search(install_output or "")) and \
        not _BUILD_CUT.search(install_output or "")
    cannot = _CANNOT_IMPORT.search(message)
    bare = cannot is not None and cannot.group(2) is None and \
        cannot.end() == len(message.rstrip()) and "." not in cannot.group(1)
    source = cannot.group(2) if cannot else None
    if bare:
        source = _from_module(exception_line)
    owner = None
    py2_attr = _PY2_MODULE_ATTR.search(message)
    if py2_attr and exception_line:
        used = re.search(r"([A-Za-z_][\w.]*)\." + re.escape(py2_attr.group(1)) + r"\b",
                         exception_line)
        owner = used.group(1) if used else None
    module_attr = _MODULE_ATTR.search(message)
    requires = _REQUIRES.search(message)
    typelib = _TYPELIB.search(message)
    return Failure(
        kind=kind, exception=exception_name, line=line, module=missing_module or None,
        name=cannot.group(1) if cannot else py2_attr.group(1) if py2_attr else None,
        source=source, bare_name=bare,
        module_attribute=module_attr.group(1) if module_attr else None,
        attribute_owner=owner, requires=requires.group(1) if requires else None,
        typelib=typelib.group(1) if typelib else None,
        shared_library=bool(_SHARED_LIBRARY.search(message)),
        says_gone=kind in (Kind.IMPORT, Kind.DRIFT) and bool(_GONE.search(message)),
        blamed=responsible, evidence=evidence, failed_requirement=failed_requirement,
        build_failed=built, build_cause=build_cause(install_output) if built else None,
        imports_completed=imports_completed, in_package=in_package,
        summary=short(exception_message),
    )


def build_cause(output: str | None) -> str | None:
    """What a failed source build lacked that every source build of it here would lack
    (a header, a compiler), if its output says so."""
    for pattern, text in _BUILD_CAUSES:
        m = pattern.search(output or "")
        if m:
            return text.format(next((g for g in m.groups() if g), ""))
    return None


def install_text(record: dict[str, Any]) -> str:
    """The installer's output an install failure's record keeps (V2's JSON shape)."""
    errors = (record.get("dependencies") or {}).get("install_errors") or []
    return "\n".join(str(e.get("message") or "") for e in errors if isinstance(e, dict))


def v2_pass(record: ValidationRecord) -> bool:
    """The one pass criterion, for a record on its own."""
    fields = verdict_fields(record, classify(record), Path(record.snippet or "snippet.py"))
    fields.pop("note")
    return read_failure(**fields, exception_line=record.execution.exception_line).passes
