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
Then, per sentence, 4. sentence topic: a body sentence that opens (after a connective: また、
一方、さらに、…) with other places than its paragraph's subject as its topic (また、米国や欧州も、…
/ 一方、中国では、…) is about them, not about the paragraph's subject: one place becomes that
sentence's subject (``sentence``); several (米国や欧州も) leave it without a single subject
(``sentence``, empty subject), as a row has one subject, rather than give it to the paragraph's.
The next sentence goes back to the paragraph's subject.
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
    subject_source: str  # "heading" | "paragraph" | "sentence" | "none"


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


# Connectives a sentence may open with before its own topic (また、米国や欧州も、…).
_CONNECTIVES = ("また", "一方で", "一方", "他方", "さらに", "更に", "加えて", "なお", "同様に", "これに対し",
                "これに対して", "それに対し", "その他", "このほか", "ほかに", "他にも", "例えば", "特に")
_CONNECTIVE = re.compile(rf"^(?:{'|'.join(sorted(_CONNECTIVES, key=len, reverse=True))})[、,]?")
# What may stand between the places of a topic that names several (米国や欧州も, 米国、欧州及び中国は).
_PLACE_LIST = re.compile(r"^(?:や|と|、|,|・|及び|および|並びに|ならびに)$")


def _after_connective(text: str) -> str:
    """``text`` from where its topic may start: after indentation, brackets and a connective."""
    text = text.lstrip(_LEAD)
    connective = _CONNECTIVE.match(text)
    return text[connective.end():].lstrip(_LEAD) if connective else text


def _sentence_topic(text: str, mentions: list[Mention], lexicon: Lexicon) -> tuple[str, ...]:
    """The places a sentence opens with as its own topic, after a connective: (US, EUROPE) for
    「また、米国や欧州も、…」, (CN,) for 「一方、中国では、…」; () when it opens otherwise.

    Parameters:
        text: the sentence's text; mentions: its mentions in order of their offsets;
        lexicon: which mention ids are places.
    """
    at = len(text) - len(_after_connective(text))
    places: list[str] = []
    for m in sorted(mentions, key=lambda m: m.start):
        if m.start < at:
            continue
        between = text[at:m.start]
        if m.id not in lexicon.places or (places and not _PLACE_LIST.match(between)) or (not places and between):
            return ()
        places.append(m.id)
        topic = _TOPIC.match(text[m.end:])
        if topic:
            # 米国が…: a subject in the sentence, not its topic (また、米国が主導する枠組みに我が国も…)
            return () if topic.group().endswith("が") else tuple(dict.fromkeys(places))
        at = m.end
    return ()


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

    # 4. Sentence topics: a body sentence about other places than its paragraph's subject.
    # 同国 opening the next sentence refers back to such a sentence's place.
    sentence_subject: dict[int, tuple[str | None, str]] = {}
    last: tuple[int, str | None, str] | None = None  # (paragraph, subject, source) of the sentence before
    for s in seg.sentences:
        own = paragraph_subject[s.paragraph_id]
        if s.kind == "body" and own[0] is not None:
            places = _sentence_topic(s.text, by_sentence[s.sentence_id], lexicon)
            if places and set(places) != {own[0]}:
                own = (places[0] if len(places) == 1 else None, "sentence")
            elif (not places and last and last[0] == s.paragraph_id and last[2] == "sentence" and last[1]
                  and _after_connective(s.text).startswith(_BACK_REFERENCES)):
                own = (last[1], "sentence")
        sentence_subject[s.sentence_id] = own
        last = (s.paragraph_id, *own)

    subjects = tuple(SentenceSubject(s.sentence_id, *sentence_subject[s.sentence_id]) for s in seg.sentences)
    attributed = tuple(
        AttributedMention(
            mention=m,
            page=sentences_by_id[m.sentence_id].page,
            paragraph_id=sentences_by_id[m.sentence_id].paragraph_id,
            section_id=sentences_by_id[m.sentence_id].section_id,
            subject=sentence_subject[m.sentence_id][0],
            subject_source=sentence_subject[m.sentence_id][1],
        )
        for m in mentions
    )
    return Attribution(subjects, attributed)
