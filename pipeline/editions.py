"""Editions: which published edition a PDF belongs to, and whether it is already up to date.

Input: the acquired PDF's identity (report id, publication date, sha256) and what is published
in the output directory. Output: an edition name. An edition is one distinct content (sha256) of
one report, named ``<report id>-<publication date>`` (else the fetch date); the same content is
always the same edition, and changed content behind the same URL becomes a new one.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.publish import published_editions


@dataclass(frozen=True)
class PublishedEdition:
    edition: str
    sha256: str
    report_id: str | None
    run_key: str | None
    processed_at: str | None
    published: str | None = None  # the listing's publication date (ISO), when it gave one


MAX_REPORT_ID_CHARS = 80  # of an edition name's report id: the date and a hash still fit after it


def slug(text: str) -> str:
    """``text`` as the report-id part of an edition name: [A-Za-z0-9._-], at most
    ``MAX_REPORT_ID_CHARS`` (a longer id, from a listing page, is cut and given a hash of the whole
    so that two long ids stay apart), never empty."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-") or "report"
    if len(out) > MAX_REPORT_ID_CHARS:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        out = out[: MAX_REPORT_ID_CHARS - 9].rstrip(".-") + "-" + digest
    return out


def published(out_dir: Path) -> dict[str, PublishedEdition]:
    """Every edition published in ``out_dir``, from its documents table."""
    out: dict[str, PublishedEdition] = {}
    for name in published_editions(out_dir):
        path = Path(out_dir) / name / "documents.parquet"
        if not path.exists():
            continue
        cols = set(pq.read_schema(path).names)
        wanted = ("sha256", "report_id", "run_key", "processed_at", "published")
        row = pq.read_table(path, columns=[c for c in wanted if c in cols]).to_pylist()
        if row:
            r = row[0]
            out[name] = PublishedEdition(name, r["sha256"], r.get("report_id"), r.get("run_key"), r.get("processed_at"),
                                         r.get("published"))
    return out


def edition_name(report_id: str, date: str, sha256: str, existing: dict[str, PublishedEdition]) -> str:
    """``<report>-<date>``; the edition already holding this content keeps its name; a different
    content under a taken name gets the content's short hash."""
    for e in existing.values():
        if e.sha256 == sha256 and (e.report_id in (None, report_id)):
            return e.edition
    base = f"{slug(report_id)}-{date}"
    if base not in existing:
        return base
    return f"{base}-{sha256[:8]}"


def is_up_to_date(existing: dict[str, PublishedEdition], edition: str, sha256: str, run_key: str) -> bool:
    e = existing.get(edition)
    return bool(e and e.sha256 == sha256 and e.run_key == run_key)


def previous_edition(existing: dict[str, PublishedEdition], edition: str) -> str | None:
    """The edition of the same report published before ``edition``, to compare it with; None
    when ``edition`` is the report's first (or is not published, or has no report id).

    "Before" is by publication date, then by when it was processed: of the report's editions
    that come before ``edition`` in that order, the last.
    """

    def order(e: PublishedEdition) -> tuple[str, str]:
        return (e.published or "", e.processed_at or "")

    this = existing.get(edition)
    if this is None or not this.report_id:
        return None
    earlier = [e for e in existing.values()
               if e.edition != edition and e.report_id == this.report_id and order(e) < order(this)]
    return max(earlier, key=lambda e: (order(e), e.edition)).edition if earlier else None
