"""KH Coder's analyses over the published stage outputs: co-occurrence network, correspondence
analysis, chi-square residuals of the crosstab, frequency lists by part of speech.

Input: pyarrow tables as published (``mentions`` with their sentence ids, kinds and subjects,
``tokens`` and ``sentences``), display names by id, and the settings in
``pipeline/data/analyses.toml`` (``load_analysis_settings``). Output: rows (lists of dicts) for the
tables ``cooccurrence_nodes``, ``cooccurrence_edges``, ``correspondence``, ``crosstab_residuals``
and ``word_frequencies`` (``pipeline/tables.py`` turns them into validated tables), or a note
saying why an analysis has nothing to show. Only sentences of the configured kinds (body text and
headings) are read: captions, footnotes, figure text and references would count the body twice.
The crosstab of the correspondence analysis and the residuals (``body_crosstab``) also leaves out
the executive summary, which restates the body, and the rare countries and technologies
(``frequent``, KH Coder's minimum frequency).

The methods are KH Coder's (Higuchi, 『社会調査のための計量テキスト分析』): a co-occurrence network
whose edges are the strongest Jaccard coefficients between sentence sets; a correspondence analysis
(``prince.CA``) of the code × document crosstab; adjusted (standardised) residuals of its chi-square
test (``scipy.stats.chi2_contingency``); and word frequencies by POS group.
"""
from __future__ import annotations

import math
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.charts import graph_from_rows  # noqa: F401 (re-exported: it lives with the charts that draw it)
from pipeline.errors import PipelineError
from pipeline.lexicon import Lexicon, load_lexicon
from pipeline.tokenfilter import display_forms, is_latin_fragment, known_words, spelling

if TYPE_CHECKING:  # imported where a crosstab is made: pandas takes half a second to import, which a
    import pandas as pd  # process that only publishes the tables (``jstmine update``'s) need not pay

# ------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class NetworkSettings:
    """Which mentions are nodes and how much of the network is kept.

    labels: mention label (COUNTRY, REGION, TECHNOLOGY, …) → node kind (``country``, ``technology``).
    min_sentences: a node occurs in at least this many sentences.
    top_edges: keep at most this many edges, strongest Jaccard first (KH Coder: 60).
    min_jaccard: and only edges with at least this Jaccard coefficient.
    """

    labels: dict[str, str] = field(default_factory=lambda: {"COUNTRY": "country", "REGION": "country",
                                                             "TECHNOLOGY": "technology"})
    min_sentences: int = 1
    top_edges: int = 60
    min_jaccard: float = 0.0


@dataclass(frozen=True)
class PosGroup:
    """A frequency-list group: tokens whose ``pos`` is ``pos`` and whose ``pos_detail`` starts
    with one of ``detail`` (any detail when empty)."""

    name: str
    pos: str
    detail: tuple[str, ...] = ()

    def takes(self, pos: str, detail: str) -> bool:
        """Whether a token with Sudachi POS ``pos`` and detail ``detail`` belongs to this group."""
        return pos == self.pos and (not self.detail or any(detail.startswith(d) for d in self.detail))


@dataclass(frozen=True)
class FrequencySettings:
    """POS groups (first matching rule wins), words never counted, minimum term length, and how
    many terms per group the report shows."""

    groups: tuple[PosGroup, ...]
    stop_words: frozenset[str] = frozenset()
    min_length: int = 1
    top_n: int = 15
    order: tuple[str, ...] = ()  # the report's order of the groups (empty: the rules' order)
    max_unknown_latin: int = 3  # a Latin word unknown to Sudachi and the lexicon, this short, is a fragment


@dataclass(frozen=True)
class CrosstabSettings:
    """Which countries and technologies enter the crosstab of the correspondence analysis and the
    residuals (KH Coder's minimum frequency).

    min_sentences: a country (row) or technology (column) needs at least this many body sentences
    in the crosstab; rarer ones are left out (a handful of sentences places a point anywhere).
    """

    min_sentences: int = 3


@dataclass(frozen=True)
class AnalysisSettings:
    """Sentence kinds read, network settings, frequency settings, crosstab settings."""

    kinds: tuple[str, ...]
    network: NetworkSettings
    frequencies: FrequencySettings
    crosstab: CrosstabSettings = field(default_factory=CrosstabSettings)


class AnalysisSettingsError(PipelineError):
    """The analyses settings file cannot be used."""


def default_settings_path() -> Path:
    return Path(str(resources.files("pipeline") / "data" / "analyses.toml"))


def load_analysis_settings(path: Path | None = None) -> AnalysisSettings:
    """The settings in ``path`` (the packaged ``pipeline/data/analyses.toml`` when None); an
    ``AnalysisSettingsError`` saying what is wrong when the file is missing, not TOML, or not as
    described in the packaged file's comments."""
    path = Path(path) if path else default_settings_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        net, freq, cross = data.get("network", {}), data["frequencies"], data.get("crosstab", {})
        network = NetworkSettings(
            labels={str(k): str(v) for k, v in net.get("labels", NetworkSettings().labels).items()},
            min_sentences=int(net.get("min_sentences", 1)),
            top_edges=int(net.get("top_edges", 60)),
            min_jaccard=float(net.get("min_jaccard", 0.0)),
        )
        groups = tuple(PosGroup(str(g["name"]), str(g["pos"]), tuple(g.get("detail", ()))) for g in freq["group"])
        settings = AnalysisSettings(
            kinds=tuple(data.get("kinds", ("body", "heading"))),
            network=network,
            frequencies=FrequencySettings(groups=groups, stop_words=frozenset(freq.get("stop_words", ())),
                                          min_length=int(freq.get("min_length", 1)), top_n=int(freq.get("top_n", 15)),
                                          order=tuple(str(g) for g in freq.get("order", ())),
                                          max_unknown_latin=int(freq.get("max_unknown_latin", 3))),
            crosstab=CrosstabSettings(min_sentences=int(cross.get("min_sentences", 3))),
        )
    except FileNotFoundError:
        raise AnalysisSettingsError(f"analyses settings not found: {path}",
                                    f"give the path of a settings TOML (the packaged one is {default_settings_path()})") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AnalysisSettingsError(f"cannot read the analyses settings {path}: {exc}",
                                    "give a UTF-8 TOML file like the packaged one") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise AnalysisSettingsError(f"the analyses settings {path} lack or mistype {exc}",
                                    f"every [[frequencies.group]] needs a name and a pos; see {default_settings_path()}") from exc
    if (network.top_edges < 0 or not 0.0 <= network.min_jaccard <= 1.0 or not groups
            or settings.crosstab.min_sentences < 1):
        raise AnalysisSettingsError(f"the analyses settings {path} are out of range",
                                    "top_edges >= 0, 0 <= min_jaccard <= 1, crosstab.min_sentences >= 1, "
                                    "and at least one [[frequencies.group]]")
    return settings


# ------------------------------------------------------------------- co-occurrence network


def node_sentences(mentions: pa.Table, kinds: tuple[str, ...], labels: dict[str, str]) -> dict[str, tuple[str, set[int]]]:
    """Each node's kind and the set of sentences it occurs in.

    mentions: the ``mentions`` table (``sentence_id``, ``kind``, ``label``, ``id``, ``top``).
    kinds: sentence kinds read (others are skipped).
    labels: mention label → node kind; a technology is its broad technology (``top``), anything
    else its canonical ``id``.
    """
    out: dict[str, tuple[str, set[int]]] = {}
    cols = mentions.select(["sentence_id", "kind", "label", "id", "top"]).to_pydict()
    for sid, kind, label, eid, top in zip(*cols.values(), strict=True):
        if kind not in kinds or label not in labels:
            continue
        node = top if label == "TECHNOLOGY" else eid
        out.setdefault(node, (labels[label], set()))[1].add(sid)
    return out


def jaccard(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b| (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def cooccurrence_network(mentions: pa.Table, names: dict[str, str], settings: AnalysisSettings) -> nx.Graph:
    """The co-occurrence network of countries and technologies by sentence, as KH Coder draws it.

    mentions: the ``mentions`` table. names: display name by id (the id itself when absent).
    settings: kinds read and ``settings.network``.

    Returns an undirected ``networkx.Graph``: every node occurring in at least ``min_sentences``
    sentences (attributes ``label``, ``kind``, ``frequency`` = sentences, ``degree`` = kept
    edges), and the strongest edges (``cooccurrences`` = sentences with both, ``jaccard`` =
    sentences with both / sentences with either, ``rank`` from 1), at most ``top_edges`` with
    ``jaccard >= min_jaccard``; ties broken by co-occurrences, then ids, so the result is stable.
    """
    net = settings.network
    sets = {n: v for n, v in node_sentences(mentions, settings.kinds, net.labels).items() if len(v[1]) >= net.min_sentences}
    by_sentence: dict[int, list[str]] = defaultdict(list)
    for node, (_, sids) in sets.items():
        for sid in sids:
            by_sentence[sid].append(node)
    both: Counter[tuple[str, str]] = Counter()
    for nodes in by_sentence.values():
        both.update(combinations(sorted(nodes), 2))
    scored = []
    for (a, b), n in both.items():
        j = n / (len(sets[a][1]) + len(sets[b][1]) - n)
        if j >= net.min_jaccard and j > 0:
            scored.append((-j, -n, a, b))
    scored.sort()
    graph = nx.Graph()
    for node in sorted(sets):
        kind, sids = sets[node]
        graph.add_node(node, label=names.get(node, node), kind=kind, frequency=len(sids))
    for rank, (j, n, a, b) in enumerate(scored[:net.top_edges], start=1):
        graph.add_edge(a, b, cooccurrences=-n, jaccard=-j, rank=rank)
    for node in graph.nodes:
        graph.nodes[node]["degree"] = graph.degree(node)
    return graph


def network_rows(graph: nx.Graph) -> tuple[list[dict], list[dict]]:
    """The graph as rows of ``cooccurrence_nodes`` (node_id, node_label, node_kind, frequency,
    degree) and ``cooccurrence_edges`` (node_a < node_b, cooccurrences, jaccard_index, edge_rank)."""
    nodes = [{"node_id": n, "node_label": d["label"], "node_kind": d["kind"], "frequency": d["frequency"],
              "degree": d["degree"]} for n, d in sorted(graph.nodes(data=True))]
    edges = [{"node_a": min(a, b), "node_b": max(a, b), "cooccurrences": d["cooccurrences"],
              "jaccard_index": d["jaccard"], "edge_rank": d["rank"]}
             for a, b, d in sorted(graph.edges(data=True), key=lambda e: e[2]["rank"])]
    return nodes, edges


# ------------------------------------------------------------------------------- crosstab


def crosstab(country_technology: pa.Table, value: str = "sentences") -> pd.DataFrame:
    """Country × broad technology counts (``value``: ``sentences`` or ``mentions`` of
    ``country_technology``), 0 where a pair has no row; rows and columns sorted by id. The
    published analyses use ``body_crosstab`` instead (no summary sentences)."""
    import pandas as pd

    df = country_technology.select(["country", "technology", value]).to_pandas()
    if df.empty:
        return pd.DataFrame(dtype="int64")
    table = df.pivot_table(index="country", columns="technology", values=value, aggfunc="sum", fill_value=0)
    return nonzero(table).sort_index().sort_index(axis=1).astype("int64")


def body_crosstab(mentions: pa.Table, sentences: pa.Table, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Country × broad technology: the number of body sentences in which the country's passages
    (the mention's ``subject``) name the technology, 0 where none; rows and columns sorted by id.

    mentions: the ``mentions`` table (``sentence_id``, ``label``, ``top``, ``subject``).
    sentences: the ``sentences`` table (``sentence_id``, ``kind``, ``in_summary``).
    kinds: sentence kinds counted (body and heading). Sentences of the executive summary
    (``in_summary``) are left out: they restate the body, so ``country_technology.sentences``,
    which counts them, would count those pairs twice.
    """
    import pandas as pd

    sent = sentences.select(["sentence_id", "kind", "in_summary"]).to_pandas()
    keep = set(sent.loc[sent["kind"].isin(kinds) & ~sent["in_summary"].fillna(False).astype(bool), "sentence_id"])
    df = mentions.select(["sentence_id", "label", "top", "subject"]).to_pandas()
    df = df[(df["label"] == "TECHNOLOGY") & df["subject"].notna() & df["top"].notna() & df["sentence_id"].isin(keep)]
    if df.empty:
        return pd.DataFrame(dtype="int64")
    counts = df.groupby(["subject", "top"])["sentence_id"].nunique()
    table = counts.unstack(fill_value=0)
    table.index.name, table.columns.name = "country", "technology"
    return nonzero(table).sort_index().sort_index(axis=1).astype("int64")


@dataclass(frozen=True)
class Frequent:
    """The crosstab without its rare rows and columns, and the ids left out (with their totals)."""

    table: pd.DataFrame
    rare_countries: dict[str, int]
    rare_technologies: dict[str, int]


def frequent(table: pd.DataFrame, min_sentences: int) -> Frequent:
    """KH Coder's minimum frequency: the crosstab without countries (rows) and technologies
    (columns) whose total is below ``min_sentences`` (both totals taken from the whole crosstab),
    then without rows and columns left empty.

    table: a crosstab (``body_crosstab``). min_sentences: the smallest total kept.
    """
    if not table.size:
        return Frequent(table, {}, {})
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    kept = nonzero(table.loc[rows >= min_sentences, cols >= min_sentences])
    rare_rows = {str(k): int(v) for k, v in rows.items() if k not in kept.index}
    rare_cols = {str(k): int(v) for k, v in cols.items() if k not in kept.columns}
    return Frequent(kept, rare_rows, rare_cols)


def nonzero(table: pd.DataFrame) -> pd.DataFrame:
    """The crosstab without rows and columns that hold no count."""
    if not table.size:
        return table
    return table.loc[(table > 0).any(axis=1), (table > 0).any(axis=0)]


def degenerate(table: pd.DataFrame) -> str | None:
    """Why the crosstab cannot be analysed (Japanese, for the report), or None when it can:
    fewer than two countries or technologies with counts."""
    rows, cols = nonzero(table).shape if table.size else (0, 0)
    if rows < 2 or cols < 2:
        return (f"クロス表が {rows} 国 × {cols} 技術しかなく、分析できません"
                "(2 か国以上・2 技術以上が必要です)。")
    return None


NO_INERTIA_NOTE = "どの国も技術の構成比が同じで、対応分析で分けるものがありません(総慣性 0)。"


def one_dimension_note(countries: int, technologies: int) -> str:
    """Why a correspondence analysis of ``countries`` × ``technologies`` (points with mass) has one
    dimension only (Japanese, for the report): two of either, or no inertia on a second one."""
    if min(countries, technologies) == 2:
        return "2 か国または 2 技術だけのため、次元は 1 つです。"
    return "各国の技術の構成比が一直線上に並び、2 つ目の次元に慣性がないため、次元は 1 つです。"


@dataclass(frozen=True)
class Correspondence:
    """Correspondence analysis: rows of the ``correspondence`` table, the share of inertia of
    each kept dimension, and a note when there is nothing (or less than two dimensions) to show."""

    rows: list[dict]
    shares: tuple[float, ...]
    note: str | None = None


def correspondence(table: pd.DataFrame, names: dict[str, str], random_state: int = 0) -> Correspondence:
    """``prince.CA`` of the crosstab: principal coordinates of countries (rows) and technologies
    (columns) on the first two dimensions, with their masses and each dimension's share of the
    total inertia.

    table: the crosstab (``crosstab``). names: display names by id. random_state: prince's seed.
    A crosstab with fewer than two non-empty rows or columns, or whose rows are all proportional
    (no inertia), gives no rows and a note; one with two rows or columns, or whose second
    dimension holds no inertia (row profiles on one line), has one dimension only (``dim2``
    empty). A share is the dimension's eigenvalue over the total inertia, the sum of all
    eigenvalues: prince's total (the squared norm of the standardized residuals) or, when
    rounding leaves it below the kept eigenvalues (they hold all the inertia), their sum, so
    every share is in [0, 1]. Each axis's sign is fixed so that its largest coordinate is positive.
    """
    why = degenerate(table)
    if why:
        return Correspondence([], (), why)
    table = nonzero(table)
    observed = table.to_numpy(dtype=float)
    p = observed / observed.sum()
    r, c = p.sum(axis=1), p.sum(axis=0)
    inertia = float((((p - np.outer(r, c)) ** 2) / np.outer(r, c)).sum())
    if inertia <= 1e-12:
        return Correspondence([], (), NO_INERTIA_NOTE)
    import prince

    k = min(2, min(table.shape) - 1)
    ca = prince.CA(n_components=k, random_state=random_state, engine="sklearn").fit(table.astype(float))
    eigenvalues = [float(e) for e in ca.eigenvalues_[:k]]
    total = max(float(ca.total_inertia_), sum(eigenvalues))
    k = 1 if eigenvalues[-1] <= 1e-12 * total else k  # a second dimension with no inertia is noise
    shares = tuple(e / total for e in eigenvalues[:k])
    rows_xy = np.array(ca.row_coordinates(table.astype(float)), dtype=float)[:, :k]
    cols_xy = np.array(ca.column_coordinates(table.astype(float)), dtype=float)[:, :k]
    for d in range(k):  # the sign of an axis is arbitrary: fix it
        both = np.concatenate([rows_xy[:, d], cols_xy[:, d]])
        if both[np.argmax(np.abs(both))] < 0:
            rows_xy[:, d] *= -1
            cols_xy[:, d] *= -1
    out = []
    for kind, ids, xy, masses in (("country", table.index, rows_xy, r), ("technology", table.columns, cols_xy, c)):
        for i, pid in enumerate(ids):
            out.append({"point_kind": kind, "point_id": str(pid), "point_label": names.get(pid, pid),
                        "dim1": float(xy[i, 0]), "dim2": float(xy[i, 1]) if k > 1 else None,
                        "mass": float(masses[i]), "share_dim1": shares[0], "share_dim2": shares[1] if k > 1 else None})
    note = one_dimension_note(*table.shape) if k < 2 else None
    return Correspondence(out, shares, note)


@dataclass(frozen=True)
class Residuals:
    """Chi-square test of the crosstab: one row per cell (observed, expected, adjusted residual)
    and the statistic, degrees of freedom and p-value; a note when the test cannot be done."""

    rows: list[dict]
    chi_square: float | None = None
    dof: int | None = None
    p_value: float | None = None
    note: str | None = None


def adjusted_residuals(table: pd.DataFrame, names: dict[str, str]) -> Residuals:
    """Haberman's adjusted residuals of the crosstab, (O − E) / sqrt(E (1 − row share)(1 − column
    share)), with E from ``scipy.stats.chi2_contingency`` (no continuity correction, so the
    statistic is Σ (O − E)² / E). |r| ≥ 1.96 is significant at 5 %.

    table: the crosstab (``crosstab``). names: display names by id.
    """
    from scipy.stats import chi2_contingency

    why = degenerate(table)
    if why:
        return Residuals([], note=why)
    table = nonzero(table)
    observed = table.to_numpy(dtype=float)
    result = chi2_contingency(observed, correction=False)
    expected = result.expected_freq
    n = observed.sum()
    row_share, col_share = observed.sum(axis=1) / n, observed.sum(axis=0) / n
    adjusted = (observed - expected) / np.sqrt(expected * np.outer(1 - row_share, 1 - col_share))
    chi, dof, p = float(result.statistic), int(result.dof), float(result.pvalue)
    rows = []
    for i, country in enumerate(table.index):
        for j, tech in enumerate(table.columns):
            rows.append({"country": str(country), "country_name": names.get(country, country),
                         "technology": str(tech), "technology_name": names.get(tech, tech),
                         "observed": int(observed[i, j]), "expected": float(expected[i, j]),
                         "residual": float(adjusted[i, j]), "chi_square": chi, "dof": dof, "p_value": p})
    return Residuals(rows, chi, dof, p)


# ---------------------------------------------------------------------- frequency lists


def pos_group(pos: str, detail: str | None, groups: tuple[PosGroup, ...]) -> str | None:
    """The group of the first rule that takes (pos, detail), or None (not counted)."""
    for g in groups:
        if g.takes(pos, detail or ""):
            return g.name
    return None


FREQUENCY_WINDOW_ROWS = 32_768  # rows of the token table word_frequencies turns into Python lists at once


def word_frequencies(tokens: pa.Table, sentences: pa.Table, settings: AnalysisSettings,
                     lexicon: Lexicon | None = None) -> list[dict]:
    """Frequency lists by POS group, KH Coder style.

    tokens: the ``tokens`` table (``sentence_id``, ``normalized``, ``pos``, ``pos_detail``, and
        ``surface``, ``dictionary_form``, ``reading`` when present).
    sentences: the ``sentences`` table (``sentence_id``, ``kind``): only the configured kinds count.
    settings: kinds and ``settings.frequencies`` (POS groups, stop words, minimum length, the
        longest Latin fragment).
    lexicon: the lexicon whose words are no fragments (the packaged one when None).

    Returns rows of ``word_frequencies``: ``pos_group``, ``term``, ``frequency`` (tokens),
    ``sentences`` (sentences containing it), ``term_rank`` within the group (most frequent first,
    ties by normalized form). Terms are counted by Sudachi normalized form and shown in the
    document's most frequent spelling of it (``pipeline.tokenfilter``: 自強, not 自彊; CHIPS as
    printed). Tokens no group takes (particles, auxiliaries, symbols, numerals, pronouns,
    affixes), stop words, terms shorter than ``min_length``, terms without a letter (numbers,
    symbols) and Latin fragments (cet of (CET), by the key terms' rule) are left out.
    """
    freq = settings.frequencies
    sent = sentences.select(["sentence_id", "kind"]).to_pydict()
    keep = sorted({sid for sid, kind in zip(sent["sentence_id"], sent["kind"], strict=True) if kind in settings.kinds})
    present = [c for c in ("surface", "dictionary_form", "reading") if c in tokens.column_names]
    table = tokens.select(["sentence_id", "normalized", "pos", "pos_detail", *present])
    if table.num_rows == 0 or not keep:
        return []
    kept = pa.array(keep, type=table.schema.field("sentence_id").type)
    known = known_words(lexicon or load_lexicon())
    group_of: dict[tuple, str | None] = {}
    term_ok: dict[str, bool] = {}
    spelled_as: dict[tuple, str] = {}
    fragment: dict[tuple, bool] = {}
    tokens_of: Counter[tuple[str, str]] = Counter()
    sentences_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    # Python lists and one pass, each distinct value judged once: far cheaper than pandas' Arrow
    # strings, which turn into Python objects one by one at every step. A window of rows at a
    # time (in the table's order, so ties fall as before): the whole table's columns as Python
    # lists would cost memory in proportion to the document (200 MB on 1,000 pages).
    for batch in table.to_batches(max_chunksize=FREQUENCY_WINDOW_ROWS):
        cols = batch.filter(pc.is_in(batch["sentence_id"], value_set=kept)).to_pydict()
        normalized = cols["normalized"]
        surface = cols.get("surface", normalized)
        form = cols.get("dictionary_form", surface)
        reading = cols.get("reading", [None] * len(normalized))
        for sid, n, p, d, s, f, r in zip(cols["sentence_id"], normalized, cols["pos"], cols["pos_detail"], surface,
                                         form, reading, strict=True):
            g = group_of[(p, d)] if (p, d) in group_of else group_of.setdefault((p, d), pos_group(p, d, freq.groups))
            if g is None:
                continue
            ok = term_ok.get(n)
            if ok is None:
                ok = term_ok[n] = len(n) >= freq.min_length and n not in freq.stop_words and any(ch.isalpha() for ch in n)
            if not ok:
                continue
            sp = spelled_as.get((s, f, n, r))
            if sp is None:
                sp = spelled_as[(s, f, n, r)] = spelling(s, f, n, r)
            # a stop word is left out however Sudachi normalizes it (ため is 為)
            if sp in freq.stop_words:
                continue
            frag = fragment.get((s, n, r))
            if frag is None:
                frag = fragment[(s, n, r)] = is_latin_fragment(s, n, r, freq.max_unknown_latin, known)
            if frag:
                continue
            tokens_of[(g, n)] += 1
            sentences_of[(g, n)].add(sid)
            spellings[(g, n)][sp] += 1
        del cols, normalized, surface, form, reading
    if not tokens_of:
        return []
    # most frequent first, then in more sentences, then by normalized form; ranked within the group
    counted = sorted(((g, n, k, len(sentences_of[(g, n)])) for (g, n), k in tokens_of.items()),
                     key=lambda c: (c[0], -c[2], -c[3], c[1]))
    shown = display_forms(spellings)
    out, taken = [], set()
    rank, group = 0, None
    for g, n, f, k in counted:
        rank = rank + 1 if g == group else 1
        group = g
        term = shown[(g, n)]
        if (g, term) in taken:  # two normalized forms spelled alike: the less frequent keeps its own
            term = n
        taken.add((g, term))
        out.append({"pos_group": g, "term": term, "frequency": int(f), "sentences": int(k), "term_rank": int(rank)})
    return out


def group_order(settings: AnalysisSettings) -> list[str]:
    """The POS groups in the report's order (``order``, then the rules' order), each once."""
    return list(dict.fromkeys([*settings.frequencies.order, *(g.name for g in settings.frequencies.groups)]))


MIN_EXPECTED = 5.0  # below this expected count the normal approximation of a residual does not hold


def is_significant(residual: float | None, expected: float | None = None) -> bool:
    """|r| ≥ 1.96: the cell differs from independence at the 5 % level; never when the cell's
    ``expected`` count is given and below 5 (the residual's normal approximation does not hold)."""
    if expected is not None and expected < MIN_EXPECTED:
        return False
    return residual is not None and not math.isnan(residual) and abs(residual) >= 1.96
