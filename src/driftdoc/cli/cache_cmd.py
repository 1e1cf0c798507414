"""``driftdoc cache info|prune``: where the environment store is, how big, and trimming it."""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from driftdoc.cli.app import app, out
from driftdoc.env.toolchain import store
from driftdoc.errors import InputError

cache_app = typer.Typer(help="Inspect or trim driftdoc's caches (environments, uv, resolutions).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1.5g``, ``1024`` -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)i?b?\s*", text.lower())
    if not m:
        raise InputError(f"bad size {text!r}; use e.g. 500M or 2G")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


@cache_app.command("info")
def info_cmd(fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """Location, number of environments and size on disk (hardlinks counted once)."""
    data = store.info()
    if fmt == "json":
        out.print_json(json.dumps(data.to_json()))
        return
    out.print(f"location: {data.location}", highlight=False)
    out.print(f"environments: {data.envs}"
              + (f" (+{data.incomplete} incomplete)" if data.incomplete else ""), highlight=False)
    out.print(f"size on disk: {human(data.bytes)}", highlight=False)
    for name, size in sorted(data.sections.items(), key=lambda kv: -kv[1]):
        out.print(f"  {name:<12} {human(size)}", highlight=False)


@cache_app.command("prune")
def prune_cmd(
    older_than: Annotated[float | None, typer.Option(
        help="Remove environments unused for this many days.")] = None,
    max_size: Annotated[str | None, typer.Option(
        help="Remove least recently used environments until the cache fits (e.g. 5G).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Remove everything.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Remove environments by age, by LRU down to a size, or everything (--all)."""
    if older_than is None and max_size is None and not all_:
        raise InputError("say what to prune: --older-than DAYS, --max-size SIZE or --all")
    if older_than is not None and older_than < 0:
        raise InputError("--older-than must not be negative")
    result = store.prune(
        older_than=None if older_than is None else older_than * 86400.0,
        max_bytes=None if max_size is None else parse_size(max_size),
        all_=all_,
    )
    if fmt == "json":
        out.print_json(json.dumps(result.to_json()))
        return
    out.print(f"removed {len(result.removed)} environment(s), freed {human(result.freed_bytes)}"
              + (f"; {len(result.skipped_in_use)} in use, kept" if result.skipped_in_use else ""),
              highlight=False)
