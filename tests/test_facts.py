"""Facts: counts of designated technologies, industries and areas, from Sudachi token patterns."""
from __future__ import annotations

from dataclasses import fields

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.facts import PolicyFact, extract_facts, parse_number
from pipeline.tables import COLUMN_OF, SPECS, validate
from stages import run_paragraphs



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


_run = run_paragraphs


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


@pytest.mark.parametrize("text, year, qualifier", [
    ("韓国は令和4年に12の国家戦略技術を指定した。", 2022, "in"),
    ("韓国は令和元年度から12の国家戦略技術を指定している。", 2019, "since"),
    ("韓国は平成30年以降、12の国家戦略技術を指定している。", 2018, "since"),
    ("韓国は2022年（令和4年）に12の国家戦略技術を指定した。", 2022, "in"),
])
def test_japanese_era_years(nlp, lexicon, text, year, qualifier):
    facts = _facts(nlp, lexicon, text)
    assert [_key(f) for f in facts] == [("KR", 12, "国家戦略技術", None, year, qualifier)]


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


# ------------------------------------------------------------------------------ other wordings


US_CET = "米国では、2020年、トランプ政権の下で「重要・新興技術（CET）国家戦略」が策定され、20の優先技術分野が示された。"


@pytest.mark.parametrize(
    "follow",
    [
        "このリストはおよそ2年ごとに改訂されている。",
        "なお、このリストは2年毎に更新される。",
        "同リストは2年おきに見直されている。",
        "これらは2年ごとに見直される。",
    ],
)
def test_update_interval_in_a_following_sentence_referring_back_to_the_list(nlp, lexicon, follow):
    facts = _facts(nlp, lexicon, US_CET + follow)
    assert [_key(f) for f in facts] == [("US", 20, "優先技術分野", None, 2020, "in")]
    f = facts[0]
    assert (f.policy, f.administration, f.update_every_years) == ("重要・新興技術(CET)国家戦略", "トランプ政権", 2)
    assert f.sentence_id == 0 and f.also_in == ()  # the interval sentence is no restatement


@pytest.mark.parametrize(
    "paragraphs",
    [
        ("米国は20の優先技術分野を示した。同国は2年ごとに予算を見直している。",),  # no reference to the list
        ("米国は20の優先技術分野を示した。このリストは研究者の間で広く使われている。",),  # no interval
        ("米国は20の優先技術分野を示した。", "このリストは2年ごとに改訂されている。"),  # another paragraph
    ],
)
def test_an_interval_that_does_not_refer_back_attaches_to_nothing(nlp, lexicon, paragraphs):
    facts = _facts(nlp, lexicon, *paragraphs)
    assert [(_key(f), f.update_every_years) for f in facts] == [(("US", 20, "優先技術分野", None, None, None), None)]


def test_an_interval_referring_back_attaches_to_a_fact_of_the_same_subject_only(nlp, lexicon):
    facts = _facts(nlp, lexicon, "米国は20の優先技術分野を示した。", "英国は、このリストを2年ごとに改訂している。")
    assert [(_key(f), f.update_every_years) for f in facts] == [(("US", 20, "優先技術分野", None, None, None), None)]


def test_part_of_the_count_in_a_previous_sentence(nlp, lexicon):
    facts = _facts(
        nlp, lexicon,
        "EUは2023年10月、経済安全保障の観点から重要な10の技術分野を示す勧告を公表し、加盟国にリスク評価を求めた。"
        "このうち4分野は、技術流出の観点から最も機微性が高くリスクが差し迫っているとされる。",
    )
    assert [(_key(f), f.sentence_id) for f in facts] == [
        (("EU", 10, "技術分野", None, 2023, "in"), 0),
        (("EU", 4, "技術分野", 10, 2023, "in"), 1),
    ]
    assert all(f.policy is None for f in facts)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("EUは、10分野のうち4分野を最も機微とした。", [("EU", 4, "分野", 10, None, None)]),
        ("EUは、重要技術10分野のうち4分野を最も機微とした。", [("EU", 4, "重要技術", 10, None, None)]),
        (
            "EUは2023年に10の技術分野を示し、うち4分野を最重要とした。",
            [("EU", 10, "技術分野", None, 2023, "in"), ("EU", 4, "技術分野", 10, 2023, "in")],
        ),
        (
            "スイスは8の技術分野を定めた。そのうち3つを最優先とした。",
            [("CH", 8, "技術分野", None, None, None), ("CH", 3, "技術分野", 8, None, None)],
        ),
    ],
)
def test_part_of_a_set_in_one_sentence_or_after_a_comma(nlp, lexicon, text, expected):
    assert [_key(f) for f in _facts(nlp, lexicon, text)] == expected


@pytest.mark.parametrize(
    "paragraphs",
    [
        ("日本は2023年に戦略を公表した。このうち3分野は重要とされる。",),  # no count to be part of
        ("EUは10の技術分野を示した。このうち12分野は重要だ。",),  # not a part: larger than the whole
        ("EUは10の技術分野を示した。", "このうち4分野は重要だ。"),  # another paragraph
    ],
)
def test_a_part_needs_a_larger_count_before_it_in_the_paragraph(nlp, lexicon, paragraphs):
    facts = _facts(nlp, lexicon, *paragraphs)
    assert all(f.part_of is None for f in facts)
    assert [f.count for f in facts] in ([], [10])


@pytest.mark.parametrize(
    "text, item, technologies",
    [
        (
            "インドでは、2021年からは、AI、量子技術、半導体、情報通信技術、バイオテクノロジーの各分野で国家戦略が順に策定されてきた。",
            "国家戦略", ("ai", "quantum", "semiconductors", "ict", "biotechnology"),
        ),
        ("インドでは2021年以降、AI、量子技術の各分野で国家戦略文書が策定された。", "国家戦略文書", ("ai", "quantum")),
        ("インドでは2021年以来、国家戦略がAIと量子技術について策定されている。", "国家戦略", ("ai", "quantum")),
    ],
)
def test_countless_strategies_in_other_wordings(nlp, lexicon, text, item, technologies):
    facts = _facts(nlp, lexicon, text)
    assert [(_key(f), f.technologies, f.policy) for f in facts] == [
        (("IN", None, item, None, 2021, "since"), technologies, None)
    ]


def test_countless_mission_announced_in_a_year(nlp, lexicon):
    facts = _facts(nlp, lexicon, "インドは2023年に、量子技術と半導体を対象とするミッションを打ち出した。")
    assert [(_key(f), f.technologies) for f in facts] == [
        (("IN", None, "ミッション", None, 2023, "in"), ("quantum", "semiconductors"))
    ]


@pytest.mark.parametrize(
    "text",
    [
        "タイでは2020年以降、AIと半導体の各分野で国家戦略が議論されている。",  # no designation verb
        "タイでは2020年以降、AIの研究が進み、国家戦略が策定された。",  # one technology, not its strategy
        "タイでは、AI、量子技術の各分野で国家戦略が策定された。",  # no year
        "タイでは2020年以降、AIと半導体の研究者が増え、論文が公表された。",  # no strategy noun
    ],
)
def test_countless_designation_needs_year_technologies_strategy_and_verb(nlp, lexicon, text):
    assert _facts(nlp, lexicon, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "中国政府は、成長分野として「8大新興技術産業」と「9大未来産業」を指定し、支援を手厚くする一方、対外的には「人類運命共同体」の理念を掲げている。",
        "中国は、科学技術の「自立自強」を掲げ、「8大新興技術産業」と「9大未来産業」を定めた。",
        "中国は「自立自強」の方針の下、8大新興技術産業と9大未来産業を定めた。",
    ],
)
def test_policy_is_never_a_concept_sharing_the_sentence(nlp, lexicon, text):
    facts = _facts(nlp, lexicon, text)
    assert [(_key(f), f.policy) for f in facts] == [
        (("CN", 8, "新興技術産業", None, None, None), None),
        (("CN", 9, "未来産業", None, None, None), None),
    ]


@pytest.mark.parametrize(
    "text, policy",
    [
        ("英国は2023年に「科学技術枠組み」を策定し、5つの重要技術を特定した。", "科学技術枠組み"),
        ("英国は2023年に「所有-協働-アクセス」の枠組みの下で5つの重要技術を示した。", "所有-協働-アクセス"),
        ("英国は2023年に「デジタル・フレームワーク」で5つの重要技術を示した。", "デジタル・フレームワーク"),
        ("英国は2023年に「グローバル・ブリテン」を掲げ、5つの重要技術を示した。", None),
    ],
)
def test_policy_is_a_strategy_framework_or_plan(nlp, lexicon, text, policy):
    facts = _facts(nlp, lexicon, text)
    assert [(_key(f), f.policy) for f in facts] == [(("GB", 5, "重要技術", None, 2023, "in"), policy)]


@pytest.mark.parametrize(
    "text",
    [
        "韓国政府は、2022年に12の国家戦略技術を指定して投資を集中させている。",
        "韓国は2022年10月、国家戦略技術として12分野を選定した。",
        "韓国は2022年、12分野を国家戦略技術として選定した。",
        "韓国は2022年に国家戦略技術12分野を指定した。",
    ],
)
def test_korea_twelve_national_strategic_technologies_in_other_wordings(nlp, lexicon, text):
    assert [_key(f) for f in _facts(nlp, lexicon, text)] == [("KR", 12, "国家戦略技術", None, 2022, "in")]


def test_restatements_in_other_wordings_are_one_fact(nlp, lexicon):
    facts = _facts(
        nlp, lexicon,
        "韓国政府は、2022年に12の国家戦略技術を指定した。国家戦略技術として12分野を選定したのは初めてである。",
    )
    assert [(_key(f), f.also_in) for f in facts] == [(("KR", 12, "国家戦略技術", None, 2022, "in"), (1,))]


def test_count_with_its_counter_after_the_noun(nlp, lexicon):
    facts = _facts(nlp, lexicon, "韓国は重要技術12分野を選んだ。")
    assert [_key(f) for f in facts] == [("KR", 12, "重要技術", None, None, None)]


@pytest.mark.parametrize(
    "text",
    [
        "フランスは2023年4月に新しい方針を示した。",  # a date
        "ドイツは2年毎に重点分野を更新している。",  # an interval
        "ドイツは3年おきに技術一覧を改める。",
        "韓国は、詳細を第3章と12ページで述べる。",  # chapter and page numbers
        "日本は、3.2節で述べたとおり、研究費の40%を大学に配分した。",  # section number, percentage
        "EUは、詳細をp.12の技術一覧に示した。",  # a page number before の
        "中国は100億円の予算で300人の研究者を支援した。",  # money, people
        "インドはAIと量子技術を重視している。",  # a country only mentioned
        "米国は一つの技術に集中した。",  # "one" is not a designated set
        "英国は3つの柱を掲げた。",  # a count of something that is not technologies
        "EUはHorizon 2020の技術分野を継承した。",  # a programme's name
        "米国では、このリストが2年ごとに改訂されている。",  # an interval referring back to nothing
        "米国は2年ごとに技術リストを改訂している。",
        "韓国は重要技術100分野を超える研究を支援した。",  # a quantity
        "韓国は技術分野2と3を比較した。",  # labels, not counts
        "EUは、このうち4分野を重視した。",  # a part of nothing
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
def summary(summary_stages):
    return summary_stages


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
    assert ["edition", "fact_id", *(COLUMN_OF.get(n, n) for n in names), "text_source"] == spec.schema.names
    rows = {COLUMN_OF.get(n, n): [getattr(f, n) for f in facts] for n in names}
    rows["technologies"] = [list(t) for t in rows["technologies"]]
    rows["also_in"] = [list(t) for t in rows["also_in"]]
    table = pa.table({"edition": ["summary"] * len(facts), "fact_id": list(range(len(facts))), **rows,
                      "text_source": ["text_layer"] * len(facts)})  # from the page (build_analysis_tables)
    assert validate(table, spec).num_rows == 8
