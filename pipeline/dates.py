"""Dates: the text of a listing entry or an announcement page → its publication date as ISO text.

Input: any text (str or None). Output: ``parse_date`` gives the first full date as ``YYYY-MM-DD``
(2025年4月1日, 令和7年4月1日, 2025/4/1, 2025-04-01, 2025.4.1); ``parse_date_or_month`` falls back
to the first year and month as ``YYYY-MM`` (2025年4月, 令和7年4月, 2025/4, 2025-04); both give None
when the text has none. Full-width digits are read too (NFKC). Pure: no network, no files.

Used by ``pipeline.listing`` (the date of a listing entry) and ``pipeline.announcement`` (the
date of an announcement page); ``pipeline.acquire`` re-exports both functions.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date

_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}  # era year n is western year base + n
_DATE_PATTERNS = (
    # 2025年4月1日
    re.compile(r"(?<!\d)(?P<y>\d{4})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月[ \t]*(?P<d>\d{1,2})[ \t]*日"),
    # 令和7年4月1日, 令和元年5月1日
    re.compile(r"(?P<era>令和|平成|昭和)[ \t]*(?P<y>元|\d{1,2})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月[ \t]*(?P<d>\d{1,2})[ \t]*日"),
    # 2025/4/1, 2025-04-01, 2025.4.1 (one separator throughout)
    re.compile(r"(?<![\d./-])(?P<y>\d{4})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])"),
)
# A year and month without a day (published then, the real listing shows no more)
_MONTH_PATTERNS = (
    # 2025年4月
    re.compile(r"(?<!\d)(?P<y>\d{4})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月"),
    # 令和7年4月, 令和元年5月
    re.compile(r"(?P<era>令和|平成|昭和)[ \t]*(?P<y>元|\d{1,2})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月"),
    # 2025/4, 2025-04 (not part of a full date or of a longer number)
    re.compile(r"(?<![\d./-])(?P<y>\d{4})[/-](?P<m>\d{1,2})(?![\d]|[./-]\d)"),
)


def _date_matches(text: str) -> Iterator[tuple[int, str]]:
    """(position, ISO date) for every valid full date in ``text``."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            y = m.group("y")
            era = m.groupdict().get("era")
            year = (_ERAS[era] + (1 if y == "元" else int(y))) if era else int(y)
            if not 1900 <= year <= 2100:
                continue
            try:
                day = date(year, int(m.group("m")), int(m.group("d")))
            except ValueError:  # 2025/13/40 and the like
                continue
            yield m.start(), day.isoformat()


def parse_date(text: str | None) -> str | None:
    """The first full date in ``text`` as ISO ``YYYY-MM-DD``, or None (pure).

    Understood: 2025年4月1日, 令和7年4月1日 (also 平成, 昭和, 元年), 2025/4/1, 2025-04-01, 2025.4.1,
    with full-width digits too. A year and month alone (2025年3月) is not a full date: None
    (``parse_date_or_month`` takes it).
    """
    if not text:
        return None
    found = sorted(_date_matches(text))
    return found[0][1] if found else None


def _month_matches(text: str) -> Iterator[tuple[int, str]]:
    """(position, ISO year-month) for every valid year and month in ``text``."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _MONTH_PATTERNS:
        for m in pattern.finditer(text):
            y = m.group("y")
            era = m.groupdict().get("era")
            year = (_ERAS[era] + (1 if y == "元" else int(y))) if era else int(y)
            month = int(m.group("m"))
            if 1900 <= year <= 2100 and 1 <= month <= 12:
                yield m.start(), f"{year:04d}-{month:02d}"


def parse_date_or_month(text: str | None) -> str | None:
    """The first full date in ``text`` as ISO ``YYYY-MM-DD`` (``parse_date``); when it has none,
    the first year and month as ``YYYY-MM``; else None (pure).

    Parameters:
        text: any text; year-month forms understood are 2025年4月, 令和7年4月 (also 平成, 昭和,
            元年), 2025/4 and 2025-04, with full-width digits too. 2025年度 is no month.
    """
    if not text:
        return None
    if found := parse_date(text):
        return found
    months = sorted(_month_matches(text))
    return months[0][1] if months else None

