"""Where driftdoc keeps its files: the one definition of the cache directory.

Both halves (the environment search and the pipeline snapshots) and the benchmark scripts
read it from here, so ``$DRIFTDOC_CACHE_DIR`` moves everything at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$DRIFTDOC_CACHE_DIR``, else ``$XDG_CACHE_HOME/driftdoc``, else ``~/.cache/driftdoc``
    (read on every call, so tests can point it elsewhere)."""
    env = os.environ.get("DRIFTDOC_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "driftdoc"
