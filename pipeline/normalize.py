"""Normalize: text as the PDF gives it → text that matches the lexicon and tokenizes cleanly.

NFKC folds full-width digits and Latin letters (２０２２ → 2022, ＡＩ → AI) and Kangxi radicals
(⼀ → 一) onto the characters people type. Spaces that PDF extraction puts between Japanese
characters are layout, not text, and are removed; a space between two Latin words is kept.
"""
from __future__ import annotations

import re
import unicodedata

# CJK ideographs, kana, the iteration mark and full-width punctuation: no spaces between these.
_CJK = r"\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\u00a0]+(?=[{_CJK}])")
_SPACE_NEXT_TO_CJK_PUNCT = re.compile(r"[ \t]+(?=[、。，．・」』）】〕])|(?<=[「『（【〔、。])[ \t]+")
# A heading's number and its title keep one space between them: 第1章 韓国, 2.1 国家戦略.
_HEADING_NUMBER = re.compile(r"^(第\d+[章節部編]|\d+(?:\.\d+)*\.?|\(\d+\)|[\u2460-\u2473])[ \t]+(?=\S)")
_RUNS_OF_SPACE = re.compile(r"[ \t\u00a0]{2,}")
# Control characters and private-use code points are glyph garbage, never text.
_GARBAGE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ue000-\uf8ff]")


def normalize_text(text: str) -> str:
    """NFKC plus whitespace clean-up; keeps line breaks (paragraph structure is the caller's).

    Idempotent: removing a character (glyph garbage, a space between Japanese characters) can put
    side by side two that NFKC composes (か + ゙ → が, e + ́ → é), so the clean-up is repeated
    until nothing changes (a second pass in practice; it only ever composes or removes).
    """
    out = _normalize_once(text)
    for _ in range(8):
        again = _normalize_once(out)
        if again == out:
            break
        out = again
    return out


def _normalize_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _GARBAGE.sub("", text)
    # NFKC turns the ideographic space into a plain space; between Japanese characters it is
    # layout (indentation, letter-spacing), not a word gap.
    text = _SPACE_NEXT_TO_CJK_PUNCT.sub("", text)
    text = _RUNS_OF_SPACE.sub(" ", text)
    return "\n".join(_clean_line(line) for line in text.split("\n"))


def _clean_line(line: str) -> str:
    line = line.strip()
    number = _HEADING_NUMBER.match(line)
    rest = line[number.end():] if number else line
    rest = _SPACE_BETWEEN_CJK.sub("", rest)
    return f"{number.group(1)} {rest}" if number else rest


# C0 and C1 control characters (but tab and newline), DEL, and the bidirectional overrides and
# isolates that reorder what a terminal shows (U+202A–202E, U+2066–2069).
_UNPRINTABLE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe to print on a terminal: control characters (ESC starts the sequences that
    clear a screen, set its title or make hyperlinks) and bidirectional overrides are shown as
    ``\\x1b``-style escapes instead of being sent. Text read from PDFs and web pages goes through
    this before it reaches a console; the tables keep the text as it was."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                            str(text))
