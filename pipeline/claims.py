"""Claims: what a report's executive summary states, as claims the body chapters can be checked on.

Input: the stage outputs of a summary (``Segmented``, ``Attribution``, facts, relations), read
with the same stages as the rest of the document: the PDF's own summary chapter (sections of role
"summary"), or the summary paragraphs of the report's announcement page, turned into a document of
their own by ``announcement_document``. Optionally, an expectations file (YAML) written by hand.
Output: ``Claim`` values, one per thing stated, each with the summary sentence that states it:

* technology: the subject's passage names a technology (country × technology, by broad id);
* fact: a designation (12 国家戦略技術 in 2022, 4 of 10 技術分野, 国家戦略文書 since 2021), with the
  other nouns it goes by (``aliases``: the same set named otherwise in the summary, and the
  equivalent nouns of the rules' ``[claims]``); items are compared exactly or through these;
* relation: the subject's relation to another country, region or framework.

Only what a summary states is a claim: a subject whose paragraph names no technology gets no
technology claim. ``merge_claims`` puts the page's, the chapter's and the file's claims together
(``origin`` says where each came from; a file's claim overrides the summary's claim about the
same thing), and ``compare_summaries`` says where the page's summary and the PDF's differ.
``pipeline.findings`` checks the claims against the body.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from pipeline.attribute import Attribution
from pipeline.errors import PipelineError
from pipeline.extract import Block, ExtractedDocument, PageInfo
from pipeline.facts import PolicyFact
from pipeline.lexicon import Lexicon
from pipeline.relations import Relation
from pipeline.rules import ClaimRules
from pipeline.segment import Segmented, summary_sentence_ids

KINDS = ("technology", "fact", "relation")
SUMMARY_CHAPTER = "summary_chapter"
ANNOUNCEMENT_PAGE = "announcement_page"
EXPECTATIONS_FILE = "expectations_file"
ORIGINS = (SUMMARY_CHAPTER, ANNOUNCEMENT_PAGE, EXPECTATIONS_FILE)
RELATIONS = ("partner", "competitor", "framework", "other")
_TEXT_KINDS = ("body", "heading")  # the kinds of sentence that state a subject's policy


@dataclass(frozen=True)
class Claim:
    claim_id: str
    kind: str  # technology | fact | relation
    country: str  # the subject the claim is about
    origin: str  # summary_chapter | announcement_page | expectations_file
    technology: str | None = None  # technology: the broad id
    count: int | None = None  # fact
    year: int | None = None
    year_qualifier: str | None = None  # "in" | "since"
    item: str | None = None
    aliases: tuple[str, ...] = ()  # other nouns the fact's set goes by
    part_of: int | None = None
    update_every_years: int | None = None
    other: str | None = None  # relation: the other party
    relation: str | None = None
    stated_in: tuple[str, ...] = ()  # every source stating it, in ORIGINS order
    page: int | None = None  # where the summary states it (a PDF page; None for the page)
    sentence_id: int | None = None  # the summary sentence (of the PDF's sentences table)
    evidence: str | None = None  # the summary sentence's text

    @property
    def text(self) -> str:
        """The claim in a line: "KR names ai", "KR: 12 国家戦略技術 (2022)", "US competitor CN"."""
        if self.kind == "technology":
            return f"{self.country} names {self.technology}"
        if self.kind == "relation":
            return f"{self.country} {self.relation} {self.other}"
        parts = [f"{self.country}:"]
        if self.count is not None:
            parts.append(f"{self.count} of {self.part_of}" if self.part_of else str(self.count))
        if self.item:
            parts.append(self.item)
        if self.year is not None:
            parts.append(f"(since {self.year})" if self.year_qualifier == "since" else f"({self.year})")
        if self.update_every_years:
            parts.append(f"updated every {self.update_every_years} years")
        return " ".join(parts)

    def names(self) -> frozenset[str]:
        """The item and its aliases, in the form they are compared in."""
        return frozenset(norm(n) for n in (self.item, *self.aliases) if n)


@dataclass(frozen=True)
class SummaryDifference:
    """A paragraph where the announcement page's summary and the PDF's summary chapter differ."""

    status: str  # changed | only_page | only_chapter
    page_text: str | None
    chapter_text: str | None
    chapter_page: int | None
    similarity: float  # 0..1, of the two texts (0 when one side is missing)


@dataclass(frozen=True)
class ClaimSet:
    """The claims a run checks, and how the page's summary compares with the PDF's."""

    claims: tuple[Claim, ...]
    differences: tuple[SummaryDifference, ...] = ()
    has_chapter: bool = False  # the PDF has a summary chapter
    has_page: bool = False  # the source's announcement page gave a summary


def norm(text: str | None) -> str:
    """NFKC, without whitespace: the form items are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


# ------------------------------------------------------------------------------- from a summary


def item_form(item: str, rules: ClaimRules) -> str:
    """``item`` without a document suffix (国家戦略文書 → 国家戦略): what names the same set."""
    for suffix in rules.document_suffixes:
        if item.endswith(suffix) and len(item) > len(suffix):
            return item[: -len(suffix)]
    return item


def negated(text: str, end: int, rules: ClaimRules, others: tuple[int, ...] = ()) -> bool:
    """Whether the clause after offset ``end`` of ``text`` excludes what stands before it
    (「量子技術は対象に含まれていない」).

    The clause ends at a sentence end, a contrast (が、) or a comma, except a comma right after a
    topic particle (量子技術は、対象外): a negation in it excludes the technology. When a contrast
    follows and the rest of the sentence names no other technology, it reverses the exclusion
    (当初は対象外とされたが、2023年に追加された): not an exclusion after all.

    Parameters:
        text: the sentence.
        end: where the technology's mention ends.
        rules: the ``[claims]`` rules (negations, clause ends, contrasts, topic particles).
        others: where the sentence's other technology mentions start.
    """
    stop = len(text)
    for i in range(end, len(text)):
        if text.startswith(rules.clause_ends, i):
            stop = i
            break
        if text[i] == "、" and not text.endswith(rules.topic_particles, end, i):
            stop = i
            break
    if not any(n in text[end:stop] for n in rules.technology_negations):
        return False
    contrast = next((c for c in rules.contrasts if text.startswith(c, stop)), None)
    if contrast is not None and not any(o >= stop for o in others):
        return False
    return True


def item_aliases(fact: PolicyFact, others: list[PolicyFact], rules: ClaimRules) -> tuple[str, ...]:
    """The other nouns ``fact``'s set goes by: the nouns of the equivalence group its item is
    in, its item without a document suffix (国家戦略文書 → 国家戦略), and the noun the same summary
    gives the whole a part is of (10の技術 … 10の技術分野のうち4つ: 技術 and 技術分野).

    Parameters:
        fact: a fact stated in the summary.
        others: every fact of the same summary.
        rules: the ``[claims]`` rules.
    """
    found: list[str] = []
    for group in rules.equivalent_items:
        if fact.item in group:
            found += group
    found.append(item_form(fact.item, rules))
    if fact.count is not None:
        for o in others:
            if o is fact or o.country != fact.country:
                continue
            # 10の技術 (fact) and 10の技術分野のうち4つ (o, part of it): o's noun names the whole set
            whole = fact.part_of is None and o.part_of == fact.count
            # 4 of 10 (fact) and 10の技術 (o): the whole's noun, when the part's noun names the whole
            part = fact.part_of is not None and o.part_of is None and o.count == fact.part_of
            # (Two designations with the same count are two sets: 12の国家戦略技術 and 12の重点産業.)
            if (whole or part) and o.year == fact.year:
                found.append(o.item)
    own = norm(fact.item)
    return tuple(dict.fromkeys(a for a in found if norm(a) != own))


def summary_claims(
    origin: str,
    seg: Segmented,
    attribution: Attribution,
    facts: list[PolicyFact],
    relations: list[Relation],
    lexicon: Lexicon,
    rules: ClaimRules,
    *,
    whole_document: bool = False,
) -> list[Claim]:
    """The claims a summary states, from its stage outputs.

    Parameters:
        origin: ``summary_chapter`` (the PDF's summary sections) or ``announcement_page``.
        seg, attribution, facts, relations: the stage outputs of the document the summary is in.
        lexicon: which ids are places (subjects) and technologies.
        rules: the ``[claims]`` rules (negations, equivalent items).
        whole_document: every sentence is the summary (the announcement page's document), else
            only those of the summary sections.
    """
    in_summary = (frozenset(s.sentence_id for s in seg.sentences) if whole_document
                  else summary_sentence_ids(seg))
    located = origin != ANNOUNCEMENT_PAGE  # page claims have no place in the PDF
    sentence = {s.sentence_id: s for s in seg.sentences}
    subject = {s.sentence_id: s.subject for s in attribution.sentences}

    def where(sid: int) -> dict:
        s = sentence[sid]
        return {"page": s.page if located else None, "sentence_id": sid if located else None, "evidence": s.text}

    starts: dict[int, list] = {}
    for a in attribution.mentions:
        if a.mention.label == "TECHNOLOGY":
            starts.setdefault(a.mention.sentence_id, []).append(a.mention)
    out: list[Claim] = []
    seen: set[tuple] = set()
    for a in attribution.mentions:
        m = a.mention
        s = sentence.get(m.sentence_id)
        if (m.label != "TECHNOLOGY" or s is None or m.sentence_id not in in_summary or s.kind not in _TEXT_KINDS
                or a.subject not in lexicon.places
                or negated(s.text, m.end, rules, tuple(o.start for o in starts.get(m.sentence_id, ()) if o is not m))):
            continue
        key = ("technology", a.subject, m.top)
        if key not in seen:
            seen.add(key)
            out.append(Claim(f"tech-{a.subject}-{m.top}", "technology", a.subject, origin, technology=m.top,
                             stated_in=(origin,), **where(m.sentence_id)))
    stated = [f for f in facts if (f.in_summary or whole_document) and f.sentence_id in in_summary]
    for f in stated:
        out.append(Claim(
            _fact_id(f.country, f.count, f.part_of, f.item), "fact", f.country, origin, count=f.count, year=f.year,
            year_qualifier=f.year_qualifier if f.year is not None else None, item=f.item,
            aliases=item_aliases(f, stated, rules), part_of=f.part_of, update_every_years=f.update_every_years,
            stated_in=(origin,), **where(f.sentence_id)))
    for r in relations:
        if (r.in_summary or whole_document) and r.sentence_id in in_summary and subject.get(r.sentence_id) == r.subject:
            out.append(Claim(f"rel-{r.subject}-{r.relation}-{r.other}", "relation", r.subject, origin, other=r.other,
                             relation=r.relation, stated_in=(origin,), **where(r.sentence_id)))
    return _unique_ids(out)


def _fact_id(country: str, count: int | None, part_of: int | None, item: str | None) -> str:
    amount = "n" if count is None else (f"{count}of{part_of}" if part_of else str(count))
    return f"fact-{country}-{amount}" + (f"-{item}" if item else "")


def _unique_ids(claims: list[Claim]) -> list[Claim]:
    """Every claim with an id of its own: an expectations file's ids are kept as written (they are
    unique in their file); another claim whose id is taken gets the first free ``<id>-N``."""
    taken = {c.claim_id for c in claims if c.origin == EXPECTATIONS_FILE}
    out = []
    for c in claims:
        if c.origin == EXPECTATIONS_FILE:
            out.append(c)
            continue
        cid, n = c.claim_id, 1
        while cid in taken:
            n += 1
            cid = f"{c.claim_id}-{n}"
        taken.add(cid)
        out.append(c if cid == c.claim_id else replace(c, claim_id=cid))
    return out


def announcement_document(paragraphs: tuple[str, ...] | list[str], heading: str | None = None) -> ExtractedDocument:
    """The announcement page's summary as a one-page document: its heading, then one body block
    per paragraph, so that the same stages read it as they read the PDF.

    Parameters:
        paragraphs: the summary's paragraphs, in order (``Announcement.summary``).
        heading: the summary's heading as printed (default エグゼクティブ・サマリー).
    """
    blocks = [Block(1, "heading", heading or "エグゼクティブ・サマリー", level=1)]
    blocks += [Block(1, "body", p) for p in paragraphs if p.strip()]
    text = "\n\n".join(b.text for b in blocks)
    return ExtractedDocument((PageInfo(1, 595.0, 842.0, len(text), True, 0.0, 1, text),), tuple(blocks), (), ())


# ------------------------------------------------------------------------------- putting together


def _summary_key(c: Claim) -> tuple:
    """What makes two summaries' claims the same claim."""
    if c.kind == "fact":
        return (c.kind, c.country, c.count, c.part_of, norm(c.item), c.year, c.year_qualifier, c.update_every_years)
    return (c.kind, c.country, c.technology, c.other, c.relation)


def same_designation(a: Claim, b: Claim, rules: ClaimRules) -> bool:
    """Whether ``a`` (e.g. a file's claim) is about what ``b`` is about, so that it replaces it:
    the same country and technology; the same pair, with the same or a conflicting relation; the
    same count (and whole) of a set named alike, or the same count-less designation."""
    if a.kind != b.kind or a.country != b.country:
        return False
    if a.kind == "technology":
        return a.technology == b.technology
    if a.kind == "relation":
        return a.other == b.other and (a.relation == b.relation or _conflict(a.relation, b.relation, rules))
    if (a.count, a.part_of) != (b.count, b.part_of):
        return False
    return (a.item is None and a.count is not None) or bool(a.names() & b.names())


def _conflict(x: str | None, y: str | None, rules: ClaimRules) -> bool:
    return any(x in g and y in g and x != y for g in rules.conflicting_relations)


def merge_claims(page: list[Claim], chapter: list[Claim], file: list[Claim], rules: ClaimRules) -> list[Claim]:
    """One list of claims: the page's, then the chapter's (a claim both state is the page's, with
    the PDF's sentence as its evidence and both in ``stated_in``), then the file's, each
    replacing the summary's claim about the same thing (``same_designation``) or added to them.

    Parameters:
        page: claims read from the announcement page (origin ``announcement_page``).
        chapter: claims read from the PDF's summary chapter (``summary_chapter``).
        file: claims of an expectations file (``expectations_file``).
        rules: the ``[claims]`` rules.
    """
    merged: list[Claim] = list(page)
    at = {_summary_key(c): i for i, c in enumerate(merged)}
    for c in chapter:
        i = at.get(_summary_key(c))
        if i is None:
            at[_summary_key(c)] = len(merged)
            merged.append(c)
        else:
            p = merged[i]
            merged[i] = replace(p, stated_in=_origins(p.stated_in + c.stated_in), page=c.page,
                                sentence_id=c.sentence_id, evidence=c.evidence,
                                aliases=tuple(dict.fromkeys(p.aliases + c.aliases)))
    for f in file:
        hits = [i for i, c in enumerate(merged) if c.origin != EXPECTATIONS_FILE and same_designation(f, c, rules)]
        if not hits:
            merged.append(replace(f, stated_in=_origins(f.stated_in or (EXPECTATIONS_FILE,))))
            continue
        first = merged[hits[0]]
        stated = _origins(sum((merged[i].stated_in for i in hits), ()) + (EXPECTATIONS_FILE,))
        merged[hits[0]] = replace(f, stated_in=stated, page=first.page, sentence_id=first.sentence_id,
                                  evidence=first.evidence)
        for i in reversed(hits[1:]):
            del merged[i]
    return _unique_ids(merged)


def _origins(found: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(o for o in ORIGINS if o in found)


def summary_paragraphs(seg: Segmented) -> list[tuple[int, str]]:
    """(page, text) of each body paragraph of the document's summary chapter, in order."""
    roles = {s.section_id: s.role for s in seg.sections}
    return [(p.page, p.text) for p in seg.paragraphs if p.kind == "body" and roles.get(p.section_id) == "summary"]


def compare_summaries(page: list[str], chapter: list[tuple[int, str]]) -> list[SummaryDifference]:
    """Where the page's summary paragraphs and the chapter's differ (NFKC, whitespace ignored):
    paragraphs changed (in the same place, not equal: even one digit), only on the page, only in
    the chapter. Paragraphs are aligned as a diff aligns lines.

    Parameters:
        page: the announcement page's paragraphs.
        chapter: (page, text) of the summary chapter's paragraphs (``summary_paragraphs``).
    """
    a = [norm(t) for t in page]
    b = [norm(t) for _, t in chapter]
    out: list[SummaryDifference] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False))
        for i, j in pairs:
            ratio = difflib.SequenceMatcher(a=a[i], b=b[j], autojunk=False).ratio()
            out.append(SummaryDifference("changed", page[i], chapter[j][1], chapter[j][0], round(ratio, 3)))
        for i in range(i1 + len(pairs), i2):
            out.append(SummaryDifference("only_page", page[i], None, None, 0.0))
        for j in range(j1 + len(pairs), j2):
            out.append(SummaryDifference("only_chapter", None, chapter[j][1], chapter[j][0], 0.0))
    return out


# ------------------------------------------------------------------------------- expectations files


class ExpectationsError(PipelineError):
    """An expectations file cannot be used."""


_FILE_KEYS = {"report", "title", "summary_of", "technologies", "facts", "relations"}
_FACT_KEYS = {"id", "country", "count", "year", "year_qualifier", "item", "aliases", "part_of", "update_every_years"}
_RELATION_KEYS = {"id", "subject", "other", "relation"}
_FORMAT = "see pipeline/data/expectations/fy24_rr02.yaml for the format"
_MAX_FILE_BYTES = 5 * 1024 * 1024
_FACT_BOUNDS = {"count": (1, 100_000), "part_of": (2, 100_000), "year": (1900, 2100), "update_every_years": (1, 100)}
_ID = re.compile(r"[^\W_][\w.\-]{0,119}")  # letters (any script), digits, _ . -


def load_expectations(path: Path | str, lexicon: Lexicon) -> list[Claim]:
    """The claims of an expectations file (YAML), checked against the lexicon's ids.

    The file has ``technologies`` (subject → broad technology ids), ``facts`` (country, count,
    year, year_qualifier, item, aliases, part_of, update_every_years) and ``relations``
    (subject, other, relation); each is optional. Raises ``ExpectationsError`` naming the entry
    and what is wrong with it.

    Parameters:
        path: the YAML file.
        lexicon: the ids a claim may use.
    """
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise ExpectationsError(f"the expectations file {path} is larger than {_MAX_FILE_BYTES:,} bytes",
                                    "a report's claims fit in a few kilobytes: check that this is the right file")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExpectationsError(f"expectations file not found: {path}",
                                "give the path of a YAML file, or leave --expectations out") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        what = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ExpectationsError(f"cannot read the expectations file {path}: {what}",
                                f"fix the file (UTF-8 YAML; {_FORMAT}) or leave --expectations out") from None
    where = f"expectations file {path}"
    if not isinstance(data, dict):
        raise ExpectationsError(f"{where} is not a YAML mapping of claims", _FORMAT)
    technologies = data.get("technologies") or {}
    retired = {"no_technologies", "exact"} & (set(data) | (set(technologies) if isinstance(technologies, dict) else set()))
    if retired:
        raise ExpectationsError(
            f"{where} uses {', '.join(sorted(retired))}, which the checker no longer reads: claims are checked "
            "against the body chapters, and that a summary names nothing else is not something the body can support",
            "remove those keys (the claims read from the summary itself say what it names)")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ExpectationsError(f"{where} has unknown key(s) {', '.join(unknown)}",
                                f"its keys are {', '.join(sorted(_FILE_KEYS))}; {_FORMAT}")
    places, techs = lexicon.places, {e.id for e in lexicon.entries.values() if e.label == "TECHNOLOGY"}

    def bad(what: str) -> ExpectationsError:
        return ExpectationsError(f"{where}: {what}", _FORMAT)

    def place(value, entry: str) -> str:
        if not isinstance(value, str) or value not in places:
            raise bad(f"{entry}: {value!r} is not a country or region id of the lexicon (e.g. KR, US, EU, ASEAN)")
        return value

    claims: list[Claim] = []
    if not isinstance(technologies, dict):
        raise bad("technologies must map a subject to a list of technology ids, e.g. KR: [ai, quantum]")
    for subject, ids in technologies.items():
        place(subject, f"technologies.{subject}")
        if not isinstance(ids, list) or not ids:
            raise bad(f"technologies.{subject} must be a non-empty list of technology ids")
        for t in ids:
            if not isinstance(t, str) or t not in techs or lexicon.top(t) != t:
                raise bad(f"technologies.{subject}: {t!r} is not a broad technology id of the lexicon")
            claims.append(Claim(f"tech-{subject}-{t}", "technology", subject, EXPECTATIONS_FILE, technology=t))
    for n, e in enumerate(_entries(data, "facts", bad), 1):
        entry = f"facts #{n}" + (f" ({e['id']})" if isinstance(e.get("id"), str) else "")
        extra = sorted(set(e) - _FACT_KEYS)
        if extra:
            raise bad(f"{entry} has unknown key(s) {', '.join(extra)}; its keys are {', '.join(sorted(_FACT_KEYS))}")
        country = place(e.get("country"), entry)
        for k, (least, most) in _FACT_BOUNDS.items():
            v = e.get(k)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not least <= v <= most):
                raise bad(f"{entry}: {k} must be a whole number from {least} to {most}, not {v!r}")
        if e.get("count") is None and not e.get("item"):
            raise bad(f"{entry} needs a count or an item")
        if e.get("part_of") is not None and (e.get("count") is None or e["part_of"] <= e["count"]):
            raise bad(f"{entry}: part_of is the whole a count is part of (4 of 10): it needs a count below it")
        if e.get("item") is not None and not _is_word(e["item"]):
            raise bad(f"{entry}: item must be a noun, not {e['item']!r}")
        aliases = e.get("aliases") or []
        if not isinstance(aliases, list) or not all(_is_word(a) for a in aliases):
            raise bad(f"{entry}: aliases must be a list of nouns")
        qualifier = e.get("year_qualifier")
        if qualifier not in (None, "in", "since"):
            raise bad(f"{entry}: year_qualifier must be 'in' or 'since', not {qualifier!r}")
        if qualifier is not None and e.get("year") is None:
            raise bad(f"{entry}: year_qualifier needs a year")
        if e.get("year") is not None and qualifier is None:
            qualifier = "in"
        item = unicodedata.normalize("NFKC", e["item"]).strip() if e.get("item") else None
        if e.get("id") is not None and not (isinstance(e["id"], str) and _ID.fullmatch(e["id"])):
            raise bad(f"{entry}: id {e['id']!r} is not an id: use letters, digits, '.', '_' and '-'")
        claims.append(Claim(
            e.get("id") or _fact_id(country, e.get("count"), e.get("part_of"), item), "fact", country,
            EXPECTATIONS_FILE, count=e.get("count"), year=e.get("year"), year_qualifier=qualifier, item=item,
            aliases=tuple(unicodedata.normalize("NFKC", a).strip() for a in aliases), part_of=e.get("part_of"),
            update_every_years=e.get("update_every_years")))
    for n, e in enumerate(_entries(data, "relations", bad), 1):
        entry = f"relations #{n}"
        extra = sorted(set(e) - _RELATION_KEYS)
        if extra:
            raise bad(f"{entry} has unknown key(s) {', '.join(extra)}; its keys are {', '.join(sorted(_RELATION_KEYS))}")
        subject = place(e.get("subject"), entry)
        other = e.get("other")
        if not isinstance(other, str) or other not in lexicon.entries or lexicon.label(other) == "TECHNOLOGY":
            raise bad(f"{entry}: other {other!r} is not a country, region or framework id of the lexicon")
        if e.get("relation") not in RELATIONS:
            raise bad(f"{entry}: relation must be one of {', '.join(RELATIONS)}, not {e.get('relation')!r}")
        if e.get("id") is not None and not (isinstance(e["id"], str) and _ID.fullmatch(e["id"])):
            raise bad(f"{entry}: id {e['id']!r} is not an id: use letters, digits, '.', '_' and '-'")
        claims.append(Claim(e.get("id") or f"rel-{subject}-{e['relation']}-{other}", "relation", subject,
                            EXPECTATIONS_FILE, other=other, relation=e["relation"]))
    twice = sorted(i for i, n in Counter(c.claim_id for c in claims).items() if n > 1)
    if twice:
        raise bad(f"claim id(s) {', '.join(twice)} are given twice")
    return claims


def _is_word(value) -> bool:
    """A non-empty string with no control or formatting character (they would reach terminals)."""
    return isinstance(value, str) and bool(value.strip()) and not any(
        unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _entries(data: dict, key: str, bad) -> list[dict]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise bad(f"{key} must be a list of mappings")
    return value
