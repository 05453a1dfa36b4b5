"""Editions: which published edition a PDF belongs to, and whether it is already up to date.

Input: the acquired PDF's identity (report id, publication date, sha256) and what is published
in the output directory. Output: an edition name. An edition is one distinct content (sha256) of
one report, named ``<report id>-<publication date>`` (else the fetch date); the same content is
always the same edition, and changed content behind the same URL becomes a new one.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.normalize import printable
from pipeline.publish import published_editions

log = logging.getLogger(__name__)


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


def _read_documents(path: Path, wanted: tuple[str, ...]) -> list[dict] | None:
    """The ``wanted`` columns (those the file has) of an edition's documents.parquet; None, with
    a warning naming the file, when it cannot be read (damaged, truncated, not Parquet): one
    damaged edition must not stop every command that looks at the others."""
    try:
        cols = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=[c for c in wanted if c in cols]).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        log.warning("cannot read %s (%s): that edition is taken as not published; publish it again (jstmine run "
                    "… --edition NAME) or remove it (jstmine editions remove NAME)", printable(str(path)),
                    printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        return None


def published(out_dir: Path) -> dict[str, PublishedEdition]:
    """Every edition published in ``out_dir``, from its documents table; an edition whose
    documents table is missing or cannot be read is left out (with a warning).

    Parameters:
        out_dir: the output directory (``processed``).
    """
    out: dict[str, PublishedEdition] = {}
    for name in published_editions(out_dir):
        path = Path(out_dir) / name / "documents.parquet"
        if not path.exists():
            continue
        row = _read_documents(path, ("sha256", "report_id", "run_key", "processed_at", "published"))
        if row:
            r = row[0]
            out[name] = PublishedEdition(name, r["sha256"], r.get("report_id"), r.get("run_key"), r.get("processed_at"),
                                         r.get("published"))
    return out


def edition_name(report_id: str, date: str, sha256: str, existing: dict[str, PublishedEdition],
                 claimed: dict[str, tuple[str, str]] | None = None) -> str:
    """``<report>-<date>``; the edition already holding this content keeps its name; a different
    content under a taken name (in any case: ``FY24-…`` takes ``fy24-…``) gets the content's short
    hash, and a name still taken (the same content under another report id whose slug is the same)
    the report id's short hash too.

    Parameters:
        report_id: the report's id (a listing entry id, or a name made from the source).
        date: its publication date (ISO), else the fetch date.
        sha256: the PDF's content hash.
        existing: the editions published in the output directory (``published``).
        claimed: edition name → (sha256, report id) of the editions named earlier in the same
            run and not yet published: their names are taken too (two entries of one listing
            page, ``fy24/rr02`` and ``fy24-rr02``, slug alike: the second must not be published
            over the first). None: none.
    """
    claimed = claimed or {}
    for e in existing.values():
        if e.sha256 == sha256 and (e.report_id in (None, report_id)):
            return e.edition
    for name, (sha, rid) in claimed.items():
        if sha == sha256 and rid == report_id:
            return name
    base = f"{slug(report_id)}-{date}"
    id_hash = hashlib.sha256(report_id.encode("utf-8")).hexdigest()[:8]
    candidates = (base, f"{base}-{sha256[:8]}", f"{base}-{sha256[:8]}-{id_hash}")
    # Taken whatever its case: an output directory on a file system that ignores case (a shared
    # drive, macOS) holds FY24-… and fy24-… in one directory, the second replacing the first.
    taken = {n.casefold() for n in (*existing, *claimed)}
    return next((n for n in candidates if n.casefold() not in taken), candidates[-1])


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


@dataclass(frozen=True)
class EditionListing:
    """One edition of an output directory, as ``jstmine editions list`` shows it."""

    edition: str
    report_id: str | None
    published: str | None  # the listing's publication date (ISO), when it gave one
    pages: int | None
    processed_at: str | None
    size_bytes: int  # its files on disk (the run directory its link points to); 0 when it has none
    latest: bool  # the most recent edition of its report (what the database's latest_* views select)
    files: bool  # it has a link and files under the output directory
    in_database: bool  # it has rows in the database


def latest_of_reports(editions: dict[str, tuple]) -> set[str]:
    """The most recent edition of each report.

    Parameters:
        editions: edition name → (report id, publication date, processed at[, sha256 of its PDF]).
            An edition without a report id belongs to the report of its PDF (the same document
            processed as several editions is one report), or, without a sha256 either, is a report
            of its own.

    The latest is the one published last, then processed last, then the greatest name: the order
    of ``previous_edition`` and of the database's ``latest_<table>`` views
    (``pipeline.publish.refresh_latest_views``).
    """
    best: dict[tuple[str, str], tuple[tuple[str, str, str], str]] = {}
    for name, (report_id, published_on, processed_at, *rest) in editions.items():
        sha256 = rest[0] if rest else None
        key = (("report", report_id) if report_id is not None else ("pdf", sha256) if sha256 is not None
               else ("edition", name))
        rank = (_text(published_on), _text(processed_at), name)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, name)
    return {name for _rank, name in best.values()}


def _text(value) -> str:
    """A date or time as text that sorts in time order ('' for none), whether stored as text or not."""
    return "" if value is None else str(value)


def _run_dir_size(out_dir: Path, edition: str) -> int:
    """Bytes of the files in the run directory ``<out_dir>/<edition>`` points to, when it is one of
    the edition's own runs (``.runs/<edition>/<run>``); symbolic links are counted as links, never
    followed, so a link re-pointed elsewhere counts nothing."""
    import os

    from pipeline.publish import RUNS_DIR

    link = Path(out_dir) / edition
    if not link.is_symlink():
        return 0
    target = Path(os.readlink(link))
    parts = target.parts
    if target.is_absolute() or len(parts) != 3 or parts[0] != RUNS_DIR or parts[1] != edition or ".." in parts:
        return 0
    run = Path(out_dir) / target
    if Path(out_dir, RUNS_DIR).is_symlink() or Path(out_dir, RUNS_DIR, edition).is_symlink() or run.is_symlink():
        return 0
    total = 0
    for root, _dirs, files in os.walk(run, followlinks=False):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                continue
    return total


def database_editions(out_dir: Path) -> dict[str, tuple[str | None, str | None, str | None, int | None, str | None]]:
    """Editions with rows in the database of ``out_dir``: name → (report id, publication date,
    processed at, pages, sha256 of its PDF), from its documents table, plus the editions publish_log records (with
    no details when they have no documents row). {} when there is no database.

    Raises ``duckdb.Error`` or ``PublishError`` when the database cannot be opened (another
    program holds it for writing, or it is a planted link).
    """
    from pipeline.publish import DATABASE_NAME, PUBLISH_LOG, connect_database

    db = Path(out_dir) / DATABASE_NAME
    if not db.is_file():
        return {}
    con = connect_database(db, read_only=True)
    try:
        columns = {(t, c) for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'").fetchall()}
        out: dict[str, tuple[str | None, str | None, str | None, int | None, str | None]] = {}
        if ("documents", "edition") in columns:
            wanted = ("report_id", "published", "processed_at", "pages", "sha256")
            select = ", ".join(f"CAST({c} AS VARCHAR)" if ("documents", c) in columns else "NULL" for c in wanted)
            for edition, report_id, published_on, processed_at, pages, sha256 in con.execute(
                    f"SELECT edition, {select} FROM documents ORDER BY edition").fetchall():
                out[edition] = (report_id, published_on, processed_at, int(pages) if pages is not None else None, sha256)
        if (PUBLISH_LOG, "edition") in columns:
            for (edition,) in con.execute(f'SELECT DISTINCT edition FROM "{PUBLISH_LOG}"').fetchall():
                out.setdefault(edition, (None, None, None, None, None))
        return out
    finally:
        con.close()


def list_editions(out_dir: Path) -> list[EditionListing]:
    """Every edition of ``out_dir``: those published as files (a link and its run directory) and
    those with rows in the database, ordered by report, then publication date and processing time.

    Parameters:
        out_dir: the output directory (``processed``).

    Details come from an edition's own documents.parquet, else from the database. Raises
    ``duckdb.Error`` or ``PublishError`` when the database exists but cannot be read.
    """
    out_dir = Path(out_dir)
    links = set(published_editions(out_dir))
    files = published(out_dir)
    rows = database_editions(out_dir)
    details: dict[str, tuple[str | None, str | None, str | None, int | None, str | None]] = {}
    for name in sorted(links | set(rows)):
        db = rows.get(name, (None, None, None, None, None))
        if name in files:
            e = files[name]
            pages = _pages(out_dir, name)
            details[name] = (e.report_id, _opt(e.published), _opt(e.processed_at), db[3] if pages is None else pages,
                             e.sha256)
        else:
            details[name] = db
    latest = latest_of_reports({n: (*d[:3], d[4]) for n, d in details.items()})
    listing = [EditionListing(name, d[0], d[1], d[3], d[2], _run_dir_size(out_dir, name), name in latest,
                              name in links, name in rows) for name, d in details.items()]
    return sorted(listing, key=lambda e: (e.report_id or e.edition, e.published or "", e.processed_at or "", e.edition))


def _opt(value) -> str | None:
    return None if value is None else str(value)


def _pages(out_dir: Path, edition: str) -> int | None:
    rows = _read_documents(Path(out_dir) / edition / "documents.parquet", ("pages",))
    return rows[0].get("pages") if rows else None
