"""Read a snippet (``.py`` in any encoding, or an ``.ipynb`` notebook) into Python source text.

Everything that is not a snippet (a directory, binary data, an HTML page, a JSON file that is not a
notebook, an empty file) becomes one clear ``InputError``. Notebook cells are joined with their
IPython magics and ``!`` shell escapes replaced by ``pass`` so line numbers stay meaningful.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError

MAX_BYTES = 20_000_000

# Cell magics whose body is still Python.
_PY_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "pypy", "python", "python3",
                   "python2", "memit", "snakeviz", "cython_inline", "tensorflow_version"}
_MAGIC_LINE = re.compile(r"^(\s*)(%{1,2}|!)")
_ASSIGN_SHELL = re.compile(r"^(\s*)([\w\.\s,\[\]]+?)\s*=\s*(%{1,2}|!)")
_HELP_LINE = re.compile(r"^\s*\??[\w\.\*]+\?{1,2}\s*$")


@dataclass
class Snippet:
    """The source of a snippet and how it was read."""

    path: Path
    source: str
    kind: str = "py"  # "py" | "ipynb"
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.path.parent


def read_snippet(path: Path | str) -> Snippet:
    """Read ``path``; raise ``InputError`` with a one-line reason if it is not a usable snippet."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory; give the snippet file (.py or .ipynb) itself")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{p}: {size} bytes is too large for a snippet")
        data = p.read_bytes()
    except PermissionError as exc:
        raise InputError(f"{p}: cannot read it (permission denied)") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read it ({exc.strerror or exc})") from exc
    if not data.strip():
        raise InputError(f"{p}: the file is empty")

    text, encoding = decode_source(data, p)
    stripped = text.lstrip("\ufeff \t\r\n")
    if p.suffix.lower() == ".ipynb" or (stripped.startswith("{") and '"cells"' in stripped[:5000]):
        return _read_notebook(p, text, encoding)
    _reject_non_python(p, stripped)
    return Snippet(p, text, "py", encoding)


def decode_source(data: bytes, p: Path | None = None) -> tuple[str, str]:
    """Bytes -> text honouring BOMs and PEP 263 cookies, falling back to UTF-8 then latin-1."""
    name = str(p) if p else "input"
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom) and not data.startswith(codecs.BOM_UTF8):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break
    if _looks_binary(data):
        raise InputError(f"{name}: binary data, not Python source")
    try:
        cookie, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        cookie = "utf-8"  # unknown or inconsistent cookie: fall through to the fallbacks
    tried: list[str] = []
    for enc in (cookie, "utf-8-sig", "cp1252", "latin-1"):
        if enc in tried:
            continue
        tried.append(enc)
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), ("utf-8" if enc == "utf-8-sig" else enc)
    raise InputError(f"{name}: cannot decode the file")  # pragma: no cover - latin-1 never fails


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    magic = (b"\x7fELF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"%PDF", b"\xff\xd8\xff",
             b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
    if head.startswith(magic):
        return True
    # Python bytecode: 2 magic bytes then b"\r\n"
    if len(head) > 4 and head[2:4] == b"\r\n" and head[0] > 0x7F:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > max(8, len(head) // 50)


def _reject_non_python(p: Path, stripped: str) -> None:
    low = stripped[:500].lower()
    if low.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body", "<svg")):
        raise InputError(f"{p}: this is an HTML/XML page, not a Python snippet")
    if stripped.startswith(("{", "[")):
        try:
            json.loads(stripped)
        except ValueError:
            return
        raise InputError(f"{p}: this is a JSON file (not a notebook), not a Python snippet")


def _cell_source(cell: dict[str, Any]) -> str:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list):
        return "".join(str(s) for s in src)
    return str(src)


def _read_notebook(p: Path, text: str, encoding: str) -> Snippet:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}: not a valid notebook (broken JSON: {exc.msg})") from exc
    if not isinstance(nb, dict):
        raise InputError(f"{p}: not a notebook (no cells)")
    meta = nb.get("metadata") or {}
    lang = ((meta.get("kernelspec") or {}).get("language")
            or (meta.get("language_info") or {}).get("name") or meta.get("language") or "python")
    if isinstance(lang, str) and lang.lower() not in ("python", "python2", "python3", "ipython"):
        raise InputError(f"{p}: a {lang} notebook, not a Python one")
    cells: list[dict[str, Any]] = []
    if isinstance(nb.get("cells"), list):
        cells = nb["cells"]
    elif isinstance(nb.get("worksheets"), list):  # nbformat 3
        for ws in nb["worksheets"]:
            cells.extend((ws or {}).get("cells") or [])
    else:
        raise InputError(f"{p}: not a notebook (no cells)")
    parts: list[str] = []
    notes: list[str] = []
    stripped_lines = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code, n = strip_magics(_cell_source(cell))
        stripped_lines += n
        if code.strip():
            parts.append(code.rstrip("\n") + "\n")
    if stripped_lines:
        notes.append(f"{stripped_lines} IPython magic/shell lines replaced by 'pass'")
    source = "\n".join(parts)
    if not source.strip():
        raise InputError(f"{p}: the notebook has no code cells")
    return Snippet(p, source, "ipynb", encoding, notes)


def strip_magics(code: str) -> tuple[str, int]:
    """Replace IPython-only lines by ``pass`` (same indentation); drop non-Python cell magics."""
    lines = code.splitlines()
    if not lines:
        return "", 0
    first = lines[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in _PY_CELL_MAGICS:
            return "", len(lines)
        lines[0] = "pass"
        out, n = _strip_lines(lines[1:])
        return "pass\n" + out, n + 1
    return _strip_lines(lines)


def _strip_lines(lines: list[str]) -> tuple[str, int]:
    out: list[str] = []
    n = 0
    continuing = False
    for line in lines:
        if continuing:
            out.append("")
            continuing = line.rstrip().endswith("\\")
            continue
        m = _MAGIC_LINE.match(line) or _ASSIGN_SHELL.match(line)
        if m or _HELP_LINE.match(line):
            indent = re.match(r"^\s*", line)
            out.append((indent.group(0) if indent else "") + "pass")
            n += 1
            continuing = line.rstrip().endswith("\\")
            continue
        out.append(line)
    return "\n".join(out) + "\n", n
