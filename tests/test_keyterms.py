"""Key terms and similarity: on paragraphs run through the stages, on token tables built by hand,
and on the sample edition."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.attribute import Attribution, AttributedMention, SentenceSubject
from pipeline.keyterms import content_terms_by_subject, key_terms, load_keyterm_config
from pipeline.lexicon import load_lexicon
from pipeline.tag import Mention
from pipeline.tokenize import TOKEN_SCHEMA
from stages import run_paragraphs

CONFIG = load_keyterm_config()


@pytest.fixture(scope="module")
def result(nlp, lexicon):
    _, tokens, att = run_paragraphs(
        nlp, lexicon,
        "韓国は半導体と二次電池に投資する。韓国は半導体の輸出を守る。半導体の人材を育てる。",
        "英国は量子技術と工学生物学を重視する。量子計算の拠点を設ける。",
        "フランスは量子技術を重視する。量子計算の研究拠点を整える。",
        "本書は3つの国を扱った。",
    )
    return key_terms(tokens, att, CONFIG, lexicon)


def test_each_subjects_top_term_is_what_sets_it_apart(result):
    top = {t.country: t.term for t in result.terms if t.rank == 1}
    assert top["KR"] == "半導体"
    assert set(top) == {"KR", "GB", "FR"}  # no subject, no key terms
    kr = [t for t in result.terms if t.country == "KR"]
    assert kr[0].count == 3 and all(a.score >= b.score for a, b in zip(kr, kr[1:], strict=False))


def test_stop_words_and_function_words_are_not_terms(result):
    terms = {t.term for t in result.terms}
    assert not terms & {"する", "技術", "は", "と", "こと"}
    assert not any(t.isdigit() for t in terms)


def test_the_subjects_own_name_and_verbs_are_not_terms(result):
    terms = {t.term for t in result.terms}
    assert not terms & {"韓国", "英国", "フランス"}
    assert not terms & {"守る", "育てる", "重視", "設ける", "整える"}  # 重視する: a verb here


def test_similarity_ranks_the_two_quantum_countries_closest(result):
    sim = {(p.country, p.other): p for p in result.similarity}
    assert sim[("GB", "FR")].similarity == pytest.approx(sim[("FR", "GB")].similarity)
    assert sim[("GB", "FR")].similarity > sim[("GB", "KR")].similarity
    assert all(0 <= p.similarity <= 1 + 1e-9 for p in sim.values())
    assert sim[("GB", "FR")].shared_terms[0] in {"量子", "量子計算", "拠点"}
    assert set(sim[("GB", "FR")].shared_terms) <= {t.term for t in result.terms if t.country == "GB"} | {
        t.term for t in result.terms if t.country == "FR"}


# ------------------------------------------------------------------------- token tables by hand

def _tokens(*sentences: list[tuple]) -> pa.Table:
    """A token table from (surface, normalized, dictionary form, pos, detail, reading) per token and sentence."""
    rows: dict[str, list] = {f.name: [] for f in TOKEN_SCHEMA}
    for sid, tokens in enumerate(sentences):
        at = 0
        for i, (surface, norm, form, pos, detail, reading) in enumerate(tokens):
            for name, value in zip(("sentence_id", "token_index", "surface", "normalized", "dictionary_form", "pos",
                                    "pos_detail", "reading", "char_start", "char_end"),
                                   (sid, i, surface, norm, form, pos, detail, reading, at, at + len(surface)), strict=True):
                rows[name].append(value)
            at += len(surface)
    return pa.table(rows, schema=TOKEN_SCHEMA)


def _attribution(subjects: list[str | None], mentions: tuple[tuple[int, int, int, str, str], ...] = ()) -> Attribution:
    """Subjects per sentence; mentions as (sentence, start, end, label, id)."""
    return Attribution(
        tuple(SentenceSubject(i, s, "paragraph" if s else "none") for i, s in enumerate(subjects)),
        tuple(AttributedMention(Mention(sid, start, end, "x" * (end - start), label, mid, mid, "lexicon"), 1, sid, 0, "US",
                                "paragraph") for sid, start, end, label, mid in mentions))


N = ("名詞", "普通名詞-一般")
SAHEN = ("名詞", "普通名詞-サ変可能")
SURU = ("し", "為る", "する", "動詞", "非自立可能-サ行変格-連用形-一般", "シ")


def tok(surface, norm=None, form=None, pos=N, reading="ヨミ"):
    """A token; a word Sudachi does not know has its lower-cased letters as its reading."""
    return (surface, norm or surface, form or norm or surface, *pos, reading)


def unknown(surface):
    """A Latin word Sudachi's dictionary does not have, as Sudachi gives it (CET → cet)."""
    return tok(surface, surface.lower(), reading=surface.lower())


def test_a_sahen_noun_counts_as_a_noun_not_as_a_verb():
    tokens = _tokens(
        [tok("用意", pos=SAHEN), SURU, tok("た", pos=("助動詞", ""))],           # 用意した: a verb
        [tok("用意", pos=SAHEN), tok("が", pos=("助詞", "格助詞")), tok("整う", pos=("動詞", "一般"))],  # a noun
        [tok("投資", pos=SAHEN), tok("できる", pos=("動詞", "非自立可能"))],     # 投資できる: a verb
        [tok("投資", pos=SAHEN), tok("の", pos=("助詞", "格助詞")), tok("拡大", pos=SAHEN)],  # nouns
        [tok("必要", pos=("名詞", "普通名詞-形状詞可能")), tok("な", "だ", "だ", ("助動詞", ""))],  # an adjective
        [tok("防ぐ", pos=("動詞", "一般")), tok("固める", pos=("動詞", "一般"))],
    )
    terms = content_terms_by_subject(tokens, _attribution(["US"] * 6), CONFIG)["US"]
    assert terms == {"用意": 1, "投資": 1, "拡大": 1}


def test_country_and_region_names_are_no_terms_however_they_appear():
    lexicon = load_lexicon()
    country = ("名詞", "固有名詞-地名-国")
    tokens = _tokens(
        [tok("インド", pos=country), tok("量子")],              # Sudachi's own label for a country
        [tok("欧州"), tok("連合"), tok("量子")],                 # a region, tagged over two tokens
        [tok("米豪"), tok("量子")],                             # a fused bloc: 米 and 豪 tagged inside the token
        [tok("アメリカ"), tok("ドイツ"), tok("量子")],           # aliases (whatever POS the token has)
        [tok("ルクセンブルク", pos=country), tok("量子")],       # a country the lexicon lacks
        [unknown("AUKUS"), tok("量子")],                        # a framework stays
    )
    mentions = ((1, 0, 4, "REGION", "EU"), (2, 0, 1, "COUNTRY", "US"), (2, 1, 2, "COUNTRY", "AU"),
                (3, 0, 4, "COUNTRY", "US"))
    terms = content_terms_by_subject(tokens, _attribution(["IN", "EU", "US", "US", "FR", "AU"], mentions),
                                     CONFIG, lexicon)
    assert {s: set(t) for s, t in terms.items()} == {"IN": {"量子"}, "EU": {"量子"}, "US": {"量子"}, "FR": {"量子"},
                                                   "AU": {"AUKUS", "量子"}}
    assert "ドイツ" in {a for a in lexicon.entries["DE"].aliases}  # dropped as an alias, not by a mention


def test_short_latin_fragments_go_known_abbreviations_stay():
    tokens = _tokens([unknown("CET"), unknown("xyz"), tok("AI"), tok("IoT"), tok("DX"), unknown("CHIPS"),
                      unknown("iCET"), tok("5", pos=("名詞", "数詞")), tok("R&D"), tok("www", "WWW")])
    terms = content_terms_by_subject(tokens, _attribution(["US"]), CONFIG)["US"]
    # CET, xyz: unknown to Sudachi (no reading) and to the lexicon, three letters: fragments.
    # CHIPS, iCET: unknown but longer: terms as printed. AI, IoT, DX, WWW: Sudachi knows them.
    assert set(terms) == {"AI", "IoT", "DX", "CHIPS", "iCET", "WWW"}


def test_a_short_unknown_word_the_lexicon_knows_stays():
    from dataclasses import replace

    from pipeline.lexicon import Entry

    lexicon = load_lexicon()
    lexicon = replace(lexicon, entries={**lexicon.entries, "cet": Entry("cet", "TECHNOLOGY", "CET", ("CET",))})
    tokens = _tokens([unknown("CET"), tok("量子")])
    assert set(content_terms_by_subject(tokens, _attribution(["US"]), CONFIG, lexicon)["US"]) == {"CET", "量子"}


def test_shared_terms_are_ranked_by_what_they_add_to_the_similarity():
    a = [tok("量子")] * 3 + [tok("半導体")] + [tok("人材")] * 2
    b = [tok("量子")] * 3 + [tok("半導体")] * 3 + [tok("宇宙")]
    c = [tok("農業")] * 2
    tokens = _tokens(a, b, c)
    result = key_terms(tokens, _attribution(["KR", "JP", "VN"]), CONFIG)
    sim = {(p.country, p.other): p for p in result.similarity}
    assert sim[("KR", "JP")].shared_terms == ("量子", "半導体") == sim[("JP", "KR")].shared_terms
    assert sim[("KR", "VN")].similarity == 0 and sim[("KR", "VN")].shared_terms == ()
    score = {(t.country, t.term): t.score for t in result.terms}
    expected = sum(score[("KR", t)] * score[("JP", t)] for t in ("量子", "半導体"))
    assert sim[("KR", "JP")].similarity == pytest.approx(expected)  # cosine: the sum of the shared products


# ----------------------------------------------------------------------------- the sample edition

@pytest.fixture(scope="module")
def sample_keyterms(tmp_path_factory, nlp, lexicon):
    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences
    from samples.build import build_sample_pdf

    pdf = build_sample_pdf(Path(tmp_path_factory.mktemp("sample")) / "sample.pdf")
    seg = segment(extract_pdf(pdf, workers=1))
    tokens = tokenize_sentences(seg.sentences)
    att = attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
    return tokens, key_terms(tokens, att, CONFIG, lexicon)


def test_sample_edition_key_terms_name_no_country_verb_or_fragment(sample_keyterms, lexicon):
    tokens, result = sample_keyterms
    assert {t.country for t in result.terms} >= {"US", "KR", "IN", "CN"}
    terms = {t.term for t in result.terms}
    names = {a for e in lexicon.entries.values() if e.label in ("COUNTRY", "REGION") for a in e.aliases}
    assert not terms & names
    for country in {t.country for t in result.terms}:
        own = set(lexicon.entries[country].aliases)
        assert not own & {t.term for t in result.terms if t.country == country}, country
    assert not terms & {"防ぐ", "固める", "cet", "用意"}  # what the issue saw
    # Every term is a noun of the text; none is a verb anywhere it is counted.
    pos_of = {}
    for norm, surface, pos in zip(tokens["normalized"].to_pylist(), tokens["surface"].to_pylist(),
                                  tokens["pos"].to_pylist(), strict=True):
        pos_of.setdefault(norm, set()).add(pos)
        pos_of.setdefault(surface, set()).add(pos)
    assert all("名詞" in pos_of[t] for t in terms)


def test_sample_edition_similarity_has_shared_terms(sample_keyterms):
    _, result = sample_keyterms
    terms = {}
    for t in result.terms:
        terms.setdefault(t.country, set()).add(t.term)
    pairs = [p for p in result.similarity if p.similarity > 0]
    assert pairs and all(p.shared_terms for p in pairs)
    assert all(0 < p.similarity <= 1 for p in pairs)
    best = max(result.similarity, key=lambda p: p.similarity)
    assert len(best.shared_terms) == 5


# ------------------------------------------------------------------------------------ the report

def test_the_report_shows_the_shared_terms_and_what_the_similarity_is(tmp_path):
    import gc

    from pipeline.publish import publish
    from pipeline.report import render_report
    from test_inspect import edition_tables, table

    tables = edition_tables("e")
    tables["country_similarity"] = table("country_similarity", [
        {"edition": "e", "country": "KR", "other": "CN", "similarity": 0.24, "shared_terms": ["半導体", "人材<b>"]},
        {"edition": "e", "country": "CN", "other": "KR", "similarity": 0.24, "shared_terms": ["半導体", "人材<b>"]}])
    publish(tables, tmp_path, "e")
    html = render_report(tmp_path, "e").read_text(encoding="utf-8")
    gc.collect()
    assert "0.24 (半導体・人材&lt;b&gt;)" in html  # escaped: terms come from the document
    assert "コサイン類似度" in html and "0＝共通語なし" in html


@pytest.mark.parametrize("text, said", [
    ("keep_pos = [", "not valid TOML"),
    ("top_n = 3", "no 'keep_pos'"),
    ('keep_pos = "名詞"', "keep_pos must be a list of strings"),
    ('keep_pos = ["名詞"]\ntop_n = "many"', "invalid literal"),
    ('keep_pos = ["名詞"]\n[predicate_after]\n"サ変可能" = "する"', "サ変可能 must be a list of strings"),
])
def test_a_bad_settings_file_says_what_is_wrong(tmp_path, text, said):
    from pipeline.keyterms import KeyTermConfigError

    path = tmp_path / "keyterms.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KeyTermConfigError, match=re.escape(said)) as info:
        load_keyterm_config(path)
    assert str(path) in info.value.what and info.value.todo
    with pytest.raises(KeyTermConfigError, match="cannot read"):
        load_keyterm_config(tmp_path / "missing.toml")


PLACE = ("名詞", "固有名詞-地名-一般")
ADVERBIAL = ("名詞", "普通名詞-副詞可能")


def test_place_names_and_function_nouns_are_no_terms_by_their_pos():
    # アジア: a region name Sudachi labels 地名-一般 (the lexicon need not know it); うち, 今後: nouns
    # usable as adverbs (副詞可能), which say which part or when, not what the text is about
    tokens = _tokens([tok("アジア", pos=PLACE), tok("太平洋", pos=PLACE), tok("量子")],
                     [tok("うち", pos=ADVERBIAL), tok("今後", pos=ADVERBIAL), tok("半導体")])
    terms = content_terms_by_subject(tokens, _attribution(["EU", "EU"]), CONFIG)["EU"]
    assert set(terms) == {"量子", "半導体"}


def test_place_names_and_function_nouns_go_on_paragraphs_run_through_the_stages(nlp, lexicon):
    _, tokens, att = run_paragraphs(
        nlp, lexicon,
        "欧州はアジアとの量子技術の協力を進める。欧州はアジアの半導体市場を重視し、そのうち量子計算を優先する。",
        "米国は半導体の輸出を管理する。",
    )
    terms = {t.term for t in key_terms(tokens, att, CONFIG, lexicon).terms}
    assert "量子計算" in terms or "量子" in terms
    assert not terms & {"アジア", "うち"}


def test_terms_are_counted_by_normalized_form_and_shown_as_the_document_spells_them():
    # 自強 and 自彊 are one term (Sudachi's normalized form 自彊); the document writes 自強 more often
    tokens = _tokens([tok("自強", "自彊", "自強"), tok("自強", "自彊", "自強"), tok("自彊")], [tok("量子")])
    result = key_terms(tokens, _attribution(["CN", "US"]), CONFIG)
    cn = [t for t in result.terms if t.country == "CN"]
    assert [(t.term, t.count) for t in cn] == [("自強", 3)]
    assert "自彊" not in {t.term for t in result.terms}
    assert content_terms_by_subject(tokens, _attribution(["CN", "US"]), CONFIG)["CN"] == {"自彊": 3}
