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
    expectations = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "expectations" / "fy24_rr02.yaml"
    process_report(source=str(pdf), edition="full", out_dir=str(tmp_path / "processed"), raw_dir=str(tmp_path / "raw"),
                   expectations=str(expectations))
    out = tmp_path / "processed" / "full"
    findings = pq.read_table(out / "findings_check.parquet").to_pylist()
    assert findings and [f for f in findings if f["status"] != "matched"] == []
    facts = {(f["country"], f["count"], f["year"], f["item"]) for f in pq.read_table(out / "policy_facts.parquet").to_pylist()}
    assert {("KR", 12, 2022, "国家戦略技術"), ("US", 20, 2020, "優先技術分野")} <= facts
    assert not [f for f in facts if f[0] == "EU" and f[1] in (8, 9, 12, 20)]  # the summary's facts stay with their countries
    contents = pq.read_table(out / "contents.parquet").to_pylist()
    # Every entry names a section found in the body (the outline also lists 目次, which is none).
    assert contents and [row["title"] for row in contents if row["section_id"] is None and row["title"] != "目次"] == []
    sections = pq.read_table(out / "sections.parquet").to_pylist()
    assert all(s["listed"] for s in sections if s["section_id"] and s["heading"] != "目次")
    sentences = pq.read_table(out / "sentences.parquet").to_pylist()
    assert {"body", "heading", "caption", "footnote", "reference"} <= {s["kind"] for s in sentences}


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
