"""KH Coder's analyses: the co-occurrence network, correspondence analysis, adjusted residuals and
frequency lists, checked against values computed by hand; their tables; their charts and report
section on the published sample edition."""
from __future__ import annotations

import html
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import chi2

from pipeline import analyses, charts
from pipeline.analyses import (
    AnalysisSettingsError,
    adjusted_residuals,
    cooccurrence_network,
    correspondence,
    crosstab,
    load_analysis_settings,
    network_rows,
    word_frequencies,
)
from pipeline.tables import SPECS, khcoder_tables, validate

NAMES = {"KR": "韓国", "CN": "中国", "JP": "日本", "US": "米国", "ai": "人工知能(AI)", "quantum": "量子技術",
         "semiconductors": "半導体", "space": "宇宙技術"}
JAPANESE_TEXT = re.compile(r"<text\b[^>]*>[^<]*[\u3040-\u30ff\u4e00-\u9fff][^<]*</text>")
KHCODER_TABLES = ("cooccurrence_nodes", "cooccurrence_edges", "correspondence", "crosstab_residuals", "word_frequencies")


def settings(**network):
    s = load_analysis_settings()
    return replace(s, network=replace(s.network, **{"min_sentences": 1, **network}))


def mentions(rows: list[tuple[int, str, str, str, str]]) -> pa.Table:
    """(sentence_id, sentence kind, label, id, top) rows as a mentions table."""
    cols = list(zip(*rows, strict=True))
    return pa.table({"sentence_id": pa.array(cols[0], pa.int32()), "kind": list(cols[1]), "label": list(cols[2]),
                     "id": list(cols[3]), "top": list(cols[4])})


# Sentence 1: KR, ai; 2: KR, quantum; 3: CN, generative AI (→ ai), semiconductors; 4 (a heading):
# ai; 7: a framework and ai. Sentences 5 (a caption) and 6 (a footnote) do not count.
SMALL = mentions([
    (1, "body", "COUNTRY", "KR", "KR"), (1, "body", "TECHNOLOGY", "ai", "ai"),
    (2, "body", "COUNTRY", "KR", "KR"), (2, "body", "TECHNOLOGY", "quantum", "quantum"),
    (3, "body", "COUNTRY", "CN", "CN"), (3, "body", "TECHNOLOGY", "generative_ai", "ai"),
    (3, "body", "TECHNOLOGY", "semiconductors", "semiconductors"),
    (3, "body", "TECHNOLOGY", "ai", "ai"),  # twice in one sentence: still one sentence
    (4, "heading", "TECHNOLOGY", "ai", "ai"),
    (5, "caption", "COUNTRY", "KR", "KR"), (5, "caption", "TECHNOLOGY", "ai", "ai"),
    (6, "footnote", "COUNTRY", "CN", "CN"), (6, "footnote", "TECHNOLOGY", "quantum", "quantum"),
    (7, "body", "FRAMEWORK", "G7", "G7"), (7, "body", "TECHNOLOGY", "ai", "ai"),
])


# ------------------------------------------------------------------------------ network


def test_jaccard_edges_and_node_frequencies_by_hand():
    # KR {1,2}, ai {1,3,4,7}, quantum {2}, CN {3}, semiconductors {3}
    nodes, edges = network_rows(cooccurrence_network(SMALL, NAMES, settings()))
    assert {n["node_id"]: (n["node_kind"], n["frequency"]) for n in nodes} == {
        "KR": ("country", 2), "CN": ("country", 1), "ai": ("technology", 4), "quantum": ("technology", 1),
        "semiconductors": ("technology", 1)}
    assert "G7" not in {n["node_id"] for n in nodes}  # frameworks are no nodes
    assert [n["node_label"] for n in nodes if n["node_id"] == "ai"] == ["人工知能(AI)"]
    got = [(e["node_a"], e["node_b"], e["cooccurrences"], e["jaccard_index"], e["edge_rank"]) for e in edges]
    assert got == [
        ("CN", "semiconductors", 1, 1 / (1 + 1 - 1), 1),
        ("KR", "quantum", 1, 1 / (2 + 1 - 1), 2),
        ("CN", "ai", 1, 1 / (1 + 4 - 1), 3),  # tie with ai–semiconductors, broken by ids
        ("ai", "semiconductors", 1, 1 / (4 + 1 - 1), 4),
        ("KR", "ai", 1, 1 / (2 + 4 - 1), 5),  # sentence 5 is a caption: not 2 / 2
    ]
    assert analyses.jaccard({1, 2}, {1, 3, 4, 7}) == pytest.approx(0.2)


def test_only_the_strongest_edges_are_kept_and_degrees_follow():
    nodes, edges = network_rows(cooccurrence_network(SMALL, NAMES, settings(top_edges=3)))
    assert [(e["node_a"], e["node_b"]) for e in edges] == [("CN", "semiconductors"), ("KR", "quantum"), ("CN", "ai")]
    assert {n["node_id"]: n["degree"] for n in nodes} == {"CN": 2, "semiconductors": 1, "KR": 1, "quantum": 1, "ai": 1}
    _, strong = network_rows(cooccurrence_network(SMALL, NAMES, settings(min_jaccard=0.3)))
    assert [e["jaccard_index"] for e in strong] == [1.0, 0.5]
    rare, _ = network_rows(cooccurrence_network(SMALL, NAMES, settings(min_sentences=2)))
    assert {n["node_id"] for n in rare} == {"KR", "ai"}


# ------------------------------------------------------------------- crosstab and residuals


def ct(rows: list[tuple[str, str, int]]) -> pa.Table:
    return pa.table({"country": [r[0] for r in rows], "technology": [r[1] for r in rows],
                     "sentences": pa.array([r[2] for r in rows], pa.int32())})


def test_adjusted_residuals_and_chi_square_by_hand():
    # O = [[10, 0], [5, 5]]: n = 20, row totals 10/10, column totals 15/5, E = [[7.5, 2.5], [7.5, 2.5]]
    table = crosstab(ct([("KR", "ai", 10), ("US", "ai", 5), ("US", "quantum", 5)]))
    assert table.to_numpy().tolist() == [[10, 0], [5, 5]]
    res = adjusted_residuals(table, NAMES)
    cell = {(r["country"], r["technology"]): r for r in res.rows}
    assert cell[("KR", "quantum")]["observed"] == 0 and cell[("KR", "quantum")]["expected"] == pytest.approx(2.5)
    # (O − E) / sqrt(E (1 − row share)(1 − column share))
    assert cell[("KR", "ai")]["residual"] == pytest.approx((10 - 7.5) / math.sqrt(7.5 * (1 - 10 / 20) * (1 - 15 / 20)))
    assert cell[("KR", "quantum")]["residual"] == pytest.approx((0 - 2.5) / math.sqrt(2.5 * (1 - 10 / 20) * (1 - 5 / 20)))
    stat = 2 * 2.5 ** 2 / 7.5 + 2 * 2.5 ** 2 / 2.5  # Σ (O − E)² / E, no continuity correction
    assert res.chi_square == pytest.approx(stat) and res.dof == 1
    assert res.p_value == pytest.approx(chi2.sf(stat, 1))
    assert cell[("KR", "ai")]["residual"] ** 2 == pytest.approx(stat)  # 2 × 2: r² is the statistic
    assert cell[("KR", "ai")]["country_name"] == "韓国" and cell[("US", "quantum")]["technology_name"] == "量子技術"
    assert analyses.is_significant(cell[("KR", "ai")]["residual"]) and not analyses.is_significant(1.5)


def test_the_crosstab_counts_body_sentences_outside_the_summary():
    # (sentence, label, top, subject); sentence kinds and in_summary below
    m = pa.table({
        "sentence_id": pa.array([1, 1, 2, 3, 3, 4, 5, 6, 6], pa.int32()),
        "label": ["TECHNOLOGY", "TECHNOLOGY", "TECHNOLOGY", "TECHNOLOGY", "COUNTRY", "TECHNOLOGY", "TECHNOLOGY",
                  "TECHNOLOGY", "TECHNOLOGY"],
        "top": ["ai", "ai", "ai", "quantum", "KR", "ai", "quantum", "ai", "quantum"],
        "subject": ["KR", "KR", "KR", "KR", "KR", "KR", "US", "US", None],
    })
    sents = pa.table({"sentence_id": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
                      "kind": ["body", "heading", "body", "body", "caption", "body"],
                      "in_summary": [False, False, False, True, False, False]})
    table = analyses.body_crosstab(m, sents, ("body", "heading"))
    # KR: ai in 1 (twice, one sentence) and 2, quantum in 3; sentence 4 is the summary, 5 a caption;
    # the country mention is no technology, and a mention without subject counts for nobody
    assert table.to_dict() == {"ai": {"KR": 2, "US": 1}, "quantum": {"KR": 1, "US": 0}}
    assert list(table.index) == ["KR", "US"] and list(table.columns) == ["ai", "quantum"]


def test_rare_countries_and_technologies_are_left_out_of_the_crosstab():
    table = crosstab(ct([("KR", "ai", 5), ("KR", "quantum", 2), ("US", "ai", 4), ("US", "quantum", 3),
                         ("US", "space", 2), ("JP", "ai", 1), ("JP", "space", 1)]))
    kept = analyses.frequent(table, 3)
    # totals: KR 7, US 9, JP 2; ai 10, quantum 5, space 3
    assert list(kept.table.index) == ["KR", "US"] and list(kept.table.columns) == ["ai", "quantum", "space"]
    assert kept.rare_countries == {"JP": 2} and kept.rare_technologies == {}
    stricter = analyses.frequent(table, 4)
    assert list(stricter.table.columns) == ["ai", "quantum"] and stricter.rare_technologies == {"space": 3}
    assert analyses.frequent(table, 1).table.equals(table)
    assert load_analysis_settings().crosstab.min_sentences == 3


def test_a_cell_with_expected_below_five_is_never_significant():
    assert analyses.is_significant(2.5, 5.0) and analyses.is_significant(-2.5, 12.0)
    assert not analyses.is_significant(2.5, 4.9) and not analyses.is_significant(1.0, 50.0)
    assert analyses.is_significant(2.5)  # without an expected count: |r| alone


def test_crosstab_min_sentences_out_of_range_is_an_error(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text(analyses.default_settings_path().read_text(encoding="utf-8").replace(
        "[crosstab]\n", "[crosstab]\nmin_sentences = 0\n#").replace("\nmin_sentences = 3\n", "\n", 1), encoding="utf-8")
    with pytest.raises(AnalysisSettingsError, match="min_sentences"):
        load_analysis_settings(path)


# --------------------------------------------------------------------- correspondence


def direct_ca(matrix: np.ndarray):
    """Principal coordinates and inertia shares from the SVD of the standardized residuals."""
    p = matrix / matrix.sum()
    r, c = p.sum(axis=1), p.sum(axis=0)
    s = (p - np.outer(r, c)) / np.sqrt(np.outer(r, c))
    u, sigma, vt = np.linalg.svd(s, full_matrices=False)
    rows = u * sigma / np.sqrt(r)[:, None]
    cols = vt.T * sigma / np.sqrt(c)[:, None]
    return rows, cols, sigma ** 2 / (sigma ** 2).sum()


def test_correspondence_matches_a_direct_svd_of_the_standardized_residuals():
    data = [("CN", "ai", 2), ("CN", "semiconductors", 4), ("JP", "quantum", 5), ("JP", "ai", 1), ("KR", "ai", 3),
            ("KR", "quantum", 1), ("KR", "space", 2), ("US", "ai", 1), ("US", "semiconductors", 1), ("US", "space", 4)]
    table = crosstab(ct(data))
    result = correspondence(table, NAMES)
    rows_ref, cols_ref, shares_ref = direct_ca(table.to_numpy(dtype=float))
    assert result.note is None and len(result.shares) == 2
    assert result.shares == pytest.approx(tuple(shares_ref[:2]))
    assert sum(result.shares) < 1  # a 4 × 4 table has 3 dimensions
    got_rows = np.array([[r["dim1"], r["dim2"]] for r in result.rows if r["point_kind"] == "country"])
    got_cols = np.array([[r["dim1"], r["dim2"]] for r in result.rows if r["point_kind"] == "technology"])
    for d in range(2):  # an axis's sign is arbitrary
        sign = np.sign(got_rows[:, d] @ rows_ref[:, d])
        assert got_rows[:, d] == pytest.approx(sign * rows_ref[:, d], abs=1e-6)
        assert got_cols[:, d] == pytest.approx(sign * cols_ref[:, d], abs=1e-6)
    masses = [r["mass"] for r in result.rows if r["point_kind"] == "country"]
    assert masses == pytest.approx(table.sum(axis=1).to_numpy() / table.to_numpy().sum())
    assert [r["point_label"] for r in result.rows][:4] == ["中国", "日本", "韓国", "米国"]
    spec = SPECS["correspondence"]
    validate(pa.Table.from_pylist([{"edition": "t", **r} for r in result.rows], schema=spec.schema), spec)


def test_degenerate_crosstabs_give_a_note_not_a_crash():
    one_country = crosstab(ct([("KR", "ai", 3), ("KR", "quantum", 1)]))
    for result in (correspondence(one_country, NAMES), adjusted_residuals(one_country, NAMES)):
        assert result.rows == [] and "1 国 × 2 技術" in result.note
    empty = crosstab(ct([]))
    assert correspondence(empty, NAMES).rows == [] and "0 国 × 0 技術" in correspondence(empty, NAMES).note
    # a second row with no counts is no second country
    zero_row = pd.DataFrame([[3, 1], [0, 0]], index=["KR", "US"], columns=["ai", "quantum"])
    assert correspondence(zero_row, NAMES).rows == [] and adjusted_residuals(zero_row, NAMES).rows == []
    # proportional rows: no inertia to show
    same = crosstab(ct([("KR", "ai", 2), ("KR", "quantum", 1), ("US", "ai", 4), ("US", "quantum", 2)]))
    assert correspondence(same, NAMES).rows == [] and "総慣性 0" in correspondence(same, NAMES).note
    # two countries: one dimension
    two = correspondence(crosstab(ct([("KR", "ai", 3), ("KR", "quantum", 1), ("US", "ai", 1), ("US", "space", 4)])), NAMES)
    assert two.rows and all(r["dim2"] is None for r in two.rows) and two.shares == pytest.approx((1.0,))
    assert charts.biplot_svg(two.rows).count("<text") > 0


def degenerate_crosstabs(cases: int = 40) -> list[tuple[str, pd.DataFrame]]:
    """Seeded crosstabs whose kept dimensions hold all the inertia: two countries, two technologies,
    and three to five countries whose technology profiles lie on one line (each country's counts a
    multiple of one of two profiles)."""
    rng = np.random.default_rng(15)
    out = []
    for _ in range(cases):
        n = int(rng.integers(2, 8))
        out.append(("two countries", rng.integers(1, 9, (2, n))))
        out.append(("two technologies", rng.integers(1, 9, (n, 2))))
        rows, cols = int(rng.integers(3, 6)), int(rng.integers(3, 7))
        a, b = rng.integers(1, 6, cols), rng.integers(1, 6, cols)
        out.append(("profiles on a line", np.array([a, b] + [(a if rng.random() < 0.5 else b) * int(rng.integers(1, 4))
                                                            for _ in range(rows - 2)])))
    return [(kind, pd.DataFrame(m, index=[f"C{i}" for i in range(m.shape[0])],
                                columns=[f"t{j}" for j in range(m.shape[1])])) for kind, m in out]


def test_shares_of_crosstabs_whose_kept_dimensions_hold_all_the_inertia_are_at_most_one():
    """A dimension's share is its eigenvalue over the total inertia; when the kept dimensions hold
    all of it, rounding must not take a share over 1 (which failed the run's table validation)."""
    spec = SPECS["correspondence"]
    # the crosstab of the sample edition's pages 1-6 (prince's total came out below its eigenvalue)
    first_pages = pd.DataFrame([[2, 1, 2, 1, 2], [4, 3, 2, 4, 4]], index=["CN", "IN"],
                               columns=["ai", "biotechnology", "ict", "quantum", "semiconductors"])
    cases = [("two countries", first_pages), *degenerate_crosstabs()]
    for kind, table in cases:
        result = correspondence(table, NAMES)
        *_, reference = direct_ca(table.to_numpy(dtype=float))
        assert len(result.shares) == 1 and 0 < result.shares[0] <= 1, (kind, table.to_numpy().tolist(), result.shares)
        assert result.shares[0] == pytest.approx(reference[0]) == pytest.approx(1.0)
        assert all(r["dim2"] is None and r["share_dim2"] is None for r in result.rows)
        assert len(result.rows) == sum(table.shape)
        if kind == "profiles on a line":  # three or more of each: a second dimension exists but holds nothing
            assert "一直線上" in result.note
        else:
            assert "2 か国または 2 技術" in result.note
        validate(pa.Table.from_pylist([{"edition": "t", **r} for r in result.rows], schema=spec.schema), spec)


def test_empty_inputs_give_valid_empty_tables(lexicon):
    empty = {
        "mentions": SPECS["mentions"].schema.empty_table(),
        "country_technology": SPECS["country_technology"].schema.empty_table(),
        "tokens": SPECS["tokens"].schema.empty_table(),
        "sentences": SPECS["sentences"].schema.empty_table(),
    }
    tables = khcoder_tables("e", empty, lexicon)
    assert set(tables) == set(KHCODER_TABLES) and all(t.num_rows == 0 for t in tables.values())


# ---------------------------------------------------------------------- frequency lists


def tokens(rows: list[tuple[int, str, str, str]]) -> pa.Table:
    """(sentence_id, normalized, pos, pos_detail) rows."""
    cols = list(zip(*rows, strict=True))
    return pa.table({"sentence_id": pa.array(cols[0], pa.int32()), "normalized": list(cols[1]), "pos": list(cols[2]),
                     "pos_detail": list(cols[3])})


def test_frequencies_group_pos_and_leave_out_function_words_symbols_and_numbers():
    toks = tokens([
        (1, "韓国", "名詞", "固有名詞-地名-国"), (1, "は", "助詞", "係助詞"), (1, "量子", "名詞", "普通名詞-一般"),
        (1, "研究", "名詞", "普通名詞-サ変可能"), (1, "を", "助詞", "格助詞"), (1, "進める", "動詞", "一般"),
        (1, "。", "補助記号", "句点"), (2, "量子", "名詞", "普通名詞-一般"), (2, "量子", "名詞", "普通名詞-一般"),
        (2, "2022", "名詞", "数詞"), (2, "重要", "形状詞", "一般"), (2, "だ", "助動詞", ""), (2, "する", "動詞", "非自立可能"),
        (2, "こと", "名詞", "普通名詞-一般"), (2, "高い", "形容詞", "一般"), (2, "バイデン", "名詞", "固有名詞-人名-姓"),
        (2, "これ", "代名詞", ""), (2, "%", "名詞", "普通名詞-助数詞可能"), (2, "ASEAN", "名詞", "固有名詞-一般"),
        (3, "量子", "名詞", "普通名詞-一般"),  # a caption: not counted
    ])
    sents = pa.table({"sentence_id": pa.array([1, 2, 3], pa.int32()), "kind": ["body", "heading", "caption"]})
    rows = word_frequencies(toks, sents, load_analysis_settings())
    got = {(r["pos_group"], r["term"]): (r["frequency"], r["sentences"], r["term_rank"]) for r in rows}
    assert got == {
        ("名詞", "量子"): (3, 2, 1), ("地名", "韓国"): (1, 1, 1), ("サ変名詞", "研究"): (1, 1, 1),
        ("動詞", "進める"): (1, 1, 1), ("形容動詞", "重要"): (1, 1, 1), ("形容詞", "高い"): (1, 1, 1),
        ("人名", "バイデン"): (1, 1, 1), ("固有名詞", "ASEAN"): (1, 1, 1),
    }
    spec = SPECS["word_frequencies"]
    validate(pa.Table.from_pylist([{"edition": "t", **r} for r in rows], schema=spec.schema), spec)


def test_frequencies_of_real_sudachi_tokens_have_no_particles_or_symbols():
    from pipeline.extract import Block, ExtractedDocument, PageInfo
    from pipeline.segment import segment
    from pipeline.tokenize import tokenize_sentences

    text = "韓国は2022年に12の国家戦略技術を指定し、量子技術の研究を進めている。量子技術は重要である。"
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), (Block(1, "body", text),), (), ())
    seg = segment(doc)
    toks = tokenize_sentences(seg.sentences)
    sents = pa.table({"sentence_id": pa.array([s.sentence_id for s in seg.sentences], pa.int32()),
                      "kind": [s.kind for s in seg.sentences]})
    rows = word_frequencies(toks, sents, load_analysis_settings())
    terms = {r["term"]: r for r in rows}
    assert not {"は", "に", "を", "の", "、", "。", "2022", "12", "する", "ある", "て", "いる", "た"} & set(terms)
    assert terms["韓国"]["pos_group"] == "地名"
    assert terms["研究"]["pos_group"] == "サ変名詞" and terms["進める"]["pos_group"] == "動詞"
    assert terms["重要"]["pos_group"] == "形容動詞"
    counted = [r for r in rows if r["term"] in ("量子技術", "量子")]
    assert counted and all(r["frequency"] == 2 and r["sentences"] == 2 for r in counted)


def test_settings_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(AnalysisSettingsError, match="not found"):
        load_analysis_settings(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[frequencies\n", encoding="utf-8")
    with pytest.raises(AnalysisSettingsError, match="cannot read"):
        load_analysis_settings(bad)
    no_groups = tmp_path / "no_groups.toml"
    no_groups.write_text("[network]\ntop_edges = 10\n", encoding="utf-8")
    with pytest.raises(AnalysisSettingsError, match="frequencies"):
        load_analysis_settings(no_groups)


def test_the_run_key_follows_the_analyses_settings(tmp_path, monkeypatch):
    import flows.process_report as fr

    before = fr.stage_keys("0" * 64, fr.RunConfig())
    other = tmp_path / "analyses.toml"
    other.write_text(analyses.default_settings_path().read_text(encoding="utf-8").replace("top_edges = 60", "top_edges = 30"),
                     encoding="utf-8")
    monkeypatch.setattr(fr, "default_settings_path", lambda: other)
    fr.stage_keys.cache_clear()
    try:
        after = fr.stage_keys("0" * 64, fr.RunConfig())
    finally:
        fr.stage_keys.cache_clear()
    assert after["run"] != before["run"] and after["analyses"] != before["analyses"]
    assert after["claims"] == before["claims"]  # nothing upstream is recomputed


# --------------------------------------------------------------------------- charts


def test_charts_are_scalable_deterministic_svg_with_japanese_text():
    graph = cooccurrence_network(SMALL, NAMES, settings())
    svg = charts.network_svg(graph)
    assert svg.startswith("<svg") and 'width="100%"' in svg and re.search(r'viewBox="0 0 [\d.]+ [\d.]+"', svg)
    assert not re.search(r'<svg[^>]*\sheight="', svg)  # the height follows the width
    labels = set(re.findall(r"<text\b[^>]*>([^<]*)</text>", svg))
    assert {"韓国", "中国", "人工知能(AI)", "量子技術", "半導体", "国・地域", "技術"} <= labels
    assert "IPAexGothic" in svg and "<dc:date>" not in svg
    assert charts.network_svg(graph) == svg  # same input, same bytes
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("an-net-") for i in ids)
    assert charts.network_svg(cooccurrence_network(mentions([(1, "body", "COUNTRY", "KR", "KR")]), NAMES, settings())) == ""


def ca_row(kind: str, pid: str, x: float, y: float, mass: float) -> dict:
    return {"point_kind": kind, "point_id": pid, "point_label": NAMES.get(pid, pid), "dim1": x, "dim2": y,
            "mass": mass, "share_dim1": 0.6, "share_dim2": 0.3}


CA_ROWS = [
    ca_row("country", "KR", 1.2, 0.1, 0.3), ca_row("country", "US", -0.9, 0.8, 0.3),
    ca_row("country", "CN", 0.01, -0.02, 0.4),
    # three technologies only the US names: one point
    ca_row("technology", "quantum", -1.5, 1.1, 0.1), ca_row("technology", "space", -1.5, 1.1, 0.1),
    ca_row("technology", "semiconductors", -1.5, 1.1, 0.1), ca_row("technology", "ai", 1.4, 0.2, 0.3),
    # near the origin, light: no label
    ca_row("technology", "bio", 0.02, 0.01, 0.2), ca_row("technology", "energy", -0.01, 0.03, 0.2),
]


def test_the_biplot_labels_what_shapes_its_dimensions_and_merges_points_at_one_place():
    groups = charts.biplot_labels(CA_ROWS)
    labelled = {i for g in groups for i in g["ids"]}
    assert ("technology", "bio") not in labelled and ("technology", "energy") not in labelled
    assert ("country", "CN") not in labelled  # heavy, but at the origin: no contribution
    assert {("country", "KR"), ("country", "US"), ("technology", "ai")} <= labelled
    merged = [g for g in groups if len(g["ids"]) > 1]
    assert [g["text"] for g in merged] == ["量子技術・半導体・宇宙技術"]  # by id: quantum, semiconductors, space
    svg = charts.biplot_svg(CA_ROWS)
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert "量子技術・半導体・宇宙技術" in texts and "量子技術" not in texts and "bio" not in texts
    assert charts.biplot_svg(CA_ROWS) == svg  # adjustText is deterministic
    many = [ca_row("technology", f"t{i}", -1.0, 1.0, 0.05) for i in range(7)] + CA_ROWS[:3]
    wrapped = [g["text"] for g in charts.biplot_labels(many) if len(g["ids"]) == 7]
    assert wrapped == ["t0・t1・t2\nt3・t4・t5\nt6"]


def test_spread_labels_moves_labels_off_each_other():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def overlaps(fig, texts) -> int:
        renderer = FigureCanvasAgg(fig).get_renderer()
        boxes = [t.get_window_extent(renderer) for t in texts]
        return sum(1 for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b))

    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    xs, ys = [0.0, 0.01, 0.02, 0.0, 1.0], [0.0, 0.0, 0.01, 0.02, 1.0]
    ax.scatter(xs, ys)
    texts = [ax.text(x, y, label, fontsize=9, fontfamily=charts.font_families()) for x, y, label in zip(xs, ys, ["人工知能(AI)", "量子技術", "半導体",
                                                                           "宇宙技術", "米国"], strict=True)]
    assert overlaps(fig, texts) >= 3
    charts.spread_labels(fig, ax, texts, xs, ys)
    assert overlaps(fig, texts) == 0


# ------------------------------------------------------------ the published sample edition


@pytest.fixture(scope="module")
def sample_edition(prefect_server, tmp_path_factory) -> Path:
    """The sample edition through the whole flow (a local PDF), published."""
    from flows.process_report import process_report
    from samples.build import build_sample_pdf

    tmp = tmp_path_factory.mktemp("analyses")
    pdf = build_sample_pdf(tmp / "sample.pdf", edition_note="test_analyses")
    process_report(source=str(pdf), edition="sample", out_dir=str(tmp / "processed"), raw_dir=str(tmp / "raw"),
                   expectations="")
    return tmp / "processed"


@pytest.mark.slow
def test_the_published_sample_edition_has_the_analyses(sample_edition):
    out = sample_edition / "sample"
    tables = {name: pq.read_table(out / f"{name}.parquet") for name in KHCODER_TABLES}
    for name, table in tables.items():
        validate(table, SPECS[name])
        assert table.num_rows > 0, name
    # every edge's Jaccard recomputed from the published mentions, body and heading sentences only
    m = pq.read_table(out / "mentions.parquet").to_pylist()
    sets: dict[str, set[int]] = {}
    for r in m:
        if r["kind"] in ("body", "heading") and r["label"] in ("COUNTRY", "REGION", "TECHNOLOGY"):
            sets.setdefault(r["top"] if r["label"] == "TECHNOLOGY" else r["id"], set()).add(r["sentence_id"])
    edges = tables["cooccurrence_edges"].to_pylist()
    assert len(edges) <= 60
    for e in edges:
        a, b = sets[e["node_a"]], sets[e["node_b"]]
        assert e["cooccurrences"] == len(a & b) and e["jaccard_index"] == pytest.approx(len(a & b) / len(a | b))
    # the residuals cover the crosstab of body sentences outside the summary, without the rare
    # countries and technologies, recomputed here from the published mentions and sentences
    body = {r["sentence_id"] for r in pq.read_table(out / "sentences.parquet").to_pylist()
            if r["kind"] in ("body", "heading") and not r["in_summary"]}
    pairs: dict[tuple[str, str], set[int]] = {}
    for r in m:
        if r["label"] == "TECHNOLOGY" and r["subject"] and r["sentence_id"] in body:
            pairs.setdefault((r["subject"], r["top"]), set()).add(r["sentence_id"])
    row_total: dict[str, int] = {}
    col_total: dict[str, int] = {}
    for (c, t), sids in pairs.items():
        row_total[c] = row_total.get(c, 0) + len(sids)
        col_total[t] = col_total.get(t, 0) + len(sids)
    least = analyses.load_analysis_settings().crosstab.min_sentences
    countries = {c for c, n in row_total.items() if n >= least}
    techs = {t for t, n in col_total.items() if n >= least}
    residuals = tables["crosstab_residuals"].to_pylist()
    assert {r["country"] for r in residuals} <= countries and {r["technology"] for r in residuals} <= techs
    assert len(residuals) == len({r["country"] for r in residuals}) * len({r["technology"] for r in residuals}) > 0
    for r in residuals:
        assert r["observed"] == len(pairs.get((r["country"], r["technology"]), ()))
    ct_sentences = {(r["country"], r["technology"]): r["sentences"]
                    for r in pq.read_table(out / "country_technology.parquet").to_pylist()}
    assert all(r["observed"] <= ct_sentences.get((r["country"], r["technology"]), 0) for r in residuals)
    kinds = {r["point_kind"] for r in tables["correspondence"].to_pylist()}
    assert kinds == {"country", "technology"}
    groups = set(tables["word_frequencies"].column("pos_group").to_pylist())
    assert {"名詞", "サ変名詞", "地名", "動詞"} <= groups


@pytest.mark.slow
def test_the_analyses_section_renders_from_the_published_tables(sample_edition):
    import jinja2

    from pipeline.report_analyses import analyses_context

    ctx = analyses_context(sample_edition, "sample")
    for svg in (ctx["network"]["svg"], ctx["correspondence"]["svg"]):
        assert len(JAPANESE_TEXT.findall(str(svg))) >= 5  # labels are text, in Japanese
        assert 'width="100%"' in svg and "viewBox=" in svg
    assert "成分1(慣性の" in str(ctx["correspondence"]["svg"])
    assert analyses_context(sample_edition, "sample") == ctx  # deterministic
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("analyses.html.j2").render(analyses=ctx)
    for label in ("共起ネットワーク", "対応分析", "調整済み残差", "品詞別頻度"):
        assert label in html
    points = ctx["correspondence"]["points"]  # every point's coordinates, for labels the biplot overlaps
    assert len(points) == pq.read_table(sample_edition / "sample" / "correspondence.parquet").num_rows
    assert all(f"<td>{p['label']}</td>" in html for p in points)
    classes = {c for attr in re.findall(r'class="([^"]+)"', html) for c in attr.split()}
    assert classes and all(c.startswith("an-") for c in classes)
    cells = [c for r in ctx["residuals"]["rows"] for c in r["cells"]]
    significant = [c for c in cells if c["significant"]]
    assert html.count('class="an-sig"') == len(significant)
    assert all(abs(c["residual"]) >= 1.96 and c["expected"] >= 5 for c in significant)
    weak = [c for c in cells if abs(c["residual"]) >= 1.96 and c["expected"] < 5]
    assert html.count('class="an-weak"') == len(weak) and not any(c["significant"] for c in weak)
    assert len(significant) + len(weak) > 0
    # observed / expected shown in every cell, not only on hover
    assert all(f"<small>{c['observed']}/{c['expected']:.1f}</small>" in html for c in cells)
    cross = ctx["crosstab"]
    assert cross["min_sentences"] == 3 and "本文と見出しの文だけ" in html
    assert all(x["sentences"] < 3 and x["name"] in html for x in cross["rare_countries"] + cross["rare_technologies"])
    # points without a label in the biplot are marked in the coordinate list
    assert html.count("・ラベルなし") == ctx["correspondence"]["unlabelled"] == sum(not p["labelled"] for p in points)
    assert env.get_template("analyses.html.j2").render(analyses=None).strip() == ""
    assert analyses_context(sample_edition.parent, "sample") is None  # no tables: no section


def test_the_section_says_why_when_the_crosstab_cannot_be_analysed(tmp_path, lexicon):
    """One country: no biplot and no residuals, each with the reason; the network is still drawn."""
    from pipeline.report_analyses import analyses_context

    def table(name: str, rows: list[dict]) -> pa.Table:
        schema = SPECS[name].schema
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)

    ct_rows = [{"edition": "one", "country": "KR", "technology": t, "sentences": n, "mentions": n}
               for t, n in (("ai", 1), ("quantum", 1))]
    m_rows = [{"sentence_id": s, "kind": k, "label": lab, "id": i, "top": i, "subject": "KR"}
              for s, k, lab, i in ((1, "body", "COUNTRY", "KR"), (1, "body", "TECHNOLOGY", "ai"),
                                   (2, "body", "COUNTRY", "KR"), (2, "body", "TECHNOLOGY", "quantum"),
                                   (3, "body", "TECHNOLOGY", "ai"), (3, "body", "TECHNOLOGY", "quantum"),
                                   (4, "body", "TECHNOLOGY", "ai"), (5, "body", "TECHNOLOGY", "quantum"))]
    s_rows = [{"sentence_id": s, "kind": "body", "in_summary": False} for s in range(1, 6)]
    published = {"mentions": table("mentions", m_rows), "country_technology": table("country_technology", ct_rows),
                 "tokens": SPECS["tokens"].schema.empty_table(), "sentences": table("sentences", s_rows)}
    (tmp_path / "one").mkdir()
    for name, t in (published | khcoder_tables("one", published, lexicon)).items():
        pq.write_table(t, tmp_path / "one" / f"{name}.parquet")
    ctx = analyses_context(tmp_path, "one")
    assert ctx["correspondence"]["svg"] is None and "1 国 × 2 技術" in ctx["correspondence"]["note"]
    assert ctx["residuals"]["rows"] == [] and ctx["residuals"]["note"]
    assert JAPANESE_TEXT.search(str(ctx["network"]["svg"]))  # 韓国, 人工知能(AI), 量子技術
    assert ctx["frequencies"] == []


def published_khcoder(out: Path, edition: str, lexicon, subjects: dict[str, list[int]]) -> None:
    """Publish to ``out/edition`` the tables of an edition whose body sentence i names the
    technology ``technologies[i]`` in a passage on ``subject``, for each subject's list of
    sentence counts by technology (``ai``, ``quantum``, ``space``), with KH Coder's tables."""
    def table(name: str, rows: list[dict]) -> pa.Table:
        schema = SPECS[name].schema
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)

    m_rows, sid = [], 0
    for subject, counts in subjects.items():
        for tech, n in zip(("ai", "quantum", "space"), counts, strict=False):
            for _ in range(n):
                sid += 1
                m_rows += [{"sentence_id": sid, "kind": "body", "label": "COUNTRY", "id": subject, "top": subject,
                            "subject": subject},
                           {"sentence_id": sid, "kind": "body", "label": "TECHNOLOGY", "id": tech, "top": tech,
                            "subject": subject}]
    s_rows = [{"sentence_id": s, "kind": "body", "in_summary": False} for s in range(1, sid + 1)]
    published = {"mentions": table("mentions", m_rows), "tokens": SPECS["tokens"].schema.empty_table(),
                 "sentences": table("sentences", s_rows),
                 "country_technology": SPECS["country_technology"].schema.empty_table()}
    (out / edition).mkdir(parents=True)
    for name, t in (published | khcoder_tables(edition, published, lexicon)).items():
        pq.write_table(t, out / edition / f"{name}.parquet")


def test_the_section_says_why_the_correspondence_analysis_has_one_dimension_or_none(tmp_path, lexicon):
    """Proportional countries: no biplot, and the report says there is no inertia; countries whose
    profiles lie on one line (three countries, three technologies): one dimension, and why."""
    from pipeline.report_analyses import analyses_context

    published_khcoder(tmp_path, "same", lexicon, {"KR": [3, 3, 3], "US": [6, 6, 6]})
    ctx = analyses_context(tmp_path, "same")["correspondence"]
    assert ctx["svg"] is None and "総慣性 0" in ctx["note"]

    # JP's profile (1/3 each) lies on the line between KR's (1/2, 1/4, 1/4) and US's (1/5, 2/5, 2/5)
    published_khcoder(tmp_path, "line", lexicon, {"KR": [6, 3, 3], "US": [3, 6, 6], "JP": [3, 3, 3]})
    rows = pq.read_table(tmp_path / "line" / "correspondence.parquet").to_pylist()
    assert len(rows) == 6 and all(r["dim2"] is None and 0 < r["share_dim1"] <= 1 for r in rows)
    ctx = analyses_context(tmp_path, "line")["correspondence"]
    assert len(ctx["shares"]) == 1 and "一直線上" in ctx["note"] and "2 か国" not in ctx["note"]


@pytest.mark.slow
def test_a_run_on_the_sample_editions_first_pages_and_a_scanned_page_publishes_its_analyses(prefect_server, tmp_path):
    """Pages 1-6 of the sample edition name two countries often enough for the crosstab: one
    dimension, whose share rounding once took over 1, so that every run of such a PDF failed. With a
    scanned page (read by OCR) the run publishes the tables and the report says why one dimension."""
    import shutil

    from flows.process_report import process_report
    from pipeline.report_analyses import analyses_context
    from samples.build import build_sample_pdf
    from scanned import merge_pages, scanned_copy

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (scripts/install-system-deps.sh)")
    sample = build_sample_pdf(tmp_path / "sample.pdf")
    scan = scanned_copy(sample, tmp_path / "scan.pdf", pages=[1])
    pdf = merge_pages([(sample, p) for p in range(1, 7)] + [(scan, 1)], tmp_path / "mixed.pdf")
    out = tmp_path / "processed"
    process_report(source=str(pdf), edition="mixed", out_dir=str(out), raw_dir=str(tmp_path / "raw"),
                   expectations="", ocr="auto")
    pages = pq.read_table(out / "mixed" / "pages.parquet").to_pylist()
    assert [p["text_source"] for p in pages] == ["text_layer"] * 6 + ["ocr"]
    rows = pq.read_table(out / "mixed" / "correspondence.parquet").to_pylist()
    assert sum(r["point_kind"] == "country" for r in rows) == 2
    assert all(r["dim2"] is None and r["share_dim1"] == pytest.approx(1.0) and r["share_dim1"] <= 1 for r in rows)
    ctx = analyses_context(out, "mixed")["correspondence"]
    assert ctx["shares"] == [rows[0]["share_dim1"]] and "2 か国または 2 技術" in ctx["note"]
    assert (out / "mixed" / "report.html").is_file()


@pytest.mark.slow
def test_the_section_fits_a_phone_and_its_charts_draw_japanese_glyphs(sample_edition, tmp_path):
    """In headless Chromium at 390 px: nothing wider than the screen but the scrollers of the
    residual table and of the charts, which keep 560 px so that their labels stay readable; and the
    charts' font stack draws kanji, not boxes."""
    import jinja2
    from PIL import Image, ImageChops

    from pipeline.report_analyses import analyses_context
    from test_report import _chromium, _need_chromium, _non_white

    _need_chromium()
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # Headless Chromium lays out no window narrower than 500 px: the page goes into a 390 px frame,
    # measured from its parent once loaded.
    inner = env.from_string(
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        '</head><body style="margin:0;padding:8px">{% include "analyses.html.j2" %}</body></html>'
    ).render(analyses=analyses_context(sample_edition, "sample"))
    measure = ("const d = this.contentDocument, w = s => Math.round(d.querySelector(s).getBoundingClientRect().width);"
               "document.body.dataset.page = d.documentElement.scrollWidth;"
               "document.body.dataset.net = w('#an-network svg'); document.body.dataset.ca = w('#an-correspondence svg');")
    page = tmp_path / "analyses.html"
    page.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0" width="390" height="800" '
                    f'onload="{html.escape(measure)}" srcdoc="{html.escape(inner)}"></iframe></body></html>', encoding="utf-8")
    dom = _chromium(tmp_path, page.as_uri(), "--window-size=800,1000", "--dump-dom").stdout
    sizes = {k: int(v) for k, v in re.findall(r'data-(page|net|ca)="(\d+)"', dom)}
    assert sizes["page"] <= 390, sizes
    # both charts keep 560 px (their labels ≥ 8 px), each in its own scroller
    assert sizes["net"] >= 560 and sizes["ca"] >= 560, sizes

    glyphs = tmp_path / "glyphs.html"
    glyphs.write_text(
        "<!DOCTYPE html><html lang='ja'><meta charset='utf-8'><body style='margin:0;background:#fff'>"
        "<svg xmlns='http://www.w3.org/2000/svg' width='400' height='200'>"
        f"<text x='0' y='160' style=\"font-size: 160px; font-family: {charts.SVG_FONT_STACK}\">量</text>"
        f"<text x='200' y='160' style=\"font-size: 160px; font-family: {charts.SVG_FONT_STACK}\">子</text>"
        "</svg></body></html>", encoding="utf-8")
    png = tmp_path / "glyphs.png"
    _chromium(tmp_path, glyphs.as_uri(), f"--screenshot={png}", "--window-size=400,200")
    with Image.open(png) as shot:
        left, right = shot.crop((0, 0, 200, 200)).convert("L"), shot.crop((200, 0, 400, 200)).convert("L")
    assert _non_white(left) > 500 and _non_white(right) > 500, "the kanji were not drawn"
    assert sum(ImageChops.difference(left, right).histogram()[64:]) > 500, "量 and 子 look alike: boxes (tofu)"


def test_frequencies_drop_latin_fragments_and_show_the_documents_spelling():
    # (sentence_id, surface, normalized, dictionary_form, reading, pos, pos_detail), as Sudachi gives them
    rows = [
        (1, "CET", "cet", "cet", "cet", "名詞", "固有名詞-一般"),          # unknown to Sudachi, 3 letters: a fragment
        (1, "CHIPS", "chips", "chips", "chips", "名詞", "固有名詞-一般"),  # unknown but longer: as printed
        (1, "AI", "AI", "AI", "エーアイ", "名詞", "固有名詞-一般"),          # Sudachi knows it
        (1, "自強", "自彊", "自強", "ジキョウ", "名詞", "普通名詞-一般"),
        (2, "自強", "自彊", "自強", "ジキョウ", "名詞", "普通名詞-一般"),
        (2, "自彊", "自彊", "自彊", "ジキョウ", "名詞", "普通名詞-一般"),
        (2, "進め", "進める", "進める", "ススメ", "動詞", "一般"),
        (2, "ため", "為", "ため", "タメ", "名詞", "普通名詞-副詞可能"),  # a stop word as written, not as normalized
    ]
    cols = list(zip(*rows, strict=True))
    toks = pa.table({"sentence_id": pa.array(cols[0], pa.int32()), "surface": list(cols[1]), "normalized": list(cols[2]),
                     "dictionary_form": list(cols[3]), "reading": list(cols[4]), "pos": list(cols[5]),
                     "pos_detail": list(cols[6])})
    sents = pa.table({"sentence_id": pa.array([1, 2], pa.int32()), "kind": ["body", "body"]})
    got = {(r["pos_group"], r["term"]): r["frequency"] for r in word_frequencies(toks, sents, load_analysis_settings())}
    assert got == {("固有名詞", "CHIPS"): 1, ("固有名詞", "AI"): 1, ("名詞", "自強"): 3, ("動詞", "進める"): 1}


def test_frequencies_read_the_token_table_a_window_at_a_time_with_the_same_result(monkeypatch):
    """The token table is turned into Python lists a window of rows at a time (its memory does not
    grow with the document): any window gives the whole table's counts, sentences and spellings,
    ties between spellings falling to the one seen first even when it is in an earlier window."""
    rows = [
        (1, "自彊", "自彊", "自彊", "ジキョウ", "名詞", "普通名詞-一般"),  # seen first: shown on a tie
        (1, "量子", "量子", "量子", "リョウシ", "名詞", "普通名詞-一般"),
        (2, "量子", "量子", "量子", "リョウシ", "名詞", "普通名詞-一般"),
        (2, "は", "は", "は", "ハ", "助詞", "係助詞"),
        (3, "自強", "自彊", "自強", "ジキョウ", "名詞", "普通名詞-一般"),
        (3, "量子", "量子", "量子", "リョウシ", "名詞", "普通名詞-一般"),
        (4, "量子", "量子", "量子", "リョウシ", "名詞", "普通名詞-一般"),  # a caption: not counted
        (5, "研究", "研究", "研究", "ケンキュウ", "名詞", "普通名詞-サ変可能"),
    ]
    cols = list(zip(*rows, strict=True))
    toks = pa.table({"sentence_id": pa.array(cols[0], pa.int32()), "surface": list(cols[1]), "normalized": list(cols[2]),
                     "dictionary_form": list(cols[3]), "reading": list(cols[4]), "pos": list(cols[5]),
                     "pos_detail": list(cols[6])})
    sents = pa.table({"sentence_id": pa.array([1, 2, 3, 4, 5], pa.int32()),
                      "kind": ["body", "body", "body", "caption", "body"]})
    whole = word_frequencies(toks, sents, load_analysis_settings())
    got = {(r["pos_group"], r["term"]): (r["frequency"], r["sentences"]) for r in whole}
    assert got == {("名詞", "量子"): (3, 3), ("名詞", "自彊"): (2, 2), ("サ変名詞", "研究"): (1, 1)}
    for window in (1, 2, 3):
        monkeypatch.setattr(analyses, "FREQUENCY_WINDOW_ROWS", window)
        assert word_frequencies(toks, sents, load_analysis_settings()) == whole, window
