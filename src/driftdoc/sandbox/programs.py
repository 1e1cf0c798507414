"""What running a program touches on the host, so that exactly that is mounted.

A bare name is looked up on the run's ``PATH`` on the host, as a shell would (a pyenv shim
is replaced by the interpreter it selects, since the shim itself needs the whole pyenv
root); symlink hops, a virtualenv's base interpreter (``pyvenv.cfg``) and a script's
``#!`` interpreter are followed. Each file outside the system directories contributes its
installation prefix (``<prefix>/bin/python`` -> ``<prefix>``) when that is a Python
installation or a plain prefix, never a home folder or one of its loose subfolders
(``~/.local`` holds keyrings): then only the file itself is mounted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from driftdoc.sandbox.policy import SYSTEM_DIRS, dedupe, in_system_dirs


def home_dirs() -> list[Path]:
    homes = {Path("/root"), Path("/home")}
    for home in (os.environ.get("HOME"), str(Path.home())):
        if home:
            homes.add(Path(home))
    with contextlib.suppress(OSError):
        homes.update(p for p in Path("/home").iterdir() if p.is_dir())
    return sorted(homes)


def _python_prefix(prefix: Path) -> bool:
    """A virtualenv or a Python installation (its own stdlib), not e.g. ``~/.local``."""
    if (prefix / "pyvenv.cfg").is_file():
        return True
    return any(prefix.glob("lib/python*/os.py")) or any(prefix.glob("lib/pypy*/os.py"))


def _acceptable_prefix(prefix: Path) -> bool:
    """Never a home folder, one of its ancestors, or a loose folder right inside it."""
    if prefix == Path("/") or str(prefix) in SYSTEM_DIRS:
        return False
    homes = home_dirs()
    if any(prefix == h or prefix in h.parents for h in homes):
        return False
    if _python_prefix(prefix):
        return True
    return not any(prefix.parent == h for h in homes)


def _venv_homes(prefix: Path) -> list[Path]:
    """The base interpreter folders a virtualenv's ``pyvenv.cfg`` points to."""
    cfg = prefix / "pyvenv.cfg"
    out: list[Path] = []
    try:
        lines = cfg.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key == "home" and value:
            out.append(Path(value).parent)
        elif key in ("base-prefix", "base-exec-prefix") and value:
            out.append(Path(value))
    return out


def _mounts_for_file(path: Path) -> list[Path]:
    """The folder to mount so that ``path`` works: its installation prefix, or itself."""
    if in_system_dirs(path):
        return []
    parent = path.parent
    if parent.name in ("bin", "sbin") and _acceptable_prefix(parent.parent):
        prefix = parent.parent
        out = [prefix]
        for home in _venv_homes(prefix):
            if home.exists() and _acceptable_prefix(home):
                out.append(home)
        return out
    return [path]


def _link_chain(path: Path, limit: int = 16) -> list[Path]:
    """``path`` and every symlink hop to the real file (each hop may live elsewhere)."""
    chain = [path]
    current = path
    for _ in range(limit):
        try:
            target = os.readlink(current)
        except OSError:
            break
        nxt = Path(target) if os.path.isabs(target) else current.parent / target
        current = Path(os.path.normpath(nxt))
        chain.append(current)
    real = Path(os.path.realpath(path))
    if real != chain[-1]:
        chain.append(real)
    return chain


def _shebang(path: Path) -> list[str]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return []
    if not head.startswith(b"#!"):
        return []
    return head[2:].split(b"\n", 1)[0].decode(errors="replace").split()


def _which(name: str, path_env: str) -> Path | None:
    for folder in path_env.split(os.pathsep):
        if not folder:
            continue
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


_pyenv_cache: dict[tuple[str, ...], Path | None] = {}
_pyenv_lock = threading.Lock()


def setpriv_path() -> str | None:
    """util-linux's setpriv, used to leave root before the user namespace is made."""
    return shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _pyenv_selection(root: Path, cwd: Path) -> tuple[str, str, str]:
    """What pyenv's choice depends on besides ``$PYENV_VERSION``: the nearest
    ``.python-version`` above ``cwd`` and the global ``version`` file (so a fresh work
    dir per run does not cost a ``pyenv which`` per run)."""
    for folder in (cwd, *cwd.parents):
        local = folder / ".python-version"
        if local.is_file():
            return str(local), _read(local), _read(root / "version")
    return "", "", _read(root / "version")


def _pyenv_real(shim: Path, name: str, env: Mapping[str, str], cwd: Path) -> Path | None:
    """What a pyenv shim would run: the shim itself needs the whole pyenv root."""
    root = shim.parent.parent
    pyenv = next((p for p in (root / "bin" / "pyenv", root / "libexec" / "pyenv") if p.exists()),
                 None)
    if pyenv is None:
        return None
    version = env.get("PYENV_VERSION", "")
    key = (str(root), name, version, *_pyenv_selection(root, cwd))
    with _pyenv_lock:
        if key in _pyenv_cache:
            return _pyenv_cache[key]
    run_env = {"PATH": env.get("PATH", os.defpath), "PYENV_ROOT": str(root),
               "HOME": os.environ.get("HOME", "/")}
    if version:
        run_env["PYENV_VERSION"] = version
    try:
        out = subprocess.run([str(pyenv), "which", name], capture_output=True, text=True,
                             env=run_env, cwd=cwd, timeout=30, check=False)
        found = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        found = None
    with _pyenv_lock:
        _pyenv_cache[key] = found
    return found


def _is_pyenv_shim(path: Path) -> bool:
    return path.parent.name == "shims" and (path.parent.parent / "versions").is_dir()


def resolve_program(argv0: str, env: Mapping[str, str], cwd: Path
                    ) -> tuple[str, list[Path]]:
    """The program to run and the host paths it needs, mounted read-only.

    A bare name is looked up on the run's ``PATH`` on the host (a pyenv shim is replaced by
    the interpreter it selects); if it lives outside the system directories it is run by its
    absolute path. Symlink hops, a virtualenv's base interpreter and a script's ``#!``
    interpreter are followed, so a uv venv whose ``python`` links into one pyenv version
    mounts that version's folder, not the pyenv root. A relative path (a script in the work
    dir) needs nothing.
    """
    if "/" in argv0:
        if not os.path.isabs(argv0):
            return argv0, []
        program: Path | None = Path(argv0)
    else:
        program = _which(argv0, env.get("PATH", os.defpath))
        if program is not None and _is_pyenv_shim(program):
            program = _pyenv_real(program, argv0, env, cwd)
        if program is None or in_system_dirs(program):
            return argv0, []
    assert program is not None
    mounts = [p for p in program_mounts(program, env) if p.exists()]
    return str(program), mounts


def sandbox_path(env: Mapping[str, str], cwd: Path) -> tuple[str | None, list[Path]]:
    """``PATH`` for inside, with a pyenv shims folder replaced by the bin folder of the
    version it selects (and that version's folder to mount), so that ``python`` named in
    a shell command works as it does on the host; ``None`` when nothing changes."""
    path = env.get("PATH")
    if not path:
        return None, []
    entries = path.split(os.pathsep)
    mounts: list[Path] = []
    changed = False
    for i, entry in enumerate(entries):
        shim = Path(entry) / "python"
        if entry and _is_pyenv_shim(shim) and shim.exists():
            real = _pyenv_real(shim, "python", env, cwd)
            if real is not None and real.exists():
                entries[i] = str(real.parent)
                mounts += program_mounts(real, env)
                changed = True
    return (os.pathsep.join(entries) if changed else None), mounts


_mounts_cache: dict[tuple[str, str, int], list[Path]] = {}


def program_mounts(program: Path, env: Mapping[str, str], depth: int = 0) -> list[Path]:
    """Host paths that executing ``program`` touches outside the system directories
    (remembered per program and ``PATH``: every validation runs the same few)."""
    key = (str(program), env.get("PATH", ""), depth)
    with _pyenv_lock:
        cached = _mounts_cache.get(key)
    if cached is None:
        cached = _program_mounts(program, env, depth)
        with _pyenv_lock:
            _mounts_cache[key] = cached
    return list(cached)


def _program_mounts(program: Path, env: Mapping[str, str], depth: int) -> list[Path]:
    out: list[Path] = []
    for hop in _link_chain(program):
        out += _mounts_for_file(hop)
    if depth < 2:
        interp = _shebang(Path(os.path.realpath(program)))
        if interp:
            first = Path(interp[0])
            if first.name == "env" and len(interp) > 1:
                found = _which(interp[1], env.get("PATH", os.defpath))
                if found is not None and not _is_pyenv_shim(found):
                    out += program_mounts(found, env, depth + 1)
            elif first.is_absolute():
                out += program_mounts(first, env, depth + 1)
    return dedupe(out)
