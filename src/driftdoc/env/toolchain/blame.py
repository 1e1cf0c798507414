"""Which pin an installer's or resolver's error output blames (pip 20.3 on 2.7, uv).

Kept apart so that both the resolver and the builder can name the failing distribution.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from packaging.utils import canonicalize_name

# Lines that name the distribution whose build failed (pip 20.3 on 2.7, uv): more telling
# than the first pin name in the error text, which may be a module its setup.py imports.
_BUILD_FAILED = (
    re.compile(r"Failed building wheel for ([A-Za-z0-9][A-Za-z0-9._-]*)"),
    re.compile(r"Failed to build `?([A-Za-z0-9][A-Za-z0-9._-]*?)(?:==|`|\s|$)"),
    re.compile(r"/pip-(?:wheel|req-build|install)-[^/\s]+/([A-Za-z0-9][A-Za-z0-9.-]*?)_[0-9a-f]{32}/"),
    re.compile(r"Discarding \S*/([A-Za-z0-9][A-Za-z0-9_.]*?)-\d[^/\s]*\.(?:tar\.gz|zip|tar\.bz2)"),
)


def failing_requirement(text: str, pins: Sequence[str]) -> str | None:
    """The pin whose build the installer reports as failed, else the one its error output
    mentions first (best effort)."""
    names = {canonicalize_name(p.split("==")[0].split("<")[0].split(">")[0]): p for p in pins}
    for pattern in _BUILD_FAILED:
        for name in pattern.findall(text):
            pin = names.get(canonicalize_name(name))
            if pin is not None:
                return pin
    lines = text.splitlines()
    # Error sections start at "error:"/"ERROR:"/"×"; search from there.
    start = next((i for i, ln in enumerate(lines)
                  if re.match(r"^\s*(error|ERROR|×|Because)", ln)), 0)
    for line in lines[start:]:
        for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", line):
            pin = names.get(canonicalize_name(token))
            if pin is not None:
                return pin
    return None
