"""URLs wrapped over two lines come out whole, in one sentence, without a space; a ``?`` inside a
URL does not end a sentence; a complete URL on its line is not glued to the text after it."""
from __future__ import annotations

from pathlib import Path

import pytest
from pdfdraw import HEIGHT, MIN, save_pdf, wrap

from pipeline.extract import extract_pdf
from pipeline.segment import segment, split_sentences
from pipeline.urls import url_continues, url_spans

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"

CUT_AT_HYPHEN = ("https://joinup.ec.europa.eu/collection/access-base-", "registries/solution/abr-bregdcat-ap")
CUT_AT_QUERY = ("https://developers.google.com/search/docs/data-types/dataset?", "hl=ja")
WHOLE = "https://schema.org/Dataset"
AFTER = "DCAT 2.0をベースにEC諸国で導入するために実務的に編集した実装モデルである。"
INTRO = ("欧州委員会が、DCATをベースにベース・レジストリのカタログ用に作成したメタデータであり、"
         "各国のベース・レジストリを横断して検索できるようにするためのものである。")


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_a_question_mark_inside_a_url_does_not_end_the_sentence():
    text = "詳しくはhttps://example.org/search?q=ai&lang=jaを参照。次の文である。"
    assert _sentences(text) == ["詳しくはhttps://example.org/search?q=ai&lang=jaを参照。", "次の文である。"]
    assert _sentences("https://developers.google.com/search/docs/data-types/dataset?hl=ja") == [
        "https://developers.google.com/search/docs/data-types/dataset?hl=ja"]


def test_a_question_mark_after_a_url_still_ends_the_sentence():
    assert _sentences("Did you see https://example.org/? Yes. それは何か?次の文。") == [
        "Did you see https://example.org/?", " Yes. それは何か?", "次の文。"]


def test_url_spans_leave_out_closing_brackets_and_trailing_punctuation():
    text = "(https://www.w3.org/TR/vocab-dcat-2/)と https://example.org/a.b. 以上"
    assert [text[s:e] for s, e in url_spans(text)] == ["https://www.w3.org/TR/vocab-dcat-2/", "https://example.org/a.b"]


@pytest.mark.parametrize("left, right, joined", [
    (*CUT_AT_HYPHEN, True),
    (*CUT_AT_QUERY, True),
    ("https://example.org/docs/", "index.html?lang=ja", True),
    ("see www.example.org/search_", "terms", True),
    ("ｈｔｔｐｓ：／／example.org/a-", "b/c", True),  # full-width, as some PDFs give it
    (WHOLE, AFTER, False),  # a complete URL, then the next paragraph's Latin word
    ("https://www.w3.org/TR/vocab-dcat-2/", "EC DCAT-AP v2.0.1", False),
    ("https://example.org/a-", "https://example.org/b", False),  # a second URL
    ("https://example.org/a?", "次の文である。", False),
    ("metadata-", "registries/solution", False),  # no URL on the line
    ("https://example.org/a を参照。", "hl=ja", False),  # the URL does not run to the line end
])
def test_url_continues(left, right, joined):
    assert url_continues(left, right) is joined


def _draw_notes(c, size: float, x: float, indent: float, chars: int) -> None:
    """A paper's list of data standards, each a description and its URL, as Word sets them: the
    URL set in by ``indent``, its wrapped rest back at the margin ``x`` (a line shorter than the
    others, which would otherwise look like a title's)."""
    leading, y = size * 1.5, HEIGHT - 100
    c.setFont(MIN, size)
    intro = wrap(INTRO, chars)
    for text in (*intro, "\u3000" + CUT_AT_HYPHEN[0], CUT_AT_HYPHEN[1], "", *intro,
                 "\u3000" + CUT_AT_QUERY[0], CUT_AT_QUERY[1], "", *intro, "\u3000" + WHOLE, AFTER):
        if text:
            c.drawString(x + (indent if text.startswith("\u3000") else 0), y, text.lstrip("\u3000"))
        y -= leading


@pytest.fixture(params=["word_12pt", "notes_9pt"])
def paper(request, tmp_path):
    if request.param == "word_12pt":
        draw = lambda c: _draw_notes(c, 12, 90, 12, 34)  # noqa: E731
    else:
        draw = lambda c: _draw_notes(c, 9, 60, 18, 50)  # noqa: E731
    path = save_pdf(tmp_path / f"{request.param}.pdf", [draw])
    return segment(extract_pdf(path, workers=1))


def test_a_wrapped_url_is_one_sentence_without_a_space(paper):
    texts = [s.text for s in paper.sentences]
    assert "".join(CUT_AT_HYPHEN) in texts, texts
    assert "".join(CUT_AT_QUERY) in texts, texts
    assert not [t for t in texts if t in (CUT_AT_HYPHEN[1], CUT_AT_QUERY[1])], texts


def test_a_complete_url_is_not_glued_to_the_next_text(paper):
    texts = [s.text for s in paper.sentences]
    assert WHOLE in texts and AFTER in texts and INTRO in texts, texts


def test_cio_paper_urls_on_page_15_are_whole():
    path = SHARED_PDFS / "cio_dp2021_07_metadata.pdf"
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available")
    page = [s.text for s in segment(extract_pdf(path, workers=1)).sentences if s.page == 15]
    assert "https://joinup.ec.europa.eu/collection/access-base-registries/solution/abr-bregdcat-ap" in page
    assert "https://developers.google.com/search/docs/data-types/dataset?hl=ja" in page
    assert "hl=ja" not in page and "registries/solution/abr-bregdcat-ap" not in page
    assert "https://www.w3.org/TR/vocab-dcat-2/" in page and "https://schema.org/Dataset" in page
