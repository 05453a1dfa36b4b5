"""Segment: extracted blocks → sections (heading path), paragraphs and sentences, NFKC-normalized.

Input: an ``ExtractedDocument``. Output: a ``Segmented`` document. Sentence ids are global and
stable for one PDF and configuration; every sentence knows its page, paragraph and section, which
is what makes each later row traceable to "page N, sentence M".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract import Block, ExtractedDocument
from pipeline.normalize import normalize_text


@dataclass(frozen=True)
class Section:
    section_id: int  # 0 is the implicit section before the first heading
    level: int
    heading: str
    path: tuple[str, ...]  # headings from the chapter down to this one
    parent_id: int | None
    page: int


@dataclass(frozen=True)
class Paragraph:
    paragraph_id: int
    section_id: int
    page: int  # where it starts
    kind: str  # "paragraph" | "heading" | "contents"
    text: str


@dataclass(frozen=True)
class Sentence:
    sentence_id: int
    paragraph_id: int
    section_id: int
    page: int  # where the sentence starts
    index: int  # position within its paragraph
    kind: str  # "paragraph" | "heading" | "contents"
    text: str


@dataclass(frozen=True)
class Segmented:
    sections: tuple[Section, ...]
    paragraphs: tuple[Paragraph, ...]
    sentences: tuple[Sentence, ...]


_OPEN = "「『（(【〔［[〈《"
_CLOSE = "」』）)】〕］]〉》"
_ENDERS = "。！？!?"
# Closing marks that belong to the sentence they follow: 「…。」 or （…。）
_TRAILERS = _CLOSE + "\"'”’"
# An opening bracket never closed within this many characters is a typo or a layout artefact,
# not a quotation: stop honouring it so it cannot swallow the rest of the paragraph.
_MAX_BRACKET_SPAN = 300


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) covering ``text`` with nothing lost or duplicated.

    Splits after 。！？ but not inside 「」『』（） and the like.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    depth = 0
    opened_at = -1
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _OPEN:
            if depth == 0:
                opened_at = i
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth and i - opened_at > _MAX_BRACKET_SPAN:
            # Re-scan from just after the unmatched bracket, treating it as plain text.
            depth = 0
            i = opened_at + 1
            continue
        if ch in _ENDERS and depth == 0:
            end = i + 1
            while end < n and (text[end] in _ENDERS or text[end] in _TRAILERS):
                end += 1
            spans.append((start, end))
            start = end
            i = end
            continue
        i += 1
    if start < n:
        spans.append((start, n))
    return _drop_blank(text, spans)


def _drop_blank(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fold whitespace-only spans into their neighbour so no sentence is empty."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if text[s:e].strip():
            out.append((s, e))
        elif out:
            out[-1] = (out[-1][0], e)
    return out


_PARAGRAPH_OPEN_END = tuple(_ENDERS + _CLOSE)
# A table-of-contents entry: a title, a leader of dots, a page number (第2章 中国 . . . . 5).
_CONTENTS_LINE = re.compile(r"(?:[.．・…‥·]\s?){3,}\s*\d+\s*$")


def _continues_on_next_page(prev: Block, nxt: Block) -> bool:
    """A paragraph cut by a page break: the last block of a page stops mid-sentence."""
    return (
        prev.kind == "paragraph"
        and nxt.kind == "paragraph"
        and nxt.page == prev.page + 1
        and not prev.text.rstrip().endswith(_PARAGRAPH_OPEN_END)
    )


def segment(doc: ExtractedDocument) -> Segmented:
    sections = [Section(0, 0, "", (), None, doc.pages[0].page if doc.pages else 1)]
    stack: list[Section] = []  # open headings, outermost first
    paragraphs: list[Paragraph] = []
    sentences: list[Sentence] = []
    # (page, text) pieces of the paragraph being assembled
    pieces: list[tuple[int, str]] = []
    kind = "paragraph"

    def flush() -> None:
        nonlocal pieces
        if not pieces:
            return
        _emit(pieces, kind, stack[-1].section_id if stack else 0, paragraphs, sentences)
        pieces = []

    blocks = doc.blocks
    for i, block in enumerate(blocks):
        text = normalize_text(block.text).replace("\n", "")
        if not text:
            continue
        if block.kind == "heading":
            flush()
            level = max(1, block.level)
            while stack and stack[-1].level >= level:
                stack.pop()
            parent = stack[-1] if stack else None
            section = Section(
                section_id=len(sections),
                level=level,
                heading=text,
                path=(parent.path if parent else ()) + (text,),
                parent_id=parent.section_id if parent else None,
                page=block.page,
            )
            sections.append(section)
            stack.append(section)
            kind = "heading"
            pieces = [(block.page, text)]
            flush()
            kind = "paragraph"
            continue
        if _CONTENTS_LINE.search(text):
            flush()
            kind = "contents"  # not body text: no subject, split as one entry
            pieces = [(block.page, text)]
            flush()
            kind = "paragraph"
            continue
        pieces.append((block.page, text))
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if nxt is None or not _continues_on_next_page(block, nxt):
            flush()
    flush()
    return Segmented(tuple(sections), tuple(paragraphs), tuple(sentences))


def _emit(
    pieces: list[tuple[int, str]],
    kind: str,
    section_id: int,
    paragraphs: list[Paragraph],
    sentences: list[Sentence],
) -> None:
    text = "".join(t for _, t in pieces)
    # Character offset where each page's piece starts, to give each sentence its page.
    starts: list[tuple[int, int]] = []
    offset = 0
    for page, piece in pieces:
        starts.append((offset, page))
        offset += len(piece)
    paragraph_id = len(paragraphs)
    paragraphs.append(Paragraph(paragraph_id, section_id, pieces[0][0], kind, text))
    spans = split_sentences(text) if kind == "paragraph" else [(0, len(text))]
    for index, (s, e) in enumerate(spans):
        page = next(p for o, p in reversed(starts) if o <= s)
        sentences.append(
            Sentence(len(sentences), paragraph_id, section_id, page, index, kind, text[s:e].strip())
        )
