"""One example per help page, kept in one table and attached when the CLI is built.

A test walks every command and fails when one has no example here, so a new command
cannot ship without one.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, list[str]] = {
    "": ["driftdoc run snippet.py --output out/",
         "driftdoc debug examples/pipeline/driftdoc.toml"],
    "run": ["driftdoc run snippet.py                       # a Dockerfile on stdout",
            "driftdoc run snippet.py --format json -o out/  # JSON + every format + report.html",
            "driftdoc run gists/ --jobs 2 --time-limit 120  # a batch"],
    "validate": ["driftdoc validate snippet.py -p 3.8 -r requirements.txt",
                 "driftdoc validate nb.ipynb -p 3.7 -r requirements.txt --format json"],
    "explain": ["driftdoc explain snippet.py             # e.g. scikit-learn >= 0.20",
                "driftdoc explain snippet.py -o out/ --format json"],
    "inspect": ["driftdoc inspect snippet.py --python 2.7"],
    "debug": ["driftdoc debug examples/pipeline/driftdoc.toml --report report.html",
              "driftdoc debug space.json --oracle mymodule:check --budget 50",
              "driftdoc debug space.json --executor zmq   # BugDoc-style workers run it"],
    "worker": ["driftdoc worker driftdoc.toml --connect dispatcher.example --max-runs 100"],
    "history": ["driftdoc history list"],
    "history list": ["driftdoc history list",
                     "driftdoc history list EXPERIMENT --format json"],
    "history show": ["driftdoc history show 12"],
    "history export": ["driftdoc history export EXPERIMENT > runs.jsonl   # everything",
                       "driftdoc history export EXPERIMENT --format bugdoc -o bugdoc.jsonl",
                       "driftdoc history export EXPERIMENT --format prov -o runs.prov.json"],
    "history import": ["driftdoc history import runs.jsonl   # a driftdoc export",
                       "driftdoc history import bugdoc.jsonl --experiment old-bugdoc-runs"],
    "cache": ["driftdoc cache info"],
    "cache info": ["driftdoc cache info --format json"],
    "cache prune": ["driftdoc cache prune --older-than 30",
                    "driftdoc cache prune --max-size 20G"],
}


def attach(command: Any, path: str = "") -> None:
    """Set each command's epilog to its examples (``\\b`` keeps click from re-wrapping)."""
    lines = EXAMPLES.get(path)
    if lines:
        command.epilog = "\b\nExample" + ("s" if len(lines) > 1 else "") + ":\n" + \
            "\n".join(f"  {line}" for line in lines)
    for name, sub in getattr(command, "commands", {}).items():  # a group (typer's own click)
        attach(sub, f"{path} {name}".strip())


def missing(command: Any, path: str = "") -> list[str]:
    """Commands without an example (what the test checks)."""
    gaps = [] if path in EXAMPLES else [path or "driftdoc"]
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            gaps += missing(sub, f"{path} {name}".strip())
    return gaps
