"""The results schema: valid JSON Schema, every field explained, and real outputs conform.

The end-to-end tests (run, batch, validate, explain, debug) check each JSON document they
get against it through ``support.schema.assert_valid``; this module checks the schema
itself and a few documents made here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from driftdoc import Space, debug
from driftdoc.env.search.result import DriftFix, EnvResult
from driftdoc.schema import SCHEMA_VERSION
from support.schema import SCHEMA_PATH, assert_valid


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _undocumented(node: Any, path: str = "") -> list[str]:
    """Every property, definition and enumerated value must carry a description."""
    gaps: list[str] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if "description" not in sub:
                gaps.append(f"{path}/properties/{name}")
        for name, sub in node.get("$defs", {}).items():
            if "description" not in sub:
                gaps.append(f"{path}/$defs/{name}")
        for i, alt in enumerate(node.get("oneOf", [])):
            if "const" in alt and "description" not in alt:
                gaps.append(f"{path}/oneOf/{i}")
        if "enum" in node and "description" not in node:
            gaps.append(f"{path}/enum")
        for key, sub in node.items():
            gaps += _undocumented(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            gaps += _undocumented(sub, f"{path}/{i}")
    return gaps


def test_schema_is_versioned_and_documented() -> None:
    schema = _schema()
    assert schema["$id"].endswith(f":{SCHEMA_VERSION}")
    assert SCHEMA_PATH.name == f"driftdoc-results-{SCHEMA_VERSION}.schema.json"
    assert _undocumented(schema) == []
    for kind in ("run", "batch", "validate", "explain", "debug"):
        assert kind in schema["$defs"], kind


def test_every_classification_is_explained() -> None:
    """Each verdict kind the search can report is a documented classification value."""
    from driftdoc.env.validation import verdict

    kinds = {v for k, v in vars(verdict).items() if k.isupper() and isinstance(v, str)
             and k not in ("LAYOUT",)}
    documented = {alt.get("const") for alt in
                  _schema()["$defs"]["run"]["properties"]["classification"]["oneOf"]}
    assert kinds - documented == set()


def test_run_result_round_trip() -> None:
    result = EnvResult("s.py", "resolved", "3.8", ["a==1"], 3, 1.5,
                       drift=[DriftFix("a", "2", "1", "ImportError", "x", 3, "older")],
                       direct=["a==1"], steps=[{
                           "move": "start", "why": "the first plan", "python": "3.8",
                           "as_of": None, "requirements": ["a"], "result": "import-error",
                           "detail": "ImportError at line 3", "kept": True}],
                       classification="success")
    assert_valid(result.to_json(), "run")
    assert EnvResult.from_json(result.to_json()).to_json() == result.to_json()


def test_debug_summary() -> None:
    space = Space.from_json({"lr": [0.01, 0.1, 1.0], "opt": ["adam", "sgd"]})
    diag = debug(space, lambda c: not (c["lr"] >= 0.1 and c["opt"] == "adam"))
    assert_valid(diag.summary(), "debug")


@pytest.mark.parametrize("broken", [
    {"status": "maybe"}, {"classification": "flaky"}, {"surprise": 1}, {"schema_version": 2}])
def test_schema_rejects_what_it_does_not_document(broken: dict[str, Any]) -> None:
    doc = {**EnvResult("s.py", "unresolved", None, [], 0, 0.0).to_json(), **broken}
    with pytest.raises(AssertionError, match="not valid"):
        assert_valid(doc)
