"""Run one command in isolation, with limits on the whole run; keep only output tails.

Shared by pipeline runs (``driftdoc.pipeline``) and snippet validation (``driftdoc.env``),
so that both get the same isolation, the same policy and the same failure vocabulary.
``docs/security.md`` says what this protects and how each property is tested.

API
---
``run_sandboxed(argv, workdir=..., policy=Policy(), limits=Limits(), env=None,
workdir_mode="bind", seed=(), stdin=None) -> SandboxResult``

- ``Policy(mode="bwrap"|"none", network=False, ro_binds=(), hidden=())``: under ``bwrap``
  the run sees a minimal root (:mod:`.policy`), runs as an unprivileged user of a user
  namespace and never as the host's root (:mod:`.launch`), with no network unless
  ``network=True``. ``none`` is the explicit opt-out: no isolation, the same limits.
- The command sees its work dir at ``policy.workdir_path(workdir)`` (``/tmp/work`` under
  bwrap); it starts there, and ``HOME`` points there.
- ``Limits(timeout, memory_mb, workdir_mb, tail_bytes, processes)`` (:mod:`.limits`):
  memory and tasks are limits on the whole process tree (a cgroup v2 group, :mod:`.cgroup`,
  or a watchdog, :mod:`.watchdog`). A run ended by a limit says which one in
  ``SandboxResult.killed_reason`` (``timeout``, ``memory``, ``disk``, ``processes``).
- ``scrubbed_env(extra, keep)``: only an allow-list of harmless variables reaches a run.
- ``check_bwrap()`` raises ``DriftdocError`` saying what to do when bubblewrap is missing or
  cannot make a sandbox here; ``run_sandboxed`` calls it for ``mode="bwrap"``.
"""

from driftdoc.sandbox.launch import check_bwrap
from driftdoc.sandbox.limits import DEFAULT_PROCESSES, KILLED_REASONS, KilledReason, Limits
from driftdoc.sandbox.policy import (
    SANDBOX_GID,
    SANDBOX_UID,
    SANDBOX_WORKDIR,
    Policy,
    SandboxMode,
    WorkdirMode,
)
from driftdoc.sandbox.run import (
    SandboxResult,
    describe,
    run_sandboxed,
    sandbox_details,
    scrubbed_env,
)

__all__ = [
    "DEFAULT_PROCESSES",
    "KILLED_REASONS",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "SANDBOX_WORKDIR",
    "KilledReason",
    "Limits",
    "Policy",
    "SandboxMode",
    "SandboxResult",
    "WorkdirMode",
    "check_bwrap",
    "describe",
    "run_sandboxed",
    "sandbox_details",
    "scrubbed_env",
]
