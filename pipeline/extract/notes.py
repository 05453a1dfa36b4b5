"""Footnotes: reference markers in the text, the footnote area at the page bottom, and furigana.

- **Markers** are small raised digits right after a word or before 。 (``深層学習¹``, ``ました²。``),
  or written forms (（注1）, ※2, *3). They are not body text: they are taken out of the line's
  text and kept with their position, so the sentence reads as if they were not there and the
  footnote can be linked to the sentence that cites it.
- **The footnote area** is a run of rows at the bottom of the page set smaller than the body, the
  first of which starts with a footnote number. Each numbered row starts a footnote; the rows after
  it, up to the next number, continue it.
- **Furigana** (ruby: kana of about half the body size set directly above a word) are removed.
"""
from __future__ import annotations

import re

from pipeline.extract.model import _Glyph, _Line

# A marker is set at most this share of its line's size (9 pt markers on 10.5 pt text: 0.86) ...
_MARKER_MAX_SIZE = 0.88
# ... and raised: its bottom at least this share of the line's size above the line's baseline.
_MARKER_RAISE = 0.08
# ... or, in the text's own size, raised well above it (a superscript set by rise alone).
_MARKER_HIGH_RAISE = 0.3
_MARKER_CHARS = frozenset("0123456789０１２３４５６７８９*＊※†‡")
_MARKER_JOINERS = frozenset(",，-–、")  # between digits of one marker: ¹,² or ¹⁻³
# Furigana: kana set at most this share of the body size.
_RUBY_MAX_SIZE = 0.65
_KANA = re.compile(r"^[\u3040-\u30ffー・\s]+$")
# Footnote rows: set at most this share of the body size (7 pt and 8 pt under 10.5 pt text; 9 pt
# under 12 pt) ...
_NOTE_MAX_SIZE = 0.9
# ... and starting with a number: 1, 12, ※1, *1, 注1, (1), 1), followed by a space or text that
# does not continue the number (1.5倍, 2020年 and 3月 are not footnote numbers).
_NOTE_LABEL = re.compile(
    r"^[\s\u3000]*(?P<label>(?:注|※|＊|\*|†)?[\s\u3000]*[0-9０-９]{1,3}|[（(]注?[0-9０-９]{1,3}[)）]"
    r"|(?:注|※|＊|\*|†)[0-9０-９]{0,3})[)）:：.．]?(?=[\s\u3000]|[^0-9０-９.．,，年月日時%％ー\-])"
)
# Written markers in body text: （注1）, (注1), ※1, ＊1, *1 right after a character.
_WRITTEN_MARKER = re.compile(r"(?<=\S)(?:[（(]注[\s\u3000]*([0-9０-９]{1,3})[)）]|[※＊*]([0-9０-９]{1,3})(?![0-9０-９]))")


def merge_raised_rows(rows: list[list[_Glyph]]) -> list[list[_Glyph]]:
    """Put rows that are nothing but small digits, set just above the next row and over its
    extent, into that row (a marker raised so far that it formed a row of its own)."""
    out: list[list[_Glyph]] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        visible = [g for g in row if not g.text.isspace()]
        if nxt is not None and visible and len(visible) <= 4 and all(g.text in _MARKER_CHARS for g in visible):
            size = _main_size(nxt)
            top = min(g.top for g in nxt)
            ink = [g for g in nxt if not g.text.isspace()]
            end = max(g.x1 for g in ink) if ink else 0.0
            small = max(g.size for g in visible) <= _MARKER_MAX_SIZE * size
            # raised digits over the next row, after its start (a credit line's marker, set no
            # smaller than the credit itself)
            trailing = bool(ink) and min(g.x0 for g in ink) + size <= visible[0].x0 <= end + size and all(
                g.text.isdigit() for g in visible)
            after_text = bool(ink) and min(g.x0 for g in ink) + 0.5 * size <= visible[0].x0 <= end + size
            if (small or trailing) and after_text and max(g.bottom for g in visible) <= top + 0.9 * size:
                for g in visible:
                    g.marker = True
                merged = sorted(row + nxt, key=lambda g: g.x0)
                out.append(merged)
                i += 2
                continue
        out.append(row)
        i += 1
    return out


def mark_markers(row: list[_Glyph]) -> None:
    """Flag the footnote markers of a row (glyphs left to right): runs of digits (or ※ * †)
    set smaller than the text they follow and raised above its baseline. A raised number
    before any text is the row's own label (a footnote's number), not a marker. The glyph a
    run follows is the reference, not the row: one row may hold lines of two columns whose
    baselines differ."""
    before: _Glyph | None = None  # the last text glyph
    run: list[_Glyph] = []
    for g in row:
        if g.text.isspace():
            continue
        if before is not None:
            # (the character is looked at first: most glyphs are no marker character)
            if g.text in _MARKER_CHARS or (run and g.text in _MARKER_JOINERS):
                raise_ = before.bottom - g.bottom
                if (
                    g.size <= _MARKER_MAX_SIZE * before.size and raise_ >= _MARKER_RAISE * before.size
                ) or (g.size <= before.size + 0.1 and raise_ >= _MARKER_HIGH_RAISE * before.size):
                    run.append(g)
                    continue
        elif g.text in _MARKER_CHARS and len(row) > 1:
            continue  # leading label digits: not text to measure markers against
        if run:
            _close(run)
            run = []
        before = g
    _close(run)


def _close(run: list[_Glyph]) -> None:
    while run and run[-1].text in _MARKER_JOINERS:
        run.pop()
    if any(g.text.isdigit() for g in run) or any(g.text in "*＊※†‡" for g in run):
        for g in run:
            g.marker = True


def _main_size(glyphs: list[_Glyph]) -> float:
    counts: dict[float, int] = {}
    for g in glyphs:
        if not g.text.isspace():
            counts[round(g.size, 1)] = counts.get(round(g.size, 1), 0) + 1
    return max(counts, key=lambda s: (counts[s], s)) if counts else 0.0


def furigana_rows(rows: list[_Line], body_size: float) -> set[int]:
    """Indices of rows that are furigana: small kana just above a row they sit over."""
    found = set()
    for i, row in enumerate(rows[:-1]):
        if row.size > _RUBY_MAX_SIZE * body_size or not _KANA.match(row.text):
            continue
        below = rows[i + 1]
        close = -1.0 * row.size <= below.top - row.bottom <= 0.6 * body_size
        over = below.x0 - body_size <= row.x0 and row.x1 <= below.x1 + body_size
        if close and over:
            found.add(i)
    return found


def note_label(text: str) -> tuple[str, str] | None:
    """(label, the text after it) when ``text`` starts with a footnote number, else None."""
    m = _NOTE_LABEL.match(text)
    if m is None:
        return None
    label = re.sub(r"[\s\u3000]", "", m.group("label"))
    rest = text[m.end():].lstrip(" \u3000:：.．)）")
    if not rest:
        return None
    return label, rest


def footnote_area(rows: list[_Line], body_size: float, page_top: float, page_height: float) -> int:
    """Index of the first row of the page's footnote area (``len(rows)`` when there is none).

    The area is the run of small rows at the bottom of the page, from the first of them that
    starts with a footnote number; it must lie in the lower half of the page and have body text
    above it.
    """
    start = len(rows)
    while start > 0 and _small(rows[start - 1], body_size):
        if start < len(rows) and rows[start].top - rows[start - 1].bottom > 8 * rows[start].size:
            break  # footnotes are set close together: small text further up is something else
        start -= 1
    if start == len(rows) or start == 0:
        return len(rows)
    for k in range(start, len(rows)):
        if note_label(rows[k].text) is not None:
            if rows[k].top < page_top + 0.5 * page_height:
                return len(rows)
            return k
    return len(rows)


def _small(row: _Line, body_size: float) -> bool:
    return row.size <= _NOTE_MAX_SIZE * body_size and body_size - row.size >= 0.75


def strip_written_markers(text: str, markers: list[tuple[int, str]]) -> tuple[str, list[tuple[int, str]]]:
    """Remove written markers (（注1）, ※1, *1) from a body text; markers already found
    (offsets into ``text``) are moved to match, and the written ones added."""
    found = list(_WRITTEN_MARKER.finditer(text))
    if not found:
        return text, markers
    out: list[str] = []
    new: list[tuple[int, str]] = []
    removed_before: list[tuple[int, int]] = []  # (position in old text, characters removed up to it)
    last = 0
    removed = 0
    for m in found:
        out.append(text[last : m.start()])
        new.append((m.start() - removed, m.group(0)))
        removed += m.end() - m.start()
        removed_before.append((m.end(), removed))
        last = m.end()
    out.append(text[last:])

    def shift(offset: int) -> int:
        taken = 0
        for end, total in removed_before:
            if end <= offset:
                taken = total
        return offset - taken

    moved = [(shift(o), label) for o, label in markers]
    return "".join(out), sorted(moved + new)
