"""NER audit: where GiNZA's statistical NER earns its cost: finding what the lexicon misses.

Input: the sentences, their lexicon mentions, and a loaded ``ja_ginza`` pipeline (tok2vec + ner
only). Output: ``LexiconGap`` rows: places and organisations GiNZA recognises that no lexicon
entry covers (a country the lexicon lacks, an alias it does not know), with evidence.

The statistical model parses ~1,300 characters/s, ~400 times slower than the lexicon path, and
has no technology label, so it never decides a table row: it only tells the analyst which
aliases to add. Opt-in: ``jstmine run --ner-audit``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from pipeline.segment import Sentence
from pipeline.tag import Mention

# Sekine's extended named-entity types that name a state, a place with a government, or an
# international organisation: what the lexicon's COUNTRY, REGION and FRAMEWORK labels cover.
AUDITED_LABELS = frozenset({"Country", "GPE_Other", "International_Organization", "Government"})
COVERING_LABELS = frozenset({"COUNTRY", "REGION", "FRAMEWORK"})


@dataclass(frozen=True)
class LexiconGap:
    text: str
    ner_label: str
    count: int
    sentence_ids: tuple[int, ...]
    page: int
    evidence: str


@lru_cache(maxsize=1)
def load_ner():
    """ja_ginza with only what NER needs (tok2vec, ner); loaded once per process."""
    import spacy

    return spacy.load("ja_ginza", exclude=["parser", "morphologizer", "compound_splitter", "bunsetu_recognizer"])


def lexicon_gaps(nlp, sentences: Iterable[Sentence], mentions: list[Mention], batch_size: int = 64) -> list[LexiconGap]:
    covered: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for m in mentions:
        if m.label in COVERING_LABELS:
            covered[m.sentence_id].append((m.start, m.end))
    sentences = [s for s in sentences if s.kind == "body"]
    found: dict[tuple[str, str], list[Sentence]] = defaultdict(list)
    for sentence, doc in zip(sentences, nlp.pipe((s.text for s in sentences), batch_size=batch_size), strict=True):
        for ent in doc.ents:
            if ent.label_ not in AUDITED_LABELS:
                continue
            if any(s < ent.end_char and ent.start_char < e for s, e in covered[sentence.sentence_id]):
                continue  # the lexicon tagged (part of) it
            found[(ent.text, ent.label_)].append(sentence)
    gaps = [
        LexiconGap(text, label, len(ss), tuple(s.sentence_id for s in ss), ss[0].page, ss[0].text)
        for (text, label), ss in found.items()
    ]
    return sorted(gaps, key=lambda g: (-g.count, g.text))
