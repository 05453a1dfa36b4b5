"""Columns and reading order."""
from __future__ import annotations

import math

from pipeline.extract.constants import _GUTTER_MIN_GAP
from pipeline.extract.lines import _cluster_rows, _make_line
from pipeline.extract.model import _Glyph, _Line

# Columns and reading order
# ---------------------------------------------------------------------------------------------


def _find_gutters(rows: list[_Line], body_size: float, page_width: float) -> list[float]:
    """x positions of column gutters: a vertical strip that falls inside a wide gap (≥1.5
    characters) of many rows, in the middle part of the text area. Rows that cross it (a
    heading over both columns) do not prevent it, so a full-width introduction above two
    columns still leaves the gutter visible."""
    if len(rows) < 4:
        return []
    width = int(page_width) + 2
    diff = [0] * (width + 1)
    min_gap = _GUTTER_MIN_GAP * body_size
    for row in rows:
        visible = [g for g in row.glyphs if not g.text.isspace()]
        reach = visible[0].x1 if visible else 0.0
        for g in visible[1:]:
            if g.x0 - reach >= min_gap:
                a, b = max(0, math.ceil(reach)), min(width, int(g.x0))
                if a < b:
                    diff[a] += 1
                    diff[b] -= 1
            reach = max(reach, g.x1)
    counts, running = [], 0
    for d in diff[:width]:
        running += d
        counts.append(running)

    needed = max(3, math.ceil(0.2 * len(rows)))
    left_edge = min(r.x0 for r in rows)
    right_edge = max(r.x1 for r in rows)
    extent = right_edge - left_edge
    gutters: list[float] = []
    x = 0
    while x < width:
        if counts[x] < needed:
            x += 1
            continue
        start = x
        while x < width and counts[x] >= needed:
            x += 1
        best = max(counts[start:x])
        peak = [i for i in range(start, x) if counts[i] == best]
        split = (peak[0] + peak[-1] + 1) / 2
        if (
            x - start >= 0.5 * body_size
            and left_edge + 0.2 * extent <= split <= right_edge - 0.2 * extent
        ):
            gutters.append(split)
    return gutters


def _crosses(row: _Line, split: float, body_size: float) -> bool:
    """Whether a row's text runs across the gutter at ``split`` (a full-width element)."""
    left = [g.x1 for g in row.glyphs if g.cx < split and not g.text.isspace()]
    right = [g.x0 for g in row.glyphs if g.cx >= split and not g.text.isspace()]
    if not left or not right:
        return False
    return min(right) - max(left) < _GUTTER_MIN_GAP * body_size


def _reading_order(rows: list[_Line], gutters: list[float], body_size: float) -> list[list[_Line]]:
    """Segments of lines in reading order. Without gutters: one segment. With gutters: rows
    crossing a gutter stand alone and split the page into bands; inside a band each column is
    read top to bottom, left column first."""
    if not gutters:
        return [rows] if rows else []
    segments: list[list[_Line]] = []
    pending: list[list[_Glyph]] = [[] for _ in range(len(gutters) + 1)]

    def flush() -> None:
        for index, glyphs in enumerate(pending):
            if glyphs:
                segments.append([_make_line(r, column=index + 1) for r in _cluster_rows(glyphs)])
            pending[index] = []

    for row in rows:
        if any(_crosses(row, split, body_size) for split in gutters):
            flush()
            segments.append([row])
        else:
            for g in row.glyphs:
                pending[sum(g.cx >= split for split in gutters)].append(g)
    flush()
    return segments


# ---------------------------------------------------------------------------------------------
