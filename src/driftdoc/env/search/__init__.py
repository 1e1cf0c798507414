"""Stage 5, the repair search: a plan in, the best environment and the drift fixed out.

``runner`` wires one snippet's plan, releases and validations into ``repair``'s walk and
returns a ``result.EnvResult``; ``batch`` does that for a folder, one process per snippet.
"""
