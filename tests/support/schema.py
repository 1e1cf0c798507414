"""Check driftdoc's JSON documents against the published results schema (docs/schema/)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from driftdoc.schema import SCHEMA_VERSION

SCHEMA_PATH = (Path(__file__).resolve().parents[2] / "docs" / "schema"
               / f"driftdoc-results-{SCHEMA_VERSION}.schema.json")


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(doc: Any, kind: str | None = None) -> None:
    """Fail with every schema violation listed (path and message), not only the first."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        # oneOf hides the reason: validate against the branch the document claims to be
        from jsonschema import Draft202012Validator

        schema = _validator().schema
        claimed = doc.get("kind") if isinstance(doc, dict) else None
        if claimed in schema["$defs"]:
            branch = {**schema, "$ref": f"#/$defs/{claimed}"}
            branch.pop("oneOf", None)
            errors = list(Draft202012Validator(branch).iter_errors(doc)) or errors
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                 for e in errors[:20]]
        raise AssertionError("not valid against the results schema:\n" + "\n".join(lines))
    if kind is not None:
        assert doc["kind"] == kind, f"expected a {kind} document, got {doc.get('kind')}"
