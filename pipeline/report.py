"""Report: a published edition's tables → one self-contained HTML page.

Input: ``processed/<edition>/*.parquet`` (any of the tables may be absent or empty). Output:
``processed/<edition>/report.html``, in Japanese: a banner when claims of the executive summary
are contradicted or missing in the body, a country × technology heatmap whose cells link to their
evidence, one card per country (technologies, every evidence sentence of each cell with its id,
page and a link to that page of the PDF when the PDF is at hand, policy facts, relations,
policies, key terms), the findings check with each claim's scope (the summary states it, the body
is checked), a keyword-in-context search over every sentence, and the document's metadata. The page
works offline: CSS and one small script are inline (a Content-Security-Policy forbids loading
anything), the sentences for the search are inline JSON, and the font list names the Japanese
fonts found on Linux, macOS and Windows. The template is ``pipeline/templates/report.html.j2``
(Jinja2, autoescaped); the evidence and search data come from ``pipeline/report_evidence.py``.

The helpers that find editions and read their tables are shared with the ``jstmine`` inspection
commands (``show``, ``kwic``, ``report``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging

import math
import os
import re
import stat
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.diff import TABLES as DIFF_TABLES
from pipeline.diff import diff_tables, missing_tables, read_edition, with_missing_tables
from pipeline.errors import PipelineError
from pipeline.publish import EditionNameError, check_edition_name, edition_link_problem, edition_run_dir, published_editions
from pipeline.report_analyses import analyses_context
from pipeline.report_evidence import (
    KIND_NAMES,
    cell_evidence,
    evidence_anchor,
    kwic_json,
    locate_pdf,
    page_href,
    technology_spans,
)
from pipeline.published import read_table, table_path, table_rows  # noqa: F401  (re-exported)
from pipeline.tables import SPECS, page_problems_of_cell

REPORT_NAME = "report.html"
log = logging.getLogger(__name__)
TEMPLATE_NAME = "report.html.j2"
NO_EDITIONS_TODO = "run `make demo` or `jstmine run --source …` first"
CARD_TABLES = ("country_technology", "policy_facts", "relations", "policies", "keyterms", "country_similarity")
STATUS_ORDER = {"contradicted": 0, "missing": 1, "matched": 2}


class EditionError(PipelineError):
    """There is no published edition, or not the one asked for, or it lacks a table."""


# ------------------------------------------------------------------ editions and their tables


def require_editions(out_dir: Path) -> list[str]:
    """The editions published in ``out_dir``; ``EditionError`` when there are none (or
    ``out_dir`` is a file, not a directory), saying what to do.

    Parameters:
        out_dir: the output directory (``processed``).
    """
    if os.path.lexists(out_dir) and not Path(out_dir).is_dir():
        raise EditionError(f"{out_dir} is not a directory (--out names the directory jstmine run published to)",
                           "give the output directory with --out DIR (default: processed)")
    editions = published_editions(out_dir)
    if not editions:
        raise EditionError(f"no editions in {out_dir}/ yet", NO_EDITIONS_TODO)
    return editions


def _processed_at(out_dir: Path, edition: str) -> datetime | None:
    path = Path(out_dir) / edition / "documents.parquet"
    try:
        values = pq.read_table(path, columns=["processed_at"]).column("processed_at").to_pylist()
    except (OSError, KeyError, pa.ArrowException):
        return None
    stamps = []
    for v in values:
        try:
            stamp = datetime.fromisoformat(str(v))
        except ValueError:
            continue
        stamps.append(stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc))
    return max(stamps, default=None)


def latest_edition(out_dir: Path) -> str:
    """The edition processed most recently (``documents.processed_at``), or the only one."""
    editions = require_editions(out_dir)
    if len(editions) == 1:
        return editions[0]
    oldest = datetime.min.replace(tzinfo=timezone.utc)

    def when(edition: str) -> tuple[datetime, float]:
        link = Path(out_dir) / edition
        try:
            mtime = link.lstat().st_mtime  # the symlink is switched when an edition is published
        except OSError:
            mtime = 0.0
        return (_processed_at(out_dir, edition) or oldest, mtime)

    return max(editions, key=when)


def resolve_edition(out_dir: Path, edition: str | None) -> str:
    """``edition`` if it is published, the latest one if not given; else a clear error."""
    editions = require_editions(out_dir)
    if edition is None:
        return latest_edition(out_dir)
    if edition not in editions:
        try:
            check_edition_name(edition)
        except EditionNameError as exc:
            # ../x, /etc/passwd, jstmine.duckdb, .runs: never looked up as a path, never advised to be removed
            raise EditionError(f"{exc.what}, so it is no edition of {out_dir}/ (editions: {', '.join(editions)})",
                               "pass one of the editions with --edition") from None
        problem = edition_link_problem(out_dir, edition)
        if problem and (Path(out_dir) / edition).is_symlink():
            raise EditionError(
                f"{problem} (editions: {', '.join(editions)})",
                f"remove it (rm {Path(out_dir) / edition}: only the link goes, not what it points to) and pass "
                "one of the editions with --edition, or process it: jstmine run --source … --edition NAME",
            )
        if problem:  # a file or directory of someone else's: not jstmine's to remove
            raise EditionError(
                f"{problem} (editions: {', '.join(editions)})",
                "pass one of the editions with --edition; to process an edition of this name, first move "
                f"{Path(out_dir) / edition} out of the output directory (it is not jstmine's)",
            )
        raise EditionError(
            f"no edition {edition!r} in {out_dir}/ (editions: {', '.join(editions)})",
            f"pass one of them with --edition, or process it first: jstmine run --source … --edition {edition}",
        )
    return edition


def edition_tables(out_dir: Path, edition: str) -> list[str]:
    """The tables the edition has files for, in SPECS order (unknown ones last)."""
    found = {p.stem for p in (Path(out_dir) / edition).glob("*.parquet")}
    return [n for n in SPECS if n in found] + sorted(found - set(SPECS))


_rows = table_rows
SPAN_COLUMNS = ("sentence_id", "label", "top", "char_start", "char_end")  # what technology_spans reads


def technology_mentions(out_dir: Path, edition: str) -> list[dict]:
    """The edition's technology mentions, as rows of the columns ``technology_spans`` reads (None
    where a file predates one): only those are turned into Python objects, not every mention's
    every column (29,000 mentions on a 1,000-page report).

    Args:
        out_dir: the output directory holding the editions (``processed``).
        edition: the edition's name.
    """
    table = read_table(out_dir, edition, "mentions", list(SPAN_COLUMNS))
    if table is None or "label" not in table.column_names:
        return []
    table = table.filter(pc.equal(table["label"], "TECHNOLOGY"))
    return [{c: r.get(c) for c in SPAN_COLUMNS} for r in table.to_pylist()]


# ------------------------------------------------------------------ display names and colours


@lru_cache(maxsize=1)
def _lexicon_names() -> dict[str, str]:
    try:
        from pipeline.lexicon import load_lexicon

        return {e.id: e.name for e in load_lexicon().entries.values()}
    except Exception:  # a report without display names is still a report
        return {}


def display_name(entry_id: str | None) -> str:
    if not entry_id:
        return "—"
    return _lexicon_names().get(entry_id, entry_id)


LOW, HIGH = (0xEE, 0xF4, 0xFB), (0x08, 0x45, 0x94)


def heat_style(count: int, maximum: int) -> str:
    """Background and text colour for a heatmap cell, on a log scale from the palest blue."""
    t = math.log1p(count) / math.log1p(maximum) if maximum > 0 else 0.0
    t = 0.15 + 0.85 * t if count > 0 else 0.0
    rgb = tuple(round(a + (b - a) * t) for a, b in zip(LOW, HIGH, strict=True))
    text = "#ffffff" if t > 0.55 else "#102a43"
    return "background-color:#{:02x}{:02x}{:02x};color:{}".format(*rgb, text)


# ------------------------------------------------------------------ the report's content


# Japanese labels of the tables' English values (the ids stay visible in small type).
STATUS_NAMES = {"matched": "一致", "missing": "本文に記載なし", "contradicted": "矛盾"}
CLAIM_KIND_NAMES = {"technology": "技術", "fact": "事実", "relation": "関係"}
RELATION_NAMES = {"partner": "協力", "competitor": "競合", "framework": "枠組み", "other": "その他"}
POLICY_TYPE_NAMES = {"strategy": "戦略", "framework": "枠組み", "concept": "構想", "list": "リスト"}
ORIGIN_NAMES = {"summary_chapter": "PDF のエグゼクティブ・サマリー", "announcement_page": "公表ページの要旨",
                "expectations_file": "期待値ファイル（手書き）"}
# What a claim of each origin is called in the report: the summary's (the PDF's or the
# announcement page's), or a hand-written expectation, which is never the summary's.
SUMMARY_ORIGINS = ("summary_chapter", "announcement_page")
CLAIM_SCOPE_NAMES = {"summary_chapter": "要旨の主張", "announcement_page": "要旨の主張",
                     "expectations_file": "期待値ファイルの主張"}
FIELD_NAMES = {"item_count": "数", "year": "年", "part_of": "全体の数", "policy": "政策"}


def year_text(year: int | None, qualifier: str | None) -> str:
    """A fact's year in Japanese: 2022年, 2021年以降 (qualifier "since"); "" without a year.

    Args:
        year: policy_facts.year.
        qualifier: policy_facts.year_qualifier ("in", "since" or None).
    """
    if year is None:
        return ""
    return f"{year}年以降" if qualifier == "since" else f"{year}年"


def fact_label(row: dict) -> str:
    """A fact as one Japanese label: 12 国家戦略技術（2022年）.

    Args:
        row: a policy_facts row (or a diff's fact row).
    """
    count = f"{row['item_count']} " if row.get("item_count") is not None else ""
    year = year_text(row.get("year"), row.get("year_qualifier"))
    return f"{count}{row.get('item') or ''}" + (f"（{year}）" if year else "")


def claim_label(claim: dict, tech_names: dict[str, str]) -> str:
    """A claim in Japanese, from its fields in ``summary_claims``: 要旨はインドについて
    人工知能(AI)を挙げる (期待値ファイルは… for a claim of an expectations file); インド: 国家戦略（2021年以降）; インド → 西側諸国: 協力. The claim's own line
    (``claim``, in English) is what is left when the fields are missing.

    Args:
        claim: a summary_claims row (or a findings_check row, which has only the claim's line).
        tech_names: technology id → display name (from country_technology).
    """
    kind, country = claim.get("kind"), display_name(claim.get("country"))
    if kind == "technology" and claim.get("technology"):
        tech = claim["technology"]
        who = "期待値ファイル" if claim.get("origin") == "expectations_file" else "要旨"
        return f"{who}は{country}について{tech_names.get(tech) or display_name(tech)}を挙げる"
    if kind == "fact" and (claim.get("item") or claim.get("item_count") is not None):
        label = fact_label(claim)
        if claim.get("part_of"):
            label += f"（全 {claim['part_of']} のうち）"
        if claim.get("update_every_years"):
            label += f"、{claim['update_every_years']} 年ごとに更新"
        return f"{country}: {label}"
    if kind == "relation" and claim.get("other") and claim.get("relation"):
        return f"{country} → {display_name(claim['other'])}: {RELATION_NAMES.get(claim['relation'], claim['relation'])}"
    return str(claim.get("claim") or "")


def _header(out_dir: Path, edition: str) -> dict:
    docs = _rows(out_dir, edition, "documents") or []
    doc = docs[0] if docs else None
    pages = _rows(out_dir, edition, "pages") or []
    problems: dict[int, dict[str, str]] = defaultdict(dict)  # page -> kind -> what
    if doc:
        for p in doc.get("pages_without_text") or []:
            problems[p]["no_text_layer"] = "テキスト層がない"
        for p in doc.get("pages_with_unmapped_glyphs") or []:
            problems[p]["unmapped_glyphs"] = "文字に対応づけられないグリフ"
    for row in pages:
        said: dict[str, list[str]] = defaultdict(list)  # kind -> its problems' details (font_refused: one per font)
        for kind, detail in page_problems_of_cell(row.get("problem")):  # the detail says more than the kind
            said[kind].append(detail or kind.replace("_", " "))
        for kind, details in said.items():
            problems[row["page"]][kind] = "; ".join(details)
    source = (doc or {}).get("source") or ""
    pdf = locate_pdf((doc or {}).get("raw_path"), out_dir, edition)
    return {
        "doc": doc,
        "title": (doc or {}).get("title") or "",
        "source": source,
        "source_is_url": source.startswith(("http://", "https://")),
        "sha256": ((doc or {}).get("sha256") or "")[:12],
        "pdf": pdf,
        "problems": [{"page": p, "what": "; ".join(w.values()), "href": page_href(pdf["href"], p)}
                     for p, w in sorted(problems.items())],
    }


def _heatmap(ct: list[dict]) -> dict:
    by_country: dict[str, int] = defaultdict(int)
    by_tech: dict[str, int] = defaultdict(int)
    tech_names: dict[str, str] = {}
    cells: dict[tuple[str, str], dict] = {}
    for r in ct:
        by_country[r["country"]] += r["mentions"] or 0
        by_tech[r["technology"]] += r["mentions"] or 0
        tech_names.setdefault(r["technology"], r.get("technology_name") or display_name(r["technology"]))
        cells[(r["country"], r["technology"])] = r
    countries = sorted(by_country, key=lambda c: (-by_country[c], c))
    techs = sorted(by_tech, key=lambda t: (-by_tech[t], t))
    maximum = max((r["mentions"] or 0 for r in ct), default=0)
    rows = []
    for c in countries:
        row = []
        for t in techs:
            r = cells.get((c, t))
            if r is None:
                row.append(None)
                continue
            pages = ", ".join(str(p) for p in (r.get("pages") or []))
            row.append({
                "count": r["mentions"],
                "anchor": evidence_anchor(c, t),
                "style": heat_style(r["mentions"] or 0, maximum),
                "title": f"{display_name(c)} × {tech_names[t]}: 言及 {r['mentions']} 回、{r['sentences']} 文"
                         f"（p. {pages}）",
            })
        rows.append({"id": c, "name": display_name(c), "total": by_country[c], "cells": row})
    return {
        "techs": [{"id": t, "name": tech_names[t], "total": by_tech[t]} for t in techs],
        "rows": rows,
        "max": maximum,
        "legend": [{"count": n, "style": heat_style(n, maximum)} for n in _legend_steps(maximum)],
    }


def _legend_steps(maximum: int) -> list[int]:
    if maximum <= 0:
        return []
    steps = sorted({1, max(1, round(maximum ** 0.25)), max(1, round(maximum ** 0.5)),
                    max(1, round(maximum ** 0.75)), maximum})
    return steps


def _cards(out_dir: Path, edition: str, ct: list[dict], sentences: dict[int, dict], pdf_href: str | None) -> list[dict]:
    spans = technology_spans(technology_mentions(out_dir, edition))
    facts = _rows(out_dir, edition, "policy_facts")
    relations = _rows(out_dir, edition, "relations")
    policies = _rows(out_dir, edition, "policies")
    keyterms = _rows(out_dir, edition, "keyterms")
    similarity = _rows(out_dir, edition, "country_similarity")

    cards: dict[str, dict] = {}

    def card(cid: str | None) -> dict | None:
        if not cid:
            return None
        if cid not in cards:
            cards[cid] = {"id": cid, "name": display_name(cid), "technologies": [], "facts": [], "relations": [],
                          "policies": [], "keyterms": [], "similar": [], "mentions": 0, "sentences": 0}
        return cards[cid]

    for r in sorted(ct, key=lambda r: (-(r["mentions"] or 0), r["technology"])):
        c = card(r["country"])
        c["mentions"] += r["mentions"] or 0
        cell = cell_evidence(r, sentences, spans, pdf_href)
        c["sentences"] += len(cell["sentences"])
        c["technologies"].append(cell | {"name": r.get("technology_name") or display_name(r["technology"])})
    for f in sorted(facts or [], key=lambda f: (f.get("page") or 0, f["fact_id"])):
        if c := card(f["country"]):
            c["facts"].append(f | {"year_text": year_text(f.get("year"), f.get("year_qualifier")),
                                   "href": page_href(pdf_href, f.get("page"))})
    by_sentence: dict[tuple[str, object], dict] = {}  # one entry per evidence sentence, its relations grouped
    for r in sorted(relations or [], key=lambda r: (r.get("page") or 0, r["relation_id"])):
        if c := card(r["subject"]):
            key = (c["id"], r.get("sentence_id") if r.get("sentence_id") is not None else r.get("evidence"))
            if key not in by_sentence:
                by_sentence[key] = {"page": r.get("page"), "sentence_id": r.get("sentence_id"),
                                    "href": page_href(pdf_href, r.get("page")), "in_summary": bool(r.get("in_summary")),
                                    "evidence": r.get("evidence") or "", "kinds": {}}
                c["relations"].append(by_sentence[key])
            kind = by_sentence[key]["kinds"].setdefault(r["relation"], {
                "relation": r["relation"], "name": RELATION_NAMES.get(r["relation"], r["relation"]),
                "others": [], "cues": []})
            kind["others"].append({"id": r["other"], "name": display_name(r["other"])})
            if r.get("cue") and r["cue"] not in kind["cues"]:
                kind["cues"].append(r["cue"])
    for c in cards.values():
        c["relations"] = [g | {"kinds": list(g["kinds"].values())} for g in c["relations"]]
    for p in sorted(policies or [], key=lambda p: (p.get("page") or 0, p["policy_id"])):
        if c := card(p.get("subject")):
            c["policies"].append(p | {"type_name": POLICY_TYPE_NAMES.get(p.get("type"), p.get("type") or ""),
                                      "href": page_href(pdf_href, p.get("page"))})
    for k in sorted(keyterms or [], key=lambda k: k["rank"]):
        if c := card(k["country"]):
            c["keyterms"].append(k)
    for s in sorted(similarity or [], key=lambda s: -(s["similarity"] or 0)):
        if s["country"] in cards and s["country"] != s["other"] and len(cards[s["country"]]["similar"]) < 3:
            cards[s["country"]]["similar"].append({"id": s["other"], "name": display_name(s["other"]),
                                                   "similarity": s["similarity"],
                                                   "shared_terms": s.get("shared_terms") or []})
    return sorted(cards.values(), key=lambda c: (-c["mentions"], c["id"]))


def finding_anchor(claim_id: str) -> str:
    """The HTML id of a findings-check row: ``finding-F1`` (unsafe characters become ``_``).

    Args:
        claim_id: findings_check.claim_id.
    """
    return "finding-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(claim_id))


def _findings(out_dir: Path, edition: str, pdf_href: str | None, ct: list[dict]) -> dict | None:
    rows = _rows(out_dir, edition, "findings_check")
    if rows is None:
        return None
    claims = {c["claim_id"]: c for c in _rows(out_dir, edition, "summary_claims") or []}
    tech_names = {r["technology"]: r.get("technology_name") or display_name(r["technology"]) for r in ct}
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUS_ORDER}
    ordered = sorted(rows, key=lambda r: (STATUS_ORDER.get(r["status"], 9), r["claim_id"]))
    origins = {o: sum(1 for r in rows if r.get("origin") == o) for o in ORIGIN_NAMES}
    differences = _rows(out_dir, edition, "summary_comparison") or []
    shown = [r | {"anchor": finding_anchor(r["claim_id"]),
                  "claim_ja": claim_label(claims.get(r["claim_id"]) or r, tech_names),
                  "country_name": display_name(r.get("country")) if r.get("country") else "",
                  "status_name": STATUS_NAMES.get(r["status"], r["status"]),
                  "kind_name": CLAIM_KIND_NAMES.get(r.get("kind"), r.get("kind") or ""),
                  "origin_name": ORIGIN_NAMES.get(r.get("origin"), r.get("origin") or ""),
                  "scope_name": CLAIM_SCOPE_NAMES.get(r.get("origin"), "主張"),
                  # the Japanese detail; an edition made before it has only the English one (shown small)
                  "detail_shown": r.get("detail_ja") or "",
                  "detail_en": "" if r.get("detail_ja") else r.get("detail") or "",
                  "summary_href": page_href(pdf_href, r.get("summary_page")),
                  "body_href": page_href(pdf_href, r.get("page"))}
             for r in ordered]
    problems = [r for r in shown if r["status"] in ("contradicted", "missing")]
    return {"rows": shown,
            "counts": counts,
            "problems": problems,
            "origins": [(ORIGIN_NAMES[o], n) for o, n in origins.items() if n],
            # 要旨の主張 only when every claim is the summary's; else 主張, with the problems by origin
            "all_summary": all(r.get("origin") in SUMMARY_ORIGINS for r in rows),
            "claim_header": "主張（範囲: 要旨）" if all(r.get("origin") in SUMMARY_ORIGINS for r in rows) else "主張（範囲: 出所）",
            "problem_origins": [(ORIGIN_NAMES.get(o, o), n) for o, n in
                                sorted(Counter(r.get("origin") for r in problems).items(),
                                       key=lambda on: list(ORIGIN_NAMES).index(on[0]) if on[0] in ORIGIN_NAMES else 9)],
            "differences": differences}


PART_NAMES = {"technologies": "国 × 技術の組", "facts": "政策上の事実", "relations": "関係"}  # pipeline.diff.PARTS
SHOWN_NAMES = {"added": "追加", "removed": "削除"}


def _changes(out_dir: Path, edition: str, previous: str, ct: list[dict]) -> dict:
    """What changed since ``previous``, per country, as ``jstmine diff previous edition`` shows it:
    technologies added and removed, facts changed (count, year, …), added and removed, and
    relations added and removed, each with its page and evidence sentence."""
    # The previous edition as `jstmine diff` reads it; this one from what the report has read.
    earlier = read_edition(out_dir, previous)
    later = {name: ct if name == "country_technology" else _rows(out_dir, edition, name) or [] for name in DIFF_TABLES}
    diff = with_missing_tables(diff_tables(previous, earlier, edition, later), out_dir)
    before = earlier["country_technology"]
    names = {r["technology"]: r.get("technology_name") or display_name(r["technology"]) for r in before + ct}

    def techs(ids: list[str]) -> list[dict]:
        return [{"id": t, "name": names.get(t) or display_name(t)} for t in ids]

    def others(rows: list[dict]) -> list[dict]:
        return [r | {"other_name": display_name(r["other"]), "relation_name": RELATION_NAMES.get(r["relation"], r["relation"])}
                for r in rows]

    countries = []
    for c in diff.countries():
        mine = lambda rows, key="country", c=c: [r for r in rows if r.get(key) == c]  # noqa: E731
        countries.append({
            "id": c, "name": display_name(c),
            "tech_added": techs(diff.technologies_added.get(c, [])),
            "tech_removed": techs(diff.technologies_removed.get(c, [])),
            "facts_changed": [r | {"field_name": FIELD_NAMES.get(r["field"], r["field"]),
                                   "a": "—" if r["a"] is None else r["a"], "b": "—" if r["b"] is None else r["b"]}
                              for r in mine(diff.facts_changed)],
            "facts_added": [r | {"text": fact_label(r)} for r in mine(diff.facts_added)],
            "facts_removed": [r | {"text": fact_label(r)} for r in mine(diff.facts_removed)],
            "relations_added": others(mine(diff.relations_added, "subject")),
            "relations_removed": others(mine(diff.relations_removed, "subject")),
        })
    kept = {(r["country"], r["technology"]) for r in before} & {(r["country"], r["technology"]) for r in ct}
    counts = {
        "tech_added": sum(len(v) for v in diff.technologies_added.values()),
        "tech_removed": sum(len(v) for v in diff.technologies_removed.values()),
        "tech_kept": len(kept),
        "facts_changed": len({(r["country"], r["item"], r["page"]) for r in diff.facts_changed}),
        "facts_added": len(diff.facts_added), "facts_removed": len(diff.facts_removed),
        "relations_added": len(diff.relations_added), "relations_removed": len(diff.relations_removed),
    }
    # a table one edition lacks (an older jstmine's): what the diff shows for it is no change of the report
    missing = [{"edition": m.edition, "table": m.table, "other": m.other, "part": PART_NAMES.get(m.part, m.part),
                "shown": SHOWN_NAMES.get(m.shown, m.shown)} for m in missing_tables(diff)]
    return {"previous": previous, "empty": diff.is_empty(), "countries": countries, "counts": counts, "missing": missing}


def report_context(out_dir: Path, edition: str, previous: str | None = None, drawn=None) -> dict:
    """Everything the template shows, as plain data.

    Args:
        out_dir: the output directory holding the editions (``processed``).
        edition: the edition to show (the latest one if None).
        previous: an edition to show the changes since, or None for none.
        drawn: charts drawn beforehand (``pipeline.report_charts``; anything with ``get(key)``), used
            where drawn from the published rows; None: every chart is drawn here.
    """
    out_dir = Path(out_dir)
    edition = resolve_edition(out_dir, edition)
    if previous is not None and previous not in published_editions(out_dir):
        raise EditionError(f"no previous edition {previous!r} in {out_dir}/ (editions: {', '.join(published_editions(out_dir))})",
                           "pass one of them with --previous, or leave --previous out")
    ct_rows = _rows(out_dir, edition, "country_technology")
    ct = ct_rows or []
    sentence_rows = _rows(out_dir, edition, "sentences")
    sentences = {s["sentence_id"]: s for s in sentence_rows or []}
    header = _header(out_dir, edition)
    pdf_href = header["pdf"]["href"]
    return {
        "edition": edition,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "header": header,
        "has_country_technology": ct_rows is not None,
        "heatmap": _heatmap(ct),
        "cards": _cards(out_dir, edition, ct, sentences, pdf_href),
        "findings": _findings(out_dir, edition, pdf_href, ct),
        "changes": _changes(out_dir, edition, previous, ct) if previous else None,
        "kwic": {"json": kwic_json(sentence_rows or []), "count": len(sentences), "pdf_href": pdf_href or "",
                 "kinds": KIND_NAMES,
                 "subjects": sorted({(s.get("subject"), display_name(s.get("subject")))
                                     for s in sentences.values() if s.get("subject")}, key=lambda x: x[1])},
        "tables": edition_tables(out_dir, edition),
        "absent": [n for n in CARD_TABLES if not table_path(out_dir, edition, n).is_file()],
        "analyses": analyses_context(out_dir, edition, drawn),
    }


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def load_template():
    """The report's template, compiled: once per process (``render_html`` uses the same one).
    Loading it beforehand (``flows.warmup``) spares the report a tenth of a second of compiling."""
    return _environment().get_template(TEMPLATE_NAME)


def render_html(context: dict) -> str:
    """The report page for ``context`` (``report_context``'s data).

    Args:
        context: everything the template shows.
    """
    return load_template().render(**context)


# What ``render_report`` writes the report to before renaming it: ``.report.html.<8 hex>.tmp``.
_JUST_CREATED_S = 2.0  # a writer locks its file right after creating it: younger ones are left alone
_REPORT_TEMPORARY = re.compile(r"\." + re.escape(REPORT_NAME) + r"\.[0-9a-f]{8}\.tmp")


def remove_stale_report_temporaries(dir_fd: int) -> list[str]:
    """Remove from a run directory the temporary files of reports whose writing was killed
    (SIGKILL, power loss: nothing could clean up): names of exactly ``render_report``'s pattern,
    ``.report.html.<8 hex>.tmp``, that no report being written now holds locked (a writer holds
    its file locked until it is renamed; the kernel drops the lock of a process that died). A link
    of that name is removed as a link; a file of that name that cannot be opened to look (no file
    descriptor left, no permission) is left alone. Returns the names removed.

    Parameters:
        dir_fd: the run directory, opened (``os.O_DIRECTORY``, not through a link).
    """
    removed = []
    for name in os.listdir(dir_fd):
        if not _REPORT_TEMPORARY.fullmatch(name):
            continue
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOENT):
                # not a link, not gone: it cannot be looked into (no file descriptor left, no
                # permission), so it may be a report being written now: left alone
                log.warning("could not look into %s, which may be left by a report that was interrupted: %s",
                            name, exc.strerror or exc)
                continue
            fd = None  # a link (ELOOP), or gone already: nothing is written through it
        try:
            if fd is not None:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime < _JUST_CREATED_S:
                    continue  # no file a report wrote, or one created a moment ago and not locked yet
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a report is being written into it now
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=dir_fd)
                removed.append(name)
        except OSError as exc:
            log.warning("could not remove %s, left by a report that was interrupted: %s", name, exc.strerror or exc)
        finally:
            if fd is not None:
                os.close(fd)
    return removed


def render_report(out_dir: Path, edition: str, previous: str | None = None, drawn=None) -> Path:
    """Write ``out_dir/edition/report.html`` (atomically) and return its path.

    The file is written in the edition's own run directory (``pipeline.publish.edition_run_dir``),
    opened without following links: never through a link someone planted or re-pointed.

    Args:
        out_dir: the output directory holding the editions (``processed``).
        edition: the edition to write the report of (the latest one if None).
        previous: an edition to show the changes since, or None for none.
        drawn: charts drawn beforehand, as ``report_context`` takes them.
    """
    out_dir = Path(out_dir)
    edition = resolve_edition(out_dir, edition)
    html = render_html(report_context(out_dir, edition, previous, drawn))
    target = out_dir / edition / REPORT_NAME
    run_dir = edition_run_dir(out_dir, edition)
    if run_dir is None:  # re-pointed while the report was being made
        raise EditionError(edition_link_problem(out_dir, edition) or f"edition {edition!r} is no longer in {out_dir}/",
                           "remove what is there now and process the edition again: jstmine run --source … --edition NAME")
    tmp_name = None
    dir_fd = None
    done = False
    try:
        dir_fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        remove_stale_report_temporaries(dir_fd)
        tmp_name = f".{REPORT_NAME}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # held while it is written: a report written at the same time sees it is no stale file
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.write(html)
            fh.flush()
            os.fsync(fh.fileno())
            # replaces whatever is named report.html there (a planted link as a link), never follows it
            os.replace(tmp_name, REPORT_NAME, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            done = True
    except BaseException as exc:
        # whatever stopped the write (a full disk, Ctrl-C, a bug): the temporary file goes with it;
        # never one of the same name it did not create (O_EXCL refused it: FileExistsError)
        if tmp_name is not None and dir_fd is not None and not done and not isinstance(exc, FileExistsError):
            with contextlib.suppress(OSError):  # on a read-only disk the temporary file never came to be
                os.unlink(tmp_name, dir_fd=dir_fd)
        if not isinstance(exc, OSError):
            raise
        raise EditionError(f"could not write {target}: {exc.strerror or exc}",
                           "the output directory must be writable (free disk space or fix permissions), then run "
                           "again; or copy the edition elsewhere and write the report there: jstmine report --out DIR"
                           ) from exc
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    return target
