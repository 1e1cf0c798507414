"""Which toolchain serves which Python: the one place ``resolve`` and ``build`` ask."""

from __future__ import annotations

from driftdoc.env.toolchain.installer import Installer
from driftdoc.env.toolchain.py27 import Py27Installer
from driftdoc.env.toolchain.uv import UvInstaller
from driftdoc.errors import InputError


def installer_for(major: int, minor: int) -> Installer:
    """uv for 3.6+, pip 20.3 for 2.7; any other Python is bad input."""
    if (major, minor) >= (3, 6):
        return UvInstaller()
    if (major, minor) == (2, 7):
        return Py27Installer()
    raise InputError(f"Python {major}.{minor} is not supported (use 2.7 or 3.6+)")
