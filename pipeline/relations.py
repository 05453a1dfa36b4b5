"""Relations: mentions → how a passage's subject relates to the other countries, regions and
frameworks it names (partner, competitor, framework, other).

Input: a ``Segmented`` document, its ``Attribution`` (sentence subjects, mentions) and the
``Lexicon``. Output: a list of ``Relation``, one per (subject, other, relation), the first
sentence as evidence. Cue words are data in ``pipeline/data/findings.toml`` (``[relations]``).

Why cue words after the mention: Japanese puts what is said about a noun after it, up to the end
of its clause (中国とロシアを戦略的競争相手と位置づけ、…; インド、ベトナム、シンガポールとの関係強化).
So mentions joined into one list (と, や, 、, を含む) share the text after the list, up to the
clause end or the next mention that starts a new list; in it competitor cues beat review/other
cues (見直し, 関与), which beat partner cues (連携, 協力, 同盟), because 「中国との協力関係の見直し」
is about reviewing, not cooperating. A framework (QUAD, AUKUS) is relation "framework", and so
are countries fused into its name (米日韓経済安保対話 → JP, KR), but a framework named as its
member states (G7各国) is cue-decided like a country. Without a cue after the mention, a partner
cue elsewhere in the sentence decides (via "sentence"); without any cue there is no relation.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from pipeline.attribute import Attribution
from pipeline.lexicon import Lexicon
from pipeline.names import bracket_names
from pipeline.rules import RelationRules, load_rules
from pipeline.segment import Segmented, summary_sentence_ids
from pipeline.tag import Mention


@dataclass(frozen=True)
class Relation:
    subject: str
    other: str
    other_label: str  # COUNTRY | REGION | FRAMEWORK
    relation: str  # partner | competitor | framework | other
    cue: str  # the word that decided, or the framework's name
    via: str  # "cue" | "framework" | "framework member" | "sentence"
    page: int
    sentence_id: int
    evidence: str
    # Stated in the executive summary: the summary's relations and the body's are kept apart, so
    # that one can be checked against the other.
    in_summary: bool = False


_PLACES = ("COUNTRY", "REGION", "FRAMEWORK")


def _first_cue(text: str, words: tuple[str, ...]) -> str | None:
    """The first of ``words`` (in the rules' order, most telling first) that occurs in ``text``."""
    return next((w for w in words if w in text), None)


def _decide(window: str, rules: RelationRules) -> tuple[str, str] | None:
    for relation, words in rules.classes:
        cue = _first_cue(window, words)
        if cue:
            return relation, cue
    return None


def _clause_end(text: str, start: int, rules: RelationRules) -> int:
    ends = [i for i in (text.find(c, start) for c in rules.clause_ends) if i >= 0]
    return min(ends) if ends else len(text)


# A company's name as written after its country: Latin letters, digits, katakana and the marks
# names use (Meta, OpenAI, ファーウェイ, Alibaba Cloud, AT&T), at most 40 characters.
_COMPANY_NAME = r"[A-Za-z0-9\u30a0-\u30ff&.\-' ]{1,40}?"


@lru_cache(maxsize=8)
def _company_after(suffixes: tuple[str, ...]) -> re.Pattern[str]:
    # (not followed by a kanji: デジタル社会 is a society, not a company)
    return re.compile(_COMPANY_NAME + "(?:" + "|".join(map(re.escape, sorted(suffixes, key=len, reverse=True)))
                      + r")(?![\u3400-\u9fff])")


def names_company(text: str, m: Mention, rules: RelationRules) -> bool:
    """Whether mention ``m`` of a country is written straight into a company's name that follows
    it (米国Meta社: ``rules.company_suffixes``): it says where the company is from, not a party.

    Parameters:
        text: the sentence's text.
        m: a place mention in it.
        rules: the ``[relations]`` rules.
    """
    if m.label != "COUNTRY" or not rules.company_suffixes:
        return False
    found = _company_after(rules.company_suffixes).match(text, m.end)
    return found is not None and not found.group().startswith(" ")


def extract_relations(
    seg: Segmented, attribution: Attribution, lexicon: Lexicon, rules: RelationRules | None = None
) -> list[Relation]:
    """Each (subject, other, relation) the body text and headings state, first sentence as evidence.

    Parameters:
        seg: the segmented document; relations stated in its summary are kept apart (``in_summary``).
        attribution: sentence subjects and place mentions.
        lexicon: framework names.
        rules: the ``[relations]`` rules (the packaged ones when None).
    """
    rules = rules or load_rules().relations
    summary = summary_sentence_ids(seg)
    subject_of = {s.sentence_id: s.subject for s in attribution.sentences}
    by_sentence: dict[int, list[Mention]] = defaultdict(list)
    for a in attribution.mentions:
        if a.mention.label in _PLACES:
            by_sentence[a.mention.sentence_id].append(a.mention)

    out: list[Relation] = []
    seen: set[tuple[bool, str, str, str]] = set()

    def add(subject: str, m: Mention, relation: str, cue: str, via: str, s) -> None:
        part = s.sentence_id in summary
        if m.id == subject or (part, subject, m.id, relation) in seen:
            return
        seen.add((part, subject, m.id, relation))
        out.append(Relation(subject, m.id, m.label, relation, cue, via, s.page, s.sentence_id, s.text, part))

    for s in seg.sentences:
        subject = subject_of.get(s.sentence_id)
        mentions = sorted(by_sentence.get(s.sentence_id, ()), key=lambda m: (m.start, -m.end))
        if subject is None or s.kind not in ("body", "heading") or not mentions:
            continue
        text = s.text
        frameworks = [m for m in mentions if m.label == "FRAMEWORK" and m.via != "abbreviation"]
        members: list[tuple[Mention, Mention]] = []  # (country fused into a framework's name, framework)
        spans: list[Mention] = []  # the mentions that stand on their own, not nested in another
        for m in mentions:
            holder = next((f for f in frameworks if f is not m and f.start <= m.start and m.end <= f.end), None)
            if holder is not None and m.via == "abbreviation":
                members.append((m, holder))
            elif not spans or m.start >= spans[-1].end:
                spans.append(m)
        # A country inside a quoted name (「英国国際技術戦略」) is part of the name, not a relation.
        quoted = [(b.start, b.end) for b in bracket_names(text)]

        def in_quote(m: Mention, quoted: list[tuple[int, int]] = quoted) -> bool:
            return m.label != "FRAMEWORK" and any(a < m.start and m.end < b for a, b in quoted)

        # Lists of coordinated mentions: 中国とロシア, EU、豪州、韓国, EUを含む西側諸国.
        groups: list[list[Mention]] = []
        for m in spans:
            if groups and text[groups[-1][-1].end : m.start].strip() in rules.connectors:
                groups[-1].append(m)
            else:
                groups.append([m])

        sentence_cue = _first_cue(text, rules.partner)
        for g, group in enumerate(groups):
            start = group[-1].end
            end = _clause_end(text, start, rules)
            # A later list opens a new window, unless it is the subject itself
            # (EUを含む西側諸国もASEAN加盟国と国際協力を進め: the cue is about the subject).
            for later in groups[g + 1 :]:
                if any(m.id != subject for m in later):
                    end = min(end, later[0].start)
                    break
            decided = _decide(text[start:end], rules)
            for m in group:
                if m.id == subject or in_quote(m) or names_company(text, m, rules):
                    continue
                grouping = m.text.endswith(rules.grouping_suffixes) or text[m.end :].startswith(rules.grouping_suffixes)
                if m.label == "FRAMEWORK" and not grouping:
                    add(subject, m, "framework", lexicon.entries[m.id].name, "framework", s)
                elif decided:
                    add(subject, m, decided[0], decided[1], "cue", s)
                elif sentence_cue:
                    add(subject, m, "partner", sentence_cue, "sentence", s)
        for m, holder in members:
            add(subject, m, "framework", lexicon.entries[holder.id].name, "framework member", s)
    return out
