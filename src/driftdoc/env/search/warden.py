"""While a batch runs, keep the cache under its bound from a thread and log its size.

A snippet can add gigabytes in minutes (torch with its CUDA libraries), so checking the bound
only between snippets lets it overshoot by as much as a snippet adds; a check every
:data:`EVERY` seconds costs one ``statvfs`` unless the cache may be over (see
:mod:`driftdoc.env.toolchain.bound`). ``disk.csv`` in the batch's output folder gets the cache's
size after each finished snippet and after each eviction, for the benchmark's disk report.
"""

from __future__ import annotations

import csv
import shutil
import threading
import time
from pathlib import Path

from driftdoc.env.host.cache import cache_root, human
from driftdoc.env.toolchain import bound
from driftdoc.events import Note

EVERY = 20.0
RESAMPLE = 64 * 1024**2
"""Measure the cache again for the log when the disk's free space moved this much."""
DISK_FIELDS = ("time", "event", "snippet", "cache_bytes", "free_bytes", "limit_bytes",
               "evicted_bytes")


class CacheWarden:
    """Checks the bound every ``every`` seconds until stopped; thread-safe."""

    def __init__(self, log: Path | None, every: float = EVERY) -> None:
        self.log = log
        self.every = every
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._notes: list[Note] = []
        self._thread = threading.Thread(target=self._run, name="cache-bound", daemon=True)
        self._last: tuple[int, int, int] = (0, 0, 0)  # cache bytes, free bytes, limit
        self._pending: list[str] = []
        self.evicted = 0
        self.started = time.time()

    def start(self) -> CacheWarden:
        self._sample()
        self._row("start", "")
        self._thread.start()
        return self

    def stop(self, *, final: bool = True) -> None:
        """Stop checking; ``final`` waits for a check under way and logs the size at the end
        (not on Ctrl-C, where the store is consistent either way)."""
        self._stop.set()
        self._wake.set()
        if final:
            self._thread.join(timeout=600)
            self.tick(check=False)
            self._sample()
            self._row("end", "")

    def notes(self) -> list[Note]:
        """Notes for the batch's reporter (drained: each is returned once)."""
        with self._lock:
            out, self._notes = self._notes, []
        return out

    def snippet_done(self, name: str) -> None:
        """Check the bound now and log the cache's size after ``name``: a finished snippet
        may have added gigabytes."""
        with self._lock:
            self._pending.append(name)
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.every)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.tick()

    def tick(self, *, check: bool = True) -> None:
        """One check of the bound, and rows for the snippets finished since the last one."""
        with self._lock:
            pending, self._pending = self._pending, []
            known_free = self._last[1]
        done = None
        if check:
            try:  # a finished snippet is measured anyway (the log): check exactly then
                done = bound.check(force=bool(pending))
            except Exception as exc:  # a failing check must not kill the batch
                with self._lock:
                    self._notes.append(Note(f"cache bound not checked: {exc}", level="warning"))
        if done is not None:
            with self._lock:
                self._last = (done.before, self._last[1], done.limit)
        elif pending or abs(shutil.disk_usage(cache_root()).free - known_free) > RESAMPLE:
            self._sample()
        for name in pending:
            self._row("snippet", name)
        if done is None:
            if not pending and self._last[1] != known_free:
                self._row("sample", "")
            return
        with self._lock:
            self._last = (done.after, bound.Ledger.load(cache_root()).free, done.limit)
            if done.removed:
                self.evicted += done.freed
                removed = ", ".join(f"{n} {k}" for k, n in sorted(done.removed.items()))
                self._notes.append(Note(
                    f"cache over its bound ({human(done.before)} > {human(done.limit)}): "
                    f"removed the least recently used ({removed}), now {human(done.after)}"))
        if done.removed:
            self._row("evict", "")

    def _sample(self) -> None:
        """Measure the cache for the log."""
        try:
            usage = bound.measure()
            cap = bound.limit(usage.total, usage.free)
        except Exception:  # the log is a report, never a reason to fail
            return
        with self._lock:
            self._last = (usage.total, usage.free, cap)

    def _row(self, event: str, name: str) -> None:
        if self.log is None:
            return
        with self._lock:
            total, free, cap = self._last
            new = not self.log.exists()
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a", newline="", encoding="utf-8") as fp:
                writer = csv.writer(fp)
                if new:
                    writer.writerow(DISK_FIELDS)
                writer.writerow([round(time.time() - self.started, 1), event, name, total, free,
                                 cap, self.evicted])
