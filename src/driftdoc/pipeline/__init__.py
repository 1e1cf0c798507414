"""Real pipelines: TOML specs, sandboxed runs, evaluation and provenance."""
