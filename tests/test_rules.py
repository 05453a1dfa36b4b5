"""Rules (pipeline/rules.py): findings.toml read and checked in one place; another file given with
--rules reaches the extractors and the cache keys."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from flows.main import app
from pipeline.rules import RulesError, default_rules_path, load_rules
from stages import run_sections

PACKAGED = default_rules_path().read_text(encoding="utf-8")


def _variant(tmp_path, old: str, new: str, name: str = "rules.toml"):
    assert old in PACKAGED, old
    path = tmp_path / name
    path.write_text(PACKAGED.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_packaged_rules_load_with_every_part():
    rules = load_rules()
    assert rules.version and len(rules.sha256) == 64 and rules.path == str(default_rules_path())
    assert "国家戦略技術" in rules.facts.items and rules.facts.era_first_years["令和"] == 2019
    assert rules.facts.policy is rules.policies and rules.policies.names.report_words
    assert [name for name, _ in rules.relations.classes] == ["competitor", "other", "partner"]
    assert ("技術", "技術分野", "技術領域") in rules.claims.equivalent_items
    assert load_rules() is load_rules(default_rules_path())  # parsed once per content


@pytest.mark.parametrize("old, new, message", [
    ("min_count = 2", 'min_count = "two"', "[facts]: min_count must be a whole number"),
    ("min_count = 2", "", "[facts] lacks min_count"),
    ("min_count = 2", "min_count = 2\nmax_count = 9", "[facts] has unknown key(s) max_count"),
    ('heads = ["技術"', 'heads = [1, "技術"', "[facts]: heads must be a list of strings"),
    ("[claims]", "[claim]", "unknown top-level key(s) claim"),
    ('equivalent_items = [["技術", "技術分野", "技術領域"]]', 'equivalent_items = ["技術"]',
     "equivalent_items must be a list of lists of strings"),
    ("version = ", "version == ", "is not valid TOML"),
    # Values that would hang or derail a stage: an empty cue word matches everywhere.
    ('sentence_leads = ["なお、"', 'sentence_leads = ["", "なお、"', "sentence_leads must be a list of strings, none of them empty"),
    ('technology_negations = [', 'technology_negations = [" ", ', "technology_negations must be a list of strings"),
    ("min_count = 2", "min_count = 0", "min_count must be a whole number of 1 or more"),
    ('administration_suffix = "政権"', 'administration_suffix = ""', "administration_suffix must be a non-empty string"),
])
def test_a_bad_rules_file_says_which_table_and_key(tmp_path, old, new, message):
    path = _variant(tmp_path, old, new)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert message in caught.value.what and str(path) in caught.value.what and caught.value.todo


def test_a_rules_file_without_a_table_or_not_there(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(PACKAGED[: PACKAGED.index("[relations]")], encoding="utf-8")
    with pytest.raises(RulesError, match=r"has no \[relations\] table"):
        load_rules(path)
    with pytest.raises(RulesError, match="rules file not found"):
        load_rules(tmp_path / "nope.toml")


def test_another_rules_file_changes_what_the_extractors_find(tmp_path, nlp, lexicon):
    from pipeline.facts import extract_facts
    from pipeline.relations import extract_relations

    seg, tokens, att, facts, relations = run_sections(nlp, lexicon, ("第2章 韓国", [
        "韓国政府は、2022年に12の国家戦略技術を指定した。韓国は米国と連携している。"]))
    assert [(f.count, f.item) for f in facts] == [(12, "国家戦略技術")]
    assert [(r.other, r.relation) for r in relations] == [("US", "partner")]
    strict = load_rules(_variant(tmp_path, "min_count = 2", "min_count = 13"))
    assert extract_facts(seg, tokens, att, lexicon, strict.facts) == []
    wary = load_rules(_variant(tmp_path, 'competitor = ["競争相手"', 'competitor = ["連携", "競争相手"', "wary.toml"))
    assert [(r.other, r.relation) for r in extract_relations(seg, att, lexicon, wary.relations)] == [("US", "competitor")]


def test_another_rules_file_changes_the_cache_keys_of_the_stages_that_use_it(tmp_path):
    from flows.process_report import RunConfig, stage_keys

    other = _variant(tmp_path, "min_count = 2", "min_count = 3")
    a = stage_keys("0" * 64, RunConfig())
    b = stage_keys("0" * 64, RunConfig(rules_path=str(other)))
    assert [s for s in a if a[s] != b[s]] == ["facts", "relations", "policies", "keyterms", "claims", "analyses", "run"]
    c = stage_keys("0" * 64, RunConfig(), "page-digest")  # the announcement page's summary
    assert [s for s in a if a[s] != c[s]] == ["claims", "analyses", "run"]


def test_jstmine_run_refuses_a_bad_rules_or_expectations_file_before_starting(tmp_path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    bad = _variant(tmp_path, "min_count = 2", "min_count = -1")
    result = CliRunner().invoke(app, ["run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--rules", str(bad)])
    assert result.exit_code == 1 and "min_count must be a whole number" in " ".join(result.output.split())
    assert not (tmp_path / "out" / ".runs").exists()  # refused before anything ran
    claims = tmp_path / "claims.yaml"
    claims.write_text("technologies: {KR: [warp_drive]}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--expectations", str(claims)])
    assert result.exit_code == 1 and re.search(r"'warp_drive' is not a broad\s+technology id", result.output)
