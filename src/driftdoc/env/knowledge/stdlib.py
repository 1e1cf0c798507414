"""Top-level standard-library module names per Python version (data from tools/gen_stdlib.py).

A module that is stdlib in the chosen version is never a PyPI dependency. Versions missing from
the data use the nearest known one of the same major version.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@cache
def versions() -> tuple[str, ...]:
    """Python versions with stdlib data, oldest first."""
    root = resources.files("driftdoc.data").joinpath("stdlib")
    found = [p.name[:-4] for p in root.iterdir() if p.name.endswith(".txt")]
    return tuple(sorted(found, key=_key))


@cache
def modules(version: str) -> frozenset[str]:
    """Top-level stdlib names of Python ``version`` ("X.Y")."""
    known = versions()
    if version not in known:
        same = [v for v in known if v.split(".")[0] == version.split(".")[0]]
        if not same:
            return frozenset()
        want = _key(version)
        version = min(same, key=lambda v: abs(_key(v)[1] - want[1]))
    text = resources.files("driftdoc.data").joinpath("stdlib", f"{version}.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_stdlib(name: str, version: str) -> bool:
    """Is the top-level module of ``name`` in the standard library of ``version``?"""
    return name.split(".")[0] in modules(version)


def stdlib_versions(name: str) -> list[str]:
    """The versions whose stdlib has the top-level module of ``name``."""
    top = name.split(".")[0]
    return [v for v in versions() if top in modules(v)]


def is_stdlib_anywhere(name: str) -> bool:
    return bool(stdlib_versions(name))
