"""Edition diffs: hand-made rows, and editions published with pipeline.publish."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest
from rich.console import Console

from pipeline.diff import EditionDiff, diff_editions, diff_tables, diff_to_dict, render_diff
from pipeline.errors import PipelineError
from pipeline.publish import publish
from pipeline.tables import SPECS, validate


def tech(country, technology, page=1):
    return {"country": country, "technology": technology, "technology_name": technology, "mentions": 1,
            "sentences": 1, "pages": [page], "items": [], "sentence_ids": [page], "evidence_page": page,
            "evidence": f"{country}は{technology}を重視する。"}


def fact(country, item, count=None, year=None, page=1, part_of=None, policy=None, fact_id=0, in_summary=False):
    return {"fact_id": fact_id, "country": country, "item_count": count, "year": year, "year_qualifier": None,
            "item": item, "part_of": part_of, "policy": policy, "administration": None,
            "update_every_years": None, "technologies": [], "page": page, "sentence_id": page, "also_in": [],
            "evidence": f"{country}は{count}の{item}を定めた。", "in_summary": in_summary}


def rel(subject, other, relation="partner", page=1, relation_id=0):
    return {"relation_id": relation_id, "subject": subject, "other": other, "other_label": "COUNTRY",
            "relation": relation, "cue": "協力", "via": "lexicon", "page": page, "sentence_id": page,
            "evidence": f"{subject}は{other}と協力する。", "in_summary": False}


A = {
    "country_technology": [tech("KR", "ai"), tech("KR", "quantum"), tech("US", "ai"), tech("CN", "biotech")],
    "policy_facts": [
        fact("KR", "国家戦略技術", count=12, year=2023, page=4),
        fact("US", "重要・新興技術", count=18, year=2022, page=9),
        fact("CN", "重点分野", count=7, year=2015, page=12),
    ],
    "relations": [rel("KR", "US", page=5), rel("JP", "AU", page=8)],
}
B = {
    "country_technology": [tech("KR", "ai"), tech("KR", "semiconductors"), tech("US", "ai"), tech("JP", "quantum")],
    "policy_facts": [
        fact("KR", "国家 戦略 技術", count=13, year=2023, page=5),  # same item, other spacing: count 12 → 13
        fact("US", "重要・新興技術", count=18, year=2024, page=9),  # year 2022 → 2024
        fact("JP", "重要技術", count=20, page=2),
    ],
    "relations": [rel("KR", "US", page=6), rel("KR", "CN", relation="competitor", page=7)],
}


def test_technologies_added_and_removed_by_country():
    d = diff_tables("e1", A, "e2", B)
    assert d.a == "e1" and d.b == "e2"
    assert d.technologies_added == {"KR": ["semiconductors"], "JP": ["quantum"]}
    assert d.technologies_removed == {"KR": ["quantum"], "CN": ["biotech"]}
    # Each with its page and evidence sentence from the edition it is in.
    assert d.technology_evidence == {
        "KR": {"semiconductors": {"page": 1, "evidence": "KRはsemiconductorsを重視する。"},
               "quantum": {"page": 1, "evidence": "KRはquantumを重視する。"}},
        "JP": {"quantum": {"page": 1, "evidence": "JPはquantumを重視する。"}},
        "CN": {"biotech": {"page": 1, "evidence": "CNはbiotechを重視する。"}},
    }


def test_fact_count_and_year_changes_are_matched_by_country_and_item():
    d = diff_tables("e1", A, "e2", B)
    assert [(c["country"], c["field"], c["a"], c["b"]) for c in d.facts_changed] == [
        ("KR", "item_count", 12, 13),
        ("US", "year", 2022, 2024),
    ]
    assert d.facts_changed[0]["item"] == "国家 戦略 技術" and d.facts_changed[0]["page"] == 5
    assert d.facts_added == [{"country": "JP", "item_count": 20, "item": "重要技術", "year": None, "page": 2,
                              "evidence": "JPは20の重要技術を定めた。", "in_summary": False}]
    assert [(r["country"], r["item_count"], r["item"]) for r in d.facts_removed] == [("CN", 7, "重点分野")]


def test_part_of_and_policy_changes_and_policy_spacing():
    a = {"policy_facts": [fact("KR", "技術", count=3, part_of=12, policy="国家 戦略")]}
    same = {"policy_facts": [fact("KR", "技術", count=3, part_of=12, policy="国家戦略", page=9)]}
    other = {"policy_facts": [fact("KR", "技術", count=3, part_of=11, policy="別の戦略")]}
    assert diff_tables("a", a, "b", same).is_empty()  # whitespace and page alone are no change
    assert [(c["field"], c["a"], c["b"]) for c in diff_tables("a", a, "b", other).facts_changed] == [
        ("part_of", 12, 11), ("policy", "国家 戦略", "別の戦略")]


def test_several_facts_with_one_key_are_matched_by_count():
    a = {"policy_facts": [fact("US", "技術", count=5, year=2020), fact("US", "技術", count=9, year=2020, page=3)]}
    b = {"policy_facts": [fact("US", "技術", count=9, year=2021, page=3), fact("US", "技術", count=4, year=2020),
                          fact("US", "技術", count=6, year=2020, page=7)]}
    d = diff_tables("a", a, "b", b)
    # 9 ↔ 9 is the same fact with a new year; 5 has no partner, nor do 4 and 6
    assert [(c["field"], c["a"], c["b"]) for c in d.facts_changed] == [("year", 2020, 2021)]
    assert [r["item_count"] for r in d.facts_removed] == [5]
    assert sorted(r["item_count"] for r in d.facts_added) == [4, 6]


def test_a_fact_stated_in_the_summary_and_in_the_body_changes_in_both():
    old = {"policy_facts": [fact("KR", "国家戦略技術", 12, 2022, page=1, in_summary=True),
                            fact("KR", "国家戦略技術", 12, 2022, page=9, fact_id=1)]}
    new = {"policy_facts": [fact("KR", "国家戦略技術", 13, 2022, page=1, in_summary=True),
                            fact("KR", "国家戦略技術", 13, 2022, page=9, fact_id=1)]}
    d = diff_tables("e1", old, "e2", new)
    assert sorted((c["field"], c["a"], c["b"], c["page"]) for c in d.facts_changed) == [("item_count", 12, 13, 1), ("item_count", 12, 13, 9)]
    assert d.facts_added == d.facts_removed == []


def test_the_summarys_statement_of_a_fact_is_told_from_the_bodys_in_every_output():
    """The two rows of a fact changed in the summary and in the body read the same
    (~ fact 国家戦略技術: count 12 → 13, twice): each now says whether the summary states it."""
    from pipeline.query import diff_rows

    old = {"policy_facts": [fact("KR", "国家戦略技術", 12, 2022, page=1, in_summary=True),
                            fact("KR", "国家戦略技術", 12, 2022, page=9, fact_id=1),
                            fact("CN", "未来産業", 9, None, page=2, in_summary=True, fact_id=2)]}
    new = {"policy_facts": [fact("KR", "国家戦略技術", 13, 2022, page=1, in_summary=True),
                            fact("KR", "国家戦略技術", 13, 2022, page=9, fact_id=1),
                            fact("CN", "未来産業", 9, None, page=12, fact_id=2)]}
    d = diff_tables("e1", old, "e2", new)
    assert sorted((c["page"], c["in_summary"]) for c in d.facts_changed) == [(1, True), (9, False)]
    assert [(r["page"], r["in_summary"]) for r in d.facts_removed] == [(2, True)]
    assert [(r["page"], r["in_summary"]) for r in d.facts_added] == [(12, False)]
    rows = diff_rows(d).records()
    assert sorted((r["change"], r["page"], r["in_summary"]) for r in rows) == [
        ("added", 12, False), ("changed", 1, True), ("changed", 9, False), ("removed", 2, True)]
    console = Console(record=True, width=120, color_system=None)
    render_diff(d, console)
    lines = [ln.strip() for ln in console.export_text().splitlines()]
    assert "~ fact 国家戦略技術: count 12 → 13  p. 1  (summary)" in lines
    assert "~ fact 国家戦略技術: count 12 → 13  p. 9" in lines
    assert "− fact 9 未来産業  p. 2  (summary)" in lines and "+ fact 9 未来産業  p. 12" in lines


def test_relations_added_and_removed_with_evidence():
    d = diff_tables("e1", A, "e2", B)
    # KR–US partner is in both (on another page): no change
    assert d.relations_added == [{"subject": "KR", "other": "CN", "relation": "competitor", "page": 7,
                                  "evidence": "KRはCNと協力する。"}]
    assert d.relations_removed == [{"subject": "JP", "other": "AU", "relation": "partner", "page": 8,
                                    "evidence": "JPはAUと協力する。"}]
    # the same pair with another relation is a different relation
    kind = diff_tables("a", {"relations": [rel("KR", "CN")]}, "b", {"relations": [rel("KR", "CN", "competitor")]})
    assert [r["relation"] for r in kind.relations_added] == ["competitor"]
    assert [r["relation"] for r in kind.relations_removed] == ["partner"]


def test_identical_editions_and_empty_tables_have_no_differences():
    d = diff_tables("e1", A, "e1-again", {k: list(reversed(v)) for k, v in A.items()})
    assert d.is_empty()
    assert d == EditionDiff(a="e1", b="e1-again")
    assert diff_tables("x", {}, "y", {}).is_empty()
    assert not diff_tables("x", {}, "y", {"relations": [rel("KR", "US")]}).is_empty()


def test_diff_to_dict_is_json_ready():
    d = diff_tables("e1", A, "e2", B)
    data = json.loads(json.dumps(diff_to_dict(d), ensure_ascii=False))
    assert data["a"] == "e1" and data["b"] == "e2" and data["empty"] is False
    assert data["technologies_added"]["KR"] == ["semiconductors"]
    assert data["facts_changed"][0]["b"] == 13
    assert data["countries"] == ["CN", "JP", "KR", "US"]


def test_render_diff_shows_plus_minus_and_changes_per_country():
    console = Console(record=True, width=120)
    render_diff(diff_tables("e1", A, "e2", B), console)
    text = console.export_text()
    lines = [line.strip() for line in text.splitlines()]

    assert "e1 → e2" in lines[0]
    assert "+ technology semiconductors" in lines
    assert "− technology quantum" in lines
    assert "− technology biotech" in lines
    assert any(line.startswith("~ fact 国家 戦略 技術: count 12 → 13") for line in lines)
    assert any(line.startswith("~ fact 重要・新興技術: year 2022 → 2024") for line in lines)
    assert any(line.startswith("+ fact 20 重要技術") for line in lines)
    assert any(line.startswith("+ competitor CN") for line in lines)
    assert any(line.startswith("− partner AU") for line in lines)
    # grouped by country: KR's lines come under the KR heading, before US
    assert lines.index("KR") < lines.index("+ technology semiconductors") < lines.index("US")

    quiet = Console(record=True)
    render_diff(diff_tables("e1", A, "e1", A), quiet)
    assert "no differences" in quiet.export_text()


# ---------------------------------------------------------------------------------------------
# Published editions


def table(name: str, rows: list[dict], edition: str) -> pa.Table:
    spec = SPECS[name]
    full = [{f: r.get(f) for f in spec.schema.names} | {"edition": edition} for r in rows]
    return validate(pa.Table.from_pylist(full, schema=spec.schema), spec)


def publish_edition(out, edition: str, tables: dict[str, list[dict]]) -> None:
    publish({name: table(name, rows, edition) for name, rows in tables.items()}, out, edition)


def with_ids(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Rows with unique fact_id / relation_id, as the key checks of SPECS want."""
    out = {}
    for name, rows in tables.items():
        key = {"policy_facts": "fact_id", "relations": "relation_id"}.get(name)
        out[name] = [r | {key: i} for i, r in enumerate(rows)] if key else rows
    return out


def test_diff_editions_reads_published_parquet(tmp_path):
    out = tmp_path / "processed"
    publish_edition(out, "e1", with_ids(A))
    publish_edition(out, "e2", with_ids(B))

    d = diff_editions(out, "e1", "e2")

    assert d == diff_tables("e1", with_ids(A), "e2", with_ids(B))
    assert d.technologies_added == {"KR": ["semiconductors"], "JP": ["quantum"]}
    assert [(c["field"], c["a"], c["b"]) for c in d.facts_changed] == [("item_count", 12, 13), ("year", 2022, 2024)]
    assert diff_editions(out, "e2", "e2").is_empty()


def test_diff_editions_missing_table_counts_as_empty(tmp_path):
    out = tmp_path / "processed"
    publish_edition(out, "e1", {"country_technology": A["country_technology"]})  # no facts, no relations
    publish_edition(out, "e2", with_ids(B))

    d = diff_editions(out, "e1", "e2")

    assert len(d.facts_added) == 3 and d.facts_changed == [] and d.facts_removed == []
    assert len(d.relations_added) == 2 and d.relations_removed == []


def test_a_table_one_edition_lacks_is_named_with_what_the_diff_shows_for_it(tmp_path):
    """An edition without a relations or policy_facts file (an older jstmine's) made every one of
    the other's show as added or removed, with nothing to say it is no change of the report."""
    from pipeline.diff import missing_notes

    out = tmp_path / "processed"
    publish_edition(out, "e1", {"country_technology": A["country_technology"]})  # no facts, no relations
    publish_edition(out, "e2", with_ids(B))
    d = diff_editions(out, "e1", "e2")
    assert d.missing == {"e1": ["policy_facts", "relations"]} and len(d.relations_added) == 2
    notes = missing_notes(d)
    assert len(notes) == 2 and "edition e1 has no relations table" in notes[1] and "shows as added" in notes[1]
    assert "removed" in missing_notes(diff_editions(out, "e2", "e1"))[0]
    assert diff_editions(out, "e2", "e2").missing == {}
    console = Console(record=True, width=300, color_system=None)
    render_diff(d, console)
    assert "note: edition e1 has no policy_facts table" in console.export_text()


def test_diff_editions_missing_edition_names_the_available_ones(tmp_path):
    out = tmp_path / "processed"
    publish_edition(out, "e1", with_ids(A))
    publish_edition(out, "e2", with_ids(B))

    with pytest.raises(PipelineError) as info:
        diff_editions(out, "e1", "e3")
    assert "'e3'" in info.value.what and "e1, e2" in info.value.what
    with pytest.raises(PipelineError, match="no editions published"):
        diff_editions(tmp_path / "empty", "e1", "e2")
    with pytest.raises(PipelineError, match=r"'\.runs'"):
        diff_editions(out, ".runs", "e1")  # publish's own directory is not an edition


def test_diff_never_reads_through_a_link_or_directory_that_is_no_published_edition(tmp_path):
    """README: a link someone planted in the output directory is never read through; diff did read
    one (and a plain directory named like an edition), and compared its tables as an edition's."""
    import os
    import shutil

    out = tmp_path / "processed"
    publish_edition(out, "e1", with_ids(A))
    publish_edition(out, "e2", with_ids(B))
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(out / "e2", elsewhere)
    (out / "planted").symlink_to(elsewhere, target_is_directory=True)
    (out / "borrowed").symlink_to(os.readlink(out / "e2"), target_is_directory=True)  # another edition's run
    shutil.copytree(out / "e2", out / "plain")  # a directory, not a link publish made
    for name in ("planted", "borrowed", "plain"):
        with pytest.raises(PipelineError) as info:
            diff_editions(out, "e1", name)
        assert "no edition jstmine published" in info.value.what or "not an edition published" in info.value.what
        assert "e1, e2" in info.value.what
    for name in ("../processed/e2", str(out / "e2")):
        with pytest.raises(PipelineError, match="no edition"):
            diff_editions(out, "e1", name)
