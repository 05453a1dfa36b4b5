"""Paragraphs and headings from lines in reading order."""
from __future__ import annotations

import re
import statistics

from pipeline.extract.constants import (
    _CONTENTS_BARE_ENTRY,
    _CONTENTS_ENTRY,
    _CONTENTS_TITLE,
    _LARGER_FONT,
    _LIST_START,
    _MAX_HEADING_CHARS,
    _MAX_NUMBERED_BODY_HEADING_CHARS,
    _NUMBERING,
    _SENTENCE_END,
    _SHORT_LINE,
)
from pipeline.extract.figures import CAPTION
from pipeline.extract.lines import _lines_dominant_font, _lines_mostly_bold
from pipeline.extract.model import Block, _BlockDraft, _Draft, _Line
from pipeline.urls import url_continues

# Paragraphs and headings
# ---------------------------------------------------------------------------------------------


def _column_edges(lines: list[_Line], body_size: float) -> dict[tuple[bool, int], tuple[float, float]]:
    """Left and right text edge per column (vertical tiers keyed by segment)."""
    groups: dict[tuple[bool, int], list[_Line]] = {}
    for line in lines:
        key = (True, line.segment) if line.vertical else (False, line.column)
        groups.setdefault(key, []).append(line)
    edges = {}
    for key, group in groups.items():
        body = [ln for ln in group if abs(ln.size - body_size) <= 0.6] or group
        reach = 2 * body_size
        left = -_shared_extreme([-ln.x0 for ln in body], reach=reach)
        edges[key] = (left, _shared_extreme([ln.x1 for ln in body], reach=reach))
    return edges


def _shared_extreme(values: list[float], tolerance: float = 1.5, reach: float = float("inf")) -> float:
    """The value most lines share (justified text ends its full lines at the same x), so that
    lines overhanging the margin (a hanging 、, a run of Latin letters the typesetter could not
    break) do not move the edge, even when two of them happen to agree; of clusters as large as
    each other, the larger value. The plain maximum when no two lines agree within ``reach`` of
    it (ragged text)."""
    ordered = sorted(values, reverse=True)
    near = [v for v in ordered if ordered[0] - v <= reach]
    best, best_size, i = ordered[0], 1, 0
    while i < len(near):
        j = i
        while j + 1 < len(near) and near[i] - near[j + 1] <= tolerance:
            j += 1
        if j - i + 1 > best_size:
            best, best_size = near[i], j - i + 1
        i = j + 1
    return best


def _edge_key(line: _Line) -> tuple[bool, int]:
    return (True, line.segment) if line.vertical else (False, line.column)


def _typical_gap(lines: list[_Line], body_size: float) -> float:
    """Median blank space between consecutive body lines of the same segment."""
    gaps = [
        b.top - a.bottom
        for a, b in zip(lines, lines[1:], strict=False)
        if a.segment == b.segment and abs(a.size - body_size) <= 0.6 and abs(b.size - body_size) <= 0.6
        and -0.5 * body_size <= b.top - a.bottom <= 2 * body_size
    ]
    return statistics.median(gaps) if gaps else 0.5 * body_size


def _numbering(text: str) -> tuple[int, str]:
    for pattern, level, kind in _NUMBERING:
        if pattern.match(text):
            return level, kind
    return 0, ""


def _heading_kind(
    line: _Line, body_size: float, body_bold: bool, right_edge: float, body_font: str = ""
) -> tuple[bool, int, str, bool]:
    """Decide whether a line starts a heading. Returns (is_heading, numbering level,
    numbering kind, larger font).

    A heading is set larger or bolder than the body, or a little larger in another face (an 11 pt
    gothic ●-title over 10.5 pt body text), or starts with a section number; a
    numbered line in body font is a list item unless it is short, stands alone on its line and
    does not end like a sentence.
    """
    text = line.text.strip()
    larger = line.size >= body_size + _LARGER_FONT
    other_face = bool(body_font) and line.font != body_font and line.size >= body_size + 0.25
    styled = larger or (line.bold and not body_bold) or other_face
    level, kind = _numbering(text)
    ends_sentence = text.endswith(_SENTENCE_END)
    if styled:
        if len(text) <= _MAX_HEADING_CHARS and not ends_sentence:
            return True, level, kind, larger
        return False, 0, "", larger
    if not level or kind == "bare":  # "1 text" / "1." need a heading font
        return False, 0, "", False
    short_line = line.x1 < right_edge - 2 * line.size
    if len(text) <= _MAX_NUMBERED_BODY_HEADING_CHARS and not ends_sentence and short_line:
        return True, level, kind, False
    return False, 0, "", False


def _build_blocks(page: int, lines: list[_Line], body_size: float) -> list[_BlockDraft]:
    edges = _column_edges(lines, body_size)
    gap = _typical_gap(lines, body_size)
    body_bold = _lines_mostly_bold(lines)  # bold is then no signal
    body_font = _lines_dominant_font([line for line in lines if abs(line.size - body_size) <= 0.25])
    blocks: list[_BlockDraft] = []
    current: _BlockDraft | None = None
    entries = _contents_lines(lines)
    for i, line in enumerate(lines):
        numberless = i in entries and not entries[i] and not _CONTENTS_BARE_ENTRY.search(line.text)
        if numberless and i + 1 in entries and lines[i + 1].top - line.bottom < 1.5 * line.size \
                and lines[i + 1].x0 >= line.x0 - 1.0:
            # the first line of an entry whose title wraps onto the next, which ends in the page number
            current = _BlockDraft(page=page, kind="contents_title", lines=[line])
            blocks.append(current)
            continue
        if i in entries:
            # A contents entry is a block of its own, with the wrapped first part of its title.
            wrapped = current is not None and current.kind == "contents_title" and current.lines[-1] is lines[i - 1]
            if wrapped:
                current.kind = "contents"
                current.lines.append(line)
            else:
                current = _BlockDraft(page=page, kind="contents", lines=[line])
                blocks.append(current)
            current = None
            continue
        if i + 1 in entries and not line.text.rstrip().endswith(_SENTENCE_END) and not _CONTENTS_TITLE.match(line.text) \
                and (entries[i + 1] or _CONTENTS_ENTRY.search(lines[i + 1].text)) and lines[i + 1].top - line.bottom < 1.5 * line.size:
            # the first line of an entry whose title wraps onto the line with the leader
            current = _BlockDraft(page=page, kind="contents_title", lines=[line])
            blocks.append(current)
            continue
        if _CONTENTS_TITLE.match(line.text):
            current = _BlockDraft(page=page, kind="contents", lines=[line])
            blocks.append(current)
            current = None
            continue
        _, right_edge = edges[_edge_key(line)]
        is_heading, level, kind, larger = _heading_kind(line, body_size, body_bold, right_edge, body_font)
        if current is not None:
            prev = lines[i - 1]
            if current.kind == "heading":
                # Only an unnumbered line in the same style continues a (wrapped) heading.
                joins = not level and _continues_heading(current, prev, line, gap, body_font, body_size)
            else:
                joins = not is_heading and not _starts_paragraph(current, prev, line, edges, gap)
            if joins:
                current.lines.append(line)
                continue
        current = _BlockDraft(
            page=page,
            kind="heading" if is_heading else "body",
            lines=[line],
            numbering=kind,
            number_level=level,
            larger=larger,
        )
        blocks.append(current)
    for block in blocks:
        if block.kind == "contents_title":  # its entry line never came: an ordinary line after all
            block.kind = "body"
        if block.kind in ("body", "heading") and _is_caption(block, body_size):
            block.kind = "caption"
    return blocks


def _contents_lines(lines: list[_Line]) -> dict[int, bool]:
    """Lines that are entries of a table of contents: a leader of dots and a page number at the
    end (any page), or, after a 目次 / Contents title on this page, a page number set apart at the
    end. Index → whether it was found by its leader."""
    found: dict[int, bool] = {}
    after_title = False
    for i, line in enumerate(lines):
        text = line.text.rstrip()
        if _CONTENTS_TITLE.match(text):
            after_title = True
            continue
        if _CONTENTS_ENTRY.search(text):
            found[i] = True
        elif after_title and not text.endswith(_SENTENCE_END):
            found[i] = False  # on a contents page, an entry may lack a leader or a page number
    return found


# A figure's or table's credit or note line: 資料：…, 出典：…, （出所）…, 提供：…
_CREDIT = re.compile(
    r"^[\s\u3000]*(?:[（(【](?:資料|出典|出所|提供|備考)[）)】]|(?:資料|出典|出所|提供|備考)[\s\u3000]*[：:])"
)


def _is_caption(block: _BlockDraft, body_size: float) -> bool:
    """A caption (図1-1 …, 表3-2 …, ■第1-2-1図／…, Figure 2 …) or, set smaller than the body, a
    credit line (資料：…, 出典：…) that goes with a figure or table."""
    text = block.lines[0].text
    if CAPTION.match(text) and len(text) <= _MAX_CAPTION_CHARS:
        return True
    # (the pattern first: the block's size is counted over its lines, for the few credit lines only)
    return _CREDIT.match(text) is not None and block.size <= body_size - 0.5


_MAX_CAPTION_CHARS = 120


def _continues_heading(
    current: _BlockDraft, prev: _Line, line: _Line, gap: float, body_font: str = "", body_size: float = 0.0
) -> bool:
    """A wrapped heading: same style, close below, heading not numbered in body font."""
    first = current.lines[0]
    if not (current.larger or first.bold or (body_font and first.font != body_font)):
        return False
    if len("".join(ln.text for ln in current.lines)) + len(line.text) > _MAX_HEADING_CHARS + 20:
        return False
    return (
        line.segment == prev.segment
        and abs(line.size - prev.size) <= 0.25  # an 11 pt title over 10.5 pt text does not go on
        and line.bold == prev.bold
        # a title in the text's size and its own face: the text's face ends it
        and (line.font == prev.font or line.bold or line.size >= body_size + 0.25)
        and line.top - prev.bottom <= gap + 0.5 * line.size
        and not _numbering(line.text.strip())[0]
    )


def _starts_paragraph(
    current: _BlockDraft,
    prev: _Line,
    line: _Line,
    edges: dict[tuple[bool, int], tuple[float, float]],
    gap: float,
) -> bool:
    """Whether ``line`` begins a new paragraph rather than continuing ``current``."""
    size = line.size or prev.size
    indent = 0.5 * size
    _, prev_right = edges[_edge_key(prev)]
    left, _ = edges[_edge_key(line)]
    prev_text = prev.text.rstrip()
    prev_short = prev.x1 < prev_right - _SHORT_LINE * size

    # A full line that stops mid-sentence wraps into the next one, whatever the indent says
    # (a hanging indent under a numbered item looks like a first-line indent).
    mid_sentence = not prev_short and not prev_text.endswith(_SENTENCE_END)

    if abs(line.size - prev.size) > 0.5 or line.bold != prev.bold:  # font change
        return True
    if line.font != prev.font and abs(line.size - prev.size) >= 0.25:  # another face and size
        return True
    if line.segment == prev.segment and line.top - prev.bottom <= gap + 0.6 * size \
            and url_continues(prev_text, line.text):
        return False  # a URL cut by the wrap goes on, wherever its rest starts (…/access-base- / registries/…)
    if _run_in_title(current, prev, line, prev_short):
        return True
    if line.segment != prev.segment:
        # Column (or tier) change: the paragraph goes on only if the last line was full and
        # the new one is not indented, from column to column (a line across the columns, such
        # as a title, is not continued by the first line of a column).
        if (line.column == 0) != (prev.column == 0):
            return not _wraps_into_column(prev, line, edges, gap, mid_sentence)
        return not mid_sentence or line.x0 > left + indent or line.text[:1] in ("\u3000", " ")
    if line.top - prev.bottom > gap + 0.6 * size:  # blank space clearly larger than leading
        return True
    if prev_short and prev_text.endswith(_SENTENCE_END):  # sentence ended before the margin
        return True
    if (len(current.lines) == 1 and prev_text.endswith(_SENTENCE_END) and prev.x0 > left + indent
            and abs(line.x0 - prev.x0) <= indent):
        # A one-line paragraph set with a first-line indent, ending its sentence near the margin,
        # and a line with the same indent: the next paragraph (a second line would start at the
        # left edge).
        return True
    if prev_short and prev_text.endswith((".", '."', ".”")) and line.text.lstrip()[:1].isupper():
        return True  # an English sentence (a reference entry) ended before the margin
    hanging = (  # the second line of an entry set with a hanging indent (a reference, a list item)
        len(current.lines) == 1 and line.x0 > prev.x0 + indent and prev.x0 <= left + indent
        and not prev_text.endswith(_SENTENCE_END) and line.top - prev.bottom <= gap + 0.6 * size
    )
    if hanging:
        return False
    item_end = prev_text.endswith(_ITEM_END) or bool(_LIST_START.match(current.lines[0].text.lstrip()))
    if item_end and prev.x1 < prev_right - _VERY_SHORT_LINE * size and not _latin_wrap(prev_text, line.text):
        # A line that stops well before the margin after a closing bracket, or in a list item,
        # ends the item: a list item, an entry of a reference list (内閣府（2023）「…」).
        return True
    if _next_list_item(current, prev_short, line):
        return True
    if line.text[:1] in ("\u3000", " "):  # an explicit (full-width) space: first-line indent
        return not mid_sentence
    if line.x0 > prev.x0 + indent:
        # Indented: a first-line indent, unless it is the hanging indent under a list item's
        # first line whose sentence goes on.
        hanging = (
            len(current.lines) == 1
            and _LIST_START.match(prev_text.lstrip())
            and not prev_text.endswith(_SENTENCE_END)
        )
        return not (mid_sentence or hanging)
    if line.x0 < prev.x0 - indent and (len(current.lines) >= 2 or prev_short):
        # Back out from a hanging indent (the next item), or after a short indented line
        # (a title): a first-line indent would have filled its line.
        return True
    return False


_VERY_SHORT_LINE = 3.0


def _wraps_into_column(
    prev: _Line, line: _Line, edges: dict[tuple[bool, int], tuple[float, float]], gap: float, mid_sentence: bool
) -> bool:
    """Whether ``line``, in a column, is the last line of the paragraph ``prev`` begins across the
    columns: a paragraph set across the page (a box, an interview above two-column text) whose
    short last line fits in the first column and so is counted in it. It goes on only if ``prev``
    runs to the right edge of the lines across the page and stops mid-sentence (``mid_sentence``),
    and ``line`` starts at their left edge, a line's leading below (``gap``: the page's usual
    blank between lines). A title across the page stops short of that edge: not continued.
    """
    if prev.column != 0 or line.column == 0 or not mid_sentence:
        return False
    size = line.size or prev.size
    left, _ = edges[_edge_key(prev)]
    return abs(line.x0 - left) <= 0.5 * size and -0.5 * size <= line.top - prev.bottom <= gap + 0.6 * size


def _run_in_title(current: _BlockDraft, prev: _Line, line: _Line, prev_short: bool) -> bool:
    """Whether ``prev`` is a title on a line of its own in another face of the text's size (a
    gothic subheading or a defined term over 明朝 text: 「カタログやデータセットの単位に関する検討」,
    「カタログ」 over its definition), which the text that follows must not continue.

    ``current``: the block so far, which the title must begin; ``prev``: the line before ``line``;
    ``prev_short``: whether ``prev`` stops short of the column's right edge. A title is short,
    does not end a sentence and is set wholly in one face, not the face of ``line`` (a line of
    text with a run of Latin letters in another face is not one).
    """
    if len(current.lines) != 1 or not prev_short or prev.text.rstrip().endswith(_SENTENCE_END):
        return False
    faces = prev.font_counts
    return bool(faces) and len(faces) == 1 and bool(line.font) and line.font != prev.font
_ITEM_END = ("」", "』", "）", ")", "\"", "”")


def _latin_wrap(prev_text: str, text: str) -> bool:
    """Whether a Latin word, number or URL was pushed from the end of ``prev_text`` to ``text``."""
    a, b = prev_text.rstrip()[-1:], text.lstrip()[:1]
    return bool(a) and bool(b) and a.isascii() and b.isascii() and (a.isalnum() or a in ",-/:(") and b.isalnum()


def _next_list_item(current: _BlockDraft, prev_short: bool, line: _Line) -> bool:
    """A line starting with a bullet or number is the next list item after a short line, or
    when the paragraph itself began with such a marker at the same indent."""
    if not _LIST_START.match(line.text.strip()):
        return False
    first = current.lines[0]
    same_start = abs(first.x0 - line.x0) <= 0.5 * line.size
    return prev_short or (same_start and bool(_LIST_START.match(first.text.strip())))


def _assign_heading_levels(drafts: list[_Draft]) -> list[Block]:
    """Final blocks. Numbered headings take their level from the numbering; unnumbered ones
    (and （1）/① set in a larger font) from the rank of their font size in the document:
    the largest heading size is level 1, the next 2, the rest 3."""
    heading_sizes = sorted(
        {round(d.size * 2) / 2 for d in drafts if d.kind == "heading" and d.larger}, reverse=True
    )

    def size_level(draft: _Draft) -> int:
        if not draft.larger:
            return min(len(heading_sizes) + 1, 3)
        return min(heading_sizes.index(round(draft.size * 2) / 2) + 1, 3)

    blocks = []
    for d in drafts:
        level = 0
        if d.kind == "heading":
            if d.numbering in ("chapter", "section", "decimal", "bare"):
                level = d.number_level
            elif d.numbering == "paren":
                level = size_level(d) if d.larger else 3
            else:
                level = size_level(d)
        blocks.append(
            Block(
                page=d.page,
                kind=d.kind,
                text=d.text,
                level=level,
                font_size=d.size,
                bold=d.bold,
                x0=d.x0,
                top=d.top,
                column=d.column,
                vertical=d.vertical,
                markers=d.markers,
                label=d.label,
            )
        )
    return [b for b in blocks if b.text]


# ---------------------------------------------------------------------------------------------
