"""A ready-made family of fake distributions that drift, for resolver/builder/validator tests.

``publish_fake_packages(index, workdir)`` adds (all ``py2.py3-none-any``, 2/3-compatible code):

============== ========= ============ ===================================================
project        version   uploaded     contents
============== ========= ============ ===================================================
drift-pkg      1.0       2018-01-01   ``driftpkg.old`` submodule, ``compute()`` works,
                                      ``legacy()`` exists
drift-pkg      2.0       2021-01-01   ``driftpkg.old`` removed, ``legacy`` removed,
                                      ``compute()`` raises AttributeError *inside the package*
helper-pkg     1.0       2018-06-01   ``helperpkg.double()``; requires ``drift-pkg``
anchor-pkg     1.0       2012-01-01   ancient; no dependencies
anchor-pkg     5.0       2020-01-01   newest; requires ``pin-pkg<2`` (forces uv to backtrack
                                      to the ancient 1.0 when ``pin-pkg>=2`` is required)
pin-pkg        1.0, 2.0  2019/2020    nothing interesting
broken-meta    1.0       2018-01-01   valid
broken-meta    2.0       2020-01-01   invalid ``Requires-Dist`` (uv skips it silently)
py3only-pkg    1.0       2017-01-01   runs on 2.7
py3only-pkg    2.0       2019-06-01   ``Requires-Python: >=3.5`` in its METADATA but *not* in the
                                      index entry (pip 20.3 on 2.7 aborts on such releases)
============== ========= ============ ===================================================

The import names are ``driftpkg``, ``helperpkg``, ``anchorpkg``, ``pinpkg``, ``brokenmeta``,
``py3only``.
"""

from __future__ import annotations

from pathlib import Path

from support.index import LocalIndex
from support.wheels import make_wheel

DRIFT_V1 = {
    "driftpkg/__init__.py": (
        "from driftpkg import _core\n"
        "VERSION = '1.0'\n"
        "def compute(x):\n"
        "    return _core.old_fn(x)\n"
        "def legacy():\n"
        "    return 'legacy'\n"
    ),
    "driftpkg/_core.py": "def old_fn(x):\n    return x * 2\n",
    "driftpkg/old.py": "def thing():\n    return 'old thing'\n",
}

DRIFT_V2 = {
    "driftpkg/__init__.py": (
        "from driftpkg import _core\n"
        "VERSION = '2.0'\n"
        "def compute(x):\n"
        "    return _core.old_fn(x)\n"
    ),
    "driftpkg/_core.py": "def new_fn(x):\n    return x * 2\n",
}


def publish_fake_packages(index: LocalIndex, workdir: Path) -> dict[str, Path]:
    """Build the wheels above into ``workdir`` and publish them on ``index``; return them."""
    built: dict[str, Path] = {}

    def pub(name: str, version: str, files: dict[str, str], when: str, **kw: object) -> None:
        path = make_wheel(workdir, name, version, files, **kw)  # type: ignore[arg-type]
        index.add(path, upload_time=when)
        built[f"{name}=={version}"] = path

    pub("drift-pkg", "1.0", DRIFT_V1, "2018-01-01")
    pub("drift-pkg", "2.0", DRIFT_V2, "2021-01-01")
    pub("helper-pkg", "1.0",
        {"helperpkg/__init__.py": "import driftpkg\ndef double(x):\n    return 2 * x\n"},
        "2018-06-01", requires=["drift-pkg"])
    pub("anchor-pkg", "1.0", {"anchorpkg/__init__.py": "V = 1\n"}, "2012-01-01")
    pub("anchor-pkg", "5.0", {"anchorpkg/__init__.py": "V = 5\n"}, "2020-01-01",
        requires=["pin-pkg<2"])
    pub("pin-pkg", "1.0", {"pinpkg/__init__.py": "V = 1\n"}, "2019-01-01")
    pub("pin-pkg", "2.0", {"pinpkg/__init__.py": "V = 2\n"}, "2020-01-01")
    pub("broken-meta", "1.0", {"brokenmeta/__init__.py": "V = 1\n"}, "2018-01-01")
    pub("broken-meta", "2.0", {"brokenmeta/__init__.py": "V = 2\n"}, "2020-01-01",
        requires=["pin-pkg (>>>=1 bogus"])
    pub("py3only-pkg", "1.0", {"py3only/__init__.py": "V = 1\n"}, "2017-01-01")
    pub("py3only-pkg", "2.0", {"py3only/__init__.py": "V: int = 2\n"}, "2019-06-01",
        requires_python=">=3.5")
    return built
