import pytest

from pipeline.lexicon import load_lexicon
from pipeline.ner_audit import lexicon_gaps, load_ner
from pipeline.segment import Sentence
from pipeline.tag import build_tagger, tag_tokens
from pipeline.tokenize import tokenize_sentences

pytestmark = pytest.mark.slow


def test_ginza_finds_the_places_the_lexicon_misses_and_only_those():
    texts = ["ドイツ政府はカナダやメキシコとの協力を進め、ASEAN事務局とも対話している。", "メキシコは半導体を重視する。"]
    sentences = [Sentence(i, i, 0, i + 1, 0, "body", t) for i, t in enumerate(texts)]
    lexicon = load_lexicon()
    mentions = tag_tokens(build_tagger(lexicon), lexicon, tokenize_sentences(sentences))
    gaps = {g.text: g for g in lexicon_gaps(load_ner(), sentences, mentions)}
    assert "メキシコ" in gaps  # not in the lexicon
    assert gaps["メキシコ"].count == 2 and gaps["メキシコ"].sentence_ids == (0, 1) and gaps["メキシコ"].page == 1
    assert not {"ドイツ政府", "カナダ", "ASEAN事務局", "ドイツ"} & set(gaps)  # the lexicon covers these
