"""Collect the imports of a snippet, with the context that decides whether they are required.

Contexts: ``module`` (runs on import), ``function`` (inside a def), ``optional`` (inside
``try/except ImportError`` together with its fallback, or a Python-version / platform branch)
and ``dynamic`` (``__import__``/``importlib.import_module`` with a literal name).

Python 2 source is parsed too: when ``ast`` (3.x) rejects it, a token-level rewrite turns
Python-2-only syntax into equivalent-enough Python 3 (line numbers kept) and the ast walk runs
on that; the syntax found on the way is reported as evidence for the version inference. If even
that fails, a line-based scan still finds the import statements.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

from driftdoc.env.host import tables

CONTEXTS = ("module", "function", "optional", "dynamic")

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException",
                  "StandardError", "AttributeError", "SyntaxError", "NameError"}
_VERSION_TEST = re.compile(
    r"version_info|sys\.version|python_version|\bPY_?[23]\d*\b|\bPYTHON_?[23]\b|\bIS_PY_?[23]|"
    r"\bPY3K\b|\bpy3k?\b|\bpy2\b|\bis_py[23]|\bstring_types\b|hexversion",
    re.IGNORECASE,
)
_PLATFORM_TEST = re.compile(
    r"sys\.platform|os\.name|platform\.system|platform\.mac_ver|\bIS_WIN|\bWINDOWS\b|\bis_windows"
    r"|\bON_WINDOWS|\bMAC\b|\bDARWIN\b|\bLINUX\b|_winreg|msvcrt",
    re.IGNORECASE,
)




@dataclass(frozen=True)
class RawImport:
    """One imported module name as written (``name`` is dotted, ``level`` > 0 if relative)."""

    name: str
    line: int
    context: str
    level: int = 0
    group: int | None = None  # alternatives (try body + its fallbacks) share a group id
    guard: str = ""  # why it is optional: "try/except ImportError", "version check", ...
    fromlist: tuple[str, ...] = ()  # names of ``from X import a, b`` (may be submodules)

    @property
    def top(self) -> str:
        return self.name.split(".")[0] if self.name else ""


@dataclass
class ImportScan:
    """The imports plus what the parse learned about the syntax."""

    imports: list[RawImport]
    parser: str  # "ast" | "ast-py2-rewrite" | "lines"
    py2_syntax: list[tuple[str, int]] = field(default_factory=list)  # (feature, line)
    py3_syntax: list[tuple[str, int, tuple[int, int]]] = field(default_factory=list)
    future: set[str] = field(default_factory=set)
    tree: ast.Module | None = None
    error: str = ""
    shebang: str = ""


def scan_imports(source: str) -> ImportScan:
    """Imports of ``source`` (any Python 2 or 3 dialect)."""
    scan = _scan(source)
    first = source.lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("#!"):
        scan.shebang = first[2:].strip()
    return scan


def _scan(source: str) -> ImportScan:
    try:
        tree = ast.parse(source)
        parser = "ast"
        py2: list[tuple[str, int]] = []
    except (SyntaxError, ValueError) as first:
        rewritten, py2 = rewrite_py2(source)
        try:
            tree = ast.parse(rewritten)
            parser = "ast-py2-rewrite"
        except (SyntaxError, ValueError):
            scan = ImportScan(_scan_lines(source), "lines", py2)
            scan.error = f"line {getattr(first, 'lineno', '?')}: {getattr(first, 'msg', first)}"
            return scan
    visitor = _Visitor()
    visitor.visit(tree)
    return ImportScan(visitor.imports, parser, py2, visitor.py3, visitor.future, tree)


# --------------------------------------------------------------------------- ast walk


def _func_name(f: ast.expr) -> str:
    if isinstance(f, ast.Name):
        return f.id
    return f.attr if isinstance(f, ast.Attribute) else ""


def _handler_catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names: list[str] = []
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for n in nodes:
        if isinstance(n, ast.Name):
            names.append(n.id)
        elif isinstance(n, ast.Attribute):
            names.append(n.attr)
    return any(n in _IMPORT_ERRORS for n in names)


def _gives_up(body: list[ast.stmt]) -> bool:
    """A handler that raises or exits makes the guarded import required after all."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            name = _func_name(f)
            if name in ("exit", "quit", "_exit", "abort"):
                return True
    return False


def _has_import(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(ast.Module(body, []))
    )


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.imports: list[RawImport] = []
        self.py3: list[tuple[str, int, tuple[int, int]]] = []
        self.future: set[str] = set()
        self._func = 0
        self._optional: list[tuple[int, str]] = []  # (group, guard)
        self._groups = 0

    # context -----------------------------------------------------------------
    def _context(self) -> tuple[str, int | None, str]:
        if self._optional:
            group, guard = self._optional[-1]
            return "optional", group, guard
        if self._func:
            return "function", None, ""
        return "module", None, ""

    def _add(self, name: str, line: int, level: int = 0, dynamic: bool = False,
             fromlist: tuple[str, ...] = ()) -> None:
        ctx, group, guard = self._context()
        if dynamic and ctx != "optional":
            ctx = "dynamic"
        self.imports.append(RawImport(name, line, ctx, level, group, guard, fromlist))

    def _new_group(self, guard: str) -> tuple[int, str]:
        self._groups += 1
        return self._groups, guard

    def _feature(self, what: str, node: ast.AST, since: tuple[int, int]) -> None:
        self.py3.append((what, getattr(node, "lineno", 0), since))

    # statements --------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level == 0 and mod == "__future__":
            self.future.update(a.name for a in node.names)
            return
        names = tuple(a.name for a in node.names if a.name != "*")
        if node.level == 0 and mod in tables.import_hooks() and names:
            # ``from flask.ext import restful`` imports the extension flask_restful
            for name in names:
                self._add(f"{mod}.{name}", node.lineno)
            return
        self._add(mod, node.lineno, node.level, fromlist=names)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        if args.posonlyargs:
            self._feature("positional-only parameters", node, (3, 8))
        if args.kwonlyargs:
            self._feature("keyword-only parameters", node, (3, 0))
        if node.returns is not None or any(
            a.annotation is not None for a in [*args.args, *args.kwonlyargs]
        ):
            self._feature("function annotations", node, (3, 0))
        self._func += 1
        self.generic_visit(node)
        self._func -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._feature("async def", node, (3, 5))
        self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._func += 1
        self.generic_visit(node)
        self._func -= 1

    def visit_Try(self, node: ast.Try) -> None:
        catching = [h for h in node.handlers if _handler_catches_import_error(h)]
        optional = bool(catching) and _has_import(node.body) and not all(
            _gives_up(h.body) and not _has_import(h.body) for h in catching
        )
        if optional:
            self._optional.append(self._new_group("try/except ImportError"))
            for stmt in node.body:
                self.visit(stmt)
            for h in node.handlers:
                self.visit(h)
            self._optional.pop()
        else:
            for stmt in node.body:
                self.visit(stmt)
            for h in node.handlers:
                self.visit(h)
        for stmt in [*node.orelse, *node.finalbody]:
            self.visit(stmt)

    visit_TryStar = visit_Try  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        guard = ""
        if _VERSION_TEST.search(test):
            guard = "Python-version check"
        elif _PLATFORM_TEST.search(test):
            guard = "platform check"
        elif re.fullmatch(r"(not\s+)?\w*(HAS|HAVE|USE|ENABLE)\w*", test, re.IGNORECASE):
            guard = f"feature flag {test}"
        if guard:
            self._optional.append(self._new_group(guard))
            self.generic_visit(node)
            self._optional.pop()
        else:
            self.generic_visit(node)

    # expressions -------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        fname = _func_name(node.func)
        if (
            fname in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            if re.fullmatch(r"[A-Za-z_][\w\.]*", name):
                self._add(name, node.lineno, dynamic=True)
        if fname == "print" and any(k.arg in ("end", "sep", "file", "flush")
                                    for k in node.keywords):
            self._feature("print() with keyword arguments", node, (3, 0))
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._feature("f-string", node, (3, 6))
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._feature("assignment expression (:=)", node, (3, 8))
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        self._feature("match statement", node, (3, 10))
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._feature("variable annotation", node, (3, 6))
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        self._feature("await", node, (3, 5))
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._feature("async for", node, (3, 5))
        self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._feature("async with", node, (3, 5))
        self.generic_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._feature("nonlocal", node, (3, 0))
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self._feature("yield from", node, (3, 3))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult):
            self._feature("@ operator", node, (3, 5))
        self.generic_visit(node)

    def visit_Starred(self, node: ast.Starred) -> None:
        if isinstance(getattr(node, "ctx", None), ast.Store):
            self._feature("extended unpacking (a, *b = ...)", node, (3, 0))
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        if any(k is None for k in node.keys):
            self._feature("dict unpacking {**d}", node, (3, 5))
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if node.cause is not None:
            self._feature("raise ... from", node, (3, 0))
        self.generic_visit(node)


# --------------------------------------------------------------------------- Python 2 rewrite

_COMPOUND = {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def",
             "class"}


def rewrite_py2(source: str) -> tuple[str, list[tuple[str, int]]]:
    """Python 2 source -> parseable Python 3 source with the same line numbers.

    Only as faithful as import collection needs. Returns the text and the Python-2-only
    features seen, as (feature, line).
    """
    lines = [_expand_indent(line) for line in source.splitlines(keepends=True)]
    features: list[tuple[str, int]] = []
    edits: list[tuple[int, int, int, str]] = []  # (row, col_start, col_end, text)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO("".join(lines)).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        toks = _tokens_until_error("".join(lines))

    depth = 0
    stmt_start = True
    first_kw = ""
    stmt: str | None = None  # "print" | "exec" | "raise" | "except" while rewriting one
    stmt_comma_done = False
    pending_close: str | None = None
    prev: tokenize.TokenInfo | None = None
    backtick_open = False

    def close_here(tok: tokenize.TokenInfo) -> None:
        nonlocal pending_close, stmt
        if pending_close is not None:
            # close right after the statement's last token (before NEWLINE, ';' or the end)
            r, c = tok.start
            if prev is not None and tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                r, c = prev.end
            edits.append((r, c, c, pending_close))
            pending_close = None
        stmt = None

    for tok in toks:
        ttype, s = tok.type, tok.string
        if ttype in (tokenize.NL, tokenize.COMMENT) and depth == 0 and stmt is None:
            prev = tok if ttype != tokenize.NL else prev
            continue
        if ttype in (tokenize.NEWLINE, tokenize.ENDMARKER) or (
            ttype == tokenize.OP and s == ";" and depth == 0
        ):
            close_here(tok)
            stmt_start = True
            first_kw = ""
            prev = tok
            continue
        if ttype in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.COMMENT):
            continue

        if stmt_start:
            stmt_start = False
            first_kw = s if ttype == tokenize.NAME else ""
            if ttype == tokenize.NAME and s in ("print", "exec") and _starts_statement(
                _next_significant(toks, tok)
            ):
                features.append((f"{s} statement", tok.start[0]))
                edits.append((tok.end[0], tok.end[1], tok.end[1], "("))
                pending_close = ")"
                stmt = s
                stmt_comma_done = False
                prev = tok
                continue
            if ttype == tokenize.NAME and s in ("raise", "except"):
                stmt = s
                stmt_comma_done = False

        if ttype == tokenize.OP:
            if s in "([{":
                depth += 1
            elif s in ")]}":
                depth = max(0, depth - 1)
            elif s == ":" and depth == 0 and first_kw in _COMPOUND:
                # one-line compound statement: what follows is a new statement
                stmt = None
                stmt_start = True
                first_kw = ""
            elif s == "," and depth == 0 and stmt == "raise" and not stmt_comma_done:
                edits.append((tok.start[0], tok.start[1], tok.end[1], "("))
                pending_close = ")"
                stmt_comma_done = True
                features.append(("raise E, msg", tok.start[0]))
            elif s == "," and depth == 0 and stmt == "except" and not stmt_comma_done:
                edits.append((tok.start[0], tok.start[1], tok.end[1], " as "))
                stmt_comma_done = True
                features.append(("except X, e", tok.start[0]))
            elif s == ">>" and stmt == "print" and prev is not None and prev.string == "print":
                edits.append((tok.start[0], tok.start[1], tok.end[1], ""))
                features.append(("print >>f", tok.start[0]))
            elif s == "<>" or (s == ">" and prev is not None and prev.string == "<"
                               and prev.end == tok.start):
                if s == "<>" or prev is None:
                    edits.append((tok.start[0], tok.start[1], tok.end[1], "!="))
                else:
                    edits.append((prev.start[0], prev.start[1], tok.end[1], "!="))
                features.append(("<> operator", tok.start[0]))
        elif ttype == tokenize.NAME and s == "in" and stmt == "exec" and depth == 0:
            edits.append((tok.start[0], tok.start[1], tok.end[1], ","))
        elif ttype == tokenize.NUMBER:
            if prev is not None and prev.type == tokenize.NUMBER and prev.string == "0" and (
                prev.end == tok.start and tok.string.isdigit()
            ):
                edits.append((prev.start[0], prev.start[1], prev.end[1], "0o"))
                features.append(("octal literal 0777", tok.start[0]))
            elif re.fullmatch(r"0\d+[lL]?", s):
                edits.append((tok.start[0], tok.start[1], tok.end[1], "0o" + s.lstrip("0lL")
                              .rstrip("lL") or "0"))
                features.append(("octal literal 0777", tok.start[0]))
            elif s[-1:] in "lL" and not s.lower().startswith("0x"):
                edits.append((tok.start[0], tok.end[1] - 1, tok.end[1], ""))
                features.append(("long literal 10L", tok.start[0]))
        elif ttype == tokenize.NAME and s in ("L", "l") and prev is not None and (
            prev.type == tokenize.NUMBER and prev.end == tok.start
        ):
            edits.append((tok.start[0], tok.start[1], tok.end[1], ""))
            features.append(("long literal 10L", tok.start[0]))
        elif ttype == tokenize.NAME and s.lower() in ("ur", "ru"):
            nxt = _next_significant(toks, tok)
            if nxt is not None and nxt.type == tokenize.STRING and nxt.start == tok.end:
                edits.append((tok.start[0], tok.start[1], tok.end[1], "r"))
                features.append(("ur'' string", tok.start[0]))
        elif ttype == tokenize.STRING and re.match(r"(?i)ur['\"]", s):
            edits.append((tok.start[0], tok.start[1], tok.start[1] + 2, "r"))
            features.append(("ur'' string", tok.start[0]))
        elif ttype == tokenize.ERRORTOKEN and s == "`":
            text = ")" if backtick_open else "repr("
            edits.append((tok.start[0], tok.start[1], tok.end[1], text))
            backtick_open = not backtick_open
            if backtick_open:
                features.append(("backtick repr", tok.start[0]))
        prev = tok

    return _apply(lines, edits), features


def _starts_statement(nxt: tokenize.TokenInfo | None) -> bool:
    """After a leading ``print``/``exec``: does this token make it a Python 2 statement?"""
    if nxt is None:
        return False
    if nxt.type in (tokenize.NAME, tokenize.STRING, tokenize.NUMBER):
        return not (nxt.type == tokenize.NAME and nxt.string in ("if", "for", "in", "is", "and",
                                                                  "or", "not"))
    if nxt.type == tokenize.ERRORTOKEN:
        return nxt.string.strip() != ""
    return nxt.type == tokenize.OP and nxt.string in ("-", "+", "~", ">>", "[", "{")


def _expand_indent(line: str) -> str:
    m = re.match(r"^[ \t]+", line)
    if not m or "\t" not in m.group(0):
        return line
    return m.group(0).expandtabs(8) + line[m.end():]


def _next_significant(
    toks: list[tokenize.TokenInfo], tok: tokenize.TokenInfo
) -> tokenize.TokenInfo | None:
    seen = False
    for t in toks:
        if seen and t.type not in (tokenize.NL, tokenize.COMMENT):
            return t
        if t is tok:
            seen = True
    return None


def _tokens_until_error(text: str) -> list[tokenize.TokenInfo]:
    out: list[tokenize.TokenInfo] = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            out.append(t)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _apply(lines: list[str], edits: list[tuple[int, int, int, str]]) -> str:
    by_row: dict[int, list[tuple[int, int, str]]] = {}
    for r, c0, c1, text in edits:
        by_row.setdefault(r, []).append((c0, c1, text))
    out = list(lines)
    for r, items in by_row.items():
        if not 1 <= r <= len(out):
            continue
        line = out[r - 1]
        for c0, c1, text in sorted(items, key=lambda t: (t[0], t[1]), reverse=True):
            line = line[:c0] + text + line[c1:]
        out[r - 1] = line
    return "".join(out)


# --------------------------------------------------------------------------- last resort

_LINE_IMPORT = re.compile(r"^([ \t]*)import\s+(.+)$")
_LINE_FROM = re.compile(r"^([ \t]*)from\s+(\.*)([\w\.]*)\s+import\b")


def _scan_lines(source: str) -> list[RawImport]:
    """Import statements found line by line, context from indentation and enclosing headers."""
    found: list[RawImport] = []
    stack: list[tuple[int, str]] = []  # (indent, header keyword)
    group = 0
    for no, raw in enumerate(source.splitlines(), 1):
        line = _expand_indent(raw)
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        head = re.match(r"(def|class|try|except|if|elif|else|for|while|with)\b", stripped)
        if head and stripped.rstrip().endswith(":"):
            stack.append((indent, head.group(1) + " " + stripped))
        ctx, guard = "module", ""
        kinds = [h.split(" ", 1)[0] for _, h in stack]
        if "try" in kinds or "except" in kinds:
            ctx, guard = "optional", "try/except ImportError"
            group = group or 1
        elif any(_VERSION_TEST.search(h) for _, h in stack):
            ctx, guard = "optional", "Python-version check"
        elif "def" in kinds:
            ctx = "function"
        m = _LINE_FROM.match(line)
        if m:
            found.append(RawImport(m.group(3), no, ctx, len(m.group(2)),
                                   group if ctx == "optional" else None, guard))
            continue
        m = _LINE_IMPORT.match(line)
        if m:
            body = m.group(2).split("#")[0].split(";")[0]
            for part in body.split(","):
                name = part.strip().split(" as ")[0].strip().strip("()\\ ")
                if re.fullmatch(r"[A-Za-z_][\w\.]*", name):
                    found.append(RawImport(name, no, ctx, 0,
                                           group if ctx == "optional" else None, guard))
    return found
