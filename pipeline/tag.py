"""Tag: Sudachi tokens → mentions of countries, regions, frameworks and technologies, with spaCy.

Input: the token table (``pipeline.tokenize``) and a ``Lexicon``. Output: a list of ``Mention``.

The spaCy pipeline is composed of components registered by name:
  entity_ruler                  lexicon aliases as token patterns on NORM (Sudachi normalized form)
  jstmine_drop_not_mentions     removes spans that only look like a mention (国防科学技術戦略)
  jstmine_fused_abbreviations   character-level pass: 米日韓 → US, JP, KR (Sudachi fuses these)
Docs are built from our own Sudachi tokens, so text is tokenized once, by the tokenize stage.
GiNZA's statistical NER is not in this path: see the README for why and where it runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import spacy
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.lexicon import NOT_MENTION, Lexicon, entity_ruler_patterns, token_norm
from pipeline.tokenize import TokenizeConfig, load_tokenizer


@dataclass(frozen=True)
class Mention:
    sentence_id: int
    start: int  # character offsets within the sentence text
    end: int
    text: str
    label: str  # COUNTRY | REGION | FRAMEWORK | TECHNOLOGY
    id: str  # canonical id: ISO alpha-2, region or framework id, technology id
    top: str  # broad technology id (the id itself for anything else)
    via: str  # "lexicon" | "abbreviation"


ABBREVIATIONS_KEY = "jstmine_abbreviations"


@Language.component("jstmine_drop_not_mentions")
def drop_not_mentions(doc: Doc) -> Doc:
    doc.ents = [e for e in doc.ents if e.label_ != NOT_MENTION]
    return doc


@Language.factory("jstmine_fused_abbreviations", default_config={"abbreviations": {}})
def make_fused_abbreviations(nlp: Language, name: str, abbreviations: dict[str, list[str]]):
    """``abbreviations`` maps one character to [label, id], e.g. {"米": ["COUNTRY", "US"]}."""
    return FusedAbbreviations(abbreviations)


class FusedAbbreviations:
    """Expands runs of one-character country abbreviations (米日韓, 日米豪印, 英仏独, 米中).

    Sudachi fuses them into tokens such as 米|日韓 or 日|米豪|印, which token patterns cannot see
    into. A run counts only when it is made of whole tokens, each of abbreviation characters
    only, and has at least two characters, so 米 (rice) or 中 (middle) alone is never a country.
    """

    def __init__(self, abbreviations: dict[str, list[str]]):
        self.abbreviations = abbreviations

    def __call__(self, doc: Doc) -> Doc:
        # Stored as character ranges: a span of the whole token 日韓 could not hold two countries.
        found: list[tuple[int, int, str, str]] = []
        text = doc.text
        if any(c in self.abbreviations for c in text):  # else no token can be made of them
            # Token texts from their offsets: no Token objects (the cost of this component).
            run: list[tuple[int, str]] = []
            for idx, length in doc.to_array([IDX, LENGTH]).tolist() + [(None, None)]:
                token_text = text[idx : idx + length] if idx is not None else None
                if token_text and all(c in self.abbreviations for c in token_text):
                    run.append((idx, token_text))
                    continue
                if sum(len(t) for _, t in run) >= 2:
                    for tok_idx, tok_text in run:
                        for k, char in enumerate(tok_text):
                            label, entry_id = self.abbreviations[char]
                            found.append((tok_idx + k, tok_idx + k + 1, label, entry_id))
                run = []
        doc.user_data[ABBREVIATIONS_KEY] = found
        return doc


def build_tagger(lexicon: Lexicon, tokenize_config: TokenizeConfig = TokenizeConfig()) -> Language:
    """The spaCy pipeline for tagging; build once per process and reuse."""
    tokenizer = load_tokenizer(tokenize_config.mode, tokenize_config.dictionary)
    nlp = spacy.blank("ja")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(entity_ruler_patterns(lexicon, lambda text: [m.normalized_form() for m in tokenizer.tokenize(text)]))
    nlp.add_pipe("jstmine_drop_not_mentions")
    abbreviations = {c: [e.label, e.id] for c, e in lexicon.abbreviations.items()}
    nlp.add_pipe("jstmine_fused_abbreviations", config={"abbreviations": abbreviations})
    return nlp


def docs_from_tokens(nlp: Language, tokens: pa.Table):
    """One spaCy Doc per sentence from the token table, with NORM set to Sudachi's form.

    Yields (sentence_id, doc, offsets) where offsets[i] is token i's start in the sentence.
    """
    for sid, doc, starts, _ in _docs_and_norms(nlp, tokens):
        yield sid, doc, starts


def _docs_and_norms(nlp: Language, tokens: pa.Table):
    """``docs_from_tokens``, plus each doc's token norms (as set on the tokens)."""
    cols = tokens.select(["sentence_id", "surface", "normalized", "start", "end"]).to_pydict()
    sentence_ids, surfaces, normalized = cols["sentence_id"], cols["surface"], cols["normalized"]
    all_starts, all_ends = cols["start"], cols["end"]
    vocab = nlp.vocab
    n = len(sentence_ids)
    i = 0
    while i < n:
        sid = sentence_ids[i]
        j = i
        while j < n and sentence_ids[j] == sid:
            j += 1
        words = surfaces[i:j]
        starts = all_starts[i:j]
        ends = all_ends[i:j]
        spaces = [ends[k] < starts[k + 1] for k in range(len(words) - 1)] + [False]
        doc = Doc(vocab, words=words, spaces=spaces)
        norms = [token_norm(norm) for norm in normalized[i:j]]
        for token, norm in zip(doc, norms):
            token.norm_ = norm
        yield sid, doc, starts, norms
        i = j


def _ruler_prefilter(nlp: Language):
    """A test ``may_match(norms)`` that is False only when the entity_ruler cannot match in a doc
    with these token norms, or None when its patterns are not all plain NORM sequences.

    The ruler's Matcher tries every pattern at every token (most of the tagging time); about
    40% of a report's sentences name nothing in the lexicon, and for them running the ruler
    changes nothing (no match, no entity), so it is skipped.
    """
    if "entity_ruler" not in nlp.pipe_names:
        return None
    ruler = nlp.get_pipe("entity_ruler")
    if getattr(ruler, "phrase_patterns", None):
        return None
    lengths: dict[str, set[int]] = {}
    sequences: set[tuple[str, ...]] = set()
    for entry in ruler.patterns:
        pattern = entry.get("pattern")
        if not isinstance(pattern, list) or not pattern:
            return None
        if not all(isinstance(t, dict) and list(t) == ["NORM"] and isinstance(t["NORM"], str) for t in pattern):
            return None
        sequence = tuple(t["NORM"] for t in pattern)
        sequences.add(sequence)
        lengths.setdefault(sequence[0], set()).add(len(sequence))

    def may_match(norms: list[str]) -> bool:
        for i, norm in enumerate(norms):
            for length in lengths.get(norm, ()):
                if tuple(norms[i : i + length]) in sequences:
                    return True
        return False

    return may_match


def tag_tokens(nlp: Language, lexicon: Lexicon, tokens: pa.Table) -> list[Mention]:
    mentions: list[Mention] = []
    may_match = _ruler_prefilter(nlp)
    pipeline = nlp.pipeline
    # Doc by doc (not all docs at once: a long report's docs would all be alive together).
    for sid, doc, starts, norms in _docs_and_norms(nlp, tokens):
        for name, proc in pipeline:
            if name == "entity_ruler" and may_match is not None and not may_match(norms):
                continue  # no pattern occurs: the ruler would find nothing and set nothing
            doc = proc(doc)

        # Doc character offsets differ from sentence offsets only where spaces were dropped.
        def to_sentence(char: int, token_i: int) -> int:
            return starts[token_i] + (char - doc[token_i].idx)

        for ent in doc.ents:
            mentions.append(_mention(lexicon, sid, to_sentence(ent.start_char, ent.start), to_sentence(ent.end_char - 1, ent.end - 1) + 1, ent.text, ent.label_, ent.ent_id_, "lexicon"))
        for s, e, label, entry_id in doc.user_data.get(ABBREVIATIONS_KEY, []):
            tok = doc.char_span(s, e, alignment_mode="expand").start
            mentions.append(_mention(lexicon, sid, to_sentence(s, tok), to_sentence(s, tok) + 1, doc.text[s:e], label, entry_id, "abbreviation"))
    mentions.sort(key=lambda m: (m.sentence_id, m.start, -m.end))
    return mentions


def _mention(lexicon: Lexicon, sid: int, start: int, end: int, text: str, label: str, entry_id: str, via: str) -> Mention:
    return Mention(sid, start, end, text, label, entry_id, lexicon.top(entry_id), via)
