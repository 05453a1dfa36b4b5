"""Tuning constants and patterns of the extractor (sizes in units of the font size unless said otherwise)."""
from __future__ import annotations

import re

# ---------------------------------------------------------------------------------------------
# Tuning constants (in units of the font size unless said otherwise)
# ---------------------------------------------------------------------------------------------

_DEDUPE_TOLERANCE = 1.0  # pt; pdfplumber's dedupe_chars default
_MARGIN_ZONE = 0.15  # share of page height at top and bottom where running headers/footers live
_PAGE_NUMBER_ZONE = 0.10  # share of page height where a bare page number is removed anyway
_SAME_HEIGHT = 4.0  # pt; "about the same vertical position" for running lines
_GUTTER_MIN_GAP = 1.5  # a gap this wide inside a row may be a column gutter
_SPACE_GAP_CJK = 0.95  # a gap of about a full character is a real space, even between kanji
_SPACE_GAP_LATIN = 0.15  # word spacing between Latin glyphs (often exactly 0.25 em)
_SHORT_LINE = 1.5  # a line ending this far before the right edge is "short"
_LARGER_FONT = 1.0  # pt above the body size counts as a larger (heading) font
_MAX_HEADING_CHARS = 60
_MAX_NUMBERED_BODY_HEADING_CHARS = 40

_CID_PLACEHOLDER = re.compile(r"\(cid:\d+\)")
# Characters that a simple font without a Unicode map produces from its byte codes 0x80-0x9F
# (WinAnsi fallback): in a font that also has (cid:N) glyphs they are garbage, not text.
_WINANSI_SPECIALS = frozenset(bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore"))
_SENTENCE_END = ("。", "．", "！", "？")
_DIGITS = "0-9０-９"
_KANJI_NUMBERS = "一二三四五六七八九十百〇"

# Heading numbering at line start -> level. Order matters: the first match wins.
_NUMBERING = (
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+[章編部]"), 1, "chapter"),
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+節"), 2, "section"),
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+[\s\u3000]"), 1, "chapter"),  # 第１ 基本… (通知)
    (re.compile(rf"^[{_DIGITS}]+[.．][{_DIGITS}]+[.．][{_DIGITS}]+(?![{_DIGITS}])"), 3, "decimal"),
    (re.compile(rf"^[{_DIGITS}]+[.．][{_DIGITS}]+(?![.．]?[{_DIGITS}])"), 2, "decimal"),
    # 1-1-1 / 1-1. / 1-1 米国 (a hyphenated section number; not 1-2月 or 2020-2024)
    (re.compile(rf"^[{_DIGITS}]{{1,2}}[-－‐][{_DIGITS}]{{1,2}}[-－‐][{_DIGITS}]{{1,2}}(?![{_DIGITS}年月日])"), 3, "decimal"),
    (re.compile(rf"^[{_DIGITS}]{{1,2}}[-－‐][{_DIGITS}]{{1,2}}(?:[.．](?![{_DIGITS}])|(?![-－‐{_DIGITS}年月日]))"), 2, "decimal"),
    (re.compile(rf"^[{_DIGITS}]+(?:[.．](?![{_DIGITS}])|[\s\u3000]+)\s*\S"), 1, "bare"),
    (re.compile(rf"^[（(][{_DIGITS}{_KANJI_NUMBERS}]+[)）]"), 3, "paren"),
    (re.compile(r"^[\u2460-\u2473\u3251-\u325f]"), 3, "paren"),  # ①-⑳, ㉑-㉟
)
# A bullet or a number at line start: after a short line, such a line is the next list item.
_LIST_START = re.compile(
    rf"^(?:[・●○■□◆◇▪▫•※◎★☆\-*]|[{_DIGITS}]+[.．)）\s\u3000]|[（(][{_DIGITS}{_KANJI_NUMBERS}]+[)）]"
    rf"|[\u2460-\u2473\u3251-\u325f]|第[{_DIGITS}{_KANJI_NUMBERS}]+)"
)
# A line that is only a page number: "2", "- 2 -", "2/10", "p. 2", "ii".
_ROMAN = r"(?=[ivxIVX])(?:x{0,3}(?:ix|iv|v?i{0,3})|X{0,3}(?:IX|IV|V?I{0,3}))"
_PAGE_NUMBER = re.compile(
    rf"^[\s\-－―—‐−–ー]*(?:[pP][.．]?\s*)?"
    rf"(?:[{_DIGITS}]+(?:\s*[/／]\s*[{_DIGITS}]+)?|{_ROMAN})"
    r"[\s\-－―—‐−–ー]*$"
)
# Font names of bold faces: Bold/Black/Heavy/Demi (not DemiLight), Japanese weights W5 and up
# (HeiseiKakuGo-W5), and heading gothics (GothicBBB-Medium, MidashiGo, HGPGothicE). Not
# "Medium" in general: Yu Gothic Medium is a common body font.
_BOLD_FONT = re.compile(
    r"bold|black|heavy|demi(?!light)|(?<![a-z])w(?:[5-9]|1[0-4])(?![0-9])"
    r"|gothicbbb|midashigo|gothic.*[-_]?(?:db|b|e|eb|h|u)$|ゴシック.*(?:B|E|H|U)$",
    re.IGNORECASE,
)
_FEW_GLYPHS = 200  # a page with fewer body glyphs takes the document's body size

# A table-of-contents entry: a title, a leader of dots, a page number (第2章 中国 ……… 5, はじめに .... i).
_CONTENTS_ENTRY = re.compile(rf"(?:[.．・…‥·･_]\s?){{3,}}\s*([{_DIGITS}]+|[ivxlcIVXLC]+)\s*$")
# On a contents page, an entry may have no leader: the page number stands apart at the line end.
_CONTENTS_BARE_ENTRY = re.compile(rf"\S(?:\s{{2,}}|\u3000+)([{_DIGITS}]+|[ivxlcIVXLC]+)\s*$")
# The heading of a table of contents.
_CONTENTS_TITLE = re.compile(r"^[\s\u3000]*(?:目[\s\u3000]*次|もくじ|contents|table of contents)[\s\u3000]*$", re.IGNORECASE)
