"""Command-line entry point: registers command modules and turns errors into one-liners."""

from __future__ import annotations

import sys
from typing import Any

import typer

from driftdoc.cli.app import app, err, say
from driftdoc.cli.examples import attach
from driftdoc.errors import DriftdocError

# Each module registers its commands on ``app`` when imported.
from driftdoc.cli import debug_cmd, history_cmd  # noqa: F401  isort: skip
from driftdoc.cli import worker_cmd  # noqa: F401  isort: skip
from driftdoc.cli import inspect_cmd  # noqa: F401  isort: skip
from driftdoc.cli import cache_cmd, validate_cmd  # noqa: F401  isort: skip
from driftdoc.cli import run_cmd  # noqa: F401  isort: skip
from driftdoc.cli import explain_cmd  # noqa: F401  isort: skip

# typer may vendor click; find its usage-error base class without naming the module.
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def command() -> Any:
    """The click command tree, with an example attached to every help page."""
    root = typer.main.get_command(app)
    attach(root)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input is one line on stderr with exit code 2, never a traceback."""
    try:
        rc = command().main(args=argv, prog_name="driftdoc", standalone_mode=False)
    except DriftdocError as exc:
        say(err, str(exc), label="error:", label_style="bold red")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        err.print("[yellow]interrupted[/]; everything recorded so far is kept", highlight=False)
        return 130
    except _USAGE_ERROR as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if not message:  # a group called without a command already printed its help
            return 2
        say(err, message, label="error:", label_style="bold red")
        return 2
    except BrokenPipeError:
        return 1
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())
