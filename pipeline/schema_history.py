"""Columns renamed since editions were first published, so that older editions stay readable.

Published Parquet files and database rows are never rewritten by a newer jstmine; instead, what
reads them (the report, ``jstmine diff``, the CLI) renames old columns on the way in, and
publishing to a database made by an older jstmine renames its columns once
(``pipeline.publish``).
"""
from __future__ import annotations

import pyarrow as pa

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


def upgrade_columns(name: str, table: pa.Table) -> pa.Table:
    """``table`` (read from an edition's ``name`` file) with its old column names replaced.

    Parameters:
        name: the table's name (``mentions``, ``policy_facts`` …).
        table: the table as read; returned as it is when it has no old column.
    """
    renamed = RENAMED.get(name, {})
    if not any(c in renamed for c in table.column_names):
        return table
    present = set(table.column_names)
    return table.rename_columns([renamed[c] if c in renamed and renamed[c] not in present else c
                                 for c in table.column_names])


def old_columns(name: str, requested: list[str]) -> list[str]:
    """The old names of ``requested`` columns as well, for reading only some columns of a file
    that may predate a rename."""
    back = {new: old for old, new in RENAMED.get(name, {}).items()}
    return requested + [back[c] for c in requested if c in back]
