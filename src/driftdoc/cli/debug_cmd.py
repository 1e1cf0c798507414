"""debug commands (placeholder until the core lands)."""
