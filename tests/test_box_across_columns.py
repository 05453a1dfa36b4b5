"""A paragraph set across the page above two-column text (an interview box, a column): its short
last line fits in the first column and is counted in it, yet it is the end of the paragraph's
sentence, not a sentence of its own."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pdfdraw import HEIGHT, MIN, save_pdf, wrap

from pipeline.extract import extract_pdf
from pipeline.normalize import normalize_text
from pipeline.segment import segment

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"

BOX = [
    "AIとは何か、の定義については、著名な研究者の定義でも多くの定義が存在し、世の中に明確な定義はない、そしてそれは世界的に共通の認識です。",
    "現在のAIブームは、対話型のサービスの公開が牽引していることは間違いありません。それまでは特定のタスク向けのAIが多かったものの、ユーザー数が急激に伸びました。今後もAI市場は拡大していきます。",
    "AIの科学や研究開発への影響について、研究の姿は変わるでしょう。例えば、研究において人間が見つけられない対称性やパターンを見つけられるようになるかもしれません。",
]
COLUMN = ("大規模言語モデルの開発が進む中、日本語を扱う能力の高いモデルが少ないといった課題や、一部の企業による"
          "独占への懸念が存在します。こうした状況を受け、大学や研究機関、企業等において、日本語処理が可能な"
          "モデルの開発が急速に進められています。") * 2


def squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize_text(text))


def _draw(c, size: float, box_chars: int, col_chars: int, x: float) -> None:
    leading, y = size * 1.35, HEIGHT - 90
    c.setFont(MIN, size)
    for text in BOX:
        # a first-line indent of one character; the last line is short and fits in the left column
        for line in wrap("\u3000" + text, box_chars):
            c.drawString(x, y, line)
            y -= leading
        y -= 0.3 * leading
    y -= 3 * leading
    column_width = col_chars * size
    gutter = box_chars * size - 2 * column_width
    for k in range(2):
        yy = y
        for line in wrap("\u3000" + COLUMN, col_chars):
            c.drawString(x + k * (column_width + gutter), yy, line)
            yy -= leading


@pytest.fixture(params=["box_9pt", "box_10pt"])
def seg(request, tmp_path):
    if request.param == "box_9pt":
        draw = lambda c: _draw(c, 9, 48, 22, 70)  # noqa: E731
    else:
        draw = lambda c: _draw(c, 10.5, 42, 20, 60)  # noqa: E731
    path = save_pdf(tmp_path / f"{request.param}.pdf", [draw])
    doc = extract_pdf(path, workers=1)
    assert doc.pages[0].columns == 2  # the layout the test is about
    return segment(doc)


def test_a_paragraph_across_columns_keeps_its_last_line(seg):
    body = [squash(s.text) for s in seg.sentences if s.kind == "body"]
    for text in BOX:
        for sentence in re.findall(r"[^。]+。", text):
            assert squash(sentence) in body, body


def test_mext_interview_box_sentences_are_whole():
    path = SHARED_PDFS / "mext_hakusho_r6_ch2_ai_japan.pdf"
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    body = [squash(s.text) for s in segment(extract_pdf(path, workers=1)).sentences if s.page == 4]
    for sentence in ("AIとは何か、の定義については、著名な研究者の定義でも60~70の定義が存在し、世の中に明確な定義は"
                     "ない、そしてそれは世界的に共通の認識です。", "今後もAI市場は拡大していきます。",
                     "例えば、研究において人間が見つけられない対称性やパターンを見つけられるようになるかもしれません。"):
        assert sentence in body, body
