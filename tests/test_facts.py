"""Facts: counts of designated technologies, industries and areas, from Sudachi token patterns."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.attribute import attribute
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.facts import PolicyFact, extract_facts, parse_number
from pipeline.lexicon import load_lexicon
from pipeline.segment import segment
from pipeline.tables import SPECS, validate
from pipeline.tag import build_tagger, tag_tokens
from pipeline.tokenize import tokenize_sentences

SUMMARY = Path(__file__).resolve().parents[2] / "shared" / "reference" / "fy2024-rr02-executive-summary.txt"


# ------------------------------------------------------------------------------ parse_number


@pytest.mark.parametrize(
    "text, value",
    [
        ("12", 12), ("１２", 12), ("2,000", 2000), ("２，０００", 2000), ("0", 0), (" 7 ", 7),
        ("十", 10), ("十二", 12), ("二十", 20), ("百二十", 120), ("三十五", 35), ("千二百", 1200),
        ("二千二十四", 2024), ("二〇二四", 2024), ("一億二千万", 120_000_000), ("1億2000万", 120_000_000),
        ("三", 3),
    ],
)
def test_parse_number_reads_digits_full_width_and_kanji_numerals(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "1.2", "12%", "第1", "十十", "二三十", "数十", "-3", "2,00", "1,2345", "万", "億", "12a", "一方", "2年"]
)
def test_parse_number_gives_none_for_what_is_not_a_plain_integer(text):
    assert parse_number(text) is None


@settings(max_examples=300)
@given(st.text())
def test_parse_number_never_crashes_and_returns_an_int_or_none(text):
    value = parse_number(text)
    assert value is None or (isinstance(value, int) and value >= 0)


@given(st.integers(min_value=0, max_value=10**18))
def test_parse_number_round_trips_digits_plain_grouped_and_full_width(n):
    assert parse_number(str(n)) == n
    assert parse_number(f"{n:,}") == n
    assert parse_number(str(n).translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})) == n


def _kanji(n: int) -> str:
    """Write n (1 ≤ n < 10**12) in kanji numerals the way a report would: 二千二十四, 一億二千万."""
    digits = "〇一二三四五六七八九"

    def below_10000(k: int) -> str:
        out = ""
        for unit, char in ((1000, "千"), (100, "百"), (10, "十")):
            q, k = divmod(k, unit)
            if q:
                out += ("" if q == 1 else digits[q]) + char
        return out + (digits[k] if k else "")

    out = ""
    for unit, char in ((10**8, "億"), (10**4, "万")):
        q, n = divmod(n, unit)
        if q:
            out += below_10000(q) + char
    return out + below_10000(n)


@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_parse_number_round_trips_kanji_numerals(n):
    assert parse_number(_kanji(n)) == n


# ------------------------------------------------------------------------------ extraction


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.fixture(scope="module")
def nlp(lexicon):
    return build_tagger(lexicon)


def _run(nlp, lexicon, *paragraphs: str):
    """segment → tokenize → tag → attribute over paragraphs, as the flow does (no PDF needed)."""
    blocks = tuple(Block(1, "paragraph", p) for p in paragraphs)
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), blocks, (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    return seg, tokens, attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)


def _facts(nlp, lexicon, *paragraphs: str) -> list[PolicyFact]:
    seg, tokens, att = _run(nlp, lexicon, *paragraphs)
    return extract_facts(seg, tokens, att, lexicon)


def _key(f: PolicyFact):
    return (f.country, f.count, f.item, f.part_of, f.year, f.year_qualifier)


def test_count_tsu_no_noun_with_its_year(nlp, lexicon):
    facts = _facts(nlp, lexicon, "カナダは2022年に、七つの重点技術を選び、研究投資を増やした。")
    assert [_key(f) for f in facts] == [("CA", 7, "重点技術", None, 2022, "in")]
    assert facts[0].evidence.startswith("カナダは") and facts[0].page == 1


def test_count_dai_inside_brackets_with_a_since_year(nlp, lexicon):
    facts = _facts(nlp, lexicon, "台湾は2019年以降、「6大核心戦略産業」を推進している。")
    assert [_key(f) for f in facts] == [("TW", 6, "核心戦略産業", None, 2019, "since")]
    assert facts[0].policy is None  # the bracket is the item itself, not a policy


def test_kanji_count_relabelled_by_toshite(nlp, lexicon):
    facts = _facts(nlp, lexicon, "イタリアは十二の技術を経済安全保障技術として指定した。")
    assert [_key(f) for f in facts] == [("IT", 12, "経済安全保障技術", None, None, None)]


def test_count_separated_from_its_noun_by_a_clause(nlp, lexicon):
    facts = _facts(nlp, lexicon, "ブラジルは、15の、国の将来を左右する技術を2021年に選定した。")
    assert [_key(f) for f in facts] == [("BR", 15, "技術", None, 2021, "in")]


def test_full_width_digits_and_year_from_the_preceding_sentence(nlp, lexicon):
    facts = _facts(nlp, lexicon, "スウェーデンは２０２１年に新しい戦略を公表した。同戦略では２０の優先分野が示された。")
    assert [_key(f) for f in facts] == [("SE", 20, "優先分野", None, 2021, "in")]
    assert facts[0].sentence_id == 1  # the sentence with the count is the evidence


def test_year_is_not_taken_from_another_paragraph(nlp, lexicon):
    facts = _facts(nlp, lexicon, "スウェーデンは2021年に戦略を公表した。", "スウェーデンは9つの重要技術を示した。")
    assert [_key(f) for f in facts] == [("SE", 9, "重要技術", None, None, None)]


def test_part_of_a_set(nlp, lexicon):
    facts = _facts(nlp, lexicon, "スイスは、8の技術分野のうち3つを最優先とした。")
    assert [_key(f) for f in facts] == [("CH", 3, "技術分野", 8, None, None)]  # and no separate 8


def test_policy_administration_and_update_interval(nlp, lexicon):
    facts = _facts(
        nlp, lexicon,
        "フィンランドはマリン政権下の2020年に「国家技術戦略」を策定し、14の優先技術分野を指定し、3年ごとに見直している。",
    )
    assert len(facts) == 1
    f = facts[0]
    assert (f.country, f.count, f.item, f.year) == ("FI", 14, "優先技術分野", 2020)
    assert (f.policy, f.administration, f.update_every_years) == ("国家技術戦略", "マリン政権", 3)


def test_restatements_become_one_fact_with_also_in(nlp, lexicon):
    facts = _facts(
        nlp, lexicon,
        "オランダは6つの重要技術を定めた。6つの重要技術には量子技術が含まれる。6つの重要技術分野別の計画もある。",
    )
    assert [(_key(f), f.sentence_id, f.also_in) for f in facts] == [(("NL", 6, "重要技術", None, None, None), 0, (1, 2))]


def test_countless_strategies_for_listed_technologies(nlp, lexicon):
    facts = _facts(nlp, lexicon, "タイでは2020年以降、AIと半導体に関する国家戦略がそれぞれ策定された。")
    assert [(_key(f), f.technologies) for f in facts] == [
        (("TH", None, "国家戦略", None, 2020, "since"), ("ai", "semiconductors"))
    ]


def test_countless_designation_needs_a_year(nlp, lexicon):
    assert _facts(nlp, lexicon, "タイでは、AIと半導体に関する国家戦略が策定された。") == []


@pytest.mark.parametrize(
    "text",
    [
        "フランスは2023年4月に新しい方針を示した。",  # a date
        "ドイツは2年毎に重点分野を更新している。",  # an interval
        "ドイツは3年おきに技術一覧を改める。",
        "韓国の詳細は第3章と12ページを参照されたい。",  # chapter and page numbers
        "日本は、3.2節で述べたとおり、研究費の40%を大学に配分した。",  # section number, percentage
        "EUの詳細はp.12の技術一覧にある。",  # a page number before の
        "中国は100億円の予算で300人の研究者を支援した。",  # money, people
        "インドはAIと量子技術を重視している。",  # a country only mentioned
        "米国は一つの技術に集中した。",  # "one" is not a designated set
        "英国は3つの柱を掲げた。",  # a count of something that is not technologies
        "EUはHorizon 2020の技術分野を継承した。",  # a programme's name
    ],
)
def test_numbers_that_are_not_designations_give_no_fact(nlp, lexicon, text):
    seg, tokens, att = _run(nlp, lexicon, text)
    assert att.sentences[0].subject is not None  # so it is the number rules that say no
    assert extract_facts(seg, tokens, att, lexicon) == []


def test_sentences_without_a_subject_give_no_fact(nlp, lexicon):
    assert _facts(nlp, lexicon, "本報告書では5つの重要技術を扱う。") == []


# ------------------------------------------------------------------------------ the summary


@pytest.fixture(scope="module")
def summary(nlp, lexicon):
    if not SUMMARY.is_file():
        pytest.skip(f"{SUMMARY} is not there")
    paragraphs = [line.strip() for line in SUMMARY.read_text(encoding="utf-8").splitlines() if line.strip()]
    return _run(nlp, lexicon, *paragraphs)


def test_summary_gives_exactly_its_designations(summary, lexicon):
    seg, tokens, att = summary
    facts = extract_facts(seg, tokens, att, lexicon)
    got = {
        (f.country, f.count, f.item, f.part_of, f.year, f.year_qualifier, f.policy, f.administration, f.update_every_years, f.technologies)
        for f in facts
    }
    assert got == {
        ("CN", 8, "新興技術産業", None, None, None, None, None, None, ()),
        ("CN", 9, "未来産業", None, None, None, None, None, None, ()),
        ("KR", 12, "国家戦略技術", None, 2022, "in", None, None, None, ()),
        ("US", 20, "優先技術分野", None, 2020, "in", "重要・新興技術(CET)国家戦略", "トランプ政権", 2, ()),
        ("GB", 5, "重要技術", None, 2023, "in", "科学技術枠組み", "スナク政権", None, ()),
        ("EU", 10, "技術", None, 2023, "in", None, None, None, ()),
        ("EU", 4, "技術分野", 10, 2023, "in", None, None, None, ()),
        ("IN", None, "国家戦略文書", None, 2021, "since", None, None, None,
         ("ai", "quantum", "semiconductors", "ict", "biotechnology")),
    }
    assert len(facts) == len(got)
    text = {s.sentence_id: s.text for s in seg.sentences}
    subject = {s.sentence_id: s.subject for s in att.sentences}
    for f in facts:  # evidence is the sentence, attributed to the fact's country
        assert f.evidence == text[f.sentence_id] and subject[f.sentence_id] == f.country
        assert all(subject[sid] == f.country for sid in f.also_in)
    gb = next(f for f in facts if f.country == "GB")
    assert len(gb.also_in) == 3 and all("5つの重要技術" in text[sid] for sid in gb.also_in)
    assert all(f.also_in == () for f in facts if f.country != "GB")


def test_facts_fit_the_policy_facts_table(summary, lexicon):
    seg, tokens, att = summary
    facts = extract_facts(seg, tokens, att, lexicon)
    spec = SPECS["policy_facts"]
    names = [f.name for f in fields(PolicyFact)]
    assert ["edition", "fact_id", *names] == spec.schema.names
    rows = {n: [getattr(f, n) for f in facts] for n in names}
    rows["technologies"] = [list(t) for t in rows["technologies"]]
    rows["also_in"] = [list(t) for t in rows["also_in"]]
    table = pa.table({"edition": ["summary"] * len(facts), "fact_id": list(range(len(facts))), **rows})
    assert validate(table, spec).num_rows == 8
