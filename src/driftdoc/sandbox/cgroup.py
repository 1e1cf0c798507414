"""A cgroup v2 group per run, where the host lets driftdoc make one.

The kernel then enforces both budgets on the whole tree at once: ``memory.max`` (with no
swap, and ``memory.oom.group`` so an out-of-memory kill takes the whole run) and
``pids.max``; ``memory.events`` and ``pids.events`` say afterwards which one was hit.

A group with those controllers can only be made below a cgroup whose
``cgroup.subtree_control`` enables them, and (cgroup v2's "no internal processes" rule)
such a cgroup holds no process itself. So driftdoc uses either the directory named by
``$DRIFTDOC_CGROUP`` (a group delegated to it, e.g. by systemd's ``Delegate=yes``), or,
when it runs in the root cgroup as root (a plain VM or a privileged container), a
``driftdoc`` group it makes there. Otherwise, rather than move itself or its callers to
another cgroup (which would also escape the limits set on them), it returns ``None`` and
the run falls back to the watchdog (:mod:`.watchdog`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from pathlib import Path

from driftdoc.sandbox.limits import KilledReason, Limits

ENV_VAR = "DRIFTDOC_CGROUP"
_NEEDED = ("memory", "pids")
_lock = threading.Lock()
_base: dict[str, Path | None] = {}
_counter = itertools.count()


def _cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> Path | None:
    try:
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own_cgroup(proc_cgroup: str = "/proc/self/cgroup") -> str | None:
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return line[3:]
    return None


def _controllers(group: Path, name: str) -> set[str]:
    try:
        return set((group / name).read_text().split())
    except OSError:
        return set()


def _enable(group: Path) -> bool:
    """Make sure ``group``'s children get the memory and pids controllers."""
    if set(_NEEDED) <= _controllers(group, "cgroup.subtree_control"):
        return True
    if not set(_NEEDED) <= _controllers(group, "cgroup.controllers"):
        return False
    try:
        (group / "cgroup.subtree_control").write_text(" ".join("+" + c for c in _NEEDED))
    except OSError:
        return False
    return set(_NEEDED) <= _controllers(group, "cgroup.subtree_control")


def find_base(environ: dict[str, str] | None = None, *, mount: Path | None = None,
              own: str | None = None, is_root: bool | None = None) -> Path | None:
    """The cgroup under which per-run groups are made, or ``None`` (see the module doc)."""
    env = os.environ if environ is None else environ
    named = env.get(ENV_VAR)
    if named:
        base = Path(named)
        return base if base.is_dir() and _enable(base) else None
    mount = mount if mount is not None else _cgroup2_mount()
    own = own if own is not None else _own_cgroup()
    is_root = os.geteuid() == 0 if is_root is None else is_root
    if mount is None or own != "/" or not is_root:
        return None
    if not _enable(mount):
        return None
    base = mount / "driftdoc"
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    return base if _enable(base) else None


def cached_base() -> Path | None:
    """:func:`find_base`, decided once per process and per ``$DRIFTDOC_CGROUP``."""
    key = os.environ.get(ENV_VAR, "")
    with _lock:
        if key not in _base:
            _base[key] = find_base()
        return _base[key]


class RunGroup:
    """One run's cgroup: made with its limits, joined by the run, read, killed, removed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limits: Limits, base: Path | None = None) -> RunGroup | None:
        base = base if base is not None else cached_base()
        if base is None or (limits.memory_mb is None and limits.processes is None):
            return None
        path = base / f"run-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(path)
        try:
            if limits.memory_bytes is not None:
                group._write("memory.max", str(limits.memory_bytes))
                group._write("memory.oom.group", "1")
                with contextlib.suppress(OSError):
                    group._write("memory.swap.max", "0")
            if limits.processes is not None:
                group._write("pids.max", str(limits.processes))
        except OSError:
            group.remove()
            return None
        return group

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def _events(self, name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    out[key] = int(value)
        except OSError:
            pass
        return out

    def join_argv(self) -> list[str]:
        """A prefix that moves the command into this group before it execs."""
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path)]

    def reason(self) -> KilledReason | None:
        """Which limit the kernel enforced during the run, if any."""
        if self._events("memory.events").get("oom_kill", 0) > 0:
            return "memory"
        if self._events("pids.events").get("max", 0) > 0:
            return "processes"
        return None

    def peak_memory(self) -> int | None:
        try:
            return int((self.path / "memory.peak").read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL every process left in the group."""
        try:
            self._write("cgroup.kill", "1")
            return
        except OSError:
            pass
        try:
            pids = (self.path / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left and remove the group (it must be empty to go)."""
        deadline = time.monotonic() + 2.0
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                self.kill()
                time.sleep(0.02)
