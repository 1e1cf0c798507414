"""What Python 2 says about a source file's bytes before it parses a single token.

Python 2 reads a file as ASCII unless a BOM or a PEP 263 coding line says otherwise, so a
latin-1 ``café`` without one is a SyntaxError under ``python2 snippet.py``. ``compile()`` on
the same bytes skips that check, so validations and version probes that compile the bytes
would call the file fine on 2.7: they ask this module instead (one copy of the rule).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# CPython 2.7's get_coding_spec: a comment line holding "coding" then ':' or '=' and a name.
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK_OR_COMMENT = re.compile(rb"^[ \t\f]*(?:#.*)?$")
PEP263 = "see http://python.org/dev/peps/pep-0263/ for details"


@dataclass(frozen=True)
class EncodingProblem:
    """Where and why Python 2 refuses the file, worded as Python 2 words it."""

    line: int
    text: str
    message: str


def declares_encoding(data: bytes) -> bool:
    """A UTF-8 BOM, or a coding line Python 2.7 honours (line 1, or line 2 below a line
    that is blank or a comment: 2.7.9 and later ignore it after code)."""
    if data.startswith(codecs.BOM_UTF8):
        return True
    lines = data.splitlines()[:2]
    if lines and _COOKIE.match(lines[0]):
        return True
    return (len(lines) == 2 and bool(_BLANK_OR_COMMENT.match(lines[0]))
            and bool(_COOKIE.match(lines[1])))


def python2_encoding_problem(data: bytes, filename: str) -> EncodingProblem | None:
    """The SyntaxError Python 2 raises for non-ASCII bytes without a declared encoding."""
    if declares_encoding(data):
        return None  # compile() honours a declared encoding: its verdict stands
    for number, line in enumerate(data.splitlines(), 1):
        bad = next((b for b in line if b >= 0x80), None)
        if bad is not None:
            return EncodingProblem(
                number, line.decode("latin-1").strip(),
                f"Non-ASCII character '\\x{bad:02x}' in file {filename} on line {number}, "
                f"but no encoding declared; {PEP263}")
    return None
