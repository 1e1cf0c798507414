"""The environment half (after V2): a snippet in, a working environment (or why none) out.

Stages, in data-flow order; each imports only the stages above it:

- ``host``: the floor: the cache directory, named locks, atomic writes, interpreters here.
- ``snippet``: a file in, its source and the imports it makes out.
- ``knowledge``: imports in, a plan out (Python candidates, ranked distributions), plus
  what the index knows of each distribution's releases.
- ``toolchain``: a Python and requirements in, a pinned set and a built environment out.
- ``validation``: an attempt in, a sandboxed run's record and its verdict out.
- ``search``: a plan in, the best environment found and the drift fixed on the way out.
- ``emit``: a result in, the files a user runs and explanations of the drift out.
"""
