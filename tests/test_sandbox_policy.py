"""The sandbox's policy and machinery: the minimal root, what a program mounts, the user a
run gets, the error when user namespaces are off, the cgroup path and the watchdog."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from driftdoc.errors import DriftdocError
from driftdoc.sandbox import Limits, Policy, cgroup, launch, run_sandboxed
from driftdoc.sandbox.policy import SYNTHETIC_ETC, mount_args
from driftdoc.sandbox.programs import resolve_program
from driftdoc.sandbox.watchdog import TreeWatch, walk
from support.fixtures import can_sandbox

needs_bwrap = pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot sandbox here")
PY = sys.executable


def _run(code: str, tmp: Path, **kw: object) -> bytes:
    res = run_sandboxed([PY, "-c", textwrap.dedent(code)], workdir=tmp, **kw)  # type: ignore[arg-type]
    assert res.returncode == 0, res
    return res.stdout_tail


# ------------------------------------------------------------------ the minimal root


def test_mount_plan_starts_empty_and_ends_read_only(tmp_path: Path) -> None:
    plan = mount_args(Policy(), workdir=tmp_path, workdir_mode="bind", seeds=(),
                      program_paths=(), tmp_bytes=1 << 20, shm_bytes=1 << 20)
    try:
        args = plan.args
        pairs = list(itertools.pairwise(args))
        assert ("--ro-bind", "/") not in pairs  # never the host root
        assert ("--ro-bind", "/usr") in pairs
        assert not any(a.startswith("/root") or a.startswith("/home") for a in args)
        assert not any("shadow" in a or "ssl/private" in a for a in args)
        assert args[-2:] == ["--remount-ro", "/"]
        files = [args[i + 2] for i, a in enumerate(args) if a == "--file"]
        assert {f"/etc/{name}" for name in SYNTHETIC_ETC} <= set(files)
        assert all(f.startswith("/etc/") for f in files)
    finally:
        plan.close()


@needs_bwrap
def test_etc_holds_only_the_sandbox_user(tmp_path: Path) -> None:
    out = _run("""
        import json, os, pwd, grp, socket, getpass
        print(json.dumps({
            "users": sorted(p.pw_name for p in pwd.getpwall()),
            "groups": sorted(g.gr_name for g in grp.getgrall()),
            "me": getpass.getuser(), "host": socket.gethostname(),
            "localhost": socket.gethostbyname("localhost"),
            "home": os.path.expanduser("~"),
            "certs": os.path.exists("/etc/ssl/certs"),
            "devices": [open("/dev/null", "w").write("x"), len(open("/dev/urandom", "rb").read(4)),
                        len(os.urandom(4)), open("/dev/zero", "rb").read(1) == b"\\0"],
            "shm": open("/dev/shm/x", "w").write("ok"),
        }))
    """, tmp_path)
    info = json.loads(out)
    assert info["users"] == ["nobody", "root", "sandbox"]
    assert info["groups"] == ["nogroup", "root", "sandbox"]
    assert info["me"] == "sandbox" and info["host"] == "sandbox"
    assert info["localhost"] == "127.0.0.1" and info["home"] == "/tmp/work"
    assert info["certs"] == os.path.exists("/etc/ssl/certs")
    assert info["devices"] == [1, 4, 4, True]


@needs_bwrap
def test_only_the_interpreters_own_folder_is_visible(tmp_path: Path) -> None:
    real = Path(os.path.realpath(PY))
    prefix = real.parent.parent
    out = _run(f"import os, json; print(json.dumps(os.listdir({str(prefix.parent)!r})))",
               tmp_path)
    assert json.loads(out) == [prefix.name]  # one pyenv version, not the whole root


def _fake_prefix(root: Path, name: str) -> Path:
    prefix = root / name
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.9").mkdir(parents=True)
    (prefix / "lib" / "python3.9" / "os.py").write_text("")
    exe = prefix / "bin" / "python3.9"
    exe.write_text("")
    exe.chmod(0o755)
    return prefix


def test_program_mounts_follow_a_venv_to_its_base_interpreter(tmp_path: Path) -> None:
    base = _fake_prefix(tmp_path / "pyenv" / "versions", "3.9.1")
    venv = tmp_path / "envs" / "abc"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\n")
    (venv / "bin" / "python").symlink_to(base / "bin" / "python3.9")
    program, mounts = resolve_program(str(venv / "bin" / "python"), {"PATH": "/usr/bin"},
                                      tmp_path)
    assert program == str(venv / "bin" / "python")
    assert mounts == [venv, base] or mounts == [base, venv]
    assert tmp_path / "pyenv" not in mounts


def test_a_program_in_a_home_folder_mounts_only_itself(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "ann"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "share" / "keyrings").mkdir(parents=True)
    tool = home / ".local" / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    program, mounts = resolve_program("tool", {"PATH": f"{home / '.local' / 'bin'}:/usr/bin"},
                                      tmp_path)
    assert program == str(tool) and mounts == [tool]


def test_a_pyenv_shim_is_replaced_by_the_interpreter_it_selects(tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    version = _fake_prefix(root / "versions", "3.9.1")
    (root / "shims").mkdir()
    shim = root / "shims" / "python"
    shim.write_text("#!/bin/sh\nexec pyenv exec python \"$@\"\n")
    shim.chmod(0o755)
    (root / "bin").mkdir()
    pyenv = root / "bin" / "pyenv"
    pyenv.write_text(f"#!/bin/sh\necho {version / 'bin' / 'python3.9'}\n")
    pyenv.chmod(0o755)
    program, mounts = resolve_program("python", {"PATH": f"{root / 'shims'}:/usr/bin"},
                                      tmp_path)
    assert program == str(version / "bin" / "python3.9")
    assert mounts == [version]


@needs_bwrap
def test_shell_commands_find_the_python_a_pyenv_shim_selects(tmp_path: Path) -> None:
    from driftdoc.sandbox import scrubbed_env

    root = tmp_path / "pyenv"
    version = _fake_prefix(root / "versions", "3.9.1")
    (version / "bin" / "python").write_text("#!/bin/sh\necho fake-python-3.9\n")
    (version / "bin" / "python").chmod(0o755)
    (root / "shims").mkdir()
    (root / "shims" / "python").write_text("#!/bin/sh\nexec pyenv exec python\n")
    (root / "bin").mkdir()
    (root / "bin" / "pyenv").write_text(f"#!/bin/sh\necho {version / 'bin' / 'python'}\n")
    for exe in (root / "shims" / "python", root / "bin" / "pyenv"):
        exe.chmod(0o755)
    work = tmp_path / "w"
    work.mkdir()
    res = run_sandboxed(["sh", "-c", "python"], workdir=work,
                        env=scrubbed_env({"PATH": f"{root / 'shims'}:/usr/bin:/bin"}))
    assert res.stdout_tail == b"fake-python-3.9\n", res


def test_a_home_folder_may_not_be_shown(tmp_path: Path) -> None:
    from driftdoc.errors import InputError

    with pytest.raises(InputError, match="home folder"):
        run_sandboxed(["true"], workdir=tmp_path, policy=Policy(ro_binds=(Path.home(),)))


# ------------------------------------------------------------------ the user


@pytest.mark.skipif(os.geteuid() != 0 or not can_sandbox() or not shutil.which("python3"),
                    reason="needs root to start driftdoc as an ordinary user")
def test_unprivileged_driftdoc_uses_one_user_namespace() -> None:
    """driftdoc started by an ordinary user: one bwrap, uid 1000 mapped to that user."""
    import packaging

    import driftdoc

    stage = Path(tempfile.mkdtemp(prefix="driftdoc-unpriv-", dir="/tmp"))
    try:
        shutil.copytree(Path(driftdoc.__file__).parent, stage / "lib" / "driftdoc")
        shutil.copytree(Path(packaging.__file__).parent, stage / "lib" / "packaging")
        work = stage / "work"
        work.mkdir()
        for path in (stage, *stage.rglob("*")):
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir()
                                                             else 0))
        os.chown(work, 65534, 65534)
        script = textwrap.dedent(f"""
            import json, sys
            sys.path.insert(0, {str(stage / 'lib')!r})
            from pathlib import Path
            from driftdoc.sandbox import run_sandboxed
            res = run_sandboxed(["sh", "-c", "id -u; cat /proc/self/uid_map; echo x > f"],
                                workdir=Path({str(work)!r}))
            print(json.dumps([res.returncode, res.stdout_tail.decode(),
                              res.stderr_tail.decode()]))
        """)
        out = subprocess.run(["python3", "-c", script], user=65534, group=65534,
                             extra_groups=[], capture_output=True, text=True, timeout=120,
                             env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}, cwd="/")
        assert out.returncode == 0, out.stderr
        code, stdout, stderr = json.loads(out.stdout)
        assert code == 0, stderr
        assert stdout.split()[0] == "1000"
        assert (work / "f").stat().st_uid == 65534  # the caller's own uid outside
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def test_no_user_namespaces_says_what_to_do(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, "
                    "likely because the kernel does not allow non-privileged user "
                    "namespaces.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(launch, "_checked", None)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(DriftdocError) as info:
        launch.check_bwrap()
    message = str(info.value)
    assert "No permissions to creating new namespace" in message
    assert "kernel.unprivileged_userns_clone=1" in message and "--sandbox none" in message
    assert "\n" not in message
    monkeypatch.setattr(launch, "_checked", None)


# ------------------------------------------------------------------ cgroup v2


def _fake_cgroup(root: Path) -> Path:
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "cgroup.subtree_control").write_text("memory pids\n")
    return root


def test_cgroup_base_only_where_one_may_be_made(tmp_path: Path) -> None:
    mount = _fake_cgroup(tmp_path / "cg")
    _fake_cgroup(mount / "driftdoc")  # the kernel fills a new group's interface files
    assert cgroup.find_base({}, mount=mount, own="/user.slice/x.scope", is_root=True) is None
    assert cgroup.find_base({}, mount=mount, own="/", is_root=False) is None
    assert cgroup.find_base({}, mount=None, own="/", is_root=True) is None
    base = cgroup.find_base({}, mount=mount, own="/", is_root=True)
    assert base == mount / "driftdoc" and base.is_dir()
    delegated = _fake_cgroup(tmp_path / "delegated")
    assert cgroup.find_base({cgroup.ENV_VAR: str(delegated)}) == delegated
    bare = tmp_path / "bare"
    bare.mkdir()
    assert cgroup.find_base({cgroup.ENV_VAR: str(bare)}) is None


def test_cgroup_run_group_limits_joins_and_reports(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    base = _fake_cgroup(tmp_path / "base")
    group = cgroup.RunGroup.create(Limits(memory_mb=64, processes=100), base)
    assert group is not None
    assert (group.path / "memory.max").read_text() == str(64 << 20)
    assert (group.path / "pids.max").read_text() == "100"
    assert (group.path / "memory.oom.group").read_text() == "1"
    assert group.reason() is None
    (group.path / "pids.events").write_text("max 3\n")
    assert group.reason() == "processes"
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n")
    assert group.reason() == "memory"
    # the join prefix moves the command into the group before it execs
    out = subprocess.run([*group.join_argv(), "sh", "-c", "echo $$"], capture_output=True,
                         text=True, check=True)
    assert (group.path / "cgroup.procs").read_text().strip() == out.stdout.strip()


@needs_bwrap
def test_a_run_in_a_cgroup_uses_no_watchdog(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    base = _fake_cgroup(tmp_path / "base")
    made: list[cgroup.RunGroup] = []
    real_create = cgroup.RunGroup.create.__func__  # type: ignore[attr-defined]

    def create(cls: type[cgroup.RunGroup], limits: Limits, _: Path | None = None
               ) -> cgroup.RunGroup | None:
        group = real_create(cls, limits, base)
        if group is not None:
            (group.path / "memory.events").write_text("oom_kill 1\n")
            made.append(group)
        return group

    monkeypatch.setattr(cgroup.RunGroup, "create", classmethod(create))
    monkeypatch.setattr(cgroup.RunGroup, "remove", lambda self: shutil.rmtree(self.path))
    work = tmp_path / "w"
    work.mkdir()
    res = run_sandboxed(["sh", "-c", "exit 3"], workdir=work, limits=Limits(memory_mb=64))
    assert res.limiter == "cgroup" and res.killed_reason == "memory"
    assert made and not made[0].path.exists()


# ------------------------------------------------------------------ the watchdog


def test_watchdog_sees_the_whole_tree() -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 5 & sleep 5 & (sleep 5 &) ; wait"])
    try:
        deadline = time.time() + 5
        while time.time() < deadline and len(walk(proc.pid)) < 3:
            time.sleep(0.02)
        pids = [p[0] for p in walk(proc.pid)]
        assert pids[0] == proc.pid and len(pids) >= 3
        watch = TreeWatch(proc.pid, memory_bytes=1 << 40, max_tasks=3)
        sample = watch.sample()
        assert sample.tasks >= 3 and sample.reason == "processes"
        assert 0 < sample.memory < 1 << 30
    finally:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------ seccomp


def test_seccomp_program_shape() -> None:
    from driftdoc.sandbox import seccomp

    assert seccomp.program("sparc") is None
    for machine in ("x86_64", "aarch64"):
        code = seccomp.program(machine)
        assert code is not None and len(code) % 8 == 0 and len(code) // 8 < 64


@needs_bwrap
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86-64")
def test_seccomp_refuses_keyrings_bpf_and_io_uring(tmp_path: Path) -> None:
    out = _run("""
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        def call(nr, *args):
            ctypes.set_errno(0)
            return libc.syscall(nr, *args), ctypes.get_errno()
        print(json.dumps({
            "keyctl": call(250, 0, -3, 0), "add_key": call(248, 0, 0, 0, 0, 0),
            "bpf": call(321, 0, 0, 0), "io_uring_setup": call(425, 1, 0),
            "x32 getpid": call(0x40000000 + 39), "getppid": call(110),
        }))
    """, tmp_path)
    got = json.loads(out)
    for name in ("keyctl", "add_key", "bpf", "io_uring_setup", "x32 getpid"):
        assert got[name] == [-1, 1], (name, got[name])  # EPERM
    assert got["getppid"][0] > 0
