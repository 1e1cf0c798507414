"""The repair search assembled: the rules' context, the rulebook and the engine.

After V2: each failed validation is read into a typed failure; the rules blame one
dependency and propose moves (older releases, a bisection, another candidate, a missing
dependency, system packages, another Python, an earlier era), in the order of their
situation's table; the engine validates them and keeps a move when the failure moves
later in the snippet (a checkpoint); every kept version move is recorded as drift.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import driftdoc.limits as limits
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.search.context import Context, DepsForPython, ModuleLookup
from driftdoc.env.search.engine import Engine
from driftdoc.env.search.rulebook import Rulebook
from driftdoc.env.search.state import SearchOutcome, State
from driftdoc.env.search.trials import Evaluate, Trials
from driftdoc.env.search.unbuildable import Unbuildable
from driftdoc.events import Reporter, null_reporter

DEFAULT_BUDGET = limits.BUDGET
"""Most validations per snippet: most snippets need a few; old ones bisect several packages
(a probe may take two: one on its own Python), and 16 cut off 8 of 300 HG2.9K gists."""


class RepairSearch:
    """Walks the environment space from a first plan towards a working environment.

    Validations go through ``trials`` (a ``Session`` over the snippet's experiment and an
    executor, with its budget); ``evaluate`` is the in-process shortcut for a fake
    validator, run through a session in memory with ``budget`` and ``deadline``.
    """

    def __init__(
        self,
        start: State,
        *,
        releases: ReleaseProvider,
        trials: Trials | None = None,
        evaluate: Evaluate | None = None,
        lookup: ModuleLookup,
        snippet_imports: frozenset[str],
        pythons: Sequence[str],
        python_pinned: bool = False,
        as_of_pinned: bool = False,
        budget: int = DEFAULT_BUDGET,
        deadline: float | None = None,
        reporter: Reporter = null_reporter,
        width: int = 1,
        deps_for_python: DepsForPython | None = None,
        on_kept: Callable[[SearchOutcome], None] | None = None,
        stdlib_in: Callable[[str, str], bool] | None = None,
        aliases: dict[str, str] | None = None,
        system_packages: Callable[[str], tuple[str, ...]] | None = None,
        typelib_packages: Callable[[str], tuple[str, ...]] | None = None,
        unbuilt_memo: Path | None = None,
        unbuilt_scope: str = "",
    ) -> None:
        if trials is None:
            if evaluate is None:
                raise TypeError("RepairSearch needs trials (a Session) or an evaluate function")
            trials = Trials.of(evaluate, budget=budget, deadline=deadline, reporter=reporter)
        self.trials = trials
        self.context = Context(
            releases=releases, lookup=lookup,
            snippet_imports=frozenset(m.lower() for m in snippet_imports),
            pythons=list(pythons), python_pinned=python_pinned, as_of_pinned=as_of_pinned,
            deps_for_python=deps_for_python, stdlib_in=stdlib_in, aliases=dict(aliases or {}),
            system_packages=system_packages, typelib_packages=typelib_packages,
            time_left=self.trials.time_left)
        # failed source builds: remembered in this search, and across snippets in a file
        self.context.unbuildable = Unbuildable(self.context.has_wheel, path=unbuilt_memo,
                                               scope=unbuilt_scope)
        self.engine = Engine(start, Rulebook(self.context), self.trials, width=width,
                             reporter=reporter, on_kept=on_kept)

    @property
    def validations(self) -> int:
        return self.trials.validations

    def run(self) -> SearchOutcome:
        return self.engine.run()
