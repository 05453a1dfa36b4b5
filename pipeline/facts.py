"""Facts: Sudachi tokens → designations of sets of technologies, industries or areas.

Input: a ``Segmented`` document, its token table (``pipeline.tokenize``, one row per token with
surface/pos/pos_detail and character offsets), its ``Attribution`` and the ``Lexicon``.
Output: a list of ``PolicyFact`` ("KR designated 12 national strategic technologies in 2022"),
one per (country, count, item), the first sentence as evidence and restatements in ``also_in``.

Why token patterns and not regexes over the text: Sudachi already tells a count (名詞-数詞) from
the counter after it, so 2022年 (a date), 2年毎 (an interval), 50% or 100億円 never look like
"N の noun", and kanji numerals (十二, 二十) arrive as one number token. The patterns:
  N つ の NP        5つの重要技術
  N 大 NP           8大新興技術産業 (also inside 「」)
  N の NP           12の技術, 20の優先技術分野
  N 分野 の NP      12分野の国家戦略技術
  N の NP のうち M つ   → count M, part_of N (also N 分野のうち M 分野)
  N の NP を NP2 として → item NP2 (the set is designated as NP2)
  N の 、… NP を    → a clause between the count and its noun
  NP N 分野 を      重要技術12分野を (a count after its noun, with its counter)
  NP として N 分野を   国家戦略技術として12分野を選定; N 分野を NP として
and a count-less one: a sentence with a year saying strategies were 策定 for listed technologies.
Across the sentences of a paragraph (same subject): このうち M 分野 is a part of the latest count
before it, and このリストは N 年ごとに改訂 gives the latest fact its update interval.
Words are data in ``pipeline/data/findings.toml`` (``[facts]``). One pass over the tokens.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterator, NamedTuple

import pyarrow as pa

from pipeline.attribute import Attribution
from pipeline.lexicon import Lexicon
from pipeline.names import BracketName, bracket_names, has_count_inside, policy_type
from pipeline.rules import FactRules, load_rules
from pipeline.segment import Segmented, summary_sentence_ids
from pipeline.tokenize import sentence_rows


@dataclass(frozen=True)
class PolicyFact:
    country: str  # the subject (from attribution)
    count: int | None
    year: int | None
    year_qualifier: str | None  # "in" | "since"
    item: str  # the noun counted: 国家戦略技術, 優先技術分野, 重要技術, 技術分野, ...
    part_of: int | None  # "4 of the 10": 4 with part_of=10
    policy: str | None  # named document/initiative the designation belongs to
    administration: str | None  # トランプ政権, スナク政権, ...
    update_every_years: int | None  # "2年毎に技術リストを更新" → 2
    technologies: tuple[str, ...]  # broad technology ids mentioned in the sentence
    page: int
    sentence_id: int
    also_in: tuple[int, ...]  # other sentence ids restating the same (country, count, item)
    evidence: str  # the sentence text
    # Stated in the executive summary (pipeline.segment.summary_sentence_ids). A summary's fact and
    # the body's statement of it are two facts, so that the one can be checked against the other.
    in_summary: bool = False


# ------------------------------------------------------------------------------ numbers

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10**4, "億": 10**8, "兆": 10**12}
_ASCII_NUMBER = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")
_PIECES = re.compile(r"[0-9]+|.", re.S)


def parse_number(text: str) -> int | None:
    """An integer written in digits or kanji numerals, else None.

    "12", "１２" (full width), "2,000", "十二", "二十", "百二十", "二〇二四", "1億2000万" → int;
    "1.2", "12%", "第1", "", "十十", "数十", "-3" → None (not a plain non-negative integer).
    """
    if not isinstance(text, str):
        return None
    return _parse_number(text)


@lru_cache(maxsize=1 << 16)
def _parse_number(text: str) -> int | None:
    """``parse_number`` of a string, remembered: a report asks about the same few surfaces tens
    of thousands of times."""
    s = unicodedata.normalize("NFKC", text).strip()
    if not s:
        return None
    if _ASCII_NUMBER.fullmatch(s):
        return int(s.replace(",", ""))
    if len(s) > 1 and all(c in _KANJI_DIGITS for c in s):  # positional: 二〇二四
        return int("".join(str(_KANJI_DIGITS[c]) for c in s))
    return _parse_kanji(s)


def _parse_kanji(s: str) -> int | None:
    """Kanji numerals with units (十二, 百二十, 二千二十四, 一億二千万), also 1億2000万."""
    total = 0
    section = 0  # value below the current big unit
    current: int | None = None  # a digit waiting for its unit
    last_small = 10**4
    last_big = 10**16
    for piece in _PIECES.findall(s):
        if piece.isascii() and piece.isdigit():
            if current is not None or section:
                return None
            current = int(piece)
        elif piece in _KANJI_DIGITS:
            if current is not None:
                return None
            current = _KANJI_DIGITS[piece]
        elif piece in _SMALL_UNITS:
            unit = _SMALL_UNITS[piece]
            if unit >= last_small or (current is not None and current >= 10):
                return None
            section += (1 if current is None else current) * unit
            current = None
            last_small = unit
        elif piece in _BIG_UNITS:
            unit = _BIG_UNITS[piece]
            part = section + (current or 0)
            if unit >= last_big or part == 0:
                return None
            total += part * unit
            section, current, last_small, last_big = 0, None, 10**4, unit
        else:
            return None
    return total + section + (current or 0)


# ------------------------------------------------------------------------------ tokens


class _Tok(NamedTuple):
    surface: str
    pos: str
    detail: str
    start: int
    end: int


def _tokens_by_sentence(tokens: pa.Table) -> Iterator[tuple[int, list[_Tok]]]:
    """(sentence_id, its tokens) in table order, read in windows (``sentence_rows``)."""
    columns = ("token_index", "surface", "pos", "pos_detail", "char_start", "char_end")
    for sid, r in sentence_rows(tokens, columns):
        rows = zip(r["token_index"], r["surface"], r["pos"], r["pos_detail"], r["char_start"], r["char_end"], strict=True)
        ordered = sorted(rows, key=lambda row: row[0])
        yield sid, [_Tok(surface, pos or "", detail or "", start, end) for _, surface, pos, detail, start, end in ordered]


def _number(toks: list[_Tok], i: int) -> int | None:
    t = toks[i] if 0 <= i < len(toks) else None
    if t is None or t.pos != "名詞":
        return None
    return parse_number(t.surface)  # Sudachi sometimes tags 三十五 as a name: trust the surface


def _surface(toks: list[_Tok], i: int) -> str:
    return toks[i].surface if 0 <= i < len(toks) else ""


_NOUNISH = ("名詞", "接頭辞", "接尾辞", "形状詞")


def _noun_phrase(toks: list[_Tok], k: int, rules: FactRules) -> tuple[int, list[str]]:
    """The noun phrase starting at token ``k``: (index after it, its pieces)."""
    parts: list[str] = []
    m = k
    while m < len(toks) and len(parts) < 10:
        t = toks[m]
        if t.surface in rules.np_stop and parts:
            break
        if t.pos in ("名詞", "接頭辞", "接尾辞") and not t.detail.startswith("数詞"):
            parts.append(t.surface)
            m += 1
        elif t.pos == "形状詞":
            parts.append(t.surface)
            m += 1
            # 重要な技術 reads as 重要技術
            if _surface(toks, m) == "な" and m + 1 < len(toks) and toks[m + 1].pos == "名詞":
                m += 1
        elif t.surface in ("・", "-") and parts and m + 1 < len(toks) and toks[m + 1].pos in ("名詞", "接頭辞", "形状詞"):
            parts.append(t.surface)
            m += 1
        else:
            break
    return m, parts


def _parts_before(toks: list[_Tok], i: int, rules: FactRules) -> list[str]:
    """The pieces of the noun phrase ending just before token ``i`` (重要技術|12分野 → 重要, 技術).
    It stops at a counter of an earlier number (2022年|重要技術: 年 is not part of it)."""
    parts: list[str] = []
    b = i - 1
    while b >= 0 and len(parts) < 10:
        t = toks[b]
        if t.surface in rules.np_stop or (b > 0 and toks[b - 1].detail.startswith("数詞")):
            break
        if t.pos in _NOUNISH and not t.detail.startswith("数詞"):
            parts.append(t.surface)
        elif t.surface in ("・", "-") and parts and b > 0 and toks[b - 1].pos in _NOUNISH:
            parts.append(t.surface)
        else:
            break
        b -= 1
    parts.reverse()
    while parts and parts[0] in ("・", "-"):
        parts.pop(0)
    return parts


def _resolve(parts: list[str], rules: FactRules) -> str | None:
    """The item a noun phrase names: the longest known item it starts with, else its longest
    prefix ending in a head noun (技術, 分野, 産業 …), else None (3つの柱 is no designation)."""
    known = head = None
    text = ""
    for p in parts:
        text += p
        if text in rules.items:
            known = text
        if text.endswith(rules.heads):
            head = text
    return known or head


def _years(toks: list[_Tok], rules: FactRules) -> list[tuple[int, int, str]]:
    """(token index, year, "in"|"since") for each 2022年 / 2021年以降 / 2021年度から, and era
    years: 令和4年 (2022), 令和元年度から (2019, since). A year the text sets as a deadline
    (2030年までの…, 2030年までに) is a target, not the year of a designation: left out."""
    out = []
    for i in range(len(toks) - 1):
        if toks[i + 1].surface not in rules.year_units or _surface(toks, i + 2) in rules.until_words:
            continue
        era = rules.era_first_years.get(_surface(toks, i - 1))
        if era is not None:
            n = 1 if toks[i].surface == rules.era_first_year_word else _number(toks, i)
            year = era + n - 1 if n is not None and 1 <= n <= 99 else None
        else:
            year = _number(toks, i)
        if year is not None and 1900 <= year <= 2100:
            out.append((i, year, "since" if _surface(toks, i + 2) in rules.since_words else "in"))
    return out


def _interval(toks: list[_Tok], rules: FactRules) -> int | None:
    for i in range(len(toks) - 2):
        if toks[i + 1].surface in rules.year_units and toks[i + 2].surface in rules.interval_words:
            value = _number(toks, i)
            if value is not None and value < 1900:
                return value
    return None


def _is_clean_number(toks: list[_Tok], i: int, rules: FactRules) -> bool:
    """Not a chapter, page, figure or product number: 第1, p.12, 図3, Horizon 2020."""
    prev = _surface(toks, i - 1)
    if prev in rules.not_after:
        return False
    return not (prev.isascii() and prev[-1:].isalpha())


class _Count(NamedTuple):
    count: int
    part_of: int | None
    item: str
    token: int  # the count token's index (where the year is looked for)


def _counts(toks: list[_Tok], text: str, rules: FactRules, consumed: set[int] | None = None) -> list[_Count]:
    out: list[_Count] = []
    # count tokens already used: the "M" of "N の X のうち M つ", or of "このうち M 分野"
    consumed = set(consumed or ())
    for i in range(len(toks)):
        if i in consumed:
            continue
        n = _number(toks, i)
        if n is None or not _is_clean_number(toks, i, rules):
            continue
        nxt, after = _surface(toks, i + 1), _surface(toks, i + 2)
        if nxt == "つ" and after == "の":
            j = i + 3
        elif nxt == "大" and toks[i + 1].pos == "接頭辞":
            j = i + 2
        elif nxt in rules.classifiers and after == "の":
            j = i + 3
        elif nxt == "の":
            j = i + 2
        else:
            item = _count_after_noun(toks, i, text, rules)
            if item is not None and n >= rules.min_count:
                out.append(_Count(n, None, item, i))
            continue
        if _surface(toks, j) in ("「", "『"):
            j += 1
        end, parts = _noun_phrase(toks, j, rules)
        item = _resolve(parts, rules) if parts else None
        if item is None and nxt in rules.classifiers and j == i + 3:
            # 重要技術12分野のうち4分野 / 10分野のうち4分野: the noun is before the count
            before = _parts_before(toks, i, rules)
            whole = _resolve(before + [nxt], rules) if before else None
            if whole is None and _part_of(toks, i + 2, rules) is not None:
                whole = _resolve([nxt], rules)
            if whole is not None:
                item, end = whole, i + 2
        if item is None or _surface(toks, j) == "、":
            found = _separated_noun(toks, j, text, rules)
            if found is None:
                continue
            end, item = found
        # N の X のうち M つ: the part, not the whole
        part = _part_of(toks, end, rules)
        if part is not None:
            m_index, m = part
            consumed.add(m_index)
            if m >= 1:  # "one of the ten" is still a designation of a part
                out.append(_Count(m, n, item, i))
            continue
        if n < rules.min_count:
            continue
        out.append(_Count(n, None, _relabel(toks, end, text, rules) or item, i))
    return out


def _count_after_noun(toks: list[_Tok], i: int, text: str, rules: FactRules) -> str | None:
    """A count with a counter and no の after it: 重要技術12分野を (the noun before the count),
    国家戦略技術として12分野を (the noun before として), 12分野を国家戦略技術として (after it).
    A bare number after a noun (技術分野20を) is left alone: 分野2 may as well be a label."""
    if _surface(toks, i + 1) not in rules.count_counters:
        return None
    counter, k = toks[i + 1].surface, i + 2
    if k >= len(toks) or toks[k].surface not in (*rules.closing_particles, "、", "」", "』", "。"):
        return None
    if text.startswith(rules.quantity_after, toks[k].start):
        return None  # 12分野を超える: a quantity
    relabelled = _relabel(toks, k, text, rules)
    if relabelled is not None:
        return relabelled
    before = toks[i].start  # end of the text before the count, without a 、
    while before > 0 and text[before - 1] == "、":
        before -= 1
    marker = next((w for w in rules.relabel_before if text.endswith(w, 0, before)), None)
    if marker is not None:
        q = before - len(marker)
        b = i - 1
        while b >= 0 and toks[b].end > q:  # back over として and 、: a few tokens
            b -= 1
        if b < 0 or toks[b].end != q:
            return None
        parts = _parts_before(toks, b + 1, rules)
        return _resolve(parts, rules) if parts else None
    parts = _parts_before(toks, i, rules)
    if not parts:
        return None
    if counter != "つ":
        parts = parts + [counter]  # 技術12分野 → 技術分野, 重要技術12分野 → 重要技術
    return _resolve(parts, rules)


def _lead_end(text: str, rules: FactRules) -> int:
    """Offset after the connectives a sentence opens with (なお、また、)."""
    pos = 0
    while True:
        lead = next((w for w in rules.sentence_leads if text.startswith(w, pos)), None)
        if lead is None:
            return pos
        pos += len(lead)


def _list_interval(toks: list[_Tok], text: str, rules: FactRules) -> int | None:
    """このリストはおよそ2年ごとに改訂されている → 2 (for the fact the sentence refers back to)."""
    if not text.startswith(rules.list_anaphors, _lead_end(text, rules)):
        return None
    if not any(v in text for v in rules.revision_verbs):
        return None
    return _interval(toks, rules)


def _anaphoric_part(toks: list[_Tok], text: str, rules: FactRules) -> tuple[int, int] | None:
    """このうち4分野は / …を示し、うち4つを → (index of the count token, 4)."""
    lead = _lead_end(text, rules)
    for k, t in enumerate(toks):
        if not (t.start == lead or (k > 0 and toks[k - 1].surface == "、")):
            continue
        marker = next((w for w in rules.part_anaphors if text.startswith(w, t.start)), None)
        if marker is None:
            continue
        after = t.start + len(marker)
        m = k
        while m < len(toks) and toks[m].start < after:  # the marker's one or two tokens
            m += 1
        if m >= len(toks) or toks[m].start != after:
            continue  # the marker ends inside a word
        while _surface(toks, m) == "、":
            m += 1
        value = _number(toks, m)
        if value is not None and _surface(toks, m + 1) in rules.count_counters:
            return m, value
        listed = _after_listed_parts(toks, m, rules)  # このうち、A、B、Cの3分野は
        if listed is not None:
            return listed
    return None


_LIST_GLUE = ("、", "・", "と", "や", "及び", "および")


def _after_listed_parts(toks: list[_Tok], m: int, rules: FactRules) -> tuple[int, int] | None:
    """The count after a list of the parts' names: A、B、Cの3分野 → (index of 3, 3). Only nouns
    and list punctuation may stand between the marker and の."""
    k = m
    limit = min(len(toks), m + rules.max_gap_tokens)
    while k < limit and (toks[k].pos in _NOUNISH or toks[k].surface in _LIST_GLUE) and not toks[k].detail.startswith("数詞"):
        k += 1
    if k == m or _surface(toks, k) != "の":
        return None
    value = _number(toks, k + 1)
    if value is not None and _surface(toks, k + 2) in rules.count_counters:
        return k + 1, value
    return None


def _separated_noun(toks: list[_Tok], j: int, text: str, rules: FactRules) -> tuple[int, str] | None:
    """A count cut from its noun by a clause: 12の、…基盤となる技術を → 技術."""
    m = j
    limit = min(len(toks), j + rules.max_gap_tokens)
    while m < limit:
        t = toks[m]
        if t.surface in ("。", "!", "?") or _number(toks, m) is not None:
            return None  # the sentence ends, or another count begins
        if t.pos in _NOUNISH and t.surface not in rules.np_stop:
            end, parts = _noun_phrase(toks, m, rules)
            if end > m:
                item = _resolve(parts, rules)
                closes = _surface(toks, end) in rules.closing_particles or (
                    end < len(toks) and text.startswith(rules.relabel_after, toks[end].start)
                )
                if item is not None and item == "".join(parts) and closes:
                    return end, item
                m = end
                continue
        m += 1
    return None


def _part_of(toks: list[_Tok], end: int, rules: FactRules) -> tuple[int, int] | None:
    """After "N の X", a "のうち M つ" → (index of M, M)."""
    if _surface(toks, end) != "の" or _surface(toks, end + 1) not in rules.part_of_markers:
        return None
    for k in range(end + 2, min(len(toks), end + 5)):
        value = _number(toks, k)
        if value is not None:
            return k, value
        if _surface(toks, k) not in ("で", "、", "は", "から"):
            return None
    return None


def _relabel(toks: list[_Tok], end: int, text: str, rules: FactRules) -> str | None:
    """12の技術を国家戦略技術として → 国家戦略技術 (what the set is designated as)."""
    if _surface(toks, end) != "を":
        return None
    k = end + 1
    if _surface(toks, k) in ("「", "『"):
        k += 1
    stop, parts = _noun_phrase(toks, k, rules)
    if not parts:
        return None
    after = toks[stop - 1].end
    if after < len(text) and text[after] in "」』":
        after += 1
    if not text.startswith(rules.relabel_after, after):
        return None
    return _resolve(parts, rules)


def _countless(toks: list[_Tok], text: str, tech_spans: list[tuple[int, int]], rules: FactRules) -> str | None:
    """AI、量子技術…に関する国家戦略文書が策定 → 国家戦略文書 (the documents designated);
    AI、量子技術…の各分野で国家戦略が順に策定 → 国家戦略 (two or more technologies listed)."""
    if not tech_spans:
        return None
    noun = _countless_after_relator(toks, text, tech_spans, rules)
    if noun is not None or len(tech_spans) < 2:
        return noun
    return _countless_anywhere(toks, text, tech_spans, rules)


def _countless_anywhere(toks: list[_Tok], text: str, tech_spans: list[tuple[int, int]], rules: FactRules) -> str | None:
    """A strategy noun with a designation verb after it, outside the technologies: preferably
    after the last of them, else the first one in the sentence."""
    last_verb = max(text.rfind(v) for v in rules.designation_verbs)
    if last_verb < 0:
        return None
    spans = sorted(tech_spans)
    last = max(e for _, e in spans)
    first: str | None = None
    p = m = 0
    while m < len(toks):
        end, parts = _noun_phrase(toks, m, rules)
        if end == m:
            m += 1
            continue
        noun = "".join(parts)
        a, b = toks[m].start, toks[end - 1].end
        while p < len(spans) and spans[p][1] <= a:
            p += 1
        overlaps = p < len(spans) and spans[p][0] < b
        if noun.endswith(rules.strategy_heads) and not overlaps and b <= last_verb:
            if a >= last:
                return noun
            first = first or noun
        m = end
    return first


def _countless_after_relator(
    toks: list[_Tok], text: str, tech_spans: list[tuple[int, int]], rules: FactRules
) -> str | None:
    last = max(e for _, e in tech_spans)
    rest = text[last:]
    relator = next((r for r in rules.strategy_relators if rest.startswith(r)), None)
    if relator is None:
        return None
    begin = last + len(relator)
    k = next((i for i, t in enumerate(toks) if t.start == begin), None)
    if k is None:
        return None
    stop, parts = _noun_phrase(toks, k, rules)
    noun = "".join(parts)
    if not noun.endswith(rules.strategy_heads):
        return None
    tail = text[toks[stop - 1].end :]
    return noun if any(v in tail for v in rules.designation_verbs) else None


def _policy_name(names: list[BracketName], text: str, count_at: int | None, generic: set[str], rules: FactRules) -> str | None:
    """A bracketed name in the sentence that is not the item itself and names a strategy,
    framework or plan (「人類運命共同体」 sharing the sentence is a concept, not the policy)."""
    candidates = [
        n for n in names
        if n.name not in generic
        and not (count_at is not None and n.start <= count_at < n.end)
        and not has_count_inside(n.name)  # 「8大新興技術産業」 is an item, not a policy
    ]
    for n in candidates:
        if n.name.endswith(rules.policy.names.preferred_endings):
            return n.name
    for n in candidates:  # a strategy or framework, never a concept or a list
        if policy_type(n, text, rules.policy) in ("strategy", "framework"):
            return n.name
    return None


# ------------------------------------------------------------------------------ extraction


def extract_facts(
    seg: Segmented, tokens: pa.Table, attribution: Attribution, lexicon: Lexicon, rules: FactRules | None = None
) -> list[PolicyFact]:
    """Every designation the body text states, one per (part, country, count, item).

    Parameters:
        seg: the segmented document; its summary sections (if any) make the facts stated there
            facts of their own (``in_summary``), never merged with the body's.
        tokens: the token table (``pipeline.tokenize``), in sentence order.
        attribution: each sentence's subject and the technology mentions.
        lexicon: its ``generic`` words are never a fact's policy name.
        rules: the ``[facts]`` rules (the packaged ones when None).
    """
    rules = rules or load_rules().facts
    summary = summary_sentence_ids(seg)
    administration = re.compile(rf"[ァ-ヺー・]+{re.escape(rules.administration_suffix)}")
    generic = set(lexicon.generic)
    subject_of = {s.sentence_id: s.subject for s in attribution.sentences}
    # Both the sentences and the token table are in sentence order: walk them side by side.
    token_rows = _tokens_by_sentence(tokens)
    pending = next(token_rows, None)
    techs: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for a in attribution.mentions:
        if a.mention.label == "TECHNOLOGY":
            techs[a.mention.sentence_id].append((a.mention.start, a.mention.end, a.mention.top))

    facts: list[PolicyFact] = []
    index: dict[tuple, int] = {}  # dedup key → position in facts
    prev_years: tuple[int, list[tuple[int, int, str]]] | None = None  # (paragraph, years) of the previous sentence
    paragraph: int | None = None
    # Within the current paragraph, per subject: the latest fact, and the latest with a count
    # (positions in facts), which later sentences refer back to (このリストは…, このうち4分野).
    latest: dict[str, int] = {}
    latest_count: dict[str, int] = {}
    for s in seg.sentences:
        if s.paragraph_id != paragraph:
            paragraph = s.paragraph_id
            latest, latest_count = {}, {}
        while pending is not None and pending[0] < s.sentence_id:
            pending = next(token_rows, None)
        toks = pending[1] if pending is not None and pending[0] == s.sentence_id else []
        years = _years(toks, rules)
        inherited = prev_years[1] if prev_years and prev_years[0] == s.paragraph_id else []
        prev_years = (s.paragraph_id, years)
        country = subject_of.get(s.sentence_id)
        if country is None or s.kind != "body" or not toks:
            continue
        tech_here = sorted(techs.get(s.sentence_id, []))
        technologies = tuple(dict.fromkeys(top for _, _, top in tech_here))
        names = bracket_names(s.text)
        admin = administration.search(s.text)
        every = _interval(toks, rules)

        part = _anaphoric_part(toks, s.text, rules)
        counts = _counts(toks, s.text, rules, {part[0]} if part else None)
        # (count, part_of, item, count token, the fact a part refers back to)
        found: list[tuple[int | None, int | None, str, int | None, PolicyFact | None]] = [
            (c.count, c.part_of, c.item, c.token, None) for c in counts
        ]
        if part is not None:
            m_index, m = part
            earlier = [c for c in counts if c.token < m_index]
            if earlier:  # …10の技術分野を示し、うち4分野を…
                whole: tuple[int, str] | None = (earlier[-1].count, earlier[-1].item)
                ref = None
            elif country in latest_count:  # 前文の10の技術分野 …。このうち4分野は…
                ref = facts[latest_count[country]]
                whole = (ref.count, ref.item) if ref.count is not None else None
            else:
                whole = ref = None
            if whole is not None and 1 <= m < whole[0]:
                found.append((m, whole[0], whole[1], m_index, ref))
        if not found and years:
            noun = _countless(toks, s.text, [(a, b) for a, b, _ in tech_here], rules)
            if noun:
                found.append((None, None, noun, None, None))

        touched = False
        for count, part_of, item, token, ref in found:
            if ref is not None:  # a part takes the year and policy of the set it is part of
                own = _year_for([y for y in years if y[0] < token], token)
                year = own or ((ref.year, ref.year_qualifier) if ref.year is not None else None)
                year = year or (inherited[-1][1:] if inherited else None)
            else:
                own = _year_for(years, token)
                year = own or (inherited[-1][1:] if inherited else None)
            stated_in_summary = s.sentence_id in summary
            key = ((stated_in_summary, country, count, item) if count is not None
                   else (stated_in_summary, country, None, item, technologies))
            if key in index and own is not None and facts[index[key]].year not in (None, own[0]):
                # The same count and noun with a year of its own, another one: not a restatement
                # but another statement (which the findings check may find in disagreement).
                key = (*key, own[0])
            if key in index:
                at = index[key]
                f = facts[at]
                if s.sentence_id != f.sentence_id and s.sentence_id not in f.also_in:
                    f = _with_also(f, s.sentence_id)
                if every is not None and f.update_every_years is None:
                    f = replace(f, update_every_years=every)
                facts[at] = f
            else:
                at = index[key] = len(facts)
                policy = _policy_name(names, s.text, toks[token].start if token is not None else None, generic, rules)
                facts.append(
                    PolicyFact(
                        country=country,
                        count=count,
                        year=year[0] if year else None,
                        year_qualifier=year[1] if year else None,
                        item=item,
                        part_of=part_of,
                        policy=policy if policy is not None or ref is None else ref.policy,
                        administration=admin.group(0) if admin else (ref.administration if ref else None),
                        update_every_years=every,
                        technologies=technologies,
                        page=s.page,
                        sentence_id=s.sentence_id,
                        also_in=(),
                        evidence=s.text,
                        in_summary=stated_in_summary,
                    )
                )
            touched = True
            latest[country] = at
            if count is not None:
                latest_count[country] = at

        if not touched and country in latest:
            # このリストはおよそ2年ごとに改訂されている: the interval of the list just described
            interval = _list_interval(toks, s.text, rules)
            f = facts[latest[country]]
            if interval is not None and f.update_every_years is None:
                facts[latest[country]] = replace(f, update_every_years=interval)
    return facts


def _year_for(years: list[tuple[int, int, str]], token: int | None) -> tuple[int, str] | None:
    """The year nearest before the count in its sentence, else the first one after it."""
    if not years:
        return None
    before = [y for y in years if token is None or y[0] < token]
    chosen = before[-1] if before else years[0]
    return chosen[1], chosen[2]


def _with_also(f: PolicyFact, sentence_id: int) -> PolicyFact:
    return replace(f, also_in=tuple(sorted(f.also_in + (sentence_id,))))
