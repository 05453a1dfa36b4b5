"""Records a report has many of (blocks, sentences, mentions): frozen dataclasses with
``__slots__`` that pickle quickly.

Python's ``dataclass(frozen=True, slots=True)`` pickles each instance through
``_dataclass_getstate``/``_dataclass_setstate``, which call ``dataclasses.fields`` for every
object: two thirds of the time to pickle a 300-page report's attribution, and most of the time to
load its extracted blocks back from the extract workers. ``quick_pickle`` gives such a class a
``__getstate__`` that reads the fields with one ``operator.attrgetter`` and a ``__setstate__`` over
a field list made once: the same state, in the same order (a tuple, where Python's is a list), so
a record pickled either way loads either way.
"""
from __future__ import annotations

import dataclasses
import operator


def quick_pickle(cls: type) -> type:
    """``cls`` with a ``__getstate__``/``__setstate__`` that read and set its fields without
    looking them up each time; for a frozen dataclass with ``__slots__`` (applied above its
    ``@dataclass``). Returns the class itself.

    Parameters:
        cls: a ``@dataclass(frozen=True, slots=True)`` class.
    """
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__ and cls.__dataclass_params__.frozen):
        raise TypeError(f"quick_pickle is for frozen dataclasses with __slots__, not {cls.__qualname__}")
    names = tuple(f.name for f in dataclasses.fields(cls))
    read = operator.attrgetter(*names) if len(names) > 1 else (lambda obj, _get=operator.attrgetter(names[0]): (_get(obj),))

    def __getstate__(self) -> tuple:
        return read(self)

    def __setstate__(self, state, _set=object.__setattr__) -> None:
        for name, value in zip(names, state, strict=True):
            _set(self, name, value)

    cls.__getstate__ = __getstate__
    cls.__setstate__ = __setstate__
    return cls
