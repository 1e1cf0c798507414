"""The in-sandbox harness, run directly (no sandbox) with Python 2.7 and 3.x interpreters."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from driftdoc.env.host.interpreters import discover
from driftdoc.env.validation.validate import HARNESS, RECORD_TAG, _parse_record

_INTERPS = {i.version: i.path for i in discover() if i.implementation == "CPython"}
_PY3 = sorted((v for v in _INTERPS if v.startswith("3.")), key=lambda v: int(v.split(".")[1]))
VERSIONS = [
    pytest.param("2.7", marks=pytest.mark.skipif("2.7" not in _INTERPS,
                                                 reason="no Python 2.7 installed")),
    pytest.param(_PY3[0] if _PY3 else "3.x",
                 marks=pytest.mark.skipif(not _PY3, reason="no Python 3 interpreter found")),
    pytest.param(_PY3[-1] if _PY3 else "3.y",
                 marks=pytest.mark.skipif(len(_PY3) < 2, reason="only one Python 3 installed")),
]


def run(version: str, tmp_path: Path, source: str | bytes, *, grace: float = 0,
        timeout: float = 20, name: str = "snippet.py") -> tuple[dict[str, Any], bytes]:
    snippet = tmp_path / name
    snippet.write_bytes(source if isinstance(source, bytes) else textwrap.dedent(source).encode())
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    proc = subprocess.run(
        [str(_INTERPS[version]), "-s", str(HARNESS), "--snippet", str(snippet), "--out", str(out),
         "--grace", str(grace), "--timeout", str(timeout)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60, cwd=tmp_path, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    from_file = json.loads((out / "record.json").read_text())
    from_stdout = _parse_record(proc.stdout)
    assert from_stdout == from_file  # both channels carry the same record
    return from_file, proc.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_success_and_output(version: str, tmp_path: Path) -> None:
    rec, stdout = run(version, tmp_path, "import os\nprint('hello')\n")
    assert rec["status_code"] == "Success"
    assert rec["execution"]["imports_completed"] is True
    assert rec["python"].startswith(version)
    assert b"hello" in stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_exception_location_and_stack(version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, """\
        import os
        try:
            import json
        except ImportError:
            json = None

        def f():
            return undefined_name

        f()
        """)
    ex = rec["execution"]
    assert rec["status_code"] == "Failed"
    assert ex["exception_name"] == "NameError"
    assert ex["exception_line_number"] == 8
    assert ex["exception_line"] == "return undefined_name"
    assert ex["exception_file_name"].endswith("snippet.py")
    # The marker call must not disturb line numbers (Python 2's line table is monotonic).
    assert [f[1:3] for f in ex["exception_stack"]] == [[10, "<module>"], [8, "f"]]
    assert ex["imports_completed"] is True
    assert ex["raised_in_package"] is False


@pytest.mark.parametrize("version", VERSIONS)
def test_imports_not_completed_when_failing_between_imports(version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, "import os\nx = 1 / 0\nimport json\n")
    assert rec["execution"]["exception_name"] == "ZeroDivisionError"
    assert rec["execution"]["imports_completed"] is False


@pytest.mark.parametrize("version", VERSIONS)
def test_import_error_names_module(version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, "import os\nimport no_such_module_xyz\n")
    ex = rec["execution"]
    assert ex["exception_name"] in ("ImportError", "ModuleNotFoundError")
    assert ex["missing_module"] == "no_such_module_xyz"
    assert ex["imports_completed"] is False


@pytest.mark.parametrize("version", VERSIONS)
def test_syntax_error(version: str, tmp_path: Path) -> None:
    src = "print 'py2 only'\n" if version != "2.7" else "print('a'\n"
    rec, _ = run(version, tmp_path, src)
    ex = rec["execution"]
    assert ex["exception_name"] == "SyntaxError"
    assert ex["exception_file_name"].endswith("snippet.py")
    assert ex["exception_line_number"] in (1, 2)


@pytest.mark.skipif("2.7" not in _INTERPS, reason="no Python 2.7 installed")
def test_py2_print_statement_is_not_affected_by_harness_future_flags(tmp_path: Path) -> None:
    rec, stdout = run("2.7", tmp_path, "print 'old style', 1\n")
    assert rec["status_code"] == "Success", rec
    assert b"old style 1" in stdout


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("code", "status", "exit_code"), [
    ("sys.exit()", "Success", 0), ("sys.exit(0)", "Success", 0), ("sys.exit(3)", "Failed", 3),
    ("sys.exit('bad things')", "Failed", 1),
])
def test_sys_exit(version: str, tmp_path: Path, code: str, status: str, exit_code: int) -> None:
    rec, _ = run(version, tmp_path, f"import sys\n{code}\n")
    assert rec["status_code"] == status
    assert rec["execution"]["exit_code"] == exit_code
    if status == "Failed":
        assert rec["execution"]["exception_name"] == "SystemExit"


@pytest.mark.parametrize("version", VERSIONS)
def test_stdin_is_eof_and_garbage_output_and_closed_stdout(version: str, tmp_path: Path) -> None:
    rec, stdout = run(version, tmp_path, b"""\
import sys, os
data = sys.stdin.read()
out = getattr(sys.stdout, 'buffer', sys.stdout)
out.write(b'\\xff\\xfe not utf-8 \\x00 ' + (b'@@' * 10) + b'\\n')
sys.stdout.flush()
sys.stdout.close()
os.close(1)
assert data == '', repr(data)
""")
    assert rec["status_code"] == "Success", rec
    assert b"\xff\xfe not utf-8" in stdout
    assert stdout.rstrip().splitlines()[-1].startswith(RECORD_TAG)


@pytest.mark.parametrize("version", VERSIONS)
def test_grace_timeout_after_imports(version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, "import time\ntime.sleep(30)\n", grace=0.5, timeout=20)
    ex = rec["execution"]
    assert rec["status_code"] == "Timeout"
    assert ex["timeout_phase"] == "grace"
    assert ex["imports_completed"] is True
    assert ex["exception_line"] == "time.sleep(30)"  # where it was waiting
    assert ex["duration"] < 5


@pytest.mark.parametrize("version", VERSIONS)
def test_total_timeout_before_imports(version: str, tmp_path: Path) -> None:
    (tmp_path / "slowmod.py").write_text("import time\ntime.sleep(30)\n")
    rec, _ = run(version, tmp_path, "import os\nimport slowmod\n", grace=0.2, timeout=0.5)
    assert rec["status_code"] == "Timeout"
    assert rec["execution"]["timeout_phase"] == "total"
    assert rec["execution"]["imports_completed"] is False
    # On 2.7 the watchdog must not wait for the import lock the sleeping import holds (it
    # used to fire only when slowmod finished, racing the main thread for the record).
    assert rec["execution"]["duration"] < 10


@pytest.mark.parametrize("version", VERSIONS)
def test_timeout_inside_a_lazy_import_between_statements(version: str, tmp_path: Path) -> None:
    # The watchdog checks whether the imports still ahead are findable; that lookup must not
    # import anything itself while the main thread holds Python 2's import lock.
    (tmp_path / "slowmod.py").write_text("import time\ntime.sleep(30)\n")
    rec, _ = run(version, tmp_path, "import os\ndef load():\n    import slowmod\nload()\n"
                 "import json\n", grace=0, timeout=0.5)
    assert rec["status_code"] == "Timeout"
    assert rec["execution"]["timeout_phase"] == "total"
    assert rec["execution"]["duration"] < 10


@pytest.mark.parametrize("version", VERSIONS)
def test_main_block_does_not_count_as_imports(version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, """\
        import os
        if __name__ == '__main__':
            import json
            raise ValueError('in main')
        """)
    assert rec["execution"]["exception_name"] == "ValueError"
    assert rec["execution"]["imports_completed"] is True


@pytest.mark.parametrize("version", VERSIONS)
def test_exception_raised_in_package_frame(version: str, tmp_path: Path) -> None:
    site = tmp_path / "lib" / "site-packages" / "fakepkg"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("def boom():\n    return (1).nope\n")
    rec, _ = run(version, tmp_path, f"""\
        import sys
        sys.path.insert(0, {str(site.parent)!r})
        import fakepkg
        fakepkg.boom()
        """)
    ex = rec["execution"]
    assert ex["exception_name"] == "AttributeError"
    assert ex["raised_in_package"] is True
    assert ex["raising_module"] == "fakepkg"
    assert ex["exception_stack"][0][0].endswith("snippet.py")  # harness frames dropped


@pytest.mark.parametrize("version", VERSIONS)
def test_runs_as_main_with_argv_and_file(version: str, tmp_path: Path) -> None:
    rec, stdout = run(version, tmp_path, """\
        import sys, os
        print("%s %s %s" % (__name__, os.path.basename(__file__),
                            os.path.basename(sys.argv[0])))
        print(str(os.getcwd() == os.path.dirname(__file__)))
        """)
    assert rec["status_code"] == "Success"
    assert b"__main__ snippet.py snippet.py" in stdout
    assert b"True" in stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_waits_for_threads_and_runs_atexit_like_python(version: str, tmp_path: Path) -> None:
    rec, stdout = run(version, tmp_path, """\
        '''Docstring stays the module docstring.'''
        import atexit, sys, threading, time
        def work():
            time.sleep(0.3)
            sys.stdout.write('thread done\\n')
        threading.Thread(target=work).start()
        atexit.register(lambda: sys.stdout.write('atexit ran\\n'))
        sys.stdout.write(__doc__ + '\\n')
        """)
    assert rec["status_code"] == "Success"
    text = stdout.decode()
    assert "Docstring stays" in text
    assert text.index("thread done") < text.index("atexit ran")


@pytest.mark.parametrize("version", VERSIONS)
def test_huge_messages_and_deep_recursion_stay_bounded(version: str, tmp_path: Path) -> None:
    rec, stdout = run(version, tmp_path, """\
        import sys
        sys.setrecursionlimit(400)
        def down(n):
            if n == 0:
                raise ValueError('x' * 1000000)
            return down(n - 1)
        down(300)
        """)
    ex = rec["execution"]
    assert ex["exception_name"] == "ValueError"
    assert len(ex["exception_message"]) < 5000
    assert len(ex["exception_stack"]) == 60
    assert ex["exception_stack"][-1][2] == "down"
    assert len(stdout) < 100000


@pytest.mark.parametrize("version", VERSIONS)
def test_waiting_between_imports_infers_completion_when_the_rest_is_findable(
        version: str, tmp_path: Path) -> None:
    rec, _ = run(version, tmp_path, """\
        import os
        import time
        time.sleep(30)  # e.g. a client waiting for its server at module level
        import json
        from collections import OrderedDict
        """, timeout=0.7)
    ex = rec["execution"]
    assert rec["status_code"] == "Timeout"
    assert ex["imports_completed"] is True and ex["imports_inferred"] is True
    rec, _ = run(version, tmp_path, """\
        import time
        time.sleep(30)
        import json
        import no_such_module_anywhere_xyz
        """, timeout=0.7)
    assert rec["execution"]["imports_completed"] is False
    assert "imports_inferred" not in rec["execution"]


@pytest.mark.skipif("2.7" not in _INTERPS, reason="no Python 2.7 installed")
def test_py2_builtins_shim_on_the_path_does_not_break_imports(tmp_path: Path) -> None:
    """The ``future`` package puts a ``builtins`` module on 2.7's path that lacks
    ``__import__``; the harness must still hand the real builtins to the snippet."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "builtins.py").write_text("from __future__ import absolute_import\nstr = str\n")
    snippet = tmp_path / "snippet.py"
    snippet.write_text("from __future__ import print_function\nimport json\nprint('ok')\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [str(_INTERPS["2.7"]), "-s", str(HARNESS), "--snippet", str(snippet), "--out", str(out),
         "--timeout", "20"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60, cwd=tmp_path, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shim), "LANG": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    record = json.loads((out / "record.json").read_text())
    assert record["execution"]["status_code"] == "Success", record["execution"]
