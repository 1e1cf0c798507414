"""The benchmark's independent re-validator: marker parsing, sysroot relocation (config
tools included), reuse key."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
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


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")

# A Debian -dev package's config tool knows only the paths it was built for.
_FOO_CONFIG = """#!/bin/sh
case "$1" in
  --cflags) echo "-I/usr/include/foo -I/usr/include/glib-2.0" ;;
  --libs) echo "-L/usr/lib/{arch}/ -lfoo -lglib-2.0" ;;
  --variable=includedir) echo /usr/include/foo ;;
  --prefix) echo /usr ;;
  --paths) echo "/usr /usr/include/foo /usr/share/foo/x '/usr/include/foo'" ;;
  --name) basename "$0" ;;
  --nothing) ;;
  *) echo "usage: foo_config" >&2; exit 1 ;;
esac
"""


def _foo_deb(tmp: Path, arch: str) -> Path:
    """libfoo-dev as Debian lays it out: a header in a subdirectory, a static library and
    ``foo_config`` (linked as ``foo-config``) saying /usr."""
    tree = tmp / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: libfoo-dev\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n")
    (tree / "usr" / "include" / "foo").mkdir(parents=True)
    (tree / "usr" / "include" / "foo" / "foo.h").write_text("#define FOO 42\n")
    (tree / "usr" / "share" / "foo").mkdir(parents=True)
    (tree / "usr" / "lib" / arch).mkdir(parents=True)
    bindir = tree / "usr" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "foo_config").write_text(_FOO_CONFIG.format(arch=arch))
    (bindir / "foo_config").chmod(0o755)
    (bindir / "foo-config").symlink_to("foo_config")
    deb = tmp / "libfoo-dev_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)], check=True,
                   capture_output=True)
    return deb


@needs_dpkg
def test_sysroot_config_tools_report_the_root(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """MySQL-python's setup.py builds with what ``mysql_config --cflags`` says: in an
    unpacked root that must be the root's headers, not the host's /usr (which lacks them).
    Paths the root does not provide (a dependency the host has) stay the host's."""
    arch = "x86_64-linux-gnu"
    monkeypatch.setattr(revalidate, "_triplet", lambda: arch)
    monkeypatch.setattr(revalidate, "SYSROOTS", tmp_path / "sysroots")
    monkeypatch.setattr(revalidate, "_HOST_TOOLS", ("dpkg-deb",))
    deb = _foo_deb(tmp_path, arch)
    monkeypatch.setattr(revalidate, "_closure", lambda packages: ["libfoo-dev"])

    def download(names: Sequence[str], into: Path) -> dict[str, Path]:
        return {"libfoo-dev": Path(shutil.copy(deb, into))}

    monkeypatch.setattr(revalidate, "_download", download)
    root = revalidate.sysroot(["libfoo-dev"])
    usr = root.root / "usr"
    # a root unpacked before config tools were wrapped is not reused
    assert root.root.name != hashlib.sha256(b"libfoo-dev").hexdigest()[:16]
    env = root.build_env(os.environ)

    def config(tool: str, *args: str) -> str:
        out = subprocess.run([tool, *args], capture_output=True, text=True, env=env,
                             check=True)
        return out.stdout

    assert config("foo_config", "--cflags").split() == [
        f"-I{usr}/include/foo", "-I/usr/include/glib-2.0"]
    assert config("foo-config", "--libs").split() == [f"-L{usr}/lib/{arch}/", "-lfoo",
                                                      "-lglib-2.0"]
    assert config("foo_config", "--variable=includedir") == f"{usr}/include/foo\n"
    assert config("foo_config", "--prefix") == f"{usr}\n"
    assert config("foo_config", "--paths").split() == [
        str(usr), f"{usr}/include/foo", f"{usr}/share/foo/x", f"'{usr}/include/foo'"]
    assert config("foo_config", "--name") == "foo_config\n"  # the real tool keeps its name
    assert config("foo_config", "--nothing") == ""
    failed = subprocess.run([str(usr / "bin" / "foo_config"), "--bogus"], capture_output=True,
                            text=True, check=False)
    assert (failed.returncode, failed.stdout, failed.stderr) == (1, "", "usage: foo_config\n")
    assert os.readlink(usr / "bin" / "foo-config") == "foo_config"
    # wrapping is idempotent: a second pass leaves the wrapper as it is
    before = (usr / "bin" / "foo_config").read_text()
    revalidate._relocate(root.root)
    assert (usr / "bin" / "foo_config").read_text() == before
    assert config("foo_config", "--cflags").split()[0] == f"-I{usr}/include/foo"
    # and a build that believes the tool finds the header
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is not None:
        src = tmp_path / "t.c"
        src.write_text('#include "foo.h"\nint main(void) { return FOO - 42; }\n')
        cflags = config("foo_config", "--cflags").split()
        subprocess.run([cc, *cflags, "-c", str(src), "-o", str(tmp_path / "t.o")],
                       check=True, capture_output=True, env=env)


def test_sysroot_environment() -> None:
    root = revalidate.Sysroot(Path("/r"), "x86_64-linux-gnu", ("libfoo-dev",), ())
    env = root.build_env({"PATH": "/usr/bin", "PKG_CONFIG_PATH": "/opt/pc"})
    assert env["CPATH"] == "/r/usr/include:/r/usr/include/x86_64-linux-gnu"
    assert env["LIBRARY_PATH"] == "/r/usr/lib/x86_64-linux-gnu:/r/lib/x86_64-linux-gnu"
    assert env["PATH"] == "/r/usr/bin:/usr/bin"
    assert env["PKG_CONFIG_PATH"].startswith("/r/usr/lib/x86_64-linux-gnu/pkgconfig:")
    assert env["PKG_CONFIG_PATH"].endswith(":/opt/pc")
    assert root.run_env()["GI_TYPELIB_PATH"].startswith(
        "/r/usr/lib/x86_64-linux-gnu/girepository-1.0:/r/usr/lib/girepository-1.0")


def test_reuse_needs_identical_system_packages() -> None:
    base = {"python": "3.8", "requirements": ["b", "a"]}
    assert hg29k.emitted(base) == hg29k.emitted({**base, "system_packages": []})
    assert hg29k.emitted({**base, "system_packages": ["x", "y"]}) == \
        hg29k.emitted({"python": "3.8", "requirements": ["a", "b"], "system_packages": ["y", "x"]})
    assert hg29k.emitted(base) != hg29k.emitted({**base, "system_packages": ["portaudio19-dev"]})


def test_reuse_needs_identical_build_constraints() -> None:
    base = {"python": "3.8", "requirements": ["anyjson==0.3.3"]}
    assert hg29k.emitted(base) != hg29k.emitted({**base, "build_constraints": ["setuptools<58"]})


def test_sysroot_keeps_header_packages_the_host_has(monkeypatch: pytest.MonkeyPatch) -> None:
    # cairo's headers include "xcb.h" by relative path: libxcb1-dev must be in the root
    # even though the host has it; the host's runtime libraries stay out
    depends = "libcairo2-dev\n  Depends: libxcb1-dev\nlibxcb1-dev\n  Depends: libxcb1\nlibxcb1\n"
    monkeypatch.setattr(revalidate, "_installed", lambda: {"libxcb1-dev", "libxcb1"})
    monkeypatch.setattr(revalidate.subprocess, "run", lambda argv, **_: subprocess.CompletedProcess(
        argv, 0, depends, ""))
    assert revalidate._closure(["libcairo2-dev"]) == ["libcairo2-dev", "libxcb1-dev"]


def test_build_applies_the_emitted_build_constraints(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        seen.append([str(a) for a in argv])
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(revalidate, "_interpreter", lambda python: "/usr/bin/python3")
    monkeypatch.setattr(revalidate.subprocess, "run", fake_run)
    assert revalidate.build("3.8", ["anyjson==0.3.3"], tmp_path / "env", tmp_path,
                            build_constraints=["setuptools<58"]) is None
    install = seen[-1]
    at = install.index("--build-constraints")
    assert Path(install[at + 1]).read_text() == "setuptools<58\n"
    seen.clear()
    assert revalidate.build("3.8", ["six==1.0"], tmp_path / "env2", tmp_path) is None
    assert "--build-constraints" not in seen[-1]


def test_only_finished_gists_with_a_changed_environment_are_checked_again() -> None:
    done = {"python": "3.8", "requirements": ["a==1"]}
    changed = {"python": "3.8", "requirements": ["a==2"]}
    results = {"same": done, "changed": changed, "new": done}
    checks = {"same": {"passed": True, "emitted": list(hg29k.emitted(done))},
              "changed": {"passed": False, "emitted": list(hg29k.emitted(done))},
              "unfinished": {"passed": False, "category": "no-environment"}}
    names = ["same", "changed", "new", "unfinished"]
    assert hg29k.to_check(names, results, checks) == ["changed", "new"]


def test_disk_report_reads_the_batch_log(tmp_path: Path) -> None:
    """Growth per gist is the cache's size after it minus the size logged before it; an
    eviction starts a new baseline (its bytes are not a gist's)."""
    from driftdoc.env.search.warden import CacheWarden

    mib = 1024**2
    log = tmp_path / "disk.csv"
    warden = CacheWarden(log)
    for event, name, size, evicted in [("start", "", 100, 0), ("snippet", "a", 400, 0),
                                       ("sample", "", 420, 0),  # not a baseline
                                       ("snippet", "b", 450, 0), ("evict", "", 150, 300),
                                       ("snippet", "c", 350, 300), ("end", "", 350, 300)]:
        warden._last = (size * mib, 0, 500 * mib)
        warden.evicted = evicted * mib
        warden._row(event, name)
    lines = hg29k.disk_report(log)
    assert "peak 0.44 GiB" in lines[0] and "evicted 0.29 GiB" in lines[0]
    assert "3 gists" in lines[1] and "median 200 MiB" in lines[1]
    assert "largest: a 300 MiB, c 200 MiB, b 50 MiB" in lines[1]
    assert hg29k.disk_report(tmp_path / "none.csv")[0].startswith("disk: no disk.csv")


def test_hg29k_runs_the_driftdoc_of_its_own_interpreter() -> None:
    """``.venv/bin/python benchmarks/hg29k.py`` without an activated venv: PATH has no
    driftdoc (or another checkout's), the interpreter's own bin dir has the right one."""
    cmd = hg29k.driftdoc_command()
    assert cmd[0] in (str(Path(sys.executable).parent / "driftdoc"), sys.executable)
    proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout
