"""Turn library events into rich progress on stderr; the library itself never prints."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftdoc.cli.app import err, say
from driftdoc.events import Event, Note
from driftdoc.session import BatchStarted, NonDeterminism, RunFinished


class ProgressReporter:
    """A Reporter that draws a run counter and prints notable events.

    ``verbose`` also prints every finished run. When stderr is not a terminal,
    rich draws nothing animated, so logs stay clean.
    """

    def __init__(self, *, total: int | None = None, verbose: bool = False,
                 label: str = "runs", quiet: bool = False) -> None:
        self.verbose = verbose and not quiet
        self.quiet = quiet
        self._progress = Progress(
            TextColumn("[bold blue]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            console=err,
            transient=True,
            disable=quiet,
        )
        self._task = self._progress.add_task(label, total=total, status="")

    def __enter__(self) -> ProgressReporter:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if isinstance(event, RunFinished):
            self._progress.update(self._task, completed=event.runs, status=event.describe())
            if self.verbose:
                say(self._progress.console, f"  {event.describe()}")
        elif isinstance(event, BatchStarted):
            self._progress.update(self._task, status=event.describe())
        elif isinstance(event, NonDeterminism):
            say(self._progress.console, event.describe(), label="warning:",
                label_style="yellow")
        elif isinstance(event, Note):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "dim")
            if event.level != "debug" or self.verbose:
                say(self._progress.console, event.text, style=style)
        elif self.verbose:
            say(self._progress.console, event.describe(), style="dim")
