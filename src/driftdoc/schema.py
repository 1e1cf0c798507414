"""The version of the JSON results' contract (``docs/schema/driftdoc-results-1.schema.json``).

Every document ``run``, ``validate``, ``explain`` and ``debug`` print carries ``kind`` and
``schema_version``, so a consumer knows which schema (and which part of it) applies.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1


def stamped(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``kind`` and ``schema_version`` first (the fields every result has)."""
    return {"kind": kind, "schema_version": SCHEMA_VERSION,
            **{k: v for k, v in data.items() if k not in ("kind", "schema_version")}}
