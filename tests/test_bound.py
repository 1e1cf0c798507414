"""The cache bound: the whole cache (environments, uv's cache, the 2.7 stores, system
prefixes, small caches) stays under ``DRIFTDOC_CACHE_MAX`` by least-recent use, and nothing
a run uses is removed from under it (leases), whatever process or thread runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftdoc.env.host import cache
from driftdoc.env.toolchain import bound
from driftdoc.env.toolchain.build import BuiltEnv, using_env
from driftdoc.env.toolchain.syspkgs import READY, root_key
from driftdoc.errors import InputError
from support.fixtures import python3_version
from support.index import LocalIndex
from support.wheels import make_wheel

PY3 = python3_version((3, 8))
MiB = 1024**2
BIG = ("big-a", "big-b", "big-c", "big-d")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(path))
    monkeypatch.delenv(bound.CACHE_MAX_ENV, raising=False)
    return path


@pytest.fixture(scope="module")
def heavy_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """Projects of 2 MiB each (incompressible), so that sizes are plain to see."""
    work = tmp_path_factory.mktemp("heavy")
    with LocalIndex(work / "served") as index:
        for name in BIG:
            module = name.replace("-", "_")
            index.add(make_wheel(work / "built", name, "1.0", {
                f"{module}/__init__.py": "import os\nHERE = os.path.dirname(__file__)\n",
                f"{module}/blob.bin": os.urandom(2 * MiB)}))
        yield index


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def build(index: LocalIndex, *names: str, old: float = 0.0) -> BuiltEnv:
    assert PY3 is not None
    with using_env(PY3, [f"{n}==1.0" for n in names], index_url=index.url) as env:
        assert env.ok, env.install_errors
    if old:
        age(env.path / cache.MARKER, old)
        for name in names:
            age(cache.cache_root() / "used" / "uv" / name, old)
    return env


def in_uv_cache(root: Path) -> set[str]:
    """Projects uv's cache holds unpacked wheels of."""
    return {info.name.split("-", 1)[0].replace("_", "-")
            for info in (root / "uv").glob("archive-v*/*/*.dist-info")}


# ------------------------------------------------------------------------ the limit

def test_default_limit_is_half_of_what_the_cache_could_grow_to(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gib = 1024**3
    assert bound.limit(10 * gib, 30 * gib) == 20 * gib
    assert bound.limit(0, gib) == bound.FLOOR  # never below the floor
    monkeypatch.setenv(bound.CACHE_MAX_ENV, "5G")
    assert bound.limit(100 * gib, 100 * gib) == 5 * gib
    monkeypatch.setenv(bound.CACHE_MAX_ENV, "lots")
    with pytest.raises(InputError, match="DRIFTDOC_CACHE_MAX"):
        bound.check()


# ------------------------------------------------------------------------ measuring

@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_measure_counts_hardlinks_once_and_sizes_fixed_entries_once(
        root: Path, heavy_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):  # three envs linking the same 2 MiB from uv's archive
        build(heavy_index, "big-a")
        cache.remove_tree(next(p for p in cache.envs_dir().iterdir()))
    build(heavy_index, "big-a")
    build(heavy_index, "big-a", "big-b")
    usage = bound.measure()
    walked = cache.exclusive_bytes(root)  # every inode once, the slow way
    assert 4 * MiB <= usage.total < 6 * MiB + 2 * MiB
    assert abs(usage.total - sum_inodes(root)) < MiB, (usage.total, walked)
    assert usage.sections["uv"] >= 4 * MiB and usage.sections["envs"] < MiB

    def no_walk(path: Path, seen: object = None) -> tuple[int, int]:
        raise AssertionError(f"{path} was sized before and has not changed")

    monkeypatch.setattr(bound, "disk_usage", no_walk)
    assert abs(bound.measure().total - usage.total) < 64 * 1024


def sum_inodes(root: Path) -> int:
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


# ------------------------------------------------------------------------ evicting

@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_least_recently_used_goes_first_with_its_uv_entries(
        root: Path, heavy_index: LocalIndex) -> None:
    oldest = build(heavy_index, "big-a", old=3 * 3600)
    middle = build(heavy_index, "big-b", old=2 * 3600)
    newest = build(heavy_index, "big-c", old=1 * 3600)
    total = bound.measure().total
    done = bound.check(bound=total - MiB, force=True, target=total - MiB)
    assert done is not None and done.removed == {"env": 1, "uv": 1}
    assert not oldest.path.exists() and middle.path.exists() and newest.path.exists()
    assert in_uv_cache(root) == {"big-b", "big-c"}
    assert done.after <= total - 2 * MiB
    # what was evicted comes back from the index
    again = build(heavy_index, "big-a")
    assert again.ok and not again.reused and "big-a" in in_uv_cache(root)


@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_an_env_in_use_and_what_it_links_stay(root: Path, heavy_index: LocalIndex) -> None:
    """A lease held by another process keeps the oldest env, and its uv entries with it."""
    oldest = build(heavy_index, "big-a", old=3 * 3600)
    middle = build(heavy_index, "big-b", old=2 * 3600)
    build(heavy_index, "big-c", old=3600)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from driftdoc.env.host import cache
            with cache.leased(["env-{oldest.key}", "uv-big-a"]):
                print("held", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        total = bound.measure().total
        done = bound.check(bound=total - MiB, force=True, target=total - MiB)
    finally:
        holder.communicate("", timeout=30)
    assert done is not None and done.in_use >= 1
    assert oldest.path.exists() and not middle.path.exists()
    assert in_uv_cache(root) == {"big-a", "big-c"}


@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_a_lease_waits_for_an_eviction_then_rebuilds(root: Path, heavy_index: LocalIndex) -> None:
    """Eviction claims what it removes: a run asking for it meanwhile waits, then finds it
    gone and builds it again (never half-deleted)."""
    env = build(heavy_index, "big-a", old=3600)
    got: list[BuiltEnv] = []
    with cache.claimed(f"env-{env.key}") as free:
        assert free
        user = threading.Thread(target=lambda: got.append(build(heavy_index, "big-a")))
        user.start()
        time.sleep(0.5)
        assert not got  # waiting for the claim
        cache.remove_tree(env.path)
    user.join(60)
    assert got and got[0].ok and not got[0].reused


def test_other_stores_go_by_last_use_unless_an_env_needs_them(root: Path) -> None:
    """2.7 wheels, system prefixes and small-cache files: least recently used first, kept
    while a remaining environment was built from them, and never when just used."""
    def fake_env(key: str, python: str, pins: list[str], system: list[str]) -> Path:
        path = cache.envs_dir() / key
        path.mkdir(parents=True)
        cache.write_json_atomic(path / cache.MARKER, {"python": python, "pins": pins,
                                                      "system": system, "bytes": 4096})
        return path

    def blob(path: Path, size: int = MiB, old: float = 0.0) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        if old:
            age(path, old)
        return path

    wheels, unpacked = root / "py27" / "wheels", root / "py27" / "unpacked"
    kept_whl = blob(wheels / "kept-1.0-py2-none-any.whl", old=9000)
    blob(unpacked / "kept-1.0-py2-none-any" / "kept" / "x.bin", old=9000)
    gone_whl = blob(wheels / "gone-1.0-py2-none-any.whl", old=8000)
    blob(unpacked / "gone-1.0-py2-none-any" / "gone" / "x.bin", old=8000)
    kept_root = root / "sysroot" / root_key(["libkept-dev"])
    blob(kept_root / "usr" / "lib" / "libkept.so", old=7000)
    (kept_root / READY).write_text("{}")
    age(kept_root / READY, 7000)
    gone_root = root / "sysroot" / root_key(["libgone-dev"])
    blob(gone_root / "usr" / "lib" / "libgone.so", old=6000)
    (gone_root / READY).write_text("{}")
    age(gone_root / READY, 6000)
    blob(root / "uv-sys" / gone_root.name / "archive-v0" / "x" / "y.bin", old=6000)
    old_resolution = blob(root / "resolve" / "old.json", 4096, old=5000)
    fresh_resolution = blob(root / "resolve" / "fresh.json", 4096)
    orphan_pyc = blob(root / "pyc" / "cpython-38" / "1-2-3-4.pyc", 4096, old=4000)
    fake_env("env27", "2.7", ["kept==1.0"], ["libkept-dev"])  # fresh: it stays
    total = bound.measure().total
    done = bound.check(bound=0, force=True, target=0)
    assert done is not None
    assert not gone_whl.exists() and not (unpacked / "gone-1.0-py2-none-any").exists()
    assert not gone_root.exists() and not (root / "uv-sys" / gone_root.name).exists()
    assert not old_resolution.exists() and not orphan_pyc.exists()
    assert kept_whl.exists() and (unpacked / "kept-1.0-py2-none-any").exists()
    assert kept_root.exists() and fresh_resolution.exists()
    assert done.after < total - 3 * MiB


# ------------------------------------------------------------------------ a batch

@pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
def test_a_batch_with_two_jobs_stays_under_the_bound(
        tmp_path: Path, root: Path, heavy_index: LocalIndex,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every snippet needs its own 2 MiB project; the bound holds about two. Evicting while
    the other job runs must never turn a snippet into a failure."""
    from driftdoc.env.search.batch import env_ok, run_batch

    gists = tmp_path / "gists"
    for name in BIG:
        (gists / name).mkdir(parents=True)
        (gists / name / "snippet.py").write_text(
            f"import {name.replace('-', '_')} as m\nprint(len(open(m.HERE + '/blob.bin', "
            "'rb').read()))\n")
    monkeypatch.setenv(bound.CACHE_MAX_ENV, str(5 * MiB))
    monkeypatch.setattr(bound, "MIN_AGE", 0.0)
    out = tmp_path / "out"
    summary = run_batch(gists, out, jobs=2, time_limit=120.0,
                        child_args=["--index-url", heavy_index.url, "--python", PY3 or "",
                                    "--sandbox", "none"])
    assert {n: env_ok(r) for n, r in summary.results.items()} == dict.fromkeys(BIG, True), \
        json.dumps(summary.results, indent=1)[:3000]
    with (out / "disk.csv").open() as fp:
        rows = list(csv.DictReader(fp))
    assert sorted(r["snippet"] for r in rows if r["event"] == "snippet") == sorted(BIG)
    assert any(r["event"] == "evict" for r in rows) and int(rows[-1]["evicted_bytes"]) > 0
    final = bound.measure()
    assert final.total <= 5 * MiB, final.sections
