"""System libraries for an environment, rootless: Debian packages unpacked into a prefix.

Many old snippets need a package that compiles against a C library (MySQLdb needs
libmysqlclient, PyAudio needs PortAudio). A Docker image would ``apt-get install`` the
``-dev`` package; driftdoc must not touch the host, so it downloads the same Debian
packages (``apt-get download`` needs no root), unpacks them with ``dpkg-deb -x`` into a
cached prefix, and points compilers, ``pkg-config`` and the dynamic loader at it. The
emitted Dockerfile installs the same packages the ordinary way.

Which distribution needs which packages is data (``driftdoc/data/system_packages.json``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.host import cache as env_cache
from driftdoc.errors import DriftdocError

DATA_FILE = "system_packages.json"
READY = ".driftdoc-sysroot.json"
FETCH_TIMEOUT = 600.0

_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")

Fetcher = Callable[[Sequence[str], Path], list[Path]]


class SystemPackagesError(DriftdocError):
    """The system packages could not be fetched or unpacked."""


@cache
def _data() -> dict[str, Any]:
    """The knowledge file, read once for both of its tables."""
    raw = resources.files("driftdoc.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


@cache
def _table() -> dict[str, tuple[str, ...]]:
    return {canonicalize_name(k): tuple(v) for k, v in _data()["distributions"].items()}


def needed_for(distribution: str) -> tuple[str, ...]:
    """Debian packages a distribution's build or import needs (empty when none known)."""
    return _table().get(canonicalize_name(distribution.split("==")[0]), ())


@cache
def _typelibs() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in _data().get("typelibs", {}).items()}


def typelib_packages(namespace: str) -> tuple[str, ...]:
    """Debian packages holding a GObject introspection namespace's typelib (``Notify``):
    PyGObject builds fine without them, and ``from gi.repository import Notify`` then
    fails at run time, so they are asked for when that import says so."""
    return _typelibs().get(namespace, ())


def available() -> bool:
    """Can this machine fetch and unpack Debian packages without root?"""
    return all(shutil.which(tool) for tool in ("apt-get", "dpkg-deb"))


@cache
def multiarch() -> str:
    """The Debian multiarch triplet, where libraries and arch-specific headers live."""
    for argv in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"]):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
    return "x86_64-linux-gnu"


@dataclass(frozen=True)
class SystemRoot:
    """An unpacked prefix holding some Debian packages (and what they need)."""

    path: Path
    packages: tuple[str, ...]

    def _libdirs(self) -> list[str]:
        arch = multiarch()
        return [str(self.path / "usr" / "lib" / arch), str(self.path / "lib" / arch),
                str(self.path / "usr" / "lib")]

    def run_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Variables a process using the libraries needs (loader and GObject typelibs)."""
        base = base or {}
        arch = multiarch()
        # most gir1.2 packages install under the multiarch directory, some (Vips) do not
        typelibs = [str(self.path / "usr" / "lib" / arch / "girepository-1.0"),
                    str(self.path / "usr" / "lib" / "girepository-1.0")]
        return {
            "LD_LIBRARY_PATH": _joined(self._libdirs(), base.get("LD_LIBRARY_PATH")),
            "GI_TYPELIB_PATH": _joined(typelibs, base.get("GI_TYPELIB_PATH")),
        }

    def build_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus what compilers, linkers and ``pkg-config`` need to find the prefix."""
        usr = self.path / "usr"
        arch = multiarch()
        env = dict(base)
        env.update(self.run_env(base))
        env["CPATH"] = _joined([str(usr / "include"), str(usr / "include" / arch)],
                               base.get("CPATH"))
        env["LIBRARY_PATH"] = _joined(self._libdirs(), base.get("LIBRARY_PATH"))
        pkgconfig = [str(usr / "lib" / arch / "pkgconfig"), str(usr / "share" / "pkgconfig"),
                     str(usr / "lib" / "pkgconfig")]
        env["PKG_CONFIG_PATH"] = _joined(pkgconfig, base.get("PKG_CONFIG_PATH"))
        env["PATH"] = _joined([str(usr / "bin")], base.get("PATH", os.defpath))
        return env


CACHE_VARIABLES = ("UV_CACHE_DIR", "PIP_CACHE_DIR")


def build_env(system: SystemRoot | None, base: Mapping[str, str]) -> dict[str, str]:
    """The environment for a build or resolution: ``base``, plus ``system``'s prefix if any.

    With a prefix, the package caches move aside: a wheel built against its headers would
    otherwise be reused by a later build without them, which then "works" here but not on
    a machine without the packages (and the emitted environment would omit them).
    """
    if system is None:
        return dict(base)
    env = system.build_env(base)
    for name in CACHE_VARIABLES:
        if env.get(name):
            env[name] = str(system_cache_dir(Path(env[name]), system))
    return env


def system_cache_dir(base: Path, system: SystemRoot) -> Path:
    """The sibling of cache ``base`` that builds against ``system``'s prefix use."""
    return base.with_name(base.name + "-sys") / system.path.name


def system_cache_dirs(base: Path) -> list[Path]:
    """Every ``system_cache_dir`` of cache ``base`` there is."""
    return sorted(base.with_name(base.name + "-sys").glob("*"))


def _joined(first: Sequence[str], rest: str | None) -> str:
    return os.pathsep.join([*first, *([rest] if rest else [])])


# Bumped whenever ``relocate`` changes what it does (a prefix unpacked by an older one is
# then unpacked afresh instead of being reused with its stale paths) or how builds and
# runs see a prefix (memoised verdicts with system packages are keyed by it).
LAYOUT = 3


def root_key(packages: Sequence[str]) -> str:
    doc = json.dumps({"packages": sorted(set(packages)), "arch": multiarch(),
                      "layout": LAYOUT})
    return hashlib.sha256(doc.encode()).hexdigest()[:24]


def ensure_root(packages: Sequence[str], *, fetch: Fetcher | None = None) -> SystemRoot:
    """The cached prefix for ``packages``, fetched and unpacked on first use."""
    wanted = tuple(sorted(set(packages)))
    bad = [p for p in wanted if not _DEB_NAME.match(p)]
    if bad:
        raise SystemPackagesError(f"not a Debian package name: {bad[0]!r}")
    key = root_key(wanted)
    dest = env_cache.cache_root() / "sysroot" / key
    try:
        os.utime(dest / READY)  # its last use, for the cache bound
        return SystemRoot(dest, wanted)
    except FileNotFoundError:
        pass
    with env_cache.locked(f"sysroot-{key}"):
        if (dest / READY).exists():
            return SystemRoot(dest, wanted)
        env_cache.remove_tree(dest)  # leftovers of a crashed unpack
        dest.mkdir(parents=True)
        try:
            with tempfile.TemporaryDirectory(prefix="debs-", dir=dest.parent) as tmp:
                debs = (fetch or apt_fetch)(wanted, Path(tmp))
                for deb in debs:
                    _unpack(deb, dest)
            relocate(dest)
        except (OSError, subprocess.SubprocessError) as exc:
            env_cache.remove_tree(dest)
            raise SystemPackagesError(f"unpacking {', '.join(wanted)} failed: {exc}") from None
        except SystemPackagesError:
            env_cache.remove_tree(dest)
            raise
        env_cache.write_json_atomic(dest / READY, {"packages": list(wanted),
                                                   "debs": [d.name for d in debs]})
    return SystemRoot(dest, wanted)


def closure(packages: Sequence[str]) -> list[str]:
    """``packages`` and what they depend on that the host lacks, as apt would install them
    (``apt-get -s`` picks one of each set of alternatives; no root needed to simulate)."""
    argv = ["apt-get", "install", "-s", "-q", "-y", "--no-install-recommends", *packages]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "LC_ALL": "C"})
    if out.returncode != 0:
        errors = [ln for ln in out.stderr.splitlines() if ln.startswith("E:")]
        raise SystemPackagesError(f"apt cannot install {', '.join(packages)}: "
                                  f"{(errors or [out.stderr.strip()])[-1][-200:]}")
    return sorted(set(re.findall(r"^Inst (\S+)", out.stdout, re.MULTILINE)))


def apt_fetch(packages: Sequence[str], into: Path) -> list[Path]:
    """Download the missing closure of ``packages`` into ``into`` (no root needed).

    A dependency that fails to download alone is skipped; the packages asked for must
    all arrive.
    """
    todo = closure(packages)
    if todo:
        out = subprocess.run(["apt-get", "download", "-q", *todo], cwd=into, capture_output=True,
                             text=True, timeout=FETCH_TIMEOUT, check=False)
        if out.returncode != 0:  # one bad name fails the lot: retry one by one
            for name in todo:
                subprocess.run(["apt-get", "download", "-q", name], cwd=into,
                               capture_output=True, text=True, timeout=FETCH_TIMEOUT,
                               check=False)
    debs = sorted(into.glob("*.deb"))
    got = {d.name.split("_")[0] for d in debs}
    lost = [p for p in packages if p in todo and p not in got]
    if lost:
        raise SystemPackagesError(f"could not download {', '.join(lost)} with apt-get "
                                  "(run apt-get update?)")
    return debs


def _unpack(deb: Path, dest: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True, capture_output=True,
                   timeout=FETCH_TIMEOUT)


# Every variable of a .pc file that names /usr: not only prefix, libdir and includedir but
# also a package's own (libvirt.pc's ``libvirt_api=/usr/share/libvirt/api/...`` is the
# file libvirt-python's build reads). A path only the host has (a dependency installed
# there) stays the host's.
_PC_PREFIX = re.compile(r"^([A-Za-z_][\w.]*)=(/usr(?:/\S*)?)[ \t]*$", re.MULTILINE)
_PC_DIRS = frozenset({"prefix", "exec_prefix", "libdir", "includedir"})


def _pc_line(root: Path, match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    inside = root / value.lstrip("/")
    if name in _PC_DIRS or inside.exists() or not Path(value).exists():
        return f"{name}={root}{value}"
    return match.group(0)


def relocate(root: Path) -> None:
    """Make an unpacked tree self-contained: ``pkg-config`` files and absolute symlinks
    pointed at ``/usr`` would otherwise send builds back to the host's (missing) files."""
    for pc in root.glob("usr/**/pkgconfig/*.pc"):
        text = pc.read_text(encoding="utf-8", errors="replace")
        fixed = _PC_PREFIX.sub(lambda m: _pc_line(root, m), text)
        if fixed != text:
            pc.write_text(fixed, encoding="utf-8")
    _wrap_config_scripts(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            link = Path(dirpath) / name
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if target.startswith("/") and not target.startswith(str(root)):
                inside = root / target.lstrip("/")
                if inside.exists() or inside.is_symlink():
                    link.unlink()
                    link.symlink_to(inside)
            elif not target.startswith("/") and not link.exists():
                # libcairo.so -> libcairo.so.2 when libcairo2 itself is the host's
                on_host = Path("/") / link.parent.relative_to(root) / target
                if on_host.exists():
                    link.unlink()
                    link.symlink_to(on_host)
    _merge_host_headers(root, Path("/"))  # last: its links point at the host on purpose


_WRAPPER = """#!/bin/sh
# driftdoc: {name} reports /usr paths; the files live under {root}
out=$("{real}" "$@") || exit $?
printf '%s\\n' "$out" | sed -e 's#-I/usr/#-I{root}/usr/#g' -e 's#-L/usr/#-L{root}/usr/#g'
"""


def _wrap_config_scripts(root: Path) -> None:
    """``mysql_config --cflags`` says ``-I/usr/include/mariadb`` whatever the prefix: wrap
    such ``*-config``/``*_config`` tools so their flags point into the unpacked tree."""
    bindir = root / "usr" / "bin"
    if not bindir.is_dir():
        return
    real_dir = root / "usr" / "lib" / "driftdoc-real"
    for tool in sorted(bindir.iterdir()):
        name = tool.name
        if name == "pkg-config" or not re.search(r"[-_]config$", name) or tool.is_dir():
            continue
        real_dir.mkdir(parents=True, exist_ok=True)
        real = real_dir / name
        target = tool.resolve() if tool.is_symlink() else tool
        shutil.copy2(target, real)
        tool.unlink()
        tool.write_text(_WRAPPER.format(name=name, root=root, real=real), encoding="utf-8")
        tool.chmod(0o755)


def _merge_host_headers(root: Path, host: Path) -> None:
    """Link the host's headers into header directories the prefix shares with it.

    ``xcb/render.h`` (unpacked) says ``#include "xcb.h"``, found only next to itself; when
    ``xcb/xcb.h`` comes from a package the host already has, it must appear there too.
    """
    top = root / "usr" / "include"
    if not top.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        theirs = host / here.relative_to(root)
        if here == top or not theirs.is_dir():
            continue
        have = set(filenames) | set(dirnames)
        with contextlib.suppress(OSError):
            for entry in theirs.iterdir():
                if entry.name not in have:
                    (here / entry.name).symlink_to(entry)
