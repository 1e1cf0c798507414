"""The report of one ``driftdoc run``: the search as a timeline of validations.

It reads only the run's JSON result (the schema's ``run``), so a result written by a
batch, a checkpoint or another machine renders the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftdoc.report.page import badge, colour, esc, facts, page, pills

ENV_OK = ("success", "snippet-error", "timeout-after-imports")

# What each class means, in the words the report shows next to the badge.
MEANING = {
    "success": "the snippet ran to the end",
    "snippet-error": "the snippet's own code failed after its imports: the environment works",
    "timeout-after-imports": "imports completed, then it ran until the time limit: the "
                             "environment works",
    "snippet-attribute-error": "an AttributeError in the snippet's own code",
    "package-error": "a package raised: a drift suspect",
    "import-error": "an import failed",
    "syntax-error": "does not parse on this Python",
    "timeout": "the time limit struck before the imports completed",
    "install-failure": "the environment could not be resolved, built or installed",
    "platform": "needs a host application or platform API no PyPI package provides",
    "bad-input": "not a usable snippet",
    "error": "driftdoc failed on this snippet",
    "time-limit": "the batch's time limit struck first",
}


def _drift(doc: dict[str, Any]) -> str:
    if not doc.get("drift"):
        return "<p>No drift: the first environment that worked needed no older release.</p>"
    rows = []
    for fix in doc["drift"]:
        fixed = fix.get("fixed") or {}
        line = f" at line {fixed['line']}" if fixed.get("line") else ""
        what = esc(fixed.get("exception_name") or "a failure")
        message = esc(fixed.get("exception_message") or "")
        rows.append(
            f'<div class="drift"><b>{esc(fix["package"])}</b> '
            f'<span class="old mono">{esc(fix.get("from") or "?")}</span> → '
            f'<span class="new mono">{esc(fix.get("to") or "?")}</span> '
            f'<span class="why">fixed {what}{line}'
            f'{": " + message if message else ""} (move: {esc(fix.get("move") or "?")})'
            "</span></div>")
    return "".join(rows)


def _timeline(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return "<p>No validation ran.</p>"
    items = []
    for i, step in enumerate(steps, 1):
        result = str(step.get("result") or "")
        kept = bool(step.get("kept"))
        when = f", as of {esc(step['as_of'])}" if step.get("as_of") else ""
        seconds = f" · {float(step['seconds']):.1f}s" if step.get("seconds") else ""
        verdict = "kept" if kept else "not kept"
        items.append(
            f'<li class="{"kept" if kept else ""}" style="--dot:{colour(result)}">'
            f'<div class="step-head">Validation {i}: {esc(step.get("move"))} '
            f'{badge(result, result)} <span class="why">({verdict}{seconds})</span></div>'
            f'<div class="why">{esc(step.get("why"))}</div>'
            f'<div>Python {esc(step.get("python"))}{when}: '
            f'{pills(step.get("requirements") or [])}</div>'
            f'<div class="mono">{esc(step.get("detail"))}</div></li>')
    return f'<ol class="timeline">{"".join(items)}</ol>'


def _final(doc: dict[str, Any]) -> str:
    final = doc.get("final") or {}
    ex = final.get("execution") or {}
    parts = []
    if ex.get("exception_name"):
        where = f"{ex.get('exception_file_name')}:{ex.get('exception_line_number')}"
        parts.append(f"<p><b>{esc(ex['exception_name'])}</b>: "
                     f"{esc(ex.get('exception_message'))} <span class=\"why mono\">"
                     f"at {esc(where)}</span></p>")
    for error in (final.get("dependencies") or {}).get("install_errors") or []:
        parts.append(f"<p>Install error ({esc(error.get('requirement') or 'unknown')}):</p>"
                     f"<pre>{esc(error.get('message'))}</pre>")
    for name in ("stdout_tail", "stderr_tail"):
        if ex.get(name):
            parts.append(f"<details><summary>{name.replace('_', ' ')}</summary>"
                         f"<pre>{esc(ex[name])}</pre></details>")
    return "".join(parts)


def run_body(doc: dict[str, Any], *, heading: str = "h1") -> str:
    """The report's content, without the page frame (a batch embeds none, explain one)."""
    name = Path(str(doc.get("snippet") or "snippet")).name
    status = str(doc.get("status"))
    kind = doc.get("classification")
    works = status == "resolved" or kind in ENV_OK
    rows = [
        ("Status", badge(status, status) + (" the environment works" if works else "")),
        ("Python", esc(doc.get("python") or "not determined")),
        ("Environment", pills(doc.get("requirements") or [])),
        ("Validations", esc(doc.get("validations"))),
        ("Time", f"{float(doc.get('seconds') or 0):.1f} s"),
        ("Last validation", (badge(str(kind), str(kind)) + " " + esc(MEANING.get(str(kind), "")))
         if kind else "—"),
    ]
    if doc.get("reason"):
        rows.append(("Why it stopped", esc(doc["reason"])))
    if doc.get("system_packages"):
        rows.append(("System packages", pills(doc["system_packages"])))
    if doc.get("build_constraints"):
        rows.append(("Build constraints", pills(doc["build_constraints"])))
    left = [lo for lo in doc.get("left_out") or [] if isinstance(lo, dict)]
    if left:
        rows.append(("Left out of the validation",
                     "<br>".join(f'<span class="mono">{esc(lo.get("name"))}=='
                                 f'{esc(lo.get("version"))}</span> {esc(lo.get("why"))}'
                                 for lo in left)
                     + "<br>(the environment's files install them, for a machine with a GPU)"))
    if doc.get("lenient_metadata"):
        rows.append(("Metadata read leniently", pills(doc["lenient_metadata"])))
    caveats = "".join(f"<li>{esc(c)}</li>" for c in doc.get("caveats") or [])
    final = _final(doc)
    return (
        f"<{heading}>driftdoc run: {esc(name)}</{heading}>"
        f'<p class="sub mono">{esc(doc.get("snippet"))}</p>'
        + facts(rows)
        + (f"<h2>Caveats</h2><ul>{caveats}</ul>" if caveats else "")
        + "<h2>Drift found (old → new)</h2>" + _drift(doc)
        + f"<h2>Search timeline ({len(doc.get('steps') or [])} validations)</h2>"
        + _timeline(list(doc.get("steps") or []))
        + (f"<h2>Last validation</h2>{final}" if final else "")
    )


def render_run(doc: dict[str, Any]) -> str:
    """A self-contained HTML page for one run result."""
    name = Path(str(doc.get("snippet") or "snippet")).name
    return page(f"driftdoc run: {name}", run_body(doc))
