"""Segment: extracted blocks → sections (heading path), paragraphs and sentences, NFKC-normalized.

Input: an ``ExtractedDocument``. Output: a ``Segmented`` document. Sentence ids are global and
stable for one PDF and configuration; every sentence knows its page, paragraph and section, which
is what makes each later row traceable to "page N, sentence M".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract import Block, ExtractedDocument
from pipeline.headings import REFERENCES, SUMMARY, section_role
from pipeline.normalize import normalize_text
from pipeline.records import quick_pickle
from pipeline.urls import url_spans


@dataclass(frozen=True)
class Section:
    section_id: int  # 0 is the implicit section before the first heading
    level: int
    heading: str
    path: tuple[str, ...]  # headings from the chapter down to this one
    parent_id: int | None
    page: int
    # What the section is, from its heading's words or else its parent's (pipeline.headings):
    # "summary" (要旨, エグゼクティブ・サマリー … and everything under it), "references", or "".
    role: str = ""


# What a paragraph or sentence is: the extractor's block kinds, and "reference" for an entry of a
# reference list (contents entries are no sentences: see ExtractedDocument.contents). Only "body"
# and "heading" text describes a subject's policy; the other kinds are kept, labelled, for search
# and evidence.
SENTENCE_KINDS = ("body", "heading", "caption", "footnote", "figure_text", "reference")
# Kinds that are read as running text, split into sentences.
_SPLIT_KINDS = ("body",)


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
class Paragraph:
    paragraph_id: int
    section_id: int
    page: int  # where it starts
    kind: str  # one of SENTENCE_KINDS
    text: str


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
class Sentence:
    sentence_id: int
    paragraph_id: int
    section_id: int
    page: int  # where the sentence starts
    index: int  # position within its paragraph
    kind: str  # one of SENTENCE_KINDS
    text: str


@dataclass(frozen=True)
class Footnote:
    """A footnote and where it is cited: the sentences whose footnote markers carry its label."""

    page: int
    label: str  # as printed, NFKC: "1", "12", "※2"
    sentence_id: int  # the footnote's own sentence (kind "footnote")
    text: str
    cited_by: tuple[int, ...]  # sentence ids, in order


@dataclass(frozen=True)
class Segmented:
    sections: tuple[Section, ...]
    paragraphs: tuple[Paragraph, ...]
    sentences: tuple[Sentence, ...]
    footnotes: tuple[Footnote, ...] = ()
    # Markers whose footnote was not found: (page, label, citing sentence id).
    unmatched_markers: tuple[tuple[int, str, int], ...] = ()


def summary_sentence_ids(seg: Segmented) -> frozenset[int]:
    """The ids of the sentences in the document's executive summary (sections of role
    "summary"); empty when the document has none."""
    summary = {s.section_id for s in seg.sections if s.role == SUMMARY}
    return frozenset(s.sentence_id for s in seg.sentences if s.section_id in summary)


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

    Splits after 。！？ but not inside 「」『』（） and the like, nor at a ``?`` or ``!`` inside a
    URL (``…/dataset?hl=ja``).
    """
    in_url = set()
    for s, e in url_spans(text):
        in_url.update(range(s, e))
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
        if ch in _ENDERS and depth == 0 and i not in in_url:
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


_SIDE_KINDS = ("caption", "footnote", "figure_text")  # may sit between the halves of a body paragraph


def _continues(prev: Block, nxt: Block, between: list[Block]) -> bool:
    """Whether body block ``nxt`` goes on with body block ``prev``'s paragraph: ``prev`` stops
    mid-sentence, and they are cut apart by a page break, or by footnotes, captions and figure
    text only."""
    if prev.kind != "body" or nxt.kind != "body" or prev.text.rstrip().endswith(_PARAGRAPH_OPEN_END):
        return False
    if any(b.kind not in _SIDE_KINDS for b in between):
        return False
    if nxt.page == prev.page + 1:
        return True
    # On one page the extractor already joins lines across a column break; here only a figure,
    # caption or footnote between the halves is left to bridge.
    same_flow = nxt.column == prev.column or (prev.column >= 1 and nxt.column >= 1)
    return nxt.page == prev.page and bool(between) and same_flow


def _marker_offsets(raw: str, markers: tuple[tuple[int, str], ...]) -> list[tuple[int, str]]:
    """Marker offsets in the raw block text → offsets in its normalized text, one per footnote
    cited (a marker ¹,² or ¹⁻³ cites several)."""
    out = []
    for offset, label in markers:
        at = len(normalize_text(raw[:offset]).replace("\n", ""))
        out += [(at, one) for one in _labels(normalize_text(label))]
    return out


def _labels(label: str) -> list[str]:
    """The footnote numbers a marker cites, as their numbers: "1,2" → ["1", "2"];
    "1-3" → ["1", "2", "3"]; "※2", "(注2)", "*2" → ["2"]. A label without digits stays as it is."""
    if re.search(r"\d", label):
        label = re.sub(r"[^\d,、\-–~]", "", label)
    parts = [p for p in re.split(r"[,、]", label) if p]
    out: list[str] = []
    for part in parts:
        span = re.fullmatch(r"(\d+)[-–~](\d+)", part)
        if span and int(span.group(1)) < int(span.group(2)) <= int(span.group(1)) + 20:
            out += [str(n) for n in range(int(span.group(1)), int(span.group(2)) + 1)]
        else:
            out.append(part)
    return out


def segment(doc: ExtractedDocument) -> Segmented:
    """Sections, paragraphs and sentences of ``doc``, with its footnotes linked to the sentences
    that cite them.

    Parameters:
        doc: the extractor's blocks in reading order.
    """
    sections = [Section(0, 0, "", (), None, doc.pages[0].page if doc.pages else 1)]
    stack: list[Section] = []  # open headings, outermost first
    paragraphs: list[Paragraph] = []
    sentences: list[Sentence] = []
    notes: list[tuple[int, str, int]] = []  # (page, label, sentence id) of each footnote
    cites: list[tuple[int, str, int, str]] = []  # (page, label, citing sentence id, its kind) per marker
    # (page, text, markers) pieces of the paragraph being assembled
    pieces: list[tuple[int, str, list[tuple[int, str]]]] = []
    kind = "body"
    held: list[Block] = []  # side blocks met while a body paragraph may still go on

    def flush() -> None:
        nonlocal pieces
        if not pieces:
            return
        first = len(sentences)
        _emit(pieces, kind, stack[-1].section_id if stack else 0, paragraphs, sentences, cites)
        pieces = []
        if kind == "footnote":
            notes.append((sentences[first].page, current_label, first))

    def emit_alone(block: Block, block_kind: str, text: str) -> None:
        nonlocal kind, pieces, current_label
        flush()
        kind, current_label = block_kind, "".join(_labels(normalize_text(block.label)))
        pieces = [(block.page, text, _marker_offsets(block.text, block.markers))]
        flush()
        kind = "body"

    def release_held() -> None:
        nonlocal held
        for b in held:
            emit_alone(b, b.kind, _clean(b.text))
        held = []

    current_label = ""
    blocks = [b for b in doc.blocks if _clean(b.text)]
    last_body: Block | None = None
    for block in blocks:
        text = _clean(block.text)
        if block.kind in _SIDE_KINDS:
            if pieces and kind == "body":
                held.append(block)  # emitted once the body paragraph is finished
            else:
                emit_alone(block, block.kind, text)
            continue
        if block.kind == "body" and pieces and kind == "body" and last_body is not None:
            if _continues(last_body, block, held):
                pieces.append((block.page, text, _marker_offsets(block.text, block.markers)))
                last_body = block
                continue
        flush()
        release_held()
        if block.kind == "heading":
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
                role=_role(text, parent),
            )
            sections.append(section)
            stack.append(section)
            emit_alone(block, "heading", text)
            last_body = None
            continue
        if block.kind == "contents" or _CONTENTS_LINE.search(text):
            last_body = None  # a contents entry: in ExtractedDocument.contents, never a sentence
            continue
        if stack and stack[-1].role == REFERENCES:
            emit_alone(block, "reference", text)  # an entry of a reference list: one each
            last_body = None
            continue
        kind = "body"
        pieces = [(block.page, text, _marker_offsets(block.text, block.markers))]
        last_body = block
    flush()
    release_held()
    footnotes, unmatched = _link_footnotes(notes, cites, sentences)
    return Segmented(tuple(sections), tuple(paragraphs), tuple(sentences), footnotes, unmatched)


def _role(heading: str, parent: Section | None) -> str:
    """A section's role: its own heading's (pipeline.headings), else its parent's. A summary is a
    part of the document: only a top-level heading makes one (「2.1 概要」 in a chapter is no
    executive summary)."""
    own = section_role(heading)
    if own == SUMMARY and parent is not None:
        own = ""
    return own or (parent.role if parent else "")


def _clean(text: str) -> str:
    return normalize_text(text).replace("\n", "")


def _link_footnotes(
    notes: list[tuple[int, str, int]], cites: list[tuple[int, str, int, str]], sentences: list[Sentence]
) -> tuple[tuple[Footnote, ...], tuple[tuple[int, str, int], ...]]:
    """Each marker goes to the footnote with its label on its own page, else on the nearest
    page after it (a footnote pushed to the next page), else before it. A raised number in a
    figure or caption that no footnote carries is a label of the figure (10⁴), not a marker."""
    by_label: dict[str, list[tuple[int, int]]] = {}
    for page, label, sid in notes:
        by_label.setdefault(label, []).append((page, sid))
    cited: dict[int, list[int]] = {sid: [] for _, _, sid in notes}
    unmatched = []
    for page, label, citing, kind in cites:
        options = by_label.get(label, [])
        if not options:
            if kind in ("body", "heading"):
                unmatched.append((page, label, citing))
            continue
        _, sid = min(options, key=lambda o: (o[0] < page, abs(o[0] - page)))
        cited[sid].append(citing)
    footnotes = tuple(
        Footnote(page, label, sid, sentences[sid].text, tuple(dict.fromkeys(cited[sid])))
        for page, label, sid in notes
    )
    return footnotes, tuple(unmatched)


def _emit(
    pieces: list[tuple[int, str, list[tuple[int, str]]]],
    kind: str,
    section_id: int,
    paragraphs: list[Paragraph],
    sentences: list[Sentence],
    cites: list[tuple[int, str, int, str]],
) -> None:
    text = "".join(t for _, t, _ in pieces)
    # Character offset where each page's piece starts, to give each sentence its page.
    starts: list[tuple[int, int]] = []
    markers: list[tuple[int, str, int]] = []  # (offset in text, label, page)
    offset = 0
    for page, piece, piece_markers in pieces:
        starts.append((offset, page))
        markers += [(offset + o, label, page) for o, label in piece_markers]
        offset += len(piece)
    paragraph_id = len(paragraphs)
    paragraphs.append(Paragraph(paragraph_id, section_id, pieces[0][0], kind, text))
    spans = split_sentences(text) if kind in _SPLIT_KINDS else [(0, len(text))]
    first = len(sentences)
    for index, (s, e) in enumerate(spans):
        page = next(p for o, p in reversed(starts) if o <= s)
        sentences.append(
            Sentence(len(sentences), paragraph_id, section_id, page, index, kind, text[s:e].strip())
        )
    if kind == "footnote":
        return
    for o, label, page in markers:
        # The marker cites the sentence its preceding character belongs to (深層学習¹ / ました¹。).
        at = max(o - 1, 0)
        index = next((k for k, (s, e) in enumerate(spans) if s <= at < e), len(spans) - 1)
        cites.append((page, label, first + index, kind))
