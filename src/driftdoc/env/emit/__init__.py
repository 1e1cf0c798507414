"""Stage 6, emit: an ``EnvResult`` in, what a user runs and reads out.

``files`` writes a Dockerfile, requirements.txt, pylock.toml or JSON; ``explain`` turns
the drift around a found environment into root causes.
"""
