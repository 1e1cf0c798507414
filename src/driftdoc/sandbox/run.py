"""Run one command in the sandbox, enforce its limits, keep only output tails, say how it ended.

The loop reads stdout and stderr through a selector (only bounded tails are kept, so a
child printing gigabytes costs nothing), wakes on the leader's exit through a pidfd,
samples the process tree when no cgroup holds it (:mod:`.watchdog`), and kills the whole
tree on a time-out or a limit: under bwrap by killing bubblewrap, which tears down the PID
namespace (double-forked, SIGTERM-ignoring, ``setsid`` descendants die too); under
``none`` by SIGKILL to the process group (a child that calls ``setsid`` escapes there).
Each call is self-contained (one thread, its own pipes), so it is safe from many threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from driftdoc.errors import InputError
from driftdoc.sandbox import launch, seccomp
from driftdoc.sandbox.cgroup import RunGroup
from driftdoc.sandbox.limits import KilledReason, Limits
from driftdoc.sandbox.policy import Policy, WorkdirMode, mount_args
from driftdoc.sandbox.programs import home_dirs, resolve_program, sandbox_path
from driftdoc.sandbox.watchdog import TreeWatch

_ENV_ALLOW = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "COLUMNS", "LINES", "PYENV_ROOT",
              "PYENV_VERSION")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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
_FORK_MARKERS = (b"Resource temporarily unavailable", b"fork: retry", b"Cannot fork",
                 b"can't fork", b"[Errno 11]")
_SHARED_MEMORY = ("/dev/shm",)  # counted as memory; /tmp and the work dir are disk
# /tmp and /dev/shm are RAM: capped at the work dir size, else the memory limit, else this
DEFAULT_TMP_BYTES = 1 << 30


@dataclass(frozen=True)
class SandboxResult:
    """What happened to one sandboxed command.

    ``killed_reason`` names the limit that ended the run (``timeout``, ``memory``,
    ``disk``, ``processes``) or is ``None``. ``limiter`` says what enforced the tree-wide
    limits (``cgroup``, ``watchdog`` or ``None``); ``memory_peak`` (bytes) and
    ``tasks_peak`` are what it saw at most; ``seccomp``: the system-call filter was on.
    """

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
    mode: str = "bwrap"
    limiter: str | None = None
    memory_peak: int | None = None
    tasks_peak: int | None = None
    seccomp: bool = False

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


def _kill_tree(proc: subprocess.Popen[bytes], group: RunGroup | None = None) -> None:
    """SIGKILL the process group (and the cgroup); only while the leader is not reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if group is not None:
        group.kill()


def _classify(
    *, timed_out: bool, enforced: KilledReason | None, returncode: int | None,
    sig: int | None, stderr: bytes, limits: Limits, seed_failed: bool,
    tasks_peak: int | None,
) -> KilledReason | None:
    if timed_out:
        return "timeout"
    if enforced is not None:
        return enforced
    if returncode == 0:
        return None
    tail = stderr[-8192:]
    # SIGKILL that we did not send is the kernel's OOM killer; a failed allocation under
    # RLIMIT_AS shows up as MemoryError / ENOMEM / bad_alloc on stderr.
    if limits.memory_mb is not None and (
        any(m in tail for m in _MEMORY_MARKERS) or sig == signal.SIGKILL
    ):
        return "memory"
    if (limits.processes is not None and tasks_peak is not None
            and tasks_peak * 10 >= limits.processes * 9
            and any(m in tail for m in _FORK_MARKERS)):
        return "processes"
    if any(m in tail for m in _DISK_MARKERS) or seed_failed:
        return "disk"
    return None


def _check_args(argv: Sequence[str], workdir: Path, workdir_mode: WorkdirMode,
                seed: Sequence[Path], policy: Policy) -> None:
    if not argv:
        raise InputError("nothing to run: empty command")
    if workdir_mode not in ("bind", "tmpfs"):
        raise InputError(f"unknown workdir mode {workdir_mode!r}; use bind or tmpfs")
    if not workdir.is_dir():
        raise InputError(f"work dir {workdir} does not exist")
    for item in seed:
        if not item.exists():
            raise InputError(f"seed path {item} does not exist")
    homes = home_dirs()
    for path in policy.ro_binds:
        if not Path(path).exists():
            raise InputError(f"sandbox bind path {path} does not exist")
        if any(Path(path) == h or Path(path) in h.parents for h in homes):
            raise InputError(f"{path} holds a home folder: a sandboxed run may not see it; "
                             "move the pipeline into a folder of its own")


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

    ``workdir_mode="bind"`` shows the host ``workdir`` read-write (pipelines: outputs stay
    on the host); ``"tmpfs"`` gives a fresh tmpfs capped at ``limits.workdir_mb`` and
    copies ``seed`` files/dirs into it first (snippets: nothing they write reaches the
    host; a writer that never stops hits ENOSPC: ``killed_reason="disk"``). Under ``none``
    a tmpfs is impossible without privileges: seeds are copied into ``workdir`` uncapped.

    Raises ``DriftdocError`` only for problems of the sandbox itself (bwrap missing or
    unusable) and ``InputError`` for bad arguments (empty argv, missing work dir or seed).
    """
    policy = policy or Policy()
    limits = limits or Limits()
    workdir = Path(workdir).resolve()
    seed = [Path(s).resolve() for s in seed]
    _check_args(argv, workdir, workdir_mode, seed, policy)
    inside = policy.workdir_path(workdir)
    full_env = dict(scrubbed_env() if env is None else env)
    full_env["HOME"] = inside
    full_env.setdefault("TMPDIR", "/tmp")
    full_env.setdefault("PATH", _DEFAULT_PATH)

    marker_r, marker_w = os.pipe()
    os.fchmod(marker_w, 0o622)  # the run's own uid reopens it through /proc
    fds: list[int] = []
    filter_fd: int | None = None
    host_uid: int | None = None
    tmpfs: tuple[str, ...] = ()
    try:
        if policy.mode == "bwrap":
            bwrap = launch.check_bwrap()
            program, program_paths = resolve_program(argv[0], full_env, workdir)
            inside_path, path_mounts = sandbox_path(full_env, workdir)
            if inside_path is not None:
                full_env["PATH"] = inside_path
                program_paths = [*program_paths, *path_mounts]
            if launch.running_as_root():  # the user stage runs bwrap again, from inside
                program_paths = [*program_paths, *launch.inner_mounts(bwrap)]
            ram_disk = limits.workdir_bytes or limits.memory_bytes or DEFAULT_TMP_BYTES
            plan = mount_args(policy, workdir=workdir, workdir_mode=workdir_mode, seeds=seed,
                              program_paths=program_paths, tmp_bytes=ram_disk,
                              shm_bytes=ram_disk)
            fds = plan.fds
            filter_fd = seccomp.memfd()
            if filter_fd is not None:
                fds.append(filter_fd)
            host_uid = launch.pick_host_uid() if launch.running_as_root() else None
            command = launch.command(
                bwrap, [program, *argv[1:]], policy=policy, limits=limits, mounts=plan.args,
                seeds=len(seed) if workdir_mode == "tmpfs" else 0, marker_fd=marker_w,
                host_uid=host_uid, seccomp_fd=filter_fd)
            tmpfs = _SHARED_MEMORY
        else:
            if seed:
                _copy_seeds(seed, workdir)
            # RLIMIT_NPROC would count every process of the user here (and never root's)
            plain = dataclasses.replace(limits, processes=None)
            steps = launch.prelude(launch.ulimits(plain), launch.marker(marker_w))
            command = ["/bin/sh", "-c", steps, "sh", *argv]
    except BaseException:
        for fd in (marker_r, marker_w, *fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        raise
    group = RunGroup.create(limits)
    if group is not None:
        command = [*group.join_argv(), *command]
    try:
        return _run(command, argv, workdir=workdir, env=full_env, stdin=stdin, limits=limits,
                    policy=policy, inside=inside, marker=(marker_r, marker_w), fds=fds,
                    group=group, tmpfs=tmpfs, host_uid=host_uid,
                    bind_workdir=workdir_mode == "bind", filtered=filter_fd is not None)
    finally:
        if group is not None:
            group.remove()


def _run(
    command: list[str],
    argv: Sequence[str],
    *,
    workdir: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    limits: Limits,
    policy: Policy,
    inside: str,
    marker: tuple[int, int],
    fds: list[int],
    group: RunGroup | None,
    tmpfs: tuple[str, ...],
    host_uid: int | None,
    bind_workdir: bool,
    filtered: bool,
) -> SandboxResult:
    marker_r, marker_w = marker
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
            env=dict(env),
            stdin=stdin_file if stdin_file is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(marker_w, *fds),
            start_new_session=True,
        )
    except OSError as exc:
        os.close(marker_r)
        msg = f"cannot start {argv[0]!r}: {exc.strerror or exc}".encode()
        return SandboxResult(127, False, None, b"", msg, time.perf_counter() - start,
                             workdir=inside, mode=policy.mode, seccomp=filtered)
    finally:
        for fd in (marker_w, *fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        if stdin_file is not None:
            stdin_file.close()

    watch: TreeWatch | None = None
    if group is None and (limits.memory_mb is not None or limits.processes is not None):
        watch = TreeWatch(proc.pid, memory_bytes=limits.memory_bytes,
                          max_tasks=limits.processes, tmpfs=tmpfs)
    out, err = _Tail(limits.tail_bytes), _Tail(limits.tail_bytes)
    startup: float | None = None
    timed_out = False
    enforced: KilledReason | None = None
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
    next_sample = start
    try:
        open_streams = 2
        while open_streams:
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                timed_out = True
                _kill_tree(proc, group)
                deadline = None
                exited_at = now
            if watch is not None and exited_at is None and now >= next_sample:
                sample = watch.sample(started=startup is not None)
                next_sample = now + watch.interval
                if sample.reason is not None:
                    enforced = sample.reason
                    _kill_tree(proc, group)
                    exited_at = now
            wait = 0.25 if pidfd < 0 else None
            if deadline is not None:
                wait = max(0.0, deadline - now) if wait is None else min(wait, deadline - now)
            if watch is not None and exited_at is None:
                until = max(0.0, next_sample - now)
                wait = until if wait is None else min(wait, until)
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
                    _kill_tree(proc, group)
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
                _kill_tree(proc, group)
                exited_at = time.perf_counter()
        if timed_out or enforced:
            _kill_tree(proc, group)
        try:
            returncode: int | None = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_tree(proc, group)
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
            _kill_tree(proc, group)
            proc.wait()
        if host_uid is not None and bind_workdir:
            launch.chown_tree(workdir, os.getuid(), os.getgid())
    duration = time.perf_counter() - start

    sig: int | None = None
    if returncode is not None and returncode < 0:
        sig = -returncode
    elif policy.mode == "bwrap" and returncode is not None and 128 < returncode < 160:
        sig = returncode - 128
    if timed_out:
        returncode = None
    if group is not None and enforced is None and not timed_out:
        enforced = group.reason()
    stderr_tail = err.value()
    tasks_peak = watch.peak_tasks if watch is not None else None
    reason = _classify(
        timed_out=timed_out, enforced=enforced, returncode=returncode, sig=sig,
        stderr=stderr_tail, limits=limits, tasks_peak=tasks_peak,
        seed_failed=startup is None and returncode == launch.SEED_FAILED)
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
        mode=policy.mode,
        limiter="cgroup" if group is not None else ("watchdog" if watch else None),
        memory_peak=group.peak_memory() if group is not None else (
            watch.peak_memory if watch is not None else None),
        tasks_peak=tasks_peak,
        seccomp=filtered,
    )


def sandbox_details(result: SandboxResult, policy: Policy) -> dict[str, object]:
    """What a record keeps about the sandbox of a run (JSON-ready): how isolated it was,
    what enforced its limits, what it used at most and which limit ended it."""
    return {
        "mode": policy.mode,
        "network": policy.network,
        "startup": None if result.sandbox_startup is None else round(result.sandbox_startup, 6),
        "seccomp": result.seccomp,
        "limiter": result.limiter,
        "killed_by": result.killed_reason,
        "memory_peak_mb": None if result.memory_peak is None
        else round(result.memory_peak / 2**20, 1),
        "tasks_peak": result.tasks_peak,
    }


def describe(result: SandboxResult) -> str:
    """One line for humans: why a sandboxed run ended."""
    if result.killed_reason == "timeout":
        return f"timed out after {result.duration:.1f}s"
    if result.killed_reason == "memory":
        return "ran out of memory (the limit counts all of the run's processes together)"
    if result.killed_reason == "disk":
        return "ran out of disk space in its work dir or /tmp"
    if result.killed_reason == "processes":
        return "hit the limit on processes and threads (a fork bomb?)"
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
