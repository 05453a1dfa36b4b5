"""Publish: validated tables → processed/<edition>/ (Parquet + CSV) and the DuckDB database.

Input: ``dict[name, pyarrow.Table]`` (validated by ``pipeline.tables``), the output directory and
the edition name. Output: the published edition directory.

Publishing is atomic. Files are written to a fresh run directory under ``.runs/``;
``<out>/<edition>`` is a symlink that is switched to it in one ``rename``; the database rows of
the edition are replaced in one transaction, committed only after the switch. A run that fails at
any point leaves the previous outputs, files and database rows alike, as they were. The same
transaction re-creates the views ``latest_<table>``: the rows of each report's most recent edition.

A run that is killed (SIGKILL, power loss) cannot clean up, so before it switches anything it
leaves a journal, ``<out>/.<edition>.publishing`` (the new and the previous run directory), and
the transaction records the new run in the ``publish_log`` table. The next run, once it holds the
output lock, reads the journal: if the database has the new run, the switch is kept; if not, the
link is switched back to the previous run (whose directory is removed only after the commit), so
files and rows always agree. Run directories no link points to are removed at the same time.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.errors import PipelineError
from pipeline.normalize import printable
from pipeline.schema_history import RENAMED, upgrade_rows

DATABASE_NAME = "jstmine.duckdb"
RUNS_DIR = ".runs"
JOURNAL_SUFFIX = ".publishing"
REMOVAL_SUFFIX = ".removing"  # the journal of an edition being removed (pipeline/remove.py)
PUBLISH_LOG = "publish_log"  # edition, run directory, published at: which run the database holds
log = logging.getLogger(__name__)
_EDITION_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
# The longest edition name: its run directory, journal and temporary link names add up to ~40
# characters to it, and a file name may have 255 bytes at most (ext4, XFS, APFS).
MAX_EDITION_CHARS = 120


class PublishError(PipelineError):
    """The outputs could not be written (disk full, permissions); nothing was published."""


class EditionNameError(PublishError):
    """An edition name that cannot be a directory of the output directory."""


def _reserved_names() -> tuple[str, ...]:
    """Names in the output directory that are not editions: the database (and its WAL), the lock."""
    return (DATABASE_NAME, DATABASE_NAME + ".wal", RUNS_DIR, LOCK_NAME, LOCK_NAME + ".holder")


def check_edition_name(edition: str) -> str:
    """``edition`` when it can name an edition: a directory name of letters, digits, '.', '_' and
    '-', at most ``MAX_EDITION_CHARS`` long, not starting with '.', not one of the output
    directory's own files (jstmine.duckdb …). Called where a name enters: the command line, the
    flow's parameters, a name made from a listing page's entry id, a journal read back from disk.

    Raises ``EditionNameError`` saying what is wrong and what to do.
    """
    example = "e.g. fy24_rr02-2025-04"
    if not isinstance(edition, str) or not edition:
        raise EditionNameError("the edition name is empty", f"give a name, {example}, or leave --edition out")
    shown = edition if len(edition) <= 60 else edition[:57] + "…"
    if len(edition) > MAX_EDITION_CHARS:
        raise EditionNameError(f"edition name {shown!r} is {len(edition)} characters long, more than {MAX_EDITION_CHARS}",
                               f"give a shorter name, {example}")
    if edition.startswith(".") or not set(edition) <= _EDITION_CHARS:
        raise EditionNameError(
            f"edition name {shown!r} is not usable as a directory name",
            f"use letters, digits, '.', '_' and '-' only, not starting with '.' ({example})",
        )
    if (edition.lower() in {n.lower() for n in _reserved_names()} or edition.endswith((".tmp", JOURNAL_SUFFIX))
            or edition.lower().startswith((DATABASE_NAME + ".", LOCK_NAME.lstrip(".")))):
        raise EditionNameError(f"edition name {shown!r} is the name of one of jstmine's own files in the output directory",
                               f"give another name, {example}")
    return edition


def check_new_edition_name(edition: str, out_dir: Path | None = None) -> str:
    """``edition`` when a run may publish under it: a name ``check_edition_name`` accepts that does
    not begin with '-', unless ``out_dir`` already has an edition of that name (re-publishing an
    edition is no new name). A name beginning with '-' reads as an option on the command line:
    ``jstmine show -e -x``, ``jstmine diff -x y`` and ``jstmine editions remove -x`` could name it only
    after ``--`` (or as ``--edition=-x``). Editions already published under such a name stay
    readable, listable and removable (``check_edition_name`` accepts them).

    Parameters:
        edition: the name asked for (``jstmine run --edition``, the flow's parameter).
        out_dir: the output directory it would be published to; None: the name is taken as new.

    Raises ``EditionNameError`` saying what is wrong and what to do.
    """
    check_edition_name(edition)
    if edition.startswith("-") and not (out_dir is not None and edition in published_editions(out_dir)):
        shown = edition if len(edition) <= 60 else edition[:57] + "…"
        suggested = edition.lstrip("-.")
        if not _is_edition_name(suggested):
            suggested = "fy24_rr02-2025-04"
        raise EditionNameError(
            f"edition name {shown!r} begins with '-': jstmine diff and jstmine editions remove would take it for "
            "an option, and every command would need it written after '--' or as --edition=NAME",
            f"give a name beginning with a letter, a digit or '_', e.g. {suggested} (an edition published earlier under "
            f"such a name stays readable and removable: jstmine diff -- {shown} B, jstmine editions remove --yes -- {shown})",
        )
    return edition


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (=HYPERLINK…,
# +cmd|…, -2+3, @SUM…; a tab or carriage return first hides it), also after spaces and in the
# full-width forms a Japanese spreadsheet may read as the same: CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_LEADING_SPACE = " \u3000"


def _neutralised(text: str | None) -> str | None:
    """``text`` as a CSV cell a spreadsheet shows as text: a leading ' before a formula's start
    (OWASP's advice; spreadsheets hide the quote). Parquet and the database keep the text as is."""
    return "'" + text if text and text.lstrip(_LEADING_SPACE).startswith(FORMULA_STARTS) else text


def spreadsheet_safe(text: str | None) -> str | None:
    """``text`` as a CSV cell a spreadsheet shows as text (``_neutralised``): for other writers of
    CSV, such as ``jstmine show --format csv``.

    Parameters:
        text: a text cell, or None.
    """
    return _neutralised(text)


def _neutralised_column(col) -> pa.ChunkedArray | pa.Array:
    """``_neutralised`` over a whole string column, in Arrow (a token table has 10^5 rows)."""
    import pyarrow.compute as pc

    col = col.cast(pa.string())  # large or dictionary-encoded strings too
    stripped = pc.utf8_ltrim(col, characters=_LEADING_SPACE)
    starts = pc.starts_with(col, "\t")
    for prefix in FORMULA_STARTS:
        starts = pc.or_(starts, pc.starts_with(stripped, prefix))
    if not pc.any(starts).as_py():
        return col
    quoted = pc.binary_join_element_wise(pa.scalar("'"), col, "")
    return pc.if_else(pc.fill_null(starts, False), quoted, col)


def _csv_ready(table: pa.Table) -> pa.Table:
    """CSV has no lists: write list cells as 'a;b;c'; text cells that would start a formula get a
    leading ' (``_neutralised``)."""
    cols = []
    for _name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_list(col.type):
            col = pa.array([None if v is None else ";".join(str(x) for x in v) for v in col.to_pylist()], pa.string())
        if (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                or (pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type))):
            col = _neutralised_column(col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


# Rows made ready for CSV at a time (``_csv_ready`` copies every text column: the whole token
# table at once was another 30 MB on 1,000 pages while the tables were written).
CSV_WINDOW_ROWS = 65_536


def write_table_files(table: pa.Table, directory: Path, name: str) -> None:
    """Write ``table`` as ``<name>.parquet`` and ``<name>.csv`` (with a BOM) in ``directory``.

    Args:
        table: a validated table.
        directory: the run directory.
        name: the table's name.
    """
    pq.write_table(table, directory / f"{name}.parquet", compression="zstd")
    with open(directory / f"{name}.csv", "wb") as fh:
        fh.write("\ufeff".encode("utf-8"))  # a BOM, so Excel reads the Japanese as UTF-8
        writer = None
        for start in range(0, max(table.num_rows, 1), CSV_WINDOW_ROWS):
            ready = _csv_ready(table.slice(start, CSV_WINDOW_ROWS))
            if writer is None:  # the header once, from the first window
                writer = pacsv.CSVWriter(fh, ready.schema)
            writer.write_table(ready)
        writer.close()


WRITERS = 4  # tables written at once by ``publish``


def _write_synced(table: pa.Table, directory: Path, name: str) -> None:
    """``write_table_files``, then each file synced to disk."""
    write_table_files(table, directory, name)
    for suffix in (".parquet", ".csv"):
        with open(directory / f"{name}{suffix}", "rb") as fh:
            os.fsync(fh.fileno())


def release_written_memory() -> None:
    """Hand back to the system the memory Arrow's pool kept free after the files were written
    (the CSV and Parquet writers' buffers: 60 MB on a 1,000-page report). DuckDB allocates with an
    allocator of its own, which cannot use those pages: kept, they would add to the database
    transaction's memory and make the run's peak."""
    pa.default_memory_pool().release_unused()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tables: dict[str, pa.Table], out_dir: Path, edition: str) -> Path:
    """Write ``tables`` as edition ``edition`` of ``out_dir``, atomically; returns the edition's
    link. Raises ``PublishError`` (``EditionNameError`` for a name ``check_new_edition_name``
    refuses: a new edition never begins with '-').

    Parameters:
        tables: table name → validated table.
        out_dir: the output directory (``processed``).
        edition: the edition's name.
    """
    out_dir = Path(out_dir)
    check_new_edition_name(edition, out_dir)
    link = out_dir / edition
    if link.exists() and not link.is_symlink():
        raise PublishError(
            f"{link} is a plain directory, not an edition published by jstmine",
            f"move it away (e.g. mv {link} {link}.old) and run again",
        )
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    run_dir = out_dir / RUNS_DIR / edition / run_id
    try:
        run_dir.mkdir(parents=True)
        # Arrow writes Parquet and CSV, and the disk syncs, without holding the GIL: the tables are
        # written side by side (the same files, in less time).
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for _ in pool.map(lambda item: _write_synced(item[1], run_dir, item[0]), tables.items()):
                pass
        _fsync_dir(run_dir)
        release_written_memory()
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            run_dir.parent.rmdir()  # the edition's runs directory, if this was its first run
        # os.strerror: pyarrow's OSError carries the errno but a long message of its own
        raise PublishError(
            f"could not write the outputs of edition {edition!r} under {out_dir}: "
            f"{os.strerror(exc.errno) if exc.errno else exc}",
            "free disk space or fix permissions, then run again; earlier outputs are untouched",
        ) from exc

    previous = os.readlink(link) if link.is_symlink() else None
    if previous is not None and not _is_run_path(previous, edition):
        # a link someone re-pointed (at another edition's run, or anywhere): replaced, never cleaned up after
        log.warning("%s pointed at %s, not at a run of its own: it is replaced, and that directory left alone",
                    printable(str(link)), printable(previous))
        previous = None
    new = str(Path(RUNS_DIR) / edition / run_id)
    journal = _journal_path(out_dir, edition)
    db_path = out_dir / DATABASE_NAME
    try:
        # Before anything is switched: what a killed run leaves for the next one to settle.
        _write_journal(journal, {"edition": edition, "run": new, "previous": previous})
        con = connect_database(db_path)
    except (duckdb.Error, OSError, PublishError) as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            run_dir.parent.rmdir()
        journal.unlink(missing_ok=True)
        if isinstance(exc, PublishError):
            raise
        what = f"could not open the database {db_path}: {exc}" if isinstance(exc, duckdb.Error) else \
            f"could not write {journal}: {exc.strerror or exc}"
        raise PublishError(what, "check that no other program holds the database open for writing, that the "
                                 "disk has space and the directory is writable, then run again") from exc
    try:
        con.execute("BEGIN TRANSACTION")
        for name, table in tables.items():
            _replace_edition_rows(con, name, table, edition)
        _record_run(con, edition, new)
        refresh_latest_views(con)
        _switch_link(link, Path(new))
        try:
            con.execute("COMMIT")
        except duckdb.Error:
            _switch_link(link, Path(previous)) if previous else link.unlink(missing_ok=True)
            raise
    except (duckdb.Error, OSError) as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        shutil.rmtree(run_dir, ignore_errors=True)
        journal.unlink(missing_ok=True)
        raise PublishError(
            f"could not publish edition {edition!r} to {out_dir}: {exc}",
            "nothing was changed; fix the cause (disk space, permissions, another process) and run again",
        ) from exc
    finally:
        _close(con, db_path)
    if previous:
        _remove_run_dir(out_dir, previous, keep=run_dir)
    journal.unlink(missing_ok=True)
    return link


LATEST_PREFIX = "latest_"  # latest_<table>: the rows of each report's most recent edition
LATEST_EDITIONS = "latest_editions"  # the view naming them: one row per report

# Each report's most recent edition. The report is documents.report_id; an edition without one (a
# run on a local PDF) is keyed by its PDF's sha256, so the same document processed as several
# editions is one report (else by its own name). The latest is the one published last, then
# processed last, then by name: the order ``pipeline.editions.previous_edition`` and
# ``jstmine editions list`` (``pipeline.editions.latest_of_reports``) use.
_LATEST_EDITIONS_SQL = """
SELECT edition, report_id FROM (
    SELECT edition, report_id, row_number() OVER (
        PARTITION BY coalesce('report:' || report_id, 'pdf:' || sha256, 'edition:' || edition)
        ORDER BY coalesce(CAST(published AS VARCHAR), '') DESC, coalesce(CAST(processed_at AS VARCHAR), '') DESC,
                 edition DESC) AS rank
    FROM (SELECT DISTINCT edition, report_id, {sha256} AS sha256, published, processed_at FROM documents))
WHERE rank = 1"""


def refresh_latest_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create, in ``con``'s open transaction, the view ``latest_editions`` (edition, report_id:
    each report's most recent edition; a report is its report id, else its PDF's sha256) and a view ``latest_<table>`` for every table with an
    edition column, selecting the rows of those editions. Called after the rows change (publish,
    remove), so the views always match the rows and are committed with them.

    Parameters:
        con: a read-write connection to the output directory's database, inside a transaction.

    Returns the names of the views (none when the database has no documents table yet).
    """
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'main' AND column_name = 'edition' "
        "AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE') ORDER BY 1").fetchall()]
    tables = [t for t in tables if t != PUBLISH_LOG and not t.startswith(LATEST_PREFIX)]
    if "documents" not in tables:
        return []
    has_sha = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
                          "AND table_name = 'documents' AND column_name = 'sha256'").fetchone()[0]
    select = _LATEST_EDITIONS_SQL.format(sha256="CAST(sha256 AS VARCHAR)" if has_sha else "NULL")
    con.execute(f'CREATE OR REPLACE VIEW "{LATEST_EDITIONS}" AS {select}')
    views = [LATEST_EDITIONS]
    for table in tables:
        view = LATEST_PREFIX + table
        con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM "{table}" '
                    f'WHERE edition IN (SELECT edition FROM "{LATEST_EDITIONS}")')
        views.append(view)
    return views


def _close(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Close the database after a checkpoint, saying so when the checkpoint fails (a full disk):
    the committed rows are then in the write-ahead log, which DuckDB applies the next time it
    opens the database, and the user should free space before that."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        log.warning("the database %s could not be checkpointed (%s): its last changes are kept in %s.wal and "
                    "applied when it is next opened; free disk space before the next run", db_path,
                    str(exc).splitlines()[0], db_path.name)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()


def _remove_run_dir(out_dir: Path, rel: str, keep: Path | None = None) -> None:
    old = out_dir / rel
    if keep is not None and old.resolve() == keep.resolve():
        return
    _remove_inside(out_dir / RUNS_DIR, old)


def _remove_inside(root: Path, target: Path) -> bool:
    """Remove ``target`` if it lies inside ``root`` with no symbolic link on the way (a symlink
    itself is removed as a link, never followed): cleanup never deletes outside the directories
    the runs created, whatever someone planted in a shared output directory. True if removed."""
    try:
        rel = target.relative_to(root)
    except ValueError:
        rel = None
    if rel is None or not rel.parts or ".." in rel.parts or root.is_symlink():
        log.warning("not removing %s: it is not inside %s", printable(target), printable(root))
        return False
    path = root
    for part in rel.parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            log.warning("not removing %s: %s on the way is a symbolic link or no directory", printable(target), printable(path))
            return False
    if target.is_symlink() or target.is_file():
        target.unlink(missing_ok=True)
    elif target.is_dir():
        shutil.rmtree(target, ignore_errors=True)  # rmtree removes links inside as links
    return not os.path.lexists(target)


def _is_run_path(rel: str, edition: str) -> bool:
    """Whether ``rel`` is a run directory path as publish writes it: .runs/<edition>/<run id>."""
    parts = Path(rel).parts
    return (isinstance(rel, str) and len(parts) == 3 and parts[0] == RUNS_DIR and parts[1] == edition
            and not parts[2].startswith(".") and set(parts[2]) <= _EDITION_CHARS)


_JOURNAL_MAX_BYTES = 64 * 1024  # a journal holds three short strings


def _journal_path(out_dir: Path, edition: str) -> Path:
    return out_dir / f".{edition}{JOURNAL_SUFFIX}"


def connect_database(db_path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The output directory's database, opened as jstmine opens it everywhere: with DuckDB's file
    access off and its configuration locked (a database planted in a shared directory cannot make
    a query read or write files), and never through a symbolic link (the database or its WAL)."""
    for path in (db_path, db_path.with_name(db_path.name + ".wal")):
        if path.is_symlink():
            raise PublishError(f"{path} is a symbolic link, not a file jstmine made",
                               "remove the link (someone with write access to the output directory made it) and run again")
    return duckdb.connect(str(db_path), read_only=read_only,
                          config={"enable_external_access": False, "lock_configuration": True})


def _write_journal(path: Path, record: dict) -> None:
    # A fresh temporary file (O_EXCL): never written through a name someone planted.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(tmp_name)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _record_run(con: duckdb.DuckDBPyConnection, edition: str, run: str) -> None:
    con.execute(f'CREATE TABLE IF NOT EXISTS "{PUBLISH_LOG}" (edition VARCHAR, run VARCHAR, published_at VARCHAR)')
    con.execute(f'DELETE FROM "{PUBLISH_LOG}" WHERE edition = ?', [edition])
    con.execute(f'INSERT INTO "{PUBLISH_LOG}" VALUES (?, ?, ?)',
                [edition, run, datetime.now(timezone.utc).isoformat(timespec="seconds")])


def _committed_run(out_dir: Path, edition: str) -> str | None:
    """The run directory the database holds for ``edition`` (None: no database, no record)."""
    db_path = out_dir / DATABASE_NAME
    if not db_path.exists():
        return None
    con = connect_database(db_path, read_only=True)
    try:
        row = con.execute(f'SELECT run FROM "{PUBLISH_LOG}" WHERE edition = ?', [edition]).fetchone()
    except duckdb.CatalogException:  # a database from before publish_log, or none committed yet
        return None
    finally:
        con.close()
    return row[0] if row else None


def recover_interrupted(out_dir: Path) -> list[str]:
    """Settle what a killed run left in ``out_dir``; call only while holding ``output_lock``.

    Returns one note per repair. Each journal is resolved by the database: the run it holds for
    the edition stays (or becomes) the published one, anything else is switched back. Then every
    run directory no edition link points to, and every temporary link, is removed.
    """
    out_dir = Path(out_dir)
    notes: list[str] = []
    for journal in sorted(out_dir.glob(".*" + JOURNAL_SUFFIX)):
        if journal.is_symlink() or not journal.is_file() or journal.stat().st_size > _JOURNAL_MAX_BYTES:
            notes.append(f"removed {printable(journal.name)}: no journal jstmine wrote (a link, a special file or too large)")
            journal.unlink(missing_ok=True)
            continue
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
            edition, new, previous = record["edition"], record["run"], record.get("previous")
            check_edition_name(edition)  # read back from disk: checked like any name that enters
            for run in (new, previous):
                if run is not None and not _is_run_path(run, edition):
                    raise ValueError(f"not a run directory of {edition}: {run!r}")
        except (ValueError, KeyError, TypeError, PublishError):
            journal.unlink(missing_ok=True)  # cut short while being written: nothing was switched yet
            continue
        try:
            committed = _committed_run(out_dir, edition)
        except (duckdb.Error, PublishError) as exc:  # held by another program, or a planted link: settle it next time
            log.warning("cannot read %s to settle an interrupted run of %s: %s", DATABASE_NAME, edition,
                        printable(str(exc).splitlines()[0] if str(exc) else exc))
            continue
        link = out_dir / edition
        current = os.readlink(link) if link.is_symlink() else None
        if committed == new:
            if current != new:
                _switch_link(link, Path(new))
            if previous and previous != new:
                _remove_run_dir(out_dir, previous)
            notes.append(f"edition {edition}: an interrupted run had committed; its outputs are kept")
        elif current == new:
            _switch_link(link, Path(previous)) if previous else link.unlink()
            notes.append(f"edition {edition}: an interrupted run was undone; the previous outputs are back")
        journal.unlink(missing_ok=True)
    notes += _settle_removals(out_dir)
    notes += _remove_stale_runs(out_dir)
    return notes


def _settle_removals(out_dir: Path) -> list[str]:
    """Settle what a killed ``jstmine editions remove`` left: its journal ``.<edition>.removing``.

    A removal deletes the edition's rows in one transaction, and only after the commit its link
    and run directories. So the database decides, as for a publish: when it still holds the
    edition, nothing was removed and the journal is dropped; when it no longer does, the removal
    is finished (the link is removed here, its run directories with the other stale runs)."""
    notes = []
    for journal in sorted(out_dir.glob(".*" + REMOVAL_SUFFIX)):
        if journal.is_symlink() or not journal.is_file() or journal.stat().st_size > _JOURNAL_MAX_BYTES:
            notes.append(f"removed {printable(journal.name)}: no journal jstmine wrote (a link, a special file or too large)")
            journal.unlink(missing_ok=True)
            continue
        try:
            edition = check_edition_name(json.loads(journal.read_text(encoding="utf-8"))["edition"])
        except (ValueError, KeyError, TypeError, PublishError):
            journal.unlink(missing_ok=True)  # cut short while being written: nothing was removed yet
            continue
        try:
            held = edition_in_database(out_dir, edition)
        except (duckdb.Error, PublishError) as exc:
            log.warning("cannot read %s to settle an interrupted removal of %s: %s", DATABASE_NAME, edition,
                        printable(str(exc).splitlines()[0] if str(exc) else exc))
            continue
        link = out_dir / edition
        if held:
            notes.append(f"edition {edition}: an interrupted removal had not committed; nothing was removed")
        else:
            if link.is_symlink():
                link.unlink()
                _fsync_dir(out_dir)
            notes.append(f"edition {edition}: an interrupted removal had committed; its files are removed too")
        journal.unlink(missing_ok=True)
    return notes


def edition_in_database(out_dir: Path, edition: str) -> bool:
    """Whether the database of ``out_dir`` holds rows of ``edition`` (its publish_log entry or its
    documents row); False when there is no database. Raises duckdb.Error when it cannot be read."""
    db_path = out_dir / DATABASE_NAME
    if not db_path.exists():
        return False
    con = connect_database(db_path, read_only=True)
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
                .fetchall()}
        return any(con.execute(f'SELECT count(*) FROM "{t}" WHERE edition = ?', [edition]).fetchone()[0]
                   for t in (PUBLISH_LOG, "documents") if t in have)
    finally:
        con.close()


def _remove_stale_runs(out_dir: Path) -> list[str]:
    """Remove run directories that no edition link points to, and leftover temporary links.

    Only what a run creates is removed: ``.runs/<edition>/<run>`` directories, found without
    following symbolic links (a link planted under ``.runs`` is removed as a link, never followed).
    What cannot be removed is reported and skipped, so a later run is never stopped by it."""
    notes = []
    for tmp in out_dir.glob(".*.tmp"):  # a link or journal being written when the run was killed
        if _is_own_temporary(tmp):
            tmp.unlink(missing_ok=True)
    runs = out_dir / RUNS_DIR
    if runs.is_symlink():
        notes.append(f"{runs.relative_to(out_dir)} is a symbolic link, not a directory jstmine made: left alone")
        return notes
    if not runs.is_dir():
        return notes
    for edition_dir in sorted(runs.iterdir()):
        if edition_dir.is_symlink() or not edition_dir.is_dir():
            if _remove_inside(runs, edition_dir):
                notes.append(f"removed {printable(edition_dir.relative_to(out_dir))}, which is no run directory "
                             "(a symbolic link or a file)")
            continue
        if _journal_path(out_dir, edition_dir.name).exists():
            continue  # an unsettled journal keeps its runs until it is settled
        link = out_dir / edition_dir.name
        live = link.resolve() if link.is_symlink() else None
        for run in sorted(edition_dir.iterdir()):
            if run.is_symlink() or run.resolve() != live:
                if _remove_inside(runs, run):
                    notes.append(f"removed {printable(run.relative_to(out_dir))}, left by an interrupted run")
                else:
                    notes.append(f"could not remove {printable(run.relative_to(out_dir))}, left by an interrupted run; "
                                 "remove it by hand")
        with contextlib.suppress(OSError):
            edition_dir.rmdir()  # only when empty (an edition never published)
    return notes


# The temporaries jstmine makes in the output directory: ``_switch_link``'s link
# ``.<edition>.<8 hex>.tmp`` (to a run directory of its edition) and ``_write_journal``'s file
# ``.<edition>.publishing.<8 of mkstemp's characters>.tmp`` (or ``.removing.``).
_TEMP_LINK = re.compile(r"\.(?P<edition>.+)\.[0-9a-f]{8}\.tmp")
_TEMP_JOURNAL = re.compile(r"\.(?P<edition>.+)(?:" + re.escape(JOURNAL_SUFFIX) + "|" + re.escape(REMOVAL_SUFFIX)
                           + r")\.[a-z0-9_]{8}\.tmp")


def _is_own_temporary(path: Path) -> bool:
    """Whether ``path`` (in the output directory) is a temporary a killed run of jstmine left: a
    link named as ``_switch_link`` names it that points at a run directory of its edition, or a
    journal being written (a small regular file named as ``_write_journal`` names it). Anything
    else named ``.*.tmp`` is someone else's and stays.

    Parameters:
        path: an entry of the output directory whose name ends in ``.tmp``.
    """
    link = _TEMP_LINK.fullmatch(path.name)
    if link and _is_edition_name(link["edition"]) and path.is_symlink():
        try:
            return _is_run_path(os.readlink(path), link["edition"])
        except OSError:
            return False
    journal = _TEMP_JOURNAL.fullmatch(path.name)
    try:
        return bool(journal and _is_edition_name(journal["edition"]) and not path.is_symlink() and path.is_file()
                    and path.stat().st_size <= _JOURNAL_MAX_BYTES)
    except OSError:
        return False


def _switch_link(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp, target_is_directory=True)
    os.replace(tmp, link)  # atomic: readers see the old run or the new one, never neither
    _fsync_dir(link.parent)


def _replace_edition_rows(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, edition: str) -> None:
    con.register("_incoming", table)
    try:
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" AS SELECT * FROM _incoming WHERE false')
        _add_new_columns(con, name)
        upgrade_rows(con, name)  # times an older jstmine wrote in another format
        con.execute(f'DELETE FROM "{name}" WHERE edition = ?', [edition])
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _incoming')
    finally:
        # In an aborted transaction this fails too; the first error is the one worth reporting.
        with contextlib.suppress(duckdb.Error):
            con.unregister("_incoming")


def _add_new_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A newer pipeline may publish more columns than the database has: add them (older
    editions' rows get NULL there), so the database keeps holding every edition."""
    have = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
    for old, new in RENAMED.get(name, {}).items():  # a database made by an older jstmine
        if old in have and new not in have:
            con.execute(f'ALTER TABLE "{name}" RENAME COLUMN "{old}" TO "{new}"')
            have = (have - {old}) | {new}
    for column, column_type, *_ in con.execute("DESCRIBE _incoming").fetchall():
        if column not in have:
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {column_type}')


def published_editions(out_dir: Path) -> list[str]:
    """The editions published in ``out_dir``, sorted: the names whose link ``edition_run_dir``
    accepts. Any other entry (a plain directory, a link someone planted or re-pointed) is no edition.

    Parameters:
        out_dir: the output directory (``processed``).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.iterdir()
                  if p.is_symlink() and _is_edition_name(p.name) and edition_run_dir(out_dir, p.name) is not None)


def edition_run_dir(out_dir: Path, edition: str) -> Path | None:
    """The run directory edition ``edition`` of ``out_dir`` is published in (resolved, so it holds
    no symbolic link), or None when ``<out_dir>/<edition>`` is not a link as publish makes it: a
    relative link to ``.runs/<edition>/<run>``, an existing directory reached with no symbolic
    link on the way, inside ``<out_dir>/.runs``. What reads or writes an edition's files goes
    through this, never through the link itself, so a link planted in a shared output directory
    never makes jstmine read or write elsewhere.

    Parameters:
        out_dir: the output directory (``processed``).
        edition: the edition's name.
    """
    out_dir = Path(out_dir)
    link = out_dir / edition
    try:
        if not link.is_symlink():
            return None
        target = os.readlink(link)
    except OSError:
        return None
    if not _is_run_path(target, edition):
        return None
    runs = out_dir / RUNS_DIR
    path = out_dir
    for part in Path(target).parts:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return None
    run = path.resolve()
    try:
        run.relative_to(runs.resolve() / edition)
    except ValueError:
        return None
    return run


def edition_link_problem(out_dir: Path, edition: str) -> str | None:
    """What is wrong with ``<out_dir>/<edition>`` when it exists but is no published edition
    (``edition_run_dir`` refuses it), for an error message; None when it is an edition or absent.

    Parameters:
        out_dir: the output directory (``processed``).
        edition: the name asked for.
    """
    link = Path(out_dir) / edition
    if not os.path.lexists(link) or edition_run_dir(out_dir, edition) is not None:
        return None
    if not link.is_symlink():
        return f"{link} is not an edition published by jstmine (not a link to one of its run directories)"
    try:
        target = printable(os.readlink(link))
    except OSError as exc:
        target = f"? ({exc.strerror or exc})"
    return (f"{link} is a symbolic link to {target}, not to a run directory of its own under "
            f"{Path(out_dir) / RUNS_DIR / edition}: it is no edition jstmine published")


def _is_edition_name(name: str) -> bool:
    """Whether ``name`` is one ``check_edition_name`` accepts (a link of another name is no edition)."""
    try:
        check_edition_name(name)
    except EditionNameError:
        return False
    return True


def settle_before_reading(out_dir: Path) -> list[str]:
    """For the commands that read an output directory (show, sql, kwic, report, diff): when a
    killed run (or removal) left a journal (its files switched, its rows not committed, or the other way round),
    settle it now, as the next run would, so that files and rows agree before they are read and a
    report is not written into a run directory about to be removed. Does nothing when there is no
    journal; says so, and reads as things are, when a run is writing now or the directory is
    read-only. Returns notes for the user."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir() or not any(any(out_dir.glob(".*" + suffix)) for suffix in (JOURNAL_SUFFIX, REMOVAL_SUFFIX)):
        return []
    try:
        with output_lock(out_dir, settle_notes=(notes := [])):
            pass
    except OutputLockedError:
        return [f"a jstmine run is publishing to {out_dir} right now: what is read may change when it ends"]
    except (OSError, PublishError) as exc:
        return [f"an interrupted run left {out_dir} unsettled and it cannot be settled now "
                f"({getattr(exc, 'what', None) or getattr(exc, 'strerror', None) or exc}): files and database may disagree "
                "until the next run"]
    return notes


def _write_holder(holder: Path) -> None:
    """Who holds the lock, for the message a second run prints; never written through a link."""
    text = f"pid {os.getpid()}, since {datetime.now(timezone.utc).isoformat(timespec='seconds')}".encode()
    for _ in range(2):
        try:
            fd = os.open(holder, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            holder.unlink()  # a link planted in its place: removed as a link
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        return


LOCK_NAME = ".jstmine.lock"


def enclosing_output(out_dir: Path) -> Path | None:
    """The output directory whose run directories ``out_dir`` is (or is inside), symbolic links
    resolved: ``processed/fy24_rr02`` (an edition's link) or ``processed/.runs/…`` give
    ``processed``; None for a directory of its own. An output directory there would nest its
    database and editions inside a published edition's files.

    Parameters:
        out_dir: the output directory asked for (it need not exist).
    """
    resolved = Path(out_dir).resolve()
    for path in (resolved, *resolved.parents):
        if path.name == RUNS_DIR and any(os.path.lexists(path.parent / name) for name in (DATABASE_NAME, LOCK_NAME)):
            return path.parent
    return None


class OutputLockedError(PublishError):
    """Another run is writing to the same output directory."""


@contextlib.contextmanager
def output_lock(out_dir: Path, timeout: float = 0.0, settle_notes: list[str] | None = None):
    """Hold the output directory for one run; a second run gets a clear message instead of a race.

    The lock is an OS file lock (released by the kernel if the holder dies, so a killed run
    never leaves a stale lock); beside it, who holds it, for the message.
    """
    from filelock import FileLock, Timeout

    out_dir = Path(out_dir)
    owner = enclosing_output(out_dir)
    if owner is not None:
        raise PublishError(
            f"{out_dir} is inside {owner / RUNS_DIR}, where jstmine keeps the files of the editions published "
            f"to {owner} (an edition's directory, such as {owner}/<edition>, is one of them)",
            f"give an output directory outside it: --out {owner} to add editions there, or a new one",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / LOCK_NAME))
    holder = out_dir / (LOCK_NAME + ".holder")
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        who = holder.read_text(encoding="utf-8").strip() if holder.exists() else "another process"
        raise OutputLockedError(
            f"another jstmine run is writing to {out_dir} ({who})",
            "wait for it to finish and run again, or write elsewhere with --out DIR",
        ) from None
    try:
        _write_holder(holder)
        runs = out_dir / RUNS_DIR
        if os.path.lexists(runs) and (runs.is_symlink() or not runs.is_dir()):
            raise PublishError(f"{runs} is not a directory jstmine made (a symbolic link or a file)",
                               f"move it away (e.g. mv {runs} {runs}.old) and run again")
        try:
            for note in recover_interrupted(out_dir):
                log.warning("%s", note)
                if settle_notes is not None:
                    settle_notes.append(note)
        except OSError as exc:
            raise PublishError(
                f"could not clean up after an interrupted run in {out_dir}: {exc.strerror or exc}",
                "check that the output directory is writable, then run again",
            ) from exc
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()
