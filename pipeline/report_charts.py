"""The report's charts, from the rows of the tables they show, keyed by those rows.

The report's analyses section (``pipeline.report_analyses``) draws two charts: the co-occurrence
network (from ``cooccurrence_nodes`` and ``cooccurrence_edges``) and the correspondence-analysis
biplot (from ``correspondence``). They can be drawn before the report is written, from the tables
as they are built (``draw_charts``, e.g. in another process while the tables are published); each
drawing is keyed by the rows it was drawn from (``chart_key``), and the report uses one only when
the published rows give the same key: otherwise it draws the chart itself. So a report never shows
a chart of other rows than the tables it shows.

Imports only ``pipeline.charts`` (networkx; matplotlib and adjustText when drawing): a process
that draws the charts need not import the rest of the pipeline.
"""
from __future__ import annotations

import hashlib
import json

from pipeline import charts

# Each chart and the tables it is drawn from, in the order its drawing function takes them.
CHARTS = {
    "network": ("cooccurrence_nodes", "cooccurrence_edges"),
    "correspondence": ("correspondence",),
}
TABLES = tuple(name for names in CHARTS.values() for name in names)


def chart_key(chart: str, rows: dict[str, list[dict] | None]) -> str:
    """The key of ``chart``'s drawing from these rows: the chart's name and a digest of its tables'
    rows (columns in any order; values as JSON, so 0.1 and 0.1000001 differ).

    Parameters:
        chart: a name of ``CHARTS``.
        rows: table name → its rows (as ``pipeline.published.table_rows`` reads them), or None.
    """
    digest = hashlib.sha256()
    for name in CHARTS[chart]:
        digest.update(json.dumps([name, rows.get(name)], sort_keys=True, default=str, ensure_ascii=False).encode())
        digest.update(b"\0")
    return f"{chart}-{digest.hexdigest()[:32]}"


def draw_chart(chart: str, rows: dict[str, list[dict] | None]) -> str | None:
    """``chart`` drawn from ``rows`` as the report shows it (an ``<svg>``, or "" when there is
    nothing to draw), or None when one of its tables is absent (the report draws nothing then).

    Parameters: as ``chart_key``."""
    tables = [rows.get(name) for name in CHARTS[chart]]
    if any(t is None for t in tables):
        return None
    if chart == "network":
        return charts.network_svg(charts.graph_from_rows(*tables))
    return charts.biplot_svg(tables[0]) if tables[0] else ""


def draw_charts(rows: dict[str, list[dict] | None]) -> tuple[dict[str, str], dict[str, str]]:
    """Every chart of ``CHARTS`` drawn from ``rows``: (key → drawing, chart → error). A chart that
    cannot be drawn is left out of the drawings and said in the errors ("TypeName: message"), so
    that whoever writes the report draws it again and meets the error where it reports errors.

    Parameters:
        rows: table name → its rows (as ``pipeline.published.table_rows`` reads them), or None.
    """
    drawn, errors = {}, {}
    for chart in CHARTS:
        try:
            svg = draw_chart(chart, rows)
        except Exception as exc:  # noqa: BLE001 (said to the caller, which draws it again)
            errors[chart] = f"{type(exc).__name__}: {exc}"
            continue
        if svg is not None:
            drawn[chart_key(chart, rows)] = svg
    return drawn, errors
