"""``inspect_snippet`` and ``driftdoc inspect``: the plan, its JSON, and CLI errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.env.knowledge.plan import inspect_snippet

SNIPPET = textwrap.dedent("""
    import os, sys
    import numpy as np
    import cv2
    from google.cloud import storage, bigquery
    import helper
    from . import sibling
    try:
        import simplejson as json
    except ImportError:
        import json
    import sklearn.cross_validation
    import yaml, yaml.constructor

    def main():
        import requests
        return __import__('bs4')
""")


@pytest.fixture()
def snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    d = tmp_path / "gist"
    d.mkdir()
    (d / "helper.py").write_text("X = 1\n")
    p = d / "snippet.py"
    p.write_text(SNIPPET)
    return p


def kinds(plan_json: dict) -> dict[str, tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return {
        i["name"]: (i["kind"], i["context"],
                    i["candidates"][0]["distribution"] if i["candidates"] else None)
        for i in plan_json["imports"]
    }


def test_plan_api(snippet: Path) -> None:
    plan = inspect_snippet(snippet, interpreters=[])
    by = kinds(plan.to_json())
    assert by["os"][0] == "stdlib"
    assert by["numpy"] == ("thirdparty", "module", "numpy")
    assert by["cv2"][2] == "opencv-python"
    assert by["google.cloud.storage"][2] == "google-cloud-storage"
    assert by["google.cloud.bigquery"][2] == "google-cloud-bigquery"
    assert by["helper"][0] == "local"
    assert by[".sibling"][0] == "local"
    assert by["simplejson"][:2] == ("thirdparty", "optional")
    assert by["json"][0] == "stdlib"
    assert by["sklearn.cross_validation"][2] == "scikit-learn"
    assert by["requests"][1] == "function"
    assert by["bs4"] == ("thirdparty", "dynamic", "beautifulsoup4")
    reqs = plan.requirements()
    assert "simplejson" not in reqs  # optional
    assert reqs.count("PyYAML") == 1  # deduplicated
    assert {"numpy", "opencv-python", "google-cloud-storage", "scikit-learn", "requests",
            "beautifulsoup4"} <= set(reqs)
    assert plan.python and plan.python.startswith("3.")
    assert plan.platform_bound == []


def test_python2_snippet_and_stdlib_of_27(tmp_path: Path) -> None:
    p = tmp_path / "old.py"
    p.write_text("import urllib2, cStringIO\nimport MySQLdb\nprint 'hi'\n")
    plan = inspect_snippet(p, interpreters=[])
    assert plan.python == "2.7"
    by = kinds(plan.to_json())
    assert by["urllib2"][0] == "stdlib" and by["cStringIO"][0] == "stdlib"
    assert plan.requirements() == ["mysqlclient"]


def test_other_pythons_stdlib_is_never_a_package(tmp_path: Path) -> None:
    p = tmp_path / "both.py"
    p.write_text("try:\n    import urllib2\nexcept ImportError:\n    import urllib.request\n"
                 "print(f'{1}')\n")
    plan = inspect_snippet(p, interpreters=[])
    assert plan.python != "2.7"
    by = kinds(plan.to_json())
    assert by["urllib2"][0] == "stdlib"
    assert plan.requirements() == []


def test_platform_bound(tmp_path: Path) -> None:
    p = tmp_path / "plugin.py"
    p.write_text("import sublime, sublime_plugin\nimport os\n")
    plan = inspect_snippet(p, interpreters=[])
    assert {u.name for u in plan.platform_bound} == {"sublime", "sublime_plugin"}
    assert plan.to_json()["platform_bound"][0]["category"] == "sublime-text"


def test_notebook(tmp_path: Path) -> None:
    nb = {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import pandas as pd\n"]},
        {"cell_type": "code", "source": ["!pip install seaborn\n", "import seaborn\n"]}]}
    p = tmp_path / "nb.ipynb"
    p.write_text(json.dumps(nb))
    plan = inspect_snippet(p, interpreters=[])
    assert plan.source_kind == "ipynb"
    assert set(plan.requirements()) == {"pandas", "seaborn"}


def test_cli_json(snippet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(snippet), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["python_candidates"] and data["python_candidates"][0]["reasons"]
    assert kinds(data)["cv2"][2] == "opencv-python"


def test_cli_text(snippet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(snippet), "--python", "3.11"]) == 0
    out = capsys.readouterr().out
    assert "Python candidates" in out and "opencv-python" in out and "Requirements" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--python", "1.5"], "not available"),
        (["--python", "abc"], "version like"),
        (["--format", "xml"], "unknown format"),
    ],
)
def test_cli_bad_options(snippet: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                         message: str) -> None:
    assert main(["inspect", str(snippet), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text('{"a": 1}')
    assert main(["inspect", str(tmp_path / "x.json")]) == 2
    assert "JSON" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err


def test_platform_imports_become_stand_ins_unless_nothing_provides_them(tmp_path: Path) -> None:
    """bpy has a PyPI build; IDA's idaapi has nothing: only the latter stops the search."""
    from driftdoc.env.search.runner import blocking_platform, deps_from_uses, standin_caveats

    blender = tmp_path / "blender.py"
    blender.write_text("import bpy\nimport os\n")
    plan = inspect_snippet(blender, interpreters=[])
    assert [u.name for u in plan.platform_bound] == ["bpy"]
    assert blocking_platform(plan) == []
    deps = deps_from_uses(plan.imports)
    assert [(d.dist, d.standin) for d in deps] == [("bpy", True)]
    assert plan.requirements() == []  # the plan itself does not claim bpy as a requirement
    caveat, = standin_caveats(plan, deps)
    assert caveat.startswith("bpy: ") and "stands in" in caveat

    ida = tmp_path / "ida.py"
    ida.write_text("import idaapi\n\ndef later():\n    import idc\n")
    plan = inspect_snippet(ida, interpreters=[])
    assert [u.name for u in blocking_platform(plan)] == ["idaapi"]  # idc is only in a function


def test_import_aliases_cover_from_imports(tmp_path: Path) -> None:
    """``models.SubfieldBase`` on a failing Python 2 line must lead back to django."""
    from driftdoc.env.search.runner import import_aliases

    p = tmp_path / "s.py"
    p.write_text("from django.db import models, signals  # ORM\nimport numpy as np\n"
                 "from a.b import c as d\nfrom x import (y,\n  z)\n")
    assert import_aliases(p) == {"models": "django.db.models", "signals": "django.db.signals",
                                 "np": "numpy", "d": "a.b.c"}


def test_macos_bindings_are_not_tried_as_stand_ins(tmp_path: Path) -> None:
    from driftdoc.env.search.runner import blocking_platform

    p = tmp_path / "mac.py"
    p.write_text("import Foundation\nimport objc\n")
    plan = inspect_snippet(p, interpreters=[])
    assert {u.name for u in blocking_platform(plan)} == {"Foundation", "objc"}


def test_python_prefixed_binding_is_a_late_candidate(tmp_path: Path) -> None:
    """``import cjson``: after what the knowledge base suggests comes ``python-cjson``."""
    from driftdoc.env.search.runner import deps_from_uses

    p = tmp_path / "s.py"
    p.write_text("import zzqqcjson\n")
    plan = inspect_snippet(p, interpreters=[])
    on_index = {"python-zzqqcjson", "zzqqcjson"}
    dep, = deps_from_uses(plan.imports, lambda name: name in on_index)
    assert dep.candidates == ("zzqqcjson", "python-zzqqcjson")
    dep, = deps_from_uses(plan.imports, lambda name: name == "zzqqcjson")
    assert dep.candidates == ("zzqqcjson",)


def test_flask_ext_imports_name_the_extension_not_flask(tmp_path: Path) -> None:
    """``from flask.ext import restful`` and ``flask.ext.sqlalchemy`` are the extensions
    flask_restful and flask_sqlalchemy; the dependency must not claim ``flask`` itself,
    or a missing ``flask.ext`` would be blamed on the extension instead of on Flask."""
    from driftdoc.env.search.runner import deps_from_uses

    p = tmp_path / "s.py"
    p.write_text("from flask.ext import restful\nfrom flask.ext.sqlalchemy import SQLAlchemy\n")
    plan = inspect_snippet(p, interpreters=[])
    deps = deps_from_uses(plan.imports)
    served = {d.dist.lower(): d.imports for d in deps}
    assert served == {"flask-restful": ("flask_restful",),
                      "flask-sqlalchemy": ("flask_sqlalchemy",)}
