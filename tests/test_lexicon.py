"""The lexicon's not-a-mention phrases, checked with the real tagger in every Sudachi split mode.

A phrase is dropped as a whole (``jstmine_drop_not_mentions``), so an entry does something only
if the phrase, split as the tagger splits it, contains an alias. Each phrase is checked both ways:
without the entry the tagger finds a mention inside it, with it the tagger finds none.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.lexicon import load_lexicon
from pipeline.segment import Sentence
from pipeline.tag import build_tagger, tag_tokens
from pipeline.tokenize import TokenizeConfig, tokenize_sentences

MODES = ("A", "B", "C")  # the tokenize stage's split modes (flow parameter tokenizer_mode)
BEFORE, AFTER = "日本は", "を重視する。"  # the sentence frame every phrase and alias is put in


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.fixture(scope="module")
def taggers(lexicon):
    """mode → (tagger with the lexicon, tagger with the same lexicon but no not-a-mention phrases)."""
    unfiltered = replace(lexicon, not_mention=())
    return {m: (build_tagger(lexicon, TokenizeConfig(mode=m)), build_tagger(unfiltered, TokenizeConfig(mode=m)))
            for m in MODES}


def _inside(nlp, lexicon, mode: str, words: str) -> list[tuple[str, str]]:
    """(text, id) of the mentions the tagger finds within ``words`` in the sentence frame."""
    text = BEFORE + words + AFTER
    tokens = tokenize_sentences([Sentence(0, 0, 0, 1, 0, "body", text)], TokenizeConfig(mode=mode))
    lo, hi = len(BEFORE), len(BEFORE) + len(words)
    return [(m.text, m.id) for m in tag_tokens(nlp, lexicon, tokens) if lo <= m.start and m.end <= hi]


def test_every_not_mention_phrase_contains_an_alias_and_is_dropped(lexicon, taggers):
    """No dead entry: each phrase holds an alias in some split mode, and in no mode is it a mention."""
    assert lexicon.not_mention
    unfiltered_lexicon = replace(lexicon, not_mention=())
    for phrase in lexicon.not_mention:
        found = {m: _inside(taggers[m][1], unfiltered_lexicon, m, phrase) for m in MODES}
        assert any(found.values()), f"{phrase}: no alias inside it in any split mode, so the entry filters nothing"
        for m in MODES:
            assert _inside(taggers[m][0], lexicon, m, phrase) == [], f"{phrase} (mode {m}) is tagged as a mention"


@pytest.mark.parametrize(("phrase", "alias", "entry_id"), [
    ("デジタル庁", "デジタル", "digital"),  # an agency
    ("量子科学技術研究開発機構", "量子科学技術", "quantum"),  # a research institute (QST)
    ("デジタル経済", "デジタル", "digital"),
    ("バイオ経済", "バイオ", "biotechnology"),
    ("バイオエコノミー", "バイオ", "biotechnology"),
    ("グリーン成長", "グリーン", "green"),
    ("グリーン・トランスフォーメーション", "グリーン", "green"),
    ("グリーンディール", "グリーン", "green"),
    ("欧州グリーン・ディール", "グリーン", "green"),  # nor is its 欧州 the region
])
@pytest.mark.parametrize("mode", MODES)
def test_a_phrase_gives_no_mention_where_its_alias_alone_does(lexicon, taggers, phrase, alias, entry_id, mode):
    nlp = taggers[mode][0]
    assert phrase in lexicon.not_mention
    assert _inside(nlp, lexicon, mode, alias) == [(alias, entry_id)]
    assert _inside(nlp, lexicon, mode, phrase) == []


def test_the_filter_is_what_drops_a_phrase_that_contains_an_alias(lexicon, taggers):
    """Without the not-a-mention entries the same tagger tags the institute as quantum technology."""
    nlp, unfiltered = taggers["C"]
    assert _inside(unfiltered, replace(lexicon, not_mention=()), "C", "量子科学技術研究開発機構") == [("量子科学技術", "quantum")]
    assert _inside(nlp, lexicon, "C", "量子科学技術研究開発機構") == []
