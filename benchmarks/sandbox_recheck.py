"""Re-run the final validation of finished ``driftdoc run`` results under today's sandbox.

A stricter sandbox must not change verdicts: this takes the results of a batch (for
example an HG2.9K run of ``benchmarks/hg29k.py``), and for every result whose final
validation installed, runs the same snippet again in the same, still cached environment
(with its system-package prefix, if any) and compares the class and the exception with
the recorded ones. Nothing is resolved or built; environments that are gone are skipped.

    python benchmarks/sandbox_recheck.py RUN_DIR/results GISTS_DIR [--cache CACHE_DIR]

``RUN_DIR/results`` holds one ``<gist>.json`` per snippet (``driftdoc run --output``'s
``results``), ``GISTS_DIR/<gist>/snippet.py`` the snippets. Prints one JSON line per
re-run and a summary; exits 1 if any verdict changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def recheck(result: dict[str, Any], snippet: Path, cache: Path | None) -> dict[str, Any] | None:
    from driftdoc.env.toolchain.build import BuiltEnv
    from driftdoc.env.toolchain.syspkgs import READY, SystemRoot, root_key
    from driftdoc.env.validation.failure import classify
    from driftdoc.env.validation.records import ValidationRecord
    from driftdoc.env.validation.validate import validate

    final = result.get("final")
    if not final or final["dependencies"]["status_code"] != "Success":
        return None
    env_path = Path(final["env_path"])
    if not (env_path / "bin" / "python").exists():
        return None
    system = None
    if result.get("system_packages"):
        wanted = tuple(sorted(set(result["system_packages"])))
        root = (cache or env_path.parents[1]) / "sysroot" / root_key(wanted)
        if not (root / READY).exists():
            return None
        system = SystemRoot(root, wanted)
    env = BuiltEnv(path=env_path, python_exe=env_path / "bin" / "python", ok=True,
                   python=final["python"], pins=final["pins"], system_root=system)
    old = ValidationRecord.from_v2_json(final)
    start = time.perf_counter()
    new = validate(snippet, env, timeout=20, grace=5, memory_mb=2048)
    before, after = classify(old), classify(new)
    return {
        "snippet": snippet.parent.name,
        "same": before.category == after.category
        and old.execution.exception_name == new.execution.exception_name,
        "before": [before.category.value, old.execution.exception_name],
        "after": [after.category.value, new.execution.exception_name,
                  (new.execution.exception_message or "")[:160]],
        "killed_by": new.execution.killed_by,
        "seconds": round(time.perf_counter() - start, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="folder of <gist>.json results")
    ap.add_argument("gists", type=Path, help="folder of <gist>/snippet.py")
    ap.add_argument("--cache", type=Path, help="the cache the run used (default: from env_path)")
    args = ap.parse_args()
    rows = []
    for path in sorted(args.results.glob("*.json")):
        result = json.loads(path.read_text())
        snippet = args.gists / path.stem / "snippet.py"
        row = recheck(result, snippet, args.cache) if snippet.exists() else None
        if row is not None:
            rows.append(row)
            print(json.dumps(row), flush=True)
    changed = [r for r in rows if not r["same"]]
    print(f"{len(rows) - len(changed)} of {len(rows)} verdicts unchanged; "
          f"changed: {[r['snippet'] for r in changed]}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
