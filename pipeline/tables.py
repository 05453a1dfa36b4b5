"""Tables: stage outputs → the published tables, each with its schema, and their validation.

Input: what the earlier stages returned. Output: ``dict[name, pyarrow.Table]``, every table
checked against its ``TableSpec`` (types, required fields, value checks) before anything is
written. Every table has an ``edition`` column so that editions can share one database.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import analyses
from pipeline.acquire import Acquired
from pipeline.analyses import AnalysisSettings, load_analysis_settings
from pipeline.attribute import Attribution
from pipeline.claims import ORIGINS, ClaimSet
from pipeline.errors import TableValidationError
from pipeline.extract import ExtractedDocument
from pipeline.extract.model import PAGE_PROBLEM_KINDS, TEXT_LAYER, PageProblem
from pipeline.extract.structure import title_key
from pipeline.lexicon import Lexicon
from pipeline.segment import Segmented, summary_sentence_ids
from pipeline.timestamps import DATE_FORMAT, DATE_PATTERN, TIMESTAMP_FORMAT, TIMESTAMP_PATTERN, iso_timestamp
from pipeline.tokenize import TOKEN_SCHEMA


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    required: tuple[str, ...]  # columns that may hold no null
    key: tuple[str, ...]  # columns that identify a row within an edition
    checks: tuple[tuple[str, Callable[[pa.Table], pa.Array]], ...] = field(default=())  # (what, rows that fail)


def _f(name: str, typ: pa.DataType) -> pa.Field:
    return pa.field(name, typ)


def _not_matching(column: str, pattern: str) -> Callable[[pa.Table], pa.Array]:
    """A check: the rows whose ``column`` is not null and does not match ``pattern``."""
    return lambda t: pc.invert(pc.match_substring_regex(t[column], pattern))


ED = _f("edition", pa.string())
LIST_INT = pa.list_(pa.int32())
LIST_STR = pa.list_(pa.string())

SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "documents",
            pa.schema([ED, _f("sha256", pa.string()), _f("report_id", pa.string()), _f("report_title", pa.string()),
                       _f("published", pa.string()), _f("run_key", pa.string()),
                       _f("source", pa.string()), _f("url", pa.string()),
                       _f("final_url", pa.string()), _f("raw_path", pa.string()), _f("bytes", pa.int64()),
                       _f("etag", pa.string()), _f("last_modified", pa.string()), _f("fetched_at", pa.string()),
                       _f("processed_at", pa.string()), _f("title", pa.string()), _f("pages", pa.int32()),
                       _f("pages_without_text", LIST_INT), _f("pages_with_unmapped_glyphs", LIST_INT),
                       _f("sentences", pa.int32()), _f("tokens", pa.int64()), _f("mentions", pa.int32()),
                       _f("pipeline_version", pa.string()), _f("lexicon_version", pa.string()),
                       _f("config", pa.string())]),
            required=("edition", "sha256", "source", "raw_path", "bytes", "fetched_at", "processed_at", "pages"),
            key=("edition",),
            checks=tuple((f"{c} is {TIMESTAMP_FORMAT}", _not_matching(c, TIMESTAMP_PATTERN))
                         for c in ("fetched_at", "processed_at", "last_modified"))
            + ((f"published is {DATE_FORMAT}", _not_matching("published", DATE_PATTERN)),),
        ),
        TableSpec(
            "pages",
            pa.schema([ED, _f("page", pa.int32()), _f("width", pa.float32()), _f("height", pa.float32()),
                       _f("chars", pa.int32()), _f("has_text_layer", pa.bool_()), _f("unmapped_share", pa.float32()),
                       _f("column_count", pa.int8()), _f("problem", pa.string()), _f("removed_lines", LIST_STR),
                       _f("text_source", pa.string()), _f("ocr_engine", pa.string()), _f("ocr_language", pa.string()),
                       _f("ocr_confidence", pa.float32())]),
            required=("edition", "page", "chars", "has_text_layer", "unmapped_share", "text_source"),
            key=("edition", "page"),
            checks=(("page >= 1", lambda t: pc.less(t["page"], 1)),
                    ("0 <= unmapped_share <= 1", lambda t: pc.or_(pc.less(t["unmapped_share"], 0), pc.greater(t["unmapped_share"], 1))),
                    ("text_source is text_layer or ocr",
                     lambda t: pc.invert(pc.is_in(t["text_source"], value_set=pa.array(["text_layer", "ocr"])))),
                    ("0 <= ocr_confidence <= 100",
                     lambda t: pc.or_(pc.less(t["ocr_confidence"], 0), pc.greater(t["ocr_confidence"], 100)))),
        ),
        TableSpec(
            "sections",
            pa.schema([ED, _f("section_id", pa.int32()), _f("level", pa.int8()), _f("heading", pa.string()),
                       _f("path", pa.string()), _f("parent_id", pa.int32()), _f("page", pa.int32()),
                       _f("subject", pa.string()), _f("listed", pa.bool_()), _f("role", pa.string())]),
            required=("edition", "section_id", "level", "heading", "path", "page", "role"),
            key=("edition", "section_id"),
        ),
        TableSpec(
            "sentences",
            pa.schema([ED, _f("sentence_id", pa.int32()), _f("paragraph_id", pa.int32()), _f("section_id", pa.int32()),
                       _f("page", pa.int32()), _f("position_in_paragraph", pa.int32()), _f("kind", pa.string()), _f("text", pa.string()),
                       _f("subject", pa.string()), _f("subject_source", pa.string()), _f("in_summary", pa.bool_()),
                       _f("text_source", pa.string())]),
            required=("edition", "sentence_id", "paragraph_id", "section_id", "page", "kind", "text", "subject_source",
                      "in_summary"),
            key=("edition", "sentence_id"),
            checks=(("text is not empty", lambda t: pc.equal(pc.utf8_length(t["text"]), 0)),),
        ),
        TableSpec(
            "tokens",
            pa.schema([ED, *TOKEN_SCHEMA]),
            required=("edition", "sentence_id", "token_index", "surface", "normalized", "pos", "char_start", "char_end"),
            key=("edition", "sentence_id", "token_index"),
            checks=(("char_start < char_end", lambda t: pc.greater_equal(t["char_start"], t["char_end"])),),
        ),
        TableSpec(
            "mentions",
            pa.schema([ED, _f("mention_id", pa.int32()), _f("sentence_id", pa.int32()), _f("paragraph_id", pa.int32()),
                       _f("section_id", pa.int32()), _f("page", pa.int32()), _f("char_start", pa.int32()), _f("char_end", pa.int32()),
                       _f("text", pa.string()), _f("label", pa.string()), _f("id", pa.string()), _f("top", pa.string()),
                       _f("via", pa.string()), _f("subject", pa.string()), _f("subject_source", pa.string()),
                       _f("kind", pa.string()), _f("text_source", pa.string()), _f("approximate", pa.bool_())]),
            required=("edition", "mention_id", "sentence_id", "page", "char_start", "char_end", "text", "label", "id", "top", "via",
                      "kind"),
            key=("edition", "mention_id"),
            checks=(("char_start < char_end", lambda t: pc.greater_equal(t["char_start"], t["char_end"])),
                    ("label is known", lambda t: pc.invert(pc.is_in(t["label"], pa.array(["COUNTRY", "REGION", "FRAMEWORK", "TECHNOLOGY"]))))),
        ),
        TableSpec(
            "country_technology",
            pa.schema([ED, _f("country", pa.string()), _f("technology", pa.string()), _f("technology_name", pa.string()),
                       _f("mentions", pa.int32()), _f("sentences", pa.int32()), _f("pages", LIST_INT),
                       _f("items", LIST_STR), _f("sentence_ids", LIST_INT), _f("evidence_page", pa.int32()),
                       _f("evidence", pa.string())]),
            required=("edition", "country", "technology", "mentions", "sentences", "pages", "sentence_ids", "evidence_page", "evidence"),
            key=("edition", "country", "technology"),
            checks=(("mentions >= sentences >= 1", lambda t: pc.or_(pc.less(t["sentences"], 1), pc.less(t["mentions"], t["sentences"]))),),
        ),
        TableSpec(
            "policy_facts",
            pa.schema([ED, _f("fact_id", pa.int32()), _f("country", pa.string()), _f("item_count", pa.int32()),
                       _f("year", pa.int32()), _f("year_qualifier", pa.string()), _f("item", pa.string()),
                       _f("part_of", pa.int32()), _f("policy", pa.string()), _f("administration", pa.string()),
                       _f("update_every_years", pa.int32()), _f("technologies", LIST_STR), _f("page", pa.int32()),
                       _f("sentence_id", pa.int32()), _f("also_in", LIST_INT), _f("evidence", pa.string()),
                       _f("in_summary", pa.bool_()), _f("text_source", pa.string())]),
            required=("edition", "fact_id", "country", "item", "page", "sentence_id", "evidence", "in_summary"),
            key=("edition", "fact_id"),
            checks=(("item_count >= 1", lambda t: pc.less(t["item_count"], 1)),
                    ("1900 <= year <= 2100", lambda t: pc.or_(pc.less(t["year"], 1900), pc.greater(t["year"], 2100)))),
        ),
        TableSpec(
            "relations",
            pa.schema([ED, _f("relation_id", pa.int32()), _f("subject", pa.string()), _f("other", pa.string()),
                       _f("other_label", pa.string()), _f("relation", pa.string()), _f("cue", pa.string()),
                       _f("via", pa.string()), _f("page", pa.int32()), _f("sentence_id", pa.int32()),
                       _f("evidence", pa.string()), _f("in_summary", pa.bool_()), _f("text_source", pa.string())]),
            required=("edition", "relation_id", "subject", "other", "relation", "page", "sentence_id", "evidence",
                      "in_summary"),
            key=("edition", "relation_id"),
            checks=(("relation is partner, competitor, framework or other",
                     lambda t: pc.invert(pc.is_in(t["relation"], pa.array(["partner", "competitor", "framework", "other"])))),
                    ("subject != other", lambda t: pc.equal(t["subject"], t["other"]))),
        ),
        TableSpec(
            "policies",
            pa.schema([ED, _f("policy_id", pa.int32()), _f("subject", pa.string()), _f("name", pa.string()),
                       _f("type", pa.string()), _f("page", pa.int32()), _f("sentence_id", pa.int32()),
                       _f("evidence", pa.string())]),
            required=("edition", "policy_id", "name", "type", "page", "sentence_id", "evidence"),
            key=("edition", "policy_id"),
            checks=(("type is strategy, framework, concept or list",
                     lambda t: pc.invert(pc.is_in(t["type"], pa.array(["strategy", "framework", "concept", "list"])))),),
        ),
        TableSpec(
            "keyterms",
            pa.schema([ED, _f("country", pa.string()), _f("rank", pa.int32()), _f("term", pa.string()),
                       _f("score", pa.float32()), _f("frequency", pa.int32())]),
            required=("edition", "country", "rank", "term", "score", "frequency"),
            key=("edition", "country", "rank"),
        ),
        TableSpec(
            "country_similarity",
            pa.schema([ED, _f("country", pa.string()), _f("other", pa.string()), _f("similarity", pa.float32()),
                       _f("shared_terms", LIST_STR)]),
            required=("edition", "country", "other", "similarity"),
            key=("edition", "country", "other"),
        ),
        TableSpec(
            "summary_claims",
            pa.schema([ED, _f("claim_id", pa.string()), _f("kind", pa.string()), _f("country", pa.string()),
                       _f("claim", pa.string()), _f("technology", pa.string()), _f("item_count", pa.int32()),
                       _f("year", pa.int32()), _f("year_qualifier", pa.string()), _f("item", pa.string()),
                       _f("aliases", LIST_STR), _f("part_of", pa.int32()), _f("update_every_years", pa.int32()),
                       _f("other", pa.string()), _f("relation", pa.string()), _f("origin", pa.string()),
                       _f("stated_in", LIST_STR), _f("page", pa.int32()), _f("sentence_id", pa.int32()),
                       _f("evidence", pa.string())]),
            required=("edition", "claim_id", "kind", "country", "claim", "origin", "stated_in"),
            key=("edition", "claim_id"),
            checks=(("kind is technology, fact or relation",
                     lambda t: pc.invert(pc.is_in(t["kind"], pa.array(["technology", "fact", "relation"])))),
                    ("origin is summary_chapter, announcement_page or expectations_file",
                     lambda t: pc.invert(pc.is_in(t["origin"], pa.array(list(ORIGINS)))))),
        ),
        TableSpec(
            "summary_comparison",
            pa.schema([ED, _f("difference_id", pa.int32()), _f("status", pa.string()), _f("page_text", pa.string()),
                       _f("chapter_text", pa.string()), _f("chapter_page", pa.int32()), _f("similarity", pa.float32())]),
            required=("edition", "difference_id", "status", "similarity"),
            key=("edition", "difference_id"),
            checks=(("status is changed, only_page or only_chapter",
                     lambda t: pc.invert(pc.is_in(t["status"], pa.array(["changed", "only_page", "only_chapter"])))),),
        ),
        TableSpec(
            "findings_check",
            pa.schema([ED, _f("claim_id", pa.string()), _f("kind", pa.string()), _f("country", pa.string()),
                       _f("claim", pa.string()), _f("origin", pa.string()), _f("status", pa.string()),
                       _f("detail", pa.string()), _f("detail_ja", pa.string()), _f("summary_page", pa.int32()),
                       _f("summary_sentence_id", pa.int32()),
                       _f("summary_evidence", pa.string()), _f("evidence_table", pa.string()),
                       _f("evidence_row", pa.int32()), _f("page", pa.int32()), _f("sentence_id", pa.int32()),
                       _f("evidence", pa.string())]),
            required=("edition", "claim_id", "kind", "country", "claim", "origin", "status"),
            key=("edition", "claim_id"),
            checks=(("status is matched, missing or contradicted",
                     lambda t: pc.invert(pc.is_in(t["status"], pa.array(["matched", "missing", "contradicted"])))),
                    ("origin is summary_chapter, announcement_page or expectations_file",
                     lambda t: pc.invert(pc.is_in(t["origin"], pa.array(list(ORIGINS)))))),
        ),
        TableSpec(
            "lexicon_gaps",
            pa.schema([ED, _f("text", pa.string()), _f("ner_label", pa.string()), _f("occurrences", pa.int32()),
                       _f("sentence_ids", LIST_INT), _f("page", pa.int32()), _f("evidence", pa.string())]),
            required=("edition", "text", "ner_label", "occurrences", "sentence_ids", "page", "evidence"),
            key=("edition", "text", "ner_label"),
        ),
        TableSpec(
            "pdf_tables",
            pa.schema([ED, _f("page", pa.int32()), _f("table_index", pa.int32()), _f("table_row", pa.int32()),
                       _f("table_column", pa.int32()), _f("text", pa.string()), _f("caption", pa.string())]),
            required=("edition", "page", "table_index", "table_row", "table_column", "text"),
            key=("edition", "page", "table_index", "table_row", "table_column"),
        ),
        TableSpec(
            "contents",
            pa.schema([ED, _f("entry_id", pa.int32()), _f("source", pa.string()), _f("page", pa.int32()),
                       _f("level", pa.int8()), _f("title", pa.string()), _f("printed_page", pa.string()),
                       _f("section_id", pa.int32())]),
            required=("edition", "entry_id", "source", "level", "title"),
            key=("edition", "entry_id"),
            checks=(("source is contents_page or outline",
                     lambda t: pc.invert(pc.is_in(t["source"], pa.array(["contents_page", "outline"])))),),
        ),
        TableSpec(
            "footnotes",
            pa.schema([ED, _f("footnote_id", pa.int32()), _f("page", pa.int32()), _f("number", pa.string()),
                       _f("text", pa.string()), _f("sentence_id", pa.int32()), _f("cited_by", LIST_INT),
                       _f("citing_page", pa.int32()), _f("citing_sentence", pa.string())]),
            required=("edition", "footnote_id", "page", "number", "text", "sentence_id", "cited_by"),
            key=("edition", "footnote_id"),
        ),
    ]
}


def _outside(column: str, low: float, high: float | None = None) -> Callable[[pa.Table], pa.Array]:
    """Rows whose ``column`` is below ``low`` or above ``high``."""
    def failing(t: pa.Table) -> pa.Array:
        below = pc.less(t[column], low)
        return below if high is None else pc.or_(below, pc.greater(t[column], high))
    return failing


# KH Coder's analyses (pipeline/analyses.py), built by ``khcoder_tables``.
SPECS.update({spec.name: spec for spec in [
    TableSpec(
        "cooccurrence_nodes",
        pa.schema([ED, _f("node_id", pa.string()), _f("node_label", pa.string()), _f("node_kind", pa.string()),
                   _f("frequency", pa.int32()), _f("degree", pa.int32())]),
        required=("edition", "node_id", "node_label", "node_kind", "frequency", "degree"),
        key=("edition", "node_id"),
        checks=(("node_kind is country or technology",
                 lambda t: pc.invert(pc.is_in(t["node_kind"], pa.array(["country", "technology"])))),
                ("frequency >= 1", _outside("frequency", 1)), ("degree >= 0", _outside("degree", 0))),
    ),
    TableSpec(
        "cooccurrence_edges",
        pa.schema([ED, _f("node_a", pa.string()), _f("node_b", pa.string()), _f("cooccurrences", pa.int32()),
                   _f("jaccard_index", pa.float64()), _f("edge_rank", pa.int32())]),
        required=("edition", "node_a", "node_b", "cooccurrences", "jaccard_index", "edge_rank"),
        key=("edition", "node_a", "node_b"),
        checks=(("0 < jaccard_index <= 1", lambda t: pc.or_(pc.less_equal(t["jaccard_index"], 0),
                                                             pc.greater(t["jaccard_index"], 1))),
                ("node_a < node_b", lambda t: pc.greater_equal(t["node_a"], t["node_b"])),
                ("cooccurrences >= 1", _outside("cooccurrences", 1)), ("edge_rank >= 1", _outside("edge_rank", 1))),
    ),
    TableSpec(
        "correspondence",
        pa.schema([ED, _f("point_kind", pa.string()), _f("point_id", pa.string()), _f("point_label", pa.string()),
                   _f("dim1", pa.float64()), _f("dim2", pa.float64()), _f("mass", pa.float64()),
                   _f("share_dim1", pa.float64()), _f("share_dim2", pa.float64())]),
        required=("edition", "point_kind", "point_id", "point_label", "dim1", "mass", "share_dim1"),
        key=("edition", "point_kind", "point_id"),
        checks=(("point_kind is country or technology",
                 lambda t: pc.invert(pc.is_in(t["point_kind"], pa.array(["country", "technology"])))),
                ("0 < mass <= 1", lambda t: pc.or_(pc.less_equal(t["mass"], 0), pc.greater(t["mass"], 1))),
                ("0 <= share_dim1 <= 1", _outside("share_dim1", 0, 1)), ("0 <= share_dim2 <= 1", _outside("share_dim2", 0, 1)),
                ("share_dim1 + share_dim2 <= 1", lambda t: pc.greater(pc.add(t["share_dim1"], t["share_dim2"]), 1 + 1e-9))),
    ),
    TableSpec(
        "crosstab_residuals",
        pa.schema([ED, _f("country", pa.string()), _f("country_name", pa.string()), _f("technology", pa.string()),
                   _f("technology_name", pa.string()), _f("observed", pa.int32()), _f("expected", pa.float64()),
                   _f("residual", pa.float64()), _f("chi_square", pa.float64()), _f("dof", pa.int32()),
                   _f("p_value", pa.float64())]),
        required=("edition", "country", "country_name", "technology", "technology_name", "observed", "expected",
                  "residual", "chi_square", "dof", "p_value"),
        key=("edition", "country", "technology"),
        checks=(("observed >= 0", _outside("observed", 0)), ("expected > 0", lambda t: pc.less_equal(t["expected"], 0)),
                ("chi_square >= 0", _outside("chi_square", 0)), ("dof >= 1", _outside("dof", 1)),
                ("0 <= p_value <= 1", _outside("p_value", 0, 1))),
    ),
    TableSpec(
        "word_frequencies",
        pa.schema([ED, _f("pos_group", pa.string()), _f("term", pa.string()), _f("frequency", pa.int32()),
                   _f("sentences", pa.int32()), _f("term_rank", pa.int32())]),
        required=("edition", "pos_group", "term", "frequency", "sentences", "term_rank"),
        key=("edition", "pos_group", "term"),
        checks=(("frequency >= sentences >= 1", lambda t: pc.or_(pc.less(t["sentences"], 1),
                                                                 pc.less(t["frequency"], t["sentences"]))),
                ("term_rank >= 1", _outside("term_rank", 1))),
    ),
]})


def validate(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast to the spec's schema and check it; raise ``TableValidationError`` listing every problem."""
    problems: list[str] = []
    missing = [f.name for f in spec.schema if f.name not in table.column_names]
    extra = [c for c in table.column_names if c not in spec.schema.names]
    if missing or extra:
        raise TableValidationError(
            f"table {spec.name!r} does not match its schema: missing columns {missing}, unexpected columns {extra}",
            "this is a bug in jstmine: report it with the command you ran",
        )
    try:
        table = table.select(spec.schema.names).cast(spec.schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise TableValidationError(f"table {spec.name!r} has a column of the wrong type: {exc}",
                                   "this is a bug in jstmine: report it with the command you ran") from exc
    for col in spec.required:
        nulls = table[col].null_count
        if nulls:
            problems.append(f"{nulls} rows have no {col}")
    for what, failing in spec.checks:
        if table.num_rows:
            bad = pc.sum(pc.fill_null(failing(table), False).cast(pa.int64())).as_py() or 0
            if bad:
                problems.append(f"{bad} rows break '{what}'")
    if table.num_rows and spec.key:
        repeated = repeated_keys(table, spec.key)
        if repeated:
            problems.append(f"{repeated} rows repeat the key {spec.key}")
    if problems:
        raise TableValidationError(
            f"table {spec.name!r} failed validation: " + "; ".join(problems),
            "nothing was published; this is a bug in jstmine: report it with the command you ran",
        )
    return table


def repeated_keys(table: pa.Table, key: tuple[str, ...]) -> int:
    """How many rows of ``table`` repeat the ``key`` of a row before them (nulls equal to nulls):
    its rows less its distinct keys.

    Sorted, not grouped: a hash grouping of a long report's tokens by three columns took 45 MB
    (22 MB on 300 pages) at the moment the tables are built; this takes the sort's indices and
    one key column at a time.

    Parameters:
        table: the table.
        key: the columns that identify a row.
    """
    n = table.num_rows
    if n < 2:
        return 0
    order = pc.sort_indices(table, sort_keys=[(column, "ascending") for column in key])
    same = None  # row i + 1 of the sorted keys equals row i, in every column so far
    for column in key:
        values = table[column].take(order)
        after, before = values.slice(1), values.slice(0, n - 1)
        equal = pc.or_(pc.fill_null(pc.equal(after, before), False),
                       pc.and_(pc.is_null(after), pc.is_null(before)))
        same = equal if same is None else pc.and_(same, equal)
        del values, after, before
    return pc.sum(same.cast(pa.int64())).as_py() or 0


# Attributes of the stages' values whose column has another name: a column is never an SQL
# keyword or the name of an SQL function (``select count from policy_facts`` would not say what it
# seems to).
COLUMN_OF = {"count": "item_count"}


# Where a pages.problem cell's next problem begins: "; " and a kind of PAGE_PROBLEM_KINDS (a detail
# may hold "; " itself, a refused font's reason does).
_NEXT_PROBLEM = re.compile("; (?=(?:" + "|".join(map(re.escape, PAGE_PROBLEM_KINDS)) + "): )")


def problem_cell(problems: list[PageProblem]) -> str:
    """The pages table's ``problem`` cell of a page: each problem as "kind: detail", joined by "; "
    (``page_problems_of_cell`` reads it back).

    Parameters:
        problems: the page's problems, in the order extraction found them.
    """
    return "; ".join(f"{p.kind}: {p.detail}" for p in problems)


def page_problems_of_cell(cell: str | None) -> list[tuple[str, str]]:
    """The (kind, detail) of each problem in a pages table's ``problem`` cell (``problem_cell``),
    in order: a cell is split only where "; " is followed by a known kind, so a detail that holds
    "; " stays whole. A part that does not begin with a known kind (an older jstmine's) is kept
    as its text before ": " and the rest.

    Parameters:
        cell: the cell's text; None or "" for a page without problems.
    """
    if not cell:
        return []
    found = []
    for part in _NEXT_PROBLEM.split(cell):
        kind, _, detail = part.partition(": ")
        found.append((kind, detail))
    return found


def _table(name: str, rows: dict[str, list]) -> pa.Table:
    spec = SPECS[name]
    return pa.table({f.name: pa.array(rows.get(f.name, []), type=f.type) for f in spec.schema}, schema=spec.schema)


def build_tables(
    *,
    edition: str,
    acquired: Acquired,
    extracted: ExtractedDocument,
    segmented: Segmented,
    tokens: pa.Table,
    attribution: Attribution,
    lexicon: Lexicon,
    processed_at: str,
    pipeline_version: str,
    config: str,
    run_key: str = "",
) -> dict[str, pa.Table]:
    """Every published table for one edition, validated."""
    subject_of = {s.sentence_id: s for s in attribution.sentences}
    text_of = {s.sentence_id: s.text for s in segmented.sentences}
    kind_of = {s.sentence_id: s.kind for s in segmented.sentences}
    page_of = {s.sentence_id: s.page for s in segmented.sentences}
    problems: dict[int, list[PageProblem]] = {}
    for p in extracted.problems:
        problems.setdefault(p.page, []).append(p)
    source_of = page_sources(extracted)
    summary = summary_sentence_ids(segmented)
    n = len(segmented.sentences)

    pages = _table("pages", {
        "edition": [edition] * len(extracted.pages),
        "page": [p.page for p in extracted.pages],
        "width": [p.width for p in extracted.pages],
        "height": [p.height for p in extracted.pages],
        "chars": [p.chars for p in extracted.pages],
        "has_text_layer": [p.has_text_layer for p in extracted.pages],
        "unmapped_share": [p.unmapped_share for p in extracted.pages],
        "column_count": [p.columns for p in extracted.pages],
        "problem": [problem_cell(problems[p.page]) if p.page in problems else None for p in extracted.pages],
        "removed_lines": [list(p.removed_lines) for p in extracted.pages],
        "text_source": [p.text_source for p in extracted.pages],
        "ocr_engine": [p.ocr_engine or None for p in extracted.pages],
        "ocr_language": [p.ocr_language or None for p in extracted.pages],
        "ocr_confidence": [p.ocr_confidence for p in extracted.pages],
    })
    contents, listed_keys = _contents(edition, extracted, segmented)
    first_subject_of_section = {}
    for s in segmented.sentences:
        if s.kind == "heading":
            first_subject_of_section[s.section_id] = subject_of[s.sentence_id].subject
    sections = _table("sections", {
        "edition": [edition] * len(segmented.sections),
        "section_id": [s.section_id for s in segmented.sections],
        "level": [s.level for s in segmented.sections],
        "heading": [s.heading for s in segmented.sections],
        "path": [" > ".join(s.path) for s in segmented.sections],
        "parent_id": [s.parent_id for s in segmented.sections],
        "page": [s.page for s in segmented.sections],
        "subject": [first_subject_of_section.get(s.section_id) for s in segmented.sections],
        "listed": _listed(segmented, listed_keys),
        "role": [s.role for s in segmented.sections],
    })
    sentences = _table("sentences", {
        "edition": [edition] * n,
        "sentence_id": [s.sentence_id for s in segmented.sentences],
        "paragraph_id": [s.paragraph_id for s in segmented.sentences],
        "section_id": [s.section_id for s in segmented.sentences],
        "page": [s.page for s in segmented.sentences],
        "position_in_paragraph": [s.index for s in segmented.sentences],
        "kind": [s.kind for s in segmented.sentences],
        "text": [s.text for s in segmented.sentences],
        "subject": [subject_of[s.sentence_id].subject for s in segmented.sentences],
        "subject_source": [subject_of[s.sentence_id].subject_source for s in segmented.sentences],
        "in_summary": [s.sentence_id in summary for s in segmented.sentences],
        "text_source": [source_of.get(s.page, TEXT_LAYER) for s in segmented.sentences],
    })
    token_table = tokens.add_column(0, "edition", pa.repeat(pa.scalar(edition, pa.string()), tokens.num_rows))
    ms = attribution.mentions
    mentions = _table("mentions", {
        "edition": [edition] * len(ms),
        "mention_id": list(range(len(ms))),
        "sentence_id": [a.mention.sentence_id for a in ms],
        "paragraph_id": [a.paragraph_id for a in ms],
        "section_id": [a.section_id for a in ms],
        "page": [a.page for a in ms],
        "char_start": [a.mention.start for a in ms],
        "char_end": [a.mention.end for a in ms],
        "text": [a.mention.text for a in ms],
        "label": [a.mention.label for a in ms],
        "id": [a.mention.id for a in ms],
        "top": [a.mention.top for a in ms],
        "via": [a.mention.via for a in ms],
        "subject": [a.subject for a in ms],
        "subject_source": [a.subject_source for a in ms],
        "kind": [kind_of[a.mention.sentence_id] for a in ms],
        "text_source": [source_of.get(a.page, TEXT_LAYER) for a in ms],
        "approximate": [getattr(a.mention, "approximate", False) for a in ms],
    })
    country_technology = _country_technology(edition, attribution, lexicon, text_of)
    pdf_tables = _pdf_tables(edition, extracted)
    notes = segmented.footnotes
    footnotes = _table("footnotes", {
        "edition": [edition] * len(notes),
        "footnote_id": list(range(len(notes))),
        "page": [f.page for f in notes],
        "number": [f.label for f in notes],
        "text": [f.text for f in notes],
        "sentence_id": [f.sentence_id for f in notes],
        "cited_by": [list(f.cited_by) for f in notes],
        "citing_page": [page_of[f.cited_by[0]] if f.cited_by else None for f in notes],
        "citing_sentence": [text_of[f.cited_by[0]] if f.cited_by else None for f in notes],
    })
    documents = _table("documents", {
        "edition": [edition],
        "sha256": [acquired.sha256],
        "report_id": [getattr(acquired, "report_id", None)],
        "report_title": [getattr(acquired, "title", None)],
        "published": [getattr(acquired, "published", None)],
        "run_key": [run_key or None],
        "source": [acquired.source],
        "url": [acquired.url],
        "final_url": [acquired.final_url],
        "raw_path": [str(acquired.path)],
        "bytes": [acquired.bytes],
        "etag": [acquired.etag],
        # Every time in one format (pipeline.timestamps); the HTTP Last-Modified header as sent
        # stays in raw/manifest.jsonl, for the next request's If-Modified-Since.
        "last_modified": [iso_timestamp(acquired.last_modified)],
        "fetched_at": [iso_timestamp(acquired.fetched_at)],
        "processed_at": [iso_timestamp(processed_at)],
        "title": [extracted.metadata.get("Title") or extracted.metadata.get("title")],
        "pages": [len(extracted.pages)],
        "pages_without_text": [[p.page for p in extracted.problems if p.kind == "no_text_layer"]],
        "pages_with_unmapped_glyphs": [[p.page for p in extracted.problems if p.kind == "unmapped_glyphs"]],
        "sentences": [n],
        "tokens": [tokens.num_rows],
        "mentions": [len(ms)],
        "pipeline_version": [pipeline_version],
        "lexicon_version": [lexicon.version],
        "config": [config],
    })
    tables = {
        "documents": documents, "pages": pages, "sections": sections, "sentences": sentences,
        "tokens": token_table, "mentions": mentions, "country_technology": country_technology,
        "pdf_tables": pdf_tables, "footnotes": footnotes, "contents": contents,
    }
    return {name: validate(t, SPECS[name]) for name, t in tables.items()}


def _country_technology(edition: str, attribution: Attribution, lexicon: Lexicon, text_of: dict[int, str]) -> pa.Table:
    """Technology mentions grouped by (subject, broad technology), with the evidence behind each."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for a in attribution.mentions:
        if a.mention.label == "TECHNOLOGY" and a.subject:
            groups[(a.subject, a.mention.top)].append(a)
    rows: dict[str, list] = defaultdict(list)
    for (country, tech), items in sorted(groups.items()):
        sids = sorted({a.mention.sentence_id for a in items})
        first = min(items, key=lambda a: a.mention.sentence_id)
        rows["edition"].append(edition)
        rows["country"].append(country)
        rows["technology"].append(tech)
        rows["technology_name"].append(lexicon.entries[tech].name)
        rows["mentions"].append(len(items))
        rows["sentences"].append(len(sids))
        rows["pages"].append(sorted({a.page for a in items}))
        rows["items"].append(sorted({a.mention.id for a in items if a.mention.id != tech}))
        rows["sentence_ids"].append(sids)
        rows["evidence_page"].append(first.page)
        rows["evidence"].append(text_of[first.mention.sentence_id])
    return _table("country_technology", rows)


def _contents(edition: str, extracted: ExtractedDocument, segmented: Segmented) -> tuple[pa.Table, set[str]]:
    """The contents page's entries and the outline's, each with the section whose heading it
    names (None: listed but not found in the body); and the set of listed titles."""
    section_of: dict[str, int] = {}
    for s in segmented.sections[1:]:
        section_of.setdefault(title_key(s.heading), s.section_id)
    entries = [("contents_page", e.page, e.level, e.title, e.printed_page) for e in extracted.contents]
    top = min((e.level for e in extracted.outline), default=1)
    entries += [("outline", e.page, e.level - top + 1, e.title, None) for e in extracted.outline]
    rows: dict[str, list] = defaultdict(list)
    for i, (source, page, level, title, printed) in enumerate(entries):
        rows["edition"].append(edition)
        rows["entry_id"].append(i)
        rows["source"].append(source)
        rows["page"].append(page)
        rows["level"].append(level)
        rows["title"].append(title)
        rows["printed_page"].append(printed or None)
        rows["section_id"].append(section_of.get(title_key(title)))
    return _table("contents", rows), {title_key(title) for _, _, _, title, _ in entries}


def _listed(segmented: Segmented, listed_keys: set[str]) -> list[bool | None]:
    """Per section: whether the contents or outline lists its heading (None: the document has
    neither, or it is the implicit section before the first heading)."""
    if not listed_keys:
        return [None] * len(segmented.sections)
    return [None if s.section_id == 0 else title_key(s.heading) in listed_keys for s in segmented.sections]


def _pdf_tables(edition: str, extracted: ExtractedDocument) -> pa.Table:
    rows: dict[str, list] = defaultdict(list)
    for table in extracted.tables:
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row):
                rows["edition"].append(edition)
                rows["page"].append(table.page)
                rows["table_index"].append(table.index)
                rows["table_row"].append(r)
                rows["table_column"].append(c)
                rows["text"].append(cell or "")
                rows["caption"].append(table.caption or None)
    return _table("pdf_tables", rows)


def page_sources(extracted: ExtractedDocument) -> dict[int, str]:
    """How each page's text was obtained (``PageInfo.text_source``: ``text_layer`` or ``ocr``), by
    page number. ``extracted``: the extract stage's document."""
    return {p.page: p.text_source for p in extracted.pages}


def build_analysis_tables(*, edition: str, facts: list, relations: list, policies: list, keyterms,
                          page_sources: dict[int, str]) -> dict[str, pa.Table]:
    """policy_facts, relations, policies, keyterms and country_similarity, validated.

    ``page_sources``: each page's ``text_source`` (``page_sources(extracted)``), carried into the
    facts and relations from the page of their sentence (a page not listed: ``text_layer``).
    """
    def rows(items, fields, id_field, provenance=False):
        out: dict[str, list] = defaultdict(list)
        for i, item in enumerate(items):
            out["edition"].append(edition)
            out[id_field].append(i)
            for f in fields:
                value = getattr(item, f)
                out[COLUMN_OF.get(f, f)].append(list(value) if isinstance(value, tuple) else value)
            if provenance:
                out["text_source"].append(page_sources.get(item.page, TEXT_LAYER))
        return out

    fact_fields = ["country", "count", "year", "year_qualifier", "item", "part_of", "policy", "administration",
                   "update_every_years", "technologies", "page", "sentence_id", "also_in", "evidence", "in_summary"]
    tables = {
        "policy_facts": _table("policy_facts", rows(facts, fact_fields, "fact_id", provenance=True)),
        "relations": _table("relations", rows(relations, ["subject", "other", "other_label", "relation", "cue", "via",
                                                          "page", "sentence_id", "evidence", "in_summary"],
                                              "relation_id", provenance=True)),
        "policies": _table("policies", rows(policies, ["subject", "name", "type", "page", "sentence_id", "evidence"], "policy_id")),
        "keyterms": _table("keyterms", {
            "edition": [edition] * len(keyterms.terms),
            "country": [t.country for t in keyterms.terms], "rank": [t.rank for t in keyterms.terms],
            "term": [t.term for t in keyterms.terms], "score": [t.score for t in keyterms.terms],
            "frequency": [t.count for t in keyterms.terms]}),
        "country_similarity": _table("country_similarity", {
            "edition": [edition] * len(keyterms.similarity),
            "country": [p.country for p in keyterms.similarity], "other": [p.other for p in keyterms.similarity],
            "similarity": [p.similarity for p in keyterms.similarity],
            "shared_terms": [list(p.shared_terms) for p in keyterms.similarity]}),
    }
    return {name: validate(t, SPECS[name]) for name, t in tables.items()}


def findings_check_table(edition: str, findings: list) -> pa.Table:
    """The findings check: one row per claim (``pipeline.findings.Finding``), validated."""
    fields = ["claim_id", "kind", "country", "claim", "origin", "status", "detail", "detail_ja", "summary_page",
              "summary_sentence_id", "summary_evidence", "evidence_table", "evidence_row", "page", "sentence_id",
              "evidence"]
    rows = {"edition": [edition] * len(findings), **{f: [getattr(x, f) for x in findings] for f in fields}}
    return validate(_table("findings_check", rows), SPECS["findings_check"])


def claims_tables(edition: str, claim_set: ClaimSet) -> dict[str, pa.Table]:
    """summary_claims (one row per claim) and summary_comparison (where the announcement page's
    summary and the PDF's differ), validated."""
    claims = claim_set.claims
    fields = ["claim_id", "kind", "country", "technology", "count", "year", "year_qualifier", "item", "aliases",
              "part_of", "update_every_years", "other", "relation", "origin", "stated_in", "page", "sentence_id",
              "evidence"]
    rows = {"edition": [edition] * len(claims), "claim": [c.text for c in claims],
            **{COLUMN_OF.get(f, f): [list(v) if isinstance(v := getattr(c, f), tuple) else v for c in claims]
               for f in fields}}
    diffs = claim_set.differences
    comparison = {"edition": [edition] * len(diffs), "difference_id": list(range(len(diffs))),
                  **{f: [getattr(d, f) for d in diffs] for f in ("status", "page_text", "chapter_text", "chapter_page",
                                                                "similarity")}}
    return {"summary_claims": validate(_table("summary_claims", rows), SPECS["summary_claims"]),
            "summary_comparison": validate(_table("summary_comparison", comparison), SPECS["summary_comparison"])}


def lexicon_gaps_table(edition: str, gaps: list) -> pa.Table:
    fields = ["text", "ner_label", "count", "sentence_ids", "page", "evidence"]
    rows = {"edition": [edition] * len(gaps),
            **{("occurrences" if f == "count" else f): [list(v) if isinstance(v := getattr(g, f), tuple) else v for g in gaps] for f in fields}}
    return validate(_table("lexicon_gaps", rows), SPECS["lexicon_gaps"])


def khcoder_tables(edition: str, tables: dict[str, pa.Table], lexicon: Lexicon,
                   settings: AnalysisSettings | None = None) -> dict[str, pa.Table]:
    """KH Coder's analyses of the edition's published tables (``mentions``, ``country_technology``,
    ``tokens``, ``sentences``), validated: cooccurrence_nodes, cooccurrence_edges, correspondence,
    crosstab_residuals and word_frequencies. ``settings``: ``pipeline/data/analyses.toml`` when None."""
    settings = settings or load_analysis_settings()
    names = {e.id: e.name for e in lexicon.entries.values()}
    nodes, edges = analyses.network_rows(analyses.cooccurrence_network(tables["mentions"], names, settings))
    table = analyses.frequent(analyses.body_crosstab(tables["mentions"], tables["sentences"], settings.kinds),
                              settings.crosstab.min_sentences).table
    rows = {
        "cooccurrence_nodes": nodes,
        "cooccurrence_edges": edges,
        "correspondence": analyses.correspondence(table, names).rows,
        "crosstab_residuals": analyses.adjusted_residuals(table, names).rows,
        "word_frequencies": analyses.word_frequencies(tables["tokens"], tables["sentences"], settings),
    }
    out = {}
    for name, items in rows.items():
        columns = {f.name: [edition] * len(items) if f.name == "edition" else [r[f.name] for r in items]
                   for f in SPECS[name].schema}
        out[name] = validate(_table(name, columns), SPECS[name])
    return out
