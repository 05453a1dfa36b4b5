"""Tag: Sudachi tokens → mentions of countries, regions, frameworks and technologies, with spaCy.

Input: the token table (``pipeline.tokenize``) and a ``Lexicon``. Output: a list of ``Mention``.

The spaCy pipeline is composed of components registered by name:
  entity_ruler                  lexicon aliases matched on NORM (Sudachi normalized form), as
                                phrase patterns made by the pipeline's tokenizer, which splits
                                and normalizes text as the tokenize stage does
  jstmine_drop_not_mentions     removes spans that only look like a mention (欧州グリーン・ディール)
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
from pipeline.tokenize import TokenizeConfig, load_tokenizer, sentence_rows


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
    mode, dictionary = tokenize_config.mode, tokenize_config.dictionary
    tokenizer = load_tokenizer(mode, dictionary)
    token_patterns = entity_ruler_patterns(lexicon, lambda text: [m.normalized_form() for m in tokenizer.tokenize(text)])
    nlp = spacy.blank("ja")
    nlp.tokenizer = SudachiNormTokenizer(nlp.vocab, mode, dictionary)
    phrase_patterns = _as_phrase_patterns(nlp, lexicon, token_patterns)
    if phrase_patterns is not None:
        ruler = nlp.add_pipe("entity_ruler", config={"validate": True, "phrase_matcher_attr": "NORM"})
        ruler.add_patterns(phrase_patterns)
    else:
        ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
        ruler.add_patterns(token_patterns)
    nlp.add_pipe("jstmine_drop_not_mentions")
    abbreviations = {c: [e.label, e.id] for c, e in lexicon.abbreviations.items()}
    nlp.add_pipe("jstmine_fused_abbreviations", config={"abbreviations": abbreviations})
    return nlp


class SudachiNormTokenizer:
    """The pipeline's tokenizer: text → Doc split as the tokenize stage splits it (same Sudachi
    mode and dictionary), each token's NORM its normalized form as ``token_norm`` gives it: what
    the Docs built from the token table carry. The entity_ruler's phrase patterns are made by it."""

    def __init__(self, vocab, mode: str, dictionary: str):
        self.vocab, self.mode, self.dictionary = vocab, mode, dictionary

    def __call__(self, text: str) -> Doc:
        morphemes = list(load_tokenizer(self.mode, self.dictionary).tokenize(text)) if text else []
        doc = Doc(self.vocab, words=[m.surface() for m in morphemes], spaces=[False] * len(morphemes))
        for token, m in zip(doc, morphemes, strict=True):
            token.norm_ = token_norm(m.normalized_form())
        return doc


def _as_phrase_patterns(nlp: Language, lexicon: Lexicon, token_patterns: list[dict]) -> list[dict] | None:
    """The lexicon's token patterns (``entity_ruler_patterns``: one NORM sequence per alias) as
    phrase patterns matched on NORM, or None if they would not be the same sequences.

    The ruler finds the same matches either way, and so sets the same entities; but its token
    Matcher tries every pattern at every token (most of the tagging time for a long report),
    while its PhraseMatcher looks each position up once.
    """
    phrases = [
        {"label": entry.label, "id": entry.id, "pattern": alias}
        for entry in lexicon.entries.values()
        for alias in entry.aliases
        if len(nlp.make_doc(alias))  # entity_ruler_patterns leaves out aliases without tokens
    ] + [{"label": NOT_MENTION, "id": phrase, "pattern": phrase} for phrase in lexicon.not_mention]
    as_tokens = [(p["label"], p["id"], tuple(t.norm_ for t in nlp.make_doc(p["pattern"]))) for p in phrases]
    expected = [(p["label"], p["id"], tuple(t.get("NORM") for t in p["pattern"])) for p in token_patterns]
    simple = all(isinstance(p["pattern"], list) and all(list(t) == ["NORM"] for t in p["pattern"]) for p in token_patterns)
    return phrases if simple and as_tokens == expected else None


def docs_from_tokens(nlp: Language, tokens: pa.Table):
    """One spaCy Doc per sentence from the token table, with NORM set to Sudachi's form.

    Yields (sentence_id, doc, offsets) where offsets[i] is token i's start in the sentence.
    Sentences are read with ``sentence_rows``: a long report's tokens are never all Python
    objects at once.
    """
    vocab = nlp.vocab
    for sid, rows in sentence_rows(tokens, ("surface", "normalized", "char_start", "char_end")):
        words, starts, ends = rows["surface"], rows["char_start"], rows["char_end"]
        spaces = [ends[k] < starts[k + 1] for k in range(len(words) - 1)] + [False]
        doc = Doc(vocab, words=words, spaces=spaces)
        for token, norm in zip(doc, rows["normalized"], strict=True):
            token.norm_ = token_norm(norm)
        yield sid, doc, starts


def tag_tokens(nlp: Language, lexicon: Lexicon, tokens: pa.Table) -> list[Mention]:
    mentions: list[Mention] = []
    pipeline = nlp.pipeline
    # Doc by doc (not all docs at once: a long report's docs would all be alive together).
    for sid, doc, starts in docs_from_tokens(nlp, tokens):
        for _, proc in pipeline:
            doc = proc(doc)

        # Doc character offsets differ from sentence offsets only where spaces were dropped.
        def to_sentence(char: int, token_i: int, starts=starts, doc=doc) -> int:
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
