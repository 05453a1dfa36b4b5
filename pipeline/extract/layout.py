"""Columns and reading order."""
from __future__ import annotations

import itertools
import math

from pipeline.extract.constants import _GUTTER_MIN_GAP
from pipeline.extract.lines import _cluster_rows, _make_line
from pipeline.extract.model import _Glyph, _Line
from pipeline.extract.notes import merge_raised_rows

# Columns and reading order
# ---------------------------------------------------------------------------------------------


def _find_gutters(rows: list[_Line], body_size: float) -> list[float]:
    """x positions of column gutters: a vertical strip that falls inside a wide gap (≥1.5
    characters) of many rows, in the middle part of the text area. Rows that cross it (a
    heading over both columns) do not prevent it, so a full-width introduction above two
    columns still leaves the gutter visible."""
    if len(rows) < 4:
        return []
    # Positions are counted from the leftmost text (a page box may start anywhere, even < 0).
    origin = math.floor(min(r.x0 for r in rows))
    width = int(max(r.x1 for r in rows) - origin) + 2
    diff = [0] * (width + 1)
    min_gap = _GUTTER_MIN_GAP * body_size
    for row in rows:
        visible = [g for g in row.glyphs if not g.text.isspace()]
        reach = visible[0].x1 if visible else 0.0
        for g in visible[1:]:
            if g.x0 - reach >= min_gap:
                a, b = max(0, math.ceil(reach - origin)), min(width, int(g.x0 - origin))
                if a < b:
                    diff[a] += 1
                    diff[b] -= 1
            if g.x1 > reach:  # max(reach, g.x1)
                reach = g.x1
    counts = list(itertools.accumulate(diff[:width]))  # running sums

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
        split = origin + (peak[0] + peak[-1] + 1) / 2
        if (
            x - start >= 0.5 * body_size
            and left_edge + 0.2 * extent <= split <= right_edge - 0.2 * extent
        ):
            gutters.append(split)
    return gutters


def _heading_like(row: _Line, body_size: float) -> bool:
    """Set larger than the body, or in bold: a title or heading, not a line of text."""
    return row.size >= body_size + 1.0 or (row.bold and len(row.text.strip()) <= 40)


def _crosses(row: _Line, split: float, body_size: float) -> bool:
    """Whether a row's text runs across the gutter at ``split`` (a full-width element)."""
    left = [_ink_x1(g) for g in row.glyphs if g.cx < split and not g.text.isspace()]
    right = [_ink_x0(g) for g in row.glyphs if g.cx >= split and not g.text.isspace()]
    if not left or not right:
        return False
    # Columns are found where many rows leave a gap of at least _GUTTER_MIN_GAP characters; a
    # row whose gap there is clearly narrower runs across (a space between words of a heading
    # that happens to fall on the gutter is about one character wide).
    return min(right) - max(left) < _CROSSING_GAP * body_size


_CROSSING_GAP = 1.25
# Full-width punctuation draws its ink in one half of its box: a closing bracket or 。 at the end
# of a left-column line, an opening bracket at the start of a right-column line, reach into the
# gutter only with their empty half.
_INK_LEFT_HALF = frozenset("）」』】〕〉》］｝、。，．")
_INK_RIGHT_HALF = frozenset("（「『【〔〈《［｛")


def _ink_x1(g: _Glyph) -> float:
    return g.x0 + (g.x1 - g.x0) / 2 if g.text in _INK_LEFT_HALF else g.x1


def _ink_x0(g: _Glyph) -> float:
    return g.x0 + (g.x1 - g.x0) / 2 if g.text in _INK_RIGHT_HALF else g.x0


def _reading_order(
    rows: list[_Line], gutters: list[float], body_size: float, spans: list[tuple[float, float, float, float]] = ()
) -> list[list[_Line]]:
    """Segments of lines in reading order. Without gutters: one segment. With gutters: rows
    crossing a gutter stand alone and split the page into bands; inside a band each column is
    read top to bottom, left column first. ``spans``: bars and rules drawn across the page (a
    heading on one of them splits the page into bands too)."""
    if not gutters:
        return [rows] if rows else []
    segments: list[list[_Line]] = []
    pending: list[list[_Glyph]] = [[] for _ in range(len(gutters) + 1)]

    def flush() -> None:
        for index, glyphs in enumerate(pending):
            if glyphs:
                rows_of_column = merge_raised_rows(_cluster_rows(glyphs))
                segments.append([_make_line(r, column=index + 1) for r in rows_of_column])
            pending[index] = []

    def columns_of(row: _Line) -> set[int]:
        return {sum(g.cx >= split for split in gutters) for g in row.glyphs if not g.text.isspace()}

    crossing = [any(_crosses(row, split, body_size) for split in gutters) for row in rows]
    cols = [columns_of(row) for row in rows]
    for i, row in enumerate(rows):
        if not crossing[i] and _heading_like(row, body_size) and len(cols[i]) == 1:
            # A section heading in one column, on a bar or over a rule drawn across the columns,
            # with the other columns blank beside it: a band break across the page.
            reach = 1.5 * row.size
            beside = [j for j, other in enumerate(rows) if j != i and other.bottom > row.top - reach
                      and other.top < row.bottom + reach]
            spanned = any(
                x0 < min(gutters) and x1 > max(gutters) and bottom >= row.top - reach and top <= row.bottom + reach
                for x0, top, x1, bottom in spans
            )
            if spanned and not any(cols[j] - cols[i] for j in beside):
                crossing[i] = True
    band_start = True
    for i, row in enumerate(rows):
        if crossing[i]:
            flush()
            segments.append([row])
            band_start = True
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if band_start and nxt is not None and not crossing[i + 1]:
            # A line in one column only, above the band's columns and set apart from them (a
            # date or a subtitle under a centred title): it stands on its own, before them.
            mine, theirs = columns_of(row), columns_of(nxt)
            if len(mine) == 1 and theirs - mine and nxt.top - row.bottom >= body_size:
                flush()
                segments.append([row])
                continue
        band_start = False
        for g in row.glyphs:
            pending[sum(g.cx >= split for split in gutters)].append(g)
    flush()
    return segments


# ---------------------------------------------------------------------------------------------
