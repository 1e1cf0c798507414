"""Command-line entry point: registers command modules and turns errors into one-liners."""

from __future__ import annotations

import sys

import click

from driftdoc.cli.app import app, err
from driftdoc.errors import DriftdocError

# Each module registers its commands on ``app`` when imported.
from driftdoc.cli import debug_cmd, history_cmd  # noqa: E402,F401  isort: skip


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input is one line on stderr with exit code 2, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except DriftdocError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
        return 2
    except click.exceptions.Abort:
        err.print("[yellow]interrupted[/]; everything recorded so far is kept", highlight=False)
        return 130
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]; everything recorded so far is kept", highlight=False)
        return 130
    except BrokenPipeError:
        return 1
    return 0


def entry() -> None:
    sys.exit(main())
