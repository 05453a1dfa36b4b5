"""Headings (pipeline/headings.py) and section roles (pipeline/segment.py): which sections are the
executive summary and which are reference lists."""
from __future__ import annotations

import pytest

from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.headings import section_role
from pipeline.segment import segment, summary_sentence_ids


@pytest.mark.parametrize("heading", [
    "要旨", "第1章 要旨", "第１章　要旨", "第1部 要旨", "第一章 概要", "1. エグゼクティブ・サマリー", "Ⅰ. 要旨",
    "【概要】", "■概要", "1) 要旨", "エグゼクティブ・サマリ", "エグゼクティブ･サマリー", "エグゼクティブ・サマリー（概要）",
    "概要・要旨", "本報告書の要旨", "本書の概要", "要約", "Executive Summary", "EXECUTIVE SUMMARY", "Summary",
])
def test_summary_headings(heading):
    assert section_role(heading) == "summary"


@pytest.mark.parametrize("heading", [
    "調査の概要", "国・地域別の概要", "概要と課題", "要旨（英文）", "Executive Summary in English",
    "Executive Summary (English)", "第2章 韓国", "1.1 重要技術政策", "サマリー報告会の開催", "",
])
def test_headings_that_are_no_summary(heading):
    assert section_role(heading) != "summary"


@pytest.mark.parametrize("heading, role", [
    ("参考文献", "references"), ("参考文献・資料", "references"), ("主要参考文献", "references"),
    ("出典一覧", "references"), ("References", "references"), ("第5章 参考文献", "references"),
    ("資料", ""), ("参考資料の作成方針", ""),
])
def test_reference_list_headings(heading, role):
    assert section_role(heading) == role


def _doc(*items):
    blocks = tuple(Block(1, "heading", text, level=level) if level else Block(1, "body", text) for level, text in items)
    return ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), blocks, (), ())


def test_only_a_top_level_section_is_the_summary_and_everything_under_it_is_too():
    seg = segment(_doc(
        (1, "第1章 要旨"), (0, "要旨の本文である。"), (2, "1.1 国・地域別の概要"), (0, "韓国は12の技術を定めた。"),
        (1, "第2章 韓国"), (2, "2.1 概要"), (0, "韓国政府は12の国家戦略技術を指定した。"),
        (1, "参考文献"), (0, "内閣府（2023）「統合イノベーション戦略2023」"),
    ))
    roles = {s.heading: s.role for s in seg.sections[1:]}
    assert roles == {"第1章 要旨": "summary", "1.1 国・地域別の概要": "summary", "第2章 韓国": "",
                     "2.1 概要": "", "参考文献": "references"}
    summary = {s.text for s in seg.sentences if s.sentence_id in summary_sentence_ids(seg)}
    assert summary == {"第1章 要旨", "要旨の本文である。", "1.1 国・地域別の概要", "韓国は12の技術を定めた。"}
    assert [s.kind for s in seg.sentences if s.text.startswith("内閣府")] == ["reference"]


def test_a_document_without_a_summary_has_no_summary_sentences():
    seg = segment(_doc((1, "第1章 調査の概要"), (0, "本章は調査の概要を述べる。")))
    assert summary_sentence_ids(seg) == frozenset()
