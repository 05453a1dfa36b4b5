"""Acceptance on the real text: the report's executive summary, read from ../shared, as a PDF."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from samples.build import build_text_pdf

pytestmark = pytest.mark.slow

# What the executive summary says each government's policy names (subject → technologies).
EXPECTED = {
    "IN": {"ai", "quantum", "semiconductors", "ict", "biotechnology"},
    "AU": {"ai", "quantum", "biotechnology", "clean_energy"},
    "ASEAN": {"ai", "digital", "green", "biotechnology"},
    "US": {"ai", "quantum", "biotechnology"},
    "DE": {"semiconductors", "ai", "green", "biotechnology", "nanotechnology", "defense"},
    "FR": {"quantum", "ai"},
}
COUNTS_ONLY = {"CN", "KR", "GB", "EU"}  # their paragraphs give counts but name no specific technology


@pytest.fixture(scope="module")
def summary_run(shared_dir, prefect_server, tmp_path_factory):
    from flows.process_report import process_report

    tmp = tmp_path_factory.mktemp("acceptance")
    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    pdf = build_text_pdf(text, tmp / "summary.pdf", title="エグゼクティブ・サマリー")
    summary = process_report(source=str(pdf), edition="summary", out_dir=str(tmp / "processed"), raw_dir=str(tmp / "raw"))
    return summary, tmp / "processed" / "summary"


def test_country_technology_holds_exactly_the_summarys_pairs(summary_run):
    _, out = summary_run
    rows = pq.read_table(out / "country_technology.parquet").to_pylist()
    got: dict[str, set[str]] = {}
    for r in rows:
        got.setdefault(r["country"], set()).add(r["technology"])
    assert got == EXPECTED
    assert not COUNTS_ONLY & set(got)


def test_every_row_has_page_and_sentence_evidence_that_names_the_technology(summary_run):
    _, out = summary_run
    sentences = {r["sentence_id"]: r for r in pq.read_table(out / "sentences.parquet").to_pylist()}
    mentions = pq.read_table(out / "mentions.parquet").to_pylist()
    for row in pq.read_table(out / "country_technology.parquet").to_pylist():
        assert row["evidence_page"] in row["pages"]
        for sid in row["sentence_ids"]:
            assert sentences[sid]["subject"] == row["country"]
            assert any(m["sentence_id"] == sid and m["top"] == row["technology"] for m in mentions)
    for m in mentions:  # offsets point at the mention's text in its sentence
        assert sentences[m["sentence_id"]]["text"][m["start"]:m["end"]] == m["text"]


def test_strategy_names_sectors_and_generic_words_are_not_technologies(summary_run):
    _, out = summary_run
    tech_text = {m["text"] for m in pq.read_table(out / "mentions.parquet").to_pylist() if m["label"] == "TECHNOLOGY"}
    for word in ("国防科学技術戦略", "国防", "医療", "農業", "重要技術", "新興技術", "データ"):
        assert word not in tech_text


def test_countries_inside_another_countrys_paragraph_are_mentions_not_subjects(summary_run):
    _, out = summary_run
    mentions = pq.read_table(out / "mentions.parquet").to_pylist()
    us = {(m["id"]) for m in mentions if m["subject"] == "US" and m["label"] == "COUNTRY"}
    assert {"CN", "RU", "AU", "KR", "IN", "VN", "SG", "JP"} <= us
    fused = [m for m in mentions if m["via"] == "abbreviation"]
    assert [m["id"] for m in fused] == ["US", "JP", "KR"]  # 米日韓経済安保対話
    assert any(m["id"] == "JP" and m["text"] == "わが国" for m in mentions)


def test_ner_audit_lists_only_what_the_lexicon_does_not_cover(shared_dir, prefect_server, tmp_path):
    from flows.process_report import process_report

    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    pdf = build_text_pdf(text, tmp_path / "summary.pdf")
    process_report(source=str(pdf), edition="audit", out_dir=str(tmp_path / "processed"), raw_dir=str(tmp_path / "raw"),
                   expectations="", ner_audit=True)
    gaps = pq.read_table(tmp_path / "processed" / "audit" / "lexicon_gaps.parquet").to_pylist()
    named = {g["text"] for g in gaps}
    # GiNZA's places in the summary are all in the lexicon; what is left are generic words
    # (同盟国, 特定国) and the organisation's own name, each with its evidence.
    assert not named & {"中国", "インド", "韓国", "オーストラリア", "米国", "英国", "ドイツ", "フランス", "EU", "ASEAN", "ロシア"}
    assert all(g["evidence"] and g["page"] >= 1 for g in gaps)
