"""pytest fixtures over :mod:`support.index`; bring them into a test module with::

    from support.fixtures import *  # noqa: F403  (fixtures only: see ``__all__``)
    from support.fixtures import has_python, python3_version  # helpers, by name

``local_index`` is an empty started :class:`~support.index.LocalIndex` (function scope);
``driftdoc_cache`` points ``$DRIFTDOC_CACHE_DIR`` at a session temp dir; helpers
``python3_version``, ``has_python`` and ``can_sandbox`` help tests skip with a reason;
``fake_index`` is a session-scoped index already holding :mod:`support.fakepkgs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fakepkgs import publish_fake_packages
from support.index import LocalIndex

__all__ = ["driftdoc_cache", "fake_index", "local_index"]


@pytest.fixture
def local_index(tmp_path: Path) -> Iterator[LocalIndex]:
    with LocalIndex(tmp_path / "index") as index:
        yield index


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("fake-index")
    with LocalIndex(root / "served") as index:
        publish_fake_packages(index, root / "built")
        yield index


@pytest.fixture(scope="session")
def driftdoc_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point ``$DRIFTDOC_CACHE_DIR`` at a fresh directory for the whole session."""
    path = tmp_path_factory.mktemp("driftdoc-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRIFTDOC_CACHE_DIR", str(path))
        yield path


def python3_version(minimum: tuple[int, int] = (3, 8)) -> str | None:
    """The newest installed CPython 3 "X.Y" at least ``minimum`` (``None`` if there is none)."""
    from driftdoc.env.host.interpreters import discover

    found = [i for i in discover() if i.version_tuple[0] == 3 and i.version_tuple >= minimum
             and i.implementation == "CPython"]
    return max(found, key=lambda i: i.version_tuple).version if found else None


def has_python(version: str) -> bool:
    """Whether an interpreter for "X.Y" is installed (use with ``pytest.mark.skipif``)."""
    from driftdoc.env.host.interpreters import discover

    return any(i.version == version for i in discover())


def can_sandbox() -> bool:
    """Whether bubblewrap works here (tests needing it skip with a clear reason otherwise)."""
    from driftdoc.errors import DriftdocError
    from driftdoc.sandbox import check_bwrap

    try:
        check_bwrap()
    except DriftdocError:
        return False
    return True
