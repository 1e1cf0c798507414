"""HTML reports: one self-contained file per run, batch or debugging session.

Each renders from result data only (the JSON the commands print, or the store's runs),
with inline CSS and SVG and no scripts, so it opens offline anywhere.
"""

from driftdoc.report.batch import render_batch
from driftdoc.report.debug import render_debug
from driftdoc.report.explain import render_explain
from driftdoc.report.run import render_run

__all__ = ["render_batch", "render_debug", "render_explain", "render_run"]
