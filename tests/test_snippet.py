"""Snippet reader: encodings, notebooks, and every kind of bad input as one clear InputError."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from driftdoc.env.snippet.read import read_snippet, strip_magics
from driftdoc.errors import InputError


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return p


def test_plain_utf8(tmp_path: Path) -> None:
    s = read_snippet(write(tmp_path, "a.py", "import numpy\nprint('é')\n"))
    assert s.kind == "py" and "numpy" in s.source and "é" in s.source


def test_pep263_latin1_cookie(tmp_path: Path) -> None:
    src = "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1")
    s = read_snippet(write(tmp_path, "a.py", src))
    assert "café" in s.source
    assert s.encoding in ("iso-8859-1", "latin-1")


def test_latin1_without_cookie_falls_back(tmp_path: Path) -> None:
    s = read_snippet(write(tmp_path, "a.py", b"x = '\xe9t\xe9'\nimport os\n"))
    assert "import os" in s.source


def test_utf8_bom(tmp_path: Path) -> None:
    s = read_snippet(write(tmp_path, "a.py", codecs.BOM_UTF8 + b"import os\n"))
    assert s.source.startswith("import os")


def test_utf16_bom(tmp_path: Path) -> None:
    s = read_snippet(write(tmp_path, "a.py", "import os\n".encode("utf-16")))
    assert s.source.strip() == "import os"


def test_python2_source_is_read(tmp_path: Path) -> None:
    s = read_snippet(write(tmp_path, "a.py", "print 'hi'\nexec 'x=1'\n"))
    assert "print 'hi'" in s.source


def _nb4(cells: list[dict[str, object]], lang: str = "python") -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 2, "cells": cells,
                       "metadata": {"kernelspec": {"language": lang, "name": "x"}}})


def test_notebook_v4_strips_magics(tmp_path: Path) -> None:
    cells: list[dict[str, object]] = [
        {"cell_type": "markdown", "source": ["# title\n", "import fake_in_markdown\n"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n",
                                         "!pip install foo\n", "files = !ls\n",
                                         "np.zeros?\n", "def f():\n", "    %time g()\n"]},
        {"cell_type": "code", "source": "%%bash\necho hi\nimport not_python\n"},
        {"cell_type": "code", "source": "%%time\nimport pandas\n"},
    ]
    s = read_snippet(write(tmp_path, "n.ipynb", _nb4(cells)))
    assert s.kind == "ipynb"
    assert "import numpy as np" in s.source and "import pandas" in s.source
    assert "fake_in_markdown" not in s.source and "not_python" not in s.source
    assert "%" not in s.source and "!" not in s.source
    compile(s.source, "nb", "exec")  # the result is valid Python
    assert s.notes


def test_notebook_v3_worksheets(tmp_path: Path) -> None:
    nb = {"nbformat": 3, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["import scipy\n", "%pylab inline\n"], "language": "python"},
        {"cell_type": "heading", "source": "x"},
    ]}]}
    s = read_snippet(write(tmp_path, "old.ipynb", json.dumps(nb)))
    assert "import scipy" in s.source and "pylab" not in s.source


def test_notebook_of_another_language(tmp_path: Path) -> None:
    p = write(tmp_path, "r.ipynb", _nb4([{"cell_type": "code", "source": "library(x)"}], "R"))
    with pytest.raises(InputError, match="R notebook"):
        read_snippet(p)


def test_strip_magics_keeps_line_numbers() -> None:
    code, n = strip_magics("import a\n%time x\nimport b\n")
    assert code.splitlines()[2] == "import b" and n == 1


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bin.py", bytes(range(256)) * 4, "binary"),
        ("elf.py", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "binary"),
        ("empty.py", b"", "empty"),
        ("blank.py", b"   \n\n\t\n", "empty"),
        ("page.py", b"<!DOCTYPE html>\n<html><body>404</body></html>", "HTML"),
        ("data.json", b'{"a": 1, "b": [1, 2]}', "JSON"),
        ("list.py", b"[1, 2, 3]", "JSON"),
        ("broken.ipynb", b'{"cells": [', "notebook"),
        ("nocode.ipynb", _nb4([{"cell_type": "markdown", "source": "hi"}]).encode(), "no code"),
    ],
)
def test_bad_input(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    p = write(tmp_path, name, data)
    with pytest.raises(InputError, match=message) as info:
        read_snippet(p)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_snippet(tmp_path / "nope.py")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        read_snippet(tmp_path)


def test_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "locked.py", "import os\n")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(InputError, match="permission denied"):
        read_snippet(p)
