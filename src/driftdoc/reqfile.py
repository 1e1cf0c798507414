"""Read pip requirements files the way pip does: continuations, comments, options, includes.

pip-compile output (``\\`` continuations, ``--hash`` lines, ``-r`` includes, ``# via``
comments) must validate as it is; requirements keep their markers, extras and URLs, and
options that only steer pip's own install are dropped with a note saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from driftdoc.errors import InputError

_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = {"-r", "--requirement"}
_CONSTRAINT = {"-c", "--constraint"}
_EDITABLE = {"-e", "--editable"}
# options of the file that change how pip installs, not what: dropped with a note
_GLOBAL_WITH_VALUE = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links",
                      "--trusted-host", "--no-binary", "--only-binary", "--use-feature",
                      "--config-settings",
                      "--global-option"}
_GLOBAL_FLAGS = {"--pre", "--prefer-binary", "--require-hashes", "--no-index"}


@dataclass
class RequirementsFile:
    """What a set of requirements files asks for, and what was left out (and why)."""

    requirements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) per logical line: ``\\`` joins lines, comments go."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0

    def flush() -> None:
        joined = _COMMENT.sub("", " ".join(p.strip() for p in pending)).strip()
        pending.clear()
        if joined:
            lines.append((start, joined))

    for number, raw in enumerate(text.splitlines(), 1):
        if pending and raw.lstrip().startswith("#"):  # a comment line ends a continuation
            flush()
            continue
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(raw)
        flush()
    flush()
    return lines


def _split_requirement(line: str) -> str:
    """The requirement part of a line: per-requirement options (``--hash=...``) dropped."""
    keep: list[str] = []
    for token in line.split():
        if token.startswith("-"):
            break
        keep.append(token)
    return " ".join(keep)


def _option(line: str) -> tuple[str, str | None]:
    """``-r x``, ``-rx``, ``--requirement=x`` and ``--requirement x`` -> ("-r"/…, "x")."""
    head, _, rest = line.partition(" ")
    if "=" in head and head.startswith("--"):
        name, _, value = head.partition("=")
        return name, value.strip() or None
    if head.startswith("-") and not head.startswith("--") and len(head) > 2:
        return head[:2], head[2:]
    return head, rest.strip() or None


def read_requirements(paths: list[Path]) -> RequirementsFile:
    """Parse each file (and the files it includes) into one list of requirements."""
    found = RequirementsFile()
    for path in paths:
        _read(path, found, seen=set())
    return found


def _read(path: Path, found: RequirementsFile, *, seen: set[Path]) -> None:
    try:
        real = path.resolve()
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"requirements file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read requirements file {path}: "
                         f"{exc.strerror or exc}") from None
    if real in seen:
        raise InputError(f"requirements file {path} includes itself")
    seen = seen | {real}
    found.files.append(path)
    for number, line in logical_lines(text):
        where = f"{path}:{number}"
        if not line.startswith("-"):
            req = _split_requirement(line)
            if req:
                found.requirements.append(req)
            continue
        name, value = _option(line)
        if name in _INCLUDE:
            if not value:
                raise InputError(f"{where}: {name} needs a file name")
            _read(path.parent / value, found, seen=seen)
        elif name in _CONSTRAINT:
            raise InputError(f"{where}: constraints files ({name}) are not supported; "
                             "list the pins as requirements")
        elif name in _EDITABLE:
            if not value:
                raise InputError(f"{where}: {name} needs a path or URL")
            found.requirements.append(_split_requirement(value))
        elif name in _GLOBAL_WITH_VALUE or name in _GLOBAL_FLAGS:
            found.notes.append(f"{where}: {name} ignored (driftdoc resolves with its own "
                               "settings; give an index with --index-url)")
        else:
            raise InputError(f"{where}: unknown option {name}")
