"""Old ``setup.py`` files that today's setuptools refuses, and the pins known to need that.

A pin that once needed ``setuptools<58`` to build keeps needing it wherever its wheel is
rebuilt, even when this machine's cache now serves the wheel it built: the registry lets
every environment with such a pin say so, so the emitted files build it too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from driftdoc.env.host import cache

LEGACY_SETUPTOOLS = "setuptools<58"
"""The last setuptools with ``use_2to3`` and the other hooks old ``setup.py`` files call."""
_LEGACY_BUILD = re.compile(r"use_2to3|convert_2to3|setuptools\.command\.test|"
                           r"No module named '?pkg_resources'?")
_REGISTRY_LOCK = threading.Lock()


def _dir() -> Path:
    return cache.cache_root() / "build-constraints"


def legacy_build_args(failure: str) -> list[str]:
    """uv arguments that let an old ``setup.py`` build (an older setuptools in its isolated
    build environment), if ``failure`` says that is what broke it; else nothing."""
    if not _LEGACY_BUILD.search(failure):
        return []
    path = _dir() / "legacy-setuptools.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(LEGACY_SETUPTOOLS + "\n")
    return ["--build-constraints", str(path)]


def _key(pin: str) -> str:
    name, _, version = pin.partition("==")
    return f"{canonicalize_name(name)}=={version.strip()}"


def _registry() -> Path:
    return _dir() / "legacy-pins.txt"


def remember_legacy_build(pin: str) -> None:
    """Record that ``pin`` built only with :data:`LEGACY_SETUPTOOLS`."""
    key = _key(pin)
    with _REGISTRY_LOCK, cache.locked("legacy-pins"):
        if key in _known():
            return
        _registry().parent.mkdir(parents=True, exist_ok=True)
        with _registry().open("a", encoding="utf-8") as out:
            out.write(key + "\n")


def _known() -> set[str]:
    try:
        return set(_registry().read_text(encoding="utf-8").split())
    except OSError:
        return set()


def legacy_constraints(pins: Sequence[str]) -> list[str]:
    """The build constraints an environment of ``pins`` needs wherever it is rebuilt."""
    known = _known()
    return [LEGACY_SETUPTOOLS] if any(_key(p) in known for p in pins) else []
