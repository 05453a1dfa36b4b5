"""Policies: sentences → the named strategies, frameworks and concepts a government has adopted.

Input: a ``Segmented`` document, its ``Attribution`` (each sentence's subject), the ``Lexicon``
(its ``generic`` words) and the ``PolicyRules`` (``[names]`` and ``[policies]`` of findings.toml,
read by ``pipeline.rules``). Output: a list of ``Policy``, one per (subject, name), first sentence
as evidence.

A policy's proper name is what a bracket holds (``pipeline.names``); generic words (「新興技術」)
and the report's own title are not policies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.attribute import Attribution
from pipeline.lexicon import Lexicon
from pipeline.names import BracketName, bracket_names, policy_type
from pipeline.rules import NameRules, PolicyRules, load_rules
from pipeline.segment import Segmented

# Running text and headings name policies; footnotes, captions and references cite them.
_POLICY_KINDS = ("body", "heading")


@dataclass(frozen=True)
class Policy:
    subject: str | None
    name: str
    type: str  # strategy | framework | concept | list
    page: int
    sentence_id: int
    evidence: str


def _is_title_sentence(text: str, names: list[BracketName], rules: NameRules) -> bool:
    if any(w in text for w in rules.report_words):
        return True
    # A line that is nothing but the title (with a 【調査報告書】 style label).
    rest = re.sub(r"【[^】]*】", "", text)
    for n in names:
        rest = rest.replace(text[n.start : n.end], "")
    return not rest.strip(" 　。")


def extract_policies(
    seg: Segmented, attribution: Attribution, lexicon: Lexicon, rules: PolicyRules | None = None
) -> list[Policy]:
    """The bracketed names in body text and headings that are policies, one per (subject, name).

    Parameters:
        seg: the segmented document.
        attribution: each sentence's subject.
        lexicon: its ``generic`` words are never policies.
        rules: the ``[policies]`` rules (the packaged ones when None).
    """
    rules = rules or load_rules().policies
    subject_of = {s.sentence_id: s.subject for s in attribution.sentences}
    generic = set(lexicon.generic)
    names_of = {s.sentence_id: bracket_names(s.text) for s in seg.sentences}

    # The report's own title: a 『』 name in a subject-less sentence about the report. Collected
    # first so that the title is skipped wherever it is quoted again.
    titles: set[str] = set()
    for s in seg.sentences:
        if subject_of.get(s.sentence_id) is None and s.kind in _POLICY_KINDS:
            quoted = [n for n in names_of[s.sentence_id] if n.bracket == "『"]
            if quoted and _is_title_sentence(s.text, names_of[s.sentence_id], rules.names):
                titles |= {n.name for n in quoted}

    out: list[Policy] = []
    seen: set[tuple[str | None, str]] = set()
    for s in seg.sentences:
        if s.kind not in _POLICY_KINDS:
            continue
        subject = subject_of.get(s.sentence_id)
        for n in names_of[s.sentence_id]:
            if n.name in generic or n.name in titles or len(n.name) > rules.max_name_chars:
                continue
            kind = policy_type(n, s.text, rules)
            if kind is None or (subject, n.name) in seen:
                continue
            seen.add((subject, n.name))
            out.append(Policy(subject, n.name, kind, s.page, s.sentence_id, s.text))
    return out
