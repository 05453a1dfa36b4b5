"""The findings check (pipeline/findings.py): every claim kind comes out matched, missing or
contradicted, on tables written here, so each case says exactly what the body states."""
from __future__ import annotations

import dataclasses
import re

import pytest

from pipeline.claims import Claim
from pipeline.findings import check_claims
from pipeline.rules import load_rules

RULES = load_rules().claims


class Edition:
    """Rows of the five tables the check reads, built sentence by sentence."""

    def __init__(self):
        self.sentences: list[dict] = []
        self.mentions: list[dict] = []
        self.facts: list[dict] = []
        self.relations: list[dict] = []

    def sentence(self, text: str, subject: str | None, *, page: int = 5, summary: bool = False, kind: str = "body",
                 techs: tuple[tuple[str, str], ...] = ()) -> int:
        """Add a sentence; ``techs`` are (surface, top id) mentions found in its text."""
        sid = len(self.sentences)
        self.sentences.append({"sentence_id": sid, "page": page, "kind": kind, "text": text, "subject": subject,
                               "in_summary": summary})
        for surface, top in techs:
            start = text.index(surface)
            self.mentions.append({"mention_id": len(self.mentions), "sentence_id": sid, "char_start": start,
                                  "char_end": start + len(surface), "text": surface, "label": "TECHNOLOGY", "top": top,
                                  "subject": subject})
        return sid

    def fact(self, sid: int, country: str, count: int | None, item: str, year: int | None = None, *,
             qualifier: str | None = None, part_of: int | None = None, every: int | None = None) -> None:
        s = self.sentences[sid]
        self.facts.append({"fact_id": len(self.facts), "country": country, "item_count": count, "year": year,
                           "year_qualifier": qualifier or ("in" if year else None), "item": item, "part_of": part_of,
                           "update_every_years": every, "page": s["page"], "sentence_id": sid, "evidence": s["text"],
                           "in_summary": s["in_summary"]})

    def relation(self, sid: int, subject: str, other: str, relation: str, cue: str) -> None:
        s = self.sentences[sid]
        self.relations.append({"relation_id": len(self.relations), "subject": subject, "other": other,
                               "relation": relation, "cue": cue, "page": s["page"], "sentence_id": sid,
                               "evidence": s["text"], "in_summary": s["in_summary"]})

    def tables(self) -> dict[str, list[dict]]:
        ct: dict[tuple[str, str], list[int]] = {}
        for m in self.mentions:
            if m["subject"]:
                ct.setdefault((m["subject"], m["top"]), []).append(m["sentence_id"])
        rows = [{"country": c, "technology": t, "sentence_ids": sorted(set(s))} for (c, t), s in sorted(ct.items())]
        return {"sentences": self.sentences, "mentions": self.mentions, "country_technology": rows,
                "policy_facts": self.facts, "relations": self.relations}

    def check(self, claim: Claim):
        [finding] = check_claims([claim], self.tables(), RULES)
        return finding


def tech(country: str, technology: str) -> Claim:
    return Claim(f"tech-{country}-{technology}", "technology", country, "summary_chapter", technology=technology,
                 page=1, sentence_id=0, evidence="要旨の文")


def fact(country: str, count: int | None, item: str | None, year: int | None = None, **kw) -> Claim:
    kw.setdefault("year_qualifier", "in" if year else None)
    return Claim(f"fact-{country}-{count}-{item}", "fact", country, "summary_chapter", count=count, item=item,
                 year=year, page=1, sentence_id=0, evidence="要旨の文", **kw)


def rel(subject: str, relation: str, other: str) -> Claim:
    return Claim(f"rel-{subject}-{relation}-{other}", "relation", subject, "summary_chapter", other=other,
                 relation=relation)


# ------------------------------------------------------------------------------- technologies


def test_a_technology_named_in_a_body_sentence_of_the_subject_is_matched_with_both_sides():
    e = Edition()
    e.sentence("韓国は量子技術を重視する。", "KR", page=1, summary=True, techs=(("量子技術", "quantum"),))
    e.sentence("韓国政府は量子技術の研究拠点を整える。", "KR", page=7, techs=(("量子技術", "quantum"),))
    f = e.check(tech("KR", "quantum"))
    assert (f.status, f.page, f.sentence_id, f.evidence_table, f.evidence_row) == ("matched", 7, 1, "country_technology", 0)
    assert f.evidence == "韓国政府は量子技術の研究拠点を整える。" and "on page 7" in f.detail
    assert (f.summary_page, f.summary_sentence_id, f.summary_evidence) == (1, 0, "要旨の文")


def test_a_technology_only_the_summary_names_is_missing():
    e = Edition()
    e.sentence("韓国は量子技術を重視する。", "KR", summary=True, techs=(("量子技術", "quantum"),))
    e.sentence("中国は量子技術に投資する。", "CN", techs=(("量子技術", "quantum"),))
    e.sentence("韓国の量子技術の図。", None, kind="caption", techs=(("量子技術", "quantum"),))
    f = e.check(tech("KR", "quantum"))
    assert f.status == "missing" and f.detail == "the body names quantum for CN, not for KR" and f.evidence is None


def test_a_technology_the_body_excludes_is_contradicted():
    e = Edition()
    sid = e.sentence("韓国の戦略技術に量子技術は含まれていないが、AIは含まれる。", "KR",
                     techs=(("量子技術", "quantum"), ("AI", "ai")))
    f = e.check(tech("KR", "quantum"))
    assert f.status == "contradicted" and f.sentence_id == sid and f.evidence_table == "mentions"
    assert e.check(tech("KR", "ai")).status == "matched"  # the contrast ends the negated clause


def test_a_heading_names_a_technology_a_footnote_does_not():
    e = Edition()
    e.sentence("（2） 量子技術", "JP", kind="heading", techs=(("量子技術", "quantum"),))
    e.sentence("日本はAIを重視するとの報道がある。", "JP", kind="footnote", techs=(("AI", "ai"),))
    assert e.check(tech("JP", "quantum")).status == "matched"
    assert e.check(tech("JP", "ai")).status == "missing"


# ------------------------------------------------------------------------------- facts


def test_a_fact_stated_in_the_body_is_matched_and_one_stated_only_in_the_summary_is_missing():
    e = Edition()
    e.fact(e.sentence("韓国は2022年に12の国家戦略技術を指定した。", "KR", page=1, summary=True), "KR", 12, "国家戦略技術", 2022)
    assert e.check(fact("KR", 12, "国家戦略技術", 2022)).status == "missing"
    e.fact(e.sentence("韓国政府は2022年10月に12の国家戦略技術を指定した。", "KR", page=9), "KR", 12, "国家戦略技術", 2022)
    f = e.check(fact("KR", 12, "国家戦略技術", 2022))
    assert (f.status, f.detail, f.evidence_table, f.evidence_row, f.page) == ("matched", "as stated", "policy_facts", 1, 9)


def test_items_match_exactly_or_through_the_claims_aliases_never_as_substrings():
    e = Edition()
    e.fact(e.sentence("EUは2023年に10の技術分野を特定した。", "EU"), "EU", 10, "技術分野", 2023)
    e.fact(e.sentence("英国は2023年に5つの重要技術を定めた。", "GB"), "GB", 5, "重要技術", 2023)
    assert e.check(fact("EU", 10, "技術", 2023)).status == "missing"  # 技術 is not 技術分野 ...
    assert e.check(fact("EU", 10, "技術", 2023, aliases=("技術分野",))).status == "matched"  # ... unless listed
    assert e.check(fact("GB", 5, "技術", 2023)).status == "missing"  # 技術 is not 重要技術 either
    assert e.check(fact("GB", 5, "戦略技術", 2023)).status == "missing"


def test_a_document_suffix_names_the_same_designation():
    e = Edition()
    e.fact(e.sentence("インドは2021年以降、AIと量子の国家戦略文書を策定した。", "IN"), "IN", None, "国家戦略文書", 2021,
           qualifier="since")
    assert e.check(fact("IN", None, "国家戦略", 2021, year_qualifier="since")).status == "matched"
    assert e.check(fact("IN", None, "戦略", 2021, year_qualifier="since")).status == "missing"  # not a substring match


def test_a_count_the_body_gives_otherwise_is_contradicted_with_both_evidence_rows():
    e = Edition()
    sid = e.sentence("韓国政府は2022年に13の国家戦略技術を指定した。", "KR", page=9)
    e.fact(sid, "KR", 13, "国家戦略技術", 2022)
    f = e.check(fact("KR", 12, "国家戦略技術", 2022))
    assert f.status == "contradicted" and f.detail == "the body counts 13 国家戦略技術, the summary 12"
    assert (f.evidence_table, f.evidence_row, f.page, f.sentence_id) == ("policy_facts", 0, 9, sid)
    assert f.summary_evidence == "要旨の文" and f.summary_page == 1


def test_a_year_or_interval_the_body_gives_otherwise_is_contradicted():
    e = Edition()
    e.fact(e.sentence("米国は2021年に20の優先技術分野を示し、3年毎に更新する。", "US"), "US", 20, "優先技術分野", 2021, every=3)
    f = e.check(fact("US", 20, "優先技術分野", 2020))
    assert f.status == "contradicted" and "year 2021 in the body, 2020 in the summary" in f.detail
    f = e.check(fact("US", 20, "優先技術分野", 2021, update_every_years=2))
    assert f.status == "contradicted" and "update_every_years 3 in the body, 2 in the summary" in f.detail
    e.fact(e.sentence("インドは2022年以降、国家戦略を策定した。", "IN"), "IN", None, "国家戦略", 2022, qualifier="since")
    assert e.check(fact("IN", None, "国家戦略", 2021, year_qualifier="since")).status == "contradicted"


def test_another_count_in_another_year_is_another_designation_not_a_contradiction():
    e = Edition()
    e.fact(e.sentence("米国は2024年の改訂で18の優先技術分野を示した。", "US"), "US", 18, "優先技術分野", 2024)
    f = e.check(fact("US", 20, "優先技術分野", 2020))
    assert f.status == "missing" and "18 優先技術分野 (2024)" in f.detail


def test_the_same_count_under_another_noun_is_missing_and_says_so():
    e = Edition()
    e.fact(e.sentence("米国は2020年に20の技術分野を優先分野に指定した。", "US"), "US", 20, "優先分野", 2020)
    f = e.check(fact("US", 20, "優先技術分野", 2020))
    assert f.status == "missing" and "the same count under another noun" in f.detail and f.evidence_row == 0
    assert e.check(fact("US", 20, "優先技術分野", 2020, aliases=("優先分野",))).status == "matched"


def test_a_year_the_body_does_not_give_is_said_and_parts_need_their_whole():
    e = Edition()
    e.fact(e.sentence("韓国は12の国家戦略技術を指定した。", "KR"), "KR", 12, "国家戦略技術")
    f = e.check(fact("KR", 12, "国家戦略技術", 2022))
    assert f.status == "matched" and f.detail == "as stated; the body does not give its year"
    e.fact(e.sentence("EUは2023年に10の技術分野を示し、うち4分野を最も機微とした。", "EU"), "EU", 4, "技術分野", 2023, part_of=10)
    assert e.check(fact("EU", 4, None, part_of=10)).status == "matched"  # a claim of a count only
    assert e.check(fact("EU", 4, None)).status == "missing"  # 4 on its own is not 4 of the 10


# ------------------------------------------------------------------------------- relations


def test_relations_are_matched_contradicted_by_a_conflicting_class_or_missing():
    e = Edition()
    e.relation(e.sentence("米国は中国を戦略的競争相手と位置づける。", "US", summary=True), "US", "CN", "competitor", "競争相手")
    assert e.check(rel("US", "competitor", "CN")).status == "missing"  # only the summary says it
    e.relation(e.sentence("米国は中国と協力する。", "US", page=8), "US", "CN", "partner", "協力")
    f = e.check(rel("US", "competitor", "CN"))
    assert (f.status, f.detail, f.page, f.evidence_table) == ("contradicted", "the body has partner (cue 協力)", 8, "relations")
    e.relation(e.sentence("米国は中国を競争相手とみなす。", "US", page=9), "US", "CN", "competitor", "競争相手")
    f = e.check(rel("US", "competitor", "CN"))
    assert (f.status, f.page) == ("matched", 9)
    e.relation(e.sentence("米国は日本とQUADの枠組みを活用する。", "US"), "US", "JP", "framework", "QUAD")
    f = e.check(rel("US", "partner", "JP"))
    assert f.status == "missing" and f.detail == "the body has US framework JP"  # framework is no conflict


def test_a_document_that_is_only_its_summary_has_nothing_to_check_against():
    e = Edition()
    e.sentence("韓国は量子技術を重視する。", "KR", summary=True, techs=(("量子技術", "quantum"),))
    [f] = check_claims([tech("KR", "quantum")], e.tables(), RULES)
    assert f.status == "missing" and "no body text outside its summary" in f.detail


@pytest.mark.parametrize("kind", ["technology", "fact", "relation"])
def test_every_finding_keeps_its_claims_id_kind_origin_and_text(kind):
    claim = {"technology": tech("KR", "ai"), "fact": fact("KR", 12, "国家戦略技術", 2022),
             "relation": rel("KR", "partner", "US")}[kind]
    [f] = check_claims([claim], Edition().tables(), RULES)
    assert (f.claim_id, f.kind, f.country, f.origin, f.claim) == (claim.claim_id, kind, "KR", "summary_chapter", claim.text)


def test_a_negation_excludes_only_the_technology_of_its_own_clause():
    e = Edition()
    e.sentence("韓国は量子技術やAIを重視し、バイオは対象外とした。", "KR",
               techs=(("量子技術", "quantum"), ("AI", "ai"), ("バイオ", "biotechnology")))
    assert [e.check(tech("KR", t)).status for t in ("quantum", "ai", "biotechnology")] == \
        ["matched", "matched", "contradicted"]
    e = Edition()
    e.sentence("韓国の指定では、量子技術は、対象外とされた。", "KR", techs=(("量子技術", "quantum"),))
    assert e.check(tech("KR", "quantum")).status == "contradicted"  # the comma after は goes on


def test_an_exclusion_the_sentence_goes_on_to_reverse_is_no_exclusion():
    e = Edition()
    e.sentence("韓国では量子技術は当初対象外とされたが、2023年に追加された。", "KR", techs=(("量子技術", "quantum"),))
    assert e.check(tech("KR", "quantum")).status == "matched"


@pytest.mark.parametrize("body_year, body_qualifier, status", [
    (2021, "in", "matched"), (2023, "in", "matched"), (2021, "since", "matched"),
    (2019, "in", "contradicted"), (2022, "since", "contradicted"),
])
def test_a_claim_since_a_year_agrees_with_any_year_from_then_on(body_year, body_qualifier, status):
    e = Edition()
    e.fact(e.sentence("インドは国家戦略を策定した。", "IN"), "IN", None, "国家戦略", body_year, qualifier=body_qualifier)
    assert e.check(fact("IN", None, "国家戦略", 2021, year_qualifier="since")).status == status
    if status == "matched" and body_qualifier == "since":
        assert e.check(fact("IN", None, "国家戦略", 2021)).status == "matched"  # in 2021: it started then


def test_bare_field_nouns_and_generic_counts_without_a_year_never_contradict():
    e = Edition()
    e.fact(e.sentence("EUは2023年に5つの分野で規制を強化した。", "EU"), "EU", 5, "分野", 2023)
    e.fact(e.sentence("EUは7つの技術を挙げた。", "EU"), "EU", 7, "技術")
    assert e.check(fact("EU", 10, "技術", 2023)).status == "missing"  # 分野 is no other name for 技術 ...
    e.fact(e.sentence("韓国は13の国家戦略技術を指定した。", "KR"), "KR", 13, "国家戦略技術")
    assert e.check(fact("KR", 12, "国家戦略技術", 2022)).status == "contradicted"  # ... a specific noun is


# ------------------------------------------------------------------------------- who states it


@pytest.mark.parametrize("origin, english, japanese", [
    ("expectations_file", "the expectations file 13", "期待値ファイルの主張では 13"),
    ("announcement_page", "the announcement page 13", "公表ページの要旨の主張では 13"),
    ("summary_chapter", "the summary 13", "要旨の主張では 13"),
])
def test_a_count_is_attributed_to_the_origin_of_the_claim_not_always_to_the_summary(origin, english, japanese):
    e = Edition()
    e.fact(e.sentence("韓国政府は2022年に12の国家戦略技術を指定した。", "KR", page=9), "KR", 12, "国家戦略技術", 2022)
    f = e.check(dataclasses.replace(fact("KR", 13, "国家戦略技術", 2022), origin=origin))
    assert f.status == "contradicted" and f.detail == f"the body counts 12 国家戦略技術, {english}"
    assert f.detail_ja == f"本文では国家戦略技術は 12、{japanese}"
    if origin == "expectations_file":  # a hand-written claim is never the summary's
        assert "summary" not in f.detail and "要旨" not in f.detail_ja


def test_a_year_and_an_interval_are_attributed_to_the_expectations_file():
    e = Edition()
    e.fact(e.sentence("米国は2021年に20の優先技術分野を示し、3年毎に更新する。", "US"), "US", 20, "優先技術分野", 2021, every=3)
    claim = fact("US", 20, "優先技術分野", 2020, update_every_years=2)
    f = e.check(dataclasses.replace(claim, origin="expectations_file"))
    assert f.detail == ("year 2021 in the body, 2020 in the expectations file; "
                        "update_every_years 3 in the body, 2 in the expectations file")
    assert f.detail_ja == "年: 本文は2021年、期待値ファイルの主張は2020年、更新の間隔: 本文は 3 年、期待値ファイルの主張は 2 年"


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def test_every_finding_has_a_japanese_detail_without_english_words():
    e = Edition()
    e.sentence("韓国は量子技術を重視する。", "KR", page=6, techs=(("量子技術", "quantum"),))
    e.sentence("中国はAIを重視する。", "CN", techs=(("AI", "ai"),))
    e.sentence("韓国はバイオは対象外とした。", "KR", techs=(("バイオ", "bio"),))
    e.fact(e.sentence("韓国政府は12の国家戦略技術を指定した。", "KR"), "KR", 12, "国家戦略技術")
    e.fact(e.sentence("韓国は5の重点分野を定めた。", "KR"), "KR", 5, "重点分野", 2024)
    e.relation(e.sentence("米国は中国と協力する。", "US"), "US", "CN", "partner", "協力")
    e.relation(e.sentence("米国は日本とQUADの枠組みを活用する。", "US"), "US", "JP", "framework", "QUAD")
    claims = [tech("KR", "quantum"), tech("KR", "ai"), tech("KR", "bio"), tech("KR", "space"),
              fact("KR", 12, "国家戦略技術", 2022), fact("KR", 5, "重要技術"), fact("KR", 7, "新分野"),
              rel("US", "competitor", "CN"), rel("US", "partner", "JP"), rel("US", "partner", "IN")]
    findings = check_claims(claims, e.tables(), RULES)
    assert {f.status for f in findings} == {"matched", "missing", "contradicted"}
    by_id = {f.claim_id: f for f in findings}
    assert by_id["tech-KR-quantum"].detail_ja == "本文の 1 文が挙げている（p. 6）"
    assert by_id["fact-KR-12-国家戦略技術"].detail_ja == "本文も同じ内容を述べている（本文には年の記載がない）"
    for f in findings:
        assert f.detail_ja, f
        # what is left of Latin letters is quoted from the document (a cue, an item), never an English word
        assert not [w for w in _LATIN_WORD.findall(f.detail_ja) if w not in ("QUAD",)], (f.claim_id, f.detail_ja)
