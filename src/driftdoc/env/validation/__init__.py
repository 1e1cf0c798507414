"""Stage 4, validation: an attempt (Python, requirements, date) in, a verdict out.

``validator`` resolves and builds the attempt, ``validate`` runs the snippet through the
``harness`` in a sandbox and gets a V2-style record (``records``), and ``classify`` and
``verdict`` reduce that record to what the search reasons about.
"""
