"""Turn library events into rich progress on stderr; the library itself never prints."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftdoc.cli.app import err
from driftdoc.events import Event, Note
from driftdoc.session import BatchStarted, NonDeterminism, RunFinished


class ProgressReporter:
    """A Reporter that draws a run counter and prints notable events.

    ``verbose`` also prints every finished run. When stderr is not a terminal,
    rich draws nothing animated, so logs stay clean.
    """

    def __init__(self, *, total: int | None = None, verbose: bool = False,
                 label: str = "runs") -> None:
        self.verbose = verbose
        self._progress = Progress(
            TextColumn("[bold blue]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=err,
            transient=True,
        )
        self._task = self._progress.add_task(label, total=total, status="")

    def __enter__(self) -> ProgressReporter:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self._progress.update(self._task, completed=event.runs, status=event.describe())
            if self.verbose:
                self._progress.console.print(f"  {event.describe()}", highlight=False)
        elif isinstance(event, BatchStarted):
            self._progress.update(self._task, status=event.describe())
        elif isinstance(event, NonDeterminism):
            self._progress.console.print(f"[yellow]warning:[/] {event.describe()}",
                                         highlight=False)
        elif isinstance(event, Note):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "dim")
            if event.level != "debug" or self.verbose:
                self._progress.console.print(f"[{style}]{event.text}[/]", highlight=False)
        elif self.verbose:
            self._progress.console.print(f"[dim]{event.describe()}[/]", highlight=False)
