"""The repair rules, one small module each (registered in ``search.registry``).

A rule proposes moves for a failure's :class:`~driftdoc.env.search.context.Target`, or
completes a move after its validation; each module's docstring says when it applies.
"""
