"""The floor of the environment half: what this machine offers every stage.

Takes nothing from the other stages. Gives the cache directory with named locks and
atomic writes (``cache``) and the Python interpreters installed here (``interpreters``).
"""
