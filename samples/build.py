"""Render the sample edition (and plain text) to PDF, and write JST-style listing and announcement pages.

Pure functions: each takes its input and an output path, writes one file and returns the path.
Output is deterministic (reportlab's ``invariant`` mode: fixed dates and document id), so the
same input gives the same bytes.

Fonts are reportlab's built-in Japanese CID fonts (no font files): HeiseiMin-W3 for body text,
HeiseiKakuGo-W5 for headings. pdfplumber/pdfminer map them back to Unicode exactly.

CLI: ``python -m samples.build --out DIR`` writes ``DIR/sample-report.pdf`` and
``DIR/report_2022.html`` (a listing that links the PDF under ``#fy24_rr02``).
"""
from __future__ import annotations

import argparse
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, Union
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    FrameBreak,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from samples import SAMPLE_EDITION

BODY_FONT = "HeiseiMin-W3"
HEADING_FONT = "HeiseiKakuGo-W5"

PAGE_W, PAGE_H = A4
MARGIN_X = 22 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 22 * mm
COLUMN_GUTTER = 10 * mm
TWO_COL_HEAD_H = 20 * mm  # full-width band above the columns on a two-column chapter's first page

LISTING_FRAGMENT = "fy24_rr02"


# --------------------------------------------------------------------------------------------
# The edition format
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int  # 1 chapter (# 第1章 …), 2 section (## 1.1 …), 3 subsection (### （1） …)
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class TableBlock:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None


@dataclass(frozen=True)
class Columns:
    count: int  # "<!-- columns: 2 -->": the enclosing chapter is set in this many columns


Block = Union[Heading, Para, TableBlock, Columns]


@dataclass
class Chapter:
    heading: Heading
    blocks: list[Block] = field(default_factory=list)
    columns: int = 1


@dataclass
class Edition:
    meta: dict[str, str]
    blocks: list[Block]

    @property
    def title(self) -> str:
        return self.meta.get("title", "")

    @property
    def short_title(self) -> str:
        return self.meta.get("short_title") or self.title

    def chapters(self) -> list[Chapter]:
        """Blocks grouped under their level-1 heading (blocks before the first are dropped)."""
        out: list[Chapter] = []
        for block in self.blocks:
            if isinstance(block, Heading) and block.level == 1:
                out.append(Chapter(block))
            elif out:
                if isinstance(block, Columns):
                    out[-1].columns = block.count
                else:
                    out[-1].blocks.append(block)
        return out

    def headings(self) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading)]


_HEADING_RE = re.compile(r"^(#{1,3})\s+(\S.*?)\s*$")
_COLUMNS_RE = re.compile(r"^<!--\s*columns:\s*([12])\s*-->$")
_COMMENT_RE = re.compile(r"^<!--.*-->$")
_TABLE_SEP_RE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _split_row(line: str) -> tuple[str, ...]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return tuple(cell.strip() for cell in inner.split("|"))


def parse_edition(text: str) -> Edition:
    """Parse the sample format: front matter, headings, paragraphs, pipe tables, directives.

    Paragraph lines are joined with no separator (Japanese has no spaces between words).
    Raises ValueError (with a line number) on a malformed table or unterminated front matter.
    """
    lines = text.splitlines()
    meta: dict[str, str] = {}
    i = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() == "---":
                for raw in lines[1:j]:
                    if raw.strip() and not raw.lstrip().startswith("#"):
                        key, sep, value = raw.partition(":")
                        if not sep:
                            raise ValueError(f"front matter line without ':': {raw!r}")
                        meta[key.strip()] = value.strip()
                i = j + 1
                break
        else:
            raise ValueError("front matter starts with '---' but never ends")

    blocks: list[Block] = []
    para: list[str] = []
    caption: str | None = None

    def flush() -> None:
        if para:
            blocks.append(Para("".join(s.strip() for s in para)))
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
            continue
        m = _COLUMNS_RE.match(stripped)
        if m:
            flush()
            blocks.append(Columns(int(m.group(1))))
            i += 1
            continue
        if _COMMENT_RE.match(stripped):
            flush()
            i += 1
            continue
        m = _HEADING_RE.match(stripped)
        if m:
            flush()
            blocks.append(Heading(len(m.group(1)), m.group(2)))
            i += 1
            continue
        if stripped.startswith("Table:"):
            flush()
            caption = stripped[len("Table:"):].strip() or None
            i += 1
            if i >= len(lines) or not lines[i].strip().startswith("|"):
                raise ValueError(f"line {i}: 'Table:' caption not followed by a table")
            continue
        if stripped.startswith("|"):
            flush()
            start = i
            rows: list[str] = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].strip())
                i += 1
            if len(rows) < 2 or not _TABLE_SEP_RE.match(rows[1]):
                raise ValueError(f"line {start + 1}: table needs a header row and a '|---|' row")
            header = _split_row(rows[0])
            body = tuple(_split_row(r) for r in rows[2:])
            for n, row in enumerate(body):
                if len(row) != len(header):
                    raise ValueError(
                        f"line {start + 3 + n}: {len(row)} cells, header has {len(header)}"
                    )
            blocks.append(TableBlock(header, body, caption))
            caption = None
            continue
        para.append(stripped)
        i += 1
    flush()
    return Edition(meta, blocks)


def load_edition(source: Path = SAMPLE_EDITION) -> Edition:
    return parse_edition(Path(source).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Fonts and styles
# --------------------------------------------------------------------------------------------


def register_fonts() -> None:
    """Register the two built-in Japanese CID fonts (idempotent)."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name in (BODY_FONT, HEADING_FONT):
        if name not in registered:
            pdfmetrics.registerFont(UnicodeCIDFont(name))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body",
        fontName=BODY_FONT,
        fontSize=10.5,
        leading=18,
        firstLineIndent=10.5,  # one full-width character
        wordWrap="CJK",
        alignment=TA_LEFT,
        spaceAfter=4,
    )
    return {
        "body": body,
        "body_noindent": ParagraphStyle("body_noindent", parent=body, firstLineIndent=0),
        "h1": ParagraphStyle(
            "h1", fontName=HEADING_FONT, fontSize=18, leading=26, spaceBefore=0, spaceAfter=14,
            wordWrap="CJK", keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2", fontName=HEADING_FONT, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6,
            wordWrap="CJK", keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3", fontName=HEADING_FONT, fontSize=11, leading=18, spaceBefore=6, spaceAfter=3,
            wordWrap="CJK", keepWithNext=1,
        ),
        "title": ParagraphStyle(
            "title", fontName=HEADING_FONT, fontSize=24, leading=34, alignment=TA_CENTER,
            wordWrap="CJK",
        ),
        "subtitle": ParagraphStyle(
            "subtitle", fontName=HEADING_FONT, fontSize=13, leading=20, alignment=TA_CENTER,
            wordWrap="CJK",
        ),
        "titleinfo": ParagraphStyle(
            "titleinfo", fontName=BODY_FONT, fontSize=13, leading=22, alignment=TA_CENTER,
            wordWrap="CJK",
        ),
        "notice": ParagraphStyle(
            "notice", fontName=BODY_FONT, fontSize=9, leading=15, wordWrap="CJK",
            textColor=colors.HexColor("#333333"),
        ),
        "caption": ParagraphStyle(
            "caption", fontName=HEADING_FONT, fontSize=10, leading=15, alignment=TA_CENTER,
            spaceBefore=6, spaceAfter=4, wordWrap="CJK", keepWithNext=1,
        ),
        "cell": ParagraphStyle(
            "cell", fontName=BODY_FONT, fontSize=8.5, leading=12.5, wordWrap="CJK",
        ),
        "cellhead": ParagraphStyle(
            "cellhead", fontName=HEADING_FONT, fontSize=9, leading=13, wordWrap="CJK",
            alignment=TA_CENTER,
        ),
        "toc0": ParagraphStyle(
            "toc0", fontName=HEADING_FONT, fontSize=10.5, leading=16, leftIndent=0,
            firstLineIndent=0, spaceBefore=3,
        ),
        "toc1": ParagraphStyle(
            "toc1", fontName=BODY_FONT, fontSize=9.5, leading=14, leftIndent=21,
            firstLineIndent=0,
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


# --------------------------------------------------------------------------------------------
# Page decoration
# --------------------------------------------------------------------------------------------


def _draw_footer(canv, page_number: int) -> None:
    canv.saveState()
    canv.setFont(BODY_FONT, 9)
    canv.drawCentredString(PAGE_W / 2, MARGIN_BOTTOM - 12 * mm, f"- {page_number} -")
    canv.restoreState()


def _draw_header(canv, left: str, right: str) -> None:
    canv.saveState()
    y = PAGE_H - MARGIN_TOP + 9 * mm
    canv.setFont(HEADING_FONT, 8)
    canv.setFillColor(colors.HexColor("#444444"))
    canv.drawString(MARGIN_X, y, left)
    if right:
        canv.drawRightString(PAGE_W - MARGIN_X, y, right)
    canv.setStrokeColor(colors.HexColor("#888888"))
    canv.setLineWidth(0.4)
    canv.line(MARGIN_X, y - 2.5 * mm, PAGE_W - MARGIN_X, y - 2.5 * mm)
    canv.restoreState()


class _Marker(Flowable):
    """Zero-size flowable that sets the running-header chapter title when it is drawn."""

    def __init__(self, chapter: str):
        super().__init__()
        self.chapter = chapter
        self.width = self.height = 0

    def wrap(self, availWidth, availHeight):
        return (0, 0)

    def draw(self):
        pass


class _ReportDoc(BaseDocTemplate):
    """A4 report: title page, contents (TOC, two passes), one- and two-column body pages."""

    def __init__(self, filename: str, *, short_title: str, **kw):
        super().__init__(filename, pagesize=A4, invariant=1, **kw)
        self.short_title = short_title
        self._chapter_title = ""
        self._toc_seq = 0
        body_w = PAGE_W - 2 * MARGIN_X
        body_h = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
        col_w = (body_w - COLUMN_GUTTER) / 2

        def one_frame(fid: str) -> Frame:
            return Frame(MARGIN_X, MARGIN_BOTTOM, body_w, body_h, id=fid,
                         leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

        def columns(prefix: str, height: float) -> list[Frame]:
            return [
                Frame(MARGIN_X + k * (col_w + COLUMN_GUTTER), MARGIN_BOTTOM, col_w, height,
                      id=f"{prefix}{k}", leftPadding=0, rightPadding=0, topPadding=0,
                      bottomPadding=0)
                for k in range(2)
            ]

        head = Frame(MARGIN_X, PAGE_H - MARGIN_TOP - TWO_COL_HEAD_H, body_w, TWO_COL_HEAD_H,
                     id="twohead", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        col_h_first = body_h - TWO_COL_HEAD_H

        self.addPageTemplates([
            PageTemplate(id="title", frames=[one_frame("title")]),
            PageTemplate(id="one", frames=[one_frame("body")], onPageEnd=self._decorate),
            PageTemplate(
                id="two_first", frames=[head, *columns("colA", col_h_first)],
                onPageEnd=self._decorate_two(col_h_first), autoNextPageTemplate="two",
            ),
            PageTemplate(
                id="two", frames=columns("colB", body_h), onPageEnd=self._decorate_two(body_h),
            ),
        ])

    # Running header (short title + current chapter) and footer (- N -).
    def _decorate(self, canv, doc) -> None:
        _draw_header(canv, self.short_title, self._chapter_title)
        _draw_footer(canv, canv.getPageNumber())

    def _decorate_two(self, col_h: float):
        def decorate(canv, doc) -> None:
            self._decorate(canv, doc)
            x = PAGE_W / 2
            canv.saveState()
            canv.setStrokeColor(colors.HexColor("#999999"))
            canv.setLineWidth(0.5)
            canv.line(x, MARGIN_BOTTOM, x, MARGIN_BOTTOM + col_h)
            canv.restoreState()

        return decorate

    def beforeDocument(self) -> None:
        self._chapter_title = ""
        self._toc_seq = 0

    def afterFlowable(self, flowable) -> None:
        if isinstance(flowable, _Marker):
            self._chapter_title = flowable.chapter
            return
        level = getattr(flowable, "_toc_level", None)
        if level is None:
            return
        text = flowable._toc_text
        self._toc_seq += 1
        key = f"h{self._toc_seq}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
        self.notify("TOCEntry", (level, escape(text), self.page, key))


def _heading(text: str, level: int, style: ParagraphStyle, *, toc: bool) -> Paragraph:
    para = _p(text, style)
    if toc:
        para._toc_level = level
        para._toc_text = text
    return para


def _table(block: TableBlock, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    out: list[Flowable] = []
    if block.caption:
        out.append(_p(block.caption, styles["caption"]))
    data = [[_p(c, styles["cellhead"]) for c in block.header]]
    data += [[_p(c, styles["cell"]) for c in row] for row in block.rows]
    ncols = len(block.header)
    if ncols == 4:
        fractions = [0.17, 0.26, 0.08, 0.49]
    else:
        fractions = [1 / ncols] * ncols
    table = Table(data, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        # reportlab's CJK line breaking may hang one character past the wrap width (it keeps
        # a character that must not start a line on the previous one); the extra right padding
        # keeps such a character inside its own cell, so pdfplumber assigns it correctly.
        ("RIGHTPADDING", (0, 0), (-1, -1), 4 + styles["cell"].fontSize),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    out.append(table)
    out.append(Spacer(1, 8))
    return out


def _title_page(edition: Edition, styles, edition_note: str | None) -> list[Flowable]:
    meta = edition.meta
    story: list[Flowable] = [Spacer(1, 55 * mm), _p(edition.title, styles["title"])]
    if meta.get("subtitle"):
        story += [Spacer(1, 8 * mm), _p(meta["subtitle"], styles["subtitle"])]
    if edition_note:
        story += [Spacer(1, 6 * mm), _p(f"【{edition_note}】", styles["subtitle"])]
    story.append(Spacer(1, 60 * mm))
    for key in ("date", "publisher"):
        if meta.get(key):
            story.append(_p(meta[key], styles["titleinfo"]))
    if meta.get("notice"):
        story += [Spacer(1, 30 * mm), _p(meta["notice"], styles["notice"])]
    return story


def _story(edition: Edition, edition_note: str | None) -> list[Flowable]:
    styles = _styles()
    body_w = PAGE_W - 2 * MARGIN_X
    col_w = (body_w - COLUMN_GUTTER) / 2

    story = _title_page(edition, styles, edition_note)
    story += [NextPageTemplate("one"), PageBreak(), _Marker("目次")]
    story.append(_p("目次", styles["h1"]))
    toc = TableOfContents(
        levelStyles=[styles["toc0"], styles["toc1"]],
        dotsMinLevel=0,
        tableStyle=TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
        ]),
    )
    story.append(toc)

    note_pending = bool(edition_note)
    for chapter in edition.chapters():
        two = chapter.columns == 2
        story += [NextPageTemplate("two_first" if two else "one"), PageBreak()]
        story.append(_Marker(chapter.heading.text))
        story.append(_heading(chapter.heading.text, 0, styles["h1"], toc=True))
        if two:
            story.append(FrameBreak())
        width = col_w if two else body_w
        for block in chapter.blocks:
            if isinstance(block, Heading):
                style = styles["h2"] if block.level == 2 else styles["h3"]
                if block.level == 2:
                    story.append(CondPageBreak(60))
                story.append(_heading(block.text, 1, style, toc=block.level == 2))
            elif isinstance(block, Para):
                story.append(_p(block.text, styles["body"]))
            elif isinstance(block, TableBlock):
                story += _table(block, styles, width)
        if note_pending:
            # The edition note goes at the end of the first chapter (the summary).
            story.append(_p(f"【改訂注記】{edition_note}", styles["body"]))
            note_pending = False
    return story


# --------------------------------------------------------------------------------------------
# Public builders
# --------------------------------------------------------------------------------------------


def build_sample_pdf(
    out: Path,
    *,
    edition_note: str | None = None,
    source: Path | None = None,
) -> Path:
    """Render the sample edition (or ``source``, a file in the same format) to ``out``.

    ``edition_note`` makes a different edition: it is printed on the title page and appended as
    a paragraph 【改訂注記】… to the first chapter. Same arguments → same bytes.
    """
    register_fonts()
    edition = load_edition(source or SAMPLE_EDITION)
    if not edition.chapters():
        raise ValueError(f"{source or SAMPLE_EDITION}: no '# ' chapter headings")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = _ReportDoc(
        str(out),
        short_title=edition.short_title,
        title=edition.title,
        author=edition.meta.get("publisher", ""),
        subject=edition.meta.get("subtitle", ""),
        creator="jstmine samples.build",
        lang="ja-JP",
    )
    doc.multiBuild(_story(edition, edition_note))
    return out


_URL_RE = re.compile(r"^(https?://|www\.)\S+$")


def looks_like_heading(line: str) -> bool:
    """A short line without sentence punctuation, not a URL and not starting with a digit."""
    s = line.strip()
    return (
        0 < len(s) <= 40
        and "。" not in s
        and not _URL_RE.match(s)
        and not s[0].isdigit()
        and not s.endswith(("、", "，", ","))
    )


def build_text_pdf(text: str, out: Path, *, title: str | None = None) -> Path:
    """Render plain text to a simple A4 PDF: one paragraph per non-empty line.

    Heading-like lines (see :func:`looks_like_heading`) are set in the bold gothic font; URLs
    and other lines as wrapped body paragraphs. Footer: page number "- N -". Deterministic.
    """
    register_fonts()
    styles = _styles()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def decorate(canv, doc) -> None:
        _draw_footer(canv, canv.getPageNumber())

    doc = BaseDocTemplate(
        str(out), pagesize=A4, invariant=1, title=title or "", creator="jstmine samples.build",
        lang="ja-JP",
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, PAGE_W - 2 * MARGIN_X,
                  PAGE_H - MARGIN_TOP - MARGIN_BOTTOM, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=decorate)])

    story: list[Flowable] = []
    if title:
        story += [_p(title, styles["h1"])]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if _URL_RE.match(line):
            story.append(_p(line, styles["body_noindent"]))
        elif looks_like_heading(line):
            story.append(_p(line, styles["h2"]))
        else:
            story.append(_p(line, styles["body"]))
    if not story:
        story.append(Spacer(1, 1))
    doc.build(story)
    return out


def listing_entries(pdf_href: str, *, month_only: bool = False) -> list[dict]:
    """Entries for a listing page: the sample report under ``fy24_rr02`` among two others.

    Parameters:
        pdf_href: the link of the sample report's PDF (relative to the listing page, or absolute).
        month_only: give the ``fy24_rr02`` entry only a year and month (2025年4月), as the real
            listing does, instead of its full date.
    """
    return [
        {
            "id": "fy24_rr03",
            "title": "【調査報告書】アジア・太平洋地域の研究人材の流動（サンプル）",
            "date": "2025年5月12日",
            "href": "fy24_rr03.pdf",
        },
        {
            "id": LISTING_FRAGMENT,
            "title": "【調査報告書】新興技術政策の国際動向（サンプル版）",
            "date": "2025年4月" if month_only else "2025年4月1日",
            "href": pdf_href,
        },
        {
            "id": "fy24_rr01",
            "title": "【調査報告書】東南アジアのデジタル政策（サンプル）",
            "date": "2025年3月14日",
            "href": "archive/fy24_rr01.pdf",
        },
    ]


def build_listing_html(entries: Sequence[dict], out: Path) -> Path:
    """Write a listing page: one ``<div class="report" id=…>`` per entry with title, date and a
    ``<a href="….pdf">PDF</a>`` link, in the given order.

    Each entry needs ``id``, ``title``, ``date`` and ``href``; ``label`` (default "PDF") and
    ``size`` (e.g. "2.1MB") are optional. Ids must be unique.
    """
    seen: set[str] = set()
    items: list[str] = []
    for entry in entries:
        missing = [k for k in ("id", "title", "date", "href") if not entry.get(k)]
        if missing:
            raise ValueError(f"listing entry {entry!r} lacks {', '.join(missing)}")
        if entry["id"] in seen:
            raise ValueError(f"duplicate listing id {entry['id']!r}")
        seen.add(entry["id"])
        e = {k: html.escape(str(v), quote=True) for k, v in entry.items()}
        size = f'<span class="size">（{e["size"]}）</span>' if entry.get("size") else ""
        items.append(
            f'    <div class="report" id="{e["id"]}">\n'
            f'      <h3 class="report-title">{e["title"]}</h3>\n'
            f'      <p class="report-date">{e["date"]}</p>\n'
            f'      <ul class="report-files">\n'
            f'        <li><a href="{e["href"]}">{e.get("label", "PDF")}</a>{size}</li>\n'
            f"      </ul>\n"
            f"    </div>"
        )
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="ja">\n<head>\n  <meta charset="utf-8">\n'
        "  <title>調査報告書一覧（サンプル）| jstmine</title>\n</head>\n<body>\n"
        '  <header><p class="site">jstmine サンプル</p></header>\n'
        '  <main>\n  <h2>調査報告書</h2>\n  <section class="report-list">\n'
        + "\n".join(items)
        + '\n  </section>\n  <p class="pagetop"><a href="#">上へ戻る</a></p>\n  </main>\n'
        "</body>\n</html>\n"
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def build_announcement_html(
    title: str,
    date_line: str,
    report_url: str,
    summary_paragraphs: Sequence[str],
    out: Path,
    *,
    heading: str = "h3",
    link_after: bool = False,
    wrap: bool = True,
    summary_heading: str = "エグゼクティブ・サマリー",
) -> Path:
    """Write a report's announcement page in the shape of JST's site: a header and navigation
    with links, then the main content: the title (``<h2>``), the date line, the download
    paragraph with the report link (its text is the URL itself), the summary's heading and its
    paragraphs, a 上へ戻る link to #top; then a footer with links.

    Parameters:
        title: the page's title, e.g. 【調査報告書】『…』.
        date_line: the date paragraph, e.g. "2025年4月1日 JSTアジア・太平洋総合研究センター".
        report_url: the report link (a listing entry URL with #fragment, or a PDF URL).
        summary_paragraphs: the summary's paragraphs, one ``<p>`` each.
        out: where to write the page (UTF-8).
        heading: ``"h3"`` for ``<h3>エグゼクティブ・サマリー</h3>``, ``"strong"`` for
            ``<p><strong>…</strong></p>``.
        link_after: put the download paragraph after the summary instead of before it.
        wrap: put the summary's paragraphs in a ``<div class="summary">`` (else bare ``<p>``s).
        summary_heading: the heading's text.
    """
    if heading not in ("h3", "strong"):
        raise ValueError(f"heading must be 'h3' or 'strong', not {heading!r}")
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    link = e(report_url)
    download = (
        '    <p class="download">アジア・太平洋総合研究センター（サンプル）の調査報告書です。<br>\n'
        f'    報告書は次のリンクから入手できます。<br>\n    <a href="{link}">{link}</a></p>\n'
    )
    head = (f"    <h3>{e(summary_heading)}</h3>\n" if heading == "h3"
            else f"    <p><strong>{e(summary_heading)}</strong></p>\n")
    paras = "".join(f"    <p>{e(p)}</p>\n" for p in summary_paragraphs)
    if wrap:
        paras = '    <div class="summary">\n' + paras + "    </div>\n"
    body = head + paras
    content = (body + download) if link_after else (download + body)
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="ja">\n<head>\n  <meta charset="utf-8">\n'
        f"  <title>{e(title)} | JSTアジア・太平洋総合研究センター（サンプル）</title>\n</head>\n"
        '<body id="top">\n'
        '  <header id="header">\n'
        '    <h1 class="site"><a href="/index.html">アジア・太平洋総合研究センター（サンプル）</a></h1>\n'
        '    <nav class="gnav"><ul>\n'
        '      <li><a href="/investigation/report_2022.html#fy24_rr01">調査報告書</a></li>\n'
        '      <li><a href="/other_asia/experience/index.html">トピックス</a></li>\n'
        '      <li><a href="/pdf/brochure.pdf">パンフレット(PDF)</a></li>\n'
        "    </ul></nav>\n"
        "  </header>\n"
        '  <main id="contents">\n'
        f"    <h2>{e(title)}</h2>\n"
        f'    <p class="date">{e(date_line)}</p>\n'
        + content
        + '    <p class="pagetop"><a href="#top">上へ戻る</a></p>\n'
        "  </main>\n"
        '  <footer id="footer">\n'
        '    <ul><li><a href="/sitemap.html#all">サイトマップ</a></li><li><a href="/policy.pdf">サイトポリシー</a></li></ul>\n'
        "    <p>Copyright (c) Japan Science and Technology Agency (sample)</p>\n"
        "  </footer>\n"
        "</body>\n</html>\n"
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samples.build",
        description="Write the sample report PDF and a listing page that links it.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--edition-note", default=None, help="make a different edition")
    parser.add_argument("--source", type=Path, default=None,
                        help="render this file (same format as samples/sample_edition.md)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    pdf = build_sample_pdf(args.out / "sample-report.pdf", edition_note=args.edition_note,
                           source=args.source)
    listing = build_listing_html(listing_entries(pdf.name), args.out / "report_2022.html")
    print(pdf)
    print(listing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
