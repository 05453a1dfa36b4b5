"""Words that only look like mentions: a place or framework inside a URL (joinup.ec.europa.eu,
www.oecd.org), a technology inside an agency's name (情報通信研究機構, 新エネルギー・産業技術総合開発機構,
内閣サイバーセキュリティセンター). Neither is a mention, nor a row of country_technology."""
from __future__ import annotations

from pathlib import Path

import pytest
from stages import run_paragraphs, run_sections

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"


def _mentions(seg, att) -> list[tuple[str, str, str | None]]:
    """(text as in the sentence, id, subject) of each mention."""
    text_of = {s.sentence_id: s.text for s in seg.sentences}
    return [(text_of[a.mention.sentence_id][a.mention.start:a.mention.end], a.mention.id, a.subject)
            for a in att.mentions]


@pytest.mark.parametrize("sentence, expected", [
    ("欧州委員会のメタデータはhttps://joinup.ec.europa.eu/collection/access-base-registriesで公開されている。",
     [("欧州委員会", "EU")]),
    ("OECDの定義(https://www.oecd.org/science/updated-oecd-definition-of-an-ai-system)を参照。",
     [("OECD", "OECD")]),
    ("EUの文書は www.europarl.europa.eu/doceo/document/TA-9-2024-0138_EN.pdf にある。", [("EU", "EU")]),
])
def test_no_mention_inside_a_url(nlp, lexicon, sentence, expected):
    seg, _, att = run_paragraphs(nlp, lexicon, sentence)
    assert [(t, i) for t, i, _ in _mentions(seg, att)] == expected


def test_a_technology_in_an_agencys_name_is_no_mention(nlp, lexicon):
    seg, _, att, _, _ = run_sections(nlp, lexicon, ("第2章 日本", [
        "情報通信研究機構が蓄積してきたデータを活用する。",
        "新エネルギー・産業技術総合開発機構の事業において基盤モデルを開発する。",
        "内閣サイバーセキュリティセンターは、英国国家サイバーセキュリティセンターが"
        "米国サイバーセキュリティ・インフラストラクチャー安全保障庁等と共に作成したガイドラインに署名した。",
        "また、サイバーセキュリティの強化と情報通信技術の研究開発を進めている。",
    ]))
    technologies = [(t, i, s) for t, i, s in _mentions(seg, att) if i not in lexicon.places]
    assert technologies == [("サイバーセキュリティ", "cybersecurity", "JP"), ("情報通信技術", "ict", "JP")]


@pytest.mark.parametrize("name", ["cio_dp2021_07_metadata.pdf", "mext_hakusho_r6_ch1_ai.pdf",
                                  "mext_hakusho_r6_ch2_ai_japan.pdf"])
def test_real_reports_urls_and_agencies(nlp, lexicon, name):
    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences
    from pipeline.urls import url_spans

    path = SHARED_PDFS / name
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    seg = segment(extract_pdf(path, workers=1))
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    text_of = {s.sentence_id: s.text for s in seg.sentences}
    in_urls = [a.mention.text for a in att.mentions
               if any(s < a.mention.end and a.mention.start < e for s, e in url_spans(text_of[a.mention.sentence_id]))]
    assert not in_urls  # eu (joinup.ec.europa.eu, europarl.europa.eu), oecd (www.oecd.org) were
    agencies = [(a.mention.text, text_of[a.mention.sentence_id][a.mention.end:a.mention.end + 6]) for a in att.mentions
                if text_of[a.mention.sentence_id][a.mention.end:].startswith(("研究機構", "・産業技術総合開発機構", "センター"))]
    assert not agencies  # 情報通信|研究機構, 新エネルギー|・産業技術総合開発機構, サイバーセキュリティ|センター were
    ids = {a.mention.id for a in att.mentions}
    if name.startswith("mext_hakusho_r6_ch1"):  # the OECD named in the text is still a mention
        assert "OECD" in ids
    if name.startswith("mext_hakusho_r6_ch2"):  # 「ポスト5G情報通信システム…事業」 still names ICT
        assert "ict" in ids and "energy" not in ids and "cybersecurity" not in ids
