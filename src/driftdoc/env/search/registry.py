"""The registry of repair rules (each one a module of ``rules``).

A rule *proposes* moves for a failure's :class:`~driftdoc.env.search.context.Target`
(returning none when it does not apply), or *completes* a move after its validation.
Which rules a failure calls on, and in which order, is ``ordering.ORDER``; adding a rule
is a module, an entry here, and an entry in an ordering table.
"""

from __future__ import annotations

from collections.abc import Callable

from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.engine import Run, Tested
from driftdoc.env.search.rules import (
    add,
    candidate,
    drop,
    era,
    holder,
    its_python,
    its_time,
    older,
    past_cutoff,
    prerelease,
    py2_stdlib,
    python,
    system,
)
from driftdoc.env.search.state import Move
from driftdoc.env.validation.verdict import Verdict

Propose = Callable[[Context, Target], list[Move]]
Complete = Callable[[Context, Move, Verdict, Run], Tested]

PROPOSE: dict[str, Propose] = {
    "system": system.propose,
    "typelib": system.propose_typelib,
    "holder": holder.propose,
    "older": older.propose,
    "past-cutoff": past_cutoff.propose,
    "prerelease": prerelease.propose,
    "candidate": candidate.propose,
    "candidate-or-drop-missing": candidate.propose_or_drop_missing,
    "candidate-and-its-releases": candidate.propose_with_releases,
    "add": add.propose,
    "python": python.propose,
    "python-other-major-first": python.propose_other_major_first,
    "python-homes": python.propose_homes,
    "era": era.propose,
    "drop": drop.propose,
}
"""Every rule that proposes moves, by the name the ordering tables use."""

COMPLETE: tuple[Complete, ...] = (
    its_python.on_its_python,  # an old release that did not install: on its own Python
    py2_stdlib.on_python2,  # an old release that needs Python 2's standard library
    system.with_its_libraries,  # a build that lacks a C library: with its Debian packages
    its_time.of_its_time,  # an old release broken by today's dependencies: of its time
    add.undeclared,  # an old release that imports what it does not declare: add it
)
"""Rules that complete a validated move, applied in this order to each move."""

PREPARE: tuple[Callable[[Context, Move], Move], ...] = (its_python.where_its_wheels_are,)
"""Rules that redirect a move before it is validated."""
