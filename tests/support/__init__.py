"""Shared, hermetic test fixtures: tiny generated wheels and a loopback package index.

Import from test modules as ``from support.wheels import make_wheel`` (``tests/`` is on
``sys.path`` under pytest's default rootdir-based import mode because it has no ``__init__``).

- :mod:`support.wheels` writes valid ``.whl`` files directly (zip + dist-info), no build step.
- :mod:`support.index` serves a directory of distributions over PEP 503 HTML and PEP 691 JSON
  (with PEP 700 ``upload-time``) from a thread on 127.0.0.1, so ``uv --exclude-newer``, pip and
  JSON index clients all work offline.
- :mod:`support.fakepkgs` builds a ready-made set of drifting fake packages (see its docstring).
- :mod:`support.fixtures` exposes them as pytest fixtures (``local_index``, ``fake_index``).
"""
