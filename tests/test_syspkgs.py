"""System packages: a rootless prefix of unpacked Debian packages, and the search move
that asks for one. The prefix tests build their own tiny .deb, so they stay offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pytest

from driftdoc.env.emit.files import dockerfile, requirements_txt
from driftdoc.env.search.result import EnvResult
from driftdoc.env.toolchain import syspkgs
from driftdoc.env.toolchain.syspkgs import SystemPackagesError, ensure_root, needed_for

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def _deb(tmp: Path) -> Path:
    """A package the way Debian lays out a -dev package: headers in a subdirectory, a .pc
    file and a config tool that both say /usr, and an absolute symlink."""
    arch = syspkgs.multiarch()
    tree = tmp / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: libfoo-dev\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n")
    inc = tree / "usr" / "include" / "foo"
    inc.mkdir(parents=True)
    (inc / "foo.h").write_text("#define FOO 42\n")
    lib = tree / "usr" / "lib" / arch
    (lib / "pkgconfig").mkdir(parents=True)
    (lib / "libfoo.so.1").write_text("not really a library\n")
    (lib / "libfoo.so").symlink_to(f"/usr/lib/{arch}/libfoo.so.1")
    (lib / "pkgconfig" / "foo.pc").write_text(
        "prefix=/usr\nincludedir=${prefix}/include/foo\n"
        "foo_api=/usr/share/foo/foo-api.xml\nhost_tool=/usr/bin/env\n"
        "Name: foo\nDescription: x\nVersion: 1.0\nCflags: -I${includedir}\n")
    (tree / "usr" / "share" / "foo").mkdir(parents=True)
    (tree / "usr" / "share" / "foo" / "foo-api.xml").write_text("<api/>\n")
    bindir = tree / "usr" / "bin"
    bindir.mkdir(parents=True)
    tool = bindir / "foo_config"
    tool.write_text("#!/bin/sh\necho -I/usr/include/foo -L/usr/lib/x -lfoo\n")
    tool.chmod(0o755)
    out = tmp / "libfoo-dev_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(out)], check=True,
                   capture_output=True)
    return out


@needs_dpkg
def test_prefix_is_relocated_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    deb = _deb(tmp_path)
    fetched: list[Sequence[str]] = []

    def fetch(packages: Sequence[str], into: Path) -> list[Path]:
        fetched.append(packages)
        return [Path(shutil.copy(deb, into))]

    root = ensure_root(["libfoo-dev"], fetch=fetch)
    usr = root.path / "usr"
    arch = syspkgs.multiarch()
    pc = (usr / "lib" / arch / "pkgconfig" / "foo.pc").read_text()
    assert f"prefix={root.path}/usr" in pc
    # a package's own variables move too (libvirt.pc names its API file), not the host's
    assert f"foo_api={root.path}/usr/share/foo/foo-api.xml" in pc
    assert "host_tool=/usr/bin/env\n" in pc
    link = usr / "lib" / arch / "libfoo.so"
    assert os.readlink(link).startswith(str(root.path))
    assert link.read_text() == "not really a library\n"
    flags = subprocess.run([str(usr / "bin" / "foo_config")], capture_output=True, text=True,
                           check=True).stdout
    assert flags.split() == [f"-I{usr}/include/foo", f"-L{usr}/lib/x", "-lfoo"]
    if shutil.which("pkg-config"):
        env = root.build_env({"PATH": os.environ["PATH"]})
        cflags = subprocess.run(["pkg-config", "--cflags", "foo"], capture_output=True,
                                text=True, env=env, check=True).stdout.strip()
        assert cflags == f"-I{usr}/include/foo"
    env = root.build_env({"PATH": "/usr/bin", "CPATH": "/elsewhere"})
    assert env["CPATH"].split(":")[0] == str(usr / "include")
    assert env["CPATH"].endswith(":/elsewhere")
    assert env["PATH"].split(":") == [str(usr / "bin"), "/usr/bin"]
    assert str(usr / "lib" / arch) in env["LD_LIBRARY_PATH"].split(":")
    # typelibs: where most gir1.2 packages put them, and where some (Vips-8.0) do
    assert env["GI_TYPELIB_PATH"].split(":") == [str(usr / "lib" / arch / "girepository-1.0"),
                                                 str(usr / "lib" / "girepository-1.0")]
    # a second ask is answered from the cache
    again = ensure_root(["libfoo-dev", "libfoo-dev"], fetch=fetch)
    assert again.path == root.path and len(fetched) == 1


def test_failed_fetch_leaves_nothing_behind(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))

    def fetch(packages: Sequence[str], into: Path) -> list[Path]:
        raise SystemPackagesError("could not download libnope-dev")

    with pytest.raises(SystemPackagesError, match="libnope-dev"):
        ensure_root(["libnope-dev"], fetch=fetch)
    assert not list((tmp_path / "cache" / "sysroot").glob("*/*"))
    with pytest.raises(SystemPackagesError, match="not a Debian package name"):
        ensure_root(["Bad Name; rm -rf /"], fetch=fetch)


def test_knowledge_names_are_debian_package_names() -> None:
    raw = resources.files("driftdoc.data").joinpath(syspkgs.DATA_FILE).read_text()
    data = json.loads(raw)
    table = {**data["distributions"], **{f"gi:{k}": v for k, v in data["typelibs"].items()}}
    assert needed_for("MySQL-python==1.2.5") == ("default-libmysqlclient-dev",)
    assert needed_for("PyAudio") == ("portaudio19-dev",)
    assert needed_for("PyBluez") == ("libbluetooth-dev",)
    assert needed_for("requests") == ()
    names = {p for packages in table.values() for p in packages}
    assert all(re.match(r"^[a-z0-9][a-z0-9.+-]+$", p) for p in names)
    if shutil.which("apt-cache") is None:
        return
    known = subprocess.run(["apt-cache", "show", "--no-all-versions", *sorted(names)],
                           capture_output=True, text=True, check=False).stdout
    if "Package:" not in known:
        return  # no package lists on this machine (apt-get update never ran)
    listed = set(re.findall(r"^Package: (\S+)$", known, re.MULTILINE))
    assert names <= listed, sorted(names - listed)


def test_emitted_files_install_the_system_packages() -> None:
    result = EnvResult("snippet.py", "resolved", "3.8", ["pyaudio==0.2.14"], 2, 1.0,
                       system_packages=["portaudio19-dev"])
    docker = dockerfile(result)
    assert "apt-get install -y --no-install-recommends portaudio19-dev" in docker
    assert docker.index("apt-get") < docker.index("pip")
    assert "# system packages (Debian): portaudio19-dev" in requirements_txt(result)
    assert EnvResult.from_json(result.to_json()).system_packages == ["portaudio19-dev"]


@pytest.mark.network
@needs_dpkg
def test_real_debian_package_builds_pyaudio(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's archive and PyPI: PortAudio's headers let PyAudio compile, and the run
    finds the library through the same prefix."""
    if not syspkgs.available():
        pytest.skip("no apt tools here")
    from driftdoc.env.host.interpreters import interpreter_path
    from driftdoc.env.toolchain.build import ensure_env

    if interpreter_path("3.11") is None:
        pytest.skip("needs Python 3.11")
    root = ensure_root(["portaudio19-dev"])
    env = ensure_env("3.11", ["pyaudio==0.2.14"], system=root)
    assert env.ok, env.install_errors
    run = subprocess.run([str(env.python_exe), "-c", "import pyaudio"], capture_output=True,
                         text=True, env={**os.environ, **root.run_env()}, check=False)
    assert run.returncode == 0, run.stderr


def test_host_headers_join_a_shared_header_directory(tmp_path: Path) -> None:
    """``xcb/render.h`` unpacked includes ``"xcb.h"`` from its own directory, which the
    host's libxcb1-dev provides: the host file must appear beside it."""
    host, root = tmp_path / "host", tmp_path / "root"
    (host / "usr" / "include" / "xcb").mkdir(parents=True)
    (host / "usr" / "include" / "xcb" / "xcb.h").write_text("/* host */\n")
    (host / "usr" / "include" / "stdio.h").write_text("/* top level: left alone */\n")
    (root / "usr" / "include" / "xcb").mkdir(parents=True)
    (root / "usr" / "include" / "xcb" / "render.h").write_text('#include "xcb.h"\n')
    syspkgs._merge_host_headers(root, host)
    assert (root / "usr/include/xcb/xcb.h").read_text() == "/* host */\n"
    assert (root / "usr/include/xcb/render.h").read_text() == '#include "xcb.h"\n'
    assert not (root / "usr/include/stdio.h").exists()


def test_builds_with_a_prefix_keep_their_own_package_caches(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A wheel built against the prefix's headers must not serve a later build without them
    (it would 'install' there, and the emitted environment would omit the packages)."""
    from driftdoc.env.toolchain import py27

    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    root = syspkgs.SystemRoot(tmp_path / "sysroot" / "abc123", ("libfoo-dev",))
    base = {"UV_CACHE_DIR": str(tmp_path / "uv"), "PIP_CACHE_DIR": str(tmp_path / "pip"),
            "PATH": "/usr/bin"}
    plain = syspkgs.build_env(None, base)
    assert plain["UV_CACHE_DIR"] == base["UV_CACHE_DIR"]
    with_root = syspkgs.build_env(root, base)
    for name in ("UV_CACHE_DIR", "PIP_CACHE_DIR"):
        assert with_root[name] != base[name]
        assert Path(with_root[name]).name == "abc123"
    assert py27.py27_wheelhouse(root) != py27.py27_wheelhouse()
    # a wheel built against the prefix is offered to builds with it, never to builds without
    whl = py27.py27_wheelhouse(root) / "foo-1.0-cp27-cp27mu-linux_x86_64.whl"
    whl.write_bytes(b"")
    assert "foo==1.0" in py27._py27_wheels(root)
    assert "foo==1.0" not in py27._py27_wheels(None)
