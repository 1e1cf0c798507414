"""Honest encodings: a file Python 2 refuses as it stands is never called fine on 2.7.

The rule is checked against the real Python 2.7 interpreter (ground truth), then where it
is used: the version probe and validation.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from driftdoc.env.host.interpreters import discover
from driftdoc.env.knowledge.pyversion import compile_check
from driftdoc.env.snippet.encoding import python2_encoding_problem
from driftdoc.env.toolchain.build import BuiltEnv
from driftdoc.env.validation.failure import Kind, classify
from driftdoc.env.validation.validate import _python2_refuses, validate
from support.fixtures import *  # noqa: F403
from support.fixtures import has_python

CASES: dict[str, bytes] = {
    "latin1-literal": b'x = "caf\xe9"\n',
    "latin1-comment": b"# caf\xe9\nx = 1\n",
    "utf8-no-cookie": b'x = "caf\xc3\xa9"\n',
    "late-non-ascii": b"x = 1\ny = 2\n\n# \xe9t\xe9\n",
    "ascii": b"x = 1\n",
    "cookie-line-1": b'# -*- coding: latin-1 -*-\nx = "caf\xe9"\n',
    "cookie-after-shebang": b'#!/usr/bin/env python\n# coding=utf-8\nx = "caf\xc3\xa9"\n',
    "vim-cookie": b'# vim: set fileencoding=utf-8 :\nx = "caf\xc3\xa9"\n',
    "cookie-after-code": b'x = 1\n# -*- coding: latin-1 -*-\ny = "\xe9"\n',
    "cookie-on-line-3": b'#!/usr/bin/env python\n\n# coding: latin-1\nx = "\xe9"\n',
    "utf8-bom": b'\xef\xbb\xbfx = "caf\xc3\xa9"\n',
    "crlf": b'x = 1\r\ny = "\xe9"\r\n',
}
REFUSED = {"latin1-literal", "latin1-comment", "utf8-no-cookie", "late-non-ascii",
           "cookie-after-code", "cookie-on-line-3", "crlf"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_refuses_exactly_the_undeclared_non_ascii_files(case: str) -> None:
    problem = python2_encoding_problem(CASES[case], "s.py")
    assert (problem is not None) == (case in REFUSED)
    if problem is not None:
        assert problem.message.startswith("Non-ASCII character '\\x")
        assert f"on line {problem.line}," in problem.message


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_agrees_with_python27(tmp_path: Path, case: str) -> None:
    """Ground truth: what ``python2.7 FILE`` does with the bytes as they stand."""
    exe = next(i.path for i in discover() if i.version == "2.7")
    path = tmp_path / "s.py"
    path.write_bytes(CASES[case])
    proc = subprocess.run([str(exe), str(path)], capture_output=True, text=True,
                          errors="replace", timeout=60)
    expected = python2_encoding_problem(CASES[case], str(path))
    if expected is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0
        assert expected.message in proc.stderr
        assert f'File "{path}", line {expected.line}' in proc.stderr


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")
def test_version_probe_says_27_refuses_a_latin1_file(driftdoc_cache: Path) -> None:
    pool = [i for i in discover() if i.version == "2.7"]
    result = compile_check(CASES["latin1-literal"] + b"print x\n", pool)
    ok, why = result["2.7"]
    assert not ok and "Non-ASCII character" in why
    ok, _ = compile_check(CASES["cookie-line-1"] + b"print x\n", pool)["2.7"]
    assert ok


def test_validation_on_27_refuses_before_running(tmp_path: Path) -> None:
    """The check comes first, so no interpreter or environment is needed to see it."""
    snippet = tmp_path / "s.py"
    snippet.write_bytes(b"import os\n" + CASES["latin1-literal"])
    nowhere = tmp_path / "no-env"
    env = BuiltEnv(nowhere, nowhere / "bin" / "python", ok=True, python="2.7")
    rec = validate(snippet, env, sandbox="none")
    assert rec.execution.exception_name == "SyntaxError"
    assert rec.execution.exception_line_number == 2
    verdict = classify(rec)
    assert verdict.category is Kind.SYNTAX and not verdict.env_ok
    # the same bytes with a coding line go on to run; so does a notebook's text (cells
    # are text to IPython) and anything on Python 3 (compile() decodes as python3 does)
    assert _python2_refuses(snippet, "py", "3.8") is None
    assert _python2_refuses(snippet, "ipynb", "2.7") is None
    snippet.write_bytes(b"# coding: latin-1\n" + CASES["latin1-literal"])
    assert _python2_refuses(snippet, "py", "2.7") is None
