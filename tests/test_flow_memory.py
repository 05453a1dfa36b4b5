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
