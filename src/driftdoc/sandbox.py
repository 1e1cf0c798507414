"""Run one command in isolation with time, memory and disk limits; keep only output tails.

Shared by pipeline runs (``driftdoc.pipeline``) and snippet validation (``driftdoc.env``),
so that both get the same isolation and the same failure vocabulary.

API
---
``run_sandboxed(argv, workdir=..., policy=Policy(), limits=Limits(), env=None,
workdir_mode="bind", seed=(), stdin=None) -> SandboxResult``

- ``Policy(mode="bwrap"|"none", network=False, ro_binds=(), rw_binds=())``.
  ``bwrap`` (the default) runs under bubblewrap with ``--unshare-all`` (no network unless
  ``network=True``), the whole host root read-only, a fresh ``/dev`` and ``/proc``, a private
  ``/tmp`` tmpfs, ``--die-with-parent`` and ``--new-session``. The work dir is the only
  writable place (plus ``rw_binds``, bound at their own host path). Host paths under ``/tmp``
  are hidden by the private ``/tmp``: list those the command needs in ``ro_binds``
  (also bound at their own path). ``none`` is the explicit opt-out: no isolation, but the
  same limits, env scrubbing and process-group kill.
- The command sees its work dir at ``policy.workdir_path(workdir)``: ``SANDBOX_WORKDIR``
  (``/tmp/work``) under bwrap, the host path itself under ``none``. It starts there, and
  ``HOME`` points there.
- ``workdir_mode="bind"`` binds the host ``workdir`` read-write (pipelines: outputs stay on
  the host). ``"tmpfs"`` mounts a fresh tmpfs capped at ``limits.workdir_mb`` instead and
  copies ``seed`` files/dirs into it before the command starts (untrusted snippets: nothing
  they write reaches the host; a writer that never stops hits ENOSPC and the result says
  ``killed_reason="disk"``). Under bwrap ``/tmp`` is capped at the same size. Under ``none``
  a tmpfs is impossible without privileges: seeds are copied into ``workdir`` uncapped.
- ``Limits(timeout=None, memory_mb=None, workdir_mb=None, tail_bytes=65536)``. On timeout
  the whole process tree is killed: under bwrap by killing bubblewrap, which tears down the
  PID namespace (children that double-fork or ignore SIGTERM die too); under ``none`` by
  SIGKILL to the process group (a child that calls ``setsid`` itself can escape there).
  Memory is capped with ``RLIMIT_AS`` (``prlimit``); a run that dies of it is reported as
  ``killed_reason="memory"`` (detected from the exit and the stderr tail).
- ``SandboxResult``: ``returncode`` (``None`` only if killed before it could exit),
  ``signal``, ``timed_out``, ``killed_reason`` (``"timeout"|"memory"|"disk"|None``),
  ``stdout_tail``/``stderr_tail`` (bytes, at most ``tail_bytes`` each; memory stays bounded
  however much the child prints), ``stdout_bytes``/``stderr_bytes`` (totals), ``duration``
  (wall time of the whole call) and ``sandbox_startup`` (seconds from spawning until the
  command was about to start inside, i.e. the isolation cost; ``None`` if never reached).
- ``scrubbed_env(extra=None, keep=())``: an environment with only an allow-list of harmless
  variables (``PATH``, ``LANG``, ``LC_*``, ``TZ``, ``TERM``...), plus ``keep`` names copied
  from ``os.environ`` and ``extra``. Credentials never leak into runs by default.
- ``check_bwrap()`` raises ``DriftdocError`` with install instructions when bubblewrap is
  missing or unusable; ``run_sandboxed`` calls it for ``mode="bwrap"``.

Each call is self-contained (one thread, its own pipes), so it is safe from many threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from driftdoc.errors import DriftdocError, InputError

SandboxMode = Literal["bwrap", "none"]
WorkdirMode = Literal["bind", "tmpfs"]
KilledReason = Literal["timeout", "memory", "disk"]

SANDBOX_WORKDIR = "/tmp/work"
"""Where the work dir appears inside a bwrap sandbox."""

_SEED_ROOT = "/tmp/.driftdoc-seed"
_ENV_ALLOW = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "COLUMNS", "LINES", "PYENV_ROOT",
              "PYENV_VERSION")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_INSTALL_HINT = (
    "install it with `apt-get install bubblewrap` (or your distribution's package), "
    "or pass `--sandbox none` to run without isolation"
)
_MEMORY_MARKERS = (
    b"MemoryError",
    b"Cannot allocate memory",
    b"std::bad_alloc",
    b"out of memory",
    b"Out of memory",
    b"failed to map segment",
    b"cannot allocate",
)
_DISK_MARKERS = (b"No space left on device", b"ENOSPC", b"Disk quota exceeded")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; ``None`` means unlimited."""

    timeout: float | None = None
    memory_mb: int | None = None
    workdir_mb: int | None = None
    tail_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise InputError(f"the time limit must be positive, got {self.timeout}")
        if self.memory_mb is not None and self.memory_mb <= 0:
            raise InputError(f"the memory limit must be positive, got {self.memory_mb} MB")
        if self.workdir_mb is not None and self.workdir_mb <= 0:
            raise InputError(f"the work dir size must be positive, got {self.workdir_mb} MB")
        if self.tail_bytes < 0:
            raise InputError("tail_bytes must not be negative")


@dataclass(frozen=True)
class Policy:
    """How strongly to isolate: bubblewrap or nothing, network, extra visible paths."""

    mode: SandboxMode = "bwrap"
    network: bool = False
    ro_binds: tuple[Path, ...] = ()
    rw_binds: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in ("bwrap", "none"):
            raise InputError(f"unknown sandbox mode {self.mode!r}; use bwrap or none")

    def workdir_path(self, workdir: Path | str) -> str:
        """The path under which the command sees its work dir."""
        return SANDBOX_WORKDIR if self.mode == "bwrap" else str(Path(workdir).resolve())


@dataclass(frozen=True)
class SandboxResult:
    """What happened to one sandboxed command."""

    returncode: int | None
    timed_out: bool
    killed_reason: KilledReason | None
    stdout_tail: bytes
    stderr_tail: bytes
    duration: float
    sandbox_startup: float | None = None
    signal: int | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.killed_reason is None


def scrubbed_env(
    extra: Mapping[str, str] | None = None, keep: Iterable[str] = ()
) -> dict[str, str]:
    """A minimal environment: the allow-list, ``keep`` names from ``os.environ``, ``extra``."""
    env: dict[str, str] = {}
    for name, value in os.environ.items():
        if name in _ENV_ALLOW or name.startswith("LC_"):
            env[name] = value
    for name in keep:
        if name in os.environ:
            env[name] = os.environ[name]
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


_bwrap_lock = threading.Lock()
_bwrap_checked: str | None = None


def check_bwrap() -> str:
    """Return the bwrap path, or raise ``DriftdocError`` saying how to get a working one."""
    global _bwrap_checked
    with _bwrap_lock:
        if _bwrap_checked is not None:
            return _bwrap_checked
        path = shutil.which("bwrap")
        if path is None:
            raise DriftdocError(f"bubblewrap (bwrap) is not installed; {_INSTALL_HINT}")
        probe = subprocess.run(
            [path, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--", "/bin/true"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False,
        )
        if probe.returncode != 0:
            why = probe.stderr.decode(errors="replace").strip().splitlines()
            raise DriftdocError(
                f"bubblewrap cannot create a sandbox here ({why[-1] if why else 'unknown'}); "
                "user namespaces may be disabled. Pass `--sandbox none` to run without isolation"
            )
        _bwrap_checked = path
        return path


def _prelude(seeds: int, marker_fd: int) -> str:
    """Shell run first inside the sandbox: copy seeds, signal start-up, exec the command."""
    parts = []
    if seeds:
        parts.append(f'cp -a "{_SEED_ROOT}"/*/. . || exit 125')
    # dash cannot redirect to fds above 9, so reopen the pipe through /proc.
    parts.append(f"printf . > /proc/self/fd/{marker_fd}")
    parts.append('exec "$@"')
    return "; ".join(parts)


def _memory_wrapper(limits: Limits) -> list[str]:
    if limits.memory_mb is None:
        return []
    nbytes = limits.memory_mb * 1024 * 1024
    prlimit = shutil.which("prlimit")
    if prlimit is not None:
        return [prlimit, f"--as={nbytes}", "--"]
    return ["/bin/sh", "-c", f'ulimit -v {nbytes // 1024} && exec "$@"', "sh"]


def _hidden_by_tmp(command: Sequence[str]) -> list[Path]:
    """Host paths under /tmp the command needs, which the sandbox's private /tmp would hide.

    A checkout or virtualenv living under /tmp (CI clones often do) holds the interpreter,
    its site-packages and, for editable installs, driftdoc's own sources.
    """
    candidates: list[Path] = [Path(sys.prefix)]
    package_root = Path(__file__).resolve().parents[1]
    candidates.append(package_root)
    if command:
        exe = Path(command[0])
        if exe.is_absolute():
            candidates += [exe.parent.parent, exe.resolve().parent.parent]
    tmp = Path("/tmp")
    out: list[Path] = []
    for path in candidates:
        try:
            path = path.resolve()
        except OSError:
            continue
        if tmp in path.parents and path.exists() and not any(
                p == path or p in path.parents for p in out):
            out = [p for p in out if path not in p.parents]
            out.append(path)
    return out


def _bwrap_argv(
    bwrap: str,
    workdir: Path,
    policy: Policy,
    limits: Limits,
    workdir_mode: WorkdirMode,
    seed: Sequence[Path],
    command: Sequence[str] = (),
) -> list[str]:
    argv = [bwrap, "--unshare-all"]
    if policy.network:
        argv.append("--share-net")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    size = ["--size", str(limits.workdir_mb * 1024 * 1024)] if limits.workdir_mb else []
    argv += [*size, "--tmpfs", "/tmp"]
    for path in _hidden_by_tmp(command):
        argv += ["--ro-bind", str(path), str(path)]
    for path in policy.ro_binds:
        argv += ["--ro-bind", str(path), str(path)]
    for path in policy.rw_binds:
        argv += ["--bind", str(path), str(path)]
    if workdir_mode == "tmpfs":
        argv += [*size, "--tmpfs", SANDBOX_WORKDIR]
        for i, item in enumerate(seed):
            argv += ["--ro-bind", str(item), f"{_SEED_ROOT}/{i}/{item.name}"]
    else:
        argv += ["--bind", str(workdir), SANDBOX_WORKDIR]
    argv += ["--chdir", SANDBOX_WORKDIR, "--die-with-parent", "--new-session", "--"]
    return argv


def _copy_seeds(seed: Sequence[Path], workdir: Path) -> None:
    for item in seed:
        target = workdir / item.name
        if item.is_dir():
            shutil.copytree(item, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


class _Tail:
    """Keep the last ``limit`` bytes of a stream and count the total."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buf = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.limit == 0:
            return
        self.buf += chunk
        if len(self.buf) > 2 * self.limit:
            del self.buf[: len(self.buf) - self.limit]

    def value(self) -> bytes:
        return bytes(self.buf[-self.limit :]) if self.limit else b""


def _exited(pid: int) -> bool:
    """True once ``pid`` has exited, without reaping it (its group id stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group; only call while the leader is not yet reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _classify(
    timed_out: bool, returncode: int | None, sig: int | None, stderr: bytes, limits: Limits,
    workdir_mode: WorkdirMode,
) -> KilledReason | None:
    if timed_out:
        return "timeout"
    if returncode == 0:
        return None
    tail = stderr[-8192:]
    # SIGKILL that we did not send is the kernel's OOM killer; a failed allocation under
    # RLIMIT_AS shows up as MemoryError / ENOMEM / bad_alloc on stderr.
    if limits.memory_mb is not None and (
        any(m in tail for m in _MEMORY_MARKERS) or sig == signal.SIGKILL
    ):
        return "memory"
    if any(m in tail for m in _DISK_MARKERS) or (workdir_mode == "tmpfs" and returncode == 125):
        return "disk"
    return None


def run_sandboxed(
    argv: Sequence[str],
    *,
    workdir: Path,
    policy: Policy | None = None,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    workdir_mode: WorkdirMode = "bind",
    seed: Sequence[Path] = (),
    stdin: bytes | None = None,
) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under ``policy`` and ``limits``; never raises for the run.

    Raises ``DriftdocError`` only for problems of the sandbox itself (bwrap missing) and
    ``InputError`` for bad arguments (empty argv, missing work dir or seed).
    """
    policy = policy or Policy()
    limits = limits or Limits()
    if not argv:
        raise InputError("nothing to run: empty command")
    if workdir_mode not in ("bind", "tmpfs"):
        raise InputError(f"unknown workdir mode {workdir_mode!r}; use bind or tmpfs")
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise InputError(f"work dir {workdir} does not exist")
    seed = [Path(s).resolve() for s in seed]
    for item in seed:
        if not item.exists():
            raise InputError(f"seed path {item} does not exist")

    for path in (*policy.ro_binds, *policy.rw_binds):
        if not Path(path).exists():
            raise InputError(f"sandbox bind path {path} does not exist")
    inside = policy.workdir_path(workdir)
    if env is None:
        env = scrubbed_env()
    full_env = dict(env)
    full_env["HOME"] = inside
    full_env.setdefault("TMPDIR", "/tmp")
    full_env.setdefault("PATH", _DEFAULT_PATH)

    prefix: list[str] = []
    seeds_inside = 0
    if policy.mode == "bwrap":
        prefix = _bwrap_argv(check_bwrap(), workdir, policy, limits, workdir_mode, seed,
                             argv)
        seeds_inside = len(seed) if workdir_mode == "tmpfs" else 0
    elif seed:
        _copy_seeds(seed, workdir)
    marker_r, marker_w = os.pipe()
    command = [
        *prefix,
        *_memory_wrapper(limits),
        "/bin/sh", "-c", _prelude(seeds_inside, marker_w), "sh", *argv,
    ]

    stdin_file = None
    if stdin is not None:
        stdin_file = tempfile.TemporaryFile()  # noqa: SIM115  closed right after spawn
        stdin_file.write(stdin)
        stdin_file.seek(0)
    start = time.perf_counter()
    deadline = None if limits.timeout is None else start + limits.timeout
    try:
        proc = subprocess.Popen(
            command,
            cwd=str(workdir),
            env=full_env,
            stdin=stdin_file if stdin_file is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(marker_w,),
            start_new_session=True,
        )
    except OSError as exc:
        os.close(marker_r)
        os.close(marker_w)
        if stdin_file is not None:
            stdin_file.close()
        msg = f"cannot start {argv[0]!r}: {exc.strerror or exc}".encode()
        return SandboxResult(127, False, None, b"", msg, time.perf_counter() - start,
                             workdir=inside)
    os.close(marker_w)
    if stdin_file is not None:
        stdin_file.close()

    out, err = _Tail(limits.tail_bytes), _Tail(limits.tail_bytes)
    startup: float | None = None
    timed_out = False
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    sel.register(marker_r, selectors.EVENT_READ, None)
    pidfd = -1
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ, "exit")
    exited_at: float | None = None
    try:
        open_streams = 2
        while open_streams:
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                timed_out = True
                _kill_tree(proc)
                deadline = None
                exited_at = now
            wait = 0.25 if pidfd < 0 else None
            if deadline is not None:
                wait = max(0.0, deadline - now) if wait is None else min(wait, deadline - now)
            if exited_at is not None:
                # The leader is gone; leftovers holding the pipes get a short grace.
                if now - exited_at > 2.0:
                    break
                wait = 0.1 if wait is None else min(wait, 0.1)
            for key, _ in sel.select(wait):
                if key.data == "exit":
                    sel.unregister(key.fileobj)
                    # Not reaped yet, so its group id cannot be reused: kill leftovers
                    # in the group (none mode) safely.
                    _kill_tree(proc)
                    exited_at = time.perf_counter()
                    continue
                chunk = os.read(key.fd, 65536)
                if key.data is None:
                    if startup is None and chunk:
                        startup = time.perf_counter() - start
                    sel.unregister(key.fileobj)
                    continue
                if chunk:
                    key.data.add(chunk)
                else:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
            if pidfd < 0 and exited_at is None and _exited(proc.pid):
                _kill_tree(proc)
                exited_at = time.perf_counter()
        if timed_out:
            _kill_tree(proc)
        try:
            returncode: int | None = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            returncode = proc.wait()
    finally:
        sel.close()
        for fd in (marker_r, pidfd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
        if proc.returncode is None:
            _kill_tree(proc)
            proc.wait()
    duration = time.perf_counter() - start

    sig: int | None = None
    if returncode is not None and returncode < 0:
        sig = -returncode
    elif policy.mode == "bwrap" and returncode is not None and 128 < returncode < 160:
        sig = returncode - 128
    if timed_out:
        returncode = None
    stderr_tail = err.value()
    reason = _classify(timed_out, returncode, sig, stderr_tail, limits, workdir_mode)
    return SandboxResult(
        returncode=returncode,
        timed_out=timed_out,
        killed_reason=reason,
        stdout_tail=out.value(),
        stderr_tail=stderr_tail,
        duration=duration,
        sandbox_startup=startup,
        signal=sig,
        stdout_bytes=out.total,
        stderr_bytes=err.total,
        workdir=inside,
    )


def describe(result: SandboxResult) -> str:
    """One line for humans: why a sandboxed run ended."""
    if result.killed_reason == "timeout":
        return f"timed out after {result.duration:.1f}s"
    if result.killed_reason == "memory":
        return "ran out of memory (limit reached)"
    if result.killed_reason == "disk":
        return "ran out of disk space in its work dir"
    if result.signal is not None:
        try:
            name = signal.Signals(result.signal).name
        except ValueError:
            name = str(result.signal)
        return f"killed by signal {name}"
    if result.returncode == 0:
        return "exited normally"
    last = [ln for ln in result.stderr_tail.splitlines() if ln.strip()]
    tail = last[-1].decode(errors="replace").strip() if last else ""
    tail = re.sub(r"\s+", " ", tail)[:200]
    return f"exit status {result.returncode}" + (f": {tail}" if tail else "")
