"""Data shipped with driftdoc (stdlib lists, knowledge base)."""
