"""Records a report has many of pickle quickly (pipeline.records.quick_pickle) and the same as before."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from pipeline.attribute import AttributedMention, SentenceSubject
from pipeline.extract.model import Block
from pipeline.records import quick_pickle
from pipeline.segment import Paragraph, Sentence
from pipeline.tag import Mention

MENTION = Mention(sentence_id=3, start=0, end=2, text="米国", label="COUNTRY", id="US", top="US", via="lexicon")
RECORDS = [
    Block(page=2, kind="body", text="本文", level=0, markers=((1, "1"),)),
    Paragraph(paragraph_id=1, section_id=0, page=2, kind="body", text="本文"),
    Sentence(sentence_id=3, paragraph_id=1, section_id=0, page=2, index=0, kind="body", text="米国の本文。"),
    MENTION,
    AttributedMention(mention=MENTION, page=2, paragraph_id=1, section_id=0, subject="US", subject_source="heading"),
    SentenceSubject(sentence_id=3, subject=None, subject_source="none"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_round_trips_and_copies(record):
    assert pickle.loads(pickle.dumps(record, protocol=5)) == record
    assert copy.deepcopy(record) == record and copy.copy(record) == record
    assert not hasattr(record, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, dataclasses.fields(record)[0].name, None)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_pickled_as_python_pickles_it_loads(record):
    """Python's own frozen-slots state (a list of the field values, in field order): what results
    cached before were written with."""
    cls = type(record)
    state = [getattr(record, f.name) for f in dataclasses.fields(cls)]
    back = cls.__new__(cls)
    back.__setstate__(state)
    assert back == record
    assert list(record.__getstate__()) == state  # the same values, in the same order


def test_a_state_of_another_shape_is_refused():
    back = Sentence.__new__(Sentence)
    with pytest.raises(ValueError):
        back.__setstate__((1, 2))  # two values for seven fields: not this class's record


def test_only_frozen_slotted_dataclasses_are_taken():
    @dataclasses.dataclass(slots=True)
    class Open:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (Open, NoSlots, int):
        with pytest.raises(TypeError, match="frozen dataclasses with __slots__"):
            quick_pickle(cls)
    assert pickle.loads(pickle.dumps(One(4))) == One(4)  # one field: its state is still a tuple
    assert One(4).__getstate__() == (4,)


@quick_pickle
@dataclasses.dataclass(frozen=True, slots=True)
class One:
    a: int
