"""Diff: two published editions → what changed between them (pure, apart from reading the files).

Input: the tables ``country_technology``, ``policy_facts`` and ``relations`` of two editions, as
lists of rows (``diff_tables``) or read from ``<out>/<edition>/<table>.parquet``
(``diff_editions``; a missing table counts as empty). Output: an ``EditionDiff``:

* technologies: (country, technology) pairs in one edition and not the other, by country, each
  with its evidence (``evidence_page``, ``evidence``) in the edition it is in;
* policy facts, matched by (country, item, in_summary) — the item NFKC-normalized and without
  whitespace — and,
  when a side has several facts with the same key, by count as well: a matched pair whose
  count, year, part_of or policy differ gives one ``facts_changed`` row per field; facts left
  unmatched are added or removed;
* relations: (subject, other, relation) triples in one edition and not the other, with the first
  evidence sentence (lowest page) of the edition they are in.

``render_diff`` prints it per country with rich; ``diff_to_dict`` makes it JSON-ready.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape

from pipeline.errors import PipelineError
from pipeline.normalize import printable
from pipeline.publish import (EditionNameError, check_edition_name, edition_link_problem, edition_run_dir,
                              published_editions)
from pipeline.schema_history import upgrade_columns

TABLES = ("country_technology", "policy_facts", "relations")
FACT_FIELDS = ("item_count", "year", "part_of", "policy")  # compared between matched facts
FIELD_LABELS = {"item_count": "count", "part_of": "part of"}  # how a changed field is named to a reader
FACT_ROW = ("country", "item_count", "item", "year", "page", "evidence", "in_summary")  # facts_added / facts_removed
RELATION_ROW = ("subject", "other", "relation", "page", "evidence")


class EditionNotFoundError(PipelineError):
    """An edition to compare is not published in the output directory."""


@dataclass(frozen=True)
class EditionDiff:
    a: str  # the earlier edition's name
    b: str  # the later edition's name
    technologies_added: dict[str, list[str]] = field(default_factory=dict)  # country → ids in b, not in a
    technologies_removed: dict[str, list[str]] = field(default_factory=dict)  # country → ids in a, not in b
    facts_changed: list[dict] = field(default_factory=list)  # {country, item, field, a, b, page, evidence}
    facts_added: list[dict] = field(default_factory=list)  # {country, item_count, item, year, page, evidence}
    facts_removed: list[dict] = field(default_factory=list)
    relations_added: list[dict] = field(default_factory=list)  # {subject, other, relation, page, evidence}
    relations_removed: list[dict] = field(default_factory=list)
    # country → technology → {page, evidence}: for an added technology from b's row, for a removed one from a's
    technology_evidence: dict[str, dict[str, dict]] = field(default_factory=dict)
    # edition → the compared tables its files lack while the other edition's have them (an edition
    # published by an older jstmine): that part of the diff counts the lacking side as empty
    missing: dict[str, list[str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.technologies_added or self.technologies_removed or self.facts_changed
                    or self.facts_added or self.facts_removed or self.relations_added or self.relations_removed)

    def countries(self) -> list[str]:
        """Every country (or subject) with a difference, sorted."""
        found = set(self.technologies_added) | set(self.technologies_removed)
        found |= {r["country"] for r in self.facts_changed + self.facts_added + self.facts_removed}
        found |= {r["subject"] for r in self.relations_added + self.relations_removed}
        return sorted(found, key=_sort_text)


# --------------------------------------------------------------------------------------------
# Comparing rows


def norm(text: object) -> str:
    """NFKC, without any whitespace: the form items and policies are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))) if text is not None else ""


def _sort_text(value: object) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


def _same(field_name: str, x: object, y: object) -> bool:
    if field_name == "policy":
        return (x is None) == (y is None) and norm(x) == norm(y)
    return x == y


def _technologies(a_rows: list[dict], b_rows: list[dict]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    def pairs(rows):
        return {(r.get("country"), r.get("technology")) for r in rows if r.get("country") and r.get("technology")}

    old, new = pairs(a_rows), pairs(b_rows)

    def by_country(found) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for country, tech in sorted(found):
            out[country].append(tech)
        return dict(out)

    return by_country(new - old), by_country(old - new)


def _technology_evidence(rows: list[dict], found: dict[str, list[str]]) -> dict[str, dict[str, dict]]:
    """For each (country, technology) of ``found`` (country → ids), the page and evidence sentence
    of its row in ``rows`` (the edition it is in): country → technology → {page, evidence}."""
    wanted = {(c, t) for c, ts in found.items() for t in ts}
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        key = (r.get("country"), r.get("technology"))
        if key in wanted and key[1] not in out[key[0]]:
            out[key[0]][key[1]] = {"page": r.get("evidence_page"), "evidence": r.get("evidence")}
    return dict(out)


def _fact_key(row: dict) -> tuple[str, str, bool]:
    # The summary's statement of a fact and the body's are facts of their own (policy_facts.in_summary):
    # each is compared with its counterpart in the other edition.
    return (row.get("country") or "", norm(row.get("item")), bool(row.get("in_summary")))


def _fact_order(row: dict) -> tuple:
    return (_sort_text(row.get("page")), _sort_text(row.get("fact_id")), _sort_text(row.get("item_count")))


def _match_facts(old: list[dict], new: list[dict]) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Pair facts that share a key: identical ones first, then by count; a single fact left on
    each side is paired too. Returns (pairs, unmatched old, unmatched new)."""
    old, new = sorted(old, key=_fact_order), sorted(new, key=_fact_order)
    pairs: list[tuple[dict, dict]] = []
    for same in (
        lambda x, y: all(_same(f, x.get(f), y.get(f)) for f in FACT_FIELDS),
        lambda x, y: x.get("item_count") == y.get("item_count"),
    ):
        for x in list(old):
            y = next((y for y in new if same(x, y)), None)
            if y is not None:
                pairs.append((x, y))
                old.remove(x)
                new.remove(y)
    if len(old) == 1 and len(new) == 1:  # one on each side: the same fact, changed
        pairs.append((old.pop(), new.pop()))
    return pairs, old, new


def _fact_row(row: dict) -> dict:
    """A fact as ``facts_added`` / ``facts_removed`` hold it (``FACT_ROW``; ``in_summary`` a bool)."""
    return {k: row.get(k) for k in FACT_ROW} | {"in_summary": bool(row.get("in_summary"))}


def _facts(a_rows: list[dict], b_rows: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    groups: dict[tuple[str, str], tuple[list[dict], list[dict]]] = defaultdict(lambda: ([], []))
    for r in a_rows:
        groups[_fact_key(r)][0].append(r)
    for r in b_rows:
        groups[_fact_key(r)][1].append(r)
    changed, added, removed = [], [], []
    for key in sorted(groups):
        old, new = groups[key]
        pairs, gone, came = _match_facts(old, new)
        for x, y in pairs:
            for f in FACT_FIELDS:
                if not _same(f, x.get(f), y.get(f)):
                    changed.append({"country": y.get("country"), "item": y.get("item"), "field": f,
                                    "a": x.get(f), "b": y.get(f), "page": y.get("page"), "evidence": y.get("evidence"),
                                    "in_summary": bool(y.get("in_summary"))})
        removed += [_fact_row(r) for r in gone]
        added += [_fact_row(r) for r in came]
    return changed, added, removed


def _relations(a_rows: list[dict], b_rows: list[dict]) -> tuple[list[dict], list[dict]]:
    def first_by_key(rows) -> dict[tuple, dict]:
        out: dict[tuple, dict] = {}
        for r in sorted(rows, key=lambda r: (_sort_text(r.get("page")), _sort_text(r.get("sentence_id")))):
            out.setdefault((r.get("subject"), r.get("other"), r.get("relation")), r)
        return out

    old, new = first_by_key(a_rows), first_by_key(b_rows)

    def rows(keys, source):
        return [{k: source[key].get(k) for k in RELATION_ROW} for key in sorted(keys, key=lambda k: tuple(map(_sort_text, k)))]

    return rows(new.keys() - old.keys(), new), rows(old.keys() - new.keys(), old)


def diff_tables(a_name: str, a: dict[str, list[dict]], b_name: str, b: dict[str, list[dict]]) -> EditionDiff:
    """What changed from edition ``a`` to edition ``b``; each is table name → rows (pure)."""
    a_tech, b_tech = a.get("country_technology") or [], b.get("country_technology") or []
    tech_added, tech_removed = _technologies(a_tech, b_tech)
    evidence = _technology_evidence(b_tech, tech_added)
    for country, found in _technology_evidence(a_tech, tech_removed).items():
        evidence.setdefault(country, {}).update(found)  # a technology is added or removed, never both
    changed, facts_added, facts_removed = _facts(a.get("policy_facts") or [], b.get("policy_facts") or [])
    rel_added, rel_removed = _relations(a.get("relations") or [], b.get("relations") or [])
    return EditionDiff(a=a_name, b=b_name, technologies_added=tech_added, technologies_removed=tech_removed,
                       facts_changed=changed, facts_added=facts_added, facts_removed=facts_removed,
                       relations_added=rel_added, relations_removed=rel_removed, technology_evidence=evidence)


# --------------------------------------------------------------------------------------------
# Reading editions


def read_edition(out_dir: Path, edition: str) -> dict[str, list[dict]]:
    """The compared tables of a published edition as rows; a table without a file is [].

    Read from the edition's run directory (``pipeline.publish.edition_run_dir``), never through a
    link or directory that is no published edition (one planted in a shared output directory).

    Parameters:
        out_dir: the output directory (``processed``).
        edition: the edition's name.
    """
    out_dir = Path(out_dir)
    try:
        directory = edition_run_dir(out_dir, check_edition_name(edition))
        problem = None if directory else edition_link_problem(out_dir, edition)
    except EditionNameError:  # ../x, /abs, jstmine.duckdb: never looked up as a path
        directory, problem = None, None
    if directory is None:
        editions = published_editions(out_dir)
        raise EditionNotFoundError(
            (f"{problem}" if problem else f"no edition {edition!r} in {out_dir}/")
            + (f" (editions: {', '.join(editions)})" if editions else " (no editions published there yet)"),
            "compare two of the editions listed" if editions
            else "publish editions first (jstmine run --source … --edition NAME), or point at the right output directory",
        )
    tables: dict[str, list[dict]] = {}
    for name in TABLES:
        path = directory / f"{name}.parquet"
        if not path.is_file():
            tables[name] = []
            continue
        try:
            tables[name] = upgrade_columns(name, pq.read_table(path)).to_pylist()
        except (OSError, pa.ArrowException) as exc:
            raise PipelineError(f"cannot read {path}: {exc}",
                                f"publish edition {edition!r} again (jstmine run … --edition {edition})") from exc
    return tables


def _absent_tables(out_dir: Path, edition: str) -> set[str]:
    """The compared tables (``TABLES``) edition ``edition`` has no file for."""
    run = edition_run_dir(Path(out_dir), edition)
    return {name for name in TABLES if run is None or not (run / f"{name}.parquet").is_file()}


def diff_editions(out_dir: Path, a: str, b: str) -> EditionDiff:
    """``diff_tables`` on editions ``a`` and ``b`` published under ``out_dir``; ``missing`` names
    the tables one of them lacks and the other has (what it says there is not a change of the report).

    Parameters:
        out_dir: the output directory (``processed``).
        a: the older edition.
        b: the newer edition.
    """
    found = diff_tables(a, read_edition(out_dir, a), b, read_edition(out_dir, b))
    return with_missing_tables(found, out_dir)


def with_missing_tables(diff: EditionDiff, out_dir: Path) -> EditionDiff:
    """``diff`` with ``missing`` set: the compared tables (``TABLES``) one of its editions has no
    file for under ``out_dir`` while the other has (that part of the diff counts the lacking side as
    empty, which is not a change of the report). What ``jstmine diff`` and the HTML report's changes
    section both use.

    Parameters:
        diff: what ``diff_tables`` found for editions ``diff.a`` and ``diff.b``.
        out_dir: the output directory both are published in (``processed``).
    """
    a, b = diff.a, diff.b
    absent = {a: _absent_tables(out_dir, a), b: _absent_tables(out_dir, b)}
    missing = {name: sorted(absent[name] - absent[other], key=TABLES.index)
               for name, other in ((a, b), (b, a)) if absent[name] - absent[other]}
    return replace(diff, missing=missing)


PARTS = {"country_technology": "technologies", "policy_facts": "facts", "relations": "relations"}


@dataclass(frozen=True)
class MissingTable:
    """A compared table one edition lacks and the other has, and what the diff shows for it."""

    edition: str  # the edition without the table
    table: str  # the table's name (country_technology, policy_facts, relations)
    other: str  # the edition that has it
    part: str  # what the table's rows are, in the diff: technologies, facts, relations
    shown: str  # how every one of ``other``'s rows shows: "added" (the older edition lacks it) or "removed"


def missing_tables(diff: EditionDiff) -> list[MissingTable]:
    """One entry per table an edition of ``diff`` lacks and the other has (``diff.missing``), saying
    what the diff shows for it: for ``missing_notes`` (``jstmine diff``) and the HTML report.

    Parameters:
        diff: what ``diff_editions`` (or ``with_missing_tables``) found.
    """
    out = []
    for edition, tables in diff.missing.items():
        other, shown = (diff.b, "added") if edition == diff.a else (diff.a, "removed")
        out += [MissingTable(edition, table, other, PARTS.get(table, table), shown) for table in tables]
    return out


def missing_notes(diff: EditionDiff) -> list[str]:
    """One note per table an edition lacks and the other has, saying what the diff shows for it.

    Parameters:
        diff: what ``diff_editions`` found.
    """
    return [f"edition {m.edition} has no {m.table} table (published by an older jstmine, or the run did not "
            f"produce it): every one of {m.other}'s {m.part} shows as {m.shown}, which says nothing about the report"
            for m in missing_tables(diff)]


# --------------------------------------------------------------------------------------------
# Output


def diff_to_dict(diff: EditionDiff) -> dict:
    """JSON-ready: the fields of ``EditionDiff``, plus ``empty`` and ``countries``."""
    return asdict(diff) | {"empty": diff.is_empty(), "countries": diff.countries()}


def fact_text(r: dict) -> str:
    """A fact as one label: 12 国家戦略技術 (2022)."""
    count = f"{r['item_count']} " if r.get("item_count") is not None else ""
    year = f" ({r['year']})" if r.get("year") is not None else ""
    return f"{count}{r.get('item')}{year}"


def _page(r: dict) -> str:
    """Where a change is: its page, and "(summary)" for a fact the executive summary states (the
    summary's statement of a fact and the body's are facts of their own, and change together)."""
    where = f"  [dim]p. {r['page']}[/dim]" if r.get("page") is not None else ""
    return where + ("  [dim](summary)[/dim]" if r.get("in_summary") else "")


def _shown(value: object) -> str:
    """A value from a document, for the console: no markup, no control characters."""
    return escape(printable(value))


def render_diff(diff: EditionDiff, console: Console) -> None:
    """Per country: technologies added (+) and removed (−), facts changed (count 12 → 13), facts
    and relations added and removed; "no differences" when there are none."""
    console.print(f"[bold]{_shown(diff.a)} → {_shown(diff.b)}[/bold]")
    for note in missing_notes(diff):
        console.print(f"[yellow]note:[/] {_shown(note)}")
    if diff.is_empty():
        console.print("no differences")
        return
    for country in diff.countries():
        console.print(f"[bold]{_shown(str(country))}[/bold]")
        for tech in diff.technologies_added.get(country, []):
            console.print(f"  [green]+ technology {_shown(tech)}[/green]")
        for tech in diff.technologies_removed.get(country, []):
            console.print(f"  [red]− technology {_shown(tech)}[/red]")
        for c in (c for c in diff.facts_changed if c["country"] == country):
            console.print(f"  [yellow]~ fact {_shown(str(c['item']))}: {FIELD_LABELS.get(c['field'], c['field'])} "
                          f"{_shown(str(c['a']))} → {_shown(str(c['b']))}[/yellow]{_page(c)}")
        for r in (r for r in diff.facts_added if r["country"] == country):
            console.print(f"  [green]+ fact {_shown(fact_text(r))}[/green]{_page(r)}")
        for r in (r for r in diff.facts_removed if r["country"] == country):
            console.print(f"  [red]− fact {_shown(fact_text(r))}[/red]{_page(r)}")
        for r in (r for r in diff.relations_added if r["subject"] == country):
            console.print(f"  [green]+ {_shown(str(r['relation']))} {_shown(str(r['other']))}[/green]{_page(r)}")
        for r in (r for r in diff.relations_removed if r["subject"] == country):
            console.print(f"  [red]− {_shown(str(r['relation']))} {_shown(str(r['other']))}[/red]{_page(r)}")
