"""Columns renamed since editions were first published, so that older editions stay readable.

Published Parquet files and database rows are never rewritten by a newer jstmine; instead, what
reads them (the report, ``jstmine diff``, the CLI) renames old columns on the way in, and
publishing to a database made by an older jstmine renames its columns once
(``pipeline.publish``).
"""
from __future__ import annotations

import pyarrow as pa

from pipeline.timestamps import iso_timestamp

# table -> {old column: new column}. The old names were SQL keywords or function names
# (``select end from mentions`` is a parse error; ``count`` reads as the function).
RENAMED: dict[str, dict[str, str]] = {
    "pages": {"columns": "column_count"},
    "sentences": {"index": "position_in_paragraph"},
    "tokens": {"start": "char_start", "end": "char_end"},
    "mentions": {"start": "char_start", "end": "char_end"},
    "policy_facts": {"count": "item_count"},
    "summary_claims": {"count": "item_count"},
    "keyterms": {"count": "frequency"},
    "lexicon_gaps": {"count": "occurrences"},
    "pdf_tables": {"row": "table_row", "column": "table_column"},
}


# table -> columns whose values older editions wrote in another format: fetched_at as
# 2026-12-06T17:30:00Z, last_modified as the HTTP header (Sun, 06 Dec 2026 17:30:00 GMT). Today
# every time is 2026-12-06T17:30:00+00:00 (pipeline.timestamps); a value that is no time is kept.
REFORMATTED: dict[str, tuple[str, ...]] = {
    "documents": ("fetched_at", "processed_at", "last_modified"),
}


def _reformatted(value: str | None) -> str | None:
    return iso_timestamp(value) or value


def upgrade_columns(name: str, table: pa.Table) -> pa.Table:
    """``table`` (read from an edition's ``name`` file) with its old column names replaced and
    its times in today's format.

    Parameters:
        name: the table's name (``mentions``, ``policy_facts`` …).
        table: the table as read; returned as it is when it has no old column or value.
    """
    renamed = RENAMED.get(name, {})
    if any(c in renamed for c in table.column_names):
        present = set(table.column_names)
        table = table.rename_columns([renamed[c] if c in renamed and renamed[c] not in present else c
                                      for c in table.column_names])
    for column in REFORMATTED.get(name, ()):
        if column in table.column_names and pa.types.is_string(table.schema.field(column).type):
            values = table[column].to_pylist()
            upgraded = [_reformatted(v) for v in values]
            if upgraded != values:
                i = table.column_names.index(column)
                table = table.set_column(i, table.schema.field(column), pa.array(upgraded, pa.string()))
    return table


def upgrade_rows(con, name: str) -> None:
    """Rewrite the times that an older jstmine wrote to the database's table ``name`` in today's
    format (``REFORMATTED``); run inside the publishing transaction, like the renames.

    Parameters:
        con: an open DuckDB connection to the database, in a transaction.
        name: the table's name; tables and columns the database does not have are skipped.
    """
    columns = REFORMATTED.get(name, ())
    if not columns:
        return
    have = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
    for column in (c for c in columns if c in have):
        olds = [r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM "{name}" WHERE "{column}" IS NOT NULL').fetchall()]
        for old in olds:
            new = _reformatted(old)
            if new != old:
                con.execute(f'UPDATE "{name}" SET "{column}" = ? WHERE "{column}" = ?', [new, old])


def old_columns(name: str, requested: list[str]) -> list[str]:
    """The old names of ``requested`` columns as well, for reading only some columns of a file
    that may predate a rename."""
    back = {new: old for old, new in RENAMED.get(name, {}).items()}
    return requested + [back[c] for c in requested if c in back]
