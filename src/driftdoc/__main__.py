"""``python -m driftdoc``: the same as the ``driftdoc`` command."""

from driftdoc.cli import entry

entry()
