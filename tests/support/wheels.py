"""Write tiny but valid wheels directly (zip + ``*.dist-info``), so tests need no build backend.

Example::

    make_wheel(tmp_path, "drift-pkg", "1.0", {"drift_pkg/__init__.py": "X = 1\\n"},
               requires=["six>=1"], requires_python=">=2.7")

The result installs with pip (2.7 and 3.x) and uv. Files are ``py2.py3-none-any`` by default.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

# Fixed timestamp so the same inputs give byte-identical wheels (stable hashes in tests).
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def normalize(name: str) -> str:
    """PEP 503 normalised project name (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_filename(name: str, version: str, tag: str = "py2.py3-none-any") -> str:
    """The file name a wheel for ``name``/``version`` gets (PEP 427 escaping)."""
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}-{tag}.whl"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    dest: Path,
    name: str,
    version: str,
    files: Mapping[str, str | bytes],
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    tag: str = "py2.py3-none-any",
    metadata_version: str = "2.1",
    extra_metadata: str = "",
    summary: str = "A generated test package",
) -> Path:
    """Write ``name-version`` as a wheel into ``dest`` and return its path.

    ``files`` maps archive paths (``pkg/__init__.py``) to contents. ``extra_metadata`` is appended
    verbatim to METADATA (use it to produce deliberately broken metadata).
    """
    dest.mkdir(parents=True, exist_ok=True)
    dist_info = f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    meta = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}",
            f"Summary: {summary}"]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta.extend(f"Requires-Dist: {req}" for req in requires)
    metadata = "\n".join(meta) + "\n" + extra_metadata
    top_levels = sorted({p.split("/", 1)[0].removesuffix(".py") for p in files
                         if not p.startswith(dist_info)})
    entries: dict[str, bytes] = {
        path: content.encode() if isinstance(content, str) else content
        for path, content in files.items()
    }
    entries[f"{dist_info}/METADATA"] = metadata.encode()
    entries[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: driftdoc-tests\nRoot-Is-Purelib: true\n"
        + "".join(f"Tag: {t}\n" for t in _expand_tag(tag))
    ).encode()
    entries[f"{dist_info}/top_level.txt"] = ("\n".join(top_levels) + "\n").encode()
    record = [_record_line(p, d) for p, d in entries.items()]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = dest / wheel_filename(name, version, tag)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out


def _expand_tag(tag: str) -> list[str]:
    pys, abi, plat = tag.split("-")
    return [f"{py}-{abi}-{plat}" for py in pys.split(".")]


def make_sdist(path: Path, top: str, files: dict[str, str]) -> Path:
    """A gzipped tar sdist at ``path`` holding ``files`` under the folder ``top``."""
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path
