"""A battery of hostile snippets and pipelines: each attempt fails, and each run that a limit
ends is classified and named in its record. Every claim is checked on the host as well.

The snippets run through ``validate`` (``driftdoc validate``/``run``), the pipelines through
``PipelineRunner`` (``driftdoc debug``): the two halves share one sandbox and one policy.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.env.toolchain.build import BuiltEnv, ensure_env
from driftdoc.env.validation.failure import classify
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.env.validation.validate import validate
from driftdoc.model import Instance, Outcome
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.spec import load_spec
from support.fixtures import *  # noqa: F403
from support.fixtures import can_sandbox, python3_version
from support.index import LocalIndex
from support.schema import assert_valid

PY3 = python3_version((3, 8))
pytestmark = [
    pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed"),
    pytest.mark.skipif(not can_sandbox(), reason="bubblewrap is missing or cannot sandbox here"),
]
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def env(fake_index: LocalIndex, driftdoc_cache: Path) -> BuiltEnv:
    assert PY3 is not None
    built = ensure_env(PY3, ["helper-pkg==1.0"], index_url=fake_index.url)
    assert built.ok, built.install_errors
    return built


@pytest.fixture()
def planted() -> Iterator[Path]:
    """A secret in the real home folder of the user running the tests."""
    path = Path.home() / f".driftdoc-hostile-{uuid.uuid4().hex[:8]}"
    path.write_text("PLANTED-SECRET-" + uuid.uuid4().hex)
    try:
        yield path
    finally:
        path.unlink()


@pytest.fixture()
def listener() -> Iterator[int]:
    """A TCP service on the host's loopback that accepts and answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.sendall(b"HOST-SERVICE")
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    srv.close()


# A probe that tries everything a hostile snippet would, and reports each attempt as
# "ALLOWED: ..." or "denied: <exception>". It is valid on Python 2.7 and 3.x.
PROBE = r'''
import json, os, socket, sys
report = {}
def attempt(name, fn):
    try:
        report[name] = "ALLOWED: " + repr(fn())[:300]
    except Exception as exc:
        report[name] = "denied: " + type(exc).__name__
def read(path):
    with open(path) as fh:
        return fh.read()
def write(path):
    with open(path, "w") as fh:
        fh.write("hostile")
    return path
def connect(host, port):
    s = socket.create_connection((host, port), timeout=2)
    return s.recv(64)
attempt("read /etc/shadow", lambda: read("/etc/shadow"))
attempt("read planted", lambda: read(PLANTED))
attempt("list home", lambda: sorted(os.listdir(HOST_HOME)))
attempt("read other work dir", lambda: sorted(os.listdir(OTHER)))
attempt("host loopback", lambda: connect("127.0.0.1", PORT))
attempt("internet", lambda: connect("1.1.1.1", 53))
attempt("dns", lambda: socket.getaddrinfo("pypi.org", 443))
for target in WRITES:
    attempt("write " + target, lambda t=target: write(t))
attempt("setuid 0", lambda: os.setuid(0))
status = read("/proc/self/status")
fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
report["uid"] = os.getuid()
report["gid"] = os.getgid()
report["groups"] = os.getgroups()
report["caps"] = [fields[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
report["no_new_privs"] = fields.get("NoNewPrivs", "").strip()
report["pids"] = len([p for p in os.listdir("/proc") if p.isdigit()])
report["root_fs"] = read("/proc/self/mounts").splitlines()[0]
report["etc"] = sorted(os.listdir("/etc"))
report["env"] = sorted(os.environ)
sys.stdout.write("REPORT" + json.dumps(report) + "\n")
'''


def probe_source(planted: Path, other: Path, port: int, writes: list[str]) -> str:
    head = (f"PLANTED = {str(planted)!r}\nHOST_HOME = {str(Path.home())!r}\n"
            f"OTHER = {str(other)!r}\nPORT = {port}\nWRITES = {writes!r}\n")
    return head + PROBE


def parse_report(text: str) -> dict[str, Any]:
    line = next(ln for ln in text.splitlines() if ln.startswith("REPORT"))
    data: dict[str, Any] = json.loads(line[len("REPORT"):])
    return data


def allowed_home_entries(*paths: Path) -> set[str]:
    """Names under $HOME that the sandbox shows only because a mount lies below them."""
    home = Path.home()
    out = set()
    for path in paths:
        real = Path(os.path.realpath(path))
        if home in real.parents:
            out.add(real.relative_to(home).parts[0])
    return out


def assert_contained(report: dict[str, Any], secret: str, visible_home: set[str]) -> None:
    """The common verdicts on a probe report, for snippets and pipelines alike."""
    for name in ("read /etc/shadow", "read planted", "read other work dir", "host loopback",
                 "internet", "dns", "setuid 0"):
        assert report[name].startswith("denied"), (name, report[name])
    listing = report["list home"]
    if listing.startswith("ALLOWED"):  # only folders leading to mounted interpreters
        shown = set(json.loads(listing[len("ALLOWED: "):].replace("'", '"')))
        assert shown <= visible_home, shown
    assert all(report[k].startswith("denied") for k in report if k.startswith("write "))
    assert report["uid"] == 1000 and report["gid"] == 1000 and report["groups"] in ([], [1000])
    assert report["caps"] == ["0000000000000000"] * 5
    assert report["no_new_privs"] == "1"
    assert report["pids"] < 20  # its own PID namespace, not the host's processes
    assert report["root_fs"].startswith("tmpfs / tmpfs ro"), report["root_fs"]
    assert "shadow" not in report["etc"] and "gshadow" not in report["etc"]
    assert not any(k.startswith(("AWS", "GITHUB", "SSH_", "DRIFTDOC_CACHE")) for k in report["env"])
    assert secret not in json.dumps(report)


def snippet(tmp_path: Path, source: str, name: str = "hostile.py") -> Path:
    folder = tmp_path / "gist"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def limit_named(rec: ValidationRecord, limit: str) -> None:
    assert rec.execution.killed_by == limit, rec.to_v2_json()
    assert rec.sandbox is not None and rec.sandbox["killed_by"] == limit
    verdict = classify(rec)
    assert limit in verdict.reason, verdict


# ------------------------------------------------------------------ snippets


def test_hostile_snippet_sees_nothing_of_the_host(tmp_path: Path, env: BuiltEnv,
                                                  planted: Path, listener: int) -> None:
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "secret.txt").write_text("OTHER-RUN-SECRET")
    site = env.site_packages
    assert site is not None
    gist = tmp_path / "gist"
    writes = ["/etc/evil", "/usr/evil", "/evil", str(site / "evil.py"), str(gist / "evil"),
              str(Path.home() / "evil"), str(env.path / "evil")]
    before = sorted(p.name for p in site.iterdir())
    rec = validate(snippet(tmp_path, probe_source(planted, other, listener, writes)), env,
                   timeout=30)
    assert rec.status_code == "Success", rec.to_v2_json()
    report = parse_report(rec.execution.stdout_tail)
    visible = allowed_home_entries(env.path, env.python_exe, Path(os.path.realpath(env.python_exe)))
    assert_contained(report, planted.read_text(), visible)
    assert sorted(p.name for p in site.iterdir()) == before
    assert sorted(p.name for p in gist.iterdir()) == ["hostile.py"]
    assert not (Path.home() / "evil").exists() and not Path("/evil").exists()
    assert rec.sandbox is not None and rec.sandbox["mode"] == "bwrap"


def test_snippet_cannot_leave_processes_behind(tmp_path: Path, env: BuiltEnv) -> None:
    marker = "driftdoc-daemon-" + uuid.uuid4().hex[:10]
    source = f"""
    import os, sys, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c",
                     "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                     "time.sleep(600)", "{marker}"])
        os._exit(0)
    time.sleep(0.5)
    print("parent done")
    """
    rec = validate(snippet(tmp_path, source), env, timeout=20)
    assert "parent done" in rec.execution.stdout_tail
    time.sleep(0.3)
    assert not _processes_with(marker)


def test_memory_spread_over_children_is_one_budget(tmp_path: Path, env: BuiltEnv) -> None:
    source = """
    import os, time
    kids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = b"x" * (300 << 20)   # 4 x 300 MB: each under the limit, not together
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    print("held 1.2 GB")
    """
    start = time.perf_counter()
    rec = validate(snippet(tmp_path, source), env, timeout=60, memory_mb=1024)
    assert time.perf_counter() - start < 30
    assert "held 1.2 GB" not in rec.execution.stdout_tail
    assert rec.status_code != "Success"
    limit_named(rec, "memory")


def test_fork_bomb_is_stopped_and_named(tmp_path: Path, env: BuiltEnv) -> None:
    source = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    start = time.perf_counter()
    rec = validate(snippet(tmp_path, source), env, timeout=60)
    assert time.perf_counter() - start < 30
    limit_named(rec, "processes")
    assert rec.sandbox is not None and rec.sandbox["tasks_peak"] <= 300


def test_disk_filler_is_named(tmp_path: Path, env: BuiltEnv) -> None:
    source = """
    with open("fill", "wb") as fh:
        while True:
            fh.write(b"x" * (1 << 20))
    """
    rec = validate(snippet(tmp_path, source), env, timeout=60)
    limit_named(rec, "disk")


def test_sandbox_none_is_written_in_the_record(tmp_path: Path, env: BuiltEnv) -> None:
    rec = validate(snippet(tmp_path, "print('hi')\n"), env, sandbox="none")
    assert rec.status_code == "Success"
    assert rec.to_v2_json()["sandbox"]["mode"] == "none"
    again = ValidationRecord.from_v2_json(json.loads(json.dumps(rec.to_v2_json())))
    assert again.sandbox == rec.sandbox


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


# ------------------------------------------------------------------ pipelines


def pipeline(tmp: Path, job: str, extra: str = "", params: str = 'x = ["a"]') -> PipelineRunner:
    (tmp / "job.py").write_text(textwrap.dedent(job))
    spec = tmp / "driftdoc.toml"
    spec.write_text(f"[parameters]\n{params}\n[pipeline]\n"
                    f'command = "{sys.executable} job.py {{x}}"\ninputs = ["job.py"]\n{extra}\n')
    return PipelineRunner(load_spec(spec))


def run_one(runner: PipelineRunner, **params: object) -> Outcome:
    return runner(Instance(params.items()))  # type: ignore[arg-type]


def test_hostile_pipeline_sees_nothing_of_the_host(tmp_path: Path, planted: Path,
                                                   listener: int) -> None:
    project = tmp_path / "project"
    project.mkdir()
    # an earlier run of the same pipeline kept its work dir, with a secret in it
    keeper = pipeline(project, "open('secret.txt', 'w').write('OTHER-RUN-SECRET')\n",
                      "keep_runs = true")
    kept = run_one(keeper, x="a")
    assert kept.succeeded, kept
    other = Path(kept.details["workdir"])
    assert (other / "secret.txt").read_text() == "OTHER-RUN-SECRET"
    writes = [str(project / "evil"), str(project / "job.py"), "/etc/evil", "/usr/evil",
              str(Path.home() / "evil"), str(Path(sys.prefix) / "evil")]
    runner = pipeline(project, probe_source(planted, other, listener, writes))
    out = run_one(runner, x="a")
    assert out.succeeded, out
    report = parse_report(out.details["stdout"])
    visible = allowed_home_entries(Path(sys.executable), Path(sys.prefix), Path(sys.base_prefix))
    assert_contained(report, planted.read_text(), visible)
    assert "OTHER-RUN-SECRET" not in json.dumps(out.details)
    assert not (project / "evil").exists() and not (Path(sys.prefix) / "evil").exists()
    assert out.details["sandbox"]["mode"] == "bwrap"


def test_pipeline_limits_are_named(tmp_path: Path) -> None:
    job = """
    import os, sys, time
    x = sys.argv[1]
    if x == "children":
        for _ in range(4):
            if os.fork() == 0:
                block = b"x" * (200 << 20)
                time.sleep(60)
                os._exit(0)
        os.wait()
    if x == "bomb":
        while True:
            try:
                os.fork()
            except OSError:
                pass
    if x == "daemon":
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)",
                                      MARKER])
        time.sleep(0.3)
    """
    marker = "driftdoc-pipeline-daemon-" + uuid.uuid4().hex[:8]
    runner = pipeline(tmp_path, f"MARKER = {marker!r}\n" + textwrap.dedent(job),
                      "timeout = 60\nmemory_mb = 512",
                      params='x = ["children", "bomb", "daemon"]')
    children = run_one(runner, x="children")
    assert children.category == "memory", children
    assert children.details["sandbox"]["killed_by"] == "memory"
    bomb = run_one(runner, x="bomb")
    assert bomb.category == "processes", bomb
    assert bomb.details["sandbox"]["killed_by"] == "processes"
    daemon = run_one(runner, x="daemon")
    assert daemon.succeeded, daemon
    time.sleep(0.3)
    assert not _processes_with(marker)


# ------------------------------------------------------------------ the host's view


@pytest.mark.skipif(not ROOT, reason="the host uid differs from driftdoc's only under root")
def test_run_started_by_root_is_not_root_on_the_host(tmp_path: Path) -> None:
    from driftdoc.sandbox import Policy, run_sandboxed

    marker = "driftdoc-uid-probe-" + uuid.uuid4().hex[:8]
    code = ("import time; open('ready', 'w').write('1'); time.sleep(3)")
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(run_sandboxed(
        [sys.executable, "-c", code, marker], workdir=tmp_path, policy=Policy())))
    thread.start()
    deadline = time.time() + 20
    while not (tmp_path / "ready").exists() and time.time() < deadline:
        time.sleep(0.05)
    owner = (tmp_path / "ready").stat().st_uid
    uids = []
    for pid in _processes_with(marker):
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        if argv0 != sys.executable:
            continue  # bwrap and its helpers carry the command line too
        status = Path(f"/proc/{pid}/status").read_text()
        uids += next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1:]
    thread.join()
    assert owner != 0 and uids and "0" not in uids, (owner, uids)
    assert result[0].ok
    # the work dir is handed back to driftdoc's user afterwards
    assert (tmp_path / "ready").stat().st_uid == os.getuid()


@pytest.mark.parametrize("mode", ["none", "bwrap"])
def test_run_writes_the_sandbox_mode_in_its_result(tmp_path: Path, fake_index: LocalIndex,
                                                   driftdoc_cache: Path, mode: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from driftdoc.cli import main

    assert PY3 is not None
    path = snippet(tmp_path, "import json\nprint(json.dumps([1]))\n")
    capsys.readouterr()
    store = tmp_path / "store.db"  # shared: a sandboxed run never reuses an unboxed verdict
    for first in ("none", "bwrap"):
        main(["run", str(path), "--format", "json", "--quiet", "--sandbox", first,
              "--python", PY3, "--index-url", fake_index.url, "--store", str(store)])
    capsys.readouterr()
    rc = main(["run", str(path), "--format", "json", "--quiet", "--sandbox", mode,
               "--python", PY3, "--index-url", fake_index.url, "--store", str(store)])
    result = json.loads(capsys.readouterr().out)
    assert rc == 0, result
    assert result["sandbox"] == mode
    assert result["final"]["sandbox"]["mode"] == mode
    assert_valid(result)
