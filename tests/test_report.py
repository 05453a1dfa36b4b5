"""The HTML report: content from small published tables, offline-ness, atomic writing, and a real
render in headless Chromium (screenshot not blank, DOM as expected, Japanese glyphs not boxes)."""
from __future__ import annotations

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
    return re.sub(r" ([,.;])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", html).split()))


def test_report_shows_heatmap_cards_evidence_and_findings(out):
    path = render_report(out, "new")
    assert path == out / "new" / "report.html" and path.is_file()
    assert path.resolve().parent.parent.name == "new"  # inside the edition's run directory
    html = path.read_text(encoding="utf-8")
    text = _text(html)
    # header: document metadata and the page with a problem
    assert "新興技術政策の国際動向" in text
    assert SHA[:12] in html and SHA not in text  # the prefix is shown, the full hash only as a tooltip
    assert "2025-04-01T10:00:00+00:00" in text
    assert re.search(r"pages\s+4\b", text)
    assert "p. 2 page 2 has no text layer" in text
    # heatmap: countries as rows (most mentions first), technologies as columns, colour from counts
    heat = html[html.index('<table class="heat">'):html.index("</table>", html.index('<table class="heat">'))]
    rows = re.findall(r'<a href="#country-(\w+)">', heat)
    assert rows == ["KR", "CN", "JP"]
    assert [re.sub(r"<[^>]+>", "", t) for t in re.findall(r'<span class="vt">(.*?)</span>', heat)] == \
        ["量子技術", "人工知能(AI)", "半導体"]
    assert f'style="{heat_style(2, 2)}" title="中国 × 量子技術: 2 mentions' in heat  # the darkest cell
    assert heat_style(2, 2) != heat_style(1, 2) and heat.count('class="cell empty"') == 4
    # a card per country with its technologies, facts, relations, policies, key terms and evidence
    kr = html[html.index('id="country-KR"'):html.index('id="country-CN"')]
    assert "<h3>韓国</h3>" in kr and "量子技術 <b>1</b>" in kr and "半導体 <b>1</b>" in kr
    assert "<mark>量子技術</mark>" in kr and "<mark>AI</mark>" in kr  # evidence with the mentions marked
    assert re.search(r'<span class="page">p\. 1</span>.*?韓国は、<mark>量子技術</mark>と<mark>AI</mark>を', kr, re.S)
    assert re.search(r'<span class="page">p\. 3</span>\s*<blockquote>同国は<mark>半導体</mark>の', kr)
    assert "国家戦略技術育成法" in kr and "12 国家戦略技術" in _text(kr) and ">2022<" in kr
    assert 'class="rel-partner">partner</b> 米国' in kr and "協力" in kr
    assert "国家戦略技術 <b>3</b>" in kr  # key term with its count
    assert '<a href="#country-CN">中国</a> 0.42' in kr
    jp = html[html.index('id="country-JP"'):html.index('id="findings"')]
    assert "[注] 日本は<mark>量子コンピュータ</mark>に投資する。" in jp and "p. 4" in jp
    # findings check: a badge per status, counts, evidence with its page
    findings = html[html.index('id="findings"'):]
    assert all(f'<span class="badge {s}">1 {s}</span>' in findings for s in ("matched", "missing", "contradicted"))
    statuses = re.findall(r'<tr class="(\w+)">', findings)
    assert statuses == ["contradicted", "missing", "matched"]  # problems first
    assert '<span class="page">p. 4</span><blockquote>[注] 日本は量子コンピュータに投資する。</blockquote>' in findings
    assert '<span class="page">p. 1 · country_technology #0</span>' in findings
    assert "no CN × ai row" in findings and "中国はAIを重要技術とする" in findings
    # both sides of a claim: where the summary states it, what the body says; and where it came from
    assert '<span class="page">p. 1</span><blockquote>第1章 韓国</blockquote>' in findings
    assert "<blockquote>日本は20の技術を指定した。</blockquote>" in findings
    assert "from the expectations file" in findings and "from the announcement page&#39;s summary" in findings
    assert "the PDF&#39;s executive summary (1)" in findings
    # autoescape: a value can never become markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html


def test_report_is_self_contained(out):
    html = render_report(out, "new").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"\ssrc\s*=", html)
    # the only http(s) URL in an attribute is the link to the source document, not an asset
    urls = re.findall(r'(\w+)="(https?://[^"]*)"', html)
    assert urls == [("href", "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02")]
    family = re.search(r"font-family:\s*([^;]+);", html).group(1)
    for font in ('"IPAexGothic"', '"IPAexMincho"', '"Noto Sans CJK JP"', '"Hiragino Sans"', '"Yu Gothic"', "sans-serif"):
        assert font in family
    assert '<meta charset="utf-8">' in html and '<html lang="ja">' in html


def test_report_with_absent_and_empty_tables(tmp_path):
    publish(edition_tables("bare", extras=False), tmp_path, "bare")  # no facts, relations, findings…
    html = render_report(tmp_path, "bare").read_text(encoding="utf-8")
    text = _text(html)
    assert "Not produced for this edition: policy_facts, relations, policies, keyterms, country_similarity" in text
    assert "This edition has no findings_check table." in text
    assert "<h3>韓国</h3>" in html and "Relations" not in text

    tables = {name: table(name, []) for name in ("country_technology", "findings_check", "policy_facts")}
    publish(tables, tmp_path, "empty")  # tables there but without rows, and no documents table
    text = _text(render_report(tmp_path, "empty").read_text(encoding="utf-8"))
    assert "No technology was attributed to a country in this edition." in text
    assert "The findings check has no rows for this edition: no executive summary was found" in text
    assert "No country or region has rows in this edition." in text
    assert "This edition has no documents table" in text


def _changes_by_country(html: str) -> dict[str, str]:
    section = html[html.index('<section id="changes">'):html.index('<section id="heatmap">')]
    blocks = re.findall(r'<div class="change-country" id="changes-(\w+)">(.*?)</div>', section, flags=re.S)
    return {country: _text(block) for country, block in blocks}


def test_changes_since_a_previous_edition(out):
    html = render_report(out, "new", previous="old").read_text(encoding="utf-8")
    changes = _text(html[html.index('<section id="changes">'):html.index('<section id="heatmap">')])
    assert "Changes since old" in changes and "jstmine diff old new" in changes
    assert "Country × technology pairs: +4 −1, 1 in both editions" in changes
    assert "policy facts: 0 changed, +1 −0" in changes and "relations: +1 −0" in changes
    by_country = _changes_by_country(html)
    assert set(by_country) == {"CN", "JP", "KR"}
    kr = by_country["KR"]
    for line in ("+ technology 量子技術 (quantum)", "+ technology 半導体 (semiconductors)",
                 "− technology サイバーセキュリティ (cybersecurity)", "+ fact 12 国家戦略技術 (2022) p. 1",
                 "+ partner 米国 (US) p. 3"):
        assert line in kr, kr
    assert "+ technology 量子技術 (quantum)" in by_country["CN"] and "+ technology 量子技術 (quantum)" in by_country["JP"]
    assert "人工知能" not in changes  # kept, so neither added nor removed
    assert 'id="changes"' not in render_report(out, "new").read_text(encoding="utf-8")
    with pytest.raises(EditionError, match="no previous edition 'fy23'"):
        render_report(out, "new", previous="fy23")


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
    assert "Country × technology pairs: +0 −0, 5 in both editions" in changes
    assert "policy facts: 1 changed, +0 −0" in changes and "relations: +1 −1" in changes
    kr = _changes_by_country(html)["KR"]
    assert "~ fact 国家戦略技術: count 12 → 13 p. 1" in kr and "~ fact 国家戦略技術: year 2022 → 2024 p. 1" in kr
    assert "+ partner 中国 (CN) p. 3 韓国は中国と協力する。" in kr
    assert "− partner 米国 (US) p. 3" in kr
    # the same differences as `jstmine diff new newer`, line for line
    result = run("diff", "new", "newer", "--out", str(out))
    assert result.exit_code == 0, result.output
    for line in ("~ fact 国家戦略技術: count 12 → 13", "~ fact 国家戦略技術: year 2022 → 2024", "+ partner CN", "− partner US"):
        assert line in result.output

    publish(edition_tables("same", "2025-07-01T10:00:00+00:00"), out, "same")
    unchanged = _text(render_report(out, "same", previous="new").read_text(encoding="utf-8"))
    assert "No technology, fact or relation was added, removed or changed." in unchanged


def test_report_is_written_atomically(out, monkeypatch):
    path = render_report(out, "new")
    before = path.read_text(encoding="utf-8")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.report.os.replace", refuse)
    with pytest.raises(EditionError, match="No space left on device"):
        render_report(out, "new", previous="old")
    assert path.read_text(encoding="utf-8") == before  # the old report is whole
    assert [p.name for p in path.parent.iterdir() if "report" in p.name] == ["report.html"]  # no temp file left


def test_report_command(out, tmp_path):
    r = run("report", "--out", str(out))
    assert r.exit_code == 0, r.text
    assert r.output.strip() == str(out / "new" / "report.html")  # the latest processed edition
    assert "<h3>韓国</h3>" in (out / "new" / "report.html").read_text(encoding="utf-8")
    r = run("report", "--out", str(out), "--edition", "old", "--previous", "new")
    assert r.exit_code == 0 and (out / "old" / "report.html").is_file()
    assert "Changes since new" in (out / "old" / "report.html").read_text(encoding="utf-8")
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
    assert '<table class="heat">' in dom and 'id="country-KR"' in dom and 'id="country-CN"' in dom
    assert '<span class="badge contradicted">contradicted</span>' in dom
    assert "<mark>量子コンピュータ</mark>" in dom and "Changes since old" in dom

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
