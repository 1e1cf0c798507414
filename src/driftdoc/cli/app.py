"""The typer application object and the shared consoles; command modules register on it.

Help is rendered by click's plain formatter (``rich_markup_mode=None``): flags show as
flags, and help text is never parsed as markup (``str(values + [result])`` stays intact).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

import driftdoc

app = typer.Typer(
    name="driftdoc",
    help="Find why a computation fails under some configurations and what makes it work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Results go to stdout; progress, status and errors go to stderr.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def say(console: Console, text: str, *, style: str | None = None, label: str = "",
        label_style: str = "") -> None:
    """Print ``label text`` with styles applied, the text escaped: messages are never markup."""
    head = f"[{label_style}]{escape(label)}[/] " if label and label_style else \
        (f"{escape(label)} " if label else "")
    body = f"[{style}]{escape(text)}[/]" if style else escape(text)
    console.print(head + body, highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"driftdoc {driftdoc.__version__}", highlight=False, markup=False)
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Show the version and exit.")]
    = False,
) -> None:
    """Find why a computation fails under some configurations and what makes it work."""
