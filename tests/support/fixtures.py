"""pytest fixtures over :mod:`support.index`; import the ones you need into your test module::

    from support.fixtures import fake_index, local_index  # noqa: F401

``local_index`` is an empty started :class:`~support.index.LocalIndex` (function scope);
``fake_index`` is a session-scoped index already holding :mod:`support.fakepkgs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fakepkgs import publish_fake_packages
from support.index import LocalIndex


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
