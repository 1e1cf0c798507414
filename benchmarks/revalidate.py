"""Independent re-validation of an emitted environment, for the HG2.9K benchmark.

It shares no code with driftdoc's builder, harness or classifier: a fresh
environment is built from the emitted Python + requirements with plain uv (or
virtualenv + pip on 2.7), and the snippet runs under bubblewrap with the network
off through the small runner below. The verdict uses the field's criterion.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Downloads are shared with driftdoc's own uv cache (one copy on disk); every environment
# is still created fresh here, so sharing artifacts does not share any verdict.
UV_CACHE = Path(os.environ.get("DRIFTDOC_CACHE_DIR")
                or Path.home() / ".cache" / "driftdoc") / "uv"

FAILING = {"SyntaxError", "ImportError", "ModuleNotFoundError", "AttributeError"}

# Runs inside the fresh environment (Python 2.7 and 3.x). On the alarm it reports the
# deepest snippet line it was executing, so a timeout can be judged "after imports".
RUNNER = r'''
import sys, signal, traceback, runpy
path, limit = sys.argv[1], int(sys.argv[2])
class _Deadline(BaseException):
    pass
def _alarm(signum, frame):
    # report first: event loops (Twisted) may swallow the exception raised below
    line = None
    while frame is not None:
        if frame.f_code.co_filename == path:
            line = frame.f_lineno
            break
        frame = frame.f_back
    sys.stderr.write("\nREVALIDATE TIMEOUT %s\n" % line)
    sys.stderr.flush()
    raise _Deadline()
signal.signal(signal.SIGALRM, _alarm)
signal.alarm(limit)
sys.argv = [path]
def _line(tb):
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
try:
    runpy.run_path(path, run_name="__main__")
    sys.stderr.write("\nREVALIDATE OK\n")
except SystemExit:
    sys.stderr.write("\nREVALIDATE OK\n")
except _Deadline:
    sys.stderr.write("\nREVALIDATE TIMEOUT %s\n" % _line(sys.exc_info()[2]))
except BaseException:
    t, e, tb = sys.exc_info()
    sys.stderr.write("\nREVALIDATE EXC %s %s\n" % (t.__name__, _line(tb)))
'''


@dataclass
class Check:
    """The independent verdict for one gist."""

    passed: bool
    category: str  # install | SyntaxError | ImportError | ... | ok | timeout | OtherError
    detail: str = ""
    seconds: float = 0.0


def last_import_line(source: str) -> int:
    """The last top-level import statement's line (0 if none); Python 2 falls back to regex."""
    try:
        tree = ast.parse(source)
        lines = [n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        return max(lines, default=0)
    except (SyntaxError, ValueError):
        last = 0
        for i, line in enumerate(source.splitlines(), 1):
            if re.match(r"(import|from)\s+[\w.]+", line):
                last = i
        return last


_TOOL_LOCK = threading.Lock()


def _tool(tmp: Path) -> Path:
    """A private virtualenv<20.22 (the last able to create 2.7 envs) for 2.7 builds."""
    venv = Path(tempfile.gettempdir()) / "driftdoc-revalidate-tool"
    exe = venv / "bin" / "python"
    with _TOOL_LOCK:
        ready = venv / ".ready"
        if not ready.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(exe), "-m", "pip", "install", "-q", "virtualenv<20.22"],
                           check=True)
            ready.touch()
    return exe


def _interpreter(python: str) -> str | None:
    """A real interpreter for "X.Y" (pyenv's versions first: its shims may refuse)."""
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
    if pyenv.returncode == 0:
        for cand in sorted(Path(pyenv.stdout.strip(), "versions").glob(f"{python}.*")):
            exe = cand / "bin" / "python"
            if exe.exists():
                return str(exe)
    found = shutil.which(f"python{python}")
    if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
        return found
    return None


def build(python: str, requirements: list[str], dest: Path, work: Path) -> str | None:
    """Build a fresh env; return an error text, or None when it installed."""
    interp = _interpreter(python)
    if interp is None:
        return f"no Python {python}"
    if python.startswith("2."):
        made = subprocess.run([str(_tool(work)), "-m", "virtualenv", "-q", "-p", interp,
                               str(dest)], capture_output=True, text=True)
        if made.returncode:
            return made.stderr[-500:]
        if not requirements:
            return None
        inst = subprocess.run([str(dest / "bin" / "python"), "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", *requirements],
                              capture_output=True, text=True, timeout=1800)
    else:
        made = subprocess.run(["uv", "venv", "-q", "--python", interp, str(dest)],
                              capture_output=True, text=True)
        if made.returncode:
            return made.stderr[-500:]
        if not requirements:
            return None
        inst = subprocess.run(["uv", "pip", "install", "-q", "--cache-dir", str(UV_CACHE),
                               "--python", str(dest / "bin" / "python"), *requirements],
                              capture_output=True, text=True, timeout=1800)
    return inst.stderr[-800:] if inst.returncode else None


def run_snippet(snippet: Path, env: Path, limit: int) -> tuple[str, str]:
    """Run in bwrap without network; returns (category, detail)."""
    with tempfile.TemporaryDirectory(prefix="reval-") as tmp:
        work = Path(tmp)
        shutil.copy(snippet, work / snippet.name)
        (work / "runner.py").write_text(RUNNER)
        argv = ["prlimit", f"--as={4 << 30}", "--",
                "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "--ro-bind", str(env), str(env),
                "--bind", str(work), str(work), "--chdir", str(work),
                "--unshare-all", "--die-with-parent", "--new-session",
                str(env / "bin" / "python"), "runner.py", str(work / snippet.name), str(limit)]
        try:
            proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=limit + 30)
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr or b""
            tail = stderr.decode("utf-8", "replace").strip().splitlines()
            marker = next((ln for ln in reversed(tail) if ln.startswith("REVALIDATE TIMEOUT")), "")
            return "timeout", (marker.split()[2] if len(marker.split()) > 2 else "killed")
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    marker = next((ln for ln in reversed(tail) if ln.startswith("REVALIDATE ")), "")
    parts = marker.split()
    if not parts:
        return "crash", (tail[-1] if tail else f"exit {proc.returncode}")
    if parts[1] == "OK":
        return "ok", ""
    if parts[1] == "TIMEOUT":
        return "timeout", parts[2] if len(parts) > 2 else "None"
    name = parts[2] if len(parts) > 2 else "?"
    return name, " ".join(tail[-3:])[-300:]


def check(snippet: Path, python: str | None, requirements: list[str], *,
          limit: int = 30) -> Check:
    """Build fresh, run with the network off, judge by the field's criterion."""
    start = time.monotonic()
    if not python:
        return Check(False, "no-environment", seconds=time.monotonic() - start)
    with tempfile.TemporaryDirectory(prefix="reval-env-") as tmp:
        env = Path(tmp) / "env"
        error = build(python, requirements, env, Path(tmp))
        if error is not None:
            return Check(False, "install", error[-300:], time.monotonic() - start)
        category, detail = run_snippet(snippet, env, limit)
    seconds = time.monotonic() - start
    if category == "timeout":
        source = snippet.read_text(encoding="utf-8", errors="replace")
        at = int(detail) if detail.isdigit() else 0
        after = at > last_import_line(source)
        return Check(after, "timeout" if after else "timeout-in-imports", detail, seconds)
    if category in ("ok",):
        return Check(True, "ok", "", seconds)
    return Check(category not in FAILING and category != "crash", category, detail, seconds)


if __name__ == "__main__":
    target, py = Path(sys.argv[1]), sys.argv[2]
    print(json.dumps(check(target, py, sys.argv[3:]).__dict__))
