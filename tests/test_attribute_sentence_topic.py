"""A sentence that opens with other places than its paragraph's as its own topic (after a
connective: また、米国や欧州も、… / 一方、韓国では、…) is about them, not about the paragraph's subject."""
from __future__ import annotations

from pathlib import Path

import pytest
from stages import run_paragraphs, run_sections

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"


def _subjects(seg, att) -> dict[str, tuple[str | None, str]]:
    by_id = {s.sentence_id: s for s in att.sentences}
    return {s.text: (by_id[s.sentence_id].subject, by_id[s.sentence_id].subject_source) for s in seg.sentences}


def _mention_subjects(seg, att, surface: str) -> list[str | None]:
    text_of = {s.sentence_id: s.text for s in seg.sentences}
    return [a.subject for a in att.mentions
            if text_of[a.mention.sentence_id][a.mention.start:a.mention.end] == surface]


def test_several_other_places_as_topic_leave_the_sentence_without_the_paragraphs_subject(nlp, lexicon):
    # The paragraph's topic (我が国においては), then a sentence on the US and Europe, then one on Japan again.
    seg, _, att = run_paragraphs(
        nlp, lexicon,
        "我が国においては、AI事業者ガイドラインでAIシステムを定義しています。"
        "また、米国や欧州も、機械ベースのシステムであるとしています。"
        "このガイドラインは量子技術も扱っています。")
    subjects = _subjects(seg, att)
    assert subjects["また、米国や欧州も、機械ベースのシステムであるとしています。"] == (None, "sentence")
    assert subjects["我が国においては、AI事業者ガイドラインでAIシステムを定義しています。"] == ("JP", "paragraph")
    assert subjects["このガイドラインは量子技術も扱っています。"] == ("JP", "paragraph")


def test_one_other_place_as_topic_is_the_sentences_subject_and_its_technologies(nlp, lexicon):
    # A section on China (the heading's subject), a sentence on Korea after 一方, and 同国 after it.
    seg, _, att, _, _ = run_sections(nlp, lexicon, ("第2章 中国", [
        "人工知能の研究開発を国家戦略として推進している。"
        "一方、韓国では、量子技術への投資を拡大している。"
        "同国は半導体にも重点を置いている。"
        "さらに、AIの人材育成も進めている。"]))
    subjects = _subjects(seg, att)
    assert subjects["人工知能の研究開発を国家戦略として推進している。"] == ("CN", "heading")
    assert subjects["一方、韓国では、量子技術への投資を拡大している。"] == ("KR", "sentence")
    assert subjects["同国は半導体にも重点を置いている。"] == ("KR", "sentence")
    assert subjects["さらに、AIの人材育成も進めている。"] == ("CN", "heading")
    assert _mention_subjects(seg, att, "量子技術") == ["KR"]
    assert _mention_subjects(seg, att, "半導体") == ["KR"]


@pytest.mark.parametrize("sentence", [
    "また、米国と連携して量子技術の研究を進めている。",  # a partner, not the topic
    "さらに、米国の動向を踏まえ、量子技術の研究を進めている。",  # a genitive object
    "また、米国が主導する枠組みに参加し、量子技術の研究を進めている。",  # が: a subject inside the sentence
    "なお、日本は量子技術の研究も進めている。",  # the paragraph's own subject
    "量子技術の研究では米国は先行している。",  # not at the opening
])
def test_a_sentence_that_does_not_open_with_another_topic_keeps_the_paragraphs_subject(nlp, lexicon, sentence):
    seg, _, att = run_paragraphs(nlp, lexicon, "日本は、AIの研究開発を推進している。" + sentence)
    assert _subjects(seg, att)[sentence] == ("JP", "paragraph")


def test_mext_chapter_1_us_and_europe_sentence_is_not_japans(nlp, lexicon):
    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences

    path = SHARED_PDFS / "mext_hakusho_r6_ch1_ai.pdf"
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    seg = segment(extract_pdf(path, workers=1))
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    by_id = {s.sentence_id: s for s in att.sentences}
    [sentence] = [s for s in seg.sentences if s.text.startswith("また、米国や欧州も、")]
    assert (by_id[sentence.sentence_id].subject, by_id[sentence.sentence_id].subject_source) == (None, "sentence")
    assert not [a for a in att.mentions if a.mention.sentence_id == sentence.sentence_id and a.subject == "JP"]
    before = by_id[sentence.sentence_id - 1]  # the paragraph's first sentence, 我が国においては、…
    assert (before.subject, before.subject_source) == ("JP", "paragraph")
