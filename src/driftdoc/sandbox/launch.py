"""The command line that starts a run: bubblewrap, the user it runs as, and its limits.

Inside, the command always runs as uid/gid 1000 ("sandbox") of a user namespace, with no
capabilities, ``no_new_privs`` (bwrap sets it) and no way to make further user
namespaces (the seccomp filter, or ``--disable-userns`` without one). Outside, its uid is
never root:

- driftdoc unprivileged: one bwrap builds the minimal root inside a new user namespace
  that maps uid 1000 to the caller's own uid (bubblewrap's usual, Flatpak-style mode).
- driftdoc as root (CI, containers): an outer bwrap, still root and so able to read
  the env and interpreter wherever they live (``/root/.pyenv`` is private to root),
  builds the minimal root with a small set of capabilities, copies the seed files and
  hands the work dir to a fresh unprivileged uid picked for this run; ``setpriv`` then
  drops to that uid with an empty capability set, and an inner bwrap makes the user
  namespace. A run's files and processes belong to a uid no other run and no host
  account uses, and the per-uid process limit applies (the kernel never applies it to
  root).

A seccomp filter (:mod:`.seccomp`) refuses the system calls no run needs. Last comes a
tiny shell prelude that sets the address-space and task limits (inside the user
namespace, so that the task limit counts the run's own tasks only), reports start-up and
execs the command.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from driftdoc.errors import DriftdocError
from driftdoc.sandbox.limits import Limits
from driftdoc.sandbox.policy import (
    SANDBOX_GID,
    SANDBOX_HOSTNAME,
    SANDBOX_UID,
    SANDBOX_WORKDIR,
    SEED_ROOT,
    Policy,
)
from driftdoc.sandbox.programs import program_mounts, setpriv_path

HOST_UID_BASE = 0x70000000
"""Runs started by root get a host uid in [BASE, BASE + 2**24): a range no distribution
allocates (systemd documents 1879048192-2147483647 as unused)."""
HOST_UID_SPAN = 1 << 24
SEED_FAILED = 125  # the prelude could not copy the seed files (the work dir is full)
LIMITS_FAILED = 126  # the prelude could not set the limits

# What the root stage may do before the run's uid takes over: copy seeds, chown the
# work dir, change uid and drop every capability.
_ROOT_STAGE_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
                    "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")

_INSTALL_HINT = (
    "install it with `apt-get install bubblewrap` (or your distribution's package), "
    "or pass `--sandbox none` to run without isolation"
)
USERNS_HINT = (
    "bubblewrap cannot create a user namespace here ({why}). Allow unprivileged user "
    "namespaces: `sysctl -w kernel.unprivileged_userns_clone=1` (Debian) and "
    "`sysctl -w user.max_user_namespaces=15000`; on Ubuntu 24.04 and later also "
    "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (or an AppArmor profile "
    "for bwrap); in a container, start it with user namespaces allowed (e.g. docker "
    "`--security-opt seccomp=unconfined --security-opt apparmor=unconfined`). Or pass "
    "`--sandbox none` to run without isolation (not for untrusted code)"
)


def running_as_root() -> bool:
    return os.geteuid() == 0


def pick_host_uid() -> int:
    """A fresh unprivileged host uid for one run started by root."""
    return HOST_UID_BASE + secrets.randbelow(HOST_UID_SPAN)


def _namespaces(policy: Policy) -> list[str]:
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", SANDBOX_HOSTNAME]
    if not policy.network:
        args.append("--unshare-net")
    return args


_USERNS = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]


def _userns(seccomp_fd: int | None) -> list[str]:
    """The user namespace of the run. The seccomp filter refuses nested ones; without a
    filter (an architecture it does not know) bubblewrap's slower mechanism does."""
    if seccomp_fd is None:
        return [*_USERNS, "--disable-userns"]
    return [*_USERNS, "--seccomp", str(seccomp_fd)]


def ulimits(limits: Limits) -> str:
    """Shell that sets the address-space and task limits of everything it then runs (dash
    calls the task limit ``-p``, bash ``-u``); a limit that cannot be set stops the run."""
    parts = []
    if limits.memory_bytes is not None:
        parts.append(f"ulimit -v {limits.memory_bytes // 1024}")
    if limits.processes is not None:
        n = limits.processes
        parts.append(f"{{ ulimit -u {n} || ulimit -p {n}; }} 2>/dev/null")
    return f"{{ {' && '.join(parts)}; }} || exit {LIMITS_FAILED}" if parts else ""


def prelude(*steps: str) -> str:
    """The shell run just before the command: ``steps``, then ``exec "$@"``."""
    return "; ".join([*(step for step in steps if step), 'exec "$@"'])


def _seed_copy(seeds: int) -> str:
    return f'cp -a "{SEED_ROOT}"/*/. . || exit {SEED_FAILED}' if seeds else ""


def marker(marker_fd: int) -> str:
    # dash cannot redirect to fds above 9, so reopen the pipe through /proc.
    return f"printf . > /proc/self/fd/{marker_fd}"


def command(
    bwrap: str,
    argv: Sequence[str],
    *,
    policy: Policy,
    limits: Limits,
    mounts: Sequence[str],
    seeds: int,
    marker_fd: int,
    host_uid: int | None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The full command line of one run under bwrap (see the module doc).

    ``host_uid`` is the uid the run gets on the host when driftdoc is root, else ``None``;
    ``seccomp_fd`` holds the filter for the stage that runs the command (:mod:`.seccomp`).
    """
    userns = _userns(seccomp_fd)
    if host_uid is None:
        steps = prelude(_seed_copy(seeds), ulimits(limits), marker(marker_fd))
        return [bwrap, *_namespaces(policy), *userns, *mounts,
                "--die-with-parent", "--new-session", "--",
                "/bin/sh", "-c", steps, "sh", *argv]
    setpriv = setpriv_path()
    if setpriv is None:
        raise DriftdocError("util-linux's setpriv is needed to run sandboxes as root; "
                            "install util-linux, or run driftdoc as an ordinary user")
    caps = ["--cap-drop", "ALL"]
    for cap in _ROOT_STAGE_CAPS:
        caps += ["--cap-add", cap]
    root_stage = prelude(
        _seed_copy(seeds),
        f"chown -R {host_uid}:{host_uid} {SANDBOX_WORKDIR} || exit {SEED_FAILED}")
    user_stage = prelude(ulimits(limits), marker(marker_fd))
    return [
        bwrap, *_namespaces(policy), *caps, *mounts, "--die-with-parent", "--new-session",
        "--", "/bin/sh", "-c", root_stage, "sh",
        setpriv, f"--reuid={host_uid}", f"--regid={host_uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        bwrap, *userns, "--dev-bind", "/", "/", "--chdir", SANDBOX_WORKDIR,
        "--die-with-parent", "--",
        "/bin/sh", "-c", user_stage, "sh", *argv,
    ]


_check_lock = threading.Lock()
_checked: str | None = None


def inner_mounts(bwrap: str) -> list[Path]:
    """What the user stage needs to run bwrap itself when it lives outside ``/usr``."""
    return [p for p in program_mounts(Path(bwrap), {"PATH": os.defpath}) if p.exists()]


def _probe_argv(bwrap: str) -> list[str]:
    """A minimal run in the same configuration as real runs (as root: both stages)."""
    base = ["--ro-bind", "/usr", "/usr"]
    for d in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(d):
            base += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            base += ["--ro-bind", d, d]
    base += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    if running_as_root():
        made: set[str] = set()
        for path in inner_mounts(bwrap):
            for parent in reversed(path.parents[:-1]):
                if str(parent) not in made:
                    base += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
            base += ["--ro-bind", str(path), str(path)]
    spaces = _namespaces(Policy())
    if not running_as_root():
        return [bwrap, *spaces, *_USERNS, *base, "--", "true"]
    setpriv = setpriv_path() or "setpriv"
    uid = str(pick_host_uid())
    return [bwrap, *spaces, *base, "--", setpriv, f"--reuid={uid}", f"--regid={uid}",
            "--clear-groups", "--", bwrap, *_USERNS, "--dev-bind", "/", "/", "--", "true"]


def check_bwrap() -> str:
    """Return the bwrap path, or raise ``DriftdocError`` saying how to get a working one."""
    global _checked
    with _check_lock:
        if _checked is not None:
            return _checked
        path = shutil.which("bwrap")
        if path is None:
            raise DriftdocError(f"bubblewrap (bwrap) is not installed; {_INSTALL_HINT}")
        if running_as_root() and setpriv_path() is None:
            raise DriftdocError("util-linux's setpriv is needed to run sandboxes as root; "
                                "install util-linux, or pass `--sandbox none`")
        try:
            probe = subprocess.run(_probe_argv(path), stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise DriftdocError(f"bubblewrap could not be started ({exc}); "
                                f"{_INSTALL_HINT}") from None
        if probe.returncode != 0:
            lines = probe.stderr.decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {probe.returncode}"
            raise DriftdocError(USERNS_HINT.format(why=why))
        _checked = path
        return path


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give a bind-mounted work dir back to driftdoc's user after a run, never following
    links, and without set-id bits (a run may leave a set-uid file for root to own)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                os.chown(path, uid, gid, follow_symlinks=False)
                if not os.path.islink(path) and st.st_mode & 0o6000:
                    os.chmod(path, st.st_mode & 0o1777)
            except OSError:
                continue
    with contextlib.suppress(OSError):
        os.chown(root, uid, gid, follow_symlinks=False)
