"""Tokenize: sentences → a token table, with SudachiPy (mode C by default).

Input: the ``Sentence`` records of a segmented document and a ``TokenizeConfig``. Output: a
pyarrow Table with one row per token (schema ``TOKEN_SCHEMA``), columnar so that a 300-page
report's tokens stay small in memory and in Prefect's result cache.
"""
from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Iterable, Iterator, Sequence

import pyarrow as pa
from sudachipy import Dictionary, SplitMode

from pipeline.segment import Sentence


@dataclass(frozen=True)
class TokenizeConfig:
    mode: str = "C"  # A (short units) | B | C (named entities and compounds kept whole)
    dictionary: str = "core"


TOKEN_SCHEMA = pa.schema(
    [
        ("sentence_id", pa.int32()),
        ("token_index", pa.int32()),  # position within the sentence
        ("surface", pa.string()),
        ("normalized", pa.string()),  # Sudachi normalized form: ＡＩ→AI, 飛行機 spelling variants
        ("dictionary_form", pa.string()),
        ("pos", pa.string()),  # 名詞, 動詞, ...
        ("pos_detail", pa.string()),  # the remaining POS fields joined with '-', '*' dropped
        ("reading", pa.string()),
        ("char_start", pa.int32()),  # character offsets within the sentence text
        ("char_end", pa.int32()),
    ]
)

# SudachiPy refuses input over 49,149 bytes; stay well under it.
MAX_CHUNK_BYTES = 40_000


_per_thread = threading.local()


def load_tokenizer(mode: str = "C", dictionary: str = "core"):
    """One Sudachi tokenizer per (mode, dictionary) per thread: loading the dictionary costs, and
    a Sudachi tokenizer must not be used by two threads at once ("Already borrowed")."""
    cache = _per_thread.__dict__.setdefault("tokenizers", {})
    key = (mode.upper(), dictionary)
    if key not in cache:
        cache[key] = _new_tokenizer(mode, dictionary)
    return cache[key]


def _new_tokenizer(mode: str, dictionary: str):
    try:
        split_mode = {"A": SplitMode.A, "B": SplitMode.B, "C": SplitMode.C}[mode.upper()]
    except KeyError:
        raise ValueError(f"Sudachi split mode must be A, B or C, not {mode!r}") from None
    return Dictionary(dict=dictionary).create(split_mode)


def chunks_under_limit(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> list[tuple[int, str]]:
    """Split ``text`` into (offset, chunk) pieces of at most ``max_bytes`` UTF-8 bytes.

    Sentences are short, so this only cuts pathological inputs (a table dumped as one
    'sentence'); it prefers to cut after 、 or a space so words stay whole.
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        # UTF-8 needs at most 4 bytes a character, so max_bytes // 4 characters always fit.
        end = min(len(text), start + max_bytes // 4)
        if end < len(text):
            cut = max(text.rfind("、", start, end), text.rfind(" ", start, end))
            if cut > start:
                end = cut + 1
        out.append((start, text[start:end]))
        start = end
    return out


# Tokens are gathered as Python objects this many at a time, then moved to Arrow: a long report's
# tokens as Python strings would take several times the memory of the finished table.
_BATCH_TOKENS = 32_768


def tokenize_sentences(sentences: Iterable[Sentence], config: TokenizeConfig = TokenizeConfig()) -> pa.Table:
    tokenizer = load_tokenizer(config.mode, config.dictionary)
    batches: list[pa.RecordBatch] = []
    cols: dict[str, list] = {name: [] for name in TOKEN_SCHEMA.names}
    # Bound once: this loop runs once per token (150,000 for a 300-page report).
    add_sentence_id, add_index = cols["sentence_id"].append, cols["token_index"].append
    add_surface, add_normalized = cols["surface"].append, cols["normalized"].append
    add_dictionary_form, add_pos = cols["dictionary_form"].append, cols["pos"].append
    add_pos_detail, add_reading = cols["pos_detail"].append, cols["reading"].append
    add_start, add_end = cols["char_start"].append, cols["char_end"].append
    pos_fields: dict[int, tuple[str, str]] = {}  # POS id -> (pos, pos_detail)
    for sentence in sentences:
        sentence_id = sentence.sentence_id
        index = 0
        for offset, chunk in chunks_under_limit(sentence.text):
            for m in tokenizer.tokenize(chunk):
                surface = m.surface()
                if surface.isspace():
                    continue
                pos_id = m.part_of_speech_id()
                fields = pos_fields.get(pos_id)
                if fields is None:
                    pos = m.part_of_speech()
                    fields = pos_fields[pos_id] = (pos[0], "-".join(p for p in pos[1:] if p != "*"))
                add_sentence_id(sentence_id)
                add_index(index)
                add_surface(surface)
                add_normalized(m.normalized_form())
                add_dictionary_form(m.dictionary_form())
                add_pos(fields[0])
                add_pos_detail(fields[1])
                add_reading(m.reading_form())
                add_start(offset + m.begin())
                add_end(offset + m.end())
                index += 1
        if len(cols["sentence_id"]) >= _BATCH_TOKENS:
            batches.append(pa.record_batch([cols[name] for name in TOKEN_SCHEMA.names], schema=TOKEN_SCHEMA))
            for column in cols.values():
                column.clear()
    if cols["sentence_id"] or not batches:
        batches.append(pa.record_batch([cols[name] for name in TOKEN_SCHEMA.names], schema=TOKEN_SCHEMA))
    return pa.Table.from_batches(batches, schema=TOKEN_SCHEMA).combine_chunks()


WINDOW_TOKENS = 32_768  # token rows turned into Python objects at a time


def sentence_windows(
    tokens: pa.Table, columns: Sequence[str], window: int = WINDOW_TOKENS
) -> Iterator[dict[str, list]]:
    """The token table in windows of about ``window`` rows, cut only between sentences, each as
    {column: values} (``sentence_id`` always among them): a long report's tokens are never all
    Python objects at once. ``tokenize_sentences`` writes rows in sentence order, which is the
    order they come out in.
    """
    table = tokens.select(list(dict.fromkeys(["sentence_id", *columns])))
    ids = table.column("sentence_id")
    total = table.num_rows
    window_start = 0
    while window_start < total:
        window_end = min(total, window_start + window)
        while window_end < total and ids[window_end].as_py() == ids[window_end - 1].as_py():
            window_end += 1  # a sentence is never cut between two windows
        yield table.slice(window_start, window_end - window_start).to_pydict()
        window_start = window_end


def sentence_rows(
    tokens: pa.Table, columns: Sequence[str], window: int = WINDOW_TOKENS
) -> Iterator[tuple[int, dict[str, list]]]:
    """Each sentence's token rows, in table order: (sentence_id, {column: values}).

    The table is read in windows of about ``window`` rows (``sentence_windows``), cut only
    between sentences, so that a long report's tokens are never all Python objects at once.
    """
    for cols in sentence_windows(tokens, columns, window):
        sentence_ids = cols["sentence_id"]
        n = len(sentence_ids)
        i = 0
        while i < n:
            sid = sentence_ids[i]
            j = i
            while j < n and sentence_ids[j] == sid:
                j += 1
            yield sid, {name: cols[name][i:j] for name in columns}
            i = j
