"""Page figures, problems and usability; the no-usable-text error."""
from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import NoUsableTextError
from pipeline.extract.model import (
    Block,
    ExtractConfig,
    PageInfo,
    PageProblem,
    _PageRecord,
    _RawPage,
)

# Page figures, problems, usability
# ---------------------------------------------------------------------------------------------


def _unmapped_share(raw: _RawPage | _PageRecord) -> float:
    return raw.unmapped / raw.glyph_count if raw.glyph_count else 0.0


def _page_is_usable(raw: _RawPage | _PageRecord, config: ExtractConfig) -> bool:
    return raw.glyph_count > 0 and _unmapped_share(raw) <= config.max_unmapped_share


def _page_info(raw: _PageRecord, blocks: list[Block]) -> PageInfo:
    text = "\n\n".join(b.text for b in blocks)
    return PageInfo(
        page=raw.number,
        width=raw.width,
        height=raw.height,
        chars=len(re.sub(r"\s+", "", text)),
        has_text_layer=raw.glyph_count > 0,
        unmapped_share=round(_unmapped_share(raw), 4),
        columns=raw.columns if blocks else 0,
        text=text,
        removed_lines=tuple(raw.removed_lines),
    )


def _page_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    if raw.glyph_count == 0:
        return [
            PageProblem(
                raw.number,
                "no_text_layer",
                f"page {raw.number} has no text layer (scanned or drawn as paths): run OCR on it",
            )
        ]
    if raw.unmapped:
        share = _unmapped_share(raw)
        detail = (
            f"page {raw.number}: {raw.unmapped} of {raw.glyph_count} glyphs have no Unicode "
            f"mapping ({share:.1%}; (cid:N) placeholders or garbage codes from a font without a "
            f"ToUnicode map); they were dropped from the text"
        )
        if share > config.max_unmapped_share:
            limit = config.max_unmapped_share
            detail += f"; more than {limit:.0%}, so the page's text was left out (OCR it)"
        return [PageProblem(raw.number, "unmapped_glyphs", detail)]
    return []


def _page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "pages 1-3, 5"; [4] -> "page 4"."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
    return f"{'pages' if len(numbers) > 1 else 'page'} {text}"


def _no_usable_text_error(path: Path, pages: list[_PageRecord], config: ExtractConfig) -> NoUsableTextError:
    no_layer = [p.number for p in pages if p.glyph_count == 0]
    unmapped = [
        p.number for p in pages if p.glyph_count and _unmapped_share(p) > config.max_unmapped_share
    ]
    empty = [p.number for p in pages if p.number not in no_layer and p.number not in unmapped]
    reasons = []
    if no_layer:
        verb = "have" if len(no_layer) > 1 else "has"
        reasons.append(f"{_page_ranges(no_layer)} {verb} no text layer (scanned or drawn as paths)")
    if unmapped:
        reasons.append(
            f"{_page_ranges(unmapped)}: more than {config.max_unmapped_share:.0%} of the glyphs have "
            f"no Unicode mapping (fonts without a ToUnicode map)"
        )
    if empty:
        reasons.append(f"{_page_ranges(empty)}: only blank, rotated or unreadable glyphs")
    count = f"{len(pages)} page{'s' if len(pages) != 1 else ''}"
    return NoUsableTextError(
        f"{path.name} ({count}) has no usable text: " + "; ".join(reasons),
        "run OCR first, e.g. ocrmypdf --language jpn IN OUT (add --force-ocr when the PDF has a "
        "broken text layer), then run again with the OCR'd file",
    )
