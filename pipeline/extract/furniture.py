"""Page furniture: running heads and feet and page numbers, decided across pages."""
from __future__ import annotations

import math
import re

from pipeline.extract.constants import _DIGITS, _LARGER_FONT, _MARGIN_ZONE, _SAME_HEIGHT
from pipeline.extract.lines import _body_size
from pipeline.extract.model import ExtractConfig, _Glyph, _Line, _PageRecord, _RawPage

# Running headers, footers, page numbers
# ---------------------------------------------------------------------------------------------


_Occurrence = tuple[float, int, tuple[int, int]]  # (top, page number, (page number, row index))


def _mask_digits(text: str) -> str:
    return re.sub(rf"[{_DIGITS}]+", "#", re.sub(r"\s+", "", text))


def _running_line_decision(pages: list[_PageRecord], n_pages: int, config: ExtractConfig) -> set[tuple[int, int]]:
    """Running heads and feet: candidate rows (near the top or bottom, see
    ``_running_line_candidates``) whose text repeats (digits masked, whole or in part) at about
    the same height on at least ``repeat_share`` of the pages, or of the odd or the even pages
    (a report's running heads alternate: the part title on even pages, the chapter title on odd
    ones), in documents of 3+ pages.
    Returns (page number, row index) pairs. Rows that are nothing but a page number near the top
    or bottom edge are removed in any document (``_PageRecord.bare``)."""
    remove: set[tuple[int, int]] = set()
    if n_pages >= 3:
        needed = max(2, math.ceil(config.repeat_share * n_pages))
        # pages of one parity: odd 1, 3, 5, ...; even 2, 4, ...
        needed_parity = {
            parity: max(2, math.ceil(config.repeat_share * ((n_pages + parity) // 2))) for parity in (0, 1)
        }
        by_text: dict[str, list[_Occurrence]] = {}
        for page in pages:
            for index, top, keys in page.candidates:
                for key in keys:
                    by_text.setdefault(key, []).append((top, page.number, (page.number, index)))
        for occurrences in by_text.values():
            for cluster in _clusters_by_height(occurrences):
                numbers = {number for _, number, _ in cluster}
                if len(numbers) >= needed:
                    remove.update(ref for _, _, ref in cluster)
                    continue
                for parity in (0, 1):  # 1: odd pages
                    same = {n for n in numbers if n % 2 == parity}
                    if n_pages >= 4 and len(same) >= needed_parity[parity] and len(same) >= 0.8 * len(numbers):
                        remove.update(ref for _, number, ref in cluster if number % 2 == parity)
        remove |= _same_place_as_running(pages, remove, min(needed_parity.values()))
    return remove


def _same_place_as_running(
    pages: list[_PageRecord], remove: set[tuple[int, int]], needed: int
) -> set[tuple[int, int]]:
    """Candidate rows at the height where running lines were found on at least ``needed`` pages:
    a running head whose text changes with the chapter (第1章 … on the pages of chapter 1,
    第2章 … on those of chapter 2) repeats its place, not its text."""
    tops = sorted((top, page.number) for page in pages for index, top, _ in page.candidates
                  if (page.number, index) in remove)
    bands: list[list[tuple[float, int]]] = []
    for top, number in tops:
        if bands and top - bands[-1][-1][0] <= _SAME_HEIGHT:
            bands[-1].append((top, number))
        else:
            bands.append([(top, number)])
    places = [(band[0][0], band[-1][0]) for band in bands if len({n for _, n in band}) >= needed]
    return {
        (page.number, index)
        for page in pages
        for index, top, _ in page.candidates
        if any(low - _SAME_HEIGHT / 2 <= top <= high + _SAME_HEIGHT / 2 for low, high in places)
    }


def _drop_rows(page: _RawPage, remove: frozenset[int]) -> None:
    """Remove the rows at these indices (running lines, page numbers) and their glyphs."""
    if not remove:
        return
    kept = []
    for i, row in enumerate(page.rows):
        if i in remove:
            page.removed_lines.append(row.text.strip())
        else:
            kept.append(row)
    if len(kept) != len(page.rows):
        removed_glyphs = {id(g) for i, row in enumerate(page.rows) if i in remove for g in row.glyphs}
        page.glyphs = [g for g in page.glyphs if id(g) not in removed_glyphs]
        page.rows = kept


def _running_line_keys(row: _Line) -> set[str]:
    """What must repeat for a row to be a running line: its text with digits masked, or one
    of its parts set apart by a wide gap (a running head often pairs the fixed report title
    with the chapter's title or the page number)."""
    keys = {_mask_digits(row.text)}
    visible = [g for g in row.glyphs if not g.text.isspace()]
    parts: list[list[_Glyph]] = [[visible[0]]] if visible else []
    for a, b in zip(visible, visible[1:], strict=False):
        if b.x0 - a.x1 >= 2 * max(a.size, b.size):
            parts.append([])
        parts[-1].append(b)
    if len(parts) > 1:
        keys.update(_mask_digits("".join(g.text for g in part)) for part in parts)
    return keys


def _running_line_candidates(page: _RawPage) -> list[_Line]:
    """Rows that may be running heads or feet: up to two rows at the top and at the bottom
    of the page, set apart from the body by more than a line's spacing, inside the margin
    zone, and not set larger than the body (a chapter heading at the same place on each
    chapter's first page is not a running head; neither is a body line)."""
    rows = page.rows
    if not rows:
        return []
    body_size = _body_size(page.glyphs, default=0.0, upper_part=(page.top, page.height))
    apart = 1.2 * body_size
    candidates: list[_Line] = []
    for k in (1, 2):  # top: rows[:k] followed by a clear gap
        if k < len(rows) and rows[k].top - rows[k - 1].bottom >= apart:
            candidates += rows[:k]
            break
    for k in (1, 2):  # bottom: rows[-k:] preceded by a clear gap
        if k < len(rows) and rows[-k].top - rows[-k - 1].bottom >= apart:
            candidates += [r for r in rows[-k:] if r not in candidates]
            break
    return [
        row
        for row in candidates
        if _in_zone(row, page.top, page.height, _MARGIN_ZONE) and row.size < body_size + _LARGER_FONT
    ]


def _in_zone(row: _Line, page_top: float, page_height: float, share: float) -> bool:
    """Whether a row lies in the top or bottom ``share`` of the page (whose box starts at
    ``page_top``: not always 0)."""
    return row.bottom <= page_top + page_height * share or row.top >= page_top + page_height * (1 - share)


def _clusters_by_height(occurrences: list[_Occurrence]) -> list[list[_Occurrence]]:
    """Occurrences of one text grouped by height: neighbours within _SAME_HEIGHT chain."""
    clusters: list[list[_Occurrence]] = []
    for occ in sorted(occurrences, key=lambda o: o[0]):
        if clusters and occ[0] - clusters[-1][-1][0] <= _SAME_HEIGHT:
            clusters[-1].append(occ)
        else:
            clusters.append([occ])
    return clusters


# ---------------------------------------------------------------------------------------------


_EDGE_MAX_CHARS = 12


def _edge_lines(rows: list[_Line], vertical: list[_Line], body_size: float) -> tuple[set[int], set[int]]:
    """Chapter tabs and other short labels set in the side margin, outside the text area (the
    span of the page's body-size lines): (row indices, vertical line indices)."""
    body = [r for r in rows if abs(r.size - body_size) <= 0.6 and len(r.text.strip()) >= 8]
    if not body:
        return set(), set()
    # Robust edges (a stray glyph clustered into one row must not widen the area).
    lefts, rights = sorted(r.x0 for r in body), sorted(r.x1 for r in body)
    left, right = lefts[len(lefts) // 10], rights[-1 - len(rights) // 10]

    def outside(x0: float, x1: float, text: str) -> bool:
        # (where it is first: nearly every row is inside the text area, and its text is not read)
        return (x0 > right + body_size or x1 < left - body_size) and len(re.sub(r"\s+", "", text)) <= _EDGE_MAX_CHARS

    edge_rows = {i for i, r in enumerate(rows) if outside(r.x0, r.x1, r.text)}
    edge_vertical = {
        i for i, v in enumerate(vertical)
        if outside(min(g.x0 for g in v.glyphs), max(g.x1 for g in v.glyphs), v.text)
    }
    return edge_rows, edge_vertical
