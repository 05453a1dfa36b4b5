"""Tables: pdfplumber's ruling-line detection, checked against the text, with cell text from
the cleaned glyphs.

pdfplumber's ``find_tables`` makes a grid of every edge it sees: the sides of filled shapes as
well as real rulings. On a designed page (a white paper) that turns page-header artwork, figure
panels and the coloured boxes around captions into "tables", and a real table drawn on such a
panel comes out merged with the caption band and the page header above it. Cutting those
regions out of the body would lose text, so a found table is kept only when it behaves like a
table (``table_problem``); one that does not is looked for again among the page's rulings only
(``_redetect``), and what is still not a table stays body text.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline.extract.glyphs import _inside
from pipeline.extract.lines import _cluster_rows, _join_lines, _make_line
from pipeline.extract.model import Table, _Glyph
from pipeline.extract.table_finder import find_tables

Box = tuple[float, float, float, float]  # x0, top, x1, bottom (pdfplumber's page coordinates)

# A gap between two glyphs of a row up to this share of the font size is the ordinary spacing
# inside a line of text (justified Japanese: ~0; a Latin word space: 0.25-0.33). Text on both
# sides of a table's edge or of a cell boundary with such a gap is one line running through it.
RUN_GAP = 0.45
# A glyph is cut by an edge when at least this share of its height (or width) lies on each side.
CUT_SHARE = 0.3
# Objects no thicker than this (pt) are rulings: lines, hairline rectangles.
RULING_MAX = 2.0
# A table found on rulings only replaces a found table with empty columns when it holds at
# least this share of that table's text (the rest: a caption band or a note on the same panel).
HOLLOW_KEEP = 0.75


def _tables(found: list, glyphs: list[_Glyph], page_number: int) -> list[Table]:
    """Tables from pdfplumber's ruling-line detection (``found``: ``page.find_tables()``), with
    cell text built from our cleaned glyphs (no bold doubles, no (cid:N)) and wrapped lines
    joined like body text.

    Only tables that pass ``table_problem`` are returned (see ``trusted_tables``): a rejected
    region's glyphs are not inside any returned bbox, so they stay in the body.
    """
    tables: list[Table] = []
    for t in trusted_tables(found, glyphs):
        rows = _table_rows(t, glyphs)
        x0, top, x1, bottom = (float(v) for v in t.bbox)
        tables.append(Table(page=page_number, index=len(tables), rows=rows, bbox=(x0, top, x1, bottom)))
    return tables


def trusted_tables(found: Sequence, glyphs: list[_Glyph]) -> list:
    """The pdfplumber tables among ``found`` that are tables, top to bottom (then left to right).

    A found table that passes ``table_problem`` is kept. One that fails is not dropped at once:
    the page is searched again with only its rulings (``_redetect``: lines and hairline
    rectangles, not the filled panels, bands and cell backgrounds whose sides made the oversized
    grid), and each table found that way inside the failed one's bbox is kept if it passes.
    A kept table whose grid has columns without any text (made by the insets of cell
    backgrounds) is replaced by a table found on rulings only inside it that has none and
    holds ``HOLLOW_KEEP`` of its text.
    Kept tables never overlap each other.
    """
    if not found:
        return []
    verdicts = [(t, table_problem(t, glyphs)) for t in found]
    kept = [t for t, problem in verdicts if problem is None]
    # A grid too small to be a table has no table inside it: no need to look again.
    failed = [t for t, problem in verdicts if problem not in (None, "too small")]
    page = getattr(found[0], "page", None)
    visible = [g for g in glyphs if not g.text.isspace()]
    hollow = [t for t in kept if _empty_columns(t, visible)]
    if page is not None and (failed or hollow):
        for r in _redetect(page):
            if table_problem(r, glyphs) is not None:
                continue
            if any(_contains(t.bbox, r.bbox, tol=2.0) for t in failed) and not any(
                _overlap_share(t.bbox, r.bbox) > 0.05 for t in kept
            ):
                kept.append(r)
                continue
            for t in hollow:
                if (
                    any(k is t for k in kept) and _contains(t.bbox, r.bbox, tol=2.0)
                    and not _empty_columns(r, visible) and _text_share(r, t, visible) >= HOLLOW_KEEP
                ):
                    kept = [k for k in kept if k is not t] + [r]
                    break
    # No two kept tables on the same place: keep the larger.
    result: list = []
    for t in sorted(kept, key=lambda t: -_area(t.bbox)):
        if all(_overlap_share(t.bbox, other.bbox) < 0.05 for other in result):
            result.append(t)
    return sorted(result, key=lambda t: (t.bbox[1], t.bbox[0]))


def _text_share(inner, outer, glyphs: list[_Glyph]) -> float:
    """The share of the glyphs inside ``outer``'s bbox that are inside ``inner``'s too."""
    in_outer = [g for g in glyphs if _inside(g, outer.bbox)]
    if not in_outer:
        return 1.0
    return sum(1 for g in in_outer if _inside(g, inner.bbox)) / len(in_outer)


def _empty_columns(table, glyphs: list[_Glyph]) -> int:
    """How many of the grid's columns hold no text in any row."""
    n_cols = max((len(r.cells) for r in table.rows), default=0)
    with_text = set()
    box = table.bbox
    near = [g for g in glyphs if _inside(g, box)]
    for row in table.rows:
        for k, cell in enumerate(row.cells):
            if k not in with_text and cell is not None and any(_inside(g, cell) for g in near):
                with_text.add(k)
    return n_cols - len(with_text)


def table_problem(table, glyphs: Iterable[_Glyph]) -> str | None:
    """Why a pdfplumber table (anything with ``bbox``, ``rows[i].cells`` and ``cells``) is not
    a table on this page, or None when it is one. In order:

    - "too small": fewer than 2 rows or 2 columns;
    - "text crosses the edge": a row of glyphs has glyphs inside the bbox and just outside it
      with an ordinary character gap (``RUN_GAP``) between them, or an edge cuts through a
      glyph (``CUT_SHARE``): body text runs through the region;
    - "text crosses cells": a run of glyphs (ordinary gaps) lies in two cells, or a cell
      boundary cuts through a glyph;
    - "text in < 2 columns": no two columns have text (a frame with text in it).
    """
    rows = table.rows
    n_cols = max((len(r.cells) for r in rows), default=0)
    if len(rows) < 2 or n_cols < 2:
        return "too small"
    bbox = tuple(float(v) for v in table.bbox)
    x0, top, x1, bottom = bbox
    visible = [g for g in glyphs if not g.text.isspace()]
    near = [g for g in visible if g.bottom > top and g.top < bottom and g.x1 > x0 - 50 and g.x0 < x1 + 50]
    # 1. The bbox edge.
    if any(_cut(g, bbox) for g in near):
        return "text crosses the edge"
    for row in _cluster_rows(near):
        for a, b in itertools.pairwise(row):
            if _inside(a, bbox) != _inside(b, bbox) and _same_run(a, b):
                return "text crosses the edge"
    # 2. Cell boundaries.
    cells = [tuple(float(v) for v in c) for c in table.cells]
    inside = [g for g in near if _inside(g, bbox)]
    # only the cells a glyph overlaps (most cells are far from it): all pairs tested at once
    if inside and cells:
        edges = np.array([(g.x0, g.top, g.x1, g.bottom) for g in inside], dtype=np.float64)
        box = np.array(cells, dtype=np.float64)
        overlaps = ((edges[:, 2:3] > box[:, 0]) & (edges[:, 0:1] < box[:, 2])
                    & (edges[:, 3:4] > box[:, 1]) & (edges[:, 1:2] < box[:, 3]))
        glyph_at, cell_at = np.nonzero(overlaps)
        if any(_cut(inside[k], cells[c]) for k, c in zip(glyph_at.tolist(), cell_at.tolist(), strict=True)):
            return "text crosses cells"
    hits = _centres_in_cells(inside, cells)
    cell_of = _smallest_cells(inside, cells, hits)
    for row in _cluster_rows(inside):
        for a, b in itertools.pairwise(row):
            ca, cb = cell_of[id(a)], cell_of[id(b)]
            if ca is not None and cb is not None and ca != cb and _same_run(a, b):
                return "text crosses cells"
    # 3. Text in at least two columns: two cells with text side by side (x-ranges apart; a
    # merged cell spanning the others is not a second column).
    text_cells = [c for c, hit in zip(cells, hits.any(axis=1).tolist(), strict=True) if hit]
    if not any(a[2] <= b[0] + 1 for a in text_cells for b in text_cells):
        return "text in < 2 columns"
    return None


def _table_rows(t, glyphs: list[_Glyph]) -> tuple[tuple[str, ...], ...]:
    """The text of each cell of table ``t`` (rows padded to the widest), from ``glyphs`` (the
    page's): a glyph belongs to every cell that holds its centre (edges included, as
    ``_inside`` tests), in page order; the centres are tested for all glyphs at once."""
    n_cols = max(len(r.cells) for r in t.rows)
    cx, cy = _centres(glyphs)
    x0, top, x1, bottom = t.bbox
    inside = np.flatnonzero((x0 <= cx) & (cx <= x1) & (top <= cy) & (cy <= bottom))
    held = [glyphs[k] for k in inside.tolist()]
    cx, cy = cx[inside], cy[inside]
    return tuple(
        tuple(_cell_text(cell, held, cx, cy) for cell in row.cells) + ("",) * (n_cols - len(row.cells))
        for row in t.rows
    )


def _centres(glyphs: list[_Glyph]) -> tuple[np.ndarray, np.ndarray]:
    """The glyphs' centres, x and y, as ``_inside`` computes them."""
    n = len(glyphs)
    x = np.fromiter((v for g in glyphs for v in (g.x0, g.x1, g.top, g.bottom)), dtype=np.float64, count=4 * n)
    x = x.reshape(n, 4)
    return (x[:, 0] + x[:, 1]) / 2, (x[:, 2] + x[:, 3]) / 2


def _cell_text(cell: tuple[float, float, float, float] | None, glyphs: list[_Glyph], cx: np.ndarray,
               cy: np.ndarray) -> str:
    """The text of the ``glyphs`` whose centre (``cx``, ``cy``: ``_centres``) is in ``cell``,
    lines joined ("" for no cell)."""
    if cell is None:
        return ""
    x0, top, x1, bottom = cell
    found = np.flatnonzero((x0 <= cx) & (cx <= x1) & (top <= cy) & (cy <= bottom)).tolist()
    lines = [_make_line(row) for row in _cluster_rows([glyphs[k] for k in found])]
    return _join_lines([line.text for line in lines])


# ---------------------------------------------------------------------------------------------
# Detection on rulings only
# ---------------------------------------------------------------------------------------------


def is_ruling(obj: dict) -> bool:
    """A pdfplumber line, rect or curve that can be a table's ruling: a line, a shape no thicker
    than ``RULING_MAX`` (hairline rectangles drawn as rules), or a stroked, unfilled rectangle
    (a cell drawn as a box). Filled panels, bands and cell backgrounds are not."""
    kind = obj.get("object_type")
    if kind == "line":
        return True
    if kind not in ("rect", "curve"):
        return False
    if min(obj["x1"] - obj["x0"], obj["bottom"] - obj["top"]) <= RULING_MAX:
        return True
    return kind == "rect" and bool(obj.get("stroke")) and not obj.get("fill")


def _redetect(page) -> list:
    """``find_tables`` (``table_finder``: pdfplumber's, faster) on the page with only its rulings as
    drawings (text and images kept)."""
    def keep(obj: dict) -> bool:
        return obj.get("object_type") not in ("line", "rect", "curve") or is_ruling(obj)

    return find_tables(page.filter(keep))


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def _same_run(a: _Glyph, b: _Glyph) -> bool:
    """Two neighbouring glyphs of a row that belong to one run of text: about the same size and
    an ordinary character gap between them."""
    size = max(a.size, b.size)
    if abs(a.size - b.size) > 0.25 * size:
        return False
    left, right = (a, b) if a.x0 <= b.x0 else (b, a)
    return right.x0 - left.x1 <= RUN_GAP * size


def _cut(g: _Glyph, box: Box) -> bool:
    """Whether one of the box's sides cuts through the glyph (each side of the cut holding at
    least ``CUT_SHARE`` of the glyph), where the side runs."""
    x0, top, x1, bottom = box
    w, h = g.x1 - g.x0, g.bottom - g.top
    if w <= 0 or h <= 0:
        return False
    spans_x = g.x1 > x0 and g.x0 < x1
    spans_y = g.bottom > top and g.top < bottom
    for y in (top, bottom):
        if spans_x and min(y - g.top, g.bottom - y) >= CUT_SHARE * h and _cx_within(g, x0, x1):
            return True
    for x in (x0, x1):
        if spans_y and min(x - g.x0, g.x1 - x) >= CUT_SHARE * w and _cy_within(g, top, bottom):
            return True
    return False


def _cx_within(g: _Glyph, x0: float, x1: float) -> bool:
    return x0 <= g.cx <= x1


def _cy_within(g: _Glyph, top: float, bottom: float) -> bool:
    return top <= g.cy <= bottom


def _centres_in_cells(glyphs: list[_Glyph], cells: list[Box]) -> np.ndarray:
    """cells × glyphs: whether the glyph's centre is in the cell (edges included), as ``_inside``
    tests it, for all pairs at once."""
    if not cells or not glyphs:
        return np.zeros((len(cells), len(glyphs)), dtype=bool)
    cx = np.array([(g.x0 + g.x1) / 2 for g in glyphs])
    cy = np.array([(g.top + g.bottom) / 2 for g in glyphs])
    box = np.array(cells, dtype=np.float64)
    x0, top, x1, bottom = (box[:, k : k + 1] for k in range(4))
    return (x0 <= cx) & (cx <= x1) & (top <= cy) & (cy <= bottom)


def _smallest_cells(glyphs: list[_Glyph], cells: list[Box], hits: np.ndarray) -> dict[int, Box | None]:
    """id(glyph) → the smallest of ``cells`` holding its centre (``hits``: ``_centres_in_cells``;
    of equal ones the first), None if none does."""
    if not cells:
        return {id(g): None for g in glyphs}
    areas = np.array([_area(c) for c in cells])
    best = np.where(hits, areas[:, None], np.inf).argmin(axis=0).tolist()
    held = hits.any(axis=0).tolist()
    return {id(g): cells[b] if h else None for g, b, h in zip(glyphs, best, held, strict=True)}


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap_share(a: Sequence[float], b: Sequence[float]) -> float:
    """The area two boxes share, as a share of the smaller one."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min(_area(a), _area(b))
    return w * h / smaller if smaller > 0 else 0.0


def _contains(outer: Sequence[float], inner: Sequence[float], tol: float = 0.0) -> bool:
    return (
        inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol
    )
