"""Policies: named strategies, frameworks, concepts and lists in 「」 and 『』."""
from __future__ import annotations

from dataclasses import fields

import pyarrow as pa
import pytest

from pipeline.policies import Policy, bracket_names, extract_policies
from pipeline.tables import SPECS, validate
from stages import run_paragraphs



def _run(nlp, lexicon, *paragraphs: str):
    seg, _, attribution = run_paragraphs(nlp, lexicon, *paragraphs)
    return seg, attribution


def _policies(nlp, lexicon, *paragraphs: str) -> list[tuple[str | None, str, str]]:
    seg, att = _run(nlp, lexicon, *paragraphs)
    return [(p.subject, p.name, p.type) for p in extract_policies(seg, att, lexicon)]


def test_bracket_names_are_the_outermost_closed_spans():
    text = "「A「B」C」と『D』、そして「閉じない"
    assert [(n.bracket, n.name, text[n.start:n.end]) for n in bracket_names(text)] == [
        ("「", "A「B」C", "「A「B」C」"), ("『", "D", "『D』")
    ]


def test_type_from_the_ending_what_follows_and_a_count_inside(nlp, lexicon):
    got = _policies(
        nlp, lexicon,
        "カナダは2022年に「国家量子戦略」を策定し、「開かれた科学」という理念を掲げた。"
        "また「産学官連携」の枠組みを整え、「7大戦略産業」を定めた。「デジタル枠組み」も公表した。",
    )
    assert got == [
        ("CA", "国家量子戦略", "strategy"),
        ("CA", "開かれた科学", "concept"),
        ("CA", "産学官連携", "framework"),
        ("CA", "7大戦略産業", "list"),
        ("CA", "デジタル枠組み", "framework"),
    ]


def test_a_bare_term_is_a_concept_and_a_quoted_phrase_is_nothing(nlp, lexicon):
    assert _policies(nlp, lexicon, "ドイツは「インダストリー」を掲げ、「日本の強み」に学ぶとした。") == [
        ("DE", "インダストリー", "concept")
    ]


def test_generic_words_the_report_title_and_repeats_are_skipped(nlp, lexicon):
    got = _policies(
        nlp, lexicon,
        "本報告書『世界の新興技術』は各国の政策をまとめた。",
        "なお、本書では「重要技術」を用いる。",
        "韓国は『世界の新興技術』でも触れた「国家戦略技術育成法」を制定した。「国家戦略技術育成法」は2023年に施行された。",
    )
    assert got == [("KR", "国家戦略技術育成法", "strategy")]


def test_a_name_without_subject_keeps_subject_none(nlp, lexicon):
    assert _policies(nlp, lexicon, "近年、各国は『研究安全保障ガイドライン』を参照している。") == [
        (None, "研究安全保障ガイドライン", "concept")
    ]


# ------------------------------------------------------------------------------ the summary


@pytest.fixture(scope="module")
def summary(summary_stages):
    seg, _, attribution = summary_stages
    return seg, attribution


def test_summary_gives_exactly_its_named_policies(summary, lexicon):
    seg, att = summary
    policies = extract_policies(seg, att, lexicon)
    assert [(p.subject, p.name, p.type) for p in policies] == [
        ("CN", "自立自強", "concept"),
        ("CN", "8大新興技術産業", "list"),
        ("CN", "9大未来産業", "list"),
        ("CN", "人類運命共同体", "concept"),
        ("US", "重要・新興技術(CET)国家戦略", "strategy"),
        ("GB", "科学技術枠組み", "framework"),
        ("GB", "所有-協働-アクセス", "framework"),
        ("GB", "英国国際技術戦略", "strategy"),
        ("DE", "キーテクノロジー", "concept"),
    ]
    text = {s.sentence_id: s.text for s in seg.sentences}
    assert all(p.name in p.evidence and p.evidence == text[p.sentence_id] for p in policies)


def test_policies_fit_the_policies_table(summary, lexicon):
    seg, att = summary
    policies = extract_policies(seg, att, lexicon)
    spec = SPECS["policies"]
    names = [f.name for f in fields(Policy)]
    assert ["edition", "policy_id", *names] == spec.schema.names
    table = pa.table({"edition": ["s"] * len(policies), "policy_id": list(range(len(policies))),
                      **{n: [getattr(p, n) for p in policies] for n in names}})
    assert validate(table, spec).num_rows == 9


def test_a_method_ending_in_ho_is_no_law(nlp, lexicon):
    # 法 ends a law's name (国家戦略技術育成法, 育児・介護休業法); 学習法 and 手法 are methods.
    got = _policies(
        nlp, lexicon,
        "日本は「AI推進法」を制定した。機械学習技術には「モデル」と「学習法」があり、「新たな解析手法」も開発された。",
    )
    assert got == [("JP", "AI推進法", "strategy"), ("JP", "モデル", "concept"), ("JP", "学習法", "concept"),
                   ("JP", "新たな解析手法", "concept")]


def test_mext_chapter_1_learning_method_is_no_strategy(nlp, lexicon):
    from pathlib import Path

    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences

    path = Path(__file__).resolve().parents[2] / "shared" / "pdfs" / "mext_hakusho_r6_ch1_ai.pdf"
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    seg = segment(extract_pdf(path, workers=1))
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    types = {p.name: p.type for p in extract_policies(seg, att, lexicon)}
    assert types["学習法"] == "concept" and types["教師あり学習"] == "concept"
