"""Property-based tests (hypothesis) of the text functions every page goes through.

Sentence splitter, number and year parsers, the line joiner of extract, and the normalizer: they
see whatever a PDF's text layer holds, so they are tried on arbitrary Unicode, not just Japanese.
Deadlines are off (the first call of some functions compiles regexes or loads rules) and the
example counts moderate, so the whole file runs in a few seconds.
"""
from __future__ import annotations

import unicodedata
from datetime import date

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pipeline.acquire import parse_date
from pipeline.extract.lines import _join_lines, _join_two
from pipeline.facts import _Tok, _years, parse_number
from pipeline.rules import load_rules
from pipeline.normalize import normalize_text
from pipeline.segment import split_sentences

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that exercises what the functions look at: Japanese punctuation and brackets, kana,
# kanji, full-width forms, Latin, digits, spaces of every width, line breaks; mixed with anything.
JAPANESE_BITS = st.sampled_from(list(
    "。！？!?「」『』（）()【】〔〕［］[]〈〉《》、，．・\"'”’"
    "あいうアイウ漢字技術量子韓国年度第章一二三十百千万億〇"
    "０１２３ＡＢａｂ⼀⼆abcXYZ0123456789,.;:%-/ "
    "\u3000\u00a0\t\n\r\u200b\ufeff"
    "\u0301\u0308\u3099\u309a\u1100\u1161\u11a8"  # combining marks, Hangul jamo (NFKC composes them)
    "\x00\x01\x7f\ue000\uf8ff"  # control and private-use characters (removed as glyph garbage)
    "ｶﾞｶﾟ㍻ﬁ①"  # compatibility forms NFKC expands or joins
))
TEXT = st.one_of(
    st.text(),  # any Unicode, surrogates excluded (a Python str from a PDF never holds them)
    st.lists(st.one_of(JAPANESE_BITS, st.characters()), max_size=80).map("".join),
)


def _cjk(ch: str) -> bool:
    """A CJK ideograph, kana or full-width form (what must never get a space between)."""
    return unicodedata.east_asian_width(ch) in "WF" and not ch.isspace()


# --------------------------------------------------------------------------- split_sentences


@SETTINGS
@given(TEXT)
def test_sentence_spans_cover_the_text_in_order_without_overlap_or_empty_sentences(text):
    spans = split_sentences(text)
    if not text.strip():
        assert spans == []
        return
    assert spans[0][0] == 0 and spans[-1][1] == len(text)  # nothing lost at either end
    for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
        assert e1 == s2  # contiguous: no gap, no overlap
    for s, e in spans:
        assert s < e and text[s:e].strip()  # no empty (or blank) sentence
    assert "".join(text[s:e] for s, e in spans) == text


@SETTINGS
@given(st.lists(st.text(alphabet="あい技術量子AI12、", min_size=1, max_size=12), min_size=1, max_size=6))
def test_sentences_ending_in_kuten_are_split_after_each_kuten(parts):
    text = "".join(p + "。" for p in parts)
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [p + "。" for p in parts]


@SETTINGS
@given(st.text(alphabet="あい技術。！？", max_size=40), st.text(alphabet="あい技術", max_size=10))
def test_a_kuten_inside_brackets_does_not_end_the_sentence(inner, tail):
    text = f"彼は「{inner}」と述べた{tail}。"
    assert split_sentences(text) == [(0, len(text))]


# --------------------------------------------------------------------------- numbers and years


@SETTINGS
@given(TEXT)
def test_parse_number_never_crashes_on_any_text(text):
    value = parse_number(text)
    assert value is None or (isinstance(value, int) and value >= 0)


def _year_forms(year: int) -> list[str]:
    digits = str(year)
    kanji = "〇一二三四五六七八九"
    return [
        digits,
        digits.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"}),  # full width
        "".join(kanji[int(c)] for c in digits),  # positional kanji: 二〇二四
    ]


def _year_tokens(surface: str, unit: str, after: str | None) -> list[_Tok]:
    toks = [_Tok("韓国", "名詞", "固有名詞", 0, 2), _Tok("は", "助詞", "係助詞", 2, 3)]
    pos = 3
    for s, p in [(surface, "名詞"), (unit, "接尾辞"), *([(after, "助詞")] if after else [])]:
        toks.append(_Tok(s, p, "数詞" if p == "名詞" else "", pos, pos + len(s)))
        pos += len(s)
    return toks


@SETTINGS
@given(
    st.integers(min_value=1900, max_value=2100),
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["年", "年度"]),
    st.sampled_from([None, "以降", "から", "に", "の"]),
)
def test_years_are_read_in_every_written_form_with_their_qualifier(year, form, unit, after):
    rules = load_rules().facts
    surface = _year_forms(year)[form]
    found = _years(_year_tokens(surface, unit, after), rules)
    assert found == [(2, year, "since" if after in rules.since_words else "in")]


@SETTINGS
@given(st.sampled_from(["令和", "平成", "昭和"]), st.integers(min_value=1, max_value=64), st.integers(min_value=0, max_value=2),
       st.sampled_from(["年", "年度"]), st.sampled_from([None, "以降", "に"]))
def test_era_years_are_the_eras_first_year_plus_n_minus_1(era, n, form, unit, after):
    rules = load_rules().facts
    first = rules.era_first_years[era]
    surface = "元" if n == 1 and form == 2 else _year_forms(n)[form]
    toks = [_Tok("韓国", "名詞", "固有名詞", 0, 2), _Tok(era, "名詞", "固有名詞", 2, 4), *_year_tokens(surface, unit, after)[2:]]
    found = _years(toks, rules)
    year = first + n - 1
    assert found == ([(2, year, "since" if after in rules.since_words else "in")] if 1900 <= year <= 2100 else [])


@SETTINGS
@given(st.one_of(st.integers(min_value=0, max_value=1899), st.integers(min_value=2101, max_value=10**6)))
def test_numbers_outside_1900_2100_are_not_years(value):
    assert _years(_year_tokens(str(value), "年", None), load_rules().facts) == []


@SETTINGS
@given(st.lists(st.tuples(TEXT, st.sampled_from(["名詞", "助詞", "接尾辞", "動詞", ""])), max_size=12))
def test_years_never_crash_on_any_tokens(pairs):
    toks = [_Tok(s, p, "", i, i + len(s)) for i, (s, p) in enumerate(pairs)]
    for i, year, qualifier in _years(toks, load_rules().facts):
        assert 1900 <= year <= 2100 and qualifier in ("in", "since") and 0 <= i < len(toks)


@SETTINGS
@given(TEXT)
def test_parse_date_never_crashes_and_gives_a_real_date_or_none(text):
    found = parse_date(text)
    if found is not None:
        assert 1900 <= date.fromisoformat(found).year <= 2100


@SETTINGS
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.integers(min_value=0, max_value=5),
       st.sampled_from(["", "公開日：", "更新 ", "(PDF) "]))
def test_parse_date_reads_each_form_and_era(day, form, prefix):
    y, m, d = day.year, day.month, day.day
    if form == 5:  # Japanese era; 令和 starts 2019-05-01, 平成 1989-01-08
        if day >= date(2019, 5, 1):
            n = y - 2018
            era = f"令和{'元' if n == 1 else n}"
        else:
            era = f"平成{'元' if y == 1989 else y - 1988}"
        text = f"{era}年{m}月{d}日"
    else:
        text = [f"{y}年{m}月{d}日", f"{y}/{m}/{d}", f"{y}-{m:02d}-{d:02d}", f"{y}.{m}.{d}",
                f"{y}年{m}月{d}日".translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})][form]
    assert parse_date(prefix + text + " 発行") == day.isoformat()


# --------------------------------------------------------------------------- line joiner


def _inserted_spaces(joined: str, pieces: list[str]) -> list[int]:
    """Positions in ``joined`` of the spaces inserted between ``pieces``; fails if text was lost,
    changed or duplicated. Unambiguous: a piece never starts with whitespace."""
    pos, inserted = 0, []
    for k, piece in enumerate(pieces):
        if k and joined.startswith(" ", pos) and joined.startswith(piece, pos + 1):
            inserted.append(pos)
            pos += 1
        assert joined.startswith(piece, pos), (joined, pieces, k)
        pos += len(piece)
    assert pos == len(joined), (joined, pieces)
    return inserted


LINE = st.lists(st.one_of(JAPANESE_BITS, st.characters(exclude_categories=["Cs"])), max_size=30).map("".join)


@SETTINGS
@given(st.lists(st.one_of(LINE, st.text(max_size=20)), max_size=8))
def test_joined_lines_keep_every_character_once_and_insert_only_spaces(lines):
    joined = _join_lines(lines)
    pieces = [p for p in (line.strip() for line in lines) if p]
    for pos in _inserted_spaces(joined, pieces):
        before, after = joined[pos - 1], joined[pos + 1]
        assert not (_cjk(before) and _cjk(after)), (before, after, joined)


@SETTINGS
@given(LINE, LINE)
def test_join_two_is_the_two_lines_with_at_most_one_space_between(left, right):
    joined = _join_two(left, right)
    assert joined in (left.rstrip() + right.lstrip(), left.rstrip() + " " + right.lstrip())
    if joined != left.rstrip() + right.lstrip():
        assert not (_cjk(left.rstrip()[-1]) or _cjk(right.lstrip()[0]))


@SETTINGS
@given(st.text(alphabet="技術量子韓国あいうアイウ、。「」０１２", min_size=1, max_size=10),
       st.text(alphabet="技術量子韓国あいうアイウ、。「」０１２", min_size=1, max_size=10))
def test_wrapped_japanese_lines_are_joined_without_a_space(left, right):
    assert _join_lines([left, right]) == left + right


# --------------------------------------------------------------------------- normalize_text


# Small alphabets where removals (garbage, spaces between Japanese characters) put side by side
# what NFKC composes: e + ́ → é, か + ゙ → が, ᄀ + ᅡ → 가.
COMPOSING = st.text(alphabet="eaかカは가\u0301\u3099\u309a\x01\x0b\ue000 \t\u3000\u00a0、。「」1第章\n", max_size=12)


@SETTINGS
@given(st.one_of(TEXT, COMPOSING))
@example("e\x01\u0301")  # garbage between a letter and its accent
@example("か \u3099")  # a space between kana and a combining voicing mark
@example("\u1100\ue000\u1161")  # garbage between Hangul jamo
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@SETTINGS
@given(st.one_of(TEXT, COMPOSING))
def test_normalize_text_is_never_longer_than_nfkc_of_its_input(text):
    assert len(normalize_text(text)) <= len(unicodedata.normalize("NFKC", text))


@SETTINGS
@given(TEXT)
def test_normalize_text_keeps_the_line_structure(text):
    assume("\r" not in text)  # (a lone \r is a line break to str.splitlines, not to the normalizer)
    assert normalize_text(text).count("\n") == unicodedata.normalize("NFKC", text).count("\n")
