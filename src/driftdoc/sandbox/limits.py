"""The limits of one run and the names of the limits that can end it.

Memory is one budget for the whole process tree (children included), enforced by a cgroup
v2 group where one can be made (:mod:`.cgroup`) and otherwise by a watchdog that sums the
tree's memory (:mod:`.watchdog`); every process is also capped at the same size of address
space (``RLIMIT_AS``), which stops a single runaway allocation before the next sample. The
number of tasks (processes and threads) is capped too, which stops fork bombs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from driftdoc.errors import InputError

KilledReason = Literal["timeout", "memory", "disk", "processes"]
KILLED_REASONS: tuple[KilledReason, ...] = ("timeout", "memory", "disk", "processes")

DEFAULT_PROCESSES = 256
"""Tasks (processes + threads) a run may have at once: ample for thread pools and
multiprocessing, far below what hurts the host."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; ``None`` means unlimited.

    ``timeout`` (seconds), ``memory_mb`` (the whole tree, ``/dev/shm`` included),
    ``workdir_mb`` (each of the private ``/tmp`` and the tmpfs work dir),
    ``processes`` (tasks at once), ``tail_bytes`` (output kept per stream).
    """

    timeout: float | None = None
    memory_mb: int | None = None
    workdir_mb: int | None = None
    tail_bytes: int = 64 * 1024
    processes: int | None = DEFAULT_PROCESSES

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise InputError(f"the time limit must be positive, got {self.timeout}")
        if self.memory_mb is not None and self.memory_mb <= 0:
            raise InputError(f"the memory limit must be positive, got {self.memory_mb} MB")
        if self.workdir_mb is not None and self.workdir_mb <= 0:
            raise InputError(f"the work dir size must be positive, got {self.workdir_mb} MB")
        if self.processes is not None and self.processes < 8:
            raise InputError(f"the process limit must be at least 8, got {self.processes}")
        if self.tail_bytes < 0:
            raise InputError("tail_bytes must not be negative")

    @property
    def memory_bytes(self) -> int | None:
        return None if self.memory_mb is None else self.memory_mb * 1024 * 1024

    @property
    def workdir_bytes(self) -> int | None:
        return None if self.workdir_mb is None else self.workdir_mb * 1024 * 1024
