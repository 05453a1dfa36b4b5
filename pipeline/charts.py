"""Charts: the co-occurrence network and the correspondence-analysis biplot as inline SVG.

Input: a ``networkx.Graph`` (``graph_from_rows``) or the ``correspondence``
rows. Output: an ``<svg>`` string to put inside the HTML report: no XML prolog, ``width="100%"``
and a ``viewBox`` so it scales to the page (a phone's 390 px too), ids prefixed so that two charts
on one page never share one.

Drawn with matplotlib (SVG backend, no pyplot state) and networkx's ForceAtlas2 layout (see
``layout`` for why not ``spring_layout``); labels are moved off each other and off the points by
adjustText (``spread_labels``); nothing is laid out by hand. The biplot labels only the points
that shape its dimensions (``biplot_labels``); the report lists every point's coordinates. The text stays text (``svg.fonttype = 'none'``): Japanese labels are ``<text>``
elements that the browser sets in the font the report's CSS names, so they are selectable,
searchable and small, and render wherever the report is opened, as the HTML text does. Embedding
glyph paths instead would need a Japanese font at render time (without one, the paths are empty
boxes) and make the file much larger. matplotlib measures the labels with the first Japanese font
it finds (IPAex Gothic, Noto Sans CJK, …). The output is deterministic: the layout is seeded,
matplotlib's ids are salted with a constant and the date is left out of the metadata.
"""
from __future__ import annotations

import io
import math
import re
import warnings
from collections import defaultdict
from functools import lru_cache

import networkx as nx

# Fonts tried for measuring and named in the SVG, in this order.
JAPANESE_FONTS = ["IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic",
                  "Meiryo", "TakaoGothic", "VL Gothic"]
SVG_FONT_STACK = ", ".join(f"'{f}'" for f in JAPANESE_FONTS) + ", sans-serif"
COUNTRY_COLOUR, TECHNOLOGY_COLOUR = "#f4a261", "#8ecae6"
COUNTRY_EDGE, TECHNOLOGY_EDGE = "#b5651d", "#2a7fa8"
KIND_NAMES = {"country": "国・地域", "technology": "技術"}
# adjustText's steps: a fixed number, not its default one-second time limit, so that the same
# chart comes out byte for byte the same on a fast or a busy machine. On the 300-page benchmark's
# network (29 labels) its error falls to its floor within about 40 steps and then only oscillates
# (labels that cannot leave a node's circle): 100 steps leave the same overlaps as 2,000 (none
# between labels) at a twentieth of the time (0.5 s against 6 s for the chart).
ITERATIONS = 100


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


def spread_labels(fig, ax, texts: list, xs: list[float], ys: list[float], colour: str = "#8a99a8", objects=None) -> None:
    """Move ``texts`` (matplotlib ``Text`` of ``ax``) off each other and off the points (``xs``,
    ``ys``) with adjustText, joining a moved label to its point with a thin line. Deterministic
    (``ITERATIONS`` steps, no time limit); a no-op for fewer than two labels.

    objects: matplotlib artists the labels also keep off (e.g. the ``PathCollection`` of the
    network's node circles, which are larger than a point), or None."""
    from adjustText import adjust_text
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if len(texts) < 2:
        return
    # adjustText measures the labels and circles with the canvas's renderer, after laying the
    # figure out itself (``draw_without_rendering``): an Agg canvas to measure with, no pixels.
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, lines = adjust_text(texts, x=xs, y=ys, objects=objects, ax=ax, min_arrow_len=8, expand=(1.1, 1.3),
                               iter_lim=ITERATIONS, arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5})
    start_at_labels(ax, lines, canvas.get_renderer())


def start_at_labels(ax, lines: list, renderer) -> None:
    """Start each of adjustText's lines (``FancyArrowPatch`` from a label's centre to its point,
    the label as its ``patchA``) where it leaves the label's box, found once, here: left to
    matplotlib, the line is cut at the label by bisection, asking the label whether it contains
    each point tried, in every drawing of the figure (three per chart: nearly half its time). The
    line still starts ``shrinkA`` (2 points) off the box, as before; a label that covers its own
    point gets no line (matplotlib's cut, measuring the label as of the previous drawing, left a
    stub of a pixel or a line across the label).

    ax: the axes the lines are in (data coordinates); lines: the patches ``adjust_text`` returned;
    renderer: the canvas's renderer the labels were measured with."""
    # the axes' limits and aspect as the next drawing will have them (adding the lines widened the
    # data limits), so that display and data coordinates convert as they will then
    ax.viewLim  # noqa: B018 (reading it brings the view limits up to date)
    ax.apply_aspect()
    to_display, to_data = ax.transData, ax.transData.inverted()
    for line in lines:
        label = line.patchA
        if label is None:
            continue
        box = label.get_window_extent(renderer)
        patch = label.get_bbox_patch()
        if patch is not None:  # a label drawn on a box (the network's): the box, ``pad`` around the text
            box = box.padded(patch.get_boxstyle().pad * renderer.points_to_pixels(label.get_fontsize()))
        (ax0, ay0), (bx, by) = to_display.transform([label.get_position(), line._posA_posB[1]])
        steps = [(edge - a) / (b - a) for a, b, low, high in ((ax0, bx, box.x0, box.x1), (ay0, by, box.y0, box.y1))
                 if b != a for edge in [high if b > a else low]]
        # a point inside its label's box needs no line: it starts at the point (nothing is drawn)
        t = min([1.0, *[step for step in steps if step >= 0]])
        start = to_data.transform([(ax0 + t * (bx - ax0), ay0 + t * (by - ay0))])[0]
        line.set_patchA(None)
        line.set_positions(tuple(start), line._posA_posB[1])


def graph_from_rows(nodes: list[dict], edges: list[dict]) -> nx.Graph:
    """The network back from its published rows (the report draws it from the tables).

    nodes: ``cooccurrence_nodes`` rows (node_id, node_label, node_kind, frequency, degree).
    edges: ``cooccurrence_edges`` rows (node_a, node_b, cooccurrences, jaccard_index, edge_rank).
    """
    graph = nx.Graph()
    for n in sorted(nodes, key=lambda r: r["node_id"]):
        graph.add_node(n["node_id"], label=n["node_label"], kind=n["node_kind"], frequency=n["frequency"],
                       degree=n["degree"])
    for e in sorted(edges, key=lambda r: r["edge_rank"]):
        graph.add_edge(e["node_a"], e["node_b"], cooccurrences=e["cooccurrences"], jaccard=e["jaccard_index"],
                       rank=e["edge_rank"])
    return graph


def layout(graph: nx.Graph, *, seed: int = 7) -> dict:
    """Node positions from networkx's ForceAtlas2 (Gephi's force-directed layout), seeded.

    Strong gravity keeps the network's separate components close together, and the nodes' sizes
    keep them from overlapping. ``spring_layout`` (Fruchterman-Reingold, as KH Coder uses) pushes
    the components of a report's network, which has several, to the corners and piles each one's
    nodes onto each other, so the labels become unreadable.
    """
    return nx.forceatlas2_layout(graph, seed=seed, max_iter=500, strong_gravity=True, gravity=0.3, scaling_ratio=30.0,
                                 node_size={n: 4.0 for n in graph.nodes})


def network_svg(graph: nx.Graph, *, seed: int = 7, title: str = "共起ネットワーク") -> str:
    """The co-occurrence network as SVG: nodes with at least one edge, laid out by networkx's
    ForceAtlas2 layout (``layout``, ``seed``), node area by frequency, edge width
    by Jaccard, countries and technologies in two colours, a legend; each label starts beside its
    node and adjustText moves it off the others (``spread_labels``). Empty string when there is
    no edge. Meant to be shown at least 560 px wide (the report scrolls it on narrower screens).

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
        fig = Figure(figsize=(8.0, 6.4))
        ax = fig.subplots()
        nx.draw_networkx_edges(ordered, pos, ax=ax, edge_color="#8a99a8", alpha=0.75,
                               width=[0.6 + 5.0 * d["jaccard"] for _, _, d in ordered.edges(data=True)])
        circles = nx.draw_networkx_nodes(
            ordered, pos, ax=ax, nodelist=nodes,
            node_size=[120 + 1000 * ordered.nodes[n]["frequency"] / top for n in nodes],
            node_color=[COUNTRY_COLOUR if ordered.nodes[n]["kind"] == "country" else TECHNOLOGY_COLOUR for n in nodes],
            edgecolors=[COUNTRY_EDGE if ordered.nodes[n]["kind"] == "country" else TECHNOLOGY_EDGE for n in nodes],
            linewidths=0.8)
        xs, ys = [float(pos[n][0]) for n in nodes], [float(pos[n][1]) for n in nodes]
        span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        texts = [ax.text(x + 0.02 * span, y + 0.02 * span, ordered.nodes[n]["label"], fontsize=9, ha="left", va="bottom",
                         color="#1f2933", zorder=5,
                         bbox={"boxstyle": "round,pad=0.1", "facecolor": "#ffffff", "alpha": 0.75, "edgecolor": "none"})
                 for n, x, y in zip(nodes, xs, ys, strict=True)]
        ax.margins(0.12)
        spread_labels(fig, ax, texts, xs, ys, objects=circles)
        handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=face, markeredgecolor=edge,
                          label=KIND_NAMES[kind])
                   for kind, face, edge in (("country", COUNTRY_COLOUR, COUNTRY_EDGE),
                                            ("technology", TECHNOLOGY_COLOUR, TECHNOLOGY_EDGE))]
        ax.legend(handles=handles, loc="lower left", frameon=False, fontsize=9)
        ax.axis("off")
        return _svg(fig, "an-net", title)


def _wrap(names: list[str], per_line: int = 3) -> str:
    return "\n".join("・".join(names[i:i + per_line]) for i in range(0, len(names), per_line))


def biplot_labels(rows: list[dict], *, share_of_max: float = 0.3) -> list[dict]:
    """The labels the biplot draws: points at the same coordinates merged into one label
    ("A・B・C", three names a line), and only the groups that shape the shown dimensions, those
    with a point whose contribution to dimension 1 or 2 is above its kind's average (mass × coordinate²
    over the sum of its kind's, KH Coder's and Greenacre's rule) or whose distance from the origin is
    at least ``share_of_max`` of the farthest point's. The others, near the origin, are left
    unlabelled (the report lists every point's coordinates).

    rows: ``correspondence`` rows (point_kind, point_id, point_label, dim1, dim2, mass).
    Returns dicts with ``kind``, ``ids`` ((point_kind, point_id) of each point), ``text``, ``x``, ``y``,
    in a stable order (kind, then first id).
    """
    one_dim = all(r["dim2"] is None for r in rows)
    xy = {(r["point_kind"], r["point_id"]): (r["dim1"], 0.0 if one_dim else r["dim2"]) for r in rows}
    far = max((math.hypot(*v) for v in xy.values()), default=0.0) or 1.0
    keep = set()
    for kind in {r["point_kind"] for r in rows}:
        pts = [r for r in rows if r["point_kind"] == kind]
        for d in (0, 1):
            inertia = [r["mass"] * xy[(kind, r["point_id"])][d] ** 2 for r in pts]
            total = sum(inertia)
            if total > 0:
                keep |= {(kind, r["point_id"]) for r, v in zip(pts, inertia, strict=True) if v / total > 1 / len(pts)}
        keep |= {(kind, r["point_id"]) for r in pts if math.hypot(*xy[(kind, r["point_id"])]) >= share_of_max * far}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["point_kind"], r["point_id"])):
        x, y = xy[(r["point_kind"], r["point_id"])]
        groups[(r["point_kind"], round(x / far, 6), round(y / far, 6))].append(r)
    out = []
    for (kind, _, _), members in groups.items():
        ids = [(kind, r["point_id"]) for r in members]
        if not any(i in keep for i in ids):
            continue
        x, y = xy[ids[0]]
        out.append({"kind": kind, "ids": ids, "text": _wrap([r["point_label"] for r in members]), "x": x, "y": y})
    return sorted(out, key=lambda g: (g["kind"], g["ids"][0][1]))


def biplot_svg(rows: list[dict], *, title: str = "対応分析") -> str:
    """The correspondence-analysis biplot as SVG: countries (circles) and technologies
    (triangles) at their principal coordinates; the points that shape the dimensions labelled,
    points at one place under one label (``biplot_labels``), labels moved off each other by
    adjustText (``spread_labels``); axes named 成分1/成分2 with the share of inertia each explains.
    Empty string when there are no rows.

    rows: ``correspondence`` rows (point_kind, point_id, point_label, dim1, dim2, mass, share_dim1, share_dim2).
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if not rows:
        return ""
    one_dim = all(r["dim2"] is None for r in rows)
    with rc_context(_rc()):
        fig = Figure(figsize=(7.0, 5.6 if not one_dim else 2.6))
        ax = fig.subplots()
        ax.axhline(0, color="#c0c8d0", linewidth=0.8, linestyle="--", zorder=0)
        ax.axvline(0, color="#c0c8d0", linewidth=0.8, linestyle="--", zorder=0)
        all_x, all_y = [], []
        for kind, marker, face, edge in (("country", "o", COUNTRY_COLOUR, COUNTRY_EDGE),
                                         ("technology", "^", TECHNOLOGY_COLOUR, TECHNOLOGY_EDGE)):
            pts = sorted((r for r in rows if r["point_kind"] == kind), key=lambda r: r["point_id"])
            xs = [r["dim1"] for r in pts]
            ys = [0.0 if one_dim else r["dim2"] for r in pts]
            all_x += xs
            all_y += ys
            ax.scatter(xs, ys, marker=marker, s=60, c=face, edgecolors=edge, linewidths=0.8, label=KIND_NAMES[kind], zorder=3)
        texts = [ax.text(g["x"], g["y"], g["text"], fontsize=9, ha="left", va="bottom", linespacing=1.1, zorder=4,
                         color="#7a3e00" if g["kind"] == "country" else "#15506e")
                 for g in biplot_labels(rows)]
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
        spread_labels(fig, ax, texts, all_x, all_y)
        return _svg(fig, "an-ca", title)
