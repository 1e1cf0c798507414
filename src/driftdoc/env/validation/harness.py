# -*- coding: utf-8 -*-
"""In-sandbox harness: run a snippet as ``__main__`` and write a V2-style record. Python 2.7 + 3.x.

This file is executed by the *environment's* interpreter (2.7 or 3.x), so it must stay valid
on both and import only the standard library. It is deliberately one self-contained script:

    python harness.py --out DIR --snippet FILE [--grace S] [--timeout S]

- The snippet is parsed with ``ast`` and compiled with its real file name (tracebacks and
  ``linecache`` name the snippet's own lines). A call to a marker is inserted right after the
  last *top-level import statement* (``import``/``from``, or ``try``/``if`` blocks made of imports
  and trivial fallbacks); when it runs, ``DIR/imports_done`` is written and the grace timer
  starts: a snippet that has imported everything has answered the environment question.
- ``SystemExit(0/None)`` is success; other codes are recorded. Any ``BaseException`` is caught.
- Watchdog threads enforce the grace and total limits from inside, so the record (with the
  stack of the main thread at the moment of the timeout) gets out even if the snippet blocks.
- The record goes out on a private duplicate of the original stdout fd, taken before the
  snippet runs, as one ASCII line ``@@DRIFTDOC-RECORD@@{json}`` written last (the snippet
  closing ``sys.stdout`` or fd 1, or printing garbage, cannot lose it; readers take the last
  such line). ``@@DRIFTDOC-IMPORTS@@`` is written the same way when the imports complete.
  With ``--out DIR`` both are also written as files (``record.json``, ``imports_done``).
"""
from __future__ import absolute_import, division, print_function

import ast
import json
import linecache
import os
import re
import sys
import threading
import time
import traceback

if sys.version_info[0] >= 3:
    import builtins as _builtins
else:  # not "try builtins": on 2.7 the future package installs a shim of that name
    import __builtin__ as _builtins  # noqa: F401
_imp = None
if sys.version_info[0] == 2:
    import imp as _imp  # here, not in the watchdog: see _warm_up

PY2 = sys.version_info[0] == 2
MARKER = "__driftdoc_imports_done__"
HARNESS_FILE = os.path.abspath(__file__)
if HARNESS_FILE.endswith((".pyc", ".pyo")):
    HARNESS_FILE = HARNESS_FILE[:-1]
STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))
PACKAGE_DIRS = ("site-packages", "dist-packages")


def _text(value):
    """Best-effort text of anything (exception args may be bytes, broken __str__, ...)."""
    try:
        if PY2:
            if isinstance(value, unicode):  # noqa: F821
                return value
            if isinstance(value, str):
                return value.decode("utf-8", "replace")
            try:
                return unicode(value)  # noqa: F821
            except Exception:
                return str(value).decode("utf-8", "replace")
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return "<unprintable %s>" % type(value).__name__


class State(object):
    def __init__(self, out_dir, snippet, grace, timeout):
        self.out_dir = out_dir
        self.snippet = snippet
        self.grace = grace
        self.timeout = timeout
        self.lock = threading.Lock()
        self.done = False
        self.written = threading.Event()  # set once the record is out (both channels)
        self.imports_completed = False
        self.imports_at = None
        self.start = time.time()
        self.main_thread_id = threading.current_thread().ident
        self.channel = None
        self.import_blocks = []


STATE = None


RECORD_TAG = "@@DRIFTDOC-RECORD@@"
IMPORTS_TAG = "@@DRIFTDOC-IMPORTS@@"
MAX_FRAMES = 60
MAX_TEXT = 500


def _emit(line):
    """Write one protocol line on the private stdout duplicate (never raises)."""
    fd = getattr(STATE, "channel", None)
    if fd is None:
        return
    data = ("\n" + line + "\n").encode("ascii")
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except Exception:
        pass


def _write_atomic(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = text.encode("ascii") if not isinstance(text, bytes) else text
        while data:
            n = os.write(fd, data)
            data = data[n:]
        # No fsync: the reader is on this machine, and on a disk shared with busy processes
        # an fsync can block for tens of seconds, long past the limits being enforced.
    finally:
        os.close(fd)
    os.rename(tmp, path)


def _finish(execution):
    """Write the record once; a later call (racing watchdog vs. main thread) waits until the
    first one has written it, so the loser's ``os._exit`` cannot cut the record off."""
    state = STATE
    with state.lock:
        first = not state.done
        state.done = True
    if not first:
        state.written.wait(30)
        return False
    try:
        _write_record(state, execution)
    finally:
        state.written.set()
    return True


def _write_record(state, execution):
    execution["imports_completed"] = bool(state.imports_completed
                                          or execution.get("imports_completed"))
    execution["duration"] = round(time.time() - state.start, 4)
    record = {
        "status_code": "Success" if execution["status_code"] == "Success" else (
            "Timeout" if execution["status_code"] == "Timeout" else "Failed"),
        "execution": execution,
        "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
    }
    stack = execution.get("exception_stack") or []
    if len(stack) > MAX_FRAMES:  # deep recursion: keep both ends
        stack = stack[:20] + stack[-(MAX_FRAMES - 20):]
    execution["exception_stack"] = [[f[0][:MAX_TEXT], f[1], f[2][:MAX_TEXT], f[3][:MAX_TEXT]]
                                    for f in stack]
    for key in ("exception_message", "exception_line", "exception_file_name"):
        value = execution.get(key)
        if value and len(value) > MAX_TEXT * 8:  # e.g. the repr of a huge array
            execution[key] = value[:MAX_TEXT * 4] + " ... " + value[-MAX_TEXT * 2:]
    text = json.dumps(record, ensure_ascii=True, sort_keys=True)
    _flush_std()
    _emit(RECORD_TAG + text)
    if state.out_dir:
        try:
            _write_atomic(os.path.join(state.out_dir, "record.json"), text)
        except Exception:
            pass


# --------------------------------------------------------------------------- frames

def _in_package(path):
    parts = path.replace("\\", "/").split("/")
    for marker in PACKAGE_DIRS:
        if marker in parts:
            idx = parts.index(marker)
            rest = parts[idx + 1:]
            if rest:
                name = rest[0]
                if name.endswith((".py", ".pyc", ".so")):
                    name = name.split(".")[0]
                return name
            return ""
    return None


def _is_stdlib(path):
    if not path or path.startswith("<"):
        return True  # frozen importlib frames and the like
    path = os.path.abspath(path)
    return path.startswith(STDLIB_DIR + os.sep) and _in_package(path) is None


def _frames_from_tb(tb):
    frames = []
    for entry in traceback.extract_tb(tb):
        filename, lineno, name, line = entry[0], entry[1], entry[2], entry[3]
        frames.append([_text(filename), int(lineno or 0), _text(name), _text(line or "")])
    # Drop the harness's own frames at the top of the stack.
    while frames and os.path.abspath(frames[0][0]) == HARNESS_FILE:
        frames.pop(0)
    return frames


def _frames_from_frame(frame):
    frames = []
    for entry in traceback.extract_stack(frame):
        filename, lineno, name, line = entry[0], entry[1], entry[2], entry[3]
        frames.append([_text(filename), int(lineno or 0), _text(name), _text(line or "")])
    while frames and os.path.abspath(frames[0][0]) == HARNESS_FILE:
        frames.pop(0)
    return frames


def _describe_location(execution, frames):
    """Fill the V2 location fields from the innermost frame, and the package attribution."""
    execution["exception_stack"] = frames
    if frames:
        last = frames[-1]
        execution["exception_file_name"] = last[0]
        execution["exception_line_number"] = last[1]
        execution["exception_line"] = last[3]
    # The raising frame: innermost frame that is not the standard library.
    execution["raised_in_package"] = False
    execution["raising_module"] = None
    for frame in reversed(frames):
        if _is_stdlib(frame[0]):
            continue
        name = _in_package(frame[0])
        if name is not None:
            execution["raised_in_package"] = True
            execution["raising_module"] = name or None
        break


def _missing_module(exc):
    name = getattr(exc, "name", None)
    if name:
        return _text(name)
    msg = _text(exc)
    for prefix in ("No module named ", "cannot import name "):
        if msg.startswith(prefix):
            rest = msg[len(prefix):].strip().strip("'\"")
            if prefix.startswith("No module"):
                return rest
    return None


def exception_execution(exc_type, exc, tb):
    execution = {
        "status_code": "Exception",
        "exception_name": exc_type.__name__,
        "exception_message": _text(exc),
        "exception_file_name": None,
        "exception_line_number": None,
        "exception_line": None,
        "exception_stack": [],
    }
    frames = _frames_from_tb(tb)
    if issubclass(exc_type, SyntaxError) and getattr(exc, "filename", None):
        # The syntax error's own location (maybe inside a package) is the innermost frame.
        text = _text(getattr(exc, "text", "") or "").strip()
        msg = getattr(exc, "msg", None)
        if msg:
            execution["exception_message"] = _text(msg)
        frames.append([_text(exc.filename), int(exc.lineno or 0), "<module>", text])
    _describe_location(execution, frames)
    if issubclass(exc_type, ImportError):
        execution["missing_module"] = _missing_module(exc)
    if issubclass(exc_type, (TypeError, AttributeError)) and not execution["raised_in_package"]:
        try:
            called = _called_package(tb, exc_type, execution["exception_message"],
                                     execution.get("exception_line") or "")
        except Exception:  # best effort: never lose the record over it
            called = None
        if called:
            execution["called_module"], execution["called_path"] = called
    return execution


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")
_CALLED_NAME = re.compile(r"^(?:[\w.]+\.)?(\w+)\(\)")  # "load() missing ...", "A.f() takes"
_NO_ATTRIBUTE = re.compile(r"has no attribute '(\w+)'")
_MISSING = object()


def _called_package(tb, exc_type, message, line):
    """A TypeError or AttributeError raised on the snippet's own line can still be a
    package's drift: a function that now wants another argument, an object that lost a
    method. Name the package that defines the function the message names, or the object
    that lacks the attribute, by looking the line's names up in the failing frame (through
    modules only: no property of the snippet's objects is run)."""
    if tb is None or not line:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    if os.path.abspath(frame.f_code.co_filename) != os.path.abspath(STATE.snippet):
        return None
    names = [re.sub(r"\s+", "", n) for n in _DOTTED.findall(line)]
    if issubclass(exc_type, AttributeError):
        found = _NO_ATTRIBUTE.search(message or "")
        if not found:
            return None
        suffix = "." + found.group(1)
        owners = [n[:-len(suffix)] for n in names if n.endswith(suffix)]
    else:
        found = _CALLED_NAME.match(message or "")
        if not found:
            return None
        func = found.group(1)
        owners = [n for n in names if n == func or n.endswith("." + func)]
        # or a callee imported under another name (from yaml import load as parse)
        owners += [n for n in names if n not in owners
                   and getattr(_lookup(frame, n), "__name__", None) == func]
    for dotted in owners:
        obj = _lookup(frame, dotted)
        if obj is _MISSING:
            continue
        top = (_module_of(obj) or "").split(".")[0]
        path = getattr(sys.modules.get(top), "__file__", None)
        if top and path and _in_package(os.path.abspath(path)) is not None:
            return top, _text(os.path.abspath(path))
    return None


def _lookup(frame, dotted):
    """The object ``dotted`` names in ``frame``, following attributes of modules only."""
    parts = dotted.split(".")
    obj = _MISSING
    for scope in (frame.f_locals, frame.f_globals, vars(_builtins)):
        if parts[0] in scope:
            obj = scope[parts[0]]
            break
    for part in parts[1:]:
        if obj is _MISSING or not isinstance(obj, type(sys)):
            break
        obj = getattr(obj, part, _MISSING)
    return obj


def _module_of(obj):
    """The module defining a module, class or function, else the object's class."""
    import inspect

    if inspect.ismodule(obj):
        return getattr(obj, "__name__", None)
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return getattr(obj, "__module__", None)
    return getattr(type(obj), "__module__", None)


# --------------------------------------------------------------------------- watchdogs

def _timeout(phase):
    frame = sys._current_frames().get(STATE.main_thread_id)
    execution = {
        "status_code": "Timeout",
        "exception_name": None,
        "exception_message": "time limit (%s) reached" % phase,
        "timeout_phase": phase,
    }
    frames = _frames_from_frame(frame) if frame is not None else []
    _describe_location(execution, frames)
    execution["exception_stack"] = frames
    if not STATE.imports_completed and _remaining_imports_findable(frames):
        # Waiting (e.g. on a server) between imports, and every top-level import still
        # ahead would be found: the environment question is answered all the same.
        execution["imports_completed"] = True
        execution["imports_inferred"] = True
    if _finish(execution):
        _flush_std()
        os._exit(0)


def _findable(name):
    if name in sys.modules:
        return True
    try:
        if PY2:
            handle = _imp.find_module(name)
            if handle[0] is not None:
                handle[0].close()
            return True
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False


def _remaining_imports_findable(frames):
    """True when the main thread is at a top-level statement that is not an import and each
    plain top-level import after it names a findable module (nothing is executed)."""
    snippet_lines = [f[1] for f in frames if f[0] == STATE.snippet and f[2] == "<module>"]
    if not snippet_lines or not STATE.import_blocks:
        return False
    line = snippet_lines[0]
    pending = []
    for first, last, names in STATE.import_blocks:
        if first <= line <= last:
            return False  # blocked inside an import itself
        if first > line:
            pending.extend(names)
    return all(_findable(name) for name in pending)


def _warm_up():
    """Python 2 has one global import lock, held by the main thread for as long as a snippet's
    import runs; a watchdog that imports anything then waits for that import to end (a 0.5 s
    limit fired after 30 s). Encoding bytes looks up a codec, which imports it the first time:
    do every such lookup now, so the watchdogs never import."""
    for name in ("ascii", "utf-8"):
        b"".decode(name)
        u"".encode(name)
        if PY2:
            "".encode(name)  # str.encode goes through the codec registry on 2.7


def _start_timer(seconds, phase):
    if seconds is None or seconds <= 0:
        return
    timer = threading.Timer(seconds, _timeout, args=(phase,))
    timer.daemon = True
    timer.start()


def imports_done():
    state = STATE
    if state.imports_completed:
        return
    state.imports_completed = True
    state.imports_at = time.time()
    _emit(IMPORTS_TAG)
    if state.out_dir:
        try:
            _write_atomic(os.path.join(state.out_dir, "imports_done"),
                          "%.4f" % (time.time() - state.start))
        except Exception:
            pass
    _start_timer(state.grace, "grace")


# --------------------------------------------------------------------------- instrumenting

_TRIVIAL = ("Pass", "Assign", "Expr", "Raise", "Print", "Global", "AugAssign", "AnnAssign",
            "Delete")


def _has_import(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    for child in ast.iter_child_nodes(node):
        if type(child).__name__ in ("FunctionDef", "AsyncFunctionDef", "ClassDef", "Lambda"):
            continue
        if _has_import(child):
            return True
    return False


def _import_block(node):
    """True for an import, or a try/if block made only of imports and trivial fallbacks."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    kind = type(node).__name__
    if kind not in ("Try", "TryExcept", "TryFinally", "TryStar", "If"):
        return False
    if kind == "If" and any(isinstance(n, ast.Name) and n.id == "__name__"
                            for n in ast.walk(node.test)):
        return False  # the ``if __name__ == "__main__":`` block is the program, not imports
    bodies = []
    for field in ("body", "orelse", "finalbody"):
        bodies.append(getattr(node, field, []) or [])
    for handler in getattr(node, "handlers", []) or []:
        bodies.append(handler.body)
    for body in bodies:
        for stmt in body:
            if _import_block(stmt):
                continue
            if type(stmt).__name__ in _TRIVIAL and not (
                    isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
                continue
            return False
    return _has_import(node)


def instrument(tree):
    """Insert a marker call after the last top-level import block (or first, if none)."""
    body = tree.body
    last = -1
    blocks = []
    for i, stmt in enumerate(body):
        if _import_block(stmt):
            last = i
            names = []
            if isinstance(stmt, ast.Import):
                names = [alias.name.split(".")[0] for alias in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and not stmt.level and stmt.module \
                    and stmt.module != "__future__":
                names = [stmt.module.split(".")[0]]
            end = max(getattr(n, "lineno", 0) or 0 for n in ast.walk(stmt))
            blocks.append((stmt.lineno, end, names))
    if STATE is not None:
        STATE.import_blocks = blocks
    if last < 0 and body and isinstance(body[0], ast.Expr) and \
            type(body[0].value).__name__ in ("Str", "Constant") and \
            isinstance(getattr(body[0].value, "s", getattr(body[0].value, "value", None)),
                       (type(u""), type(""))):
        last = 0  # keep the module docstring first (no imports at all)
    marker = ast.parse(MARKER + "()").body[0]
    # Line numbers must never decrease (Python 2's line table cannot go backwards): give the
    # marker the last line of the block it follows, or the first line of the module.
    if last >= 0:
        line = max(getattr(n, "lineno", 0) or 0 for n in ast.walk(body[last]))
    else:
        line = body[0].lineno if body else 1
    for node in ast.walk(marker):
        if "lineno" in getattr(node, "_attributes", ()):
            node.lineno = line
            node.col_offset = 0
            if "end_lineno" in node._attributes:
                node.end_lineno = line
                node.end_col_offset = 0
    body.insert(last + 1, marker)
    ast.fix_missing_locations(tree)
    return tree


# --------------------------------------------------------------------------- main

def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _parse_args(argv):
    opts = {"--out": "", "--snippet": None, "--grace": "0", "--timeout": "0"}
    i = 0
    while i < len(argv):
        key = argv[i]
        if key in opts and i + 1 < len(argv):
            opts[key] = argv[i + 1]
            i += 2
        else:
            raise SystemExit("harness: bad argument %r" % (key,))
    if not opts["--snippet"]:
        raise SystemExit("harness: --snippet is required")
    return opts


def run(argv):
    global STATE
    opts = _parse_args(argv)
    snippet = os.path.abspath(opts["--snippet"])
    out_dir = os.path.abspath(opts["--out"]) if opts["--out"] else None
    STATE = State(out_dir, snippet, float(opts["--grace"]), float(opts["--timeout"]))
    try:
        STATE.channel = os.dup(1)
    except OSError:
        STATE.channel = None
    setattr(_builtins, MARKER, imports_done)
    _warm_up()
    _start_timer(STATE.timeout, "total")

    snippet_dir = os.path.dirname(snippet)
    sys.argv = [snippet]
    sys.path[0] = snippet_dir
    try:
        os.chdir(snippet_dir)
    except OSError:
        pass

    try:
        with open(snippet, "rb") as handle:
            source = handle.read()
        tree = compile(source, snippet, "exec", ast.PyCF_ONLY_AST, True)
        code = compile(instrument(tree), snippet, "exec", 0, True)
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        execution = exception_execution(exc_type, exc, tb)
        if issubclass(exc_type, SyntaxError):
            execution["exception_stack"] = execution["exception_stack"][-1:]
        _finish(execution)
        return 0

    module = type(sys)("__main__")
    module.__dict__.update({"__name__": "__main__", "__file__": snippet, "__package__": None,
                            "__builtins__": _builtins, "__doc__": None})
    sys.modules["__main__"] = module
    linecache.checkcache(snippet)
    execution = {"status_code": "Success", "exception_stack": []}
    try:
        exec(code, module.__dict__)
    except SystemExit:
        exc_type, exc, tb = sys.exc_info()
        code_value = exc.code
        if code_value is None or code_value == 0:
            execution["exit_code"] = 0
        else:
            execution = exception_execution(exc_type, exc, tb)
            execution["exit_code"] = code_value if isinstance(code_value, int) else 1
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        execution = exception_execution(exc_type, exc, tb)
    if execution["status_code"] == "Success":
        _like_interpreter_exit()
    _flush_std()
    _finish(execution)
    return 0


def _like_interpreter_exit():
    """What a normal exit does before the process ends: wait for non-daemon threads, then run
    atexit hooks (the watchdogs still bound both)."""
    try:
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon:
                thread.join()
    except BaseException:
        pass
    try:
        import atexit
        run_hooks = getattr(atexit, "_run_exitfuncs", None)
        if run_hooks is not None:
            run_hooks()
    except BaseException:
        pass


if __name__ == "__main__":
    try:
        status = run(sys.argv[1:])
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        status = 3
    _flush_std()
    # Skip interpreter teardown: snippets' atexit hooks/threads must not block the record.
    os._exit(status)
