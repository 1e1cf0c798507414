"""Top-level standard-library module names per Python version (data from tools/gen_stdlib.py).

A module that is stdlib in the chosen version is never a PyPI dependency. Versions missing from
the data use the nearest known one of the same major version.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

# Modules that are stdlib only in some versions but have a same-named backport on PyPI:
# (import name) -> (distribution, why).
BACKPORTS: dict[str, tuple[str, str]] = {
    "enum": ("enum34", "enum is stdlib since 3.4; enum34 backports it"),
    "typing": ("typing", "typing is stdlib since 3.5; the typing distribution backports it"),
    "ipaddress": ("ipaddress", "ipaddress is stdlib since 3.3; backported on PyPI"),
    "concurrent": ("futures", "concurrent.futures is stdlib since 3.2; futures backports it"),
    "pathlib": ("pathlib", "pathlib is stdlib since 3.4; backported on PyPI"),
    "dataclasses": ("dataclasses", "dataclasses is stdlib since 3.7; backported for 3.6"),
    "contextvars": ("contextvars", "contextvars is stdlib since 3.7; backported for 3.6"),
    "statistics": ("statistics", "statistics is stdlib since 3.4; backported on PyPI"),
    "argparse": ("argparse", "argparse is stdlib since 2.7/3.2; backported on PyPI"),
    "asyncio": ("asyncio", "asyncio is stdlib since 3.4; the 3.3 backport is on PyPI"),
    "distutils": ("setuptools", "distutils left the stdlib in 3.12; setuptools provides it"),
    "imp": ("zombie-imp", "imp left the stdlib in 3.12; zombie-imp restores it"),
    "asynchat": ("pyasynchat", "asynchat left the stdlib in 3.12; pyasynchat restores it"),
    "asyncore": ("pyasyncore", "asyncore left the stdlib in 3.12; pyasyncore restores it"),
    "smtpd": ("aiosmtpd", "smtpd left the stdlib in 3.12"),
    "telnetlib": ("telnetlib-313-and-up", "telnetlib left the stdlib in 3.13"),
    "cgi": ("legacy-cgi", "cgi left the stdlib in 3.13; legacy-cgi restores it"),
    "cgitb": ("legacy-cgi", "cgitb left the stdlib in 3.13; legacy-cgi restores it"),
    "pipes": ("pipes", "pipes left the stdlib in 3.13"),
    "imghdr": ("standard-imghdr", "imghdr left the stdlib in 3.13"),
    "nntplib": ("standard-nntplib", "nntplib left the stdlib in 3.13"),
    "lib2to3": ("fissix", "lib2to3 left the stdlib in 3.13"),
    "mock": ("mock", "mock is a PyPI distribution (unittest.mock is stdlib in 3.3+)"),
}


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
