"""A document whose every page is OCRed gives the findings of its born-digital original: the
sample edition and the executive summary, rendered to images with a slight rotation and speckle
noise and rebuilt as image-only PDFs (tests/scanned.py), against the same PDFs read from their
text layer. The character error rate is printed (the benchmark measures it too)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scanned import merge_pages, scanned_copy

from pipeline.acquire import Acquired
from pipeline.attribute import attribute
from pipeline.extract import extract_pdf
from pipeline.extract.ocr import character_error_rate
from pipeline.facts import extract_facts
from pipeline.rules import load_rules
from pipeline.segment import segment
from pipeline.keyterms import key_terms, load_keyterm_config
from pipeline.relations import extract_relations
from pipeline.tables import build_analysis_tables, build_tables, page_sources
from pipeline.tag import ocr_sentence_texts, tag_tokens
from pipeline.tokenize import tokenize_sentences
from samples.build import build_sample_pdf, build_text_pdf

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is not installed (scripts/install-system-deps.sh)")


def findings(doc, nlp, lexicon):
    """(country × technology pairs, policy facts as (country, count, year, item, part of), the
    text_source of each pair's evidence page) of an extracted document, through the flow's stages."""
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens, ocr_sentence_texts(seg.sentences, page_sources(doc))), lexicon)
    facts = extract_facts(seg, tokens, att, lexicon, load_rules().facts)
    acquired = Acquired(path=Path("x.pdf"), sha256="0" * 64, bytes=1, source="x.pdf", url=None, final_url=None,
                        etag=None, last_modified=None, fetched_at="2025-04-01T00:00:00+00:00")
    tables = build_tables(edition="t", acquired=acquired, extracted=doc, segmented=seg, tokens=tokens,
                          attribution=att, lexicon=lexicon, processed_at=acquired.fetched_at, pipeline_version="t",
                          config="{}")
    relations = extract_relations(seg, att, lexicon, load_rules().relations)
    tables |= build_analysis_tables(edition="t", facts=facts, relations=relations, policies=[],
                                    keyterms=key_terms(tokens, att, load_keyterm_config()),
                                    page_sources=page_sources(doc))
    pairs = {(r["country"], r["technology"]) for r in tables["country_technology"].to_pylist()}
    return pairs, {(f.country, f.count, f.year, f.item, f.part_of) for f in facts}, tables


def _compare(name, born, scanned, nlp, lexicon):
    cer = character_error_rate("".join(p.text for p in born.pages), "".join(p.text for p in scanned.pages))
    body = [character_error_rate(b.text, s.text) for b, s in zip(born.pages, scanned.pages, strict=True)]
    pairs, facts, _ = findings(born, nlp, lexicon)
    ocr_pairs, ocr_facts, tables = findings(scanned, nlp, lexicon)
    print(f"\n{name}: {len(scanned.pages)} pages OCRed; character error rate {cer:.1%} (median page "
          f"{sorted(body)[len(body) // 2]:.1%}); pairs {len(pairs & ocr_pairs)} of {len(pairs)} "
          f"(missing {sorted(pairs - ocr_pairs)}, extra {sorted(ocr_pairs - pairs)}); facts "
          f"{len(facts & ocr_facts)} of {len(facts)} (missing {sorted(facts - ocr_facts)}, extra "
          f"{sorted(ocr_facts - facts)})")
    return cer, pairs, ocr_pairs, facts, ocr_facts, tables


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sample")
    born = build_sample_pdf(tmp / "sample.pdf")
    return extract_pdf(born), extract_pdf(scanned_copy(born, tmp / "scanned.pdf"))


def test_the_sample_edition_scanned_gives_its_pairs_and_facts(sample, nlp, lexicon):
    born, scanned = sample
    assert {p.text_source for p in scanned.pages} == {"ocr"} and {p.text_source for p in born.pages} == {"text_layer"}
    cer, pairs, ocr_pairs, facts, ocr_facts, tables = _compare("sample edition", born, scanned, nlp, lexicon)
    # Equal: OCR misreads a kana in long lists (先端センシング read as 先端センーシング), matched
    # approximately on OCR pages only (pipeline.tag.approximate_mentions).
    assert ocr_pairs == pairs
    assert {f[:4] for f in ocr_facts} == {f[:4] for f in facts}
    assert cer < 0.3  # the contents page's dot leaders and the tables are most of it
    # every row read from those pages says so
    for name in ("pages", "sentences", "mentions", "policy_facts", "relations"):
        assert tables[name].num_rows and set(tables[name].column("text_source").to_pylist()) == {"ocr"}, name


def test_the_executive_summary_scanned_gives_its_pairs_and_facts(shared_dir, tmp_path, nlp, lexicon):
    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    pdf = build_text_pdf(text, tmp_path / "summary.pdf", title="エグゼクティブ・サマリー")
    born, scanned = extract_pdf(pdf), extract_pdf(scanned_copy(pdf, tmp_path / "scanned.pdf"))
    cer, pairs, ocr_pairs, facts, ocr_facts, _ = _compare("executive summary", born, scanned, nlp, lexicon)
    assert ocr_pairs == pairs
    assert {f[:4] for f in ocr_facts} == {f[:4] for f in facts}
    assert cer < 0.05


def test_a_mixed_pdf_gives_the_original_findings_and_each_row_its_pages_source(tmp_path, nlp, lexicon):
    born_pdf = build_sample_pdf(tmp_path / "sample.pdf")
    scan = scanned_copy(born_pdf, tmp_path / "scan.pdf", pages=[3, 4])
    parts = [(born_pdf, n) for n in range(1, 17)]
    parts[2:4] = [(scan, 1), (scan, 2)]
    mixed = extract_pdf(merge_pages(parts, tmp_path / "mixed.pdf"))
    assert [p.page for p in mixed.pages if p.text_source == "ocr"] == [3, 4]
    pairs, facts, _ = findings(extract_pdf(born_pdf), nlp, lexicon)
    mixed_pairs, mixed_facts, tables = findings(mixed, nlp, lexicon)
    assert len(pairs ^ mixed_pairs) <= 2 and facts == mixed_facts
    for name in ("sentences", "mentions", "policy_facts"):
        rows = tables[name].select(["page", "text_source"]).to_pylist()
        assert {r["text_source"] for r in rows if r["page"] in (3, 4)} == {"ocr"}, name
        assert {r["text_source"] for r in rows if r["page"] not in (3, 4)} == {"text_layer"}, name
