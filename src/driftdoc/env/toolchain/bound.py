"""Keep the whole cache under a bound, least recently used first, while other runs use it.

``DRIFTDOC_CACHE_MAX`` (``20G``, ``500M``) bounds everything under the cache directory:
environments, uv's caches, the Python 2.7 wheel stores, system prefixes and the small caches.
Unset, the bound is half of what the cache could grow to on its disk, (its size + the free
space) / 2, and at least 2 GiB: a cache never takes more than the space it leaves free, so
two caches sharing a disk settle at a third of it each and the disk never fills.

Over the bound, entries go least recently used first until the cache is down to
:data:`LOW_WATER` of it:

- environments (their marker's mtime is their last use);
- a project's entries in uv's cache (``uv cache clean``, which waits for the uv processes
  using the cache), once no remaining environment pins the project: environments hardlink
  their files from there, so removing those entries earlier would free nothing;
- system prefixes no remaining environment was built against, with the caches of builds
  against them; Python 2.7 wheels and their unpacked files no remaining environment pins;
- single files of the small caches: resolutions, index pages, release file lists, compile
  probes, pip's HTTP cache, and bytecode no environment links any more.

Nothing a run holds a lease on (:func:`driftdoc.env.host.cache.leased`: the environment, the
store entries it is built from, its system prefix) is removed, nor anything used in the last
:data:`MIN_AGE` seconds.

Sizing a large cache by walking it takes minutes (every environment is a tree of hardlinks),
so entries that never change once written (uv's archive entries, unpacked 2.7 wheels, system
prefixes) are sized once into ``ledger.json``, environments carry their own exclusive size in
their marker, and only the rest is walked. Between two measurements the cache cannot have
grown by more than the disk's free space shrank, so most checks cost one ``statvfs``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.host.cache import (
    cache_root,
    claimed,
    exclusive_bytes,
    locked,
    parse_size,
    read_marker,
    remove_tree,
    write_json_atomic,
)
from driftdoc.env.toolchain.store import EnvInfo, disk_usage, list_envs, remove_env
from driftdoc.env.toolchain.syspkgs import READY, root_key
from driftdoc.env.toolchain.uv import uv_binary, uv_env
from driftdoc.errors import InputError

CACHE_MAX_ENV = "DRIFTDOC_CACHE_MAX"
FLOOR = 2 * 1024**3
LOW_WATER = 0.8
"""Eviction goes down to this fraction of the bound, so that it does not run every time."""
MIN_AGE = 120.0
"""Entries used this recently stay, leased or not (a download between resolve and build)."""
REMEASURE = 60.0
"""Measure at most this often unless the estimate is well over the bound."""
STALE = 60.0
"""Measure at least this often when asked to check (a measure takes well under a second to
a few seconds; the estimate can hide growth when another process frees space)."""
LEDGER = "ledger.json"
SMALL_CACHES = ("resolve", "index", "members", "compile")
UV_LOCK_WAIT = 120
"""Seconds ``uv cache clean`` waits for the uv processes using the cache."""


def configured_max() -> int | None:
    """``DRIFTDOC_CACHE_MAX`` in bytes, if set."""
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    if not raw:
        return None
    size = parse_size(raw)
    if size is None:
        raise InputError(f"{CACHE_MAX_ENV}={raw!r} is not a size; use e.g. 20G or 500M")
    return size


def limit(used: int, free: int) -> int:
    """The bound for a cache of ``used`` bytes on a disk with ``free`` bytes left."""
    configured = configured_max()
    return configured if configured is not None else max(FLOOR, (used + free) // 2)


def _free(root: Path) -> int:
    try:
        return shutil.disk_usage(root).free
    except OSError:
        return 0


# ------------------------------------------------------------------------------ measuring

@dataclass
class Ledger:
    """Sizes of the entries that never change, and the last measurement."""

    sizes: dict[str, list[Any]] = field(default_factory=dict)  # rel -> [inode, bytes, dist]
    total: int = 0
    free: int = 0
    at: float = 0.0

    @classmethod
    def load(cls, root: Path) -> Ledger:
        try:
            data = json.loads((root / LEDGER).read_text())
            return cls(dict(data["sizes"]), int(data["total"]), int(data["free"]),
                       float(data["at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, root: Path) -> None:
        with contextlib.suppress(OSError):
            write_json_atomic(root / LEDGER, {"sizes": self.sizes, "total": self.total,
                                              "free": self.free, "at": self.at})


@dataclass(frozen=True)
class Usage:
    """What the cache holds on disk, by top-level section, and the disk's free space."""

    total: int
    sections: dict[str, int]
    free: int


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def uv_caches(root: Path) -> list[Path]:
    """driftdoc's uv caches: the main one and one per system prefix."""
    return [root / "uv", *_subdirs(root / "uv-sys")]


def _fixed_entries(root: Path) -> Iterator[Path]:
    """Entries written once and never changed: sized once, kept in the ledger."""
    for uv in uv_caches(root):
        for archive in sorted(uv.glob("archive-v*")):
            yield from _subdirs(archive)
    yield from _subdirs(root / "py27" / "unpacked")
    yield from (p for p in _subdirs(root / "sysroot") if (p / READY).exists())


def _dist(entry: Path) -> str:
    """The project an unpacked wheel belongs to (from its ``*.dist-info``), or ``""``."""
    for info in entry.glob("*.dist-info"):
        return canonicalize_name(info.name.split("-", 1)[0])
    return ""


def _env_bytes(env: EnvInfo, ledger: Ledger, fresh: dict[str, list[Any]]) -> int:
    meta = read_marker(env.path) or {}
    if isinstance(meta.get("bytes"), int):
        return int(meta["bytes"])
    rel = f"envs/{env.key}"
    try:
        ino = env.path.stat().st_ino
    except OSError:
        return 0
    entry = ledger.sizes.get(rel)
    if not entry or entry[0] != ino:
        entry = [ino, exclusive_bytes(env.path), ""]
    fresh[rel] = entry
    return int(entry[1])


def measure(root: Path | None = None) -> Usage:
    """Bytes on disk under the cache (see the module docstring for how it stays cheap)."""
    root = root or cache_root()
    ledger = Ledger.load(root)
    fresh: dict[str, list[Any]] = {}
    sections: dict[str, int] = {}
    skip: set[str] = set()

    def add(section: str, size: int) -> None:
        sections[section] = sections.get(section, 0) + size

    for entry in _fixed_entries(root):
        rel = entry.relative_to(root).as_posix()
        try:
            ino = entry.stat().st_ino
        except OSError:
            continue
        known = ledger.sizes.get(rel)
        if not known or known[0] != ino:
            known = [ino, disk_usage(entry)[0], _dist(entry)]
        fresh[rel] = known
        skip.add(str(entry))
        add(rel.split("/", 1)[0], int(known[1]))
    for env in list_envs():
        if env.complete:
            add("envs", _env_bytes(env, ledger, fresh))
            skip.add(str(env.path))
    seen: set[tuple[int, int]] = set()
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        if child.is_dir():
            total = 0
            for dirpath, dirnames, filenames in os.walk(child):
                dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
                for name in filenames + dirnames:
                    try:
                        st = os.lstat(os.path.join(dirpath, name))
                    except OSError:
                        continue
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
            add(child.name, total)
        else:
            with contextlib.suppress(OSError):
                add(child.name, os.lstat(child).st_blocks * 512)
    usage = Usage(sum(sections.values()), sections, _free(root))
    ledger.sizes, ledger.total, ledger.free, ledger.at = fresh, usage.total, usage.free, time.time()
    ledger.save(root)
    return usage


# ------------------------------------------------------------------------------ evicting

@dataclass
class Unit:
    """One thing eviction may remove; ``refs`` are what it keeps alive (an env's pins)."""

    last_use: float
    size: int
    kind: str  # env | uv | sysroot | py27 | file
    name: str
    path: Path
    refs: tuple[str, ...] = ()


@dataclass
class Pass:
    """What one check of the bound did."""

    limit: int
    before: int
    after: int
    removed: dict[str, int] = field(default_factory=dict)  # kind -> count
    in_use: int = 0

    @property
    def freed(self) -> int:
        return max(0, self.before - self.after)

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "before": self.before, "after": self.after,
                "freed": self.freed, "removed": self.removed, "in_use": self.in_use}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def env_refs(meta: dict[str, Any]) -> tuple[str, ...]:
    """What an environment keeps alive: its store entries and its system prefix."""
    pins = [str(p) for p in meta.get("pins") or [] if "==" in str(p)]
    if str(meta.get("python", "")).startswith("2."):
        refs = [f"py27:{p}" for p in pins]
    else:
        refs = [f"uv:{p.split('==', 1)[0]}" for p in pins]
    if meta.get("system"):
        refs.append(f"sysroot:{root_key([str(s) for s in meta['system']])}")
    return tuple(refs)


def _units(root: Path, now: float) -> list[Unit]:
    ledger = Ledger.load(root)
    units: list[Unit] = []
    for env in list_envs():
        meta = read_marker(env.path)
        if meta is not None:
            size = meta.get("bytes")
            if not isinstance(size, int):
                size = int((ledger.sizes.get(f"envs/{env.key}") or [0, 0])[1])
            units.append(Unit(env.last_used, size, "env", env.key, env.path, env_refs(meta)))
        elif now - env.last_used > 3600:  # a build that crashed long ago
            units.append(Unit(env.last_used, exclusive_bytes(env.path), "env", env.key,
                              env.path))
    used = root / "used"
    by_dist: dict[str, list[int]] = {}  # project -> [bytes, newest entry]
    for rel, (_ino, size, dist) in ledger.sizes.items():
        if rel.startswith("uv/archive-v") and dist:
            acc = by_dist.setdefault(dist, [0, 0])
            acc[0] += int(size)
            acc[1] = max(acc[1], int(_mtime(root / rel)))
    for record in sorted((used / "uv").glob("*")):
        by_dist.setdefault(record.name, [0, 0])
    for dist, (size, newest) in by_dist.items():
        last = _mtime(used / "uv" / dist) or float(newest)
        units.append(Unit(last, size, "uv", dist, root / "uv"))
    for prefix in _subdirs(root / "sysroot"):
        if (prefix / READY).exists():
            size = int((ledger.sizes.get(f"sysroot/{prefix.name}") or [0, 0])[1])
            units.append(Unit(_mtime(prefix / READY), size, "sysroot", prefix.name, prefix))
    for wheel in sorted((root / "py27" / "wheels").glob("*.whl")):
        parts = wheel.name[:-4].split("-")
        if len(parts) < 5:
            continue
        pin = f"{canonicalize_name(parts[0])}=={parts[1]}"
        size = int((ledger.sizes.get(f"py27/unpacked/{wheel.name[:-4]}") or [0, 0])[1])
        with contextlib.suppress(OSError):
            size += wheel.stat().st_blocks * 512
        last = max(_mtime(wheel), _mtime(used / "py27" / pin))
        units.append(Unit(last, size, "py27", pin, wheel))
    # a store entry is used whenever an environment built from it is: it goes right after
    # the last such environment (envs first among equals)
    last_env: dict[str, float] = {}
    for unit in units:
        for ref in unit.refs:
            last_env[ref] = max(last_env.get(ref, 0.0), unit.last_use)
    for unit in units:
        unit.last_use = max(unit.last_use, last_env.get(f"{unit.kind}:{unit.name}", 0.0))
    units.extend(_file_units(root))
    units.sort(key=lambda u: (u.last_use, u.kind != "env"))
    return units


def _file_units(root: Path) -> Iterator[Unit]:
    """Single files of the small caches, pip's caches and unlinked bytecode."""
    tops = [root / name for name in SMALL_CACHES] + sorted((root / "py27").glob("pip-cache*"))
    for top in [*tops, root / "pyc"]:
        for dirpath, _dirnames, filenames in os.walk(top):
            for name in filenames:
                path = Path(dirpath, name)
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if top.name == "pyc" and st.st_nlink > 1:
                    continue  # an environment links it
                yield Unit(st.st_mtime, st.st_blocks * 512, "file", name, path)


@contextlib.contextmanager
def _uv_lock_free(uv: Path) -> Iterator[bool]:
    """uv's own cache lock, taken exclusively without waiting: no uv process uses it."""
    path = uv / ".lock"
    if not path.exists():
        yield True
        return
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_sysroot(root: Path, key: str) -> bool:
    """A system prefix and the caches of builds against it, unless in use."""
    uv = root / "uv-sys" / key
    with claimed(f"sysroot-{key}") as free, _uv_lock_free(uv) as uv_free:
        if not (free and uv_free):
            return False
        for path in (uv, root / "py27" / "wheels-sys" / key,
                     root / "py27" / "pip-cache-sys" / key, root / "sysroot" / key):
            remove_tree(path)
        return True


def _remove_py27(root: Path, pin: str, wheel: Path) -> bool:
    with claimed(f"py27-{pin}") as free:
        if not free:
            return False
        remove_tree(root / "py27" / "unpacked" / wheel.name[:-4])
        wheel.unlink(missing_ok=True)
        return True


def _uv_clean(uv: Path, names: list[str]) -> bool:
    """``uv cache clean`` for projects: uv waits for the uv processes using the cache."""
    env = {**uv_env(), "UV_LOCK_TIMEOUT": str(UV_LOCK_WAIT)}
    try:
        proc = subprocess.run([uv_binary(), "cache", "clean", "--cache-dir", str(uv), *names],
                              capture_output=True, text=True, env=env,
                              timeout=UV_LOCK_WAIT + 600, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def evict(root: Path, usage: Usage, bound: int, target: int | None = None) -> Pass:
    """Remove least recently used entries until the cache is down to ``target`` (by default
    ``LOW_WATER * bound``)."""
    now = time.time()
    result = Pass(bound, usage.total, usage.total)
    need = usage.total - (int(bound * LOW_WATER) if target is None else target)
    units = _units(root, now)
    alive: Counter[str] = Counter(ref for u in units if u.kind == "env" for ref in u.refs)
    freed = 0
    cleaning: list[str] = []

    def done(unit: Unit, removed: bool) -> None:
        nonlocal freed
        if removed:
            freed += unit.size
            result.removed[unit.kind] = result.removed.get(unit.kind, 0) + 1
        else:
            result.in_use += 1

    with contextlib.ExitStack() as claims:  # uv projects stay claimed until uv cleaned them
        for unit in units:
            if freed >= need or now - unit.last_use < MIN_AGE:
                break
            if unit.kind == "env":
                removed = remove_env(unit.name, unit.path)
                if removed:
                    alive.subtract(unit.refs)
                done(unit, removed)
            elif alive[f"{unit.kind}:{unit.name}"] > 0:
                continue  # an environment links it: it goes after that environment
            elif unit.kind == "uv":
                if claims.enter_context(claimed(f"uv-{unit.name}")):
                    cleaning.append(unit.name)
                    freed += unit.size
                else:
                    result.in_use += 1
            elif unit.kind == "sysroot":
                done(unit, _remove_sysroot(root, unit.name))
            elif unit.kind == "py27":
                done(unit, _remove_py27(root, unit.name, unit.path))
            else:
                with contextlib.suppress(OSError):
                    unit.path.unlink()
                    done(unit, True)
        if cleaning and _uv_clean(root / "uv", cleaning):
            result.removed["uv"] = len(cleaning)
            for name in cleaning:
                (root / "used" / "uv" / name).unlink(missing_ok=True)
    result.after = measure(root).total
    return result


def check(*, bound: int | None = None, force: bool = False,
          target: int | None = None) -> Pass | None:
    """Keep the cache under its bound; None when a cheap estimate shows it is (or another
    process is already evicting). ``bound`` overrides ``DRIFTDOC_CACHE_MAX``; ``force``
    measures whatever the estimate says; eviction goes down to ``target`` if given."""
    root = cache_root()
    if not root.is_dir():
        return None
    configured_max()  # a bad value is an error even while the cache is small
    ledger = Ledger.load(root)
    free = _free(root)
    if not force and ledger.at:
        # other writers on the disk make this an overestimate, but one freeing space there
        # hides the cache's growth: past STALE seconds the estimate is not trusted
        estimate = ledger.total + max(0, ledger.free - free)
        cap = bound if bound is not None else limit(estimate, free)
        age = time.time() - ledger.at
        if estimate <= cap and age < STALE:
            return None
        if age < REMEASURE and estimate <= cap * 1.25:
            return None
    with locked("cache-bound", blocking=False) as got:
        if not got:
            return None
        usage = measure(root)
        cap = bound if bound is not None else limit(usage.total, usage.free)
        if usage.total <= cap:
            return Pass(cap, usage.total, usage.total)
        return evict(root, usage, cap, target)


def describe_limit() -> str:
    """Where the bound comes from, for ``driftdoc cache info``."""
    if configured_max() is not None:
        return CACHE_MAX_ENV
    return "default: half of the cache's size plus its disk's free space"
