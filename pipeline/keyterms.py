"""Key terms: each subject's most distinctive words, and how alike the subjects' vocabularies are.

Input: the token table, the sentences' subjects and mentions (``Attribution``), the lexicon and
the key-term settings (``pipeline/data/keyterms.toml``). Output: ``KeyTerms``: top terms per
subject with TF-IDF scores, and for every pair of subjects the cosine similarity of their TF-IDF
vectors with the shared terms that make it. One "document" per subject: all tokens of the
sentences attributed to it, as Sudachi normalized forms of nouns.

What is a term (``term_of``), decided from the tokens and the lexicon, never from a list of names:

- **nouns only**, by Sudachi's POS (``keep_pos``): verbs (防ぐ, 固める), adjectives, adverbs and
  function words are not terms. A noun that Sudachi marks as usable as a verb or an adjective
  (サ変可能: 用意, 投資; 形状詞可能: 必要) counts where it is used as a noun (用意が整う, 投資の拡大)
  and not where the next token makes it a predicate (用意する, 投資した, 必要である): there it is
  a verb or an adjective of the sentence, like 防ぐ (``predicate_after``).
- **no country or region**, the subject's own name included: not a token inside a country or
  region mention of the lexicon's tagging (also one character of a fused bloc: 米豪), not a token
  whose normalized form or surface is one of the lexicon's country or region aliases, and not a
  token Sudachi itself labels a place (固有名詞-地名: 地名-国 インド, 地名-一般 アジア, 太平洋),
  for places the lexicon lacks.
- **no function nouns**: nouns Sudachi marks as usable as adverbs (普通名詞-副詞可能: うち, 今後,
  現在, 一方, それぞれ, 以降) say when, how much or which part of something, not what a text is
  about; nouns that cannot stand alone (非自立可能: ため, こと) neither (``drop_pos_detail``).
  A noun is dropped by its POS, not by a list.
  Frameworks (QUAD, G7) stay terms: which ones a country names is part of its profile.
- **no Latin fragments**: a word in Latin letters that Sudachi's dictionary does not know (it has
  no katakana reading, and its normalized form is lower-cased: CET → cet, AUKUS → aukus) is a
  term as printed (CHIPS, AUKUS), and none when it has at most ``max_unknown_latin`` letters and
  the lexicon does not know it either: a short unknown string of letters is a piece of an
  abbreviation, a unit or an address, whose meaning is not in the token. Words Sudachi knows
  (AI, IoT, EV, DX, NIST: they have a reading) are terms at any length, in Sudachi's form.

The place and fragment rules live in ``pipeline.tokenfilter``, shared with the frequency lists.
Terms are counted by normalized form (自強 and 自彊 are one term) but shown in the spelling the
document uses most for it (自強, not Sudachi's 自彊).
"""
from __future__ import annotations

import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pyarrow as pa

from pipeline.attribute import Attribution
from pipeline.errors import PipelineError
from pipeline.lexicon import Lexicon, load_lexicon
from pipeline.tokenfilter import (
    PLACE_LABELS,
    display_forms,
    is_latin_fragment,
    is_place,
    is_unknown_latin,
    known_words,
    place_names,
    spelling,
)
from pipeline.tokenize import sentence_rows
SHARED_TERMS = 5  # terms listed per pair of subjects


@dataclass(frozen=True)
class KeyTermConfig:
    keep_pos: tuple[str, ...]
    drop_pos_detail: tuple[str, ...]
    stop_words: frozenset[str]
    min_length: int = 2
    top_n: int = 15
    # POS detail of a noun → dictionary forms of the next token that make it a predicate
    predicate_after: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_unknown_latin: int = 3


@dataclass(frozen=True)
class KeyTerm:
    country: str
    rank: int
    term: str
    score: float
    count: int


@dataclass(frozen=True)
class Similarity:
    country: str
    other: str
    similarity: float  # cosine of the two TF-IDF vectors: 0 no term in common … 1 the same profile
    shared_terms: tuple[str, ...]  # the terms adding most to it (largest product of weights first)


@dataclass(frozen=True)
class KeyTerms:
    terms: tuple[KeyTerm, ...]
    similarity: tuple[Similarity, ...]  # every ordered pair of subjects (both orders)


class KeyTermConfigError(PipelineError):
    """A key-term settings file cannot be used."""


def _strings(data: dict, key: str, required: bool = False) -> tuple[str, ...]:
    value = data[key] if required else data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key} must be a list of strings")
    return tuple(value)


def load_keyterm_config(path: Path | None = None) -> KeyTermConfig:
    """The key-term settings in ``path`` (the packaged ``pipeline/data/keyterms.toml`` when None);
    ``KeyTermConfigError`` saying what is wrong when the file is missing, not TOML, or not as read here.

    Parameters:
        path: a TOML file with ``keep_pos`` and optionally ``drop_pos_detail``, ``stop_words``,
            ``min_length``, ``top_n``, ``max_unknown_latin`` and a ``[predicate_after]`` table.
    """
    packaged = Path(str(resources.files("pipeline") / "data" / "keyterms.toml"))
    path = path or packaged
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        predicate_after = data.get("predicate_after", {})
        if not isinstance(predicate_after, dict):
            raise TypeError("predicate_after must be a table of POS detail = [dictionary forms]")
        return KeyTermConfig(
            keep_pos=_strings(data, "keep_pos", required=True),
            drop_pos_detail=_strings(data, "drop_pos_detail"),
            stop_words=frozenset(_strings(data, "stop_words")),
            min_length=int(data.get("min_length", 2)),
            top_n=int(data.get("top_n", 15)),
            predicate_after=tuple((detail, _strings(predicate_after, detail)) for detail in predicate_after),
            max_unknown_latin=int(data.get("max_unknown_latin", 3)),
        )
    except OSError as exc:
        raise KeyTermConfigError(f"cannot read the key-term settings {path}: {exc.strerror or exc}",
                                 f"give a readable TOML file (the packaged one is {packaged})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KeyTermConfigError(f"the key-term settings {path} are not valid TOML: {exc}",
                                 "fix the syntax at the place named") from exc
    except (KeyError, TypeError, ValueError) as exc:
        what = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
        raise KeyTermConfigError(f"the key-term settings {path} cannot be used: {what}",
                                 f"see the packaged {packaged} for every setting and its form") from exc


def term_of(surface: str, norm: str, pos: str, detail: str, reading: str | None, next_pos: str | None,
            next_form: str | None, config: KeyTermConfig, places: frozenset[str], known: frozenset[str]) -> str | None:
    """The term a token counts as, or None when it is none (see the module's rules).

    Parameters:
        surface, norm, pos, detail, reading: the token's surface, Sudachi normalized form, POS, POS
            detail and reading (katakana for a word Sudachi's dictionary has; for one it does not,
            the lower-cased letters).
        next_pos, next_form: the next token's POS and dictionary form in the sentence (None at the end).
        config: the key-term settings.
        places: ``place_names(lexicon)``; known: ``known_words(lexicon)``.
    (A token inside a country or region mention is dropped before this, by its offsets.)
    """
    if pos not in config.keep_pos or any(d in detail for d in config.drop_pos_detail):
        return None
    if next_pos in ("動詞", "助動詞") and any(d in detail and next_form in forms for d, forms in config.predicate_after):
        return None  # 用意する, 投資した (a verb of the sentence); 必要な, 必要である (an adjective)
    if is_place(surface, norm, detail, places):
        return None  # アジア, インド (Sudachi's 地名), 西側諸国 (the lexicon's region)
    term = norm
    if norm.isascii():
        if not norm.isalpha():
            return None  # 5, 2.0, R&D pieces: numbers and symbols
        if is_latin_fragment(surface, norm, reading, config.max_unknown_latin, known):
            return None  # cet: a fragment nobody knows
        if is_unknown_latin(norm, reading):
            term = surface  # CHIPS and AUKUS as printed, not Sudachi's chips and aukus
    if len(term) < config.min_length or term in config.stop_words:
        return None
    return term


def content_terms_by_subject(tokens: pa.Table, attribution: Attribution, config: KeyTermConfig,
                             lexicon: Lexicon | None = None,
                             surfaces: dict[str, Counter[str]] | None = None) -> dict[str, Counter[str]]:
    """Per subject, how often each term occurs in its sentences (counts, not lists, and the token
    table read in windows: memory grows with the vocabulary, not the report).

    Parameters:
        tokens: the token table (``pipeline.tokenize.TOKEN_SCHEMA``).
        attribution: the sentences' subjects and the mentions (their country and region spans
            are no terms).
        config: the key-term settings.
        lexicon: the run's lexicon (the packaged one when None).
        surfaces: when given, filled with each term's surface forms and their counts (to show the
            term in the document's spelling: ``tokenfilter.display_forms``).
    """
    lexicon = lexicon or load_lexicon()
    places, known = place_names(lexicon), known_words(lexicon)
    subject_of = {s.sentence_id: s.subject for s in attribution.sentences if s.subject}
    place_spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a in attribution.mentions:
        if a.mention.label in PLACE_LABELS:
            place_spans[a.mention.sentence_id].append((a.mention.start, a.mention.end))
    docs: dict[str, Counter[str]] = defaultdict(Counter)
    # term_of depends on the token and the next one's POS and form only: each such tuple is
    # judged once (a report repeats most of them many times).
    judged: dict[tuple, str | None] = {}
    columns = ("surface", "normalized", "dictionary_form", "pos", "pos_detail", "reading", "char_start", "char_end")
    for sid, rows in sentence_rows(tokens, columns):
        subject = subject_of.get(sid)
        if subject is None:
            continue
        terms = docs[subject]
        spans = place_spans.get(sid)
        n = len(rows["pos"])
        for i in range(n):
            if spans:
                start, end = rows["char_start"][i], rows["char_end"][i]
                if any(s < end and start < e for s, e in spans):
                    continue  # part of a country or region name (韓国, 欧州連合, 米 of 米豪)
            key = (rows["surface"][i], rows["normalized"][i], rows["pos"][i], rows["pos_detail"][i] or "",
                   rows["reading"][i], rows["pos"][i + 1] if i + 1 < n else None,
                   rows["dictionary_form"][i + 1] if i + 1 < n else None)
            term = judged[key] if key in judged else judged.setdefault(key, term_of(*key, config, places, known))
            if term is not None:
                terms[term] += 1
                if surfaces is not None:
                    surfaces.setdefault(term, Counter())[spelling(rows["surface"][i], rows["dictionary_form"][i],
                                                                  rows["normalized"][i], rows["reading"][i])] += 1
    return docs


def key_terms(tokens: pa.Table, attribution: Attribution, config: KeyTermConfig,
              lexicon: Lexicon | None = None) -> KeyTerms:
    """The top terms of each subject by TF-IDF, and the cosine similarity of every pair of subjects.

    Parameters:
        tokens: the token table.
        attribution: the sentences' subjects and the mentions.
        config: the key-term settings (``load_keyterm_config``).
        lexicon: the run's lexicon, whose country and region names are no terms (the packaged
            one when None).
    """
    surfaces: dict[str, Counter[str]] = {}
    docs = content_terms_by_subject(tokens, attribution, config, lexicon, surfaces)
    shown = display_forms(surfaces)  # counted by normalized form, shown as the document spells it
    subjects = sorted(s for s, terms in docs.items() if terms)
    if not subjects:
        return KeyTerms((), ())
    # Imported here: scikit-learn takes 0.7 s to import, which a process that only publishes
    # (``jstmine update``'s, whose workers run this) need not pay.
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfTransformer

    # The terms are already counted: vectorize the counts (sorted vocabulary, as TfidfVectorizer).
    vectorizer = DictVectorizer(sort=True)
    matrix = TfidfTransformer(sublinear_tf=True, norm="l2").fit_transform(vectorizer.fit_transform([docs[s] for s in subjects]))
    matrix = matrix.tocsr()
    vocabulary = vectorizer.get_feature_names_out()
    out: list[KeyTerm] = []
    for i, subject in enumerate(subjects):
        counts = docs[subject]
        row = matrix.getrow(i).tocoo()
        # Highest score first; ties broken by frequency, then the term, so runs are reproducible.
        ranked = sorted(zip(row.col, row.data, strict=True), key=lambda cd: (-round(cd[1], 9), -counts[vocabulary[cd[0]]], vocabulary[cd[0]]))
        for rank, (col, score) in enumerate(ranked[: config.top_n], start=1):
            term = str(vocabulary[col])
            out.append(KeyTerm(subject, rank, shown.get(term, term), float(score), counts[term]))
    return KeyTerms(tuple(out), _similarities(subjects, matrix, [shown.get(str(t), str(t)) for t in vocabulary]))


def _similarities(subjects: list[str], matrix, vocabulary) -> tuple[Similarity, ...]:
    """Cosine similarity of every ordered pair of rows of the L2-normalized TF-IDF ``matrix``: the
    dot product, that is the sum over shared terms of the two weights' product; the terms adding
    most are the pair's shared terms."""
    pairs = []
    for i, a in enumerate(subjects):
        for j, b in enumerate(subjects):
            if i == j:
                continue
            products = matrix.getrow(i).multiply(matrix.getrow(j)).tocoo()
            ranked = sorted(zip(products.col, products.data, strict=True), key=lambda cd: (-round(cd[1], 12), vocabulary[cd[0]]))
            similarity = min(1.0, float(products.data.sum()))
            pairs.append(Similarity(a, b, similarity, tuple(str(vocabulary[c]) for c, p in ranked[:SHARED_TERMS] if p > 0)))
    return tuple(pairs)
