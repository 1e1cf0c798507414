"""The report of ``driftdoc debug``: the causes, the runs behind each, and the decision
tree over every recorded run (what separates the failures from the successes)."""

from __future__ import annotations

from typing import Any

from driftdoc.algorithms import tree
from driftdoc.errors import InputError
from driftdoc.model import Conjunction, Instance, Predicate, Space, Value
from driftdoc.report.page import badge, esc, facts, page, table

MAX_ROWS = 60  # runs listed under one cause; the rest are counted


def _cause(literals: list[list[Value]]) -> Conjunction:
    return Conjunction(Predicate(str(p), op, v) for p, op, v in literals)  # type: ignore[arg-type]


def _run_rows(runs: list[dict[str, Any]], names: list[str],
              limit: int = MAX_ROWS) -> list[list[str]]:
    rows = []
    for run in runs[:limit]:
        verdict = "pass" if run.get("succeeded") else "fail"
        rows.append([esc(run.get("id")), *(esc(run["params"].get(n)) for n in names),
                     badge(verdict, verdict), esc(run.get("category") or ""),
                     f'<span class="mono">{esc((run.get("message") or "")[:160])}</span>'])
    return rows


def _tree_html(node: tree.Node, test: str = "all recorded runs") -> str:
    counts = f"{node.fails} fail · {node.passes} pass"
    if node.split is None or node.yes is None or node.no is None:
        cls = "leaf-fail" if node.pure_fail else ("leaf-pass" if node.fails == 0 else "")
        return f'<li><span class="node {cls}">{esc(test)}: {counts}</span></li>'
    yes = _tree_html(node.yes, node.split.text())
    no = _tree_html(node.no, node.split.negate().text())
    return (f'<li><span class="node">{esc(test)}: {counts}</span>'
            f"<ul>{yes}{no}</ul></li>")


def _decision_tree(space: Space, runs: list[dict[str, Any]]) -> str:
    data: dict[Instance, bool] = {}
    for run in runs:
        try:
            inst = Instance((p.name, run["params"][p.name]) for p in space.parameters)
            space.indices(inst)
        except (KeyError, InputError):
            continue  # a run of another shape of the space
        data[inst] = not run.get("succeeded")
    if not data:
        return "<p>No runs recorded.</p>"
    root = tree.build(space, data)
    return f'<ul class="tree">{_tree_html(root)}</ul>'


def render_debug(experiment: str, summary: dict[str, Any], space_json: dict[str, Any],
                 runs: list[dict[str, Any]]) -> str:
    """``runs``: the experiment's recorded runs as ``{id, params, succeeded, category,
    message, duration}``; ``summary`` is the diagnosis (the schema's ``debug``)."""
    space = Space.from_json(space_json)
    names = list(space.names)
    status = str(summary.get("status"))
    rows = [
        ("Status", badge(status, "pass" if status == "found" else "unknown")),
        ("Algorithm", esc(f"{summary.get('algorithm')}, find-{summary.get('mode')}")),
        ("New runs", esc(summary.get("runs"))),
        ("Configurations known", esc(summary.get("evaluated"))),
        ("Parameters", esc(", ".join(f"{p.name} ({len(p.values)} values)"
                                     for p in space.parameters))),
    ]
    coverage = summary.get("coverage") or {}
    if coverage.get("text"):
        rows.append(("Coverage", esc(coverage["text"])))
    if summary.get("reruns"):
        rows.append(("Re-runs", esc(f"{summary['reruns']} run(s) repeated to check their "
                                    "verdict")))
    if summary.get("message"):
        rows.append(("Notes", esc(summary["message"])))
    for note in summary.get("notes") or []:
        rows.append(("", esc(note)))
    for label, key in (("Unverified causes", "unverified"), ("Withheld causes", "withheld")):
        if summary.get(key):
            rows.append((label, "<br>".join(f"<code>{esc(_text(c))}</code>"
                                            for c in summary[key])))
    cards = []
    for i, (literals, text) in enumerate(zip(summary.get("causes") or [],
                                             summary.get("text") or [], strict=False), 1):
        cause = _cause(literals)
        behind = [r for r in runs if _holds(cause, r)]
        fails = [r for r in behind if not r.get("succeeded")]
        against = [r for r in behind if r.get("succeeded")]
        shown = fails + against
        more = f"<p class=\"why\">and {len(shown) - MAX_ROWS} more</p>" \
            if len(shown) > MAX_ROWS else ""
        cards.append(
            f'<div class="card"><h3>Cause {i}: <code>{esc(text)}</code></h3>'
            f"<p>{len(fails)} failing run(s) satisfy it"
            + (f", <b>{len(against)} succeeding run(s) contradict it</b>" if against else
               ", none that succeeded")
            + "</p>"
            + table(["run", *names, "verdict", "category", "message"], _run_rows(shown, names))
            + more + "</div>")
    causes = "".join(cards) or f"<p>No root cause: {esc(summary.get('message') or '')}</p>"
    nondet = summary.get("nondeterministic") or []
    body = (
        f"<h1>driftdoc debug: {esc(experiment)}</h1>"
        + facts(rows)
        + "<h2>Root causes of failure</h2>" + causes
        + (f"<h2>Non-deterministic configurations</h2><pre>{esc(nondet)}</pre>"
           if nondet else "")
        + "<h2>Decision tree over the recorded runs</h2>"
        + "<p class=\"why\">Each node splits the runs on one test; a red leaf holds only "
          "failures, a green one only successes.</p>"
        + _decision_tree(space, runs)
        + f"<h2>All runs ({len(runs)})</h2><details><summary>show every run</summary>"
        + table(["run", *names, "verdict", "category", "message"],
                _run_rows(runs, names, limit=len(runs))) + "</details>"
    )
    return page(f"driftdoc debug: {experiment}", body)


def _text(literals: list[list[Value]]) -> str:
    """A cause in ``[[param, op, value], ...]`` form as text."""
    return " AND ".join(f"{p} {op} {v}" for p, op, v in literals)


def _holds(cause: Conjunction, run: dict[str, Any]) -> bool:
    try:
        return cause.holds(run["params"])
    except (KeyError, TypeError):
        return False
