"""Charts: the co-occurrence network and the correspondence-analysis biplot as inline SVG.

Input: a ``networkx.Graph`` (``pipeline.analyses.graph_from_rows``) or the ``correspondence``
rows. Output: an ``<svg>`` string to put inside the HTML report: no XML prolog, ``width="100%"``
and a ``viewBox`` so it scales to the page (a phone's 390 px too), ids prefixed so that two charts
on one page never share one.

Drawn with matplotlib (SVG backend, no pyplot state) and networkx's ForceAtlas2 layout (see
``layout`` for why not ``spring_layout``); nothing is laid out by hand. The text stays text (``svg.fonttype = 'none'``): Japanese labels are ``<text>``
elements that the browser sets in the font the report's CSS names, so they are selectable,
searchable and small, and render wherever the report is opened, as the HTML text does. Embedding
glyph paths instead would need a Japanese font at render time (without one, the paths are empty
boxes) and make the file much larger. matplotlib measures the labels with the first Japanese font
it finds (IPAex Gothic, Noto Sans CJK, …). The output is deterministic: the layout is seeded,
matplotlib's ids are salted with a constant and the date is left out of the metadata.
"""
from __future__ import annotations

import io
import re
import warnings
from functools import lru_cache

import networkx as nx

# Fonts tried for measuring and named in the SVG, in this order.
JAPANESE_FONTS = ["IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic",
                  "Meiryo", "TakaoGothic", "VL Gothic"]
SVG_FONT_STACK = ", ".join(f"'{f}'" for f in JAPANESE_FONTS) + ", sans-serif"
COUNTRY_COLOUR, TECHNOLOGY_COLOUR = "#f4a261", "#8ecae6"
COUNTRY_EDGE, TECHNOLOGY_EDGE = "#b5651d", "#2a7fa8"
KIND_NAMES = {"country": "国・地域", "technology": "技術"}


@lru_cache(maxsize=1)
def font_families() -> list[str]:
    """The Japanese fonts matplotlib can find (first one measures the text), then generic sans-serif."""
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in JAPANESE_FONTS if f in available] + ["sans-serif"]


def _rc() -> dict:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "jstmine",
        "font.family": font_families(),
        "font.size": 10,
        "axes.unicode_minus": False,
    }


def _svg(fig, prefix: str, title: str) -> str:
    """The figure as an inline ``<svg>``: scalable, ids prefixed, with a title for screen readers."""
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Glyph … missing" when no Japanese font is installed
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.05)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r'<svg\1 width="100%"', svg, count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" style="max-width:100%;height:auto" ', 1)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{prefix}-\1"', svg)
    # The same font stack whatever this machine has: the reader's browser picks what it has.
    svg = re.sub(r"font-family: [^;\"]*", "font-family: " + SVG_FONT_STACK, svg)
    return svg.strip()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def layout(graph: nx.Graph, *, seed: int = 7) -> dict:
    """Node positions from networkx's ForceAtlas2 (Gephi's force-directed layout), seeded.

    Strong gravity keeps the network's separate components close together, and the nodes' sizes
    keep them from overlapping. ``spring_layout`` (Fruchterman-Reingold, as KH Coder uses) pushes
    the components of a report's network, which has several, to the corners and piles each one's
    nodes onto each other, so the labels become unreadable.
    """
    return nx.forceatlas2_layout(graph, seed=seed, max_iter=500, strong_gravity=True, gravity=0.5, scaling_ratio=8.0,
                                 node_size={n: 2.5 for n in graph.nodes})


def network_svg(graph: nx.Graph, *, seed: int = 7, title: str = "共起ネットワーク") -> str:
    """The co-occurrence network as SVG: nodes with at least one edge, laid out by networkx's
    ForceAtlas2 layout (``layout``, ``seed``), node area by frequency, edge width
    by Jaccard, countries and technologies in two colours, a legend. Empty string when there is
    no edge.

    graph: nodes with ``label``, ``kind``, ``frequency``; edges with ``jaccard``.
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    shown = graph.subgraph(sorted(n for n in graph.nodes if graph.degree(n) > 0))
    if shown.number_of_edges() == 0:
        return ""
    ordered = nx.Graph()
    ordered.add_nodes_from(sorted(shown.nodes(data=True)))
    ordered.add_edges_from(sorted(shown.edges(data=True), key=lambda e: e[2].get("rank", 0)))
    pos = layout(ordered, seed=seed)
    top = max(d["frequency"] for _, d in ordered.nodes(data=True))
    nodes = list(ordered.nodes)
    with rc_context(_rc()):
        fig = Figure(figsize=(6.0, 5.0))
        ax = fig.subplots()
        nx.draw_networkx_edges(ordered, pos, ax=ax, edge_color="#8a99a8", alpha=0.75,
                               width=[0.6 + 5.0 * d["jaccard"] for _, _, d in ordered.edges(data=True)])
        nx.draw_networkx_nodes(
            ordered, pos, ax=ax, nodelist=nodes,
            node_size=[120 + 1000 * ordered.nodes[n]["frequency"] / top for n in nodes],
            node_color=[COUNTRY_COLOUR if ordered.nodes[n]["kind"] == "country" else TECHNOLOGY_COLOUR for n in nodes],
            edgecolors=[COUNTRY_EDGE if ordered.nodes[n]["kind"] == "country" else TECHNOLOGY_EDGE for n in nodes],
            linewidths=0.8)
        nx.draw_networkx_labels(ordered, pos, ax=ax, labels={n: ordered.nodes[n]["label"] for n in nodes},
                                font_size=8, font_family=font_families(), clip_on=False)
        handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=face, markeredgecolor=edge,
                          label=KIND_NAMES[kind])
                   for kind, face, edge in (("country", COUNTRY_COLOUR, COUNTRY_EDGE),
                                            ("technology", TECHNOLOGY_COLOUR, TECHNOLOGY_EDGE))]
        ax.legend(handles=handles, loc="lower left", frameon=False, fontsize=9)
        ax.margins(0.12)
        ax.axis("off")
        return _svg(fig, "an-net", title)


def biplot_svg(rows: list[dict], *, title: str = "対応分析") -> str:
    """The correspondence-analysis biplot as SVG: countries (circles) and technologies
    (triangles) at their principal coordinates, labelled; axes named 成分1/成分2 with the share of
    inertia each explains. Empty string when there are no rows.

    rows: ``correspondence`` rows (point_kind, point_label, dim1, dim2, share_dim1, share_dim2).
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if not rows:
        return ""
    one_dim = all(r["dim2"] is None for r in rows)
    with rc_context(_rc()):
        fig = Figure(figsize=(6.0, 5.0 if not one_dim else 2.4))
        ax = fig.subplots()
        ax.axhline(0, color="#c0c8d0", linewidth=0.8, linestyle="--", zorder=0)
        ax.axvline(0, color="#c0c8d0", linewidth=0.8, linestyle="--", zorder=0)
        for kind, marker, face, edge in (("country", "o", COUNTRY_COLOUR, COUNTRY_EDGE),
                                         ("technology", "^", TECHNOLOGY_COLOUR, TECHNOLOGY_EDGE)):
            pts = sorted((r for r in rows if r["point_kind"] == kind), key=lambda r: r["point_id"])
            xs = [r["dim1"] for r in pts]
            ys = [0.0 if one_dim else r["dim2"] for r in pts]
            ax.scatter(xs, ys, marker=marker, s=60, c=face, edgecolors=edge, linewidths=0.8, label=KIND_NAMES[kind], zorder=3)
            for r, x, y in zip(pts, xs, ys, strict=True):
                ax.annotate(r["point_label"], (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8,
                            color="#7a3e00" if kind == "country" else "#15506e", zorder=4)
        share1 = rows[0]["share_dim1"]
        ax.set_xlabel(f"成分1(慣性の {share1:.1%})")
        if one_dim:
            ax.set_yticks([])
        else:
            ax.set_ylabel(f"成分2(慣性の {rows[0]['share_dim2']:.1%})")
            ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="best", frameon=False, fontsize=9)
        ax.margins(0.15)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig, "an-ca", title)
