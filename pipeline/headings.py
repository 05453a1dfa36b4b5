"""Headings: what a heading's own words say its section is.

A report names its parts the same way everywhere: the executive summary is 「エグゼクティブ・サマリー」,
「要旨」, 「要約」 or 「概要」 (also 「本報告書の要旨」, 「エグゼクティブ・サマリー（概要）」, 「概要・要旨」);
the reference list 「参考文献」, 「出典」, 「参考文献・資料」, "References". Only the title counts, after
its number (第1章, 1., 1-1, 1), （1）, I.) and decoration (【】, ■): 「第1章 要旨」 is the summary,
「調査の概要」 and 「国・地域別の概要」 are not (they describe something else's overview). Where the
heading stands matters too: a summary is a part of the document (a top-level section), while
「2.1 概要」 inside a country's chapter is that chapter's own text; the segment stage applies that.

Used by the segment stage (a section's ``role``) and by the announcement-page reader (where a
page's summary starts), so the two agree on what a summary is. Pure functions.
"""
from __future__ import annotations

import re
import unicodedata

SUMMARY = "summary"
REFERENCES = "references"
SECTION_ROLES = ("", SUMMARY, REFERENCES)  # "": an ordinary section

# A heading's number or bullet: 第1章, 第2部, 1., 1.2, 1-1., 2.1.1, （1）, (1), ①, I., Ⅱ, ■, ●, 【…】.
_NUMBER = re.compile(
    r"^(?:第[0-9一二三四五六七八九十]+[章部節編]|[0-9]+(?:[.\-][0-9]+)*[.)）]?|[(（][0-9]+[)）]"
    r"|[\u2460-\u2473]|[IVX]+\.?|[■□●○◆◇▶▷・])\s*"
)
_BRACKETS = re.compile(r"^[【\[［〔]\s*(.*?)\s*[】\]］〕]$")
_SUMMARY_WORD = r"(?:エグゼクティブ[・･\s]?サマリー?|サマリー|要旨|要約|概要|(?:executive\s+)?summary)"
_SUMMARY_TITLE = re.compile(
    rf"(?:本(?:調査)?(?:報告)?書の)?{_SUMMARY_WORD}(?:[・／/]{_SUMMARY_WORD})*(?:[（(][^）)]{{1,12}}[）)])?",
    re.IGNORECASE,
)
_REFERENCES_WORD = r"(?:主要)?(?:参考文献|引用文献|参考資料|文献|資料|出典|references|bibliography)(?:一覧|リスト)?"
_REFERENCES_TITLE = re.compile(rf"(?:参考文献|引用文献|参考資料|主要参考文献|文献|出典|references|bibliography)(?:一覧|リスト)?"
                               rf"(?:[・／/]{_REFERENCES_WORD})*", re.IGNORECASE)


def heading_title(heading: str) -> str:
    """The heading without its number, bullet or enclosing brackets, NFKC, trimmed:
    「第1章　要旨」 → 要旨, 「【エグゼクティブ・サマリー】」 → エグゼクティブ・サマリー."""
    text = " ".join(unicodedata.normalize("NFKC", heading or "").split())
    for _ in range(3):  # 1. 【要旨】: a number, then brackets
        before = text
        text = _NUMBER.sub("", text).strip()
        m = _BRACKETS.match(text)
        if m:
            text = m.group(1).strip()
        if text == before:
            break
    return text


def section_role(heading: str) -> str:
    """``"summary"`` for an executive summary's heading, ``"references"`` for a reference
    list's, ``""`` for any other heading.

    Parameters:
        heading: the heading as printed (numbering and full-width characters are fine).
    """
    title = heading_title(heading)
    if _SUMMARY_TITLE.fullmatch(title) and not re.search(r"英文|英語|english", title, re.IGNORECASE):
        return SUMMARY  # (an English version of the summary is no text the Japanese rules read)
    if _REFERENCES_TITLE.fullmatch(title):
        return REFERENCES
    return ""


def is_summary_heading(text: str) -> bool:
    """Whether ``text`` is an executive summary's heading (要旨, エグゼクティブ・サマリー, …)."""
    return section_role(text) == SUMMARY
