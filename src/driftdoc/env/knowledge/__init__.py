"""Stage 2, knowledge: a snippet's imports in, a plan out, and facts about releases.

``plan`` ranks the Pythons a snippet can run on (``pyversion``, ``stdlib``) and the
distributions that may provide each import (``mapping``, a versioned knowledge base);
``index`` and ``contents`` say what the package index holds for each distribution.
"""
