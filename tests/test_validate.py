"""validate(): end to end in the bubblewrap sandbox, one test per classification and per
isolation property (network, read-only env, work dir only, process-tree kill, memory)."""

from __future__ import annotations

import json
import os
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from driftdoc.env.toolchain.build import BuiltEnv, ensure_env
from driftdoc.env.validation.failure import Kind, classify
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.env.validation.validate import validate, validate_requirements
from support.fixtures import *  # noqa: F403
from support.fixtures import can_sandbox, has_python, python3_version
from support.index import LocalIndex

PY3 = python3_version((3, 8))
pytestmark = [
    pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed"),
    pytest.mark.skipif(not can_sandbox(), reason="bubblewrap is missing or cannot sandbox here"),
]


@pytest.fixture(scope="module")
def env_v2(fake_index: LocalIndex, driftdoc_cache: Path) -> BuiltEnv:
    assert PY3 is not None
    env = ensure_env(PY3, ["drift-pkg==2.0", "helper-pkg==1.0"], index_url=fake_index.url)
    assert env.ok, env.install_errors
    return env


def write(tmp_path: Path, source: str, name: str = "snippet.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def check(tmp_path: Path, env: BuiltEnv, source: str, **kw: object) -> ValidationRecord:
    return validate(write(tmp_path, source), env, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ one test per class

def test_success(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "import driftpkg, helperpkg\nprint(driftpkg.VERSION)\n")
    assert rec.status_code == "Success"
    assert rec.execution.stdout_tail.strip() == "2.0"
    assert classify(rec).category is Kind.SUCCESS


def test_removed_submodule_is_import_error(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "import os\nfrom driftpkg.old import thing\nthing()\n")
    verdict = classify(rec)
    assert verdict.category is Kind.IMPORT and not verdict.env_ok
    assert verdict.responsible == "driftpkg.old"
    assert rec.execution.exception_line_number == 2
    assert rec.execution.exception_file_name == "/tmp/work/snippet.py"


def test_attribute_error_in_package_is_drift(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "import driftpkg\nprint(driftpkg.compute(3))\n")
    verdict = classify(rec)
    assert verdict.category is Kind.DRIFT and not verdict.env_ok
    assert verdict.responsible == "drift-pkg"  # the distribution, from the env's RECORD files
    assert rec.execution.raised_in_package
    assert "site-packages/driftpkg/__init__.py" in (rec.execution.exception_file_name or "")


def test_removed_function_in_snippet_code_is_snippet_error(tmp_path: Path,
                                                           env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "import driftpkg\ndriftpkg.legacy()\n")
    assert rec.execution.exception_name == "AttributeError"
    assert classify(rec).category is Kind.SNIPPET  # raised by the snippet's frame


def test_name_error_is_environment_fine(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "import driftpkg\nprint(undefined_thing)\n")
    verdict = classify(rec)
    assert verdict.category is Kind.SNIPPET and verdict.env_ok


def test_syntax_error(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, "print 'python 2'\n")
    assert classify(rec).category is Kind.SYNTAX


def test_timeout_after_imports_uses_grace(tmp_path: Path, env_v2: BuiltEnv) -> None:
    start = time.perf_counter()
    rec = check(tmp_path, env_v2, "import driftpkg, time\ntime.sleep(60)\n", timeout=30,
                grace=0.5)
    assert time.perf_counter() - start < 10
    verdict = classify(rec)
    assert verdict.category is Kind.TIMEOUT_IMPORTS and verdict.env_ok
    assert rec.execution.timeout_phase == "grace"


def test_timeout_before_imports(tmp_path: Path, env_v2: BuiltEnv) -> None:
    (tmp_path / "slowmod.py").write_text("import time\ntime.sleep(60)\n")  # hangs on import
    rec = check(tmp_path, env_v2, "import driftpkg\nimport slowmod\n", timeout=1, grace=0.2)
    verdict = classify(rec)
    assert verdict.category is Kind.TIMEOUT and not verdict.env_ok


def test_install_failure(tmp_path: Path, fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    snippet = write(tmp_path, "import driftpkg\n")
    rec = validate_requirements(snippet, PY3, ["drift-pkg==8.8"], index_url=fake_index.url)
    verdict = classify(rec)
    assert verdict.category is Kind.INSTALL
    assert verdict.responsible == "drift-pkg==8.8"
    assert rec.to_v2_json()["dependencies"]["status_code"] == "Failed"


def test_validate_requirements_chains_resolve_build_validate(
        tmp_path: Path, fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    snippet = write(tmp_path, "from driftpkg.old import thing\nprint(thing())\n")
    old = validate_requirements(snippet, PY3, ["drift-pkg"], as_of=date(2019, 1, 1),
                                index_url=fake_index.url)
    assert old.status_code == "Success" and old.pins == ["drift-pkg==1.0"]
    new = validate_requirements(snippet, PY3, ["drift-pkg"], index_url=fake_index.url)
    assert classify(new).category is Kind.IMPORT


# ------------------------------------------------------------------ snippet behaviours

def test_sys_exit_codes(tmp_path: Path, env_v2: BuiltEnv) -> None:
    assert check(tmp_path, env_v2, "import sys\nsys.exit(0)\n").status_code == "Success"
    rec = check(tmp_path, env_v2, "import sys\nsys.exit(4)\n")
    assert rec.status_code == "Failed" and rec.execution.exit_code == 4
    assert classify(rec).env_ok


def test_stdin_eof_and_non_utf8_output(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, """\
        import sys, os
        assert sys.stdin.read() == ''
        sys.stdout.buffer.write(b'\\xff\\xfe\\x80 bad bytes\\n')
        sys.stdout.flush()
        os.write(2, b'\\xc3\\x28 stderr\\n')
        sys.stdout.close()
        """)
    assert rec.status_code == "Success", rec.execution
    assert "bad bytes" in rec.execution.stdout_tail
    assert "stderr" in rec.execution.stderr_tail
    json.dumps(rec.to_v2_json())  # always serialisable


def test_notebook(tmp_path: Path, env_v2: BuiltEnv) -> None:
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import driftpkg\n"]},
        {"cell_type": "code", "source": ["!pip install x\n", "print(driftpkg.VERSION)\n",
                                         "driftpkg.compute(1)\n"]},
    ], "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4, "nbformat_minor": 2}
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps(nb))
    rec = validate(path, env_v2)
    assert rec.execution.exception_name == "AttributeError"
    assert rec.execution.stdout_tail.strip() == "2.0"
    assert rec.execution.exception_stack[0][0] == "/tmp/work/analysis.py"
    assert classify(rec).category is Kind.DRIFT


def test_neighbour_files_are_copied_and_huge_ones_skipped(tmp_path: Path,
                                                          env_v2: BuiltEnv) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "helpers.py").write_text("VALUE = 42\n")
    (tmp_path / "huge.bin").write_bytes(b"\0" * (6 * 1024 * 1024))
    rec = check(tmp_path, env_v2, """\
        import os, helpers
        print(open('data.csv').read().splitlines()[1], helpers.VALUE, os.path.exists('huge.bin'))
        """)
    assert rec.status_code == "Success", rec.execution
    assert rec.execution.stdout_tail.strip() == "1,2 42 False"


# ------------------------------------------------------------------ isolation

def test_no_network(tmp_path: Path, env_v2: BuiltEnv, fake_index: LocalIndex) -> None:
    port = fake_index.base.rsplit(":", 1)[1]
    rec = check(tmp_path, env_v2, f"""\
        import socket
        socket.create_connection(('127.0.0.1', {port}), timeout=3)
        """)
    assert rec.execution.exception_name in ("ConnectionRefusedError", "OSError", "timeout")
    assert classify(rec).env_ok  # a network error in the snippet is not the environment's fault


def test_environment_and_host_are_read_only(tmp_path: Path, env_v2: BuiltEnv) -> None:
    site = env_v2.site_packages
    target = tmp_path / "escaped.txt"
    rec = check(tmp_path, env_v2, f"""\
        import errno
        fails = 0
        for path in ({str(site / 'driftpkg' / 'injected.py')!r}, {str(target)!r},
                     '/etc/driftdoc-test', {str(site.parent / 'x.pth')!r}):
            try:
                open(path, 'w').write('x')
            except (IOError, OSError):
                fails += 1
        open('local-output.txt', 'w').write('fine')  # the work dir is writable
        assert fails == 4, fails
        """)
    assert rec.status_code == "Success", rec.execution
    assert not (site / "driftpkg" / "injected.py").exists()
    assert not target.exists()
    assert not (tmp_path / "local-output.txt").exists()  # work dir is a tmpfs copy


def test_child_processes_are_killed_on_timeout(tmp_path: Path, env_v2: BuiltEnv) -> None:
    token = f"driftdoc-sleeper-{os.getpid()}-{time.monotonic_ns()}"
    rec = check(tmp_path, env_v2, f"""\
        import subprocess, time
        subprocess.Popen(['/bin/sh', '-c', 'exec -a {token} sleep 300'],
                         start_new_session=True)
        subprocess.Popen(['/bin/sh', '-c', '(trap "" TERM; exec -a {token} sleep 300) &'])
        time.sleep(60)
        """, timeout=1.5, grace=0)
    assert rec.status_code == "Timeout"
    time.sleep(0.5)
    alive = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmd:
                alive.append(pid)
    assert alive == []


def test_memory_limit(tmp_path: Path, env_v2: BuiltEnv) -> None:
    rec = check(tmp_path, env_v2, """\
        import driftpkg
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(64 * 1024 * 1024))
        print('allocated 4 GiB')
        """, memory_mb=512)
    assert rec.status_code == "Failed"
    assert "allocated" not in rec.execution.stdout_tail
    assert rec.execution.exception_name == "MemoryError" or rec.execution.status_code == "Crash"


def test_parallel_validations_from_threads(tmp_path: Path, env_v2: BuiltEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    snippets = []
    for i in range(6):
        d = tmp_path / f"s{i}"
        d.mkdir()
        snippets.append(write(d, f"import driftpkg\nprint({i} * 7)\n"))
    with ThreadPoolExecutor(3) as pool:
        recs = list(pool.map(lambda s: validate(s, env_v2), snippets))
    assert [r.execution.stdout_tail.strip() for r in recs] == [str(i * 7) for i in range(6)]


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
@pytest.mark.network  # the 2.7 tools (virtualenv<20.22, pip 20.3.4) come from PyPI once
def test_python27_in_the_sandbox(tmp_path: Path, fake_index: LocalIndex,
                                 driftdoc_cache: Path) -> None:
    env = ensure_env("2.7", ["drift-pkg==2.0"], index_url=fake_index.url)
    if not env.ok and "preparing the Python 2.7 tools" in env.install_errors[0].message:
        pytest.skip(f"cannot fetch the 2.7 tools: {env.install_errors[0].message}")
    assert env.ok, env.install_errors
    rec = check(tmp_path, env, "import driftpkg\nprint 'version', driftpkg.VERSION\n")
    assert rec.status_code == "Success", rec.execution
    assert rec.python == "2.7" and "version 2.0" in rec.execution.stdout_tail
    rec = check(tmp_path, env, "import driftpkg\ndriftpkg.compute(1)\n")
    verdict = classify(rec)
    assert verdict.category is Kind.DRIFT and verdict.responsible == "drift-pkg"
    rec = check(tmp_path, env, "import urllib2\nurllib2.urlopen('http://127.0.0.1:9/')\n")
    assert rec.execution.exception_name == "URLError" and classify(rec).env_ok


def test_snippet_holding_the_gil_is_killed_by_the_sandbox(tmp_path: Path,
                                                          env_v2: BuiltEnv) -> None:
    # A catastrophic regex never releases the GIL: the harness's watchdog cannot run, so the
    # sandbox's backstop kills the tree and validate() synthesises the record.
    start = time.perf_counter()
    rec = check(tmp_path, env_v2, "import re, driftpkg\nre.match('(a*)*b', 'a' * 64)\n",
                timeout=1, grace=0)
    assert time.perf_counter() - start < 15
    assert rec.status_code == "Timeout"
    assert rec.execution.timeout_phase == "hard"
    assert rec.execution.imports_completed  # learnt from the marker line on stdout
    assert classify(rec).category is Kind.TIMEOUT_IMPORTS


def test_neighbours_skip_scratch_of_other_processes(tmp_path: Path) -> None:
    """A snippet saved in /tmp sits beside builds' scratch dirs that come and go."""
    from driftdoc.env.validation.validate import neighbours

    snippet = tmp_path / "s.py"
    snippet.write_text("print(1)\n")
    (tmp_path / "data.csv").write_text("a,b\n")
    for scratch in ("driftdoc-py27-abc", "pip-unpack-xyz", "tmpq1w2e3r4"):
        (tmp_path / scratch).mkdir()
        (tmp_path / scratch / "f").write_text("x")
    assert [p.name for p in neighbours(snippet, {"s.py"})] == ["data.csv"]


def test_neighbours_keep_user_folders_that_merely_start_with_tmp(tmp_path: Path) -> None:
    from driftdoc.env.validation.validate import neighbours

    snippet = tmp_path / "s.py"
    snippet.write_text("print(1)\n")
    (tmp_path / "tmp_data").mkdir()
    (tmp_path / "tmp_data" / "x.txt").write_text("1")
    assert [p.name for p in neighbours(snippet, {"s.py"})] == ["tmp_data"]
