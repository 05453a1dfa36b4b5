"""Key terms: each subject's most distinctive words, and how alike the subjects' vocabularies are.

Input: the token table, the sentences' subjects (``Attribution``) and the key-term settings
(``pipeline/data/keyterms.toml``). Output: ``KeyTerms``: top terms per subject with TF-IDF scores,
and a subject × subject cosine similarity. One "document" per subject: all tokens of the
sentences attributed to it, as Sudachi normalized forms of content words.
"""
from __future__ import annotations

import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pyarrow as pa
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.metrics.pairwise import cosine_similarity

from pipeline.attribute import Attribution
from pipeline.tokenize import sentence_rows


@dataclass(frozen=True)
class KeyTermConfig:
    keep_pos: tuple[str, ...]
    drop_pos_detail: tuple[str, ...]
    stop_words: frozenset[str]
    min_length: int = 2
    top_n: int = 15


@dataclass(frozen=True)
class KeyTerm:
    country: str
    rank: int
    term: str
    score: float
    count: int


@dataclass(frozen=True)
class KeyTerms:
    terms: tuple[KeyTerm, ...]
    similarity: tuple[tuple[str, str, float], ...]  # (country, other, cosine), both orders


def load_keyterm_config(path: Path | None = None) -> KeyTermConfig:
    path = path or Path(str(resources.files("pipeline") / "data" / "keyterms.toml"))
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return KeyTermConfig(
        keep_pos=tuple(data["keep_pos"]),
        drop_pos_detail=tuple(data.get("drop_pos_detail", [])),
        stop_words=frozenset(data.get("stop_words", [])),
        min_length=int(data.get("min_length", 2)),
        top_n=int(data.get("top_n", 15)),
    )


def content_terms_by_subject(tokens: pa.Table, attribution: Attribution, config: KeyTermConfig) -> dict[str, Counter[str]]:
    """Per subject, how often each content term occurs in its sentences (counts, not lists, and
    the token table read in windows: memory grows with the vocabulary, not the report)."""
    subject_of = {s.sentence_id: s.subject for s in attribution.sentences if s.subject}
    docs: dict[str, Counter[str]] = defaultdict(Counter)
    for sid, rows in sentence_rows(tokens, ("normalized", "pos", "pos_detail")):
        subject = subject_of.get(sid)
        if subject is None:
            continue
        terms = docs[subject]
        for norm, pos, detail in zip(rows["normalized"], rows["pos"], rows["pos_detail"], strict=True):
            if pos not in config.keep_pos:
                continue
            if any(d in detail for d in config.drop_pos_detail):
                continue
            if len(norm) < config.min_length or norm in config.stop_words or norm.isascii() and not norm.isalpha():
                continue
            terms[norm] += 1
    return docs


def key_terms(tokens: pa.Table, attribution: Attribution, config: KeyTermConfig) -> KeyTerms:
    docs = content_terms_by_subject(tokens, attribution, config)
    subjects = sorted(s for s, terms in docs.items() if terms)
    if not subjects:
        return KeyTerms((), ())
    # The terms are already counted: vectorize the counts (sorted vocabulary, as TfidfVectorizer).
    vectorizer = DictVectorizer(sort=True)
    matrix = TfidfTransformer(sublinear_tf=True, norm="l2").fit_transform(vectorizer.fit_transform([docs[s] for s in subjects]))
    vocabulary = vectorizer.get_feature_names_out()
    out: list[KeyTerm] = []
    for i, subject in enumerate(subjects):
        counts = docs[subject]
        row = matrix.getrow(i).tocoo()
        # Highest score first; ties broken by frequency, then the term, so runs are reproducible.
        ranked = sorted(zip(row.col, row.data, strict=True), key=lambda cd: (-round(cd[1], 9), -counts[vocabulary[cd[0]]], vocabulary[cd[0]]))
        for rank, (col, score) in enumerate(ranked[: config.top_n], start=1):
            term = str(vocabulary[col])
            out.append(KeyTerm(subject, rank, term, float(score), counts[term]))
    sim = cosine_similarity(matrix)
    pairs = tuple(
        (a, b, float(sim[i, j])) for i, a in enumerate(subjects) for j, b in enumerate(subjects) if i != j
    )
    return KeyTerms(tuple(out), pairs)
