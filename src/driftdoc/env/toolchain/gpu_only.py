"""GPU-only distributions a validation leaves out on a machine without a GPU.

torch pulls in triton (and older releases cmake and lit through it) on Linux, xgboost a NCCL
wheel: hundreds of megabytes per release that nothing here can use, and that the uv cache
keeps for every release a search tries. ``data/tables.json`` (``gpu_only``) lists them with
the parents and releases measured to import and run on the CPU without them. A resolution
made ``without`` them overrides every requirement on them with a marker that never holds;
what it leaves out beyond the resolution with them is reported as :class:`LeftOut`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.host import tables

NEVER = "sys_platform == 'never'"
"""A marker no platform satisfies: an override with it removes a requirement everywhere."""
KEEP_VARIABLE = "DRIFTDOC_KEEP_GPU_ONLY"
"""Set to 1 to validate with every GPU-only distribution a parent declares."""
_GPU_DEVICES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd")


@dataclass(frozen=True)
class LeftOut:
    """A pin of the full resolution that the validation ran without, and why."""

    name: str
    version: str
    why: str
    required_by: tuple[str, ...]

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "why": self.why,
                "required_by": list(self.required_by)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LeftOut:
        return cls(str(data["name"]), str(data["version"]), str(data.get("why") or ""),
                   tuple(str(r) for r in data.get("required_by") or ()))


def gpu_here(devices: Sequence[str] = _GPU_DEVICES) -> bool:
    """Whether this machine has a GPU a snippet could use (NVIDIA's or AMD's device files)."""
    return any(os.path.exists(d) for d in devices) or \
        any(Path("/proc/driver/nvidia/gpus").glob("*"))


def enabled() -> bool:
    """Leave GPU-only distributions out: no GPU here and nobody asked to keep them."""
    return os.environ.get(KEEP_VARIABLE, "").strip() not in ("1", "yes", "true") and \
        not gpu_here()


def _pinned(pins: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pin in pins:
        name, sep, version = pin.partition("==")
        if sep:
            out[canonicalize_name(name.strip())] = version.strip()
    return out


def _within(version: str, spec: str) -> bool:
    try:
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def parents_in_range(name: str, pins: Iterable[str]) -> list[str]:
    """The pinned parents of GPU-only ``name`` at a release its measurements cover (none
    beside a distribution that needs it when imported)."""
    entry = tables.gpu_only().get(canonicalize_name(name))
    if entry is None:
        return []
    pinned = _pinned(pins)
    if any(n in pinned for n in entry.needed_by):
        return []
    return sorted(p for p, spec in entry.parents.items()
                  if p in pinned and _within(pinned[p], spec))


def candidates(pins: Sequence[str], direct: Sequence[str]) -> list[str]:
    """GPU-only distributions of a full resolution that may be left out: pinned, asked for
    by no direct requirement, and pulled in by a parent measured to run without them."""
    asked = {canonicalize_name(r.split("==", 1)[0].split("[", 1)[0].strip()) for r in direct}
    pinned = _pinned(pins)
    return sorted(n for n in tables.gpu_only()
                  if n in pinned and n not in asked and parents_in_range(n, pins))


def override_text(names: Sequence[str]) -> str:
    """uv overrides that remove every requirement on ``names``."""
    return "".join(f"{n} ; {NEVER}\n" for n in sorted({canonicalize_name(n) for n in names}))


def left_out(full: Sequence[str], lean: Sequence[str],
             names: Sequence[str]) -> list[LeftOut] | None:
    """What the resolution ``without`` ``names`` (``lean``) leaves out of ``full``, or
    ``None`` when it is not simply ``full`` less some pins (another release of something
    both have): then the validation must not stand for the full set."""
    whole, part = _pinned(full), _pinned(lean)
    if any(whole.get(n) != v for n, v in part.items()):
        return None
    chosen = {canonicalize_name(n) for n in names}
    out = []
    for name in sorted(set(whole) - set(part)):
        if name in chosen:
            entry = tables.gpu_only()[name]
            parents = parents_in_range(name, full)
            verb = "runs" if len(parents) == 1 else "run"
            why = f"{entry.why}; no GPU here; {' and '.join(parents)} {verb} without it"
            out.append(LeftOut(name, whole[name], why, tuple(parents)))
        else:  # a requirement of a GPU-only distribution alone (triton 2.0 needs cmake)
            gone = sorted(chosen & set(whole))
            out.append(LeftOut(name, whole[name], f"needed only by {', '.join(gone)}",
                               tuple(gone)))
    return out if any(lo.name in chosen for lo in out) else None


def implicated(left: Sequence[LeftOut], *texts: str | None, missing: str | None = None,
               broke_loading: bool = False) -> bool:
    """Whether a failure may come from what ``left`` left out: loading broke (a shared
    library, the interpreter), the module that failed to import is one of them (setuptools,
    which only triton pulled in, for torch.compile), or the failure's text has a word of a
    GPU-only one (its name, import name or library)."""
    if not left:
        return False
    if broke_loading:
        return True
    top = canonicalize_name((missing or "").split(".", 1)[0]) if missing else None
    if top is not None and top in {lo.name for lo in left}:
        return True
    signs: set[str] = set()
    for lo in left:
        entry = tables.gpu_only().get(lo.name)
        if entry is not None:
            signs.update((lo.name, *entry.signs))
    said = " ".join(t for t in texts if t).lower()
    return any(sign in said for sign in signs)
