"""What the flow holds in memory: stage outputs persisted compressed (flows.results), and let go
once no later step needs them, so a long report's are not all alive at the end of the run."""
from __future__ import annotations

import gc

import pyarrow as pa
import pytest

from flows.results import ZstdSerializer
from pipeline.segment import Sentence
from pipeline.tokenize import TOKEN_SCHEMA


def _tokens(n: int) -> pa.Table:
    return pa.table({
        "sentence_id": pa.array([i // 7 for i in range(n)], pa.int32()),
        "token_index": pa.array([i % 7 for i in range(n)], pa.int32()),
        "surface": [f"語{i % 50}" for i in range(n)],
        "normalized": [f"語{i % 50}" for i in range(n)],
        "dictionary_form": [f"語{i % 50}" for i in range(n)],
        "pos": ["名詞"] * n,
        "pos_detail": [None if i % 11 == 0 else "普通名詞-一般" for i in range(n)],
        "reading": ["ゴ"] * n,
        "char_start": pa.array([2 * (i % 7) for i in range(n)], pa.int32()),
        "char_end": pa.array([2 * (i % 7) + 2 for i in range(n)], pa.int32()),
    }, schema=TOKEN_SCHEMA)


def test_a_token_table_round_trips_compressed():
    table = _tokens(50_000)
    serializer = ZstdSerializer()
    blob = serializer.dumps(table)
    back = serializer.loads(blob)
    assert back.schema == TOKEN_SCHEMA and back.equals(table)
    assert len(blob) < table.nbytes / 3  # base64 of the compressed stream, not of a pickle


def test_other_outputs_round_trip_and_a_foreign_blob_is_refused():
    serializer = ZstdSerializer()
    value = [Sentence(sentence_id=3, paragraph_id=1, section_id=0, page=2, index=0, text="日本の量子技術。", kind="body")]
    assert serializer.loads(serializer.dumps(value)) == value
    with pytest.raises(ValueError, match="jstmine/zstd"):
        serializer.loads(b"WGhlbGxv")  # base64 of "Xhello"


def test_stage_outputs_are_pickled_as_cloudpickle_writes_them():
    """The standard pickler writes a stage output (frozen dataclasses of importable modules) byte
    for byte as cloudpickle does, so results written before load the same, only faster."""
    import cloudpickle

    from flows.results import _pickled

    value = [Sentence(sentence_id=i, paragraph_id=1, section_id=0, page=2, index=i, text="日本の量子技術。", kind="body")
             for i in range(50)]
    assert _pickled(value) == cloudpickle.dumps(value)


def test_what_the_standard_pickler_cannot_write_goes_to_cloudpickle(monkeypatch):
    import sys

    serializer = ZstdSerializer()
    square = serializer.loads(serializer.dumps(lambda x: x * x))  # a lambda: by value
    assert square(7) == 49

    def made_here():
        class Inner:
            k = 3
        return Inner

    assert serializer.loads(serializer.dumps(made_here()())).k == 3  # a class defined in a function
    # An object whose class the standard pickler would name as __main__._Local (only this process
    # has it there): written by value, so it loads where __main__ has no such class.
    local = type("_JstmineTestLocal", (), {"__module__": "__main__", "n": 0})
    monkeypatch.setattr(sys.modules["__main__"], "_JstmineTestLocal", local, raising=False)
    thing = local()
    thing.n = 5
    blob = serializer.dumps(thing)
    monkeypatch.delattr(sys.modules["__main__"], "_JstmineTestLocal")
    assert serializer.loads(blob).n == 5


def test_a_result_record_names_the_serializer_and_loads_back():
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata

    table = _tokens(1_000)
    record = ResultRecord(result=table, metadata=ResultRecordMetadata(serializer=ZstdSerializer(), storage_key="k"))
    back = ResultRecord.deserialize(record.serialize())
    assert back.metadata.serializer.type == "jstmine/zstd"
    assert back.result.equals(table)


@pytest.mark.slow
def test_stage_outputs_are_let_go_before_the_report_is_written(fresh_cache, tmp_path, monkeypatch):
    """While the HTML report is written (the run's last step) no stage output is alive: neither the
    flow nor Prefect's in-memory result cache holds them."""
    import flows.process_report as fr
    from pipeline.attribute import Attribution
    from pipeline.extract import ExtractedDocument
    from pipeline.segment import Segmented
    from samples.build import build_sample_pdf

    pdf = build_sample_pdf(tmp_path / "sample.pdf", edition_note="test_flow_memory")
    alive: dict[str, int] = {}
    write_report = fr.write_report

    def is_token_table(o) -> bool:
        return isinstance(o, pa.Table) and o.schema == TOKEN_SCHEMA

    kinds = {"ExtractedDocument": lambda o: isinstance(o, ExtractedDocument),
             "Segmented": lambda o: isinstance(o, Segmented),
             "Attribution": lambda o: isinstance(o, Attribution), "token tables": is_token_table}
    # Objects of these kinds that other tests of the session hold (session fixtures) are not this
    # run's: they are kept referenced here, so that their ids cannot be reused, and not counted.
    gc.collect()
    before = [o for o in gc.get_objects() if any(test(o) for test in kinds.values())]
    known = {id(o) for o in before}

    def counting(out_dir, edition, **kwargs):
        gc.collect()
        objects = [o for o in gc.get_objects() if id(o) not in known]
        for name, test in kinds.items():
            alive[name] = sum(test(o) for o in objects)
        return write_report(out_dir, edition, **kwargs)

    monkeypatch.setattr(fr, "write_report", counting)
    state = fr.process_report(source=str(pdf), edition="sample", out_dir=str(tmp_path / "processed"),
                              raw_dir=str(tmp_path / "raw"), expectations="", return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.tokens > 0 and summary.sentences > 0 and summary.mentions > 0 and summary.pages > 0
    assert alive == {"ExtractedDocument": 0, "Segmented": 0, "Attribution": 0, "token tables": 0}


def test_publish_hands_back_the_file_writers_memory_before_the_database_transaction(tmp_path, monkeypatch):
    """Arrow's pool keeps what the Parquet and CSV writers freed, and DuckDB cannot use it: publish
    releases it once every file is written, before the database is opened."""
    import pipeline.publish as publish_module
    from pipeline.tables import SPECS, validate

    n = 3
    pages = validate(pa.table({
        "edition": ["ed"] * n, "page": list(range(1, n + 1)), "width": [595.0] * n, "height": [842.0] * n,
        "chars": [100] * n, "has_text_layer": [True] * n, "unmapped_share": [0.0] * n, "column_count": [1] * n,
        "problem": [None] * n, "removed_lines": [["- 1 -"]] * n, "text_source": ["text_layer"] * n,
        "ocr_engine": [None] * n, "ocr_language": [None] * n, "ocr_confidence": pa.array([None] * n, pa.float32()),
    }), SPECS["pages"])
    events: list[tuple[str, int]] = []
    runs = tmp_path / publish_module.RUNS_DIR / "ed"

    def files_written() -> int:
        return len(list(runs.glob("*/*.*"))) if runs.is_dir() else 0

    real_release, real_connect = publish_module.release_written_memory, publish_module.connect_database
    monkeypatch.setattr(publish_module, "release_written_memory",
                        lambda: (events.append(("release", files_written())), real_release())[1])
    monkeypatch.setattr(publish_module, "connect_database",
                        lambda *a, **k: (events.append(("database", files_written())), real_connect(*a, **k))[1])
    publish_module.publish({"pages": pages, "pages_copy": pages}, tmp_path, "ed")
    assert events == [("release", 4), ("database", 4)]  # 2 tables × (Parquet, CSV), then the database


def test_the_html_report_reads_only_the_technology_mentions_span_columns(tmp_path):
    """The report's evidence spans come from the technology mentions' span columns alone, read as
    such (not every mention's every column as Python objects), and are the same spans."""
    import pyarrow.parquet as pq

    from pipeline.report import SPAN_COLUMNS, technology_mentions, table_rows
    from pipeline.report_evidence import technology_spans

    edition = tmp_path / "ed"
    edition.mkdir()
    pq.write_table(pa.table({
        "mention_id": [1, 2, 3, 4], "sentence_id": pa.array([5, 5, 6, 7], pa.int32()),
        "label": ["TECHNOLOGY", "COUNTRY", "TECHNOLOGY", "TECHNOLOGY"], "top": ["ai", "JP", "quantum", "ai"],
        "char_start": pa.array([0, 3, 2, None], pa.int32()), "char_end": pa.array([2, 5, 6, None], pa.int32()),
        "text": ["AI", "日本", "量子技術", "AI"], "subject": ["JP", "JP", None, "US"],
    }), edition / "mentions.parquet")
    rows = technology_mentions(tmp_path, "ed")
    assert [r["sentence_id"] for r in rows] == [5, 6, 7] and all(set(r) == set(SPAN_COLUMNS) for r in rows)
    assert technology_spans(rows) == technology_spans(table_rows(tmp_path, "ed", "mentions")) == {
        (5, "ai"): [(0, 2)], (6, "quantum"): [(2, 6)]}
    assert technology_mentions(tmp_path, "none") == []


def test_giving_memory_back_starts_no_process(monkeypatch):
    """``release_free_memory`` finds glibc's malloc_trim without a child process (find_library runs
    ldconfig: a fork of the flow process, counted once more in its memory while it lives)."""
    import platform
    import subprocess

    from flows import memory

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    memory._malloc_trim.cache_clear()
    try:
        memory.release_free_memory()
        trim = memory._malloc_trim()
    finally:
        memory._malloc_trim.cache_clear()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert trim is not None and trim(0) in (0, 1)


def test_the_many_small_stage_outputs_have_slots_and_round_trip_as_results():
    import dataclasses
    import pickle

    from test_records import RECORDS as outputs  # one of each (blocks, paragraphs, sentences, mentions …)

    serializer = ZstdSerializer()
    for obj in outputs:
        assert not hasattr(obj, "__dict__"), f"{type(obj).__name__} keeps a __dict__ per instance"
        with pytest.raises(dataclasses.FrozenInstanceError):  # still frozen
            setattr(obj, dataclasses.fields(obj)[0].name, 9)
        assert serializer.loads(serializer.dumps(obj)) == obj
        assert pickle.loads(pickle.dumps(obj)) == obj  # what the extract workers send back
