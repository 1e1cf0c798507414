"""``driftdoc cache info|prune``: where the environment store is, how big, and trimming it."""

from __future__ import annotations

import json
import shutil
from typing import Annotated

import typer

from driftdoc.cli.app import app, out
from driftdoc.env.host import cache
from driftdoc.env.toolchain import bound, store
from driftdoc.errors import InputError

cache_app = typer.Typer(help="Inspect or trim driftdoc's caches (environments, uv, resolutions).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")

def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1.5g``, ``1024`` -> bytes."""
    size = cache.parse_size(text)
    if size is None:
        raise InputError(f"bad size {text!r}; use e.g. 500M or 2G")
    return size


human = cache.human


@cache_app.command("info")
def info_cmd(fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """Location, number of environments and size on disk (hardlinks counted once)."""
    data = store.info()
    cap = bound.limit(data.bytes, shutil.disk_usage(data.location).free
                      if data.location.is_dir() else 0)
    if fmt == "json":
        out.print_json(json.dumps({**data.to_json(), "limit": cap}))
        return
    out.print(f"location: {data.location}", highlight=False)
    out.print(f"environments: {data.envs}"
              + (f" (+{data.incomplete} incomplete)" if data.incomplete else ""), highlight=False)
    out.print(f"size on disk: {human(data.bytes)} (bound {human(cap)}, "
              f"{bound.describe_limit()})", highlight=False)
    for name, size in sorted(data.sections.items(), key=lambda kv: -kv[1]):
        out.print(f"  {name:<12} {human(size)}", highlight=False)


@cache_app.command("prune")
def prune_cmd(
    older_than: Annotated[float | None, typer.Option(
        help="Remove environments unused for this many days.")] = None,
    max_size: Annotated[str | None, typer.Option(
        help="Remove the least recently used environments and store entries until the whole "
             "cache fits (e.g. 5G).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Remove everything.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Remove environments by age, by LRU down to a size, or everything (--all)."""
    if older_than is None and max_size is None and not all_:
        raise InputError("say what to prune: --older-than DAYS, --max-size SIZE or --all")
    if older_than is not None and older_than < 0:
        raise InputError("--older-than must not be negative")
    size = None if max_size is None else parse_size(max_size)
    result = store.prune(older_than=None if older_than is None else older_than * 86400.0,
                         all_=all_)
    fitted = None if size is None or all_ else bound.check(bound=size, force=True, target=size)
    if fmt == "json":
        out.print_json(json.dumps({**result.to_json(),
                                   "bound": fitted.to_json() if fitted else None}))
        return
    out.print(f"removed {len(result.removed)} environment(s), freed {human(result.freed_bytes)}"
              + (f"; {len(result.skipped_in_use)} in use, kept" if result.skipped_in_use else ""),
              highlight=False)
    if fitted is not None:
        removed = ", ".join(f"{n} {k}" for k, n in sorted(fitted.removed.items())) or "nothing"
        out.print(f"to fit {human(size or 0)}: removed {removed}, freed {human(fitted.freed)}; "
                  f"the cache now holds {human(fitted.after)}"
                  + (f" ({fitted.in_use} in use, kept)" if fitted.in_use else ""),
                  highlight=False)
