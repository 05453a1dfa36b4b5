"""``table_finder``: pdfplumber's table finder with its cell search made fast gives pdfplumber's
own cells (``pdfplumber.table.intersections_to_cells``, the reference) on many random sets of
rulings (hypothesis: grids with gaps, rulings that stop short, boxes in boxes, equal
coordinates), and the same tables as ``page.find_tables()`` on pages with ruled tables and a
grid of 2,000 small rectangles."""
from __future__ import annotations

import random

import pdfplumber
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfdraw import draw_paragraph, draw_table, save_pdf
from pdfplumber.table import edges_to_intersections
from pdfplumber.table import intersections_to_cells as reference_cells

from pipeline.extract.table_finder import find_tables, intersections_to_cells

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


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_the_cells_are_pdfplumbers(seed, n):
    intersections = edges_to_intersections(random_edges(seed, n), 3, 3)
    assert intersections_to_cells(intersections) == reference_cells(intersections)


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


def test_the_tables_are_pdfplumbers(tmp_path):
    path = save_pdf(tmp_path / "tables.pdf", [_tables_page, _grid_page])
    with pdfplumber.open(path) as pdf:
        found = [(find_tables(page), page.find_tables()) for page in pdf.pages]
        for ours, theirs in found:
            assert [(t.bbox, t.cells) for t in ours] == [(t.bbox, t.cells) for t in theirs]
        assert len(found[0][0]) == 2 and len(found[1][0]) >= 2
