"""Acceptance on the real text and on the sample edition, through the whole flow.

* The report's executive summary, read from ../shared, as a PDF: country × technology holds exactly
  the summary's pairs, and the claims read from it are exactly what it states.
* The sample edition, served as the JST site serves the report (listing page #fy24_rr02, then the
  PDF), checked with the packaged claims (pipeline/data/expectations/fy24_rr02.yaml) and the claims
  read from its own summary chapter: nothing missing, nothing contradicted.
"""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from samples.build import LISTING_FRAGMENT, build_listing_html, build_sample_pdf, build_text_pdf, listing_entries
from summary_truth import COUNTS_ONLY, FACTS, RELATIONS, TECHNOLOGIES, by_kind

pytestmark = pytest.mark.slow


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
    assert got == TECHNOLOGIES
    assert not COUNTS_ONLY & set(got)


def test_the_claims_read_from_the_summary_are_what_it_states(summary_run):
    _, out = summary_run
    claims = pq.read_table(out / "summary_claims.parquet").to_pylist()
    assert by_kind(claims) == (TECHNOLOGIES, FACTS, RELATIONS)
    assert {c["origin"] for c in claims} == {"summary_chapter"}  # a local PDF: no page, no packaged file
    # The PDF is the summary alone: there is no body to support or contradict any claim.
    findings = pq.read_table(out / "findings_check.parquet").to_pylist()
    assert len(findings) == len(claims) and {f["status"] for f in findings} == {"missing"}
    assert all("no body text outside its summary" in f["detail"] for f in findings)


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
        assert sentences[m["sentence_id"]]["text"][m["char_start"]:m["char_end"]] == m["text"]


def test_sectors_and_generic_words_the_summary_uses_are_no_technologies(summary_run, lexicon):
    _, out = summary_run
    text = "".join(s["text"] for s in pq.read_table(out / "sentences.parquet").to_pylist())
    tech_text = {m["text"] for m in pq.read_table(out / "mentions.parquet").to_pylist() if m["label"] == "TECHNOLOGY"}
    used = [w for w in (*lexicon.sectors, *lexicon.generic) if w in text]
    assert {"医療", "農業", "重要技術", "新興技術", "データ"} <= set(used)  # the summary does use them ...
    assert not tech_text & set(used)  # ... and none is a technology mention


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


def test_the_sample_edition_matches_its_packaged_claims_and_its_own_summary(fresh_cache, http_server, tmp_path):
    from flows.process_report import process_report

    site = tmp_path / "site"
    pdf = build_sample_pdf(site / "sample-report.pdf")
    build_listing_html(listing_entries(pdf.name), site / "report_2022.html")
    http_server.serve_pdf("/investigation/sample-report.pdf", pdf.read_bytes())
    http_server.serve_html("/investigation/report_2022.html", (site / "report_2022.html").read_text(encoding="utf-8"))
    source = http_server.url(f"/investigation/report_2022.html#{LISTING_FRAGMENT}")
    state = process_report(source=source, edition="sample", out_dir=str(tmp_path / "processed"),
                           raw_dir=str(tmp_path / "raw"), return_state=True)
    assert state.is_completed(), state.message
    out = tmp_path / "processed" / "sample"
    findings = pq.read_table(out / "findings_check.parquet").to_pylist()
    assert [f for f in findings if f["status"] != "matched"] == []
    origins = {f["origin"] for f in findings}
    assert origins == {"expectations_file", "summary_chapter"}  # the packaged claims, and the rest read from the summary
    packaged = [f for f in findings if f["origin"] == "expectations_file"]
    assert len(packaged) == 50  # every claim of the packaged file
    assert all(f["summary_evidence"] and f["evidence"] and f["page"] > f["summary_page"] for f in findings)
