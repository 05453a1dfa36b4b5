from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.normalize import normalize_text
from pipeline.segment import segment, split_sentences


def _doc(*blocks: Block, pages: int = 2) -> ExtractedDocument:
    infos = tuple(PageInfo(p, 595, 842, 100, True, 0.0, 1, "") for p in range(1, pages + 1))
    return ExtractedDocument(pages=infos, blocks=blocks, tables=(), problems=())


def test_nfkc_folds_fullwidth_digits_latin_and_kangxi_radicals():
    assert normalize_text("２０２２年にＡＩ") == "2022年にAI"
    assert normalize_text("\u2f00つの") == "一つの"  # Kangxi radical one → CJK 一


def test_spaces_between_japanese_characters_are_removed_but_latin_words_keep_theirs():
    assert normalize_text("新 興 技 術") == "新興技術"
    assert normalize_text("　中国は、 重要技術") == "中国は、重要技術"
    assert normalize_text("Science and Technology Framework") == "Science and Technology Framework"


def test_glyph_garbage_is_dropped():
    assert normalize_text("技\ue001術\x07") == "技術"


def test_sentences_do_not_split_inside_quotes_or_parentheses():
    text = "英国は「計画。実行。」を示した。米国は（2020年。改定。）に策定した！次の文"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["英国は「計画。実行。」を示した。", "米国は（2020年。改定。）に策定した！", "次の文"]


def test_splitter_keeps_every_character():
    text = "  一つ目。二つ目？「三つ目。」四つ目"
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert len(spans) == 3


def test_unclosed_bracket_does_not_swallow_the_paragraph():
    text = "「閉じない" + "あ" * 400 + "。次の文。最後の文。"
    assert len(split_sentences(text)) == 3


def test_sections_form_a_heading_path_and_sentences_know_their_page():
    doc = _doc(
        Block(1, "heading", "第１章　韓国", level=1),
        Block(1, "heading", "1.2 国家戦略技術", level=2),
        Block(1, "body", "韓国は１２の技術を指定した。重点投資を行っている。"),
        Block(2, "heading", "第２章　英国", level=1),
        Block(2, "body", "英国は５つの重要技術を特定した。"),
    )
    seg = segment(doc)
    assert [s.path for s in seg.sections[1:]] == [("第1章 韓国",), ("第1章 韓国", "1.2 国家戦略技術"), ("第2章 英国",)]
    body = [s for s in seg.sentences if s.kind == "body"]
    assert [s.text for s in body] == ["韓国は12の技術を指定した。", "重点投資を行っている。", "英国は5つの重要技術を特定した。"]
    assert [s.page for s in body] == [1, 1, 2]
    assert body[0].section_id == 2 and body[2].section_id == 3


def test_paragraph_cut_by_a_page_break_is_joined_and_sentences_get_the_right_page():
    doc = _doc(
        Block(1, "body", "米国は2020年に国家戦略を策定し、20の優先"),
        Block(2, "body", "技術分野を指定した。2年毎に更新している。"),
    )
    seg = segment(doc)
    assert len(seg.paragraphs) == 1
    assert [(s.text, s.page) for s in seg.sentences] == [
        ("米国は2020年に国家戦略を策定し、20の優先技術分野を指定した。", 1),
        ("2年毎に更新している。", 2),
    ]


def test_table_of_contents_entries_never_become_sentences_or_sections():
    doc = _doc(
        Block(2, "contents", "目次"),
        Block(2, "contents", "第2章 中国 . . . . . . . . 5"),
        Block(2, "body", "2.1 AI戦略…………12"),  # a leader the extractor did not see as one
        Block(3, "heading", "第2章 中国", level=1),
        Block(3, "body", "中国は8つの産業を定めた。"),
    )
    seg = segment(doc)
    assert [(s.kind, s.text) for s in seg.sentences] == [("heading", "第2章 中国"), ("body", "中国は8つの産業を定めた。")]
    assert [s.heading for s in seg.sections[1:]] == ["第2章 中国"]


def test_a_reference_list_gives_references_not_body_sentences():
    doc = _doc(
        Block(3, "heading", "第2章 中国", level=1),
        Block(3, "body", "中国は8つの産業を定めた。"),
        Block(4, "heading", "参考文献", level=1),
        Block(4, "body", "国務院（2021）「第14次5か年計画」。"),
        Block(4, "body", "U.S. White House (2024), \"Critical and Emerging Technologies List Update\"."),
        Block(5, "heading", "付録 用語集", level=1),
        Block(5, "body", "量子技術とは、量子力学を応用する技術である。"),
    )
    seg = segment(doc)
    kinds = [(s.kind, s.text[:8]) for s in seg.sentences]
    assert kinds == [("heading", "第2章 中国"), ("body", "中国は8つの産業"), ("heading", "参考文献"),
                     ("reference", "国務院(2021"), ("reference", "U.S. Whi"), ("heading", "付録用語集"),
                     ("body", "量子技術とは、量")]


def test_a_sentence_cut_by_a_figure_footnotes_or_a_page_break_is_joined_and_nothing_else_is():
    doc = ExtractedDocument(
        (PageInfo(1, 595, 842, 1, True, 0, 2, ""), PageInfo(2, 595, 842, 1, True, 0, 2, "")),
        (
            Block(1, "body", "2025年4月", column=2),  # a date line: not continued by the next column
            Block(1, "body", "韓国は2022年に12の国家戦略", column=1),
            Block(1, "caption", "図1 国家戦略技術の一覧", column=1),
            Block(1, "figure_text", "半導体 二次電池", column=1),
            Block(1, "body", "技術を指定した。これを受け", column=2, markers=((7, "1"),)),
            Block(1, "footnote", "国家戦略技術育成方案（2022年）。", label="1"),
            Block(2, "body", "て投資が拡大した。", column=1),
            Block(2, "body", "・半導体", column=1),
            Block(2, "body", "・量子", column=1),
        ),
        (),
        (),
    )
    seg = segment(doc)
    body = [s.text for s in seg.sentences if s.kind == "body"]
    assert body == ["2025年4月", "韓国は2022年に12の国家戦略技術を指定した。", "これを受けて投資が拡大した。",
                    "・半導体", "・量子"]
    kinds = [(s.kind, s.text) for s in seg.sentences if s.kind != "body"]
    assert kinds == [("caption", "図1 国家戦略技術の一覧"), ("figure_text", "半導体二次電池"),
                     ("footnote", "国家戦略技術育成方案(2022年)。")]
    [note] = seg.footnotes
    assert [seg.sentences[i].text for i in note.cited_by] == ["韓国は2022年に12の国家戦略技術を指定した。"]
