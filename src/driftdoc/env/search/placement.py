"""Where a batch's snippets run on a cluster: near the environments they will need.

Each worker keeps its own environment cache, so the second snippet needing TensorFlow
is cheap only on the worker that built the first one's environment. The client reads
what each snippet imports (source only: no interpreter, no environment), maps the imports
to distributions with the knowledge base, and gives each free worker the queued snippet
that shares the most weight with what that worker already installed, less what it would
install again although another worker has it. Weights are rough installed costs
(``data/tables.json``: ``heavy``); every other distribution weighs 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from packaging.utils import canonicalize_name

from driftdoc.env.host import tables

LOOKAHEAD = 64
"""Queued snippets a free worker chooses among; order is kept beyond that (no starvation)."""

T = TypeVar("T")


def needs(snippet: Path) -> frozenset[str]:
    """The distributions a snippet's imports most likely need (best effort; ``{}`` when
    the snippet cannot be read: the worker will say why)."""
    from driftdoc.env.knowledge.mapping import guess, guessable
    from driftdoc.env.knowledge.mapping import load as load_knowledge
    from driftdoc.env.knowledge.stdlib import is_stdlib_anywhere
    from driftdoc.env.snippet.imports import scan_imports
    from driftdoc.env.snippet.read import read_snippet
    from driftdoc.errors import DriftdocError

    try:
        source = read_snippet(snippet).source
    except (DriftdocError, OSError):
        return frozenset()
    knowledge = load_knowledge()
    out: set[str] = set()
    for imp in scan_imports(source).imports:
        if imp.level or is_stdlib_anywhere(imp.name):
            continue
        cands = knowledge.candidates(imp.name, limit=1)
        if cands:
            out.add(canonicalize_name(cands[0].distribution))
        elif guessable(imp.name):
            out.add(canonicalize_name(guess(imp.name).distribution))
    return frozenset(out)


def weight(distribution: str) -> float:
    return tables.heavy().get(canonicalize_name(distribution), 1.0)


class Placer:
    """Remembers which distributions each worker was given and picks its next snippet."""

    def __init__(self, *, enabled: bool = True, lookahead: int = LOOKAHEAD) -> None:
        self.enabled = enabled
        self.lookahead = lookahead
        self.installed: dict[str, set[str]] = {}

    def score(self, worker: str, dists: frozenset[str]) -> float:
        mine = self.installed.get(worker, set())
        others = set().union(*(v for w, v in self.installed.items() if w != worker))
        return sum(weight(d) for d in dists & mine) - \
            sum(weight(d) for d in (dists & others) - mine)

    def pick(self, worker: str, queue: Sequence[T], dists: Callable[[T], frozenset[str]]
             ) -> int:
        """The index in ``queue`` of the snippet ``worker`` should run next."""
        if not self.enabled or len(queue) < 2:
            return 0
        window = range(min(len(queue), self.lookahead))
        return max(window, key=lambda i: (self.score(worker, dists(queue[i])), -i))

    def placed(self, worker: str, dists: frozenset[str]) -> None:
        """``worker`` ran (or is running) a snippet needing ``dists``: it has them now."""
        self.installed.setdefault(worker, set()).update(dists)

    def forget(self, worker: str) -> None:
        """A lost worker's cache is gone with it."""
        self.installed.pop(worker, None)
