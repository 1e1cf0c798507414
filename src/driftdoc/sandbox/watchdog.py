"""Watch a process tree from the host: its memory and its number of tasks, sampled often.

Used when no cgroup can be made for a run (cgroup v1 hosts, containers without
delegation, unprivileged users). The tree is everything descending from the process
driftdoc started; under bwrap that includes orphans, which the PID namespace's init
adopts. A sample costs one small read per process: ``/proc/PID/stat`` gives the resident
size and the thread count. Resident sizes count shared pages once per process, so when
their sum crosses the limit the tree is measured again with proportional set sizes
(``smaps_rollup``), which count each shared page once; only that sum kills. Shared memory
files (``/dev/shm``) are added: they are memory by nature. ``/tmp`` and a tmpfs work dir
are the run's temporary disk, with caps of their own (a cgroup charges them to memory too).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from driftdoc.sandbox.limits import KilledReason

_PAGE = os.sysconf("SC_PAGE_SIZE")
FAST = 0.01
SLOW = 0.05
PSS_GAP = 0.25
PSS_REFRESH = 1.0
PSS_BUDGET = 0.5
MAX_INTERVAL = 0.5
TASKS_PERCENT = 85
"""The kernel refuses forks at the task limit, and a fork bomb starved of CPU then creeps
towards it; holding this share of the limit ends the run as ``processes``."""


def _stat(pid: int) -> tuple[int, int] | None:
    """(resident bytes, threads) of one process, ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data.rsplit(b")", 1)[-1].split()
    try:
        return int(fields[21]) * _PAGE, int(fields[17])
    except (IndexError, ValueError):
        return None


def _children(pid: int, threads: int) -> list[int]:
    """Children of every thread of ``pid`` (one read for a single-threaded process)."""
    tids = [str(pid)]
    if threads > 1:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
    out: list[int] = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(k) for k in fh.read().split()]
        except (OSError, ValueError):
            continue
    return out


def walk(root: int) -> list[tuple[int, int, int]]:
    """(pid, resident bytes, threads) of ``root`` and every live descendant."""
    out: list[tuple[int, int, int]] = []
    todo = [root]
    seen = {root}
    while todo:
        pid = todo.pop()
        st = _stat(pid)
        if st is None:
            continue
        out.append((pid, st[0], st[1]))
        for kid in _children(pid, st[1]):
            if kid not in seen:
                seen.add(kid)
                todo.append(kid)
    return out


def _pss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tmpfs_used(pid: int, paths: Sequence[str]) -> int:
    """Bytes held by the sandbox's RAM-backed mounts, seen through ``/proc/PID/root``.

    A path on the same device as the host's own is not (or not yet) the sandbox's mount.
    """
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            inside = f"/proc/{pid}/root{path}"
            if os.path.exists(path) and os.stat(inside).st_dev == os.stat(path).st_dev:
                continue
            st = os.statvfs(inside)
            total += (st.f_blocks - st.f_bfree) * st.f_frsize
    return total


@dataclass
class Sample:
    memory: int  # bytes: resident (or proportional, when checked) + tmpfs
    tasks: int
    reason: KilledReason | None


class TreeWatch:
    """Samples one tree against a memory budget and a task budget; see the module doc.

    Proportional sizes cost a page-table walk per process (and wait on processes that are
    busy forking), so they are measured only while the resident sum is over the budget,
    at most every ``PSS_GAP`` seconds, and within ``PSS_BUDGET`` seconds; in between, the
    last measured amount of sharing is subtracted from the resident sum. Only a fresh
    measurement over the budget kills.
    """

    def __init__(self, root: int, *, memory_bytes: int | None, max_tasks: int | None,
                 tmpfs: Sequence[str] = ()) -> None:
        self.root = root
        self.memory_bytes = memory_bytes
        self.max_tasks = max_tasks
        self.tmpfs = tuple(tmpfs)
        self.peak_memory = 0
        self.peak_tasks = 0
        self.samples = 0
        self.cost = 0.0
        self._hot = False
        self._shared = 0  # resident minus proportional bytes at the last measurement
        self._measured_at = -1e9

    @property
    def interval(self) -> float:
        """Seconds to the next sample: shorter once the tree is past half a budget, never
        so short that sampling a big tree takes more than a fifth of a core."""
        return min(MAX_INTERVAL, max(FAST if self._hot else SLOW, 5 * self.cost))

    def _proportional(self, procs: Sequence[tuple[int, int, int]]) -> int | None:
        """Sum of proportional set sizes, or ``None`` if it took too long to measure."""
        began = time.perf_counter()
        total = 0
        for pid, resident, _ in procs:
            got = _pss(pid)
            total += got if got is not None else resident
            if time.perf_counter() - began > PSS_BUDGET:
                return None
        return total

    def sample(self, *, started: bool = True) -> Sample:
        """One look at the tree; ``started``: the sandbox's mounts are in place."""
        began = time.perf_counter()
        cpu = time.thread_time()
        procs = walk(self.root)
        rss = sum(p[1] for p in procs)
        tasks = sum(p[2] for p in procs)
        # the first process is driftdoc's own child; the next one lives in the sandbox
        inner = next((p[0] for p in procs if p[0] != self.root), None)
        ram_files = 0
        if started and inner is not None and self.tmpfs:
            ram_files = _tmpfs_used(inner, self.tmpfs)
        memory = rss + ram_files
        measured = True  # False while ``memory`` is only an estimate
        reason: KilledReason | None = None
        if self.max_tasks is not None and tasks * 100 >= self.max_tasks * TASKS_PERCENT:
            reason = "processes"
        elif self.memory_bytes is not None and memory > self.memory_bytes:
            memory = max(0, rss - self._shared) + ram_files
            measured = False
            stale = began - self._measured_at
            if (memory > self.memory_bytes or stale > PSS_REFRESH) and stale >= PSS_GAP:
                pss = self._proportional(procs)
                if pss is not None:
                    self._shared = max(0, rss - pss)
                    self._measured_at = began
                    memory = pss + ram_files
                    measured = True
                    if memory > self.memory_bytes:
                        reason = "memory"
        else:
            self._shared = 0
        self.samples += 1
        self.cost = time.thread_time() - cpu
        if measured:
            self.peak_memory = max(self.peak_memory, memory)
        self.peak_tasks = max(self.peak_tasks, tasks)
        self._hot = ((self.memory_bytes is not None and memory * 2 > self.memory_bytes)
                     or (self.max_tasks is not None and tasks * 2 > self.max_tasks))
        return Sample(memory, tasks, reason)
