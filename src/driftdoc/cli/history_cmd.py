"""history commands (placeholder until the store lands)."""
