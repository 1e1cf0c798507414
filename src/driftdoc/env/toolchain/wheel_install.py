"""Install a wheel into a 2.7 environment the way uv does on 3.x: extract it once into a
shared store (byte-compiled), then hardlink its files into each environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

from driftdoc.env.host import cache


def unpacked(store: Path, wheel: Path, interp: Path) -> Path:
    """The wheel extracted once into the shared store (envs hardlink from it), byte-compiled
    by ``interp`` (runs never write bytecode, and compiling on every import costs more than the
    rest of a 2.7 validation; 2.7 fixes ``co_filename`` when loading, so tracebacks name the
    env's files)."""
    target = store / wheel.name[:-4]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    cache.remove_tree(tmp)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = os.path.normpath(info.filename)
            if name.startswith(("/", "..")) or info.is_dir():
                continue  # never write outside the store
            out = tmp / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(out, mode | 0o400)
    subprocess.run([str(interp), "-m", "compileall", "-q", "-f", str(tmp)],
                   capture_output=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    try:
        os.replace(tmp, target)
    except OSError:  # another thread or process won the race
        cache.remove_tree(tmp)
    return target


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def install_unpacked(unpacked: Path, dest: Path, site: Path) -> None:
    """Install an extracted wheel by hardlinking its files (scripts get this env's shebang)."""
    python = dest / "bin" / "python"
    for src in unpacked.rglob("*"):
        if src.is_dir():
            continue
        rel = src.relative_to(unpacked)
        first = rel.parts[0]
        if first.endswith(".data") and len(rel.parts) > 2:
            kind, rest = rel.parts[1], Path(*rel.parts[2:])
            if kind in ("purelib", "platlib"):
                _link(src, site / rest)
            elif kind == "scripts":
                data = src.read_bytes()
                if data.startswith(b"#!python") or data.startswith(b"#!/usr/bin/env python"):
                    data = b"#!" + str(python).encode() + b"\n" + data.split(b"\n", 1)[-1]
                out = dest / "bin" / rest
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                out.chmod(0o755)
            elif kind == "data":
                _link(src, dest / rest)
            continue
        _link(src, site / rel)
    for entry_points in unpacked.glob("*.dist-info/entry_points.txt"):
        _console_scripts(entry_points.read_text(errors="replace"), dest, python)


def _console_scripts(text: str, dest: Path, python: Path) -> None:
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section != "console_scripts" or "=" not in line:
            continue
        name, target = (x.strip() for x in line.split("=", 1))
        module, _, attr = target.split("[")[0].strip().partition(":")
        if not re.fullmatch(r"[\w.]+", module) or (attr and not re.fullmatch(r"[\w.]+", attr)):
            continue
        top = attr.split(".")[0] if attr else ""
        call = f"{attr}()" if attr else "None"
        script = dest / "bin" / name
        script.write_text(f"#!{python}\nimport sys\nfrom {module} import {top}\n"
                          f"if __name__ == '__main__':\n    sys.exit({call})\n"
                          if top else f"#!{python}\nimport {module}\n")
        script.chmod(0o755)
