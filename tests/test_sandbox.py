"""The sandbox isolates, limits and reports; every claim checked against the host."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from driftdoc import sandbox
from driftdoc.errors import DriftdocError, InputError
from driftdoc.sandbox import Limits, Policy, launch, run_sandboxed, scrubbed_env

PY = sys.executable
MODES = ["bwrap", "none"]


def _py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


@pytest.fixture()
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


CONNECT = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    print("connected")
except OSError as e:
    print("blocked", e)
"""


def test_network_blocked_unless_allowed(tmp_path: Path, listener: int) -> None:
    blocked = run_sandboxed([*_py(CONNECT), str(listener)], workdir=tmp_path, policy=Policy())
    assert blocked.stdout_tail.startswith(b"blocked"), blocked
    allowed = run_sandboxed(
        [*_py(CONNECT), str(listener)], workdir=tmp_path, policy=Policy(network=True)
    )
    assert allowed.stdout_tail.startswith(b"connected"), allowed


def test_only_the_workdir_is_writable(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside.txt"
    code = f"""
    import pathlib
    pathlib.Path("inside.txt").write_text("ok")
    for target in ("/etc/driftdoc-probe", "/usr/driftdoc-probe", {str(outside)!r}):
        try:
            pathlib.Path(target).write_text("x")
            print("wrote", target)
        except OSError as e:
            print("denied", target)
    """
    res = run_sandboxed(_py(code), workdir=work, policy=Policy())
    assert res.returncode == 0, res
    assert (work / "inside.txt").read_text() == "ok"
    assert not Path("/etc/driftdoc-probe").exists()
    assert not Path("/usr/driftdoc-probe").exists()
    assert not outside.exists()  # /tmp inside is private
    assert b"denied /etc/driftdoc-probe" in res.stdout_tail
    assert res.workdir == sandbox.SANDBOX_WORKDIR


def test_ro_binds_and_hidden(tmp_path: Path) -> None:
    work, data = tmp_path / "w", tmp_path / "ro"
    for d in (work, data, data / ".driftdoc", data / ".driftdoc" / "keep"):
        d.mkdir()
    (data / "in.txt").write_text("42")
    (data / ".driftdoc" / "store.db").write_text("secret")
    (data / ".driftdoc" / "keep" / "tree.txt").write_text("shown")
    code = f"""
    import os, pathlib
    print(pathlib.Path({str(data / "in.txt")!r}).read_text())
    print(os.listdir({str(data / ".driftdoc")!r}))
    print(pathlib.Path({str(data / ".driftdoc" / "keep" / "tree.txt")!r}).read_text())
    try:
        pathlib.Path({str(data / "x")!r}).write_text("x")
    except OSError:
        print("ro")
    """
    policy = Policy(ro_binds=(data, data / ".driftdoc" / "keep"), hidden=(data / ".driftdoc",))
    res = run_sandboxed(_py(code), workdir=work, policy=policy)
    assert res.returncode == 0, res
    assert res.stdout_tail == b"42\n['keep']\nshown\nro\n"
    assert not (data / "x").exists()


GRANDCHILD = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with open("pid", "w") as f:
            f.write(str(os.getpid()))
        while True:
            with open("beat", "a") as f:
                f.write(".")
            time.sleep(0.02)
    os._exit(0)
time.sleep(1000)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_timeout_kills_the_whole_tree_bwrap(tmp_path: Path) -> None:
    res = run_sandboxed(_py(GRANDCHILD), workdir=tmp_path, limits=Limits(timeout=1.0))
    assert res.timed_out and res.killed_reason == "timeout"
    assert res.returncode is None
    assert 0.9 < res.duration < 5
    beat = tmp_path / "beat"
    assert beat.exists()
    size = beat.stat().st_size
    time.sleep(0.3)
    assert beat.stat().st_size == size, "a grandchild survived the timeout"


def test_timeout_kills_the_process_group_none(tmp_path: Path) -> None:
    # Without bwrap a child that calls setsid() escapes the group; use a plain grandchild.
    code = GRANDCHILD.replace("os.setsid()", "pass")
    res = run_sandboxed(_py(code), workdir=tmp_path, policy=Policy(mode="none"),
                        limits=Limits(timeout=1.0))
    assert res.killed_reason == "timeout"
    pid = int((tmp_path / "pid").read_text())
    deadline = time.time() + 2
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


@pytest.mark.parametrize("mode", MODES)
def test_memory_limit(tmp_path: Path, mode: str) -> None:
    code = "x = bytearray(600 * 1024 * 1024); print('allocated')"
    res = run_sandboxed(_py(code), workdir=tmp_path, policy=Policy(mode=mode),  # type: ignore[arg-type]
                        limits=Limits(memory_mb=200))
    assert res.returncode != 0
    assert res.killed_reason == "memory"
    assert b"allocated" not in res.stdout_tail
    ok = run_sandboxed(_py("x = bytearray(20 * 1024 * 1024)"), workdir=tmp_path,
                       policy=Policy(mode=mode), limits=Limits(memory_mb=400))  # type: ignore[arg-type]
    assert ok.ok, ok


def test_tmpfs_cap_stops_a_writer_and_seeds_are_copied(tmp_path: Path) -> None:
    seed_dir = tmp_path / "pkg"
    seed_dir.mkdir()
    (seed_dir / "mod.py").write_text("VALUE = 7\n")
    seed_file = tmp_path / "snippet.py"
    seed_file.write_text(
        "import sys; sys.path.insert(0, 'pkg'); import mod; print(mod.VALUE)\n"
        "with open('big', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(b'x' * 65536)\n"
    )
    work = tmp_path / "w"
    work.mkdir()
    res = run_sandboxed([PY, "snippet.py"], workdir=work, workdir_mode="tmpfs",
                        seed=[seed_dir, seed_file], limits=Limits(workdir_mb=4, timeout=20))
    assert res.stdout_tail == b"7\n"
    assert res.killed_reason == "disk", res
    assert b"No space left on device" in res.stderr_tail
    assert list(work.iterdir()) == []  # nothing reached the host
    assert not (seed_dir / "big").exists()


def test_env_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2-secret")
    monkeypatch.setenv("DRIFTDOC_KEEP_ME", "kept")
    env = scrubbed_env({"EXTRA": "1"}, keep=["DRIFTDOC_KEEP_ME"])
    assert "AWS_SECRET_ACCESS_KEY" not in env
    for mode in MODES:
        res = run_sandboxed(["env"], workdir=tmp_path, policy=Policy(mode=mode), env=env)  # type: ignore[arg-type]
        assert b"hunter2" not in res.stdout_tail
        assert b"DRIFTDOC_KEEP_ME=kept" in res.stdout_tail
        assert b"EXTRA=1" in res.stdout_tail
        default = run_sandboxed(["env"], workdir=tmp_path, policy=Policy(mode=mode))  # type: ignore[arg-type]
        assert b"hunter2" not in default.stdout_tail
        assert b"HOME=" in default.stdout_tail


@pytest.mark.parametrize("mode", MODES)
def test_tails_are_bounded_and_bytes(tmp_path: Path, mode: str) -> None:
    code = """
    import sys
    for _ in range(200):
        sys.stdout.buffer.write(b"\\xff\\xfe" * 50000)
    sys.stdout.buffer.write(b"END")
    sys.stderr.buffer.write(b"\\x80bad\\n")
    sys.exit(4)
    """
    res = run_sandboxed(_py(code), workdir=tmp_path, policy=Policy(mode=mode),  # type: ignore[arg-type]
                        limits=Limits(tail_bytes=100))
    assert res.returncode == 4
    assert len(res.stdout_tail) == 100 and res.stdout_tail.endswith(b"END")
    assert res.stdout_bytes == 200 * 100000 + 3
    assert res.stderr_tail == b"\x80bad\n"
    assert "exit status 4" in sandbox.describe(res)


def test_stdin_defaults_to_devnull_and_can_be_given(tmp_path: Path) -> None:
    res = run_sandboxed(["cat"], workdir=tmp_path, limits=Limits(timeout=10))
    assert res.ok and res.stdout_tail == b""
    res = run_sandboxed(["cat"], workdir=tmp_path, stdin=b"hello")
    assert res.stdout_tail == b"hello"


def test_startup_cost_is_measured(tmp_path: Path) -> None:
    res = run_sandboxed(["true"], workdir=tmp_path)
    assert res.sandbox_startup is not None and 0 < res.sandbox_startup <= res.duration


def test_many_threads_at_once(tmp_path: Path) -> None:
    def one(i: int) -> bytes:
        d = tmp_path / str(i)
        d.mkdir()
        mode = MODES[i % 2]
        r = run_sandboxed(["sh", "-c", f"echo {i} > f; cat f"], workdir=d,
                          policy=Policy(mode=mode))  # type: ignore[arg-type]
        return r.stdout_tail

    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(one, range(16)))
    assert outs == [f"{i}\n".encode() for i in range(16)]


def test_missing_bwrap_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "_checked", None)
    monkeypatch.setattr(launch.shutil, "which", lambda name, path=None: None)
    with pytest.raises(DriftdocError, match="apt-get install bubblewrap"):
        run_sandboxed(["true"], workdir=tmp_path)
    # the explicit opt-out still works
    assert run_sandboxed(["true"], workdir=tmp_path, policy=Policy(mode="none")).ok


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        run_sandboxed([], workdir=tmp_path)
    with pytest.raises(InputError):
        run_sandboxed(["true"], workdir=tmp_path / "missing")
    with pytest.raises(InputError):
        Policy(mode="docker")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        Limits(timeout=0)
    with pytest.raises(InputError, match="bind path"):
        run_sandboxed(["true"], workdir=tmp_path, policy=Policy(ro_binds=(tmp_path / "no",)))


def test_missing_program_is_a_result_not_an_exception(tmp_path: Path) -> None:
    res = run_sandboxed(["/nonexistent/prog"], workdir=tmp_path)
    assert res.returncode == 127 and not res.ok


def test_works_without_pidfd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pidfd(pid: int) -> int:
        raise OSError("pidfd_open not supported")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    for mode in MODES:
        ok = run_sandboxed(["sh", "-c", "echo hi"], workdir=tmp_path, policy=Policy(mode=mode))  # type: ignore[arg-type]
        assert ok.ok and ok.stdout_tail == b"hi\n" and ok.duration < 2
        late = run_sandboxed(["sleep", "30"], workdir=tmp_path, policy=Policy(mode=mode),  # type: ignore[arg-type]
                             limits=Limits(timeout=0.5))
        assert late.killed_reason == "timeout" and late.duration < 5
