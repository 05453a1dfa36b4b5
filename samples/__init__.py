"""Sample edition of a Japanese science-policy report, for the offline demo and the tests.

``sample_edition.md`` holds the report's text as data (a small markdown-like format, parsed by
:func:`samples.build.parse_edition`); :mod:`samples.build` renders it to a PDF with reportlab's
built-in Japanese CID fonts, renders plain text to a PDF, and writes a listing page that links a
report the way JST's listing pages do (``report_2022.html#fy24_rr02``).

The text was written for this project: it restates, in its own sentences, facts from the
executive summary of JST APRC's April 2025 report on emerging-technology policy. It is not the
official report.

``EXPECTED_TECHNOLOGIES`` lists, per country/region chapter of the sample, the technology terms
that the chapter's body text names verbatim (after NFKC normalisation nothing changes: all terms
are written in full-width kana/kanji and ASCII letters). The pipeline's tests can assert that
tagging the sample PDF finds them; ``tests/test_samples.py`` checks that each term really occurs
in the extracted text of its chapter.
"""
from __future__ import annotations

from pathlib import Path

SAMPLE_EDITION: Path = Path(__file__).with_name("sample_edition.md")
#: A second sample report on another subject (AI policy in Asia-Pacific), with its own executive
#: summary: other countries, other counts. Written after the findings rules, to show the claims
#: read from a summary working on text they were not written for.
AI_POLICY_EDITION: Path = Path(__file__).with_name("ai_policy_edition.md")
AI_POLICY_FRAGMENT = "fy24_rr06"

#: The PDF's fixed metadata and running-header title.
SAMPLE_TITLE = "新興技術政策の国際動向（サンプル版）"
SAMPLE_PUBLISHER = "jstmine サンプル"
SAMPLE_DATE = "2025年4月"

#: Chapter heading (as printed) → country/region name used in the chapter.
COUNTRY_CHAPTERS: dict[str, str] = {
    "第2章 中国": "中国",
    "第3章 インド": "インド",
    "第4章 韓国": "韓国",
    "第5章 オーストラリア": "オーストラリア",
    "第6章 ASEAN": "ASEAN",
    "第7章 米国": "米国",
    "第8章 英国": "英国",
    "第9章 ドイツ": "ドイツ",
    "第10章 フランス": "フランス",
    "第11章 EU": "EU",
}

#: Country/region → technology terms named verbatim in that country's body chapter (a subset
#: guaranteed present, not an exhaustive list; e.g. 量子 also occurs inside 量子技術).
EXPECTED_TECHNOLOGIES: dict[str, tuple[str, ...]] = {
    "中国": (
        "次世代情報技術", "新エネルギー", "新材料", "新エネルギー車", "量子情報",
        "ヒューマノイドロボット", "生成AI", "バイオ製造", "先端半導体",
    ),
    "インド": ("AI", "量子技術", "半導体", "情報通信技術", "バイオテクノロジー"),
    "韓国": (
        "半導体・ディスプレイ", "二次電池", "先端モビリティ", "次世代原子力", "先端バイオ",
        "宇宙航空・海洋", "水素", "サイバーセキュリティ", "人工知能", "次世代通信",
        "先端ロボット・製造", "量子",
    ),
    "オーストラリア": (
        "先端製造・材料", "AI", "先端情報通信", "量子", "バイオテクノロジー",
        "クリーンエネルギー生産・貯蔵", "量子技術",
    ),
    "ASEAN": ("AI", "バイオテクノロジー", "再生可能エネルギー", "量子技術", "先端製造", "半導体"),
    "米国": (
        "先端コンピューティング", "先端製造", "先端センシング", "人工知能", "自律システム",
        "バイオテクノロジー", "エネルギー技術", "量子情報科学", "半導体・マイクロエレクトロニクス",
        "宇宙技術", "量子技術",
    ),
    "英国": ("人工知能", "AI", "エンジニアリングバイオロジー", "将来の通信", "半導体", "量子技術"),
    "ドイツ": ("半導体", "AI", "グリーン技術", "バイオテクノロジー", "ナノテクノロジー", "防衛技術", "水素"),
    "フランス": ("量子技術", "AI"),
    "EU": (
        "先端半導体技術", "人工知能", "量子技術", "バイオテクノロジー", "先端センシング技術",
        "エネルギー技術", "先端半導体",
    ),
}

#: Figures stated in the sample (country/region → {what: value}).
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "韓国": {"国家戦略技術": 12, "年": 2022},
    "米国": {"優先技術分野": 20, "年": 2020, "改訂周期_年": 2},
    "英国": {"重要技術": 5, "年": 2023},
    "EU": {"技術分野": 10, "最も機微な分野": 4, "年": 2023},
    "オーストラリア": {"技術分野": 7, "年": 2023},
    "中国": {"新興技術産業": 8, "未来産業": 9},
}

__all__ = [
    "AI_POLICY_EDITION",
    "AI_POLICY_FRAGMENT",
    "COUNTRY_CHAPTERS",
    "EXPECTED_COUNTS",
    "EXPECTED_TECHNOLOGIES",
    "SAMPLE_DATE",
    "SAMPLE_EDITION",
    "SAMPLE_PUBLISHER",
    "SAMPLE_TITLE",
]
