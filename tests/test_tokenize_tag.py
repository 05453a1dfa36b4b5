import pytest

from pipeline.attribute import attribute
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.lexicon import load_lexicon
from pipeline.segment import Sentence, segment
from pipeline.tag import build_tagger, ocr_sentence_texts, tag_tokens
from pipeline.tokenize import MAX_CHUNK_BYTES, TokenizeConfig, chunks_under_limit, sentence_rows, tokenize_sentences


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.fixture(scope="module")
def nlp(lexicon):
    return build_tagger(lexicon)


def _sentences(*texts):
    return [Sentence(i, i, 0, 1, 0, "body", t) for i, t in enumerate(texts)]


def _tag(nlp, lexicon, *texts):
    return tag_tokens(nlp, lexicon, tokenize_sentences(_sentences(*texts)))


def test_token_table_has_forms_pos_and_offsets_that_slice_the_sentence():
    s = _sentences("韓国は人工知能に投資する。")
    t = tokenize_sentences(s).to_pylist()
    assert [r["surface"] for r in t][:3] == ["韓国", "は", "人工知能"]  # mode C keeps 人工知能 whole
    assert t[0]["pos"] == "名詞" and "固有名詞" in t[0]["pos_detail"]
    assert t[0]["reading"] == "カンコク"
    assert all(s[0].text[r["char_start"]:r["char_end"]] == r["surface"] for r in t)


def test_mode_is_configurable():
    s = _sentences("人工知能")
    assert len(tokenize_sentences(s, TokenizeConfig(mode="A"))) == 2
    assert len(tokenize_sentences(s, TokenizeConfig(mode="C"))) == 1
    with pytest.raises(ValueError, match="A, B or C"):
        tokenize_sentences(s, TokenizeConfig(mode="Z"))


def test_input_over_sudachis_byte_limit_is_chunked_and_nothing_is_lost():
    text = "量子技術、" * 12000  # 180,000 bytes: Sudachi alone refuses this
    chunks = chunks_under_limit(text)
    assert len(chunks) > 1 and all(len(c.encode()) <= MAX_CHUNK_BYTES for _, c in chunks)
    assert "".join(c for _, c in chunks) == text
    rows = tokenize_sentences(_sentences(text)).to_pylist()
    assert "".join(r["surface"] for r in rows) == text
    assert all(text[r["char_start"]:r["char_end"]] == r["surface"] for r in rows)


@pytest.mark.parametrize("window", [1, 2, 3, 7, 10_000])
def test_sentence_rows_gives_each_sentence_whole_in_order_whatever_the_window(window):
    texts = ("韓国は人工知能に投資する。", "量子。", "", "米国と日本は半導体で協力する。", "AI")
    table = tokenize_sentences(_sentences(*texts))
    rows = list(sentence_rows(table, ("surface", "char_start"), window=window))
    expected = table.to_pylist()
    assert [sid for sid, _ in rows] == sorted({r["sentence_id"] for r in expected})  # each sentence once, in order
    assert [s for _, r in rows for s in r["surface"]] == [r["surface"] for r in expected]  # no token lost or repeated
    for sid, r in rows:
        assert "".join(r["surface"]) == texts[sid] and set(r) == {"surface", "char_start"}


def test_lexicon_maps_aliases_to_canonical_ids_on_sudachis_normalized_form(nlp, lexicon):
    # ＡＩ (full width) matches the alias AI through Sudachi's normalized form, even before NFKC
    ms = _tag(nlp, lexicon, "豪州とアメリカ、イギリスはＡＩ・量子・バイオ、情報通信技術に注力し、わが国も我が国も続く。")
    assert [(m.text, m.label, m.id) for m in ms] == [
        ("豪州", "COUNTRY", "AU"), ("アメリカ", "COUNTRY", "US"), ("イギリス", "COUNTRY", "GB"),
        ("ＡＩ", "TECHNOLOGY", "ai"), ("量子", "TECHNOLOGY", "quantum"), ("バイオ", "TECHNOLOGY", "biotechnology"),
        ("情報通信技術", "TECHNOLOGY", "ict"), ("わが国", "COUNTRY", "JP"), ("我が国", "COUNTRY", "JP"),
    ]


def test_finer_technologies_point_to_their_broad_parent(nlp, lexicon):
    ms = _tag(nlp, lexicon, "生成AIと量子コンピュータ、二次電池。")
    assert [(m.id, m.top) for m in ms] == [("generative_ai", "ai"), ("quantum_computing", "quantum"), ("secondary_batteries", "clean_energy")]


def test_fused_abbreviations_are_expanded_character_by_character(nlp, lexicon):
    s = "日米豪印と英仏独、米中対立と米日韓経済安保対話。"
    ms = _tag(nlp, lexicon, s)
    countries = [(m.id, s[m.start:m.end]) for m in ms if m.label == "COUNTRY"]
    assert countries == [("JP", "日"), ("US", "米"), ("AU", "豪"), ("IN", "印"), ("GB", "英"), ("FR", "仏"),
                         ("DE", "独"), ("US", "米"), ("CN", "中"), ("US", "米"), ("JP", "日"), ("KR", "韓")]
    assert ("FRAMEWORK", "US_JP_KR_ESD") in [(m.label, m.id) for m in ms]


def test_single_abbreviation_characters_and_ordinary_words_are_not_countries(nlp, lexicon):
    assert [m.id for m in _tag(nlp, lexicon, "米を食べる。中程度の印刷物。")] == []


def _aliases(lexicon):
    return {a for e in lexicon.entries.values() for a in e.aliases}


def test_sector_and_generic_words_are_no_aliases_and_give_no_technology_mention(nlp, lexicon):
    """The lexicon's own lists: a sector (医療) is where technologies are applied, a generic word
    (重要技術) names none; neither is an alias, and the tagger finds no technology in either."""
    assert {"医療", "農業", "教育", "金融", "交通"} <= set(lexicon.sectors)
    assert {"重要技術", "新興技術", "科学技術", "技術", "データ"} <= set(lexicon.generic)
    aliases = _aliases(lexicon)
    for word in lexicon.sectors + lexicon.generic:
        assert word not in aliases, f"{word} is an alias"
        assert [(m.text, m.id) for m in _tag(nlp, lexicon, f"日本は{word}を重視する。") if m.label == "TECHNOLOGY"] == []
    ms = _tag(nlp, lexicon, "AIを使った医療と農業、教育を進める。")
    assert [(m.text, m.id) for m in ms if m.label == "TECHNOLOGY"] == [("AI", "ai")]


def test_a_sectors_technology_and_technology_fields_are_technologies(nlp, lexicon):
    ms = _tag(nlp, lexicon, "医療技術と農業技術、グリーン分野とデジタル分野を重視する。")
    assert [(m.text, m.id) for m in ms] == [("医療技術", "medtech"), ("農業技術", "agritech"),
                                            ("グリーン", "green"), ("デジタル分野", "digital")]
    listed = {a: e.id for e in lexicon.entries.values() for a in e.aliases}
    sector_technologies = [(s + "技術", listed[s + "技術"]) for s in lexicon.sectors if s + "技術" in listed]
    assert ("医療技術", "medtech") in sector_technologies and ("農業技術", "agritech") in sector_technologies
    for alias, entry_id in sector_technologies:
        assert [(m.text, m.id) for m in _tag(nlp, lexicon, f"日本は{alias}を重視する。")] == [("日本", "JP"), (alias, entry_id)]


def _doc(*paragraphs, heading=None):
    blocks = []
    if heading:
        blocks.append(Block(1, "heading", heading, level=1))
    blocks += [Block(1, "body", p) for p in paragraphs]
    return ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), tuple(blocks), (), ())


def _attributed(nlp, lexicon, doc):
    seg = segment(doc)
    ms = tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences))
    return attribute(seg, ms, lexicon)


def test_paragraph_topic_is_the_subject_and_other_countries_stay_mentions(nlp, lexicon):
    att = _attributed(nlp, lexicon, _doc(
        "米国は中国とロシアを競争相手とし、AIを重視する。",
        "ドイツ政府は半導体を挙げ、中国との協力を見直す。",
        "ASEAN加盟国では、デジタル分野を重視する。",
        "本報告書は各国の動向をまとめた。AIが鍵となる。",
    ))
    pairs = [(a.subject, a.mention.id) for a in att.mentions]
    assert pairs == [("US", "US"), ("US", "CN"), ("US", "RU"), ("US", "ai"),
                     ("DE", "DE"), ("DE", "semiconductors"), ("DE", "CN"),
                     ("ASEAN", "ASEAN"), ("ASEAN", "digital"),
                     (None, "ai")]


def test_a_chapter_about_one_country_gives_every_paragraph_its_subject(nlp, lexicon):
    att = _attributed(nlp, lexicon, _doc("同国は量子技術に投資する。", "米国との協力でAIを進める。", heading="第3章 韓国"))
    assert {(a.subject, a.mention.id) for a in att.mentions if a.mention.label == "TECHNOLOGY"} == {("KR", "quantum"), ("KR", "ai")}
    assert all(a.subject_source == "heading" for a in att.mentions)


def test_dou_koku_refers_back_to_the_previous_paragraphs_subject(nlp, lexicon):
    att = _attributed(nlp, lexicon, _doc("フランスは重要技術を特定した。", "同国は量子技術を重視する。"))
    assert [(a.subject, a.mention.id) for a in att.mentions] == [("FR", "FR"), ("FR", "quantum")]


def test_tokenizing_from_several_threads_at_once_works():
    from concurrent.futures import ThreadPoolExecutor

    sentences = _sentences(*(["韓国は人工知能と量子技術に投資する。"] * 200))
    with ThreadPoolExecutor(4) as pool:
        tables = list(pool.map(lambda _: tokenize_sentences(sentences), range(8)))
    assert len({t.num_rows for t in tables}) == 1 and tables[0].num_rows > 0


def test_footnotes_captions_and_figure_text_give_no_subject_and_keep_their_kind(nlp, lexicon):
    """Under a chapter on Korea, a footnote naming US quantum policy, a caption and figure labels
    are mentions of their kind, not Korea's body mentions; a marker cites its footnote."""
    blocks = (
        Block(1, "heading", "第3章 韓国", level=1),
        Block(1, "body", "同国は半導体に投資する。", markers=((11, "1"),)),
        Block(1, "caption", "図3-1 米国の量子技術投資"),
        Block(1, "figure_text", "AI 量子 2020 2024"),
        Block(1, "body", "人工知能を重視する。"),
        Block(1, "footnote", "米国は量子技術を重視している。", label="1"),
    )
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), blocks, (), ())
    seg = segment(doc)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    kind = {s.sentence_id: s.kind for s in seg.sentences}
    by_kind = {}
    for a in att.mentions:
        by_kind.setdefault(kind[a.mention.sentence_id], []).append((a.subject, a.mention.id))
    assert by_kind["body"] == [("KR", "semiconductors"), ("KR", "ai")]
    assert by_kind["footnote"] == [(None, "US"), (None, "quantum")]
    assert by_kind["caption"] == [(None, "US"), (None, "quantum")]
    assert (None, "quantum") in by_kind["figure_text"] and (None, "ai") in by_kind["figure_text"]
    [note] = seg.footnotes
    assert note.label == "1" and [seg.sentences[i].text for i in note.cited_by] == ["同国は半導体に投資する。"]


def test_a_paragraphs_own_topic_overrides_its_sections_country_and_a_genitive_does_not(nlp, lexicon):
    att = _attributed(nlp, lexicon, _doc(
        "同国は量子技術に投資する。",
        "米国は、韓国との半導体の協力を進める。",  # the US's policy, inside the chapter on Korea
        "中国の動向を踏まえ、AIを重視する。",  # 中国の: a genitive, so still Korea
        "インド政府が新たに生成AIの戦略を定めた。",
        "ドイツの政策文書には半導体が挙げられている。",  # a possessive that is the topic: Germany
        heading="第3章 韓国",
    ))
    tech = [(a.subject, a.subject_source, a.mention.id) for a in att.mentions if a.mention.label == "TECHNOLOGY"]
    assert tech == [("KR", "heading", "quantum"), ("US", "paragraph", "semiconductors"), ("KR", "heading", "ai"),
                    ("IN", "paragraph", "generative_ai"), ("DE", "paragraph", "semiconductors")]


OCR_MISREADS = ("米国は先端製造、先端センーシング、航空エンジン技術を挙げた。",  # ー added
                "英国はエンジニアリングバパイオロジーを重視する。",  # パ added
                "中国はプレイン・コンピュータ・インターフェースを挙げた。",  # プ for ブ
                "米国は先進通常兵器技術を挙げた。",  # a kanji changed: another word, not a misreading
                "新興技術政策の国際動向とアジア・太平洋における国際協力")


def test_ocr_sentences_match_aliases_misread_by_one_kana_and_say_so(nlp, lexicon):
    sentences = _sentences(*OCR_MISREADS)
    tokens = tokenize_sentences(sentences)
    exact = tag_tokens(nlp, lexicon, tokens)
    ms = tag_tokens(nlp, lexicon, tokens, ocr_sentence_texts(sentences, {1: "ocr"}))
    approximate = {(m.sentence_id, m.text, m.id) for m in ms if m.approximate}
    assert approximate == {(0, "先端センーシング", "sensing"), (1, "エンジニアリングバパイオロジー", "engineering_biology"),
                           (2, "プレイン・コンピュータ・インターフェース", "brain_computer_interface")}
    assert [m for m in ms if not m.approximate] == exact and not any(m.approximate for m in exact)


def test_text_layer_sentences_are_matched_exactly_only(nlp, lexicon):
    sentences = _sentences(*OCR_MISREADS)
    tokens = tokenize_sentences(sentences)
    assert ocr_sentence_texts(sentences, {1: "text_layer"}) == {}
    assert tag_tokens(nlp, lexicon, tokens, ocr_sentence_texts(sentences, {1: "text_layer"})) == tag_tokens(nlp, lexicon, tokens)


def test_sentences_tagged_together_give_what_each_gives_alone_and_nothing_across_them(nlp, lexicon):
    # Tagging reads many sentences as one Doc (``window_docs``): a match or a run of fused
    # abbreviations must never reach from one sentence into the next (量子|技術, 米|日韓 cut in two).
    texts = ("日本は量子", "技術に投資する。", "会議には米", "日韓が出た。", "米日韓経済安保対話と量子技術。",
             "欧州連合(EU)と中国、 米国の 人工知能。", "AI")
    together = _tag(nlp, lexicon, *texts)
    alone = [m for i, text in enumerate(texts)
             for m in tag_tokens(nlp, lexicon, tokenize_sentences([Sentence(i, i, 0, 1, 0, "body", text)]))]
    assert together == alone
    assert [(m.sentence_id, m.text) for m in together if m.sentence_id < 2] == [(0, "日本"), (0, "量子")]
    fused = [(m.sentence_id, m.id) for m in together if m.via == "abbreviation"]
    assert fused == [(3, "JP"), (3, "KR"), (4, "US"), (4, "JP"), (4, "KR")]  # not 米 of sentence 2
    assert all(texts[m.sentence_id][m.start:m.end] == m.text for m in together)


def test_an_alias_holding_the_sentence_break_is_refused(lexicon):
    from dataclasses import replace

    from pipeline.lexicon import LexiconError
    from pipeline.tag import SENTENCE_BREAK

    entry = next(iter(lexicon.entries.values()))
    bad = replace(lexicon, entries={**lexicon.entries, entry.id: replace(entry, aliases=(*entry.aliases, f"量子{SENTENCE_BREAK}技術"))})
    with pytest.raises(LexiconError, match="U\\+E000"):
        build_tagger(bad)


def test_tokens_gathered_in_many_batches_are_the_table_of_one_batch(monkeypatch):
    """The batches are joined column by column into one array each: the same table, one chunk."""
    import pipeline.tokenize as tokenize

    sentences = _sentences("日本のAI戦略は2025年に改定された。", "米国は半導体に投資する。", "量子技術の研究開発。")
    whole = tokenize_sentences(sentences)
    monkeypatch.setattr(tokenize, "_BATCH_TOKENS", 3)
    batched = tokenize_sentences(sentences)
    assert batched.equals(whole) and batched.schema == tokenize.TOKEN_SCHEMA
    assert whole.num_rows > 6 and all(column.num_chunks == 1 for column in batched.columns)
    assert tokenize_sentences([]).num_rows == 0


def test_a_document_without_text_keeps_what_the_later_stages_read():
    """``ExtractedDocument.without_text``: no blocks and no page text; the rest as it was."""
    page = PageInfo(page=1, width=595.0, height=842.0, chars=4, has_text_layer=True, unmapped_share=0.0,
                    columns=1, text="本文です", removed_lines=("- 1 -",))
    doc = ExtractedDocument(pages=(page,), blocks=(Block(page=1, kind="paragraph", text="本文です"),), tables=(),
                            problems=(), metadata={"Title": "t"})
    slim = doc.without_text()
    assert slim.blocks == () and slim.pages[0].text == ""
    assert slim.pages[0].removed_lines == ("- 1 -",) and slim.pages[0].chars == 4 and slim.metadata == {"Title": "t"}
    assert doc.pages[0].text == "本文です"  # the document itself is left as it was
