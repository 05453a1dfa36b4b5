"""Extract: PDF → pages, blocks (headings, paragraphs), tables, with per-page quality figures.

Input: a PDF path. Output: an ``ExtractedDocument``. Pure with respect to the file: it reads the
PDF and returns values; it writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExtractConfig:
    # Lines whose text (digits masked) repeats at the same height on at least this share of
    # pages are running headers/footers.
    repeat_share: float = 0.5
    # A page whose glyphs are mostly (cid:N) placeholders is reported as unusable.
    max_unmapped_share: float = 0.3
    extract_tables: bool = True


@dataclass(frozen=True)
class PageInfo:
    page: int  # 1-based
    width: float
    height: float
    chars: int  # characters of body text after clean-up
    has_text_layer: bool
    unmapped_share: float  # share of glyphs that come out as (cid:N)
    columns: int
    text: str  # cleaned body text of the page, blocks separated by a blank line
    removed_lines: tuple[str, ...] = ()  # running headers / footers / page numbers removed


@dataclass(frozen=True)
class Block:
    page: int
    kind: str  # "heading" | "paragraph"
    text: str  # as in the PDF (not NFKC-normalized); wrapped lines joined
    level: int = 0  # heading depth: 1 chapter (第1章, 1.), 2 section (1.2), 3 (（1）); 0 otherwise
    font_size: float = 0.0
    bold: bool = False
    x0: float = 0.0
    top: float = 0.0
    column: int = 0


@dataclass(frozen=True)
class Table:
    page: int
    index: int  # 0-based within the page
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class PageProblem:
    page: int
    kind: str  # "no_text_layer" | "unmapped_glyphs"
    detail: str


@dataclass(frozen=True)
class ExtractedDocument:
    pages: tuple[PageInfo, ...]
    blocks: tuple[Block, ...]  # reading order
    tables: tuple[Table, ...]
    problems: tuple[PageProblem, ...]
    metadata: dict[str, str] = field(default_factory=dict)  # always str, never bytes


def extract_pdf(path: Path, config: ExtractConfig = ExtractConfig()) -> ExtractedDocument:
    raise NotImplementedError
