"""Names: the 「」 and 『』 spans of a sentence, and what kind of name each one is.

Japanese reports put a policy's proper name in brackets (「科学技術枠組み」を策定). This module finds
the outermost bracketed spans of a sentence and types a name from how it ends (…戦略 → strategy),
else from what follows it (「X」の枠組み, 「X」という概念), else from a count inside (「8大新興技術産業」
is a list). Shared by the facts, policies and relations stages; pure functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.rules import PolicyRules

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
    if name.name.endswith(rules.strategy_endings) and not name.name.endswith(rules.method_endings):
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
