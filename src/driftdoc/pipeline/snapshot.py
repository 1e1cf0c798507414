"""Snapshots of a pipeline's inputs, taken once per experiment into a content-addressed store.

Every run of an experiment works on the same snapshot, never on the live files, so a
file overwritten mid-search cannot change verdicts (BugDoc's definition of determinism
rests on this). A snapshot is a manifest of entries; each entry is a read-only tree built
from content-addressed objects::

    <root>/objects/ab/abcd...      one file per sha256 of content, read-only
    <root>/trees/<entry id>/NAME   an input as runs see it: hardlinks to objects, read-only
    <root>/manifests/<id>.json     what a snapshot holds (entries, digests); mtime = last use

An object's digest is computed on the copy itself, so the digests recorded for a run are
those of the bytes the run saw. Runs get an entry as a symlink into its tree (``link``:
free, and read-only under the sandbox, which shows the tree read-only) or as a private
copy (``copy``: reflinked where the filesystem allows). The store lives under the cache
dir (``$DRIFTDOC_CACHE_DIR/snapshots``, else ``~/.cache/driftdoc/snapshots``; or
``$DRIFTDOC_SNAPSHOT_DIR``) and is
bounded by ``$DRIFTDOC_SNAPSHOT_MAX_MB`` (default 4096): taking a snapshot evicts the
least recently used others, never one in use by a live process.

Sources: a file or folder (``file``), a SQLite database copied with its online backup API
(``sqlite``, consistent while others write to it), or a command that dumps a database to
``{output}`` (``command``, e.g. ``pg_dump -f {output} shop``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftdoc.errors import DriftdocError, InputError
from driftdoc.model import Value
from driftdoc.paths import cache_root
from driftdoc.pipeline.digests import file_sha256, walk_files

_FICLONE = 0x40049409
_reflink_ok = True
DEFAULT_MAX_MB = 4096
HOOK_TIMEOUT = 600.0


# -- copying ------------------------------------------------------------------------


def clone_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy one file (reflink when possible), preserving mode and times."""
    global _reflink_ok
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        done = False
        if _reflink_ok:
            try:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                done = True
            except OSError:
                _reflink_ok = False  # this filesystem cannot; stop trying
        if not done:
            shutil.copyfileobj(fin, fout, 1 << 20)
    shutil.copystat(src, dst)
    os.chmod(dst, 0o644 | (os.stat(dst).st_mode & 0o111))


def remove_tree(path: Path) -> None:
    """Delete a run's work dir (or a snapshot tree) even if it was made read-only."""

    def fix(func: object, p: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)

    shutil.rmtree(path, onerror=fix)


# -- what to snapshot ---------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where one entry's content comes from: ``file``, ``sqlite`` or ``command``."""

    kind: str
    value: str | tuple[str, ...]
    timeout: float = HOOK_TIMEOUT

    def describe(self) -> str:
        shown = " ".join(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.kind} {shown}"


@dataclass(frozen=True)
class Wanted:
    """One entry to snapshot: the path runs see, and its source (or one per version).

    ``versions`` maps a value of ``parameter`` to its source, so several snapshots of a
    database D can be the values of a parameter, as in the BugDoc seed.
    """

    path: str
    source: Source | None = None
    parameter: str | None = None
    versions: tuple[tuple[str, Source], ...] = ()


# -- the snapshot -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One input as runs see it: its path in the work dir and its read-only tree."""

    path: str
    tree: str
    files: tuple[tuple[str, str], ...]  # path in the work dir -> sha256
    dirs: tuple[str, ...] = ()
    parameter: str | None = None
    value: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "tree": self.tree, "files": dict(self.files)}
        if self.dirs:
            data["dirs"] = list(self.dirs)
        if self.parameter is not None:
            data["parameter"], data["value"] = self.parameter, self.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(str(data["path"]), str(data["tree"]),
                   tuple(sorted((str(k), str(v)) for k, v in data["files"].items())),
                   tuple(data.get("dirs", ())), data.get("parameter"), data.get("value"))

    def applies(self, params: Mapping[str, Value]) -> bool:
        return self.parameter is None or str(params.get(self.parameter)) == self.value


@dataclass(frozen=True)
class Snapshot:
    """A content-addressed set of entries; picklable, so every worker gets the same one."""

    id: str
    root: Path
    entries: tuple[Entry, ...]

    def digests(self, params: Mapping[str, Value] | None = None) -> dict[str, str]:
        """``{path in the work dir: sha256}`` of what a run with ``params`` sees."""
        out: dict[str, str] = {}
        for entry in self.entries:
            if params is None or entry.applies(params):
                out.update(entry.files)
        return out

    def tree(self, entry: Entry) -> Path:
        return self.root / "trees" / entry.tree / Path(entry.path).name

    def materialise(self, workdir: Path, params: Mapping[str, Value], *, mode: str) -> None:
        """Give a run its inputs: ``link`` (symlinks into the read-only trees) or ``copy``."""
        for entry in self.entries:
            if not entry.applies(params):
                continue
            src = self.tree(entry)
            if not src.exists() and not src.is_symlink():
                raise SnapshotMissing(f"snapshot {self.id[:12]} lacks {entry.path} under "
                                      f"{self.root} (removed, or not shared with this worker)")
            dst = workdir / entry.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            if mode == "link":
                dst.symlink_to(src, target_is_directory=src.is_dir())
            elif src.is_dir():
                shutil.copytree(src, dst, symlinks=True, copy_function=clone_file)
                for d in [dst, *(p for p in dst.rglob("*") if p.is_dir())]:
                    os.chmod(d, 0o755)
            else:
                clone_file(src, dst)

    def changed(self, base: Path, wanted: Sequence[Wanted]) -> list[str]:
        """Paths whose live files now differ from this snapshot (file sources only)."""
        mine = {(e.path, e.value): dict(e.files) for e in self.entries}
        out: set[str] = set()
        for want in wanted:
            pairs = [(None, want.source)] if want.source is not None else list(want.versions)
            for value, source in pairs:
                if source.kind != "file":
                    continue
                assert isinstance(source.value, str)
                live = _live_digests(base / source.value, want.path)
                old = mine.get((want.path, value), {})
                out.update(k for k in set(live) | set(old) if live.get(k) != old.get(k))
        return sorted(out)

    def manifest(self) -> dict[str, Any]:
        return {"entries": [e.to_json() for e in self.entries]}


class SnapshotMissing(DriftdocError):
    """A snapshot (or part of one) is no longer in the store."""


def _live_digests(src: Path, name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in walk_files(src):
        rel = name if f == src else f"{name}/{f.relative_to(src).as_posix()}"
        out[rel] = file_sha256(f)
    return out


# -- the store ----------------------------------------------------------------------


def default_root() -> Path:
    """The snapshot store under driftdoc's cache dir (the environment half's, too)."""
    own = os.environ.get("DRIFTDOC_SNAPSHOT_DIR")
    if own:
        return Path(own)
    return cache_root() / "snapshots"


def max_bytes() -> int:
    raw = os.environ.get("DRIFTDOC_SNAPSHOT_MAX_MB", "")
    try:
        mb = int(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        raise InputError(f"DRIFTDOC_SNAPSHOT_MAX_MB must be a whole number, got {raw!r}") \
            from None
    return max(1, mb) * 1024 * 1024


_in_process = threading.Lock()


class SnapshotStore:
    """Takes, keeps and evicts snapshots under ``root`` (see the module docstring)."""

    def __init__(self, root: Path | None = None, *, limit: int | None = None) -> None:
        self.root = (root or default_root()).resolve()
        self.limit = limit if limit is not None else max_bytes()
        self._uses: dict[str, int] = {}  # manifest -> descriptor holding a shared flock

    # -- taking -----------------------------------------------------------

    def take(self, base: Path, wanted: Sequence[Wanted]) -> Snapshot:
        """Copy every wanted entry into the store once and return the snapshot."""
        # shared with other takers, exclusive of eviction: objects and trees not yet in a
        # manifest must not be collected while this snapshot is being built
        with self._locked(shared=True):
            entries: list[Entry] = []
            for want in wanted:
                if want.source is not None:
                    entries.append(self._entry(base, want.path, want.source, None, None))
                for value, source in want.versions:
                    entries.append(self._entry(base, want.path, source, want.parameter, value))
            body = {"entries": [e.to_json() for e in entries]}
            sid = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            snap = Snapshot(sid, self.root, tuple(entries))
            self._write_manifest(snap)
            self.use(snap)
        self.evict(keep={sid})
        return snap

    def load(self, sid: str) -> Snapshot:
        """A snapshot taken earlier; ``SnapshotMissing`` if it was evicted."""
        path = self.root / "manifests" / f"{sid}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise SnapshotMissing(f"snapshot {sid[:12]} is no longer in {self.root}") from None
        snap = Snapshot(sid, self.root, tuple(Entry.from_json(e) for e in data["entries"]))
        if any(not snap.tree(e).exists() for e in snap.entries):
            raise SnapshotMissing(f"snapshot {sid[:12]} is incomplete in {self.root}")
        self.use(snap)
        return snap

    def _entry(self, base: Path, path: str, source: Source, parameter: str | None,
               value: str | None) -> Entry:
        with tempfile.TemporaryDirectory(dir=self._dir("tmp")) as tmp:
            if source.kind == "file":
                assert isinstance(source.value, str)
                files, dirs = self._add_tree(base / source.value, path)
            else:
                dump = Path(tmp) / "dump"
                _dump(base, source, dump)
                files, dirs = {path: self._add_object(dump)}, []
        listing = json.dumps({"path": path, "files": files, "dirs": dirs}, sort_keys=True)
        tree_id = hashlib.sha256(listing.encode()).hexdigest()[:32]
        self._build_tree(tree_id, path, files, dirs)
        return Entry(path, tree_id, tuple(sorted(files.items())), tuple(dirs), parameter, value)

    def _dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _object(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    def _add_object(self, src: Path) -> str:
        """Copy ``src`` into the store (unless its content is there) and return its digest.

        The digest is taken from the bytes written, so a file that changes while it is
        copied is stored as what was actually copied.
        """
        known = file_sha256(src)
        if self._object(known).is_file():
            return known
        fd, tmp = tempfile.mkstemp(dir=self._dir("tmp"))
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, src.open("rb") as fin:
            for block in iter(lambda: fin.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        digest = h.hexdigest()
        target = self._object(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        executable = os.stat(src).st_mode & 0o100
        os.chmod(tmp, 0o555 if executable else 0o444)
        os.replace(tmp, target)
        return digest

    def _add_tree(self, src: Path, name: str) -> tuple[dict[str, str], list[str]]:
        if not src.exists():
            raise InputError(f"input {src} does not exist")
        files: dict[str, str] = {}
        dirs: list[str] = []
        if src.is_dir():
            dirs.append(name)
            for dirpath, dirnames, _ in os.walk(src):
                dirnames.sort()
                for d in dirnames:
                    p = Path(dirpath) / d
                    if not p.is_symlink():
                        dirs.append(f"{name}/{p.relative_to(src).as_posix()}")
        for f in walk_files(src):
            rel = name if f == src else f"{name}/{f.relative_to(src).as_posix()}"
            files[rel] = self._add_object(f)
        return files, dirs

    def _build_tree(self, tree_id: str, path: str, files: Mapping[str, str],
                    dirs: Sequence[str]) -> None:
        """Lay out an entry as hardlinks to its objects, read-only, atomically."""
        final = self._dir("trees") / tree_id
        if final.exists():
            return
        staging = Path(tempfile.mkdtemp(dir=self._dir("tmp")))
        top = str(Path(path).parent)
        strip = 0 if top == "." else len(top) + 1  # trees hold the entry's last name only
        made: list[Path] = []
        for name in dirs:
            made.append(staging / name[strip:])
            (staging / name[strip:]).mkdir(parents=True, exist_ok=True)
        for rel, digest in files.items():
            dst = staging / rel[strip:]
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(self._object(digest), dst)
        for d in sorted(made, key=lambda p: len(p.parts), reverse=True):
            os.chmod(d, 0o555)
        try:
            os.rename(staging, final)  # moving a folder needs it writable: chmod after
        except OSError:  # another process built it first
            remove_tree(staging)
            return
        os.chmod(final, 0o555)

    def _write_manifest(self, snap: Snapshot) -> None:
        path = self._dir("manifests") / f"{snap.id}.json"
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self._dir("tmp"))
            with os.fdopen(fd, "w") as fh:
                json.dump(snap.manifest(), fh, sort_keys=True)
            os.replace(tmp, path)

    # -- use and eviction -------------------------------------------------

    def use(self, snap: Snapshot) -> None:
        """Mark ``snap`` in use by this process (a shared flock) and as recently used."""
        path = self.root / "manifests" / f"{snap.id}.json"
        with _in_process:
            if snap.id in self._uses:
                return
            fd = os.open(path, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._uses[snap.id] = fd
        os.utime(path)

    def release(self) -> None:
        with _in_process:
            for fd in self._uses.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._uses.clear()

    def size(self) -> int:
        return sum(p.stat().st_size for p in self._walk_objects())

    def _walk_objects(self) -> Iterator[Path]:
        objects = self.root / "objects"
        if objects.is_dir():
            for sub in objects.iterdir():
                yield from sub.iterdir()

    def evict(self, keep: Iterable[str] = ()) -> int:
        """Remove least recently used snapshots while the store is over its limit.

        A snapshot in use by a live process (its shared flock) is never removed; objects
        and trees are removed once no remaining snapshot refers to them. Returns the
        number of snapshots removed.
        """
        keep = set(keep) | set(self._uses)
        if self.size() <= self.limit:
            return 0
        with self._locked():
            manifests = sorted((self.root / "manifests").glob("*.json"),
                               key=lambda p: p.stat().st_mtime)
            removed = 0
            for path in manifests:
                if self.size() <= self.limit:
                    break
                if path.stem in keep:
                    continue
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use elsewhere
                finally:
                    os.close(fd)
                path.unlink()
                removed += 1
                self._collect()
            return removed

    def _collect(self) -> None:
        """Delete trees and objects that no manifest refers to."""
        trees: set[str] = set()
        objects: set[str] = set()
        for path in (self.root / "manifests").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                for e in json.loads(path.read_text())["entries"]:
                    trees.add(e["tree"])
                    objects.update(e["files"].values())
        for tree in (self.root / "trees").iterdir():
            if tree.name not in trees:
                remove_tree(tree)
        for obj in list(self._walk_objects()):
            if obj.name not in objects:
                with contextlib.suppress(OSError):
                    obj.unlink()

    @contextlib.contextmanager
    def _locked(self, *, shared: bool = False) -> Iterator[None]:
        """Taking (shared) against evicting (exclusive), across processes."""
        fd = os.open(self._dir("tmp").parent / "evict.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _dump(base: Path, source: Source, dest: Path) -> None:
    """Run a database hook once: SQLite's online backup, or a command writing ``{output}``."""
    if source.kind == "sqlite":
        assert isinstance(source.value, str)
        live = base / source.value
        if not live.is_file():
            raise InputError(f"SQLite database {live} does not exist")
        try:
            src = sqlite3.connect(f"file:{live}?mode=ro", uri=True, timeout=30)
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)
                # a WAL database cannot be opened from a read-only snapshot: store it
                # with a rollback journal, which reads need no side files for
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
                src.close()
        except sqlite3.Error as exc:
            raise InputError(f"cannot snapshot SQLite database {live}: {exc}") from None
        return
    argv = list(source.value) if isinstance(source.value, tuple) else shlex.split(source.value)
    argv = [tok.replace("{output}", str(dest)) for tok in argv]
    try:
        proc = subprocess.run(argv, cwd=base, capture_output=True, timeout=source.timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"snapshot command {source.describe()!r} failed: {exc}") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise InputError(f"snapshot command {source.describe()!r} exited {proc.returncode}: "
                         f"{tail[0][:200]}")
    if not dest.is_file():
        raise InputError(f"snapshot command {source.describe()!r} wrote nothing to {{output}}")
