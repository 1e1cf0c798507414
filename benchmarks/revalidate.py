"""Independent re-validation of an emitted environment, for the HG2.9K benchmark.

It shares no code with driftdoc's builder, harness or classifier: a fresh
environment is built from the emitted Python + requirements with plain uv (or
virtualenv + pip on 2.7), and the snippet runs under bubblewrap with the network
off through the small runner below. The verdict uses the field's criterion.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from driftdoc.paths import cache_root

CACHE_ROOT = cache_root()  # where driftdoc's cache is (its location only; no other code shared)
# Downloads are shared with driftdoc's own uv cache (one copy on disk); every environment
# is still created fresh here, so sharing artifacts does not share any verdict.
UV_CACHE = CACHE_ROOT / "uv"
# Debian packages a Docker image would apt-get install, unpacked (no root) per package set.
SYSROOTS = CACHE_ROOT / "revalidate-sysroot"
# What _relocate does to an unpacked root; bumped whenever that changes (2: config tools).
LAYOUT = 3

FAILING = {"SyntaxError", "ImportError", "ModuleNotFoundError", "AttributeError"}

# Runs inside the fresh environment (Python 2.7 and 3.x). On the alarm it reports the
# deepest snippet line it was executing, so a timeout can be judged "after imports".
# Markers go straight to a duplicate of the original stderr descriptor: a snippet that
# replaces sys.stderr (Twisted's log.startLogging(sys.stdout)) or even dup2()s over fd 2
# cannot hide or reroute them.
RUNNER = r'''
import os, sys, signal, traceback, runpy
path, limit = sys.argv[1], int(sys.argv[2])
try:
    _fd = os.dup(2)
    try:
        import fcntl
        fcntl.fcntl(_fd, fcntl.F_SETFD, fcntl.fcntl(_fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
    except Exception:
        pass
except OSError:
    _fd = 2
def _mark(text):
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    data = "\nREVALIDATE %s\n" % text
    if not isinstance(data, bytes):
        data = data.encode("ascii", "replace")
    for fd in (_fd, 2):
        try:
            os.write(fd, data)
            return
        except Exception:
            pass
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
    _mark("TIMEOUT %s" % line)
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
    _mark("OK")
except SystemExit:
    _mark("OK")
except _Deadline:
    _mark("TIMEOUT %s" % _line(sys.exc_info()[2]))
except BaseException:
    t, e, tb = sys.exc_info()
    _mark("EXC %s %s" % (t.__name__, _line(tb)))
'''


@dataclass
class Check:
    """The independent verdict for one gist."""

    passed: bool
    category: str  # install | SyntaxError | ImportError | ... | ok | timeout | OtherError
    detail: str = ""
    seconds: float = 0.0
    # the emitted system packages honoured, and those of their closure that could not be
    # fetched (the unpacked root then lacks them: the verdict is judged without them)
    system_packages: list[str] = field(default_factory=list)
    system_skipped: list[str] = field(default_factory=list)


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


# --- system packages: what a Dockerfile's `apt-get install` gives, unpacked without root ---

_HOST_TOOLS = ("apt-cache", "apt-get", "dpkg-deb", "dpkg-query")
_APT_DEPENDS = ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]


class SystemPackagesError(Exception):
    """The emitted system packages cannot be provided (a Docker build would fail too)."""


@dataclass(frozen=True)
class Sysroot:
    """Unpacked Debian packages (``dpkg-deb -x``) standing in for an apt-get install."""

    root: Path
    triplet: str
    packages: tuple[str, ...]  # unpacked into root (the closure minus the host's packages)
    skipped: tuple[str, ...]  # in the closure but not downloadable (e.g. an alternative)

    def lib_dirs(self) -> list[str]:
        return [str(self.root / "usr" / "lib" / self.triplet),
                str(self.root / "lib" / self.triplet)]

    def build_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment for compiling against the root (headers, libraries, .pc, tools)."""
        usr = self.root / "usr"
        env = dict(base)
        extra = {
            "CPATH": [str(usr / "include"), str(usr / "include" / self.triplet)],
            "LIBRARY_PATH": self.lib_dirs(),
            "LD_LIBRARY_PATH": self.lib_dirs(),
            "PKG_CONFIG_PATH": [str(usr / "lib" / self.triplet / "pkgconfig"),
                                str(usr / "lib" / "pkgconfig"), str(usr / "share" / "pkgconfig")],
            "PATH": [str(usr / "bin")],
        }
        for key, dirs in extra.items():
            env[key] = _prepend(dirs, base.get(key))
        return env

    def run_env(self) -> dict[str, str]:
        """What the sandboxed run needs (passed with bwrap --setenv)."""
        return {
            "LD_LIBRARY_PATH": _prepend(self.lib_dirs(), os.environ.get("LD_LIBRARY_PATH")),
            "GI_TYPELIB_PATH": _prepend(  # gir1.2-vips-8.0 installs outside the multiarch dir
                [str(self.root / "usr" / "lib" / self.triplet / "girepository-1.0"),
                 str(self.root / "usr" / "lib" / "girepository-1.0")],
                os.environ.get("GI_TYPELIB_PATH")),
        }


def _prepend(dirs: Sequence[str], existing: str | None) -> str:
    return os.pathsep.join([*dirs, *([existing] if existing else [])])


@functools.cache
def _triplet() -> str:
    """The machine's Debian multiarch triplet (where libraries and arch headers live)."""
    for cmd in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return "x86_64-linux-gnu"


def _installed() -> set[str]:
    """Packages installed on the host (removed ones with config files left do not count)."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\\n"],
                         capture_output=True, text=True, check=False)
    return {parts[0] for parts in map(str.split, out.stdout.splitlines())
            if len(parts) >= 2 and parts[1].startswith("ii")}


def _closure(packages: Sequence[str]) -> list[str]:
    """The recursive Depends/PreDepends closure that the host does not have already."""
    out = subprocess.run([*_APT_DEPENDS, *packages], capture_output=True, text=True,
                         check=False)
    names: set[str] = set()
    virtual: set[str] = set()
    for line in out.stdout.splitlines():
        if not line or line[0].isspace():
            continue
        name = line.strip()
        if name.startswith("<") and name.endswith(">"):
            virtual.add(name[1:-1])
        elif ":" not in name:  # a foreign architecture's package cannot serve this one
            names.add(name)
    unknown = [p for p in packages if p not in names and p not in virtual]
    if unknown:
        raise SystemPackagesError("apt knows no package " + ", ".join(unknown)
                                  + (f": {out.stderr.strip()[-200:]}" if out.stderr.strip()
                                     else ""))
    # a header package stays even when the host has it: headers in the root include their
    # siblings by relative path (cairo's xcb/render.h includes "xcb.h")
    return sorted(names - {p for p in _installed() if not p.endswith("-dev")})


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """An exclusive lock across threads and processes (each open() gets its own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fp:
        fcntl.flock(fp, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fp, fcntl.LOCK_UN)


def _download(names: Sequence[str], into: Path) -> dict[str, Path]:
    """apt-get download (no root needed); a package that will not download is left out."""
    def have() -> dict[str, Path]:
        return {deb.name.split("_", 1)[0]: deb for deb in into.glob("*.deb")}

    if names:
        subprocess.run(["apt-get", "download", "-q", *names], cwd=into, capture_output=True,
                       check=False, timeout=1800)
    # one unavailable name fails the whole call: fetch the rest one by one
    for name in [n for n in names if n not in have()]:
        subprocess.run(["apt-get", "download", "-q", name], cwd=into, capture_output=True,
                       check=False, timeout=600)
    return have()


def _relocate(root: Path) -> None:
    """Point .pc files and absolute symlinks at the unpacked root instead of the host."""
    usr = str(root / "usr")
    for pc_dir in (root / "usr" / "lib" / _triplet() / "pkgconfig", root / "usr" / "lib" /
                   "pkgconfig", root / "usr" / "share" / "pkgconfig"):
        for pc in pc_dir.glob("*.pc"):
            if pc.is_symlink():
                continue
            text = pc.read_text(encoding="utf-8", errors="surrogateescape")
            fixed = re.sub(r"(?m)^(\w+)=/usr(?=/|\s*$)", lambda m: f"{m.group(1)}={usr}", text)
            if fixed != text:
                pc.write_text(fixed, encoding="utf-8", errors="surrogateescape")
    # A link means what it would in the image: inside the root if the root has the target,
    # else the host's file (a -dev package's libfoo.so -> libfoo.so.1 of a host package).
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            link = Path(dirpath, name)
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if target.startswith(str(root) + "/"):
                continue
            image_dir = "/" + str(link.parent.relative_to(root))
            meant = os.path.normpath(os.path.join(image_dir, target))  # path in the image
            inside = root / meant.lstrip("/")
            if os.path.lexists(inside):
                if target.startswith("/"):
                    link.unlink()
                    link.symlink_to(os.path.relpath(inside, link.parent))
            elif not target.startswith("/") and os.path.exists(meant):
                link.unlink()
                link.symlink_to(meant)
    _wrap_config_tools(root)  # last: it follows the links fixed above


# `mysql_config --cflags` prints -I/usr/include/mariadb wherever it was unpacked, and
# MySQL-python's setup.py believes it. The wrapper runs the real tool and moves each /usr
# path the root provides into the root; paths only the host has (a dependency installed
# there) are left alone. Each sed expression runs twice: one match may consume the blank
# that the next path needs in front of it.
_CONFIG_TOOL = re.compile(r"[-_]config$")
_WRAPPED = "# revalidate: config tool wrapper"
_WRAPPER = """#!/bin/sh
{marker}: the real {name} reports /usr paths, the files are under {root}
out=$({real} "$@") || exit $?
[ -n "$out" ] || exit 0
printf '%s\\n' "$out" | sed -E {exprs}
"""
_LEAD = "(^|[[:space:]=,:;'\"]|-I|-L|-R|-isystem|-Wl,-rpath,)"  # what may precede a path
_END = "[[:space:]'\",;:]|$"  # what may follow one


def _sed_literal(text: str) -> str:
    """``text`` matched literally in a POSIX extended regex."""
    return re.sub(r"([][\\.^$*+?(){}|#])", r"\\\1", text)


def _rewrite_exprs(root: Path) -> list[str]:
    """sed commands moving /usr paths into ``root``: ``/usr/A/B/...`` when the root has
    ``usr/A/B`` (``/usr/include/mariadb/mysql``, not ``/usr/include/glib-2.0``), and
    ``/usr/A`` or ``/usr`` itself when the root has that."""
    usr = root / "usr"
    if not usr.is_dir():
        return []
    shallow: set[str] = {"usr"}
    deep: set[str] = set()
    for top in usr.iterdir():
        shallow.add(f"usr/{top.name}")
        if top.is_dir() and not top.is_symlink():
            deep.update(f"usr/{top.name}/{sub.name}" for sub in top.iterdir())
    into = re.sub(r"([\\&#])", r"\\\1", str(root))
    exprs = []
    for prefixes, end in ((deep, f"/|{_END}"), (shallow, _END)):
        if prefixes:
            alternatives = "|".join(_sed_literal(p) for p in sorted(prefixes))
            exprs.append(f"s#{_LEAD}/({alternatives})({end})#\\1{into}/\\2\\3#g")
    return exprs


def _wrap_config_tools(root: Path) -> None:
    """Make the root's ``*-config``/``*_config`` tools report the root's paths.

    The real tool moves to ``usr/.bin-real/NAME``: its name and the directory above its
    own stay the same (a script that finds its files from ``$0/..`` still does, one that
    prints its name still prints it). A link to another tool wrapped here stays a link.
    """
    exprs = _rewrite_exprs(root)
    if not exprs:
        return
    sed_args = " ".join(f"-e {shlex.quote(e)} -e {shlex.quote(e)}" for e in exprs)
    for bindir in (root / "usr" / "bin", root / "bin"):
        if not bindir.is_dir() or bindir.is_symlink():
            continue
        tools = [t for t in sorted(bindir.iterdir())
                 if _CONFIG_TOOL.search(t.name) and t.name != "pkg-config"]
        names = {t.name for t in tools if not t.is_symlink()}
        for tool in tools:
            if tool.is_symlink():
                if not tool.exists():
                    continue  # dangling: nothing to run
                real = tool.resolve()
                if real.parent == bindir.resolve() and real.name in names:
                    continue  # mysql_config -> mariadb_config: that one is wrapped
                tool.unlink()
            elif tool.is_file():
                if _WRAPPED.encode() in tool.read_bytes()[:200]:
                    continue
                real = bindir.parent / f".{bindir.name}-real" / tool.name
                real.parent.mkdir(exist_ok=True)
                tool.rename(real)
            else:
                continue
            tool.write_text(_WRAPPER.format(marker=_WRAPPED, name=tool.name, root=root,
                                            real=shlex.quote(str(real)), exprs=sed_args))
            tool.chmod(0o755)


def sysroot(packages: Sequence[str]) -> Sysroot:
    """The unpacked closure of the emitted system packages, built once per package set."""
    wanted = sorted(set(packages))
    # the layout is part of the key: a root unpacked by an older _relocate is not reused
    key = hashlib.sha256("\n".join([f"layout {LAYOUT}", *wanted]).encode()).hexdigest()[:16]
    root = SYSROOTS / key
    ready = root / ".ready"
    with _flock(SYSROOTS / f"{key}.lock"):
        if not ready.exists():
            for tool in _HOST_TOOLS:
                if shutil.which(tool) is None:
                    raise SystemPackagesError(f"{tool} is not available on this host")
            shutil.rmtree(root, ignore_errors=True)
            debs_dir = SYSROOTS / f"{key}.debs"
            shutil.rmtree(debs_dir, ignore_errors=True)
            debs_dir.mkdir(parents=True)
            try:
                todo = _closure(wanted)
                debs = _download(todo, debs_dir)
                root.mkdir(parents=True)
                unpacked = []
                for name in todo:
                    deb = debs.get(name)
                    if deb is not None and subprocess.run(
                            ["dpkg-deb", "-x", str(deb), str(root)], capture_output=True,
                            check=False).returncode == 0:
                        unpacked.append(name)
                _relocate(root)
            finally:
                shutil.rmtree(debs_dir, ignore_errors=True)
            skipped = sorted(set(todo) - set(unpacked))
            if any(p in skipped for p in wanted):
                shutil.rmtree(root, ignore_errors=True)
                raise SystemPackagesError("could not fetch or unpack "
                                          + ", ".join(p for p in wanted if p in skipped))
            ready.write_text(json.dumps({"requested": wanted, "packages": unpacked,
                                         "skipped": skipped}))
        meta = json.loads(ready.read_text())
    return Sysroot(root, _triplet(), tuple(meta["packages"]), tuple(meta["skipped"]))


def build(python: str, requirements: list[str], dest: Path, work: Path,
          root: Sysroot | None = None, build_constraints: Sequence[str] = ()) -> str | None:
    """Build a fresh env (compiling against root, if any, and with the emitted constraints on
    its source builds); an error text, or None."""
    env = root.build_env(os.environ) if root is not None else None
    constraint_args: list[str] = []
    if build_constraints:
        path = work / "build-constraints.txt"
        path.write_text("".join(f"{c}\n" for c in build_constraints))
        constraint_args = ["--build-constraints", str(path)]
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
                              capture_output=True, text=True, timeout=1800, env=env)
    else:
        made = subprocess.run(["uv", "venv", "-q", "--python", interp, str(dest)],
                              capture_output=True, text=True)
        if made.returncode:
            return made.stderr[-500:]
        if not requirements:
            return None
        inst = subprocess.run(["uv", "pip", "install", "-q", "--cache-dir", str(UV_CACHE),
                               "--python", str(dest / "bin" / "python"), *constraint_args,
                               *requirements],
                              capture_output=True, text=True, timeout=1800, env=env)
    return inst.stderr[-800:] if inst.returncode else None


_MARKER = re.compile(r"REVALIDATE (OK|TIMEOUT|EXC)\b.*")


def _marker(output: bytes, anywhere: bool = False) -> list[str]:
    """The last marker's words; in stdout (anywhere) a logger may have prefixed the line."""
    for line in reversed(output.decode("utf-8", "replace").splitlines()):
        found = _MARKER.search(line) if anywhere else _MARKER.match(line.strip())
        if found:
            return found.group(0).split()
    return []


def run_snippet(snippet: Path, env: Path, limit: int,
                root: Sysroot | None = None) -> tuple[str, str]:
    """Run in bwrap without network; returns (category, detail)."""
    with tempfile.TemporaryDirectory(prefix="reval-") as tmp:
        work = Path(tmp)
        shutil.copy(snippet, work / snippet.name)
        (work / "runner.py").write_text(RUNNER)
        extra: list[str] = []
        if root is not None:
            # / is already visible read-only, but /tmp is a fresh tmpfs: bind it explicitly
            extra += ["--ro-bind", str(root.root), str(root.root)]
            for key, value in root.run_env().items():
                extra += ["--setenv", key, value]
        argv = ["prlimit", f"--as={4 << 30}", "--",
                "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "--ro-bind", str(env), str(env), *extra,
                "--bind", str(work), str(work), "--chdir", str(work),
                "--unshare-all", "--die-with-parent", "--new-session",
                str(env / "bin" / "python"), "runner.py", str(work / snippet.name), str(limit)]
        try:
            proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=limit + 30)
        except subprocess.TimeoutExpired as exc:
            words = _marker(exc.stderr or b"") or _marker(exc.stdout or b"", anywhere=True)
            timed_out = words[1:2] == ["TIMEOUT"] and len(words) > 2
            return "timeout", (words[2] if timed_out else "killed")
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    parts = _marker(proc.stderr)
    if not parts and proc.returncode == 0:
        # the marker goes to the original stderr descriptor; stdout is a last resort
        parts = _marker(proc.stdout, anywhere=True)
    if not parts:
        return "crash", (tail[-1] if tail else f"exit {proc.returncode}")
    if parts[1] == "OK":
        return "ok", ""
    if parts[1] == "TIMEOUT":
        return "timeout", parts[2] if len(parts) > 2 else "None"
    name = parts[2] if len(parts) > 2 else "?"
    return name, " ".join(tail[-3:])[-300:]


def check(snippet: Path, python: str | None, requirements: list[str], *,
          limit: int = 30, system_packages: Sequence[str] = (),
          build_constraints: Sequence[str] = ()) -> Check:
    """Build fresh, run with the network off, judge by the field's criterion."""
    start = time.monotonic()
    wanted = sorted(set(system_packages))
    if not python:
        return Check(False, "no-environment", seconds=time.monotonic() - start,
                     system_packages=wanted)
    root = None
    if wanted:
        try:
            root = sysroot(wanted)
        except (SystemPackagesError, OSError, subprocess.SubprocessError) as exc:
            return Check(False, "install", f"system packages: {exc}"[-300:],
                         time.monotonic() - start, wanted)
    skipped = list(root.skipped) if root is not None else []

    def verdict(passed: bool, category: str, detail: str = "") -> Check:
        return Check(passed, category, detail, time.monotonic() - start, wanted, skipped)

    with tempfile.TemporaryDirectory(prefix="reval-env-") as tmp:
        env = Path(tmp) / "env"
        try:
            error = build(python, requirements, env, Path(tmp), root, build_constraints)
        except subprocess.TimeoutExpired as exc:  # a build of half an hour is a failed install
            error = f"install took longer than {exc.timeout:.0f} s"
        if error is not None:
            return verdict(False, "install", error[-300:])
        category, detail = run_snippet(snippet, env, limit, root)
    if category == "timeout":
        source = snippet.read_text(encoding="utf-8", errors="replace")
        at = int(detail) if detail.isdigit() else 0
        after = at > last_import_line(source)
        return verdict(after, "timeout" if after else "timeout-in-imports", detail)
    if category in ("ok",):
        return verdict(True, "ok")
    return verdict(category not in FAILING and category != "crash", category, detail)


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="re-validate one emitted environment")
    cli.add_argument("snippet", type=Path)
    cli.add_argument("python")
    cli.add_argument("requirements", nargs="*")
    cli.add_argument("--system-package", action="append", default=[], metavar="DEB",
                     help="a Debian package the environment needs (repeatable)")
    cli.add_argument("--build-constraint", action="append", default=[], metavar="REQ",
                     help="a constraint on source builds the result emitted (repeatable)")
    cli.add_argument("--limit", type=int, default=30)
    opts = cli.parse_args()
    print(json.dumps(check(opts.snippet, opts.python, opts.requirements, limit=opts.limit,
                           system_packages=opts.system_package,
                           build_constraints=opts.build_constraint).__dict__))
