"""Run ``module:function`` on a parameter dict inside a run's sandbox; standalone on purpose.

Usage: python _shim.py MODULE:FUNCTION PARAMS.json RESULT.json
Writes ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ..., "exception": ...,
"traceback": ...}``; exits 0 on success and 1 when the function raised. It imports nothing
from driftdoc so that start-up stays cheap and the sandbox needs no extra paths.
"""

import importlib
import json
import os
import sys
import traceback


def _jsonable(value: object) -> object:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:4096]


def main(argv: list) -> None:  # type: ignore[type-arg]
    ref, params_path, result_path = argv[1:4]
    module_name, _, func_name = ref.rpartition(":")
    with open(params_path) as fh:
        params = json.load(fh)
    sys.path.insert(0, os.getcwd())
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        value = func(params)
        record = {"ok": True, "value": _jsonable(value)}
        code = 0
    except SystemExit as exc:
        ok = exc.code in (None, 0)
        record = {"ok": ok, "value": None, "exception": "SystemExit",
                  "error": f"SystemExit: {exc.code}"}
        code = 0 if ok else 1
    except BaseException as exc:  # the run failed; report it, whatever it was
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        record = {
            "ok": False,
            "exception": type(exc).__name__,
            "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": tb[-4000:],
        }
        code = 1
    with open(result_path, "w") as fh:
        json.dump(record, fh)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
