#!/usr/bin/env python3
"""Generate src/driftdoc/data/stdlib/<X.Y>.txt: the top-level standard-library module names.

Runs every discovered interpreter (driftdoc.env.host.interpreters.discover) and asks it for
``sys.builtin_module_names``, ``sys.stdlib_module_names`` (3.10+) and what pkgutil finds in the
standard-library directories of its ``sys.path`` (site-packages excluded). Commit the output.

    python tools/gen_stdlib.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from driftdoc.env.host.interpreters import discover

OUT = Path(__file__).resolve().parent.parent / "src" / "driftdoc" / "data" / "stdlib"

# Runs under 2.7 and 3.x alike.
PROBE = r"""
import json, os, pkgutil, sys, sysconfig
names = set(sys.builtin_module_names)
names.update(getattr(sys, "stdlib_module_names", ()))
std = os.path.realpath(sysconfig.get_paths()["stdlib"])
for entry in sys.path:
    real = os.path.realpath(entry or ".")
    if not real.startswith(std) or "site-packages" in real or "dist-packages" in real:
        continue
    for _, name, _ in pkgutil.iter_modules([real]):
        names.add(name)
names = sorted(n for n in names if n.replace("_", "a").isalnum() and not n[0].isdigit())
sys.stdout.write(json.dumps(names))
"""


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for interp in discover(use_cache=False):
        if interp.implementation != "CPython":
            continue
        out = subprocess.run(
            [str(interp.path), "-S", "-c", PROBE] if interp.version == "2.7" else
            [str(interp.path), "-I", "-c", PROBE],
            capture_output=True, text=True, timeout=120, check=True,
        )
        names = json.loads(out.stdout)
        target = OUT / f"{interp.version}.txt"
        header = (f"# top-level stdlib modules of CPython {interp.full_version}"
                  " (tools/gen_stdlib.py)\n")
        target.write_text(header + "\n".join(names) + "\n")
        print(f"{interp.version}: {len(names)} modules -> {target.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
