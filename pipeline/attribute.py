"""Attribute: mentions → mentions with a subject, the country or region whose policy is described.

Input: a ``Segmented`` document, its mentions and the ``Lexicon``. Output: an ``Attribution``:
each sentence's subject and each mention with its subject.

The rule, in order:
1. paragraph topic: a paragraph whose first sentence opens with a country or region as its topic
   (中国は、… / 韓国では、… / ドイツ政府は、… / ASEAN加盟国では、…) is about that one, also inside
   another country's chapter; a genitive (中国の動向を…) is no topic; 同国 (the said country)
   refers back to the previous paragraph's subject;
2. section: otherwise a heading at any level that names exactly one country or region (第3章 韓国,
   2.4 ドイツ, （1）米国) makes it the subject of everything under it, down to the next heading of
   the same level or above;
3. otherwise no subject: general text (introductions, conclusions) is attributed to nobody
   rather than to a guess. Only body text and headings have subjects: captions, footnotes, figure
   labels, contents entries and references keep their mentions without one.
A country named inside another's passage (中国 in the US paragraph) stays a mention, not a subject.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from pipeline.lexicon import Lexicon
from pipeline.records import quick_pickle
from pipeline.segment import Segmented
from pipeline.tag import Mention


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
class AttributedMention:
    mention: Mention
    page: int
    paragraph_id: int
    section_id: int
    subject: str | None
    subject_source: str  # "heading" | "paragraph" | "none"


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
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


# What follows a place for it to be the paragraph's topic: 中国は, 韓国では, ドイツ政府は,
# ASEAN加盟国では, インド政府が, 米国においては, and a possessive that is itself the topic
# (インドの政策文書には…). Not a genitive inside an object: 中国の動向を踏まえ… is about 中国's
# trends as seen by the passage's subject.
_TOPIC = re.compile(
    r"^(?:(?:政府|当局|加盟国|各国|連邦政府|議会)?(?:は|では|でも|には|においては|において|が|も)(?![のな])"
    r"|の[^、。をがにはでも]{1,12}(?:は|では|には|においては)(?![のな]))"
)


def _opening_place(text: str, mentions: list[Mention], lexicon: Lexicon) -> str | None:
    """The place a paragraph opens with as its topic (中国は、… / 韓国では、…), or None."""
    for m in mentions:
        if text[: m.start].strip(_LEAD):
            return None  # something else comes first
        if m.id in lexicon.places:
            return m.id if _TOPIC.match(text[m.end:]) else None
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
        sid = first_sentence.get(p.paragraph_id)
        topic = None
        if sid is not None:
            text = sentences_by_id[sid].text
            topic = _opening_place(text, by_sentence[sid], lexicon)
            if topic is None and previous and text.lstrip(_LEAD).startswith(_BACK_REFERENCES):
                topic = previous
        if topic:  # a paragraph's own topic overrides its section's country for that paragraph
            paragraph_subject[p.paragraph_id] = (topic, "paragraph")
            previous = topic
        elif from_heading:
            paragraph_subject[p.paragraph_id] = (from_heading, "heading")
            previous = from_heading
        else:
            paragraph_subject[p.paragraph_id] = (None, "none")
            previous = None

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
