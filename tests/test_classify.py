"""classify(): every record falls into exactly one class; V2 record round-trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from driftdoc.env.validation.classify import Category, classify, v2_pass
from driftdoc.env.validation.records import (
    DependencyResult,
    ExecutionResult,
    InstallError,
    ValidationRecord,
)

SITE = "/env/lib/python3.8/site-packages"


def rec(status: str = "Failed", **ex: Any) -> ValidationRecord:
    ex.setdefault("status_code", "Exception" if status == "Failed" else status)
    ex.setdefault("imports_completed", True)
    return ValidationRecord(status, DependencyResult(), ExecutionResult(**ex))


CASES = [
    (ValidationRecord.install_failed([InstallError("grpcio==1.0", "error: build failed")]),
     Category.INSTALL_FAILURE, False, "grpcio==1.0"),
    (rec(exception_name="SyntaxError", exception_file_name="/w/s.py"),
     Category.SYNTAX_ERROR, False, None),
    (rec(exception_name="SyntaxError", raised_in_package=True, raising_module="pkg",
         raising_distribution="some-pkg", imports_completed=False),
     Category.SYNTAX_ERROR, False, "some-pkg"),
    (rec(exception_name="ModuleNotFoundError", missing_module="sklearn.cross_validation",
         exception_message="No module named 'sklearn.cross_validation'", imports_completed=False),
     Category.IMPORT_ERROR, False, "sklearn.cross_validation"),
    (rec(exception_name="ImportError",
         exception_message="cannot import name 'url_quote' from 'werkzeug.urls' (/x.py)",
         missing_module="werkzeug.urls", imports_completed=False),
     Category.IMPORT_ERROR, False, "werkzeug.urls"),
    (rec(exception_name="ImportError", exception_message="cannot import name url_quote",
         exception_line="from werkzeug.urls import url_quote", imports_completed=False),
     Category.IMPORT_ERROR, False, "werkzeug.urls"),
    (rec(exception_name="ImportError", exception_message="No module named old"),
     Category.IMPORT_ERROR, False, "old"),
    (rec(exception_name="AttributeError", raised_in_package=True, raising_module="driftpkg",
         raising_distribution="drift-pkg", exception_file_name=f"{SITE}/driftpkg/x.py"),
     Category.PACKAGE_ERROR, False, "drift-pkg"),
    (rec(exception_name="TypeError", raised_in_package=True, raising_module="np"),
     Category.PACKAGE_ERROR, False, "np"),
    (rec(exception_name="RuntimeError", raised_in_package=True, raising_module="keras",
         imports_completed=False),
     Category.PACKAGE_ERROR, False, "keras"),
    (rec(exception_name="AttributeError", raised_in_package=False),
     Category.SNIPPET_ERROR, True, None),
    (rec(exception_name="NameError"), Category.SNIPPET_ERROR, True, None),
    (rec(exception_name="FileNotFoundError"), Category.SNIPPET_ERROR, True, None),
    (rec(exception_name="ConnectionError", raised_in_package=True, raising_module="requests"),
     Category.SNIPPET_ERROR, True, None),
    (rec(exception_name="URLError"), Category.SNIPPET_ERROR, True, None),
    (rec(exception_name="SystemExit", exit_code=2), Category.SNIPPET_ERROR, True, None),
    (rec("Timeout", imports_completed=True), Category.TIMEOUT_AFTER_IMPORTS, True, None),
    (rec("Timeout", imports_completed=False), Category.TIMEOUT_BEFORE_IMPORTS, False, None),
    (rec("Failed", status_code="Crash", imports_completed=False), Category.CRASH, False, None),
    (rec("Failed", status_code="Crash", imports_completed=True), Category.CRASH, True, None),
    (rec("Success"), Category.SUCCESS, True, None),
]


@pytest.mark.parametrize(("record", "category", "env_ok", "responsible"), CASES)
def test_classify(record: ValidationRecord, category: Category, env_ok: bool,
                  responsible: str | None) -> None:
    got = classify(record)
    assert (got.category, got.env_ok, got.responsible) == (category, env_ok, responsible)
    assert got.reason


def test_every_category_is_reachable() -> None:
    assert {c[1] for c in CASES} == set(Category)


@pytest.mark.parametrize(("name", "ok"), [
    ("SyntaxError", False), ("ImportError", False), ("ModuleNotFoundError", False),
    ("AttributeError", False), ("NameError", True), ("TypeError", True), (None, True),
])
def test_v2_pass(name: str | None, ok: bool) -> None:
    assert v2_pass(rec(exception_name=name)) is ok
    assert v2_pass(ValidationRecord.install_failed([InstallError(None, "x")])) is False


def test_v2_json_round_trip_and_shape() -> None:
    original = rec(exception_name="AttributeError", exception_message="m",
                   exception_file_name="/w/s.py", exception_line_number=3,
                   exception_line="x.y", exception_stack=[("/w/s.py", 3, "<module>", "x.y")])
    doc = json.loads(json.dumps(original.to_v2_json()))
    assert doc["status_code"] == "Failed"
    assert doc["dependencies"] == {"status_code": "Success", "install_errors": []}
    for key in ("status_code", "exception_name", "exception_message", "exception_file_name",
                "exception_line_number", "exception_line", "exception_stack"):
        assert key in doc["execution"]
    assert doc["execution"]["exception_stack"] == [["/w/s.py", 3, "<module>", "x.y"]]
    back = ValidationRecord.from_v2_json(doc)
    assert back.to_v2_json() == original.to_v2_json()


def test_reads_a_v2_record_from_the_seed() -> None:
    v2 = {"status_code": "Failed",
          "dependencies": {"status_code": "Success", "install_errors": []},
          "execution": {"status_code": "Exception", "exception_name": "ModuleNotFoundError",
                        "exception_message": "No module named 'tensorflow'",
                        "exception_file_name": "/usr/local/lib/python3.7/site-packages/keras/"
                                               "backend/tensorflow_backend.py",
                        "exception_line_number": 5, "exception_line": "import tensorflow as tf",
                        "exception_stack": [["/data/x.py", 5, "<module>", "from keras import a"]]},
          "validations": 4}
    got = classify(ValidationRecord.from_v2_json(v2))
    assert got.category is Category.IMPORT_ERROR and got.responsible == "tensorflow"
