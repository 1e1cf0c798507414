"""The typer application object and the shared console; command modules register on it."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="driftdoc",
    help="Find why a computation fails under some configurations and what makes it work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Results go to stdout; progress, status and errors go to stderr.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
