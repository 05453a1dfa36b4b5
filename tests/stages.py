"""Running the text stages on paragraphs written in a test, as the flow does (no PDF needed)."""
from __future__ import annotations

from pipeline.attribute import attribute
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.segment import segment
from pipeline.tag import tag_tokens
from pipeline.tokenize import tokenize_sentences


def run_paragraphs(nlp, lexicon, *paragraphs: str):
    """segment → tokenize → tag → attribute over one page of paragraphs: (segmented, tokens, attribution)."""
    blocks = tuple(Block(1, "body", p) for p in paragraphs)
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), blocks, (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    return seg, tokens, attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)


def run_sections(nlp, lexicon, *sections: tuple[str, list[str]]):
    """Like ``run_paragraphs``, over (heading, paragraphs) sections at level 1, then facts and
    relations: (segmented, tokens, attribution, facts, relations)."""
    from pipeline.facts import extract_facts
    from pipeline.relations import extract_relations

    blocks = []
    for heading, paragraphs in sections:
        blocks.append(Block(1, "heading", heading, level=1))
        blocks += [Block(1, "body", p) for p in paragraphs]
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), tuple(blocks), (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
    return seg, tokens, att, extract_facts(seg, tokens, att, lexicon), extract_relations(seg, att, lexicon)


def check_pdf(nlp, lexicon, pdf, expectations=None):
    """The flow's stages on a PDF without Prefect, through the published tables to the findings
    check: (segmented, claims, findings)."""
    from pathlib import Path

    from pipeline.acquire import Acquired
    from pipeline.claims import SUMMARY_CHAPTER, load_expectations, merge_claims, summary_claims
    from pipeline.extract import extract_pdf
    from pipeline.facts import extract_facts
    from pipeline.findings import check_claims
    from pipeline.keyterms import key_terms, load_keyterm_config
    from pipeline.relations import extract_relations
    from pipeline.rules import load_rules
    from pipeline.tables import build_analysis_tables, build_tables, page_sources

    rules = load_rules()
    doc = extract_pdf(Path(pdf), workers=1)
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
    facts = extract_facts(seg, tokens, att, lexicon, rules.facts)
    relations = extract_relations(seg, att, lexicon, rules.relations)
    acquired = Acquired(path=Path(pdf), sha256="0" * 64, bytes=1, source=str(pdf), url=None, final_url=None,
                        etag=None, last_modified=None, fetched_at="2025-04-01T00:00:00+00:00")
    tables = build_tables(edition="test", acquired=acquired, extracted=doc, segmented=seg, tokens=tokens,
                          attribution=att, lexicon=lexicon, processed_at=acquired.fetched_at, pipeline_version="test",
                          config="{}")
    tables |= build_analysis_tables(edition="test", facts=facts, relations=relations, policies=[],
                                    page_sources=page_sources(doc),
                                    keyterms=key_terms(tokens, att, load_keyterm_config()))
    file = load_expectations(expectations, lexicon) if expectations else []
    claims = merge_claims([], summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, rules.claims),
                          file, rules.claims)
    rows = {n: tables[n].to_pylist() for n in ("sentences", "mentions", "country_technology", "policy_facts", "relations")}
    return seg, claims, check_claims(claims, rows, rules.claims)
