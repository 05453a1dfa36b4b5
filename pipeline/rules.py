"""Rules: ``findings.toml`` → the typed, checked rules of the findings stages, read in one place.

Input: a TOML file (the packaged ``pipeline/data/findings.toml``, or another one given with
``jstmine run --rules FILE``). Output: a frozen ``Rules`` value with one part per stage:
``facts`` (``pipeline.facts``), ``policies`` (``pipeline.policies`` and the bracketed names of
``pipeline.names``), ``relations`` (``pipeline.relations``) and ``claims`` (``pipeline.claims``
and ``pipeline.findings``). The file is parsed and checked once, at the boundary: a missing key,
a key of the wrong type or an unknown key is a ``RulesError`` that names the file, the table and
the key; the stages then receive the value and never read the file themselves.

``Rules.sha256`` is the file's content hash, which the flow puts into the cache keys of the
stages that use it, so another rules file re-runs them.
"""
from __future__ import annotations

import hashlib
import tomllib
import typing
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pipeline.errors import PipelineError


class RulesError(PipelineError):
    """The rules file cannot be used."""


@dataclass(frozen=True)
class NameRules:
    """[names]: which bracketed names are policies, and which is the report's own title."""

    preferred_endings: tuple[str, ...]  # what a fact's policy name prefers to end with
    report_words: tuple[str, ...]  # words that make a 『』 name the report's own title


@dataclass(frozen=True)
class PolicyRules:
    """[policies] (with [names]): how a bracketed name is typed."""

    strategy_endings: tuple[str, ...]
    method_endings: tuple[str, ...]  # 学習法, 手法: a method, not a law, though it ends in 法
    framework_endings: tuple[str, ...]
    framework_after: tuple[str, ...]
    concept_after: tuple[str, ...]
    max_name_chars: int
    names: NameRules


@dataclass(frozen=True)
class FactRules:
    """[facts]: the nouns, counters and cue words of designations (see the file's comments)."""

    items: tuple[str, ...]
    heads: tuple[str, ...]
    classifiers: tuple[str, ...]
    not_after: tuple[str, ...]
    part_of_markers: tuple[str, ...]
    relabel_after: tuple[str, ...]
    np_stop: tuple[str, ...]
    closing_particles: tuple[str, ...]
    min_count: int
    max_gap_tokens: int
    year_units: tuple[str, ...]
    since_words: tuple[str, ...]
    until_words: tuple[str, ...]
    era_first_years: dict[str, int]  # 令和 → 2019
    era_first_year_word: str  # 元 (令和元年)
    interval_words: tuple[str, ...]
    strategy_relators: tuple[str, ...]
    strategy_heads: tuple[str, ...]
    designation_verbs: tuple[str, ...]
    sentence_leads: tuple[str, ...]
    list_anaphors: tuple[str, ...]
    revision_verbs: tuple[str, ...]
    part_anaphors: tuple[str, ...]
    count_counters: tuple[str, ...]
    relabel_before: tuple[str, ...]
    quantity_after: tuple[str, ...]
    administration_suffix: str
    policy: PolicyRules  # a fact's policy is a bracketed name, typed by these


@dataclass(frozen=True)
class RelationRules:
    """[relations]: cue words by class (strongest first), lists and clauses."""

    competitor: tuple[str, ...]
    other: tuple[str, ...]
    partner: tuple[str, ...]
    grouping_suffixes: tuple[str, ...]
    connectors: tuple[str, ...]
    clause_ends: tuple[str, ...]
    company_suffixes: tuple[str, ...]  # 米国Meta社: a country written into a company's name is no party

    @property
    def classes(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(relation, cue words) in the order they are checked: competitor, other, partner."""
        return (("competitor", self.competitor), ("other", self.other), ("partner", self.partner))


@dataclass(frozen=True)
class ClaimRules:
    """[claims]: how a claim of the summary is compared with what the body chapters say."""

    equivalent_items: tuple[tuple[str, ...], ...]  # groups of item nouns that name one set
    document_suffixes: tuple[str, ...]  # X文書 names what X names
    technology_negations: tuple[str, ...]  # a clause ending so excludes its technology
    conflicting_relations: tuple[tuple[str, ...], ...]  # relation classes that contradict each other
    clause_ends: tuple[str, ...]  # where a negated clause ends (and at a comma, see topic_particles)
    contrasts: tuple[str, ...]  # clause ends that turn to something else (が、)
    topic_particles: tuple[str, ...]  # a comma after these does not end the clause (量子技術は、…)


@dataclass(frozen=True)
class Rules:
    path: str  # the file read
    sha256: str  # its content hash (for cache keys)
    version: str
    facts: FactRules
    policies: PolicyRules
    relations: RelationRules
    claims: ClaimRules


def default_rules_path() -> Path:
    """The packaged rules: ``pipeline/data/findings.toml``."""
    return Path(str(resources.files("pipeline") / "data" / "findings.toml"))


def load_rules(path: Path | str | None = None) -> Rules:
    """The rules in ``path`` (the packaged file when None), checked; ``RulesError`` otherwise.

    Parameters:
        path: a findings.toml; read every call (it is small), parsed once per content.
    """
    path = Path(path) if path else default_rules_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RulesError(f"rules file not found: {path}",
                         f"give the path of a findings.toml (the packaged one is {default_rules_path()})") from None
    except OSError as exc:
        raise RulesError(f"cannot read the rules file {path}: {exc.strerror or exc}", "check the path and its permissions") from exc
    return _parse(str(path), data)


@lru_cache(maxsize=8)
def _parse(path: str, data: bytes) -> Rules:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RulesError(f"the rules file {path} is not UTF-8 text: {exc}", "save it as UTF-8 TOML") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"the rules file {path} is not valid TOML: {exc}", "fix the syntax at the place named") from exc
    known = {"version", "facts", "names", "policies", "relations", "claims"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise RulesError(f"the rules file {path} has unknown top-level key(s) {', '.join(unknown)}",
                         f"the tables are {', '.join(sorted(known - {'version'}))}; see {default_rules_path()}")
    names = _section(path, doc, "names", NameRules)
    policies = _section(path, doc, "policies", PolicyRules, names=names)
    return Rules(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        version=str(doc.get("version", "")),
        facts=_section(path, doc, "facts", FactRules, policy=policies),
        policies=policies,
        relations=_section(path, doc, "relations", RelationRules),
        claims=_section(path, doc, "claims", ClaimRules),
    )


def _section(path: str, doc: dict, name: str, cls, **given):
    """Build ``cls`` from table ``[name]``: every field but those ``given`` must be there, of its type."""
    table = doc.get(name)
    where = f"the rules file {path}, [{name}]"
    if not isinstance(table, dict):
        raise RulesError(f"the rules file {path} has no [{name}] table", f"copy it from {default_rules_path()}")
    hints = typing.get_type_hints(cls)
    wanted = [f.name for f in fields(cls) if f.name not in given]
    missing = [k for k in wanted if k not in table]
    if missing:
        raise RulesError(f"{where} lacks {', '.join(missing)}", f"copy the missing keys from {default_rules_path()}")
    extra = sorted(set(table) - set(wanted))
    if extra:
        raise RulesError(f"{where} has unknown key(s) {', '.join(extra)}", f"its keys are: {', '.join(wanted)}")
    values = {k: _value(where, k, table[k], hints[k]) for k in wanted}
    return cls(**values, **given)


# Least values of whole numbers (0 otherwise): a count below 1 is no designation.
_MINIMUM = {"min_count": 1}
# Word lists that may hold the empty string: two mentions side by side are one list (connectors).
_MAY_HOLD_EMPTY = {"connectors"}


def _value(where: str, key: str, value, hint):
    def bad(expected: str) -> RulesError:
        return RulesError(f"{where}: {key} must be {expected}, not {value!r}", f"fix {key} (see {default_rules_path()})")

    def words(items) -> bool:  # non-empty strings: an empty cue word would match everywhere
        return all(isinstance(v, str) and (v.strip() or key in _MAY_HOLD_EMPTY) for v in items)

    if hint is int:
        least = _MINIMUM.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise bad(f"a whole number of {least} or more")
        return value
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value
    if hint == tuple[str, ...]:
        if not isinstance(value, list) or not words(value):
            raise bad("a list of strings, none of them empty")
        return tuple(value)
    if hint == tuple[tuple[str, ...], ...]:
        if not isinstance(value, list) or not all(isinstance(g, list) and g and words(g) for g in value):
            raise bad("a list of lists of strings, none of them empty")
        return tuple(tuple(g) for g in value)
    if hint == dict[str, int]:
        if not isinstance(value, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            raise bad("a table of whole numbers")
        return {str(k): int(v) for k, v in value.items()}
    raise AssertionError(f"no reader for {hint}")  # a field type this module does not know yet
