"""A report's structure: contents pages, the PDF outline, real headings at their levels, the
executive summary after the front matter, country subsections that make subjects, reference lists.

Whole reports are drawn by ``fullreport`` in four layouts (country chapters, country sections at
level 2, full-width-numbered country subsections at level 3, decimal numbering), with a cover, a
preface, a two-page contents, the summary, chapters with footnotes, a table, a figure and references;
their truth is exact. The real reports in ../shared/pdfs check the same against their own outline
or contents page."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fullreport import FULL_LAYOUTS, build_full_report
from pipeline.attribute import attribute
from pipeline.extract import extract_pdf
from pipeline.extract.structure import title_key
from pipeline.normalize import normalize_text
from pipeline.segment import segment
from pipeline.tag import tag_tokens
from pipeline.tokenize import tokenize_sentences

SHARED = Path(__file__).resolve().parents[2] / "shared"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize_text(text))


def real_summary() -> list[str]:
    path = SHARED / "reference" / "fy2024-rr02-executive-summary.txt"
    if not path.is_file():
        pytest.skip(f"{path} is not available (expected next to the project)")
    text = path.read_text(encoding="utf-8").split("エグゼクティブ・サマリー", 1)[1]
    return [p.strip() for p in text.split("\n\n") if p.strip()]


@pytest.fixture(scope="module", params=[(layout, False) for layout in FULL_LAYOUTS] + [("chapters", True), ("word_like", True)],
                ids=lambda p: f"{p[0]}{'-real-summary' if p[1] else ''}")
def report(request, tmp_path_factory, nlp, lexicon):
    layout, real = request.param
    path = tmp_path_factory.mktemp(layout) / f"{layout}.pdf"
    truth = build_full_report(path, layout, summary=real_summary() if real else None)
    doc = extract_pdf(path, workers=1)
    seg = segment(doc)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    return truth, doc, seg, att


def test_headings_are_the_documents_headings_at_their_levels(report):
    truth, _, seg, _ = report
    expected = [(h.level, squash(h.text)) for h in truth.headings if squash(h.text) != "目次"]
    assert [(s.level, squash(s.heading)) for s in seg.sections[1:]] == expected


def test_contents_entries_are_read_and_never_become_text(report):
    truth, doc, seg, _ = report
    assert [(e.level, squash(e.title), e.printed_page) for e in doc.contents] == [
        (e.level, squash(e.title), e.printed) for e in truth.contents]
    on_contents_pages = [s for s in seg.sentences if s.page in set(truth.contents_pages)]
    assert on_contents_pages == []  # no heading, no sentence, no subject from a contents page


def test_every_body_sentence_has_its_subject(report):
    truth, _, seg, att = report
    subject = {s.sentence_id: s.subject for s in att.sentences}
    body = {squash(s.text): subject[s.sentence_id] for s in seg.sentences if s.kind == "body"}
    got = [(text[:20], body.get(squash(text), "not found")) for text, _ in truth.sentence_subjects]
    assert got == [(text[:20], expected) for text, expected in truth.sentence_subjects]


def test_reference_lists_give_references_not_body(report):
    truth, _, seg, att = report
    references = [squash(s.text) for s in seg.sentences if s.kind == "reference"]
    body = [squash(s.text) for s in seg.sentences if s.kind == "body"]
    subject = {s.sentence_id: s.subject for s in att.sentences}
    together = "".join(references)
    for entry in truth.references:
        assert squash(entry) in together, entry  # every entry is in the reference list ...
        assert not any(squash(entry)[:15] in b for b in body), entry  # ... and none in the body
    # Most entries are one reference each. An English entry whose last line happens to reach the
    # margin runs into the next one (nothing tells them apart but the hanging indent that follows).
    whole = [e for e in truth.references if squash(e) in references]
    assert len(whole) >= 0.6 * len(truth.references)
    assert all(subject[s.sentence_id] is None for s in seg.sentences if s.kind == "reference")


def test_cover_lines_are_no_headings(report):
    truth, doc, _, _ = report
    cover = [b for b in doc.blocks if b.page == 1]
    assert cover and all(b.kind == "body" for b in cover)
    assert [squash(b.text) for b in cover] == [squash(line) for line in truth.cover_lines]


def test_the_outline_confirms_the_headings_where_there_is_one(report):
    truth, doc, seg, _ = report
    if not truth.outline:
        assert doc.outline == ()
        return
    top = min(e.level for e in doc.outline)
    headings = {(s.level, title_key(s.heading)) for s in seg.sections[1:]}
    listed = {(e.level - top + 1, title_key(e.title)) for e in doc.outline}
    assert listed - {(1, title_key("目次"))} <= headings


# ---------------------------------------------------------------------------------------------
# The whole flow on a report-shaped PDF with the real executive summary
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_flow_reads_the_summary_after_the_front_matter_and_checks_it(prefect_server, tmp_path):
    from flows.process_report import process_report

    pdf = tmp_path / "report.pdf"
    build_full_report(pdf, "chapters", summary=real_summary())
    process_report(source=str(pdf), edition="full", out_dir=str(tmp_path / "processed"), raw_dir=str(tmp_path / "raw"),
                   expectations="")
    out = tmp_path / "processed" / "full"
    sentences = {s["sentence_id"]: s for s in pq.read_table(out / "sentences.parquet").to_pylist()}
    claims = pq.read_table(out / "summary_claims.parquet").to_pylist()
    # Every claim of the real summary is read (the 50 of the packaged file and the two 西側諸国), from
    # the summary chapter after the cover, preface and contents, each with its sentence there.
    assert len(claims) == 52 and all(c["origin"] == "summary_chapter" for c in claims)
    assert all(sentences[c["sentence_id"]]["in_summary"] and c["evidence"] == sentences[c["sentence_id"]]["text"]
               for c in claims)
    findings = {f["claim"]: f for f in pq.read_table(out / "findings_check.parquet").to_pylist()}
    assert len(findings) == 52 and not [f for f in findings.values() if f["status"] == "contradicted"]
    # The body chapters of this report were not written from the real summary: they state some of
    # its claims (those matched) and are silent on others.
    for claim in ("KR: 12 国家戦略技術 (2022)", "US competitor CN", "IN names ai", "EU: 4 of 10 技術分野 (2023)"):
        assert findings[claim]["status"] == "matched", findings[claim]
        assert not sentences[findings[claim]["sentence_id"]]["in_summary"]
    assert findings["DE names nanotechnology"]["status"] == "missing"
    facts = {(f["country"], f["item_count"], f["year"], f["item"], f["in_summary"])
             for f in pq.read_table(out / "policy_facts.parquet").to_pylist()}
    assert {("KR", 12, 2022, "国家戦略技術", True), ("KR", 12, 2022, "国家戦略技術", False),
            ("US", 20, 2020, "優先技術分野", True)} <= facts
    assert not [f for f in facts if f[0] == "EU" and f[1] in (8, 9, 12, 20)]  # the summary's facts stay with their countries
    contents = pq.read_table(out / "contents.parquet").to_pylist()
    # Every entry names a section found in the body (the outline also lists 目次, which is none).
    assert contents and [row["title"] for row in contents if row["section_id"] is None and row["title"] != "目次"] == []
    sections = pq.read_table(out / "sections.parquet").to_pylist()
    assert all(s["listed"] for s in sections if s["section_id"] and s["heading"] != "目次")
    assert [s["heading"] for s in sections if s["role"] == "summary"] == ["エグゼクティブ・サマリー"]
    assert {s["role"] for s in sections if s["heading"] in ("参考文献", "References")} == {"references"}
    assert {"body", "heading", "caption", "footnote", "reference"} <= {s["kind"] for s in sentences.values()}


# What the report's built-in summary states, as claims (read from it, not written anywhere else).
BUILTIN_CLAIMS = {
    "CN names semiconductors", "CN: 8 新興技術産業 (2024)", "CN: 9 未来産業 (2024)", "KR: 12 国家戦略技術 (2022)",
    "US: 20 優先技術分野 (2020)", "AU names ai", "AU names quantum", "AU: 7 技術分野 (2023)", "AU framework AUKUS",
    "IN names ai", "IN names quantum", "IN names semiconductors", "IN: 国家戦略 (since 2021)", "EU: 10 技術分野 (2023)",
    "EU: 4 of 10 技術分野 (2023)", "ASEAN names ai", "ASEAN names digital", "ASEAN names green",
}


def _run(tmp_path, layout: str, **edits):
    from flows.process_report import process_report

    pdf = tmp_path / f"{layout}.pdf"
    build_full_report(pdf, layout, **edits)
    state = process_report(source=str(pdf), edition=layout, out_dir=str(tmp_path / "processed"),
                           raw_dir=str(tmp_path / "raw"), expectations="", return_state=True)
    out = tmp_path / "processed" / layout
    return state, out, {f["claim"]: f for f in pq.read_table(out / "findings_check.parquet").to_pylist()}


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["chapters", "country_sections"])
def test_the_summarys_claims_are_checked_against_the_body_with_no_file(prefect_server, tmp_path, layout):
    state, out, findings = _run(tmp_path, layout)
    assert state.is_completed()
    assert set(findings) == BUILTIN_CLAIMS
    claims = pq.read_table(out / "summary_claims.parquet").to_pylist()
    assert {c["claim"] for c in claims} == BUILTIN_CLAIMS and {c["origin"] for c in claims} == {"summary_chapter"}
    sentences = {s["sentence_id"]: s for s in pq.read_table(out / "sentences.parquet").to_pylist()}
    near = findings.pop("US: 20 優先技術分野 (2020)")
    # The body says 「20の技術分野を優先分野に指定」: the same count under another noun is not matched
    # (items are compared exactly), and the detail says what to do if it is the same set.
    assert near["status"] == "missing" and "20 優先分野" in near["detail"] and "alias" in near["detail"]
    for f in findings.values():
        assert f["status"] == "matched", f
        assert sentences[f["summary_sentence_id"]]["in_summary"] and f["summary_evidence"]
        assert not sentences[f["sentence_id"]]["in_summary"] and f["evidence"] == sentences[f["sentence_id"]]["text"]


@pytest.mark.slow
def test_a_count_changed_in_the_body_is_contradicted_with_both_evidence_rows(prefect_server, tmp_path):
    state, out, findings = _run(tmp_path, "decimal", body_edits={"12の技術を国家戦略技術": "13の技術を国家戦略技術"})
    assert state.is_failed() and "contradicted" in state.message  # published, then failed: exit 3 in the CLI
    kr = findings["KR: 12 国家戦略技術 (2022)"]
    assert kr["status"] == "contradicted" and kr["detail"] == "the body counts 13 国家戦略技術, the summary 12"
    assert "12の国家戦略技術" in kr["summary_evidence"] and "13の技術を国家戦略技術" in kr["evidence"]
    fact = pq.read_table(out / "policy_facts.parquet").to_pylist()[kr["evidence_row"]]
    assert kr["evidence_table"] == "policy_facts" and (fact["item_count"], fact["in_summary"]) == (13, False)
    assert fact["sentence_id"] == kr["sentence_id"] and fact["page"] == kr["page"] > kr["summary_page"]
    others = [f for c, f in findings.items() if c != "KR: 12 国家戦略技術 (2022)"]
    assert {f["status"] for f in others} == {"matched", "missing"} and sum(f["status"] == "missing" for f in others) == 1


# ---------------------------------------------------------------------------------------------
# Real reports written by others
# ---------------------------------------------------------------------------------------------


def shared_pdf(name: str) -> Path:
    path = SHARED / "pdfs" / name
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available (expected next to the project)")
    return path


@pytest.mark.parametrize("name", ["mext_hakusho_r6_ch1_ai.pdf", "mext_hakusho_r6_ch2_ai_japan.pdf"])
def test_mext_headings_are_the_outlines_and_no_fragments(name):
    doc = extract_pdf(shared_pdf(name), workers=1)
    seg = segment(doc)
    top = min(e.level for e in doc.outline)
    listed = [(e.level - top + 1, title_key(e.title)) for e in doc.outline]
    headings = [(s.level, title_key(s.heading)) for s in seg.sections[1:]]
    assert [h for h in headings if h in listed] == listed  # every bookmark, at its level, in order
    # The other headings are the pages' own minor titles (●…, コラム…), never page numbers,
    # running heads or lines of body text.
    others = [h for _, h in headings if (_, h) not in listed]
    assert all(h.startswith(("●", "コラム")) and len(h) <= 60 for h in others), others


def test_cio_headings_are_the_contents_pages_and_the_contents_is_no_text():
    doc = extract_pdf(shared_pdf("cio_dp2021_07_metadata.pdf"), workers=1)
    seg = segment(doc)
    headings = {title_key(s.heading): s.level for s in seg.sections[1:]}
    numbered = [e for e in doc.contents if e.level <= 2 and e.printed_page]
    assert len(numbered) >= 15
    assert {title_key(e.title): e.level for e in numbered} == {
        title_key(e.title): headings.get(title_key(e.title)) for e in numbered}
    assert headings[title_key("1 はじめに")] == 1 and headings[title_key("2 様々な分野での活用")] == 1
    assert not [s for s in seg.sentences if s.page == 2]  # the contents page gives no sentence
    assert [e.printed_page for e in doc.contents[:2]] == ["2", "2"]
