"""Titles on a line of their own, in another face of the text's size (a gothic subheading or a
defined term over 明朝 text, as in Word-made government papers): the sentence after one comes
out whole and without the title glued to its start, whatever the indent of its first lines."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pdfdraw import HEIGHT, MIN, save_pdf, wrap
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from pipeline.extract import extract_pdf
from pipeline.normalize import normalize_text
from pipeline.segment import segment

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"
# A gothic of regular weight, as ＭＳゴシック is: pdfdraw's HeiseiKakuGo-W5 is bold by its name,
# and a change of weight already ends a paragraph.
IPAEX_GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
GOTHIC = "IPAexGothic"

OPENING = ("本稿では行政機関が保有するデータの管理と活用の方法を検討する。"
           "各機関のデータを見つけやすくするための仕組みを整理し、その導入の手順を示す。")
SENTENCE = ("例えば、医療機関の一覧を例として表現すると、厚生労働省が各地方局の単位で公開している"
            "保険医療機関の一覧から、以下のように表現されることになる。")
TERMS = [("カタログ", "特定の目的に対するデータの集合体のことをカタログと呼ぶものであり、より上位のカタログを"
          "持つことや、その内にサブのカタログを持つこともある。"),
         ("データセット", "公開される情報の束であり、複数のデータの集合体であることもあるため、品質や"
          "ライセンス等、利用するための情報を含むものである。")]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize_text(text))


def _draw(c, size: float, chars: int, x: float, first_indent: float, rest_indent: float) -> None:
    leading, y = size * 1.5, HEIGHT - 100
    c.setFont(MIN, size)
    for line in wrap("\u3000" + OPENING, chars):
        c.drawString(x, y, line)
        y -= leading
    y -= leading
    blocks = [("カタログやデータセットの単位に関する検討", SENTENCE)] + TERMS
    for title, text in blocks:
        c.setFont(GOTHIC, size)
        c.drawString(x + first_indent, y, title)  # the title: short, no 。, another face
        y -= leading
        c.setFont(MIN, size)
        for i, line in enumerate(wrap(text, chars - 1)):
            # the first line set in by the title's indent, the others back at the margin
            c.drawString(x + (first_indent if i == 0 else rest_indent), y, line)
            y -= leading
        y -= leading


@pytest.fixture(params=["word_12pt", "hanging_10pt"])
def paper(request, tmp_path):
    if not IPAEX_GOTHIC.is_file():
        pytest.skip(f"{IPAEX_GOTHIC} is not installed (Debian package fonts-ipaexfont)")
    pdfmetrics.registerFont(TTFont(GOTHIC, str(IPAEX_GOTHIC)))
    if request.param == "word_12pt":  # the CIO paper: title and first line set in by a character
        draw = lambda c: _draw(c, 12, 35, 85, 12, 0)  # noqa: E731
    else:  # a definition list: terms and first lines set in by two characters, the rest by one
        draw = lambda c: _draw(c, 10.5, 40, 70, 21, 10.5)  # noqa: E731
    path = save_pdf(tmp_path / f"{request.param}.pdf", [draw])
    return segment(extract_pdf(path, workers=1))


def test_the_sentence_after_a_run_in_title_comes_out_whole(paper):
    body = [squash(s.text) for s in paper.sentences if s.kind == "body"]
    for text in [SENTENCE] + [t for _, t in TERMS]:
        assert squash(text) in body, body


def test_a_run_in_title_is_not_glued_to_the_text(paper):
    texts = [squash(s.text) for s in paper.sentences]
    pairs = [("カタログやデータセットの単位に関する検討", SENTENCE)] + TERMS
    for title, text in pairs:
        assert title in texts, texts
        assert not [t for t in texts if (title + squash(text)[:4]) in t], texts


def test_cio_paper_sentences_after_its_subheadings_and_terms_are_whole():
    path = SHARED_PDFS / "cio_dp2021_07_metadata.pdf"
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    texts = [squash(s.text) for s in segment(extract_pdf(path, workers=1)).sentences]
    assert "例えば、医療機関のベース・レジストリを例として表現すると、厚生労働省が医療機関の一覧として" \
           "各地方局単位で公開している「保険医療機関・保険薬局の指定等一覧及び保険医・保険薬剤師の新規登録一覧」" \
           "から、以下のように表現される。" in texts
    assert "カタログは、より上位のカタログを持つことや、カタログ内にサブのカタログを持つこともある。" in texts
    assert "例えば、公開者(Publisher)という項目は、Agentというデータ項目で表現することとなっている。" in texts
    assert "カタログやデータセットの単位に関する検討" in texts and "データ項目のコード化、詳細化" in texts
