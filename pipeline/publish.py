"""Publish: validated tables → processed/<edition>/ (Parquet + CSV) and the DuckDB database.

Input: ``dict[name, pyarrow.Table]`` (validated by ``pipeline.tables``), the output directory and
the edition name. Output: the published edition directory.

Publishing is atomic. Files are written to a fresh run directory under ``.runs/``;
``<out>/<edition>`` is a symlink that is switched to it in one ``rename``; the database rows of
the edition are replaced in one transaction, committed only after the switch. A run that fails at
any point leaves the previous outputs, files and database rows alike, as they were.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.errors import PipelineError

DATABASE_NAME = "jstmine.duckdb"
RUNS_DIR = ".runs"
_EDITION_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class PublishError(PipelineError):
    """The outputs could not be written (disk full, permissions); nothing was published."""


def check_edition_name(edition: str) -> str:
    if not edition or edition.startswith(".") or not set(edition) <= _EDITION_CHARS:
        raise PublishError(
            f"edition name {edition!r} is not usable as a directory name",
            "use letters, digits, '.', '_' and '-' only, not starting with '.' (e.g. fy24_rr02-2025-04)",
        )
    return edition


def _csv_ready(table: pa.Table) -> pa.Table:
    """CSV has no lists: write list cells as 'a;b;c'."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_list(col.type):
            col = pa.array([None if v is None else ";".join(str(x) for x in v) for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def write_table_files(table: pa.Table, directory: Path, name: str) -> None:
    pq.write_table(table, directory / f"{name}.parquet", compression="zstd")
    with open(directory / f"{name}.csv", "wb") as fh:
        fh.write("\ufeff".encode("utf-8"))  # a BOM, so Excel reads the Japanese as UTF-8
        pacsv.write_csv(_csv_ready(table), fh)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tables: dict[str, pa.Table], out_dir: Path, edition: str) -> Path:
    check_edition_name(edition)
    out_dir = Path(out_dir)
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
        for name, table in tables.items():
            write_table_files(table, run_dir, name)
        for f in run_dir.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(run_dir)
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise PublishError(
            f"could not write the outputs of edition {edition!r} under {out_dir}: {exc.strerror or exc}",
            "free disk space or fix permissions, then run again; earlier outputs are untouched",
        ) from exc

    previous = os.readlink(link) if link.is_symlink() else None
    db_path = out_dir / DATABASE_NAME
    try:
        con = duckdb.connect(str(db_path))
    except duckdb.Error as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise PublishError(f"could not open the database {db_path}: {exc}",
                           "check that no other program holds it open for writing, then run again") from exc
    try:
        con.execute("BEGIN TRANSACTION")
        for name, table in tables.items():
            _replace_edition_rows(con, name, table, edition)
        _switch_link(link, Path(RUNS_DIR) / edition / run_id)
        try:
            con.execute("COMMIT")
        except duckdb.Error:
            _switch_link(link, Path(previous)) if previous else link.unlink(missing_ok=True)
            raise
    except (duckdb.Error, OSError) as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        shutil.rmtree(run_dir, ignore_errors=True)
        raise PublishError(
            f"could not publish edition {edition!r} to {out_dir}: {exc}",
            "nothing was changed; fix the cause (disk space, permissions, another process) and run again",
        ) from exc
    finally:
        con.close()
    if previous:
        old = (out_dir / previous).resolve()
        if old != run_dir.resolve() and (out_dir / RUNS_DIR) in old.parents:
            shutil.rmtree(old, ignore_errors=True)
    return link


def _switch_link(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp, target_is_directory=True)
    os.replace(tmp, link)  # atomic: readers see the old run or the new one, never neither
    _fsync_dir(link.parent)


def _replace_edition_rows(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, edition: str) -> None:
    con.register("_incoming", table)
    try:
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" AS SELECT * FROM _incoming WHERE false')
        con.execute(f'DELETE FROM "{name}" WHERE edition = ?', [edition])
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _incoming')
    finally:
        con.unregister("_incoming")


def published_editions(out_dir: Path) -> list[str]:
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.iterdir() if p.is_symlink() and not p.name.startswith("."))


LOCK_NAME = ".jstmine.lock"


class OutputLockedError(PublishError):
    """Another run is writing to the same output directory."""


@contextlib.contextmanager
def output_lock(out_dir: Path, timeout: float = 0.0):
    """Hold the output directory for one run; a second run gets a clear message instead of a race.

    The lock is an OS file lock (released by the kernel if the holder dies, so a killed run
    never leaves a stale lock); beside it, who holds it, for the message.
    """
    from filelock import FileLock, Timeout

    out_dir = Path(out_dir)
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
        holder.write_text(f"pid {os.getpid()}, since {datetime.now(timezone.utc).isoformat(timespec='seconds')}", encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()
