"""``driftdoc inspect``: the statically inferred plan for a snippet (nothing is installed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from driftdoc.cli.app import app, out, say
from driftdoc.errors import InputError

if TYPE_CHECKING:
    from driftdoc.env.knowledge.plan import Plan

SHOWN_PYTHONS = 4
_KIND_STYLE = {"stdlib": "dim", "local": "cyan", "thirdparty": "green", "platform": "bold red",
               "unknown": "yellow"}


def render_plan(plan: Plan) -> None:
    """Rich tables: Python candidates, then imports with their distributions."""
    say(out, f"({plan.source_kind}, parsed with {plan.parser})", label=str(plan.snippet),
        label_style="bold")
    py = Table(title="Python candidates", title_justify="left")
    py.add_column("#", style="dim")
    py.add_column("python", style="bold")
    py.add_column("score", justify="right")
    py.add_column("interpreter", style="dim")
    py.add_column("reasons")
    shown = plan.python_candidates[:SHOWN_PYTHONS]
    for i, c in enumerate(shown, 1):
        reasons = c.reasons[:3] + ([f"(+{len(c.reasons) - 3} more)"] if len(c.reasons) > 3 else [])
        py.add_row(str(i), c.version, f"{c.score:.1f}",
                   Text(str(c.interpreter) if c.interpreter else "-"),
                   Text("; ".join(reasons) or "-"))
    out.print(py)
    rest = plan.python_candidates[SHOWN_PYTHONS:]
    if rest:
        say(out, "also ranked: " + ", ".join(f"{c.version} ({c.score:.1f})" for c in rest)
            + " (--format json shows every reason)", style="dim")

    imp = Table(title="Imports", title_justify="left")
    imp.add_column("line", justify="right", style="dim")
    imp.add_column("import")
    imp.add_column("context")
    imp.add_column("kind")
    imp.add_column("distribution (confidence, source)")
    imp.add_column("note", style="dim")
    for u in plan.imports:
        cands = ", ".join(f"{c.distribution} ({c.confidence:.2f}, {c.source})"
                          for c in u.candidates[:3])
        style = _KIND_STYLE.get(u.kind, "")
        imp.add_row(str(u.line), Text(u.name), u.context, Text(u.kind, style=style),
                    Text(cands or "-"),
                    Text(u.note or (u.candidates[0].reason if u.candidates else "")))
    out.print(imp)
    if plan.platform_bound:
        cats = sorted({u.category for u in plan.platform_bound})
        names = ", ".join(sorted({u.name for u in plan.platform_bound}))
        say(out, f"{names} ({', '.join(cats)}): no PyPI environment can provide these; "
            "validation would fail.", label="Platform-bound:", label_style="bold red")
    reqs = plan.requirements()
    say(out, " ".join(reqs) if reqs else "(none)", label="Requirements:", label_style="bold")
    for note in plan.notes:
        say(out, f"note: {note}", style="dim")


@app.command("inspect")
def inspect_command(
    snippet: Annotated[Path, typer.Argument(help="A .py file or .ipynb notebook.")],
    python: Annotated[str | None, typer.Option("--python", help="Pin the Python version (X.Y).")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Show the inferred plan: Python candidates, imports and the distributions for them."""
    if fmt not in ("text", "json"):
        raise InputError(f"unknown format {fmt!r}; use text or json")
    from driftdoc.env.knowledge.plan import inspect_snippet  # lazy: other commands don't pay for it

    plan = inspect_snippet(snippet, python=python)
    if fmt == "json":
        out.print_json(json.dumps(plan.to_json()))
    else:
        render_plan(plan)
