"""Default limits of the environment half, one place for the CLI and the Python API.

``run``, ``validate`` and ``explain`` name each limit the same way and start from the
same value, so a validation behaves alike whichever command (or function) made it.
"""

from __future__ import annotations

BUDGET = 24  # validations the repair search may make for one snippet
TIMEOUT = 20.0  # seconds one validation may run the snippet
GRACE = 5.0  # seconds a snippet may go on once its imports completed
# memory of one validation run: one budget for its whole process tree (a cgroup, else a
# watchdog; docs/security.md), each process also capped at this much address space
MEMORY_MB = 2048
BATCH_TIME_LIMIT = 120.0  # seconds per snippet in a batch (a single run has none)
EXPLAIN_BUDGET = 40  # validations spent on explaining drift once an environment works
