"""The report of ``driftdoc explain``: each version boundary with the releases on both
sides (works, fails, unknown because it does not install here), then the run it started
from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftdoc.report.page import badge, esc, facts, page, table
from driftdoc.report.run import run_body


def _probes(probes: list[dict[str, Any]]) -> str:
    rows = [[f'<span class="mono">{esc(p.get("version"))}</span>',
             badge(str(p.get("outcome")), str(p.get("outcome"))), esc(p.get("result")),
             esc(p.get("detail")), "store" if p.get("cached") else "new"]
            for p in probes]
    return table(["release", "outcome", "class", "detail", "validation"], rows)


def render_explain(doc: dict[str, Any]) -> str:
    """A self-contained page for an explanation (the schema's ``explain``)."""
    name = Path(str(doc.get("snippet") or "snippet")).name
    status = str(doc.get("status"))
    rows = [("Status", badge(status, "pass" if status in ("explained", "no-drift")
                             else "unknown")),
            ("Python", esc(doc.get("python") or "—")),
            ("Validations", f"{len(doc.get('probes') or [])} probed, "
                            f"{esc(doc.get('validations'))} new (budget {esc(doc.get('budget'))})"),
            ("Notes", esc(doc.get("message")))]
    cards = []
    for b in doc.get("boundaries") or []:
        probes = sorted([*b.get("passes", []), *b.get("fails", []), *b.get("unknown", [])],
                        key=lambda p: str(p.get("version")))
        cards.append(f'<div class="card"><h3>Behaviour changes at <code>{esc(b["text"])}</code>'
                     f"</h3><p>{len(b.get('passes', []))} release(s) work, "
                     f"{len(b.get('fails', []))} fail, {len(b.get('unknown', []))} unknown "
                     "(they do not install here, so they are not counted as failures)</p>"
                     + _probes(probes) + "</div>")
    boundaries = "".join(cards) or f"<p>No boundary: {esc(doc.get('message'))}</p>"
    environment = doc.get("environment") or {}
    body = (f"<h1>driftdoc explain: {esc(name)}</h1>" + facts(rows)
            + "<h2>Version boundaries</h2>" + boundaries
            + "<h2>Every probe</h2>" + _probes(list(doc.get("probes") or []))
            + '<div style="margin-top:32px">' + run_body(environment, heading="h2") + "</div>")
    return page(f"driftdoc explain: {name}", body)
