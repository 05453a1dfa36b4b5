"""OCR of a page without a usable text layer: render it, read it with tesseract, give back glyphs.

A page is rendered with pypdfium2 (already installed with pdfplumber) at ``ExtractConfig.ocr_dpi``,
never larger than ``MAX_RENDER_PIXELS`` (a hostile page of 14,400 x 14,400 pt is rendered smaller,
not at 200 dpi), and read by tesseract (Debian packages tesseract-ocr, tesseract-ocr-jpn,
tesseract-ocr-jpn-vert) through its TSV output (``run_tesseract``): words with their boxes and confidences,
grouped in lines. Whether the page is set in vertical writing (縦書き) is decided from the image
(``vertical_score``: vertical text leaves blank columns between its lines, horizontal text blank
rows), and the page is read with ``jpn_vert`` or ``jpn``; when that reading is poor (mean word
confidence under ``RETRY_CONFIDENCE``) the other model is tried too and the better kept.

The result is given back in PDF coordinates (pdfplumber's: points, ``top`` downwards from the page
box) as ``OcrLine``s of ``OcrWord``s, and turned into the extractor's glyphs (``ocr_glyphs``): one
glyph per character, set at the line's height (across the line for vertical writing) so that the
same furniture, heading, paragraph and column logic runs on them as on a text layer's glyphs.
Tesseract puts every Japanese character in a word of its own; the glyphs' positions decide where a
space goes (as for a text layer: none between CJK characters), and ``line_text`` joins a line's
words the same way.

Nothing here writes files or downloads anything; tesseract runs as a subprocess with its
traineddata from the system packages.
"""
from __future__ import annotations

import functools
import math
import os
import re
import signal
import statistics
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageFilter

from pipeline.errors import ExtractError
from pipeline.extract import limits
from pipeline.extract.model import _Glyph

ENGINE = "tesseract"
HORIZONTAL_LANGUAGE = "jpn"
VERTICAL_LANGUAGE = "jpn_vert"
PACKAGES = "tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert"
# The tesseract program: found on PATH.
TESSERACT = "tesseract"
# The most pixels a page is rendered to (about A2 at 200 dpi): the scale is lowered to fit, so a
# hostile page size costs bounded memory and time.
MAX_RENDER_PIXELS = 24_000_000
# The longest side a page is rendered to, in pixels (about 4 m at 200 dpi): tesseract refuses an
# image with a side over 32,767 ("Image too large"), and a page of 1e9 x 0.01 pt within
# MAX_RENDER_PIXELS by its area would still be an image of 150 million pixels (its height rounded up
# to one pixel).
MAX_RENDER_SIDE = 32_000
# Words tesseract is less sure of than this (0-100) are dropped: on images, logos and rules it
# reports strings of symbols with confidences of 0-20; real text on a clean scan is 80-95.
MIN_WORD_CONFIDENCE = 30.0
# A line whose median word confidence is at least this is text: all its words are kept, however
# unsure tesseract is of one of them (it gives 0-30 to real characters after punctuation and to
# rarer kanji: 航 of 宇宙航空 at 24, 中国 after 。 at 4). Dropping them cut names (宇宙 空) and
# made new items (8大新興技術産業 read as 8大技術産業: a count of 技術). In a poorer line (over an
# image, a logo, a rule) words under MIN_WORD_CONFIDENCE are still dropped.
LINE_CONFIDENCE = 50.0
# A reading whose mean word confidence is under this is tried with the other writing direction.
RETRY_CONFIDENCE = 60.0
# Pages with more isolated dark pixels than this share are median-filtered before OCR.
SPECKLE_SHARE = 0.0005
# Seconds tesseract may take for one page before the page fails with a clear error.
OCR_TIMEOUT = 300
# Font size, in units of the line height tesseract reports: its line box is the ink of the line,
# slightly less than the em box a text layer's glyph size gives.
_EM_PER_LINE = 1.1
# Lines whose size is within this share of the page's median size are set at the median (OCR boxes
# vary by a few pixels from line to line; a text layer's body lines all have one size).
_SAME_SIZE = 0.35
# Lines under this share of the page's median size, of a few characters, are furigana (ruby) set
# beside the text: furniture, not text (``OcrPage.furigana``).
_FURIGANA_SIZE = 0.65
_FURIGANA_CHARS = 8


@dataclass(frozen=True)
class OcrWord:
    """A word (for Japanese, usually one character) as tesseract reads it, in PDF points."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float  # 0-100


@dataclass(frozen=True)
class OcrLine:
    """A line of words in reading order; ``vertical`` for vertical writing (top to bottom)."""

    words: tuple[OcrWord, ...]
    x0: float
    top: float
    x1: float
    bottom: float
    vertical: bool
    size: float  # font size in points, as the line's height (width for vertical writing) gives it


@dataclass(frozen=True)
class OcrPage:
    """What OCR read on one page."""

    lines: tuple[OcrLine, ...]
    engine: str  # "tesseract 5.3.0"
    language: str  # the traineddata used: "jpn" or "jpn_vert"
    confidence: float | None  # mean word confidence (0-100) of the words kept; None when none
    dpi: float  # the resolution the page was rendered at
    furigana: tuple[str, ...] = ()  # ruby lines left out of ``lines`` (listed as removed lines)


def line_text(words: tuple[OcrWord, ...] | list[OcrWord]) -> str:
    """A line's words joined: no space between two words when either side is CJK (tesseract
    separates every Japanese character), one space between Latin words.

    ``words``: the line's words in reading order.
    """
    text = ""
    for word in words:
        if text and not (_is_cjk(text[-1]) or _is_cjk(word.text[0])):
            text += " "
        text += word.text
    return text


_L_AFTER_I = re.compile(r"(?<=I)l(?![a-z])")
_L_AFTER_CAPITAL = re.compile(r"(?<=[A-Z])l(?![a-z])")


def fix_confusions(text: str) -> str:
    """Undo tesseract's commonest confusion on Japanese pages, l for I in capitals: an ``l`` not
    followed by a lower-case letter is dropped after an ``I`` (the same stroke read twice: AIl)
    and read as ``I`` after another capital (Al → AI). ``text``: a word as tesseract read it."""
    if "l" not in text:
        return text
    return _L_AFTER_CAPITAL.sub("I", _L_AFTER_I.sub("", text))


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    """``"tesseract X.Y.Z"``, checking that tesseract and its Japanese models are installed.

    Raises ``ExtractError`` naming the Debian packages to install when the tesseract binary or the
    ``jpn`` / ``jpn_vert`` traineddata cannot be found, and saying what went wrong when the program
    found as ``tesseract`` does not answer ``--version`` and ``--list-langs`` within
    ``ENGINE_CHECK_TIMEOUT`` seconds, fails, or answers something that is not tesseract's answer.
    (pytesseract's ``get_tesseract_version`` and ``get_languages`` waited for ever, and the first
    ended the whole process with ``SystemExit`` on an answer it could not parse.)
    """
    command = TESSERACT
    version_text = _ask_engine(command, "--version")
    found = re.match(r"\s*tesseract\s+v?(\d+\.\d+[\w.\-]*)", version_text)
    if found is None:
        raise ExtractError(
            f"the program run as tesseract ({command}) does not answer --version as tesseract does "
            f"(it said: {_shorten(version_text)!r})",
            f"check which tesseract is first on PATH (which tesseract) and install the real one "
            f"(Debian/Ubuntu: sudo apt-get install {PACKAGES}), or run with --ocr off to skip the pages that need OCR",
        )
    version = found.group(1).split("-")[0]
    languages = {line.strip() for line in _ask_engine(command, "--list-langs").splitlines()[1:]}
    missing = [lang for lang in (HORIZONTAL_LANGUAGE, VERTICAL_LANGUAGE) if lang not in languages]
    if missing:
        prefix = os.environ.get("TESSDATA_PREFIX")
        where = f"; TESSDATA_PREFIX is set to {prefix}, which may point away from them" if prefix else ""
        raise ExtractError(
            f"tesseract {version} is installed without its Japanese models ({', '.join(missing)} missing; "
            f"it has: {', '.join(sorted(languages)) or 'none'}{where})",
            f"install them (Debian/Ubuntu: sudo apt-get install {PACKAGES}; or run "
            "scripts/install-system-deps.sh as root)"
            + (", or unset TESSDATA_PREFIX or point it at the folder holding jpn.traineddata" if prefix else "")
            + ", or run with --ocr off to skip the pages that need OCR",
        )
    return f"{ENGINE} {version}"


# Seconds ``tesseract --version`` and ``tesseract --list-langs`` may take (a few milliseconds).
ENGINE_CHECK_TIMEOUT = 30


def _shorten(text: str, most: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _how_ended(status: int) -> str:
    """A process's exit status in words: ``exit status 1``, ``killed by signal SIGKILL``.
    ``status``: as ``subprocess`` gives it (negative: the signal)."""
    if status >= 0:
        return f"exit status {status}"
    try:
        return f"killed by signal {signal.Signals(-status).name}"
    except ValueError:
        return f"killed by signal {-status}"


def _ask_engine(command: str, option: str) -> str:
    """What ``command option`` prints (stdout and stderr), or an ``ExtractError`` saying why there
    is no answer: not installed, no answer within ``ENGINE_CHECK_TIMEOUT`` s (it is killed), or a
    failure (a non-zero exit, a signal). ``command``: the tesseract program; ``option``:
    ``--version`` or ``--list-langs``."""
    try:
        done = subprocess.run([command, option], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=ENGINE_CHECK_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise ExtractError(
            f"the PDF has pages without a usable text layer, and the OCR engine tesseract is not installed "
            f"({type(exc).__name__})",
            f"install it (Debian/Ubuntu: sudo apt-get install {PACKAGES}; or run scripts/install-system-deps.sh "
            "as root), or run with --ocr off to skip those pages",
        ) from exc
    except subprocess.TimeoutExpired as exc:  # (subprocess.run has killed it)
        raise ExtractError(
            f"tesseract ({command}) did not answer {option} within {ENGINE_CHECK_TIMEOUT} s, so it was stopped",
            f"check that tesseract works (tesseract {option} answers at once) and which one is first on PATH "
            f"(which tesseract), or run with --ocr off to skip the pages that need OCR",
        ) from exc
    except OSError as exc:
        raise ExtractError(
            f"tesseract ({command}) cannot be run ({type(exc).__name__}: {exc})",
            f"check the tesseract installation ({PACKAGES}), or run with --ocr off to skip the pages that need OCR",
        ) from exc
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        raise ExtractError(
            f"tesseract ({command}) failed on {option} ({_how_ended(done.returncode)}; it said: {_shorten(text)!r})",
            f"check the tesseract installation ({PACKAGES}), or run with --ocr off to skip the pages that need OCR",
        )
    return text


def render_scale(width: float, height: float, dpi: float) -> float:
    """Pixels per point to render a ``width`` x ``height`` pt page at ``dpi``, lowered so that the
    image has at most ``MAX_RENDER_PIXELS`` pixels and neither side more than ``MAX_RENDER_SIDE``
    (each side rounded up to a whole pixel, as the renderer does).

    ``width``, ``height``: the page's size in points (a negative size, as an inverted box gives,
    counts by its length); ``dpi``: the resolution wanted.
    """
    width, height = abs(width), abs(height)
    scale = dpi / 72
    area = max(width, 1.0) * max(height, 1.0)
    if area * scale * scale > MAX_RENDER_PIXELS:
        scale = 0.995 * (MAX_RENDER_PIXELS / area) ** 0.5  # the renderer rounds the size up
    longest = max(width, height)
    if longest * scale > MAX_RENDER_SIDE:
        scale = 0.995 * MAX_RENDER_SIDE / longest
    return scale


def render_page(path: Path, number: int, dpi: float) -> Image.Image:
    """Page ``number`` (1-based) of the PDF at ``path`` as a grayscale image, at ``dpi`` or less
    (``render_scale``: at most ``MAX_RENDER_PIXELS`` pixels), crop box and /Rotate applied as
    pdfplumber applies them.

    Within ``limits.reading()``, a page drawing an image that decodes to more than the memory
    budget (``ExtractConfig.max_worker_memory_mb``) is not rendered: PDFium decodes an image whole
    whatever the scale it is drawn at (a 60,000 x 60,000 one-bit image, a 440 KB Flate stream,
    took 520 MB; 100,000 x 100,000 took 1.3 GB, past the budget and unchecked in the process that
    started the reading), and where the address space is capped (a worker) it leaves out an image it
    cannot allocate without a word (the page then read as blank). Raises ``ExtractError`` naming the
    image's size.

    ``path``: the PDF; ``number``: the page; ``dpi``: the resolution wanted.
    """
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[number - 1]
        try:
            budget = limits.budget_mb()
            if budget is not None:
                _check_images(page, budget)
            width, height = page.get_size()
            bitmap = page.render(scale=render_scale(width, height, dpi), grayscale=True)
            return bitmap.to_pil().convert("L")
        finally:
            page.close()
    finally:
        pdf.close()


def _check_images(page: pdfium.PdfPage, budget_mb: float) -> None:
    """Raise ``ExtractError`` when an image the page draws (in its Form XObjects too) decodes to
    more than ``budget_mb`` MiB: its size in pixels and bits per pixel, as the image's dictionary
    gives them (nothing is decoded; bits unknown count as 8).

    ``page``: the page opened by PDFium; ``budget_mb``: the memory one process reading pages may take.
    """
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        width, height = image.get_px_size()
        bits = image.get_metadata().bits_per_pixel or 8
        decoded = width * height * bits / 8 / limits.MIB
        if decoded > budget_mb:
            raise ExtractError(
                f"it draws an image of {width:,} x {height:,} pixels ({bits} bit{'s' if bits != 1 else ''} a pixel), which decodes to "
                f"{decoded:,.0f} MiB, more than the {budget_mb:g} MiB one process reading pages may take "
                "(ExtractConfig.max_worker_memory_mb), so the page was not rendered for OCR",
                "a scanned A4 page at 600 dpi is about 5,000 x 7,000 pixels, so the file is probably damaged or "
                "built to exhaust memory: check where it came from; if you trust it, raise the limit: jstmine run "
                "--max-worker-memory-mb N; or leave the page out (qpdf IN --pages IN 1-4,6-z -- OUT), "
                "or run with --ocr off",
            )


def vertical_score(image: Image.Image) -> float:
    """How much more the ink of ``image`` is laid out in columns than in rows: above 1 for
    vertical writing (blank gaps between columns of characters), below 1 for horizontal.

    Measured on the middle third of the page in each direction (so a slight rotation smears the
    gaps little): the share of blank pixel columns among the inked extent, against the share of
    blank pixel rows. ``image``: a grayscale page image.
    """
    ink = np.asarray(image.convert("L")) < 128
    h, w = ink.shape
    rows = ink[:, w // 3 : 2 * w // 3].any(axis=1)
    cols = ink[h // 3 : 2 * h // 3, :].any(axis=0)
    return (_gap_share(cols) + 0.01) / (_gap_share(rows) + 0.01)


def speckle_share(image: Image.Image) -> float:
    """Share of the image's pixels that are dark and have no dark neighbour (speckle noise of a
    scan; clean type has almost none). ``image``: a grayscale page image."""
    dark = np.asarray(image.convert("L")) < 128
    padded = np.pad(dark, 1)
    neighbours = sum(padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx].astype(np.uint8)
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    return float((dark & (neighbours == 0)).mean())


def _gap_share(profile: np.ndarray) -> float:
    """Share of blank positions between the first and the last inked one."""
    inked = np.flatnonzero(profile)
    if inked.size < 2:
        return 0.0
    span = profile[inked[0] : inked[-1] + 1]
    return float((~span).sum()) / span.size


def read_image(image: Image.Image, language: str, *, x0: float = 0.0, top: float = 0.0,
               scale: float = 1.0, psm: int = 3) -> list[OcrLine]:
    """Tesseract's lines and words on ``image``, in points.

    ``language``: ``jpn`` or ``jpn_vert``; ``x0``, ``top``: where the image's corner is on the
    page (points); ``scale``: pixels per point. Empty words are left out; so are words under
    ``MIN_WORD_CONFIDENCE`` in a line whose median word confidence is under ``LINE_CONFIDENCE``, and
    lines left with no word.
    """
    vertical = language == VERTICAL_LANGUAGE
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # pages run in parallel already: one thread each
    tsv = run_tesseract(image, language, psm)
    grouped: dict[tuple[int, int, int], list[OcrWord]] = {}
    for text, (left, tp, width, height), conf, key in _tsv_words(tsv, image.width, image.height):
        word = OcrWord(text, x0 + left / scale, top + tp / scale, x0 + (left + width) / scale,
                       top + (tp + height) / scale, conf)
        grouped.setdefault(key, []).append(word)
    lines = []
    for words in grouped.values():
        if statistics.median(w.confidence for w in words) < LINE_CONFIDENCE:
            words = [w for w in words if w.confidence >= MIN_WORD_CONFIDENCE]
            if not words:
                continue
        # Across the line: the words' median extent around their median centre, not the union
        # of their boxes (a furigana word tesseract files in the line would widen it, and some
        # words come with the whole line's box, taller than their type).
        if vertical:
            extents, centres = [w.x1 - w.x0 for w in words], [(w.x0 + w.x1) / 2 for w in words]
        else:
            extents, centres = [w.bottom - w.top for w in words], [(w.top + w.bottom) / 2 for w in words]
        across = statistics.median(extents)
        centre = statistics.median(centres)
        lo, hi = centre - across / 2, centre + across / 2
        if vertical:
            box = (lo, min(w.top for w in words), hi, max(w.bottom for w in words))
        else:
            box = (min(w.x0 for w in words), lo, max(w.x1 for w in words), hi)
        lines.append(OcrLine(tuple(words), *box, vertical, across * _EM_PER_LINE))
    return _even_sizes(lines)



def run_tesseract(image: Image.Image, language: str, psm: int) -> str:
    """Tesseract's TSV output on ``image``, run as pytesseract ran it (the image saved as PNG,
    ``tesseract IN OUT -l LANG -c tessedit_create_tsv=1 --psm N``), in a temporary folder removed
    afterwards. Tesseract is killed when it takes more than ``OCR_TIMEOUT`` seconds and whenever
    the call ends early (Ctrl-C: pytesseract left it running, orphaned); raises ``ExtractError``
    saying whether it timed out, failed (its exit status or signal, and its last words) or wrote
    nothing readable.

    ``image``: the page image; ``language``: ``jpn`` or ``jpn_vert``; ``psm``: tesseract's page
    segmentation mode.
    """
    with tempfile.TemporaryDirectory(prefix="jstmine-ocr-") as folder:
        source, out = Path(folder) / "page.png", Path(folder) / "page"
        image.save(source, format="PNG")
        try:  # (subprocess.run kills tesseract on any exception, KeyboardInterrupt included)
            done = subprocess.run([TESSERACT, str(source), str(out), "-l", language, "-c", "tessedit_create_tsv=1",
                                   "--psm", str(psm)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=OCR_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ExtractError(f"OCR of the page took more than {OCR_TIMEOUT} s, so tesseract was stopped",
                               "leave the page out (qpdf IN --pages IN 1-4,6-z -- OUT) or run with --ocr off") from exc
        except OSError as exc:
            raise ExtractError(f"tesseract ({TESSERACT}) cannot be run ({type(exc).__name__}: {exc})",
                               f"check the tesseract installation ({PACKAGES}), or run with --ocr off") from exc
        if done.returncode != 0:
            said = _shorten(done.stderr.decode("utf-8", "replace"))
            raise ExtractError(f"tesseract failed on the page ({_how_ended(done.returncode)}{': ' + said if said else ''})",
                               f"check the tesseract installation ({PACKAGES}), leave the page out "
                               "(qpdf IN --pages IN 1-4,6-z -- OUT) or run with --ocr off")
        try:
            return out.with_suffix(".tsv").read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExtractError(
                f"tesseract's output on the page cannot be read ({type(exc).__name__}: {_shorten(str(exc))})",
                f"check the tesseract installation ({PACKAGES}): tesseract --version should name tesseract 4 or "
                "later; or run with --ocr off") from exc


_TSV_NUMBERS = ("level", "block_num", "par_num", "line_num", "left", "top", "width", "height", "conf")


def _tsv_words(tsv: str, width: int, height: int) -> list[tuple]:
    """The words of tesseract's TSV output, each as (text, (left, top, width, height) in pixels,
    confidence, (block, paragraph, line)), the text as ``fix_confusions`` leaves it. Words of
    confidence under 0 (not words) or empty are left out; so is any row that is not what tesseract
    writes: a number that is missing, not a number, not finite or out of range, a box outside the
    ``width`` x ``height`` image. (pytesseract's own reading of the TSV raises OverflowError on
    ``inf`` and gives strings for what is not a number.) Raises ``ExtractError`` when the output
    has not tesseract's columns at all.

    ``tsv``: what ``run_tesseract`` gives; ``width``, ``height``: the image's size.
    """
    rows = [row.split("\t") for row in tsv.strip("\n").split("\n")]
    header = rows.pop(0) if rows else []
    missing = [column for column in (*_TSV_NUMBERS, "text") if column not in header]
    if missing:
        raise ExtractError(
            f"tesseract's output on the page cannot be read (its TSV has no {', '.join(missing)} column)",
            f"check the tesseract installation ({PACKAGES}): tesseract --version should name tesseract 4 or "
            "later; or run with --ocr off",
        )
    at = [header.index(column) for column in _TSV_NUMBERS]
    text_at = header.index("text")
    words = []
    for row in rows:
        try:
            values = [float(row[i]) for i in at]
        except (IndexError, ValueError):
            continue
        if not all(math.isfinite(v) for v in values):
            continue
        # whole numbers, as pytesseract made them (int(float(...)): tesseract writes 96.03 as 96)
        level, block, par, line, left, tp, w, h, conf = (int(v) for v in values)
        text = fix_confusions(row[text_at].strip()) if text_at < len(row) else ""
        if level != 5 or not text or not 0 <= conf <= 100:
            continue
        if not (0 <= left and 0 <= tp and 0 < w and 0 < h and left + w <= width + 1 and tp + h <= height + 1):
            continue
        words.append((text, (left, tp, w, h), conf, (block, par, line)))
    return words

def split_furigana(lines: list[OcrLine]) -> tuple[list[OcrLine], list[OcrLine]]:
    """(text lines, furigana lines): a line of at most ``_FURIGANA_CHARS`` characters set under
    ``_FURIGANA_SIZE`` of the median size of the page's lines is ruby beside the text.

    ``lines``: a page's lines as ``read_image`` gives them.
    """
    if len(lines) < 3:
        return lines, []
    median = statistics.median(line.size for line in lines)
    small = [line.size < _FURIGANA_SIZE * median and sum(len(w.text) for w in line.words) <= _FURIGANA_CHARS
             for line in lines]
    return ([line for line, s in zip(lines, small, strict=True) if not s],
            [line for line, s in zip(lines, small, strict=True) if s])


def _even_sizes(lines: list[OcrLine]) -> list[OcrLine]:
    """Lines within ``_SAME_SIZE`` of the median size of the page's longer lines set at that
    median; every size rounded to 0.5 pt."""
    if not lines:
        return lines
    long_lines = [line for line in lines if sum(len(w.text) for w in line.words) > _FURIGANA_CHARS] or lines
    median = statistics.median(line.size for line in long_lines)
    out = []
    for line in lines:
        size = median if abs(line.size - median) <= _SAME_SIZE * median else line.size
        out.append(OcrLine(line.words, line.x0, line.top, line.x1, line.bottom, line.vertical, round(size * 2) / 2))
    return out


def _mean_confidence(lines: list[OcrLine]) -> float | None:
    confs = [w.confidence for line in lines for w in line.words]
    return round(sum(confs) / len(confs), 2) if confs else None


def ocr_page(path: Path, number: int, bbox: tuple[float, float, float, float], dpi: float) -> OcrPage:
    """Render page ``number`` of ``path`` and read it with tesseract, in the writing direction the
    image shows (``vertical_score``), trying the other one when the reading is poor, and reading the
    page as a single block of text when neither finds any (large type on a title page).

    ``path``: the PDF; ``number``: the page (1-based); ``bbox``: the page box as pdfplumber gives it
    (x0, top, x1, bottom in points), so the words are placed where a text layer's glyphs would be;
    ``dpi``: the resolution to render at (bounded by ``MAX_RENDER_PIXELS``). Raises ``ExtractError``
    when tesseract or its Japanese models are missing (naming the packages) or tesseract fails.
    """
    engine = engine_version()
    try:
        return _ocr_page(engine, path, number, bbox, dpi)
    except ExtractError as exc:  # say which page
        raise ExtractError(f"{path.name}: page {number}: {exc.what}", exc.todo) from exc


def _ocr_page(engine: str, path: Path, number: int, bbox: tuple[float, float, float, float], dpi: float) -> OcrPage:
    """``ocr_page`` once the engine is known (``engine``: ``engine_version()``)."""
    image = render_page(path, number, dpi)
    # A 3 x 3 median filter takes out a scan's speckle noise (the sample edition's pages scanned
    # with 2 % noise: character error rate 12-31 % without it, 5 % with it), but also the
    # dakuten of small type (ば read as は on bocchan): only speckled pages are filtered.
    if speckle_share(image) > SPECKLE_SHARE:
        image = image.filter(ImageFilter.MedianFilter(3))
    scale = image.width / max(bbox[2] - bbox[0], 1.0)
    first = VERTICAL_LANGUAGE if vertical_score(image) > 1.0 else HORIZONTAL_LANGUAGE
    lines = read_image(image, first, x0=bbox[0], top=bbox[1], scale=scale)
    language, confidence = first, _mean_confidence(lines)
    if confidence is None or confidence < RETRY_CONFIDENCE:
        other = HORIZONTAL_LANGUAGE if first == VERTICAL_LANGUAGE else VERTICAL_LANGUAGE
        other_lines = read_image(image, other, x0=bbox[0], top=bbox[1], scale=scale)
        other_confidence = _mean_confidence(other_lines)
        if other_confidence is not None and (confidence is None or other_confidence > confidence):
            lines, language, confidence = other_lines, other, other_confidence
    if confidence is None:  # no layout found (a title page of large type): read it as one block
        best = 0.0  # the most text read surely: characters times their confidence
        for lang, psm in ((VERTICAL_LANGUAGE, 5), (HORIZONTAL_LANGUAGE, 6)):
            block = read_image(image, lang, x0=bbox[0], top=bbox[1], scale=scale, psm=psm)
            weight = sum(len(w.text) * w.confidence for line in block for w in line.words)
            if weight > best:
                best, lines, language, confidence = weight, block, lang, _mean_confidence(block)
    lines, furigana = split_furigana(lines)
    return OcrPage(tuple(lines), engine, language, confidence, round(scale * 72, 1),
                   tuple(line_text(line.words) for line in furigana))


def ocr_glyphs(page: OcrPage) -> list[_Glyph]:
    """The page's text as the extractor's glyphs, one per character, in reading order.

    Horizontal lines: each glyph spans the line's height and its share of its word's width.
    Vertical lines: each glyph spans the line's width and its share of its word's height, so that
    the vertical-writing logic (``pipeline.extract.vertical``) stacks them into a line. Every
    glyph has the line's size and the font name ``OCR``. ``page``: what ``ocr_page`` read.
    """
    glyphs: list[_Glyph] = []
    for line in page.lines:
        end = None  # where the previous word ended along the line
        for word in line.words:
            chars = [ch for ch in word.text if not ch.isspace()]
            n = len(chars)
            # Along the line, words keep tesseract's order: a word whose box reaches back over the
            # previous one (a Latin word's box among kanji often does) starts where that one ends,
            # so that its characters are never interleaved with its neighbours'.
            start, stop = (word.top, word.bottom) if line.vertical else (word.x0, word.x1)
            if end is not None and start < end:
                start = end
            stop = max(stop, start + 0.35 * line.size * n)  # a third of an em at least per character
            end = stop
            step = (stop - start) / n
            for k, ch in enumerate(chars):
                a, b = start + k * step, start + (k + 1) * step
                if line.vertical:
                    glyphs.append(_Glyph(ch, line.x0, line.x1, a, b, line.size, "OCR", False))
                else:
                    glyphs.append(_Glyph(ch, a, b, line.top, line.bottom, line.size, "OCR", False))
    return glyphs


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance between the two texts over the reference's length, whitespace left
    out of both (line breaks and spaces are layout, not characters read): 0 is a perfect reading.

    ``reference``: the true text; ``hypothesis``: what OCR read.
    """
    ref = "".join(reference.split())
    hyp = "".join(hypothesis.split())
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)
