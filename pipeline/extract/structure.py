"""The document's own account of its structure: the table of contents and the PDF outline.

Contents entries are read from the ``contents`` blocks (a title, a leader, a printed page number,
over one or more pages, with titles that wrap). The contents and the outline (bookmarks) then
confirm the headings found in the body by size, weight and numbering: a body line whose text is a
listed title is a heading, at the level the list gives it, and a heading that is listed takes the
list's level (the outline's first, being the author's own tree).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from pipeline.extract.blocks import _numbering
from pipeline.extract.constants import (
    _CONTENTS_BARE_ENTRY,
    _CONTENTS_ENTRY,
    _CONTENTS_TITLE,
    _SENTENCE_END,
)
from pipeline.extract.model import Block, ContentsEntry, OutlineEntry

# A listed title confirms a body line as a heading only when the line is this short.
_MAX_LISTED_HEADING_CHARS = 80


def title_key(text: str) -> str:
    """What two spellings of one title share: NFKC, no spaces, no leader, no trailing number."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTENTS_ENTRY.sub("", text)
    return re.sub(r"[\s\u3000]+", "", text)


def contents_entries(blocks: list[Block]) -> list[ContentsEntry]:
    """The entries of the ``contents`` blocks, in order, with their level: from the title's
    numbering (第1章 1, 1.1 2, （1） 3), else from its indent among the page's entries."""
    raw: list[tuple[Block, str, str]] = []
    for b in blocks:
        if b.kind != "contents" or _CONTENTS_TITLE.match(b.text):
            continue
        found = _CONTENTS_ENTRY.search(b.text) or _CONTENTS_BARE_ENTRY.search(b.text)
        if found is None:
            raw.append((b, b.text.strip(), ""))
            continue
        title = b.text[: found.start(1)]
        title = re.sub(r"[.．・…‥·･_\s\u3000]+$", "", title).strip()
        if title:  # a leader and a number alone name nothing
            raw.append((b, title, found.group(1)))
    indents: list[float] = []  # the entries' left edges over all contents pages
    for b, _, _ in raw:
        if all(abs(b.x0 - x) > 2.0 for x in indents):
            indents.append(b.x0)
    indents.sort()
    entries = []
    for b, title, printed in raw:
        level, numbering = _numbering(unicodedata.normalize("NFKC", title))
        if numbering in ("", "bare"):  # "1 はじめに" may be a chapter or a subsection: the indent says
            level = min(indents.index(next(x for x in indents if abs(b.x0 - x) <= 2.0)) + 1, 3)
        entries.append(ContentsEntry(page=b.page, level=level, title=title, printed_page=printed))
    return entries


def confirm_headings(
    blocks: list[Block], contents: list[ContentsEntry], outline: list[OutlineEntry]
) -> list[Block]:
    """Blocks with the headings the document lists: a short body line that is a listed title
    becomes a heading, and a listed heading takes the listed level (outline first)."""
    listed: dict[str, int] = {}
    if outline:
        top = min(e.level for e in outline)
        for e in outline:
            listed.setdefault(title_key(e.title), e.level - top + 1)
    for e in contents:
        listed.setdefault(title_key(e.title), e.level)
    if not listed:
        return blocks
    contents_pages = {b.page for b in blocks if b.kind == "contents"}
    out = []
    for b in blocks:
        level = listed.get(title_key(b.text))
        if level is not None and b.page not in contents_pages:
            if b.kind == "heading":
                b = replace(b, level=min(level, 3))
            elif (
                b.kind == "body"
                and len(b.text) <= _MAX_LISTED_HEADING_CHARS
                and not b.text.rstrip().endswith(_SENTENCE_END)
            ):
                b = replace(b, kind="heading", level=min(level, 3))
        out.append(b)
    return out


def demote_cover(blocks: list[Block], n_pages: int) -> list[Block]:
    """A cover page (the first page of a document of 3+ pages, with no sentence of running text
    on it) has a title, an issuer and a date, not section headings: its headings become body."""
    first = [b for b in blocks if b.page == 1]
    if n_pages < 3 or not first or blocks[0].page != 1:
        return blocks
    if any(b.kind in ("body", "footnote") and b.text.rstrip().endswith(_SENTENCE_END) for b in first):
        return blocks
    return [replace(b, kind="body", level=0) if b.page == 1 and b.kind == "heading" else b for b in blocks]
