"""Remove an edition: its files and its database rows together.

Input: an output directory and an edition name. Output: what was removed (``RemovedEdition``).

A removal follows publish's journal pattern (``pipeline.publish``), under the output lock:

1. a journal ``<out>/.<edition>.removing`` is written (fsynced) before anything changes;
2. the edition's rows are deleted from every table of the database, and the ``latest_<table>``
   views re-created, in one transaction, which is committed;
3. only then are the link ``<out>/<edition>`` (removed as a link, never followed) and the run
   directories under ``<out>/.runs/<edition>/`` removed (never outside ``.runs``), and the journal
   last.

A removal killed at any point is settled by the next run or reading command
(``pipeline.publish.recover_interrupted``): while the database still holds the edition, nothing
was removed; once it does not, the files are removed too. Files and rows never disagree for long.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.editions import database_editions
from pipeline.normalize import printable
from pipeline.publish import (DATABASE_NAME, REMOVAL_SUFFIX, RUNS_DIR, PublishError, _close, _fsync_dir,
                              _remove_inside, _write_journal, check_edition_name, connect_database, output_lock,
                              published_editions, refresh_latest_views)


class UnknownEditionError(PublishError):
    """No edition of that name in the output directory (neither files nor rows)."""


@dataclass(frozen=True)
class RemovedEdition:
    """What ``remove_edition`` removed."""

    edition: str
    rows: dict[str, int]  # table → rows deleted from the database
    link: bool  # the link <out>/<edition> was removed
    runs: bool  # its run directories under .runs/ were removed


def known_editions(out_dir: Path) -> list[str]:
    """The editions of ``out_dir`` that can be removed: those with a link and those with rows in
    the database, sorted. Raises ``PublishError`` when the database cannot be read."""
    try:
        rows = database_editions(out_dir)
    except duckdb.Error as exc:
        raise PublishError(f"could not read {Path(out_dir) / DATABASE_NAME}: {str(exc).splitlines()[0]}",
                           "if a run is publishing to it right now, wait for it to finish and try again") from exc
    return sorted(set(published_editions(out_dir)) | set(rows))


def remove_edition(out_dir: Path, edition: str, *, lock_timeout: float = 0.0) -> RemovedEdition:
    """Remove edition ``edition`` of ``out_dir``: its rows in every table of the database and its
    files (the link and its run directories), under the output lock, crash-safely (see above).

    Parameters:
        out_dir: the output directory (``processed``).
        edition: the edition's name, as ``jstmine editions list`` shows it.
        lock_timeout: seconds to wait for another run writing to ``out_dir`` (0: fail at once).

    Raises ``EditionNameError`` for a name that cannot be an edition, ``UnknownEditionError``
    (naming the known editions) for one that is not there, ``OutputLockedError`` while another run
    writes, and ``PublishError`` when the link is no link jstmine made or the database cannot be
    written (then nothing was removed).
    """
    out_dir = Path(out_dir)
    check_edition_name(edition)
    if not out_dir.is_dir():
        raise UnknownEditionError(f"there is no output directory {out_dir}", "give the one the editions are in with --out DIR")
    with output_lock(out_dir, timeout=lock_timeout):
        known = known_editions(out_dir)
        if edition not in known:
            raise UnknownEditionError(
                f"there is no edition {edition!r} in {out_dir}",
                ("the editions are: " + ", ".join(known)) if known else "it has no editions at all")
        link = out_dir / edition
        if link.exists() and not link.is_symlink():
            raise PublishError(f"{link} is a plain directory, not an edition published by jstmine: not removed",
                               f"move it away by hand if you want it gone (e.g. mv {link} {link}.old)")
        journal = out_dir / f".{edition}{REMOVAL_SUFFIX}"
        _write_journal(journal, {"edition": edition})
        try:
            rows = _delete_rows(out_dir / DATABASE_NAME, edition)
        except PublishError:
            journal.unlink(missing_ok=True)  # rolled back: nothing was removed, nothing to finish
            raise  # (anything else, such as Ctrl-C, leaves the journal: the next run settles it)
        removed_link = link.is_symlink()
        if removed_link:
            link.unlink()
            _fsync_dir(out_dir)
        runs_dir = out_dir / RUNS_DIR / edition
        removed_runs = os.path.lexists(runs_dir) and _remove_inside(out_dir / RUNS_DIR, runs_dir)
        journal.unlink(missing_ok=True)
    return RemovedEdition(edition, rows, removed_link, removed_runs)


def _delete_rows(db_path: Path, edition: str) -> dict[str, int]:
    """Delete ``edition``'s rows from every table with an edition column and re-create the
    latest_* views, in one transaction; returns the rows deleted per table ({} without a database)."""
    if not db_path.exists():
        return {}
    try:
        con = connect_database(db_path)
    except duckdb.Error as exc:
        raise PublishError(f"could not open the database {db_path}: {str(exc).splitlines()[0]}",
                           "check that no other program holds it open for writing, then try again; nothing was removed") from exc
    try:
        con.execute("BEGIN TRANSACTION")
        tables = [r[0] for r in con.execute(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
            "ON c.table_schema = t.table_schema AND c.table_name = t.table_name "
            "WHERE c.table_schema = 'main' AND t.table_type = 'BASE TABLE' AND c.column_name = 'edition' "
            "ORDER BY 1").fetchall()]
        deleted = {}
        for table in tables:
            count = con.execute(f'SELECT count(*) FROM "{table}" WHERE edition = ?', [edition]).fetchone()[0]
            con.execute(f'DELETE FROM "{table}" WHERE edition = ?', [edition])
            if count:
                deleted[table] = count
        refresh_latest_views(con)
        con.execute("COMMIT")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise PublishError(f"could not delete the rows of edition {edition!r} from {db_path}: {printable(str(exc))}",
                           "nothing was removed; fix the cause (disk space, permissions, another program) and try again") from exc
    finally:
        _close(con, db_path)
    return deleted
