"""`jstmine run --source <announcement page>` end to end, on a loopback copy of JST's site: the
announcement page, the listing page (an entry dated only by its month, as the real one is) and the
PDF. The page's summary gives the claims; the PDF's own summary chapter is compared with it."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import flows.process_report  # noqa: F401  (Prefect's logging set up now, not inside CliRunner: see test_faults)
from flows.main import app
from samples import AI_POLICY_EDITION, AI_POLICY_FRAGMENT
from samples.build import (
    LISTING_FRAGMENT,
    Para,
    build_announcement_html,
    build_listing_html,
    build_sample_pdf,
    listing_entries,
    load_edition,
)

pytestmark = pytest.mark.slow

PAGE = "/other_asia/experience/2025/topic_et_{n}.html"
LISTING = "/investigation/report_2022.html"
AI_TITLE = "【調査報告書】『アジア・太平洋地域のAI政策（サンプル版）』"
AI_DATE = "2025年3月28日 JSTアジア・太平洋総合研究センター"


def summary_chapter(source: Path) -> list[str]:
    """The paragraphs of a sample's first chapter, its executive summary, as written."""
    first = load_edition(source).chapters()[0]
    return [b.text for b in first.blocks if isinstance(b, Para)]


class Site:
    """Listing page, PDFs and announcement pages on the loopback server."""

    def __init__(self, server, tmp_path: Path):
        self.server, self.dir = server, tmp_path / "site"
        ai = build_sample_pdf(self.dir / "fy24_rr06.pdf", source=AI_POLICY_EDITION)
        sample = build_sample_pdf(self.dir / "sample-report.pdf")
        entries = listing_entries("sample-report.pdf", month_only=True) + [{
            "id": AI_POLICY_FRAGMENT, "title": "【調査報告書】アジア・太平洋地域のAI政策（サンプル版）",
            "date": "2025年3月", "href": "fy24_rr06.pdf"}]
        page = build_listing_html(entries, self.dir / "report_2022.html")
        self.listing = server.serve_html(LISTING, page.read_text(encoding="utf-8"))
        server.serve_pdf("/investigation/fy24_rr06.pdf", ai.read_bytes())
        server.serve_pdf("/investigation/sample-report.pdf", sample.read_bytes())

    def announce(self, n: int, entry: str, title: str, date_line: str, paragraphs: list[str]) -> str:
        out = build_announcement_html(title, date_line, f"{self.listing}#{entry}", paragraphs, self.dir / f"{n}.html")
        return self.server.serve_html(PAGE.format(n=n), out.read_text(encoding="utf-8"))


@pytest.fixture
def site(fresh_cache, http_server, tmp_path) -> Site:
    return Site(http_server, tmp_path)


def run(tmp_path: Path, source: str):
    result = CliRunner().invoke(app, ["run", "--source", source, "--out", str(tmp_path / "out"),
                                      "--raw", str(tmp_path / "raw")])
    return result, " ".join(result.output.split())


def published(tmp_path: Path, name: str) -> list[dict]:
    [edition] = [d for d in (tmp_path / "out").iterdir() if d.is_dir() and not d.name.startswith(".")]
    return pq.read_table(edition / f"{name}.parquet").to_pylist()


def test_the_pages_summary_gives_the_claims_and_agrees_with_the_pdfs(prefect_server, site, tmp_path):
    page = site.announce(7, AI_POLICY_FRAGMENT, AI_TITLE, AI_DATE, summary_chapter(AI_POLICY_EDITION))
    result, output = run(tmp_path, page)
    assert result.exit_code == 0, output
    assert "edition fy24_rr06-2025-03" in output  # the listing's month, not the day it was fetched
    claims = published(tmp_path, "summary_claims")
    assert len(claims) == 28 and {c["origin"] for c in claims} == {"announcement_page"}
    assert all(c["stated_in"] == ["summary_chapter", "announcement_page"] for c in claims)
    assert all(c["page"] == 3 and c["sentence_id"] is not None for c in claims)  # where the PDF states it
    findings = published(tmp_path, "findings_check")
    assert {f["status"] for f in findings} == {"matched"} and {f["origin"] for f in findings} == {"announcement_page"}
    assert published(tmp_path, "summary_comparison") == []
    [doc] = published(tmp_path, "documents")
    assert (doc["report_id"], doc["published"]) == (AI_POLICY_FRAGMENT, "2025-03")


def test_a_page_whose_summary_differs_from_the_pdfs_is_reported(prefect_server, site, tmp_path):
    paragraphs = summary_chapter(AI_POLICY_EDITION)
    changed = [p.replace("6つの重点技術", "7つの重点技術") for p in paragraphs]
    assert changed != paragraphs
    page = site.announce(8, AI_POLICY_FRAGMENT, AI_TITLE, AI_DATE, changed)
    result, output = run(tmp_path, page)
    assert result.exit_code == 3, output  # the page's count is contradicted by the body
    assert "the announcement page's summary differs from the PDF's summary chapter: 1 paragraphs changed" in output
    [diff] = published(tmp_path, "summary_comparison")
    assert diff["status"] == "changed" and "7つの重点技術" in diff["page_text"] and "6つの重点技術" in diff["chapter_text"]
    assert 0.95 < diff["similarity"] < 1 and diff["chapter_page"] == 3
    findings = {(f["claim"], f["origin"]): f for f in published(tmp_path, "findings_check")}
    page_claim = findings[("VN: 7 重点技術 (2021)", "announcement_page")]
    assert page_claim["status"] == "contradicted" and page_claim["summary_sentence_id"] is None
    assert "6つの重点技術" in page_claim["evidence"] and "7つの重点技術" in page_claim["summary_evidence"]
    assert findings[("VN: 6 重点技術 (2021)", "summary_chapter")]["status"] == "matched"


def test_the_real_reports_page_drives_the_sample_edition(prefect_server, site, tmp_path, shared_dir):
    """The announcement page of the real report (its summary read from ../shared), in front of the
    sample edition: the page's claims, the packaged claims of fy24_rr02, and the PDF's own summary
    chapter, which the sample restates in other words (so the two summaries' texts differ)."""
    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.split("エグゼクティブ・サマリー", 1)[1].splitlines()]
    paragraphs = [line for line in lines if line and line != "上へ戻る"]
    page = site.announce(6, LISTING_FRAGMENT, "【調査報告書】『新興技術政策の国際動向とアジア・太平洋における国際協力』",
                         "2025年4月1日 JSTアジア・太平洋総合研究センター", paragraphs)
    result, output = run(tmp_path, page)
    assert result.exit_code == 0, output
    assert "edition fy24_rr02-2025-04" in output
    claims = published(tmp_path, "summary_claims")
    # The sample states the real summary's facts in its own words: its chapter gives the same 52
    # claims as the page, and the packaged file's 50 claims replace theirs.
    stated = sorted({(c["origin"], tuple(c["stated_in"])) for c in claims})
    assert stated == [("announcement_page", ("summary_chapter", "announcement_page")),
                      ("expectations_file", ("summary_chapter", "announcement_page", "expectations_file"))]
    assert len(claims) == 52 and sum(c["origin"] == "expectations_file" for c in claims) == 50
    assert len(published(tmp_path, "summary_comparison")) >= 8  # ... so the two summaries' texts differ
    assert "differs from the PDF's summary chapter" in output
    findings = published(tmp_path, "findings_check")
    assert {f["claim_id"] for f in findings} == {c["claim_id"] for c in claims}
    assert [f["claim"] for f in findings if f["status"] != "matched"] == []
