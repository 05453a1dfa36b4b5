"""Attribute: mentions → mentions with a subject, the country or region whose policy is described.

Input: a ``Segmented`` document, its mentions and the ``Lexicon``. Output: an ``Attribution``:
each sentence's subject and each mention with its subject.

The rule, in order:
1. chapter: a heading that names exactly one country or region (第3章 韓国, 2.4 ドイツ) makes it
   the subject of everything under it, down to the next heading of the same level;
2. paragraph topic: otherwise a paragraph whose first sentence opens with a country or region
   (中国は、… / 韓国では、… / ドイツ政府は、… / ASEAN加盟国では、…) is about that one; 同国 (the
   said country) refers back to the previous paragraph's subject;
3. otherwise no subject: general text (introductions, conclusions) is attributed to nobody
   rather than to a guess.
A country named inside another's passage (中国 in the US paragraph) stays a mention, not a subject.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pipeline.lexicon import Lexicon
from pipeline.segment import Segmented
from pipeline.tag import Mention


@dataclass(frozen=True)
class AttributedMention:
    mention: Mention
    page: int
    paragraph_id: int
    section_id: int
    subject: str | None
    subject_source: str  # "heading" | "paragraph" | "none"


@dataclass(frozen=True)
class SentenceSubject:
    sentence_id: int
    subject: str | None
    subject_source: str


@dataclass(frozen=True)
class Attribution:
    sentences: tuple[SentenceSubject, ...]
    mentions: tuple[AttributedMention, ...]


# Text that may stand before a paragraph's topic: indentation, an opening bracket, a list mark.
_LEAD = " 　「『(（【・-–—*●○■□◆◇"
_BACK_REFERENCES = ("同国", "同地域")


def _opening_place(text: str, mentions: list[Mention], lexicon: Lexicon) -> str | None:
    for m in mentions:
        if text[: m.start].strip(_LEAD):
            return None  # something else comes first
        if m.id in lexicon.places:
            return m.id
    return None


def attribute(seg: Segmented, mentions: list[Mention], lexicon: Lexicon) -> Attribution:
    by_sentence: dict[int, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_sentence[m.sentence_id].append(m)

    # 1. Subjects named by headings, inherited down the section tree.
    heading_places: dict[int, set[str]] = defaultdict(set)
    for s in seg.sentences:
        if s.kind == "heading":
            heading_places[s.section_id] |= {m.id for m in by_sentence[s.sentence_id] if m.id in lexicon.places}
    section_subject: dict[int, str | None] = {}
    for section in seg.sections:  # parents come before children
        own = heading_places.get(section.section_id, set())
        if len(own) == 1:
            section_subject[section.section_id] = next(iter(own))
        else:
            section_subject[section.section_id] = (
                section_subject.get(section.parent_id) if section.parent_id is not None else None
            )

    # 2. Paragraph topics.
    first_sentence: dict[int, int] = {}
    for s in seg.sentences:
        first_sentence.setdefault(s.paragraph_id, s.sentence_id)
    sentences_by_id = {s.sentence_id: s for s in seg.sentences}
    paragraph_subject: dict[int, tuple[str | None, str]] = {}
    previous: str | None = None
    for p in seg.paragraphs:
        from_heading = section_subject.get(p.section_id)
        if p.kind not in ("body", "heading"):
            # Contents entries, footnotes, captions and figure labels are not a passage on a
            # subject's policy: their mentions stay mentions (labelled by kind), with no subject.
            paragraph_subject[p.paragraph_id] = (None, "none")
            continue
        if p.kind == "heading":
            paragraph_subject[p.paragraph_id] = (from_heading, "heading" if from_heading else "none")
            continue
        if from_heading:
            paragraph_subject[p.paragraph_id] = (from_heading, "heading")
            previous = from_heading
            continue
        sid = first_sentence.get(p.paragraph_id)
        topic = None
        if sid is not None:
            text = sentences_by_id[sid].text
            topic = _opening_place(text, by_sentence[sid], lexicon)
            if topic is None and previous and text.lstrip(_LEAD).startswith(_BACK_REFERENCES):
                topic = previous
        paragraph_subject[p.paragraph_id] = (topic, "paragraph" if topic else "none")
        previous = topic

    subjects = tuple(
        SentenceSubject(s.sentence_id, *paragraph_subject[s.paragraph_id]) for s in seg.sentences
    )
    attributed = tuple(
        AttributedMention(
            mention=m,
            page=sentences_by_id[m.sentence_id].page,
            paragraph_id=sentences_by_id[m.sentence_id].paragraph_id,
            section_id=sentences_by_id[m.sentence_id].section_id,
            subject=paragraph_subject[sentences_by_id[m.sentence_id].paragraph_id][0],
            subject_source=paragraph_subject[sentences_by_id[m.sentence_id].paragraph_id][1],
        )
        for m in mentions
    )
    return Attribution(subjects, attributed)
