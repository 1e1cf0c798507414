"""Blame: which dependency a failure points at, and in which situation the rules meet it.

A situation names an ordering table (``ordering.ORDER``); its :class:`Target` says what
the rules work on: the blamed dependency (a transitive one promoted to direct when it is
to blame), the module concerned, the Pythons where something missing exists. A failure
may meet the rules in two situations one after the other (a missing typelib, then the
usual import moves; a package saying what it requires, then the moves for its module).
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.rules.system import propose_typelib, system_moves
from driftdoc.env.search.state import State, norm
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict

Situation = tuple[str, Target]


def situate(ctx: Context, state: State, verdict: Verdict) -> list[Situation]:
    """The situations of this failure, in order (none: no rule applies)."""
    failure = verdict.failure
    target = Target(state, failure, tuple(verdict.pins), failure.why())
    kind = failure.kind
    if kind is Kind.INSTALL:
        return [_install(ctx, target)]
    prefix: list[Situation] = []
    if kind is Kind.IMPORT and propose_typelib(ctx, target):
        prefix = [("typelib", target)]  # first; the usual moves stay behind it
    elif kind in (Kind.IMPORT, Kind.DRIFT) and failure.blamed and failure.shared_library \
            and system_moves(ctx, state, failure.blamed, target.why):
        # "libportaudio.so.2: cannot open shared object file": the library, not the release
        return [("shared-library", replace(target, system_for=failure.blamed))]
    if kind is Kind.SYNTAX:
        return [_syntax(target)]
    if kind is Kind.IMPORT:
        return prefix + _import(ctx, target)
    if kind in (Kind.DRIFT, Kind.SNIPPET_ATTR):
        return [_drift(ctx, target)]
    if kind is Kind.TIMEOUT:
        return [("timeout", replace(target, why="the run timed out before its imports "
                                                "finished"))]
    return []


def _install(ctx: Context, t: Target) -> Situation:
    """A requirement did not install: its system packages (kept by the other moves: a
    missing C library fails every release alike), older or newer releases, another
    candidate, another Python or era, and last going on without it."""
    state, failure = t.state, t.failure
    failed = failure.failed_requirement or failure.blamed or ""
    index = state.index_of(failed) if failed else None
    if index is None and failed:
        index = next((i for i, d in enumerate(state.deps)
                      if norm(d.dist) == norm(failed.split("==")[0])), None)
    why = f"{failed or 'a requirement'} did not install"
    system = system_moves(ctx, state, failed, why) if failed else []
    augmented = system[0].state if system else state
    t = replace(t, state=augmented, base=augmented, index=index, original=state, why=why,
                system_for=failed or None)
    if index is None:
        return "install", t
    dep = augmented.deps[index]
    if not ctx.releases.exists(dep.dist):
        return "install-not-on-index", replace(t, why=f"{dep.dist} is not on the index")
    if not ctx.releases.versions(dep.dist, augmented.python, augmented.as_of):
        # no release for this Python at all (bpy on 3.8): go where it has some
        homes = tuple(py for py in ctx.pythons if py != augmented.python
                      and ctx.releases.versions(dep.dist, py, ctx.as_of_for(py, augmented)))
        t = replace(t, homes=homes, homes_why=f"{dep.dist} has no release for Python "
                                              f"{augmented.python}")
    return "install", t


def _syntax(t: Target) -> Situation:
    failure = t.failure
    why = f"SyntaxError at line {failure.line}" if failure.line else "SyntaxError"
    t = replace(t, why=why, other_major=True)
    if failure.in_package and failure.blamed:
        index = t.state.index_of(failure.blamed)
        if index is not None:
            # Python-2-only packages fail to parse on 3: the interpreter is the lever
            return "syntax-in-package", replace(t, index=index,
                                                dep_why=f"{why} inside the package")
    return "syntax", t


def _import(ctx: Context, t: Target) -> list[Situation]:
    state, failure = t.state, t.failure
    source = failure.source
    if source and ctx.stdlib_in is not None and ctx.stdlib_in(source.split(".")[0],
                                                               state.python):
        # the standard library itself lacks it (subprocess.getoutput on 2.7,
        # collections.Mapping on 3.10): another Python has it
        return [("import-stdlib-name", replace(t, other_major=state.python.startswith("2.")))]
    if source:  # "cannot import name X from pkg": the package changed under us
        found = ctx.index_or_promote(state, source, t.pins)
        if found is not None:
            base, at = found
            name = failure.name or ""
            # a submodule that moved (from oauth2client import appengine: 1.5 -> contrib)
            return [("import-name-from-package",
                     replace(t, base=base, index=at, maybe_module=True,
                             module=f"{source}.{name}" if name.islower() else None))]
    needed = failure.requires
    prefix: list[Situation] = []
    if not failure.module and needed and state.index_of(needed) is None \
            and needed.lower() not in ctx.unavailable_modules:
        # "IPython.zmq requires pyzmq >= 2.1.4": a package names what it lacks
        prefix = [("requires", replace(t, module=needed))]
    return [*prefix, _import_by_module(ctx, t)]


def _import_by_module(ctx: Context, t: Target) -> Situation:
    state, failure = t.state, t.failure
    missing = failure.module or ""
    top = missing.split(".")[0]
    if top and top.lower() in ctx.unavailable_modules:
        return "import-unavailable", t  # dropped on purpose: nothing installable provides it
    index = state.index_of(top) if top else None
    if index is None and failure.blamed and not missing:
        index = state.index_of(failure.blamed)
    if index is not None:
        t = replace(t, index=index)
        dep = state.deps[index]
        if "." in missing and top.lower() in (m.lower() for m in dep.imports):
            # a submodule went away (sklearn.cross_validation): older releases
            return "import-submodule-gone", replace(t, module=missing)
        if top and not failure.bare_name:
            # the chosen distribution does not provide the module: try the next one
            return "import-wrong-candidate", t
        return "import-dep", t
    if "." in missing:
        # a submodule went away from a package some dependency pulled in (flask.ext)
        found = ctx.index_or_promote(state, top, t.pins)
        if found is not None:
            base, at = found
            return "import-submodule-gone", replace(t, base=base, index=at, module=missing)
    if top and ctx.stdlib_in is not None and not ctx.python_pinned:
        homes = tuple(py for py in ctx.pythons if py != state.python and ctx.stdlib_in(top, py))
        if homes and not ctx.stdlib_in(top, state.python):
            # urllib2, cStringIO...: the snippet wants another Python, not a package
            return "import-stdlib-module", replace(
                t, homes=homes, homes_why=f"{top} is in its standard library")
    if top:
        index = state.index_of(failure.blamed) if failure.in_package and failure.blamed \
            else None
        return "import-missing-module", replace(t, module=top, index=index)
    return "import-unknown", t


def _drift(ctx: Context, t: Target) -> Situation:
    """An attribute or type error: blame the package whose frame raised, else the module
    the message or the failing line names (through the snippet's import aliases)."""
    failure = t.failure
    blamed: str | None
    if failure.in_package and failure.blamed:
        blamed = failure.blamed
    else:
        blamed = failure.module_attribute or failure.blamed
        if blamed is None and failure.attribute_owner:
            owner = failure.attribute_owner
            blamed = ctx.aliases.get(owner.split(".")[0], owner)
    found = ctx.index_or_promote(t.state, blamed, t.pins) if blamed else None
    if found is not None:
        base, at = found
        return "drift-blamed", replace(t, base=base, index=at)
    return "drift-unblamed", t
