import pytest

from pipeline.attribute import attribute
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.keyterms import key_terms, load_keyterm_config
from pipeline.lexicon import load_lexicon
from pipeline.segment import segment
from pipeline.tag import build_tagger, tag_tokens
from pipeline.tokenize import tokenize_sentences


@pytest.fixture(scope="module")
def result():
    paragraphs = [
        "韓国は半導体と二次電池に投資する。韓国は半導体の輸出を守る。半導体の人材を育てる。",
        "英国は量子技術と工学生物学を重視する。量子計算の拠点を設ける。",
        "フランスは量子技術を重視する。量子計算の研究拠点を整える。",
        "本書は3つの国を扱った。",
    ]
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), tuple(Block(1, "body", p) for p in paragraphs), (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    lexicon = load_lexicon()
    att = attribute(seg, tag_tokens(build_tagger(lexicon), lexicon, tokens), lexicon)
    return key_terms(tokens, att, load_keyterm_config())


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


def test_similarity_ranks_the_two_quantum_countries_closest(result):
    sim = {(a, b): s for a, b, s in result.similarity}
    assert sim[("GB", "FR")] == pytest.approx(sim[("FR", "GB")])
    assert sim[("GB", "FR")] > sim[("GB", "KR")]
    assert all(0 <= s <= 1 + 1e-9 for s in sim.values())
