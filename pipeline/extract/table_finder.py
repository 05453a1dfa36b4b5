"""pdfplumber's table finder (``page.find_tables()``, default settings: ruling lines) with its
cell search made fast: the same tables, cells and order.

pdfplumber's ``intersections_to_cells`` looks, for each intersection of rulings, through all
later intersections for those directly below it and directly right of it: time that grows with
the square of the intersections (10,000 small rectangles in a grid: 40,000 intersections, most
of the table finder's seconds). ``intersections_to_cells`` here finds the same lists by position:
intersections sorted by x, then y (as pdfplumber sorts them), so those below one are the run
after it with the same x, and those right of it the later ones of the same y, kept per y. The
rest (which pairs are joined by an edge, the first cell found, the grouping into tables) is
pdfplumber's, unchanged. Pages whose intersections are not all numbers (NaN sorts in no order)
use pdfplumber's own function.

pdfplumber's ``edges_to_intersections`` tests every vertical edge against every horizontal one
(and sorts the horizontal ones again for each vertical one): a page of 5,000 short dashes across
and 5,000 down took it 8-14 s. ``edges_to_intersections`` here finds, for each vertical edge, the
run of horizontal edges (sorted by top) whose top is within its span by binary search, and tests
only those along x, with numpy: the same intersections, the same edges in each, in the same
order.

pdfplumber's ``cells_to_tables`` grows each table by passes over all the cells not yet in a
table, one pass more for each cell reached, and one pass over all of them to close a table (a
grid of 2,000 small ruled boxes, 7,800 cells: 3.5 s). ``cells_to_tables`` here makes the same
passes by looking up, for each corner a table gains, the cells that have it: the same tables, the
cells in the same order.
"""
from __future__ import annotations

import bisect
import heapq
import math
from operator import itemgetter

import numpy as np
from pdfplumber import utils
from pdfplumber.table import (
    Table,
    TableFinder,
    TableSettings,
)
from pdfplumber.table import cells_to_tables as _pdfplumber_tables
from pdfplumber.table import edges_to_intersections as _pdfplumber_intersections
from pdfplumber.table import intersections_to_cells as _pdfplumber_cells


def find_tables(page) -> list[Table]:
    """``page.find_tables()`` (pdfplumber's default settings) with ``edges_to_intersections``,
    ``intersections_to_cells`` and ``cells_to_tables`` from this module: the same tables."""
    return _FastTableFinder(page, TableSettings.resolve(None)).tables


class _FastTableFinder(TableFinder):
    """pdfplumber's ``TableFinder`` (0.11: its ``__init__``, step by step) with the intersections,
    the cells and the tables found by the functions here."""

    def __init__(self, page, settings=None) -> None:
        self.page = page
        self.settings = TableSettings.resolve(settings)
        self.edges = self.get_edges()
        self.intersections = edges_to_intersections(
            self.edges, self.settings.intersection_x_tolerance, self.settings.intersection_y_tolerance,
        )
        self.cells = intersections_to_cells(self.intersections)
        self.tables = [Table(self.page, cell_group) for cell_group in cells_to_tables(self.cells)]


def _numbers(values) -> bool:
    """Whether every value is a finite float or an int below 2^53 (what numpy, in float64,
    computes and compares as Python does)."""
    return all((type(v) is float and math.isfinite(v)) or (type(v) is int and abs(v) < 1 << 53) for v in values)


def edges_to_intersections(edges: list[dict], x_tolerance=1, y_tolerance=1) -> dict:
    """pdfplumber's ``table.edges_to_intersections``: (x, top) → {"v": edges, "h": edges} where a
    vertical edge meets a horizontal one within the tolerances, keys and edges in the order it
    makes them (vertical edges by x0 then top, horizontal ones by top then x0).

    ``edges``: pdfplumber edges (``orientation``, ``x0``, ``x1``, ``top``, ``bottom``);
    ``x_tolerance``, ``y_tolerance``: how far (pt) an edge may stop short of the other. Edges or
    tolerances that are not finite numbers go to pdfplumber's own function."""
    v_edges = sorted((e for e in edges if e["orientation"] == "v"), key=itemgetter("x0", "top"))
    h_edges = sorted((e for e in edges if e["orientation"] == "h"), key=itemgetter("top", "x0"))
    if not (_numbers([x_tolerance, y_tolerance]) and _numbers(v[k] for v in v_edges for k in ("x0", "top", "bottom"))
            and _numbers(h[k] for h in h_edges for k in ("top", "x0", "x1"))):
        return _pdfplumber_intersections(edges, x_tolerance, y_tolerance)
    intersections: dict = {}
    if not v_edges or not h_edges:
        return intersections
    h_top = np.array([h["top"] for h in h_edges], dtype=np.float64)
    h_x0 = np.array([h["x0"] for h in h_edges], dtype=np.float64) - x_tolerance
    h_x1 = np.array([h["x1"] for h in h_edges], dtype=np.float64) + x_tolerance
    v_x0 = np.array([v["x0"] for v in v_edges], dtype=np.float64)
    # h_edges are sorted by top, so h.top + tol and h.top - tol are too: the horizontal edges
    # with v.top <= h.top + tol are a run from ``first``, those with v.bottom >= h.top - tol a
    # run up to ``last``
    first = np.searchsorted(h_top + y_tolerance, [v["top"] for v in v_edges], side="left")
    last = np.searchsorted(h_top - y_tolerance, [v["bottom"] for v in v_edges], side="right")
    for k, v in enumerate(v_edges):
        lo, hi = int(first[k]), int(last[k])
        if lo >= hi:
            continue
        x = v_x0[k]
        for m in (lo + np.flatnonzero((x >= h_x0[lo:hi]) & (x <= h_x1[lo:hi]))).tolist():
            h = h_edges[m]
            vertex = (v["x0"], h["top"])
            if vertex not in intersections:
                intersections[vertex] = {"v": [], "h": []}
            intersections[vertex]["v"].append(v)
            intersections[vertex]["h"].append(h)
    return intersections


def intersections_to_cells(intersections: dict) -> list[tuple]:
    """pdfplumber's ``table.intersections_to_cells``: the smallest cell whose top-left corner is
    each intersection (``intersections``: (x, top) → {"v": edges, "h": edges}), as it finds
    them, in the same order; the points below and right of each found by position."""
    points = sorted(intersections.keys())
    if any(x != x or y != y for x, y in points):
        return _pdfplumber_cells(intersections)

    boxes: dict = {}  # (point, "v" or "h") → the boxes of its edges, made once

    def edges_to_set(point, kind: str) -> set:
        found = boxes.get((point, kind))
        if found is None:
            found = boxes[(point, kind)] = set(map(utils.obj_to_bbox, intersections[point][kind]))
        return found

    def edge_connects(p1, p2) -> bool:
        if p1[0] == p2[0]:
            if edges_to_set(p1, "v") & edges_to_set(p2, "v"):
                return True
        if p1[1] == p2[1]:
            if edges_to_set(p1, "h") & edges_to_set(p2, "h"):
                return True
        return False

    n = len(points)
    by_y: dict[float, list[int]] = {}
    for k, (_, y) in enumerate(points):
        by_y.setdefault(y, []).append(k)

    def smallest_cell(i: int):
        pt = points[i]
        end = i + 1
        while end < n and points[end][0] == pt[0]:
            end += 1
        below = points[i + 1:end]
        row = by_y[pt[1]]
        right = [points[k] for k in row[bisect.bisect_right(row, i):]]
        for below_pt in below:
            if not edge_connects(pt, below_pt):
                continue
            for right_pt in right:
                if not edge_connects(pt, right_pt):
                    continue
                bottom_right = (right_pt[0], below_pt[1])
                if (
                    bottom_right in intersections
                    and edge_connects(bottom_right, right_pt)
                    and edge_connects(bottom_right, below_pt)
                ):
                    return (pt[0], pt[1], bottom_right[0], bottom_right[1])
        return None

    return [cell for cell in (smallest_cell(i) for i in range(n - 1)) if cell is not None]


def cells_to_tables(cells: list[tuple]) -> list[list[tuple]]:
    """pdfplumber's ``table.cells_to_tables``: the cells (x0, top, x1, bottom) grouped into tables
    of cells that share a corner, as it groups them: a table starts with the first cell left and
    takes, pass after pass over the cells left in order, each one sharing a corner with it by
    then; tables of more than one cell, by their topmost then leftmost cell. The passes are made
    with a heap of the cells that have a corner the table gained (those behind the pass wait for
    the next one). Cells given twice, or not numbers, go to pdfplumber's own function.

    ``cells``: as ``intersections_to_cells`` gives them."""
    if len(set(cells)) != len(cells) or any(v != v for cell in cells for v in cell):
        return _pdfplumber_tables(cells)
    corners = [((x0, top), (x0, bottom), (x1, top), (x1, bottom)) for x0, top, x1, bottom in cells]
    having: dict = {}
    for k, found in enumerate(corners):
        for corner in found:
            having.setdefault(corner, []).append(k)
    left = [True] * len(cells)
    tables = []
    start = 0
    while True:
        while start < len(cells) and not left[start]:
            start += 1
        if start == len(cells):
            break
        table, gained, seen = [], set(), {start}
        ahead, behind = [start], []  # this pass's cells still to come, the next pass's
        while ahead:
            while ahead:
                k = heapq.heappop(ahead)
                left[k] = False
                table.append(cells[k])
                for corner in corners[k]:
                    if corner in gained:
                        continue
                    gained.add(corner)
                    for other in having[corner]:
                        if left[other] and other not in seen:
                            seen.add(other)
                            if other > k:
                                heapq.heappush(ahead, other)
                            else:
                                behind.append(other)
            heapq.heapify(behind)
            ahead, behind = behind, []
        tables.append(table)
    ordered = sorted(tables, key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in ordered if len(t) > 1]
