"""Rows out of the CLI for other programs: ``--format csv|tsv|json`` (``table`` is rich, in flows.app).

* csv  — a header row, then one row per record (RFC 4180 quoting by the csv module, UTF-8, "\\n"
  line ends); lists joined with ";" (a list of records or of lists as JSON); empty for null; a text
  cell a spreadsheet would read as a formula gets a leading ' (as the published CSV files);
* tsv  — a header row, then one line per record, fields separated by tabs and never quoted: a
  backslash, tab or newline inside a value is written \\\\, \\t, \\n, other control characters
  \\xNN (so ``cut -f`` and ``awk -F'\\t'`` see one record per line);
* json — JSON Lines: one object per record, column → value, lists as arrays, null for null, Japanese
  as UTF-8 (not \\u escapes); one line at a time, so long results stream.

All three carry the full text (nothing is clipped) and nothing else goes to stdout: notes go to
stderr. Text from documents is made printable (``pipeline.normalize.printable``) in csv and tsv;
in json control characters and bidirectional overrides are written as \\uXXXX escapes, which read
back as the same text.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum
from typing import TextIO

import typer

from pipeline.normalize import printable
from pipeline.publish import spreadsheet_safe


class Format(str, Enum):
    """What a command prints: a rich table for reading, or rows for other programs."""

    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"


FORMAT_HELP = ("table (for reading; long text cut), or for other programs, with the full text and nothing else on stdout: "
               "csv (header row; lists joined with ';'), tsv (header row; no quoting: a tab, newline or backslash in a value "
               "is written \\t, \\n, \\\\), json (JSON Lines: one object per row, lists as arrays).")


def format_option() -> Format:
    """The ``--format/-f`` option every command that prints rows takes (default: table)."""
    return typer.Option(Format.table, "--format", "-f", case_sensitive=False, help=FORMAT_HELP)


def is_machine(fmt: Format | str) -> bool:
    """True for csv, tsv and json: output for another program, not a person."""
    return Format(fmt) is not Format.table


# ------------------------------------------------------------------------------------ one value


def _text(value: object) -> str:
    """A scalar as text: "" for null, true/false, numbers as Python writes them, dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(json_value(value), ensure_ascii=False)
    return str(value)


def _joined(value: object) -> tuple[str, bool]:
    """(value as one text cell, whether it is text rather than a number)."""
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) for v in value):
            return _text(value), True
        return ";".join(_text(v) for v in value), True
    if isinstance(value, (bool, int, float, Decimal)) or value is None:
        return _text(value), False
    return _text(value), True


def csv_cell(value: object) -> str:
    """One value as a CSV cell: lists joined with ";", printable, formula starts neutralised.

    Parameters:
        value: what DuckDB or Arrow gave (None, bool, int, float, str, date, list, dict …).
    """
    text, is_text = _joined(value)
    return spreadsheet_safe(printable(text)) if is_text else text


def tsv_cell(value: object) -> str:
    """One value as a TSV field: lists joined with ";"; backslash, tab and newline written as
    \\\\, \\t and \\n, other control characters as \\xNN, so that a record is one line.

    Parameters:
        value: as for ``csv_cell``.
    """
    text, _ = _joined(value)
    return printable(text.replace("\\", "\\\\")).replace("\t", "\\t").replace("\n", "\\n")


def json_value(value: object) -> object:
    """A value JSON can hold: lists and dicts kept (recursively), dates in ISO 8601, decimals as
    numbers, NaN and infinities as null, bytes in hex, anything else as its text.

    Parameters:
        value: as for ``csv_cell``.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return _text(value)


# Besides what json.dumps escapes (below U+0020): DEL, C1 controls, the bidirectional overrides and
# isolates (they reorder what a terminal shows) and U+2028/2029 (line breaks to some readers).
_JSON_UNSAFE = re.compile("[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _unique(columns: Sequence[str]) -> list[str]:
    """Column names as JSON keys: a repeated name gets _2, _3 … (SQL may return two columns ``a``)."""
    used: set[str] = set()
    out = []
    for name in map(str, columns):
        key, n = name, 1
        while key in used:
            n += 1
            key = f"{name}_{n}"
        used.add(key)
        out.append(key)
    return out


def json_line(columns: Sequence[str], row: Sequence) -> str:
    """One record as a line of JSON (no newline at the end).

    Parameters:
        columns: the keys, in order (repeated ones made unique with _2, _3 …).
        row: the values, one per column.
    """
    record = dict(zip(_unique(columns), (json_value(v) for v in row), strict=True))
    text = json.dumps(record, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# ------------------------------------------------------------------------------------ many rows


def write_rows(fmt: Format | str, columns: Sequence[str], rows: Iterable[Sequence], stream: TextIO) -> int:
    """Write ``rows`` to ``stream`` in a machine format (csv, tsv or json); returns how many.

    Parameters:
        fmt: csv, tsv or json (``table`` is rich, not written here).
        columns: the column names; csv and tsv start with them as a header row.
        rows: sequences of values, one per column; read one at a time.
        stream: where to write (text, UTF-8).
    """
    fmt = Format(fmt)
    count = 0
    if fmt is Format.json:
        for row in rows:
            stream.write(json_line(columns, row) + "\n")
            count += 1
        return count
    if fmt is Format.csv:
        writer = csv.writer(stream, lineterminator="\n")
        cell = csv_cell
    elif fmt is Format.tsv:
        writer = csv.writer(stream, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, escapechar=None,
                            lineterminator="\n")
        cell = tsv_cell
    else:
        raise ValueError(f"{fmt.value} is not a machine format")
    writer.writerow([cell(str(c)) for c in columns])
    for row in rows:
        writer.writerow([cell(v) for v in row])
        count += 1
    return count


def _utf8_stdout() -> TextIO:
    """sys.stdout, switched to UTF-8 if the locale says otherwise (Japanese must get through)."""
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding != "utf8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(encoding="utf-8")
    return stream


def emit(fmt: Format | str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """``write_rows`` to stdout in UTF-8; returns how many rows. When the reader goes away
    (``| head``), stops quietly with exit status 0 rather than a traceback.

    Parameters:
        fmt: csv, tsv or json.
        columns: the column names.
        rows: the rows, one sequence of values per column.
    """
    stream = _utf8_stdout()
    try:
        count = write_rows(fmt, columns, rows, stream)
        stream.flush()
        return count
    except BrokenPipeError:
        try:  # Python flushes stdout again at exit: point it somewhere that takes it
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        raise typer.Exit(0) from None
