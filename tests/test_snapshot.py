"""The content-addressed snapshot store: once per content, read-only, bounded, checked."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftdoc.errors import InputError
from driftdoc.pipeline.snapshot import Snapshot, SnapshotMissing, SnapshotStore, Source, Wanted


def files(tmp: Path, contents: dict[str, str]) -> list[Wanted]:
    for rel, text in contents.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    tops = sorted({rel.split("/")[0] for rel in contents})
    return [Wanted(t, Source("file", t)) for t in tops]


def test_same_content_same_snapshot_and_read_only_trees(tmp_path: Path) -> None:
    src = tmp_path / "src"
    wanted = files(src, {"data/a.csv": "1,2\n", "data/sub/b.csv": "3\n", "job.py": "pass\n"})
    store = SnapshotStore(tmp_path / "store")
    first = store.take(src, wanted)
    again = store.take(src, wanted)
    assert first == again and first.digests() == {
        "data/a.csv": hashlib.sha256(b"1,2\n").hexdigest(),
        "data/sub/b.csv": hashlib.sha256(b"3\n").hexdigest(),
        "job.py": hashlib.sha256(b"pass\n").hexdigest()}
    tree = first.tree(next(e for e in first.entries if e.path == "data"))
    assert (tree / "sub" / "b.csv").read_text() == "3\n"
    assert not os.stat(tree).st_mode & 0o222 and not os.stat(tree / "a.csv").st_mode & 0o222
    work = tmp_path / "work"
    work.mkdir()
    first.materialise(work, {}, mode="link")
    assert (work / "data").is_symlink() and (work / "data" / "a.csv").read_text() == "1,2\n"
    copy = tmp_path / "copy"
    copy.mkdir()
    first.materialise(copy, {}, mode="copy")
    (copy / "data" / "a.csv").write_text("mine")  # a private, writable copy
    assert (tree / "a.csv").read_text() == "1,2\n"
    (src / "data" / "a.csv").write_text("changed")
    assert first.changed(src, wanted) == ["data/a.csv"]
    assert store.take(src, wanted).id != first.id


def test_digests_are_of_the_copy(tmp_path: Path) -> None:
    """The digest is computed on the bytes stored, never on a separate read of the file."""
    src = tmp_path / "src"
    wanted = files(src, {"big.bin": "x" * (3 << 20)})
    store = SnapshotStore(tmp_path / "store")
    snap = store.take(src, wanted)
    obj = store.root / "objects" / snap.digests()["big.bin"][:2] / snap.digests()["big.bin"]
    assert hashlib.sha256(obj.read_bytes()).hexdigest() == snap.digests()["big.bin"]


def test_store_is_bounded_but_never_evicts_what_is_in_use(tmp_path: Path) -> None:
    src = tmp_path / "src"
    store_root = tmp_path / "store"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from driftdoc.pipeline.snapshot import SnapshotStore, Source, Wanted; "
         "(Path(sys.argv[1]) / 'held.bin').write_text('h' * 600000); "
         "s = SnapshotStore(Path(sys.argv[2]), limit=10**9); "
         "snap = s.take(Path(sys.argv[1]), [Wanted('held.bin', Source('file', 'held.bin'))]); "
         "print(snap.id, flush=True); time.sleep(60)", str(src), str(store_root)],
        stdout=subprocess.PIPE, text=True)
    src.mkdir(exist_ok=True)
    try:
        assert holder.stdout is not None
        held = holder.stdout.readline().strip()
        store = SnapshotStore(store_root, limit=1_000_000)
        snaps: list[Snapshot] = []
        for i in range(4):
            (src / "f.bin").write_text(str(i) * 300_000)
            snaps.append(store.take(src, [Wanted("f.bin", Source("file", "f.bin"))]))
            store.release()  # done with it: it may go
        assert store.size() <= 1_000_000
        assert store.load(held).id == held  # in use by another process: kept
        assert store.load(snaps[-1].id) == snaps[-1]  # the newest fits: kept
        with pytest.raises(SnapshotMissing):
            store.load(snaps[0].id)
    finally:
        holder.kill()
        holder.wait()


def test_sqlite_and_command_sources(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "live.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (v)")
    db.execute("INSERT INTO t VALUES (42)")
    db.commit()  # still open: a live database being written
    store = SnapshotStore(tmp_path / "store")
    wanted = [Wanted("D.db", Source("sqlite", "live.db")),
              Wanted("dump.sql", Source("command", ("sh", "-c", "echo dumped > {output}")))]
    snap = store.take(tmp_path, wanted)
    assert store.take(tmp_path, wanted).id == snap.id  # same state, same snapshot
    work = tmp_path / "work"
    work.mkdir()
    snap.materialise(work, {}, mode="link")
    ro = sqlite3.connect(f"file:{work / 'D.db'}?mode=ro", uri=True)
    assert ro.execute("SELECT v FROM t").fetchone() == (42,)
    assert (work / "dump.sql").read_text() == "dumped\n"
    db.close()
    with pytest.raises(InputError, match="exited 3"):
        store.take(tmp_path, [Wanted("x", Source("command", ("sh", "-c", "exit 3 {output}")))])


TAKER = """
import sys, tempfile
from pathlib import Path
from driftdoc.pipeline.snapshot import SnapshotStore, Source, Wanted
src, root, i = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
mine = src / f"p{i}"
mine.mkdir()
(mine / "f.bin").write_text(i * 300_000)
store = SnapshotStore(root, limit=700_000)
for _ in range(3):
    snap = store.take(mine, [Wanted("f.bin", Source("file", "f.bin"))])
    work = Path(tempfile.mkdtemp())
    snap.materialise(work, {}, mode="copy")
    assert (work / "f.bin").read_text() == i * 300_000
    store.release()
print("ok")
"""


def test_concurrent_takers_under_eviction(tmp_path: Path) -> None:
    """Processes taking and evicting at once never break each other's snapshots."""
    src = tmp_path / "src"
    src.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", TAKER, str(src), str(tmp_path / "st"),
                               str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(1, 5)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    assert all(out.strip() == "ok" for out, _ in results)


def test_snapshots_live_in_the_one_cache_dir(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    from driftdoc.env.host.cache import cache_root
    from driftdoc.pipeline.snapshot import default_root

    monkeypatch.delenv("DRIFTDOC_SNAPSHOT_DIR", raising=False)
    monkeypatch.delenv("DRIFTDOC_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == cache_root() / "snapshots" == tmp_path / "xdg/driftdoc/snapshots"
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "c"))
    assert default_root() == tmp_path / "c" / "snapshots"
