"""Acquire: a source (PDF URL, listing-page URL with #entry-id, or local path) → a verified PDF in raw/.

Input: a source string and an ``AcquireConfig``. Output: an ``Acquired`` record, also appended
to ``raw/manifest.jsonl``. A download is written to a temporary file and renamed into raw/ only
when complete and verified, so a failed run never leaves a partial PDF or loses an earlier one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AcquireConfig:
    raw_dir: Path = Path("raw")
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_bytes: int = 200 * 1024 * 1024
    user_agent: str = "jstmine/0.1 (+science-policy text mining)"


@dataclass(frozen=True)
class Acquired:
    path: Path  # the PDF in raw/ (or the local file for a local source)
    sha256: str
    bytes: int
    source: str  # as given by the user
    url: str | None  # the PDF's URL (after resolving a listing page); None for a local path
    final_url: str | None  # after redirects
    etag: str | None
    last_modified: str | None
    fetched_at: str  # ISO 8601, UTC
    not_modified: bool = False  # True when the server answered 304 and the stored copy was used


def acquire(source: str, config: AcquireConfig = AcquireConfig()) -> Acquired:
    raise NotImplementedError
