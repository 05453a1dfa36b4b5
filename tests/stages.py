"""Running the text stages on paragraphs written in a test, as the flow does (no PDF needed)."""
from __future__ import annotations

from pipeline.attribute import attribute
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.segment import segment
from pipeline.tag import tag_tokens
from pipeline.tokenize import tokenize_sentences


def run_paragraphs(nlp, lexicon, *paragraphs: str):
    """segment → tokenize → tag → attribute over one page of paragraphs: (segmented, tokens, attribution)."""
    blocks = tuple(Block(1, "body", p) for p in paragraphs)
    doc = ExtractedDocument((PageInfo(1, 595, 842, 1, True, 0, 1, ""),), blocks, (), ())
    seg = segment(doc)
    tokens = tokenize_sentences(seg.sentences)
    return seg, tokens, attribute(seg, tag_tokens(nlp, lexicon, tokens), lexicon)
