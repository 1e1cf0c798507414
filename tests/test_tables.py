"""The tables of names and dates (data/tables.json): versioned, well-formed, and true."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources

from packaging.utils import canonicalize_name

from driftdoc.env.host import tables
from driftdoc.env.knowledge import stdlib

SECTIONS = ("backports", "import_hooks", "frameworks", "py2_era_imports", "speedups_off",
            "eras", "python_released", "heavy", "gpu_only")


def test_the_file_is_versioned_and_every_table_says_what_it_is() -> None:
    raw = json.loads(resources.files("driftdoc.data").joinpath(tables.DATA_FILE).read_text())
    assert tables.version() == raw["version"] and raw["version"].isdigit()
    assert set(SECTIONS) <= set(raw)
    assert all(raw[name]["about"].strip() for name in SECTIONS)


def test_backports_name_distributions_of_standard_library_modules() -> None:
    anywhere = set.union(*(set(stdlib.modules(v)) for v in stdlib.versions()))
    for module, (dist, why) in tables.backports().items():
        assert canonicalize_name(dist) == dist.lower(), dist  # a PEP 503 name as written
        assert why.strip(), module
        # a backport of a module some Python's standard library has (mock: unittest.mock)
        assert module in anywhere or module == "mock", module


def test_eras_go_back_in_time_and_name_pythons_with_a_release_date() -> None:
    released = tables.python_released()
    for eras in (tables.eras(), tables.py2_eras()):
        dates = [d for d, _ in eras]
        assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
        for when, python in eras:
            assert released[python] <= when, (when, python)  # the Python existed by then
    assert {py for _, py in tables.py2_eras()} == {"2.7"}
    assert tables.py2_eras()[0][0] <= dt.date(2020, 1, 1)  # 2.7's end of life


def test_every_python_with_stdlib_data_has_a_release_date() -> None:
    released = tables.python_released()
    assert set(stdlib.versions()) <= set(released)
    ordered = sorted(released, key=lambda v: tuple(int(x) for x in v.split(".")))
    py3 = [released[v] for v in ordered if v.startswith("3.")]
    assert py3 == sorted(py3)


def test_names_are_well_formed() -> None:
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", fw) for fw in tables.frameworks())
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) for k in tables.speedups_off())
    for package, prefix in tables.import_hooks().items():
        assert re.fullmatch(r"[a-z_.]+", package) and prefix.endswith("_")
    assert all(why.strip() for why in tables.py2_era_imports().values())


def test_heavy_weights_name_distributions_and_weigh_more_than_the_default() -> None:
    for dist, weight in tables.heavy().items():
        assert canonicalize_name(dist) == dist and weight > 1, dist
