"""``table_finder``: pdfplumber's table finder with its intersection, cell and table searches made
fast gives pdfplumber's own intersections, cells and tables (``pdfplumber.table.edges_to_intersections``,
``intersections_to_cells`` and ``cells_to_tables``, the references) on many random sets of rulings (hypothesis: grids
with gaps, rulings that stop short, boxes in boxes, equal coordinates, short dashes, edges
stacked on one spot, integer coordinates, NaN), and the same tables as ``page.find_tables()`` on
pages with ruled tables, a grid of 2,000 small rectangles and a field of dashes."""
from __future__ import annotations

import random

import pdfplumber
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfdraw import draw_paragraph, draw_table, save_pdf
from pdfplumber.table import cells_to_tables as reference_tables
from pdfplumber.table import edges_to_intersections as reference_intersections
from pdfplumber.table import intersections_to_cells as reference_cells

from pipeline.extract.table_finder import cells_to_tables, edges_to_intersections, find_tables, intersections_to_cells

PARA = "第一段落の本文である。研究開発投資の拡大と人材育成の強化が重要な課題として挙げられている。"
ROWS = [("国名", "件数", "割合"), ("日本", "12", "3.4"), ("米国", "34", "5.6")]


def random_edges(seed: int, n: int) -> list[dict]:
    """``n`` horizontal and vertical rulings on a coarse grid (so that they meet often)."""
    rnd = random.Random(seed)
    edges = []
    for _ in range(n):
        a, b = sorted(rnd.sample(range(0, 12), 2))
        at = rnd.randrange(0, 12)
        if rnd.random() < 0.5:
            edges.append({"orientation": "h", "x0": 10.0 * a, "x1": 10.0 * b, "top": 10.0 * at,
                          "bottom": 10.0 * at, "width": 10.0 * (b - a), "height": 0.0})
        else:
            edges.append({"orientation": "v", "x0": 10.0 * at, "x1": 10.0 * at, "top": 10.0 * a,
                          "bottom": 10.0 * b, "width": 0.0, "height": 10.0 * (b - a)})
    return edges


def _edge(orientation: str, x0, x1, top, bottom) -> dict:
    return {"orientation": orientation, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
            "width": x1 - x0, "height": bottom - top}


def layout_edges(kind: str, seed: int, n: int) -> list[dict]:
    """``n`` rulings in a layout: ``coarse`` (``random_edges``), ``dashes`` (short strokes across
    and down on quarter points, meeting now and then), ``stacked`` (a few edges drawn many times),
    ``long`` (page-wide rulings over short ones), ``ints`` (integer coordinates), ``nan`` (one
    coordinate not a number)."""
    rnd = random.Random(seed)
    if kind == "coarse":
        return random_edges(seed, n)
    edges = []
    for k in range(n):
        across = rnd.random() < 0.5
        if kind == "dashes":
            a, b, length = rnd.randrange(0, 200) / 4, rnd.randrange(0, 200) / 4, rnd.choice([0.0, 1.0, 3.5, 4.0])
        elif kind == "stacked":
            a, b, length = rnd.choice([10.0, 10.25, 12.0]), rnd.choice([10.0, 11.0]), rnd.choice([5.0, 5.5])
        elif kind == "long":
            a, b = rnd.randrange(0, 40) / 2, rnd.randrange(0, 40) / 2
            length = 30.0 if rnd.random() < 0.3 else rnd.choice([1.0, 2.0, 3.0])
        else:  # ints, nan
            a, b, length = rnd.randrange(0, 30), rnd.randrange(0, 30), rnd.randrange(0, 6)
        if kind == "nan" and k == n // 2:
            a = float("nan")
        edges.append(_edge("h", a, a + length, b, b) if across else _edge("v", b, b, a, a + length))
    return edges


def _as_ids(intersections: dict) -> list:
    return [(key, [id(e) for e in found["v"]], [id(e) for e in found["h"]]) for key, found in intersections.items()]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["coarse", "dashes", "stacked", "long", "ints", "nan"]), st.integers(0, 2**32 - 1),
       st.integers(0, 150), st.sampled_from([(3, 3), (1, 1), (0, 0), (2.5, 0.5), (0.1, 3)]))
def test_the_intersections_are_pdfplumbers(kind, seed, n, tolerances):
    """The same intersection points in the same order, each with the same edges in the same order."""
    edges = layout_edges(kind, seed, n)
    assert _as_ids(edges_to_intersections(edges, *tolerances)) == _as_ids(reference_intersections(edges, *tolerances))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_the_cells_are_pdfplumbers(seed, n):
    intersections = reference_intersections(random_edges(seed, n), 3, 3)
    assert intersections_to_cells(intersections) == reference_cells(intersections)


def random_cells(seed: int, n: int) -> list[tuple]:
    """``n`` cells with corners on a coarse grid, in any order (so that they share corners in
    chains that run back and forth through the list), some given twice."""
    rnd = random.Random(seed)
    cells = []
    for _ in range(n):
        x, y = rnd.randrange(0, 8), rnd.randrange(0, 8)
        cells.append((5.0 * x, 5.0 * y, 5.0 * (x + rnd.choice([1, 1, 2])), 5.0 * (y + rnd.choice([1, 1, 3]))))
    if rnd.random() < 0.7:
        cells = list(dict.fromkeys(cells))  # most sets as intersections_to_cells makes them: no cell twice
    return cells


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 90))
def test_the_tables_of_cells_are_pdfplumbers(seed, n):
    """The same tables, their cells in the same order, from cells on a coarse grid and from the
    cells of random rulings."""
    cells = random_cells(seed, n)
    assert cells_to_tables(cells) == reference_tables(cells)
    found = reference_cells(reference_intersections(layout_edges("coarse", seed, n), 3, 3))
    assert cells_to_tables(found) == reference_tables(found)


def test_a_ruled_grid_gives_its_cells():
    """Hand-checked: two by two cells of a ruled square."""
    edges = [{"orientation": "h", "x0": 0.0, "x1": 20.0, "top": y, "bottom": y, "width": 20.0, "height": 0.0}
             for y in (0.0, 10.0, 20.0)]
    edges += [{"orientation": "v", "x0": x, "x1": x, "top": 0.0, "bottom": 20.0, "width": 0.0, "height": 20.0}
              for x in (0.0, 10.0, 20.0)]
    cells = intersections_to_cells(edges_to_intersections(edges, 3, 3))
    assert sorted(cells) == [(0.0, 0.0, 10.0, 10.0), (0.0, 10.0, 10.0, 20.0), (10.0, 0.0, 20.0, 10.0),
                             (10.0, 10.0, 20.0, 20.0)]


def _tables_page(c) -> None:
    draw_paragraph(c, PARA, 72, 780)
    draw_table(c, ROWS, 72, 700)
    draw_table(c, ROWS[:2], 300, 560)


def _grid_page(c) -> None:
    draw_paragraph(c, PARA, 72, 780)
    draw_table(c, ROWS, 72, 700)
    c.setFillColorRGB(0.2, 0.4, 0.6)
    for k in range(2000):
        c.rect(60 + (k % 50) * 9, 100 + (k // 50) * 9, 4, 4, stroke=1, fill=1)


def _dashes_page(c) -> None:
    """A ruled table and 1,200 short dashes across and down (pdfplumber keeps each as an edge)."""
    draw_paragraph(c, PARA, 72, 780)
    draw_table(c, ROWS, 72, 700)
    c.setLineWidth(0.3)
    for k in range(600):
        a, b = 40 + (k % 30) * 8, 60 + (k // 30) * 4.5
        c.line(a, b, a + 3.5, b)
        c.line(b + 250, a, b + 250, a + 3.5)


def test_the_tables_are_pdfplumbers(tmp_path):
    path = save_pdf(tmp_path / "tables.pdf", [_tables_page, _grid_page, _dashes_page])
    with pdfplumber.open(path) as pdf:
        found = [(find_tables(page), page.find_tables()) for page in pdf.pages]
        for ours, theirs in found:
            assert [(t.bbox, t.cells) for t in ours] == [(t.bbox, t.cells) for t in theirs]
        assert len(found[0][0]) == 2 and len(found[1][0]) >= 2
