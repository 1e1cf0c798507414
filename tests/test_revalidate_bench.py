"""The benchmark's independent re-validator: marker parsing, sysroot relocation, reuse key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import hg29k
import revalidate


def test_marker_in_stderr_and_logger_prefixed_stdout() -> None:
    err = b"some noise\nREVALIDATE EXC ValueError 3\n"
    assert revalidate._marker(err) == ["REVALIDATE", "EXC", "ValueError", "3"]
    out = b"2024-01-01 [-] REVALIDATE OK\n"
    assert revalidate._marker(out) == []
    assert revalidate._marker(out, anywhere=True) == ["REVALIDATE", "OK"]


def test_hard_kill_keeps_the_reported_timeout_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired("bwrap", 1, output=b"",
                                        stderr=b"x\nREVALIDATE TIMEOUT 7\n")

    monkeypatch.setattr(revalidate.subprocess, "run", killed)
    snippet = tmp_path / "s.py"
    snippet.write_text("pass\n")
    assert revalidate.run_snippet(snippet, tmp_path, 1) == ("timeout", "7")


def test_runner_marks_through_the_original_stderr(tmp_path: Path) -> None:
    snippet = tmp_path / "s.py"
    snippet.write_text("import os, sys\nsys.stderr = open(os.devnull, 'w')\n"
                       "os.dup2(os.open(os.devnull, os.O_WRONLY), 2)\nraise ValueError('x')\n")
    runner = tmp_path / "runner.py"
    runner.write_text(revalidate.RUNNER)
    proc = subprocess.run([sys.executable, str(runner), str(snippet), "10"],
                          capture_output=True, check=False)
    assert revalidate._marker(proc.stderr) == ["REVALIDATE", "EXC", "ValueError", "4"]


def test_relocate_rewrites_pc_files_and_symlinks(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revalidate, "_triplet", lambda: "x86_64-linux-gnu")
    root = tmp_path / "root"
    lib = root / "usr" / "lib" / "x86_64-linux-gnu"
    (lib / "pkgconfig").mkdir(parents=True)
    (lib / "pkgconfig" / "foo.pc").write_text(
        "prefix=/usr\nincludedir=/usr/include/foo\nlibdir=${prefix}/lib\nName: foo\n")
    (lib / "libfoo.so.1").write_text("")
    os.symlink("/usr/lib/x86_64-linux-gnu/libfoo.so.1", lib / "libfoo.so")  # absolute, in root
    os.symlink("/etc/hostname-not-in-root", lib / "hostfile")  # absolute, host only: kept
    os.symlink("does-not-exist.so.9", lib / "dangling.so")  # relative, nowhere: kept
    revalidate._relocate(root)
    pc = (lib / "pkgconfig" / "foo.pc").read_text()
    assert f"prefix={root}/usr\n" in pc
    assert f"includedir={root}/usr/include/foo\n" in pc
    assert "libdir=${prefix}/lib\n" in pc
    assert os.readlink(lib / "libfoo.so") == "libfoo.so.1"
    assert os.readlink(lib / "hostfile") == "/etc/hostname-not-in-root"
    assert os.readlink(lib / "dangling.so") == "does-not-exist.so.9"


def test_sysroot_environment() -> None:
    root = revalidate.Sysroot(Path("/r"), "x86_64-linux-gnu", ("libfoo-dev",), ())
    env = root.build_env({"PATH": "/usr/bin", "PKG_CONFIG_PATH": "/opt/pc"})
    assert env["CPATH"] == "/r/usr/include:/r/usr/include/x86_64-linux-gnu"
    assert env["LIBRARY_PATH"] == "/r/usr/lib/x86_64-linux-gnu:/r/lib/x86_64-linux-gnu"
    assert env["PATH"] == "/r/usr/bin:/usr/bin"
    assert env["PKG_CONFIG_PATH"].startswith("/r/usr/lib/x86_64-linux-gnu/pkgconfig:")
    assert env["PKG_CONFIG_PATH"].endswith(":/opt/pc")
    assert root.run_env()["GI_TYPELIB_PATH"].startswith(
        "/r/usr/lib/x86_64-linux-gnu/girepository-1.0")


def test_reuse_needs_identical_system_packages() -> None:
    base = {"python": "3.8", "requirements": ["b", "a"]}
    assert hg29k.emitted(base) == hg29k.emitted({**base, "system_packages": []})
    assert hg29k.emitted({**base, "system_packages": ["x", "y"]}) == \
        hg29k.emitted({"python": "3.8", "requirements": ["a", "b"], "system_packages": ["y", "x"]})
    assert hg29k.emitted(base) != hg29k.emitted({**base, "system_packages": ["portaudio19-dev"]})
