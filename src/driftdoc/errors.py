"""Errors the library raises on purpose; the CLI turns them into one-line messages."""

from __future__ import annotations


class DriftdocError(Exception):
    """Base of every error driftdoc raises deliberately (never a bug)."""

    exit_code = 1


class InputError(DriftdocError):
    """The user gave something driftdoc cannot work with: exit code 2."""

    exit_code = 2


class OracleError(DriftdocError):
    """The oracle itself raised; the search stops rather than guessing a verdict."""

    exit_code = 1


class NonDeterminismError(DriftdocError):
    """The same instance gave different verdicts on two runs."""

    exit_code = 1
