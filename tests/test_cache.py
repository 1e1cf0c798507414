"""The env store's info/prune (hardlink-aware sizes, LRU, in-use envs) and ``driftdoc cache``."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.env.host import cache
from driftdoc.env.toolchain import store as env_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(root))
    return root


def fake_env(key: str, *, size: int = 64 * 1024, age: float = 0.0,
             link_from: Path | None = None) -> Path:
    env = cache.envs_dir() / key
    (env / "lib").mkdir(parents=True)
    data = env / "lib" / "data.bin"
    if link_from is not None:
        os.link(link_from, data)
    else:
        data.write_bytes(os.urandom(size))
    cache.write_json_atomic(env / cache.MARKER, {"python": "3.8", "pins": [f"{key}==1"]})
    when = time.time() - age
    os.utime(env / cache.MARKER, (when, when))
    return env


def test_info_counts_hardlinked_files_once(store: Path) -> None:
    shared = store / "uv" / "blob.bin"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(os.urandom(256 * 1024))
    for key in ("a", "b", "c"):
        fake_env(key, link_from=shared)
    (cache.envs_dir() / "half-built").mkdir()  # no marker: incomplete
    info = env_store.info()
    assert info.location == store
    assert info.envs == 3 and info.incomplete == 1
    assert 256 * 1024 <= info.bytes < 2 * 256 * 1024  # not 4 x 256 KiB
    assert info.sections["uv"] >= 256 * 1024


def test_prune_by_age_and_lru_size(store: Path) -> None:
    fake_env("old", age=40 * 86400)
    fake_env("mid", age=5 * 86400)
    fake_env("new", age=0)
    res = env_store.prune(older_than=30 * 86400)
    assert res.removed == ["old"]
    assert sorted(e.key for e in env_store.list_envs()) == ["mid", "new"]
    env_store.prune(max_bytes=env_store.info().bytes - 1)  # must drop the least recently used
    assert [e.key for e in env_store.list_envs()] == ["new"]


def test_prune_lets_uv_drop_what_no_longer_refers_to_anything(store: Path) -> None:
    """Envs hardlink from uv's cache: removing them frees little until uv prunes."""
    import shutil

    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    orphan = store / "uv" / "archive-v0" / "0123456789abcdef" / "mod.py"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("x = 1\n")
    kept = fake_env("new", age=0)
    fake_env("old", age=40 * 86400)
    res = env_store.prune(older_than=30 * 86400)
    assert res.removed == ["old"]
    assert not orphan.exists()  # no index entry of uv's refers to it
    assert (kept / "lib" / "data.bin").exists()


def test_prune_skips_envs_in_use(store: Path) -> None:
    fake_env("busy", age=90 * 86400)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with cache.locked("env-busy"):
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    holding.wait(10)
    try:
        res = env_store.prune(older_than=86400)
    finally:
        release.set()
        worker.join()
    assert res.skipped_in_use == ["busy"] and res.removed == []
    assert env_store.prune(all_=True).removed == ["busy"]
    assert env_store.list_envs() == []


def test_cli_info_and_prune(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_env("one", age=10 * 86400)
    assert main(["cache", "info", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["envs"] == 1 and doc["location"] == str(store)
    assert main(["cache", "info"]) == 0
    assert "environments: 1" in capsys.readouterr().out
    assert main(["cache", "prune"]) == 2  # nothing said: bad input
    assert main(["cache", "prune", "--max-size", "lots"]) == 2
    assert main(["cache", "prune", "--older-than", "5", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == ["one"]
    assert main(["cache", "prune", "--all"]) == 0
    assert not (store / "envs" / "one").exists()


def test_reclaim_removes_stale_envs_without_sizing_the_cache(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env("stale", age=3600)
    fake_env("fresh", age=0)

    def no_walk() -> env_store.CacheInfo:
        raise AssertionError("reclaim must not size the whole cache")

    monkeypatch.setattr(env_store, "info", no_walk)
    res = env_store.reclaim(600)
    assert res.removed == ["stale"] and res.freed_bytes >= 0
    assert [e.key for e in env_store.list_envs()] == ["fresh"]
