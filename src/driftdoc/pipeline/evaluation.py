"""Turn a run's outputs into a verdict: exit status, an output-file check, or a callable."""

from __future__ import annotations

import importlib
import json
import re
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError
from driftdoc.model import Outcome
from driftdoc.pipeline.spec import Evaluation

_import_lock = threading.Lock()
_MISSING = object()


def load_ref(ref: str, base: Path) -> Callable[..., Any]:
    """Import ``module:function`` with the spec's directory importable."""
    module_name, _, attr = ref.rpartition(":")
    with _import_lock:
        added = str(base) not in sys.path
        if added:
            sys.path.insert(0, str(base))
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise InputError(f"cannot import {module_name!r}: {why}") from None
        finally:
            if added:
                sys.path.remove(str(base))
    func = getattr(module, attr, None)
    if not callable(func):
        raise InputError(f"{module_name!r} has no callable named {attr!r}")
    return func  # type: ignore[no-any-return]


def json_lookup(data: Any, path: str | None) -> Any:
    """Follow a dotted path (``a.b.0.c``) into parsed JSON; ``_MISSING`` when absent."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.lstrip("-").isdigit() and -len(data) <= int(
                part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def compare(actual: Any, op: str, expected: Any) -> bool:
    numeric = (int, float)
    if isinstance(expected, numeric) and not isinstance(expected, bool):
        if isinstance(actual, str):
            actual = float(actual)
        if not isinstance(actual, numeric) or isinstance(actual, bool):
            raise TypeError(f"{actual!r} is not a number")
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "<":
        return bool(actual < expected)
    if op == "<=":
        return bool(actual <= expected)
    if op == ">":
        return bool(actual > expected)
    return bool(actual >= expected)


def evaluate(ev: Evaluation, outputs: Mapping[str, Any], workdir: Path, base: Path
             ) -> tuple[bool, str, dict[str, Any]]:
    """``(verdict, message, details)`` for a run that finished normally."""
    if ev.kind == "callable":
        assert ev.callable is not None
        func = load_ref(ev.callable, base)
        result = func(dict(outputs))
        if isinstance(result, Outcome):
            return result.succeeded, result.message, {"returned": result.category}
        if isinstance(result, tuple) and len(result) == 2:
            return bool(result[0]), str(result[1]), {}
        if isinstance(result, bool) or type(result).__name__ == "bool_":
            return bool(result), "" if result else f"{ev.callable} returned False", {}
        raise TypeError(f"{ev.callable} must return a bool, got {type(result).__name__}")
    if ev.kind == "file":
        if ev.file is None:
            text = str(outputs.get("stdout", ""))
            where = "stdout"
        else:
            target = workdir / ev.file
            if not target.is_file():
                return False, f"{ev.file} was not produced", {"file": ev.file}
            text = target.read_text(encoding="utf-8", errors="replace")
            where = ev.file
        if ev.regex is not None:
            ok = re.search(ev.regex, text, re.MULTILINE) is not None
            msg = "" if ok else f"{where} does not match /{ev.regex}/"
            return ok, msg, {"file": where, "regex": ev.regex}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return False, f"{where} is not JSON ({exc.msg})", {"file": where}
        actual = json_lookup(data, ev.json_path)
        label = f"{where}:{ev.json_path}" if ev.json_path else where
        if actual is _MISSING:
            return False, f"{label} is missing", {"file": where, "json_path": ev.json_path}
        info = {"file": where, "json_path": ev.json_path, "actual": actual, "op": ev.op,
                "expected": ev.expected}
        assert ev.op is not None
        try:
            ok = compare(actual, ev.op, ev.expected)
        except (TypeError, ValueError) as exc:
            return False, f"{label}: cannot compare ({exc})", info
        msg = "" if ok else f"{label} = {actual!r}, wanted {ev.op} {ev.expected!r}"
        return ok, msg, info
    # exit status: the runner already failed non-zero exits; a callable returning False fails
    if outputs.get("value") is False:
        return False, "the pipeline returned False", {}
    return True, "", {}
