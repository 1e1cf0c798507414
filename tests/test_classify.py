"""classify(): every record falls into exactly one class; the failure read from a
validation's fields; the one pass criterion; V2 record round-trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from driftdoc.env.validation.failure import Kind, classify, read_failure, v2_pass
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
     Kind.INSTALL, False, "grpcio==1.0"),
    (rec(exception_name="SyntaxError", exception_file_name="/w/s.py"),
     Kind.SYNTAX, False, None),
    (rec(exception_name="SyntaxError", raised_in_package=True, raising_module="pkg",
         raising_distribution="some-pkg", imports_completed=False),
     Kind.SYNTAX, False, "some-pkg"),
    (rec(exception_name="ModuleNotFoundError", missing_module="sklearn.cross_validation",
         exception_message="No module named 'sklearn.cross_validation'", imports_completed=False),
     Kind.IMPORT, False, "sklearn.cross_validation"),
    (rec(exception_name="ImportError",
         exception_message="cannot import name 'url_quote' from 'werkzeug.urls' (/x.py)",
         missing_module="werkzeug.urls", imports_completed=False),
     Kind.IMPORT, False, "werkzeug.urls"),
    (rec(exception_name="ImportError", exception_message="cannot import name url_quote",
         exception_line="from werkzeug.urls import url_quote", imports_completed=False),
     Kind.IMPORT, False, "werkzeug.urls"),
    (rec(exception_name="ImportError", exception_message="No module named old"),
     Kind.IMPORT, False, "old"),
    (rec(exception_name="AttributeError", raised_in_package=True, raising_module="driftpkg",
         raising_distribution="drift-pkg", exception_file_name=f"{SITE}/driftpkg/x.py"),
     Kind.DRIFT, False, "drift-pkg"),
    (rec(exception_name="TypeError", raised_in_package=True, raising_module="np"),
     Kind.DRIFT, False, "np"),
    (rec(exception_name="RuntimeError", raised_in_package=True, raising_module="keras",
         imports_completed=False),
     Kind.DRIFT, False, "keras"),
    (rec(exception_name="AttributeError", raised_in_package=False),
     Kind.SNIPPET, True, None),
    (rec(exception_name="NameError"), Kind.SNIPPET, True, None),
    (rec(exception_name="FileNotFoundError"), Kind.SNIPPET, True, None),
    (rec(exception_name="ConnectionError", raised_in_package=True, raising_module="requests"),
     Kind.SNIPPET, True, None),
    (rec(exception_name="URLError"), Kind.SNIPPET, True, None),
    (rec(exception_name="SystemExit", exit_code=2), Kind.SNIPPET, True, None),
    (rec("Timeout", imports_completed=True), Kind.TIMEOUT_IMPORTS, True, None),
    (rec("Timeout", imports_completed=False), Kind.TIMEOUT, False, None),
    (rec("Failed", status_code="Crash", imports_completed=False), Kind.CRASH, False, None),
    (rec("Failed", status_code="Crash", imports_completed=True), Kind.CRASH, True, None),
    (rec("Success"), Kind.SUCCESS, True, None),
]


@pytest.mark.parametrize(("record", "category", "env_ok", "responsible"), CASES)
def test_classify(record: ValidationRecord, category: Kind, env_ok: bool,
                  responsible: str | None) -> None:
    got = classify(record)
    assert (got.category, got.env_ok, got.responsible) == (category, env_ok, responsible)
    assert got.reason


def test_every_category_is_reachable() -> None:
    # snippet-attribute-error is the search's refinement of a snippet error (verdict_fields)
    assert {c[1] for c in CASES} == set(Kind) - {Kind.SNIPPET_ATTR}


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
    assert got.category is Kind.IMPORT and got.responsible == "tensorflow"


def test_failure_reads_the_names_a_message_gives() -> None:
    f = read_failure(kind=Kind.IMPORT, exception_name="ImportError",
                     exception_message="cannot import name 'url_quote' from 'werkzeug.urls' "
                                       "(/env/werkzeug/urls.py)")
    assert (f.name, f.source, f.bare_name) == ("url_quote", "werkzeug.urls", False)
    assert f.summary == "cannot import name 'url_quote' from 'werkzeug.urls'"  # no paths
    py2 = read_failure(kind=Kind.IMPORT, exception_message="cannot import name PY3",
                       exception_line="from mongoengine.python_support import PY3")
    assert (py2.name, py2.source, py2.bare_name) == ("PY3", "mongoengine.python_support", True)
    typelib = read_failure(kind=Kind.IMPORT, exception_message="cannot import name Notify, "
                           "introspection typelib not found")
    assert typelib.typelib == "Notify" and typelib.shared_library and not typelib.bare_name
    lib = read_failure(kind=Kind.IMPORT, exception_message="libportaudio.so.2: cannot open "
                       "shared object file: No such file or directory")
    assert lib.shared_library and lib.typelib is None
    req = read_failure(kind=Kind.IMPORT, exception_message="IPython.zmq requires pyzmq >= 2.1.4")
    assert req.requires == "pyzmq"
    attr = read_failure(kind=Kind.SNIPPET_ATTR,
                        exception_message="module 'tensorflow' has no attribute 'contrib'")
    assert attr.module_attribute == "tensorflow" and attr.name is None
    old = read_failure(kind=Kind.SNIPPET_ATTR, exception_line="w = tf.random_normal([3, 3])",
                       exception_message="'module' object has no attribute 'random_normal'")
    assert (old.attribute_owner, old.name) == ("tf", "random_normal")
    gone = read_failure(kind=Kind.IMPORT, exception_message="The pandas.io.data module is "
                        "moved to a separate package (pandas-datareader)")
    assert gone.says_gone
    assert not read_failure(kind=Kind.SNIPPET, exception_message="moved").says_gone


def test_one_pass_criterion() -> None:
    # a timeout before the imports fails, as an IndentationError does; after them it passes
    assert not v2_pass(rec("Timeout", imports_completed=False))
    assert v2_pass(rec("Timeout", imports_completed=True))
    assert not v2_pass(rec(exception_name="IndentationError"))
    assert not read_failure(kind=Kind.SNIPPET_ATTR, exception_name="AttributeError").passes
    assert read_failure(kind=Kind.SNIPPET, exception_name="NameError").passes
