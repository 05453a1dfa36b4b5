"""Lexicon: the TOML data in ``pipeline/data/lexicon.toml`` → entries and spaCy patterns.

Input: a TOML file. Output: a ``Lexicon`` (entries by id, the technology taxonomy, the
single-character abbreviations, the not-a-mention phrases, and the sector and generic words that
are never aliases) and the EntityRuler patterns built from it.
"""
from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from pipeline.errors import PipelineError

LABELS = {"country": "COUNTRY", "region": "REGION", "framework": "FRAMEWORK", "technology": "TECHNOLOGY"}
NOT_MENTION = "NOT_MENTION"


@dataclass(frozen=True)
class Entry:
    id: str
    label: str  # COUNTRY | REGION | FRAMEWORK | TECHNOLOGY
    name: str
    aliases: tuple[str, ...]
    parent: str | None = None  # technologies: the broader id
    abbrev: str | None = None  # one character used in fused blocs (米日韓)
    members: tuple[str, ...] = ()  # frameworks: member ids
    can_be_subject: bool = True  # False for groupings without a policy of their own (西側諸国)


@dataclass(frozen=True)
class Lexicon:
    version: str
    entries: dict[str, Entry]
    not_mention: tuple[str, ...]
    generic: tuple[str, ...]
    sectors: tuple[str, ...] = ()  # where technologies are applied (医療, 農業): never aliases

    def top(self, entry_id: str) -> str:
        """The broadest ancestor of a technology (itself for anything else)."""
        seen = set()
        while (parent := self.entries[entry_id].parent) and entry_id not in seen:
            seen.add(entry_id)
            entry_id = parent
        return entry_id

    @cached_property
    def abbreviations(self) -> dict[str, Entry]:
        return {e.abbrev: e for e in self.entries.values() if e.abbrev}

    @cached_property
    def places(self) -> frozenset[str]:
        """Ids that can be a subject: countries and regions."""
        return frozenset(
            e.id for e in self.entries.values() if e.label in ("COUNTRY", "REGION") and e.can_be_subject
        )

    def label(self, entry_id: str) -> str:
        return self.entries[entry_id].label


def default_lexicon_path() -> Path:
    return Path(str(resources.files("pipeline") / "data" / "lexicon.toml"))


class LexiconError(PipelineError):
    """A lexicon file cannot be used."""


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon in ``path`` (the packaged one when None); ``LexiconError`` saying what is wrong
    when the file is missing, not TOML, or its entries are not as this module reads them."""
    path = Path(path) if path else default_lexicon_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return _lexicon(path, data)
    except FileNotFoundError:
        raise LexiconError(f"lexicon file not found: {path}",
                           f"give the path of a lexicon TOML (the packaged one is {default_lexicon_path()})") from None
    except UnicodeDecodeError:
        raise LexiconError(f"the lexicon {path} is not UTF-8 text (is it a lexicon at all?)",
                           "give a lexicon TOML file, saved as UTF-8") from None
    except OSError as exc:
        raise LexiconError(f"cannot read the lexicon {path}: {exc.strerror or exc}", "check the file and its permissions") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"the lexicon {path} is not valid TOML: {exc}", "fix the syntax at the place named") from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        what = f"an entry without {exc}" if isinstance(exc, KeyError) else str(exc)
        raise LexiconError(f"the lexicon {path} cannot be read: {what}",
                           f"every [[country]], [[region]], [[framework]] and [[technology]] needs an id and a list of "
                           f"aliases; see {default_lexicon_path()}") from exc


def _lexicon(path: Path, data: dict) -> Lexicon:
    entries: dict[str, Entry] = {}
    for section, label in LABELS.items():
        for raw in data.get(section, []):
            entry = Entry(
                id=raw["id"],
                label=label,
                name=raw.get("name", raw["id"]),
                aliases=tuple(unicodedata.normalize("NFKC", a) for a in raw.get("aliases", [])),
                parent=raw.get("parent") or None,
                abbrev=raw.get("abbrev"),
                members=tuple(raw.get("members", ())),
                can_be_subject=bool(raw.get("subject", True)),
            )
            if entry.id in entries:
                raise ValueError(f"{path}: id {entry.id!r} is defined twice")
            entries[entry.id] = entry
    for entry in entries.values():
        if entry.parent and entry.parent not in entries:
            raise ValueError(f"{path}: {entry.id!r} names an unknown parent {entry.parent!r}")
        for member in entry.members:
            if member not in entries:
                raise ValueError(f"{path}: framework {entry.id!r} names an unknown member {member!r}")
    nm = data.get("not_mention", {})
    return Lexicon(
        version=str(data.get("version", "0")),
        entries=entries,
        not_mention=tuple(unicodedata.normalize("NFKC", p) for p in nm.get("phrases", [])),
        generic=tuple(nm.get("generic", [])),
        sectors=tuple(unicodedata.normalize("NFKC", w) for w in nm.get("sectors", [])),
    )


def token_norm(normalized_form: str) -> str:
    """What patterns and tokens are compared on: Sudachi's normalized form, case-folded."""
    return normalized_form.lower()


def entity_ruler_patterns(lexicon: Lexicon, tokenize) -> list[dict]:
    """EntityRuler token patterns on NORM, one per alias.

    ``tokenize(text) -> list[str]`` must give the normalized forms the documents' tokens have,
    so that an alias splits into the same tokens as the text does (量子技術 → 量子|技術).
    """
    patterns = []
    for entry in lexicon.entries.values():
        for alias in entry.aliases:
            norms = tokenize(alias)
            if norms:
                patterns.append(
                    {"label": entry.label, "id": entry.id, "pattern": [{"NORM": token_norm(n)} for n in norms]}
                )
    for phrase in lexicon.not_mention:
        norms = tokenize(phrase)
        patterns.append({"label": NOT_MENTION, "id": phrase, "pattern": [{"NORM": token_norm(n)} for n in norms]})
    return patterns
