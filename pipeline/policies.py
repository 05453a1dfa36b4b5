"""Policies: sentences → the named strategies, frameworks and concepts a government has adopted.

Input: a ``Segmented`` document, its ``Attribution`` (each sentence's subject) and the ``Lexicon``
(its ``generic`` words). Output: a list of ``Policy``, one per (subject, name), first sentence as
evidence. Rules and cue words are data in ``pipeline/data/findings.toml`` (``[names]``,
``[policies]``); this module also holds what the findings modules share: reading that file and
finding 「」/『』 names in a sentence.

Japanese reports put a policy's proper name in brackets (「科学技術枠組み」を策定), so a name is
what a bracket holds; its type comes from how the name ends (…戦略 → strategy), else from what the
text says right after it (「X」の枠組み, 「X」という概念), else from a count inside (「8大新興技術産業」
is a list). Generic words (「新興技術」) and the report's own title are not policies.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pipeline.attribute import Attribution
from pipeline.lexicon import Lexicon
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


# ------------------------------------------------------------------ the rules file, shared


def default_findings_path() -> Path:
    return Path(str(resources.files("pipeline") / "data" / "findings.toml"))


@lru_cache(maxsize=8)
def _read(path: str) -> dict:
    # Cached per path so a 300-page run reads the file once per process, not per call.
    return tomllib.loads(Path(path).read_text(encoding="utf-8"))


def read_findings(path: Path | None = None) -> dict:
    """The parsed ``findings.toml`` (the packaged one unless ``path`` is given). Do not mutate."""
    return _read(str(path or default_findings_path()))


@dataclass(frozen=True)
class NameRules:
    preferred_endings: tuple[str, ...]  # what a fact's policy name prefers to end with
    report_words: tuple[str, ...]  # words that make a 『』 name the report's own title


@dataclass(frozen=True)
class PolicyRules:
    names: NameRules
    strategy_endings: tuple[str, ...]
    framework_endings: tuple[str, ...]
    framework_after: tuple[str, ...]
    concept_after: tuple[str, ...]
    max_name_chars: int


def load_name_rules(path: Path | None = None) -> NameRules:
    data = read_findings(path)["names"]
    return NameRules(tuple(data["preferred_endings"]), tuple(data["report_words"]))


def load_policy_rules(path: Path | None = None) -> PolicyRules:
    data = read_findings(path)["policies"]
    return PolicyRules(
        names=load_name_rules(path),
        strategy_endings=tuple(data["strategy_endings"]),
        framework_endings=tuple(data["framework_endings"]),
        framework_after=tuple(data["framework_after"]),
        concept_after=tuple(data["concept_after"]),
        max_name_chars=int(data["max_name_chars"]),
    )


# ------------------------------------------------------------------ bracketed names, shared

_PAIRS = {"「": "」", "『": "』"}


@dataclass(frozen=True)
class BracketName:
    bracket: str  # "「" | "『"
    name: str  # what the brackets hold, stripped
    start: int  # offset of the opening bracket in the sentence
    end: int  # offset just after the closing bracket


def bracket_names(text: str) -> list[BracketName]:
    """The outermost 「」 and 『』 spans of ``text``, in order; unclosed brackets are ignored."""
    out: list[BracketName] = []
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch in _PAIRS:
            stack.append((ch, i))
        elif stack and ch == _PAIRS[stack[-1][0]]:
            opener, start = stack.pop()
            if not stack:
                name = text[start + 1 : i].strip()
                if name:
                    out.append(BracketName(opener, name, start, i + 1))
    return out


# A count inside a name makes it a list: 8大新興技術産業, 5つの重要技術, 12分野.
_COUNT_INSIDE = re.compile(r"(?:[0-9]+|[〇一二三四五六七八九十百千]+)(?:大|つの|の|項目|分野|領域)")
# の between two non-hiragana characters is a particle: 「中国の力」 is a phrase, not a name
# (while ものづくり keeps its の inside a word).
_PHRASE_NO = re.compile(r"[^\u3040-\u309f]の[^\u3040-\u309f]")


def has_count_inside(name: str) -> bool:
    return bool(_COUNT_INSIDE.search(name))


def policy_type(name: BracketName, text: str, rules: PolicyRules) -> str | None:
    """strategy | framework | concept | list, or None when the quote is a phrase, not a name."""
    if name.name.endswith(rules.strategy_endings):
        return "strategy"
    if name.name.endswith(rules.framework_endings):
        return "framework"
    after = text[name.end :]
    if after.startswith(rules.framework_after):
        return "framework"
    if after.startswith(rules.concept_after):
        return "concept"
    if has_count_inside(name.name):
        return "list"
    if _PHRASE_NO.search(name.name) or name.name.endswith(("。", "!", "?")):
        return None  # quoted wording (「中国の力」を加え), not something a government named
    return "concept"


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
    rules = rules or load_policy_rules()
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
