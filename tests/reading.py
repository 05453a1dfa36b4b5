"""A reference reading of a PDF for tests: PDFium's characters in content-stream order, body-size
glyphs only, as whole sentences. Word processors and DTP tools write a page's text in reading
order, so this is what the extractor's body sentences should contain, whole."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.extract import ExtractedDocument
from pipeline.segment import Segmented


def _chars(path: Path) -> list[list[tuple[str, float]]]:
    """Per page, (character, font size) in content-stream order."""
    pdf = pdfium.PdfDocument(str(path))
    pages = []
    try:
        for page in pdf:
            text = page.get_textpage()
            chars = []
            for i in range(text.count_chars()):
                code = pdfium_c.FPDFText_GetUnicode(text, i)
                if pdfium_c.FPDFText_IsGenerated(text, i) == 1:
                    continue
                chars.append((chr(code), round(pdfium_c.FPDFText_GetFontSize(text, i) * 2) / 2))
            pages.append(chars)
            text.close()
            page.close()
    finally:
        pdf.close()
    return pages


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def reference_sentences(path: Path, min_chars: int = 12) -> list[str]:
    """Body sentences as PDFium reads them: characters of the document's body size (the most
    common size over all pages), in content-stream order, cut after 。; only sentences of at
    least ``min_chars`` characters that end with 。 and start after one (whole sentences)."""
    pages = _chars(path)
    sizes = Counter(size for chars in pages for ch, size in chars if not ch.isspace())
    body = sizes.most_common(1)[0][0]
    text = _squash("".join(ch for chars in pages for ch, size in chars if abs(size - body) <= 0.5))
    parts = re.findall(r"[^。]*。", text)
    return [p for p in parts[1:] if len(p) >= min_chars]


def body_text(segmented: Segmented) -> list[str]:
    return [_squash(s.text) for s in segmented.sentences if s.kind == "body"]


def whole_sentences(path: Path, segmented: Segmented) -> tuple[list[str], list[str]]:
    """(reference sentences found whole in one body sentence, those that are not)."""
    ours = body_text(segmented)
    joined = "\n".join(ours)
    found, missing = [], []
    for ref in reference_sentences(path):
        (found if ref in joined and any(ref in s for s in ours) else missing).append(ref)
    return found, missing


def extracted_chars(doc: ExtractedDocument) -> Counter:
    """Every non-space character the extractor kept anywhere: blocks, markers, tables, removed lines."""
    out: Counter = Counter()
    for b in doc.blocks:
        out.update(_squash(b.text))
        out.update(_squash(b.label))
        for _, label in b.markers:
            out.update(_squash(label))
    for t in doc.tables:
        for row in t.rows:
            for cell in row:
                out.update(_squash(cell))
    for p in doc.pages:
        for line in p.removed_lines:
            out.update(_squash(line))
    return out


def reference_stream(path: Path) -> str:
    """The document's characters in content-stream order, whitespace removed, NFKC, without
    footnote markers (digits set smaller than 0.9 x the body size) and furigana (kana set
    smaller than 0.65 x the body size)."""
    pages = _chars(path)
    sizes = Counter(size for chars in pages for ch, size in chars if not ch.isspace())
    body = sizes.most_common(1)[0][0]

    def keep(ch: str, size: float) -> bool:
        if size < 0.9 * body and unicodedata.normalize("NFKC", ch).isdigit():
            return False
        return not (size < 0.65 * body and "\u3040" <= ch <= "\u30ff")

    return _squash("".join(ch for chars in pages for ch, size in chars if keep(ch, size)))


def glued_sentences(path: Path, segmented: Segmented) -> list[str]:
    """Our body sentences that are not one contiguous run of the reference stream: lines of two
    columns, of a box and the body, or of a footnote and the body put together."""
    stream = reference_stream(path)
    return [s for s in body_text(segmented) if s not in stream]


def cut_sentences(segmented: Segmented) -> list[str]:
    """Our body sentences that do not end a sentence (cut at a line, column or page break)."""
    return [s for s in body_text(segmented) if not s.endswith(("。", "」", "）", ")", "』", "!", "?"))]
