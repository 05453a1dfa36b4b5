"""Relations: how a passage's subject relates to the countries, regions and frameworks it names."""
from __future__ import annotations

from dataclasses import fields

import pyarrow as pa
import pytest

from pipeline.relations import Relation, extract_relations
from pipeline.tables import SPECS, validate
from stages import run_paragraphs



def _run(nlp, lexicon, *paragraphs: str):
    seg, _, attribution = run_paragraphs(nlp, lexicon, *paragraphs)
    return seg, attribution


def _relations(nlp, lexicon, *paragraphs: str) -> list[tuple[str, str, str, str, str]]:
    seg, att = _run(nlp, lexicon, *paragraphs)
    return [(r.subject, r.other, r.relation, r.cue, r.via) for r in extract_relations(seg, att, lexicon)]


def test_competitor_and_partner_cues_after_each_mention(nlp, lexicon):
    assert _relations(nlp, lexicon, "日本は中国を競争相手とみなし、オーストラリアとの連携を深めている。") == [
        ("JP", "CN", "competitor", "競争相手", "cue"),
        ("JP", "AU", "partner", "連携", "cue"),
    ]


def test_review_beats_cooperation_in_the_same_clause(nlp, lexicon):
    assert _relations(nlp, lexicon, "フランスはロシアとの協力関係を見直した。") == [("FR", "RU", "other", "見直し", "cue")]


def test_a_list_shares_the_cue_after_it(nlp, lexicon):
    got = _relations(nlp, lexicon, "カナダは、英国、ドイツ及びイタリアとの共同研究を拡大している。")
    assert got == [("CA", o, "partner", "共同研究", "cue") for o in ("GB", "DE", "IT")]


def test_a_later_mention_starts_its_own_window(nlp, lexicon):
    assert _relations(nlp, lexicon, "日本は米国と協力し中国に対抗する。") == [
        ("JP", "US", "partner", "協力", "cue"),
        ("JP", "CN", "competitor", "対抗", "cue"),
    ]


def test_frameworks_and_the_countries_fused_into_their_names(nlp, lexicon):
    got = _relations(nlp, lexicon, "日本は日米豪印戦略対話の下で技術協力を進める。")
    assert got == [
        ("JP", "QUAD", "framework", "QUAD", "framework"),
        ("JP", "US", "framework", "QUAD", "framework member"),
        ("JP", "AU", "framework", "QUAD", "framework member"),
        ("JP", "IN", "framework", "QUAD", "framework member"),
    ]  # and not JP itself


def test_a_framework_named_as_its_member_states_is_cue_decided(nlp, lexicon):
    seg, att = _run(nlp, lexicon, "韓国はG7各国との協力を強めている。")
    rels = extract_relations(seg, att, lexicon)
    assert [(r.other, r.other_label, r.relation, r.cue) for r in rels] == [("G7", "FRAMEWORK", "partner", "協力")]


def test_a_partner_cue_elsewhere_in_the_sentence_decides_when_none_follows(nlp, lexicon):
    assert _relations(nlp, lexicon, "英国では、国際協力はインドと主に進められている。") == [
        ("GB", "IN", "partner", "協力", "sentence")
    ]


@pytest.mark.parametrize("text", [
    "日本の研究機関は米国Meta社と連携して大規模言語モデルを開発した。",
    "日本は中国ファーウェイ社との協力を見直した。",
    "日本の企業は米国OpenAI社や英国Arm社と提携した。",
    "日本の大学は米国株式会社と共同研究を始めた。",  # (株式会社 as the suffix, the name empty: no company)
])
def test_a_country_written_into_a_companys_name_is_no_party(nlp, lexicon, text):
    # 米国Meta社: the company is the partner, 米国 says where it is from (was: JP partner US)
    got = _relations(nlp, lexicon, text)
    if "米国株式会社" in text:  # no name between the country and the suffix: the country is the party
        assert got == [("JP", "US", "partner", "共同研究", "cue")], got
    else:
        assert got == [], got


def test_a_country_before_a_society_or_its_government_is_still_a_party(nlp, lexicon):
    # デジタル社会 is no company (a kanji follows 社); 米国政府 is the country
    assert _relations(nlp, lexicon, "日本は英国デジタル社会の構築で協力し、米国政府と連携している。") == [
        ("JP", "GB", "partner", "協力", "cue"), ("JP", "US", "partner", "連携", "cue")]


@pytest.mark.parametrize(
    "text",
    [
        "ドイツは中国に工場を持つ。",  # a country only mentioned: no cue at all
        "米国は米国内の研究と連携を重視する。",  # the subject is never its own other
        "ドイツは「中国戦略」を策定し、協力の在り方を整理した。",  # a country inside a quoted name
    ],
)
def test_no_cue_no_relation(nlp, lexicon, text):
    seg, att = _run(nlp, lexicon, text)
    assert att.sentences[0].subject is not None
    assert extract_relations(seg, att, lexicon) == []


def test_sentences_without_a_subject_give_no_relation(nlp, lexicon):
    seg, att = _run(nlp, lexicon, "近年、米国と中国の対立が激しい。")
    assert att.sentences[0].subject is None
    assert extract_relations(seg, att, lexicon) == []


def test_the_same_relation_is_kept_once_with_its_first_evidence(nlp, lexicon):
    seg, att = _run(nlp, lexicon, "日本はインドとの連携を強める。日本はインドとの協力も進める。")
    rels = extract_relations(seg, att, lexicon)
    assert [(r.other, r.relation, r.sentence_id, r.evidence) for r in rels] == [
        ("IN", "partner", 0, "日本はインドとの連携を強める。")
    ]


# ------------------------------------------------------------------------------ the summary


@pytest.fixture(scope="module")
def summary(summary_stages):
    seg, _, attribution = summary_stages
    return seg, attribution


def test_summary_gives_exactly_its_relations(summary, lexicon):
    seg, att = summary
    rels = extract_relations(seg, att, lexicon)
    got = {(r.subject, r.other, r.other_label, r.relation) for r in rels}
    partner = lambda o, label="COUNTRY": ("US", o, label, "partner")  # noqa: E731
    framework = lambda o, label="FRAMEWORK": ("US", o, label, "framework")  # noqa: E731
    assert got == {
        ("US", "CN", "COUNTRY", "competitor"), ("US", "RU", "COUNTRY", "competitor"),
        partner("EU", "REGION"), partner("AU"), partner("KR"), partner("IN"), partner("VN"), partner("SG"),
        partner("G7", "FRAMEWORK"),
        framework("QUAD"), framework("AUKUS"), framework("US_JP_KR_ESD"), framework("JP", "COUNTRY"), framework("KR", "COUNTRY"),
        ("AU", "AUKUS", "FRAMEWORK", "framework"),
        ("DE", "CN", "COUNTRY", "other"),
        ("ASEAN", "EU", "REGION", "partner"), ("ASEAN", "WEST", "REGION", "partner"), ("ASEAN", "CN", "COUNTRY", "other"),
        # 「国際科学技術協力は、…西側諸国と主に進めており」: no cue after 西側諸国, the sentence's 協力 decides
        ("IN", "WEST", "REGION", "partner"),
    }
    assert len(rels) == len(got)
    cue = {(r.subject, r.other, r.relation): (r.cue, r.via) for r in rels}
    assert cue[("US", "CN", "competitor")] == ("競争相手", "cue")
    assert cue[("DE", "CN", "other")] == ("見直し", "cue")
    assert cue[("ASEAN", "CN", "other")] == ("関与", "cue")
    assert cue[("US", "IN", "partner")] == ("関係強化", "cue")
    assert cue[("US", "JP", "framework")] == ("米日韓経済安保対話", "framework member")
    assert cue[("IN", "WEST", "partner")] == ("協力", "sentence")
    text = {s.sentence_id: s.text for s in seg.sentences}
    assert all(r.subject != r.other and r.evidence == text[r.sentence_id] for r in rels)


def test_relations_fit_the_relations_table(summary, lexicon):
    seg, att = summary
    rels = extract_relations(seg, att, lexicon)
    spec = SPECS["relations"]
    names = [f.name for f in fields(Relation)]
    assert ["edition", "relation_id", *names, "text_source"] == spec.schema.names  # text_source: from the page
    table = pa.table({"edition": ["s"] * len(rels), "relation_id": list(range(len(rels))),
                      **{n: [getattr(r, n) for r in rels] for n in names}, "text_source": ["text_layer"] * len(rels)})
    assert validate(table, spec).num_rows == len(rels)


def test_a_real_chapter_names_no_country_as_a_partner_for_a_company_of_it(nlp, lexicon, shared_dir):
    """MEXT's white paper, chapter 2 (an interview: 同社は米国Meta社と連携して…): the company is the
    partner, not 米国. What the chapter does relate stays (JP and the G7)."""
    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences

    seg = segment(extract_pdf(shared_dir / "pdfs" / "mext_hakusho_r6_ch2_ai_japan.pdf", workers=1))
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    got = {(r.subject, r.other, r.relation) for r in extract_relations(seg, att, lexicon)}
    assert ("JP", "US", "partner") not in got, got
    assert ("JP", "G7", "framework") in got, got
