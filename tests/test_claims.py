"""Claims (pipeline/claims.py): what a summary states, read with the same stages as the body;
expectations files; putting the page's, the chapter's and the file's claims together."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.claims import (
    ANNOUNCEMENT_PAGE,
    EXPECTATIONS_FILE,
    SUMMARY_CHAPTER,
    Claim,
    ExpectationsError,
    announcement_document,
    compare_summaries,
    load_expectations,
    merge_claims,
    summary_claims,
)
from pipeline.rules import load_rules
from stages import run_sections
from summary_truth import FACTS, RELATIONS, TECHNOLOGIES
from summary_truth import by_kind as _by_kind

RULES = load_rules()
PACKAGED = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "expectations" / "fy24_rr02.yaml"

@pytest.fixture(scope="module")
def summary_paragraphs(shared_dir) -> list[str]:
    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    body = text.split("エグゼクティブ・サマリー", 1)[1]
    return [line.strip() for line in body.splitlines() if line.strip() and line.strip() != "上へ戻る"]


@pytest.fixture(scope="module")
def chapter(nlp, lexicon, summary_paragraphs):
    """The real summary as a report's summary chapter, followed by a body chapter on Korea."""
    body = ["韓国政府は、2022年10月に12の国家戦略技術を指定し、量子技術への投資を拡大した。",
            "韓国は、米国との連携を強めている。"]
    stages = run_sections(nlp, lexicon, ("エグゼクティブ・サマリー", summary_paragraphs), ("第2章 韓国", body))
    seg, _, att, facts, relations = stages
    return stages, summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, RULES.claims)


def test_the_summarys_claims_are_exactly_what_it_states(chapter):
    tech, facts, relations = _by_kind(chapter[1])
    assert tech == TECHNOLOGIES
    assert not {"CN", "KR", "GB", "EU"} & set(tech)  # their paragraphs give counts, no technology
    assert facts == FACTS
    assert relations == RELATIONS


def test_claims_come_from_the_summary_only_and_carry_its_sentence(chapter):
    (seg, _, _, facts, _), claims = chapter
    text = {s.sentence_id: s.text for s in seg.sentences}
    summary = {s.sentence_id for s in seg.sentences if seg.sections[s.section_id].role == "summary"}
    assert all(c.sentence_id in summary and c.evidence == text[c.sentence_id] and c.page == 1 for c in claims)
    assert all(c.origin == SUMMARY_CHAPTER and c.stated_in == (SUMMARY_CHAPTER,) for c in claims)
    assert ("KR", "quantum") not in {(c.country, c.technology) for c in claims}  # said in the body only
    # The body's statement of the KR fact is a fact of its own, not merged into the summary's.
    kr = [(f.in_summary, f.count, f.year) for f in facts if f.country == "KR"]
    assert sorted(kr) == [(False, 12, 2022), (True, 12, 2022)]
    assert len({c.claim_id for c in claims}) == len(claims)


def test_a_fact_claim_lists_the_other_nouns_of_its_set(chapter):
    claims = {(c.country, c.count): c for c in chapter[1] if c.kind == "fact"}
    assert "技術分野" in claims[("EU", 10)].aliases  # 10の技術 … 10の技術分野のうち4つ
    assert "技術" in claims[("EU", 4)].aliases
    assert claims[("IN", None)].aliases == ("国家戦略",)  # 国家戦略文書 names 国家戦略
    assert claims[("KR", 12)].aliases == ()  # a specific noun: no equivalents


def test_a_technology_the_summary_excludes_is_no_claim(nlp, lexicon):
    seg, _, att, facts, relations = run_sections(nlp, lexicon, ("要旨", [
        "フランスは、量子技術を重要技術に含めていないが、AIを重視している。"]))
    claims = summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, RULES.claims)
    assert [(c.country, c.technology) for c in claims if c.kind == "technology"] == [("FR", "ai")]


def test_a_document_without_a_summary_chapter_states_no_claims(nlp, lexicon):
    seg, _, att, facts, relations = run_sections(nlp, lexicon, ("第1章 調査の概要", [
        "韓国は、2022年に12の国家戦略技術を指定した。"]))
    assert summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, RULES.claims) == []


def test_the_announcement_pages_summary_is_read_with_the_same_stages(nlp, lexicon, summary_paragraphs, chapter):
    from pipeline.attribute import attribute
    from pipeline.facts import extract_facts
    from pipeline.relations import extract_relations
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences

    seg = segment(announcement_document(summary_paragraphs))
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
    page = summary_claims(ANNOUNCEMENT_PAGE, seg, att, extract_facts(seg, tokens, att, lexicon),
                          extract_relations(seg, att, lexicon), lexicon, RULES.claims, whole_document=True)
    assert _by_kind(page) == _by_kind(chapter[1])
    assert all(c.page is None and c.sentence_id is None and c.evidence for c in page)  # no place in the PDF

    merged = merge_claims(page, chapter[1], [], RULES.claims)
    assert len(merged) == len(page)
    assert all(c.origin == ANNOUNCEMENT_PAGE and c.stated_in == (SUMMARY_CHAPTER, ANNOUNCEMENT_PAGE) for c in merged)
    assert all(c.page == 1 and c.sentence_id is not None for c in merged)  # the PDF's sentence as evidence

    changed = [replace(c, year=2023) if c.claim_id == "fact-KR-12-国家戦略技術" else c for c in page]
    merged = merge_claims(changed, chapter[1], [], RULES.claims)
    kr = [c for c in merged if c.country == "KR" and c.kind == "fact"]
    assert sorted((c.origin, c.year) for c in kr) == [(ANNOUNCEMENT_PAGE, 2023), (SUMMARY_CHAPTER, 2022)]


def test_a_files_claim_overrides_the_summarys_claim_about_the_same_thing(chapter, lexicon):
    derived = chapter[1]
    file = [
        Claim("kr", "fact", "KR", EXPECTATIONS_FILE, count=12, year=2022, year_qualifier="in", item="国家戦略技術"),
        Claim("eu", "fact", "EU", EXPECTATIONS_FILE, count=4, part_of=10),  # a count only: replaces "4 of 10 技術分野"
        Claim("us-cn", "relation", "US", EXPECTATIONS_FILE, other="CN", relation="partner"),  # conflicting: replaces
        Claim("jp-ai", "technology", "JP", EXPECTATIONS_FILE, technology="ai"),  # new
    ]
    merged = merge_claims([], derived, file, RULES.claims)
    assert len(merged) == len(derived) + 1
    by_id = {c.claim_id: c for c in merged}
    kr = by_id["kr"]
    assert kr.origin == EXPECTATIONS_FILE and kr.stated_in == (SUMMARY_CHAPTER, EXPECTATIONS_FILE)
    assert kr.evidence and "12の技術を国家戦略技術" in kr.evidence  # the summary's sentence stays its evidence
    assert by_id["eu"].item is None and "fact-EU-4of10-技術分野" not in by_id
    assert ("US", "competitor", "CN") not in {(c.country, c.relation, c.other) for c in merged}
    assert by_id["jp-ai"].stated_in == (EXPECTATIONS_FILE,) and by_id["jp-ai"].evidence is None


def test_compare_summaries_reports_changed_and_missing_paragraphs():
    chapter = [(3, "韓国は2022年に12の国家戦略技術を指定した。"), (3, "EUは10の技術分野を特定した。"), (4, "結び。")]
    assert compare_summaries([t for _, t in chapter], chapter) == []
    assert compare_summaries(["韓国は2022年に１２の国家戦略技術を 指定した。", chapter[1][1], "結び。"], chapter) == []
    page = ["韓国は2022年に13の国家戦略技術を指定した。", chapter[1][1], "結び。", "追記。"]
    diffs = compare_summaries(page, chapter)
    assert [(d.status, d.chapter_page) for d in diffs] == [("changed", 3), ("only_page", None)]
    assert 0.9 < diffs[0].similarity < 1 and "13" in diffs[0].page_text and "12" in diffs[0].chapter_text
    assert [d.status for d in compare_summaries(page[:1], chapter)] == ["changed", "only_chapter", "only_chapter"]


# ------------------------------------------------------------------------------- expectations files


def test_the_packaged_expectations_load_as_claims(lexicon):
    claims = load_expectations(PACKAGED, lexicon)
    tech, facts, relations = _by_kind(claims)
    assert tech == TECHNOLOGIES and relations == RELATIONS - {("IN", "partner", "WEST"), ("ASEAN", "partner", "WEST")}
    assert len(facts) == 8 and all(c.origin == EXPECTATIONS_FILE for c in claims)
    eu = next(c for c in claims if c.claim_id == "eu-10-technologies")
    assert eu.aliases == ("技術分野",) and eu.year_qualifier == "in"


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "is not a YAML mapping"),
    ("technologies: {KR: [ai]}\nno_technologies: [CN]\n", "no_technologies, which the checker no longer reads"),
    ("technologies: {exact: true, KR: [ai]}\n", "exact, which the checker no longer reads"),
    ("claims: []\n", "unknown key(s) claims"),
    ("technologies: {XX: [ai]}\n", "'XX' is not a country or region id"),
    ("technologies: {KR: [teleportation]}\n", "'teleportation' is not a broad technology id"),
    ("technologies: {KR: [generative_ai]}\n", "'generative_ai' is not a broad technology id"),
    ("facts: [{country: KR, count: 0, item: 技術}]\n", "count must be a whole number from 1 to 100000"),
    ("facts: [{country: KR, count: 99999999999, item: 技術}]\n", "count must be a whole number from 1 to 100000"),
    ("facts: [{country: KR, count: 3, item: 技術, year: 99999}]\n", "year must be a whole number from 1900 to 2100"),
    ("facts: [{country: KR, count: 12, part_of: 10, item: 技術}]\n", "it needs a count below it"),
    ("facts: [{country: KR, item: 国家戦略, year_qualifier: since}]\n", "year_qualifier needs a year"),
    ("facts: [{id: {x: 1}, country: KR, count: 3, item: 技術}]\n", "is not an id"),
    ("facts: [{id: \"a\\nb\", country: KR, count: 3, item: 技術}]\n", "is not an id"),
    ("facts: [{country: KR, count: 3, item: \"技\\e[2J術\"}]\n", "item must be a noun"),
    ("technologies: 5\n", "technologies must map a subject"),
    ("technologies: {KR: [[ai]]}\n", "['ai'] is not a broad technology id"),
    ("facts: [{country: [KR], count: 3, item: 技術}]\n", "['KR'] is not a country or region id"),
    ("relations: [{subject: US, other: [CN], relation: partner}]\n", "other ['CN'] is not a country"),
    ("[" * 5000 + "\n", "nested too deeply"),
    ("facts: [{country: KR, year: 2022}]\n", "needs a count or an item"),
    ("facts: [{country: KR, count: 3, item: 技術, colour: red}]\n", "unknown key(s) colour"),
    ("facts: [{country: KR, count: 3, item: 技術, year_qualifier: before, year: 2020}]\n", "year_qualifier must be"),
    ("facts: [{country: KR, count: 3, item: 技術, aliases: 分野}]\n", "aliases must be a list"),
    ("relations: [{subject: US, other: CN, relation: rival}]\n", "relation must be one of"),
    ("relations: [{subject: US, other: ai, relation: partner}]\n", "other 'ai' is not a country"),
    ("facts: [{id: x, country: KR, count: 3, item: 技術}, {id: x, country: CN, count: 4, item: 技術}]\n", "x are given twice"),
    ("facts: [{country: KR, count: 3, item: [技術\n", "cannot read the expectations file"),
])
def test_a_bad_expectations_file_says_what_is_wrong(tmp_path, lexicon, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExpectationsError) as caught:
        load_expectations(path, lexicon)
    assert message in caught.value.what and str(path) in caught.value.what and caught.value.todo


def test_a_missing_expectations_file_says_so(tmp_path, lexicon):
    with pytest.raises(ExpectationsError, match="expectations file not found"):
        load_expectations(tmp_path / "nope.yaml", lexicon)


def test_two_sets_with_one_count_are_two_claims_and_no_aliases_of_each_other(nlp, lexicon):
    seg, _, att, facts, relations = run_sections(nlp, lexicon, ("要旨", [
        "韓国は2022年に12の国家戦略技術を指定した。韓国はまた2022年に12の重点産業を定めた。"]))
    claims = [c for c in summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, RULES.claims)
              if c.kind == "fact"]
    assert sorted((c.item, c.aliases) for c in claims) == [("国家戦略技術", ()), ("重点産業", ())]


def test_the_same_designation_stated_with_two_years_is_two_claims(nlp, lexicon):
    seg, _, att, facts, relations = run_sections(nlp, lexicon, ("要旨", [
        "韓国は2022年に12の国家戦略技術を指定した。", "韓国は2023年に12の国家戦略技術を指定した。"]))
    claims = summary_claims(SUMMARY_CHAPTER, seg, att, facts, relations, lexicon, RULES.claims)
    assert sorted(c.year for c in claims if c.kind == "fact") == [2022, 2023]
    assert len({c.claim_id for c in claims}) == len(claims)


def test_a_files_ids_are_kept_and_others_step_aside(lexicon):
    derived = [Claim("tech-KR-ai", "technology", "KR", SUMMARY_CHAPTER, technology="ai", stated_in=(SUMMARY_CHAPTER,))]
    file = [Claim("tech-KR-ai-2", "fact", "KR", EXPECTATIONS_FILE, count=3, item="重点分野"),
            Claim("tech-KR-ai", "fact", "KR", EXPECTATIONS_FILE, count=4, item="重点技術")]
    merged = merge_claims([], derived, file, RULES.claims)
    assert sorted(c.claim_id for c in merged) == ["tech-KR-ai", "tech-KR-ai-2", "tech-KR-ai-3"]
    assert {c.claim_id: c.origin for c in merged}["tech-KR-ai-3"] == SUMMARY_CHAPTER
