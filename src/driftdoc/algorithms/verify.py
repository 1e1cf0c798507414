"""Determinism checked, not assumed: re-run what each reported cause rests on.

A cause is only as good as the verdicts behind it. The failures it explains (at
most two, far apart) and, for each of its literals, a known success that violates
that literal alone are run again, together with a sample of other verdicts. A
cause any of whose supporting verdicts did not repeat is withheld; one that the
budget left no room to re-run is reported as unverified.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from driftdoc.algorithms.logic import lit_key
from driftdoc.model import Conjunction, Instance, Outcome


class Rechecker(Protocol):
    """The Session as seen by verification."""

    conflicts: set[Instance]
    rechecked: set[Instance]

    def known(self) -> Mapping[Instance, Outcome]: ...

    def recheck(self, instances: Sequence[Instance]) -> list[Instance]: ...


@dataclass
class Verified:
    """Causes split by what their re-runs showed, and the verdicts that did not repeat."""

    confirmed: list[Conjunction] = field(default_factory=list)
    withheld: list[Conjunction] = field(default_factory=list)
    unverified: list[Conjunction] = field(default_factory=list)
    flaky: list[Instance] = field(default_factory=list)
    rechecked: int = 0


def _distance(a: Instance, b: Instance) -> int:
    return sum(1 for n, v in a.items() if b[n] != v)


def support(cause: Conjunction, others: Sequence[Conjunction],
            known: Mapping[Instance, Outcome]) -> list[Instance]:
    """The verdicts ``cause`` rests on: up to two failures it alone explains (far apart),
    and per literal the nearest known success that violates that literal only."""
    fails = sorted((i for i, o in known.items()
                    if not o.succeeded and cause.holds(i)
                    and not any(c.holds(i) for c in others)), key=lambda i: i.key)
    if not fails:
        fails = sorted((i for i, o in known.items() if not o.succeeded and cause.holds(i)),
                       key=lambda i: i.key)
    out: list[Instance] = []
    if fails:
        first = fails[0]
        out.append(first)
        far = max(fails, key=lambda i: (_distance(i, first), i.key))
        if far != first:
            out.append(far)
    anchor = out[0] if out else None
    oks = [i for i, o in known.items() if o.succeeded]
    for lit in sorted(cause, key=lit_key):
        rest = Conjunction(cause - {lit})
        near = [i for i in oks if rest.holds(i) and not lit.holds(i)]
        if near:
            key = (lambda i: (_distance(i, anchor), i.key)) if anchor is not None \
                else (lambda i: (0, i.key))
            out.append(min(near, key=key))
    return out


def sample_size(known: int) -> int:
    """Other verdicts re-run by default: about one in twenty, between 3 and 10."""
    return min(10, max(3, known // 20))


def verify(session: Rechecker, causes: Sequence[Conjunction], extra: int,
           seed: int = 0) -> Verified:
    """Re-run each cause's support plus ``extra`` other verdicts in one batch."""
    known = session.known()
    plan = {c: support(c, [o for o in causes if o != c], known) for c in causes}
    targets: list[Instance] = []
    for sup in plan.values():
        targets.extend(i for i in sup if i not in targets)
    rest = sorted((i for i in known if i not in targets), key=lambda i: i.key)
    random.Random(seed).shuffle(rest)
    before = set(session.rechecked)
    session.recheck(targets + rest[:extra])
    out = Verified(rechecked=len(session.rechecked - before))
    for cause, sup in plan.items():
        if any(i in session.conflicts for i in sup) or not sup:
            out.withheld.append(cause)
        elif any(i not in session.rechecked for i in sup):
            out.unverified.append(cause)
        else:
            out.confirmed.append(cause)
    out.flaky = sorted(session.conflicts, key=lambda i: i.key)
    return out
