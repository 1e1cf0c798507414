"""The report of a batch: how many snippets got a working environment, which classes the
rest ended in, how long they took, and a table linking each snippet's own report."""

from __future__ import annotations

import statistics
from typing import Any

from driftdoc.report.page import badge, bar_chart, colour, esc, histogram, page, table
from driftdoc.report.run import ENV_OK


def _works(result: dict[str, Any]) -> bool:
    return result.get("status") == "resolved" or result.get("classification") in ENV_OK


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def render_batch(root: str, results: dict[str, dict[str, Any]],
                 links: dict[str, str] | None = None) -> str:
    """``results`` by snippet name; ``links`` maps a name to its report (relative URL)."""
    links = links or {}
    total = len(results)
    works = sum(_works(r) for r in results.values())
    resolved = sum(r.get("status") == "resolved" for r in results.values())
    classes: dict[str, int] = {}
    for r in results.values():
        key = str(r.get("classification") or r.get("status"))
        classes[key] = classes.get(key, 0) + 1
    seconds = [float(r.get("seconds") or 0.0) for r in results.values()]
    rate = 100.0 * works / total if total else 0.0
    kpis = (
        '<div class="kpis">'
        f'<div class="kpi"><b>{works}/{total}</b><span>environment works '
        f"({rate:.1f} % pass rate)</span></div>"
        f'<div class="kpi"><b>{resolved}/{total}</b><span>resolved</span></div>'
        f'<div class="kpi"><b>{statistics.median(seconds) if seconds else 0:.1f} s</b>'
        "<span>median time per snippet</span></div>"
        f'<div class="kpi"><b>{_percentile(seconds, 0.9) if seconds else 0:.1f} s</b>'
        "<span>90th percentile</span></div>"
        "</div>")
    bars = [(k, float(n), colour(k)) for k, n in sorted(classes.items(), key=lambda kv: -kv[1])]
    rows = []
    for name in sorted(results):
        r = results[name]
        label = esc(name)
        cell = f'<a href="{esc(links[name])}">{label}</a>' if name in links else label
        kind = str(r.get("classification") or r.get("status"))
        rows.append([
            cell, badge(str(r.get("status")), str(r.get("status"))), badge(kind, kind),
            esc(r.get("python") or "—"), esc(r.get("validations")),
            f"{float(r.get('seconds') or 0):.1f}",
            f'<span class="mono">{esc(" ".join(r.get("requirements") or []))}</span>',
            esc((r.get("reason") or "")[:160]),
        ])
    body = (
        f"<h1>driftdoc batch: {esc(root)}</h1>"
        f'<p class="sub">{total} snippets</p>' + kpis
        + "<h2>Classes</h2>" + bar_chart(bars)
        + "<h2>Time per snippet</h2>" + histogram(seconds)
        + "<h2>Snippets</h2>"
        + table(["snippet", "status", "class", "python", "validations", "seconds",
                 "environment", "reason"], rows)
    )
    return page(f"driftdoc batch: {root}", body)
