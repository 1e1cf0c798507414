"""What a sandboxed run may see: a minimal root built from an allow-list, never the host root.

Following Flatpak's and bubblewrap's model of least privilege, the root starts as an empty
tmpfs and receives only: the operating system's ``/usr`` (and the ``/bin``, ``/lib``...
links or directories beside it) read-only; a fresh ``/proc`` of the run's own PID namespace
and a fresh ``/dev``; a synthetic ``/etc`` holding the sandbox user, ``hosts`` and the host's
non-secret configuration (CA certificates, time zone, fonts, MIME types, loader cache...);
private, size-capped ``/tmp`` and ``/dev/shm``; the program being run with whatever it really
resolves to (a venv, the interpreter's own prefix, never a whole pyenv root or home
folder); the caller's read-only paths; and the work dir. The root itself is made read-only
last, so nothing outside the work dir, ``/tmp`` and ``/dev/shm`` can be written.

Nothing here runs anything: :func:`mount_args` only turns a :class:`Policy` into bwrap
arguments (and the memory files that hold the synthetic ``/etc``); what a program needs
comes from :mod:`.programs`.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from driftdoc.errors import InputError

SandboxMode = Literal["bwrap", "none"]
WorkdirMode = Literal["bind", "tmpfs"]

SANDBOX_WORKDIR = "/tmp/work"
"""Where the work dir appears inside a bwrap sandbox (also the run's ``HOME``)."""
SANDBOX_UID = 1000
SANDBOX_GID = 1000
SANDBOX_USER = "sandbox"
SANDBOX_HOSTNAME = "sandbox"
SEED_ROOT = "/tmp/.driftdoc-seed"

# Directories of the operating system: bound read-only, or recreated as the same symlink
# when the host has merged them into /usr.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# Host /etc entries that hold no secret and that programs read. Everything else in the
# host's /etc (shadow, ssl/private, machine-id, ssh, sudoers...) does not exist inside.
ETC_ALLOWED = (
    "ssl/certs", "ssl/openssl.cnf", "ssl/cert.pem", "ca-certificates.conf",
    "pki/tls/certs", "pki/tls/cert.pem", "pki/ca-trust/extracted",
    "localtime", "timezone", "locale.alias", "locale.conf", "default/locale",
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
    "os-release", "lsb-release", "debian_version",
    "mime.types", "mailcap", "fonts", "protocols", "services", "networks", "gai.conf",
    "host.conf", "magic", "magic.mime", "terminfo", "xdg", "gtk-2.0", "gtk-3.0", "glvnd",
    "ImageMagick-6", "ImageMagick-7", "java-*", "R", "perl", "matplotlibrc",
)
ETC_NETWORK = ("resolv.conf",)  # only for runs allowed on the network
# Read-only system information some libraries read (CPU count and topology), and caches
# that only save time (fontconfig's, or every run rebuilds it into its work dir).
SYS_ALLOWED = ("/sys/devices/system/cpu", "/var/cache/fontconfig")

_PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}:driftdoc sandbox:{SANDBOX_WORKDIR}:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
_GROUP = f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_GID}:\nnogroup:x:65534:\n"
_HOSTS = (f"127.0.0.1\tlocalhost\n127.0.1.1\t{SANDBOX_HOSTNAME}\n"
          "::1\tlocalhost ip6-localhost ip6-loopback\n")
_NSSWITCH = ("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
             "networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n")
SYNTHETIC_ETC: Mapping[str, str] = {
    "passwd": _PASSWD, "group": _GROUP, "hosts": _HOSTS,
    "hostname": SANDBOX_HOSTNAME + "\n", "nsswitch.conf": _NSSWITCH,
}


@dataclass(frozen=True)
class Policy:
    """How strongly to isolate, and which host paths the run may read.

    ``mode``: ``bwrap`` (the minimal root described in the module docstring) or ``none``
    (the explicit opt-out: no isolation, the same limits). ``ro_binds``: host files or
    directories visible read-only at their own path. ``hidden``: paths inside those that
    are replaced by an empty directory (a project's ``.driftdoc`` with its store and runs).
    """

    mode: SandboxMode = "bwrap"
    network: bool = False
    ro_binds: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in ("bwrap", "none"):
            raise InputError(f"unknown sandbox mode {self.mode!r}; use bwrap or none")

    def workdir_path(self, workdir: Path | str) -> str:
        """The path under which the command sees its work dir."""
        return SANDBOX_WORKDIR if self.mode == "bwrap" else str(Path(workdir).resolve())


# ------------------------------------------------------------------ paths

def in_system_dirs(path: Path) -> bool:
    """Whether ``path`` is visible anyway because it lies under ``/usr`` and its siblings."""
    text = str(path)
    return any(text == d or text.startswith(d + "/") for d in SYSTEM_DIRS)


def dedupe(paths: Iterable[Path]) -> list[Path]:
    """Unique paths, shortest first, without those already inside another one."""
    out: list[Path] = []
    for path in sorted({Path(os.path.normpath(p)) for p in paths}, key=lambda p: len(p.parts)):
        if not any(path == kept or kept in path.parents for kept in out if kept.is_dir()):
            out.append(path)
    return out


# ------------------------------------------------------------------ bwrap arguments

@dataclass
class MountPlan:
    """bwrap arguments for the root, and the memory files they read (closed after spawn)."""

    args: list[str]
    fds: list[int]

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


class _Builder:
    def __init__(self) -> None:
        self.args: list[str] = []
        self.fds: list[int] = []
        self.dirs: set[str] = {"/"}
        self.mounts: dict[str, bool] = {}  # dest -> a host dir bound at its own path

    def _covered(self, path: str) -> bool:
        """Whether ``path`` exists already: the innermost mount above it is a same-path
        bind of a host dir (not a tmpfs, where parents must be made)."""
        above = [m for m in self.mounts if path.startswith(m.rstrip("/") + "/")]
        return bool(above) and self.mounts[max(above, key=len)]

    def parents(self, dest: str) -> None:
        """Create missing parent dirs world-traversable (bwrap's defaults are private)."""
        parts = dest.rstrip("/").split("/")
        for i in range(2, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self.dirs or self._covered(parent):
                continue
            self.args += ["--perms", "0755", "--dir", parent]
            self.dirs.add(parent)

    def mount(self, *args: str, dest: str) -> None:
        self.parents(dest)
        self.args += [*args, dest]
        self.dirs.add(dest)
        self.mounts[dest] = args[0] in ("--ro-bind", "--bind") and args[-1] == dest

    def symlink(self, target: str, dest: str) -> None:
        self.parents(dest)
        self.args += ["--symlink", target, dest]

    def data(self, text: str | bytes, dest: str) -> None:
        fd = os.memfd_create("driftdoc-etc", 0)
        self.fds.append(fd)
        view = memoryview(text if isinstance(text, bytes) else text.encode())
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
        self.parents(dest)
        self.args += ["--perms", "0644", "--file", str(fd), dest]


_COPY_MAX = 256 * 1024


@functools.cache
def _host_entry_kind(path: str) -> tuple[str, str | bytes] | None:
    """How to show a host path, decided once per process: ("link", target), ("copy",
    content) for a small file (a copy in the root costs less than a mount, twice when the
    root is rebound for the user namespace), or ("bind", path)."""
    if os.path.islink(path):
        return "link", os.readlink(path)
    if os.path.isfile(path) and os.path.getsize(path) <= _COPY_MAX:
        try:
            with open(path, "rb") as fh:
                return "copy", fh.read()
        except OSError:
            return None
    if os.path.exists(path):
        return "bind", path
    return None


@functools.cache
def _etc_allowed(network: bool) -> tuple[str, ...]:
    names = ETC_ALLOWED + (ETC_NETWORK if network else ())
    out: list[str] = []
    for name in names:
        out += sorted(glob.glob(f"/etc/{name}")) if "*" in name else [f"/etc/{name}"]
    return tuple(out)


def _host_entry(b: _Builder, path: str) -> None:
    """Show a host path as it is: the same symlink, a copy, or a read-only bind."""
    kind = _host_entry_kind(path)
    if kind is None:
        return
    how, what = kind
    if how == "link":
        assert isinstance(what, str)
        b.symlink(what, path)
    elif how == "copy":
        b.data(what, path)
    else:
        b.mount("--ro-bind", path, dest=path)


def mount_args(
    policy: Policy,
    *,
    workdir: Path,
    workdir_mode: WorkdirMode,
    seeds: Sequence[Path],
    program_paths: Sequence[Path],
    tmp_bytes: int | None,
    shm_bytes: int | None,
) -> MountPlan:
    """The bwrap arguments that build the minimal root for one run (see the module doc)."""
    b = _Builder()
    for d in SYSTEM_DIRS:
        _host_entry(b, d)
    b.args += ["--proc", "/proc", "--dev", "/dev"]
    b.dirs.update({"/proc", "/dev"})
    b.mount("--perms", "1777", *_size(shm_bytes), "--tmpfs", dest="/dev/shm")
    for name, text in SYNTHETIC_ETC.items():
        if policy.network and name == "hosts" and os.path.exists("/etc/hosts"):
            _host_entry(b, "/etc/hosts")
        else:
            b.data(text, f"/etc/{name}")
    for path in _etc_allowed(policy.network):
        if path == "/etc/resolv.conf":  # often a link into /run: show its content instead
            if os.path.exists(path):
                b.mount("--ro-bind", path, dest=path)
            continue
        _host_entry(b, path)
    b.symlink("../proc/self/mounts", "/etc/mtab")
    for sys_dir in SYS_ALLOWED:
        if os.path.isdir(sys_dir):
            b.mount("--ro-bind", sys_dir, dest=sys_dir)
    b.mount("--perms", "1777", *_size(tmp_bytes), "--tmpfs", dest="/tmp")
    b.symlink("../tmp", "/var/tmp")
    # outer folders first, so that a hidden folder covers what is inside it, except for
    # what is bound there explicitly
    hidden = {str(h) for h in policy.hidden if h.is_dir()}
    binds = [*program_paths, *policy.ro_binds]

    def inside_hidden(path: Path) -> bool:
        return any(str(path).startswith(h + "/") for h in hidden)

    visible = {str(v) for v in dedupe(p for p in binds if not inside_hidden(p))}
    visible |= {str(v) for v in dedupe(p for p in binds if inside_hidden(p))}
    for path in sorted(hidden | visible, key=lambda p: (p.count("/"), p)):
        if path in visible:
            b.mount("--ro-bind", path, dest=path)
        if path in hidden:
            b.mount("--tmpfs", dest=path)
    if workdir_mode == "tmpfs":
        b.mount("--perms", "0755", *_size(tmp_bytes), "--tmpfs", dest=SANDBOX_WORKDIR)
        for i, item in enumerate(seeds):
            b.mount("--ro-bind", str(item), dest=f"{SEED_ROOT}/{i}/{item.name}")
    else:
        b.mount("--bind", str(workdir), dest=SANDBOX_WORKDIR)
    b.args += ["--chdir", SANDBOX_WORKDIR]
    b.args += ["--remount-ro", "/"]
    return MountPlan(b.args, b.fds)


def _size(nbytes: int | None) -> list[str]:
    return ["--size", str(nbytes)] if nbytes else []

