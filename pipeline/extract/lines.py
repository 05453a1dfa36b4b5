"""Lines: rows of glyphs, their text and size, joining wrapped lines."""
from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from operator import attrgetter

from pipeline.extract.constants import _SPACE_GAP_CJK, _SPACE_GAP_LATIN
from pipeline.extract.model import _Glyph, _Line
from pipeline.urls import url_continues

# Lines: rows of glyphs, their text, joining wrapped lines
# ---------------------------------------------------------------------------------------------


def _cluster_rows(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """Group glyphs into rows: a glyph joins the current row when at least half its height
    overlaps the row's vertical band. Rows come out top to bottom, glyphs left to right."""
    rows: list[list[_Glyph]] = []
    band_top = band_bottom = 0.0
    row: list[_Glyph] = []
    for g in sorted(glyphs, key=_TOP_X0):
        top, bottom = g.top, g.bottom
        height = bottom - top
        if height < 0.1:  # max(height, 0.1)
            height = 0.1
        # the overlap with the band: min(band_bottom, bottom) - max(band_top, top)
        overlap = (bottom if bottom < band_bottom else band_bottom) - (top if top > band_top else band_top)
        if rows and overlap >= 0.5 * height:
            row.append(g)
            if bottom > band_bottom:
                band_bottom = bottom
        else:
            row = [g]
            rows.append(row)
            band_top, band_bottom = top, bottom
    for row in rows:
        row.sort(key=_X0)
    return [row for row in rows if any(not g.text.isspace() for g in row)]


_TOP_X0 = attrgetter("top", "x0")
_X0 = attrgetter("x0")
_X1 = attrgetter("x1")
_TOP = attrgetter("top")
_BOTTOM = attrgetter("bottom")
_SIZE = attrgetter("size")


@functools.lru_cache(maxsize=None)
def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _is_latin_word_char(ch: str) -> bool:
    return ch.isalnum() and not _is_wide(ch) and ord(ch) < 0x2000


def _glyph_run_text(glyphs: list[_Glyph], start, end) -> tuple[str, list[tuple[int, str]]]:
    """Text of glyphs in reading order, and the footnote markers left out of it (offset in the
    text, label). A space is added for a gap of about a full character (even between kanji: a
    visible blank), or for word spacing between Latin glyphs; never for the small gaps of
    justified Japanese text. ``start``/``end`` give a glyph's extent along the line (x for
    horizontal, y for vertical writing)."""
    parts: list[str] = []
    length = 0
    markers: list[tuple[int, str]] = []
    prev: _Glyph | None = None
    prev_end = 0.0
    label = ""
    last_blank = False  # whether parts[-1] is blank
    cjk_gap, latin_gap = _SPACE_GAP_CJK, _SPACE_GAP_LATIN
    for g in glyphs:
        text = g.text
        if g.marker:
            label += text
            continue
        if label:
            markers.append((length, label))
            label = ""
        if text.isspace():
            if not parts or not last_blank:
                # (a leading full-width space marks an indent; kept for now)
                parts.append(text)
                length += len(text)
                last_blank = True
            continue
        if prev is not None and parts and not last_blank:
            gap = start(g) - prev_end
            size, prev_size = g.size, prev.size
            if prev_size > size:  # max(g.size, prev.size)
                size = prev_size
            if gap >= cjk_gap * size or (
                gap >= latin_gap * size and not _is_wide(prev.text[-1]) and not _is_wide(text[0])
            ):
                parts.append(" ")
                length += 1
        parts.append(text)
        length += len(text)
        last_blank = False
        stop = end(g)
        if prev is None or stop > prev_end:
            prev_end = stop
        prev = g
    text = "".join(parts).rstrip()
    if label:
        markers.append((len(text), label))
    return text, [(min(o, len(text)), lab) for o, lab in markers]


def _dominant_size(glyphs: list[_Glyph]) -> float:
    sizes = Counter(round(g.size, 1) for g in glyphs if not g.text.isspace())
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _mostly_bold(glyphs: list[_Glyph]) -> bool:
    """Whether more than half the ``glyphs`` that are not blank are bold (False with none)."""
    bold = [g.bold for g in glyphs if not g.text.isspace()]
    return bool(bold) and sum(bold) * 2 > len(bold)


def _lines_mostly_bold(lines: list[_Line]) -> bool:
    """``_mostly_bold`` of all the glyphs of ``lines``, from the counts each line kept when it
    was made (``_Line.visible``, ``_Line.bold_glyphs``; a line without them is counted)."""
    visible = bold = 0
    for line in lines:
        if line.visible < 0 or line.bold_glyphs < 0:
            counted = [g.bold for g in line.glyphs if not g.text.isspace()]
            visible += len(counted)
            bold += sum(counted)
        else:
            visible += line.visible
            bold += line.bold_glyphs
    return visible > 0 and bold * 2 > visible


def _make_line(glyphs: list[_Glyph], column: int = 0) -> _Line:
    # A line ends where its ink ends: a space glyph far out (word processors pad lines) is not
    # text. It starts at its first glyph, spaces too: a leading full-width space is an indent.
    visible = [g for g in glyphs if not g.text.isspace()]
    ink = visible or glyphs
    if all(g.marker for g in ink):  # a marker with no text to follow is text itself
        for g in ink:
            g.marker = False
    x0 = min(map(_X0, glyphs))  # (a map of getters: no generator frame per glyph)
    top = min(map(_TOP, glyphs))
    text, markers = _glyph_run_text(glyphs, _X0, _X1)
    # _dominant_size, _mostly_bold and _dominant_font of the glyphs, in one pass over the
    # visible ones (the same counts in the same order: ties go the same way). Sizes are counted
    # as set, then rounded once per size: a rounded size first comes with the first glyph of
    # that size either way.
    exact: dict[float, int] = {}
    fonts: dict[str, int] = {}
    n_bold = 0
    for g in visible:
        size = g.size
        exact[size] = exact.get(size, 0) + 1
        font = g.font
        fonts[font] = fonts.get(font, 0) + 1
        n_bold += g.bold
    sizes: dict[float, int] = {}
    for size, count in exact.items():
        if size != size:  # a NaN: each glyph's rounding its own size, as when counted one by one
            sizes.update((round(size, 1), 1) for _ in range(count))
            continue
        size = round(size, 1)
        sizes[size] = sizes.get(size, 0) + count
    return _Line(
        glyphs=glyphs,
        text=text,
        markers=markers,
        x0=x0,
        x1=max(map(_X1, ink)),
        top=top,
        bottom=max(map(_BOTTOM, glyphs)),
        size=max(sizes, key=sizes.__getitem__) if sizes else 0.0,
        bold=bool(visible) and n_bold * 2 > len(visible),
        page_x0=x0,
        page_top=top,
        column=column,
        font=max(fonts, key=fonts.__getitem__) if fonts else "",
        visible=len(visible),
        bold_glyphs=n_bold,
        font_counts=fonts,
    )


def _dominant_font(glyphs: list[_Glyph]) -> str:
    fonts = Counter(g.font for g in glyphs if not g.text.isspace())
    return fonts.most_common(1)[0][0] if fonts else ""


def _lines_dominant_font(lines: list[_Line]) -> str:
    """``_dominant_font`` of all the glyphs of ``lines``, from the counts each line kept when it
    was made (``_Line.font_counts``; a line without them is counted): the same counts, the
    fonts in the order they first come, so a tie goes the same way."""
    fonts: dict[str, int] = {}
    for line in lines:
        counts = line.font_counts
        if counts is None:
            counts = Counter(g.font for g in line.glyphs if not g.text.isspace())
        for font, count in counts.items():
            fonts[font] = fonts.get(font, 0) + count
    return max(fonts, key=fonts.__getitem__) if fonts else ""


def _join_two(left: str, right: str) -> str:
    """Join a wrapped line to the next: no space, except between two Latin/digit words (but
    not inside a URL cut by the wrap)."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    a, b = left[-1], right[0]
    if url_continues(left, right):
        return left + right  # a URL cut by the wrap (…/access-base- / registries/…, …/dataset? / hl=ja)
    if a.isdigit() and b.isdigit() and any(_is_wide(ch) for ch in left[-20:]):
        return left + right  # a number broken by the wrap inside Japanese text (平成2 / 8年)
    if (_is_latin_word_char(a) or a in ",.;:!?)%") and (_is_latin_word_char(b) or b == "("):
        return f"{left} {right}"
    return left + right


def _join_lines(texts: list[str]) -> str:
    joined = ""
    for text in texts:
        joined = _join_two(joined, text) if joined else text.strip()
    return joined.strip()


def _join_lines_with_markers(lines: list[_Line]) -> tuple[str, list[tuple[int, str]]]:
    """``_join_lines`` of the lines' texts, with their footnote markers' offsets carried into
    the joined text."""
    joined = ""
    markers: list[tuple[int, str]] = []
    for line in lines:
        text = line.text
        if not joined:
            new = text.strip()
        else:
            new = _join_two(joined, text)
            kept = len(joined.rstrip())
            markers = [(min(o, kept), lab) for o, lab in markers]
        right = text.lstrip() if joined else text.strip()
        base = len(new) - len(right) if joined else 0
        lead = len(text) - len(text.lstrip())
        markers += [(base + min(max(o - lead, 0), len(right)), lab) for o, lab in line.markers]
        joined = new
    final = joined.strip()
    lead = len(joined) - len(joined.lstrip())
    return final, [(min(max(o - lead, 0), len(final)), lab) for o, lab in markers]


# ---------------------------------------------------------------------------------------------
def _body_size(glyphs: list[_Glyph], default: float, upper_part: tuple[float, float] | None = None) -> float:
    """The most common font size (rounded to 0.5 pt), weighted by glyph count.

    ``upper_part``: (page top, page height): count only glyphs in the upper 70 % of the page
    (when it has any), where footnotes do not sit: on a page with long footnotes in 7 pt the
    footnote glyphs can outnumber the 10.5 pt body glyphs.
    """
    visible = [g for g in glyphs if not g.text.isspace()]
    if upper_part is not None:
        limit = upper_part[0] + _UPPER_PART * upper_part[1]
        visible = [g for g in visible if (g.top + g.bottom) / 2 <= limit] or visible  # g.cy <= limit
    # counted as set, then rounded once per size (a rounded size comes first with its first
    # glyph either way: ties go as when each glyph's size is rounded)
    sizes: dict[float, int] = {}
    for size, count in Counter(map(_SIZE, visible)).items():
        size = round(size * 2) / 2
        sizes[size] = sizes.get(size, 0) + count
    return max(sizes, key=sizes.__getitem__) if sizes else default


_UPPER_PART = 0.7


