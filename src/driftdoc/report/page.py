"""The frame every report shares: one HTML file, inline CSS and SVG, nothing fetched.

Reports are read offline, attached to issues and archived, so a page must render from
its own bytes: no scripts, fonts, images or style sheets from anywhere else.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import driftdoc
from driftdoc.schema import SCHEMA_VERSION

# One colour per outcome class, shared by every chart and badge.
CLASS_COLOURS = {
    "success": "#2e7d32",
    "snippet-error": "#66bb6a",
    "timeout-after-imports": "#81c784",
    "resolved": "#2e7d32",
    "snippet-attribute-error": "#f9a825",
    "package-error": "#ef6c00",
    "import-error": "#c62828",
    "syntax-error": "#ad1457",
    "timeout": "#6d4c41",
    "install-failure": "#5e35b1",
    "platform": "#37474f",
    "unknown": "#90a4ae",
    "bad-input": "#78909c",
    "error": "#b71c1c",
    "time-limit": "#8d6e63",
    "unresolved": "#c62828",
    "fail": "#c62828",
    "pass": "#2e7d32",
}
FALLBACK_COLOUR = "#607d8b"

CSS = """
:root { --fg:#1b1f23; --muted:#5f6b76; --line:#d7dde3; --bg:#ffffff; --panel:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff;
         font-weight: 600; font-size: 13px; vertical-align: middle; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
table.facts th { width: 190px; background: none; color: var(--muted); font-weight: 500; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
              font-size: 13px; }
.pill { display: inline-block; background: var(--panel); border: 1px solid var(--line);
        border-radius: 10px; padding: 0 7px; margin: 1px 2px; font-size: 13px; }
.drift { font-size: 16px; margin: 6px 0; }
.old { color: #c62828; text-decoration: line-through; }
.new { color: #2e7d32; font-weight: 600; }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.timeline li { position: relative; margin: 0 0 12px 0; padding: 6px 10px 6px 22px; }
ol.timeline li::before { content: ""; position: absolute; left: -9px; top: 12px; width: 15px;
                         height: 15px; border-radius: 50%; background: var(--dot, #999);
                         border: 2px solid #fff; }
ol.timeline li.kept { background: var(--panel); border-radius: 6px; }
.step-head { font-weight: 600; }
.why { color: var(--muted); }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
        margin: 10px 0; }
.kpis { display: flex; gap: 14px; flex-wrap: wrap; margin: 10px 0; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
       min-width: 150px; }
.kpi b { display: block; font-size: 24px; }
.kpi span { color: var(--muted); font-size: 13px; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 22px; }
ul.tree li { position: relative; padding: 3px 0 3px 10px; border-left: 1px solid #aab4be; }
ul.tree li::before { content: ""; position: absolute; left: 0; top: 14px; width: 9px;
                     border-top: 1px solid #aab4be; }
.node { display: inline-block; border: 1px solid var(--line); border-radius: 6px;
        padding: 1px 8px; background: var(--panel); }
.leaf-fail { border-color: #c62828; background: #fdecea; }
.leaf-pass { border-color: #2e7d32; background: #e8f5e9; }
details { margin: 6px 0; }
summary { cursor: pointer; color: var(--muted); }
pre { background: var(--panel); padding: 8px; border-radius: 6px; overflow-x: auto;
      font-size: 12px; white-space: pre-wrap; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
"""


def esc(value: object) -> str:
    """Text for HTML: every value that came from a snippet, a package or a user."""
    return html.escape("" if value is None else str(value), quote=True)


def colour(kind: str | None) -> str:
    return CLASS_COLOURS.get(kind or "", FALLBACK_COLOUR)


def badge(text: str, kind: str | None = None) -> str:
    return f'<span class="badge" style="background:{colour(kind or text)}">{esc(text)}</span>'


def pills(items: Iterable[str]) -> str:
    return " ".join(f'<span class="pill mono">{esc(i)}</span>' for i in items) or "—"


def facts(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already (escape them before)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """A table whose cells are HTML already."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def bar_chart(items: Sequence[tuple[str, float, str]], *, width: int = 640,
              unit: str = "") -> str:
    """Horizontal bars (label, value, colour) as inline SVG, labelled with their values."""
    if not items:
        return "<p>—</p>"
    row, label_w = 26, 190
    top = max(v for _, v, _ in items) or 1
    height = row * len(items) + 6
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, fill) in enumerate(items):
        y = i * row + 4
        w = max(2.0, (width - label_w - 70) * value / top)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" '
                     f'font-size="13">{esc(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 8}" '
                     f'rx="3" fill="{fill}"><title>{esc(label)}: {value:g}{unit}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="13">'
                     f'{value:g}{esc(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], *, bins: int = 12, width: int = 640,
              height: int = 170, unit: str = "s") -> str:
    """Vertical histogram of ``values`` as inline SVG, with the bin edges on the axis."""
    if not values:
        return "<p>—</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    top = max(counts)
    head = 16  # room for the count above the tallest bar
    plot_h, bar_w = height - 34 - head, (width - 40) / bins
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, n in enumerate(counts):
        h = plot_h * n / top if top else 0
        x = 20 + i * bar_w
        edge = lo + span * i / bins
        parts.append(f'<rect x="{x + 1:.1f}" y="{head + plot_h - h + 4:.1f}" '
                     f'width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}" fill="#1976d2"><title>{n} between {edge:.1f}{unit} '
                     f'and {edge + span / bins:.1f}{unit}</title></rect>')
        if n:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{head + plot_h - h:.1f}" '
                         f'font-size="11" '
                         f'text-anchor="middle">{n}</text>')
    for i in (0, bins // 2, bins):
        x = 20 + i * bar_w
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle">'
                     f'{lo + span * i / bins:.1f}{esc(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, body: str) -> str:
    """The whole document: one file, styles inline, no scripts, nothing external."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}"
        f"<footer>driftdoc {esc(driftdoc.__version__)} · results schema "
        f"{SCHEMA_VERSION} · this page is self-contained and works offline</footer>"
        "</main></body></html>\n"
    )
