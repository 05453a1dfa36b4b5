"""Findings check: the report's stated findings (an expectations file) against what was extracted.

Input: an ``Expectations`` file (YAML, one per report, in ``expectations/``) and the edition's
tables as lists of rows. Output: one ``Finding`` per claim: matched, missing or contradicted, with
the evidence row behind it. Where the document has an executive summary and body chapters, claims
are checked in the summary, and ``body_support`` says whether the body chapters state them too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class Finding:
    expectation_id: str
    kind: str  # technology | no_technology | technology_set | fact | relation
    subject: str | None
    claim: str
    status: str  # matched | missing | contradicted
    detail: str
    evidence_table: str | None = None
    evidence_row: int | None = None
    page: int | None = None
    sentence_id: int | None = None
    evidence: str | None = None
    body_support: str | None = None  # supported | not in body | None (no body chapters)


SUMMARY_HEADING = re.compile(r"要旨|エグゼクティブ・?サマリー|サマリー|要約|概要|summary", re.IGNORECASE)
CONFLICTING = {("partner", "competitor"), ("competitor", "partner")}
FACT_FIELDS = ("count", "year", "year_qualifier", "item", "part_of", "update_every_years")


class ExpectationsError(PipelineError):
    """The expectations file cannot be read."""


def load_expectations(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ExpectationsError(f"cannot read the expectations file {path}: {exc}",
                                "fix the file (YAML, see pipeline/data/expectations/fy24_rr02.yaml) or run without --expectations") from exc
    if not isinstance(data, dict) or "report" not in data:
        raise ExpectationsError(f"{path} is not an expectations file (no 'report' key)",
                                "see pipeline/data/expectations/fy24_rr02.yaml for the format")
    return data


def summary_sentence_ids(sections: list[dict], sentences: list[dict]) -> set[int] | None:
    """Sentences under a summary heading (要旨, エグゼクティブ・サマリー, …), or None if there is none."""
    summary_sections = {s["section_id"] for s in sections if s["path"] and SUMMARY_HEADING.search(s["path"].split(" > ")[0])}
    if not summary_sections:
        return None
    return {s["sentence_id"] for s in sentences if s["section_id"] in summary_sections}


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def check_findings(expectations: dict, tables: dict[str, list[dict]]) -> list[Finding]:
    sentences = tables.get("sentences", [])
    text_of = {s["sentence_id"]: s["text"] for s in sentences}
    summary = summary_sentence_ids(tables.get("sections", []), sentences)
    in_scope = (lambda sids: bool(set(sids) & summary)) if summary is not None else (lambda sids: True)
    in_body = (lambda sids: bool(set(sids) - summary)) if summary is not None else None

    def support(sids_in_body: bool | None) -> str | None:
        if in_body is None:
            return None
        return "supported" if sids_in_body else "not in body"

    findings: list[Finding] = []
    findings += _check_technologies(expectations, tables.get("country_technology", []), text_of, in_scope, in_body, support)
    findings += _check_facts(expectations, tables.get("policy_facts", []), in_scope, in_body, support)
    findings += _check_relations(expectations, tables.get("relations", []), in_scope, in_body, support)
    return findings


def _evidence(table: str, row_id: int, page: int, sid: int, text: str) -> dict:
    return dict(evidence_table=table, evidence_row=row_id, page=page, sentence_id=sid, evidence=text)


def _check_technologies(expectations, rows, text_of, in_scope, in_body, support) -> list[Finding]:
    spec = dict(expectations.get("technologies") or {})
    exact = bool(spec.pop("exact", False))
    found: dict[tuple[str, str], dict] = {}
    for i, r in enumerate(rows):
        sids = [sid for sid in r["sentence_ids"] if in_scope([sid])]
        if sids:
            found[(r["country"], r["technology"])] = {**r, "_row": i, "_scope_sids": sids}
    out: list[Finding] = []
    for subject, techs in spec.items():
        for tech in techs:
            key = (subject, tech)
            claim = f"{subject} names {tech}"
            if key in found:
                r = found[key]
                sid = r["_scope_sids"][0]
                body = in_body(r["sentence_ids"]) if in_body else None
                out.append(Finding(f"tech-{subject}-{tech}", "technology", subject, claim, "matched",
                                   f"{r['mentions']} mentions on pages {', '.join(map(str, r['pages']))}",
                                   **_evidence("country_technology", r["_row"], r["evidence_page"], sid, text_of.get(sid, r["evidence"])),
                                   body_support=support(body)))
            else:
                out.append(Finding(f"tech-{subject}-{tech}", "technology", subject, claim, "missing",
                                   "no technology mention of this id in this subject's passages"))
        if exact:
            extra = sorted(t for (c, t) in found if c == subject and t not in techs)
            status = "contradicted" if extra else "matched"
            detail = f"also names {', '.join(extra)}" if extra else "names nothing else"
            ev = {}
            if extra:
                r = found[(subject, extra[0])]
                ev = _evidence("country_technology", r["_row"], r["evidence_page"], r["_scope_sids"][0], text_of.get(r["_scope_sids"][0], r["evidence"]))
            out.append(Finding(f"techset-{subject}", "technology_set", subject,
                               f"{subject} names only {', '.join(techs)}", status, detail, **ev))
    for subject in expectations.get("no_technologies") or []:
        named = sorted(t for (c, t) in found if c == subject)
        ev = {}
        if named:
            r = found[(subject, named[0])]
            ev = _evidence("country_technology", r["_row"], r["evidence_page"], r["_scope_sids"][0], text_of.get(r["_scope_sids"][0], r["evidence"]))
        out.append(Finding(f"notech-{subject}", "no_technology", subject, f"{subject} names no specific technology",
                           "contradicted" if named else "matched",
                           f"names {', '.join(named)}" if named else "no technology rows", **ev))
    return out


def _fact_claim(e: dict) -> str:
    parts = [e["country"] + ":"]
    if e.get("count") is not None:
        parts.append(str(e["count"]) + (f" of {e['part_of']}" if e.get("part_of") else ""))
    if e.get("item"):
        parts.append(e["item"])
    if e.get("year"):
        parts.append(f"({'since ' if e.get('year_qualifier') == 'since' else ''}{e['year']})")
    if e.get("update_every_years"):
        parts.append(f"updated every {e['update_every_years']} years")
    return " ".join(parts)


def _fact_differences(e: dict, r: dict) -> list[str]:
    diffs = []
    for f in FACT_FIELDS:
        if e.get(f) is None:
            continue
        want, got = e[f], r.get(f)
        if f == "item":
            if _norm(want) not in _norm(got):
                diffs.append(f"item {got!r}, expected {want!r}")
        elif want != got:
            diffs.append(f"{f} {got!r}, expected {want!r}")
    return diffs


def _check_facts(expectations, rows, in_scope, in_body, support) -> list[Finding]:
    out = []
    for e in expectations.get("facts") or []:
        claim = _fact_claim(e)
        candidates = [(i, r) for i, r in enumerate(rows)
                      if r["country"] == e["country"] and in_scope([r["sentence_id"], *(r.get("also_in") or [])])]
        if e.get("count") is not None:
            same = [(i, r) for i, r in candidates if r["count"] == e["count"] and r.get("part_of") == e.get("part_of")]
        else:
            same = [(i, r) for i, r in candidates if r["count"] is None and _norm(e.get("item")) in _norm(r["item"])]
        exact = [(i, r) for i, r in same if not _fact_differences(e, r)]
        if exact:
            i, r = exact[0]
            status, detail = "matched", "as stated"
        elif same:
            i, r = same[0]
            status, detail = "contradicted", "; ".join(_fact_differences(e, r))
        else:
            # The same item counted differently is a contradiction; nothing at all is missing.
            other = [(i, r) for i, r in candidates if e.get("item") and _norm(r["item"]) == _norm(e["item"])]
            if other:
                i, r = other[0]
                status, detail = "contradicted", f"count {r['count']!r}, expected {e.get('count')!r}"
            else:
                out.append(Finding(e["id"], "fact", e["country"], claim, "missing", "no such fact extracted"))
                continue
        sids = [r["sentence_id"], *(r.get("also_in") or [])]
        body = in_body(sids) if in_body else None
        out.append(Finding(e["id"], "fact", e["country"], claim, status, detail,
                           **_evidence("policy_facts", r.get("fact_id", i), r["page"], r["sentence_id"], r["evidence"]),
                           body_support=support(body) if status == "matched" else None))
    return out


def _check_relations(expectations, rows, in_scope, in_body, support) -> list[Finding]:
    out = []
    for e in expectations.get("relations") or []:
        eid = f"rel-{e['subject']}-{e['relation']}-{e['other']}"
        claim = f"{e['subject']} {e['relation']} {e['other']}"
        pair = [(i, r) for i, r in enumerate(rows) if r["subject"] == e["subject"] and r["other"] == e["other"]]
        scoped = [(i, r) for i, r in pair if in_scope([r["sentence_id"]])]
        same = [(i, r) for i, r in scoped if r["relation"] == e["relation"]]
        conflicting = [(i, r) for i, r in scoped if (r["relation"], e["relation"]) in CONFLICTING]
        if same:
            i, r = same[0]
            body = in_body([x["sentence_id"] for _, x in pair if x["relation"] == e["relation"]]) if in_body else None
            out.append(Finding(eid, "relation", e["subject"], claim, "matched", f"cue {r['cue']}",
                               **_evidence("relations", r.get("relation_id", i), r["page"], r["sentence_id"], r["evidence"]),
                               body_support=support(body)))
        elif conflicting:
            i, r = conflicting[0]
            out.append(Finding(eid, "relation", e["subject"], claim, "contradicted",
                               f"the document has {r['relation']} (cue {r['cue']})",
                               **_evidence("relations", r.get("relation_id", i), r["page"], r["sentence_id"], r["evidence"])))
        else:
            out.append(Finding(eid, "relation", e["subject"], claim, "missing", "no such relation extracted"))
    return out
