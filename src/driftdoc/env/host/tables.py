"""The tables of names and dates every stage reasons with, read from ``data/tables.json``.

Kept as data so that adding a backport, a framework or an era is an edit of one versioned
file (checked by ``tests/test_tables.py``), not of the code that reads it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DATA_FILE = "tables.json"


@cache
def _data() -> dict[str, Any]:
    raw = resources.files("driftdoc.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


def version() -> str:
    return str(_data()["version"])


@cache
def backports() -> dict[str, tuple[str, str]]:
    """Import name -> (distribution, why) for stdlib modules a PyPI project backports."""
    return {k: (str(v[0]), str(v[1])) for k, v in _data()["backports"]["modules"].items()}


@cache
def import_hooks() -> dict[str, str]:
    """Package -> module prefix of the distributions its import hook finds."""
    return {str(k): str(v) for k, v in _data()["import_hooks"]["packages"].items()}


@cache
def frameworks() -> tuple[str, ...]:
    """Plug-in ecosystems whose packages are named ``<framework>-<module>``."""
    return tuple(str(n) for n in _data()["frameworks"]["names"])


@cache
def py2_era_imports() -> dict[str, str]:
    """Import prefix -> why only a Python 2 environment runs it."""
    return {str(k): str(v) for k, v in _data()["py2_era_imports"]["imports"].items()}


@cache
def speedups_off() -> dict[str, str]:
    """Build variables that leave out optional compiled speed-ups."""
    return {str(k): str(v) for k, v in _data()["speedups_off"]["variables"].items()}


def _eras(key: str) -> tuple[tuple[dt.date, str], ...]:
    return tuple((dt.date.fromisoformat(d), str(py)) for d, py in _data()["eras"][key])


@cache
def eras() -> tuple[tuple[dt.date, str], ...]:
    """(date horizon, Python of that time) for Python 3 snippets, newest first."""
    return _eras("python3")


@cache
def py2_eras() -> tuple[tuple[dt.date, str], ...]:
    """The same for Python 2 snippets."""
    return _eras("python2")


@cache
def python_released() -> dict[str, dt.date]:
    """CPython "X.Y" -> the date it was first released."""
    return {str(k): dt.date.fromisoformat(v)
            for k, v in _data()["python_released"]["dates"].items()}


@cache
def heavy() -> dict[str, float]:
    """Distribution (PEP 503 name) -> rough installed weight, for placing work on a cluster."""
    return {str(k): float(v) for k, v in _data()["heavy"]["weights"].items()}


@dataclass(frozen=True)
class GpuOnly:
    """A distribution only a GPU uses, and the parents measured to run without it."""

    why: str  # what it is, for people
    parents: dict[str, str]  # parent (PEP 503 name) -> version range the measurements support
    measured: dict[str, tuple[str, ...]]  # parent -> releases measured without it
    signs: tuple[str, ...]  # lower-case words a failure for want of it shows
    needed_by: tuple[str, ...] = ()  # distributions that load it when imported


@cache
def gpu_only() -> dict[str, GpuOnly]:
    """Distribution (PEP 503 name) -> what a validation without a GPU may leave out."""
    return {str(name): GpuOnly(str(e["why"]), {str(k): str(v) for k, v in e["parents"].items()},
                               {str(k): tuple(str(x) for x in v)
                                for k, v in e["measured"].items()},
                               tuple(str(s).lower() for s in e["signs"]),
                               tuple(str(n) for n in e.get("needed_by", ())))
            for name, e in _data()["gpu_only"]["distributions"].items()}
