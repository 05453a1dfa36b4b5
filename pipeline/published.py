"""Reading an edition's published tables back: the file of a table, its rows with every column of
its spec, older editions' columns upgraded (``pipeline/schema_history.py``).

The report, its analyses section and the query commands read tables through here, so a file
written by an older jstmine is read the same way everywhere. Pure reads.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import PipelineError
from pipeline.schema_history import old_columns, upgrade_columns
from pipeline.tables import SPECS


class UnreadableTableError(PipelineError):
    """A published table's file exists but cannot be read (damaged, truncated, not Parquet)."""


def table_path(out_dir: Path, edition: str, name: str) -> Path:
    """Where the edition's table ``name`` is (``<out_dir>/<edition>/<name>.parquet``)."""
    return Path(out_dir) / edition / f"{name}.parquet"


def read_table(out_dir: Path, edition: str, name: str, columns: list[str] | None = None) -> pa.Table | None:
    """The edition's table, or None when it was not produced.

    Parameters:
        out_dir: the output directory holding the editions.
        edition: the edition's name.
        name: the table's name.
        columns: only these columns (those the file has; old names read as the new ones).

    Raises ``UnreadableTableError`` (naming the file and what to do) when the file cannot be read.
    """
    path = table_path(out_dir, edition, name)
    if not path.is_file():
        return None
    try:
        if columns is not None:
            present = set(pq.read_schema(path).names)
            columns = [c for c in old_columns(name, columns) if c in present]
        return upgrade_columns(name, pq.read_table(path, columns=columns))
    except (OSError, pa.ArrowException) as exc:
        raise UnreadableTableError(
            f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            f"the file is damaged: publish edition {edition!r} again (jstmine run … --edition {edition}), "
            f"or remove it (jstmine editions remove {edition})") from exc


def table_rows(out_dir: Path, edition: str, name: str) -> list[dict] | None:
    """The table's rows as dicts with every column of its spec present (None where a file predates
    a column), or None when the edition has no such table. Parameters as ``read_table``."""
    table = read_table(out_dir, edition, name)
    if table is None:
        return None
    return spec_rows(name, table)


def spec_rows(name: str, table: pa.Table) -> list[dict]:
    """``table``'s rows as dicts with every column of the spec of ``name`` present (None where the
    table lacks one): as ``table_rows`` reads a published table back, from the table itself.

    Parameters:
        name: the table's name (``pipeline.tables.SPECS``; another name keeps the table's columns).
        table: the table, with its columns' current names.
    """
    names = list(SPECS[name].schema.names) if name in SPECS else table.column_names
    return [{c: r.get(c) for c in names} | r for r in table.to_pylist()]
