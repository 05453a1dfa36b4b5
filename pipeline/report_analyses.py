"""The report's analyses section: KH Coder's analyses of an edition, from its published tables.

Input: ``processed/<edition>/`` with the tables ``cooccurrence_nodes``, ``cooccurrence_edges``,
``correspondence``, ``crosstab_residuals`` and ``word_frequencies`` (any may be absent: an edition
published before them has none). Output: the context of ``pipeline/templates/analyses.html.j2``
(``analyses_context``): the co-occurrence network and the correspondence-analysis biplot as
inline SVG (``pipeline/charts.py``), the adjusted residuals as a table coloured by sign and size,
and the top terms of each POS group. The report includes the partial with
``{% include "analyses.html.j2" %}`` and this context as ``analyses``.

Reads the Parquet files itself (not through ``pipeline.report``), so that the report module can
import this one without a cycle.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from markupsafe import Markup

from pipeline import analyses, charts, report_charts
from pipeline.published import read_table, table_rows
from pipeline.tables import SPECS

TABLES = ("cooccurrence_nodes", "cooccurrence_edges", "correspondence", "crosstab_residuals", "word_frequencies")
SIGNIFICANT = 1.96  # |adjusted residual| at the 5 % level
POSITIVE, NEGATIVE, WHITE = (0xC0, 0x39, 0x2B), (0x21, 0x66, 0xAC), (0xFF, 0xFF, 0xFF)
SCALE = 4.0  # |residual| at which a cell has the full colour


_rows = table_rows


def residual_style(residual: float) -> str:
    """Background and text colour of a residual cell: red above independence, blue below, the
    deeper the larger |residual| (full colour at 4)."""
    t = min(abs(residual) / SCALE, 1.0)
    end = POSITIVE if residual > 0 else NEGATIVE
    rgb = tuple(round(w + (e - w) * t) for w, e in zip(WHITE, end, strict=True))
    ink = "#ffffff" if t > 0.55 else "#1f2933"
    return "background-color:#{:02x}{:02x}{:02x};color:{}".format(*rgb, ink)


def _drawing(chart: str, found: dict[str, list[dict] | None], drawn) -> str:
    """``chart`` (a name of ``report_charts.CHARTS``) from the rows in ``found``: the drawing in
    ``drawn`` made from the same rows if there is one, else drawn here."""
    svg = drawn.get(report_charts.chart_key(chart, found)) if drawn is not None else None
    return svg if svg is not None else report_charts.draw_chart(chart, found)


def _network(nodes: list[dict] | None, edges: list[dict] | None, found: dict, drawn=None) -> dict | None:
    if nodes is None or edges is None:
        return None
    graph = charts.graph_from_rows(nodes, edges)
    svg = _drawing("network", found, drawn)
    shown = [n for n in nodes if n["degree"] > 0]
    return {
        "svg": Markup(svg) if svg else None,
        "note": None if svg else "共起する国・技術の組がありません(文が少ないか、どの語も 1 文にしか出てきません)。",
        "nodes": len(shown),
        "edges": len(edges),
        "top": [{"a": graph.nodes[e["node_a"]]["label"], "b": graph.nodes[e["node_b"]]["label"],
                 "jaccard": e["jaccard_index"], "both": e["cooccurrences"]}
                for e in sorted(edges, key=lambda e: e["edge_rank"])[:10]],
    }


def _names() -> dict[str, str]:
    """Display names by lexicon id ({} when the lexicon cannot be read: ids are shown instead)."""
    try:
        from pipeline.lexicon import load_lexicon

        return {e.id: e.name for e in load_lexicon().entries.values()}
    except Exception:  # a report without display names is still a report
        return {}


def _columns(out_dir: Path, edition: str, name: str, columns: list[str]) -> pa.Table | None:
    """These columns of the edition's table as Arrow, typed as its spec says (null where the file
    predates a column), or None when the edition has no such table: no Python rows to build."""
    table = read_table(out_dir, edition, name, columns)
    if table is None:
        return None
    fields = [SPECS[name].schema.field(c) for c in columns]
    return pa.table({f.name: table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                     for f in fields})


def crosstab_context(out_dir: Path, edition: str, settings: analyses.AnalysisSettings) -> dict | None:
    """How the crosstab of the correspondence analysis and the residuals was built, recomputed from
    the published ``mentions`` and ``sentences``: ``min_sentences``, the countries and technologies
    left out as rarer (display name and body sentences), and the note of a crosstab that cannot be
    analysed; None when the edition lacks those tables."""
    mentions = _columns(out_dir, edition, "mentions", ["sentence_id", "label", "top", "subject"])
    sentences = _columns(out_dir, edition, "sentences", ["sentence_id", "kind", "in_summary"])
    if mentions is None or sentences is None:
        return None
    table = analyses.body_crosstab(mentions, sentences, settings.kinds)
    kept = analyses.frequent(table, settings.crosstab.min_sentences)
    names = _names()

    def listed(rare: dict[str, int]) -> list[dict]:
        return [{"name": names.get(k, k), "sentences": n} for k, n in sorted(rare.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {"min_sentences": settings.crosstab.min_sentences, "rare_countries": listed(kept.rare_countries),
            "rare_technologies": listed(kept.rare_technologies), "note": analyses.degenerate(kept.table)}


def _correspondence(rows: list[dict] | None, cross: dict | None, found: dict, drawn=None) -> dict | None:
    if rows is None:
        return None
    if not rows:
        note = (cross or {}).get("note") or (analyses.NO_INERTIA_NOTE if cross else "対応分析の結果がありません。")
        return {"svg": None, "note": note, "shares": [], "points": []}
    shares = [rows[0]["share_dim1"]] + ([rows[0]["share_dim2"]] if rows[0]["share_dim2"] is not None else [])
    labelled = {pid for group in charts.biplot_labels(rows) for pid in group["ids"]}
    points = [{"label": r["point_label"], "kind": charts.KIND_NAMES[r["point_kind"]], "dim1": r["dim1"], "dim2": r["dim2"],
               "labelled": (r["point_kind"], r["point_id"]) in labelled}
              for r in sorted(rows, key=lambda r: (r["point_kind"], -r["dim1"], r["point_id"]))]
    return {"svg": Markup(_drawing("correspondence", found, drawn)), "shares": shares, "points": points,
            "unlabelled": sum(1 for p in points if not p["labelled"]),
            "note": None if len(shares) > 1 else analyses.one_dimension_note(
                *(sum(1 for r in rows if r["point_kind"] == kind) for kind in ("country", "technology")))}


def _residuals(rows: list[dict] | None) -> dict | None:
    if rows is None:
        return None
    if not rows:
        return {"note": "クロス表が 2 か国 × 2 技術に満たないため、カイ二乗検定はできません。", "columns": [], "rows": []}
    row_total: dict[str, int] = {}
    col_total: dict[str, int] = {}
    names = {}
    for r in rows:
        row_total[r["country"]] = row_total.get(r["country"], 0) + r["observed"]
        col_total[r["technology"]] = col_total.get(r["technology"], 0) + r["observed"]
        names[r["country"]], names[r["technology"]] = r["country_name"], r["technology_name"]
    countries = sorted(row_total, key=lambda c: (-row_total[c], c))
    techs = sorted(col_total, key=lambda t: (-col_total[t], t))
    cell = {(r["country"], r["technology"]): r for r in rows}
    small = sum(1 for r in rows if r["expected"] < 5)
    return {
        "note": None,
        "chi_square": rows[0]["chi_square"], "dof": rows[0]["dof"], "p_value": rows[0]["p_value"],
        "small_expected": small, "cells": len(rows),
        "columns": [{"id": t, "name": names[t], "total": col_total[t]} for t in techs],
        "rows": [{"id": c, "name": names[c], "total": row_total[c], "cells": [
            {"observed": (x := cell[(c, t)])["observed"], "expected": x["expected"], "residual": x["residual"],
             "text": f"{x['residual']:.1f}".replace("-0.0", "0.0"),
             "oe": f"{x['observed']}/{x['expected']:.1f}",
             "style": residual_style(x["residual"]),
             "significant": analyses.is_significant(x["residual"], x["expected"]),
             "unreliable": x["expected"] < analyses.MIN_EXPECTED and abs(x["residual"]) >= SIGNIFICANT,
             "title": f"{names[c]} × {names[t]}: 観測 {x['observed']}、期待 {x['expected']:.2f}、調整済み残差 {x['residual']:+.2f}"}
            for t in techs]} for c in countries],
        "legend": [{"value": v, "style": residual_style(v)} for v in (-4, -2, -1, 0.001, 1, 2, 4)],
    }


def _frequencies(rows: list[dict] | None, top_n: int, order: list[str]) -> list[dict] | None:
    if rows is None:
        return None
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["pos_group"], r["term_rank"])):
        if r["term_rank"] <= top_n:
            groups.setdefault(r["pos_group"], []).append(r)
    rank = {g: i for i, g in enumerate(order)}
    return [{"group": g, "terms": terms, "distinct": sum(1 for r in rows if r["pos_group"] == g)}
            for g, terms in sorted(groups.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))]


def analyses_context(out_dir: Path, edition: str, drawn=None) -> dict | None:
    """What ``analyses.html.j2`` needs for ``edition`` in ``out_dir``, or None when the edition
    has none of the analyses' tables (published before them). ``drawn``: charts drawn beforehand
    (``report_charts.draw_charts``'s drawings: anything with ``get(key)``), or None; a chart not
    in it, or drawn from other rows than the published ones, is drawn here.

    Keys: ``network`` (svg, note, nodes, edges, top ten edges), ``crosstab`` (``crosstab_context``),
    ``correspondence`` (svg, shares, points with their coordinates and whether the biplot labels
    them, note), ``residuals`` (columns, rows of coloured cells with observed/expected, whether
    significant (|r| ≥ 1.96 and expected ≥ 5) or unreliable (|r| ≥ 1.96, expected < 5),
    chi-square, dof, p-value, legend, note),
    ``frequencies`` (per POS group its top terms), ``settings`` (top_edges, min_sentences, kinds,
    top_n); a part is None when its table is absent.
    """
    out_dir = Path(out_dir)
    found = {name: _rows(out_dir, edition, name) for name in TABLES}
    if all(v is None for v in found.values()):
        return None
    settings = analyses.load_analysis_settings()
    cross = crosstab_context(out_dir, edition, settings)
    return {
        "network": _network(found["cooccurrence_nodes"], found["cooccurrence_edges"], found, drawn),
        "crosstab": cross,
        "correspondence": _correspondence(found["correspondence"], cross, found, drawn),
        "residuals": _residuals(found["crosstab_residuals"]),
        "frequencies": _frequencies(found["word_frequencies"], settings.frequencies.top_n, analyses.group_order(settings)),
        "settings": {"top_edges": settings.network.top_edges, "min_sentences": settings.network.min_sentences,
                     "min_jaccard": settings.network.min_jaccard, "kinds": list(settings.kinds),
                     "top_n": settings.frequencies.top_n},
    }
