"""Python version inference: static evidence alone, and compile checks with real interpreters."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from driftdoc.env.host.interpreters import discover
from driftdoc.env.knowledge.pyversion import compile_check, infer_versions
from driftdoc.env.snippet.imports import scan_imports


def rank(src: str) -> list[str]:
    scan = scan_imports(textwrap.dedent(src))
    return [c.version for c in infer_versions(scan, interpreters=[])]


def test_print_statement_ranks_27_first() -> None:
    assert rank("import os\nprint 'hi'\n")[0] == "2.7"


def test_py2_stdlib_module_ranks_27_first() -> None:
    assert rank("import urllib2\nurllib2.urlopen('x')\n")[0] == "2.7"


def test_py2_idioms_rank_27_first() -> None:
    assert rank("for i in xrange(3):\n    d.iteritems()\n")[0] == "2.7"


def test_optional_py2_module_does_not_pull_to_27() -> None:
    order = rank("""
        try:
            import cStringIO as io
        except ImportError:
            import io
    """)
    assert order[0] != "2.7"


def test_fstring_needs_36() -> None:
    order = rank("x = 1\nprint(f'{x}')\n")
    assert order[0] != "2.7"
    cands = infer_versions(scan_imports("print(f'{x}')\n"), interpreters=[])
    c27 = next(c for c in cands if c.version == "2.7")
    assert any("f-string" in r for r in c27.reasons)


def test_walrus_needs_38() -> None:
    cands = infer_versions(scan_imports("if (n := 3):\n    pass\n"), interpreters=[])
    top = cands[0].version
    assert tuple(int(x) for x in top.split(".")) >= (3, 8)


def test_tomllib_needs_311() -> None:
    cands = infer_versions(scan_imports("import tomllib\n"), interpreters=[])
    assert tuple(int(x) for x in cands[0].version.split(".")) >= (3, 11)


def test_distutils_penalised_on_312() -> None:
    cands = infer_versions(scan_imports("import distutils.core\n"), interpreters=[])
    by = {c.version: c for c in cands}
    assert by["3.12"].score < by["3.11"].score
    assert any("setuptools" in r for r in by["3.12"].reasons)


def test_neutral_code_prefers_a_python3() -> None:
    assert rank("import os\nos.getcwd()\n")[0].startswith("3.")


def test_pinned_version_only() -> None:
    cands = infer_versions(scan_imports("import os\n"), interpreters=[], pinned="3.9")
    assert [c.version for c in cands] == ["3.9"]
    assert cands[0].reasons[0] == "pinned with --python"


@pytest.fixture(scope="module")
def interps() -> list:  # type: ignore[type-arg]
    found = [i for i in discover() if i.version in ("2.7", "3.11")]
    if len(found) < 2:
        pytest.skip("needs Python 2.7 and 3.11 interpreters")
    return found


def test_compile_check_with_interpreters(interps: list, tmp_path: Path,  # type: ignore[type-arg]
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path))
    res = compile_check(b"print 'x'\n", interps)
    assert res["2.7"][0] is True
    assert res["3.11"][0] is False and "SyntaxError" in res["3.11"][1]
    # second call is answered from the cache (no interpreter needed)
    again = compile_check(b"print 'x'\n", interps)
    assert again == res
    assert any(tmp_path.joinpath("compile").rglob("*.json"))


def test_shebang_is_evidence() -> None:
    assert rank("#!/usr/bin/env python2\nimport os\n")[0] == "2.7"
    assert rank("#!/usr/bin/python3.6\nimport os\n")[0] == "3.6"
    assert rank("#!/usr/bin/env python\nimport os\n")[0].startswith("3.")


def test_app_engine_code_ranks_27_first_though_its_syntax_is_neutral() -> None:
    """webapp2 / google.appengine: plain syntax, but only the Python 2 SDK provides them."""
    src = "import webapp2\nfrom google.appengine.api import memcache\nx = 1\n"
    assert rank(src)[0] == "2.7"
    assert rank("import os\nx = 1\n")[0] != "2.7"


def test_python3_syntax_still_beats_an_app_engine_import() -> None:
    assert rank("import webapp2\nasync def f():\n    await g()\n")[0] != "2.7"
