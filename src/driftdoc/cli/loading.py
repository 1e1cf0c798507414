"""Load user-supplied things named on the command line: spaces and ``module:function``."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError
from driftdoc.model import Space


def load_callable(ref: str, *, base: Path | None = None) -> Callable[..., Any]:
    """Resolve ``module:function`` or ``path/to/file.py:function`` to a callable."""
    if ":" not in ref:
        raise InputError(f"expected module:function, got {ref!r}")
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise InputError(f"expected module:function, got {ref!r}")
    root = (base or Path.cwd()).resolve()
    try:
        if target.endswith(".py"):
            path = (root / target).resolve()
            if not path.is_file():
                raise InputError(f"no such file: {target}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise InputError(f"cannot load {target}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            module = importlib.import_module(target)
    except InputError:
        raise
    except ImportError as exc:
        raise InputError(f"cannot import {target!r}: {exc}") from None
    except Exception as exc:
        raise InputError(f"importing {target!r} raised {type(exc).__name__}: {exc}") from None
    func = getattr(module, attr, None)
    if func is None or not callable(func):
        raise InputError(f"{target!r} has no callable named {attr!r}")
    return func  # type: ignore[no-any-return]


def read_text(path: Path, what: str) -> str:
    """Read a user file with errors that name the file and the problem."""
    if not path.exists():
        raise InputError(f"{what} {path} does not exist")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_space(path: Path) -> Space:
    """A space from JSON: ``{"name": [values]}`` or ``{"parameters": [...]}``."""
    text = read_text(path, "space file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    return Space.from_json(data)
