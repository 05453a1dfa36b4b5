"""Findings check: each claim of the executive summary against what the body chapters say.

Input: the ``Claim`` values of a run (``pipeline.claims``: read from the PDF's summary chapter,
the announcement page, an expectations file) and the edition's tables as lists of rows
(``sentences``, ``mentions``, ``country_technology``, ``policy_facts``, ``relations``). Output:
one ``Finding`` per claim, with evidence from both sides (the summary's sentence, the body's row):

* matched: the body chapters state it (a body sentence of the subject names the technology; a
  body fact of the country has the item, or one of the claim's aliases, with the same count, and
  no other field says otherwise; the body has the relation);
* contradicted: the body says otherwise (the technology only in a clause that excludes it; the
  same item with another count or year; a conflicting relation for the pair);
* missing: the body says nothing about it (the detail names what comes closest, if anything).

The body is every sentence outside the summary sections (the whole document when it has none).
Items are compared exactly, after NFKC and without whitespace, or through the claim's aliases
and the rules' document suffixes (国家戦略文書 names 国家戦略) — never as substrings.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.claims import Claim, item_form, negated, norm
from pipeline.rules import ClaimRules

STATUSES = ("matched", "missing", "contradicted")
_TEXT_KINDS = ("body", "heading")
# Who states the claim, by its origin, in the details' words: a hand-written expectation is
# never "the summary's".
ORIGIN_WORDS = {"summary_chapter": "the summary", "announcement_page": "the announcement page",
                "expectations_file": "the expectations file"}
ORIGIN_WORDS_JA = {"summary_chapter": "要旨", "announcement_page": "公表ページの要旨",
                   "expectations_file": "期待値ファイル"}
_RELATIONS_JA = {"partner": "協力", "competitor": "競合", "framework": "枠組み", "other": "その他"}
_FIELDS_JA = {"year": "年", "update every years": "更新の間隔"}


def origin_words(origin: str, japanese: bool = False) -> str:
    """Who states a claim of this origin: ``the expectations file`` / ``期待値ファイル``.

    Parameters:
        origin: ``summary_claims.origin`` (summary_chapter, announcement_page, expectations_file).
        japanese: the Japanese words instead of the English ones.
    """
    words = ORIGIN_WORDS_JA if japanese else ORIGIN_WORDS
    return words.get(origin, origin or ("主張" if japanese else "the claim"))


@dataclass(frozen=True)
class Finding:
    claim_id: str
    kind: str  # technology | fact | relation
    country: str
    claim: str  # the claim in a line
    origin: str  # where the claim came from
    status: str  # matched | missing | contradicted
    detail: str
    detail_ja: str = ""  # the detail in Japanese, for the report
    summary_page: int | None = None  # the summary's side: where the claim is stated
    summary_sentence_id: int | None = None
    summary_evidence: str | None = None
    evidence_table: str | None = None  # the body's side: the row that supports or contradicts it
    evidence_row: int | None = None
    page: int | None = None
    sentence_id: int | None = None
    evidence: str | None = None


def check_claims(claims: Sequence[Claim], tables: dict[str, list[dict]], rules: ClaimRules) -> list[Finding]:
    """One finding per claim, in the claims' order.

    Parameters:
        claims: what the summary (or an expectations file) states.
        tables: the edition's rows by table name: sentences, mentions, country_technology,
            policy_facts, relations (a missing table counts as empty).
        rules: the ``[claims]`` rules (negations, document suffixes, conflicting relations).
    """
    body = _Body(tables, rules)
    out = []
    for c in claims:
        check = {"technology": body.technology, "fact": body.fact, "relation": body.relation}[c.kind]
        status, detail, detail_ja, evidence = check(c)
        if not body.sentences and status == "missing":
            detail = "the document has no body text outside its summary to check it against"
            detail_ja = "この文書には要旨以外の本文がなく、照合できない"
        out.append(Finding(c.claim_id, c.kind, c.country, c.text, c.origin, status, detail, detail_ja,
                           summary_page=c.page, summary_sentence_id=c.sentence_id, summary_evidence=c.evidence,
                           **evidence))
    return out


class _Body:
    """The body chapters' side of the edition's tables, indexed for the checks."""

    def __init__(self, tables: dict[str, list[dict]], rules: ClaimRules):
        self.rules = rules
        self.sentences = {s["sentence_id"]: s for s in tables.get("sentences", []) if not s.get("in_summary")}
        self.ct = {(r["country"], r["technology"]): (i, r) for i, r in enumerate(tables.get("country_technology", []))}
        self.tech_mentions: dict[str, list[dict]] = defaultdict(list)  # top id → body mentions
        self.by_sentence: dict[int, list[dict]] = defaultdict(list)  # sentence id → its technology mentions
        for m in tables.get("mentions", []):
            s = self.sentences.get(m["sentence_id"])
            if m["label"] == "TECHNOLOGY" and s is not None and s["kind"] in _TEXT_KINDS:
                self.tech_mentions[m["top"]].append(m)
                self.by_sentence[m["sentence_id"]].append(m)
        self.facts = [r for r in tables.get("policy_facts", []) if not r.get("in_summary")]
        self.relations = [r for r in tables.get("relations", []) if not r.get("in_summary")]

    def _negated(self, m: dict) -> bool:
        others = tuple(o["char_start"] for o in self.by_sentence.get(m["sentence_id"], ()) if o is not m)
        return negated(self.sentences[m["sentence_id"]]["text"], m["char_end"], self.rules, others)

    def _row(self, table: str, row: int | None, sentence_id: int, page: int | None = None, text: str | None = None) -> dict:
        s = self.sentences.get(sentence_id, {})
        return dict(evidence_table=table, evidence_row=row, page=page if page is not None else s.get("page"),
                    sentence_id=sentence_id, evidence=text if text is not None else s.get("text"))

    # -------------------------------------------------------------------- technology

    def technology(self, c: Claim) -> tuple[str, str, str, dict]:
        mine = [m for m in self.tech_mentions.get(c.technology, []) if m["subject"] == c.country]
        plain = [m for m in mine if not self._negated(m)]
        if plain:
            sids = sorted({m["sentence_id"] for m in plain})
            pages = sorted({self.sentences[s]["page"] for s in sids})
            row = self.ct.get((c.country, c.technology), (None, None))[0]
            return "matched", (f"{len(sids)} body sentence{'s' if len(sids) > 1 else ''} of {c.country} name it, "
                               f"on page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))}"), \
                f"本文の {len(sids)} 文が挙げている（{_pages_ja(pages)}）", \
                self._row("country_technology", row, sids[0])
        if mine:
            m = mine[0]
            return "contradicted", f"the body names it only to exclude it ({m['text']})", \
                f"本文は{m['text']}を除外する文脈でのみ挙げている", \
                self._row("mentions", m.get("mention_id"), m["sentence_id"])
        others = sorted({m["subject"] for m in self.tech_mentions.get(c.technology, []) if m["subject"]})
        if others:
            return "missing", f"the body names {c.technology} for {', '.join(others)}, not for {c.country}", \
                "本文はこの技術を他の国・地域については挙げるが、この国・地域については挙げない", {}
        return "missing", f"the body does not name {c.technology}", "本文はこの技術を挙げていない", {}

    # -------------------------------------------------------------------- facts

    def fact(self, c: Claim) -> tuple[str, str, str, dict]:
        forms = {item_form(n, self.rules) for n in c.names()}
        mine = [r for r in self.facts if r["country"] == c.country]
        named = [r for r in mine if c.item is None or item_form(norm(r["item"]), self.rules) in forms]

        def evidence(r: dict) -> dict:
            return self._row("policy_facts", r.get("fact_id"), r["sentence_id"], r.get("page"), r.get("evidence"))

        same = [r for r in named if (r["item_count"], r.get("part_of")) == (c.count, c.part_of)]
        agree = [r for r in same if not _conflicts(c, r)]
        if agree:
            best = min(agree, key=lambda r: (len(_unstated(c, r)), r.get("page") or 0))
            unstated = _unstated(c, best)
            detail = "as stated" + (f"; the body does not give its {', '.join(unstated)}" if unstated else "")
            detail_ja = "本文も同じ内容を述べている" + (
                f"（本文には{'・'.join(_FIELDS_JA.get(u, u) for u in unstated)}の記載がない）" if unstated else "")
            if norm(best["item"]) != norm(c.item or best["item"]):
                detail += f" (as {best['item']})"
                detail_ja += f"（本文の表記は「{best['item']}」）"
            return "matched", detail, detail_ja, evidence(best)
        if same:
            r = same[0]
            return "contradicted", "; ".join(_conflicts(c, r)), "、".join(_conflicts(c, r, japanese=True)), evidence(r)
        if c.count is not None:
            # The same set counted otherwise: same item (or alias), the same year; a generic noun
            # (技術, 技術分野) names many sets, so for it the years must both be given.
            generic = any(c.item in group for group in self.rules.equivalent_items) if c.item else True
            recounted = [r for r in named if r["item_count"] is not None and r.get("part_of") == c.part_of
                         and _years_agree(c, r) and not (generic and (c.year is None or r.get("year") is None))]
            if recounted:
                r = recounted[0]
                return "contradicted", (f"the body counts {r['item_count']} {r['item']}, "
                                        f"{origin_words(c.origin)} {c.count}"), \
                    f"本文では{r['item']}は {r['item_count']}、{origin_words(c.origin, True)}の主張では {c.count}", evidence(r)
            near = [r for r in mine if (r["item_count"], r.get("part_of")) == (c.count, c.part_of)]
            if near:
                r = near[0]
                return "missing", (f"the body has {c.count} {r['item']}" + (f" ({r['year']})" if r.get("year") else "")
                                   + f": the same count under another noun (if it is the same set, give {r['item']} "
                                   "as an alias in an expectations file)"), \
                    (f"本文には別の名詞で同じ数がある: {c.count} {r['item']}" + (f"（{r['year']}年）" if r.get("year") else "")
                     + f"（同じものなら、期待値ファイルで{r['item']}を別名として与える）"), evidence(r)
        return "missing", "no such fact in the body" + (f" (the body's facts of {c.country}: "
                                                         + ", ".join(sorted({_fact_text(r) for r in mine}))[:200] + ")"
                                                         if mine else ""), \
            "本文にこの事実はない" + (f"（この国・地域の本文の事実: {'、'.join(sorted({_fact_text_ja(r) for r in mine}))[:200]}）"
                                 if mine else ""), {}

    # -------------------------------------------------------------------- relations

    def relation(self, c: Claim) -> tuple[str, str, str, dict]:
        pair = [r for r in self.relations if r["subject"] == c.country and r["other"] == c.other]

        def evidence(r: dict) -> dict:
            return self._row("relations", r.get("relation_id"), r["sentence_id"], r.get("page"), r.get("evidence"))

        same = [r for r in pair if r["relation"] == c.relation]
        if same:
            return "matched", f"cue {same[0]['cue']}", f"本文の手がかり語: {same[0]['cue']}", evidence(same[0])
        conflicting = [r for r in pair if any(r["relation"] in g and c.relation in g for g in self.rules.conflicting_relations)]
        if conflicting:
            r = conflicting[0]
            return "contradicted", f"the body has {r['relation']} (cue {r['cue']})", \
                f"本文では{_RELATIONS_JA.get(r['relation'], r['relation'])}（手がかり語: {r['cue']}）", evidence(r)
        if pair:
            kinds = sorted({r['relation'] for r in pair})
            return "missing", f"the body has {c.country} {' and '.join(kinds)} {c.other}", \
                f"本文にあるのは別の関係: {'、'.join(_RELATIONS_JA.get(k, k) for k in kinds)}", {}
        return "missing", "no such relation in the body", "本文にこの関係はない", {}


def _year_text(year: int | None, qualifier: str | None, japanese: bool = False) -> str:
    if japanese:
        return f"{year}年以降" if qualifier == "since" else f"{year}年"
    return f"since {year}" if qualifier == "since" else str(year)


def _pages_ja(pages: list[int]) -> str:
    return "、".join(f"p. {p}" for p in pages)


def _years_agree(c: Claim, r: dict) -> bool:
    """Whether the body's year can be the claim's: the same year; or, for a claim "since Y",
    any year from Y on (a strategy of 2023 is one of those since 2021). A year one side does not
    give agrees with anything."""
    if c.year is None or r.get("year") is None:
        return True
    if c.year_qualifier == "since" and r.get("year_qualifier") != "since":
        return r["year"] >= c.year
    return r["year"] == c.year


def _conflicts(c: Claim, r: dict, japanese: bool = False) -> list[str]:
    """The fields the claim states that the body fact states otherwise, each saying who states
    which value (the body; the summary, the announcement page or the expectations file)."""
    out = []
    who = origin_words(c.origin, japanese)
    if not _years_agree(c, r):
        body, claimed = _year_text(r["year"], r.get("year_qualifier"), japanese), _year_text(c.year, c.year_qualifier, japanese)
        out.append(f"年: 本文は{body}、{who}の主張は{claimed}" if japanese else f"year {body} in the body, {claimed} in {who}")
    if c.update_every_years is not None and r.get("update_every_years") not in (None, c.update_every_years):
        out.append(f"更新の間隔: 本文は {r['update_every_years']} 年、{who}の主張は {c.update_every_years} 年" if japanese else
                   f"update_every_years {r['update_every_years']!r} in the body, {c.update_every_years!r} in {who}")
    return out


def _unstated(c: Claim, r: dict) -> list[str]:
    """The fields the claim states that the body fact does not give."""
    return [f.replace("_", " ") for f in ("year", "update_every_years") if getattr(c, f) is not None and r.get(f) is None]


def _fact_text_ja(r: dict) -> str:
    amount = "" if r["item_count"] is None else (f"全 {r['part_of']} のうち {r['item_count']} " if r.get("part_of")
                                                 else f"{r['item_count']} ")
    return amount + str(r["item"]) + (f"（{r['year']}年）" if r.get("year") else "")


def _fact_text(r: dict) -> str:
    amount = "" if r["item_count"] is None else (f"{r['item_count']} of {r['part_of']} " if r.get("part_of") else f"{r['item_count']} ")
    return amount + str(r["item"]) + (f" ({r['year']})" if r.get("year") else "")
