"""Every published time in one format (ISO 8601 with the UTC offset), and older editions read so."""
from __future__ import annotations

import gc
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.acquire import Acquired
from pipeline.errors import TableValidationError
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.publish import DATABASE_NAME, publish
from pipeline.report import read_table
from pipeline.schema_history import upgrade_columns
from pipeline.segment import segment
from pipeline.tables import SPECS, build_tables, validate
from pipeline.timestamps import DATE_PATTERN, TIMESTAMP_PATTERN, iso_timestamp
from pipeline.tokenize import tokenize_sentences


@pytest.mark.parametrize("given, expected", [
    ("2026-12-06T17:30:00Z", "2026-12-06T17:30:00+00:00"),
    ("2026-12-06T17:30:00+00:00", "2026-12-06T17:30:00+00:00"),
    ("2026-12-07T02:30:00+09:00", "2026-12-06T17:30:00+00:00"),  # Japan time, in UTC
    ("2026-12-06T17:30:00.123456", "2026-12-06T17:30:00+00:00"),  # no offset: UTC; no fractions
    ("Sun, 06 Dec 2026 17:30:00 GMT", "2026-12-06T17:30:00+00:00"),  # HTTP Last-Modified
    ("Sunday, 06-Dec-26 17:30:00 GMT", "2026-12-06T17:30:00+00:00"),  # RFC 850, obsolete
    ("Sun Dec  6 17:30:00 2026", "2026-12-06T17:30:00+00:00"),  # asctime, obsolete
    (" Sun, 06 Dec 2026 17:30:00 GMT ", "2026-12-06T17:30:00+00:00"),
])
def test_times_in_any_form_become_one_format(given, expected):
    assert iso_timestamp(given) == expected
    assert re.match(TIMESTAMP_PATTERN, expected)


@pytest.mark.parametrize("given", [None, "", "   ", "yesterday", "Sun, 99 Foo 2026", "2026-13-40T00:00:00Z"])
def test_what_is_no_time_gives_none(given):
    assert iso_timestamp(given) is None


def _documents(**values) -> pa.Table:
    row = {"edition": "e", "sha256": "0" * 64, "source": "x.pdf", "raw_path": "x.pdf", "bytes": 1,
           "fetched_at": "2026-12-06T17:30:00+00:00", "processed_at": "2026-12-06T17:31:00+00:00", "pages": 1} | values
    schema = SPECS["documents"].schema
    return pa.table({f.name: pa.array([row.get(f.name)], f.type) for f in schema}, schema=schema)


def test_validation_refuses_a_time_or_date_in_another_format():
    validate(_documents(last_modified="2026-12-01T00:00:00+00:00", published="2025-04"), SPECS["documents"])
    validate(_documents(published="2025-04-01"), SPECS["documents"])
    for bad in ({"fetched_at": "2026-12-06T17:30:00Z"}, {"last_modified": "Sun, 06 Dec 2026 17:30:00 GMT"},
                {"processed_at": "2026-12-06 17:30"}, {"published": "2025年4月1日"}):
        with pytest.raises(TableValidationError, match=next(iter(bad))):
            validate(_documents(**bad), SPECS["documents"])
    assert re.match(DATE_PATTERN, "2025-04") and not re.match(DATE_PATTERN, "2025/04/01")


def test_build_tables_writes_every_time_of_documents_in_the_one_format(lexicon, nlp):
    from pipeline.attribute import attribute
    from pipeline.tag import tag_tokens

    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), (Block(1, "body", "韓国は量子技術を重視する。"),), (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
    acquired = Acquired(path=Path("x.pdf"), sha256="0" * 64, bytes=1, source="https://example.org/x.pdf",
                        url="https://example.org/x.pdf", final_url="https://example.org/x.pdf", etag='"a"',
                        last_modified="Tue, 01 Apr 2025 01:02:03 GMT", fetched_at="2026-12-06T17:30:00Z",
                        published="2025-04-01")
    tables = build_tables(edition="e", acquired=acquired, extracted=doc, segmented=seg, tokens=tokens, attribution=att,
                          lexicon=lexicon, processed_at="2026-12-07T02:31:00+09:00", pipeline_version="t", config="{}")
    row = tables["documents"].to_pylist()[0]
    assert (row["last_modified"], row["fetched_at"], row["processed_at"], row["published"]) == (
        "2025-04-01T01:02:03+00:00", "2026-12-06T17:30:00+00:00", "2026-12-06T17:31:00+00:00", "2025-04-01")


OLD = {"fetched_at": "2025-04-01T10:00:00Z", "last_modified": "Tue, 01 Apr 2025 01:02:03 GMT",
       "processed_at": "2025-04-01T10:01:00+00:00"}
NEW = {"fetched_at": "2025-04-01T10:00:00+00:00", "last_modified": "2025-04-01T01:02:03+00:00",
       "processed_at": "2025-04-01T10:01:00+00:00"}


def test_an_older_editions_documents_file_is_read_in_the_one_format(tmp_path):
    old = pa.table({"edition": ["old"], **{k: [v] for k, v in OLD.items()}, "etag": ["not a time"]})
    (tmp_path / "old").mkdir()
    pq.write_table(old, tmp_path / "old" / "documents.parquet")
    row = read_table(tmp_path, "old", "documents").to_pylist()[0]
    assert {k: row[k] for k in NEW} == NEW and row["etag"] == "not a time"
    assert upgrade_columns("documents", pa.table({"last_modified": ["garbled"]}))["last_modified"].to_pylist() == ["garbled"]
    assert upgrade_columns("mentions", old).equals(old)  # other tables are not touched


def test_publishing_rewrites_an_older_editions_times_in_the_database(tmp_path):
    publish({"documents": _documents(edition="old")}, tmp_path, "old")
    con = duckdb.connect(str(tmp_path / DATABASE_NAME))
    con.execute("UPDATE documents SET fetched_at = ?, last_modified = ?, processed_at = ?",
                [OLD["fetched_at"], OLD["last_modified"], OLD["processed_at"]])  # as an older jstmine wrote them
    con.close()
    publish({"documents": _documents(edition="new")}, tmp_path, "new")
    con = duckdb.connect(str(tmp_path / DATABASE_NAME), read_only=True)
    rows = con.execute("SELECT edition, fetched_at, last_modified, processed_at FROM documents ORDER BY edition").fetchall()
    # The format casts in SQL too.
    stamps = con.execute("SELECT fetched_at::TIMESTAMPTZ < processed_at::TIMESTAMPTZ FROM documents").fetchall()
    con.close()
    gc.collect()
    assert rows[1] == ("old", NEW["fetched_at"], NEW["last_modified"], NEW["processed_at"])
    assert rows[0][0] == "new" and re.match(TIMESTAMP_PATTERN, rows[0][1])
    assert stamps == [(True,), (True,)]
