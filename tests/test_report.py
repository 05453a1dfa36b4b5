"""The HTML report: content from small published tables, offline-ness, atomic writing, and a real
render in headless Chromium (screenshot not blank, DOM as expected, Japanese glyphs not boxes)."""
from __future__ import annotations

import html as html_module
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from pipeline.publish import publish
from pipeline.report import EditionError, heat_style, render_report
from test_inspect import CT_OLD, SHA, _collect_garbage, edition_tables, run, table  # noqa: F401 (autouse fixture)

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def out(tmp_path):
    publish(edition_tables("old", "2025-01-15T10:00:00+00:00", ct=CT_OLD, extras=False), tmp_path, "old")
    publish(edition_tables("new", "2025-04-01T10:00:00+00:00", hostile="<script>alert(1)</script>"), tmp_path, "new")
    return tmp_path


def _text(html: str) -> str:
    """The page's visible text, roughly: tags dropped, whitespace collapsed."""
    text = " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"</?(?:mark|b)>", "", html)).split())
    return re.sub(r"([（、]) | ([,.;、。）])", lambda m: m.group(1) or m.group(2), text)


def test_report_shows_heatmap_cards_evidence_and_findings(out):
    path = render_report(out, "new")
    assert path == out / "new" / "report.html" and path.is_file()
    assert path.resolve().parent.parent.name == "new"  # inside the edition's run directory
    html = path.read_text(encoding="utf-8")
    text = _text(html)
    # header: document metadata and the page with a problem, in Japanese
    assert "新興技術政策の国際動向" in text
    assert SHA[:12] in html and SHA not in text  # the prefix is shown, the full hash only as a tooltip
    assert "処理日時 2025-04-01T10:00:00+00:00" in text
    assert "規模 4 ページ · 6 文 · 言及 11" in text
    assert "p. 2 page 2 has no text layer" in text
    # heatmap: countries as rows (most mentions first), technologies as columns, colour from counts
    heat = _between(html, '<table class="jm-heat">', "</table>")
    rows = re.findall(r'<a href="#country-(\w+)">', heat)
    assert rows == ["KR", "CN", "JP"]
    assert [re.sub(r"<[^>]+>", "", t) for t in re.findall(r'<span class="jm-vt">(.*?)</span>', heat)] == \
        ["量子技術", "人工知能(AI)", "半導体"]
    # the darkest cell links to its evidence block
    assert (f'<td class="jm-cell" style="{heat_style(2, 2)}"><a href="#ev-CN-quantum" '
            'title="中国 × 量子技術: 言及 2 回、1 文（p. 3）">2</a></td>') in heat
    assert heat_style(2, 2) != heat_style(1, 2) and heat.count('class="jm-cell jm-empty"') == 4
    assert "国・地域 ＼ 技術" in heat and ">計<" in heat
    # every cell's link has its block (a <details> with that id), and every block a cell
    links = re.findall(r'href="#(ev-[\w-]+)"', heat)
    blocks = re.findall(r'<details class="jm-ev" id="(ev-[\w-]+)">', html)
    assert sorted(links) == sorted(blocks) == sorted(["ev-KR-quantum", "ev-KR-ai", "ev-KR-semiconductors",
                                                      "ev-CN-quantum", "ev-JP-quantum"])
    # a card per country with its technologies, facts, relations, policies, key terms and evidence
    kr = html[html.index('id="country-KR"'):html.index('id="country-CN"')]
    assert "<h3>韓国</h3>" in kr and "量子技術 <b>1</b>" in kr and "半導体 <b>1</b>" in kr
    quantum = _between(kr, 'id="ev-KR-quantum"', "</details>")
    assert re.search(r'<span class="jm-sid" title="sentence_id">s1</span> <span class="jm-page">p\. 1</span>\s*'
                     r'<blockquote class="jm-quote">韓国は、<mark>量子技術</mark>とAIを', quantum)
    assert "<mark>AI</mark>" in _between(kr, 'id="ev-KR-ai"', "</details>")  # each cell marks its own technology
    assert re.search(r's2</span> <span class="jm-page">p\. 3</span>\s*<blockquote class="jm-quote">同国は<mark>半導体</mark>の',
                     _between(kr, 'id="ev-KR-semiconductors"', "</details>"))
    assert "国家戦略技術育成法" in kr and "12 国家戦略技術" in _text(kr)
    assert '<span class="jm-tag">2022年</span>' in kr  # the year in Japanese, never "2022 in"
    assert '<b class="jm-rel-partner">協力</b> <span class="jm-id">partner</span> 米国' in kr and "協力" in kr
    assert "国家戦略技術 <b>3</b>" in kr  # key term with its count
    assert '<a href="#country-CN">中国</a> 0.42' in kr and "コサイン類似度" in kr  # similarity explained
    jp = html[html.index('id="country-JP"'):html.index('id="findings"')]
    assert "[注] 日本は<mark>量子コンピュータ</mark>に投資する。" in jp and "p. 4" in jp
    # findings check: a badge per status, counts, both sides with their pages and scopes
    findings = html[html.index('<section id="findings">'):html.index('<section id="kwic">')]
    for name in ("一致 1", "本文に記載なし 1", "矛盾 1"):
        assert name in _text(_between(findings, '<div class="jm-summary-badges">', "</div>"))
    statuses = re.findall(r'<tr class="jm-(\w+)" id="finding-F\d">', findings)
    assert statuses == ["contradicted", "missing", "matched"]  # problems first
    assert re.search(r'<span class="jm-scope jm-scope-body">本文</span><span class="jm-sid">s4</span> '
                     r'<span class="jm-page">p\. 4</span><blockquote class="jm-quote">\[注\] 日本は量子コンピュータに投資する。',
                     findings)
    assert '<span class="jm-id">country_technology #0</span>' in findings
    # each finding's detail in Japanese (findings_check.detail_ja), not the English detail
    assert "本文はこの技術を挙げていない" in findings and "中国はAIを重要技術とする" in findings
    assert "no CN × ai row" not in findings and "the body says" not in findings
    assert re.search(r'<span class="jm-scope jm-scope-summary">要旨</span><span class="jm-sid">s0</span> '
                     r'<span class="jm-page">p\. 1</span><blockquote class="jm-quote">第1章 韓国</blockquote>', findings)
    assert "<blockquote class=\"jm-quote\">日本は20の技術を指定した。</blockquote>" in findings
    assert "出所: 期待値ファイル" in findings and "出所: 公表ページの要旨" in findings
    assert "PDF のエグゼクティブ・サマリー（1）" in findings
    # autoescape: a value can never become markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def _between(html: str, start: str, end: str) -> str:
    """The part of ``html`` from ``start`` to the first ``end`` after it."""
    i = html.index(start)
    return html[i:html.index(end, i)]


def _findings_rows(html: str) -> dict[str, str]:
    """Each findings-check row's text by its claim id."""
    return {cid: _text(row) for cid, row in
            re.findall(r'<tr class="jm-\w+" id="finding-(\w+)">(.*?)</tr>', html, flags=re.S)}


def test_claims_say_their_scope_the_summary_and_the_body_they_are_checked_against(out):
    html = render_report(out, "new").read_text(encoding="utf-8")
    rows = _findings_rows(html)
    assert set(rows) == {"F1", "F2", "F3"}
    # every claim says whose it is (the summary's, or the expectations file's: never the summary's
    # when written by hand), and where it came from
    scopes = {"F1": "要旨の主張", "F2": "期待値ファイルの主張", "F3": "要旨の主張"}
    for cid, row in rows.items():
        assert row.count(scopes[cid]) == 1 and "出所:" in row, (cid, row)
    assert "要旨の主張" not in rows["F2"]
    # the KR claim is matched, and the row says it is about the summary, with the body's sentence
    assert rows["F1"].startswith("一致 matched 技術 technology 韓国 KR 要旨の主張 韓国は量子技術を重要技術とする")
    assert "要旨 s0 p. 1 第1章 韓国" in rows["F1"] and "本文 s1 p. 1" in rows["F1"]
    # the claim column's header names its scope; on a phone each cell carries its label
    head = _text(_between(html, '<table class="jm-findings">', "</thead>"))
    assert head == "判定（本文と照合） 種類 国・地域 主張（範囲: 出所） 要旨の記述 本文の記述"  # not all the summary's
    assert html.count('data-label="主張（範囲: 出所）"') == 3
    # facts and relations say whether the summary or the body states them
    tables = edition_tables("scoped", "2025-05-01T10:00:00+00:00")
    facts = tables["policy_facts"].to_pylist()
    facts.append(facts[0] | {"edition": "scoped", "fact_id": 1, "in_summary": True, "year": 2021,
                             "year_qualifier": "since", "item_count": None, "item": "国家戦略文書", "policy": None})
    tables["policy_facts"] = table("policy_facts", facts)
    publish(tables, out, "scoped")
    kr = _between(render_report(out, "scoped").read_text(encoding="utf-8"), 'id="country-KR"', 'id="country-CN"')
    items = [_text(li) for li in re.findall(r"<li>(.*?)</li>", _between(kr, "<h4>政策上の事実</h4>", "</ul>"), flags=re.S)]
    assert len(items) == 2
    assert "国家戦略文書 2021年以降 quantum ai 要旨 s1 p. 1" in items[1] and "since" not in items[1]
    assert "12 国家戦略技術 2022年 quantum ai 本文 s1 p. 1" in items[0]


def test_claims_are_shown_in_japanese_from_their_fields_with_the_english_line_kept_small(out):
    tables = edition_tables("claims", "2025-05-01T10:00:00+00:00")
    claims = [
        {"claim_id": "F1", "kind": "technology", "country": "KR", "claim": "KR names quantum", "technology": "quantum"},
        {"claim_id": "F2", "kind": "fact", "country": "IN", "claim": "IN: 国家戦略 (since 2021)", "item": "国家戦略",
         "year": 2021, "year_qualifier": "since"},
        {"claim_id": "F3", "kind": "relation", "country": "US", "claim": "US competitor CN", "other": "CN",
         "relation": "competitor"},
        {"claim_id": "F4", "kind": "fact", "country": "EU", "claim": "EU: 4 of 10", "item_count": 4, "part_of": 10,
         "item": "技術分野", "year": 2023, "year_qualifier": "in", "update_every_years": 2},
    ]
    tables["summary_claims"] = table("summary_claims", [c | {"edition": "claims", "origin": "summary_chapter",
                                                             "stated_in": ["summary_chapter"]} for c in claims])
    findings = tables["findings_check"].to_pylist()
    findings.append(findings[0] | {"claim_id": "F4", "country": "EU", "kind": "fact", "claim": "EU: 4 of 10"})
    tables["findings_check"] = table("findings_check", [f | {"claim": c["claim"], "origin": "summary_chapter"}
                                                         for f, c in zip(findings, claims, strict=True)])
    publish(tables, out, "claims")
    rows = _findings_rows(render_report(out, "claims").read_text(encoding="utf-8"))
    assert "要旨の主張 要旨は韓国について量子技術を挙げる KR names quantum" in rows["F1"]
    assert "要旨の主張 インド: 国家戦略（2021年以降） IN: 国家戦略 (since 2021)" in rows["F2"]
    assert "要旨の主張 米国 → 中国: 競合 US competitor CN" in rows["F3"]
    assert "要旨の主張 EU: 4 技術分野（2023年）（全 10 のうち）、2 年ごとに更新 EU: 4 of 10" in rows["F4"]


def test_a_banner_at_the_top_names_the_contradicted_and_missing_claims(out):
    html = render_report(out, "new").read_text(encoding="utf-8")
    banner = _between(html, '<div class="jm-banner" id="findings-banner"', "</div>")
    assert html.index('id="findings-banner"') < html.index('<header class="jm-top">')  # above everything else
    assert "本文と矛盾するもの 1 件、本文に記載がないもの 1 件" in _text(banner)
    links = re.findall(r'<a href="#(finding-\w+)">', banner)
    assert links == ["finding-F3", "finding-F2"]  # contradicted first; matched claims are not listed
    for anchor in links:
        assert f'id="{anchor}"' in html
    assert "日本は20の技術を指定した" in banner and "中国はAIを重要技術とする" in banner
    # one of the two is an expectations file's claim: the banner does not call them the summary's,
    # and says where each came from
    assert "要旨の主張" not in _text(banner) and _text(banner).startswith("主張のうち、")
    assert "出所: 公表ページの要旨 1 件、期待値ファイル（手書き） 1 件" in _text(banner)
    # all the summary's: 要旨の主張
    tables = edition_tables("summary", "2025-05-01T10:00:00+00:00")
    rows = [r | {"edition": "summary", "origin": "summary_chapter"} for r in tables["findings_check"].to_pylist()]
    tables["findings_check"] = table("findings_check", rows)
    publish(tables, out, "summary")
    banner = _text(_between(render_report(out, "summary").read_text(encoding="utf-8"),
                            '<div class="jm-banner" id="findings-banner"', "</div>"))
    assert banner.startswith("要旨の主張のうち、本文と矛盾するもの 1 件") and "出所:" not in banner

    # only missing claims: the banner is there, in the milder colour; all matched: no banner
    tables = edition_tables("calm", "2025-05-01T10:00:00+00:00")
    rows = tables["findings_check"].to_pylist()
    tables["findings_check"] = table("findings_check", [r | {"edition": "calm"} for r in rows if r["status"] != "contradicted"])
    publish(tables, out, "calm")
    html = render_report(out, "calm").read_text(encoding="utf-8")
    assert 'class="jm-banner jm-only-missing" id="findings-banner"' in html
    assert "本文と矛盾するもの 0 件、本文に記載がないもの 1 件" in _text(html)
    tables["findings_check"] = table("findings_check", [r | {"edition": "calm"} for r in rows if r["status"] == "matched"])
    publish(tables, out, "calm")
    assert 'id="findings-banner"' not in render_report(out, "calm").read_text(encoding="utf-8")


def test_a_claim_of_an_expectations_file_is_labelled_as_the_files_not_the_summarys(out):
    tables = edition_tables("hand", "2025-05-01T10:00:00+00:00")
    claims = [{"claim_id": "F2", "kind": "technology", "country": "CN", "claim": "CN names ai", "technology": "ai",
               "edition": "hand", "origin": "expectations_file", "stated_in": ["expectations_file"]}]
    tables["summary_claims"] = table("summary_claims", claims)
    publish(tables, out, "hand")
    html = render_report(out, "hand").read_text(encoding="utf-8")
    row = _findings_rows(html)["F2"]
    assert "期待値ファイルの主張 期待値ファイルは中国について" in row and "要旨" not in row, row


def test_the_findings_section_has_no_english_sentence_and_an_old_edition_keeps_its_english_detail_small(out):
    html = render_report(out, "new").read_text(encoding="utf-8")
    findings = _between(html, '<section id="findings">', '<section id="kwic">')
    # ids and English values in small type (jm-id) are fine; no other run of English words is left
    prose = re.sub(r'<span class="jm-id"[^>]*>.*?</span>', " ", findings, flags=re.S)
    assert not re.findall(r"[A-Za-z]+(?: [A-Za-z]+)+", _text(prose)), re.findall(r"[A-Za-z]+(?: [A-Za-z]+)+", _text(prose))
    # an edition made before detail_ja: the English detail, in small type and marked as English
    tables = edition_tables("older", "2025-05-01T10:00:00+00:00")
    rows = [r | {"edition": "older", "detail_ja": None} for r in tables["findings_check"].to_pylist()]
    tables["findings_check"] = table("findings_check", rows)
    publish(tables, out, "older")
    html = render_report(out, "older").read_text(encoding="utf-8")
    assert '<div class="jm-id" lang="en">no CN × ai row</div>' in html


def _with_many_sentences(out: Path, edition: str, raw_path: str) -> None:
    """An edition whose CN × quantum cell rests on three sentences (pp. 3, 4) and whose PDF is ``raw_path``."""
    tables = edition_tables(edition, "2025-05-01T10:00:00+00:00")
    ct = tables["country_technology"].to_pylist()
    for r in ct:
        if (r["country"], r["technology"]) == ("CN", "quantum"):
            r |= {"mentions": 4, "sentences": 3, "sentence_ids": [3, 4, 5], "pages": [3, 4]}
    docs = tables["documents"].to_pylist()
    docs[0]["raw_path"] = raw_path
    tables |= {"country_technology": table("country_technology", ct), "documents": table("documents", docs)}
    publish(tables, out, edition)


def test_every_evidence_sentence_of_a_cell_with_its_id_page_and_a_link_to_the_pdf_page(tmp_path, monkeypatch):
    out = tmp_path / "processed"
    pdf = tmp_path / "raw" / "report file.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.4\n")
    _with_many_sentences(out, "many", str(pdf))  # an absolute raw_path
    html = render_report(out, "many").read_text(encoding="utf-8")
    block = _between(html, '<details class="jm-ev" id="ev-CN-quantum">', "</details>")
    summary = _text(_between(block, "<summary>", "</summary>"))
    assert summary.startswith("量子技術 quantum 3 文 · 言及 4 · p. 3, 4")
    items = re.findall(r"<li>(.*?)</li>", block, flags=re.S)
    assert len(items) == 3  # all of them, not one and a count
    href = "../../raw/report%20file.pdf"  # relative to processed/many/, where report.html is
    for item, (sid, page, text) in zip(items, [(3, 3, "中国は、量子情報"), (4, 4, "[注] 日本は量子"), (5, 4, "本章のまとめ")],
                                       strict=True):
        assert f'<span class="jm-sid" title="sentence_id">s{sid}</span>' in item
        assert f'<a class="jm-page" href="{href}#page={page}">p. {page}</a>' in item
        assert text in _text(item)
    assert "<mark>量子情報</mark>" in items[0] and "<mark>量子通信</mark>" in items[0]
    # the link leads to the file, resolved as a browser does: against the path the report was opened by
    assert os.path.normpath(out / "many" / href.replace("%20", " ")) == str(pdf)
    assert f'<a href="{href}">{pdf}</a>' in html  # and the header links the PDF itself
    assert "PDF は手元にありません" not in html

    # raw_path relative to the directory the flow ran in: found from there
    monkeypatch.chdir(tmp_path)
    _with_many_sentences(out, "relative", "raw/report file.pdf")
    assert f'href="{href}#page=3"' in render_report(out, "relative").read_text(encoding="utf-8")

    # the PDF not at hand: sentences, ids and pages all there, no link, and the report says so
    pdf.unlink()
    html = render_report(out, "relative").read_text(encoding="utf-8")
    block = _between(html, '<details class="jm-ev" id="ev-CN-quantum">', "</details>")
    assert len(re.findall(r"<li>", block)) == 3 and '<span class="jm-page">p. 4</span>' in block
    assert not re.search(r'href="[^"]*#page=', html) and 'data-pdf=""' in html  # the search links no page either
    assert "PDF は手元にありません （raw/report file.pdf が見つからないため、頁へのリンクはありません）" in _text(html)


def test_the_search_data_is_every_sentence_and_cannot_close_its_script(tmp_path):
    tables = edition_tables("hostile", "2025-05-01T10:00:00+00:00")
    sentences = tables["sentences"].to_pylist()
    evil = "悪意</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> & \u2028"
    sentences[5]["text"] = evil
    tables["sentences"] = table("sentences", sentences)
    publish(tables, tmp_path, "hostile")
    html = render_report(tmp_path, "hostile").read_text(encoding="utf-8")
    assert html.count("<script") == 2 and html.count("</script>") == 2  # the data and the code, nothing more
    assert "<img" not in html and "<!--" not in html
    raw = _between(html, '<script type="application/json" id="kwic-data">', "</script>")
    data = json.loads(raw[raw.index(">") + 1:])
    assert data == [[s["sentence_id"], s["page"], s["subject"] or "", s["kind"], s["text"]] for s in sentences]
    assert data[5][4] == evil


def test_report_is_self_contained(out):
    html = render_report(out, "new").read_text(encoding="utf-8")
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"\ssrc\s*=", html)
    # the one script is inline and loads nothing; the policy forbids loading anything at all
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert [attrs for attrs, _ in scripts] == [' type="application/json" id="kwic-data"', ""]
    code = scripts[1][1]
    for word in ("http", "fetch(", "XMLHttpRequest", "import(", "innerHTML", "outerHTML", "insertAdjacentHTML",
                 "document.write", "eval(", "WebSocket"):
        assert word not in code, word
    assert "textContent" in code
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            "script-src 'unsafe-inline'; img-src data:; font-src data:\">") in html
    # the only http(s) URL in an attribute is the link to the source document, not an asset
    urls = re.findall(r'(\w+)="(https?://[^"]*)"', html)
    assert urls == [("href", "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02")]
    family = re.search(r"font-family:\s*([^;]+);", html).group(1)
    for font in ('"IPAexGothic"', '"IPAexMincho"', '"Noto Sans CJK JP"', '"Hiragino Sans"', '"Yu Gothic"', "sans-serif"):
        assert font in family
    assert '<meta charset="utf-8">' in html and '<html lang="ja">' in html
    # every class the report's CSS styles is prefixed, so another section can sit beside it
    css = _between(html, "<style>", "</style>")
    styled = set(re.findall(r"\.([A-Za-z][\w-]*)", css))
    assert len(styled) > 50 and all(c.startswith("jm-") for c in styled), sorted(c for c in styled if not c.startswith("jm-"))
    classes = {c for attr in re.findall(r'class="([^"]*)"', html) for c in attr.split()}
    assert all(c.startswith("jm-") for c in classes), sorted(c for c in classes if not c.startswith("jm-"))


def test_report_with_absent_and_empty_tables(tmp_path):
    publish(edition_tables("bare", extras=False), tmp_path, "bare")  # no facts, relations, findings…
    html = render_report(tmp_path, "bare").read_text(encoding="utf-8")
    text = _text(html)
    assert "この版で作られなかった表: policy_facts, relations, policies, keyterms, country_similarity" in text
    assert "この版には findings_check 表がありません。" in text
    assert "<h3>韓国</h3>" in html and "<h4>関係</h4>" not in html and 'id="findings-banner"' not in html

    tables = {name: table(name, []) for name in ("country_technology", "findings_check", "policy_facts")}
    publish(tables, tmp_path, "empty")  # tables there but without rows, and no documents or sentences table
    text = _text(render_report(tmp_path, "empty").read_text(encoding="utf-8"))
    assert "この版には、国・地域に帰属した技術がありません。" in text
    assert "この版の照合には行がありません: エグゼクティブ・サマリーが見つからず" in text
    assert "この版には、行のある国・地域がありません。" in text
    assert "この版には documents 表がありません" in text
    assert "全 0 文から" in text


def test_evidence_without_a_sentences_table_keeps_the_rows_own_sentence(tmp_path):
    tables = edition_tables("nosentences")
    ct = tables["country_technology"].to_pylist()
    ct[3] |= {"sentence_ids": [3, 4], "sentences": 2}  # CN × quantum
    publish({"country_technology": table("country_technology", ct), "documents": tables["documents"]}, tmp_path, "nosentences")
    html = render_report(tmp_path, "nosentences").read_text(encoding="utf-8")
    block = _between(html, 'id="ev-CN-quantum"', "</details>")
    items = [_text(li) for li in re.findall(r"<li>(.*?)</li>", block, flags=re.S)]
    assert items[0].startswith("s3 p. 3 中国は、量子情報の研究開発")  # the row's evidence sentence
    assert items[1] == "s4 この文は sentences 表にありません。"


def _changes_by_country(html: str) -> dict[str, str]:
    section = html[html.index('<section id="changes">'):html.index('<section id="heatmap">')]
    blocks = re.findall(r'<div class="jm-change-country" id="changes-(\w+)">(.*?)</div>', section, flags=re.S)
    return {country: _text(block) for country, block in blocks}


def test_changes_since_a_previous_edition(out):
    html = render_report(out, "new", previous="old").read_text(encoding="utf-8")
    changes = _text(html[html.index('<section id="changes">'):html.index('<section id="heatmap">')])
    assert "前版 old からの変更" in changes and "jstmine diff old new" in changes
    assert "国 × 技術の組: +4 −1、両版に 1" in changes
    assert "政策上の事実: 変更 0、+1 −0" in changes and "関係: +1 −0" in changes
    by_country = _changes_by_country(html)
    assert set(by_country) == {"CN", "JP", "KR"}
    kr = by_country["KR"]
    for line in ("+ 技術 量子技術 quantum", "+ 技術 半導体 semiconductors",
                 "− 技術 サイバーセキュリティ cybersecurity", "+ 事実 12 国家戦略技術（2022年） p. 1",
                 "+ 協力 米国 US partner p. 3"):
        assert line in kr, kr
    assert "+ 技術 量子技術 quantum" in by_country["CN"] and "+ 技術 量子技術 quantum" in by_country["JP"]
    assert "人工知能" not in changes  # kept, so neither added nor removed
    assert 'id="changes"' not in render_report(out, "new").read_text(encoding="utf-8")
    with pytest.raises(EditionError, match="no previous edition 'fy23'"):
        render_report(out, "new", previous="fy23")


def test_changes_say_when_one_edition_lacks_a_table_as_jstmine_diff_does(out):
    """'old' has no policy_facts and relations files (as an edition of an older jstmine): every
    one of 'new''s facts and relations shows as added, and the report says why, as diff does."""
    from pipeline.diff import diff_editions, missing_notes

    assert not (out / "old" / "relations.parquet").exists() and (out / "new" / "relations.parquet").exists()
    html = render_report(out, "new", previous="old").read_text(encoding="utf-8")
    changes = _text(html[html.index('<section id="changes">'):html.index('<section id="heatmap">')])
    notes = re.findall(r'id="changes-missing-(\w+)"', html)
    assert notes == ["policy_facts", "relations"] == diff_editions(out, "old", "new").missing["old"]
    assert len(missing_notes(diff_editions(out, "old", "new"))) == len(notes)
    assert ("注: 版 old には relations 表がありません（古い jstmine で公開されたか、その実行で作られなかった）。"
            "そのため new の関係はすべて追加として示されますが、報告書の変更を表すものではありません。") in changes
    assert "new の政策上の事実はすべて追加として示されます" in changes
    # the other way round, the lacking edition is the newer one: its rows show as removed
    older = render_report(out, "old", previous="new").read_text(encoding="utf-8")
    assert "版 old には policy_facts 表がありません" in _text(older) and "new の政策上の事実はすべて削除として示されます" in _text(older)
    # editions with the same tables: no note
    publish(edition_tables("newer", "2025-06-01T10:00:00+00:00"), out, "newer")
    assert "changes-missing-" not in render_report(out, "newer", previous="new").read_text(encoding="utf-8")


def test_changes_show_facts_changed_and_relations_removed_as_jstmine_diff_does(out):
    tables = edition_tables("newer", "2025-06-01T10:00:00+00:00")
    facts = tables["policy_facts"].to_pylist()
    facts[0] |= {"edition": "newer", "item_count": 13, "year": 2024}
    relations = tables["relations"].to_pylist()
    relations[0] |= {"edition": "newer", "other": "CN", "evidence": "韓国は中国と協力する。"}
    tables |= {"policy_facts": table("policy_facts", facts), "relations": table("relations", relations)}
    publish(tables, out, "newer")

    html = render_report(out, "newer", previous="new").read_text(encoding="utf-8")
    changes = _text(html[html.index('<section id="changes">'):html.index('<section id="heatmap">')])
    assert "国 × 技術の組: +0 −0、両版に 5" in changes
    assert "政策上の事実: 変更 1、+0 −0" in changes and "関係: +1 −1" in changes
    kr = _changes_by_country(html)["KR"]
    assert "~ 事実 国家戦略技術: 数 12 → 13 p. 1" in kr and "~ 事実 国家戦略技術: 年 2022 → 2024 p. 1" in kr
    assert "+ 協力 中国 CN partner p. 3 韓国は中国と協力する。" in kr
    assert "− 協力 米国 US partner p. 3" in kr
    # the same differences as `jstmine diff new newer`, line for line
    result = run("diff", "new", "newer", "--out", str(out))
    assert result.exit_code == 0, result.output
    for line in ("~ fact 国家戦略技術: count 12 → 13", "~ fact 国家戦略技術: year 2022 → 2024", "+ partner CN", "− partner US"):
        assert line in result.output

    publish(edition_tables("same", "2025-07-01T10:00:00+00:00"), out, "same")
    unchanged = _text(render_report(out, "same", previous="new").read_text(encoding="utf-8"))
    assert "追加・削除・変更された技術、事実、関係はありません。" in unchanged


def test_report_is_written_atomically(out, monkeypatch):
    path = render_report(out, "new")
    before = path.read_text(encoding="utf-8")

    def refuse(src, dst, **_dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.report.os.replace", refuse)
    with pytest.raises(EditionError, match="No space left on device"):
        render_report(out, "new", previous="old")
    assert path.read_text(encoding="utf-8") == before  # the old report is whole
    assert [p.name for p in path.parent.iterdir() if "report" in p.name] == ["report.html"]  # no temp file left


@pytest.mark.parametrize("interruption", [KeyboardInterrupt(), RuntimeError("a bug"), OSError(28, "No space left on device")])
def test_a_report_write_stopped_midway_leaves_no_temporary_file(out, monkeypatch, interruption):
    """Ctrl-C (or any exception) while report.html is being written: its temporary file goes too,
    and the report already there is whole."""
    path = render_report(out, "new")
    before = path.read_text(encoding="utf-8")
    written = []

    def stop(fd):  # called after the HTML went into the temporary file, before its rename
        written.extend(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp"))
        raise interruption

    monkeypatch.setattr("pipeline.report.os.fsync", stop)
    with pytest.raises((type(interruption), EditionError)) as stopped:
        render_report(out, "new", previous="old")
    assert type(stopped.value) is (EditionError if isinstance(interruption, OSError) else type(interruption))
    assert len(written) == 1 and written[0].startswith(".report.html.")  # there was one, mid-write
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in path.parent.iterdir() if "report" in p.name] == ["report.html"]


def test_the_next_report_removes_temporary_files_a_killed_report_left(out, tmp_path_factory):
    """A report killed outright (SIGKILL) leaves .report.html.<8 hex>.tmp; the next report removes
    exactly those, unless one is being written now (held locked) or was created a moment ago."""
    import fcntl
    import time

    run_dir = (out / "new").resolve()
    victim = tmp_path_factory.mktemp("victim") / "precious.html"
    victim.write_text("precious", encoding="utf-8")
    hour_ago = time.time() - 3600

    def plant(name: str, old: bool = True) -> Path:
        path = run_dir / name
        path.write_text("<html>half a rep", encoding="utf-8")
        if old:
            os.utime(path, (hour_ago, hour_ago))
        return path

    stale = [plant(".report.html.0123abcd.tmp"), plant(".report.html.fedcba98.tmp")]
    (run_dir / ".report.html.5a5a5a5a.tmp").symlink_to(victim)  # removed as a link, never followed
    kept = [plant(name) for name in (".report.html.tmp", ".report.html.0123abcd.tmp.keep", "report.html.0123abcd.tmp",
                                     ".report.html.0123ABCD.tmp", ".notes.tmp")]
    young = plant(".report.html.77777777.tmp", old=False)  # just created: its writer may not have locked it yet
    busy = plant(".report.html.11111111.tmp")  # a report being written now holds its file locked
    with open(busy, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        render_report(out, "new")
    assert not any(os.path.lexists(p) for p in stale) and not os.path.lexists(run_dir / ".report.html.5a5a5a5a.tmp")
    assert all(p.is_file() for p in [*kept, busy, young]) and victim.read_text(encoding="utf-8") == "precious"
    assert "<html" in (run_dir / "report.html").read_text(encoding="utf-8")
    render_report(out, "new")  # unlocked now: the next one removes it
    assert not busy.exists() and all(p.is_file() for p in kept)


def test_a_report_temporary_that_cannot_be_opened_is_left_alone(out, monkeypatch):
    """The clean-up removes a temporary without looking into it only when it is a link (ELOOP) or
    gone: one it cannot open for another reason (no file descriptor left, EMFILE; no permission)
    may be a report being written now, and stays (it was removed, young and locked)."""
    import errno
    import fcntl

    run_dir = (out / "new").resolve()
    busy = run_dir / ".report.html.22222222.tmp"
    busy.write_text("<html>being written", encoding="utf-8")
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if path == busy.name and "dir_fd" in kwargs and not flags & os.O_CREAT:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE), path)
        return real_open(path, flags, *args, **kwargs)

    with open(busy, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # its writer holds it
        monkeypatch.setattr(os, "open", open_)
        render_report(out, "new")
        monkeypatch.undo()
    assert busy.read_text(encoding="utf-8") == "<html>being written"
    assert "<html" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_report_command(out, tmp_path):
    r = run("report", "--out", str(out))
    assert r.exit_code == 0, r.text
    assert r.output.strip() == str(out / "new" / "report.html")  # the latest processed edition
    assert "<h3>韓国</h3>" in (out / "new" / "report.html").read_text(encoding="utf-8")
    r = run("report", "--out", str(out), "--edition", "old", "--previous", "new")
    assert r.exit_code == 0 and (out / "old" / "report.html").is_file()
    assert "前版 <code>new</code> からの変更" in (out / "old" / "report.html").read_text(encoding="utf-8")
    r = run("report", "--out", str(out), "--edition", "fy23")
    assert r.exit_code == 1 and "no edition 'fy23'" in r.text and "new, old" in r.text
    r = run("report", "--out", str(tmp_path / "none"))
    assert r.exit_code == 1 and "no editions in" in r.text and "make demo" in r.text


# ---------------------------------------------------------------------------------- in a browser


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing on CI: scripts/install-system-deps.sh should have installed chromium")
    pytest.skip(f"{CHROMIUM} is not installed (run scripts/install-system-deps.sh as root, or "
                "apt-get install chromium fonts-ipaexfont); on CI this test runs")


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", *extra, url]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def _non_white(image: Image.Image) -> int:
    grey = image.convert("L")
    return sum(grey.histogram()[:245])  # pixels clearly darker than white


def test_report_renders_in_headless_chromium_with_japanese_glyphs(out, tmp_path):
    _need_chromium()
    fonts = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True, check=False).stdout
    assert fonts.strip(), "no Japanese font installed (fc-list :lang=ja is empty): install fonts-ipaexfont"

    report = render_report(out, "new", previous="old").resolve()
    png = tmp_path / "report.png"
    _chromium(tmp_path, report.as_uri(), f"--screenshot={png}", "--window-size=1280,2000")
    assert png.is_file() and png.stat().st_size > 10_000
    with Image.open(png) as shot:
        assert shot.size == (1280, 2000)
        dark = _non_white(shot)
    assert dark > 0.02 * 1280 * 2000, f"the screenshot is almost blank ({dark} non-white pixels)"

    dom = _chromium(tmp_path, report.as_uri(), "--dump-dom").stdout
    assert '<table class="jm-heat">' in dom and 'id="country-KR"' in dom and 'id="country-CN"' in dom
    assert '<span class="jm-badge jm-contradicted">矛盾</span>' in dom
    assert "<mark>量子コンピュータ</mark>" in dom and "前版 <code>old</code> からの変更" in dom

    # Real glyphs, not tofu: two different kanji drawn with the report's own font list must differ
    # (a missing font draws both as the same empty box) and must not be blank.
    family = re.search(r"font-family:\s*([^;]+);", report.read_text(encoding="utf-8")).group(1)
    probe = tmp_path / "glyphs.html"
    probe.write_text(
        "<!DOCTYPE html><html lang='ja'><meta charset='utf-8'><body style='margin:0;background:#fff'>"
        f"<div style='font-family:{family};font-size:160px;line-height:200px;display:flex'>"
        "<span style='width:200px'>量</span><span style='width:200px'>子</span></div></body></html>",
        encoding="utf-8")
    glyphs_png = tmp_path / "glyphs.png"
    _chromium(tmp_path, probe.as_uri(), f"--screenshot={glyphs_png}", "--window-size=400,200")
    with Image.open(glyphs_png) as shot:
        left, right = shot.crop((0, 0, 200, 200)).convert("L"), shot.crop((200, 0, 400, 200)).convert("L")
    assert _non_white(left) > 500 and _non_white(right) > 500, "the kanji were not drawn"
    diff = ImageChops.difference(left, right)
    assert sum(diff.histogram()[64:]) > 500, "量 and 子 look the same: the font has no Japanese glyphs (tofu)"


def test_install_script_is_idempotent_and_quiet_when_installed():
    script = Path(__file__).resolve().parents[1] / "scripts" / "install-system-deps.sh"
    assert os.access(script, os.X_OK)
    if not shutil.which("dpkg-query"):
        pytest.skip("not a Debian-like system")
    installed = all(
        "install ok installed" in subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                                 text=True).stdout
        for p in ("chromium", "fonts-ipaexfont", "poppler-utils"))
    if not installed:
        pytest.skip("the system packages are not all installed; the script would install them")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "already installed: chromium fonts-ipaexfont poppler-utils" in result.stdout
    assert "apt-get" not in result.stdout  # nothing run


# ------------------------------------------------------------------------- in a browser, scripted
#
# Headless Chromium lays a page out at least 500 px wide whatever --window-size says (a 390 px
# screenshot is a crop of a 500 px layout), so the report is loaded into an <iframe> of the width
# to test: inside it the viewport, media queries and window.innerWidth are that width. A copy of the
# report, next to it (so its relative links hold), has a test script appended that runs after the
# page's own script, fills ``out`` and posts it to the frame's parent, which writes it into its DOM
# as JSON; chromium --dump-dom prints that DOM (after a virtual time budget, so messages and timers
# have run), and the JSON is read back from it.

PROBE_OUT = re.compile(r'<pre id="jm-test-out">(.*?)</pre>', re.S)


def _framed(report: Path, width: int, height: int, fragment: str = "", script: str | None = None) -> Path:
    """A page holding ``report`` (or a copy with ``script`` appended) in a frame ``width`` × ``height``."""
    n = len(list(report.parent.glob("frame-*.html")))
    target = report
    if script is not None:
        target = report.with_name(f"probe-{n}.html")
        target.write_text(report.read_text(encoding="utf-8").replace(
            "</body>", "<script>(function () { var out = {};\n"
            "function done() { parent.postMessage(JSON.stringify(out), '*'); }\n" + script +
            "\nif (!out.deferred) { done(); } })();</script></body>"), encoding="utf-8")
    frame = report.with_name(f"frame-{n}.html")
    frame.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:0;background:#fff'>"
        "<script>addEventListener('message', function (e) { var pre = document.createElement('pre');"
        " pre.id = 'jm-test-out'; pre.textContent = e.data; document.body.appendChild(pre); });</script>"
        f"<iframe src='{target.name}{fragment}' style='border:0;display:block;width:{width}px;height:{height}px'>"
        "</iframe></body></html>", encoding="utf-8")
    return frame


def _in_page(tmp_path: Path, report: Path, script: str, width: int, fragment: str = "") -> dict:
    """Run ``script`` (JavaScript that fills the object ``out``; it may set ``out.deferred`` and call
    ``done()`` later) in ``report`` shown ``width`` px wide in headless Chromium; ``out`` as a dict."""
    frame = _framed(report, width, 900, fragment, script)
    dom = _chromium(tmp_path, frame.as_uri(), "--dump-dom", "--virtual-time-budget=5000",
                    f"--window-size={max(width, 500)},900").stdout
    found = PROBE_OUT.search(dom)
    assert found, f"the test script wrote nothing: {dom[-2000:]}"
    return json.loads(html_module.unescape(found.group(1)))


def _wide_edition(out: Path) -> Path:
    """An edition as wide as a real one: 27 technologies with long names, long findings, a long URL
    in a sentence; its report."""
    tables = edition_tables("wide", "2025-05-01T10:00:00+00:00")
    ct = tables["country_technology"].to_pylist()
    for i in range(27):
        ct.append({"edition": "wide", "country": "KR", "technology": f"tech{i:02d}", "technology_name": f"長い名前の技術その{i:02d}",
                   "mentions": i + 1, "sentences": 1, "pages": [1], "items": [], "sentence_ids": [1], "evidence_page": 1,
                   "evidence": "韓国は、量子技術とAIを国家戦略技術に指定した。"})
    sentences = tables["sentences"].to_pylist()
    sentences[5]["text"] = "本章のまとめである。詳細は https://example.org/" + "a" * 160 + " を参照。"
    findings = tables["findings_check"].to_pylist()
    for f in findings:
        f |= {"claim": f["claim"] + "、そして長い説明が続く" * 6, "evidence": (f.get("evidence") or "") + "本文の長い記述。" * 10}
    tables |= {"country_technology": table("country_technology", ct), "sentences": table("sentences", sentences),
               "findings_check": table("findings_check", findings)}
    publish(tables, out, "wide")
    return render_report(out, "wide")


MEASURE = """
var de = document.documentElement;
out.scrollWidth = de.scrollWidth; out.bodyScrollWidth = document.body.scrollWidth; out.innerWidth = window.innerWidth;
function box(sel) {
  var e = document.querySelector(sel), r = e.getBoundingClientRect();
  return {left: r.left, right: r.right, width: r.width, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth};
}
out.boxes = {};
["#findings-banner", "header.jm-top", "#heatmap-scroll", ".jm-cards", "#country-KR", "table.jm-findings",
 "#kwic-form", "#kwic-q"].forEach(function (s) { out.boxes[s] = box(s); });
out.claim = box('table.jm-findings td.jm-f-claim');
out.body = box('table.jm-findings td[data-label="本文の記述"]');
out.hint = getComputedStyle(document.querySelector(".jm-scroll-hint")).display;
out.sticky = getComputedStyle(document.querySelector("table.jm-heat tbody th")).position;
out.outside = [];  // elements outside the viewport that are not inside a scrolling box
document.querySelectorAll("body *").forEach(function (e) {
  var r = e.getBoundingClientRect();
  if (r.width && (r.right > window.innerWidth + 0.5 || r.left < -0.5) && !e.closest(".jm-scroll")) {
    out.outside.push(e.tagName + "." + e.className + " " + Math.round(r.left) + ".." + Math.round(r.right));
  }
});
"""


def test_report_fits_a_phone_390_px_wide(tmp_path):
    _need_chromium()
    report = _wide_edition(tmp_path)
    m = _in_page(tmp_path, report, MEASURE, 390)
    assert m["innerWidth"] == 390
    assert m["scrollWidth"] <= 390 and m["bodyScrollWidth"] <= 390, m  # the page itself never scrolls sideways
    assert m["outside"] == [], m["outside"]
    for name, b in m["boxes"].items():
        assert b["left"] >= 0 and b["right"] <= 390, (name, b)
    # the heatmap scrolls inside its own box, says so, and keeps the country names in view
    heat = m["boxes"]["#heatmap-scroll"]
    assert heat["scrollWidth"] > heat["clientWidth"] + 300, heat  # 27 technologies are wider than a phone
    assert m["hint"] == "block" and m["sticky"] == "sticky"
    # the findings table reflows: claim and evidence each get (nearly) the whole width
    assert m["claim"]["width"] > 300 and m["body"]["width"] > 300, (m["claim"], m["body"])
    assert m["boxes"]["table.jm-findings"]["scrollWidth"] <= m["boxes"]["table.jm-findings"]["clientWidth"] + 1

    png = tmp_path / "phone.png"
    _chromium(tmp_path, _framed(report, 390, 844).as_uri(), f"--screenshot={png}", "--window-size=390,844",
              "--virtual-time-budget=2000")
    with Image.open(png) as shot:
        assert shot.size == (390, 844)
        dark = _non_white(shot)
    assert dark > 0.02 * 390 * 844, f"the screenshot at 390 px is almost blank ({dark} non-white pixels)"

    # a tablet: the findings table as a table, within the page
    tablet = _in_page(tmp_path, report, MEASURE, 760)
    assert tablet["scrollWidth"] <= 760 and tablet["outside"] == [], tablet["outside"]
    findings = tablet["boxes"]["table.jm-findings"]
    assert findings["right"] <= 760 and tablet["claim"]["width"] < 400  # columns side by side
    # at 1280 px the same page needs no sideways scrolling either, and the heatmap fits
    wide = _in_page(tmp_path, report, MEASURE, 1280)
    assert wide["scrollWidth"] <= 1280 and wide["outside"] == []
    assert wide["hint"] == "none"  # nothing to scroll, nothing said


KWIC = """
var q = document.getElementById("kwic-q"), subject = document.getElementById("kwic-subject");
function rows() {
  return Array.prototype.map.call(document.querySelectorAll("#kwic-results tr"), function (tr) {
    return Array.prototype.map.call(tr.cells, function (td) { return td.textContent; });
  });
}
function search(term, only) {
  q.value = term; subject.value = only || "";
  q.dispatchEvent(new Event("input"));
  return {rows: rows(), status: document.getElementById("kwic-status").textContent,
          marks: Array.prototype.map.call(document.querySelectorAll("#kwic-results mark"), function (m) { return m.textContent; }),
          links: Array.prototype.map.call(document.querySelectorAll("#kwic-results a"), function (a) { return a.getAttribute("href"); }),
          elements: document.querySelectorAll("#kwic-results img, #kwic-results script, #kwic-results b").length};
}
out.quantum = search("量子");
out.cn = search("量子", "CN");
out.ai = search("ai");
out.hostile = search("<img");
out.none = search("存在しない語");
out.empty = search("");
out.heading = search("第1章");
search("量子");
out.resolved = document.querySelector("#kwic-results a").href;  // as the browser resolves the link
"""


def test_kwic_search_box_works_offline_in_the_page(tmp_path):
    _need_chromium()
    tables = edition_tables("kwic", "2025-05-01T10:00:00+00:00")
    sentences = tables["sentences"].to_pylist()
    sentences[5]["text"] = "本章では<img src=x onerror=alert(1)>と<b>太字</b>も文字として扱う。"
    tables["sentences"] = table("sentences", sentences)
    docs = tables["documents"].to_pylist()
    pdf = tmp_path / "raw" / "x.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.4\n")
    docs[0]["raw_path"] = str(pdf)
    tables["documents"] = table("documents", docs)
    out = tmp_path / "processed"
    publish(tables, out, "kwic")
    report = render_report(out, "kwic")

    r = _in_page(tmp_path, report, KWIC, 1280)
    # 量子 four times in three sentences: each with its sentence id, page, subject and both contexts
    quantum = r["quantum"]
    assert quantum["status"] == "「量子」: 4 件"
    assert quantum["marks"] == ["量子"] * 4
    assert [row[0] for row in quantum["rows"]] == ["s1 p. 1 韓国 (KR)", "s3 p. 3 中国 (CN)", "s3 p. 3 中国 (CN)",
                                                     "s4 p. 4 日本 (JP)"]
    assert quantum["rows"][0][1:] == ["韓国は、", "量子", "技術とAIを国家戦略技術に指定した。"]
    assert quantum["rows"][2][1:] == ["中国は、量子情報の研究開発を強化しており、", "量子", "通信も重視する。"]
    assert quantum["links"] == ["../../raw/x.pdf#page=1", "../../raw/x.pdf#page=3", "../../raw/x.pdf#page=3",
                                "../../raw/x.pdf#page=4"]
    assert [row[0] for row in r["cn"]["rows"]] == ["s3 p. 3 中国 (CN)"] * 2  # only the subject asked for
    assert r["ai"]["marks"] == ["AI"]  # Latin letters match in either case
    # markup in a sentence is text: found as text, never made into elements
    hostile = r["hostile"]
    assert hostile["status"] == "「<img」: 1 件" and hostile["elements"] == 0
    assert hostile["rows"][0] == ["s5 p. 4 主語なし", "本章では", "<img", " src=x onerror=alert(1)>と<b>太字…"]  # 30 characters of context
    assert r["none"]["rows"] == [] and r["none"]["status"] == "「存在しない語」: 0 件"
    assert r["empty"]["rows"] == [] and "全 6 文" in r["empty"]["status"]
    assert r["resolved"] == pdf.as_uri() + "#page=1"  # from processed/kwic/, the path the report is opened by
    assert r["heading"]["rows"] == [["s0 p. 1 韓国 (KR) · 見出し", "", "第1章", " 韓国"]]  # the kind in Japanese


OPENED = """
out.open = Array.prototype.filter.call(document.querySelectorAll("details.jm-ev"), function (d) { return d.open; })
  .map(function (d) { return d.id; });
"""


def test_a_heatmap_cell_opens_its_evidence(out, tmp_path):
    _need_chromium()
    report = render_report(out, "new")
    assert _in_page(tmp_path, report, OPENED, 1280)["open"] == []  # collapsed at first
    # a link to a cell's evidence (the heatmap's, or one shared) opens the block it names, and only it
    assert _in_page(tmp_path, report, OPENED, 1280, fragment="#ev-CN-quantum")["open"] == ["ev-CN-quantum"]
    # clicking a cell: the hash changes and the block opens
    click = ("out.deferred = true; document.querySelector('#heatmap a[href=\"#ev-KR-ai\"]').click();"
             "setTimeout(function () { delete out.deferred;" + OPENED + " done(); }, 100);")
    assert _in_page(tmp_path, report, click, 1280)["open"] == ["ev-KR-ai"]


# --------------------------------------------------------------- links planted in the output directory

def test_a_link_planted_in_the_output_directory_is_no_edition(out, tmp_path_factory):
    """A link someone with write access made (to a directory anywhere, or to another edition's run)
    is not listed, is refused by name with what to do, and nothing is read or written through it."""
    from pipeline.editions import list_editions
    from pipeline.publish import published_editions

    elsewhere = tmp_path_factory.mktemp("fakeed")
    (elsewhere / "report.html").write_text("theirs", encoding="utf-8")
    shutil.copy(out / "new" / "documents.parquet", elsewhere / "documents.parquet")
    shutil.copy(out / "new" / "sentences.parquet", elsewhere / "sentences.parquet")
    (out / "planted").symlink_to(elsewhere, target_is_directory=True)
    (out / "borrowed").symlink_to(os.readlink(out / "old"), target_is_directory=True)  # another edition's run
    assert published_editions(out) == ["new", "old"]
    assert {e.edition for e in list_editions(out)} == {"new", "old"}
    listed = run("editions", "list", "--out", str(out))
    assert listed.exit_code == 0 and "│ planted" not in listed.text and "│ borrowed" not in listed.text and "│ new" in listed.text
    for name in ("planted", "borrowed"):
        with pytest.raises(EditionError) as refused:
            render_report(out, name)
        assert "symbolic link" in refused.value.what and "rm " in refused.value.todo
        for command in (["report"], ["show", "documents"], ["kwic", "量子"]):
            result = run(*command, "--edition", name, "--out", str(out))
            assert result.exit_code == 1, (command, result.text)
            assert "not to a run directory of its own" in result.text and "remove it" in result.text
    assert (elsewhere / "report.html").read_text(encoding="utf-8") == "theirs"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["documents.parquet", "report.html", "sentences.parquet"]


def test_report_is_written_in_the_run_directory_never_through_a_planted_link(out, tmp_path_factory):
    """A report.html someone replaced by a link inside the run directory is replaced as a link;
    the file it pointed to is left as it was."""
    victim = tmp_path_factory.mktemp("victim") / "precious.html"
    victim.write_text("precious", encoding="utf-8")
    run_dir = (out / "new").resolve()
    (run_dir / "report.html").symlink_to(victim)
    path = render_report(out, "new")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (run_dir / "report.html").is_symlink() and "<html" in path.read_text(encoding="utf-8")
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
