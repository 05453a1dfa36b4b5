"""Tag: Sudachi tokens → mentions of countries, regions, frameworks and technologies, with spaCy.

Input: the token table (``pipeline.tokenize``) and a ``Lexicon``. Output: a list of ``Mention``.

The spaCy pipeline is composed of components registered by name:
  entity_ruler                  lexicon aliases matched on NORM (Sudachi normalized form), as
                                phrase patterns made by the pipeline's tokenizer, which splits
                                and normalizes text as the tokenize stage does
  jstmine_drop_not_mentions     removes spans that only look like a mention (欧州グリーン・ディール)
  jstmine_fused_abbreviations   character-level pass: 米日韓 → US, JP, KR (Sudachi fuses these)
Docs are built from our own Sudachi tokens, so text is tokenized once, by the tokenize stage,
one Doc per window of whole sentences (``window_docs``), not one per sentence: tagging then costs
about half of what tokenizing does.
GiNZA's statistical NER is not in this path: see the README for why and where it runs.
A match inside a URL (``joinup.ec.europa.eu``, ``www.oecd.org``) is no mention: it is dropped.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy
import pyarrow as pa
import pyarrow.compute as pc
import spacy
from rapidfuzz.distance import Levenshtein
from spacy.attrs import IDX, NORM, ORTH
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.lexicon import NOT_MENTION, Lexicon, LexiconError, entity_ruler_patterns, token_norm
from pipeline.records import quick_pickle
from pipeline.tokenize import TokenizeConfig, load_tokenizer, sentence_windows
from pipeline.urls import url_spans


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
class Mention:
    sentence_id: int
    start: int  # character offsets within the sentence text
    end: int
    text: str
    label: str  # COUNTRY | REGION | FRAMEWORK | TECHNOLOGY
    id: str  # canonical id: ISO alpha-2, region or framework id, technology id
    top: str  # broad technology id (the id itself for anything else)
    via: str  # "lexicon" | "abbreviation"
    # True when matched with one OCR character error (``approximate_mentions``): OCR pages only.
    approximate: bool = False


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
        if len(doc):
            # Arrays, no Token objects and no doc.text (joined anew at each call): each distinct
            # token text is looked at once, the runs are found on the arrays.
            orth, idx = doc.to_array([ORTH, IDX]).T
            kinds, inverse = numpy.unique(orth, return_inverse=True)
            strings = doc.vocab.strings
            whole = numpy.array([all(c in self.abbreviations for c in strings[int(k)]) for k in kinds], dtype=bool)
            made_of = whole[inverse.reshape(-1)]
            if made_of.any():
                # Runs of consecutive tokens made of abbreviation characters: [begin, end) pairs.
                edges = numpy.flatnonzero(numpy.diff(numpy.concatenate(([0], made_of.astype(numpy.int8), [0]))))
                for begin, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
                    run = [(int(idx[t]), strings[int(orth[t])]) for t in range(begin, end)]
                    if sum(len(t) for _, t in run) < 2:
                        continue
                    for tok_idx, tok_text in run:
                        for k, char in enumerate(tok_text):
                            label, entry_id = self.abbreviations[char]
                            found.append((tok_idx + k, tok_idx + k + 1, label, entry_id))
        doc.user_data[ABBREVIATIONS_KEY] = found
        return doc


def build_tagger(lexicon: Lexicon, tokenize_config: TokenizeConfig = TokenizeConfig()) -> Language:
    """The spaCy pipeline for tagging; build once per process and reuse. ``LexiconError`` if an
    alias holds ``SENTENCE_BREAK`` (it could then match across two sentences)."""
    broken = sorted(alias for e in lexicon.entries.values() for alias in e.aliases if SENTENCE_BREAK in alias)
    if broken:
        raise LexiconError(f"lexicon aliases hold the private-use character U+E000: {', '.join(map(repr, broken))}",
                           "remove that character from them (the tagger puts it between sentences)")
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


# Between two sentences in one Doc: a token whose NORM no alias has (a private-use character),
# so that no match, and no run of fused abbreviations, reaches from one sentence into the next.
SENTENCE_BREAK = "\ue000"


@dataclass(frozen=True)
class TokenWindow:
    """A Doc of whole sentences of the token table, and where each of its tokens came from."""

    doc: Doc
    sentence_ids: list[int]  # each Doc token's sentence id (-1: a ``SENTENCE_BREAK``)
    starts: list[int]  # each Doc token's start within its sentence
    idx: list[int]  # each Doc token's start within the Doc's text


def window_docs(nlp: Language, tokens: pa.Table):
    """The token table as spaCy Docs of whole sentences, NORM set to Sudachi's normalized form
    (``token_norm``), the sentences of a Doc separated by a ``SENTENCE_BREAK`` token.

    One Doc per window of ``sentence_windows`` (about 32,000 tokens), not one per sentence: a
    Doc and each pipeline component cost about as much per call as for a few hundred tokens,
    and a report has thousands of sentences; no window's tokens are Python objects together
    with another's. Yields a ``TokenWindow`` per window.
    """
    vocab = nlp.vocab
    norm_ids: dict[str, int] = {}  # normalized form -> its NORM string id

    def norm_id(form: str) -> int:
        found = norm_ids.get(form)
        if found is None:
            found = norm_ids[form] = vocab.strings.add(token_norm(form))
        return found

    for cols in sentence_windows(tokens, ("surface", "normalized", "char_start", "char_end")):
        sids, surfaces, forms = cols["sentence_id"], cols["surface"], cols["normalized"]
        starts, ends = cols["char_start"], cols["char_end"]
        words: list[str] = []
        spaces: list[bool] = []
        norms: list[int] = []
        token_sids: list[int] = []
        token_starts: list[int] = []
        n, i = len(sids), 0
        while i < n:  # one sentence at a time: rows i..j-1
            sid = sids[i]
            j = i + 1
            while j < n and sids[j] == sid:
                j += 1
            if words:
                words.append(SENTENCE_BREAK)
                spaces.append(False)
                norms.append(norm_id(SENTENCE_BREAK))
                token_sids.append(-1)
                token_starts.append(0)
            words += surfaces[i:j]
            spaces += [ends[k] < starts[k + 1] for k in range(i, j - 1)]
            spaces.append(False)
            norms += [norm_id(f) for f in forms[i:j]]
            token_sids += [sid] * (j - i)
            token_starts += starts[i:j]
            i = j
        doc = Doc(vocab, words=words, spaces=spaces)
        doc.from_array([NORM], numpy.array(norms, dtype=numpy.uint64))
        yield TokenWindow(doc, token_sids, token_starts, doc.to_array(IDX).tolist())


def tag_tokens(nlp: Language, lexicon: Lexicon, tokens: pa.Table,
               ocr_texts: Mapping[int, str] | None = None) -> list[Mention]:
    """Mentions of the lexicon's entries in the token table's sentences.

    ``ocr_texts``: the text of each sentence read by OCR, by sentence id (``ocr_sentence_texts``);
    in those sentences alone, aliases misread by one character are matched too
    (``approximate_mentions``). Sentences of text-layer pages are matched exactly, only.
    """
    mentions: list[Mention] = []
    pipeline = nlp.pipeline
    for window in window_docs(nlp, tokens):
        doc = window.doc
        for _, proc in pipeline:
            doc = proc(doc)
        sids, starts, idx = window.sentence_ids, window.starts, window.idx

        # Doc character offsets → sentence offsets, through the token the character is in.
        def to_sentence(char: int, token_i: int, starts=starts, idx=idx) -> int:
            return starts[token_i] + (char - idx[token_i])

        for ent in doc.ents:
            mentions.append(_mention(lexicon, sids[ent.start], to_sentence(ent.start_char, ent.start),
                                     to_sentence(ent.end_char - 1, ent.end - 1) + 1, ent.text, ent.label_, ent.ent_id_,
                                     "lexicon"))
        for s, e, label, entry_id in doc.user_data.get(ABBREVIATIONS_KEY, []):
            tok = doc.char_span(s, e, alignment_mode="expand").start
            # (not doc.text[s:e]: doc.text is joined anew from every token at each call)
            text = doc[tok].text[s - idx[tok]: e - idx[tok]]
            mentions.append(_mention(lexicon, sids[tok], to_sentence(s, tok), to_sentence(s, tok) + 1, text,
                                     label, entry_id, "abbreviation"))
    if ocr_texts:
        exact: dict[int, list[tuple[int, int]]] = {}
        for m in mentions:
            exact.setdefault(m.sentence_id, []).append((m.start, m.end))
        aliases = _approximate_aliases(lexicon)
        for sid, text in ocr_texts.items():
            mentions.extend(approximate_mentions(lexicon, sid, text, exact.get(sid, []), aliases))
    urls = url_spans_by_sentence(tokens)
    if urls:
        mentions = [m for m in mentions
                    if not any(s < m.end and m.start < e for s, e in urls.get(m.sentence_id, ()))]
    mentions.sort(key=lambda m: (m.sentence_id, m.start, -m.end))
    return mentions


def url_spans_by_sentence(tokens: pa.Table) -> dict[int, list[tuple[int, int]]]:
    """The URLs (``pipeline.urls.url_spans``) of each sentence of the token table that has one,
    by sentence id, as sentence character offsets; the text is put back from the tokens' surfaces
    at their offsets, only for sentences with a token that may be part of a URL.

    Parameters:
        tokens: the tokenize stage's table (``TOKEN_SCHEMA``).
    """
    if tokens.num_rows == 0:
        return {}
    maybe = pc.match_substring_regex(tokens.column("surface"), "http|ftp|www", ignore_case=True)
    candidates = pc.unique(pc.filter(tokens.column("sentence_id"), maybe))
    if len(candidates) == 0:
        return {}
    rows = tokens.filter(pc.is_in(tokens.column("sentence_id"), value_set=candidates))
    texts: dict[int, list[str]] = {}
    for sid, surface, start in zip(rows.column("sentence_id").to_pylist(), rows.column("surface").to_pylist(),
                                   rows.column("char_start").to_pylist(), strict=True):
        chars = texts.setdefault(sid, [])
        chars += " " * (start - len(chars))
        chars[start:start + len(surface)] = surface
    out = {sid: url_spans("".join(chars)) for sid, chars in texts.items()}
    return {sid: spans for sid, spans in out.items() if spans}


def _mention(lexicon: Lexicon, sid: int, start: int, end: int, text: str, label: str, entry_id: str, via: str) -> Mention:
    return Mention(sid, start, end, text, label, entry_id, lexicon.top(entry_id), via)


# Aliases at least this long are matched with one OCR character error on OCR pages: shorter ones
# (中国, 韓国, 量子技術) are one edit away from other words too often.
APPROXIMATE_MIN_LENGTH = 5


def _is_kana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30ff"  # hiragana, katakana, ・ and ー


def _kana_slip(alias: str, window: str) -> bool:
    """Whether ``window`` differs from ``alias`` (by one edit) as OCR misreads kana: the character
    changed, dropped or added is kana (or ー, ・), inside the alias. A kanji changed is another
    word (先進 for 先端) and an alias found whole, or cut at one end, is not a misreading."""
    if alias in window or window in alias:
        return False
    (op,) = Levenshtein.editops(alias, window)
    if op.tag == "replace":
        return _is_kana(alias[op.src_pos]) and _is_kana(window[op.dest_pos])
    if op.tag == "insert":
        return 0 < op.dest_pos < len(window) - 1 and _is_kana(window[op.dest_pos])
    return _is_kana(alias[op.src_pos])


def ocr_sentence_texts(sentences, sources: Mapping[int, str]) -> dict[int, str]:
    """The text of each sentence whose page was read by OCR, by sentence id: what ``tag_tokens``
    matches approximately. ``sentences``: the segment stage's sentences; ``sources``: each page's
    ``text_source`` (``pipeline.tables.page_sources``)."""
    return {s.sentence_id: s.text for s in sentences if sources.get(s.page) == "ocr"}


def _approximate_aliases(lexicon: Lexicon) -> list[tuple[str, str, str]]:
    """(alias, label, id) of the aliases ``approximate_mentions`` looks for."""
    return [(alias, entry.label, entry.id) for entry in lexicon.entries.values() for alias in entry.aliases
            if len(alias) >= APPROXIMATE_MIN_LENGTH]


def approximate_mentions(lexicon: Lexicon, sentence_id: int, text: str, taken: list[tuple[int, int]],
                         aliases: list[tuple[str, str, str]] | None = None) -> list[Mention]:
    """Aliases of ``APPROXIMATE_MIN_LENGTH`` characters or more found in ``text`` with exactly one
    kana misread, dropped or added by OCR inside them (``_kana_slip``) (先端セシング, エンジニアリングバパイオロジー,
    プレイン・コンピュータ・インターフェース), as mentions marked ``approximate``.

    A span overlapping one in ``taken`` (the exact mentions) or a not-mention phrase, a span that is an alias
    itself (where the exact matcher found none, it had a reason), or within one edit of aliases of two
    different entries, or spanning whitespace, gives none; overlapping candidates keep the longest
    alias, then the fewest edits. Candidates are found by the pigeonhole rule: with one edit, one
    half of the alias is in the text unchanged. Distances are rapidfuzz's Levenshtein.
    ``sentence_id``: the sentence; ``text``: its text; ``taken``: (start, end) of its exact mentions.
    """
    aliases = _approximate_aliases(lexicon) if aliases is None else aliases
    whole = {alias for alias, _, _ in aliases}  # a span that is an alias was the exact matcher's to take
    found: dict[tuple[int, int], set[tuple[str, str]]] = {}
    best: dict[tuple[int, int], tuple[int, int, str]] = {}  # span -> (-alias length, distance, alias)
    for alias, label, entry_id in aliases:
        n, half = len(alias), len(alias) // 2
        for piece, offset in ((alias[:half], 0), (alias[half:], half)):
            at = text.find(piece)
            while at != -1:
                for start in range(at - offset - 1, at - offset + 2):
                    for length in (n - 1, n, n + 1):
                        end = start + length
                        if start < 0 or end > len(text):
                            continue
                        window = text[start:end]
                        if window in whole or any(ch.isspace() for ch in window):
                            continue
                        if Levenshtein.distance(alias, window, score_cutoff=1) == 1 and _kana_slip(alias, window):
                            found.setdefault((start, end), set()).add((label, entry_id))
                            rank = (-n, Levenshtein.distance(alias, window), alias)
                            if (start, end) not in best or rank < best[(start, end)]:
                                best[(start, end)] = rank
                at = text.find(piece, at + 1)
    # Phrases that only look like a mention (the report's title アジア・太平洋における国際協力) block too.
    chosen: list[tuple[int, int]] = [(m.start(), m.end()) for phrase in lexicon.not_mention
                                     for m in re.finditer(re.escape(phrase), text)]
    out: list[Mention] = []
    for span in sorted(best, key=lambda sp: (best[sp][0], abs(sp[1] - sp[0] + best[sp][0]), sp[0])):
        start, end = span
        if len(found[span]) > 1 or any(start < b and a < end for a, b in taken + chosen):
            continue
        (label, entry_id), = found[span]
        chosen.append(span)
        out.append(Mention(sentence_id, start, end, text[start:end], label, entry_id, lexicon.top(entry_id),
                           "lexicon", approximate=True))
    return out
