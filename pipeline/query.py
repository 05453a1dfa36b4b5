"""Query: read rows out of published editions for the inspection commands (pure, apart from reading).

Input: an output directory that ``publish`` wrote (``<out>/<edition>/<table>.parquet`` and the
database ``<out>/jstmine.duckdb``). Output: rows, never printed text:

* ``show_rows``  — one table of one edition, narrowed by ``COL=VALUE`` conditions, some columns,
  at most N rows → ``QueryResult`` (column names, tuples, how many rows there are and match);
* ``kwic_lines`` — every occurrence of a word (or of a canonical id's mentions) in the sentences,
  with the whole sentence around it → ``KwicResult`` of ``KwicLine`` (left, hit, right, subject,
  page, sentence_id);
* ``sql_rows``   — a read-only SQL query over every edition in the database → ``QueryResult``;
* ``diff_rows``  — an ``EditionDiff`` (pipeline/diff.py) as one row per change.

Nothing here clips, escapes or colours text: the CLI (``flows/cli.py``, ``flows/output.py``)
renders. Bad input raises a ``QueryError`` (a ``PipelineError``) that says what was wrong and what
to do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.diff import EditionDiff, fact_text
from pipeline.errors import PipelineError
from pipeline.normalize import normalize_text
from pipeline.report import edition_tables, read_table, require_editions, resolve_edition, table_path
from pipeline.schema_history import RENAMED
from pipeline.tables import SPECS

MENTION_LABELS = ("COUNTRY", "REGION", "FRAMEWORK", "TECHNOLOGY")
KWIC_COLUMNS = ("edition", "subject", "page", "sentence_id", "char_start", "char_end", "left", "hit", "right")
DIFF_COLUMNS = ("country", "part", "change", "item", "field", "before", "after", "page", "evidence", "in_summary")


class QueryError(PipelineError):
    """A query asks for something the edition does not have, or is not well formed."""


class SqlQueryError(QueryError):
    """DuckDB refused the SQL; ``tables`` lists (table, its columns) to help write it again."""

    def __init__(self, what: str, todo: str = "", tables: list[tuple[str, str]] | None = None) -> None:
        super().__init__(what, todo)
        self.tables = tables or []


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query: ``columns`` names the values of every tuple in ``rows``.

    ``total`` is how many rows the table has, ``matched`` how many meet the conditions (both
    before the limit); ``more`` is true when the limit left rows out."""

    columns: list[str]
    rows: list[tuple]
    total: int = 0
    matched: int = 0
    more: bool = False
    edition: str = ""
    table: str = ""

    def records(self) -> list[dict]:
        """The rows as dicts, column name → value."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class KwicLine:
    """One occurrence: the sentence cut in three around it (``left + hit + right`` is the whole
    sentence, newlines as spaces), where it is (the ``edition``, whose sentence ids it is in; page,
    sentence_id, the hit's character offsets in the sentence) and whose the sentence is
    (``subject``, None when nobody's)."""

    edition: str
    subject: str | None
    page: int | None
    sentence_id: int
    char_start: int
    char_end: int
    left: str
    hit: str
    right: str

    def row(self) -> tuple:
        """The line as a tuple in ``KWIC_COLUMNS`` order."""
        return tuple(getattr(self, c) for c in KWIC_COLUMNS)


@dataclass(frozen=True)
class KwicResult:
    """What ``kwic_lines`` found: the normalized term, the lines in sentence order, how many
    sentences they are in, and the canonical ids whose mentions were counted (``quantum`` finds 量子…)."""

    edition: str
    needle: str
    lines: list[KwicLine] = field(default_factory=list)
    sentences: int = 0
    canonical_ids: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ show


def _quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _select(column: str, typ: str, name: str | None = None) -> str:
    """The column as selected, named ``name`` (default: its own name): a 32-bit float as the decimal
    it was written as (0.4, not the double nearest to its binary value, 0.4000000059604645), through
    DuckDB's shortest text for it."""
    q, alias = _quote_identifier(column), _quote_identifier(name or column)
    if typ == "FLOAT":
        return f"CAST(CAST({q} AS VARCHAR) AS DOUBLE) AS {alias}"
    return q if alias == q else f"{q} AS {alias}"


def parse_where(item: str, names: list[str], table: str) -> tuple[str, str]:
    """``COL=VALUE`` → (column, NFKC-normalized value); the column must be one of ``names``.

    Parameters:
        item: the condition as given (``country=KR``; ``subject=`` for empty cells).
        names: the table's columns.
        table: the table's name, for the message.
    """
    col, sep, value = item.partition("=")
    col = col.strip()
    if not sep or not col:
        raise QueryError(f"--where {item!r} is not COL=VALUE",
                         f"e.g. --where {names[1] if len(names) > 1 else names[0]}=VALUE")
    if col not in names:
        raise QueryError(f"{table} has no column {col!r}; its columns are: {', '.join(names)}", "fix the --where column")
    return col, normalize_text(value)


def show_rows(out_dir: Path, edition: str | None, table: str, where: list[str] | None = None,
              columns: list[str] | None = None, limit: int = 0) -> QueryResult:
    """Rows of one published table of an edition.

    Parameters:
        out_dir: the output directory ``publish`` wrote.
        edition: the edition's name; None for the one processed most recently.
        table: a table name of ``pipeline.tables.SPECS`` (country_technology, sentences …).
        where: ``COL=VALUE`` conditions, all of which a row must meet: case-insensitive equality
            after NFKC; a list column matches when it contains VALUE; ``COL=`` matches empty cells.
        columns: the columns to return, in this order (default: all, in the table's order).
        limit: at most this many rows (0: all).

    Returns a ``QueryResult`` with ``total`` (rows in the table) and ``matched`` (rows meeting
    ``where``). Raises ``EditionError`` (no such edition) or ``QueryError`` (unknown table,
    column or malformed condition; a table the edition lacks; an unreadable file).
    """
    import duckdb

    out_dir = Path(out_dir)
    require_editions(out_dir)
    if table not in SPECS:
        raise QueryError(f"unknown table {table!r}; the tables are: {', '.join(SPECS)}",
                         "pass one of them, e.g. jstmine show country_technology")
    edition = resolve_edition(out_dir, edition)
    path = table_path(out_dir, edition, table)
    if not path.is_file():
        raise QueryError(f"edition {edition!r} has no {table} table (it was not produced by the run that published it); "
                         f"it has: {', '.join(edition_tables(out_dir, edition)) or 'no tables'}",
                         "show another table, or run the flow again (jstmine run --source …) to produce it")
    con = duckdb.connect()
    try:
        rel = con.read_parquet(str(path))
        # An older edition's file may have a column under its old name (count, start …): it is
        # shown, selected and matched under today's (pipeline/schema_history.py), as everywhere else.
        renamed = {old: new for old, new in RENAMED.get(table, {}).items()
                   if old in rel.columns and new not in rel.columns}
        names, types = [renamed.get(c, c) for c in rel.columns], [str(t) for t in rel.types]
        in_file = dict(zip(names, rel.columns, strict=True))  # name shown → column in the file
        picked = list(names)
        if columns is not None:
            picked = [c.strip() for c in columns if c.strip()]
            unknown = [c for c in picked if c not in names]
            if unknown or not picked:
                raise QueryError(f"{table} has no column {', '.join(map(repr, unknown)) or '(none given)'}; "
                                 f"its columns are: {', '.join(names)}", "pass some of them to --columns, comma-separated")
        conditions, params = [], []
        for item in where or []:
            col, value = parse_where(item, names, table)
            q, typ = _quote_identifier(in_file[col]), types[names.index(col)]
            is_list = typ.endswith("[]")
            if value == "":
                conditions.append(f"({q} IS NULL OR " + (f"len({q}) = 0)" if is_list else f"CAST({q} AS VARCHAR) = '')"))
            elif is_list:
                conditions.append(f"list_contains(list_transform(CAST({q} AS VARCHAR[]), lambda x: lower(x)), lower(?))")
                params.append(value)
            else:
                conditions.append(f"lower(CAST({q} AS VARCHAR)) = lower(?)")
                params.append(value)
        source = f"read_parquet({_sql_string(str(path))})"
        clause = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        total = con.execute(f"SELECT count(*) FROM {source}", []).fetchone()[0]
        matched = con.execute(f"SELECT count(*) FROM {source}{clause}", params).fetchone()[0]
        query = f"SELECT {', '.join(_select(in_file[c], types[names.index(c)], c) for c in picked)} FROM {source}{clause}" + (
            f" LIMIT {limit}" if limit else "")
        rows = con.execute(query, params).fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"could not read {path}: {exc}", "run the flow again to rewrite the edition's tables") from exc
    finally:
        con.close()
    return QueryResult(columns=picked, rows=rows, total=total, matched=matched, more=len(rows) < matched,
                       edition=edition, table=table)


# ------------------------------------------------------------------------------------------ kwic


def parse_labels(values: list[str] | None) -> set[str]:
    """Mention labels from ``--label`` values (each may list several: ``COUNTRY,REGION``), upper-cased.

    Parameters:
        values: as given; each part must be one of ``MENTION_LABELS`` (any case).
    """
    labels: set[str] = set()
    for item in values or []:
        for part in re.split(r"[,|\s]+", item.strip()):
            if part and part.upper() not in MENTION_LABELS:
                raise QueryError(f"unknown label {part!r}; the labels are: {', '.join(MENTION_LABELS)}", "e.g. --label TECHNOLOGY")
            if part:
                labels.add(part.upper())
    return labels


# Latin letters and digits: Basic Latin, the letters of Latin-1, Latin Extended-A and -B, the IPA
# and phonetic extensions, Latin Extended Additional, -C, -D and -E (é, ß, ă, ơ, ɐ, ꜰ …), not × or ÷.
# Japanese has no spaces between words, so only these make a Latin term's match part of a longer word.
_LATIN_ALNUM = ("0-9A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02AF\u1D00-\u1DBF\u1E00-\u1EFF\u2C60-\u2C7F"
                "\uA720-\uA7FF\uAB30-\uAB6F")
# Combining marks NFKC leaves apart from their letter (i + U+0307, I + U+0334): part of that letter.
_MARKS = "\u0300-\u036F\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F"
_IS_LATIN_ALNUM = re.compile(f"[{_LATIN_ALNUM}]")
_WORD_PART = f"[{_LATIN_ALNUM}{_MARKS}]"  # what continues a Latin word
_TRAILING_MARKS = re.compile(f"[{_MARKS}]+$")


def term_pattern(needle: str) -> re.Pattern:
    """How ``kwic`` finds ``needle`` in text, case-insensitively: an end of the term that is a Latin
    letter or digit (with any combining marks on it) matches only where the text has no Latin
    letter, digit or combining mark next to it there, so ``ai`` finds AI in "AI技術", "生成AI" and
    "(AI)" but not in "said", "maintain", "Thai" or "AIST" (nor in "ai̇", whose last letter is i
    with a dot NFKC cannot compose); a Japanese end (kana, kanji, anything else) matches anywhere,
    as a plain substring.

    Parameters:
        needle: the term, already normalized (``normalize_text``) and not empty.
    """
    last = _TRAILING_MARKS.sub("", needle)[-1:]
    before = f"(?<!{_WORD_PART})" if _IS_LATIN_ALNUM.fullmatch(needle[0]) else ""
    after = f"(?!{_WORD_PART})" if last and _IS_LATIN_ALNUM.fullmatch(last) else ""
    return re.compile(before + re.escape(needle) + after, re.IGNORECASE)


def kwic_lines(out_dir: Path, edition: str | None, term: str, labels: set[str] | list[str] | None = None,
               subject: str | None = None) -> KwicResult:
    """Keyword in context: every occurrence of ``term`` in the edition's sentences.

    Parameters:
        out_dir: the output directory ``publish`` wrote.
        edition: the edition's name; None for the one processed most recently.
        term: a word or phrase, NFKC-normalized and matched case-insensitively in the sentence
            text (``term_pattern``: a Latin end of the term only at a word boundary against Latin
            letters and digits, a Japanese one anywhere); or a canonical id (quantum, ai, KR) or
            top id, whose tagged mentions are found.
        labels: only tagged mentions with one of these labels (``MENTION_LABELS``); the plain text
            search is then left out, and a mention's surface containing ``term`` counts too.
        subject: only sentences whose subject is this country or region id (any case).

    Returns a ``KwicResult`` with the lines in sentence order, each place once. Finding nothing
    is not an error (``lines`` is empty). Raises ``EditionError``, or ``QueryError`` for an empty
    term, an unknown label or subject, or a table the edition lacks.
    """
    out_dir = Path(out_dir)
    needle = " ".join(normalize_text(term).split())
    if not needle:
        raise QueryError(f"the term {term!r} is empty after normalization", "pass a word, e.g. jstmine kwic 量子")
    labels = parse_labels(list(labels or []))
    edition = resolve_edition(out_dir, edition)
    sentences = read_table(out_dir, edition, "sentences", ["sentence_id", "page", "text", "subject"])
    if sentences is None:
        raise QueryError(f"edition {edition!r} has no sentences table", "run the flow again to produce it")
    mentions = read_table(out_dir, edition, "mentions", ["sentence_id", "char_start", "char_end", "text", "label", "id", "top"])
    if labels and mentions is None:
        raise QueryError(f"edition {edition!r} has no mentions table, so --label cannot be used", "drop --label, or run the flow again")

    by_id = {r["sentence_id"]: r for r in sentences.to_pylist()}
    if subject:
        subjects = sorted({r["subject"] for r in by_id.values() if r["subject"]})
        wanted = {s for s in subjects if s.casefold() == subject.casefold()}
        if not wanted:
            raise QueryError(f"no sentence in edition {edition!r} has the subject {subject!r}; subjects: {', '.join(subjects) or 'none'}",
                             "pass one of them to --subject")
        by_id = {sid: r for sid, r in by_id.items() if r["subject"] in wanted}

    folded = needle.casefold()
    spans: dict[int, list[tuple[int, int]]] = {}
    as_ids: set[str] = set()
    pattern = term_pattern(needle)
    if not labels:
        for sid, r in by_id.items():
            for m in pattern.finditer(r["text"] or ""):
                spans.setdefault(sid, []).append((m.start(), m.end()))
    for m in (mentions.to_pylist() if mentions is not None else []):
        if m["sentence_id"] not in by_id or (labels and m["label"] not in labels):
            continue
        if folded in ((m["id"] or "").casefold(), (m["top"] or "").casefold()):
            spans.setdefault(m["sentence_id"], []).append((m["char_start"], m["char_end"]))
            as_ids.add(m["id"] if (m["id"] or "").casefold() == folded else m["top"])
        elif labels and (found := pattern.search(m["text"] or "")):
            spans.setdefault(m["sentence_id"], []).append((m["char_start"] + found.start(), m["char_start"] + found.end()))

    lines = []
    for sid in sorted(spans):
        r, last_end = by_id[sid], -1
        text = (r["text"] or "").replace("\n", " ")  # one line; the offsets stay the sentence's
        for start, end in sorted(set(spans[sid])):
            if start < last_end:  # the same place found as text and as a mention: once
                continue
            last_end = end
            lines.append(KwicLine(edition=edition, subject=r["subject"], page=r["page"], sentence_id=sid, char_start=start, char_end=end,
                                  left=text[:start], hit=text[start:end], right=text[end:]))
    return KwicResult(edition=edition, needle=needle, lines=lines, sentences=len(spans), canonical_ids=sorted(as_ids))


# ------------------------------------------------------------------------------------------- sql


def database_tables(con) -> list[tuple[str, str]]:
    """(table, its columns comma-separated) for every table of an open DuckDB connection.

    Parameters:
        con: a DuckDB connection (``pipeline.publish.connect_database``).
    """
    return con.execute(
        "SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = 'main' GROUP BY 1 ORDER BY 1").fetchall()


def sql_rows(out_dir: Path, query: str, limit: int = 0) -> QueryResult:
    """Run ``query`` on the database of every published edition, read-only and with no file access.

    Parameters:
        out_dir: the output directory ``publish`` wrote (its ``jstmine.duckdb``).
        query: SQL for DuckDB; every table has an ``edition`` column.
        limit: at most this many rows (0: all); ``more`` says whether the query had more.

    Returns a ``QueryResult`` (no columns when the statement returns no rows). Raises
    ``QueryError`` when there is no database or it cannot be opened, ``SqlQueryError`` (with the
    tables and their columns) when DuckDB refuses the query, including any attempt to write.
    """
    import duckdb

    from pipeline.publish import DATABASE_NAME, connect_database, published_editions
    from pipeline.report import NO_EDITIONS_TODO

    out_dir = Path(out_dir)
    db = out_dir / DATABASE_NAME
    if not db.is_file():
        if out_dir.exists() and not out_dir.is_dir():
            require_editions(out_dir)  # a file given as --out: said as such
        what = f"no editions in {out_dir}/ yet" if not published_editions(out_dir) else f"there is no database {db}"
        raise QueryError(f"{what} (no {DATABASE_NAME} to query)", NO_EDITIONS_TODO)
    try:
        # Read-only, and no file access of its own (COPY … TO, read_csv, ATTACH, extensions), with the
        # configuration locked so that a query cannot turn it back on: only the database is queried.
        con = connect_database(db, read_only=True)
    except duckdb.Error as exc:
        raise QueryError(f"could not open {db} read-only: {exc}",
                         "if a run is publishing to it right now, wait for it to finish and try again") from exc
    try:
        try:
            con.execute(query)
            names = [d[0] for d in con.description or []]
            rows = (con.fetchmany(limit + 1) if limit else con.fetchall()) if names else []
        except duckdb.Error as exc:
            raise SqlQueryError(f"the SQL query failed: {exc}", "fix the query; the tables (every one has an edition column) "
                                "are listed below", tables=database_tables(con)) from None
    finally:
        con.close()
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if limit else rows
    return QueryResult(columns=names, rows=rows, total=len(rows), matched=len(rows), more=more)


# ------------------------------------------------------------------------------------------ diff


def diff_rows(diff: EditionDiff) -> QueryResult:
    """An ``EditionDiff`` as one row per change, in ``DIFF_COLUMNS``, country by country.

    Parameters:
        diff: what ``pipeline.diff.diff_editions`` found.

    Each row: ``part`` technology | fact | relation; ``change`` added | removed | changed;
    ``item`` the technology id, the fact's item or the relation's other party; ``field`` the
    fact's changed column (item_count, year, part_of, policy) or the relation's kind (partner …);
    ``before`` / ``after`` the value in edition a / b (a fact as "12 国家戦略技術 (2022)", a
    relation as "partner US"; empty on the side it is not in); ``page`` and ``evidence`` from the
    edition the row is in (a removed one's from edition a; a technology's its evidence_page and
    evidence); ``in_summary`` for a fact, whether the executive summary states it (the summary's
    statement and the body's are facts of their own), empty for technologies and relations.
    """
    rows: list[tuple] = []

    def add(country, part, change, item, fld=None, before=None, after=None, page=None, evidence=None, in_summary=None):
        rows.append((country, part, change, item, fld, before, after, page, evidence, in_summary))

    for country in diff.countries():
        evidence = diff.technology_evidence.get(country, {})
        for tech in diff.technologies_added.get(country, []):
            add(country, "technology", "added", tech, **evidence.get(tech, {}))
        for tech in diff.technologies_removed.get(country, []):
            add(country, "technology", "removed", tech, **evidence.get(tech, {}))
        for c in (c for c in diff.facts_changed if c["country"] == country):
            add(country, "fact", "changed", c["item"], c["field"], c["a"], c["b"], c.get("page"), c.get("evidence"),
                bool(c.get("in_summary")))
        for r in (r for r in diff.facts_added if r["country"] == country):
            add(country, "fact", "added", r["item"], None, None, fact_text(r), r.get("page"), r.get("evidence"),
                bool(r.get("in_summary")))
        for r in (r for r in diff.facts_removed if r["country"] == country):
            add(country, "fact", "removed", r["item"], None, fact_text(r), None, r.get("page"), r.get("evidence"),
                bool(r.get("in_summary")))
        for r in (r for r in diff.relations_added if r["subject"] == country):
            add(country, "relation", "added", r["other"], r["relation"], None, f"{r['relation']} {r['other']}",
                r.get("page"), r.get("evidence"))
        for r in (r for r in diff.relations_removed if r["subject"] == country):
            add(country, "relation", "removed", r["other"], r["relation"], f"{r['relation']} {r['other']}", None,
                r.get("page"), r.get("evidence"))
    return QueryResult(columns=list(DIFF_COLUMNS), rows=rows, total=len(rows), matched=len(rows))
