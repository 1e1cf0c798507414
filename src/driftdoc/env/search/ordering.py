"""In which order the rules' moves are tried, one table per situation, all in one place.

A table is a list of steps ``(rules, take)``: the moves the named rules propose, joined in
that order into one stream, of which the step takes the next ``take`` (``ALL``: the rest).
A stream named by several steps is consumed across them, so a table can interleave:
"the two likeliest older releases, then the next candidate, then the other older ones".
Moves a table never takes are not tried. The engine validates moves in this order,
``--jobs`` at a time, and keeps the first batch's furthest-getting move.

Why these orders (cheapest and likeliest first):

- A missing C library fails every release alike, so system packages come first, and the
  moves after them keep the packages.
- Version moves of the blamed dependency come before candidates and Pythons: drift is the
  common case. The previous minor and previous major are one validation each; the
  bisection marker after them is walked only if they fail.
- A release-content lookup (``holder``) reads file lists instead of building: it goes
  before the version moves it may make unnecessary.
- A whole-environment era comes late: it changes everything at once.
- Dropping a dependency is the last resort: the environment is then incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftdoc.env.search.context import Context
from driftdoc.env.search.registry import PROPOSE
from driftdoc.env.search.situations import Situation
from driftdoc.env.search.state import Move

ALL: int | None = None
Step = tuple[tuple[str, ...], int | None]

ORDER: dict[str, tuple[Step, ...]] = {
    # -- install failures
    "install": (  # the system packages it needs, then its releases, then the rest
        (("system",), ALL), (("python-homes",), ALL), (("older",), 2),
        (("past-cutoff",), ALL), (("candidate",), ALL), (("python",), ALL), (("era",), ALL),
        (("drop",), ALL)),
    "install-not-on-index": ((("candidate-or-drop-missing",), ALL),),
    # -- libraries the run could not load
    "shared-library": ((("system",), ALL),),
    "typelib": ((("typelib",), ALL),),  # before the import situation's own moves
    # -- syntax errors: the interpreter is the lever
    "syntax-in-package": (  # a Python-2-only package on 3
        (("python",), ALL), (("prerelease",), ALL), (("older",), ALL),
        (("candidate",), ALL), (("era",), ALL)),
    "syntax": ((("python-other-major-first",), ALL),),
    # -- import errors
    "import-stdlib-name": ((("python",), ALL), (("era",), ALL)),
    "import-name-from-package": (  # the name vanished from a release, or moved elsewhere
        (("holder", "older"), 2), (("candidate-and-its-releases",), 1),
        (("holder", "older"), ALL), (("candidate-and-its-releases",), ALL),
        (("era",), ALL)),
    "requires": ((("add",), ALL),),  # before the situation of the missing module
    "import-unavailable": (),  # dropped on purpose: nothing installable provides it
    "import-submodule-gone": ((("holder",), ALL), (("older",), ALL), (("era",), ALL)),
    "import-wrong-candidate": ((("candidate",), ALL), (("older",), 1)),
    "import-dep": ((("older",), ALL), (("era",), ALL)),
    "import-stdlib-module": ((("python-homes",), ALL),),  # urllib2: another Python's stdlib
    "import-missing-module": ((("add",), ALL), (("older",), 2), (("era",), ALL)),
    "import-unknown": ((("era",), ALL),),
    # -- attribute and type errors
    "drift-blamed": ((("older",), ALL), (("era",), ALL)),
    "drift-unblamed": ((("era",), ALL), (("python",), 1)),
    # -- a run that timed out while importing
    "timeout": ((("python",), ALL),),
}


def arrange(ctx: Context, situations: Sequence[Situation]) -> list[Move]:
    """The moves of each situation, in its table's order, one situation after the other."""
    out: list[Move] = []
    for name, target in situations:
        streams: dict[tuple[str, ...], list[Move]] = {}
        for rules, take in ORDER[name]:
            if rules not in streams:
                streams[rules] = [m for rule in rules for m in PROPOSE[rule](ctx, target)]
            stream = streams[rules]
            n = len(stream) if take is None else take
            out.extend(stream[:n])
            del stream[:n]
    return out
