"""Import collection: contexts, Python 2 source, dynamic imports, fallbacks."""

from __future__ import annotations

import textwrap

from driftdoc.env.snippet.imports import RawImport, rewrite_py2, scan_imports


def names(src: str) -> dict[str, RawImport]:
    return {i.name: i for i in scan_imports(textwrap.dedent(src)).imports}


def test_module_and_function_context() -> None:
    found = names("""
        import os, numpy as np
        from scipy import stats
        def f():
            import pandas
        class A:
            import json
        f = lambda: __import__('yaml')
    """)
    assert found["os"].context == "module" and found["numpy"].context == "module"
    assert found["scipy"].fromlist == ("stats",)
    assert found["pandas"].context == "function"
    assert found["json"].context == "module"
    assert found["yaml"].context == "dynamic"


def test_try_except_importerror_is_optional_with_fallback_group() -> None:
    found = names("""
        try:
            import simplejson as json
        except ImportError:
            import json
        try:
            from cStringIO import StringIO
        except:
            from io import StringIO
    """)
    assert found["simplejson"].context == "optional" == found["json"].context
    assert found["simplejson"].group == found["json"].group
    assert found["cStringIO"].group != found["simplejson"].group
    assert found["io"].context == "optional"


def test_handler_that_gives_up_keeps_import_required() -> None:
    found = names("""
        try:
            import numpy
        except ImportError:
            print("please install numpy")
            sys.exit(1)
        try:
            import requests
        except ImportError:
            raise SystemExit("need requests")
    """)
    assert found["numpy"].context == "module"
    assert found["requests"].context == "module"


def test_other_exceptions_do_not_make_optional() -> None:
    found = names("""
        try:
            import numpy
        except KeyError:
            pass
    """)
    assert found["numpy"].context == "module"


def test_version_and_platform_branches_are_alternatives() -> None:
    found = names("""
        import sys, os
        if sys.version_info[0] >= 3:
            import urllib.request as urlreq
        else:
            import urllib2 as urlreq
        if PY2:
            import cPickle
        if os.name == 'nt':
            import msvcrt
        else:
            import termios
    """)
    assert found["urllib.request"].context == "optional"
    assert found["urllib2"].group == found["urllib.request"].group
    assert found["cPickle"].guard == "Python-version check"
    assert found["msvcrt"].context == "optional" and found["termios"].context == "optional"


def test_dynamic_imports() -> None:
    found = names("""
        import importlib
        m = importlib.import_module('lxml.etree')
        n = __import__("bs4")
        x = __import__(name)  # not literal: ignored
    """)
    assert found["lxml.etree"].context == "dynamic"
    assert found["bs4"].context == "dynamic"
    assert "name" not in found


def test_relative_imports() -> None:
    found = scan_imports("from . import x\nfrom ..pkg import y\n").imports
    assert [i.level for i in found] == [1, 2]


def test_python2_only_syntax() -> None:
    src = textwrap.dedent("""
        import urllib2
        print "hello %s" % name
        print >>sys.stderr, "err"
        exec "x = 1" in ns
        try:
            import json
        except ImportError, e:
            raise ValueError, "no json"
        def f(x):
            import MySQLdb
            return `x`
        n = 0777 + 10L
        if a <> b: print ur"raw"
    """)
    scan = scan_imports(src)
    assert scan.parser == "ast-py2-rewrite"
    by = {i.name: i for i in scan.imports}
    assert by["urllib2"].line == 2 and by["urllib2"].context == "module"
    assert by["json"].context == "module"  # the handler gives up (raise): json is required
    assert by["MySQLdb"].context == "function" and by["MySQLdb"].line == 11
    feats = {f for f, _ in scan.py2_syntax}
    for expected in ("print statement", "exec statement", "except X, e", "backtick repr",
                     "octal literal 0777", "long literal 10L", "<> operator", "ur'' string",
                     "raise E, msg"):
        assert expected in feats, expected


def test_python2_mixed_tabs_and_spaces() -> None:
    src = "import os\nif True:\n        import numpy\n\tprint 'x'\n"
    scan = scan_imports(src)
    assert {i.name for i in scan.imports} == {"os", "numpy"}


def test_rewrite_keeps_line_numbers() -> None:
    src = "print 'a'\nprint 'b', \\\n  'c'\nimport os\n"
    out, _ = rewrite_py2(src)
    assert out.splitlines()[3] == "import os"
    compile(out, "x", "exec")


def test_print_function_untouched() -> None:
    scan = scan_imports("from __future__ import print_function\nprint('x', end='')\n")
    assert scan.parser == "ast" and "print_function" in scan.future


def test_unparseable_falls_back_to_lines() -> None:
    src = ("import os\ndef f(a, (b, c)):\n    import numpy\n    print a\n"
           "try:\n    import ujson\nexcept ImportError:\n    pass\n")
    scan = scan_imports(src)
    assert scan.parser == "lines"
    by = {i.name: i for i in scan.imports}
    assert by["os"].context == "module"
    assert by["numpy"].context == "function"
    assert by["ujson"].context == "optional"


def test_py3_features_recorded() -> None:
    scan = scan_imports("async def f():\n    await g()\nx = f'{y}'\nif (n := 1): pass\n")
    feats = {w for w, _, _ in scan.py3_syntax}
    assert {"async def", "f-string", "assignment expression (:=)"} <= feats
