"""Glyphs of one page: read from the content stream, bold doubles merged, unmapped glyphs dropped."""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from operator import attrgetter

import numpy as np
import pdfplumber
from pdfminer.layout import LTChar, LTContainer
from pdfplumber.page import fix_fontname_bytes
from pdfplumber.utils import resolve_all

from pipeline.extract.constants import (
    _CID_PLACEHOLDER,
    _DEDUPE_TOLERANCE,
    _WINANSI_SPECIALS,
)
from pipeline.extract.model import _Glyph
from pipeline.extract.opening import _font_name_and_weight

# ---------------------------------------------------------------------------------------------
# Pass 1: glyphs of one page
# ---------------------------------------------------------------------------------------------


# (text, x0, x1, top, bottom, size, font name, upright) of one glyph, valued as pdfplumber's
# page.chars gives them.
_Char = tuple[str, float, float, float, float, float, object, bool]


def _page_chars(page: pdfplumber.page.Page) -> list[_Char]:
    """The page's glyphs in content order, as ``page.chars`` would give them, without building
    pdfplumber's dict of ~25 resolved attributes per glyph (that alone was a third of the
    extraction time). The page's other objects (lines, rectangles: what table detection needs)
    go through pdfplumber as usual and are cached on the page for ``find_tables``."""
    return _page_chars_and_drawings(page)[0]


_DRAWN = frozenset(("image", "rect", "line", "curve"))  # the kinds of pdfplumber object counted


def _page_chars_and_drawings(page: pdfplumber.page.Page, max_drawings: int | None = None) -> tuple[list[_Char], int]:
    """``_page_chars(page)`` and how many images and paths (rects, lines, curves) the page draws.
    ``max_drawings``: once the page draws more, the rest are counted without being made
    pdfplumber's objects, and ``page.objects`` holds none of those kinds (None: no limit)."""
    if not _FAST_CHARS:
        chars = [
            (c["text"], c["x0"], c["x1"], c["top"], c["bottom"], c["size"], c.get("fontname", ""),
             c.get("upright", True))
            for c in page.chars
        ]
        return chars, sum(len(page.objects.get(kind, ())) for kind in _DRAWN)
    cap = sys.maxsize if max_drawings is None else max_drawings
    drawn = 0
    height = page.height
    mb_x0, mb_top = page.mediabox[:2]
    containers_too = page.pdf.laparams is not None
    unicode_norm = page.pdf.unicode_norm
    chars: list[_Char] = []
    objects: dict[str, list[dict]] = {}

    # Same traversal and arithmetic as pdfplumber's Page.iter_layout_objects / process_object.
    def visit(layout_objects) -> None:
        for obj in layout_objects:
            if isinstance(obj, LTContainer):
                if containers_too:
                    add(obj)
                visit(obj._objs)
            elif type(obj) is LTChar:
                text = obj.get_text()
                if unicode_norm is not None:
                    text = unicodedata.normalize(unicode_norm, text)
                font = obj.fontname
                if type(font) is not str:
                    font = resolve_all(font)
                    if isinstance(font, bytes):
                        font = fix_fontname_bytes(font)
                x0, x1 = obj.x0, obj.x1
                if mb_x0 != 0:
                    x0, x1 = x0 + mb_x0, x1 + mb_x0
                chars.append(
                    (text, x0, x1, (height - obj.y1) + mb_top, (height - obj.y0) + mb_top, obj.size, font, obj.upright)
                )
            else:
                add(obj)

    def add(obj) -> None:
        nonlocal drawn
        kind = _LT_PREFIX.sub("", obj.__class__.__name__).lower()
        if kind in _DRAWN:
            drawn += 1
            if drawn > cap:
                return
        if kind != "anno":
            objects.setdefault(kind, []).append(page.process_object(obj))

    visit(page.layout._objs)
    if drawn > cap:
        for kind in _DRAWN:
            objects.pop(kind, None)
    page._objects = objects  # what page.objects would be, less the chars (nothing reads them)
    return chars, drawn


# pdfplumber's internals that _page_chars relies on (checked once, at import): without them,
# glyphs are read from page.chars, with the same result, only slower.
_LT_PREFIX = re.compile(r"^LT")
_FAST_CHARS = all(
    hasattr(pdfplumber.page.Page, name) for name in ("process_object", "iter_layout_objects", "layout", "objects")
) and getattr(pdfplumber.page, "lt_pat", None) is not None and pdfplumber.page.lt_pat.pattern == _LT_PREFIX.pattern


def _glyphs_from_chars(
    chars: list[_Char], bbox: tuple[float, float, float, float]
) -> tuple[list[_Glyph], list[_Glyph]]:
    """Compact glyph records in content-stream order: upright glyphs, and rotated ones.

    Glyphs outside the visible page are left out. Rotated glyphs (upright False: axis labels,
    margin labels, watermarks, a table turned sideways) are not laid out into lines (they run
    in another direction): the caller keeps their text, in content order, as figure text.
    """
    x_min, top_min, x_max, bottom_max = bbox
    glyphs: list[_Glyph] = []
    rotated: list[_Glyph] = []
    # font name as read → (name, bold): once per font (a name pdfminer left unhashable: per glyph)
    fonts: dict[object, tuple[str, bool]] = {}
    make, keep, turn = _Glyph, glyphs.append, rotated.append
    for text, x0, x1, top, bottom, size, fontname, upright in chars:
        if not (x_min <= (x0 + x1) / 2 <= x_max and top_min <= (top + bottom) / 2 <= bottom_max):
            continue
        try:
            name, bold = fonts[fontname]
        except KeyError:
            name, bold = fonts[fontname] = _font_name_and_weight(fontname)
        except TypeError:
            name, bold = _font_name_and_weight(fontname)
        (keep if upright else turn)(make(text, x0, x1, top, bottom, float(size), name, bold))
    return glyphs, rotated


def _glyphs_from_columns(columns, bbox: tuple[float, float, float, float], *,
                         positions: list | None = None) -> tuple[list[_Glyph], list[_Glyph]]:
    """``_glyphs_from_chars`` of a page read by PDFium (``pdfium_glyphs.GlyphColumns``), the
    same records: which glyphs are inside the page and upright is decided for the page at once
    (numpy), font names are read once per text object, and no tuple is made per glyph.
    ``positions``: None, or a list the upright glyphs' ``x0`` and ``top`` (numpy arrays, in
    the order of the glyphs) are appended to, what ``_dedupe_glyphs`` can use instead of
    reading them off the glyphs."""
    x_min, top_min, x_max, bottom_max = bbox
    cx = (columns.x0 + columns.x1) / 2
    cy = (columns.top + columns.bottom) / 2
    inside = (x_min <= cx) & (cx <= x_max) & (top_min <= cy) & (cy <= bottom_max)
    fonts: dict[object, tuple[str, bool]] = {}
    named = []
    for fontname in columns.fonts:
        try:
            found = fonts[fontname]
        except KeyError:
            found = fonts[fontname] = _font_name_and_weight(fontname)
        except TypeError:  # (unhashable)
            found = _font_name_and_weight(fontname)
        named.append(found)
    names = np.array([name for name, _ in named] + [None], dtype=object)[:-1]
    bolds = np.array([bold for _, bold in named], dtype=bool)
    upright = columns.uprights[columns.source]
    out = []
    texts = columns.texts
    for keep in (inside & upright, inside & ~upright):
        if keep.all():  # every glyph (the page of upright text inside it): nothing to select
            index, kept_texts = slice(None), texts
        else:
            index = np.flatnonzero(keep)
            kept_texts = [texts[k] for k in index.tolist()]
        source = columns.source[index]
        if positions is not None and not out:
            positions += [columns.x0[index], columns.top[index]]
        out.append(list(map(
            _Glyph, kept_texts, columns.x0[index].tolist(), columns.x1[index].tolist(),
            columns.top[index].tolist(), columns.bottom[index].tolist(), columns.size[index].tolist(),
            names[source].tolist(), bolds[source].tolist(),
        )))
    return out[0], out[1]


def _dedupe_glyphs(glyphs: list[_Glyph], positions: list | None = None) -> list[_Glyph]:
    """Drop glyphs drawn twice at (almost) the same place, and mark the kept one bold.

    Same rule as pdfplumber's ``page.dedupe_chars()`` (same text, font and size within 1 pt),
    but a grid lookup instead of its sort by ``list.index``, which is quadratic (measured 50 ms
    on a 1,100-glyph page), and it tells which glyphs were doubled: fake bold.

    Kept glyphs are filed by (text, font, size) and then by the 1-pt cell they fall in; a
    glyph's twin is looked for in the 3 x 3 cells around it. When several kept glyphs are within
    the tolerance, the twin is the first found scanning the cells column by column (left to
    right, each top to bottom), then in the order kept.

    A glyph with no other glyph at all in the 3 x 3 cells around its own (nearly every glyph of
    a page) has no twin and is no other glyph's twin: it is kept without a lookup. Those are
    found for the whole page at once (``_crowded``); the lookup runs on the others only, in
    their order, with the same result as on all the glyphs.

    ``positions``: None, or the glyphs' ``x0`` and ``top`` as two numpy arrays (as
    ``_glyphs_from_columns`` gives them), so that they are not read off the glyphs again.
    """
    if len(glyphs) < _CROWDED_MIN:
        return _dedupe_scan(glyphs)
    crowded = _crowded(glyphs, positions)
    if crowded is None:
        return _dedupe_scan(glyphs)
    if not crowded:
        return list(glyphs)
    subset = [glyphs[i] for i in crowded]
    kept = _dedupe_scan(subset)
    if len(kept) == len(subset):
        return list(glyphs)
    dropped = {id(g) for g in subset}.difference(id(g) for g in kept)
    return [g for g in glyphs if id(g) not in dropped]


_CROWDED_MIN = 32  # fewer glyphs: the lookup on all of them is as quick
_CELL_LIMIT = 1e6  # pt: coordinates beyond it (none on a real page) skip the whole-page search
_GLYPH_X0, _GLYPH_TOP = attrgetter("x0"), attrgetter("top")


def _crowded(glyphs: list[_Glyph], positions: list | None = None) -> list[int] | None:
    """Indexes of the glyphs that share the 3 x 3 cells (of ``_DEDUPE_TOLERANCE``, as
    ``_dedupe_scan`` files them: ``int(x0 // tol)``, ``int(top // tol)``) around their own with
    another glyph, whatever its text, in increasing order; None when a coordinate is not finite
    or beyond ``_CELL_LIMIT`` (the caller then looks every glyph up). ``positions``: the glyphs'
    ``x0`` and ``top`` as numpy arrays, or None to read them off the glyphs.

    Each cell is numbered so that the three cells of a column of the 3 x 3 block around a cell
    have consecutive numbers. With the numbers sorted, another glyph in the cell's own column of
    the block is next to it in that order (numbers at most 1 apart), and one in the column left
    or right of it is found by one binary search each."""
    tol = _DEDUPE_TOLERANCE
    n = len(glyphs)
    if positions is not None:
        x, y = positions
    else:
        x = np.fromiter(map(_GLYPH_X0, glyphs), dtype=np.float64, count=n)
        y = np.fromiter(map(_GLYPH_TOP, glyphs), dtype=np.float64, count=n)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    if np.abs(x).max() > _CELL_LIMIT or np.abs(y).max() > _CELL_LIMIT:
        return None
    ix = np.floor_divide(x, tol).astype(np.int64)  # Python's float // (numpy follows its rule)
    iy = np.floor_divide(y, tol).astype(np.int64)
    iy -= iy.min() - 1  # rows 1..h: a neighbour's row stays within 0..h+1
    stride = int(iy.max()) + 2
    key = (ix - ix.min() + 1) * stride + iy
    order = np.argsort(key)
    ordered = key[order]
    close = np.diff(ordered) <= 1  # the next glyph in that order is in the same column of the block
    near = np.zeros(n, dtype=bool)  # another glyph in the 3 x 3 cells, in the order of ``ordered``
    near[:-1] |= close
    near[1:] |= close
    for dx in (-stride, stride):  # the column left of the cell, the one right of it
        low, high = ordered + (dx - 1), ordered + (dx + 1)
        first = ordered[np.minimum(np.searchsorted(ordered, low, "left"), n - 1)]  # the first >= low, if any
        near |= (first >= low) & (first <= high)
    return np.sort(order[near]).tolist()


def _dedupe_scan(glyphs: list[_Glyph]) -> list[_Glyph]:
    """``_dedupe_glyphs``'s lookup, glyph by glyph."""
    tol = _DEDUPE_TOLERANCE
    rounded: dict[float, float] = {}  # size → round(size, 1): once per size
    grid: dict[tuple, dict[tuple[int, int], list[_Glyph]]] = {}  # → (cell column, cell row) → kept glyphs
    # → the cell columns and rows holding kept glyphs: a glyph with no kept one in the columns
    # and the rows around its cell has no twin (the cells are not scanned)
    spans: dict[tuple, tuple[set[int], set[int]]] = {}
    kept: list[_Glyph] = []
    append = kept.append
    for g in glyphs:
        x0, top = g.x0, g.top
        ix, iy = int(x0 // tol), int(top // tol)
        size = g.size
        rsize = rounded.get(size)
        if rsize is None:
            rsize = round(size, 1)
            if rsize == rsize:  # (a NaN is rounded per glyph, as before: never equal to another)
                rounded[size] = rsize
        key = (g.text, g.font, rsize)
        cells = grid.get(key)
        if cells is None:
            grid[key] = {(ix, iy): [g]}
            spans[key] = ({ix}, {iy})
            append(g)
            continue
        cols, rows = spans[key]
        if (iy in rows or iy - 1 in rows or iy + 1 in rows) and (ix in cols or ix - 1 in cols or ix + 1 in cols):
            twin = _twin(cells, ix, iy, x0, top, tol)
            if twin is not None:
                twin.bold = True
                continue
        cell = cells.get((ix, iy))
        if cell is None:
            cells[(ix, iy)] = [g]
            cols.add(ix)
            rows.add(iy)
        else:
            cell.append(g)
        append(g)
    return kept


def _twin(cells: dict[tuple[int, int], list[_Glyph]], ix: int, iy: int, x0: float, top: float,
          tol: float) -> _Glyph | None:
    """The first kept glyph within ``tol`` of (``x0``, ``top``) in the 3 x 3 cells around cell
    (``ix``, ``iy``), scanning them column by column (left to right, each top to bottom), then
    in the order kept; None when there is none."""
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            cell = cells.get((ix + dx, iy + dy))
            if cell is None:
                continue
            for other in cell:
                if abs(other.x0 - x0) <= tol and abs(other.top - top) <= tol:
                    return other
    return None


@functools.lru_cache(maxsize=65536)
def _is_garbage_char(ch: str) -> bool:
    """Control, private-use, surrogate, unassigned or replacement characters are not text."""
    return ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn") and not ch.isspace())


@functools.lru_cache(maxsize=65536)
def _is_unmapped(text: str) -> bool:
    """A "(cid:N)" placeholder or a garbage character in a glyph's text."""
    return ("(cid:" in text and _CID_PLACEHOLDER.search(text) is not None) or any(map(_is_garbage_char, text))


def _drop_unmapped(glyphs: list[_Glyph]) -> tuple[list[_Glyph], int]:
    """Remove glyphs without a Unicode mapping; return the rest and how many were removed.

    pdfminer writes "(cid:N)" for such glyphs. A font that has any of them is not trusted for
    its glyphs in the WinAnsi 0x80-0x9F range either (™ — › œ … are what such fonts emit for
    digits; kampo's header shows this).
    """
    unmapped = [_is_unmapped(g.text) for g in glyphs]
    if not any(unmapped):
        return glyphs, 0
    broken_fonts = {g.font for g, bad in zip(glyphs, unmapped, strict=True) if bad}
    kept, dropped = [], 0
    for g, bad in zip(glyphs, unmapped, strict=True):
        text = g.text
        if bad:
            cleaned = "".join(ch for ch in _CID_PLACEHOLDER.sub("", text) if not _is_garbage_char(ch))
            dropped += 1
            if not cleaned:
                continue
            g.text = cleaned
        elif g.font in broken_fonts and all(ch in _WINANSI_SPECIALS for ch in text):
            dropped += 1
            continue
        kept.append(g)
    return kept, dropped


def _inside(g: _Glyph, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    # g.cx and g.cy, without the property calls
    return x0 <= (g.x0 + g.x1) / 2 <= x1 and top <= (g.top + g.bottom) / 2 <= bottom


def _inside_any(g: _Glyph, boxes: list[tuple[float, float, float, float]]) -> bool:
    return any(_inside(g, b) for b in boxes)

