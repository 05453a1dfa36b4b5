"""Page figures, problems and usability; the no-usable-text error."""
from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import NoUsableTextError
from pipeline.extract.fontguard import MAX_REFUSED_NAMED, REFUSED_TODO, UNBUILT_TODO, font_todo
from pipeline.extract.model import (
    OCR,
    TEXT_LAYER,
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
    if raw.ocr is not None:  # read by OCR: usable when OCR found text
        return bool(raw.ocr.lines)
    return raw.glyph_count > 0 and _unmapped_share(raw) <= config.max_unmapped_share


def _page_info(raw: _PageRecord, blocks: list[Block]) -> PageInfo:
    text = "\n\n".join(b.text for b in blocks)
    read = raw.ocr
    return PageInfo(
        text_source=OCR if read is not None else TEXT_LAYER,
        ocr_engine=read.engine if read is not None else "",
        ocr_language=read.language if read is not None else "",
        ocr_confidence=read.confidence if read is not None else None,
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


_TODO_OCR_AUTO = "run with --ocr auto (the default) to read it by OCR"


def _page_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    """The problems of a page: the fonts refused whose text was left out (``font_refused``, one
    per font, ``MAX_REFUSED_NAMED`` at most, then one counting the others), what else kept its text
    from being read (at most one), then whether its tables and figures were not looked for
    (``too_many_drawings``).

    Parameters:
        raw: the page's record.
        config: the extraction's settings (the limits the details name).
    """
    return _font_problems(raw, config) + _text_problems(raw, config) + _drawing_problems(raw, config)


def _font_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    """A ``font_refused`` problem for each font the reference reader refused on the page
    (fontguard), naming the font and the reason: its text was left out, the rest of the page read.
    Past ``MAX_REFUSED_NAMED`` fonts, one more problem counts the others.

    Parameters:
        raw: the page's record.
        config: the extraction's settings (``--ocr``, which the outcome names).
    """
    if raw.ocr is not None:
        outcome = "the page was read by OCR instead"
    elif raw.glyph_count:
        outcome = "the rest of the page was read"
    elif config.ocr == "off":
        outcome = f"the page has no other text, so it was left out (--ocr off): {_TODO_OCR_AUTO}"
    else:
        outcome = "the page has no other text, so it was left out"
    problems = [PageProblem(raw.number, "font_refused",
                            f"page {raw.number}: the font {name} was refused and the text set in it left out "
                            f"({outcome}): {reason}; {font_todo(reason)}")
                for name, reason in raw.refused]
    if raw.refused_more:
        problems.append(PageProblem(
            raw.number, "font_refused",
            f"page {raw.number}: {raw.refused_more:,} more fonts were refused and the text set in them left out "
            f"({outcome}), besides the {MAX_REFUSED_NAMED} named; {REFUSED_TODO}",
        ))
    return problems


def _drawing_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    """A ``too_many_drawings`` problem when the page drew more images and paths than
    ``config.max_page_drawings`` and its tables and figures were not looked for."""
    if not raw.flood:
        return []
    limit = config.max_page_drawings
    return [PageProblem(
        raw.number, "too_many_drawings",
        f"page {raw.number} draws {raw.flood:,} images and paths (rectangles, lines, curves), more than "
        f"the {limit:,} tables and figures are looked for among; its text was read, but its tables and "
        "figures were not looked for (a page of a real report draws a few hundred: this one is probably "
        "generated or built to stall PDF readers); if you trust the file, raise the limit: jstmine run "
        f"--max-page-drawings N (ExtractConfig.max_page_drawings, now {limit:,})",
    )]


def _text_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    if raw.ocr is not None:
        if raw.ocr.lines:
            return []
        return [PageProblem(
            raw.number, "ocr_found_nothing",
            f"page {raw.number} has no usable text layer and OCR ({raw.ocr.engine}, {raw.ocr.language}, "
            f"{raw.ocr.dpi:g} dpi) found no text on it: a blank or picture-only page, or a scan too faint "
            "or too small to read; check the page in a PDF viewer (a scan under about 150 dpi needs a "
            "better scan)",
        )]
    if raw.glyph_count == 0:
        if raw.refused:  # its only text was set in fonts refused: font_refused says so
            return []
        if not raw.drawn:
            return [PageProblem(raw.number, "no_text_layer",
                                f"page {raw.number} has no text layer and draws nothing (a blank page)")]
        mode = "--ocr off" if config.ocr == "off" else f"--ocr {config.ocr}"
        return [
            PageProblem(
                raw.number,
                "no_text_layer",
                f"page {raw.number} has no text layer (scanned or drawn as paths) and was left out ({mode}): "
                + _TODO_OCR_AUTO,
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
            detail += f"; more than {limit:.0%}, so the page's text was left out: " + _TODO_OCR_AUTO
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
    # pages whose only text is set in fonts refused (fontguard), OCRed or not
    refused = [p.number for p in pages if p.glyph_count == 0 and p.refused]
    ocr_nothing = [p.number for p in pages if p.ocr is not None and not p.ocr.lines and p.number not in refused]
    no_layer = [p.number for p in pages if p.glyph_count == 0 and p.number not in ocr_nothing + refused]
    unmapped = [
        p.number for p in pages
        if p.glyph_count and _unmapped_share(p) > config.max_unmapped_share and p.number not in ocr_nothing
    ]
    empty = [p.number for p in pages if p.number not in no_layer + unmapped + ocr_nothing + refused]
    reasons = []
    if refused:
        fonts = list({font: None for p in pages if p.number in refused for font in p.refused})
        # at most MAX_REFUSED_NAMED named; the others counted (at least: those unnamed on a page may repeat)
        more = len(fonts[MAX_REFUSED_NAMED:]) + max(p.refused_more for p in pages if p.number in refused)
        ocred = [p.number for p in pages if p.number in refused and p.ocr is not None]
        reasons.append(f"the text of {_page_ranges(refused)} is set in fonts that were refused ("
                       + "; ".join(f"{name}: {reason}" for name, reason in fonts[:MAX_REFUSED_NAMED])
                       + (f"; and at least {more:,} more fonts" if more else "") + ")"
                       + (f", and OCR found no text on {_page_ranges(ocred)}" if ocred else ""))
    if ocr_nothing:
        reasons.append(f"OCR found no text on {_page_ranges(ocr_nothing)} (blank or picture-only pages, or scans "
                       "too faint or too small to read)")
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
    if config.ocr == "off" and (no_layer or unmapped):
        todo = ("run with --ocr auto (the default) to read those pages by OCR (tesseract; Debian packages "
                "tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert)")
    elif ocr_nothing:
        todo = ("check the pages in a PDF viewer: if they show text, scan them again at 300 dpi or more; "
                "blank or picture-only PDFs have nothing to extract")
    elif refused and len(reasons) == 1:
        unbuilt = all(font_todo(reason) == UNBUILT_TODO for p in pages if p.number in refused for _, reason in p.refused)
        todo = UNBUILT_TODO if unbuilt and not any(p.refused_more for p in pages) else REFUSED_TODO
        if config.ocr == "off":
            todo += "; or run with --ocr auto (the default) to read those pages by OCR"
    else:
        todo = "check the pages in a PDF viewer: they show no text that could be read"
    return NoUsableTextError(f"{path.name} ({count}) has no usable text: " + "; ".join(reasons), todo)
