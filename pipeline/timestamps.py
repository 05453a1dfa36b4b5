"""Timestamps: the one format every published date and time is written in.

Input: a date or time as a stage or a server gave it (ISO 8601 with ``Z`` or an offset, without
one, or an HTTP date such as a ``Last-Modified`` header, ``Sun, 06 Dec 2026 17:30:00 GMT``).
Output: ISO 8601 text: a timestamp to the second with its UTC offset
(``2026-12-06T17:30:00+00:00``, always in UTC), a date as ``YYYY-MM-DD`` (``YYYY-MM`` when the
source gives only a year and month). Pure: no clock, no files.

Used by ``pipeline.tables`` (writing ``documents``) and ``pipeline.schema_history`` (reading
editions written before the format was one).
"""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# A timestamp as published: seconds, and the offset +00:00 (UTC).
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"
# A publication date: a day, or a month when the source gives no day.
DATE_PATTERN = r"^\d{4}-\d{2}(-\d{2})?$"
TIMESTAMP_FORMAT = "ISO 8601 timestamp in UTC, to the second: YYYY-MM-DDTHH:MM:SS+00:00"
DATE_FORMAT = "ISO 8601 date YYYY-MM-DD (YYYY-MM when the source gives only a year and month)"


def iso_timestamp(value: str | datetime | None) -> str | None:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS+00:00`` (UTC), or None when it is empty or no time.

    Parameters:
        value: an ISO 8601 timestamp (``2026-12-06T17:30:00Z``, ``…+09:00``, ``…T17:30:00.123``;
            one without an offset is taken as UTC), an HTTP date (RFC 9110: ``Sun, 06 Dec 2026
            17:30:00 GMT``, also the obsolete RFC 850 and asctime forms), or a ``datetime``.
            Fractions of a second are dropped.
    """
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else _parse(str(value).strip())
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _parse(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None

