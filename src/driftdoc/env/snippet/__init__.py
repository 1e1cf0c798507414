"""Stage 1, the snippet: a ``.py`` or ``.ipynb`` file in, its source and imports out.

``read`` decodes files and notebooks into Python source; ``imports`` finds every import
with its context (module level, function, optional, dynamic), Python 2 source included.
"""
